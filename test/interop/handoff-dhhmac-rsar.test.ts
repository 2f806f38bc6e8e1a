// The SRTP hand-off after DH-HMAC (RFC 4650) and RSA-R (RFC 4738), end to end: libsrtp protects
// RTP and RTCP with one side's keys and unprotects them with the other's (and the other way
// round), for several profiles, with an MKI and non-zero ROCs; RSA-R in unicast and group mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DhHmacInitiator, DhHmacResponder } from '../../src/modes/dhhmac.js';
import { RsaRInitiator, RsaRResponder } from '../../src/modes/rsar.js';
import { uriIdentity } from '../../src/modes/common.js';
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

/** libsrtp: what `a` protects, `b` unprotects (RTP and SRTCP), and RTP the other way round. */
async function checkBothWays(a: CryptoSessionBundle, b: CryptoSessionBundle, profiles: number): Promise<void> {
  const ca = srtpContexts(a);
  const cb = srtpContexts(b);
  assert.equal(ca.length, cb.length);
  assert.equal(new Set(ca.map((c) => c.profile)).size, profiles);
  const spec = (c: SrtpContext) => ({ profile: c.profile as LibsrtpProfile, masterKey: c.masterKey, masterSalt: c.masterSalt, ssrc: c.ssrc, roc: c.roc, mki: c.mki });
  // libsrtp 2.5 looks for an SRTCP MKI after the SRTP tag length (see handoff.test.ts): without the MKI there
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

test('SRTP hand-off through libsrtp after DH-HMAC (initial and re-keyed) and RSA-R (unicast, update, group)', async (t) => {
  if (!needPeer(t, 'libsrtp', srtpProblem())) return;
  await buildSrtpDriver();
  const psk = new Uint8Array(16).fill(0x3c);
  const alice = uriIdentity('sip:alice@example.org');
  const bob = uriIdentity('sip:bob@example.org');
  const di = new DhHmacInitiator({ psk, idi: alice, idr: bob, clock });
  const dr = new DhHmacResponder({ psk, idr: bob, clock });
  const got = await dr.receive(di.createOffer({ sessions: SESSIONS, group: 'OAKLEY-2', mki: Uint8Array.of(0, 0, 0, 9) }));
  await checkBothWays(di.receiveResponse(got.response), got.bundle, 5);
  const again = await dr.receive(di.createUpdate({ mki: Uint8Array.of(0, 0, 0, 10) }));
  await checkBothWays(di.receiveResponse(again.response), again.bundle, 5);

  const a = { privateKey: pki('alice.key'), certificate: pki('alice.pem'), trustAnchors: [pki('ca.pem')], clock };
  const b = { privateKey: pki('bob.key'), certificate: pki('bob.pem'), trustAnchors: [pki('ca.pem')], clock };
  const ri = new RsaRInitiator(a);
  const rr = new RsaRResponder({ ...b, keys: [{ mki: Uint8Array.of(0, 0, 0, 7) }] });
  const ans = await rr.receive(ri.createRequest({ sessions: SESSIONS }));
  await checkBothWays((await ri.receiveResponse(ans.response)).bundle, ans.bundle, 5);
  const up = await rr.receive(ri.createUpdate());
  await checkBothWays((await ri.receiveResponse(up.response)).bundle, up.bundle, 5);

  const server = new RsaRResponder({ ...b, group: { sessions: SESSIONS.slice(0, 4), keys: [{ mki: Uint8Array.of(0, 0, 0, 1) }] } });
  for (const member of [new RsaRInitiator(a), new RsaRInitiator({ ...a, scheme: 'pss' })]) {
    const g = await server.receive(member.createRequest({ group: true }));
    await checkBothWays((await member.receiveResponse(g.response)).bundle, server.groupBundle!, 4);
  }
});
