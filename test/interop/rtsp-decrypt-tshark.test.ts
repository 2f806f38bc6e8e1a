// `mikey srtp decrypt` checked by tshark: a capture of our client and server (recorded between
// them, and one taken by dumpcap on the loopback interface when it may capture there) is
// decrypted, and tshark, reading the written capture on its own, finds RTP whose payloads are
// the source's, packet for packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptCapture } from '../../src/rtsp/decrypt.js';
import { RtspServer } from '../../src/rtsp/server.js';
import { RtspClient } from '../../src/rtsp/client.js';
import { TestPatternSource, testPatternPayload } from '../../src/rtsp/source.js';
import { recordSession } from '../rtsp/capture.js';
import { until } from '../rtsp/helpers.js';
import { needPeer, interopRequired } from '../support/peer.js';
import { tsharkProblem } from './tshark.js';

/** The RTP tshark finds over UDP in a capture: [timestamp, payload] per packet. */
function tsharkRtp(file: string, filter = ''): Array<[number, Buffer]> {
  const r = spawnSync('tshark', ['-r', file, '--enable-heuristic', 'rtp_udp', '-Y', `rtp && udp && !rtcp${filter}`, '-T', 'fields', '-e', 'rtp.timestamp', '-e', 'rtp.payload'], { encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => {
    const [ts, payload] = l.split('\t');
    return [Number(ts), Buffer.from((payload ?? '').replace(/:/g, ''), 'hex')];
  });
}

function checkWithTshark(capture: Buffer, decrypted: number): void {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-decrypt-'));
  try {
    const out = join(dir, 'plain.pcap');
    writeFileSync(out, capture);
    const rtp = tsharkRtp(out);
    assert.equal(rtp.length, decrypted, 'tshark finds as many RTP packets as were decrypted');
    for (const [ts, payload] of rtp) assert.deepEqual(payload, Buffer.from(testPatternPayload(ts / 160)), `RTP timestamp ${ts}: tshark's payload differs from the source's`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const c of [
  { name: 'server-managed keys over UDP (onvif), re-key by SET_PARAMETER', server: { profile: 'onvif' as const, allowPlain: true }, client: { profile: 'onvif' as const, allowPlain: true } },
  { name: 'client-managed keys interleaved on TCP (axis), re-key', server: { profile: 'axis' as const }, client: { profile: 'axis' as const, transport: 'tcp' as const } },
]) {
  test(`tshark reads the decrypted capture of our session, ${c.name}: payloads are the source's`, { timeout: 60_000 }, async (t) => {
    if (!needPeer(t, 'tshark', tsharkProblem())) return;
    const rec = await recordSession(c.server, c.client, { packets: 60, rekeyAfter: 20 });
    const { report, capture } = await decryptCapture(rec.pcap);
    assert.ok(report.ok, JSON.stringify(report, null, 2));
    const s = report.streams.find((x) => x.kind === 'srtp')!;
    assert.equal(s.mkis.length, 2);
    assert.equal(s.roc, 1);
    checkWithTshark(capture, s.decrypted);
  });
}

/** null when dumpcap can capture on lo here, else why not. */
function dumpcapProblem(): string | null {
  const r = spawnSync('dumpcap', ['-D'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `cannot run dumpcap: ${r.error.message}`;
  if (!/\blo\b/.test(r.stdout)) return `dumpcap lists no loopback interface: ${(r.stdout + r.stderr).trim().slice(0, 200)}`;
  return null;
}

test('a dumpcap capture on lo of our client and server: decrypted, tshark reads the source\'s payloads', { timeout: 60_000 }, async (t) => {
  if (!needPeer(t, 'dumpcap', dumpcapProblem())) return;
  const source = new TestPatternSource({ intervalMs: 2 });
  const server = new RtspServer({ source, profile: 'axis', seqStart: 65500 });
  await server.listen();
  const dir = mkdtempSync(join(tmpdir(), 'mikey-dumpcap-'));
  const file = join(dir, 'lo.pcapng');
  // only this server's RTSP and the UDP of this host (other tests' traffic is not judged)
  // dumpcap writes each packet as it takes it: the capture is live once a sentinel datagram has
  // grown the file ("Capturing on" comes before the filter is attached)
  const sentinel = createSocket('udp4');
  await new Promise<void>((r) => sentinel.bind(0, '127.0.0.1', () => r()));
  const sentinelPort = sentinel.address().port;
  const dump = spawn('dumpcap', ['-q', '-i', 'lo', '-f', `tcp port ${server.port} or (udp and not port 53)`, '-w', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  dump.stderr.on('data', (d) => { err += d; });
  const size = () => { try { return statSync(file).size; } catch { return 0; } };
  try {
    const started = await new Promise<boolean>((resolve) => {
      let empty = -1;
      const i = setInterval(() => {
        if (!/Capturing on/.test(err)) return;
        if (empty < 0) empty = size();
        else if (size() > empty) { clearInterval(i); resolve(true); return; }
        // not RTP (version 0): the decryption report does not take it for a stream
        sentinel.send(Uint8Array.of(0, 0, 0, 0), sentinelPort, '127.0.0.1');
      }, 20);
      dump.once('exit', () => { clearInterval(i); resolve(false); });
    });
    if (!started) {
      // dumpcap is there but may not capture (no CAP_NET_RAW): that is this machine, not the peer
      const why = `dumpcap cannot capture on lo: ${err.trim().slice(0, 300)}`;
      if (interopRequired && !/permission|Operation not permitted|don't have permission/i.test(err)) throw new Error(why);
      t.skip(why);
      return;
    }
    const client = new RtspClient(server.url(), { profile: 'axis' });
    try {
      await client.connect();
      await client.describe();
      const st = await client.setup(0);
      await client.play();
      await until(() => st.receiver.stats.rtp.authenticated >= 20, 10_000, '20 packets');
      await client.rekey(0);
      await until(() => st.receiver.stats.rtp.authenticated >= 60, 10_000, '60 packets');
      await client.teardown();
    } finally {
      client.close();
    }
    // let the last packets reach the capture file, then stop dumpcap (it finishes the file on SIGTERM)
    await new Promise((r) => setTimeout(r, 300));
    dump.kill('SIGTERM');
    await new Promise((r) => dump.once('exit', r));
    const { report, capture } = await decryptCapture(readFileSync(file));
    const s = report.streams.find((x) => x.kind === 'srtp' && x.announced && x.decrypted > 0);
    assert.ok(s, JSON.stringify(report, null, 2));
    assert.equal(s.failed, 0, JSON.stringify(s));
    assert.ok(s.decrypted >= 60);
    assert.equal(s.mkis.length, 2);
    assert.equal(s.roc, 1);
    const out = join(dir, 'plain.pcap');
    writeFileSync(out, capture);
    const dport = /:(\d+)$/.exec(s.flow)![1];
    const mine = tsharkRtp(out, ` && udp.dstport == ${dport}`);
    assert.equal(mine.length, s.decrypted);
    for (const [ts, payload] of mine) assert.deepEqual(payload, Buffer.from(testPatternPayload(ts / 160)));
  } finally {
    sentinel.close();
    if (dump.exitCode === null) dump.kill('SIGKILL');
    await server.close();
    await source.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
