import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PkInitiator, PkResponder } from '../../src/modes/pke/index.js';
import { PskInitiator, PskResponder } from '../../src/modes/psk/index.js';
import { uriIdentity } from '../../src/session/identity.js';
import { MikeyProtocolError } from '../../src/session/errors.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { ErrorNo, DataType } from '../../src/wire/registry.js';
import type { CryptoSessionBundle } from '../../src/session/bundle.js';
import { rejects } from '../support/refusal.js';
import { pki, CA } from '../support/pki.js';

const alice = { privateKey: pki('alice.key'), certificate: pki('alice.pem') };
const bob = { privateKey: pki('bob.key'), certificate: pki('bob.pem') };
const T0 = Date.UTC(2027, 0, 15, 12);
const clockAt = (ms: number) => ({ now: () => ms });

function keysOf(b: CryptoSessionBundle): string[] {
  return b.sessions.flatMap((s) => s.keys.map((k) => `${s.csId}:${Buffer.from(k.masterKey).toString('hex')}/${Buffer.from(k.masterSalt).toString('hex')}`));
}
const responder = (o: Partial<ConstructorParameters<typeof PkResponder>[0]> = {}) =>
  new PkResponder({ ...bob, trustAnchors: [CA], clock: clockAt(T0), idr: uriIdentity('sip:bob@example.org'), ...o });

for (const variant of [
  { name: 'PKCS#1 v1.5 envelope and signature, AES-CM-128', ini: {}, res: {} },
  { name: 'OAEP envelope, PSS signature, AES-KW-128 with the NULL MAC, CHASH', ini: { envelope: { padding: 'oaep' as const }, scheme: 'pss' as const, encrAlg: 'AES-KW-128' as const, macAlg: 'NULL' as const, chash: true }, res: { envelope: { padding: 'oaep' as const } } },
  { name: 'PRF-HMAC-SHA-256, AES-CM-256, HMAC-SHA-256-256, 32-byte envelope key', ini: { prf: 'PRF-HMAC-SHA-256' as const, encrAlg: 'AES-CM-256' as const, macAlg: 'HMAC-SHA-256-256' as const, envelope: { keyLength: 32 } }, res: {} },
]) {
  test(`public-key exchange: ${variant.name}`, async () => {
    const ini = new PkInitiator({ ...alice, responderKey: bob.certificate, clock: clockAt(T0), ...variant.ini });
    const offer = ini.createOffer({ sessions: [{ ssrc: 1 }, { ssrc: 2, profile: 'AEAD_AES_256_GCM' }], verify: true });
    const m = decodeMessage(offer.bytes);
    assert.equal(m.header.dataType, DataType.PublicKey);
    assert.deepEqual(m.payloads.map((p) => p.type).slice(-2), [2, 4], 'PKE then SIGN last');
    const got = await responder(variant.res).receive(offer.bytes);
    assert.deepEqual(keysOf(got.bundle), keysOf(offer.bundle));
    assert.equal(Buffer.from(got.idi!.data).toString(), 'sip:alice@example.org', 'IDi from the certificate, checked against the KEMAC');
    assert.equal(decodeMessage(got.response!).header.dataType, DataType.PkVerification);
    assert.deepEqual(keysOf(ini.receiveResponse(got.response!)), keysOf(offer.bundle));
  });
}

test('public key known out of band (no CERT), IDi in clear', async () => {
  const ini = new PkInitiator({ privateKey: alice.privateKey, idi: uriIdentity('sip:alice@example.org'), responderKey: bob.certificate, clock: clockAt(T0) });
  const offer = ini.createOffer({ sessions: [{ ssrc: 1 }] });
  const res = responder({ peerKey: (id) => (id && Buffer.from(id.data).toString() === 'sip:alice@example.org' ? alice.certificate : undefined) as never });
  const got = await res.receive(offer.bytes);
  assert.deepEqual(keysOf(got.bundle), keysOf(offer.bundle));
  await rejects(responder().receive(offer.bytes), ErrorNo.InvalidCert);
});

test('bad chain, expired or not yet valid certificate, wrong key usage: Invalid Cert', async () => {
  const offer = (cred: { privateKey: string; certificate: string }, at = T0) => new PkInitiator({ ...cred, responderKey: bob.certificate, clock: clockAt(at) }).createOffer({ sessions: [{ ssrc: 1 }] }).bytes;
  const e1 = await rejects(responder().receive(offer({ privateKey: pki('mallory.key'), certificate: pki('mallory.pem') })), ErrorNo.InvalidCert);
  assert.match(e1.reason, /no trusted issuer/);
  const late = Date.UTC(2047, 0, 1);
  const e2 = await rejects(responder({ clock: clockAt(late) }).receive(offer(alice, late)), ErrorNo.InvalidCert);
  assert.match(e2.reason, /not valid at 2047/);
  const early = Date.UTC(2025, 0, 1);
  await rejects(responder({ clock: clockAt(early) }).receive(offer(alice, early)), ErrorNo.InvalidCert);
  const e3 = await rejects(responder().receive(offer({ privateKey: pki('carol.key'), certificate: pki('carol.pem') })), ErrorNo.InvalidCert);
  assert.match(e3.reason, /does not allow digitalSignature/);
});

