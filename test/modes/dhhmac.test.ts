import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DhHmacInitiator, DhHmacResponder } from '../../src/modes/dhhmac/index.js';
import { encodeWithTrailingTag } from '../../src/modes/kit/common.js';
import { uriIdentity } from '../../src/session/identity.js';
import { DH_GROUPS } from '../../src/crypto/dh.js';
import { macCompute } from '../../src/crypto/kemac.js';
import { deriveMessageKeys, mikeyPrf, msgKeyLabel, PrfConstant } from '../../src/crypto/prf.js';
import { MikeyErrorMessage, MikeyProtocolError } from '../../src/session/errors.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { encodeMessage } from '../../src/wire/encode.js';
import { DataType, ErrorNo } from '../../src/wire/registry.js';
import type { CryptoSessionBundle } from '../../src/session/bundle.js';
import type { KemacPayload, Message, Payload } from '../../src/wire/types.js';
import { rejects } from '../support/refusal.js';

const psk = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff0123', 'hex'));
const alice = uriIdentity('sip:alice@example.org');
const bob = uriIdentity('sip:bob@example.org');
const T0 = Date.UTC(2027, 0, 15, 12);
const clockAt = (ms: number) => ({ now: () => ms });
const keysOf = (b: CryptoSessionBundle) => b.sessions.flatMap((s) => s.keys.map((k) => `${s.csId}:${s.ssrc}:${s.profile}:${Buffer.from(k.masterKey).toString('hex')}/${Buffer.from(k.masterSalt).toString('hex')}/${k.mki ? Buffer.from(k.mki).toString('hex') : ''}`));
const SESSIONS = [{ ssrc: 0x11111111 }, { ssrc: 0x22222222, roc: 5, profile: 'AES_256_CM_HMAC_SHA1_80' as const }, { ssrc: 0x33333333, profile: 'AEAD_AES_128_GCM' as const }];

const initiator = (o: Partial<ConstructorParameters<typeof DhHmacInitiator>[0]> = {}) => new DhHmacInitiator({ psk, idi: alice, idr: bob, clock: clockAt(T0), ...o });
// most tests use the small OAKLEY-1 for speed: opted in (the default is OAKLEY-5 only)
const responder = (o: Partial<ConstructorParameters<typeof DhHmacResponder>[0]> = {}) => new DhHmacResponder({ psk, idr: bob, clock: clockAt(T0 + 200), groups: ['OAKLEY-1', 'OAKLEY-2', 'OAKLEY-5'], ...o });

function throwsCode(f: () => unknown, errorNo: number): void {
  assert.throws(f, (e: unknown) => e instanceof MikeyProtocolError && e.errorNo === errorNo);
}

/** Re-encode a decoded DH-HMAC message after `change`, with a valid MAC under `authKey` (a hostile peer that knows s). */
function remac(bytes: Uint8Array, change: (p: Payload[]) => Payload[], authKey: Uint8Array, hdr?: Partial<Message['header']>): Uint8Array {
  const m = decodeMessage(bytes);
  const payloads = change(m.payloads.map((p) => ({ ...p, span: undefined }) as Payload));
  const k = payloads.at(-1) as KemacPayload;
  return encodeWithTrailingTag({ header: { ...m.header, ...hdr, span: undefined }, payloads }, k.mac.length, (c) => macCompute(k.macAlg === 2 ? 'HMAC-SHA-256-256' : 'HMAC-SHA-1-160', authKey, c));
}
function authKeyOf(bytes: Uint8Array, rand?: Uint8Array): Uint8Array {
  const m = decodeMessage(bytes);
  const r = rand ?? m.payloads.find((p) => p.type === 11)!.rand;
  return deriveMessageKeys(psk, m.header.csbId, r as Uint8Array, 'MIKEY-1', { encrAlg: 'NULL', macAlg: 'HMAC-SHA-1-160' }).authKey;
}

