// Hedged nonces (src/crypto/nonce.ts): RFC 6979 §3.2 HMAC_DRBG, checked against an independent
// RFC 6979 implementation (@noble/curves' deterministic ECDSA on P-256), and the hedge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { NonceGenerator, hedgedNonces } from '../../src/crypto/nonce.js';
import { CryptoError } from '../../src/crypto/errors.js';
import { big, seededRandom } from './hex.js';

const q = p256.Point.CURVE().n;
const sha256 = (s: string) => new Uint8Array(createHash('sha256').update(s).digest());

test('without additional data the nonce is RFC 6979 (r of deterministic ECDSA P-256/SHA-256)', () => {
  // RFC 6979 A.2.5 private key
  const x = big('C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721');
  for (const m of ['sample', 'test', '']) {
    const k = new NonceGenerator(q, x, sha256(m)).next();
    const sk = Uint8Array.from(Buffer.from(x.toString(16).padStart(64, '0'), 'hex'));
    const sig = p256.sign(sha256(m), sk, { prehash: false, extraEntropy: false, format: 'compact' });
    const r = BigInt('0x' + Buffer.from(sig.subarray(0, 32)).toString('hex'));
    assert.equal(p256.Point.BASE.multiply(k).toAffine().x % q, r, m);
  }
  // RFC 6979 A.2.5, SHA-256, messages "sample" and "test"
  assert.equal(new NonceGenerator(q, x, sha256('sample')).next(), big('A6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60'));
  assert.equal(new NonceGenerator(q, x, sha256('test')).next(), big('D16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0'));
});

test('hedged nonces depend on key, message and random octets; retries give new candidates', () => {
  const x = 12345n;
  const constant = (n: number) => new Uint8Array(n);
  const a = hedgedNonces(q, x, sha256('a'), constant).next();
  assert.equal(hedgedNonces(q, x, sha256('a'), constant).next(), a);
  assert.notEqual(hedgedNonces(q, x, sha256('b'), constant).next(), a);
  assert.notEqual(hedgedNonces(q, x + 1n, sha256('a'), constant).next(), a);
  assert.notEqual(hedgedNonces(q, x, sha256('a'), seededRandom('r')).next(), a);
  const g = hedgedNonces(q, x, sha256('a'), constant);
  const seen = new Set([g.next(), g.next(), g.next()]);
  assert.equal(seen.size, 3);
  for (const k of seen) assert.ok(k >= 1n && k < q);
});

test('hedged nonces reject a random source of the wrong length and keys out of range', () => {
  assert.throws(() => hedgedNonces(q, 1n, sha256('a'), () => new Uint8Array(3)), (e: unknown) => e instanceof CryptoError && e.code === 'random-failure');
  assert.throws(() => new NonceGenerator(q, 0n, sha256('a')), (e: unknown) => e instanceof CryptoError && e.code === 'invalid-key');
  assert.throws(() => new NonceGenerator(q, q, sha256('a')), (e: unknown) => e instanceof CryptoError && e.code === 'invalid-key');
});
