// Hostile peers: a client sending malformed or oversized RTSP, junk interleaved frames and bad
// key management to our server; a server sending malformed RTSP, oversized headers, SRTP under
// a key other than the one it gave, to our client. Clear typed errors, no crash, bounded memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { RtspServer } from '../../src/rtsp/server.js';
import { RtspClient, RtspKeyManagementError } from '../../src/rtsp/client.js';
import { RtspParser, RtspProtocolError, serializeResponse, serializeInterleaved } from '../../src/rtsp/message.js';
import { TestPatternSource } from '../../src/rtsp/source.js';
import { RtspNullInitiator } from '../../src/profiles/rtsp-null.js';
import { keyMgmtLine } from '../../src/sdp/keymgmt.js';
import { SrtpEndpoint } from '../../src/srtp/endpoint.js';
import { until } from './helpers.js';

/** Send raw bytes, collect what comes back until the server closes (or `ms`). */
function raw(port: number, data: Buffer | Buffer[], ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => { s.destroy(); resolve(got); }, ms);
    s.on('data', (d) => { got += d.toString('latin1'); });
    s.on('close', () => { clearTimeout(t); resolve(got); });
    s.on('error', () => undefined);
    s.on('connect', () => { for (const d of Array.isArray(data) ? data : [data]) s.write(d); });
  });
}

