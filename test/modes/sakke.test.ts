// MIKEY-SAKKE (RFC 6509) with identifier scheme 1: identifiers, exchanges with keys from our
// own ECCSI/SAKKE KMS functions, the signature's coverage, tampering and the Error answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  SakkeInitiator, SakkeResponder, buildSakkeIMessage, idrPayload, keyMonth, nextKeyMonth, telUriIdentifier,
  type SakkeKmsPublicKeys, type SakkeResponderOptions, type SakkeUserKeys,
} from '../../src/modes/sakke/index.js';
import { PskInitiator } from '../../src/modes/psk/index.js';
import { eccsiKmsSetup, eccsiMakeSskPvt, eccsiVerify } from '../../src/crypto/eccsi.js';
import { SakkeKmsPublicKey, sakkeDecapsulate, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../../src/crypto/sakke.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { encodeMessage } from '../../src/wire/encode.js';
import { DataType, ErrorNo, IdRole, PayloadType, SakkeIdScheme, SignType } from '../../src/wire/registry.js';
import { MikeyProtocolError } from '../../src/session/errors.js';
import { srtpContexts, type CryptoSessionBundle } from '../../src/session/bundle.js';
import { ntpTimestamp } from '../../src/session/time.js';
import type { Payload, TPayload } from '../../src/wire/types.js';
import { rejects } from '../support/refusal.js';

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const clockAt = (ms: number) => ({ now: () => ms });
const random = (n: number) => new Uint8Array(randomBytes(n));
const keysOf = (b: CryptoSessionBundle) => JSON.stringify(srtpContexts(b).map((c) => [c.csId, c.ssrc, c.profile, toHex(c.masterKey), toHex(c.masterSalt)]));

test('identifier scheme 1 (RFC 6509 §3.2): "YYYY-MM\\0tel:+…\\0", the month of T in UTC', () => {
  // the identifier of RFC 6507 App. A and RFC 6508 App. A
  const expect = new TextEncoder().encode('2011-02\0tel:+447700900123\0');
  assert.deepEqual(telUriIdentifier('tel:+447700900123', '2011-02'), expect);
  assert.deepEqual(telUriIdentifier('tel:+447700900123', Date.UTC(2011, 1, 28, 23, 59, 59)), expect);
  assert.equal(keyMonth(Date.UTC(2011, 2, 1)), '2011-03');
  assert.equal(nextKeyMonth('2011-12'), '2012-01');
  for (const bad of ['tel:447700900123', 'tel:+44-7700-900123', 'tel:+447700900123;ext=1', 'sip:+447700900123@example.org', 'tel:+4477 00']) {
    assert.throws(() => telUriIdentifier(bad, '2011-02'), TypeError, bad);
  }
  assert.throws(() => telUriIdentifier('tel:+447700900123', '2011-13'), TypeError);
});

// ---- a KMS and two users, keys for January and February -----------------------------------

const ekms = eccsiKmsSetup();
const skms = sakkeKmsSetup(sakkeParamSet1);
const KMS: SakkeKmsPublicKeys = { zS: new SakkeKmsPublicKey(sakkeParamSet1, skms.zS), kpak: ekms.kpak };
const ALICE = 'tel:+447700900123';
const BOB = 'tel:+447700900456';
const MONTHS = ['2027-01', '2027-02'];
function issue(uri: string, month: string, kms = { e: ekms, s: skms }): SakkeUserKeys {
  const id = telUriIdentifier(uri, month);
  const e = eccsiMakeSskPvt(kms.e, id);
  return { id, rsk: sakkeMakeRsk(sakkeParamSet1, kms.s.z, id), ssk: e.ssk, pvt: e.pvt, hs: e.hs };
}
const aliceKeys = MONTHS.map((m) => issue(ALICE, m));
const bobKeys = MONTHS.map((m) => issue(BOB, m));
const T0 = Date.UTC(2027, 0, 15, 12);
const SESSIONS = [{ ssrc: 0x1234abcd }, { ssrc: 0x5678ef01, profile: 'AEAD_AES_128_GCM' as const }];
const initiator = (ms = T0) => new SakkeInitiator({ uri: ALICE, kms: KMS, keys: aliceKeys, kmsUri: 'kms.example.org', clock: clockAt(ms) });
const responder = (o: Partial<SakkeResponderOptions> = {}) => new SakkeResponder({ uri: BOB, kms: KMS, keys: bobKeys, kmsUri: 'kms.example.org', clock: clockAt(T0), ...o });
const sharedResponder = responder();

test('RFC 6509 exchange: HDR(26, V = 0), T, RAND, IDRs, SP, SAKKE, SIGN(ECCSI); both sides hold the same keys', async () => {
  const offer = initiator().createOffer({ to: BOB, sessions: SESSIONS });
  const msg = decodeMessage(offer.bytes);
  assert.equal(msg.header.dataType, DataType.Sakke);
  assert.equal(msg.header.v, false);
  assert.deepEqual(msg.payloads.map((p) => p.type), [5, 11, 14, 14, 14, 14, 10, 10, 26, 4]);
  const idrs = msg.payloads.filter((p): p is Extract<Payload, { type: 14 }> => p.type === 14);
  assert.deepEqual(idrs.map((p) => [p.role, new TextDecoder().decode(p.data)]), [[IdRole.IDRi, ALICE], [IdRole.IDRr, BOB], [IdRole.IDRkmsi, 'kms.example.org'], [IdRole.IDRkmsr, 'kms.example.org']]);
  const sakke = msg.payloads.find((p) => p.type === 26)!;
  assert.ok(sakke.type === 26 && sakke.idScheme === SakkeIdScheme.TelUri && sakke.sakkeParams === 1 && sakke.data.length === 273);
  const sign = msg.payloads.at(-1)!;
  assert.ok(sign.type === 4 && sign.sType === SignType.Eccsi && sign.signature.length === 129);
  // independently of the responder: the signature covers the SIGN header (RFC 3830 §5.2), the SSV is the TGK
  const aliceId = telUriIdentifier(ALICE, '2027-01');
  assert.equal(eccsiVerify(ekms.kpak, aliceId, offer.bytes.subarray(0, offer.bytes.length - 129), sign.signature), true);
  assert.equal(eccsiVerify(ekms.kpak, aliceId, offer.bytes.subarray(0, sign.span!.start), sign.signature), false);
  assert.equal(toHex(sakkeDecapsulate(sakkeParamSet1, skms.zS, bobKeys[0]!.id, bobKeys[0]!.rsk!, sakke.data)), toHex(offer.tgk));
  const got = await sharedResponder.receive(offer.bytes);
  assert.equal(keysOf(got.bundle), keysOf(offer.bundle));
  assert.equal(toHex(got.tgk), toHex(offer.tgk));
  assert.equal(got.initiator.uri, ALICE);
  assert.deepEqual(got.responderId, bobKeys[0]!.id);
  assert.equal(got.signatureCoverage, 'rfc');
  assert.deepEqual(got.lenient, []);
  assert.equal(got.bundle.prf, 'PRF-HMAC-SHA-256');
  assert.deepEqual(got.bundle.sessions.map((s) => s.profile), ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM']);
});

test('the month of T picks the keys (RFC 6509 §3.3: two periods held at once)', async () => {
  const endJan = Date.UTC(2027, 0, 31, 23, 59);
  const startFeb = Date.UTC(2027, 1, 1, 0, 1);
  const a = await responder({ clock: clockAt(endJan) }).receive(initiator(endJan).createOffer({ to: BOB, sessions: SESSIONS }).bytes);
  assert.equal(new TextDecoder().decode(a.responderId), `2027-01\0${BOB}\0`);
  const b = await responder({ clock: clockAt(endJan) }).receive(initiator(startFeb).createOffer({ to: BOB, sessions: SESSIONS }).bytes);
  assert.equal(new TextDecoder().decode(b.responderId), `2027-02\0${BOB}\0`);
  assert.equal(new TextDecoder().decode(b.initiator.id), `2027-02\0${ALICE}\0`);
  // a responder holding January's keys only has none for a February message
  await rejects(responder({ clock: clockAt(startFeb), keys: [bobKeys[0]!] }).receive(initiator(startFeb).createOffer({ to: BOB, sessions: SESSIONS }).bytes), ErrorNo.AuthFailure);
  // nor has the initiator a signing key outside its months
  assert.throws(() => initiator(Date.UTC(2027, 2, 1)).createOffer({ to: BOB, sessions: SESSIONS }), /no signing key/);
});

test('without IDR payloads the initiator is known from the signalling; local policy may refuse it', async () => {
  const offer = initiator().createOffer({ to: BOB, sessions: SESSIONS, omitIdentities: true });
  assert.deepEqual(decodeMessage(offer.bytes).payloads.filter((p) => p.type === 14), []);
  await rejects(responder().receive(offer.bytes), ErrorNo.AuthFailure);
  const ok = await responder({ initiatorUri: ALICE }).receive(offer.bytes);
  assert.equal(keysOf(ok.bundle), keysOf(offer.bundle));
  await rejects(responder({ acceptInitiator: (u) => u !== ALICE }).receive(initiator().createOffer({ to: BOB, sessions: SESSIONS }).bytes), ErrorNo.AuthFailure);
});

test('two KMSs (RFC 6509 §2.1): signed under the initiator\'s KMS, encapsulated under the responder\'s', async () => {
  const e2 = eccsiKmsSetup();
  const s2 = sakkeKmsSetup(sakkeParamSet1);
  const kms2: SakkeKmsPublicKeys = { zS: s2.zS, kpak: e2.kpak };
  const carol = 'tel:+15550100';
  const carolKeys = MONTHS.map((m) => issue(carol, m, { e: e2, s: s2 }));
  const offer = initiator().createOffer({ to: carol, toKms: kms2, toKmsUri: 'kms.two.example', sessions: SESSIONS });
  const r = new SakkeResponder({ uri: carol, kms: kms2, keys: carolKeys, clock: clockAt(T0), peerKms: (u) => (u === 'kms.example.org' ? KMS : undefined) });
  assert.equal(keysOf((await r.receive(offer.bytes)).bundle), keysOf(offer.bundle));
  // without the initiator's KMS the signature cannot verify
  await rejects(new SakkeResponder({ uri: carol, kms: kms2, keys: carolKeys, clock: clockAt(T0) }).receive(offer.bytes), ErrorNo.AuthFailure);
});

test('tampering anywhere: never a key; Auth failure for every bit of IDR, RAND, SAKKE and signature data', async () => {
  const offer = initiator().createOffer({ to: BOB, sessions: [{ ssrc: 7 }] });
  const msg = decodeMessage(offer.bytes);
  const data: Array<[number, number]> = [];
  for (const p of msg.payloads) {
    const { start, end } = p.span!;
    if (p.type === 14) data.push([start + 5, end]);
    if (p.type === 11) data.push([start + 2, end]);
    if (p.type === 26) data.push([start + 5, end]);
    if (p.type === 4) data.push([start + 2, end]);
  }
  const r = responder();
  let auth = 0;
  for (let at = 0; at < offer.bytes.length; at++) {
    const b = Uint8Array.from(offer.bytes);
    b[at]! ^= 1 << (at % 8);
    let err: unknown;
    try {
      await r.receive(b);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof MikeyProtocolError, `byte ${at} flipped: ${String(err ?? 'accepted')}`);
    assert.ok(err.response && decodeMessage(err.response).header.dataType === DataType.Error, 'an Error message to send');
    if (data.some(([s, e]) => at >= s && at < e)) assert.equal(err.errorNo, ErrorNo.AuthFailure, `byte ${at}: ${err.message}`);
    if (err.errorNo === ErrorNo.AuthFailure) auth++;
  }
  assert.ok(auth > 0.85 * offer.bytes.length, `${auth} of ${offer.bytes.length} flips are Auth failures`);
});

/** An I_MESSAGE from Alice to Bob built by hand, for the cases our initiator does not produce. */
function handBuilt(o: { t?: TPayload; map?: 'generic'; coverage?: 'excluding-sign-header' } = {}): Uint8Array {
  const a = aliceKeys[0]!;
  return buildSakkeIMessage({
    csbId: 0x11223344, prf: 'PRF-HMAC-SHA-256', rand: random(16), sps: [],
    csIdMap: o.map ? { type: 2, entries: [{ csId: 1, protType: 0, s: false, policies: [], sessionData: new Uint8Array(0), spi: new Uint8Array(0) }] } : { type: 0, entries: [{ policyNo: 0, ssrc: 5, roc: 0 }] },
    t: o.t ?? { type: 5, tsType: 0, value: ntpTimestamp(T0) },
    idrs: [idrPayload(IdRole.IDRi, ALICE), idrPayload(IdRole.IDRr, BOB)],
    recipient: { id: bobKeys[0]!.id, zS: KMS.zS }, idScheme: SakkeIdScheme.TelUri,
    signer: { id: a.id, ssk: a.ssk!, pvt: a.pvt!, kpak: KMS.kpak }, random, coverage: o.coverage,
  }).bytes;
}

test('the signature without the SIGN header: refused, or accepted when asked and reported', async () => {
  const bytes = handBuilt({ coverage: 'excluding-sign-header' });
  await rejects(responder().receive(bytes), ErrorNo.AuthFailure);
  const r = await responder({ lenience: { signatureWithoutSignHeader: true } }).receive(bytes);
  assert.equal(r.signatureCoverage, 'excluding-sign-header');
  assert.deepEqual(r.lenient, ['signature-without-sign-header']);
  assert.equal((await responder({ lenience: { signatureWithoutSignHeader: true } }).receive(handBuilt())).signatureCoverage, 'rfc');
});

test('Unsupported message type, Invalid TS and replays, each with its Error message', async () => {
  // not a SAKKE message
  const psk = new PskInitiator({ psk: new Uint8Array(16).fill(1), clock: clockAt(T0) }).createOffer({ sessions: [{ ssrc: 1 }] }).bytes;
  await rejects(responder().receive(psk), ErrorNo.UnsupportedMessageType);
  // an RSA S type
  const rsa = Uint8Array.from(handBuilt());
  rsa[rsa.length - 131] = (SignType.RsaPkcs1 << 4) | (rsa[rsa.length - 131]! & 0x0f);
  await rejects(responder().receive(rsa), ErrorNo.UnsupportedMessageType);
  // the tel URI scheme only here
  const scheme2 = Uint8Array.from(handBuilt());
  const sk = decodeMessage(scheme2).payloads.find((p) => p.type === PayloadType.Sakke)!;
  scheme2[sk.span!.start + 2] = SakkeIdScheme.McxHashedUid;
  await rejects(responder().receive(scheme2), ErrorNo.UnsupportedMessageType);
  // RFC 6509 §2.2.1: NTP-UTC or NTP only
  await rejects(responder().receive(handBuilt({ t: { type: 5, tsType: 2, value: Uint8Array.of(0, 0, 0, 9) } })), ErrorNo.InvalidTs);
  await rejects(responder().receive(handBuilt({ t: { type: 5, tsType: 0, value: ntpTimestamp(T0 - 3_600_000) } })), ErrorNo.InvalidTs);
  // a GENERIC-ID map is for the 3GPP profile
  await rejects(responder().receive(handBuilt({ map: 'generic' })), ErrorNo.UnsupportedMessageType);
  // replay
  const r = responder();
  const once = handBuilt();
  await r.receive(once);
  const e = await rejects(r.receive(once), ErrorNo.InvalidTs);
  const err = decodeMessage(e.response!);
  assert.equal(err.header.dataType, DataType.Error);
  assert.deepEqual(err.payloads.map((p) => p.type), [5, 12]);
});

test('ECCSI malleability: a replay with s -> q-s still verifies, and is refused as a replay (the replay key is the signed bytes and r)', async () => {
  const q = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n; // P-256 order (RFC 6507 §5.1)
  const offer = initiator().createOffer({ to: BOB, sessions: SESSIONS });
  const res = responder();
  await res.receive(offer.bytes);
  const copy = Uint8Array.from(offer.bytes);
  const sig = copy.subarray(copy.length - 129);
  const s = BigInt('0x' + toHex(sig.subarray(32, 64)));
  sig.set(Buffer.from((q - s).toString(16).padStart(64, '0'), 'hex'), 32);
  assert.notEqual(toHex(copy), toHex(offer.bytes));
  assert.equal(eccsiVerify(ekms.kpak, telUriIdentifier(ALICE, '2027-01'), copy.subarray(0, copy.length - 129), sig), true, '(r, q-s) verifies');
  await rejects(res.receive(copy), ErrorNo.InvalidTs);
  await rejects(res.receive(offer.bytes), ErrorNo.InvalidTs);
});

test('CSB ID reuse by another signer: the responder keeps no CSB state, so mallory\'s message with alice\'s CSB ID is keyed and attributed to mallory only', async () => {
  const MALLORY = 'tel:+447700900999';
  const malloryKeys = MONTHS.map((m) => issue(MALLORY, m));
  const res = responder();
  const fromAlice = initiator().createOffer({ to: BOB, sessions: SESSIONS });
  const csbId = decodeMessage(fromAlice.bytes).header.csbId;
  const a = await res.receive(fromAlice.bytes);
  const m = new SakkeInitiator({ uri: MALLORY, kms: KMS, keys: malloryKeys, kmsUri: 'kms.example.org', clock: clockAt(T0) });
  const fromMallory = m.createOffer({ to: BOB, sessions: SESSIONS, csbId });
  const got = await res.receive(fromMallory.bytes);
  assert.equal(got.initiator.uri, MALLORY);
  assert.equal(got.bundle.csbId, csbId);
  assert.notEqual(keysOf(got.bundle), keysOf(a.bundle));
  // alice's keys are what they were; her own message is now a replay, not a re-key
  assert.equal(a.initiator.uri, ALICE);
  assert.equal(keysOf(a.bundle), keysOf(fromAlice.bundle));
  await rejects(res.receive(fromAlice.bytes), ErrorNo.InvalidTs);
  // mallory cannot sign as alice: her message with IDRi rewritten to alice does not verify
  const forged = decodeMessage(fromMallory.bytes);
  const idri = forged.payloads.find((p) => p.type === PayloadType.Idr && p.role === IdRole.IDRi)!;
  Object.assign(idri, { data: new TextEncoder().encode(ALICE) });
  await rejects(res.receive(encodeMessage(forged)), ErrorNo.AuthFailure);
});
