// The MIKEY-TICKET key management service: its store, its directory and policies, the service
// and its network listeners, and clients for them.
export { KmsService, StoreDirectory, pooledRandom, type KmsServiceOptions, type HandleResult } from './service.js';
export { serveKms, httpTransport, udpTransport, HTTP_LIMITS, TLS_CIPHERS, type ServeOptions, type HttpLimits, type RunningKms, type Transport } from './server.js';
export {
  openStore, SCHEMA_VERSION, type Store, type Backup, type Counts, type UserRow, type CredentialRow, type TpkRow, type TicketRow, type AuditRow,
  type CommitInput, type CommitResult,
} from './store.js';
export { SecretBox, MasterKeyError, parseMasterKey, loadMasterKey } from './secrets.js';
export { MemoryDirectory, identity, type Credential, type MemoryDirectoryOptions } from './memory.js';
export { grantPolicy, mayResolve, ruleFor, DEFAULT_RULE, type PolicyRule } from './grant.js';
export { jsonLogger, nullLogger, type Logger } from './log.js';
export { TokenBuckets } from './rate.js';
export { Lru } from './lru.js';
export { IdentityKeys, mcxPassword, type IdentityKeyOptions } from './identity.js';
