// RSA envelope encryption and signatures (RFC 3830 §4.2.5-§4.2.6, RFC 8017).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createHash, generateKeyPairSync, publicDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { rsaEnvelopeDecrypt, rsaEnvelopeEncrypt, rsaModulusBytes, rsaSign, rsaVerify, rsaVerifyOrThrow } from '../../src/crypto/rsa.js';
import { MikeyCryptoError } from '../../src/crypto/errors.js';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isCode = (code: string) => (e: unknown) => e instanceof MikeyCryptoError && e.code === code;

const kp = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const K = 256;

/** RSAEP over an encoded message we build ourselves (RFC 8017 §5.1.1, no padding added). */
function rawEncrypt(pub: KeyObject, em: Uint8Array): Uint8Array {
  return publicEncrypt({ key: pub, padding: constants.RSA_NO_PADDING }, em);
}

/** EME-PKCS1-v1_5 encoding (RFC 8017 §7.2.1 step 2) with knobs for breaking it. */
function encodeEm(m: Uint8Array, o: { b0?: number; b1?: number; psLen?: number; noSeparator?: boolean } = {}): Uint8Array {
  const em = new Uint8Array(K);
  em[0] = o.b0 ?? 0;
  em[1] = o.b1 ?? 2;
  const psLen = o.psLen ?? K - 3 - m.length;
  for (let i = 0; i < psLen; i++) em[2 + i] = 1 + (randomBytes(1)[0]! % 255);
  if (o.noSeparator) {
    for (let i = 2; i < K; i++) if (em[i] === 0) em[i] = 0x5a;
    return em;
  }
  em[2 + psLen] = 0;
  em.set(m, 3 + psLen);
  return em;
}

test('PKCS#1 v1.5 envelope: round trip for 16- and 32-byte env_keys, with and without expectedLength', () => {
  assert.equal(rsaModulusBytes(kp.publicKey), K);
  for (const n of [16, 32, 1, 245]) {
    const envKey = randomBytes(n);
    const c = rsaEnvelopeEncrypt(kp.publicKey, envKey);
    assert.equal(c.length, K);
    assert.equal(toHex(rsaEnvelopeDecrypt(kp.privateKey, c)), toHex(envKey));
    assert.equal(toHex(rsaEnvelopeDecrypt(kp.privateKey, c, { expectedLength: n })), toHex(envKey));
  }
  // the PEM forms work as well
  const pemPub = kp.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const pemPriv = kp.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const envKey = randomBytes(16);
  assert.equal(toHex(rsaEnvelopeDecrypt(pemPriv, rsaEnvelopeEncrypt(pemPub, envKey))), toHex(envKey));
  assert.throws(() => rsaEnvelopeEncrypt(kp.publicKey, new Uint8Array(246)), isCode('bad-length'));
});

test('PKCS#1 v1.5: a message encoded here (not by OpenSSL) decrypts; the encoding is ours to check', () => {
  const m = randomBytes(16);
  assert.equal(toHex(rsaEnvelopeDecrypt(kp.privateKey, rawEncrypt(kp.publicKey, encodeEm(m)))), toHex(m));
  // the minimum PS of 8 bytes is accepted
  const longest = randomBytes(K - 11);
  assert.equal(toHex(rsaEnvelopeDecrypt(kp.privateKey, rawEncrypt(kp.publicKey, encodeEm(longest, { psLen: 8 })))), toHex(longest));
});

test('implicit rejection: every kind of bad padding yields a key of the expected length, deterministic, not the plaintext', () => {
  const m = randomBytes(16);
  const bad: Array<[string, Uint8Array]> = [
    ['first byte 01', encodeEm(m, { b0: 1 })],
    ['block type 01', encodeEm(m, { b1: 1 })],
    ['block type 00', encodeEm(m, { b1: 0 })],
    ['no separator', encodeEm(m, { noSeparator: true })],
    ['PS of 7 bytes', encodeEm(randomBytes(K - 10), { psLen: 7 })],
    ['PS of 0 bytes', encodeEm(randomBytes(K - 3), { psLen: 0 })],
    ['wrong length (17)', encodeEm(randomBytes(17))],
    ['wrong length (0)', encodeEm(new Uint8Array(0))],
  ];
  const seen = new Set<string>();
  for (const len of [16, 32]) {
    for (const [name, em] of bad) {
      const c = rawEncrypt(kp.publicKey, em);
      const k1 = rsaEnvelopeDecrypt(kp.privateKey, c, { expectedLength: len });
      const k2 = rsaEnvelopeDecrypt(kp.privateKey, c, { expectedLength: len });
      assert.ok(k1 instanceof Uint8Array, name);
      assert.equal(k1.length, len, name);
      assert.equal(toHex(k1), toHex(k2), `${name}: deterministic`);
      assert.notEqual(toHex(k1), toHex(m), name);
      assert.notEqual(toHex(k1), '00'.repeat(len), name);
      seen.add(toHex(k1));
      // a different private key gives a different synthetic key for the same ciphertext
      const c2 = rawEncrypt(other.publicKey, em);
      assert.notEqual(toHex(rsaEnvelopeDecrypt(other.privateKey, c2, { expectedLength: len })), toHex(k1));
    }
  }
  assert.equal(seen.size, bad.length * 2, 'each ciphertext gives its own synthetic key');
});

