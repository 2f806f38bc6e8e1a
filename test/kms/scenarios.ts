// The KMS service scenarios, run against each store: full ticket flows over HTTP and UDP, and
// every malformed, unauthenticated or unauthorized request answered with the right MIKEY Error
// (or HTTP status) without changing what is stored.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { TestContext } from 'node:test';
import { decodeMessage } from '../../src/wire/decode.js';
import { DataType, PayloadType } from '../../src/wire/registry.js';
import { KmsService } from '../../src/kms/service.js';
import { SecretBox } from '../../src/kms/secrets.js';
import { identity } from '../../src/kms/memory.js';
import { httpTransport, serveKms, udpTransport, type RunningKms } from '../../src/kms/server.js';
import type { Store } from '../../src/kms/store.js';
import { TicketInitiator } from '../../src/modes/ticket/initiator.js';
import { TicketResponder } from '../../src/modes/ticket/responder.js';
import { MikeyErrorMessage, MikeyProtocolError } from '../../src/session/errors.js';
import { ALICE, BOB, CAROL, KMS_ID, MASTER, SUPPORT, keysOf, provision, psk } from './harness.js';
import { pki } from '../support/pki.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export interface Env {
  store: Store;
  service: KmsService;
  running: RunningKms;
  http: ReturnType<typeof httpTransport>;
  udp: ReturnType<typeof udpTransport>;
  alice: TicketInitiator;
  bob: TicketResponder;
  bob2: TicketResponder;
  carol: TicketResponder;
  close(): Promise<void>;
}

export async function env(makeStore: () => Promise<Store>, o: { rate?: { perSec: number; burst: number }; maxRequestBytes?: number } = {}): Promise<Env> {
  const store = await makeStore();
  const box = new SecretBox(MASTER);
  await provision(store, box);
  const service = await KmsService.open({ store, box, identity: KMS_ID, node: 'test', privateKey: pki('carol.key'), certificate: pki('carol.pem'), rate: o.rate, maxRequestBytes: o.maxRequestBytes, cacheTtlMs: 0 });
  const running = await serveKms(service, { http: { port: 0 }, udp: { port: 0 } }, o.maxRequestBytes);
  const http = httpTransport(running.httpUrl!);
  const udp = udpTransport(running.udpPort!, '127.0.0.1', { timeoutMs: 300, retries: 5 });
  const kms = identity(KMS_ID);
  const alice = new TicketInitiator({ identity: identity(ALICE), kms, psk: psk(1), pskId: Buffer.from('alice-phone') });
  const bob = new TicketResponder({ identity: identity(BOB), kms, psk: psk(2), pskId: Buffer.from('bob-phone') });
  const bob2 = new TicketResponder({ identity: identity(BOB), kms, psk: psk(3), pskId: Buffer.from('bob-laptop') });
  const carol = new TicketResponder({ identity: identity(CAROL), kms, psk: psk(4) });
  return {
    store, service, running, http, udp, alice, bob, bob2, carol,
    async close() { udp.close(); await running.close(); await service.close(); },
  };
}

function post(url: string, body: Uint8Array | string, headers: Record<string, string>, method = 'POST'): Promise<{ status: number; body: Buffer; type?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, 'content-length': Buffer.byteLength(body as string) }, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts), type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const errOf = (b: Uint8Array) => {
  const m = decodeMessage(b);
  assert.equal(m.header.dataType, DataType.Error);
  return m.payloads.filter((p) => p.type === PayloadType.Err).map((p) => (p as { errorNo: number }).errorNo);
};

