// Tamper matrix for signed Diffie-Hellman (RFC 3830 §3.3): I_MESSAGE and R_MESSAGE, both signed; CI
// subset unless MIKEY_LONG=1 (run.ts says what is checked).
import { matrix } from './run.js';

matrix('DH');
