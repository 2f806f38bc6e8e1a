// gst-rtsp-server as the camera (server-managed MIKEY, the key it was given): our probe with the
// gstreamer profile authenticates and decrypts every packet of a known pattern (mu-law silence,
// every byte 0xff) over UDP, over TCP interleaved, and over RTSP on TLS with the certificate
// verified. gst-rtsp-server 1.22 has no SET_PARAMETER handler: the re-key is refused with 451
// and reported, the stream goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probe, formatProbe } from '../../src/rtsp/probe.js';
import { needPeer } from '../support/peer.js';
import { gstRtspProblem, startGstRtspServer } from './gst-rtsp.js';
import { selfSigned } from '../rtsp/helpers.js';

const cases = [
  { name: 'UDP', protocols: 'udp' as const, transport: 'udp' as const, tls: false },
  { name: 'TCP interleaved', protocols: 'tcp' as const, transport: 'tcp' as const, tls: false },
  { name: 'rtsps, certificate verified', protocols: 'udp' as const, transport: 'udp' as const, tls: true },
];

for (const c of cases) {
  test(`gst-rtsp-server camera, ${c.name}: every packet of the pattern authenticated and decrypted; re-key reported`, { timeout: 30_000 }, async (t) => {
    if (!needPeer(t, 'gst-rtsp-server', gstRtspProblem())) return;
    const dir = mkdtempSync(join(tmpdir(), 'mikey-gst-probe-'));
    const cert = selfSigned();
    const pem = join(dir, 'both.pem');
    writeFileSync(pem, cert.cert + cert.key);
    const server = await startGstRtspServer({ keySalt: new Uint8Array(randomBytes(30)), lifetimeS: 25, wave: 'silence', protocols: c.protocols, tlsPem: c.tls ? pem : undefined });
    try {
      const url = `${c.tls ? 'rtsps' : 'rtsp'}://127.0.0.1:${server.port}/test`;
      const r = await probe(url, { profile: 'gstreamer', transport: c.transport, packets: 50, rekeyAfter: 20, capture: true, waitMs: 15_000, tls: c.tls ? { ca: cert.cert } : undefined });
      const s = r.streams[0];
      assert.ok(s, formatProbe(r));
      assert.equal(s.codec, 'PCMU/8000');
      assert.equal(s.keyManagement, 'server');
      assert.ok(s.srtp.received >= 50, formatProbe(r));
      assert.equal(s.srtp.failed, 0, formatProbe(r));
      assert.equal(s.srtp.authenticated, s.srtp.received);
      assert.equal(s.missing, 0);
      assert.deepEqual(r.quirks.map((q) => q.quirk), ['tag-length-as-auth-key-length']);
      // the pattern: 160 bytes of mu-law silence per packet
      const rtp = r.records.filter((x) => (x.payload[1]! & 0x7f) === 0 && x.payload.length > 12);
      assert.ok(rtp.length >= 50);
      for (const p of rtp) assert.ok(p.payload.subarray(12).every((b) => b === 0xff), 'mu-law silence');
      // the re-key: applied (200) or refused by this version (451), never silently
      assert.ok(s.rekeys === 1 || r.problems.some((p) => /re-key of stream 0: SET_PARAMETER: 451/.test(p)), formatProbe(r));
      if (c.tls) assert.ok(!r.notes.some((n) => /without certificate verification/.test(n)));
      else assert.ok(r.notes.some((n) => n.startsWith('plain channel')));
    } finally {
      await server.stop();
      server.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
