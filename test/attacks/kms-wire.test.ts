// Attacks on the key service's answers written as an outsider would (only the package by name:
// 'mikey', 'mikey/kms', 'mikey/ticket'), that must fail: user enumeration (finding 7), reuse of a
// ticket that may not be reused (J = 0, finding 9), store files readable by others (finding 10),
// UDP reflection (finding 13), weak TLS and /health telling strangers about the service
// (finding 15). docs/security.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { DataType, ErrorNo, MikeyProtocolError, PayloadType, decodeMessage } from 'mikey';
import { DEFAULT_RULE, KmsService, SecretBox, openStore, serveKms, type HandleResult, type Store } from 'mikey/kms';
import { TicketInitiator, TicketResponder } from 'mikey/ticket';
import { ALICE, BOB, CAROL, KMS_ID, MASTER, identity, provision, psk } from './support.js';
import { pki } from '../support/pki.js';
import { scaled } from '../support/child.js';


const kmsId = identity(KMS_ID);

async function service(store?: Store): Promise<KmsService> {
  const s = store ?? await openStore(':memory:');
  const box = new SecretBox(MASTER);
  await provision(s, box);
  return KmsService.open({ store: s, box, identity: KMS_ID, node: 'hardening', privateKey: pki('carol.key'), certificate: pki('carol.pem'), rate: { perSec: 1e6, burst: 1e6 } });
}

const errorOf = (b: Uint8Array) => {
  const m = decodeMessage(b);
  assert.equal(m.header.dataType, DataType.Error);
  return { codes: m.payloads.filter((p) => p.type === PayloadType.Err).map((p) => (p as { errorNo: number }).errorNo), authenticated: m.payloads.some((p) => p.type === PayloadType.V || p.type === PayloadType.Sign) };
};

test('no user enumeration: an unknown identity and a known one with a wrong key get the same answer', async () => {
  const svc = await service();
  try {
    const ask = async (who: string, key: Uint8Array) => {
      const r = await svc.handle(new TicketInitiator({ identity: identity(who), kms: kmsId, psk: key }).createRequest({ responders: [identity(BOB)] }).bytes, '192.0.2.1');
      assert.equal(r.kind, 'answer');
      return r as Extract<HandleResult, { kind: 'answer' }>;
    };
    // same length names: the answers are alike to the byte count
    const wrongKey = await ask(ALICE, psk(66));
    const unknown = await ask('sip:zelda@example.org', psk(66));
    assert.deepEqual(errorOf(wrongKey.response), { codes: [ErrorNo.AuthFailure], authenticated: false });
    assert.deepEqual(errorOf(unknown.response), errorOf(wrongKey.response));
    assert.equal(unknown.response.length, wrongKey.response.length);
    // public-key requests: an unregistered signer is answered like a signature that does not verify
    const pk = (who: string, key: string) => new TicketInitiator({ identity: identity(who), kms: kmsId, signer: { privateKey: pki(key) }, kmsKey: pki('carol.pem') });
    await svc.o.store.addCredential({ name: 'alice-cert', user: ALICE, kind: 'cert', cert: pki('alice.pem'), createdAt: Date.now() });
    svc.directory.invalidate();
    const badSig = await svc.handle(pk(ALICE, 'bob.key').createRequest({ responders: [identity(BOB)] }).bytes, '192.0.2.1');
    const noCert = await svc.handle(pk('sip:zelda@example.org', 'bob.key').createRequest({ responders: [identity(BOB)] }).bytes, '192.0.2.1');
    assert.ok(badSig.kind === 'answer' && noCert.kind === 'answer');
    assert.deepEqual(errorOf(noCert.response), errorOf(badSig.response));
    assert.deepEqual(errorOf(badSig.response).codes, [ErrorNo.AuthFailure]);
  } finally {
    await svc.close();
  }
});

