// OAKLEY groups 1, 2, 5 for MIKEY DH (RFC 3830 §4.2.7, Table 6.4; RFC 2409 §6; RFC 3526 §2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPrimeSync } from 'node:crypto';
import { DH_GROUPS, dhCheckPeerValue, dhComputeSecret, dhGenerateKeyPair, dhGroupByMikeyId, type DhGroup } from '../../src/crypto/dh.js';
import { MikeyCryptoError } from '../../src/crypto/errors.js';

const isCode = (code: string) => (e: unknown) => e instanceof MikeyCryptoError && e.code === code;
const big = (b: Uint8Array): bigint => BigInt('0x' + (Buffer.from(b).toString('hex') || '0'));
const fixed = (v: bigint, len: number): Uint8Array => new Uint8Array(Buffer.from(v.toString(16).padStart(2 * len, '0'), 'hex'));

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

/** floor(pi * 2^bits) by Machin's formula pi = 16 atan(1/5) - 4 atan(1/239), with guard bits. */
function piScaled(bits: number): bigint {
  const guard = 64n;
  const one = 1n << (BigInt(bits) + guard);
  const atanInv = (x: bigint): bigint => {
    let sum = 0n;
    let term = one / x;
    const x2 = x * x;
    for (let k = 1n; term !== 0n; k += 2n) {
      sum += (k % 4n === 1n ? 1n : -1n) * (term / k);
      term /= x2;
    }
    return sum;
  };
  return (16n * atanInv(5n) - 4n * atanInv(239n)) >> guard;
}

// p = 2^b - 2^(b-64) - 1 + 2^64 * ( floor(2^(b-130) pi) + c ): RFC 2409 §6.1, §6.2, RFC 3526 §2
const DEFINITION: Array<[keyof typeof DH_GROUPS, number, number, bigint]> = [
  ['OAKLEY-1', 1, 768, 149686n],
  ['OAKLEY-2', 2, 1024, 129093n],
  ['OAKLEY-5', 0, 1536, 741804n],
];

for (const [name, id, bits, c] of DEFINITION) {
  const g: DhGroup = DH_GROUPS[name];
  const p = BigInt('0x' + g.primeHex);

  test(`${name}: prime from its defining formula, safe prime, MIKEY DH-Group ${id}`, () => {
    const b = BigInt(bits);
    const expected = (1n << b) - (1n << (b - 64n)) - 1n + (1n << 64n) * (piScaled(bits - 130) + c);
    assert.equal(p, expected);
    assert.equal(g.bits, bits);
    assert.equal(g.byteLength, bits / 8);
    assert.equal(g.generator, 2);
    assert.equal(g.mikeyId, id);
    assert.equal(dhGroupByMikeyId(id), g);
    assert.ok(checkPrimeSync(p, { checks: 8 }));
    assert.ok(checkPrimeSync((p - 1n) / 2n, { checks: 8 }));
  });

  test(`${name}: two parties agree; values are fixed-length and match a BigInt modPow`, () => {
    const a = dhGenerateKeyPair(g);
    const bb = dhGenerateKeyPair(name);
    assert.equal(a.publicKey.length, g.byteLength);
    assert.equal(bb.publicKey.length, g.byteLength);
    assert.equal(big(a.publicKey), modPow(2n, big(a.privateKey), p));
    const s1 = dhComputeSecret(g, a.privateKey, bb.publicKey);
    const s2 = dhComputeSecret(g, bb.privateKey, a.publicKey);
    assert.equal(s1.length, g.byteLength);
    assert.deepEqual(s1, s2);
    assert.equal(big(s1), modPow(big(bb.publicKey), big(a.privateKey), p));
    assert.notDeepEqual(dhGenerateKeyPair(g).publicKey, a.publicKey);
  });

  test(`${name}: injected private key; a public value with leading zero bytes stays fixed-length`, () => {
    const x = fixed(12345678901234567890n, 16);
    const k = dhGenerateKeyPair(g, { privateKey: x });
    assert.equal(big(k.publicKey), modPow(2n, big(x), p));
    // a small exponent: 2^x < 2^(bits-8), so the value has a leading zero byte
    const small = dhGenerateKeyPair(g, { privateKey: fixed(BigInt(bits - 20), 2) });
    assert.equal(small.publicKey.length, g.byteLength);
    assert.equal(small.publicKey[0], 0);
    assert.equal(big(small.publicKey), 1n << BigInt(bits - 20));
    // a peer value 2 (valid) with small exponents gives a secret with leading zeros, still fixed-length
    const s = dhComputeSecret(g, fixed(3n, 1), fixed(2n, g.byteLength));
    assert.equal(s.length, g.byteLength);
    assert.equal(big(s), 8n);
    for (const bad of [0n, 1n, p - 1n]) {
      assert.throws(() => dhGenerateKeyPair(g, { privateKey: fixed(bad, g.byteLength) }), isCode('bad-parameter'));
      assert.throws(() => dhComputeSecret(g, fixed(bad, g.byteLength), small.publicKey), isCode('bad-parameter'));
    }
  });

  test(`${name}: peer values 0, 1, p-1, p, p+1, 2^b-1 and wrong lengths are rejected`, () => {
    const me = dhGenerateKeyPair(g);
    const L = g.byteLength;
    const rejected: Array<[string, Uint8Array]> = [
      ['0', fixed(0n, L)],
      ['1', fixed(1n, L)],
      ['p-1', fixed(p - 1n, L)],
      ['p', fixed(p, L)],
      ['p+1', fixed(p + 1n, L + 1)], // p+1 = 2^b needs b+1 bits
      ['2^b-1', fixed((1n << BigInt(bits)) - 1n, L)],
      ['short', fixed(5n, L - 1)],
      ['long', fixed(5n, L + 1)],
      ['empty', new Uint8Array(0)],
    ];
    for (const [what, y] of rejected) {
      assert.throws(() => dhCheckPeerValue(g, y), isCode('dh-out-of-range'), what);
      assert.throws(() => dhComputeSecret(g, me.privateKey, y), isCode('dh-out-of-range'), what);
    }
    for (const ok of [2n, p - 2n]) assert.doesNotThrow(() => dhCheckPeerValue(g, fixed(ok, L)));
  });
}

test('unknown DH groups', () => {
  assert.throws(() => dhGroupByMikeyId(3), isCode('unsupported-algorithm'));
  assert.throws(() => dhGenerateKeyPair('OAKLEY-14' as 'OAKLEY-5'), isCode('unsupported-algorithm'));
  assert.ok(Object.isFrozen(DH_GROUPS));
});
