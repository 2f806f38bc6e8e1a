// Tamper matrix for the pre-shared key method (RFC 3830 §3.1): I_MESSAGE with V, and the
// verification message; every bit (run.ts says what is checked).
import { matrix } from './run.js';

matrix('PSK');
