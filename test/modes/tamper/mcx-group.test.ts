// Tamper matrix for the MCX profile (TS 33.180), a group member's GMK and a PCK read back by its
// sender through SAKKE-to-self (run.ts says what is checked; mcx-receivers.ts the messages).
import { MCX } from './mcx-receivers.js';
import { matrix } from './run.js';

matrix('MCX', MCX, ['GMK I_MESSAGE (E.2)', 'PCK I_MESSAGE read back by its sender (SAKKE-to-self, E.5)']);
