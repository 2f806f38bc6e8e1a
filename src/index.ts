// mikey: the MIKEY key-management family (RFC 3830 and its extensions) for Node.js.
// What an application uses; the rest of each area is a subpath (package.json `exports`):
// mikey/wire (the whole codec), mikey/crypto (ECCSI, SAKKE, Boneh-Franklin, the PRFs),
// mikey/ticket, mikey/ibake, mikey/mcx (the 3GPP profile and KMS interface), mikey/kms
// (the key service's store and policies), mikey/rtsp (RTSP client and server).
// test/package/exports.txt lists every name each entry point exports.

// the codec (RFC 3830 §6): decode, encode, typed payload lookups, every code point
export { decodeMessage, tryDecodeMessage, encodeMessage, payloadOf, payloadsOf, MikeyDecodeError, MikeyEncodeError, registryInfo } from './wire/index.js';
export type { DecodeOptions, DecodedMessage, Spanned, RegistryInfo } from './wire/index.js';
export {
  DataType, PayloadType, PrfFunc, CsIdMapType, EncrAlg, MacAlg, PkeCache, DhGroup, SignType, TsType, TsRole, IdType, CertType, IdRole,
  HashFunc, ProtType, SrtpParam, SrtpEncrAlg, SrtpAuthAlg, SrtpPrf, FecOrder, TeslaParam, ErrorNo, KeyDataType, KvType, GeneralExtType,
  KeyIdType, OmaBcastSubtype, RandRole, TicketType, EccCurve, SkType, SakkeParams, SakkeIdScheme, MIKEY_MEDIA_TYPE, MIKEY_PORT, MIKEY_VERSION,
} from './wire/registry.js';
export type * from './wire/types.js';

// the key exchanges: identities, what every endpoint takes, what every responder enforces (docs/security.md)
export { uriIdentity, type Identity } from './session/identity.js';
export { type Endpoint, type SessionOffer, type KeySpec, type TimestampKind } from './modes/kit/common.js';
export { DEFAULT_MINIMUM_POLICY, NO_MINIMUM_POLICY, policyShortfall, type MinimumPolicy } from './modes/kit/policy.js';
export { FileCounterStore, MemoryCounterStore, type CounterStore } from './modes/kit/counter.js';
export { type RateLimit } from './modes/kit/limit.js';
export { type SigningCredentials, type PeerTrust } from './modes/kit/signature.js';
// the one shape: what an initiator sends (Offer), what a responder's receive resolves to (Answer)
export type { Offer, OfferOptions, UpdateOptions, Answer, Answered, Unanswered } from './modes/kit/offer.js';
// pre-shared key, public-key envelope, signed DH (RFC 3830 §3)
export {
  PskInitiator, PskResponder, type PskInitiatorOptions, type PskResponderOptions, type Accepted, type MessageProtection,
} from './modes/psk/index.js';
export { PkInitiator, PkResponder, type PkInitiatorOptions, type PkResponderOptions, type PkAccepted, type EnvelopeCache } from './modes/pke/index.js';
export {
  DhInitiator, DhResponder, DEFAULT_DH_GROUPS, type DhInitiatorOptions, type DhResponderOptions, type DhAccepted, type DhOfferOptions,
} from './modes/dh/index.js';
// DH-HMAC (RFC 4650), RSA-R (RFC 4738)
export {
  DhHmacInitiator, DhHmacResponder, type DhHmacInitiatorOptions, type DhHmacResponderOptions, type DhHmacAccepted,
  type DhHmacOfferOptions, type DhHmacMacAlg,
} from './modes/dhhmac/index.js';
export {
  RsaRInitiator, RsaRResponder, type RsaRInitiatorOptions, type RsaRResponderOptions, type RsaROfferOptions, type RsaRResult,
  type RsaRAccepted, type RsaRGroupOptions, type CertificateResolver,
} from './modes/rsar/index.js';
// MIKEY-SAKKE (RFC 6509) and its 3GPP mission-critical profile (TS 33.180; the rest in mikey/mcx)
export {
  SakkeInitiator, SakkeResponder, telUriIdentifier, keyMonth, nextKeyMonth, type SakkeKmsPublicKeys, type SakkeUserKeys,
  type SakkeInitiatorOptions, type SakkeResponderOptions, type SakkeOfferOptions, type SakkeOffer, type SakkeAccepted,
  type SakkeLenience, type SakkeSignatureCoverage,
} from './modes/sakke/index.js';
export {
  McxKeyManagement, uidFor, keyPeriodNumber, inspectSakkeMessage, KeyPurpose, DEPLOYED_LENIENCE,
  type McxKms, type McxKeySet, type McxOptions, type McxSendOptions, type McxSent, type McxReceived, type McxLenience, type KeyPurposeName,
  type InspectKeys, type InspectOptions, type SakkeInspection,
} from './profiles/mcx/index.js';
// MIKEY-TICKET (RFC 6043; the rest in mikey/ticket)
export {
  TicketInitiator, TicketResponder, TicketSession, TicketKms,
  type TicketInitiatorOptions, type TicketPartyOptions, type TicketGrant, type PendingRequest, type PendingTransfer, type TransferAwaitingResponse,
  type TransferEstablished, type TransferOptions,
  type TicketResponderOptions, type ResolveTransport, type TransferAccepted, type TicketKmsOptions, type KmsDirectory, type TicketPolicy,
  type TicketSessionOffer, type UpdateOffer,
} from './modes/ticket/index.js';
// MIKEY-IBAKE (RFC 6267; the rest in mikey/ibake)
export {
  IbakeInitiator, IbakeResponder, IbakeKeyRequester, IbakeKeyResponder, IbakeKeyRing, openStoredEsk,
  type IbakeInitiatorOptions, type IbakeResponderOptions, type IbakeOfferOptions, type IbakeSecondMessage, type IbakeReceived,
  type IbakeReceivedFirst, type IbakeReceivedSecond, type StoredEsk, type IbakeCurveName, type IbeDomain,
  type KeyRequestOptions, type KeyResponderOptions, type ReceivedPrivateKey,
} from './modes/ibake/index.js';