for (const group of ['OAKLEY-5', 'OAKLEY-1', 'OAKLEY-2'] as const) {
  test(`DH-HMAC with ${group}: three crypto sessions, both sides derive the same keys`, async () => {
    const ini = initiator();
    const offer = ini.createOffer({ sessions: SESSIONS, group, mki: Uint8Array.of(0, 7) });
    const i = decodeMessage(offer.bytes);
    assert.equal(i.header.dataType, DataType.DhHmacInit);
    assert.deepEqual(i.payloads.map((p) => p.type), [5, 11, 6, 6, 10, 10, 10, 3, 1], 'T, RAND, IDi, IDr, {SP}, DHi, KEMAC');
    const kemac = i.payloads.at(-1) as KemacPayload;
    // RFC 3830 / IANA code points: Encr alg 0 = NULL, no data; MAC alg 1 = HMAC-SHA-1-160
    assert.deepEqual([kemac.encrAlg, kemac.encrData.length, kemac.macAlg, kemac.mac.length], [0, 0, 1, 20]);
    const dh = i.payloads.find((p) => p.type === 3)!;
    assert.ok(dh.type === 3 && dh.value.length === DH_GROUPS[group].byteLength);
    const got = await responder().receive(offer.bytes);
    const r = decodeMessage(got.response);
    assert.equal(r.header.dataType, DataType.DhHmacResp);
    assert.deepEqual(r.payloads.map((p) => p.type), [5, 6, 6, 3, 3, 1], 'T, IDr, IDi, DHr, DHi, KEMAC');
    assert.deepEqual(r.payloads[0], { ...i.payloads[0], span: r.payloads[0]!.span }, 'T echoed');
    const bundle = ini.receiveResponse(got.response);
    assert.deepEqual(keysOf(bundle), keysOf(got.bundle));
    assert.equal(keysOf(bundle).length, 3);
    assert.equal(new Set(bundle.sessions.map((s) => Buffer.from(s.keys[0]!.masterKey).toString('hex'))).size, 3, 'one TEK per crypto session');
    assert.deepEqual(bundle.sessions.map((s) => [s.keys[0]!.masterKey.length, s.keys[0]!.masterSalt.length]), [[16, 14], [32, 14], [16, 12]]);
    assert.deepEqual(bundle.sessions[0]!.keys[0]!.mki, Uint8Array.of(0, 7));
    assert.equal(Buffer.from(got.idi.data).toString(), 'sip:alice@example.org');
  });
}

test('DH-HMAC with PRF-HMAC-SHA-256 and HMAC-SHA-256-256', async () => {
  const ini = initiator({ prf: 'PRF-HMAC-SHA-256', macAlg: 'HMAC-SHA-256-256' });
  const got = await responder().receive(ini.createOffer({ sessions: SESSIONS.slice(0, 2), group: 'OAKLEY-1' }).bytes);
  assert.deepEqual(keysOf(ini.receiveResponse(got.response)), keysOf(got.bundle));
  const k = decodeMessage(got.response).payloads.at(-1) as KemacPayload;
  assert.deepEqual([k.macAlg, k.mac.length], [2, 32]);
  await rejects(responder({ macAlgs: ['HMAC-SHA-1-160'] }).receive(ini.createOffer({ sessions: SESSIONS, group: 'OAKLEY-1' }).bytes), ErrorNo.InvalidMac);
});

test('the MAC: HMAC(auth_key, message without MAC), auth_key = PRF(s, 0x2D22AC75 || 0xFF || CSB ID || RAND) for both messages (RFC 3830 §4.1.4)', async () => {
  const ini = initiator();
  const offer = ini.createOffer({ sessions: SESSIONS, group: 'OAKLEY-1', csbId: 0xcafe0001, rand: new Uint8Array(16).fill(0x5a) });
  const label = msgKeyLabel(PrfConstant.MsgAuthKey, 0xcafe0001, new Uint8Array(16).fill(0x5a));
  assert.equal(Buffer.from(label).toString('hex'), '2d22ac75ffcafe0001' + '5a'.repeat(16));
  const authKey = mikeyPrf('MIKEY-1', psk, label, 160);
  const { createHmac } = await import('node:crypto');
  const mac = (b: Uint8Array) => createHmac('sha1', authKey).update(b.subarray(0, b.length - 20)).digest('hex');
  assert.equal(Buffer.from(offer.bytes.subarray(-20)).toString('hex'), mac(offer.bytes));
  const got = await responder().receive(offer.bytes);
  assert.equal(Buffer.from(got.response.subarray(-20)).toString('hex'), mac(got.response), 'the response uses the same auth_key');
});

