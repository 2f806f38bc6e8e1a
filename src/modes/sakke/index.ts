// MIKEY-SAKKE (RFC 6509): one signed message, no response.
// initiator.ts, responder.ts and messages.ts (what both sides share) hold it; this re-exports them.
export { SakkeInitiator, type SakkeOfferOptions, type SakkeOffer, type SakkeInitiatorOptions } from './initiator.js';
export { SakkeResponder, type SakkeResponderOptions, type SakkeAccepted } from './responder.js';
export { keyMonth, checkTelUri, telUriIdentifier, nextKeyMonth, sakkePayloadFor, buildSakkeIMessage, SAKKE_LAYOUT, SAKKE_LAYOUT_EXT_FIRST, checkSakkeLayout, decodeSakkeMessage, openSakkeIMessage, asProtocolError, UNEXPECTED, SakkeReceiverCache, EccsiVerifierCache, kmsPublicKey, idrPayload, idrText, type SakkeKmsPublicKeys, type SakkeUserKeys, type SakkeSignatureCoverage, type SakkeMessageParts, type SakkeLenience, type SakkeSignerCandidate, type SakkeReceiverCandidate, type SakkeOpened, type SakkeEndpointOptions } from './messages.js';
export { sameBytes as sakkeSameBytes } from './messages.js';
