// MIKEY-IBAKE exchange (RFC 6267 §4.2.2, §5) in our profile: every curve, the full-size IBE once,
// forking, deferred delivery, ESK, tampering anywhere, keys of the wrong period or identity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bfGenerateCurve } from '../../src/crypto/bfibe.js';
import { IbakeInitiator, IbakeResponder, openStoredEsk } from '../../src/modes/ibake/index.js';
import { IbakeKeyRing } from '../../src/modes/ibake/keyring.js';
import { ibeEncrypt, ibeIdentity, idrPayload, ecdhKeyPair, ecGroup, eccptPayload, periodDate, keyPeriodStartMs, DEFAULT_KEY_PERIOD } from '../../src/modes/ibake/profile.js';
import { decodeMessage, decodeIbakeData } from '../../src/wire/decode.js';
import { encodeMessage, encodePayloads } from '../../src/wire/encode.js';
import { DataType, ErrorNo } from '../../src/wire/registry.js';
import type { EccptPayload, Payload } from '../../src/wire/types.js';
import { MikeyErrorMessage, MikeyProtocolError } from '../../src/session/errors.js';
import { alice, bob, carol, clockAt, mailbox, PERIOD, rejects, sameKeys, T0, testKms, contexts, hex } from './ibake-support.js';

const kms = testKms();
const SESSIONS = [{ ssrc: 0x11111111 }, { ssrc: 0x22222222, profile: 'AEAD_AES_128_GCM' as const }];

function pair(opts: { curve?: 'P-256' | 'P-384' | 'P-521'; clockI?: number; clockR?: number; kmsUsed?: ReturnType<typeof testKms> } = {}) {
  const k = opts.kmsUsed ?? kms;
  const ini = new IbakeInitiator({ idi: alice, keys: k.ring(alice), curve: opts.curve, clock: clockAt(opts.clockI ?? T0) });
  const res = new IbakeResponder({ keys: k.ring(bob), clock: clockAt(opts.clockR ?? T0 + 800) });
  return { ini, res };
}

async function run(ini: IbakeInitiator, res: IbakeResponder, offer = { idr: bob, sessions: SESSIONS }) {
  const m1 = ini.createOffer(offer);
  const r1 = await res.receive(m1.bytes);
  const m2 = ini.receiveResponse(r1.response);
  const r2 = await res.receive(m2.bytes);
  const a = ini.receiveVerification(r2.response);
  return { m1, r1, m2, r2, a, b: r2.bundle! };
}

