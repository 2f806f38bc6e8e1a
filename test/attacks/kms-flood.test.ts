// Attacks on the key service written as an outsider would (only the package by name: 'mikey',
// 'mikey/kms', 'mikey/ticket'), that must fail: a flood of made-up identities (memory stays flat,
// every cache bounded; finding 5), silent and half-sent HTTP connections (legitimate requests
// still answered; finding 6). docs/security.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DataType, decodeMessage } from 'mikey';
import { KmsService, SecretBox, httpTransport, openStore, serveKms, type HttpLimits, type Store } from 'mikey/kms';
import { TicketInitiator } from 'mikey/ticket';
import { scaled } from '../support/child.js';
import { ALICE, BOB, KMS_ID, MASTER, identity, provision, psk } from './support.js';


setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function service(o: { cacheEntries?: number; store?: Store } = {}): Promise<KmsService> {
  const store = o.store ?? await openStore(':memory:');
  const box = new SecretBox(MASTER);
  await provision(store, box);
  return KmsService.open({ store, box, identity: KMS_ID, node: 'hardening', rate: { perSec: 1e9, burst: 1e9, peers: 1000 }, cacheEntries: o.cacheEntries });
}

const alice = () => new TicketInitiator({ identity: identity(ALICE), kms: identity(KMS_ID), psk: psk(1) });

/** `bytes` with every occurrence of `from` (same length) replaced by `to`. */
function swap(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const out = Uint8Array.from(bytes);
  const f = Buffer.from(from);
  const t = Buffer.from(to);
  assert.equal(f.length, t.length);
  let i = Buffer.from(out).indexOf(f);
  assert.ok(i >= 0, `${from} is in the request`);
  while (i >= 0) { out.set(t, i); i = Buffer.from(out).indexOf(f, i + 1); }
  return out;
}

const randomName = (len: number) => {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: len }, () => abc[Math.floor(Math.random() * abc.length)]).join('');
};

function heapAfterGc(): number {
  gc(); gc();
  return process.memoryUsage().heapUsed;
}