test('implicit rejection: good and bad padding take the same path and both return keys of the asked length', () => {
  for (const len of [16, 32]) {
    const envKey = randomBytes(len);
    const good = rsaEnvelopeEncrypt(kp.publicKey, envKey);
    const tampered = Uint8Array.from(good);
    tampered[100]! ^= 0x01;
    const g = rsaEnvelopeDecrypt(kp.privateKey, good, { expectedLength: len });
    const b = rsaEnvelopeDecrypt(kp.privateKey, tampered, { expectedLength: len });
    assert.equal(g.constructor, b.constructor);
    assert.equal(g.length, len);
    assert.equal(b.length, len);
    assert.equal(toHex(g), toHex(envKey));
    assert.notEqual(toHex(b), toHex(envKey));
  }
});

test('implicit rejection without expectedLength: a pseudo-random length within 0..k-11, deterministic per ciphertext', () => {
  const lengths = new Set<number>();
  for (let i = 0; i < 12; i++) {
    const c = rawEncrypt(kp.publicKey, encodeEm(randomBytes(16), { b1: 3 }));
    const a = rsaEnvelopeDecrypt(kp.privateKey, c);
    assert.ok(a.length >= 0 && a.length <= K - 11);
    assert.equal(toHex(rsaEnvelopeDecrypt(kp.privateKey, c)), toHex(a));
    lengths.add(a.length);
  }
  assert.ok(lengths.size > 1, 'lengths vary with the ciphertext');
});

test('RSA decryption input checks: ciphertext length, c >= n, bad expectedLength', () => {
  const c = rsaEnvelopeEncrypt(kp.publicKey, randomBytes(16));
  assert.throws(() => rsaEnvelopeDecrypt(kp.privateKey, c.subarray(1)), isCode('bad-length'));
  assert.throws(() => rsaEnvelopeDecrypt(kp.privateKey, new Uint8Array(K).fill(0xff)), isCode('decryption-failed'));
  assert.throws(() => rsaEnvelopeDecrypt(kp.privateKey, c, { expectedLength: K }), isCode('bad-parameter'));
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  assert.throws(() => rsaEnvelopeEncrypt(ec.publicKey, randomBytes(16)), isCode('unsupported-algorithm'));
});

test('OAEP envelope: SHA-1 (default) and SHA-256 round trips, mismatched hash and tamper fail', () => {
  for (const oaepHash of ['sha1', 'sha256'] as const) {
    const envKey = randomBytes(32);
    const c = rsaEnvelopeEncrypt(kp.publicKey, envKey, { padding: 'oaep', oaepHash });
    assert.equal(toHex(rsaEnvelopeDecrypt(kp.privateKey, c, { padding: 'oaep', oaepHash })), toHex(envKey));
    const otherHash = oaepHash === 'sha1' ? 'sha256' : 'sha1';
    assert.throws(() => rsaEnvelopeDecrypt(kp.privateKey, c, { padding: 'oaep', oaepHash: otherHash }), isCode('decryption-failed'));
    const t = Uint8Array.from(c);
    t[5]! ^= 0x80;
    assert.throws(() => rsaEnvelopeDecrypt(kp.privateKey, t, { padding: 'oaep', oaepHash }), isCode('decryption-failed'));
  }
  const c1 = rsaEnvelopeEncrypt(kp.publicKey, randomBytes(16), { padding: 'oaep' });
  assert.equal(rsaEnvelopeDecrypt(kp.privateKey, c1, { padding: 'oaep', oaepHash: 'sha1' }).length, 16);
  assert.throws(() => rsaEnvelopeEncrypt(kp.publicKey, new Uint8Array(K - 2 * 32 - 1), { padding: 'oaep', oaepHash: 'sha256' }), isCode('bad-length'));
});

