// Tamper matrix for MIKEY-IBAKE (RFC 6267), I_MESSAGE_1, which nothing authenticates: a changed
// one the responder cannot tell may be answered, never with keys (run.ts says what is checked).
// The other three messages: ibake-2.test.ts.
import { METHODS } from '../receivers.js';
import { matrix } from './run.js';

matrix('IBAKE', METHODS.IBAKE, ['I_MESSAGE_1']);
