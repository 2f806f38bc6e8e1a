// The shared store: PostgreSQL, so that several KMS nodes behind one address share users,
// policies, ticket protection keys, issued tickets, the replay cache and the audit log. The hot
// path is one round trip: the replay entry, the ticket or resolution and the audit row go in
// one statement (data-modifying CTEs are one atomic statement).
import pg from 'pg';
import type { PolicyRule } from './grant.js';
import { DuplicateGenerationError, type IssuedKeyRecord, type SealedSecretRecord, type SecretKind } from '../idkms/store.js';
import {
  BACKUP_TABLES, credFromRow, fromBackupRow, issuedFromRow, migrations, ruleFromRow, secretFromRow, ticketFromRow, toBackupRow,
  type AuditRow, type Backup, type CommitInput, type CommitResult, type Counts, type CredentialRow, type Store, type TicketRow,
  type TpkRow, type UserRow,
} from './store.js';

type Row = Record<string, unknown>;
// BIGINT as a JS number (ms timestamps and counters fit)
pg.types.setTypeParser(20, (v: string) => Number(v));

/** Advisory lock keys: migrations, TPK rotation. */
const LOCK_MIGRATE = 0x6d696b65;
const LOCK_TPK = 0x6d696b66;

export class PgStore implements Store {
  readonly backend = 'postgres' as const;

  private constructor(private readonly pool: pg.Pool, readonly location: string) {}

  static async open(url: string, password?: string): Promise<PgStore> {
    // without a password node-postgres takes $PGPASSWORD (or ~/.pgpass); one given goes
    // into the URL in memory only (a separate `password` option would be overridden by the URL's)
    let connectionString = url;
    if (password !== undefined) {
      const u = new URL(url);
      u.password = encodeURIComponent(password);
      connectionString = u.toString();
    }
    const pool = new pg.Pool({ connectionString, max: 8, idleTimeoutMillis: 10_000 });
    pool.on('error', () => { /* a dropped idle connection: the next query reconnects */ });
    const s = new PgStore(pool, url.replace(/\/\/[^@/]*@/, '//***@'));
    try {
      await pool.query('SELECT 1');
    } catch (e) {
      // refused (a wrong password, no server): nothing left open
      await pool.end().catch(() => undefined);
      throw e;
    }
    return s;
  }

