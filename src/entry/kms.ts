// mikey/kms: the MIKEY-TICKET key management service: its store, directory and policy rules, the
// service and its listeners, clients, the master key; identity-key issuers and their store.
export { KmsService, StoreDirectory, type KmsServiceOptions, type HandleResult } from '../kms/service.js';
export { serveKms, httpTransport, udpTransport, HTTP_LIMITS, TLS_CIPHERS, type ServeOptions, type HttpLimits, type RunningKms, type Transport } from '../kms/server.js';
export { openStore, SCHEMA_VERSION, type Store, type Backup, type Counts, type CommitInput, type CommitResult } from '../kms/store.js';
export { SecretBox, MasterKeyError, parseMasterKey, loadMasterKey } from '../kms/secrets.js';
export { MemoryDirectory, type Credential, type MemoryDirectoryOptions } from '../kms/memory.js';
export { grantPolicy, mayResolve, ruleFor, DEFAULT_RULE, type PolicyRule } from '../kms/grant.js';
export { jsonLogger, nullLogger, type Logger } from '../kms/log.js';
export { IdentityKeys, mcxPassword, type IdentityKeyOptions } from '../kms/identity.js';
export { MissingPackageError } from '../optional.js';
export { MemoryIdKmsStore, DuplicateGenerationError, type IdKmsStore, type SealedSecretRecord, type IssuedKeyRecord, type SecretKind } from '../idkms/store.js';
export { IbeKeyIssuer, ibeDomainOf, type IbeIssuerOptions, type IbePublicInfo } from '../idkms/ibe-issuer.js';
