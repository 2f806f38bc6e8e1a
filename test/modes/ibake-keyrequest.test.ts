// MIKEY-IBAKE private-key requests (RFC 6267 §4.2.1): REQUEST_KEY_PSK / REQUEST_KEY_PKE and
// REQUEST_KEY_RESP, with the KMS-side issuer of src/idkms; the keys then serve an exchange.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IbakeKeyRequester, IbakeKeyResponder, type KeyResponderOptions } from '../../src/modes/ibake/keyrequest.js';
import { IbakeInitiator, IbakeResponder } from '../../src/modes/ibake/index.js';
import { IbakeKeyRing } from '../../src/modes/ibake/keyring.js';
import { uriIdentity } from '../../src/session/identity.js';
import { IbeKeyIssuer } from '../../src/idkms/ibe-issuer.js';
import { MemoryIdKmsStore } from '../../src/idkms/store.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { DataType, ErrorNo } from '../../src/wire/registry.js';
import { MikeyErrorMessage, MikeyProtocolError } from '../../src/session/errors.js';
import { alice, bob, carol, clockAt, PERIOD, rejects, sameKeys, smallCurve, T0, testKms } from './ibake-support.js';
import { pki } from '../support/pki.js';

const kmsId = uriIdentity('kms.example.org');
const psks = new Map([['sip:alice@example.org', new Uint8Array(16).fill(1)], ['sip:bob@example.org', new Uint8Array(16).fill(2)]]);
const pskOf = (users: readonly { data: Uint8Array }[]) => (users.length === 1 ? psks.get(Buffer.from(users[0]!.data).toString()) : undefined);

const kms = testKms();
const issueRaw: KeyResponderOptions['issue'] = (id, nos) => nos.map((no) => ({ periodNo: no, key: kms.extract(id, no) }));

function responder(extra: Partial<KeyResponderOptions> = {}) {
  return new IbakeKeyResponder({
    kms: kmsId, domain: kms.domain, issue: issueRaw, psk: pskOf, clock: clockAt(T0 + 200),
    pke: { privateKey: pki('carol.key'), certificate: pki('carol.pem'), trustAnchors: [pki('ca.pem')] },
    ...extra,
  });
}

test('REQUEST_KEY_PSK: K_PR for the current and the next key period, validated, then an exchange with them', async () => {
  const rings = new Map<string, IbakeKeyRing>();
  for (const [who, id] of [['alice', alice], ['bob', bob]] as const) {
    const req = new IbakeKeyRequester({ identities: [id], kms: kmsId, domain: kms.domain, psk: psks.get(`sip:${who}@example.org`)!, pskId: uriIdentity(`psk:${who}`), clock: clockAt(T0) });
    const bytes = req.createRequest();
    const m = decodeMessage(bytes);
    assert.equal(m.header.dataType, DataType.RequestKeyPsk);
    assert.deepEqual([m.header.csIdMap.type, m.header.v], [1, true]);
    const served = await responder().receive(bytes);
    assert.deepEqual(served.issued.map((x) => x.periodNo), [PERIOD, PERIOD + 1]);
    const resp = decodeMessage(served.response);
    assert.equal(resp.header.dataType, DataType.RequestKeyResp);
    assert.equal(resp.header.v, false);
    assert.equal(resp.header.csbId, m.header.csbId);
    // the KEMAC MAC is NULL (§4.2.1.3), V carries the MAC
    assert.equal((resp.payloads.find((p) => p.type === 1) as { macAlg: number }).macAlg, 0);
    const ring = new IbakeKeyRing(kms.domain);
    const keys = req.receiveInto(served.response, ring);
    assert.deepEqual(keys.map((k) => k.periodNo), [PERIOD, PERIOD + 1]);
    assert.ok(ring.has(id, PERIOD) && ring.has(id, PERIOD + 1));
    rings.set(who, ring);
  }
  // the keys work: tomorrow's too
  for (const at of [T0, T0 + 86_400_000]) {
    const ini = new IbakeInitiator({ idi: alice, keys: rings.get('alice')!, clock: clockAt(at) });
    const res = new IbakeResponder({ keys: rings.get('bob')!, clock: clockAt(at) });
    const r1 = await res.receive(ini.createOffer({ idr: bob, sessions: [{ ssrc: 9 }] }).bytes);
    const r2 = await res.receive(ini.receiveResponse(r1.response).bytes);
    sameKeys(ini.receiveVerification(r2.response), r2.bundle!);
  }
});

