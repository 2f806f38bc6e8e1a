// `mikey decode` on captures: MIKEY on UDP 2269, in SIP SDP (UDP and TCP) and in RTSP (DESCRIBE
// answers, SETUP KeyMgmt, SET_PARAMETER bodies), in pcap and pcapng, each message with its
// packet number. tshark, reading the same files, finds MIKEY in the same packets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { messagesFromCapture, isCapture } from '../../src/cli/pcap.js';
import { RtspNullInitiator } from '../../src/profiles/rtsp-null.js';
import { buildRtspKeyMgmt } from '../../src/sdp/keymgmt.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { needPeer } from '../support/peer.js';
import { writePcapFrames, writePcapng, type CaptureFrame } from './pcap.js';
import { tsharkProblem } from './tshark.js';

const T0 = Date.UTC(2027, 3, 4, 5);
const ini = new RtspNullInitiator({ clock: { now: () => T0 } });
const msg = (csbId: number) => ini.createMessage({ csbId, ssrc: csbId, mki: null }).bytes;
const M = [msg(0x1001), msg(0x1002), msg(0x1003), msg(0x1004), msg(0x1005), msg(0x1006)];
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const text = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

const sipInvite = [
  'INVITE sip:bob@example.org SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5060', 'CSeq: 1 INVITE', 'Content-Type: application/sdp', '',
  'v=0', 'o=alice 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `a=key-mgmt:mikey ${b64(M[1]!)}`,
  'm=audio 4000 RTP/SAVP 0', 'm=video 4002 RTP/SAVP 31', `a=key-mgmt:mikey ${b64(M[2]!)}`, '',
].join('\r\n');
const describe = [
  'RTSP/1.0 200 OK', 'CSeq: 2', 'Content-Type: application/sdp', '', 'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=cam', 't=0 0',
  'm=video 0 RTP/SAVP 96', 'a=control:stream=0', `a=key-mgmt:mikey ${b64(M[3]!)}`, '',
].join('\r\n');
const setup = `SETUP rtsp://127.0.0.1/cam/stream=0 RTSP/1.0\r\nCSeq: 3\r\nKeyMgmt: ${buildRtspKeyMgmt([{ prot: 'mikey', uri: 'rtsp://127.0.0.1/cam', data: M[4]! }])}\r\n\r\n`;
const setParameterBody = `KeyMgmt: ${buildRtspKeyMgmt([{ prot: 'mikey', data: M[5]! }])}\r\n`;
const setParameter = `SET_PARAMETER rtsp://127.0.0.1/cam RTSP/1.0\r\nCSeq: 4\r\nContent-Type: text/parameters\r\nContent-Length: ${setParameterBody.length}\r\n\r\n${setParameterBody}`;

// the DESCRIBE answer in two TCP segments, the cut inside the a=key-mgmt line, sent out of order
// and the first one retransmitted
const cut = describe.indexOf('a=key-mgmt') + 20;
const d1 = text(describe.slice(0, cut));
const d2 = text(describe.slice(cut));
const FRAMES: CaptureFrame[] = [
  { payload: M[0]!, srcPort: 40000, dstPort: 2269 }, // 1
  { payload: text('OPTIONS sip:bob@example.org SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n'), dstPort: 5060 }, // 2: no MIKEY
  { payload: text(sipInvite), srcPort: 5060, dstPort: 5060 }, // 3: two messages
  { payload: d2, proto: 'tcp', srcPort: 554, dstPort: 50000, seq: 5000 + d1.length }, // 4
  { payload: d1, proto: 'tcp', srcPort: 554, dstPort: 50000, seq: 5000 }, // 5: holds the start of the line
  { payload: d1, proto: 'tcp', srcPort: 554, dstPort: 50000, seq: 5000 }, // 6: retransmission
  { payload: text(setup), proto: 'tcp', srcPort: 50000, dstPort: 554, seq: 100 }, // 7
  { payload: text(setParameter), proto: 'tcp', srcPort: 50000, dstPort: 554, seq: 100 + setup.length, ipv6: true }, // 8 (another flow: v6)
  { payload: M[0]!, srcPort: 2269, dstPort: 40002, ipv6: true }, // 9
];
const EXPECTED = [
  'packet 1 (udp 2269)', 'packet 3 (sip/udp sdp session)', 'packet 3 (sip/udp sdp media 1)', 'packet 5 (rtsp/tcp sdp media 0)',
  'packet 7 (rtsp/tcp rtsp rtsp://127.0.0.1/cam)', 'packet 8 (rtsp/tcp rtsp)', 'packet 9 (udp 2269)',
];
const CSB = [0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006, 0x1001];

