// Pre-shared key method (RFC 3830 §3.1), its verification message and CSB updates (§4.5).
// initiator.ts, responder.ts and messages.ts (what both sides share) hold it; this re-exports them.
export { buildKemacMessage, PskInitiator, type MessageProtection, type PskInitiatorOptions } from './initiator.js';
export { PskResponder, type PskResponderOptions, type Accepted } from './responder.js';
export type { Offer, OfferOptions, UpdateOptions } from '../kit/offer.js';
