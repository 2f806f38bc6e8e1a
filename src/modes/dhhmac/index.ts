// HMAC-authenticated Diffie-Hellman (RFC 4650 §3) and its updates (§3.1).
// initiator.ts, responder.ts and messages.ts (what both sides share) hold it; this re-exports them.
export { DhHmacInitiator, type DhHmacOfferOptions, type DhHmacInitiatorOptions } from './initiator.js';
export { DhHmacResponder, type DhHmacResponderOptions, type DhHmacAccepted } from './responder.js';
export { type DhHmacMacAlg } from './messages.js';
