// The key service's documents run here: the README's `mikey kms serve` example serves the
// library example's client (it names the KMS the clients name), docs/kms.md's PostgreSQL
// walk-through prints what it shows on a throwaway cluster and its service hands out tickets,
// and docs/kms.md lists exactly the log events the code writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpTransport, TicketInitiator, TicketResponder, udpTransport, uriIdentity } from '../../src/index.js';
import { startChild } from '../support/child.js';
import { needPeer } from '../support/peer.js';
import { pgBinDir, startPg, type PgCluster } from '../kms/harness.js';

const root = process.cwd();
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const kmsDoc = readFileSync(join(root, 'docs', 'kms.md'), 'utf8');
const blocksOf = (md: string) => [...md.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, body: m[2]! }));

/** A console block's commands and the output each prints. */
function commands(body: string): Array<{ cmd: string; out: string }> {
  const out: Array<{ cmd: string; out: string }> = [];
  for (const line of body.replace(/\n$/, '').split('\n')) {
    if (line.startsWith('$ ')) out.push({ cmd: line.slice(2), out: '' });
    else out[out.length - 1]!.out += `${line}\n`;
  }
  return out;
}

/** `mikey …` as this checkout's CLI. */
const local = (cmd: string) => cmd.replace(/^mikey /, `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} `);

/** The `mikey kms serve` line of a document's sh blocks. */
function serveLine(md: string): string {
  const line = blocksOf(md).filter((b) => b.lang === 'sh').flatMap((b) => b.body.split('\n')).find((l) => l.startsWith('mikey kms serve '));
  assert.ok(line, 'a `mikey kms serve` example');
  return line;
}