test('updates (RFC 4650 §3.1): a fresh DH exchange re-keys; without DH values the TGK stays and sessions change', async () => {
  let now = T0;
  const clock = { now: () => now };
  const ini = initiator({ clock });
  const res = responder({ clock });
  const first = ini.receiveResponse((await res.receive(ini.createOffer({ sessions: SESSIONS.slice(0, 1), group: 'OAKLEY-1' }).bytes)).response);
  now += 1000;
  const keepMsg = ini.createUpdate({ sessions: SESSIONS, rekey: false });
  assert.deepEqual(decodeMessage(keepMsg.bytes).payloads.map((p) => p.type), [5, 6, 6, 10, 10, 10, 1], 'no RAND, no DHi');
  const keep = await res.receive(keepMsg.bytes);
  assert.equal(keep.update, true);
  assert.deepEqual(decodeMessage(keep.response).payloads.map((p) => p.type), [5, 6, 6, 1], 'no DHr, DHi');
  const kept = ini.receiveResponse(keep.response);
  assert.deepEqual(keysOf(kept), keysOf(keep.bundle));
  assert.equal(kept.sessions.length, 3);
  assert.equal(keysOf(kept)[0], keysOf(first)[0], 'same TGK, same TEK');
  now += 1000;
  const fresh = await res.receive(ini.createUpdate().bytes);
  assert.deepEqual(decodeMessage(fresh.response).payloads.map((p) => p.type), [5, 6, 6, 3, 3, 1]);
  const rekeyed = ini.receiveResponse(fresh.response);
  assert.deepEqual(keysOf(rekeyed), keysOf(fresh.bundle));
  assert.notEqual(keysOf(rekeyed)[0], keysOf(first)[0]);
  assert.deepEqual(rekeyed.rand, first.rand, 'updates keep the RAND of the first message');
  // an update for a CSB the responder does not know
  now += 1000;
  await rejects(responder({ clock }).receive(ini.createUpdate().bytes), ErrorNo.UnsupportedMessageType);
});

test('a flipped bit anywhere in the I_MESSAGE or the R_MESSAGE is never accepted', async () => {
  const ini = initiator({ sdpIds: ['mikey'] });
  const offer = ini.createOffer({ sessions: SESSIONS.slice(0, 2), group: 'OAKLEY-1' });
  const forgetful = { checkAndRecord: () => 'recorded' as const };
  const res = responder({ replayCache: forgetful, sdpIds: ['mikey'] });
  for (let bit = 0; bit < offer.bytes.length * 8; bit++) {
    const b = Uint8Array.from(offer.bytes);
    b[bit >> 3]! ^= 0x80 >> (bit & 7);
    try {
      await res.receive(b);
      assert.fail(`I_MESSAGE bit ${bit} flipped and accepted`);
    } catch (e) {
      assert.ok(e instanceof MikeyProtocolError, `bit ${bit}: ${String(e)}`);
      assert.ok(e.response, `bit ${bit}: an Error message to send`);
    }
  }
  const answer = (await res.receive(offer.bytes)).response;
  for (let bit = 0; bit < answer.length * 8; bit++) {
    const b = Uint8Array.from(answer);
    b[bit >> 3]! ^= 0x80 >> (bit & 7);
    assert.throws(() => ini.receiveResponse(b), (e: unknown) => e instanceof MikeyProtocolError || e instanceof MikeyErrorMessage, `R_MESSAGE bit ${bit}`);
  }
  assert.ok(ini.receiveResponse(answer), 'the intact answer still works');
});

