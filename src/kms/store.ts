// What the KMS keeps, and the two places it can keep it: an embedded SQLite file (created on
// first start) or PostgreSQL shared by several KMS nodes. Schema migrations are versioned; secret
// columns hold blobs sealed by secrets.ts, never keys in the clear.
import type { PolicyRule } from './grant.js';
import type { IssuedTicket } from '../modes/ticket/kms.js';
import { loadOptional } from '../optional.js';
import type { IdKmsStore, IssuedKeyRecord, SealedSecretRecord } from '../idkms/store.js';

export interface UserRow {
  name: string;
  idType: number;
  createdAt: number;
}

export interface CredentialRow {
  /** Unique name (a device). */
  name: string;
  user: string;
  kind: 'psk' | 'cert';
  /** IDRpsk naming the key (PSK credentials). */
  pskId?: Buffer;
  /** The sealed pre-shared key. */
  secret?: Buffer;
  /** PEM certificate (certificate credentials). */
  cert?: string;
  createdAt: number;
}

export interface TpkRow {
  id: Buffer;
  /** The sealed ticket protection key. */
  secret: Buffer;
  createdAt: number;
}

/** An issued ticket as stored: the KMS's record and the node that issued it. */
export interface TicketRow extends IssuedTicket {
  node: string;
}

export interface AuditRow {
  at: number;
  node: string;
  event: string;
  actor: string;
  detail: Record<string, unknown>;
}

/** What one answered request leaves behind, stored in one transaction before the answer is sent. */
export interface CommitInput {
  replay: { key: string; expiresAt: number };
  /** The answer, kept with the replay entry: a retransmission gets these very bytes again. */
  response: Buffer;
  issued?: TicketRow;
  /** `use`: the claim on a ticket that may not be reused (J = 0, see ticketUse): the first one holds, another is refused. */
  resolved?: { ticketId: string; resolver: string; vi?: string; reusable: boolean; at: number; node: string; use?: { key: string; claim: string } };
  audit: AuditRow;
}

export type CommitResult =
  | { status: 'stored' }
  /** The same request was answered before (here or at another node): its answer. */
  | { status: 'replayed'; response?: Buffer }
  /** J = 0: the ticket was used with another TRANSFER_INIT before (§5.3). */
  | { status: 'reuse' };

export interface Counts {
  users: number;
  credentials: number;
  rules: number;
  tpks: number;
  tickets: number;
  resolutions: number;
  replay: number;
  audit: number;
}

/** A backup: every table but the replay cache, sealed secrets as they are (base64). */
export interface Backup {
  format: 'mikey-kms-backup';
  version: 1;
  schemaVersion: number;
  exportedAt: number;
  masterKeyFingerprint: string;
  tables: Record<string, Array<Record<string, unknown>>>;
}

/** Also the identity-key store of src/idkms (tables id_secrets, id_issued; migration 3). */
export interface Store extends IdKmsStore {
  readonly backend: 'sqlite' | 'postgres';
  readonly location: string;
  /** Apply pending migrations; the schema version after. */
  migrate(): Promise<number>;
  schemaVersion(): Promise<number>;
  meta(key: string): Promise<string | undefined>;
  /** Set `key` unless set; the value in force. */
  metaOnce(key: string, value: string): Promise<string>;

  addUser(u: UserRow): Promise<boolean>;
  removeUser(name: string): Promise<boolean>;
  addCredential(c: CredentialRow): Promise<void>;
  removeCredential(name: string): Promise<boolean>;
  user(name: string): Promise<(UserRow & { creds: CredentialRow[] }) | undefined>;
  users(): Promise<Array<UserRow & { creds: CredentialRow[] }>>;
  credentialByPskId(pskId: Buffer): Promise<{ user: UserRow; cred: CredentialRow } | undefined>;

  addGroupMember(group: string, member: string): Promise<void>;
  /** Remove a member, or the whole group when `member` is undefined. */
  removeGroupMember(group: string, member?: string): Promise<number>;
  groups(): Promise<Array<{ group: string; member: string }>>;

  addRule(r: PolicyRule): Promise<number>;
  removeRule(id: number): Promise<boolean>;
  rules(): Promise<PolicyRule[]>;

  tpks(): Promise<TpkRow[]>;
  tpk(id: Buffer): Promise<TpkRow | undefined>;
  /** The newest TPK if it is younger than `maxAgeMs`, else a new one from `make` (one node makes it). */
  rotateTpk(now: number, maxAgeMs: number, make: () => TpkRow): Promise<TpkRow>;
  pruneTpks(createdBefore: number): Promise<number>;

