// Our client against our server: fallback on 463, TLS verification and its opt-out, ONVIF's
// rule of no keys on a plain channel, Digest and Basic, the current key by GET_PARAMETER.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtspServer } from '../../src/rtsp/server.js';
import { RtspClient, RtspKeyManagementError, RtspStatusError } from '../../src/rtsp/client.js';
import { TestPatternSource } from '../../src/rtsp/source.js';
import { run, selfSigned, until } from './helpers.js';

test('fallback: a client that offers its key gets 463 (spelling the camera refuses) and takes the server key', async () => {
  const r = await run({ profile: 'hanwha' }, { profile: 'axis' }, { packets: 20 });
  assert.equal(r.keyMode, 'server');
  assert.ok(r.notes.some((n) => /fallback: client-managed keys answered 463/.test(n)), r.notes.join('; '));
  assert.equal(r.stats.rtp.failed, 0);
});

test('fallback: a camera without a server key (axis), an ONVIF-style client goes client-managed', async () => {
  const r = await run({ profile: 'axis' }, { profile: 'genetec' }, { packets: 20 });
  assert.equal(r.keyMode, 'client');
  assert.ok(r.notes.some((n) => /fallback: no usable server key/.test(n)), r.notes.join('; '));
});

test('a strict client (live555) refuses a key with a byte after the message, and falls back to its own', async () => {
  const r = await run({ profile: 'milestone' }, { profile: 'live555', keyMgmt: 'auto' }, { packets: 10 });
  assert.equal(r.keyMode, 'client');
  assert.ok(r.notes.some((n) => /live555 refuses the server's key/.test(n)), r.notes.join('; '));
});

test('live555 against a GStreamer server: no key both understand, and the probe-level counters say so', async () => {
  // GStreamer's key: no MKI, the tag length in SP parameter 3 (live555 refuses it); live555's own
  // key protects only SRTCP for GStreamer, whose media stays under its key: every packet fails
  const source = new TestPatternSource({ intervalMs: 2 });
  const server = new RtspServer({ source, profile: 'gstreamer' });
  await server.listen();
  const c = new RtspClient(server.url(), { profile: 'live555' });
  try {
    await c.connect();
    await c.describe();
    const st = await c.setup(0);
    assert.equal(st.keyMode, 'client');
    assert.ok(c.notes.some((n) => /live555 refuses the server's key: key type 2 \(TEK expected\)|no 4-byte MKI|SP auth key length 10/.test(n)), c.notes.join('; '));
    await c.play();
    await until(() => st.receiver.stats.rtp.received >= 10, 5000, 'packets');
    assert.equal(st.receiver.stats.rtp.authenticated, 0);
    assert.equal(st.receiver.stats.rtp.failed, st.receiver.stats.rtp.received);
    assert.match(st.receiver.stats.firstError!, /unknown MKI|does not verify/);
  } finally {
    c.close();
    await server.close();
    await source.close();
  }
});

test('onvif: no MIKEY on a plain channel, unless allowed (and then reported)', async () => {
  const source = new TestPatternSource({ intervalMs: 5 });
  const server = new RtspServer({ source, profile: 'onvif' });
  await server.listen();
  const c = new RtspClient(server.url(), { profile: 'onvif' });
  try {
    await c.connect();
    const media = await c.describe();
    assert.equal(media[0]!.keyMgmt, undefined, 'the device offers no key on a plain channel');
    await assert.rejects(c.setup(0), (e: unknown) => e instanceof RtspKeyManagementError && /only over RTSP on TLS/.test(e.message));
    // a client that insists gets 463 from the device
    const lax = new RtspClient(server.url(), { profile: 'onvif', allowPlain: true, keyMgmt: 'client' });
    await lax.connect();
    await lax.describe();
    await assert.rejects(lax.setup(0), (e: unknown) => e instanceof RtspKeyManagementError && e.status === 463);
    lax.close();
  } finally {
    c.close();
    await server.close();
    await source.close();
  }
  const r = await run({ profile: 'onvif', allowPlain: true }, { profile: 'onvif', allowPlain: true }, { packets: 10 });
  assert.ok(r.notes.some((n) => n.startsWith('plain channel')));
});

test('rtsps: the certificate is verified; --insecure is an explicit, reported opt-out', async () => {
  const tls = selfSigned();
  const source = new TestPatternSource({ intervalMs: 5 });
  const server = new RtspServer({ source, profile: 'onvif', tls });
  await server.listen();
  try {
    const c = new RtspClient(server.url(), { profile: 'onvif' });
    await assert.rejects(c.connect(), /self[- ]signed/i);
    c.close();
  } finally {
    await server.close();
    await source.close();
  }
  const r = await run({ profile: 'onvif', tls }, { profile: 'onvif', insecure: true }, { packets: 10 });
  assert.ok(r.notes.some((n) => /without certificate verification/.test(n)));
});

for (const scheme of ['digest', 'basic'] as const) {
  test(`${scheme} authentication`, async () => {
    const source = new TestPatternSource({ intervalMs: 5 });
    const server = new RtspServer({ source, profile: 'axis', auth: { scheme, users: { admin: 'pa:ss' } } });
    await server.listen();
    const url = server.url().replace('rtsp://', 'rtsp://admin:pa%3Ass@');
    try {
      const bad = new RtspClient(server.url().replace('rtsp://', 'rtsp://admin:nope@'), { profile: 'axis' });
      await bad.connect();
      await assert.rejects(bad.describe(), (e: unknown) => e instanceof RtspStatusError && e.status === 401);
      bad.close();
      const c = new RtspClient(url, { profile: 'axis' });
      await c.connect();
      await c.describe();
      const st = await c.setup(0);
      await c.play();
      await until(() => st.receiver.stats.rtp.authenticated >= 5, 5000, 'packets');
      await c.rekey(0);
      await c.teardown();
      c.close();
    } finally {
      await server.close();
      await source.close();
    }
  });
}

test('GET_PARAMETER: the current key and ROC (ONVIF multicast), after a re-key', async () => {
  const r = await run({ profile: 'genetec' }, { profile: 'genetec', keyMgmt: 'server' }, { packets: 30, rekeyAfter: 10, getKey: true });
  assert.equal(r.stats.rtp.failed, 0);
  assert.equal(r.stats.mkis.length, 2);
  const cur = r.current!;
  assert.equal(cur.added, false, 'the key the client set is the current one');
  assert.equal(Buffer.from(cur.mki!).toString('hex'), r.stats.mkis[1]);
  assert.equal(cur.roc, 1, 'the current ROC, after the wrap');
});
