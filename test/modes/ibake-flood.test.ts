// MIKEY-IBAKE against unauthenticated input: I_MESSAGE_1 is authenticated by nothing, so its SP
// payloads cannot be trusted (downgrade), and anyone can make the responder work and wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { IbakeInitiator, IbakeResponder } from '../../src/modes/ibake/index.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { encodeMessage } from '../../src/wire/encode.js';
import { ErrorNo } from '../../src/wire/registry.js';
import { policyParamsForProfile } from '../../src/session/policy.js';
import { alice, bob, carol, clockAt, rejects, sameKeys, T0, testKms } from './ibake-support.js';

const kms = testKms();
const SESSIONS = [{ ssrc: 0x11111111 }];
const offerFrom = (idi = alice) => new IbakeInitiator({ idi, keys: kms.ring(idi), clock: clockAt(T0) });

test('SP downgrade by a man in the middle: NULL_HMAC_SHA1_32 in I_MESSAGE_1 is refused (Invalid SPpar) before any work or state', async () => {
  const res = new IbakeResponder({ keys: kms.ring(bob), clock: clockAt(T0) });
  for (const profile of ['NULL_HMAC_SHA1_32', 'AES_CM_128_HMAC_SHA1_32', 'NULL_HMAC_SHA1_80'] as const) {
    const m = decodeMessage(offerFrom().createOffer({ idr: bob, sessions: SESSIONS }));
    const sp = m.payloads.find((p) => p.type === 10)!;
    Object.assign(sp, { params: policyParamsForProfile(profile), paramBytes: undefined });
    const e = await rejects(res.receive(encodeMessage(m)), ErrorNo.InvalidSpPar);
    assert.match(e.message, /minimum policy/);
  }
  assert.equal(res.pendingCount, 0);
  // opted in, the weak policy is used, and the initiator still checks the echo under V
  const lax = new IbakeResponder({ keys: kms.ring(bob), clock: clockAt(T0), minimumPolicy: { minTagLength: 4 } });
  const ini = offerFrom();
  const r1 = await lax.receive(ini.createOffer({ idr: bob, sessions: [{ ssrc: 1, profile: 'AES_CM_128_HMAC_SHA1_32' }] }));
  const r2 = await lax.receive(ini.receiveResponse(r1.response).bytes);
  sameKeys(ini.receiveVerification(r2.response), r2.bundle!);
});

test('a flood of I_MESSAGE_1 under one claimed identity, or reusing alice\'s CSB ID, does not evict alice\'s exchange; bounds hold', async () => {
  const res = new IbakeResponder({ keys: kms.ring(bob), clock: clockAt(T0), maxPendingPerPeer: 3, maxPending: 6 });
  const a = offerFrom();
  const m1 = a.createOffer({ idr: bob, sessions: SESSIONS, csbId: 0xc5b })
  const r1 = await res.receive(m1);
  // carol (any sender can claim to be her) floods, some with alice's CSB ID
  for (let i = 0; i < 8; i++) await res.receive(offerFrom(carol).createOffer({ idr: bob, sessions: SESSIONS, csbId: i % 2 ? 0xc5b : undefined }));
  assert.equal(res.pendingCount, 4, 'carol holds her 3, alice her 1');
  const r2 = await res.receive(a.receiveResponse(r1.response).bytes);
  sameKeys(a.receiveVerification(r2.response), r2.bundle!);
  assert.equal(res.pendingCount, 3);
});

test('rate limit per source: beyond it, messages are dropped unanswered before any pairing', async () => {
  let now = T0;
  const res = new IbakeResponder({ keys: kms.ring(bob), clock: { now: () => now }, rateLimit: { perSecond: 2, burst: 2 } });
  const msgs = Array.from({ length: 4 }, () => offerFrom().createOffer({ idr: bob, sessions: SESSIONS }));
  await res.receive(msgs[0]!, { source: '192.0.2.1' });
  await res.receive(msgs[1]!, { source: '192.0.2.1' });
  const t0 = performance.now();
  const e = await rejects(res.receive(msgs[2]!, { source: '192.0.2.1' }), ErrorNo.Unspecified);
  const dropMs = performance.now() - t0;
  assert.equal(e.response, undefined, 'nothing is sent back');
  assert.equal(res.pendingCount, 2);
  // another source is not affected, and the source gets tokens back with time
  await res.receive(msgs[2]!, { source: '192.0.2.2' });
  now += 1000;
  await res.receive(msgs[3]!, { source: '192.0.2.1' });
  assert.ok(dropMs < 50, `a drop costs ${dropMs.toFixed(2)} ms`);
});

test('cost ratio: what an unauthenticated I_MESSAGE_1 costs the responder against what it cost the sender', async () => {
  const res = new IbakeResponder({ keys: kms.ring(bob), clock: clockAt(T0) });
  const sender: number[] = [];
  const responder: number[] = [];
  for (let i = 0; i < 7; i++) {
    let t = performance.now();
    const m = offerFrom().createOffer({ idr: bob, sessions: SESSIONS });
    sender.push(performance.now() - t);
    t = performance.now();
    await res.receive(m);
    responder.push(performance.now() - t);
  }
  const median = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1]!;
  const ratio = median(responder) / median(sender);
  // the responder decrypts (a pairing), makes an EC-DH key and encrypts back (a pairing): about
  // twice the sender's one encryption (docs/security.md); never an order of magnitude more
  assert.ok(ratio < 5, `responder ${median(responder).toFixed(2)} ms, sender ${median(sender).toFixed(2)} ms: ratio ${ratio.toFixed(2)}`);
});
