// The ONVIF multicast flow: SETUP asks for multicast, the answer's Transport names the group,
// port, TTL and SSRC; the client joins and fetches the server's key with its current ROC by
// GET_PARAMETER, and again when the server re-keys the group (new MKI, ROC kept). Two clients,
// one joining after the sequence numbers wrapped; every payload checked against the pattern.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { RtspServer, type RtspServerEvent } from '../../src/rtsp/server.js';
import { RtspClient, RtspKeyManagementError, type ClientStream } from '../../src/rtsp/client.js';
import { TestPatternSource, testPatternPayload } from '../../src/rtsp/source.js';
import { decryptCapture } from '../../src/rtsp/decrypt.js';
import { until } from './helpers.js';
import { Recorder, recordingProxy } from './capture.js';

const group = () => `239.255.${randomBytes(1)[0]}.${1 + (randomBytes(1)[0]! % 250)}`;
const evenPort = () => 20000 + 2 * (randomBytes(2).readUInt16BE(0) % 20000);

let mcProblem: string | null | undefined;
/** null when a datagram sent to a group on the loopback interface comes back here, else why not. */
async function multicastLoopbackProblem(): Promise<string | null> {
  if (mcProblem !== undefined) return mcProblem;
  const g = group();
  const port = evenPort();
  const r = createSocket({ type: 'udp4', reuseAddr: true });
  const s = createSocket('udp4');
  try {
    await new Promise<void>((ok, bad) => { r.once('error', bad); r.bind(port, () => ok()); });
    r.addMembership(g, '127.0.0.1');
    await new Promise<void>((ok, bad) => { s.once('error', bad); s.bind(0, '127.0.0.1', () => ok()); });
    s.setMulticastInterface('127.0.0.1');
    s.setMulticastLoopback(true);
    const got = new Promise<boolean>((res) => { r.once('message', () => res(true)); setTimeout(() => res(false), 2000); });
    for (let i = 0; i < 3; i++) s.send('x', port, g);
    mcProblem = (await got) ? null : `no datagram came back from ${g} on the loopback interface`;
  } catch (e) {
    mcProblem = `multicast on the loopback interface: ${(e as Error).message}`;
  } finally {
    r.close();
    s.close();
  }
  return mcProblem;
}

function checker() {
  const c = { ok: 0, wrong: 0 };
  return {
    c,
    onRtp: (_s: ClientStream, p: Uint8Array) => {
      const ts = new DataView(p.buffer, p.byteOffset).getUint32(4);
      if (Buffer.compare(p.subarray(12), testPatternPayload(ts / 160)) === 0) c.ok++;
      else c.wrong++;
    },
  };
}

