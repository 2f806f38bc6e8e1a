// `mikey kms` administration: init, users with device credentials, groups, policy rules, export
// and import, --help everywhere; and `serve` over HTTPS with a ticket flow through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identity } from '../../src/kms/memory.js';
import { httpTransport } from '../../src/kms/server.js';
import { openStore } from '../../src/kms/store.js';
import { TicketInitiator } from '../../src/modes/ticket/initiator.js';
import { TicketResponder } from '../../src/modes/ticket/responder.js';
import { KMS_ID, logged, MASTER_HEX, startKms } from './harness.js';
import { CLI, mikeyAll } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mikey-kms-cli-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, 'master.key');
writeFileSync(key, `${MASTER_HEX}\n`);

function kms(...args: string[]): { status: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, 'kms', ...args], { encoding: 'utf8', env: { ...process.env, MIKEY_KMS_MASTER_KEY: '' } });
  return { status: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** Independent `mikey kms` invocations, run side by side. */
async function kmsAll(...runs: string[][]): Promise<Array<{ status: number; out: string; err: string }>> {
  const env = { ...process.env, MIKEY_KMS_MASTER_KEY: '' };
  return (await mikeyAll(runs.map((args) => [['kms', ...args], { env }]))).map((r) => ({ status: r.status ?? -1, out: r.stdout, err: r.stderr }));
}

test('--help for every command and subcommand; usage errors exit 2', async () => {
  const commands = [[], ['serve'], ['init'], ['keygen'], ['user'], ['user', 'add'], ['group'], ['policy'], ['policy', 'add'], ['tickets'], ['audit'], ['export'], ['import']];
  const db = join(dir, 'u.db');
  const usage = [['nope'], ['policy', 'add', '--initiator', 'x', '--db', db], ['user', 'add', 'a', '--psk', 'zz', '--db', db, '--master-key-file', key],
    ['policy', 'add', '--initiator', 'x', '--responder', 'y', '--forking', 'sometimes', '--db', db]];
  const ran = await kmsAll(...commands.map((c) => [...c, '--help']), ...usage, ['keygen']);
  for (const [i, c] of commands.entries()) {
    assert.equal(ran[i]!.status, 0, `${c.join(' ')}: ${ran[i]!.err}`);
    assert.match(ran[i]!.out, /^Usage: mikey kms/, c.join(' '));
  }
  for (const [i, c] of usage.entries()) assert.equal(ran[commands.length + i]!.status, 2, `${c.join(' ')}: ${ran[commands.length + i]!.err}`);
  assert.match(ran.at(-1)!.out, /^[0-9a-f]{64}\n$/);
  assert.equal(existsSync(db), false, 'a usage error creates no store');
});

test('only init creates a store: a mistyped --db is refused, not made', async () => {
  const typo = join(dir, 'typo.db');
  const commands = [['user', 'list'], ['group', 'list'], ['policy', 'list'], ['tickets'], ['audit'], ['export'], ['serve'], ['user', 'add', 'sip:a@example.org', '--generate-psk']];
  const ran = await kmsAll(...commands.map((c) => [...c, '--db', typo, '--master-key-file', key]));
  for (const [i, c] of commands.entries()) {
    const r = ran[i]!;
    assert.equal(r.status, 1, `${c.join(' ')}: ${r.err}`);
    assert.equal(r.err, `mikey kms ${c[0]}: no store at ${typo}: run 'mikey kms init --db ${typo}' to create it\n`, c.join(' '));
  }
  assert.equal(existsSync(typo), false);
  // an empty file (not a store) is refused too, and left as it was
  writeFileSync(typo, '');
  // init: a failing init (a key file that cannot be written) leaves no key file behind
  const k = join(dir, 'init.key');
  const [r, init, force] = await kmsAll(['user', 'list', '--db', typo], ['init', '--db', join(dir, 'no-such-dir', 'x.db'), '--master-key-file', k], ['init', '--db', 'postgres://nobody@127.0.0.1:1/none', '--force']);
  assert.equal(r!.status, 1);
  assert.match(r!.err, /is not an initialised store \(an empty file\): run 'mikey kms init/);
  assert.equal(readFileSync(typo).length, 0);
  rmSync(typo);
  assert.equal(init!.status, 1, init!.err);
  assert.equal(existsSync(k), false, 'no master key written for a store that was not made');
  assert.equal(force!.status, 2, force!.err);
});

test('users, devices, groups and rules; a wrong master key is refused', () => {
  const db = join(dir, 'admin.db');
  const k2 = join(dir, 'new.key');
  assert.deepEqual(kms('init', '--db', db, '--master-key-file', k2).out.split('\n')[0], `new master key written to ${k2}`);
  const opts = ['--db', db, '--master-key-file', k2];
  assert.equal(kms('user', 'add', 'sip:alice@example.org', '--device', 'alice-phone', '--psk', '000102030405060708090a0b0c0d0e0f', ...opts).out,
    'added sip:alice@example.org (device alice-phone, pre-shared key, IDRpsk alice-phone)\n');
  assert.equal(kms('user', 'add', 'sip:bob@example.org', '--device', 'bob-cert', '--cert', join('test', 'fixtures', 'pki', 'bob.pem'), ...opts).status, 0);
  const gen = kms('user', 'add', 'sip:bob@example.org', '--device', 'bob-phone', '--generate-psk', ...opts);
  assert.match(gen.out, /pre-shared key: [0-9a-f]{32}\n$/);
  assert.equal(kms('group', 'add', 'sip:it-support@example.org', 'sip:bob@example.org', ...opts).out, 'sip:it-support@example.org: added sip:bob@example.org\n');
  assert.equal(kms('policy', 'add', '--initiator', 'sip:alice@example.org', '--responder', 'group:sip:it-support@example.org', '--forking', 'require', '--max-validity', '3600', '--no-reuse', ...opts).out,
    'added policy rule 1: sip:alice@example.org -> group:sip:it-support@example.org, validity <= 3600 s, forking require, reuse no, initiator keys no, responder keys no, keys <= 4\n');
  const list = kms('user', 'list', ...opts).out;
  assert.match(list, /^sip:alice@example.org\n {2}alice-phone {2}pre-shared key, IDRpsk alice-phone\nsip:bob@example.org\n {2}bob-cert {2}certificate CN=bob@example.org\n {2}bob-phone {2}pre-shared key, IDRpsk bob-phone\n$/);
  assert.equal(kms('group', 'list', ...opts).out, 'sip:it-support@example.org: sip:bob@example.org\n');
  assert.equal(kms('user', 'remove', 'sip:bob@example.org', '--device', 'bob-phone', ...opts).status, 0);
  assert.equal(kms('user', 'remove', 'sip:nobody@example.org', ...opts).status, 1);
  // the PSK is sealed: not in the file in the clear
  assert.equal(readFileSync(db).indexOf(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex')), -1);
  // another master key: refused
  const wrong = kms('user', 'add', 'sip:carol@example.org', '--psk', '00'.repeat(16), '--db', db, '--master-key-file', key);
  assert.equal(wrong.status, 1);
  assert.match(wrong.err, /master key/);
  assert.equal(kms('policy', 'remove', '1', ...opts).out, 'removed policy rule 1\n');
  assert.equal(kms('policy', 'list', ...opts).out, 'no policy rules: no ticket is issued\n');
});

test('export and import: the backup restores users, rules and ticket protection keys; it needs the same master key', async () => {
  const a = join(dir, 'a.db');
  const opts = ['--master-key-file', key];
  kms('init', '--db', a, ...opts);
  kms('user', 'add', 'sip:alice@example.org', '--psk', '11'.repeat(16), '--db', a, ...opts);
  kms('policy', 'add', '--initiator', '*', '--responder', '*', '--db', a);
  const backup = join(dir, 'backup.json');
  assert.match(kms('export', '--out', backup, '--db', a, ...opts).out, /^exported \d+ rows to /);
  const j = JSON.parse(readFileSync(backup, 'utf8')) as { format: string; tables: Record<string, unknown[]> };
  assert.equal(j.format, 'mikey-kms-backup');
  assert.ok(!readFileSync(backup, 'utf8').includes('11'.repeat(16)), 'secrets stay sealed');
  const b = join(dir, 'b.db');
  // only init creates a store: a restore is init, then import
  assert.equal(kms('import', backup, '--db', b, ...opts).status, 1);
  assert.equal(existsSync(b), false);
  kms('init', '--db', b, ...opts);
  assert.match(kms('import', backup, '--db', b, ...opts).out, /^imported \d+ rows/);
  assert.equal(kms('user', 'list', '--db', b).out, 'sip:alice@example.org\n  sip:alice@example.org  pre-shared key, IDRpsk sip:alice@example.org\n');
  assert.match(kms('policy', 'list', '--db', b).out, /^1: \* -> \*/);
  const other = join(dir, 'other.key');
  writeFileSync(other, `${'ab'.repeat(32)}\n`);
  kms('init', '--db', join(dir, 'c.db'));
  const bad = kms('import', backup, '--db', join(dir, 'c.db'), '--master-key-file', other);
  assert.equal(bad.status, 1);
  assert.match(bad.err, /another master key/);
  const s = await openStore(b);
  assert.equal((await s.counts()).users, 1);
  await s.close();
});

test('serve over HTTPS: a ticket flow through TLS; GET /health', async (t) => {
  const cert = join(dir, 'tls.pem');
  const tlsKey = join(dir, 'tls.key');
  const g = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', tlsKey, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (g.status !== 0) { t.skip(`openssl could not make a test certificate: ${g.stderr}`); return; }
  const db = join(dir, 'tls.db');
  kms('init', '--db', db, '--master-key-file', key);
  kms('user', 'add', 'sip:alice@example.org', '--device', 'alice-phone', '--psk', '01'.repeat(16), '--db', db, '--master-key-file', key);
  kms('user', 'add', 'sip:bob@example.org', '--device', 'bob-phone', '--psk', '02'.repeat(16), '--db', db, '--master-key-file', key);
  kms('policy', 'add', '--initiator', '*', '--responder', '*', '--db', db);
  const p = await startKms(db, { keyFile: key, extra: ['--tls-cert', cert, '--tls-key', tlsKey, '--no-udp'] });
  try {
    assert.match(p.httpUrl, /^https:/);
    const ca = readFileSync(cert, 'utf8');
    const http = httpTransport(p.httpUrl, { ca });
    const alice = new TicketInitiator({ identity: identity('sip:alice@example.org'), kms: identity(KMS_ID), psk: Buffer.from('01'.repeat(16), 'hex') });
    const bob = new TicketResponder({ identity: identity('sip:bob@example.org'), kms: identity(KMS_ID), psk: Buffer.from('02'.repeat(16), 'hex') });
    const req = alice.createRequest({ responders: [identity('sip:bob@example.org')] });
    const grant = req.receiveResponse(await http(req.bytes));
    const x = alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
    assert.ok(x.expectsResponse);
    const got = await bob.receiveTransfer(x.bytes, http);
    assert.deepEqual(x.receiveResponse(got.response!).bundle.sessions[0]!.keys[0]!.masterKey, got.session.bundle.sessions[0]!.keys[0]!.masterKey);
    const health = await fetch(`${p.httpUrl}health`).catch((e: unknown) => e);
    assert.ok(health instanceof Error, 'the server certificate is not trusted by default');
    // structured logs
    await logged(p, (l) => l['event'] === 'ticket-issued', 'ticket-issued');
    await logged(p, (l) => l['event'] === 'ticket-resolved', 'ticket-resolved');
    const tickets = kms('tickets', '--db', db).out;
    assert.match(tickets, /sip:alice@example.org -> sip:bob@example.org/);
    const audit = kms('audit', '--db', db).out.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    assert.deepEqual(audit.map((a) => a.event), ['ticket-issued', 'ticket-resolved']);
  } finally {
    await p.stop();
  }
});
