// Load, bounded and on loopback: concurrent initiator/responder pairs against a KMS process, the KMS
// killed (SIGKILL) once tickets have been issued and restarted, the pairs going on for a while
// after (a second by default; MIKEY_LONG=1 runs more pairs for longer). Afterwards: every
// ticket a client received is in the store (none lost), every request that was answered more
// than once got the same bytes each time, and tickets issued before the kill still resolve.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needPeer } from '../support/peer.js';
import { scaled } from '../support/child.js';
import { openStore } from '../../src/kms/store.js';
import { SecretBox } from '../../src/kms/secrets.js';
import { identity } from '../../src/kms/memory.js';
import { TicketInitiator, type TicketGrant } from '../../src/modes/ticket/initiator.js';
import { TicketResponder } from '../../src/modes/ticket/responder.js';
import { baseTicketHeader } from '../../src/modes/ticket/base-ticket.js';
import { ALICE, BOB, KMS_ID, MASTER, MASTER_HEX, freePort, provision, psk, startKms, startPg, type KmsProcess, type PgCluster } from './harness.js';

const LONG = process.env['MIKEY_LONG'] === '1';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const csbOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset + 4, 4).getUint32(0);

/**
 * A UDP client that retransmits and remembers every answer it gets for each request. A request
 * first sent before the kill whose answer the dead process had stored but not sent is not
 * answered again (over UDP a stored answer goes only to the address that got it first, and the
 * new process has sent it to no one): the new process logs each such retransmission as
 * `reflection-dropped`, and the client gives the request up then (an exchange cut by the kill)
 * rather than at the long deadline.
 */
function recordingClient(port: number, phase: { killed: boolean; refused: (bytes: number) => boolean }) {
  const socket = createSocket('udp4');
  const waiting = new Map<number, (b: Uint8Array) => void>();
  const answers = new Map<number, string[]>();
  socket.on('message', (m) => {
    const b = new Uint8Array(m);
    const id = csbOf(b);
    answers.set(id, [...(answers.get(id) ?? []), hex(b)]);
    waiting.get(id)?.(b);
  });
  let sent = 0;
  const send = (body: Uint8Array) => new Promise<Uint8Array>((resolve, reject) => {
    const id = csbOf(body);
    const beforeKill = !phase.killed;
    // every fifth request goes out twice at once, as a lost-answer retransmission would
    if (++sent % 5 === 0) socket.send(body, port, '127.0.0.1');
    let tries = 0;
    let timer: NodeJS.Timeout;
    waiting.set(id, (b) => { clearTimeout(timer); waiting.delete(id); resolve(b); });
    // retransmit until answered: through a restart on a loaded machine too
    const deadline = Date.now() + scaled(20_000);
    const again = () => {
      if (tries++ > 0 && (Date.now() > deadline || (beforeKill && phase.refused(body.length)))) { waiting.delete(id); reject(new Error('no answer')); return; }
      socket.send(body, port, '127.0.0.1');
      timer = setTimeout(again, 150);
    };
    again();
  });
  return { send, answers, close: () => socket.close(), bound: new Promise<void>((ok) => socket.bind(0, '127.0.0.1', ok)) };
}

