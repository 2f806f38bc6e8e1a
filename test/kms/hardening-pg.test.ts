// The PostgreSQL password never needs the command line: a cluster with password authentication
// (SCRAM), reached with the password from $PGPASSWORD or from `mikey kms --db-password-file`, and
// refused without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needPeer } from '../support/peer.js';
import { openStore } from '../../src/kms/store.js';
import { freePort, pgBinDir } from './harness.js';

const PASSWORD = 'kms-db-secret';
let problem: string | null = null;
let url = '';
let port = 0;
let stop = () => undefined as void;
const dir = mkdtempSync(join(tmpdir(), 'mikey-pgpw-'));

test.before(async () => {
  const bin = pgBinDir();
  if (!bin) { problem = 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin'; return; }
  const root = process.getuid?.() === 0;
  const as = (cmd: string, args: string[]) => (root ? spawnSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { encoding: 'utf8' }) : spawnSync(join(bin, cmd), args, { encoding: 'utf8' }));
  const pw = join(dir, 'pw');
  writeFileSync(pw, `${PASSWORD}\n`, { mode: 0o600 });
  if (root) {
    const id = (f: string) => Number(spawnSync('id', [f, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, id('-u'), id('-g'));
    chownSync(pw, id('-u'), id('-g'));
  }
  const data = join(dir, 'data');
  const init = as('initdb', ['-D', data, '-A', 'scram-sha-256', '--pwfile', pw, '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  if (init.status !== 0) { problem = `initdb: ${init.stderr || init.error}`; return; }
  port = await freePort();
  const start = as('pg_ctl', ['-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
  if (start.status !== 0) { problem = `pg_ctl start: ${start.stderr || start.stdout}`; return; }
  url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  stop = () => { as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']); };
});
test.after(() => {
  stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Run `fn` with these environment variables set (undefined: unset), then restore them. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const set = (v: Record<string, string | undefined>) => { for (const [k, x] of Object.entries(v)) { if (x === undefined) delete process.env[k]; else process.env[k] = x; } };
  set(vars);
  try { return await fn(); } finally { set(saved); }
}

test('PostgreSQL password from $PGPASSWORD or --db-password-file; none: refused', async (t) => {
  if (!needPeer(t, 'PostgreSQL', problem)) return;
  const none = { PGPASSWORD: undefined, PGPASSFILE: join(dir, 'absent') };
  // no password anywhere: the server refuses
  await withEnv(none, async () => { await assert.rejects(openStore(url)); });
  await withEnv({ ...none, PGPASSWORD: 'wrong' }, async () => { await assert.rejects(openStore(url), /password authentication failed/); });
  const check = async (o: { password?: string } = {}) => {
    const s = await openStore(url, o);
    try { assert.ok((await s.migrate()) >= 3); } finally { await s.close(); }
  };
  await withEnv({ ...none, PGPASSWORD: PASSWORD }, () => check());
  await withEnv(none, () => check({ password: PASSWORD }));
  // the command: --db-password-file
  const pwFile = join(dir, 'db-password');
  writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
  const bin = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
  const env: NodeJS.ProcessEnv = { ...process.env, PGPASSFILE: join(dir, 'absent') };
  delete env['PGPASSWORD'];
  const ok = spawnSync(process.execPath, [bin, 'kms', 'policy', 'list', '--db', url, '--db-password-file', pwFile], { encoding: 'utf8', env });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /no policy rules/);
});