test('our server against hostile clients: clear answers, connection closed, still serving', { timeout: 20_000 }, async () => {
  const source = new TestPatternSource({ intervalMs: 5 });
  const events: string[] = [];
  const server = new RtspServer({ source, profile: 'axis', onEvent: (e) => { if (e.type === 'refused') events.push(e.detail); } });
  await server.listen();
  try {
    assert.match(await raw(server.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), /^RTSP\/1\.0 400 Bad Request\r\n[\s\S]*not an RTSP start line/);
    assert.match(await raw(server.port, Buffer.from(`OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nX: ${'a'.repeat(20_000)}`)), /^RTSP\/1\.0 431 /);
    assert.match(await raw(server.port, Buffer.from(`OPTIONS * RTSP/1.0\r\n${'X-A: 1\r\n'.repeat(1000)}\r\n`)), /^RTSP\/1\.0 431 [\s\S]*1000 RTSP header lines/);
    assert.match(await raw(server.port, Buffer.from('SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 999999999\r\n\r\n')), /^RTSP\/1\.0 413 /);
    assert.match(await raw(server.port, Buffer.from('OPTIONS * RTSP/1.0\r\nCSeq: x\r\n\r\n'), 500), /^RTSP\/1\.0 400 Bad CSeq/);
    assert.match(await raw(server.port, Buffer.from('PLAY rtsp://x/ RTSP/1.0\r\nCSeq: 2\r\nSession: nope\r\n\r\n'), 500), /^RTSP\/1\.0 454 /);
    assert.match(await raw(server.port, Buffer.from('FOO rtsp://x/ RTSP/1.0\r\nCSeq: 2\r\n\r\n'), 500), /^RTSP\/1\.0 501 /);
    // key management: not MIKEY, not base64, garbage MIKEY, no key at all (axis wants the client's)
    const setup = (km?: string) => Buffer.from(`SETUP rtsp://127.0.0.1/stream/stream=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/SAVP/TCP;unicast;interleaved=0-1\r\n${km === undefined ? '' : `KeyMgmt: ${km}\r\n`}\r\n`);
    assert.match(await raw(server.port, setup(), 500), /^RTSP\/1\.0 463 Key management failure/);
    assert.match(await raw(server.port, setup('prot=sdes; data="AAAA"'), 500), /^RTSP\/1\.0 463 /);
    assert.match(await raw(server.port, setup('prot=mikey; data="@@@"'), 500), /^RTSP\/1\.0 463 /);
    assert.match(await raw(server.port, setup(`prot=mikey; data="${randomBytes(60).toString('base64')}"`), 500), /^RTSP\/1\.0 463 /);
    assert.match(await raw(server.port, Buffer.from('SETUP rtsp://x/ RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n'), 500), /^RTSP\/1\.0 461 /, 'plain RTP is not served');
    // junk interleaved frames before and between requests: ignored
    const junk = Buffer.concat(Array.from({ length: 200 }, () => serializeInterleaved(1, randomBytes(100))));
    assert.match(await raw(server.port, [junk, Buffer.from('OPTIONS * RTSP/1.0\r\nCSeq: 9\r\n\r\n')], 500), /^RTSP\/1\.0 200 OK/);
    assert.ok(events.some((e) => /client key: /.test(e)), events.join('\n'));

    // after all that, a real client is served
    const c = new RtspClient(server.url(), { profile: 'axis' });
    await c.connect();
    await c.describe();
    const st = await c.setup(0);
    await c.play();
    await until(() => st.receiver.stats.rtp.authenticated >= 10, 5000, 'packets');

    // a re-key with a stale MKI (the current key's) is refused with 463; the stream goes on
    const cur = st.receiver.stats.mkis[0]!;
    const stale = new RtspNullInitiator({ keyForm: 'key||salt' }).createMessage({ ssrc: st.ssrc, mki: Buffer.from(cur, 'hex') });
    const r = await c.request('SET_PARAMETER', server.url(), { 'Content-Type': 'text/parameters' }, `mikey: ${stale.base64}\r\n`);
    assert.equal(r.status, 463);
    assert.ok(events.some((e) => /stale MKI/.test(e)), events.join('\n'));
    // so is a re-key under a wrong-length MKI, and garbage
    const short = new RtspNullInitiator({ keyForm: 'key||salt' }).createMessage({ ssrc: st.ssrc, mki: Uint8Array.of(1, 2) });
    assert.equal((await c.request('SET_PARAMETER', server.url(), { 'Content-Type': 'text/parameters' }, `mikey: ${short.base64}\r\n`)).status, 463);
    assert.equal((await c.request('SET_PARAMETER', server.url(), { 'Content-Type': 'text/parameters' }, 'mikey: AAAA\r\n')).status, 463);
    assert.equal((await c.request('SET_PARAMETER', server.url(), { 'Content-Type': 'text/parameters' }, 'volume: 11\r\n')).status, 451);
    const n = st.receiver.stats.rtp.authenticated;
    await until(() => st.receiver.stats.rtp.authenticated >= n + 10, 5000, 'packets after the refused re-keys');
    assert.equal(st.receiver.stats.rtp.failed, 0);
    // and a client-side stale re-key is refused before it is sent
    assert.throws(() => st.receiver.addKey({ masterKey: new Uint8Array(16), masterSalt: new Uint8Array(14), mki: Buffer.from(cur, 'hex') }), /stale re-key/);
    c.close();
  } finally {
    await server.close();
    await source.close();
  }
});

