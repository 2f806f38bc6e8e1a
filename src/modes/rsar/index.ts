// RSA-R, the reverse public-key method (RFC 4738 §3), unicast and group mode, and updates
// initiator.ts, responder.ts and messages.ts (what both sides share) hold it; this re-exports them.
export { RsaRInitiator, type RsaRInitiatorOptions, type RsaROfferOptions, type RsaRResult } from './initiator.js';
export { RsaRResponder, type RsaRGroupOptions, type RsaRResponderOptions, type RsaRAccepted } from './responder.js';
export { type CertificateResolver, type EnvelopeOptions } from './messages.js';