// the key services: the MIKEY-TICKET KMS (store, service, listeners, clients; the rest in mikey/kms),
// identity-key issuers and the 3GPP KMS interface
export {
  KmsService, serveKms, httpTransport, udpTransport, openStore, SecretBox, MasterKeyError, loadMasterKey, parseMasterKey,
  StoreDirectory, MemoryDirectory, DEFAULT_RULE, jsonLogger, nullLogger, IdentityKeys, mcxPassword,
  type KmsServiceOptions, type ServeOptions, type RunningKms, type Transport, type Store, type PolicyRule, type Logger, type IdentityKeyOptions,
  type MemoryDirectoryOptions, type Credential,
} from './kms/index.js';
export { MissingPackageError } from './optional.js';
export {
  MemoryIdKmsStore, IbeKeyIssuer, ibeDomainOf, McxKeyIssuer, McxKmsClient, McxKmsError, mcxKmsHandler,
  type IdKmsStore, type IbeIssuerOptions, type McxIssuerOptions, type McxKmsClientOptions, type McxUserKeys, type McxKmsHandlerOptions,
} from './idkms/index.js';

// carriage in SDP and RTSP (RFC 4567)
export {
  KMPID_MIKEY, RTSP_KEY_MANAGEMENT_FAILURE, findSdpKeyMgmt, keyMgmtLine, parseKeyMgmtValue, parseRtspKeyMgmt, buildRtspKeyMgmt,
  rtspKeyMgmtFailure, KeyMgmtSyntaxError, type KeyMgmtSpec, type KeyMgmtHeaderSpec,
} from './sdp/keymgmt.js';
export {
  readKeyMgmt, setKeyMgmt, keyMgmtAttr, protocolList, sessionsForSdp, allocateCryptoSessions, cryptoSessionsOfMedia, answerKeyMgmt,
  readAnswer, mikeyPerMedia, KeyMgmtOfferRejected,
  type KeyMgmtAttr, type MediaKeyMgmt, type SdpKeyMgmt, type SetKeyMgmt, type MediaCryptoSessions, type MediaStreams, type KeyMgmtContext,
  type KeyMgmtHandler, type AnswerResult,
} from './sdp/sdp.js';
export { keyMgmtOf, keyMgmtOfParameters, setupRequest, rekeyRequest } from './sdp/rtsp.js';
// the RTSP camera profile (MIKEY-NULL; the RTSP client and server are in mikey/rtsp)
export {
  RtspNullInitiator, RtspNullResponder, RtspNullQuirkError, RTSP_NULL_QUIRKS, ONVIF_MKI_LENGTH,
  type RtspNullInitiatorOptions, type RtspNullResponderOptions, type RtspNullOfferOptions, type RtspNullKeyOptions, type RtspNullMessage,
  type RtspNullAccepted, type RtspNullQuirk, type QuirkReport, type KeyForm,
} from './profiles/rtsp-null.js';

// what an exchange yields: the crypto session bundle, SRTP contexts, hand-off to SRTP stacks
export { srtpContexts, type CryptoSessionBundle, type CryptoSession, type SrtpMasterKey, type SrtpContext } from './session/bundle.js';
export { srtpPolicyFromSp, policyParamsForProfile, type SrtpPolicy, type SrtpProfileName } from './session/policy.js';
export {
  srtpEndpoint, addRekey, contextsBySsrc, libsrtpPolicy, gstSrtpCaps, gstCapsString, weriftProfile, weriftSessions, WeriftSrtp,
  type WeriftSrtpSession, type WeriftSrtcpSession,
  type LibsrtpPolicy, type GstSrtpCaps,
} from './profiles/handoff.js';
export { SrtpEndpoint, SrtpError, rtpHeaderLength, type SrtpEndpointOptions, type SrtpMasterKeySpec } from './srtp/endpoint.js';
export { openKemac, type OpenedKemac } from './modes/kit/inspect.js';

// errors, time, replay, certificates
export { MikeyProtocolError, MikeyErrorMessage } from './session/errors.js';
export { MikeyCryptoError } from './crypto/errors.js';
export { MemoryReplayCache, type ReplayCache, type ReplayVerdict } from './session/replay.js';
export { systemClock, type Clock } from './session/time.js';
export { validateChain, parseCertificate } from './session/certs.js';
