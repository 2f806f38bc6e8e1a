// Identity-KMS storage: sealed master secrets and issued keys, generations and rotation by key
// period, reopening under the master key (and failing under another).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryIdKmsStore, SecretVault, DuplicateGenerationError } from '../../src/idkms/store.js';
import { IbeKeyIssuer } from '../../src/idkms/ibe-issuer.js';
import { McxKeyIssuer } from '../../src/idkms/mcx-issuer.js';
import { bfValidatePrivateKey } from '../../src/crypto/bfibe.js';
import { ibeIdentity } from '../../src/modes/ibake/profile.js';
import { alice, clockAt, PERIOD, smallCurve, T0 } from '../modes/ibake-support.js';

const masterKey = Uint8Array.from({ length: 32 }, (_, i) => i);

/** Does `needle` occur in `hay`? */
const contains = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;

test('SecretVault: AES-256-GCM sealing bound to its label; altered records and other master keys fail', () => {
  const v = new SecretVault(masterKey);
  const plain = Uint8Array.from(Buffer.from('the master secret'));
  const sealed = v.seal(plain, 'label');
  assert.equal(sealed.length, 1 + 12 + plain.length + 16); // version, IV, ciphertext, tag (crypto/sealer.ts)
  assert.ok(!contains(sealed, plain));
  assert.deepEqual(v.open(sealed, 'label'), plain);
  assert.throws(() => v.open(sealed, 'other label'), /does not open/);
  for (const i of [0, 12, sealed.length - 1]) {
    const c = Uint8Array.from(sealed);
    c[i]! ^= 1;
    assert.throws(() => v.open(c, 'label'), /does not open/);
  }
  assert.throws(() => new SecretVault(masterKey).open(sealed.subarray(0, 20), 'label'));
  assert.throws(() => new SecretVault(new Uint8Array(32).fill(7)).open(sealed, 'label'), /does not open/);
  assert.throws(() => new SecretVault(new Uint8Array(16)), TypeError);
  // two seals of one value differ (fresh nonces)
  assert.notDeepEqual(v.seal(plain, 'label'), sealed);
});

test('IBE issuer: the master secret is stored sealed, never in clear; wrong master key cannot open the store', async () => {
  const store = new MemoryIdKmsStore();
  const issuer = await IbeKeyIssuer.open({ store, masterKey, curve: smallCurve, hash: 'sha1', clock: clockAt(T0) });
  const [key] = await issuer.issue(alice, [PERIOD]);
  const params = issuer.paramsFor(PERIOD)!;
  assert.ok(bfValidatePrivateKey(params, ibeIdentity(alice, PERIOD, issuer.period), key!.key));
  const { secrets, issued } = store.dump();
  assert.equal(secrets.length, 1);
  assert.equal(issued.length, 1);
  // neither the master secret (it would give every key) nor the issued key is in the store in clear
  const keyBytes = params.curve.encodePoint(key!.key);
  for (const r of [...secrets.map((s) => s.sealed), ...issued.map((s) => s.sealed)]) assert.ok(!contains(r, keyBytes.subarray(1, 25)));
  assert.ok(!JSON.stringify(secrets.map((s) => s.publicData)).includes(Buffer.from(keyBytes.subarray(1, 25)).toString('hex')));
  await assert.rejects(IbeKeyIssuer.open({ store, masterKey: new Uint8Array(32).fill(9) }), /does not open/);
  // a reopened issuer gives the same key (from the store) and parameters
  const again = await IbeKeyIssuer.open({ store, masterKey, clock: clockAt(T0) });
  assert.deepEqual((await again.issue(alice, [PERIOD]))[0]!.key, key!.key);
  // too far ahead: refused
  await assert.rejects(again.issue(alice, [PERIOD + 1000]), /too far ahead/);
  // an empty store needs the system curve
  await assert.rejects(IbeKeyIssuer.open({ store: new MemoryIdKmsStore(), masterKey }), /curve/);
});

test('rotation by key period: earlier periods keep their generation, later ones get the new one', async () => {
  const store = new MemoryIdKmsStore();
  const issuer = await IbeKeyIssuer.open({ store, masterKey, curve: smallCurve, hash: 'sha1', clock: clockAt(T0) });
  assert.equal(await issuer.rotate(PERIOD + 2), 1);
  await assert.rejects(issuer.rotate(PERIOD + 1), /must start after/);
  const before = issuer.paramsFor(PERIOD + 1)!;
  const after = issuer.paramsFor(PERIOD + 2)!;
  assert.notDeepEqual(before.Ppub, after.Ppub);
  assert.equal(issuer.paramsFor(PERIOD + 5), after);
  const [k1, k2] = await issuer.issue(alice, [PERIOD + 1, PERIOD + 2]);
  assert.ok(bfValidatePrivateKey(before, ibeIdentity(alice, PERIOD + 1, issuer.period), k1!.key));
  assert.ok(bfValidatePrivateKey(after, ibeIdentity(alice, PERIOD + 2, issuer.period), k2!.key));
  assert.ok(!bfValidatePrivateKey(before, ibeIdentity(alice, PERIOD + 2, issuer.period), k2!.key));
  // generations are append-only in the store
  const rec = store.dump().secrets[0]!;
  await assert.rejects(store.addSecret(rec), DuplicateGenerationError);
});

test('MIKEY-SAKKE issuer: certificate per generation, key sets stable, sealed storage', async () => {
  const store = new MemoryIdKmsStore();
  const at = Date.UTC(2026, 10, 27);
  const issuer = await McxKeyIssuer.open({ store, masterKey, kmsUri: 'kms.example.org', clock: clockAt(at) });
  const now = issuer.currentPeriod();
  const cert = issuer.certificate();
  assert.equal(cert.userIdFormat, '2');
  assert.equal(cert.pubEncKey.length, 257);
  assert.equal(cert.pubAuthKey.length, 65);
  const ks = await issuer.keySet('sip:alice@example.org');
  assert.deepEqual((await issuer.keySet('sip:alice@example.org')).pvt, ks.pvt);
  for (const r of store.dump().issued) assert.ok(!contains(r.sealed, ks.ssk));
  await issuer.rotate(now + 1);
  assert.notEqual(issuer.certificate(now + 1).certUri, cert.certUri);
  assert.deepEqual(issuer.certificate(now).pubEncKey, cert.pubEncKey);
  assert.ok(issuer.certificate(now).validTo);
  await assert.rejects(McxKeyIssuer.open({ store, masterKey, kmsUri: 'kms.other.org' }), /belongs to KMS/);
  const reopened = await McxKeyIssuer.open({ store, masterKey, kmsUri: 'kms.example.org', clock: clockAt(at) });
  assert.deepEqual(reopened.certificate(now + 1).pubAuthKey, issuer.certificate(now + 1).pubAuthKey);
});
