// Public-key (envelope) method (RFC 3830 §3.2) and its updates (§4.5).
// initiator.ts, responder.ts and messages.ts (what both sides share) hold it; this re-exports them.
export { PkInitiator, type PkInitiatorOptions } from './initiator.js';
export { PkResponder, type PkResponderOptions, type PkAccepted } from './responder.js';
export { type EnvelopeCache } from './messages.js';
