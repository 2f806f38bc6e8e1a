// Attacks on a MIKEY-IBAKE responder (RFC 6267) written as an outsider would: only the package by
// name. I_MESSAGE_1 is authenticated by nothing, so a man in the middle can rewrite its SP
// payloads (downgrade), anyone can make the responder work and wait (state and cost), and anyone
// can name another initiator's CSB ID. Findings 1 (IBAKE), 2 and 4 of the security review
// (docs/security.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IbakeInitiator, IbakeResponder, MikeyProtocolError, ErrorNo, decodeMessage, encodeMessage, policyParamsForProfile, srtpContexts, uriIdentity,
  type CryptoSessionBundle, type Identity,
} from 'mikey';
import { bfExtractPriv, bfSetup, type1Curve } from 'mikey/crypto';
import { DEFAULT_KEY_PERIOD, IbakeKeyRing, ibeIdentity, keyPeriodOf, staticDomain } from 'mikey/ibake';
import { cpuMs, median, refused } from './support.js';

// a KMS on the RFC 5091 §7 curve (small and fast: these tests are about protocol logic)
const curve = type1Curve(
  0xa6a0ffd016103ffffffffff595f002fe9ef195f002fe9efbn,
  0xffffffffffffffffffffffeffffffffffffn,
  { x: 0x6924c354256acf5a0ff7f61be4f0495b54540a5bf6395b3dn, y: 0x024fd8e2eb7c09104bca116f41c035219955237c0eac19abn },
);
const { params, s } = bfSetup(curve, 'sha1');
const domain = staticDomain(params);
const T0 = Date.UTC(2027, 0, 15, 12);
const PERIOD = keyPeriodOf(T0, DEFAULT_KEY_PERIOD);
const clock = { now: () => T0 };
function ring(id: Identity): IbakeKeyRing {
  const r = new IbakeKeyRing(domain);
  r.add(id, PERIOD, bfExtractPriv(params, s, ibeIdentity(id, PERIOD, domain.period)));
  return r;
}
const alice = uriIdentity('sip:alice@example.org');
const bob = uriIdentity('sip:bob@example.org');
const carol = uriIdentity('sip:carol@example.org');
const rings = new Map([alice, bob, carol].map((id) => [id, ring(id)]));
const SESSIONS = [{ ssrc: 0x11111111 }];
const initiator = (idi = alice) => new IbakeInitiator({ idi, keys: rings.get(idi)!, clock });
const responder = (o: Partial<ConstructorParameters<typeof IbakeResponder>[0]> = {}) => new IbakeResponder({ keys: rings.get(bob)!, clock, ...o });
const keysOf = (b: CryptoSessionBundle) => JSON.stringify(srtpContexts(b).map((c) => [Buffer.from(c.masterKey).toString('hex'), Buffer.from(c.masterSalt).toString('hex')]));

/** A whole exchange; the keys of both sides must agree. */
async function exchange(ini: IbakeInitiator, res: IbakeResponder, csbId?: number): Promise<CryptoSessionBundle> {
  const r1 = await res.receive(ini.createOffer({ idr: bob, sessions: SESSIONS, ...(csbId !== undefined ? { csbId } : {}) }).bytes);
  const r2 = await res.receive(ini.receiveResponse(r1.response).bytes);
  const mine = ini.receiveVerification(r2.response);
  assert.equal(keysOf(mine), keysOf(r2.bundle!));
  return mine;
}

test('SP downgrade by a man in the middle: I_MESSAGE_1 rewritten to NULL_HMAC_SHA1_32 (and other weak policies) is refused with Invalid SPpar, before any work or state', async () => {
  const res = responder();
  for (const profile of ['NULL_HMAC_SHA1_32', 'AES_CM_128_HMAC_SHA1_32', 'NULL_HMAC_SHA1_80'] as const) {
    const m = decodeMessage(initiator().createOffer({ idr: bob, sessions: SESSIONS }).bytes);
    const sp = m.payloads.find((p) => p.type === 10);
    assert.ok(sp && sp.type === 10);
    Object.assign(sp, { params: policyParamsForProfile(profile), paramBytes: undefined });
    const e = await refused(res.receive(encodeMessage(m)), ErrorNo.InvalidSpPar);
    assert.match(e.message, /minimum policy/);
  }
  assert.equal(res.pendingCount, 0, 'no pending exchange for a refused offer');
  // a downgrade within the minimum (a responder configured for 32-bit tags) is caught by the
  // initiator: the responder echoes the SPs it used under V (R_MESSAGE_2)
  const lax = responder({ minimumPolicy: { minTagLength: 4 } });
  const ini = initiator();
  const m = decodeMessage(ini.createOffer({ idr: bob, sessions: SESSIONS }).bytes);
  const sp = m.payloads.find((p) => p.type === 10)!;
  Object.assign(sp, { params: policyParamsForProfile('AES_CM_128_HMAC_SHA1_32'), paramBytes: undefined });
  const r1 = await lax.receive(encodeMessage(m));
  const r2 = await lax.receive(ini.receiveResponse(r1.response).bytes);
  assert.throws(() => ini.receiveVerification(r2.response), (e: unknown) => e instanceof MikeyProtocolError && e.errorNo === ErrorNo.InvalidSp);
});