const DIGEST_INFO: Record<string, string> = {
  sha1: '3021300906052b0e03021a05000414',
  sha256: '3031300d060960864801650304020105000420',
};

test('PKCS#1 v1.5 signatures (SHA-256 default, SHA-1): EMSA encoding checked by RSAVP1, verify, tamper', () => {
  const data = randomBytes(300);
  for (const hash of [undefined, 'sha1', 'sha256'] as const) {
    const h = hash ?? 'sha256';
    const sig = rsaSign(kp.privateKey, data, hash ? { hash } : {});
    assert.equal(sig.length, K);
    // RFC 8017 §9.2: EM = 0x00 || 0x01 || PS (0xff) || 0x00 || DigestInfo || H
    const em = publicDecrypt({ key: kp.publicKey, padding: constants.RSA_NO_PADDING }, sig);
    const t = DIGEST_INFO[h]! + createHash(h).update(data).digest('hex');
    assert.equal(em.toString('hex'), '0001' + 'ff'.repeat(K - 3 - t.length / 2) + '00' + t);
    assert.equal(rsaVerify(kp.publicKey, data, sig, hash ? { hash } : {}), true);
    assert.equal(rsaVerify(kp.publicKey, [data.subarray(0, 10), data.subarray(10)], sig, hash ? { hash } : {}), true);
    const d2 = Uint8Array.from(data);
    d2[0]! ^= 1;
    assert.equal(rsaVerify(kp.publicKey, d2, sig, hash ? { hash } : {}), false);
    const s2 = Uint8Array.from(sig);
    s2[K - 1]! ^= 1;
    assert.equal(rsaVerify(kp.publicKey, data, s2, hash ? { hash } : {}), false);
    assert.equal(rsaVerify(other.publicKey, data, sig, hash ? { hash } : {}), false);
    assert.equal(rsaVerify(kp.publicKey, data, sig.subarray(1), hash ? { hash } : {}), false);
    assert.equal(rsaVerify(kp.publicKey, data, sig, { scheme: 'pss', hash: h }), false);
  }
  assert.equal(rsaVerify(kp.publicKey, data, rsaSign(kp.privateKey, data, { hash: 'sha1' }), { hash: 'sha256' }), false);
});

test('PSS signatures (SHA-256 default, SHA-1): salt = hash length, verify, tamper', () => {
  const data = randomBytes(123);
  for (const hash of ['sha256', 'sha1'] as const) {
    const sig = rsaSign(kp.privateKey, data, { scheme: 'pss', hash });
    assert.equal(sig.length, K);
    assert.notEqual(toHex(sig), toHex(rsaSign(kp.privateKey, data, { scheme: 'pss', hash })), 'randomized');
    assert.equal(rsaVerify(kp.publicKey, data, sig, { scheme: 'pss', hash }), true);
    assert.equal(rsaVerify(kp.publicKey, data, sig, { scheme: 'pss', hash, saltLength: hash === 'sha1' ? 20 : 32 }), true);
    assert.equal(rsaVerify(kp.publicKey, data, sig, { scheme: 'pss', hash, saltLength: 0 }), false);
    const d2 = Uint8Array.from(data);
    d2[122]! ^= 0x10;
    assert.equal(rsaVerify(kp.publicKey, d2, sig, { scheme: 'pss', hash }), false);
    const s2 = Uint8Array.from(sig);
    s2[0]! ^= 0x01;
    assert.equal(rsaVerify(kp.publicKey, data, s2, { scheme: 'pss', hash }), false);
    assert.equal(rsaVerify(kp.publicKey, data, sig, { scheme: 'pkcs1-v1_5', hash }), false);
    assert.doesNotThrow(() => rsaVerifyOrThrow(kp.publicKey, data, sig, { scheme: 'pss', hash }));
    assert.throws(() => rsaVerifyOrThrow(kp.publicKey, d2, sig, { scheme: 'pss', hash }), isCode('signature-invalid'));
  }
  assert.throws(() => rsaSign(kp.privateKey, data, { scheme: 'pss', saltLength: 'auto' }), isCode('bad-parameter'));
});
