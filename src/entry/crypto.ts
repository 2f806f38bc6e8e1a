// mikey/crypto: identity-based cryptography (ECCSI RFC 6507, SAKKE RFC 6508 with RFC 6509's
// Parameter Set 1, Boneh-Franklin IBE RFC 5091), the MIKEY PRFs and key derivations (RFC 3830 §4.1).
export { CryptoError, MikeyCryptoError, type CryptoErrorCode } from '../crypto/errors.js';
export {
  ECCSI_N, ECCSI_SIGNATURE_LENGTH, EccsiVerifier, eccsiAssertValid, eccsiKmsKeysFromSecret, eccsiKmsSetup, eccsiMakeSskPvt, eccsiSign,
  eccsiValidateSsk, eccsiVerify, type EccsiKmsKeys, type EccsiSignOptions, type EccsiUserKeys,
} from '../crypto/eccsi.js';
export {
  SakkeKmsPublicKey, SakkeReceiver, sakkeDecapsulate, sakkeEncapsulate, sakkeEncapsulatedDataLength, sakkeKmsKeysFromSecret, sakkeKmsSetup,
  sakkeMakeRsk, sakkeParamSet1, sakkeValidateRsk, type SakkeEncapsulation, type SakkeKmsKeys, type SakkeParameterSet, type HashName,
} from '../crypto/sakke.js';
export { sakkePairing } from '../crypto/pairing/tate.js';
export {
  BF_SECURITY, bfGenerateCurve, bfSetup, bfExtractPriv, bfDerivePubl, bfEncrypt, bfDecrypt, bfValidatePrivateKey, type1Curve,
  type BfCiphertext, type BfPublicParams,
} from '../crypto/bfibe.js';
export { mikeyPrf, deriveTek, deriveSrtpSalt, deriveMessageKeys, PrfConstant, type MikeyPrf } from '../crypto/prf.js';