test('multicast: two clients (one late, after the ROC moved), keys and ROC by GET_PARAMETER, server re-keys the group', { timeout: 30_000 }, async (t) => {
  const problem = await multicastLoopbackProblem();
  if (problem) return t.skip(`${problem}: the transport negotiation and the GET_PARAMETER key/ROC are tested below with unicast media`);
  const source = new TestPatternSource({ intervalMs: 2 });
  const g = group();
  const events: RtspServerEvent[] = [];
  const server = new RtspServer({ source, profile: 'axis', seqStart: 65480, rtcpEvery: 10, multicast: { group: g, port: evenPort(), ttl: 1, rekeyEvery: 70 }, onEvent: (e) => events.push(e) });
  await server.listen();
  const a = checker();
  const b = checker();
  const first = new RtspClient(server.url(), { profile: 'axis', transport: 'multicast', onRtp: a.onRtp });
  const late = new RtspClient(server.url(), { profile: 'axis', transport: 'multicast', onRtp: b.onRtp });
  try {
    await first.connect();
    await first.describe();
    const sa = await first.setup(0);
    assert.equal(sa.transport.unicast, false);
    assert.equal(sa.transport.destination, g);
    assert.equal(sa.transport.ttl, 1);
    assert.equal(sa.ssrc, sa.transport.ssrc);
    assert.ok(first.notes.some((n) => new RegExp(`multicast: group ${g.replace(/\./g, '\\.')}:\\d+ ttl 1, key by GET_PARAMETER \\(MKI [0-9a-f]{8}, ROC 0\\)`).test(n)), first.notes.join('; '));
    await first.play();
    // after the wrap of the sequence numbers: the late client's GET_PARAMETER says ROC 1
    await until(() => sa.receiver.stats.rtp.authenticated >= 62, 10_000, '62 packets');
    await late.connect();
    await late.describe();
    const sb = await late.setup(0);
    assert.ok(late.notes.some((n) => /key by GET_PARAMETER \(MKI [0-9a-f]{8}, ROC 1\)/.test(n)), late.notes.join('; '));
    await late.play();
    // past two re-keys of the group (every 70 packets)
    await until(() => sb.receiver.stats.rtp.authenticated >= 150, 15_000, '150 packets at the late client');
    for (const [st, c, name] of [[sa, a, 'first'], [sb, b, 'late']] as const) {
      const s = st.receiver.stats;
      assert.equal(c.c.wrong, 0, `${name}: payloads that differ from the pattern`);
      assert.equal(s.rtp.failed, 0, `${name}: ${JSON.stringify(s)}`);
      assert.equal(s.roc, 1);
      assert.ok(s.mkis.length >= 3, `${name}: MKIs ${s.mkis.join(', ')}`);
      assert.ok(st.multicast!.fetches >= 3, `${name}: ${st.multicast!.fetches} GET_PARAMETER`);
      assert.equal(s.missing, 0, `${name}: packets lost to a re-key`);
    }
    assert.ok(events.filter((e) => e.type === 'rekey' && /multicast group key/.test(e.detail)).length >= 2);
    // one stream for both: the server sent each packet once
    assert.ok(server.stats.multicastSent < sa.receiver.stats.rtp.received + sb.receiver.stats.rtp.received);
    // a client cannot re-key the group
    await assert.rejects(first.rekey(0), (e: unknown) => e instanceof RtspKeyManagementError && /multicast group key is the server's/.test(e.message));
    const r = await first.request('SET_PARAMETER', server.url(), { 'Content-Type': 'text/parameters' }, 'mikey: AQAFAA==\r\n');
    assert.equal(r.status, 463);
    await first.teardown();
    await late.teardown();
  } finally {
    first.close();
    late.close();
    await server.close();
    await source.close();
  }
});

test('multicast negotiation: 461 without a group and over TCP, 463 with a client key', { timeout: 20_000 }, async () => {
  const source = new TestPatternSource({ intervalMs: 2 });
  const plain = new RtspServer({ source, profile: 'axis' });
  const mc = new RtspServer({ source, profile: 'axis', multicast: { group: group(), port: evenPort() } });
  await plain.listen();
  await mc.listen();
  const c1 = new RtspClient(plain.url(), { profile: 'axis', transport: 'multicast' });
  const c2 = new RtspClient(mc.url(), { profile: 'axis' });
  try {
    await c1.connect();
    await c1.describe();
    await assert.rejects(c1.setup(0), (e: unknown) => e instanceof Error && /SETUP: 461/.test(e.message));
    await c2.connect();
    await c2.describe();
    for (const [transport, status] of [['RTP/SAVP;multicast', 463], ['RTP/SAVP/TCP;multicast;interleaved=0-1', 461]] as const) {
      const r = await c2.request('SETUP', `${mc.url()}/stream=0`, { Transport: transport, ...(status === 463 ? { KeyMgmt: 'prot=mikey; uri=""; data="AQAFAA=="' } : {}) });
      assert.equal(r.status, status, transport);
    }
  } finally {
    c1.close();
    c2.close();
    await plain.close();
    await mc.close();
    await source.close();
  }
});

test('srtp decrypt on a capture of a multicast session: the GET_PARAMETER answers carry the group keys', { timeout: 30_000 }, async (t) => {
  const problem = await multicastLoopbackProblem();
  if (problem) return t.skip(problem);
  const source = new TestPatternSource({ intervalMs: 2 });
  const g = group();
  const server = new RtspServer({ source, profile: 'axis', seqStart: 65500, multicast: { group: g, port: evenPort(), rekeyEvery: 40 } });
  await server.listen();
  const rec = new Recorder();
  const proxy = await recordingProxy(server.port, rec);
  const client = new RtspClient(`rtsp://127.0.0.1:${proxy.port}/stream`, {
    profile: 'axis', transport: 'multicast',
    onRtp: (st, _p, raw) => rec.udp('192.0.2.2', 30000, g, st.transport.port![0], raw),
  });
  try {
    await client.connect();
    await client.describe();
    const st = await client.setup(0);
    await client.play();
    await until(() => st.receiver.stats.rtp.authenticated >= 100, 15_000, '100 packets');
    await client.teardown();
  } finally {
    client.close();
    await proxy.close();
    await server.close();
    await source.close();
  }
  const { report } = await decryptCapture(rec.pcap());
  const s = report.streams.find((x) => x.kind === 'srtp')!;
  assert.ok(s.announced, 'the group port is announced by the SETUP answer');
  assert.equal(s.failed, 0, JSON.stringify(report, null, 2));
  assert.ok(s.mkis.length >= 3);
  assert.equal(s.roc, 1);
  assert.ok(report.messages.every((m) => m.where === 'rtsp GET_PARAMETER answer 200 parameter mikey' && m.status === 'opened'), JSON.stringify(report.messages));
});
