// Tamper matrix for MIKEY-SAKKE (RFC 6509): the I_MESSAGE at the responder; CI subset unless
// MIKEY_LONG=1. The MCX profile of it: mcx.test.ts, mcx-group.test.ts (run.ts says what is
// checked).
import { matrix } from './run.js';

matrix('SAKKE');
