// `mikey rtsp serve --udp-port` fed by GStreamer (audiotestsrc ! mulawenc ! rtppcmupay !
// udpsink, sending each packet to the server and to this test): our client decrypts what the
// server serves, and every payload equals the one GStreamer sent with the same RTP timestamp.
// The session is recorded, `mikey srtp decrypt` decrypts the recording, and tshark reading the
// written capture finds the same payloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RtspClient } from '../../src/rtsp/client.js';
import { decryptCapture } from '../../src/rtsp/decrypt.js';
import { Recorder, recordingProxy, SERVER_IP, CLIENT_IP } from '../rtsp/capture.js';
import { until } from '../rtsp/helpers.js';
import { needPeer } from '../support/peer.js';
import { tsharkProblem } from './tshark.js';

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function gstProblem(): string | null {
  const r = spawnSync(PYTHON, ['-c', "import gi\ngi.require_version('Gst','1.0')\nfrom gi.repository import Gst\nGst.init(None)\nm=[e for e in ('audiotestsrc','mulawenc','rtppcmupay','udpsink') if Gst.ElementFactory.find(e) is None]\nprint('missing: '+','.join(m) if m else 'ok')"], { encoding: 'utf8', timeout: 15_000 });
  if (r.error) return `${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return `python3-gi: ${r.stderr.trim().split('\n').pop()}`;
  return r.stdout.trim() === 'ok' ? null : `GStreamer elements ${r.stdout.trim()}`;
}

/** A free UDP port (bound and released: the server binds it right after). */
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

test('mikey rtsp serve --udp-port fed by GStreamer: the client decrypts the source\'s payloads; srtp decrypt + tshark on the recorded session agree', { timeout: 60_000 }, async (t) => {
  if (!needPeer(t, 'GStreamer (python3-gi)', gstProblem())) return;
  const feed = await freeUdpPort();
  // the source's packets, as GStreamer sent them: RTP timestamp -> payload hash
  const tee = createSocket('udp4');
  await new Promise<void>((r) => tee.bind(0, '127.0.0.1', () => r()));
  const sent = new Map<number, string>();
  tee.on('message', (m) => { if (m.length > 12) sent.set(m.readUInt32BE(4), sha(m.subarray(12))); });
  const server = spawn(process.execPath, [cli, 'rtsp', 'serve', '--profile', 'axis', '--port', '0', '--udp-port', String(feed), '--rtpmap', 'PCMU/8000', '--payload-type', '0', '--seconds', '40'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  server.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const gst = spawn(PYTHON, ['-c', [
    'import sys, gi', "gi.require_version('Gst','1.0')", 'from gi.repository import Gst, GLib', 'Gst.init(None)',
    `p = Gst.parse_launch('audiotestsrc is-live=true wave=white-noise ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay ! udpsink clients=127.0.0.1:${feed},127.0.0.1:${tee.address().port} sync=true')`,
    'p.set_state(Gst.State.PLAYING)', 'loop = GLib.MainLoop()', 'GLib.timeout_add_seconds(30, loop.quit)',
    "p.get_bus().add_signal_watch(); p.get_bus().connect('message::error', lambda b, m: (sys.stderr.write(str(m.parse_error()) + '\\n'), loop.quit()))",
    'loop.run()', 'p.set_state(Gst.State.NULL)',
  ].join('\n')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let gstErr = '';
  gst.stderr.setEncoding('utf8').on('data', (d: string) => { if (gstErr.length < 4000) gstErr += d; });
  const rec = new Recorder();
  let proxy: { port: number; close(): Promise<void> } | undefined;
  let client: RtspClient | undefined;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      server.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /serving (rtsp:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      server.once('exit', (c) => reject(new Error(`serve exited ${c}: ${err}`)));
    });
    proxy = await recordingProxy(Number(new URL(url).port), rec);
    const got: Array<[number, string]> = [];
    client = new RtspClient(`rtsp://127.0.0.1:${proxy.port}/stream`, {
      profile: 'axis',
      onRtp: (st, p, raw) => {
        got.push([new DataView(p.buffer, p.byteOffset).getUint32(4), sha(p.subarray(12))]);
        rec.udp(SERVER_IP, st.transport.serverPort![0], CLIENT_IP, st.transport.clientPort![0], raw);
      },
    });
    await client.connect();
    const media = await client.describe();
    assert.equal(media[0]!.rtpmap, 'PCMU/8000');
    const st = await client.setup(0);
    await client.play();
    await until(() => st.receiver.stats.rtp.authenticated >= 30, 20_000, `30 packets from the GStreamer-fed server (gst: ${gstErr})`);
    await client.rekey(0);
    await until(() => st.receiver.stats.rtp.authenticated >= 80, 20_000, '80 packets');
    await client.teardown();
    assert.equal(st.receiver.stats.rtp.failed, 0);
    // the source's copy of each packet arrives before the server's: both left GStreamer together
    await until(() => got.every(([ts]) => sent.has(ts)), 2000, 'every source packet at the tee');
    for (const [ts, h] of got) assert.equal(h, sent.get(ts), `RTP timestamp ${ts}: the client's payload is not the source's`);
    // the recorded session, decrypted, read by tshark
    if (!needPeer(t, 'tshark', tsharkProblem())) return;
    const { report, capture } = await decryptCapture(rec.pcap());
    const s = report.streams.find((x) => x.kind === 'srtp')!;
    assert.equal(s.failed, 0, JSON.stringify(report, null, 2));
    assert.equal(s.decrypted, got.length);
    assert.equal(s.mkis.length, 2);
    const dir = mkdtempSync(join(tmpdir(), 'mikey-serve-src-'));
    try {
      const file = join(dir, 'plain.pcap');
      writeFileSync(file, capture);
      const r = spawnSync('tshark', ['-r', file, '--enable-heuristic', 'rtp_udp', '-Y', 'rtp && udp && !rtcp', '-T', 'fields', '-e', 'rtp.timestamp', '-e', 'rtp.payload'], { encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 26 });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.split('\n').filter(Boolean);
      assert.equal(lines.length, got.length);
      for (const l of lines) {
        const [ts, payload] = l.split('\t');
        assert.equal(sha(Buffer.from(payload!.replace(/:/g, ''), 'hex')), sent.get(Number(ts)), `tshark, RTP timestamp ${ts}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    client?.close();
    await proxy?.close();
    gst.kill('SIGTERM');
    server.kill('SIGTERM');
    await Promise.all([new Promise((r) => (gst.exitCode !== null ? r(null) : gst.once('exit', r))), new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)))]);
    tee.close();
  }
  assert.match(out, /stopped: 1 sessions, \d+ SRTP packets sent, 1 re-keys/);
});