test('a flood of made-up identities from spoofed sources: memory flat, caches bounded, the real user still served', async (t) => {
  const ENTRIES = 500;
  const svc = await service({ cacheEntries: ENTRIES });
  try {
    const template = alice().createRequest({ responders: [identity(BOB)] }).bytes;
    const user = 'alice';
    const flood = async (n: number) => {
      for (let i = 0; i < n; i++) {
        // another claimed IDRi per request, from another source address: every one misses the store
        const bytes = swap(template, user, randomName(user.length));
        const r = await svc.handle(bytes, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
        assert.equal(r.kind, 'answer');
        if (r.kind === 'answer') assert.notEqual(r.errorNo, undefined);
      }
    };
    await flood(2000);
    const before = heapAfterGc();
    await flood(10_000);
    const after = heapAfterGc();
    const sizes = svc.directory.cacheSizes();
    for (const [name, n] of Object.entries(sizes)) assert.ok(n <= ENTRIES, `${name}: ${n} entries (bound ${ENTRIES})`);
    assert.equal(sizes['missing'], ENTRIES, 'names the store does not know are remembered, up to the bound');
    assert.ok(svc.rateBuckets() <= 1000, `rate buckets ${svc.rateBuckets()}`);
    // without bounds this grows by ~234 bytes a request (2.3 MB here)
    const grown = after - before;
    t.diagnostic(`heap ${before} -> ${after} bytes over 10,000 requests (${(grown / 10_000).toFixed(1)} bytes a request)`);
    assert.ok(grown < 600_000, `heap grew by ${grown} bytes over 10,000 requests`);
    // the real user is answered as before
    const req = alice().createRequest({ responders: [identity(BOB)] });
    const r = await svc.handle(req.bytes, '192.0.2.1');
    assert.ok(r.kind === 'answer' && r.errorNo === undefined);
    assert.equal(decodeMessage(r.response).header.dataType, DataType.RequestResp);
  } finally {
    await svc.close();
  }
});

/**
 * `p`, or a failure naming `what` after `ms`: every wait of these tests is bounded, so that a
 * server that does not do its part fails the test with a reason (and the `finally` closes the
 * server and sockets) instead of leaving the file waiting on open handles.
 */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, fail) => { timer = setTimeout(() => fail(new Error(`${what}: not within ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Open `n` connections from `localAddress`; `half` of them send part of a request. */
async function openConnections(port: number, localAddress: string, n: number, half: boolean, into: Array<{ sock: Socket; closed: Promise<number> }>): Promise<void> {
  for (let i = 0; i < n; i++) {
    const sock = connect({ port, host: '127.0.0.1', localAddress });
    const t0 = Date.now();
    const closed = new Promise<number>((resolve) => sock.once('close', () => resolve(Date.now() - t0)));
    sock.on('error', () => undefined);
    // read (and drop) what the server sends: its 408 answer to a timed-out connection is followed
    // by its FIN, and a socket that never reads never sees that end, so it would never close
    sock.resume();
    // kept before it connects, so that the caller's `finally` destroys it whatever happens next
    into.push({ sock, closed });
    await within(new Promise<void>((resolve) => { sock.once('connect', () => resolve()); sock.once('close', () => resolve()); }), scaled(5000), `connection ${i} from ${localAddress}: neither connected nor closed`);
    if (half && !sock.destroyed) sock.write('POST /mikey HTTP/1.1\r\nHost: kms\r\nContent-Type: application/mikey\r\n');
  }
}

test('silent and half-sent HTTP connections: capped per address and in all, dropped after the headers timeout; legitimate requests answered', async () => {
  const svc = await service();
  const limits: HttpLimits = { headersTimeoutMs: 600, maxConnections: 48, maxConnectionsPerAddress: 16 };
  let running: Awaited<ReturnType<typeof serveKms>> | undefined;
  const all: Array<{ sock: Socket; closed: Promise<number> }> = [];
  try {
    running = await within(serveKms(svc, { http: { port: 0, ...limits } }), scaled(10_000), 'the HTTP listener did not start');
    const port = running.httpPort!;
    const url = running.httpUrl!;
    const ask = async (when: string) => {
      const req = alice().createRequest({ responders: [identity(BOB)] });
      // the transport's own timeout, and ours around it (retries included)
      const b = await within(httpTransport(url, { timeoutMs: scaled(10_000) })(req.bytes), scaled(30_000), `a legitimate request ${when} was not answered`);
      assert.equal(decodeMessage(b).header.dataType, DataType.RequestResp);
    };
    // one address: 40 silent and 40 half-sent connections; 16 are kept, the rest dropped at once
    await openConnections(port, '127.0.0.2', 40, false, all);
    await openConnections(port, '127.0.0.2', 40, true, all);
    await ask('beside 80 idle connections from one address');
    // many addresses: the total stays within the cap
    for (let a = 3; a < 8; a++) await openConnections(port, `127.0.0.${a}`, 16, a % 2 === 0, all);
    const open = await within(running.connections(), scaled(5000), 'the server did not count its connections');
    assert.ok(open <= 48, `${open} connections open (cap 48)`);
    // every attacking connection is closed by the server: at once (over a cap) or after the headers timeout
    const bound = scaled(600 * 10);
    const times = await Promise.all(all.map((c, i) => within(c.closed, bound, `attacking connection ${i} was not closed by the server (headers timeout 600 ms)`)));
    assert.ok(times.every((ms) => ms < bound), `closed after ${Math.max(...times)} ms (bound ${bound} ms)`);
    // and the service answers again
    await ask('after the attack');
  } finally {
    for (const c of all) c.sock.destroy();
    if (running) await within(running.close(), scaled(10_000), 'the HTTP listener did not close');
    await within(svc.close(), scaled(10_000), 'the key service did not close');
  }
});