  commit(c: CommitInput): Promise<CommitResult>;
  /**
   * Group commit: several requests' rows in one transaction, each result as `commit` would give
   * it, in order. A failure fails the requests whose rows it would have written (SQLite: the
   * whole batch); a reuse refused or a replay found concerns its own entry only.
   */
  commitBatch?(cs: CommitInput[]): Promise<CommitResult[]>;
  pruneReplay(now: number): Promise<number>;

  tickets(): Promise<TicketRow[]>;
  auditTail(n: number): Promise<AuditRow[]>;
  counts(): Promise<Counts>;

  dump(fingerprint: string): Promise<Backup>;
  restore(b: Backup): Promise<void>;
  close(): Promise<void>;
}

/**
 * SQLite file path (or ':memory:') or a postgres:// URL. The PostgreSQL password need not be in
 * the URL (where `ps` shows it): `password`, else $PGPASSWORD, as libpq does.
 */
export async function openStore(location: string, o: { password?: string } = {}): Promise<Store> {
  // the drivers are optional peer dependencies: loaded only here, for the store asked for
  if (/^postgres(ql)?:\/\//.test(location)) {
    const { PgStore } = await loadOptional('pg', 'A PostgreSQL store', () => import('./store-pg.js'));
    return PgStore.open(location, o.password);
  }
  const { SqliteStore } = await loadOptional('better-sqlite3', 'A SQLite store', () => import('./store-sqlite.js'));
  return SqliteStore.open(location);
}

/** Table order for dump/restore (parents first). */
export const BACKUP_TABLES = ['meta', 'users', 'credentials', 'group_members', 'rules', 'tpks', 'tickets', 'resolutions', 'ticket_use', 'audit', 'id_secrets', 'id_issued'] as const;

/** Byte columns of each table (base64 in a backup). */
export const BYTE_COLUMNS: Record<string, readonly string[]> = { credentials: ['psk_id', 'secret'], tpks: ['id', 'secret'], id_secrets: ['sealed'], id_issued: ['sealed'] };

/**
 * The migrations, per dialect. Version 1: the tables; version 2: indexes for the expiry scans
 * and the ticket lookups; version 3: identity-key provisioning (master secrets per kind and
 * generation, append-only; the keys issued per subject and key period). Append only: a migration, once released, never changes.
 */
export function migrations(dialect: 'sqlite' | 'postgres'): Array<{ version: number; description: string; sql: string }> {
  const blob = dialect === 'sqlite' ? 'BLOB' : 'BYTEA';
  const serial = dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY';
  return [
    {
      version: 1, description: 'users, credentials, groups, rules, ticket protection keys, tickets, resolutions, replay cache, audit log',
      sql: `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE users (name TEXT PRIMARY KEY, id_type INTEGER NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE credentials (
  name TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, kind TEXT NOT NULL,
  psk_id ${blob} UNIQUE, secret ${blob}, cert TEXT, created_at BIGINT NOT NULL);
CREATE TABLE group_members (group_name TEXT NOT NULL, member TEXT NOT NULL, PRIMARY KEY (group_name, member));
CREATE TABLE rules (
  id ${serial}, initiator TEXT NOT NULL, responder TEXT NOT NULL, max_validity_sec BIGINT NOT NULL, forking TEXT NOT NULL,
  reuse INTEGER NOT NULL, initiator_keys INTEGER NOT NULL, responder_keys INTEGER NOT NULL, max_keys INTEGER NOT NULL, rekey_sec BIGINT);
CREATE TABLE tpks (id ${blob} PRIMARY KEY, secret ${blob} NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE tickets (
  id TEXT PRIMARY KEY, ticket_type INTEGER NOT NULL, tpk_id TEXT, initiator TEXT NOT NULL, responders TEXT NOT NULL, flags TEXT NOT NULL,
  issued_at BIGINT NOT NULL, valid_from BIGINT, valid_to BIGINT, digest TEXT NOT NULL, node TEXT NOT NULL);
CREATE TABLE resolutions (id ${serial}, ticket_id TEXT NOT NULL, resolver TEXT NOT NULL, vi TEXT, at BIGINT NOT NULL, node TEXT NOT NULL);
CREATE TABLE ticket_use (ticket_id TEXT PRIMARY KEY, vi TEXT NOT NULL);
CREATE TABLE replay (key TEXT PRIMARY KEY, expires_at BIGINT NOT NULL, response ${blob});
CREATE TABLE audit (id ${serial}, at BIGINT NOT NULL, node TEXT NOT NULL, event TEXT NOT NULL, actor TEXT NOT NULL, detail TEXT NOT NULL);
`,
    },
    {
      version: 2, description: 'indexes: replay expiry, resolutions by ticket, audit by time, TPKs by age',
      sql: `
CREATE INDEX replay_expires ON replay (expires_at);
CREATE INDEX resolutions_ticket ON resolutions (ticket_id);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX tpks_created ON tpks (created_at);
`,
    },
    {
      version: 3, description: 'identity keys: sealed master secrets (IBE, KSAK/z) by generation, issued keys by subject and key period',
      sql: `
CREATE TABLE id_secrets (
  kind TEXT NOT NULL, generation INTEGER NOT NULL, from_period BIGINT NOT NULL, public_data TEXT NOT NULL, sealed ${blob} NOT NULL,
  created_at BIGINT NOT NULL, PRIMARY KEY (kind, generation));
CREATE TABLE id_issued (
  kind TEXT NOT NULL, subject TEXT NOT NULL, period_no BIGINT NOT NULL, generation INTEGER NOT NULL, issued_at BIGINT NOT NULL,
  sealed ${blob} NOT NULL, PRIMARY KEY (kind, subject, period_no));
`,
    },
  ];
}