test('CSB ID reuse and a flood under one claimed identity do not displace alice\'s exchange; pending exchanges stay bounded per claimed peer and overall', async () => {
  const res = responder({ maxPendingPerPeer: 3, maxPending: 6 });
  const a = initiator();
  const r1 = await res.receive(a.createOffer({ idr: bob, sessions: SESSIONS, csbId: 0xc5b }).bytes);
  // anyone may claim to be carol; half of these name alice's CSB ID
  for (let i = 0; i < 10; i++) await res.receive(initiator(carol).createOffer({ idr: bob, sessions: SESSIONS, ...(i % 2 ? { csbId: 0xc5b } : {}) }).bytes);
  assert.equal(res.pendingCount, 4, 'carol holds 3, alice 1');
  const r2 = await res.receive(a.receiveResponse(r1.response).bytes);
  assert.equal(keysOf(a.receiveVerification(r2.response)), keysOf(r2.bundle!));
  // carol (really holding her key) under alice's CSB ID gets her own exchange, other keys
  const c = await exchange(initiator(carol), responder(), 0xc5b);
  assert.notEqual(keysOf(c), keysOf(r2.bundle!));
});

test('unauthenticated state: a copy of an I_MESSAGE_1 is answered the same without new state; an unanswered flood of made-up exchanges keeps at most maxPending', async () => {
  const res = responder({ maxPending: 5, maxPendingPerPeer: 5 });
  const m1 = initiator().createOffer({ idr: bob, sessions: SESSIONS });
  const first = await res.receive(m1.bytes);
  const again = await res.receive(m1.bytes);
  assert.deepEqual(Buffer.from(again.response), Buffer.from(first.response));
  assert.equal(res.pendingCount, 1);
  for (let i = 0; i < 12; i++) await res.receive(initiator().createOffer({ idr: bob, sessions: SESSIONS }).bytes);
  assert.equal(res.pendingCount, 5);
  // a real exchange still completes
  await exchange(initiator(carol), res);
});

test('rate limit per source: beyond it, I_MESSAGE_1 are dropped unanswered before any pairing', async () => {
  let now = T0;
  const res = new IbakeResponder({ keys: rings.get(bob)!, clock: { now: () => now }, rateLimit: { perSecond: 2, burst: 2 } });
  const msgs = Array.from({ length: 4 }, () => initiator().createOffer({ idr: bob, sessions: SESSIONS }));
  await res.receive(msgs[0]!.bytes, { source: '192.0.2.1' });
  await res.receive(msgs[1]!.bytes, { source: '192.0.2.1' });
  const t0 = cpuMs();
  const e = await refused(res.receive(msgs[2]!.bytes, { source: '192.0.2.1' }), ErrorNo.Unspecified);
  const dropMs = cpuMs() - t0;
  assert.equal(e.response, undefined, 'nothing is sent back');
  assert.equal(res.pendingCount, 2);
  await res.receive(msgs[2]!.bytes, { source: '192.0.2.2' });
  now += 1000;
  await res.receive(msgs[3]!.bytes, { source: '192.0.2.1' });
  assert.ok(dropMs < 50, `a drop costs ${dropMs.toFixed(2)} ms`);
});

test('cost: an unauthenticated I_MESSAGE_1 costs the responder a small multiple of what it cost its sender', async (t) => {
  const res = responder();
  const sender: number[] = [];
  const work: number[] = [];
  for (let i = 0; i < 7; i++) {
    let t0 = cpuMs();
    const m = initiator().createOffer({ idr: bob, sessions: SESSIONS });
    sender.push(cpuMs() - t0);
    t0 = cpuMs();
    await res.receive(m.bytes);
    work.push(cpuMs() - t0);
  }
  const ratio = median(work) / median(sender);
  t.diagnostic(`responder ${median(work).toFixed(2)} ms, sender ${median(sender).toFixed(2)} ms: ratio ${ratio.toFixed(2)}`);
  assert.ok(ratio < 5, `ratio ${ratio.toFixed(2)}`);
});
