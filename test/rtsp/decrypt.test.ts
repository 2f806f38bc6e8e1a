// `mikey srtp decrypt` on captures of our client and server: every key found in the RTSP
// signalling, every packet decrypted (re-keys by MKI and without, ROC across the wrap), the
// written capture's RTP payloads equal to the source's; and hostile captures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decryptCapture, type DecryptReport, type StreamReport } from '../../src/rtsp/decrypt.js';
import { readCapture } from '../../src/rtsp/pcap.js';
import { testPatternPayload } from '../../src/rtsp/source.js';
import { recordSession } from './capture.js';

/** The decrypted RTP of a written capture: every payload must be the pattern's. */
function checkPayloads(out: Uint8Array): number {
  let n = 0;
  for (const p of readCapture(out)) {
    if (p.proto !== 'udp' || p.payload.length < 12 || p.payload[0]! >> 6 !== 2 || p.payload[1]! >= 192) continue;
    const ts = new DataView(p.payload.buffer, p.payload.byteOffset).getUint32(4);
    assert.deepEqual(Buffer.from(p.payload.subarray(12)), Buffer.from(testPatternPayload(ts / 160)), `frame ${p.no}: payload differs from the source's`);
    n++;
  }
  return n;
}

function srtp(r: DecryptReport): StreamReport {
  const s = r.streams.filter((x) => x.kind === 'srtp');
  assert.equal(s.length, 1, JSON.stringify(r.streams));
  return s[0]!;
}

test('server-managed keys over UDP, re-key by SET_PARAMETER with a new MKI, ROC across the wrap: every packet decrypted', { timeout: 20_000 }, async () => {
  const rec = await recordSession({ profile: 'onvif', allowPlain: true }, { profile: 'onvif', allowPlain: true, keyMgmt: 'server' }, { packets: 60, rekeyAfter: 20 });
  const { report, capture } = await decryptCapture(rec.pcap);
  assert.ok(report.ok, JSON.stringify(report, null, 2));
  assert.deepEqual(report.messages.map((m) => [m.where, m.status]), [['rtsp DESCRIBE answer 200 sdp media 0', 'opened'], ['rtsp SET_PARAMETER parameter mikey', 'opened']]);
  const s = srtp(report);
  assert.equal(s.transport, 'udp');
  assert.ok(s.announced);
  assert.equal(s.decrypted, s.packets);
  assert.ok(s.packets >= 60);
  assert.equal(s.mkis.length, 2, 'both MKIs');
  assert.equal(s.keyChanges, 1);
  assert.equal(s.roc, 1, 'the sequence numbers started at 65500: the ROC went to 1');
  assert.equal(s.ssrc, rec.stream.receiver.ssrc.toString(16).padStart(8, '0'));
  const srtcp = report.streams.filter((x) => x.kind === 'srtcp');
  assert.ok(srtcp.length >= 1 && srtcp.every((x) => x.failed === 0 && x.decrypted > 0), JSON.stringify(srtcp));
  assert.equal(checkPayloads(capture), s.packets);
  assert.equal(report.written.decrypted, s.packets + srtcp.reduce((a, x) => a + x.decrypted, 0));
});

test('client-managed keys (axis) interleaved on TCP, re-key mid-stream: reassembled, decrypted, written as UDP', { timeout: 20_000 }, async () => {
  const rec = await recordSession({ profile: 'axis' }, { profile: 'axis', transport: 'tcp' }, { packets: 50, rekeyAfter: 15 });
  const { report, capture } = await decryptCapture(rec.pcap);
  assert.ok(report.ok, JSON.stringify(report, null, 2));
  assert.deepEqual(report.messages.map((m) => [m.where, m.status]), [['rtsp SETUP KeyMgmt', 'opened'], ['rtsp SET_PARAMETER parameter mikey', 'opened']]);
  const s = srtp(report);
  assert.equal(s.transport, 'rtsp-interleaved');
  assert.match(s.flow, /channel 0$/);
  assert.equal(s.decrypted, s.packets);
  assert.equal(s.mkis.length, 2);
  assert.equal(report.written.added, s.packets + report.streams.filter((x) => x.kind === 'srtcp').reduce((a, x) => a + x.decrypted, 0));
  assert.equal(checkPayloads(capture), s.packets);
});

test('no MKI (gstreamer profile): the re-key is found by authentication, the ROC goes on', { timeout: 20_000 }, async () => {
  const rec = await recordSession({ profile: 'gstreamer' }, { profile: 'gstreamer' }, { packets: 50, rekeyAfter: 15 });
  const { report, capture } = await decryptCapture(rec.pcap);
  const s = srtp(report);
  // gstreamer: the client's key in SET_PARAMETER protects its SRTCP, the media key stays the server's
  assert.equal(s.decrypted, s.packets, JSON.stringify(report, null, 2));
  assert.deepEqual(s.mkis, []);
  assert.equal(s.roc, 1);
  assert.equal(checkPayloads(capture), s.packets);
});