/** A fake camera: answers each request with `answer(method)`, and after PLAY sends `media()` frames on channel 0. */
async function fakeCamera(answer: (method: string, cseq: string) => Buffer, media?: () => Buffer[]): Promise<{ port: number; close: () => Promise<void> }> {
  const socks = new Set<Socket>();
  const srv = createServer((s) => {
    socks.add(s);
    const p = new RtspParser();
    s.on('error', () => undefined);
    s.on('data', (d) => {
      for (const it of p.push(d)) {
        if (it.kind !== 'request') continue;
        s.write(answer(it.method, it.headers['cseq'] ?? '0'));
        if (it.method === 'PLAY' && media) for (const f of media()) s.write(f);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  return { port, close: () => new Promise((r) => { for (const s of socks) s.destroy(); srv.close(() => r()); }) };
}

test('a camera sending SRTP under a key other than the one it gave: every packet counted as failed (auth), no crash', async () => {
  const given = new RtspNullInitiator({ keyForm: 'key||salt' }).createMessage({ ssrc: 0x11223344, mki: Uint8Array.of(1, 2, 3, 4) });
  const other = new RtspNullInitiator({ keyForm: 'key||salt' }).createMessage({ ssrc: 0x11223344, mki: Uint8Array.of(1, 2, 3, 4) });
  const sdp = `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=audio 0 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\na=control:stream=0\r\n${keyMgmtLine('mikey', given.bytes)}\r\n`;
  const cam = await fakeCamera((m, cseq) => {
    if (m === 'DESCRIBE') return serializeResponse(200, 'OK', { CSeq: cseq, 'Content-Type': 'application/sdp' }, sdp);
    if (m === 'SETUP') return serializeResponse(200, 'OK', { CSeq: cseq, Session: 'abc', Transport: 'RTP/SAVP/TCP;unicast;interleaved=0-1;ssrc=11223344' });
    return serializeResponse(200, 'OK', { CSeq: cseq, Session: 'abc' });
  }, () => {
    const tx = new SrtpEndpoint({ profile: 'AES_CM_128_HMAC_SHA1_80', keys: [{ masterKey: other.contexts[0]!.masterKey, masterSalt: other.contexts[0]!.masterSalt, mki: Uint8Array.of(1, 2, 3, 4) }], ssrc: 0x11223344 });
    return Array.from({ length: 30 }, (_, i) => {
      const p = new Uint8Array(172);
      p[0] = 0x80;
      new DataView(p.buffer).setUint16(2, i);
      new DataView(p.buffer).setUint32(8, 0x11223344);
      return serializeInterleaved(0, tx.protectRtp(p));
    });
  });
  const c = new RtspClient(`rtsp://127.0.0.1:${cam.port}/x`, { profile: 'genetec', transport: 'tcp' });
  try {
    await c.connect();
    await c.describe();
    const st = await c.setup(0);
    await c.play();
    await until(() => st.receiver.stats.rtp.received >= 30, 5000, '30 packets');
    assert.deepEqual([st.receiver.stats.rtp.authenticated, st.receiver.stats.rtp.failed, st.receiver.stats.rtp.failures.auth], [0, 30, 30]);
    assert.match(st.receiver.stats.firstError!, /authentication tag does not verify/);
  } finally {
    c.close();
    await cam.close();
  }
});

test('a server sending malformed RTSP, oversized headers, or no key: typed errors', async () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    ['not RTSP', Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), /not an RTSP start line/],
    ['oversized header', Buffer.from(`RTSP/1.0 200 OK\r\nX: ${'a'.repeat(100_000)}\r\n\r\n`), /longer than 8192 bytes|limit 8192/],
    ['huge body', Buffer.from('RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 4000000000\r\n\r\n'), /limit 65536/],
  ];
  for (const [what, bytes, re] of cases) {
    const cam = await fakeCamera(() => bytes);
    const c = new RtspClient(`rtsp://127.0.0.1:${cam.port}/x`);
    try {
      await c.connect();
      await assert.rejects(c.options(), (e: unknown) => e instanceof RtspProtocolError && re.test(e.message), what);
    } finally {
      c.close();
      await cam.close();
    }
  }
  // an SDP without a key, and a SETUP answered 463 by a camera that wants something else
  const cam = await fakeCamera((m, cseq) => m === 'DESCRIBE'
    ? serializeResponse(200, 'OK', { CSeq: cseq }, 'v=0\r\nm=audio 0 RTP/SAVP 0\r\na=control:s0\r\n')
    : serializeResponse(463, 'Key management failure', { CSeq: cseq }));
  const c = new RtspClient(`rtsp://127.0.0.1:${cam.port}/x`, { profile: 'genetec', transport: 'tcp' });
  try {
    await c.connect();
    await c.describe();
    await assert.rejects(c.setup(0), (e: unknown) => e instanceof RtspKeyManagementError && /no a=key-mgmt:mikey in DESCRIBE.*client-managed: 463/.test(e.message));
  } finally {
    c.close();
    await cam.close();
  }
});