const files = {
  pcap: writePcapFrames(FRAMES),
  'pcap-be-ns': writePcapFrames(FRAMES, { bigEndian: true, nanosecond: true }),
  pcapng: writePcapng(FRAMES, { simple: [0] }),
};

test('messagesFromCapture finds every MIKEY message with its packet number, in every format', () => {
  for (const [name, bytes] of Object.entries(files)) {
    assert.ok(isCapture(bytes), name);
    const found = messagesFromCapture(bytes);
    assert.deepEqual(found.map((f) => f.source), EXPECTED, name);
    assert.deepEqual(found.map((f) => decodeMessage(f.bytes).header.csbId), CSB, name);
  }
  assert.throws(() => messagesFromCapture(files.pcap.subarray(0, files.pcap.length - 3)), /runs past the end/);
  assert.ok(!isCapture(Buffer.from('v=0\r\n')));
});

test('mikey decode CAPTURE prints each message under its packet number', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-pcap-'));
  const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
  for (const [name, bytes] of Object.entries(files)) {
    const f = join(dir, `${name}.${name === 'pcapng' ? 'pcapng' : 'pcap'}`);
    writeFileSync(f, bytes);
    const r = spawnSync(process.execPath, [cli, 'decode', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const heads = r.stdout.split('\n').filter((l) => l.startsWith('# '));
    assert.deepEqual(heads, EXPECTED.map((s, i) => `# message ${i + 1} (${s})`), name);
    assert.equal((r.stdout.match(/CSB ID: 0x00001001/g) ?? []).length, 2);
  }
  const empty = join(dir, 'empty.pcap');
  writeFileSync(empty, writePcapFrames([FRAMES[1]!]));
  const r = spawnSync(process.execPath, [cli, 'decode', empty], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no MIKEY message in the capture/);
});

test('tshark reads the same captures and sees MIKEY on UDP 2269 and in SDP in the same packets', (t) => {
  if (!needPeer(t, 'tshark', tsharkProblem())) return;
  const dir = mkdtempSync(join(tmpdir(), 'mikey-pcap-ts-'));
  for (const [name, bytes] of Object.entries(files)) {
    const f = join(dir, `${name}.cap`);
    writeFileSync(f, bytes);
    const r = spawnSync('tshark', ['-n', '-r', f, '-o', 'tcp.analyze_sequence_numbers:TRUE', '-d', 'tcp.port==554,rtsp', '-T', 'fields', '-e', 'frame.number', '-e', 'mikey.csb_id'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.equal(rows.length, FRAMES.length, `${name}: every frame read`);
    const withMikey = rows.filter((x) => x[1]).map((x) => Number(x[0]));
    // tshark's MIKEY dissector runs on UDP 2269 and on SDP key-mgmt lines it reaches (SIP over UDP)
    for (const n of [1, 3, 9]) assert.ok(withMikey.includes(n), `${name}: tshark sees MIKEY in packet ${n} (${withMikey})`);
  }
});

test('the README\'s sample capture is what write-rtsp-sample.ts writes', async () => {
  const { rtspSample } = await import('./write-rtsp-sample.js');
  const file = readFileSync(join(process.cwd(), 'samples', 'rtsp-camera.pcapng'));
  assert.deepEqual(file, rtspSample());
  assert.deepEqual(messagesFromCapture(file).map((m) => m.source), ['packet 2 (rtsp/tcp sdp media 0)', 'packet 3 (rtsp/tcp rtsp rtsp://127.0.0.1:8554/test/stream=0)']);
});