test('wrong key: Auth failure, an unauthenticated Error message, no keys', async () => {
  const ini = initiator();
  const offer = ini.createOffer({ sessions: SESSIONS, group: 'OAKLEY-1' });
  const e = await rejects(responder({ psk: psk.map((b) => b ^ 0x40) }).receive(offer.bytes), ErrorNo.AuthFailure);
  const err = decodeMessage(e.response!);
  assert.equal(err.header.dataType, DataType.Error);
  assert.deepEqual(err.payloads.map((p) => p.type), [5, 12]);
  assert.throws(() => ini.receiveResponse(e.response!), (x: unknown) => x instanceof MikeyErrorMessage && x.errorNos[0] === ErrorNo.AuthFailure && !x.authenticated);
  assert.equal(ini.bundle, undefined);
  // a response under another key is refused by the initiator too
  const other = new DhHmacInitiator({ psk: psk.map((b) => b ^ 1), idi: alice, idr: bob, clock: clockAt(T0) });
  const forged = await responder({ psk: psk.map((b) => b ^ 1) }).receive(other.createOffer({ sessions: SESSIONS, group: 'OAKLEY-1', csbId: decodeMessage(offer.bytes).header.csbId }).bytes);
  throwsCode(() => ini.receiveResponse(forged.response), ErrorNo.AuthFailure);
  // unknown peer: no key for it
  await rejects(responder({ psk: () => undefined }).receive(offer.bytes), ErrorNo.InvalidId);
});

test('stale and replayed T: Invalid TS; a response not echoing our T is refused', async () => {
  const ini = initiator();
  const offer = ini.createOffer({ sessions: SESSIONS, group: 'OAKLEY-1' });
  await rejects(responder({ clock: clockAt(T0 + 3_600_000) }).receive(offer.bytes), ErrorNo.InvalidTs);
  await rejects(responder({ clock: clockAt(T0 - 3_600_000) }).receive(offer.bytes), ErrorNo.InvalidTs);
  const res = responder();
  const got = await res.receive(offer.bytes);
  await rejects(res.receive(offer.bytes), ErrorNo.InvalidTs);
  // the responder's answer to an older offer of the same CSB, with a valid MAC, is not ours
  const authKey = authKeyOf(offer.bytes);
  const wrongT = remac(got.response, (p) => p.map((x) => (x.type === 5 ? { ...x, value: Uint8Array.from(x.value).fill(1, 7) } : x)), authKey);
  throwsCode(() => ini.receiveResponse(wrongT), ErrorNo.InvalidTs);
  assert.ok(ini.receiveResponse(got.response));
});

test('DH values 0, 1, p-1, p are refused with Invalid DH at both ends', async () => {
  const g = DH_GROUPS['OAKLEY-1'];
  const p = BigInt('0x' + g.primeHex);
  const val = (v: bigint) => Uint8Array.from(Buffer.from(v.toString(16).padStart(g.byteLength * 2, '0'), 'hex'));
  for (const v of [0n, 1n, p - 1n, p]) {
    const ini = initiator();
    const offer = ini.createOffer({ sessions: SESSIONS, group: 'OAKLEY-1' });
    const authKey = authKeyOf(offer.bytes);
    // a hostile peer that knows s: a valid MAC around a bad DHi
    const bad = remac(offer.bytes, (ps) => ps.map((x) => (x.type === 3 ? { ...x, value: val(v) } : x)), authKey);
    const e = await rejects(responder().receive(bad), ErrorNo.InvalidDh);
    // after authentication, the Error message carries a V the initiator can verify
    assert.throws(() => ini.receiveResponse(e.response!), (x: unknown) => x instanceof MikeyErrorMessage && x.errorNos[0] === ErrorNo.InvalidDh && x.authenticated);
    // and a bad DHr in an authenticated response
    const got = await responder().receive(offer.bytes);
    let seen = 0;
    const badR = remac(got.response, (ps) => ps.map((x) => (x.type === 3 && seen++ === 0 ? { ...x, value: val(v) } : x)), authKey);
    throwsCode(() => ini.receiveResponse(badR), ErrorNo.InvalidDh);
  }
  await rejects(responder({ groups: ['OAKLEY-5'] }).receive(initiator().createOffer({ sessions: SESSIONS, group: 'OAKLEY-2' }).bytes), ErrorNo.InvalidDh);
});

