// MIKEY-IBAKE (RFC 6267): the four-message exchange, private-key requests, our profile.
export { IbakeInitiator, type IbakeInitiatorOptions, type IbakeOfferOptions, type IbakeSecondMessage } from './initiator.js';
export { openStoredEsk, IbakeResponder, type IbakeResponderOptions, type IbakeReceived, type IbakeReceivedFirst, type IbakeReceivedSecond, type StoredEsk } from './responder.js';
export { type PeerDomain } from './messages.js';
export {
  IbakeKeyRequester, IbakeKeyResponder, type KeyRequestOptions, type PskKeyRequestOptions, type PkeKeyRequestOptions,
  type ReceivedPrivateKey, type KeyResponderOptions, type KeyRequestServed, type PrivateKeyIssuer, type IssuedPrivateKey,
  type RequestCredential,
} from './keyrequest.js';
export { IbakeKeyRing, type PrivateKeyEntry } from './keyring.js';
export {
  IBAKE_PROFILE, IBAKE_CURVES, DEFAULT_KEY_PERIOD, MPK_BITS, TGK_BITS, keyPeriodOf, keyPeriodStartMs, periodDate, ibeIdentity,
  staticDomain, type IbeDomain, type KeyPeriodPolicy, type IbakeCurveName,
} from './profile.js';
