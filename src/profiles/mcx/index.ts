// The 3GPP mission-critical profile of MIKEY-SAKKE (TS 33.180): UIDs, key identifiers,
// GUK-IDs, default policies, key parameters, and the sender/receiver.
export { mikeySakkeUid, uidFor, keyPeriodNumber, keyPeriodStart, type McxKms, type UidParams } from './uid.js';
export {
  KeyPurpose, keyPurposeOf, keyPurposeName, newKeyId, mcxKdf, userSalt, gukId, gmkIdOf, McxCsId, csIdsFor,
  GROUP_CALL_DEFAULT_POLICY, PRIVATE_CALL_DEFAULT_POLICY, defaultPolicyFor, mcxSrtpMasterKey, mcxMki, deriveMcxBundle, McxGroupKey,
  type KeyPurposeName, type McxService, type McxBundleOptions,
} from './keys.js';
export {
  KeyStatus, encodeKeyParameters, decodeKeyParameters, payloadCipherKey, protectKeyParameters, protectKeyParametersContent, openKeyParameters,
  type McxKeyParameters, type OpenedKeyParameters, type KeyParametersProtection, type KeyParametersLenience,
} from './key-parameters.js';
export {
  DEPLOYED_LENIENCE, MCX_TOLERANCES, KEY_LENGTHS, resolveMcxLenience, atLength, normaliseKeySet, normaliseKms, type McxLenience,
} from './lenience.js';
export {
  McxKeyManagement, checkMcxPrf, readKeyParameters, mcxKeyIds, UID_ROLE_INITIATOR, UID_ROLE_RESPONDER,
  type McxKeySet, type McxOptions, type McxSendOptions, type McxSent, type McxReceived,
} from './mikey.js';
export { inspectSakkeMessage, type InspectKeys, type InspectOptions, type InspectStep, type SakkeInspection, type Verdict } from './inspect.js';
