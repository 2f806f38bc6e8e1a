// Tamper matrix for the public-key method (RFC 3830 §3.2): I_MESSAGE (certificate, envelope,
// signature) and the verification message; CI subset of the signed message unless MIKEY_LONG=1
// (run.ts says what is checked).
import { matrix } from './run.js';

matrix('PK');