/** Register the scenarios as subtests of `t`. */
export async function scenarios(t: TestContext, makeStore: () => Promise<Store>): Promise<void> {
  const e = await env(makeStore);
  try {
    await t.test('issue over HTTP, resolve over UDP, both ends agree; rows: one ticket, one resolution, two audit records', async () => {
      const before = await e.store.counts();
      const req = e.alice.createRequest({ responders: [identity(BOB)], flags: { I: true } });
      const grant = req.receiveResponse(await e.http(req.bytes));
      const xfer = e.alice.createTransfer(grant, { sessions: [{ ssrc: 42, profiles: ['AES_CM_128_HMAC_SHA1_80'] }] });
      assert.ok(xfer.expectsResponse);
      const got = await e.bob.receiveTransfer(xfer.bytes, e.udp);
      const s = xfer.receiveResponse(got.response!);
      assert.deepEqual(keysOf(s.bundle), keysOf(got.session.bundle));
      const after = await e.store.counts();
      assert.deepEqual([after.tickets - before.tickets, after.resolutions - before.resolutions, after.audit - before.audit, after.replay - before.replay], [1, 1, 2, 2]);
      const ticket = (await e.store.tickets()).at(-1)!;
      assert.deepEqual([ticket.initiator, ticket.responders, ticket.node], [ALICE, [BOB], 'test']);
      assert.match(ticket.flags, /I/);
    });

    await t.test('forking with two devices of one identity and a group; PK legs; reuse from the Responder\'s cache', async () => {
      const req = e.alice.createRequest({ responders: [identity(BOB), identity(SUPPORT)], flags: { I: true } });
      const grant = req.receiveResponse(await e.udp(req.bytes));
      const xfer = e.alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
      assert.ok(xfer.expectsResponse);
      const phone = await e.bob.receiveTransfer(xfer.bytes, e.http);
      const laptop = await e.bob2.receiveTransfer(xfer.bytes, e.udp);
      const carol = await e.carol.receiveTransfer(xfer.bytes, e.http);
      assert.notDeepEqual(keysOf(phone.session.bundle), keysOf(laptop.session.bundle));
      assert.deepEqual(keysOf(xfer.receiveResponse(carol.response!).bundle), keysOf(carol.session.bundle));
      const again = e.alice.createTransfer(grant, { sessions: [{ ssrc: 2 }] });
      assert.ok(again.expectsResponse);
      const r2 = await e.bob.receiveTransfer(again.bytes, async () => assert.fail('a reused ticket is not resolved again'));
      assert.equal(r2.resolvedBy, 'cache');
      assert.deepEqual(keysOf(again.receiveResponse(r2.response!).bundle), keysOf(r2.session.bundle));
      // PK: Alice with a certificate registered at the KMS
      await e.store.addCredential({ name: 'alice-cert', user: ALICE, kind: 'cert', cert: pki('alice.pem'), createdAt: Date.now() });
      const pkAlice = new TicketInitiator({ identity: identity(ALICE), kms: identity(KMS_ID), signer: { privateKey: pki('alice.key') }, kmsKey: pki('carol.pem'), chash: true });
      const r = pkAlice.createRequest({ responders: [identity(BOB)] });
      assert.equal(decodeMessage(r.bytes).header.dataType, DataType.RequestInitPk);
      const g = r.receiveResponse(await e.http(r.bytes));
      const x = pkAlice.createTransfer(g, { sessions: [{ ssrc: 3 }] });
      assert.ok(x.expectsResponse);
      const y = await e.bob.receiveTransfer(x.bytes, e.udp);
      assert.deepEqual(keysOf(x.receiveResponse(y.response!).bundle), keysOf(y.session.bundle));
    });

    await t.test('a retransmitted request gets the very same answer; nothing is stored twice', async () => {
      const req = e.alice.createRequest({ responders: [identity(BOB)] });
      const a = await e.http(req.bytes);
      const before = await e.store.counts();
      const b = await e.udp(req.bytes);
      const c = await e.http(req.bytes);
      assert.equal(hex(a), hex(b));
      assert.equal(hex(a), hex(c));
      assert.deepEqual(await e.store.counts(), before);
      req.receiveResponse(c);
    });

    await t.test('tampered, unauthenticated, unauthorized: the right Error message, and nothing stored', async () => {
      const before = await e.store.counts();
      const req = e.alice.createRequest({ responders: [identity(BOB)] });
      const bad = Uint8Array.from(req.bytes);
      bad[bad.length - 1]! ^= 1;
      const r1 = await post(e.running.httpUrl!, bad, { 'content-type': 'application/mikey' });
      assert.equal(r1.status, 400);
      assert.deepEqual(errOf(r1.body), [0]);
      assert.deepEqual(errOf(await e.udp(bad)), [0]);
      const mallory = new TicketInitiator({ identity: identity('sip:mallory@example.org'), kms: identity(KMS_ID), psk: psk(9) });
      // an unknown user is answered like a wrong key (no user enumeration): Auth failure
      assert.deepEqual(errOf(await e.http(mallory.createRequest({ responders: [identity(BOB)] }).bytes)), [0]);
      // Carol resolving a ticket for Bob: Invalid ID
      const grant = req.receiveResponse(await e.http(req.bytes));
      const mid = await e.store.counts();
      const xfer = e.alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
      await assert.rejects(e.carol.receiveTransfer(xfer.bytes, e.http), (x: unknown) => x instanceof MikeyProtocolError && x.errorNo === 7);
      // a broken ticket: Invalid TICKET
      const m = decodeMessage(xfer.bytes);
      const tk = m.payloads.find((p) => p.type === PayloadType.Ticket)!;
      const broken = Uint8Array.from(xfer.bytes);
      broken[tk.span!.end - 30]! ^= 1;
      await assert.rejects(e.bob.receiveTransfer(broken, e.udp), (x: unknown) => x instanceof MikeyProtocolError && x.errorNo === 14);
      // a stale request: Invalid TS
      const stale = new TicketInitiator({ identity: identity(ALICE), kms: identity(KMS_ID), psk: psk(1), clock: { now: () => Date.now() - 3600_000 } });
      assert.deepEqual(errOf(await e.http(stale.createRequest({ responders: [identity(BOB)] }).bytes)), [1]);
      // garbage and a message that is not a request
      assert.deepEqual(errOf(await e.http(Uint8Array.of(1, 2, 3))), [13]);
      assert.deepEqual(errOf(await e.udp(xfer.bytes)), [13]);
      const after = await e.store.counts();
      assert.deepEqual(after, { ...mid }, 'the refused requests left nothing');
      assert.deepEqual({ ...before, tickets: before.tickets + 1, replay: before.replay + 1, audit: before.audit + 1 }, mid);
      // an Error message answering Alice is read as such
      assert.throws(() => req.receiveResponse(r1.body), (x: unknown) => x instanceof MikeyErrorMessage && !x.authenticated);
    });

    await t.test('HTTP: wrong method, path or content type, oversized body; GET /health', async () => {
      const req = e.alice.createRequest({ responders: [identity(BOB)] }).bytes;
      assert.equal((await post(e.running.httpUrl!, req, { 'content-type': 'text/plain' })).status, 415);
      assert.equal((await post(e.running.httpUrl!, '', {}, 'GET')).status, 405);
      assert.equal((await post(`${e.running.httpUrl}nope`, req, { 'content-type': 'application/mikey' })).status, 404);
      const before = await e.store.counts();
      assert.equal((await post(e.running.httpUrl!, new Uint8Array(9000), { 'content-type': 'application/mikey' })).status, 413);
      assert.deepEqual(await e.store.counts(), before);
      const h = await post(`${e.running.httpUrl}health`, '', {}, 'GET');
      assert.equal(h.status, 200);
      // without the status token: liveness only (no node name, counts or uptime)
      assert.deepEqual(JSON.parse(h.body.toString()), { status: 'ok' });
    });
  } finally {
    await e.close();
  }

  await t.test('per-peer rate limit: HTTP 429, UDP silence; the oversized datagram is dropped', async () => {
    const r = await env(makeStore, { rate: { perSec: 1, burst: 3 }, maxRequestBytes: 1024 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await post(r.running.httpUrl!, r.alice.createRequest({ responders: [identity(BOB)] }).bytes, { 'content-type': 'application/mikey' })).status);
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
      const quiet = udpTransport(r.running.udpPort!, '127.0.0.1', { timeoutMs: 100, retries: 1 });
      await assert.rejects(quiet(r.alice.createRequest({ responders: [identity(BOB)] }).bytes), /no answer/);
      quiet.close();
    } finally {
      await r.close();
    }
  });
}
