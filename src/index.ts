// mikey: the MIKEY key-management family (RFC 3830 and its extensions) for Node.js.

// wire: the codec and every code point
export * from './wire/index.js';

// the key exchanges
export { uriIdentity, type Identity } from './session/identity.js';
export { type Endpoint, type SessionOffer, type KeySpec, type TimestampKind } from './modes/kit/common.js';
// what every responder enforces (docs/security.md)
export { DEFAULT_MINIMUM_POLICY, NO_MINIMUM_POLICY, policyShortfall, type MinimumPolicy } from './modes/kit/policy.js';
export { FileCounterStore, MemoryCounterStore, type CounterStore } from './modes/kit/counter.js';
export { type RateLimit } from './modes/kit/limit.js';
export { DEFAULT_DH_GROUPS } from './modes/dh/index.js';
export {
  PskInitiator, PskResponder, type PskInitiatorOptions, type PskResponderOptions, type OfferOptions, type UpdateOptions,
  type Offer, type Accepted, type MessageProtection,
} from './modes/psk/index.js';
export { PkInitiator, PkResponder, type PkInitiatorOptions, type PkResponderOptions, type PkAccepted, type EnvelopeCache } from './modes/pke/index.js';
export { DhInitiator, DhResponder, type DhInitiatorOptions, type DhResponderOptions, type DhAccepted, type DhOfferOptions } from './modes/dh/index.js';
export {
  DhHmacInitiator, DhHmacResponder, type DhHmacInitiatorOptions, type DhHmacResponderOptions, type DhHmacAccepted,
  type DhHmacOfferOptions, type DhHmacMacAlg,
} from './modes/dhhmac/index.js';
export {
  RsaRInitiator, RsaRResponder, type RsaRInitiatorOptions, type RsaRResponderOptions, type RsaRRequestOptions, type RsaRResult,
  type RsaRAccepted, type RsaRGroupOptions, type CertificateResolver,
} from './modes/rsar/index.js';
export {
  SakkeInitiator, SakkeResponder, telUriIdentifier, keyMonth, nextKeyMonth, type SakkeKmsPublicKeys, type SakkeUserKeys,
  type SakkeInitiatorOptions, type SakkeResponderOptions, type SakkeOfferOptions, type SakkeOffer, type SakkeAccepted,
  type SakkeLenience, type SakkeSignatureCoverage,
} from './modes/sakke/index.js';
// the 3GPP mission-critical profile of MIKEY-SAKKE (TS 33.180)
export * from './profiles/mcx/index.js';
export { type SigningCredentials, type PeerTrust } from './modes/kit/signature.js';

// MIKEY-TICKET (RFC 6043) and the key management service
export * from './modes/ticket/index.js';
export * from './kms/index.js';
export { MissingPackageError } from './optional.js';

// MIKEY-IBAKE (RFC 6267) and identity-key provisioning (IBE keys; the 3GPP KMS interface)
export * from './modes/ibake/index.js';
export * from './idkms/index.js';

// carriage in SDP and RTSP (RFC 4567), the RTSP camera profile, SRTP hand-off adapters
export * from './sdp/keymgmt.js';
export * from './sdp/sdp.js';
export * from './sdp/rtsp.js';
export * from './profiles/rtsp-null.js';
export * from './profiles/handoff.js';
export { SrtpEndpoint, SrtpError, rtpHeaderLength, type SrtpEndpointOptions, type SrtpMasterKeySpec } from './srtp/endpoint.js';
export { openKemac, type OpenedKemac } from './modes/kit/inspect.js';
// RTSP client and server with MIKEY-keyed SRTP, vendor profiles, captures
export * from './rtsp/index.js';

// what an exchange yields, and the session machinery
export {
  srtpContexts, deriveBundle, type CryptoSessionBundle, type CryptoSession, type SrtpMasterKey, type SrtpContext,
} from './session/bundle.js';
export { srtpPolicyFromSp, policyParamsForProfile, type SrtpPolicy, type SrtpProfileName } from './session/policy.js';
export { MikeyProtocolError, MikeyErrorMessage } from './session/errors.js';
export { MemoryReplayCache, type ReplayCache, type ReplayVerdict } from './session/replay.js';
export { systemClock, ntpTimestamp, ntpToMs, type Clock } from './session/time.js';
export { validateChain, parseCertificate } from './session/certs.js';

// identity-based cryptography: ECCSI (RFC 6507), SAKKE (RFC 6508), Boneh-Franklin IBE (RFC 5091)
// (the codec's SakkeParams is the registry of the SAKKE payload; the curve parameters are SakkeParameterSet)
export * from './crypto/ibc.js';
export type { SakkeParams as SakkeParameterSet } from './crypto/ibc.js';
export { SakkeParams } from './wire/registry.js';
// the MIKEY PRFs and key derivations (RFC 3830 §4.1, RFC 6043 §6.1)
export { mikeyPrf, deriveTek, deriveSrtpSalt, deriveMessageKeys, PrfConstant, type MikeyPrf } from './crypto/prf.js';
export { MikeyCryptoError } from './crypto/errors.js';
