// Tamper matrix for RSA-R (RFC 4738): I_MESSAGE and R_MESSAGE, both signed; CI subset unless
// MIKEY_LONG=1 (run.ts says what is checked).
import { matrix } from './run.js';

matrix('RSA-R');
