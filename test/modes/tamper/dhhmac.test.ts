// Tamper matrix for DH-HMAC (RFC 4650): I_MESSAGE and R_MESSAGE; every bit (run.ts says what is
// checked).
import { matrix } from './run.js';

matrix('DH-HMAC');
