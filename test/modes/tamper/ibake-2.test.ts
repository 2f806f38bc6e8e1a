// Tamper matrix for MIKEY-IBAKE (RFC 6267): R_MESSAGE_1 at the initiator, I_MESSAGE_2 at the
// responder (and its answer at the initiator: T of I_MESSAGE_2 is covered by nothing, see
// receivers.ts), R_MESSAGE_2 at the initiator (run.ts says what is checked).
import { METHODS } from '../receivers.js';
import { matrix } from './run.js';

matrix('IBAKE', METHODS.IBAKE, ['R_MESSAGE_1', 'I_MESSAGE_2', 'R_MESSAGE_2']);