test('wrong responder key, tampering, replay, stale T: Auth failure / Invalid TS and no keys', async () => {
  const ini = new PkInitiator({ ...alice, responderKey: bob.certificate, clock: clockAt(T0) });
  const offer = ini.createOffer({ sessions: [{ ssrc: 1 }] });
  // encrypted to bob, opened by alice's key: implicit rejection yields a wrong envelope key, the KEMAC MAC fails
  await rejects(responder({ privateKey: alice.privateKey }).receive(offer.bytes), ErrorNo.AuthFailure);
  for (let at = 0; at < offer.bytes.length; at++) {
    const b = Uint8Array.from(offer.bytes);
    b[at]! ^= 1 << (at % 8);
    try {
      await responder().receive(b);
      assert.fail(`byte ${at} flipped and accepted`);
    } catch (e) {
      assert.ok(e instanceof MikeyProtocolError);
    }
  }
  const res = responder();
  await res.receive(offer.bytes);
  await rejects(res.receive(offer.bytes), ErrorNo.InvalidTs);
  await rejects(responder({ clock: clockAt(T0 + 3_600_000) }).receive(offer.bytes), ErrorNo.InvalidTs);
});

test('envelope key cached (C = 1): the next update is a PSK message under it (RFC 3830 §4.5)', async () => {
  const ini = new PkInitiator({ ...alice, responderKey: bob.certificate, clock: clockAt(T0), cache: 'cache' });
  const offer = ini.createOffer({ sessions: [{ ssrc: 1 }] });
  const got = await responder().receive(offer.bytes);
  assert.deepEqual(got.cachedEnvelopeKey, ini.envelopeKey);
  const psk = new PskInitiator({ psk: ini.envelopeKey!, clock: clockAt(T0 + 1000) });
  const again = psk.createOffer({ csbId: offer.bundle.csbId, sessions: [{ ssrc: 1 }] });
  const viaPsk = await new PskResponder({ psk: got.cachedEnvelopeKey!, clock: clockAt(T0 + 1000) }).receive(again.bytes);
  assert.deepEqual(keysOf(viaPsk.bundle), keysOf(again.bundle));
});

test('PK update: new envelope key, no RAND, keys kept or replaced', async () => {
  let now = T0;
  const clock = { now: () => now };
  const ini = new PkInitiator({ ...alice, responderKey: bob.certificate, clock });
  const res = responder({ clock });
  const first = await res.receive(ini.createOffer({ sessions: [{ ssrc: 1 }] }).bytes);
  now += 5000;
  const up = ini.createUpdate({ sessions: [{ ssrc: 1 }, { ssrc: 9 }] });
  assert.equal(decodeMessage(up.bytes).payloads.some((p) => p.type === 11), false);
  const got = await res.receive(up.bytes);
  assert.equal(got.update, true);
  assert.deepEqual(keysOf(got.bundle), keysOf(up.bundle));
  assert.equal(keysOf(got.bundle)[0], keysOf(first.bundle)[0]);
});

test('a claimed identity that is not the certificate\'s: Invalid ID', async () => {
  const ini = new PkInitiator({ ...alice, idi: uriIdentity('sip:bob@example.org'), responderKey: bob.certificate, clock: clockAt(T0) });
  await rejects(responder().receive(ini.createOffer({ sessions: [{ ssrc: 1 }] }).bytes), ErrorNo.InvalidId);
});

test('public-key group: every member gets the same TGK under the same CSB ID and RAND, each through its own envelope', async () => {
  const rand = new Uint8Array(16).fill(1);
  const tgk = new Uint8Array(16).fill(2);
  const members = [bob, bob, bob];
  const seen = new Set<string>();
  for (const m of members) {
    const ini = new PkInitiator({ ...alice, responderKey: m.certificate, clock: clockAt(T0) });
    const offer = ini.createOffer({ csbId: 77, rand, keys: [{ key: tgk }], sessions: [{ ssrc: 5 }] });
    const got = await responder().receive(offer.bytes);
    seen.add(keysOf(got.bundle).join());
  }
  assert.equal(seen.size, 1);
});