test('J = 0 without forking: three different TRANSFER_INITs with one ticket, only the first is resolved; its retransmission gets the same answer', async () => {
  const svc = await service();
  try {
    await svc.o.store.addRule({ initiator: ALICE, responder: BOB, ...DEFAULT_RULE, reuse: false, forking: 'forbid' });
    const results: HandleResult[] = [];
    const sent: Uint8Array[] = [];
    const kms = async (b: Uint8Array) => {
      const r = await svc.handle(b, '192.0.2.2');
      sent.push(b);
      results.push(r);
      assert.equal(r.kind, 'answer');
      return (r as { response: Uint8Array }).response;
    };
    const alice = new TicketInitiator({ identity: identity(ALICE), kms: kmsId, psk: psk(1) });
    const req = alice.createRequest({ responders: [identity(BOB)] });
    const grant = req.receiveResponse(await kms(req.bytes));
    assert.equal(grant.policy.flags.J, false, 'the ticket may not be reused');
    assert.equal(grant.policy.flags.I, false, 'no forking');
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      // a new Responder each time: none has the ticket resolved in its cache
      const bob = new TicketResponder({ identity: identity(BOB), kms: kmsId, psk: psk(2), pskId: Buffer.from('bob-phone') });
      g(grant);
      const xfer = alice.createTransfer(grant, { sessions: [{ ssrc: 10 + i }] });
      assert.ok(xfer.expectsResponse);
      try {
        const got = await bob.receiveTransfer(xfer.bytes, kms);
        xfer.receiveResponse(got.response!);
        outcomes.push('resolved');
      } catch {
        outcomes.push(`refused ${(results.at(-1) as { errorNo?: number }).errorNo}`);
      }
    }
    assert.deepEqual(outcomes, ['resolved', `refused ${ErrorNo.InvalidTicket}`, `refused ${ErrorNo.InvalidTicket}`]);
    // the first RESOLVE_INIT again (a retransmission): the stored answer, not a refusal
    const again = await svc.handle(sent[1]!, '192.0.2.2');
    assert.ok(again.kind === 'answer' && again.retransmission === true && again.errorNo === undefined);
    assert.deepEqual(again.response, (results[1] as { response: Uint8Array }).response);
    assert.equal((await svc.o.store.counts()).resolutions, 1);
  } finally {
    await svc.close();
  }
});

/** Let the initiator use a J = 0 ticket again (its own bookkeeping would refuse): the KMS must. */
function g(grant: { uses?: number }): void {
  grant.uses = 0;
}

/** A UDP socket on `address` collecting what it receives. */
async function udpPeer(address: string): Promise<{ sock: Socket; got: Buffer[]; close(): void }> {
  const sock = createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((resolve) => sock.bind(0, address, () => resolve()));
  return { sock, got, close: () => sock.close() };
}

