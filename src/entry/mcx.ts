// mikey/mcx: the 3GPP mission-critical profile of MIKEY-SAKKE (TS 33.180): UIDs, key identifiers,
// GUK-IDs, policies, key parameters, lenience; the KMS interface (Annex D) documents, client and server.
export * from '../profiles/mcx/index.js';
export { McxKeyIssuer, type McxIssuerOptions, type McxUserKeySet } from '../idkms/mcx-issuer.js';
export {
  KMS_NS, buildKmsRequest, parseKmsRequest, buildKmsResponse, parseKmsResponse,
  type KmsRequestDoc, type KmsResponseDoc, type KmsCertificateDoc, type KmsKeySetDoc, type KmsMessageDoc,
} from '../idkms/mcx-xml.js';
export {
  McxKmsClient, McxKmsError, validateKeySet, checkCertificate, kmsOfCertificate,
  type McxKmsClientOptions, type McxUserKeys, type KmsFetch, type HttpReply,
} from '../idkms/mcx-client.js';
export { mcxKmsHandler, type McxKmsHandlerOptions, type RequestHandler } from '../idkms/mcx-server.js';
export {
  KRR_NS, KRR_CONTENT_TYPE, KrrError, buildKrr, parseKrr, readKrr, verifyKrr, krrChain, type KrrDoc, type KrrInfoDoc,
} from '../idkms/mcx-krr.js';
export { McxKmsCertCache, certificateUnusable, type McxKmsCertCacheOptions } from '../idkms/mcx-cert-cache.js';
