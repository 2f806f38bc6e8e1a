// Our client against our server for every vendor profile, both key-management modes, RTP over
// UDP and interleaved on TCP, with a re-key mid-stream across a sequence-number wrap: every
// packet authenticates, none is lost to keying, the ROC goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RTSP_PROFILE_NAMES, RTSP_PROFILES, profileDeviations } from '../../src/rtsp/profiles.js';
import { RtspKeyManagementError } from '../../src/rtsp/client.js';
import { run, selfSigned } from './helpers.js';

for (const name of RTSP_PROFILE_NAMES) {
  const p = RTSP_PROFILES[name];
  for (const keyMgmt of ['server', 'client'] as const) {
    for (const transport of ['udp', 'tcp'] as const) {
      test(`${name}: ${keyMgmt}-managed keys over ${transport}${p.requireTls ? ' (rtsps)' : ''}, re-key mid-stream`, { timeout: 15_000 }, async () => {
        const tls = p.requireTls ? selfSigned() : undefined;
        const go = () => run({ profile: name, tls }, { profile: name, keyMgmt, transport, tls: tls ? { ca: tls.cert } : undefined }, { packets: 40, rekeyAfter: 20 });
        if (keyMgmt === 'client' && p.clientKeyFor === 'rtcp') {
          await assert.rejects(go(), (e: unknown) => e instanceof RtspKeyManagementError && /protects only its SRTCP/.test(e.message));
          return;
        }
        if (keyMgmt === 'server' && p.requireClientKey) {
          await assert.rejects(go(), (e: unknown) => e instanceof RtspKeyManagementError && /no a=key-mgmt:mikey in DESCRIBE/.test(e.message));
          return;
        }
        const r = await go();
        assert.equal(r.keyMode, keyMgmt);
        assert.equal(r.stats.rtp.failed, 0, r.stats.firstError);
        assert.ok(r.stats.rtp.authenticated >= 40);
        assert.equal(r.stats.missing, 0, 'no packet lost to keying');
        assert.equal(r.stats.roc, 1, 'the ROC went on across the wrap (sequence numbers from 65520)');
        assert.ok(r.payloadsChecked >= 40);
        assert.equal(r.stats.mkis.length, p.mkiLength ? 2 : 0, `MKIs seen: ${r.stats.mkis.join(', ')}`);
        assert.ok(r.stats.rtcp.authenticated >= 1 && r.stats.rtcp.failed === 0, 'SRTCP from the server');
        assert.equal(r.server.stats.rekeys, 1);
        assert.ok(r.server.stats.rtcpAuthenticated >= 1, 'our SRTCP authenticated at the server');
        if (!p.requireTls) assert.ok(r.notes.some((n) => n.startsWith('plain channel')), 'a plain channel is reported');
        if (keyMgmt === 'server') assert.deepEqual(r.quirks, [...p.lenient], 'the field quirks of the profile are reported');
      });
    }
  }
}

test('every profile says where it comes from; deviations from ONVIF are listed', () => {
  for (const name of RTSP_PROFILE_NAMES) {
    const p = RTSP_PROFILES[name];
    assert.ok(p.source.length > 40, name);
    const d = profileDeviations(p);
    if (name === 'onvif') assert.deepEqual(d, []);
    else assert.ok(d.length >= 1, name);
  }
  assert.ok(profileDeviations(RTSP_PROFILES.gstreamer).some((d) => /no MKI/.test(d)));
});
