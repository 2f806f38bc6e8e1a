// Signed Diffie-Hellman method (RFC 3830 §3.3) and its updates (§4.5).
// initiator.ts and responder.ts hold it (what they share is in kit/dh.ts and kit/signature.ts); this re-exports them.
export { DhInitiator, type DhOfferOptions, type DhInitiatorOptions } from './initiator.js';
export { DhResponder, type DhResponderOptions, type DhAccepted } from './responder.js';
export { DEFAULT_DH_GROUPS } from '../kit/dh.js';