/** Resolves when `cond` holds (checked after every turn of the event loop), or fails after `ms`. */
async function until(cond: () => boolean, what: string, ms = scaled(10_000)): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('UDP reflection: empty and undecodable datagrams dropped, no Error longer than its request, a captured request replayed from another address not answered', async () => {
  const svc = await service();
  const running = await serveKms(svc, { udp: { port: 0 } });
  const alicePeer = await udpPeer('127.0.0.1');
  const attacker = await udpPeer('127.0.0.2');
  const send = (p: { sock: Socket }, b: Uint8Array) => p.sock.send(b, running.udpPort!, '127.0.0.1');
  try {
    const dropped = () => svc.stats.dropped;
    let d = dropped();
    for (const junk of [new Uint8Array(0), new Uint8Array([1]), new Uint8Array(64).fill(0xff), Buffer.from('GET / HTTP/1.1\r\n\r\n')]) {
      send(attacker, junk);
      await until(() => dropped() > d, 'the junk datagram to be dropped');
      d = dropped();
    }
    // a well-formed but unauthenticated request: its Error message is not longer than it
    const stranger = new TicketInitiator({ identity: identity('sip:zelda@example.org'), kms: kmsId, psk: psk(66) }).createRequest({ responders: [identity(BOB)] }).bytes;
    send(attacker, stranger);
    await until(() => attacker.got.length === 1, 'the Error message');
    assert.ok(attacker.got[0]!.length <= stranger.length, `Error ${attacker.got[0]!.length} bytes for a request of ${stranger.length}`);
    assert.equal(errorOf(attacker.got[0]!).codes[0], ErrorNo.AuthFailure);
    // Alice's request, answered (a ticket: longer than the request) at her address
    const alice = new TicketInitiator({ identity: identity(ALICE), kms: kmsId, psk: psk(1) });
    const req = alice.createRequest({ responders: [identity(BOB)] });
    send(alicePeer, req.bytes);
    await until(() => alicePeer.got.length === 1, 'the answer to Alice');
    const answer = alicePeer.got[0]!;
    assert.ok(answer.length > req.bytes.length);
    req.receiveResponse(new Uint8Array(answer));
    // captured and replayed from another address: dropped, not reflected
    send(attacker, req.bytes);
    await until(() => dropped() > d, 'the replay to be dropped');
    // retransmitted from Alice's address: the same answer
    send(alicePeer, req.bytes);
    await until(() => alicePeer.got.length === 2, 'the retransmitted answer');
    assert.deepEqual(alicePeer.got[1], answer);
    assert.equal(attacker.got.length, 1, 'the attacker got nothing but its own Error message');
  } finally {
    alicePeer.close();
    attacker.close();
    await running.close();
    await svc.close();
  }
});

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const q = request(url, { headers, rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    q.on('error', reject);
    q.end();
  });
}

