// The embedded store: one SQLite file (better-sqlite3), created on first start, WAL journal so
// readers do not wait for the writer. Every statement is synchronous, so a transaction is one
// synchronous function and no other request can run inside it.
import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { PolicyRule } from './grant.js';
import { DuplicateGenerationError, type IssuedKeyRecord, type SealedSecretRecord, type SecretKind } from '../idkms/store.js';
import {
  BACKUP_TABLES, credFromRow, fromBackupRow, issuedFromRow, migrations, ruleFromRow, secretFromRow, ticketFromRow, toBackupRow,
  type AuditRow, type Backup, type CommitInput, type CommitResult, type Counts, type CredentialRow, type Store, type TicketRow,
  type TpkRow, type UserRow,
} from './store.js';

type Row = Record<string, unknown>;

export class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  private readonly stmts = new Map<string, Database.Statement>();

  private constructor(private readonly db: Database.Database, readonly location: string) {}

  static async open(path: string): Promise<SqliteStore> {
    if (path !== ':memory:' && !path.startsWith('file:')) ownerOnly(path);
    const db = new Database(path);
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
    return new SqliteStore(db, path);
  }

  private st(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) { s = this.db.prepare(sql); this.stmts.set(sql, s); }
    return s;
  }
  private all(sql: string, ...p: unknown[]): Row[] { return this.st(sql).all(...p) as Row[]; }
  private get(sql: string, ...p: unknown[]): Row | undefined { return this.st(sql).get(...p) as Row | undefined; }
  private run(sql: string, ...p: unknown[]): number { return this.st(sql).run(...p).changes; }

  async migrate(): Promise<number> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL, description TEXT NOT NULL)');
    const apply = this.db.transaction(() => {
      const have = new Set(this.db.prepare('SELECT version FROM schema_migrations').all().map((r) => Number((r as Row)['version'])));
      for (const m of migrations('sqlite')) {
        if (have.has(m.version)) continue;
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at, description) VALUES (?, ?, ?)').run(m.version, Date.now(), m.description);
      }
    });
    apply.immediate();
    return this.schemaVersion();
  }

  async schemaVersion(): Promise<number> {
    const r = this.db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as Row | undefined;
    return Number(r?.['v'] ?? 0);
  }

  async meta(key: string): Promise<string | undefined> {
    const r = this.get('SELECT value FROM meta WHERE key = ?', key);
    return r ? String(r['value']) : undefined;
  }
  async metaOnce(key: string, value: string): Promise<string> {
    this.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', key, value);
    return (await this.meta(key))!;
  }

  async addUser(u: UserRow): Promise<boolean> {
    return this.run('INSERT INTO users (name, id_type, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', u.name, u.idType, u.createdAt) === 1;
  }
  async removeUser(name: string): Promise<boolean> {
    return this.db.transaction(() => {
      this.run('DELETE FROM group_members WHERE member = ?', name);
      return this.run('DELETE FROM users WHERE name = ?', name) === 1;
    }).immediate();
  }
  async addCredential(c: CredentialRow): Promise<void> {
    this.run('INSERT INTO credentials (name, user_name, kind, psk_id, secret, cert, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      c.name, c.user, c.kind, c.pskId ?? null, c.secret ?? null, c.cert ?? null, c.createdAt);
  }
  async removeCredential(name: string): Promise<boolean> {
    return this.run('DELETE FROM credentials WHERE name = ?', name) === 1;
  }
  async user(name: string): Promise<(UserRow & { creds: CredentialRow[] }) | undefined> {
    const u = this.get('SELECT name, id_type, created_at FROM users WHERE name = ?', name);
    if (!u) return undefined;
    const creds = this.all('SELECT * FROM credentials WHERE user_name = ? ORDER BY name', name).map(credFromRow);
    return { name: String(u['name']), idType: Number(u['id_type']), createdAt: Number(u['created_at']), creds };
  }
  async users(): Promise<Array<UserRow & { creds: CredentialRow[] }>> {
    const creds = this.all('SELECT * FROM credentials ORDER BY name').map(credFromRow);
    return this.all('SELECT name, id_type, created_at FROM users ORDER BY name').map((u) => ({
      name: String(u['name']), idType: Number(u['id_type']), createdAt: Number(u['created_at']), creds: creds.filter((c) => c.user === u['name']),
    }));
  }
  async credentialByPskId(pskId: Buffer): Promise<{ user: UserRow; cred: CredentialRow } | undefined> {
    const r = this.get('SELECT c.*, u.id_type AS u_id_type, u.created_at AS u_created_at FROM credentials c JOIN users u ON u.name = c.user_name WHERE c.psk_id = ?', pskId);
    if (!r) return undefined;
    return { user: { name: String(r['user_name']), idType: Number(r['u_id_type']), createdAt: Number(r['u_created_at']) }, cred: credFromRow(r) };
  }

  async addGroupMember(group: string, member: string): Promise<void> {
    this.run('INSERT INTO group_members (group_name, member) VALUES (?, ?) ON CONFLICT DO NOTHING', group, member);
  }
  async removeGroupMember(group: string, member?: string): Promise<number> {
    return member === undefined ? this.run('DELETE FROM group_members WHERE group_name = ?', group) : this.run('DELETE FROM group_members WHERE group_name = ? AND member = ?', group, member);
  }
  async groups(): Promise<Array<{ group: string; member: string }>> {
    return this.all('SELECT group_name, member FROM group_members ORDER BY group_name, member').map((r) => ({ group: String(r['group_name']), member: String(r['member']) }));
  }

  async addRule(r: PolicyRule): Promise<number> {
    const row = this.get(`INSERT INTO rules (initiator, responder, max_validity_sec, forking, reuse, initiator_keys, responder_keys, max_keys, rekey_sec)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, r.initiator, r.responder, r.maxValiditySec, r.forking, r.reuse ? 1 : 0, r.initiatorKeys ? 1 : 0, r.responderKeys ? 1 : 0, r.maxKeys, r.rekeySec ?? null);
    return Number(row!['id']);
  }
  async removeRule(id: number): Promise<boolean> {
    return this.run('DELETE FROM rules WHERE id = ?', id) === 1;
  }
  async rules(): Promise<PolicyRule[]> {
    return this.all('SELECT * FROM rules ORDER BY id').map(ruleFromRow);
  }

  async tpks(): Promise<TpkRow[]> {
    return this.all('SELECT * FROM tpks ORDER BY created_at').map((r) => ({ id: Buffer.from(r['id'] as Uint8Array), secret: Buffer.from(r['secret'] as Uint8Array), createdAt: Number(r['created_at']) }));
  }
  async tpk(id: Buffer): Promise<TpkRow | undefined> {
    const r = this.get('SELECT * FROM tpks WHERE id = ?', id);
    return r ? { id: Buffer.from(r['id'] as Uint8Array), secret: Buffer.from(r['secret'] as Uint8Array), createdAt: Number(r['created_at']) } : undefined;
  }
  async rotateTpk(now: number, maxAgeMs: number, make: () => TpkRow): Promise<TpkRow> {
    // BEGIN IMMEDIATE: one writer at a time, also across processes sharing the file
    return this.db.transaction((): TpkRow => {
      const r = this.get('SELECT * FROM tpks ORDER BY created_at DESC LIMIT 1');
      if (r && now - Number(r['created_at']) < maxAgeMs) return { id: Buffer.from(r['id'] as Uint8Array), secret: Buffer.from(r['secret'] as Uint8Array), createdAt: Number(r['created_at']) };
      const t = make();
      this.run('INSERT INTO tpks (id, secret, created_at) VALUES (?, ?, ?)', t.id, t.secret, t.createdAt);
      return t;
    }).immediate();
  }
  async pruneTpks(createdBefore: number): Promise<number> {
    // never the newest
    return this.run('DELETE FROM tpks WHERE created_at < ? AND id <> (SELECT id FROM tpks ORDER BY created_at DESC LIMIT 1)', createdBefore);
  }

  /** One request's rows; inside commitBatch's transaction, a claim on a ticket runs in a savepoint, so a reuse undoes only its own. */
  private readonly commitOne = (c: CommitInput): CommitResult => {
    const fresh = this.run('INSERT INTO replay (key, expires_at, response) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, response = excluded.response WHERE replay.expires_at <= ?',
      c.replay.key, c.replay.expiresAt, c.response, c.audit.at);
    if (fresh === 0) {
      const r = this.get('SELECT response FROM replay WHERE key = ?', c.replay.key);
      return { status: 'replayed', response: r?.['response'] ? Buffer.from(r['response'] as Uint8Array) : undefined };
    }
    const use = c.resolved?.use;
    if (use) {
      this.run('INSERT INTO ticket_use (ticket_id, vi) VALUES (?, ?) ON CONFLICT DO NOTHING', use.key, use.claim);
      const u = this.get('SELECT vi FROM ticket_use WHERE ticket_id = ?', use.key);
      if (u && u['vi'] !== use.claim) throw new ReuseAbort();
    }
    if (c.issued) {
      const t = c.issued;
      this.run('INSERT INTO tickets (id, ticket_type, tpk_id, initiator, responders, flags, issued_at, valid_from, valid_to, digest, node) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        t.id, t.ticketType, t.tpkId ?? null, t.initiator, JSON.stringify(t.responders), t.flags, t.issuedAt, t.validFrom ?? null, t.validTo ?? null, t.digest, t.node);
    }
    if (c.resolved) {
      const r = c.resolved;
      this.run('INSERT INTO resolutions (ticket_id, resolver, vi, at, node) VALUES (?, ?, ?, ?, ?)', r.ticketId, r.resolver, r.vi ?? null, r.at, r.node);
    }
    const a = c.audit;
    this.run('INSERT INTO audit (at, node, event, actor, detail) VALUES (?, ?, ?, ?, ?)', a.at, a.node, a.event, a.actor, JSON.stringify(a.detail));
    return { status: 'stored' };
  };
  private commitTxF?: Database.Transaction<(c: CommitInput) => CommitResult>;
  private get commitTx() { return (this.commitTxF ??= this.db.transaction(this.commitOne)); }

  private commitSaved(c: CommitInput): CommitResult {
    try {
      return this.commitTx.immediate(c);
    } catch (e) {
      if (e instanceof ReuseAbort) return { status: 'reuse' };
      throw e;
    }
  }

  async commit(c: CommitInput): Promise<CommitResult> {
    return this.commitSaved(c);
  }

  /** Group commit: the requests of a batch in one transaction (one WAL append); a claim on a ticket in its own savepoint. */
  private batchTxF?: Database.Transaction<(cs: CommitInput[]) => CommitResult[]>;
  async commitBatch(cs: CommitInput[]): Promise<CommitResult[]> {
    // a savepoint only where a request may be undone alone (a claim on a J = 0 ticket); any other failure undoes the batch
    this.batchTxF ??= this.db.transaction((xs: CommitInput[]): CommitResult[] => xs.map((c) => (c.resolved?.use ? this.commitSaved(c) : this.commitOne(c))));
    return this.batchTxF.immediate(cs);
  }

  async pruneReplay(now: number): Promise<number> {
    return this.run('DELETE FROM replay WHERE expires_at <= ?', now);
  }

  async tickets(): Promise<TicketRow[]> {
    return this.all('SELECT * FROM tickets ORDER BY issued_at, id').map(ticketFromRow);
  }
  async auditTail(n: number): Promise<AuditRow[]> {
    return this.all('SELECT * FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id', n).map((r) => ({
      at: Number(r['at']), node: String(r['node']), event: String(r['event']), actor: String(r['actor']), detail: JSON.parse(String(r['detail'])) as Record<string, unknown>,
    }));
  }
  async counts(): Promise<Counts> {
    const n = (t: string) => Number(this.get(`SELECT count(*) AS n FROM ${t}`)!['n']);
    return { users: n('users'), credentials: n('credentials'), rules: n('rules'), tpks: n('tpks'), tickets: n('tickets'), resolutions: n('resolutions'), replay: n('replay'), audit: n('audit') };
  }

  async dump(fingerprint: string): Promise<Backup> {
    const tables: Backup['tables'] = {};
    const read = this.db.transaction(() => {
      for (const t of BACKUP_TABLES) tables[t] = this.all(`SELECT * FROM ${t}`).map((r) => toBackupRow(t, r));
    });
    read();
    return { format: 'mikey-kms-backup', version: 1, schemaVersion: await this.schemaVersion(), exportedAt: Date.now(), masterKeyFingerprint: fingerprint, tables };
  }

  async restore(b: Backup): Promise<void> {
    this.db.transaction(() => {
      for (const t of BACKUP_TABLES) {
        for (const row of b.tables[t] ?? []) {
          const r = fromBackupRow(t, row);
          const cols = Object.keys(r);
          this.db.prepare(`INSERT INTO ${t} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`).run(...cols.map((k) => r[k] as never));
        }
      }
    }).immediate();
  }

  // ---- identity keys (IdKmsStore) ----
  async listSecrets(kind: SecretKind): Promise<SealedSecretRecord[]> {
    return this.all('SELECT * FROM id_secrets WHERE kind = ? ORDER BY generation', kind).map(secretFromRow);
  }
  async addSecret(r: SealedSecretRecord): Promise<void> {
    // synchronous = FULL for this commit: the WAL is synced before we return (durable)
    this.db.pragma('synchronous = FULL');
    try {
      this.run('INSERT INTO id_secrets (kind, generation, from_period, public_data, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        r.kind, r.generation, r.fromPeriod, r.publicData, Buffer.from(r.sealed), r.createdAt);
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) throw new DuplicateGenerationError(`${r.kind} generation ${r.generation} exists`);
      throw e;
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }
  async putIssuedKey(r: IssuedKeyRecord): Promise<void> {
    this.run(`INSERT INTO id_issued (kind, subject, period_no, generation, issued_at, sealed) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (kind, subject, period_no) DO UPDATE SET generation = excluded.generation, issued_at = excluded.issued_at, sealed = excluded.sealed`,
    r.kind, r.subject, r.periodNo, r.generation, r.issuedAt, Buffer.from(r.sealed));
  }
  async getIssuedKey(kind: SecretKind, subject: string, periodNo: number): Promise<IssuedKeyRecord | undefined> {
    const r = this.get('SELECT * FROM id_issued WHERE kind = ? AND subject = ? AND period_no = ?', kind, subject, periodNo);
    return r && issuedFromRow(r);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

class ReuseAbort extends Error {}

/**
 * The store file readable by its owner only: created 0600 before SQLite opens it (SQLite gives
 * the -wal and -shm files the database file's mode), and an existing file, -wal or -shm
 * readable by others narrowed to 0600.
 */
function ownerOnly(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}