/** Start `mikey kms serve` as the document says, on free ports; its HTTP URL and UDP port once it listens. */
async function serve(line: string, env: NodeJS.ProcessEnv) {
  const args = line.split(' ').slice(1);
  assert.ok(!args.some((a) => /['"]/.test(a)), 'the serve example needs no quoting');
  const started = await startChild('mikey kms serve', process.execPath, [cli, ...args, '--http-port', '0', '--udp-port', '0'], (l) => {
    try {
      const j = JSON.parse(l) as { event?: string; http?: string; udp?: string };
      return j.event === 'listening' ? { http: j.http!, udp: Number(j.udp!.split(':').at(-1)) } : undefined;
    } catch {
      return undefined;
    }
  }, { spawn: { env } });
  return started;
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const KMS = uriIdentity('sip:kms@example.org');

/** The library example's client: a ticket for `responder`, resolved by it (or its `member`) over UDP; both hold the same keys. */
async function ticketThrough(http: string, udp: number, o: { responder: string; member?: string; responderDevice: string; responderPsk: string; forked?: boolean }) {
  const alice = new TicketInitiator({ identity: uriIdentity('sip:alice@example.org'), kms: KMS, psk: hex('000102030405060708090a0b0c0d0e0f'), pskId: Buffer.from('alice-phone') });
  const request = alice.createRequest({ responders: [uriIdentity(o.responder)], ...(o.forked ? { flags: { I: true } } : {}) });
  const grant = request.receiveResponse(await httpTransport(http)(request.bytes));
  const them = new TicketResponder({ identity: uriIdentity(o.member ?? o.responder), kms: KMS, psk: hex(o.responderPsk), pskId: Buffer.from(o.responderDevice) });
  const transfer = alice.createTransfer(grant, { sessions: [{ ssrc: 0x1234 }] });
  assert.ok(transfer.expectsResponse);
  const toKms = udpTransport(udp);
  try {
    const accepted = await them.receiveTransfer(transfer.bytes, toKms);
    assert.ok(accepted.response, 'TRANSFER_RESP');
    const session = transfer.receiveResponse(accepted.response);
    assert.deepEqual(session.bundle.sessions[0]!.keys, accepted.session.bundle.sessions[0]!.keys);
    assert.equal(session.bundle.sessions[0]!.keys[0]!.masterKey.length, 16);
  } finally {
    toKms.close();
  }
}

test("the README's kms serve example answers the library example's client: it names the KMS the client names", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-readme-kms-'));
  const at = (s: string) => s.replaceAll('/tmp/mikey-kms-readme', join(dir, 'kms'));
  try {
    // the README's store: its init, users, group and policy commands
    const setup = blocksOf(readme).filter((b) => b.lang === 'console').flatMap((b) => commands(b.body)).filter((c) => c.cmd.startsWith('mikey kms '));
    assert.ok(setup.length >= 4);
    for (const { cmd } of setup) {
      const r = spawnSync('bash', ['-c', local(at(cmd))], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
    }
    const line = serveLine(readme);
    assert.match(line, /--identity sip:kms@example\.org/);
    const kms = await serve(at(line), process.env);
    try {
      // alice -> the it-support group (forking required by the README's rule), resolved by carol, a member
      await ticketThrough(kms.info.http, kms.info.udp, { responder: 'sip:it-support@example.org', member: 'sip:carol@example.org', responderDevice: 'carol-desk', responderPsk: '0f0e0d0c0b0a09080706050403020100', forked: true });
    } finally {
      await kms.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

let cluster: PgCluster | undefined;
let problem: string | null = null;
test.before(async () => {
  const c = await startPg();
  if (typeof c === 'string') problem = c; else cluster = c;
});
test.after(async () => { await cluster?.stop(); });

test("docs/kms.md's PostgreSQL walk-through prints what it shows, leaves no master key behind a failed init, and its service issues tickets", async (t) => {
  if (!needPeer(t, 'PostgreSQL', problem)) return;
  const dir = mkdtempSync(join(tmpdir(), 'mikey-pg-walk-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PGHOST: '127.0.0.1', PGPORT: new URL(cluster!.url()).port, PATH: `${pgBinDir()}:${process.env['PATH']}` };
  delete env['PGPASSWORD'];
  delete env['MIKEY_KMS_MASTER_KEY'];
  // the cluster's superuser is `postgres`, reached over TCP (trust on this throwaway cluster)
  const at = (s: string) => local(s.replaceAll('/etc/mikey', dir)).replace(/^sudo -u postgres /, 'env PGUSER=postgres ');
  try {
    const block = blocksOf(kmsDoc).filter((b) => b.lang === 'console').find((b) => b.body.includes('postgres://'));
    assert.ok(block, 'docs/kms.md has the PostgreSQL walk-through');
    const steps = commands(block.body);
    for (const { cmd, out } of steps) {
      const r = spawnSync('bash', ['-c', at(cmd)], { env, encoding: 'utf8' });
      assert.equal(r.stdout + r.stderr, out.replaceAll('/etc/mikey', dir), cmd);
    }
    // what the walk-through claims beside its output
    assert.ok(steps.some((s) => /kms init .*--master-key-file/.test(s.cmd) && /does not exist/.test(s.out)), 'a failed init is shown');
    assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).sort(), ['backup.json', 'db-password', 'master.key']);
    const backup = JSON.parse(readFileSync(join(dir, 'backup.json'), 'utf8')) as { masterKeyFingerprint?: string };
    assert.ok(backup.masterKeyFingerprint);
    const kms = await serve(serveLine(kmsDoc).replaceAll('/etc/mikey', dir), env);
    try {
      await ticketThrough(kms.info.http, kms.info.udp, { responder: 'sip:bob@example.org', responderDevice: 'bob-phone', responderPsk: '0f0e0d0c0b0a09080706050403020100' });
    } finally {
      await kms.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('docs/kms.md lists exactly the log events the key service writes', () => {
  const section = kmsDoc.slice(kmsDoc.indexOf('## Logs'), kmsDoc.indexOf('\n## ', kmsDoc.indexOf('## Logs') + 1));
  const documented = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]!).sort();
  const written = new Set<string>();
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : []));
  for (const f of walk(join(root, 'src'))) {
    const src = readFileSync(f, 'utf8');
    // log.info('event', …) and the like; ticket-issued / ticket-resolved are chosen by kind first
    for (const m of src.matchAll(/\blog\.(?:info|warn|error)\(\s*'([a-z][a-z-]*)'/g)) written.add(m[1]!);
    for (const m of src.matchAll(/'(ticket-(?:issued|resolved))'/g)) written.add(m[1]!);
  }
  assert.deepEqual(documented, [...written].sort());
});