for (const curve of ['P-256', 'P-384', 'P-521'] as const) {
  test(`IBAKE exchange on ${curve}: four messages, SRTP keys agree`, async () => {
    const { ini, res } = pair({ curve });
    const x = await run(ini, res, { idr: bob, sessions: SESSIONS, mki: Uint8Array.of(0, 0, 0, 7) } as never);
    sameKeys(x.a, x.b);
    assert.deepEqual([x.m1.bytes, x.r1.response, x.m2.bytes, x.r2.response].map((b) => decodeMessage(b).header.dataType), [22, 23, 24, 25]);
    // V flags (RFC 6267 §4.2.2): 1, 1, 1, 0
    assert.deepEqual([x.m1.bytes, x.r1.response, x.m2.bytes, x.r2.response].map((b) => decodeMessage(b).header.v), [true, true, true, false]);
    assert.equal(x.r1.stage, 1);
    assert.equal(x.r2.stage, 2);
    assert.equal(x.a.sessions.length, 2);
    assert.deepEqual(x.a.sessions.map((s) => s.profile), ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM']);
    assert.equal(hex(x.a.sessions[0]!.keys[0]!.mki!), '00000007');
    // the responder's ECCPT is on the initiator's curve, uncompressed and padded (profile)
    const own = kms.ring(alice).get(alice, PERIOD)!;
    const { ibeDecrypt } = await import('../../src/modes/ibake/profile.js');
    const r1 = decodeMessage(x.r1.response);
    const subs = decodeIbakeData(ibeDecrypt(own.params, own.key, (r1.payloads.find((p) => p.type === 22) as { encrData: Uint8Array }).encrData));
    const points = subs.filter((p): p is EccptPayload => p.type === 25);
    assert.equal(points.length, 2);
    for (const p of points) {
      assert.equal(p.curve, ecGroup(curve).code);
      assert.equal(p.point[0], 4);
      assert.equal((2 + p.point.length + p.padding.length) % 4, 0);
    }
  });
}

test('two exchanges give different keys (fresh EC-DH values each time)', async () => {
  const a = pair();
  const b = pair();
  const x = await run(a.ini, a.res);
  const y = await run(b.ini, b.res);
  assert.notEqual(contexts(x.a), contexts(y.a));
});

test('full-size Boneh-Franklin (n = 1024: 512-bit p, 160-bit q, SHA-1) with P-384', async () => {
  const { curve, hash } = bfGenerateCurve(1024);
  const big = testKms(curve, hash as 'sha1');
  const { ini, res } = pair({ curve: 'P-384', kmsUsed: big });
  const x = await run(ini, res);
  sameKeys(x.a, x.b);
  // U of each ciphertext is a point of the 512-bit curve: 129 octets, then V (20) and W
  const m1 = decodeMessage(x.m1.bytes);
  const ibake = m1.payloads.find((p) => p.type === 22) as { encrData: Uint8Array };
  assert.equal(ibake.encrData[0], 4);
  assert.ok(ibake.encrData.length > 129 + 20);
});

test('the IBE identity is ID || 0x00 || date of the key period start', () => {
  assert.equal(periodDate(PERIOD, DEFAULT_KEY_PERIOD), '2026-11-27T00:00:00Z');
  assert.equal(keyPeriodStartMs(PERIOD, DEFAULT_KEY_PERIOD), Date.UTC(2026, 10, 27));
  assert.equal(Buffer.from(ibeIdentity(alice, PERIOD, DEFAULT_KEY_PERIOD)).toString('latin1'), 'sip:alice@example.org\x002026-11-27T00:00:00Z');
});

test('ESK in I_MESSAGE_1: the responder gets the secret key', async () => {
  const { ini, res } = pair();
  const sk = Uint8Array.from(Buffer.alloc(16, 0x5a));
  const m1 = ini.createOffer({ idr: bob, sessions: SESSIONS, secretKey: sk });
  const r1 = await res.receive(m1.bytes);
  assert.equal(hex(r1.secretKey!), hex(sk));
  const r2 = await res.receive(ini.receiveResponse(r1.response).bytes);
  sameKeys(ini.receiveVerification(r2.response), r2.bundle!);
});

test('forking/retargeting: an answer from another identity is refused unless the initiator accepts it', async () => {
  // carol's device holds the key of the called identity (bob) and answers as carol (RFC 6267 §7.3)
  const ring = kms.ring(bob, carol);
  for (const accept of [false, true]) {
    const ini = new IbakeInitiator({ idi: alice, keys: kms.ring(alice), clock: clockAt(T0), acceptResponder: accept ? (i, a) => hex(i.data) === hex(bob.data) && hex(a.data) === hex(carol.data) : undefined });
    const res = new IbakeResponder({ keys: ring, idr: carol, clock: clockAt(T0) });
    const r1 = await res.receive(ini.createOffer({ idr: bob, sessions: SESSIONS }).bytes);
    if (!accept) {
      await rejects(() => ini.receiveResponse(r1.response), ErrorNo.InvalidId);
      continue;
    }
    const m2 = ini.receiveResponse(r1.response);
    assert.equal(Buffer.from(m2.responder.data).toString(), 'sip:carol@example.org');
    const r2 = await res.receive(m2.bytes);
    sameKeys(ini.receiveVerification(r2.response), r2.bundle!);
  }
});

test('deferred delivery: a mailbox without the callee\'s key answers with ECCPTr only; ESK kept for the callee', async () => {
  const ini = new IbakeInitiator({ idi: alice, keys: kms.ring(alice), clock: clockAt(T0), acceptResponder: () => true });
  const box = new IbakeResponder({ keys: kms.ring(mailbox), idr: mailbox, mailbox: true, clock: clockAt(T0) });
  const r1 = await box.receive(ini.createOffer({ idr: bob, sessions: SESSIONS }).bytes);
  const m2 = ini.receiveResponse(r1.response);
  assert.equal(m2.deferred, true);
  assert.ok(m2.secretKey);
  // I_MESSAGE_2 carries ECCPTi again and an ESK (§4.2.2.5)
  assert.ok(decodeMessage(m2.bytes).payloads.some((p) => p.type === 23));
  const r2 = await box.receive(m2.bytes);
  sameKeys(ini.receiveVerification(r2.response), r2.bundle!);
  assert.equal(r2.storedEsk?.length, 1);
  // later, bob opens the ESK with his key of that period
  assert.equal(hex(openStoredEsk(kms.ring(bob), bob, r2.storedEsk![0]!)), hex(m2.secretKey!));
  // not for carol: her key of that period does not open it, and one without a key cannot try
  await rejects(() => openStoredEsk(kms.ring(carol), carol, r2.storedEsk![0]!), ErrorNo.AuthFailure);
  await rejects(() => openStoredEsk(new IbakeKeyRing(kms.domain), bob, r2.storedEsk![0]!), ErrorNo.InvalidId);
  // a responder that is no mailbox refuses a call for a key it does not hold
  await rejects(new IbakeResponder({ keys: kms.ring(carol), idr: carol, clock: clockAt(T0) }).receive(new IbakeInitiator({ idi: alice, keys: kms.ring(alice), clock: clockAt(T0) }).createOffer({ idr: bob, sessions: SESSIONS }).bytes), ErrorNo.InvalidId);
});

// ---- tampering ---------------------------------------------------------------------------------

/** Run the exchange with message `which` (0..3) altered by `alter`; the outcome. */
async function tampered(which: number, alter: (b: Uint8Array) => Uint8Array): Promise<{ error?: unknown; agree?: boolean }> {
  const { ini, res } = pair();
  try {
    let m1 = ini.createOffer({ idr: bob, sessions: SESSIONS }).bytes;
    if (which === 0) m1 = alter(m1);
    let r1 = (await res.receive(m1)).response;
    if (which === 1) r1 = alter(r1);
    let m2 = ini.receiveResponse(r1).bytes;
    if (which === 2) m2 = alter(m2);
    const got = await res.receive(m2);
    let r2 = got.response;
    if (which === 3) r2 = alter(r2);
    const a = ini.receiveVerification(r2);
    return { agree: contexts(a) === contexts(got.bundle!) };
  } catch (e) {
    return { error: e };
  }
}

const LONG = process.env['MIKEY_LONG'] === '1';

test('bytes of every message flipped (all of them with MIKEY_LONG=1): the exchange fails with a protocol error, or ends with equal keys', async () => {
  const { ini, res } = pair();
  const sizes: number[] = [];
  const m1 = ini.createOffer({ idr: bob, sessions: SESSIONS });
  const r1 = await res.receive(m1.bytes);
  const m2 = ini.receiveResponse(r1.response);
  const r2 = await res.receive(m2.bytes);
  sizes.push(m1.bytes.length, r1.response.length, m2.bytes.length, r2.response.length);
  const codes = new Map<number, number>();
  let accepted = 0;
  const msgs = [m1.bytes, r1.response, m2.bytes, r2.response];
  // every byte, but one in five inside the IBE ciphertexts (each of their bytes is hashed alike)
  const positions = msgs.map((b) => {
    const inCipher = new Set<number>();
    for (const p of decodeMessage(b).payloads) if (p.type === 22 || p.type === 23) for (let i = p.span!.start + 3; i < p.span!.end; i++) if ((i - p.span!.start) % 5 !== 3) inCipher.add(i);
    // every byte with MIKEY_LONG=1; else the common header and every other byte after it
    // (test/modes/tamper/ibake*.test.ts flips every field of these messages bit by bit)
    return Array.from({ length: b.length }, (_, i) => i).filter((i) => !inCipher.has(i) && (LONG || i < 12 || i % 2 === 0));
  });
  let tried = 0;
  for (let which = 0; which < 4; which++) {
    for (const i of positions[which]!) {
      tried++;
      const out = await tampered(which, (b) => {
        const c = Uint8Array.from(b);
        c[i]! ^= 0x01;
        return c;
      });
      if (out.error) {
        assert.ok(out.error instanceof MikeyProtocolError || out.error instanceof MikeyErrorMessage, `message ${which} byte ${i}: ${String(out.error)}`);
        const no = out.error instanceof MikeyProtocolError ? out.error.errorNo : -1;
        codes.set(no, (codes.get(no) ?? 0) + 1);
      } else {
        assert.equal(out.agree, true, `message ${which} byte ${i} flipped and the keys differ`);
        accepted++;
      }
    }
  }
  const total = tried;
  // what may pass: the V flag (ignored by receivers, RFC 6267 §6.1) and the NTP fraction bit of T
  // that the skew window does not see; everything else is refused
  assert.ok(accepted <= 8, `${accepted} of ${total} flips accepted`);
  // refusals say what was wrong: IBE decryption, identities, timestamps, policies, the codec
  for (const no of [ErrorNo.AuthFailure, ErrorNo.InvalidTs, ErrorNo.InvalidId, ErrorNo.InvalidSp, ErrorNo.UnsupportedMessageType]) assert.ok(codes.has(no), `no ${no} among ${JSON.stringify([...codes])}`);
});

const flipIn = (type: number, at = 10) => (b: Uint8Array) => {
  const m = decodeMessage(b);
  const p = m.payloads.find((x) => x.type === type)!;
  const c = Uint8Array.from(b);
  c[p.span!.start + at]! ^= 0x80;
  return c;
};

test('tampering, message by message, gives the right Error code', async () => {
  const code = async (which: number, alter: (b: Uint8Array) => Uint8Array) => {
    const o = await tampered(which, alter);
    assert.ok(o.error instanceof MikeyProtocolError, String(o.error));
    return o.error.errorNo;
  };
  // IBE ciphertexts (U, V or W) altered: they do not decrypt
  for (const at of [5, 80, 140]) {
    assert.equal(await code(0, flipIn(22, at)), ErrorNo.AuthFailure);
    assert.equal(await code(1, flipIn(22, at)), ErrorNo.AuthFailure);
    assert.equal(await code(2, flipIn(22, at)), ErrorNo.AuthFailure);
  }
  // the V flag of I_MESSAGE_1 / I_MESSAGE_2 cleared: both verification messages are mandatory (§4.2.2.1, §4.2.2.5)
  const clearV = (b: Uint8Array) => { const x = Uint8Array.from(b); x[3]! &= 0x7f; return x; };
  assert.equal(await code(0, clearV), ErrorNo.AuthFailure);
  assert.equal(await code(2, clearV), ErrorNo.AuthFailure);
  // V of R_MESSAGE_2
  assert.equal(await code(3, flipIn(9, 5)), ErrorNo.AuthFailure);
  // T of R_MESSAGE_1 / R_MESSAGE_2 not echoed
  assert.equal(await code(1, flipIn(5, 9)), ErrorNo.InvalidTs);
  assert.equal(await code(3, flipIn(5, 9)), ErrorNo.InvalidTs);
  // RAND of I_MESSAGE_1: the responder sees I_MESSAGE_2 repeat another RAND
  assert.equal(await code(0, flipIn(11, 4)), ErrorNo.AuthFailure);
  // the CSB ID: R_MESSAGE_1 answers another exchange
  assert.equal(await code(1, (b) => { const c = Uint8Array.from(b); c[5]! ^= 1; return c; }), ErrorNo.AuthFailure);
  // a clear identity that is not the encrypted one
  const renamed = (role: number) => (b: Uint8Array) => {
    const m = decodeMessage(b);
    const i = m.payloads.findIndex((p) => p.type === 14 && p.role === role);
    m.payloads[i] = idrPayload(role, carol);
    return encodeMessage(m);
  };
  assert.equal(await code(0, renamed(1)), ErrorNo.InvalidId);
  // I_MESSAGE_2 naming another initiator: no exchange of that initiator waits, answered as any other mismatch (no hint of what is pending)
  assert.equal(await code(2, renamed(1)), ErrorNo.AuthFailure);
  // SP changed in I_MESSAGE_1 (nothing covers it): below the responder's minimum it is refused
  // there; within it, R_MESSAGE_2 echoes another policy under V and the initiator refuses
  const tagLength = (n: number) => (b: Uint8Array) => {
    const m = decodeMessage(b);
    const sp = m.payloads.find((p) => p.type === 10)!;
    Object.assign(sp, { params: [{ type: 11, value: Uint8Array.of(n) }], paramBytes: undefined });
    return encodeMessage(m);
  };
  assert.equal(await code(0, tagLength(4)), ErrorNo.InvalidSpPar);
  assert.equal(await code(0, tagLength(12)), ErrorNo.InvalidSp);
  // V with another MAC algorithm
  assert.equal(await code(3, (b) => {
    const m = decodeMessage(b);
    m.payloads[m.payloads.length - 1] = { type: 9, authAlg: 1, mac: new Uint8Array(20) };
    return encodeMessage(m);
  }), ErrorNo.InvalidMac);
  // truncated: a codec error, no Error message sent (RFC 6267 §4.2.2.2: discarded silently)
  const o = await tampered(0, (b) => b.subarray(0, b.length - 3));
  assert.ok(o.error instanceof MikeyProtocolError);
  assert.equal(o.error.errorNo, ErrorNo.UnsupportedMessageType);
  assert.equal(o.error.response, undefined);
});

test('Error messages: unauthenticated after an authentication failure, read by the initiator', async () => {
  const { ini, res } = pair();
  const m1 = flipIn(22, 40)(ini.createOffer({ idr: bob, sessions: SESSIONS }).bytes);
  const e = await rejects(res.receive(m1), ErrorNo.AuthFailure);
  assert.ok(e.response);
  const err = decodeMessage(e.response);
  assert.equal(err.header.dataType, DataType.Error);
  assert.ok(!err.payloads.some((p) => p.type === 9));
  assert.throws(() => ini.receiveResponse(e.response!), (x: unknown) => x instanceof MikeyErrorMessage && x.errorNos[0] === ErrorNo.AuthFailure && !x.authenticated);
});

/** An I_MESSAGE_1 with chosen IBAKE content, encrypted to bob for PERIOD. */
function craftedOffer(chain: (idi: Payload, idr: Payload) => Payload[]): Uint8Array {
  const ini = new IbakeInitiator({ idi: alice, keys: kms.ring(alice), clock: clockAt(T0) });
  const m = decodeMessage(ini.createOffer({ idr: bob, sessions: SESSIONS }).bytes);
  const p = m.payloads.find((x) => x.type === 22)!;
  const plain = encodePayloads(chain(idrPayload(1, alice), idrPayload(2, bob)));
  Object.assign(p, { encrData: ibeEncrypt(kms.params, ibeIdentity(bob, PERIOD, kms.domain.period), plain, (n) => new Uint8Array(n).map(() => Math.floor(Math.random() * 256))) });
  return encodeMessage(m);
}

test('EC-DH values: binary curves, points off the curve, wrong contents are refused', async () => {
  const res = () => new IbakeResponder({ keys: kms.ring(bob), clock: clockAt(T0) });
  const good = eccptPayload(ecdhKeyPair(ecGroup('P-256'), (n) => new Uint8Array(n).fill(3)), 2);
  // P-192 (Table 5 code 1): parsed, not supported
  const p192: EccptPayload = { ...good, curve: 1, point: Uint8Array.from([4, ...new Uint8Array(48).fill(1)]), padding: new Uint8Array(1) };
  await rejects(res().receive(craftedOffer((i, r) => [i, p192, r])), ErrorNo.InvalidDh);
  // a point not on P-256
  const off = Uint8Array.from(good.point);
  off[64]! ^= 1;
  await rejects(res().receive(craftedOffer((i, r) => [i, { ...good, point: off }, r])), ErrorNo.InvalidDh);
  // non-zero padding
  await rejects(res().receive(craftedOffer((i, r) => [i, { ...good, padding: Uint8Array.of(1) }, r])), ErrorNo.InvalidDh);
  // IBAKE data for another responder, or without the EC-DH value
  await rejects(res().receive(craftedOffer((i) => [i, good, idrPayload(2, carol)])), ErrorNo.InvalidId);
  await rejects(res().receive(craftedOffer((i, r) => [i, r])), ErrorNo.UnsupportedMessageType);
  // a well-formed one passes
  assert.equal((await res().receive(craftedOffer((i, r) => [i, good, r]))).stage, 1);
  // curves restricted by the responder
  await rejects(new IbakeResponder({ keys: kms.ring(bob), clock: clockAt(T0), curves: ['P-384'] }).receive(craftedOffer((i, r) => [i, good, r])), ErrorNo.InvalidDh);
});

test('replay, stale timestamps, COUNTER, I_MESSAGE_2 without an exchange', async () => {
  const { ini, res } = pair();
  const m1 = ini.createOffer({ idr: bob, sessions: SESSIONS });
  const first = await res.receive(m1.bytes);
  // I_MESSAGE_1 is unauthenticated (RFC 3830 §5.4: no replay cache entry): a copy gets the same answer, no new exchange
  const copy = await res.receive(m1.bytes);
  assert.deepEqual(copy.response, first.response);
  assert.equal(res.pendingCount, 1);
  await rejects(new IbakeResponder({ keys: kms.ring(bob), clock: clockAt(T0 + 3_600_000) }).receive(m1.bytes), ErrorNo.InvalidTs);
  assert.throws(() => new IbakeInitiator({ idi: alice, keys: kms.ring(alice), timestamp: 'COUNTER' }), TypeError);
  // I_MESSAGE_2 to a responder that never saw I_MESSAGE_1
  const a = pair();
  const r1 = await a.res.receive(a.ini.createOffer({ idr: bob, sessions: SESSIONS }).bytes);
  await rejects(new IbakeResponder({ keys: kms.ring(bob), clock: clockAt(T0) }).receive(a.ini.receiveResponse(r1.response).bytes), ErrorNo.AuthFailure);
});

test('keys of a wrong period or identity fail', async () => {
  // the key ring refuses them when it checks
  const ring = new IbakeKeyRing(kms.domain);
  assert.throws(() => ring.add(bob, PERIOD, kms.extract(bob, PERIOD - 1)), RangeError);
  assert.throws(() => ring.add(bob, PERIOD, kms.extract(carol, PERIOD)), RangeError);
  ring.add(bob, PERIOD, kms.extract(bob, PERIOD));
  // unchecked, they do not decrypt: Auth failure
  for (const wrong of [kms.extract(bob, PERIOD + 1), kms.extract(carol, PERIOD)]) {
    const bad = new IbakeKeyRing(kms.domain);
    bad.add(bob, PERIOD, wrong, { validate: false });
    const ini = new IbakeInitiator({ idi: alice, keys: kms.ring(alice), clock: clockAt(T0) });
    await rejects(new IbakeResponder({ keys: bad, clock: clockAt(T0) }).receive(ini.createOffer({ idr: bob, sessions: SESSIONS }).bytes), ErrorNo.AuthFailure);
  }
  // a message of the next key period (the responder holds today's key only): Invalid ID
  const tomorrow = T0 + 86_400_000;
  const ini = new IbakeInitiator({ idi: alice, keys: kms.ring(alice), clock: clockAt(tomorrow) });
  assert.throws(() => ini.createOffer({ idr: bob, sessions: SESSIONS }), /no private key of ours/);
  const ringA = kms.ring(alice);
  ringA.add(alice, PERIOD + 1, kms.extract(alice, PERIOD + 1));
  const m1 = new IbakeInitiator({ idi: alice, keys: ringA, clock: clockAt(tomorrow) }).createOffer({ idr: bob, sessions: SESSIONS });
  await rejects(new IbakeResponder({ keys: kms.ring(bob), clock: clockAt(tomorrow) }).receive(m1.bytes), ErrorNo.InvalidId);
  // an initiator with a wrong key of its own cannot read R_MESSAGE_1
  const wrongA = new IbakeKeyRing(kms.domain);
  wrongA.add(alice, PERIOD, kms.extract(alice, PERIOD - 1), { validate: false });
  const i2 = new IbakeInitiator({ idi: alice, keys: wrongA, clock: clockAt(T0) });
  const r1 = await new IbakeResponder({ keys: kms.ring(bob), clock: clockAt(T0) }).receive(i2.createOffer({ idr: bob, sessions: SESSIONS }).bytes);
  await rejects(() => i2.receiveResponse(r1.response), ErrorNo.AuthFailure);
});

test('a KMS that is not ours: keys from another master secret do not decrypt', async () => {
  const other = testKms();
  const ini = new IbakeInitiator({ idi: alice, keys: kms.ring(alice), clock: clockAt(T0), peerDomain: () => other.domain });
  // alice encrypts to bob under the other KMS; bob's key is from ours
  await rejects(new IbakeResponder({ keys: kms.ring(bob), clock: clockAt(T0) }).receive(ini.createOffer({ idr: bob, sessions: SESSIONS }).bytes), ErrorNo.AuthFailure);
  // two KMSs used as configured: each side encrypts under the other's (RFC 6267 §7.2)
  const i3 = new IbakeInitiator({ idi: alice, keys: kms.ring(alice), clock: clockAt(T0), peerDomain: () => other.domain });
  const r3 = new IbakeResponder({ keys: other.ring(bob), clock: clockAt(T0), peerDomain: () => kms.domain });
  const x = await run(i3, r3);
  sameKeys(x.a, x.b);
});

test('two I_MESSAGE_1 with one CSB ID (anyone can write one): both exchanges complete; the waiting room is bounded', async () => {
  const res = new IbakeResponder({ keys: kms.ring(bob), clock: clockAt(T0), maxPending: 3 });
  const a = new IbakeInitiator({ idi: alice, keys: kms.ring(alice), clock: clockAt(T0) });
  const c = new IbakeInitiator({ idi: carol, keys: kms.ring(carol), clock: clockAt(T0) });
  const ra = await res.receive(a.createOffer({ idr: bob, sessions: SESSIONS, csbId: 77 }).bytes);
  const rc = await res.receive(c.createOffer({ idr: bob, sessions: SESSIONS, csbId: 77 }).bytes);
  const ma = a.receiveResponse(ra.response);
  const mc = c.receiveResponse(rc.response);
  const fa = await res.receive(ma.bytes);
  const fc = await res.receive(mc.bytes);
  sameKeys(a.receiveVerification(fa.response), fa.bundle!);
  sameKeys(c.receiveVerification(fc.response), fc.bundle!);
  assert.notEqual(contexts(fa.bundle!), contexts(fc.bundle!));
  // full: nobody is refused; the claimed initiator holding the most loses its oldest exchange
  for (let i = 0; i < 4; i++) await res.receive(new IbakeInitiator({ idi: alice, keys: kms.ring(alice), clock: clockAt(T0) }).createOffer({ idr: bob, sessions: SESSIONS }).bytes);
  assert.equal(res.pendingCount, 3);
});
