import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DhInitiator, DhResponder } from '../../src/modes/dh/index.js';
import { MikeyErrorMessage, MikeyProtocolError } from '../../src/session/errors.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { encodeMessage } from '../../src/wire/encode.js';
import { ErrorNo, DataType } from '../../src/wire/registry.js';
import { DH_GROUPS } from '../../src/crypto/dh.js';
import { rsaSign } from '../../src/crypto/rsa.js';
import type { CryptoSessionBundle } from '../../src/session/bundle.js';
import type { Message } from '../../src/wire/types.js';
import { rejects } from '../support/refusal.js';
import { pki, CA, credentials } from '../support/pki.js';

const alice = credentials('alice');
const bob = credentials('bob');
const T0 = Date.UTC(2027, 0, 15, 12);
const clockAt = (ms: number) => ({ now: () => ms });
const keysOf = (b: CryptoSessionBundle) => b.sessions.flatMap((s) => s.keys.map((k) => `${s.csId}:${Buffer.from(k.masterKey).toString('hex')}/${Buffer.from(k.masterSalt).toString('hex')}/${k.mki ? Buffer.from(k.mki).toString('hex') : ''}`));


// OAKLEY-1 and 2 are off by default: the tests that use them (for speed) opt in
const OPT_IN = ['OAKLEY-1', 'OAKLEY-2', 'OAKLEY-5'] as const;

for (const group of ['OAKLEY-5', 'OAKLEY-1', 'OAKLEY-2'] as const) {
  test(`signed DH with ${group}: both sides derive the same TGK and SRTP keys`, async () => {
    const ini = new DhInitiator({ ...alice, clock: clockAt(T0) });
    const res = new DhResponder({ ...bob, clock: clockAt(T0 + 100), groups: [group] });
    const offer = ini.createOffer({ sessions: [{ ssrc: 0xa }, { ssrc: 0xb, profile: 'AES_256_CM_HMAC_SHA1_80' }], group, mki: Uint8Array.of(1, 2) });
    const i = decodeMessage(offer.bytes);
    assert.equal(i.header.dataType, DataType.DhInit);
    const dh = i.payloads.find((p) => p.type === 3)!;
    assert.ok(dh.type === 3 && dh.value.length === DH_GROUPS[group].byteLength);
    const got = await res.receive(offer.bytes);
    const r = decodeMessage(got.response);
    assert.equal(r.header.dataType, DataType.DhResp);
    assert.deepEqual(r.payloads.map((p) => p.type), [5, 7, 6, 3, 3, 4], 'T, CERTr, IDi, DHr, DHi, SIGNr');
    const bundle = ini.receiveResponse(got.response);
    assert.deepEqual(keysOf(bundle), keysOf(got.bundle));
    assert.equal(bundle.sessions[1]!.keys[0]!.masterKey.length, 32);
    assert.deepEqual(bundle.sessions[0]!.keys[0]!.mki, Uint8Array.of(1, 2));
  });
}

test('DH values 0, 1, p-1, p and beyond are refused with Invalid DH', async () => {
  const g = DH_GROUPS['OAKLEY-2'];
  const p = BigInt('0x' + g.primeHex);
  for (const v of [0n, 1n, p - 1n, p, p + 1n]) {
    const ini = new DhInitiator({ ...alice, clock: clockAt(T0) });
    const offer = decodeMessage(ini.createOffer({ sessions: [{ ssrc: 1 }], group: 'OAKLEY-2' }).bytes);
    // re-sign the message with a forged DH value (the attacker is a legitimate but hostile peer)
    const msg: Message = { header: offer.header, payloads: offer.payloads.map((x) => (x.type === 3 ? { ...x, value: Uint8Array.from(Buffer.from(v.toString(16).padStart(256, '0').slice(-256), 'hex')) } : x)) };
    const bytes = encodeMessage(msg);
    const sig = rsaSign(alice.privateKey, bytes.subarray(0, bytes.length - 256));
    bytes.set(sig, bytes.length - 256);
    await rejects(new DhResponder({ ...bob, clock: clockAt(T0), groups: OPT_IN }).receive(bytes), ErrorNo.InvalidDh);
  }
});