// the test certificates are valid from 2026-11-27T17:46Z
const TP = T0 + 86_400_000;

test('REQUEST_KEY_PKE: signed by the user\'s certified key, the envelope to the KMS certificate, with CHASH', async () => {
  const req = new IbakeKeyRequester({
    identities: [alice], kms: kmsId, domain: kms.domain, privateKey: pki('alice.key'), certificate: pki('alice.pem'), kmsKey: pki('carol.pem'), chash: true, clock: clockAt(TP),
  });
  const bytes = req.createRequest();
  assert.equal(decodeMessage(bytes).header.dataType, DataType.RequestKeyPke);
  const served = await responder({ clock: clockAt(TP) }).receive(bytes);
  const keys = req.receiveResponse(served.response);
  assert.equal(keys.length, 2);
  assert.equal(Buffer.from(keys[0]!.identity.data).toString(), 'sip:alice@example.org');
  // alice's certificate does not make her bob
  const forBob = new IbakeKeyRequester({ identities: [bob], kms: kmsId, domain: kms.domain, privateKey: pki('alice.key'), certificate: pki('alice.pem'), kmsKey: pki('carol.pem'), clock: clockAt(TP) });
  await rejects(responder({ clock: clockAt(TP) }).receive(forBob.createRequest()), ErrorNo.InvalidId);
  // mallory's self-signed certificate is not trusted
  const mallory = new IbakeKeyRequester({ identities: [alice], kms: kmsId, domain: kms.domain, privateKey: pki('mallory.key'), certificate: pki('mallory.pem'), kmsKey: pki('carol.pem'), clock: clockAt(TP) });
  await rejects(responder({ clock: clockAt(TP) }).receive(mallory.createRequest()), ErrorNo.InvalidCert);
  // signed with another key than the certificate's
  const forged = new IbakeKeyRequester({ identities: [alice], kms: kmsId, domain: kms.domain, privateKey: pki('bob.key'), certificate: pki('alice.pem'), kmsKey: pki('carol.pem'), clock: clockAt(TP) });
  await rejects(responder({ clock: clockAt(TP) }).receive(forged.createRequest()), ErrorNo.AuthFailure);
});

test('refusals: wrong PSK, unknown user, another KMS, replay, tampering of request and response', async () => {
  const mk = (psk = psks.get('sip:alice@example.org')!, over: object = {}) => new IbakeKeyRequester({ identities: [alice], kms: kmsId, domain: kms.domain, psk, clock: clockAt(T0), ...over });
  const wrong = await rejects(responder().receive(mk(new Uint8Array(16).fill(9)).createRequest()), ErrorNo.AuthFailure);
  assert.ok(wrong.response && !decodeMessage(wrong.response).payloads.some((p) => p.type === 9), 'unauthenticated Error message');
  // an unknown user is answered like a wrong key (no user enumeration)
  await rejects(responder().receive(mk(undefined, { identities: [carol] }).createRequest()), ErrorNo.AuthFailure);
  await rejects(responder().receive(mk(undefined, { kms: uriIdentity('kms.other.org') }).createRequest()), ErrorNo.InvalidId);
  const res = responder();
  const once = mk().createRequest();
  await res.receive(once);
  await rejects(res.receive(once), ErrorNo.InvalidTs);
  await rejects(responder({ clock: clockAt(T0 + 3_600_000) }).receive(mk().createRequest()), ErrorNo.InvalidTs);
  // an authorization policy says no: Invalid ID, with an authenticated Error message the user can check
  const denier = mk();
  const denied = await rejects(responder({ authorize: () => false }).receive(denier.createRequest()), ErrorNo.InvalidId);
  assert.throws(() => denier.receiveResponse(denied.response!), (e: unknown) => e instanceof MikeyErrorMessage && e.authenticated && e.errorNos[0] === ErrorNo.InvalidId);
  // every byte of a request flipped: refused (or, for the V flag the KMS ignores, served correctly)
  const good = mk();
  const bytes = good.createRequest();
  let served = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = Uint8Array.from(bytes);
    c[i]! ^= 0x04;
    try {
      await responder().receive(c);
      served++;
    } catch (e) {
      assert.ok(e instanceof MikeyProtocolError, String(e));
    }
  }
  assert.ok(served <= 2, `${served} altered requests served`);
  // every byte of the response flipped: the user refuses it
  const resp = (await responder().receive(bytes)).response;
  for (let i = 0; i < resp.length; i++) {
    const c = Uint8Array.from(resp);
    c[i]! ^= 0x04;
    const r = mk();
    Object.assign(r, { state: (good as unknown as { state: unknown }).state });
    if (i === 3) continue; // V flag of the response: ignored (§4.2.1.3)
    assert.throws(() => r.receiveResponse(c), (e: unknown) => e instanceof MikeyProtocolError || e instanceof MikeyErrorMessage, `byte ${i}`);
  }
  assert.equal(good.receiveResponse(resp).length, 2);
});

