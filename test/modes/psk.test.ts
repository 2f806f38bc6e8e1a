import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PskInitiator, PskResponder, buildKemacMessage } from '../../src/modes/psk/index.js';
import { header, keyDataPayloads, tNow } from '../../src/modes/kit/common.js';
import { uriIdentity } from '../../src/session/identity.js';
import { deriveMessageKeys } from '../../src/crypto/prf.js';
import { MikeyErrorMessage, MikeyProtocolError } from '../../src/session/errors.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { ErrorNo, DataType } from '../../src/wire/registry.js';
import type { CryptoSessionBundle } from '../../src/session/bundle.js';
import { rejects } from '../support/refusal.js';

const psk = Uint8Array.from(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
const alice = uriIdentity('sip:alice@example.org');
const bob = uriIdentity('sip:bob@example.org');
const T0 = Date.UTC(2026, 10, 27, 12);
const clockAt = (ms: number) => ({ now: () => ms });

function sameKeys(a: CryptoSessionBundle, b: CryptoSessionBundle): void {
  assert.equal(a.csbId, b.csbId);
  assert.equal(a.sessions.length, b.sessions.length);
  a.sessions.forEach((s, i) => {
    const r = b.sessions[i]!;
    assert.deepEqual([s.csId, s.ssrc, s.roc, s.profile], [r.csId, r.ssrc, r.roc, r.profile]);
    assert.deepEqual(s.keys.map((k) => [Buffer.from(k.masterKey).toString('hex'), Buffer.from(k.masterSalt).toString('hex'), k.mki && Buffer.from(k.mki).toString('hex')]),
      r.keys.map((k) => [Buffer.from(k.masterKey).toString('hex'), Buffer.from(k.masterSalt).toString('hex'), k.mki && Buffer.from(k.mki).toString('hex')]));
  });
}


for (const algs of [
  { prf: 'MIKEY-1', encrAlg: 'AES-CM-128', macAlg: 'HMAC-SHA-1-160' },
  { prf: 'PRF-HMAC-SHA-256', encrAlg: 'AES-CM-256', macAlg: 'HMAC-SHA-256-256' },
  { prf: 'MIKEY-1', encrAlg: 'AES-KW-128', macAlg: 'HMAC-SHA-1-160' },
] as const) {
  test(`PSK exchange with ${algs.encrAlg}/${algs.macAlg}/${algs.prf}: several crypto sessions, verification message`, async () => {
    const ini = new PskInitiator({ psk, idi: alice, idr: bob, clock: clockAt(T0), ...algs });
    // one session uses 32-bit tags: opted in below the default minimum policy
    const res = new PskResponder({ psk, idr: bob, clock: clockAt(T0 + 1500), minimumPolicy: { minTagLength: 4 } });
    const offer = ini.createOffer({
      verify: true,
      sessions: [{ ssrc: 0x11111111 }, { ssrc: 0x22222222, roc: 7, profile: 'AES_CM_128_HMAC_SHA1_32' }, { ssrc: 0x33333333, profile: 'AEAD_AES_128_GCM' }],
      keys: [{ mki: Uint8Array.of(0, 0, 0, 1) }],
    });
    const got = await res.receive(offer.bytes);
    sameKeys(offer.bundle, got.bundle);
    assert.deepEqual(got.bundle.sessions.map((s) => s.profile), ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32', 'AEAD_AES_128_GCM']);
    assert.deepEqual(got.bundle.sessions.map((s) => [s.keys[0]!.masterKey.length, s.keys[0]!.masterSalt.length]), [[16, 14], [16, 14], [16, 12]]);
    assert.equal(got.bundle.sessions[1]!.roc, 7);
    // each crypto session gets its own TEK (cs_id is in the label)
    assert.notDeepEqual(got.bundle.sessions[0]!.keys[0]!.masterKey, got.bundle.sessions[1]!.keys[0]!.masterKey);
    assert.ok(got.response);
    assert.equal(decodeMessage(got.response).header.dataType, DataType.PskVerification);
    sameKeys(ini.receiveResponse(got.response), got.bundle);
  });
}

test('PSK without verification message, and a group: one CSB ID, RAND and TGK to three members (RFC 3830 §8.1)', async () => {
  const ini = new PskInitiator({ psk, clock: clockAt(T0) });
  const rand = Uint8Array.from(Buffer.alloc(16, 7));
  const tgk = Uint8Array.from(Buffer.alloc(16, 9));
  const bundles = [];
  for (let i = 0; i < 3; i++) {
    const offer = ini.createOffer({ csbId: 0xabc, rand, keys: [{ key: tgk }], sessions: [{ ssrc: 0x5000 }] });
    const got = await new PskResponder({ psk, clock: clockAt(T0) }).receive(offer.bytes);
    assert.equal(got.response, undefined);
    sameKeys(offer.bundle, got.bundle);
    bundles.push(got.bundle);
  }
  sameKeys(bundles[0]!, bundles[1]!);
  sameKeys(bundles[0]!, bundles[2]!);
});

test('CSB update: same CSB ID, no RAND; adding a crypto session keeps the keys, a new TGK replaces them', async () => {
  let now = T0;
  const clock = { now: () => now };
  const ini = new PskInitiator({ psk, clock });
  const res = new PskResponder({ psk, clock });
  const first = await res.receive(ini.createOffer({ sessions: [{ ssrc: 1 }], verify: true }).bytes);
  now += 1000;
  const up = ini.createUpdate({ sessions: [{ ssrc: 1 }, { ssrc: 2 }], verify: true });
  assert.equal(decodeMessage(up.bytes).payloads.some((p) => p.type === 11), false, 'an update carries no RAND');
  const got = await res.receive(up.bytes);
  assert.equal(got.update, true);
  sameKeys(up.bundle, got.bundle);
  sameKeys(ini.receiveResponse(got.response!), got.bundle);
  assert.deepEqual(got.bundle.sessions[0]!.keys[0]!.masterKey, first.bundle.sessions[0]!.keys[0]!.masterKey, 'unchanged TGK, same TEK');
  now += 1000;
  const rekey = await res.receive(ini.createUpdate({ keys: [{ mki: Uint8Array.of(2) }] }).bytes);
  assert.notDeepEqual(rekey.bundle.sessions[0]!.keys[0]!.masterKey, first.bundle.sessions[0]!.keys[0]!.masterKey);
  assert.deepEqual(rekey.bundle.sessions[1]!.keys[0]!.mki, Uint8Array.of(2));
});

test('wrong key: Auth failure, no keys, an unauthenticated Error message; the initiator reads it', async () => {
  const ini = new PskInitiator({ psk, clock: clockAt(T0) });
  const offer = ini.createOffer({ sessions: [{ ssrc: 1 }], verify: true });
  const e = await rejects(new PskResponder({ psk: psk.map((b) => b ^ 1), clock: clockAt(T0) }).receive(offer.bytes), ErrorNo.AuthFailure);
  const err = decodeMessage(e.response!);
  assert.equal(err.header.dataType, DataType.Error);
  assert.deepEqual(err.payloads.map((p) => p.type), [5, 12]);
  assert.throws(() => ini.receiveResponse(e.response!), (x: unknown) => x instanceof MikeyErrorMessage && x.errorNos[0] === ErrorNo.AuthFailure && !x.authenticated);
});

test('a flipped bit anywhere in the I_MESSAGE is never accepted', async () => {
  const ini = new PskInitiator({ psk, idi: alice, clock: clockAt(T0) });
  const offer = ini.createOffer({ sessions: [{ ssrc: 1 }, { ssrc: 2 }] });
  const codes = new Map<number, number>();
  for (let bit = 0; bit < offer.bytes.length * 8; bit++) {
    const b = Uint8Array.from(offer.bytes);
    b[bit >> 3]! ^= 0x80 >> (bit & 7);
    try {
      await new PskResponder({ psk, clock: clockAt(T0) }).receive(b);
      assert.fail(`bit ${bit} flipped and accepted`);
    } catch (e) {
      assert.ok(e instanceof MikeyProtocolError, `bit ${bit}: ${e}`);
      codes.set(e.errorNo, (codes.get(e.errorNo) ?? 0) + 1);
    }
  }
  assert.ok((codes.get(ErrorNo.AuthFailure) ?? 0) > offer.bytes.length * 4, `mostly Auth failure: ${[...codes]}`);
});

test('stale and future timestamps, and replays, give Invalid TS', async () => {
  const ini = new PskInitiator({ psk, clock: clockAt(T0) });
  const offer = ini.createOffer({ sessions: [{ ssrc: 1 }] });
  await rejects(new PskResponder({ psk, clock: clockAt(T0 + 10 * 60_000) }).receive(offer.bytes), ErrorNo.InvalidTs);
  await rejects(new PskResponder({ psk, clock: clockAt(T0 - 10 * 60_000) }).receive(offer.bytes), ErrorNo.InvalidTs);
  const res = new PskResponder({ psk, clock: clockAt(T0 + 60_000), maxSkewMs: 120_000 });
  await res.receive(offer.bytes);
  const e = await rejects(res.receive(offer.bytes), ErrorNo.InvalidTs);
  assert.match(e.reason, /replayed/);
  // the Error message after authentication is itself authenticated (V over the Error message)
  assert.equal(decodeMessage(e.response!).payloads.at(-1)!.type, 9);
});

test('unknown peer: Invalid ID; unknown policy: Invalid SPpar; NULL protection refused unless allowed', async () => {
  const ini = new PskInitiator({ psk, idi: alice, clock: clockAt(T0) });
  const lookup = (idi?: { data: Uint8Array }) => (idi && Buffer.from(idi.data).toString() === 'sip:bob@example.org' ? psk : undefined);
  await rejects(new PskResponder({ psk: lookup, clock: clockAt(T0) }).receive(ini.createOffer({ sessions: [{ ssrc: 1 }] }).bytes), ErrorNo.InvalidId);
  // a sender whose policy we do not support: AES-F8, or a parameter type nobody defined
  assert.throws(() => ini.createOffer({ sessions: [{ ssrc: 1, params: [{ type: 0, value: Uint8Array.of(2) }] }] }), /Invalid SPpar/);
  for (const param of [{ type: 0, value: Uint8Array.of(2) }, { type: 99, value: Uint8Array.of(1) }, { type: 1, value: Uint8Array.of(17) }]) {
    const hdr = header(DataType.PreShared, 5, 'MIKEY-1', { type: 0, entries: [{ policyNo: 0, ssrc: 1, roc: 0 }] });
    const t = tNow(clockAt(T0));
    const rand = new Uint8Array(16);
    const mk = deriveMessageKeys(psk, 5, rand, 'MIKEY-1', { encrAlg: 'AES-CM-128', macAlg: 'HMAC-SHA-1-160' });
    const bytes = buildKemacMessage(hdr, [t, { type: 11, rand }, { type: 10, policyNo: 0, protType: 0, params: [param] }],
      keyDataPayloads([{}], (n) => new Uint8Array(n)), mk, t, 'AES-CM-128', 'HMAC-SHA-1-160');
    await rejects(new PskResponder({ psk, clock: clockAt(T0) }).receive(bytes), ErrorNo.InvalidSpPar);
  }
  const nul = new PskInitiator({ psk, clock: clockAt(T0), encrAlg: 'NULL', macAlg: 'NULL', allowUnprotected: true }).createOffer({ sessions: [{ ssrc: 1 }] });
  await rejects(new PskResponder({ psk, clock: clockAt(T0) }).receive(nul.bytes), ErrorNo.InvalidEa);
  const ok = await new PskResponder({ psk, clock: clockAt(T0), allowUnprotected: true }).receive(nul.bytes);
  assert.equal(ok.bundle.sessions.length, 1);
  assert.throws(() => new PskInitiator({ psk, encrAlg: 'NULL' }), /NULL encryption or MAC refused/);
});

test('a message of another method, or garbage, is refused with the right code', async () => {
  const res = new PskResponder({ psk, clock: clockAt(T0) });
  const offer = new PskInitiator({ psk, clock: clockAt(T0) }).createOffer({ sessions: [{ ssrc: 1 }] });
  const b = Uint8Array.from(offer.bytes);
  b[1] = DataType.DhInit;
  await rejects(res.receive(b), ErrorNo.UnsupportedMessageType);
  b[1] = 99;
  await rejects(res.receive(b), ErrorNo.InvalidDt);
  await rejects(res.receive(offer.bytes.subarray(0, 30)), ErrorNo.UnsupportedMessageType);
});

test('every timestamp type: NTP-UTC, NTP, NTP-UTC-32 within the skew; COUNTER must grow per CSB', async () => {
  for (const timestamp of ['NTP-UTC', 'NTP', 'NTP-UTC-32'] as const) {
    const ini = new PskInitiator({ psk, clock: clockAt(T0), timestamp });
    const offer = ini.createOffer({ sessions: [{ ssrc: 1 }], verify: true });
    const t = decodeMessage(offer.bytes).payloads[0]!;
    assert.ok(t.type === 5 && t.tsType === { 'NTP-UTC': 0, 'NTP': 1, 'NTP-UTC-32': 3 }[timestamp]);
    const got = await new PskResponder({ psk, clock: clockAt(T0 + 2000) }).receive(offer.bytes);
    sameKeys(ini.receiveResponse(got.response!), got.bundle);
    await rejects(new PskResponder({ psk, clock: clockAt(T0 + 3_600_000) }).receive(offer.bytes), ErrorNo.InvalidTs);
  }
  const ini = new PskInitiator({ psk, clock: clockAt(T0), timestamp: 'COUNTER' });
  const res = new PskResponder({ psk, clock: clockAt(T0), allowUnpersistedCounter: true });
  const first = ini.createOffer({ sessions: [{ ssrc: 1 }] });
  const second = ini.createUpdate({ keys: [{}] });
  const t1 = decodeMessage(first.bytes).payloads[0]!;
  assert.ok(t1.type === 5 && t1.tsType === 2 && t1.value.length === 4);
  await res.receive(first.bytes);
  await res.receive(second.bytes);
  // an older counter for the same CSB is stale even once the replay cache has forgotten it
  const e = await rejects(new PskResponder({ psk, clock: clockAt(T0), allowUnpersistedCounter: true }).receive(first.bytes).then(() => res.receive(first.bytes)), ErrorNo.InvalidTs);
  assert.match(e.reason, /counter 1 not above the last accepted 2/);
});

test('SDP IDs (RFC 4567 §4.1.4): the list the initiator saw is authenticated; a different one at the responder is refused', async () => {
  const ini = new PskInitiator({ psk, clock: clockAt(T0), sdpIds: ['mikey', 'sdescriptions'] });
  const offer = ini.createOffer({ sessions: [{ ssrc: 1 }], verify: true });
  assert.deepEqual(decodeMessage(offer.bytes).payloads.find((p) => p.type === 21)?.type === 21 && (decodeMessage(offer.bytes).payloads.find((p) => p.type === 21) as { sdpIds: string[] }).sdpIds, ['mikey', 'sdescriptions']);
  const ok = await new PskResponder({ psk, clock: clockAt(T0), sdpIds: ['mikey', 'sdescriptions'] }).receive(offer.bytes);
  sameKeys(ini.receiveResponse(ok.response!), ok.bundle);
  // an attacker removed the stronger protocol from the SDP: the responder saw only 'mikey'
  await rejects(new PskResponder({ psk, clock: clockAt(T0), sdpIds: ['mikey'] }).receive(offer.bytes), ErrorNo.Unspecified);
  // no list at all, when one is expected
  await rejects(new PskResponder({ psk, clock: clockAt(T0), sdpIds: ['mikey'] }).receive(new PskInitiator({ psk, clock: clockAt(T0) }).createOffer({ sessions: [{ ssrc: 1 }] }).bytes), ErrorNo.Unspecified);
});
