// `mikey srtp decrypt` on the README's sample and on hostile captures: keys given directly, a
// wrong key, a stale MKI, an MKI no message carries, garbage and truncated frames, a capture cut
// short, thousands of streams. Clear per-stream reasons, no crash, bounded work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { decryptCapture, type DecryptReport, type StreamReport } from '../../src/rtsp/decrypt.js';
import { readCapture, readFrames, writePcap } from '../../src/rtsp/pcap.js';
import { testPatternPayload } from '../../src/rtsp/source.js';
import { srtpSample, SAMPLE_SSRC } from './write-srtp-sample.js';
import { ipv4Frame, udpSegment, CLIENT_IP, SERVER_IP } from './capture.js';
import { generateKeyPairSync } from 'node:crypto';
import { PskInitiator } from '../../src/modes/psk/index.js';
import { PkInitiator } from '../../src/modes/pke/index.js';
import { uriIdentity } from '../../src/session/identity.js';
import { srtpContexts, type SrtpContext } from '../../src/session/bundle.js';
import { SrtpEndpoint } from '../../src/srtp/endpoint.js';

const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

function rtpStream(r: DecryptReport): StreamReport {
  const s = r.streams.find((x) => x.kind === 'srtp' && x.ssrc === SAMPLE_SSRC.toString(16));
  assert.ok(s, JSON.stringify(r.streams));
  return s;
}

/** The sample without its RTSP frames: media only, no MIKEY. */
function mediaOnly(b: Buffer): Buffer {
  const { frames } = readFrames(b);
  return writePcap(1, frames.filter((f) => f.data[23] === 17).map((f) => ({ time: f.time, data: f.data })));
}

test('the README sample is what write-srtp-sample.ts writes, and decrypts entirely', async () => {
  const file = readFileSync(join(process.cwd(), 'samples', 'rtsp-srtp.pcap'));
  assert.deepEqual(file, srtpSample());
  const { report, capture } = await decryptCapture(file);
  assert.ok(report.ok);
  const s = rtpStream(report);
  assert.deepEqual([s.packets, s.decrypted, s.failed, s.roc, s.mkis], [40, 40, 0, 1, ['00000001', '00000002']]);
  const rtp = readCapture(capture).filter((p) => p.dstPort === 6000);
  assert.equal(rtp.length, 40);
  rtp.forEach((p, i) => assert.deepEqual(Buffer.from(p.payload.subarray(12)), Buffer.from(testPatternPayload(i))));
  // same timing, frame for frame
  assert.deepEqual(readFrames(capture).frames.map((f) => f.time), readFrames(file).frames.map((f) => f.time));
});

test('keys given directly (--key-salt with MKI), and a wrong key: every packet counted with its reason', async () => {
  const media = mediaOnly(srtpSample());
  const ks = (i: number) => new Uint8Array([...new Uint8Array(16).fill(i), ...new Uint8Array(14).fill(0x10 + i)]);
  const right = await decryptCapture(media, { keys: [{ keySalt: ks(1), mki: Uint8Array.of(0, 0, 0, 1) }, { keySalt: ks(2), mki: Uint8Array.of(0, 0, 0, 2) }] });
  assert.equal(right.report.messages.length, 0);
  const s = rtpStream(right.report);
  assert.deepEqual([s.decrypted, s.failed, s.roc], [40, 0, 1]);
  assert.deepEqual(s.keySources, ['--key-salt 1', '--key-salt 2']);
  // a key under the right MKI that is not the key: authentication fails on every packet
  const wrong = await decryptCapture(media, { keys: [{ keySalt: ks(9), mki: Uint8Array.of(0, 0, 0, 1) }] });
  const w = rtpStream(wrong.report);
  assert.equal(wrong.report.ok, false);
  assert.equal(w.decrypted, 0);
  assert.equal(w.failed, 40);
  assert.equal((w.failures['no-key'] ?? 0) + (w.failures.mki ?? 0), 40, JSON.stringify(w.failures));
  assert.match(w.firstError!, /frame \d+: .*(authentication tag does not verify|no key)/);
  // no key at all
  const none = await decryptCapture(media);
  assert.match(rtpStream(none.report).firstError!, /no keys: no MIKEY message opened, none given/);
  // the packets that did not decrypt are written as they were
  assert.deepEqual(readCapture(none.capture).map((p) => Buffer.from(p.payload)), readCapture(media).map((p) => Buffer.from(p.payload)));
});