test('tampering, a signature by someone outside the trust anchors, replays: no keys', async () => {
  const ini = new DhInitiator({ ...alice, clock: clockAt(T0) });
  const offer = ini.createOffer({ sessions: [{ ssrc: 1 }], group: 'OAKLEY-1' });
  for (let at = 0; at < offer.bytes.length; at++) {
    const b = Uint8Array.from(offer.bytes);
    b[at]! ^= 1 << (at % 8);
    try {
      await new DhResponder({ ...bob, clock: clockAt(T0), groups: OPT_IN }).receive(b);
      assert.fail(`byte ${at} flipped and accepted`);
    } catch (e) {
      assert.ok(e instanceof MikeyProtocolError);
    }
  }
  const mallory = new DhInitiator({ privateKey: pki('mallory.key'), certificate: pki('mallory.pem'), trustAnchors: [CA], clock: clockAt(T0) });
  await rejects(new DhResponder({ ...bob, clock: clockAt(T0), groups: OPT_IN }).receive(mallory.createOffer({ sessions: [{ ssrc: 1 }], group: 'OAKLEY-1' }).bytes), ErrorNo.InvalidCert);
  const res = new DhResponder({ ...bob, clock: clockAt(T0), groups: OPT_IN });
  await res.receive(offer.bytes);
  await rejects(res.receive(offer.bytes), ErrorNo.InvalidTs);
  // the initiator refuses a response signed by a key it does not trust
  const got = await new DhResponder({ privateKey: pki('mallory.key'), certificate: pki('mallory.pem'), trustAnchors: [CA], clock: clockAt(T0), groups: OPT_IN }).receive(ini.createOffer({ sessions: [{ ssrc: 1 }], group: 'OAKLEY-1' }).bytes);
  assert.throws(() => ini.receiveResponse(got.response), (e: unknown) => e instanceof MikeyProtocolError && e.errorNo === ErrorNo.InvalidCert);
});

test('an Error message reaches the initiator as MikeyErrorMessage', async () => {
  const ini = new DhInitiator({ ...alice, clock: clockAt(T0) });
  const offer = ini.createOffer({ sessions: [{ ssrc: 1 }], group: 'OAKLEY-1' });
  const e = await rejects(new DhResponder({ ...bob, clock: clockAt(T0), groups: ['OAKLEY-5'] }).receive(offer.bytes), ErrorNo.InvalidDh);
  assert.throws(() => ini.receiveResponse(e.response!), (x: unknown) => x instanceof MikeyErrorMessage && x.errorNos[0] === ErrorNo.InvalidDh);
});

test('DH updates: a new exchange re-keys; without DHi the TGK stays and sessions are added', async () => {
  let now = T0;
  const clock = { now: () => now };
  const ini = new DhInitiator({ ...alice, clock });
  const res = new DhResponder({ ...bob, clock, groups: OPT_IN });
  const first = ini.receiveResponse((await res.receive(ini.createOffer({ sessions: [{ ssrc: 1 }], group: 'OAKLEY-1' }).bytes)).response);
  now += 1000;
  const keep = await res.receive(ini.createUpdate({ sessions: [{ ssrc: 1 }, { ssrc: 2 }], rekey: false }).bytes);
  assert.equal(decodeMessage(keep.response).payloads.filter((p) => p.type === 3).length, 0);
  const kept = ini.receiveResponse(keep.response);
  assert.deepEqual(keysOf(kept), keysOf(keep.bundle));
  assert.equal(keysOf(kept)[0], keysOf(first)[0]);
  now += 1000;
  const fresh = await res.receive(ini.createUpdate().bytes);
  const rekeyed = ini.receiveResponse(fresh.response);
  assert.deepEqual(keysOf(rekeyed), keysOf(fresh.bundle));
  assert.notEqual(keysOf(rekeyed)[0], keysOf(first)[0]);
});