test('unknown or refused security policy: Invalid SPpar, no keys', async () => {
  const ini = initiator();
  const offer = ini.createOffer({ sessions: [{ ssrc: 1, params: [{ type: 0, value: Uint8Array.of(2) }] }], group: 'OAKLEY-1' });
  const e = await rejects(responder().receive(offer.bytes), ErrorNo.InvalidSpPar);
  assert.throws(() => ini.receiveResponse(e.response!), (x: unknown) => x instanceof MikeyErrorMessage && x.errorNos[0] === ErrorNo.InvalidSpPar);
  const unknownParam = initiator().createOffer({ sessions: [{ ssrc: 1, params: [{ type: 99, value: Uint8Array.of(1) }] }], group: 'OAKLEY-1' });
  await rejects(responder().receive(unknownParam.bytes), ErrorNo.InvalidSpPar);
  await rejects(responder({ profiles: ['AES_CM_128_HMAC_SHA1_80'] }).receive(initiator().createOffer({ sessions: SESSIONS, group: 'OAKLEY-1' }).bytes), ErrorNo.InvalidSpPar);
  const ok = await responder({ profiles: ['AES_CM_128_HMAC_SHA1_80'] }).receive(initiator().createOffer({ sessions: SESSIONS.slice(0, 1), group: 'OAKLEY-1' }).bytes);
  assert.equal(ok.bundle.sessions[0]!.profile, 'AES_CM_128_HMAC_SHA1_80');
});

test('SDP IDs (RFC 4650 §4.4): carried under the MAC; the responder refuses a list that differs from SDP', async () => {
  const offer = initiator({ sdpIds: ['mikey', 'keyp1'] }).createOffer({ sessions: SESSIONS, group: 'OAKLEY-1' });
  const ext = decodeMessage(offer.bytes).payloads.find((p) => p.type === 21)!;
  assert.ok(ext.type === 21 && ext.extType === 1);
  assert.equal(Buffer.from(ext.data).toString(), 'mikey;keyp1');
  assert.ok(await responder({ sdpIds: ['mikey', 'keyp1'] }).receive(offer.bytes));
  // an attacker peeled keyp1 off the SDP: the responder saw only "mikey"
  const e = await rejects(responder({ sdpIds: ['mikey'] }).receive(offer.bytes), ErrorNo.Unspecified);
  assert.match(e.reason, /bidding-down/);
  await rejects(responder({ sdpIds: ['keyp1', 'mikey'] }).receive(offer.bytes), ErrorNo.Unspecified);
  await rejects(responder({ sdpIds: ['mikey'] }).receive(initiator().createOffer({ sessions: SESSIONS, group: 'OAKLEY-1' }).bytes), ErrorNo.Unspecified);
  assert.ok(await responder().receive(offer.bytes), 'no SDP list given: not checked');
});

