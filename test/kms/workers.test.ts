// `mikey kms serve --workers 2`: two processes share the UDP and HTTP listeners and the SQLite
// store. Readiness (`listening`) comes once both listen (HTTP connections, dealt round-robin,
// reach both at once); a ticket is issued and resolved; a killed worker is replaced and the
// flow works again; SIGTERM stops every worker. A bad count is refused. On PostgreSQL (an empty
// database: the primary migrates it), both workers serve and the rows name the worker that wrote them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scaled } from '../support/child.js';
import { openStore } from '../../src/kms/store.js';
import { SecretBox } from '../../src/kms/secrets.js';
import { identity } from '../../src/kms/memory.js';
import { udpTransport } from '../../src/kms/server.js';
import { TicketInitiator } from '../../src/modes/ticket/initiator.js';
import { TicketResponder } from '../../src/modes/ticket/responder.js';
import { needPeer } from '../support/peer.js';
import { ALICE, BOB, KMS_ID, MASTER, keysOf, logged, provision, psk, startKms, startPg, type KmsProcess } from './harness.js';
import { CLI } from '../support/cli.js';


/** The node answering GET /health with the status token, on a new connection. */
const healthNode = (url: string, token: string) => new Promise<string>((resolve, reject) => {
  const req = request(new URL('/health', url), { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
    let b = '';
    res.setEncoding('utf8').on('data', (d: string) => { b += d; }).on('end', () => resolve((JSON.parse(b) as { node: string }).node));
  });
  req.on('error', reject);
  req.end();
});


/** Alice gets a ticket for Bob, Bob resolves it: over UDP, from whichever worker reads each datagram. */
async function ticketFlow(port: number): Promise<void> {
  const kms = identity(KMS_ID);
  const alice = new TicketInitiator({ identity: identity(ALICE), kms, psk: psk(1), pskId: Buffer.from('alice-phone') });
  const bob = new TicketResponder({ identity: identity(BOB), kms, psk: psk(2), pskId: Buffer.from('bob-phone') });
  const t = udpTransport(port, '127.0.0.1', { timeoutMs: scaled(1000), retries: 5 });
  try {
    for (let i = 0; i < 4; i++) {
      const req = alice.createRequest({ responders: [identity(BOB)], flags: { I: true } });
      const grant = req.receiveResponse(await t(req.bytes));
      const xfer = alice.createTransfer(grant, { sessions: [{ ssrc: 1 + i }] });
      assert.ok(xfer.expectsResponse);
      const got = await bob.receiveTransfer(xfer.bytes, t);
      assert.equal(got.resolvedBy, 'kms');
      // Alice's session from Bob's TRANSFER_RESP: both ends hold the same keys
      const s = xfer.receiveResponse(got.response!);
      assert.deepEqual(keysOf(s.bundle), keysOf(got.session.bundle));
    }
  } finally {
    t.close();
  }
}


const alive = (pid: number) => {
  try { process.kill(pid, 0); return true; } catch { return false; }
};

test('kms serve --workers 2: both listen before readiness, serve a ticket flow, a killed worker is replaced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-kms-workers-'));
  try {
    const db = join(dir, 'kms.db');
    const store = await openStore(db);
    await provision(store, new SecretBox(MASTER));
    await store.close();
    writeFileSync(join(dir, 'token'), 'status-token\n', { mode: 0o600 });
    const k = await startKms(db, { extra: ['--workers', '2', '--status-token-file', join(dir, 'token')] });
    let pids: number[] = [];
    try {
      const listening = k.lines.find((l) => l['event'] === 'listening')!;
      pids = listening['pids'] as number[];
      assert.equal(listening['workers'], 2);
      assert.equal(pids.length, 2);
      // right at readiness, connections are dealt to both workers
      const nodes = new Set<string>();
      for (let i = 0; i < 4; i++) nodes.add(await healthNode(k.httpUrl, 'status-token'));
      assert.deepEqual([...nodes].sort(), ['kms/1', 'kms/2']);
      assert.ok(k.lines.some((l) => l['event'] === 'workers-sqlite'), 'SQLite shared by workers is warned about');
      await ticketFlow(k.udpPort);

      process.kill(pids[0]!, 'SIGKILL');
      const exited = await logged(k, (l) => l['event'] === 'worker-exited', 'worker-exited');
      assert.equal(exited['pid'], pids[0]);
      assert.equal(exited['signal'], 'SIGKILL');
      const restarted = await logged(k, (l) => l['event'] === 'worker-restarted', 'worker-restarted');
      assert.equal(restarted['worker'], 1);
      pids = [restarted['pid'] as number, pids[1]!];
      assert.ok(alive(pids[0]!));
      const again = new Set<string>();
      for (let i = 0; i < 4; i++) again.add(await healthNode(k.httpUrl, 'status-token'));
      assert.deepEqual([...again].sort(), ['kms/1', 'kms/2']);
      await ticketFlow(k.udpPort);
    } finally {
      await k.stop();
    }
    assert.equal(k.child.exitCode, 0);
    assert.ok(k.lines.some((l) => l['event'] === 'stopped'));
    assert.ok(pids.every((p) => !alive(p)), 'no worker outlives the primary\'s stop');

    const bad = spawnSync(process.execPath, [CLI, 'kms', 'serve', '--db', db, '--workers', '0', '--master-key-file', join(dir, 'token')], { encoding: 'utf8' });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /--workers is 1 to 64/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kms serve --workers 2 on PostgreSQL: the primary migrates an empty database, both workers serve', async (t) => {
  const pg = await startPg();
  if (!needPeer(t, 'PostgreSQL', typeof pg === 'string' ? pg : null) || typeof pg === 'string') return;
  const dir = mkdtempSync(join(tmpdir(), 'mikey-kms-workers-pg-'));
  try {
    const url = await pg.createDb('kms_workers');
    writeFileSync(join(dir, 'token'), 'status-token\n', { mode: 0o600 });
    const k = await startKms(url, { extra: ['--workers', '2', '--status-token-file', join(dir, 'token')] });
    try {
      assert.ok(!k.lines.some((l) => l['event'] === 'workers-sqlite'));
      const store = await openStore(url);
      try {
        assert.equal(await store.schemaVersion(), 3);
        await provision(store, new SecretBox(MASTER));
        const nodes = new Set<string>();
        for (let i = 0; i < 4; i++) nodes.add(await healthNode(k.httpUrl, 'status-token'));
        assert.deepEqual([...nodes].sort(), ['kms/1', 'kms/2']);
        await ticketFlow(k.udpPort);
        const written = new Set((await store.tickets()).map((x) => x.node));
        assert.ok([...written].every((n) => n === 'kms/1' || n === 'kms/2'), [...written].join());
      } finally {
        await store.close();
      }
    } finally {
      await k.stop();
    }
    assert.equal(k.child.exitCode, 0);
  } finally {
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
