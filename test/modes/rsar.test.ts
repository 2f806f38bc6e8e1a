import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { RsaRInitiator, RsaRResponder } from '../../src/modes/rsar/index.js';
import { PskResponder } from '../../src/modes/psk/index.js';
import { PkResponder } from '../../src/modes/pke/index.js';
import { DhResponder } from '../../src/modes/dh/index.js';
import { DhHmacResponder } from '../../src/modes/dhhmac/index.js';
import { uriIdentity, type Identity } from '../../src/session/identity.js';
import { kemacDecrypt, macCompute } from '../../src/crypto/kemac.js';
import { deriveMessageKeys } from '../../src/crypto/prf.js';
import { rsaEnvelopeDecrypt, rsaSign, rsaVerify } from '../../src/crypto/rsa.js';
import { MikeyErrorMessage, MikeyProtocolError } from '../../src/session/errors.js';
import { decodeKeyDataChain, decodeMessage } from '../../src/wire/decode.js';
import { encodeMessage } from '../../src/wire/encode.js';
import { DataType, ErrorNo } from '../../src/wire/registry.js';
import type { CryptoSessionBundle } from '../../src/session/bundle.js';
import type { KemacPayload, Payload } from '../../src/wire/types.js';
import { rejects } from '../support/refusal.js';
import { pki, CA, credentials } from '../support/pki.js';

const alice = credentials('alice');
const bob = credentials('bob');
const idBob = uriIdentity('sip:bob@example.org');
const T0 = Date.UTC(2027, 0, 15, 12);
const clockAt = (ms: number) => ({ now: () => ms });
const keysOf = (b: CryptoSessionBundle) => b.sessions.flatMap((s) => s.keys.map((k) => `${s.csId}:${s.ssrc}:${s.profile}:${Buffer.from(k.masterKey).toString('hex')}/${Buffer.from(k.masterSalt).toString('hex')}/${k.mki ? Buffer.from(k.mki).toString('hex') : ''}`));
const forgetful = { checkAndRecord: () => 'recorded' as const };

const initiator = (o: Partial<ConstructorParameters<typeof RsaRInitiator>[0]> = {}) => new RsaRInitiator({ ...alice, clock: clockAt(T0), ...o });
const responder = (o: Partial<ConstructorParameters<typeof RsaRResponder>[0]> = {}) => new RsaRResponder({ ...bob, clock: clockAt(T0 + 300), ...o });


/** The R_MESSAGE changed by `change` and signed again by `key` over R_MESSAGE || IDi || IDr || T (a hostile or buggy responder). */
function resign(r: Uint8Array, change: (p: Payload[]) => Payload[], key: string, idi: Identity | undefined, idr: Identity | undefined): Uint8Array {
  const m = decodeMessage(r);
  const payloads = change(m.payloads.map((p) => ({ ...p, span: undefined }) as Payload));
  const bytes = encodeMessage({ header: { ...m.header, span: undefined }, payloads });
  const t = payloads.find((p) => p.type === 5)!;
  const sig = rsaSign(key, [bytes.subarray(0, bytes.length - 256), idi?.data ?? new Uint8Array(0), idr?.data ?? new Uint8Array(0), (t as { value: Uint8Array }).value]);
  bytes.set(sig, bytes.length - 256);
  return bytes;
}

