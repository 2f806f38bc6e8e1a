// The SRTP hand-off, end to end: after each RFC 3830 method, libsrtp protects RTP and RTCP with
// the initiator's keys and unprotects them with the responder's (and the other way round),
// for several profiles, with an MKI and a non-zero ROC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PskInitiator, PskResponder } from '../../src/modes/psk.js';
import { PkInitiator, PkResponder } from '../../src/modes/pke.js';
import { DhInitiator, DhResponder } from '../../src/modes/dh.js';
import { srtpContexts, type CryptoSessionBundle, type SrtpContext } from '../../src/session/bundle.js';
import { needPeer } from '../support/peer.js';
import { buildSrtpDriver, libsrtpBatch, srtpProblem, type LibsrtpProfile, type SrtpRequest } from './srtp.js';

const pki = (f: string) => readFileSync(join(process.cwd(), 'test', 'fixtures', 'pki', f), 'utf8');
const T0 = Date.UTC(2027, 0, 15, 12);
const clock = { now: () => T0 };
const SESSIONS = [
  { ssrc: 0x11223344, roc: 0, profile: 'AES_CM_128_HMAC_SHA1_80' as const },
  { ssrc: 0x55667788, roc: 3, profile: 'AES_CM_128_HMAC_SHA1_32' as const },
  { ssrc: 0x0badcafe, roc: 0x10000, profile: 'AES_256_CM_HMAC_SHA1_80' as const },
  { ssrc: 0x00c0ffee, roc: 1, profile: 'AEAD_AES_128_GCM' as const },
  { ssrc: 0x0000beef, roc: 2, profile: 'AEAD_AES_256_GCM' as const },
];

function rtp(ssrc: number, seq: number): Uint8Array {
  const p = new Uint8Array(12 + 40);
  const v = new DataView(p.buffer);
  v.setUint8(0, 0x80); v.setUint8(1, 96); v.setUint16(2, seq); v.setUint32(4, 1234 * seq); v.setUint32(8, ssrc);
  for (let i = 12; i < p.length; i++) p[i] = (i * 7 + seq) & 0xff;
  return p;
}
function rtcp(ssrc: number): Uint8Array {
  // a sender report with no report blocks
  const p = new Uint8Array(28);
  const v = new DataView(p.buffer);
  v.setUint8(0, 0x80); v.setUint8(1, 200); v.setUint16(2, 6); v.setUint32(4, ssrc);
  for (let i = 8; i < 28; i++) p[i] = i;
  return p;
}

async function checkBothWays(a: CryptoSessionBundle, b: CryptoSessionBundle): Promise<void> {
  const ca = srtpContexts(a);
  const cb = srtpContexts(b);
  assert.equal(ca.length, cb.length);
  const spec = (c: SrtpContext) => ({ profile: c.profile as LibsrtpProfile, masterKey: c.masterKey, masterSalt: c.masterSalt, ssrc: c.ssrc, roc: c.roc, mki: c.mki });
  // libsrtp 2.5 looks for an SRTCP MKI after the SRTP tag length, so with AES_CM_128_HMAC_SHA1_32
  // it rejects even its own SRTCP packets that carry an MKI: check those keys without the MKI
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
    assert.ok(r.ok, `${c.profile}: responder's keys unprotect the initiator's RTP`);
    assert.deepEqual(r.ok && r.packet, rtp(c.ssrc, 100 + i));
    assert.ok(rc.ok, `${c.profile}: SRTCP`);
    assert.deepEqual(rc.ok && rc.packet, rtcp(c.ssrc));
    assert.ok(back.ok, `${c.profile}: the other way round`);
  });
}

test('SRTP hand-off through libsrtp after PSK, public-key and DH exchanges', async (t) => {
  if (!needPeer(t, 'libsrtp', srtpProblem())) return;
  await buildSrtpDriver();
  const psk = new Uint8Array(16).fill(3);
  const keys = [{ mki: Uint8Array.of(0, 0, 0, 7) }];
  const pi = new PskInitiator({ psk, clock });
  const po = pi.createOffer({ sessions: SESSIONS, keys });
  await checkBothWays(po.bundle, (await new PskResponder({ psk, clock }).receive(po.bytes)).bundle);

  const alice = { privateKey: pki('alice.key'), certificate: pki('alice.pem') };
  const bob = { privateKey: pki('bob.key'), certificate: pki('bob.pem') };
  const ki = new PkInitiator({ ...alice, responderKey: bob.certificate, clock });
  const ko = ki.createOffer({ sessions: SESSIONS, keys });
  await checkBothWays(ko.bundle, (await new PkResponder({ ...bob, trustAnchors: [pki('ca.pem')], clock }).receive(ko.bytes)).bundle);

  const di = new DhInitiator({ ...alice, trustAnchors: [pki('ca.pem')], clock });
  const got = await new DhResponder({ ...bob, trustAnchors: [pki('ca.pem')], clock }).receive(di.createOffer({ sessions: SESSIONS, group: 'OAKLEY-2', mki: Uint8Array.of(9) }));
  await checkBothWays(di.receiveResponse(got.response), got.bundle);
});
