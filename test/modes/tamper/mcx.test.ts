// Tamper matrix for the MCX profile (TS 33.180), the private call and client-server keys (run.ts
// says what is checked; mcx-receivers.ts the messages). Group keys and SAKKE-to-self: mcx-group.test.ts.
import { MCX } from './mcx-receivers.js';
import { matrix } from './run.js';

matrix('MCX', MCX, ['PCK I_MESSAGE (E.3)', 'CSK I_MESSAGE, Empty map (E.4)']);