test('a KMS that issues a key of the wrong identity or period: the user refuses it', async () => {
  const liars: Array<KeyResponderOptions['issue']> = [
    (_id, nos) => nos.map((no) => ({ periodNo: no, key: kms.extract(carol, no) })),
    (id, nos) => nos.map((no) => ({ periodNo: no, key: kms.extract(id, no + 1) })),
    (id, nos) => nos.map((no) => ({ periodNo: no, key: testKms().extract(id, no) })),
  ];
  for (const issue of liars) {
    const req = new IbakeKeyRequester({ identities: [alice], kms: kmsId, domain: kms.domain, psk: psks.get('sip:alice@example.org')!, clock: clockAt(T0) });
    const served = await responder({ issue }).receive(req.createRequest());
    await rejects(() => req.receiveResponse(served.response), ErrorNo.Unspecified);
  }
  // the other algorithms: MIKEY-1, HMAC-SHA-1-160, AES-CM-256
  const req = new IbakeKeyRequester({ identities: [alice], kms: kmsId, domain: kms.domain, psk: psks.get('sip:alice@example.org')!, clock: clockAt(T0), prf: 'MIKEY-1', macAlg: 'HMAC-SHA-1-160' });
  const served = await responder({ encrAlg: 'AES-CM-256' }).receive(req.createRequest());
  assert.equal(req.receiveResponse(served.response).length, 2, 'MIKEY-1 / HMAC-SHA-1 / AES-CM-256 served too');
});

test('with the identity KMS of src/idkms: keys issued once, the same on a second request, rotation by key period', async () => {
  const store = new MemoryIdKmsStore();
  const masterKey = new Uint8Array(32).fill(0x42);
  const issuer = await IbeKeyIssuer.open({ store, masterKey, curve: smallCurve, hash: 'sha1', clock: clockAt(T0) });
  await issuer.rotate(PERIOD + 1);
  const domain = issuer.domain();
  assert.notDeepEqual(domain.paramsFor(PERIOD)!.Ppub, domain.paramsFor(PERIOD + 1)!.Ppub);
  const res = new IbakeKeyResponder({ kms: kmsId, domain, issue: issuer.issuer(), psk: pskOf, clock: clockAt(T0), periods: 2 });
  const ask = async () => {
    const req = new IbakeKeyRequester({ identities: [alice], kms: kmsId, domain, psk: psks.get('sip:alice@example.org')!, clock: clockAt(T0) });
    return req.receiveResponse((await res.receive(req.createRequest())).response);
  };
  const first = await ask();
  const again = await ask();
  assert.deepEqual(first.map((k) => k.key), again.map((k) => k.key));
  assert.equal(store.dump().issued.length, 2);
  // a reopened issuer (same store, same master key) serves the same parameters
  const reopened = await IbeKeyIssuer.open({ store, masterKey, clock: clockAt(T0) });
  assert.deepEqual(reopened.domain().paramsFor(PERIOD + 1)!.Ppub, domain.paramsFor(PERIOD + 1)!.Ppub);
});