export const SCHEMA_VERSION = 3;

export function ruleFromRow(r: Record<string, unknown>): PolicyRule {
  const rule: PolicyRule = {
    id: Number(r['id']), initiator: String(r['initiator']), responder: String(r['responder']), maxValiditySec: Number(r['max_validity_sec']),
    forking: r['forking'] as PolicyRule['forking'], reuse: Number(r['reuse']) === 1, initiatorKeys: Number(r['initiator_keys']) === 1,
    responderKeys: Number(r['responder_keys']) === 1, maxKeys: Number(r['max_keys']),
  };
  if (r['rekey_sec'] !== null && r['rekey_sec'] !== undefined) rule.rekeySec = Number(r['rekey_sec']);
  return rule;
}

export function credFromRow(r: Record<string, unknown>): CredentialRow {
  const c: CredentialRow = { name: String(r['name']), user: String(r['user_name']), kind: r['kind'] as CredentialRow['kind'], createdAt: Number(r['created_at']) };
  if (r['psk_id']) c.pskId = Buffer.from(r['psk_id'] as Uint8Array);
  if (r['secret']) c.secret = Buffer.from(r['secret'] as Uint8Array);
  if (r['cert']) c.cert = String(r['cert']);
  return c;
}

export function ticketFromRow(r: Record<string, unknown>): TicketRow {
  const t: TicketRow = {
    id: String(r['id']), ticketType: Number(r['ticket_type']), initiator: String(r['initiator']), responders: JSON.parse(String(r['responders'])) as string[],
    flags: String(r['flags']), issuedAt: Number(r['issued_at']), digest: String(r['digest']), node: String(r['node']),
  };
  if (r['tpk_id']) t.tpkId = String(r['tpk_id']);
  if (r['valid_from'] !== null && r['valid_from'] !== undefined) t.validFrom = Number(r['valid_from']);
  if (r['valid_to'] !== null && r['valid_to'] !== undefined) t.validTo = Number(r['valid_to']);
  return t;
}

/** A row of a backup table: byte columns as base64, the rest as stored. */
export function toBackupRow(table: string, r: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    out[k] = v instanceof Uint8Array ? Buffer.from(v).toString('base64') : typeof v === 'bigint' ? Number(v) : v;
  }
  void table;
  return out;
}
export function fromBackupRow(table: string, r: Record<string, unknown>): Record<string, unknown> {
  const bytes = BYTE_COLUMNS[table] ?? [];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) out[k] = bytes.includes(k) && typeof v === 'string' ? Buffer.from(v, 'base64') : v;
  return out;
}

export function secretFromRow(r: Record<string, unknown>): SealedSecretRecord {
  return {
    kind: r['kind'] as SealedSecretRecord['kind'], generation: Number(r['generation']), fromPeriod: Number(r['from_period']),
    publicData: String(r['public_data']), sealed: new Uint8Array(r['sealed'] as Uint8Array), createdAt: Number(r['created_at']),
  };
}
export function issuedFromRow(r: Record<string, unknown>): IssuedKeyRecord {
  return {
    kind: r['kind'] as IssuedKeyRecord['kind'], subject: String(r['subject']), periodNo: Number(r['period_no']), generation: Number(r['generation']),
    issuedAt: Number(r['issued_at']), sealed: new Uint8Array(r['sealed'] as Uint8Array),
  };
}
