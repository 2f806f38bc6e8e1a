// What the SRTP hand-off tests share: crypto sessions of five profiles, RTP/RTCP packets, and
// the libsrtp check that one side's keys protect what the other side's unprotect.
import assert from 'node:assert/strict';
import { srtpContexts, type CryptoSessionBundle, type SrtpContext } from '../../src/session/bundle.js';
import { libsrtpBatch, type LibsrtpProfile, type SrtpRequest } from './srtp.js';

/** SESSIONS include a 32-bit tag profile: the responders opt in below the default minimum policy. */
export const SHORT_TAGS = { minimumPolicy: { minTagLength: 4 } };
export const SESSIONS = [
  { ssrc: 0x11223344, roc: 0, profile: 'AES_CM_128_HMAC_SHA1_80' as const },
  { ssrc: 0x55667788, roc: 3, profile: 'AES_CM_128_HMAC_SHA1_32' as const },
  { ssrc: 0x0badcafe, roc: 0x10000, profile: 'AES_256_CM_HMAC_SHA1_80' as const },
  { ssrc: 0x00c0ffee, roc: 1, profile: 'AEAD_AES_128_GCM' as const },
  { ssrc: 0x0000beef, roc: 2, profile: 'AEAD_AES_256_GCM' as const },
];

export function rtp(ssrc: number, seq: number): Uint8Array {
  const p = new Uint8Array(12 + 40);
  const v = new DataView(p.buffer);
  v.setUint8(0, 0x80); v.setUint8(1, 96); v.setUint16(2, seq); v.setUint32(4, 1234 * seq); v.setUint32(8, ssrc);
  for (let i = 12; i < p.length; i++) p[i] = (i * 7 + seq) & 0xff;
  return p;
}
export function rtcp(ssrc: number): Uint8Array {
  // a sender report with no report blocks
  const p = new Uint8Array(28);
  const v = new DataView(p.buffer);
  v.setUint8(0, 0x80); v.setUint8(1, 200); v.setUint16(2, 6); v.setUint32(4, ssrc);
  for (let i = 8; i < 28; i++) p[i] = i;
  return p;
}

/** libsrtp: what `a` protects, `b` unprotects (RTP and SRTCP), and RTP the other way round. */
export async function checkBothWays(a: CryptoSessionBundle, b: CryptoSessionBundle, profiles?: number): Promise<void> {
  const ca = srtpContexts(a);
  const cb = srtpContexts(b);
  assert.equal(ca.length, cb.length);
  if (profiles !== undefined) assert.equal(new Set(ca.map((c) => c.profile)).size, profiles);
  const spec = (c: SrtpContext) => ({ profile: c.profile as LibsrtpProfile, masterKey: c.masterKey, masterSalt: c.masterSalt, ssrc: c.ssrc, roc: c.roc, mki: c.mki });
  // libsrtp 2.5 looks for an SRTCP MKI after the SRTP tag length (so with AES_CM_128_HMAC_SHA1_32
  // it rejects even its own SRTCP packets that carry an MKI): those keys are checked without the MKI
  const rtcpSpec = (c: SrtpContext) => (c.profile === 'AES_CM_128_HMAC_SHA1_32' ? { ...spec(c), mki: undefined } : spec(c));
  const protect: SrtpRequest[] = [];
  ca.forEach((c, i) => {
    assert.ok(c.profile, 'a named profile');
    protect.push({ op: 'rtp-protect', ...spec(c), packet: rtp(c.ssrc, 100 + i) }, { op: 'rtcp-protect', ...rtcpSpec(c), packet: rtcp(c.ssrc) });
    protect.push({ op: 'rtp-protect', ...spec(cb[i]!), packet: rtp(c.ssrc, 200 + i) });
  });
  const out = await libsrtpBatch(protect);
  const unprotect: SrtpRequest[] = [];
  ca.forEach((c, i) => {
    const [r, rc, back] = [out[3 * i]!, out[3 * i + 1]!, out[3 * i + 2]!];
    assert.ok(r.ok && rc.ok && back.ok, `protect ${c.profile}`);
    unprotect.push({ op: 'rtp-unprotect', ...spec(cb[i]!), packet: r.packet }, { op: 'rtcp-unprotect', ...rtcpSpec(cb[i]!), packet: rc.packet }, { op: 'rtp-unprotect', ...spec(c), packet: back.packet });
  });
  const res = await libsrtpBatch(unprotect);
  ca.forEach((c, i) => {
    const [r, rc, back] = [res[3 * i]!, res[3 * i + 1]!, res[3 * i + 2]!];
    assert.ok(r.ok, `${c.profile}: the other side's keys unprotect the RTP`);
    assert.deepEqual(r.ok && r.packet, rtp(c.ssrc, 100 + i));
    assert.ok(rc.ok, `${c.profile}: SRTCP`);
    assert.deepEqual(rc.ok && rc.packet, rtcp(c.ssrc));
    assert.ok(back.ok, `${c.profile}: the other way round`);
  });
}
