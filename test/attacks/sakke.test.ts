// Attacks on MIKEY-SAKKE (RFC 6509) and its MCX profile (TS 33.180) written as an outsider would:
// only the package by name. The ECCSI s -> q-s replay (finding 3), a repeating random source
// (finding 8: two signatures with one nonce would give the SSK away), and another signer naming
// alice's CSB ID (finding 1, SAKKE). docs/security.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  SakkeInitiator, SakkeResponder, ErrorNo, IdRole, PayloadType, decodeMessage, encodeMessage, srtpContexts, telUriIdentifier,
  type CryptoSessionBundle, type SakkeKmsPublicKeys, type SakkeUserKeys,
} from 'mikey';
import { SakkeKmsPublicKey, eccsiKmsSetup, eccsiMakeSskPvt, eccsiSign, eccsiVerify, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from 'mikey/crypto';
import { McxKeyManagement, keyPeriodNumber, uidFor, type McxKms, type McxKeySet } from 'mikey/mcx';
import { refused } from './support.js';

const q = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n; // P-256 order (RFC 6507 §5.1)
const big = (b: Uint8Array) => BigInt('0x' + Buffer.from(b).toString('hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const keysOf = (b: CryptoSessionBundle) => JSON.stringify(srtpContexts(b).map((c) => [hex(c.masterKey), hex(c.masterSalt)]));
/** The SIGN payload is last: ECCSI signature = r (32) || s (32) || PVT (65) (RFC 6507 §3.3). */
const SIG = 129;

/** `bytes` with the signature's s replaced by q - s: another signature over the same bytes. */
function malleated(bytes: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(bytes);
  const sig = copy.subarray(copy.length - SIG);
  sig.set(Buffer.from((q - big(sig.subarray(32, 64))).toString(16).padStart(64, '0'), 'hex'), 32);
  assert.notEqual(hex(copy), hex(bytes));
  return copy;
}

const ekms = eccsiKmsSetup();
const skms = sakkeKmsSetup(sakkeParamSet1);
const KMS: SakkeKmsPublicKeys = { zS: new SakkeKmsPublicKey(sakkeParamSet1, skms.zS), kpak: ekms.kpak };
const T0 = Date.UTC(2027, 0, 15, 12);
const clock = { now: () => T0 };
const ALICE = 'tel:+447700900123';
const BOB = 'tel:+447700900456';
const MALLORY = 'tel:+447700900999';
function issue(uri: string): SakkeUserKeys[] {
  const id = telUriIdentifier(uri, '2027-01');
  const e = eccsiMakeSskPvt(ekms, id);
  return [{ id, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, id), ssk: e.ssk, pvt: e.pvt, hs: e.hs }];
}
const keys = new Map([ALICE, BOB, MALLORY].map((u) => [u, issue(u)]));
const SESSIONS = [{ ssrc: 0x1234abcd }];
const initiator = (uri = ALICE, o: { random?: (n: number) => Uint8Array } = {}) => new SakkeInitiator({ uri, kms: KMS, keys: keys.get(uri)!, kmsUri: 'kms.example.org', clock, ...o });
const responder = () => new SakkeResponder({ uri: BOB, kms: KMS, keys: keys.get(BOB)!, kmsUri: 'kms.example.org', clock });

test('ECCSI s -> q-s: the altered copy verifies, yet a responder that took the original refuses it as a replay', async () => {
  const offer = initiator().createOffer({ to: BOB, sessions: SESSIONS });
  const res = responder();
  await res.receive(offer.bytes);
  const copy = malleated(offer.bytes);
  assert.equal(eccsiVerify(KMS.kpak, telUriIdentifier(ALICE, '2027-01'), copy.subarray(0, copy.length - SIG), copy.subarray(copy.length - SIG)), true, '(r, q-s) verifies');
  await refused(res.receive(copy), ErrorNo.InvalidTs);
  await refused(res.receive(offer.bytes), ErrorNo.InvalidTs);
});

// ---- MCX: a KMS with monthly key periods, users with their key sets -------------------------

const MKMS: McxKms = { uri: 'kms.example.org', zS: KMS.zS, kpak: KMS.kpak, keyPeriod: 30 * 86400, keyPeriodOffset: 0 };
const MC_ALICE = 'sip:alice@example.org';
const MC_BOB = 'sip:bob@example.org';
const MC_CAROL = 'sip:carol@example.org';
function keySet(uri: string): McxKeySet[] {
  const keyPeriodNo = keyPeriodNumber(T0, MKMS.keyPeriod, MKMS.keyPeriodOffset);
  const uid = uidFor(uri, MKMS, keyPeriodNo);
  const e = eccsiMakeSskPvt(ekms, uid);
  return [{ keyPeriodNo, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, uid), ssk: e.ssk, pvt: e.pvt, hs: e.hs }];
}
const sets = new Map([MC_ALICE, MC_BOB, MC_CAROL].map((u) => [u, keySet(u)]));
const node = (uri: string, o: { random?: (n: number) => Uint8Array } = {}) => new McxKeyManagement({ uri, kms: MKMS, keySets: sets.get(uri)!, clock, ...o });

test('ECCSI s -> q-s through the MCX profile (McxKeyManagement): the altered PCK is refused as a replay by the receiver that took the original', async () => {
  const pck = node(MC_ALICE).sendPck({ to: MC_BOB });
  const receiver = node(MC_BOB);
  const first = await receiver.receive(pck.bytes, { initiator: MC_ALICE });
  const copy = malleated(pck.bytes);
  // a receiver that never saw the original takes the copy: the signature is valid ...
  const fresh = await node(MC_BOB).receive(copy, { initiator: MC_ALICE });
  assert.equal(keysOf(fresh.bundle), keysOf(first.bundle));
  // ... so only the replay identity (the signed bytes and r, not s) stops it
  await refused(receiver.receive(copy, { initiator: MC_ALICE }), ErrorNo.InvalidTs);
  await refused(receiver.receive(pck.bytes, { initiator: MC_ALICE }), ErrorNo.InvalidTs);
});

/**
 * The SSK candidates two signatures (r, s1) over m1 and (r, s2) over m2 with one nonce j give away
 * (RFC 6507 §5.2.1: s' = (HE + r SSK)^-1 j, HE = hash(HS || r || M); s' is s or q - s).
 */
function sskIfNonceRepeats(hs: Uint8Array, m1: Uint8Array, sig1: Uint8Array, m2: Uint8Array, sig2: Uint8Array): bigint[] {
  const mod = (a: bigint) => ((a % q) + q) % q;
  const inv = (a: bigint) => { let [r0, r1, t0, t1] = [q, mod(a), 0n, 1n]; while (r1) { const k = r0 / r1; [r0, r1, t0, t1] = [r1, r0 - k * r1, t1, t0 - k * t1]; } return mod(t0); };
  const r = sig1.subarray(0, 32);
  const he = (m: Uint8Array) => big(createHash('sha256').update(hs).update(r).update(m).digest());
  const out: bigint[] = [];
  for (const s1 of [big(sig1.subarray(32, 64)), q - big(sig1.subarray(32, 64))]) {
    for (const s2 of [big(sig2.subarray(32, 64)), q - big(sig2.subarray(32, 64))]) {
      // with u = s^-1: u1 j = HE1 + r SSK and u2 j = HE2 + r SSK, so SSK = (u2 HE1 - u1 HE2) / (r (u1 - u2))
      const u1 = inv(s1);
      const u2 = inv(s2);
      if (u1 !== u2) out.push(mod(mod(u2 * he(m1) - u1 * he(m2)) * inv(big(r) * (u1 - u2))));
    }
  }
  return out;
}

test('a repeating random source: two messages still get different ECCSI nonces, and the SSK cannot be computed from them (SAKKE and MCX)', () => {
  const constant = (n: number) => new Uint8Array(n).fill(0x42);
  const ini = initiator(ALICE, { random: constant });
  const m1 = ini.createOffer({ to: BOB, sessions: SESSIONS }).bytes;
  const m2 = ini.createOffer({ to: MALLORY, sessions: SESSIONS }).bytes;
  const split = (m: Uint8Array) => [m.subarray(0, m.length - SIG), m.subarray(m.length - SIG)] as const;
  const [b1, s1] = split(m1);
  const [b2, s2] = split(m2);
  assert.notEqual(hex(b1), hex(b2), 'two different messages');
  // r = x([j]G): a different r is a different nonce j
  assert.notEqual(hex(s1.subarray(0, 32)), hex(s2.subarray(0, 32)));
  const a = keys.get(ALICE)![0]!;
  // the computation works: two signatures with one nonce j forced give the SSK away
  const j = 0x1234567890abcdefn;
  const f1 = eccsiSign(ekms.kpak, a.id, a.ssk!, a.pvt!, b1, { j, hs: a.hs });
  const f2 = eccsiSign(ekms.kpak, a.id, a.ssk!, a.pvt!, b2, { j, hs: a.hs });
  assert.ok(sskIfNonceRepeats(a.hs!, b1, f1, b2, f2).includes(big(a.ssk!)), 'a repeated nonce reveals the SSK');
  assert.ok(!sskIfNonceRepeats(a.hs!, b1, s1, b2, s2).includes(big(a.ssk!)));
  const mc = node(MC_ALICE, { random: constant });
  const p1 = mc.sendPck({ to: MC_BOB }).bytes;
  const p2 = mc.sendPck({ to: MC_CAROL }).bytes;
  assert.notEqual(hex(p1.subarray(p1.length - SIG, p1.length - SIG + 32)), hex(p2.subarray(p2.length - SIG, p2.length - SIG + 32)));
  const s = sets.get(MC_ALICE)![0]!;
  assert.ok(!sskIfNonceRepeats(s.hs!, p1.subarray(0, p1.length - SIG), p1.subarray(p1.length - SIG), p2.subarray(0, p2.length - SIG), p2.subarray(p2.length - SIG)).includes(big(s.ssk)));
});

test('CSB ID reuse by another signer: mallory\'s message under alice\'s CSB ID is keyed and attributed to mallory only; she cannot claim alice\'s IDRi', async () => {
  const res = responder();
  const fromAlice = initiator().createOffer({ to: BOB, sessions: SESSIONS });
  const csbId = decodeMessage(fromAlice.bytes).header.csbId;
  const a = await res.receive(fromAlice.bytes);
  const fromMallory = initiator(MALLORY).createOffer({ to: BOB, sessions: SESSIONS, csbId });
  const got = await res.receive(fromMallory.bytes);
  assert.equal(got.initiator.uri, MALLORY);
  assert.equal(got.bundle.csbId, csbId);
  assert.notEqual(keysOf(got.bundle), keysOf(a.bundle));
  assert.equal(a.initiator.uri, ALICE);
  // her message rewritten to name alice as IDRi does not verify
  const forged = decodeMessage(fromMallory.bytes);
  const idri = forged.payloads.find((p) => p.type === PayloadType.Idr && p.role === IdRole.IDRi)!;
  Object.assign(idri, { data: new TextEncoder().encode(ALICE) });
  await refused(res.receive(encodeMessage(forged)), ErrorNo.AuthFailure);
});
