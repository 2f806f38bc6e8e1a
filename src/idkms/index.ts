// Identity-key provisioning: the KMS-side issuers (IBAKE's Boneh-Franklin keys, MIKEY-SAKKE's
// RSK/SSK/PVT), their storage, and the 3GPP KMS interface (TS 33.180 Annex D) client and server.
export {
  MemoryIdKmsStore, SecretVault, DuplicateGenerationError, type IdKmsStore, type SealedSecretRecord, type IssuedKeyRecord, type SecretKind,
} from './store.js';
export { IbeKeyIssuer, ibeDomainOf, type IbeIssuerOptions, type IbePublicInfo } from './ibe-issuer.js';
export { McxKeyIssuer, type McxIssuerOptions, type McxUserKeySet } from './mcx-issuer.js';
export {
  KMS_NS, buildKmsRequest, parseKmsRequest, buildKmsResponse, parseKmsResponse,
  type KmsRequestDoc, type KmsResponseDoc, type KmsCertificateDoc, type KmsKeySetDoc, type KmsMessageDoc, type KmsSharedKey, type KmsProtection, type KmsReadKeys,
} from './mcx-xml.js';
export {
  McxKmsClient, McxKmsError, httpsFetch, validateKeySet, checkCertificate, kmsOfCertificate,
  type McxKmsClientOptions, type McxKmsRedirectOptions, type McxKmsSecurity, type McxUserKeys, type KmsFetch, type HttpReply,
} from './mcx-client.js';
export {
  KRR_NS, KRR_CONTENT_TYPE, KrrError, buildKrr, parseKrr, readKrr, verifyKrr, krrChain, type KrrDoc, type KrrInfoDoc,
} from './mcx-krr.js';
export { wrapKey, unwrapKey, KeyWrapError, KW_AES256_PAD, KW_AES128_PAD, KW_AES256, KW_AES128 } from './keywrap.js';
export { XmlSignatureError, signatureTemplate, finishSignature, verifySignature, type XmlSigner, type XmlVerifier } from './xmldsig.js';
export { McxKmsCertCache, certificateUnusable, type McxKmsCertCacheOptions } from './mcx-cert-cache.js';
export { mcxKmsHandler, type McxKmsHandlerOptions, type RequestHandler } from './mcx-server.js';
export { parseXml, writeXml, canonicalize, XmlError, type XmlElement, type XmlNode } from './xml.js';