test('code points: RFC 4650 Table 4.2.a values (MAC 0, Encr 2) are refused; other layouts and identities', async () => {
  const ini = initiator();
  const offer = ini.createOffer({ sessions: SESSIONS, group: 'OAKLEY-1' });
  const authKey = authKeyOf(offer.bytes);
  const kemacWith = (f: (k: KemacPayload) => KemacPayload) => (ps: Payload[]) => ps.map((x) => (x.type === 1 ? f(x) : x));
  await rejects(responder().receive(remac(offer.bytes, kemacWith((k) => ({ ...k, encrAlg: 2 })), authKey)), ErrorNo.InvalidEa);
  await rejects(responder().receive(remac(offer.bytes, kemacWith((k) => ({ ...k, encrAlg: 1 })), authKey)), ErrorNo.InvalidEa);
  // MAC alg 0 is NULL (no MAC bytes at all): no authentication, refused
  const nullMac = decodeMessage(offer.bytes);
  const noMac = encodeMessage({ header: nullMac.header, payloads: nullMac.payloads.map((x) => (x.type === 1 ? { ...x, macAlg: 0, mac: new Uint8Array(0) } : x)) });
  await rejects(responder().receive(noMac), ErrorNo.InvalidMac);
  // only non-certificate identities: a CERT payload does not belong in DH-HMAC (RFC 4650 §4.1, §4.3)
  const withCert = remac(offer.bytes, (ps) => [...ps.slice(0, 3), { type: 7, certType: 0, data: Uint8Array.of(0x30, 0) }, ...ps.slice(3)], authKey);
  await rejects(responder().receive(withCert), ErrorNo.UnsupportedMessageType);
  // KEMAC must be the last payload (RFC 4650 §4.2), even with a General Extension after it
  const m = decodeMessage(offer.bytes);
  const afterKemac = encodeMessage({ header: m.header, payloads: [...m.payloads, { type: 21, extType: 1, data: new TextEncoder().encode('mikey') }] });
  await rejects(responder().receive(afterKemac), ErrorNo.UnsupportedMessageType);
  // I_MESSAGE for another responder; no IDi and none known
  await rejects(responder({ idr: uriIdentity('sip:carol@example.org') }).receive(offer.bytes), ErrorNo.InvalidId);
  const anon = new DhHmacInitiator({ psk, idr: bob, clock: clockAt(T0) });
  const anonOffer = anon.createOffer({ sessions: SESSIONS, group: 'OAKLEY-1' });
  assert.deepEqual(decodeMessage(anonOffer.bytes).payloads.map((p) => p.type).slice(0, 3), [5, 11, 6], 'IDr only');
  await rejects(responder().receive(anonOffer.bytes), ErrorNo.InvalidId);
  const known = await responder({ idi: alice }).receive(anonOffer.bytes);
  const r = decodeMessage(known.response);
  assert.equal(Buffer.from((r.payloads[2] as { data: Uint8Array }).data).toString(), 'sip:alice@example.org', 'IDi always in the response (RFC 4650 §3)');
  assert.deepEqual(keysOf(anon.receiveResponse(known.response)), keysOf(known.bundle));
  assert.throws(() => new DhHmacInitiator({ psk, clock: clockAt(T0) } as never), TypeError);
});

test('the initiator refuses a response naming another initiator or coming from another responder', async () => {
  const ini = initiator();
  const offer = ini.createOffer({ sessions: SESSIONS, group: 'OAKLEY-1' });
  const authKey = authKeyOf(offer.bytes);
  const got = await responder().receive(offer.bytes);
  const carol = new TextEncoder().encode('sip:carol@example.org');
  const otherIdi = remac(got.response, (ps) => ps.map((x, i) => (i === 2 && x.type === 6 ? { ...x, data: carol } : x)), authKey);
  throwsCode(() => ini.receiveResponse(otherIdi), ErrorNo.InvalidId);
  const otherIdr = remac(got.response, (ps) => ps.map((x, i) => (i === 1 && x.type === 6 ? { ...x, data: carol } : x)), authKey);
  throwsCode(() => ini.receiveResponse(otherIdr), ErrorNo.InvalidId);
  const notEchoed = remac(got.response, (ps) => ps.filter((x) => x.type !== 3 || ps.indexOf(x) !== 4), authKey);
  throwsCode(() => ini.receiveResponse(notEchoed), ErrorNo.InvalidDh);
  assert.ok(ini.receiveResponse(got.response));
});