test('TLS: only ECDHE with AEAD, TLS 1.3 first; /health tells strangers liveness only', async () => {
  const svc = await service();
  const running = await serveKms(svc, { http: { port: 0, tls: { cert: pki('carol.pem'), key: pki('carol.key') }, statusToken: 'operator-secret' } });
  const hello = (o: { maxVersion?: 'TLSv1.2' | 'TLSv1.3'; ciphers?: string }) => new Promise<{ protocol: string | null; cipher: string } | Error>((resolve) => {
    const s = tlsConnect({ port: running.httpPort!, host: '127.0.0.1', rejectUnauthorized: false, ...o }, () => {
      const r = { protocol: s.getProtocol(), cipher: s.getCipher().name };
      s.end();
      resolve(r);
    });
    s.on('error', (e) => resolve(e));
  });
  try {
    const dflt = await hello({});
    assert.ok(!(dflt instanceof Error), String(dflt));
    assert.equal(dflt.protocol, 'TLSv1.3');
    const t12 = await hello({ maxVersion: 'TLSv1.2' });
    assert.ok(!(t12 instanceof Error), String(t12));
    assert.match(t12.cipher, /^ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    // static RSA key exchange and CBC with SHA-1 are refused
    for (const ciphers of ['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA384']) {
      assert.ok(await hello({ maxVersion: 'TLSv1.2', ciphers }) instanceof Error, `${ciphers} accepted`);
    }
    const url = `https://127.0.0.1:${running.httpPort}/health`;
    assert.deepEqual(JSON.parse((await get(url)).body), { status: 'ok' });
    assert.deepEqual(JSON.parse((await get(url, { authorization: 'Bearer wrong' })).body), { status: 'ok' });
    const full = JSON.parse((await get(url, { authorization: 'Bearer operator-secret' })).body) as Record<string, unknown>;
    assert.equal(full['node'], 'hardening');
    assert.equal(full['users'], 3);
  } finally {
    await running.close();
    await svc.close();
  }
});

test('store files: the SQLite database, -wal and -shm are created 0600; an existing world-readable file is narrowed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-kms-modes-'));
  const old = process.umask(0o022);
  try {
    const path = join(dir, 'kms.db');
    const svc = await service(await openStore(path));
    // a write, so that the WAL and the shared memory file exist
    await svc.o.store.addUser({ name: 'sip:dave@example.org', idType: 1, createdAt: Date.now() });
    for (const f of [path, `${path}-wal`, `${path}-shm`]) assert.equal(statSync(f).mode & 0o777, 0o600, `${f} mode ${(statSync(f).mode & 0o777).toString(8)}`);
    await svc.close();
    const older = join(dir, 'older.db');
    writeFileSync(older, '', { mode: 0o644 });
    const s = await openStore(older);
    await s.migrate();
    assert.equal(statSync(older).mode & 0o777, 0o600);
    await s.close();
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CSB takeover attempt against MIKEY-TICKET: carol reuses the CSB ID of alice\'s exchange; her update fails the MAC of alice\'s CSB, her own TRANSFER_INIT is a separate CSB attributed to her', async () => {
  const store = await openStore(':memory:');
  const box = new SecretBox(MASTER);
  await provision(store, box, { forking: 'allow', reuse: true, initiatorKeys: true, responderKeys: true });
  const svc = await KmsService.open({ store, box, identity: KMS_ID, node: 'hardening', rate: { perSec: 1e6, burst: 1e6 } });
  try {
    const kms = async (b: Uint8Array) => {
      const r = await svc.handle(b, '192.0.2.3');
      assert.equal(r.kind, 'answer');
      return (r as { response: Uint8Array }).response;
    };
    const kmsId = identity(KMS_ID);
    const keysOf = (b: { sessions: Array<{ keys: Array<{ masterKey: Uint8Array }> }> }) => b.sessions.flatMap((s) => s.keys.map((k) => Buffer.from(k.masterKey).toString('hex')));
    const bob = new TicketResponder({ identity: identity(BOB), kms: kmsId, psk: psk(2), pskId: Buffer.from('bob-phone') });
    const ticketFor = async (ini: TicketInitiator) => {
      const req = ini.createRequest({ responders: [identity(BOB)], flags: { L: true } });
      return req.receiveResponse(await kms(req.bytes));
    };
    const alice = new TicketInitiator({ identity: identity(ALICE), kms: kmsId, psk: psk(1) });
    const xfer = alice.createTransfer(await ticketFor(alice), { sessions: [{ ssrc: 1 }] });
    const aliceCsb = (await bob.receiveTransfer(xfer.bytes, kms)).session;
    const before = keysOf(aliceCsb.bundle);
    assert.equal(aliceCsb.peer && new TextDecoder().decode(aliceCsb.peer.data), ALICE);
    // carol, a user of the same KMS with a ticket of her own, names alice's CSB ID
    const carol = new TicketInitiator({ identity: identity(CAROL), kms: kmsId, psk: psk(4) });
    const cx = carol.createTransfer(await ticketFor(carol), { sessions: [{ ssrc: 1 }], csbId: aliceCsb.csbId });
    assert.ok(cx.expectsResponse);
    const carolCsb = await bob.receiveTransfer(cx.bytes, kms);
    const update = cx.receiveResponse(carolCsb.response!).createUpdate({ keys: [{ length: 16 }] });
    assert.equal(decodeMessage(update.bytes).header.csbId, aliceCsb.csbId);
    // routed to alice's CSB by its CSB ID, carol's update does not verify there
    await assert.rejects(async () => aliceCsb.receiveUpdate(update.bytes), (e: unknown) => e instanceof MikeyProtocolError && e.errorNo === ErrorNo.AuthFailure);
    assert.deepEqual(keysOf(aliceCsb.bundle), before, 'alice\'s CSB keeps its keys');
    assert.notEqual(carolCsb.session, aliceCsb);
    assert.equal(carolCsb.session.peer && new TextDecoder().decode(carolCsb.session.peer.data), CAROL);
    assert.notDeepEqual(keysOf(carolCsb.session.bundle), before);
  } finally {
    await svc.close();
  }
});