test('unicast RSA-R, certificates by value, RAND from the initiator: several crypto sessions, same keys', async () => {
  const ini = initiator({ idr: idBob });
  const req = ini.createOffer({ sessions: [{ ssrc: 0xa1, profile: 'AES_CM_128_HMAC_SHA1_80' }, { ssrc: 0, roc: 2, profile: 'AEAD_AES_128_GCM' }] });
  const i = decodeMessage(req.bytes);
  assert.equal(i.header.dataType, DataType.RsaRInit);
  assert.equal(i.header.v, true, 'V = 1 (RFC 4738 §3.4)');
  assert.deepEqual(i.payloads.map((p) => p.type), [5, 11, 7, 6, 10, 10, 4], 'T, RAND, CERTi, IDr, {SP}, SIGNi');
  const res = responder({ sessions: [{ ssrc: 0xb1 }] });
  const got = await res.receive(req.bytes);
  assert.equal(Buffer.from(got.idi!.data).toString(), 'sip:alice@example.org', 'IDi from CERTi');
  const r = decodeMessage(got.response);
  assert.equal(r.header.dataType, DataType.RsaRResp);
  assert.equal(r.header.csbId, i.header.csbId);
  assert.deepEqual(r.payloads.map((p) => p.type), [5, 7, 10, 10, 1, 2, 4], 'T, CERTr, SP, SP, KEMAC, PKE, SIGNr: no RAND (the initiator sent it)');
  const map = r.header.csIdMap;
  assert.ok(map.type === 0 && map.entries.length === 3 && map.entries[0]!.ssrc === 0xa1 && map.entries[1]!.ssrc !== 0 && map.entries[2]!.ssrc === 0xb1, 'SSRC 0 filled in, our stream added');
  const result = await ini.receiveResponse(got.response);
  assert.deepEqual(keysOf(result.bundle), keysOf(got.bundle));
  assert.equal(result.bundle.sessions.length, 3);
  assert.deepEqual(result.bundle.sessions.map((s) => s.profile), ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80']);
  assert.deepEqual(result.bundle.rand, (i.payloads[1] as { rand: Uint8Array }).rand, 'the initiator\'s RAND keys the TEKs');
  assert.equal(Buffer.from(result.idr.data).toString(), 'sip:bob@example.org');
  assert.ok(result.certificate instanceof X509Certificate);
});

test('the SIGNr coverage is R_MESSAGE || IDi || IDr || T and the KEMAC MAC covers the KEMAC alone (RFC 4738 §3.6)', async () => {
  const ini = initiator({ idi: uriIdentity('sip:alice@example.org'), sendIdi: true, idr: idBob });
  const req = ini.createOffer({ sessions: [{ ssrc: 1 }] });
  const { response } = await responder({ sendIdr: true }).receive(req.bytes);
  const r = decodeMessage(response);
  const t = (r.payloads[0] as { value: Uint8Array }).value;
  const bobKey = createPublicKey(bob.certificate);
  const sig = response.subarray(-256);
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.ok(rsaVerify(bobKey, [response.subarray(0, -256), enc('sip:alice@example.org'), enc('sip:bob@example.org'), t], sig));
  assert.ok(!rsaVerify(bobKey, response.subarray(0, -256), sig), 'not over the message alone');
  // the envelope key opens a KEMAC whose MAC is over the KEMAC with its Next payload zeroed
  const kemac = r.payloads.find((p) => p.type === 1) as KemacPayload;
  const pke = r.payloads.find((p) => p.type === 2)!;
  const env = rsaEnvelopeDecrypt(alice.privateKey, (pke as { data: Uint8Array }).data, { expectedLength: 16 });
  const rand = decodeMessage(req.bytes).payloads.find((p) => p.type === 11)!;
  const mk = deriveMessageKeys(env, r.header.csbId, (rand as { rand: Uint8Array }).rand, 'MIKEY-1', { encrAlg: 'AES-CM-128', macAlg: 'HMAC-SHA-1-160' });
  const covered = Uint8Array.from(response.subarray(kemac.span!.start, kemac.span!.end - 20));
  covered[0] = 0;
  assert.deepEqual(macCompute('HMAC-SHA-1-160', mk.authKey, covered), kemac.mac);
  const plain = decodeKeyDataChain(kemacDecrypt('AES-CM-128', mk, kemac.encrData, { csbId: r.header.csbId, t }), 6);
  assert.deepEqual(plain.map((p) => p.type), [6, 20], 'IDr || TGK');
  assert.ok(await ini.receiveResponse(response));
});

test('RAND from the responder when the initiator sends none; both or neither: discarded (RFC 4738 §3.7)', async () => {
  const ini = initiator();
  const req = ini.createOffer({ sessions: [{ ssrc: 1 }], rand: false });
  assert.equal(decodeMessage(req.bytes).payloads.some((p) => p.type === 11), false);
  const got = await responder().receive(req.bytes);
  const r = decodeMessage(got.response);
  const rand = r.payloads.find((p) => p.type === 11);
  assert.ok(rand && rand.type === 11 && rand.rand.length === 16, 'the responder sends RAND');
  const result = await ini.receiveResponse(got.response);
  assert.deepEqual(keysOf(result.bundle), keysOf(got.bundle));
  assert.deepEqual(result.bundle.rand, rand.rand);
  // neither side: remove the responder's RAND and sign again
  const ini2 = initiator();
  const req2 = ini2.createOffer({ sessions: [{ ssrc: 1 }], rand: false });
  const got2 = await responder().receive(req2.bytes);
  await rejects(ini2.receiveResponse(resign(got2.response, (p) => p.filter((x) => x.type !== 11), bob.privateKey, undefined, undefined)), ErrorNo.UnsupportedMessageType);
  // both sides: the initiator sent RAND and the answer carries one too
  const ini3 = initiator();
  const got3 = await responder().receive(ini3.createOffer({ sessions: [{ ssrc: 1 }] }).bytes);
  const both = resign(got3.response, (p) => [p[0]!, { type: 11, rand: new Uint8Array(16).fill(3) }, ...p.slice(1)], bob.privateKey, undefined, undefined);
  await rejects(ini3.receiveResponse(both), ErrorNo.UnsupportedMessageType);
  assert.ok(await ini3.receiveResponse(got3.response), 'the intact answer is still accepted');
});

test('group mode: three initiators get the same CSB ID, RAND, policy and TGK (RFC 4738 §3.2)', async () => {
  const resolver = async (url: string) => {
    if (url === 'http://certs.example.org/alice.cer') return new Uint8Array(new X509Certificate(alice.certificate).raw);
    throw new Error(`no ${url}`);
  };
  const dave = uriIdentity('sip:dave@example.org');
  const res = responder({
    group: { csbId: 0x600d600d, sessions: [{ ssrc: 0x5e0d }, { ssrc: 0x5e0e, profile: 'AES_256_CM_HMAC_SHA1_32' }] },
    minimumPolicy: { minTagLength: 4 },
    certificateResolver: resolver,
    peerKey: (id) => (id && Buffer.from(id.data).toString() === 'sip:dave@example.org' ? createPublicKey(pki('mallory.key')) : undefined),
    replayCache: forgetful,
  });
  const members = [
    initiator(),
    initiator({ certificateUrl: 'http://certs.example.org/alice.cer' }),
    new RsaRInitiator({ privateKey: pki('mallory.key'), idi: dave, trustAnchors: [CA], clock: clockAt(T0) }),
  ];
  const results = [];
  for (const m of members) {
    const req = m.createOffer({ group: true });
    const i = decodeMessage(req.bytes);
    assert.equal(i.payloads.some((p) => p.type === 10 || p.type === 11), false, 'no SP, no RAND');
    assert.equal(i.header.csIdMap.type === 0 && i.header.csIdMap.entries.length, 0, '#CS = 0 for a listener');
    const got = await res.receive(req.bytes);
    const r = decodeMessage(got.response);
    assert.deepEqual(r.payloads.map((p) => p.type), [21, 5, 11, 7, 10, 10, 1, 2, 4], 'GenExt(CSB_ID), T, RAND, CERTr, SP, KEMAC, PKE, SIGNr');
    assert.equal(r.header.csbId, i.header.csbId, 'the HDR keeps the initiator\'s CSB ID');
    const result = await m.receiveResponse(got.response);
    assert.equal(result.groupCsbId, 0x600d600d);
    assert.equal(result.bundle.csbId, 0x600d600d);
    assert.deepEqual(keysOf(result.bundle), keysOf(got.bundle));
    results.push(result.bundle);
  }
  assert.deepEqual(keysOf(results[1]!), keysOf(results[0]!));
  assert.deepEqual(keysOf(results[2]!), keysOf(results[0]!));
  assert.deepEqual(keysOf(results[0]!), keysOf(res.groupBundle!));
  assert.deepEqual(results[0]!.sessions.map((s) => [s.ssrc, s.profile]), [[0x5e0d, 'AES_CM_128_HMAC_SHA1_80'], [0x5e0e, 'AES_256_CM_HMAC_SHA1_32']]);
  // a unicast answer to a group request lacks CSB_ID and is discarded; and the other way round
  const g = initiator();
  await rejects(g.receiveResponse((await responder().receive(g.createOffer({ group: true }).bytes)).response), ErrorNo.UnsupportedMessageType);
  const u = initiator();
  const e = await rejects(u.receiveResponse((await res.receive(u.createOffer({ sessions: [{ ssrc: 1 }], rand: false }).bytes)).response), ErrorNo.UnsupportedMessageType);
  assert.match(e.reason, /CSB_ID extension in a unicast/);
  // a proposal that is not the group's policy
  await rejects(res.receive(initiator().createOffer({ sessions: [{ ssrc: 1, profile: 'AEAD_AES_256_GCM' }] }).bytes), ErrorNo.InvalidSpPar);
});

test('certificates by URL: resolved by the application in both directions; no resolver or a failing one: Invalid Cert', async () => {
  const store = new Map([['http://pki.example.org/alice.cer', alice.certificate], ['http://pki.example.org/bob.cer', bob.certificate]]);
  const fetched: string[] = [];
  const resolver = async (url: string) => {
    fetched.push(url);
    const pem = store.get(url);
    if (!pem) throw new Error('404');
    return pem;
  };
  const ini = initiator({ certificateUrl: 'http://pki.example.org/alice.cer', certificateResolver: resolver });
  const req = ini.createOffer({ sessions: [{ ssrc: 7 }] });
  const cert = decodeMessage(req.bytes).payloads.find((p) => p.type === 7)!;
  assert.ok(cert.type === 7 && cert.certType === 1 && Buffer.from(cert.data).toString() === 'http://pki.example.org/alice.cer');
  const got = await responder({ certificateUrl: 'http://pki.example.org/bob.cer', certificateResolver: resolver }).receive(req.bytes);
  const result = await ini.receiveResponse(got.response);
  assert.deepEqual(keysOf(result.bundle), keysOf(got.bundle));
  assert.deepEqual(fetched, ['http://pki.example.org/alice.cer', 'http://pki.example.org/bob.cer']);
  await rejects(responder().receive(req.bytes), ErrorNo.InvalidCert);
  const gone = initiator({ certificateUrl: 'http://pki.example.org/nobody.cer' }).createOffer({ sessions: [{ ssrc: 7 }] });
  const e = await rejects(responder({ certificateResolver: resolver }).receive(gone.bytes), ErrorNo.InvalidCert);
  assert.match(e.reason, /could not be fetched/);
});

test('bad chain, expired certificate, no signing usage, unknown key: Invalid Cert at both ends', async () => {
  const req = (cred: { privateKey: string; certificate: string }, at = T0) => new RsaRInitiator({ ...cred, trustAnchors: [CA], clock: clockAt(at) }).createOffer({ sessions: [{ ssrc: 1 }] });
  const e1 = await rejects(responder().receive(req({ privateKey: pki('mallory.key'), certificate: pki('mallory.pem') }).bytes), ErrorNo.InvalidCert);
  assert.match(e1.reason, /no trusted issuer/);
  const late = Date.UTC(2047, 0, 1);
  const e2 = await rejects(responder({ clock: clockAt(late) }).receive(req(alice, late).bytes), ErrorNo.InvalidCert);
  assert.match(e2.reason, /not valid at 2047/);
  await rejects(responder({ clock: clockAt(Date.UTC(2025, 0, 1)) }).receive(req(alice, Date.UTC(2025, 0, 1)).bytes), ErrorNo.InvalidCert);
  const e3 = await rejects(responder().receive(req({ privateKey: pki('carol.key'), certificate: pki('carol.pem') }).bytes), ErrorNo.InvalidCert);
  assert.match(e3.reason, /does not allow digitalSignature/);
  // no certificate and no known key for the claimed identity
  await rejects(responder().receive(new RsaRInitiator({ privateKey: alice.privateKey, idi: uriIdentity('sip:alice@example.org'), clock: clockAt(T0) }).createOffer().bytes), ErrorNo.InvalidCert);
  // the initiator checks the responder's chain the same way
  const ini = initiator();
  const fromMallory = await new RsaRResponder({ privateKey: pki('mallory.key'), certificate: pki('mallory.pem'), trustAnchors: [CA], clock: clockAt(T0) }).receive(ini.createOffer({ sessions: [{ ssrc: 1 }] }).bytes);
  await rejects(ini.receiveResponse(fromMallory.response), ErrorNo.InvalidCert);
  // bob's certificate has expired by the initiator's clock
  const ini2 = initiator({ clock: clockAt(late) });
  const lateAnswer = await responder({ maxSkewMs: Infinity }).receive(ini2.createOffer({ sessions: [{ ssrc: 1 }] }).bytes);
  const e4 = await rejects(ini2.receiveResponse(lateAnswer.response), ErrorNo.InvalidCert);
  assert.match(e4.reason, /bob/);
});

test('wrong keys, forged signatures, stale and replayed T: no keys', async () => {
  // SIGNi by another key than CERTi's
  const impostor = new RsaRInitiator({ privateKey: pki('bob.key'), certificate: alice.certificate, clock: clockAt(T0) });
  await rejects(responder().receive(impostor.createOffer({ sessions: [{ ssrc: 1 }] }).bytes), ErrorNo.AuthFailure);
  const ini = initiator();
  const req = ini.createOffer({ sessions: [{ ssrc: 1 }] });
  await rejects(responder({ clock: clockAt(T0 + 3_600_000) }).receive(req.bytes), ErrorNo.InvalidTs);
  const res = responder();
  const got = await res.receive(req.bytes);
  const replay = await rejects(res.receive(req.bytes), ErrorNo.InvalidTs);
  assert.equal(decodeMessage(replay.response!).header.dataType, DataType.Error);
  // SIGNr by mallory under bob's certificate
  await rejects(ini.receiveResponse(resign(got.response, (p) => p, pki('mallory.key'), undefined, undefined)), ErrorNo.AuthFailure);
  // a PKE for someone else: the envelope key opens nothing (implicit rejection, then the MAC fails)
  const other = await responder().receive(initiator({ privateKey: alice.privateKey }).createOffer({ sessions: [{ ssrc: 1 }] }).bytes);
  const otherPke = decodeMessage(other.response).payloads.find((p) => p.type === 2)!;
  const swapped = resign(got.response, (p) => p.map((x) => (x.type === 2 ? { ...otherPke, span: undefined } : x)), bob.privateKey, undefined, undefined);
  await rejects(ini.receiveResponse(swapped), ErrorNo.AuthFailure);
  // a response to another request (other T)
  const ini2 = initiator({ clock: clockAt(T0 + 1) });
  ini2.createOffer({ sessions: [{ ssrc: 1 }], csbId: decodeMessage(req.bytes).header.csbId });
  await rejects(ini2.receiveResponse(got.response), ErrorNo.InvalidTs);
  assert.ok(await ini.receiveResponse(got.response));
});

test('policies: the responder picks among those proposed; none acceptable: Invalid SPpar with ours; unproposed: discarded', async () => {
  const ini = initiator({ idr: idBob });
  const req = ini.createOffer({ sessions: [{ ssrc: 1, profile: 'AES_256_CM_HMAC_SHA1_80' }], policies: ['AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_32'] });
  assert.equal(decodeMessage(req.bytes).payloads.filter((p) => p.type === 10).length, 3);
  const got = await responder({ profiles: ['AES_CM_128_HMAC_SHA1_32', 'AEAD_AES_128_GCM'], minimumPolicy: { minTagLength: 4 } }).receive(req.bytes);
  const r = decodeMessage(got.response);
  const sps = r.payloads.filter((p) => p.type === 10);
  assert.equal(sps.length, 1, 'one policy for the one stream');
  const result = await ini.receiveResponse(got.response);
  assert.deepEqual(result.bundle.sessions.map((s) => s.profile), ['AEAD_AES_128_GCM'], 'the first acceptable proposal');
  const e = await rejects(responder({ profiles: ['NULL_HMAC_SHA1_80'] }).receive(initiator().createOffer({ sessions: [{ ssrc: 1 }] }).bytes), ErrorNo.InvalidSpPar);
  const err = decodeMessage(e.response!);
  assert.deepEqual(err.payloads.map((p) => p.type), [5, 12, 10], 'the Error message lists our policy (RFC 3830 §5.1.1)');
  const unknown = initiator().createOffer({ sessions: [{ ssrc: 1, params: [{ type: 0, value: Uint8Array.of(9) }] }] });
  await rejects(responder().receive(unknown.bytes), ErrorNo.InvalidSpPar);
  // the initiator discards an R_MESSAGE whose policy it did not propose (RFC 4738 §3.7)
  const ini2 = initiator();
  const got2 = await responder().receive(ini2.createOffer({ sessions: [{ ssrc: 1 }] }).bytes);
  const changed = resign(got2.response, (p) => p.map((x) => (x.type === 10 ? { type: 10, policyNo: x.policyNo, protType: 0, params: [{ type: 0, value: Uint8Array.of(0) }] } : x)), bob.privateKey, undefined, undefined);
  await rejects(ini2.receiveResponse(changed), ErrorNo.InvalidSpPar);
  // no proposal: the responder's policy
  const ini3 = initiator();
  const got3 = await responder({ policy: 'AES_256_CM_HMAC_SHA1_32', sessions: [{ ssrc: 0x77 }], minimumPolicy: { minTagLength: 4 } }).receive(ini3.createOffer().bytes);
  assert.deepEqual((await ini3.receiveResponse(got3.response)).bundle.sessions.map((s) => [s.ssrc, s.profile]), [[0x77, 'AES_256_CM_HMAC_SHA1_32']]);
});

test('responder identity: the one asked for, the IDr in the KEMAC, local policy (RFC 4738 §3.4, §5)', async () => {
  const carolId = uriIdentity('sip:carol@example.org');
  await rejects(responder().receive(initiator({ idr: carolId }).createOffer({ sessions: [{ ssrc: 1 }] }).bytes), ErrorNo.InvalidId);
  const ini = initiator({ acceptResponder: (id) => Buffer.from(id.data).toString() !== 'sip:bob@example.org' });
  await rejects(ini.receiveResponse((await responder().receive(ini.createOffer({ sessions: [{ ssrc: 1 }] }).bytes)).response), ErrorNo.InvalidId);
  // a responder answering for someone else: a clear IDr that is not the IDr in its KEMAC
  const ini2 = initiator();
  const got = await responder({ idr: carolId, sendIdr: true }).receive(ini2.createOffer({ sessions: [{ ssrc: 1 }] }).bytes);
  const lying = resign(got.response, (p) => p.map((x) => (x.type === 6 ? { ...x, data: idBob.data } : x)), bob.privateKey, undefined, idBob);
  await rejects(ini2.receiveResponse(lying), ErrorNo.InvalidId);
  assert.equal(Buffer.from((await ini2.receiveResponse(got.response)).idr.data).toString(), 'sip:carol@example.org');
});

test('updates (RFC 3830 §4.5): same CSB ID, no RAND on either side, a new TGK; sessions can change', async () => {
  let now = T0;
  const clock = { now: () => now };
  const ini = initiator({ clock });
  const res = responder({ clock });
  const first = await ini.receiveResponse((await res.receive(ini.createOffer({ sessions: [{ ssrc: 1 }] }).bytes)).response);
  now += 2000;
  const up = ini.createUpdate({ sessions: [{ ssrc: 1 }, { ssrc: 2 }] });
  const u = decodeMessage(up.bytes);
  assert.equal(u.header.csbId, first.bundle.csbId);
  assert.equal(u.payloads.some((p) => p.type === 11), false);
  const got = await res.receive(up.bytes);
  assert.equal(got.update, true);
  assert.equal(decodeMessage(got.response).payloads.some((p) => p.type === 11), false);
  const second = await ini.receiveResponse(got.response);
  assert.deepEqual(keysOf(second.bundle), keysOf(got.bundle));
  assert.equal(second.bundle.sessions.length, 2);
  assert.deepEqual(second.bundle.rand, first.bundle.rand);
  assert.notEqual(keysOf(second.bundle)[0], keysOf(first.bundle)[0], 'a new TGK');
  // a responder that lost the CSB answers with a RAND: not an update answer
  now += 2000;
  await rejects(ini.receiveResponse((await responder({ clock }).receive(ini.createUpdate().bytes)).response), ErrorNo.UnsupportedMessageType);
});

test('OAEP envelope, PSS signatures, AES-KW-128, PRF-HMAC-SHA-256', async () => {
  const envelope = { padding: 'oaep' as const, oaepHash: 'sha256' as const, keyLength: 32 };
  const ini = initiator({ scheme: 'pss', envelope, prf: 'PRF-HMAC-SHA-256' });
  const got = await responder({ scheme: 'pss', envelope, encrAlg: 'AES-KW-128', macAlg: 'HMAC-SHA-256-256' }).receive(ini.createOffer({ sessions: [{ ssrc: 3 }] }).bytes);
  assert.deepEqual(keysOf((await ini.receiveResponse(got.response)).bundle), keysOf(got.bundle));
});

test('a flipped bit anywhere in the I_MESSAGE or the R_MESSAGE is never accepted', async () => {
  const ini = initiator({ idr: idBob });
  const req = ini.createOffer({ sessions: [{ ssrc: 1 }] });
  const res = responder({ replayCache: forgetful });
  for (let bit = 0; bit < req.bytes.length * 8; bit++) {
    const b = Uint8Array.from(req.bytes);
    b[bit >> 3]! ^= 0x80 >> (bit & 7);
    try {
      await res.receive(b);
      assert.fail(`I_MESSAGE bit ${bit} flipped and accepted`);
    } catch (e) {
      assert.ok(e instanceof MikeyProtocolError, `bit ${bit}: ${String(e)}`);
    }
  }
  const answer = (await res.receive(req.bytes)).response;
  for (let bit = 0; bit < answer.length * 8; bit++) {
    const b = Uint8Array.from(answer);
    b[bit >> 3]! ^= 0x80 >> (bit & 7);
    try {
      await ini.receiveResponse(b);
      assert.fail(`R_MESSAGE bit ${bit} flipped and accepted`);
    } catch (e) {
      assert.ok(e instanceof MikeyProtocolError || e instanceof MikeyErrorMessage, `bit ${bit}: ${String(e)}`);
    }
  }
  assert.ok(await ini.receiveResponse(answer));
});

test('responders of the other methods answer an RSA-R I_MESSAGE with Unsupported message type (13)', async () => {
  const req = initiator().createOffer({ sessions: [{ ssrc: 1 }] });
  const others = [
    new PskResponder({ psk: new Uint8Array(16), clock: clockAt(T0) }),
    new PkResponder({ ...bob, clock: clockAt(T0) }),
    new DhResponder({ ...bob, clock: clockAt(T0) }),
    new DhHmacResponder({ psk: new Uint8Array(16), clock: clockAt(T0) }),
  ];
  for (const r of others) {
    const e = await rejects(r.receive(req.bytes), ErrorNo.UnsupportedMessageType);
    const err = decodeMessage(e.response!);
    assert.equal(err.header.dataType, DataType.Error);
    assert.deepEqual(err.payloads.filter((p) => p.type === 12).map((p) => (p as { errorNo: number }).errorNo), [13]);
  }
  // and an RSA-R responder given another method's message, or bytes it cannot parse
  await rejects(responder().receive(Uint8Array.of(1, 9, 5, 0x80, 0, 0, 0, 1, 0)), ErrorNo.UnsupportedMessageType);
  const psk = decodeMessage(req.bytes);
  await rejects(responder().receive(encodeMessage({ header: { ...psk.header, dataType: DataType.DhInit }, payloads: psk.payloads })), ErrorNo.UnsupportedMessageType);
});