test('a re-key with a stale MKI is reported on its message; packets under it still decrypt by authentication', async () => {
  const { report } = await decryptCapture(srtpSample({ staleMki: true }));
  const m = report.messages.find((x) => /SET_PARAMETER/.test(x.where))!;
  assert.match(m.detail, /stale MKI 00000001: already the MKI of another key \(frame 2/);
  const s = rtpStream(report);
  assert.deepEqual([s.decrypted, s.failed, s.keyChanges], [40, 0, 1]);
});

test('packets under an MKI no message carries: failed as mki, named', async () => {
  const { report } = await decryptCapture(srtpSample({ unknownMki: true }));
  const s = rtpStream(report);
  assert.deepEqual([s.decrypted, s.failed, s.failures.mki], [20, 20, 20]);
  assert.match(s.firstError!, /unknown MKI 00000003: no key of the capture \(or given\) has it/);
  assert.equal(report.ok, false);
});

test('garbage, truncated frames, RTSP that is not, a capture cut short: warnings, no crash', async () => {
  const good = srtpSample();
  const { frames } = readFrames(good);
  const junk: Array<{ time: number; data: Uint8Array }> = [];
  let x = 7;
  const rnd = (n: number) => Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) & 0x7fffffff) & 0xff);
  for (const f of frames) {
    junk.push({ time: f.time, data: f.data });
    junk.push({ time: f.time, data: rnd(f.data.length) }); // not even Ethernet/IP
    junk.push({ time: f.time, data: f.data.subarray(0, 20 + (x % 40)) }); // cut inside IP/UDP
    // RTP-shaped garbage to the media port: a packet that is too short, one with a bad tag
    junk.push({ time: f.time, data: ipv4Frame({ src: SERVER_IP, dst: CLIENT_IP, proto: 17, l4: udpSegment(5000, 6000, Uint8Array.of(0x80, 0, 0, 1, 0, 0, 0, 0, 0x6d, 0x69, 0x6b, 0x65, 1)) }) });
  }
  junk.push({ time: 0, data: ipv4Frame({ src: CLIENT_IP, dst: SERVER_IP, proto: 6, l4: Buffer.concat([Buffer.from([0x9c, 0x40, 0x02, 0x2a, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]), Buffer.from('GARBAGE / RTSP/1.0\r\n\x01\x02: x\r\n\r\n')]) }) });
  const hostile = writePcap(1, junk);
  const { report, capture } = await decryptCapture(hostile);
  const s = rtpStream(report);
  assert.equal(s.decrypted, 40, JSON.stringify(s));
  assert.equal(s.failed, s.packets - 40);
  assert.ok((s.failures.malformed ?? 0) + (s.failures.replay ?? 0) + (s.failures.auth ?? 0) >= 1, JSON.stringify(s.failures));
  assert.ok(report.warnings.some((w) => /RTSP unreadable|missing before/.test(w)), report.warnings.join('\n'));
  assert.ok(capture.length > 24);
  // cut short in the middle of a record: the frames before the cut, and a warning
  const cut = await decryptCapture(good.subarray(0, Math.floor(good.length * 0.7)));
  assert.ok(cut.report.warnings.some((w) => /cut short/.test(w)));
  assert.ok(rtpStream(cut.report).decrypted > 10);
  // not a capture: a typed error
  await assert.rejects(decryptCapture(Buffer.from('hello, world')), (e: unknown) => e instanceof Error && e.name === 'CaptureFormatError' && /not a pcap/.test(e.message));
  await assert.rejects(decryptCapture(new Uint8Array(0)), (e: unknown) => e instanceof Error && e.name === 'CaptureFormatError');
});

test('thousands of streams: the first 256 followed, the rest counted; bounded time', async () => {
  const recs: Array<{ time: number; data: Uint8Array }> = [];
  for (let i = 0; i < 5000; i++) {
    const p = Buffer.alloc(40);
    p[0] = 0x80;
    p.writeUInt32BE(i + 1, 8);
    recs.push({ time: i / 1000, data: ipv4Frame({ src: SERVER_IP, dst: CLIENT_IP, proto: 17, l4: udpSegment(5000 + (i % 3000), 6000, p) }) });
  }
  const t0 = Date.now();
  const { report } = await decryptCapture(writePcap(1, recs), { keys: [{ keySalt: new Uint8Array(30) }] });
  assert.equal(report.streams.length, 256);
  assert.ok(report.warnings.some((w) => /more than 256 streams: 4744 packet/.test(w)), report.warnings.join('\n'));
  assert.ok(Date.now() - t0 < 10_000);
});

