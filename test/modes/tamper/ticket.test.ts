// Tamper matrix for MIKEY-TICKET (RFC 6043): REQUEST_INIT, REQUEST_RESP, TRANSFER_INIT,
// RESOLVE_INIT, RESOLVE_RESP, TRANSFER_RESP at their four receivers; every bit (run.ts says what is
// checked).
import { matrix } from './run.js';

matrix('TICKET');