  private async q(sql: string, p: unknown[] = []): Promise<Row[]> {
    return (await this.pool.query(sql, p)).rows as Row[];
  }
  /** A named statement: parsed and planned once per connection, then only bound and executed. */
  private async prepared(name: string, text: string, values: unknown[]): Promise<Row[]> {
    return (await this.pool.query({ name, text, values })).rows as Row[];
  }
  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  async migrate(): Promise<number> {
    await this.tx(async (c) => {
      // one node migrates; the others wait here and then find nothing to do
      await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_MIGRATE]);
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL, description TEXT NOT NULL)');
      const have = new Set((await c.query('SELECT version FROM schema_migrations')).rows.map((r: Row) => Number(r['version'])));
      for (const m of migrations('postgres')) {
        if (have.has(m.version)) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, applied_at, description) VALUES ($1, $2, $3)', [m.version, Date.now(), m.description]);
      }
    });
    return this.schemaVersion();
  }

  async schemaVersion(): Promise<number> {
    const r = await this.q('SELECT max(version) AS v FROM schema_migrations');
    return Number(r[0]?.['v'] ?? 0);
  }

  async meta(key: string): Promise<string | undefined> {
    const r = await this.q('SELECT value FROM meta WHERE key = $1', [key]);
    return r[0] ? String(r[0]['value']) : undefined;
  }
  async metaOnce(key: string, value: string): Promise<string> {
    await this.q('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, value]);
    return (await this.meta(key))!;
  }

  async addUser(u: UserRow): Promise<boolean> {
    return (await this.pool.query('INSERT INTO users (name, id_type, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [u.name, u.idType, u.createdAt])).rowCount === 1;
  }
  async removeUser(name: string): Promise<boolean> {
    return this.tx(async (c) => {
      await c.query('DELETE FROM group_members WHERE member = $1', [name]);
      return (await c.query('DELETE FROM users WHERE name = $1', [name])).rowCount === 1;
    });
  }
  async addCredential(c: CredentialRow): Promise<void> {
    await this.q('INSERT INTO credentials (name, user_name, kind, psk_id, secret, cert, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [c.name, c.user, c.kind, c.pskId ?? null, c.secret ?? null, c.cert ?? null, c.createdAt]);
  }
  async removeCredential(name: string): Promise<boolean> {
    return (await this.pool.query('DELETE FROM credentials WHERE name = $1', [name])).rowCount === 1;
  }
  async user(name: string): Promise<(UserRow & { creds: CredentialRow[] }) | undefined> {
    const rows = await this.q(`SELECT u.name AS u_name, u.id_type AS u_id_type, u.created_at AS u_created_at, c.*
      FROM users u LEFT JOIN credentials c ON c.user_name = u.name WHERE u.name = $1 ORDER BY c.name`, [name]);
    if (!rows.length) return undefined;
    const u = rows[0]!;
    return { name: String(u['u_name']), idType: Number(u['u_id_type']), createdAt: Number(u['u_created_at']), creds: rows.filter((r) => r['name'] !== null).map(credFromRow) };
  }
  async users(): Promise<Array<UserRow & { creds: CredentialRow[] }>> {
    const creds = (await this.q('SELECT * FROM credentials ORDER BY name')).map(credFromRow);
    return (await this.q('SELECT name, id_type, created_at FROM users ORDER BY name')).map((u) => ({
      name: String(u['name']), idType: Number(u['id_type']), createdAt: Number(u['created_at']), creds: creds.filter((c) => c.user === u['name']),
    }));
  }
  async credentialByPskId(pskId: Buffer): Promise<{ user: UserRow; cred: CredentialRow } | undefined> {
    const r = (await this.q('SELECT c.*, u.id_type AS u_id_type, u.created_at AS u_created_at FROM credentials c JOIN users u ON u.name = c.user_name WHERE c.psk_id = $1', [pskId]))[0];
    if (!r) return undefined;
    return { user: { name: String(r['user_name']), idType: Number(r['u_id_type']), createdAt: Number(r['u_created_at']) }, cred: credFromRow(r) };
  }

  async addGroupMember(group: string, member: string): Promise<void> {
    await this.q('INSERT INTO group_members (group_name, member) VALUES ($1, $2) ON CONFLICT DO NOTHING', [group, member]);
  }
  async removeGroupMember(group: string, member?: string): Promise<number> {
    const r = member === undefined
      ? await this.pool.query('DELETE FROM group_members WHERE group_name = $1', [group])
      : await this.pool.query('DELETE FROM group_members WHERE group_name = $1 AND member = $2', [group, member]);
    return r.rowCount ?? 0;
  }
  async groups(): Promise<Array<{ group: string; member: string }>> {
    return (await this.q('SELECT group_name, member FROM group_members ORDER BY group_name, member')).map((r) => ({ group: String(r['group_name']), member: String(r['member']) }));
  }

  async addRule(r: PolicyRule): Promise<number> {
    const row = await this.q(`INSERT INTO rules (initiator, responder, max_validity_sec, forking, reuse, initiator_keys, responder_keys, max_keys, rekey_sec)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, [r.initiator, r.responder, r.maxValiditySec, r.forking, r.reuse ? 1 : 0, r.initiatorKeys ? 1 : 0, r.responderKeys ? 1 : 0, r.maxKeys, r.rekeySec ?? null]);
    return Number(row[0]!['id']);
  }
  async removeRule(id: number): Promise<boolean> {
    return (await this.pool.query('DELETE FROM rules WHERE id = $1', [id])).rowCount === 1;
  }
  async rules(): Promise<PolicyRule[]> {
    return (await this.q('SELECT * FROM rules ORDER BY id')).map(ruleFromRow);
  }

  private tpkRow(r: Row): TpkRow {
    return { id: Buffer.from(r['id'] as Uint8Array), secret: Buffer.from(r['secret'] as Uint8Array), createdAt: Number(r['created_at']) };
  }
  async tpks(): Promise<TpkRow[]> {
    return (await this.q('SELECT * FROM tpks ORDER BY created_at')).map((r) => this.tpkRow(r));
  }
  async tpk(id: Buffer): Promise<TpkRow | undefined> {
    const r = (await this.q('SELECT * FROM tpks WHERE id = $1', [id]))[0];
    return r ? this.tpkRow(r) : undefined;
  }
  async rotateTpk(now: number, maxAgeMs: number, make: () => TpkRow): Promise<TpkRow> {
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [LOCK_TPK]);
      const r = (await c.query('SELECT * FROM tpks ORDER BY created_at DESC LIMIT 1')).rows[0] as Row | undefined;
      if (r && now - Number(r['created_at']) < maxAgeMs) return this.tpkRow(r);
      const t = make();
      await c.query('INSERT INTO tpks (id, secret, created_at) VALUES ($1, $2, $3)', [t.id, t.secret, t.createdAt]);
      return t;
    });
  }
  async pruneTpks(createdBefore: number): Promise<number> {
    const r = await this.pool.query('DELETE FROM tpks WHERE created_at < $1 AND id <> (SELECT id FROM tpks ORDER BY created_at DESC LIMIT 1)', [createdBefore]);
    return r.rowCount ?? 0;
  }

  async commit(c: CommitInput): Promise<CommitResult> {
    if (c.resolved?.use) return this.commitWithUse(c);
    return (await this.commitPlain([c]))[0]!;
  }

  /**
   * Group commit: the batch's requests in one statement each for those without a J = 0 claim
   * (one round trip for all of them) and one statement per claim, run side by side.
   */
  async commitBatch(cs: CommitInput[]): Promise<CommitResult[]> {
    const out: Array<Promise<CommitResult> | undefined> = new Array(cs.length).fill(undefined);
    const plain: number[] = [];
    const keys = new Set<string>();
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i]!;
      // a key twice in one statement is refused by ON CONFLICT: the second goes alone, after
      if (c.resolved?.use || keys.has(c.replay.key)) continue;
      keys.add(c.replay.key);
      plain.push(i);
    }
    const batch = plain.length ? this.commitPlain(plain.map((i) => cs[i]!)) : Promise.resolve([]);
    plain.forEach((i, j) => { out[i] = batch.then((rs) => rs[j]!); });
    // claims on one ticket in the batch's order (the first holds it), claims on others side by side
    const claims = new Map<string, Promise<unknown>>();
    for (let i = 0; i < cs.length; i++) {
      if (out[i]) continue;
      const c = cs[i]!;
      const use = c.resolved?.use;
      if (use) {
        const p = (claims.get(use.key) ?? Promise.resolve()).then(() => this.commitWithUse(c));
        claims.set(use.key, p.catch(() => undefined));
        out[i] = p;
      } else {
        out[i] = batch.then(() => this.commitPlain([c])).then((rs) => rs[0]!);
      }
    }
    return Promise.all(out as Array<Promise<CommitResult>>);
  }

  /**
   * One statement: the replay entries decide which requests write the rest (a retransmission
   * writes nothing); tickets, resolutions and audit rows follow from the rows of the batch
   * (data-modifying CTEs are one atomic statement).
   */
  private async commitPlain(cs: CommitInput[]): Promise<CommitResult[]> {
    const col = <T>(f: (c: CommitInput) => T) => cs.map(f);
    const now = Math.max(...cs.map((c) => c.audit.at));
    const rows = await this.prepared('mikey-commit', `
WITH inp AS (
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::int[],
    $5::text[], $6::int[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[], $15::text[],
    $16::text[], $17::text[], $18::text[], $19::bigint[], $20::text[],
    $21::bigint[], $22::text[], $23::text[], $24::text[], $25::text[])
  AS x(key, expires_at, response, ord, t_id, t_type, tpk_id, initiator, responders, flags, issued_at, valid_from, valid_to, digest, t_node,
    r_ticket, resolver, vi, r_at, r_node, a_at, a_node, event, actor, detail)),
rp AS (
  INSERT INTO replay (key, expires_at, response) SELECT key, expires_at, response FROM inp ORDER BY ord
  ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at, response = EXCLUDED.response WHERE replay.expires_at <= $26
  RETURNING key),
ok AS (SELECT inp.* FROM inp JOIN rp USING (key)),
tk AS (
  INSERT INTO tickets (id, ticket_type, tpk_id, initiator, responders, flags, issued_at, valid_from, valid_to, digest, node)
  SELECT t_id, t_type, tpk_id, initiator, responders, flags, issued_at, valid_from, valid_to, digest, t_node FROM ok WHERE t_id IS NOT NULL ORDER BY ord
  RETURNING id),
rs AS (
  INSERT INTO resolutions (ticket_id, resolver, vi, at, node)
  SELECT r_ticket, resolver, vi, r_at, r_node FROM ok WHERE r_ticket IS NOT NULL ORDER BY ord
  RETURNING id),
au AS (
  INSERT INTO audit (at, node, event, actor, detail) SELECT a_at, a_node, event, actor, detail FROM ok ORDER BY ord
  RETURNING id)
SELECT key FROM rp`, [
      col((c) => c.replay.key), col((c) => c.replay.expiresAt), col((c) => c.response), cs.map((_, i) => i),
      col((c) => c.issued?.id ?? null), col((c) => c.issued?.ticketType ?? null), col((c) => c.issued?.tpkId ?? null), col((c) => c.issued?.initiator ?? null),
      col((c) => (c.issued ? JSON.stringify(c.issued.responders) : null)), col((c) => c.issued?.flags ?? null), col((c) => c.issued?.issuedAt ?? null),
      col((c) => c.issued?.validFrom ?? null), col((c) => c.issued?.validTo ?? null), col((c) => c.issued?.digest ?? null), col((c) => c.issued?.node ?? null),
      col((c) => c.resolved?.ticketId ?? null), col((c) => c.resolved?.resolver ?? null), col((c) => c.resolved?.vi ?? null), col((c) => c.resolved?.at ?? null),
      col((c) => c.resolved?.node ?? null),
      col((c) => c.audit.at), col((c) => c.audit.node), col((c) => c.audit.event), col((c) => c.audit.actor), col((c) => JSON.stringify(c.audit.detail)),
      now,
    ]);
    const stored = new Set(rows.map((r) => String(r['key'])));
    const missed = cs.filter((c) => !stored.has(c.replay.key)).map((c) => c.replay.key);
    const prev = missed.length ? await this.prepared('mikey-replayed', 'SELECT key, response FROM replay WHERE key = ANY($1::text[])', [missed]) : [];
    const answers = new Map(prev.map((r) => [String(r['key']), r['response'] ? Buffer.from(r['response'] as Uint8Array) : undefined]));
    return cs.map((c): CommitResult => (stored.has(c.replay.key) ? { status: 'stored' } : { status: 'replayed', response: answers.get(c.replay.key) }));
  }

  private async replayed(key: string): Promise<CommitResult> {
    const prev = (await this.prepared('mikey-replayed-1', 'SELECT response FROM replay WHERE key = $1', [key]))[0];
    return { status: 'replayed', response: prev?.['response'] ? Buffer.from(prev['response'] as Uint8Array) : undefined };
  }

  /**
   * J = 0: the first claim (Vi with forking, else the resolver's first RESOLVE_INIT) holds the
   * ticket (§5.3). One statement, one round trip: the claim is taken or read (the row locked
   * until the statement ends), and only when it is ours are the replay entry, the resolution and
   * the audit row written.
   */
  private async commitWithUse(c: CommitInput): Promise<CommitResult> {
    const r = c.resolved!;
    const use = r.use!;
    const a = c.audit;
    const rows = await this.prepared('mikey-commit-use', `
WITH u AS (
  INSERT INTO ticket_use (ticket_id, vi) VALUES ($1, $2) ON CONFLICT (ticket_id) DO UPDATE SET vi = ticket_use.vi RETURNING vi),
ok AS (SELECT 1 AS one FROM u WHERE u.vi = $2),
rp AS (
  INSERT INTO replay (key, expires_at, response) SELECT $3, $4, $5 FROM ok
  ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at, response = EXCLUDED.response WHERE replay.expires_at <= $6
  RETURNING key),
rs AS (
  INSERT INTO resolutions (ticket_id, resolver, vi, at, node) SELECT $7, $8, $9, $10, $11 FROM rp RETURNING id),
au AS (
  INSERT INTO audit (at, node, event, actor, detail) SELECT $6, $12, $13, $14, $15 FROM rp RETURNING id)
SELECT (SELECT vi FROM u) AS vi, (SELECT count(*) FROM rp) AS stored`, [
      use.key, use.claim, c.replay.key, c.replay.expiresAt, c.response, a.at,
      r.ticketId, r.resolver, r.vi ?? null, r.at, r.node,
      a.node, a.event, a.actor, JSON.stringify(a.detail),
    ]);
    const row = rows[0]!;
    if (Number(row['stored']) === 1) return { status: 'stored' };
    // the claim is ours but the replay entry exists: the same request again
    if (row['vi'] === use.claim) return this.replayed(c.replay.key);
    return { status: 'reuse' };
  }

  async pruneReplay(now: number): Promise<number> {
    return (await this.pool.query('DELETE FROM replay WHERE expires_at <= $1', [now])).rowCount ?? 0;
  }

  async tickets(): Promise<TicketRow[]> {
    return (await this.q('SELECT * FROM tickets ORDER BY issued_at, id')).map(ticketFromRow);
  }
  async auditTail(n: number): Promise<AuditRow[]> {
    return (await this.q('SELECT * FROM (SELECT * FROM audit ORDER BY id DESC LIMIT $1) t ORDER BY id', [n])).map((r) => ({
      at: Number(r['at']), node: String(r['node']), event: String(r['event']), actor: String(r['actor']), detail: JSON.parse(String(r['detail'])) as Record<string, unknown>,
    }));
  }
  async counts(): Promise<Counts> {
    const r = (await this.q(`SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM credentials) AS credentials, (SELECT count(*) FROM rules) AS rules,
      (SELECT count(*) FROM tpks) AS tpks, (SELECT count(*) FROM tickets) AS tickets, (SELECT count(*) FROM resolutions) AS resolutions,
      (SELECT count(*) FROM replay) AS replay, (SELECT count(*) FROM audit) AS audit`))[0]!;
    return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])) as unknown as Counts;
  }

  async dump(fingerprint: string): Promise<Backup> {
    const tables: Backup['tables'] = {};
    await this.tx(async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      for (const t of BACKUP_TABLES) tables[t] = (await c.query(`SELECT * FROM ${t}`)).rows.map((r: Row) => toBackupRow(t, r));
    });
    return { format: 'mikey-kms-backup', version: 1, schemaVersion: await this.schemaVersion(), exportedAt: Date.now(), masterKeyFingerprint: fingerprint, tables };
  }

  async restore(b: Backup): Promise<void> {
    await this.tx(async (c) => {
      for (const t of BACKUP_TABLES) {
        for (const row of b.tables[t] ?? []) {
          const r = fromBackupRow(t, row);
          const cols = Object.keys(r);
          await c.query(`INSERT INTO ${t} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT DO NOTHING`, cols.map((k) => r[k]));
        }
      }
      // serial columns continue after the restored ids
      for (const t of ['rules', 'resolutions', 'audit']) {
        await c.query(`SELECT setval(pg_get_serial_sequence('${t}', 'id'), GREATEST((SELECT max(id) FROM ${t}), 1))`);
      }
    });
  }

  // ---- identity keys (IdKmsStore) ----
  async listSecrets(kind: SecretKind): Promise<SealedSecretRecord[]> {
    return (await this.q('SELECT * FROM id_secrets WHERE kind = $1 ORDER BY generation', [kind])).map(secretFromRow);
  }
  async addSecret(r: SealedSecretRecord): Promise<void> {
    try {
      await this.tx(async (c) => {
        // durable before we return, whatever the server's default
        await c.query('SET LOCAL synchronous_commit = on');
        await c.query('INSERT INTO id_secrets (kind, generation, from_period, public_data, sealed, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
          [r.kind, r.generation, r.fromPeriod, r.publicData, Buffer.from(r.sealed), r.createdAt]);
      });
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw new DuplicateGenerationError(`${r.kind} generation ${r.generation} exists`);
      throw e;
    }
  }
  async putIssuedKey(r: IssuedKeyRecord): Promise<void> {
    await this.q(`INSERT INTO id_issued (kind, subject, period_no, generation, issued_at, sealed) VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (kind, subject, period_no) DO UPDATE SET generation = EXCLUDED.generation, issued_at = EXCLUDED.issued_at, sealed = EXCLUDED.sealed`,
    [r.kind, r.subject, r.periodNo, r.generation, r.issuedAt, Buffer.from(r.sealed)]);
  }
  async getIssuedKey(kind: SecretKind, subject: string, periodNo: number): Promise<IssuedKeyRecord | undefined> {
    const r = (await this.q('SELECT * FROM id_issued WHERE kind = $1 AND subject = $2 AND period_no = $3', [kind, subject, periodNo]))[0];
    return r && issuedFromRow(r);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