test('mikey srtp decrypt: the CLI, --json, exit statuses, --help', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-srtp-'));
  const out = join(dir, 'plain.pcap');
  const run = (args: string[]) => spawnSync(process.execPath, [cli, 'srtp', ...args], { encoding: 'utf8' });
  const ok = run(['decrypt', join(process.cwd(), 'samples', 'rtsp-srtp.pcap'), out, '--json']);
  assert.equal(ok.status, 0, ok.stderr);
  const rep = JSON.parse(ok.stdout) as DecryptReport;
  assert.equal(rep.ok, true);
  assert.ok(existsSync(out));
  assert.equal(readCapture(readFileSync(out)).filter((p) => p.dstPort === 6000).length, 40);
  const media = join(dir, 'media.pcap');
  writeFileSync(media, mediaOnly(srtpSample()));
  const bad = run(['decrypt', media, out, '--key-salt', '00'.repeat(30) + ':00000001']);
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /decrypted 0, failed 40/);
  assert.match(bad.stdout, /result: NOT every packet decrypted/);
  assert.equal(run(['decrypt', media]).status, 2);
  assert.match(run(['decrypt', media, out, '--key-salt', 'abcd']).stderr, /--key-salt: 2 bytes; AES_CM_128_HMAC_SHA1_80 takes 30/);
  const notPcap = join(dir, 'x.txt');
  writeFileSync(notPcap, 'hello');
  const np = run(['decrypt', notPcap, out]);
  assert.equal(np.status, 1);
  assert.match(np.stderr, /not a pcap or pcapng file/);
  const help = run(['decrypt', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Usage: mikey srtp decrypt IN.pcap OUT.pcap/);
  assert.match(spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' }).stdout, /srtp <subcommand>/);
});

/** A capture: the MIKEY message on UDP 2269, then 20 SRTP packets keyed by its first crypto session. */
function keyedCapture(message: Uint8Array, ctx: SrtpContext): Buffer {
  const recs = [{ time: 1, data: ipv4Frame({ src: CLIENT_IP, dst: SERVER_IP, proto: 17, l4: udpSegment(2269, 2269, message) }) }];
  const ep = new SrtpEndpoint({ profile: ctx.profile!, keys: [ctx], ssrc: ctx.ssrc, roc: ctx.roc });
  for (let i = 0; i < 20; i++) {
    const p = new Uint8Array(12 + 160);
    const v = new DataView(p.buffer);
    p[0] = 0x80;
    v.setUint16(2, i);
    v.setUint32(4, i * 160);
    v.setUint32(8, ctx.ssrc);
    p.set(testPatternPayload(i), 12);
    recs.push({ time: 2 + i / 50, data: ipv4Frame({ src: CLIENT_IP, dst: SERVER_IP, proto: 17, l4: udpSegment(5000, 5002, ep.protectRtp(p)) }) });
  }
  return writePcap(1, recs);
}

test('MIKEY-PSK on UDP 2269: opened with --psk, refused with a wrong one, asked for without', async () => {
  const psk = new Uint8Array(16).fill(7);
  const offer = new PskInitiator({ psk }).createOffer({ sessions: [{ ssrc: 0xabcdef01, profile: 'AES_CM_128_HMAC_SHA1_80' }], keys: [{ mki: Uint8Array.of(9, 9, 9, 9) }] });
  const cap = keyedCapture(offer.bytes, srtpContexts(offer.bundle)[0]!);
  const ok = await decryptCapture(cap, { psk });
  assert.deepEqual(ok.report.messages.map((m) => [m.where, m.status, m.detail]), [['udp 2269', 'opened', 'MIKEY-PSK']]);
  const s = ok.report.streams[0]!;
  assert.deepEqual([s.ssrc, s.decrypted, s.failed, s.mkis], ['abcdef01', 20, 0, ['09090909']]);
  const wrong = await decryptCapture(cap, { psk: new Uint8Array(16).fill(8) });
  assert.equal(wrong.report.messages[0]!.status, 'failed');
  assert.match(wrong.report.messages[0]!.detail, /Auth failure \(0\): KEMAC MAC does not verify/);
  assert.equal(wrong.report.streams[0]!.failures['no-key'], 20);
  const none = await decryptCapture(cap);
  assert.deepEqual([none.report.messages[0]!.status, none.report.messages[0]!.detail], ['skipped', 'pre-shared-key message with a protected KEMAC: give --psk']);
});

test('a public-key message: opened with the responder\'s private key (--key)', async () => {
  const a = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const offer = new PkInitiator({ privateKey: a.privateKey, idi: uriIdentity('sip:cam@example.org'), responderKey: b.publicKey }).createOffer({ sessions: [{ ssrc: 0x1234, profile: 'AES_CM_128_HMAC_SHA1_80' }] });
  const cap = keyedCapture(offer.bytes, srtpContexts(offer.bundle)[0]!);
  const ok = await decryptCapture(cap, { privateKey: b.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string });
  assert.deepEqual(ok.report.messages.map((m) => [m.status, m.detail]), [['opened', 'MIKEY-PK']]);
  assert.deepEqual([ok.report.streams[0]!.decrypted, ok.report.streams[0]!.failed], [20, 0]);
  const other = await decryptCapture(cap, { privateKey: a.privateKey });
  assert.equal(other.report.messages[0]!.status, 'failed');
  assert.equal(other.report.streams[0]!.decrypted, 0);
  assert.match((await decryptCapture(cap)).report.messages[0]!.detail, /give --key/);
});
