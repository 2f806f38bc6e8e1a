// Test harness for the KMS: provisioning a store, a throwaway PostgreSQL cluster (initdb into a
// temp dir, as the postgres user when we are root, on a private port and socket dir), and KMS
// processes started and stopped by the tests.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scaled, startChild, type Child } from '../support/child.js';
import pg from 'pg';
import { SecretBox } from '../../src/kms/secrets.js';
import type { Store } from '../../src/kms/store.js';
import { identity } from '../../src/kms/memory.js';
import { DEFAULT_RULE } from '../../src/kms/grant.js';
import { CLI } from '../support/cli.js';

export const MASTER = new Uint8Array(32).map((_, i) => i * 3 + 1);
export const MASTER_HEX = Buffer.from(MASTER).toString('hex');
export const psk = (n: number, len = 16) => new Uint8Array(len).map((_, i) => (i * 11 + n) & 0xff);
export const ALICE = 'sip:alice@example.org';
export const BOB = 'sip:bob@example.org';
export const CAROL = 'sip:carol@example.org';
export const SUPPORT = 'sip:it-support@example.org';
export const KMS_ID = 'sip:kms@example.org';

/** Alice (one device), Bob (two devices), Carol in it-support, and a rule letting anyone ask for anyone. */
export async function provision(store: Store, box: SecretBox, extraUsers = 0): Promise<void> {
  await store.migrate();
  await store.metaOnce('master-key-check', box.checkValue());
  const now = Date.now();
  const add = async (name: string, devices: Array<[string, Uint8Array]>) => {
    await store.addUser({ name, idType: identity(name).idType, createdAt: now });
    for (const [d, k] of devices) await store.addCredential({ name: d, user: name, kind: 'psk', pskId: Buffer.from(d), secret: box.seal(k, `credential:${d}`), createdAt: now });
  };
  await add(ALICE, [['alice-phone', psk(1)]]);
  await add(BOB, [['bob-phone', psk(2)], ['bob-laptop', psk(3)]]);
  await add(CAROL, [['carol-desk', psk(4)]]);
  for (let i = 0; i < extraUsers; i++) await add(`sip:user${i}@example.org`, [[`user${i}`, psk(100 + i)]]);
  await store.addGroupMember(SUPPORT, CAROL);
  await store.addRule({ initiator: '*', responder: '*', ...DEFAULT_RULE, maxKeys: 4 });
}

// ---- PostgreSQL --------------------------------------------------------------------------

export function pgBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export interface PgCluster {
  url(db?: string): string;
  createDb(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** A throwaway cluster, or the reason there is none (for needPeer). */
export async function startPg(o: { durable?: boolean } = {}): Promise<PgCluster | string> {
  const bin = pgBinDir();
  if (!bin) return 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install -y postgresql)';
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'mikey-pg-'));
  const as = (cmd: string, args: string[]) => (root ? spawnSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { encoding: 'utf8' }) : spawnSync(join(bin, cmd), args, { encoding: 'utf8' }));
  try {
    if (root) chownSync(dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()), Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()));
    const data = join(dir, 'data');
    const init = as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    if (init.status !== 0) throw new Error(`initdb: ${init.stderr || init.error}`);
    const port = await freePort();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200${o.durable ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off'}`;
    const start = as('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', String(Math.ceil(scaled(30_000) / 1000)), 'start']);
    if (start.status !== 0) throw new Error(`pg_ctl start: ${start.stderr || start.stdout}; server log: ${existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').slice(-2000) : '(none)'}`);
    const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;
    return {
      url,
      async createDb(name) {
        const c = new pg.Client({ connectionString: url() });
        await c.connect();
        await c.query(`CREATE DATABASE ${name}`);
        await c.end();
        return url(name);
      },
      async stop() {
        as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    as('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']);
    rmSync(dir, { recursive: true, force: true });
    return (e as Error).message;
  }
}

// ---- KMS processes -----------------------------------------------------------------------

export interface KmsProcess {
  child: ChildProcess;
  httpUrl: string;
  udpPort: number;
  /** Log lines seen (JSON). */
  lines: Array<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * The first log line of `k` that matches, waited for: the service writes the lines of one
 * event-loop turn together, after the answer may have left (timeout scaled for load).
 */
export async function logged(k: Pick<KmsProcess, 'lines' | 'child'>, what: (l: Record<string, unknown>) => boolean, label: string): Promise<Record<string, unknown>> {
  const until = Date.now() + scaled(30_000);
  for (;;) {
    const line = k.lines.find(what);
    if (line) return line;
    if (Date.now() > until || k.child.exitCode !== null) throw new Error(`no ${label} in the log: ${JSON.stringify(k.lines.slice(-10))}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The SRTP master keys and salts of a bundle, as text (to compare two ends' keys). */
export const keysOf = (b: { sessions: Array<{ keys: Array<{ masterKey: Uint8Array; masterSalt: Uint8Array }> }> }): string[] =>
  b.sessions.flatMap((s) => s.keys.map((k) => `${Buffer.from(k.masterKey).toString('hex')}/${Buffer.from(k.masterSalt).toString('hex')}`));

/** `mikey kms serve` in a child process; resolves when it logs `listening` (timeouts scaled, see startChild). */
export async function startKms(db: string, o: { node?: string; udpPort?: number; httpPort?: number; extra?: string[]; keyFile?: string } = {}): Promise<KmsProcess> {
  const keyDir = o.keyFile ? undefined : mkdtempSync(join(tmpdir(), 'mikey-kms-key-'));
  const keyFile = o.keyFile ?? join(keyDir!, 'master.key');
  if (!existsSync(keyFile)) writeFileSync(keyFile, `${MASTER_HEX}\n`, { mode: 0o600 });
  const lines: Array<Record<string, unknown>> = [];
  const json = (l: string): Record<string, unknown> | undefined => {
    try {
      const j = JSON.parse(l) as unknown;
      return j && typeof j === 'object' ? (j as Record<string, unknown>) : undefined;
    } catch {
      return undefined; // not a log line
    }
  };
  let started: Child<{ http: string; udp: string }>;
  try {
    // identity keys (--ibake, --mcx-kms-uri) are generated on a first start: allow for that
    started = await startChild(`KMS ${o.node ?? 'kms'}`, process.execPath, [CLI, 'kms', 'serve', '--db', db, '--master-key-file', keyFile, '--identity', KMS_ID,
      '--http-port', String(o.httpPort ?? 0), '--udp-port', String(o.udpPort ?? 0), '--node', o.node ?? 'kms', '--rate', '100000', '--burst', '100000',
      // a loaded machine may hold a response for seconds (identity keys are made in the handler)
      ...(o.extra?.includes('--headers-timeout') ? [] : ['--headers-timeout', String(scaled(20_000))]), ...(o.extra ?? [])],
    (l) => { const j = json(l); return j?.['event'] === 'listening' ? (j as { http: string; udp: string }) : undefined; },
    { timeoutMs: o.extra?.some((a) => a === '--ibake' || a === '--mcx-kms-uri') ? 60_000 : 20_000, onLine: (l) => { const j = json(l); if (j) lines.push(j); } });
  } catch (e) {
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    throw e;
  }
  const { child, info } = started;
  return {
    child, httpUrl: info.http, udpPort: info.udp ? Number(info.udp.split(':').at(-1)) : 0, lines,
    stop: async (signal = 'SIGTERM') => {
      await started.stop(signal);
      if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    },
  };
}