async function run(t: TestContext, db: string, label: string): Promise<void> {
  const store = await openStore(db);
  await provision(store, new SecretBox(MASTER));
  const [udpPort, httpPort] = [await freePort(), await freePort()];
  const keyDir = mkdtempSync(join(tmpdir(), 'mikey-kms-load-key-'));
  const keyFile = join(keyDir, 'master.key');
  writeFileSync(keyFile, `${MASTER_HEX}\n`);
  let kms: KmsProcess = await startKms(db, { node: 'L1', udpPort, httpPort, keyFile });
  let restarted = false;
  const phase = {
    killed: false,
    // a retransmission of this length that the restarted process has no answer for
    refused: (bytes: number) => restarted && kms.lines.some((l) => l['event'] === 'reflection-dropped' && l['what'] === 'retransmission' && l['bytes'] === bytes),
  };
  const client = recordingClient(udpPort, phase);
  await client.bound;
  const kmsId = identity(KMS_ID);
  const issued: string[] = [];
  const early: TicketGrant[] = [];
  let tickets = 0;
  let ticketsAfter = 0;
  let resolutions = 0;
  let failures = 0;
  const pairs = LONG ? 12 : 6;
  const afterMs = LONG ? 3000 : 1000;
  let stopAt = Infinity;
  // the kill comes once tickets have been issued (not after a fixed time: a loaded machine is slow)
  let someIssued!: () => void;
  const issuedBeforeKill = new Promise<void>((r) => { someIssued = r; });
  const killer = (async () => {
    const waited = await Promise.race([issuedBeforeKill.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), scaled(30_000)).unref())]);
    if (!waited) stopAt = 0;
    phase.killed = true;
    kms.child.kill('SIGKILL');
    await new Promise((r) => kms.child.once('exit', r));
    kms = await startKms(db, { node: 'L2', udpPort, httpPort, keyFile });
    restarted = true;
    stopAt = Math.min(stopAt, Date.now() + afterMs);
  })();
  const worker = async (w: number) => {
    const alice = new TicketInitiator({ identity: identity(ALICE), kms: kmsId, psk: psk(1), pskId: Buffer.from('alice-phone') });
    const bob = new TicketResponder({ identity: identity(BOB), kms: kmsId, psk: psk(2 + (w % 2)), pskId: Buffer.from(w % 2 ? 'bob-laptop' : 'bob-phone') });
    while (Date.now() < stopAt) {
      try {
        const req = alice.createRequest({ responders: [identity(BOB)], flags: { I: w % 3 === 0 } });
        const grant = req.receiveResponse(await client.send(req.bytes));
        tickets++;
        if (restarted) ticketsAfter++;
        issued.push(hex(baseTicketHeader(grant.ticket)!));
        if (!restarted && early.length < 3 && early.push(grant) === 3) someIssued();
        const xfer = alice.createTransfer(grant, { sessions: [{ ssrc: w }] });
        assert.ok(xfer.expectsResponse);
        const got = await bob.receiveTransfer(xfer.bytes, client.send);
        resolutions++;
        xfer.receiveResponse(got.response!);
      } catch {
        failures++;
      }
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: pairs }, (_, i) => worker(i)));
  const elapsed = (Date.now() - t0) / 1000;
  await killer;
  try {
    // none lost: every ticket a client holds was stored before its answer was sent
    const stored = new Set((await store.tickets()).map((x) => x.id));
    const lost = issued.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], 'issued tickets missing from the store');
    // and no ticket stored for a retransmission: rows beyond those the clients hold are at most the exchanges cut by the kill
    assert.ok(stored.size - new Set(issued).size <= pairs, `${stored.size} rows for ${issued.length} tickets`);
    // never answered twice differently
    let repeated = 0;
    for (const [, a] of client.answers) {
      if (a.length > 1) repeated++;
      assert.equal(new Set(a).size, 1, 'a request answered with different bytes');
    }
    // tickets issued before the kill resolve at the restarted process
    assert.ok(early.length > 0, 'tickets were issued before the kill');
    const bob = new TicketResponder({ identity: identity(BOB), kms: kmsId, psk: psk(2), pskId: Buffer.from('bob-phone') });
    for (const g of early) {
      g.uses = 0;
      const alice = new TicketInitiator({ identity: identity(ALICE), kms: kmsId, psk: psk(1) });
      const xfer = alice.createTransfer(g, { sessions: [{ ssrc: 1 }] });
      assert.ok(xfer.expectsResponse);
      xfer.receiveResponse((await bob.receiveTransfer(xfer.bytes, client.send)).response!);
    }
    assert.ok(ticketsAfter > 0, 'the restarted KMS issues tickets');
    assert.ok(repeated > 0, 'some requests were answered more than once');
    assert.ok(failures <= pairs, `${failures} exchanges failed (at most one per pair, cut by the kill)`);
    t.diagnostic(`${label}: ${pairs} pairs, ${elapsed.toFixed(1)} s, KMS killed and restarted once: ${(tickets / elapsed).toFixed(0)} tickets/s, ${(resolutions / elapsed).toFixed(0)} resolutions/s; ${repeated} requests answered more than once (same bytes), ${failures} exchanges cut by the kill (the new process dropped ${kms.lines.filter((l) => l['event'] === 'reflection-dropped').length} retransmissions it had no answer for), ${issued.length} tickets all in the store`);
  } finally {
    client.close();
    await kms.stop();
    await store.close();
    rmSync(keyDir, { recursive: true, force: true });
  }
}

test('load on SQLite, with a KMS killed and restarted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-kms-load-'));
  try {
    await run(t, join(dir, 'kms.db'), 'SQLite');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('load on PostgreSQL, with a KMS killed and restarted', async (t) => {
  const c: PgCluster | string = await startPg();
  if (!needPeer(t, 'PostgreSQL', typeof c === 'string' ? c : null)) return;
  const cluster = c as PgCluster;
  try {
    await run(t, await cluster.createDb('kms_load'), 'PostgreSQL');
  } finally {
    await cluster.stop();
  }
});
