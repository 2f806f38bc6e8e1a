// The KMS service on PostgreSQL: the same scenarios as on SQLite, then two KMS processes sharing
// one database (a ticket issued at one is resolved at the other, a retransmission answered by
// the other node gets the first node's answer), and concurrent first starts migrating once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { needPeer } from '../support/peer.js';
import { openStore } from '../../src/kms/store.js';
import { SecretBox } from '../../src/kms/secrets.js';
import { identity } from '../../src/kms/memory.js';
import { httpTransport, udpTransport } from '../../src/kms/server.js';
import { TicketInitiator } from '../../src/modes/ticket/initiator.js';
import { TicketResponder } from '../../src/modes/ticket/responder.js';
import { ALICE, BOB, KMS_ID, MASTER, logged, provision, psk, startKms, startPg, type PgCluster } from './harness.js';
import { scenarios } from './scenarios.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
let cluster: PgCluster | undefined;
let problem: string | null = null;
test.before(async () => {
  const c = await startPg();
  if (typeof c === 'string') problem = c; else cluster = c;
});
test.after(async () => { await cluster?.stop(); });
let n = 0;

test('KMS service on PostgreSQL', async (t) => {
  if (!needPeer(t, 'PostgreSQL', problem)) return;
  await scenarios(t, async () => openStore(await cluster!.createDb(`kms_s${n++}`)));
});

test('two KMS processes behind one PostgreSQL: issue at one, resolve at the other; retransmissions answered alike', async (t) => {
  if (!needPeer(t, 'PostgreSQL', problem)) return;
  const url = await cluster!.createDb('kms_two');
  // both start at once on an empty database: the migrations run once
  const [a, b] = await Promise.all([startKms(url, { node: 'A' }), startKms(url, { node: 'B' })]);
  try {
    const store = await openStore(url);
    await provision(store, new SecretBox(MASTER));
    assert.equal(await store.schemaVersion(), 3);
    const alice = new TicketInitiator({ identity: identity(ALICE), kms: identity(KMS_ID), psk: psk(1), pskId: Buffer.from('alice-phone') });
    const bob = new TicketResponder({ identity: identity(BOB), kms: identity(KMS_ID), psk: psk(2), pskId: Buffer.from('bob-phone') });
    await new Promise((r) => setTimeout(r, 1100)); // the nodes' caches (1 s) see the users
    const atA = httpTransport(a.httpUrl);
    const atB = udpTransport(b.udpPort);
    const req = alice.createRequest({ responders: [identity(BOB)], flags: { I: true } });
    const ans = await atA(req.bytes);
    const grant = req.receiveResponse(ans);
    const xfer = alice.createTransfer(grant, { sessions: [{ ssrc: 77 }] });
    assert.ok(xfer.expectsResponse);
    const got = await bob.receiveTransfer(xfer.bytes, atB);
    const s = xfer.receiveResponse(got.response!);
    assert.deepEqual(s.bundle.sessions.map((x) => hex(x.keys[0]!.masterKey)), got.session.bundle.sessions.map((x) => hex(x.keys[0]!.masterKey)));
    // the request retransmitted to the other node: the same bytes, nothing new stored
    const before = await store.counts();
    assert.equal(hex(await httpTransport(b.httpUrl)(req.bytes)), hex(ans));
    assert.deepEqual(await store.counts(), before);
    const tickets = await store.tickets();
    assert.equal(tickets.length, 1);
    assert.equal(tickets[0]!.node, 'A');
    const audit = await store.auditTail(10);
    assert.deepEqual(audit.map((x) => [x.node, x.event]), [['A', 'ticket-issued'], ['B', 'ticket-resolved']]);
    await Promise.any([a, b].map((k) => logged(k, (l) => l['event'] === 'retransmission', 'retransmission')));
    atB.close();
    await store.close();
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
