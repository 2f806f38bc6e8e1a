// RFC 5091 Boneh-Franklin IBE: §7.2, §7.4-§7.6 test data (with the verified errata), round trips
// and rejection of tampered ciphertexts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  type BfPublicParams,
  bfGenerateCurve,
  solinasPrime,
  bfDecrypt,
  bfDerivePubl,
  bfEncrypt,
  bfExtractPriv,
  bfSetup,
  bfValidatePrivateKey,
  canonical,
  hashBytesPrg,
  hashToPoint,
  hashToRange,
  hashToRangeTrace,
  pairing,
  type1Curve,
} from '../../src/crypto/bfibe.js';
import { CryptoError } from '../../src/crypto/errors.js';
import { fp2Pow } from '../../src/crypto/pairing/fp2.js';
import { isProbablePrime } from '../../src/crypto/pairing/field.js';
import { hex, seededRandom, toHex } from './hex.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const sha1 = (...b: Uint8Array[]) => {
  const h = createHash('sha1');
  for (const x of b) h.update(x);
  return new Uint8Array(h.digest());
};

// §7.4 - §7.6 public parameters (version 2; the hash is SHA-1, as the 20-octet rho of §7.6 shows)
const p = 0xa6a0ffd016103ffffffffff595f002fe9ef195f002fe9efbn;
const q = 0xffffffffffffffffffffffeffffffffffffn;
const P = { x: 0x6924c354256acf5a0ff7f61be4f0495b54540a5bf6395b3dn, y: 0x024fd8e2eb7c09104bca116f41c035219955237c0eac19abn };
const Ppub = { x: 0xa68412ae960d1392701066664d20b2f4a76d6ee715621108n, y: 0x9e7644e75c9a131d075752e143e3f0435ff231b6745a486fn };
const curve = type1Curve(p, q, P);
const params: BfPublicParams = { version: 2, curve, Ppub, hash: 'sha1' };
const s = 0x749e52ddb807e0220054417e514742b05a0n;
const Bob = utf8('Bob');

test('RFC 5091 §7.2: HashToRange with erratum 2736 (v = v_2 mod n), step by step', () => {
  const input = hex(`54:68:69:73:20:41:53:43:49:49:20:73:74:72:69:6e:67:20:77:69:74
                     :68:6f:75:74:20:6e:75:6c:6c:2d:74:65:72:6d:69:6e:61:74:6f:72`.replace(/:/g, ''));
  assert.equal(new TextDecoder().decode(input), 'This ASCII string without null-terminator');
  const n = 0xffffffffffffffffffffefffffffffffffffffffn;
  const t = hashToRangeTrace(input, n, 'sha1');
  assert.equal(toHex(t.h[0]!), '00'.repeat(20));
  assert.equal(toHex(t.h[1]!), toHex(sha1(new Uint8Array(20), input)));
  assert.equal(toHex(t.h[2]!), toHex(sha1(t.h[1]!, input)));
  assert.equal(t.v[2], (BigInt('0x' + toHex(t.h[1]!)) << 160n) + BigInt('0x' + toHex(t.h[2]!)));
  assert.equal(t.result, 0x79317c1610c1fc018e9c53d89d59c108cd518608n);
  // the unamended text (v = v_1 mod n) gives the value the erratum reports
  assert.equal(t.v[1]! % n, 0x5ab5b7a6d72fa91bd01df98e29afb77f05e7b880n);
});

test('RFC 5091 §7.4: BFderivePubl("Bob") = HashToPoint1', () => {
  assert.ok(curve.isInSubgroup(P) && curve.isInSubgroup(Ppub));
  const Q = bfDerivePubl(params, Bob);
  assert.deepEqual(Q, {
    x: 0x22fa1207e0d19e1a4825009e0e88e35eb57ba79391498f59n,
    y: 0x982d29acf942127e0f01c881b5ec1b5fe23d05269f538836n,
  });
  // step by step: y = HashToRange(id, p), x = (y^2 - 1)^((2p-1)/3), Q = [(p+1)/q](x, y)
  const y = hashToRange(Bob, p, 'sha1');
  const x = fp2Pow([(y * y - 1n + p) % p, 0n], (2n * p - 1n) / 3n, p)[0];
  assert.ok(curve.isOnCurve({ x, y }));
  assert.deepEqual(curve.mulVar({ x, y }, (p + 1n) / q), Q);
  assert.deepEqual(hashToPoint(curve, Bob, 'sha1'), Q);
});

test('RFC 5091 §7.5: BFextractPriv("Bob") = [s]Q_id (printed as "Q_id")', () => {
  assert.deepEqual(curve.mulVar(P, s), Ppub);
  const S = bfExtractPriv(params, s, Bob);
  assert.deepEqual(S, {
    x: 0x8212b74ea75c841a9d1accc914ca140f4032d191b5ce5501n,
    y: 0x950643d940aba68099bdcb40082532b6130c88d317958657n,
  });
  assert.equal(bfValidatePrivateKey(params, Bob, S), true);
  assert.equal(bfValidatePrivateKey(params, utf8('Alice'), S), false);
});

test('RFC 5091 §7.6: BFencrypt/BFdecrypt with rho, step by step', () => {
  const m = utf8('Hi there!');
  const rho = hex('ed5397ff77b567ba5ecb644d7671d6b6f2082968');
  const c = bfEncrypt(params, Bob, m, { rho });
  // steps 4-6: t = SHA-1(m), l = HashToRange(rho || t, q), U = [l]P
  const l = hashToRange(new Uint8Array([...rho, ...sha1(m)]), q, 'sha1');
  assert.deepEqual(c.U, curve.mulVar(P, l));
  // steps 7-11: V = SHA-1(Canonical(e'(P_pub, Q_id)^l)) XOR rho
  const theta = fp2Pow(pairing(curve, Ppub, bfDerivePubl(params, Bob)), l, p);
  const w = sha1(canonical(p, 0, theta));
  assert.equal(toHex(c.V), toHex(w.map((b, i) => b ^ rho[i]!)));
  // step 12: W = HashBytes(|m|, rho) XOR m, HashBytes per §4.2.1
  const K = sha1(rho);
  const r1 = sha1(sha1(new Uint8Array(20)), K);
  assert.equal(toHex(hashBytesPrg(9, rho, 'sha1')), toHex(r1.subarray(0, 9)));
  assert.equal(toHex(c.W), toHex(r1.subarray(0, 9).map((b, i) => b ^ m[i]!)));
  // decryption with S_id of §7.5 recovers m; e'(U, S_id) = theta
  const S = bfExtractPriv(params, s, Bob);
  assert.deepEqual(pairing(curve, c.U, S), theta);
  assert.deepEqual(bfDecrypt(params, S, c), m);
  // The printed ciphertext cannot come from these inputs: its U is not a point of this curve
  // (its coordinates exceed p), and neither V nor W match any hash of rho; kept as evidence.
  const printedU = {
    x: 0x1b5f6c461497acdfcbb6d6613ad515430c8b3fa23b61c585e9a541b199e2a6cbn,
    y: 0x9bdfbed1ae664e51e3d4533359d733ac9a600b61048a7d899104e826a0ec4fa4n,
  };
  assert.equal(curve.isOnCurve(printedU), false);
});

test('Canonical1 orderings and HashBytes lengths', () => {
  const v = [0x0102n, 0x0304n] as const;
  assert.equal(toHex(canonical(p, 0, v)).slice(-4), '0304');
  assert.equal(toHex(canonical(p, 1, v)).slice(-4), '0102');
  assert.equal(canonical(p, 0, v).length, 48);
  for (const n of [1, 20, 21, 64]) assert.equal(hashBytesPrg(n, utf8('seed'), 'sha256').length, n);
  assert.equal(toHex(hashBytesPrg(40, utf8('seed'), 'sha1')).slice(0, 40), toHex(hashBytesPrg(20, utf8('seed'), 'sha1')));
});

test('BF-IBE round trips with a fresh master secret; tampering is rejected', () => {
  const rnd = seededRandom('bf round trip');
  const { params: pp, s: master } = bfSetup(curve, 'sha1', rnd);
  const id = utf8('alice@example.com');
  const S = bfExtractPriv(pp, master, id);
  assert.equal(bfValidatePrivateKey(pp, id, S), true);
  const m = rnd(32);
  const c = bfEncrypt(pp, id, m, { random: rnd });
  assert.deepEqual(bfDecrypt(pp, S, c), m);
  const code = (x: string) => (e: unknown) => e instanceof CryptoError && e.code === x;
  const badV = { ...c, V: c.V.map((b, i) => (i === 3 ? b ^ 1 : b)) };
  assert.throws(() => bfDecrypt(pp, S, badV), code('decryption-failed'));
  const badW = { ...c, W: c.W.map((b, i) => (i === 0 ? b ^ 1 : b)) };
  assert.throws(() => bfDecrypt(pp, S, badW), code('decryption-failed'));
  const badU = { ...c, U: curve.mulVar(c.U, 2n)! };
  assert.throws(() => bfDecrypt(pp, S, badU), code('decryption-failed'));
  assert.throws(() => bfDecrypt(pp, S, { ...c, U: { x: c.U.x, y: (c.U.y + 1n) % p } }), code('decryption-failed'));
  assert.throws(() => bfDecrypt(pp, S, { ...c, V: c.V.subarray(1) }), code('invalid-length'));
  // another identity's key does not decrypt
  const other = bfExtractPriv(pp, master, utf8('bob@example.com'));
  assert.throws(() => bfDecrypt(pp, other, c), code('decryption-failed'));
});

test('BFsetup1 (§5.1.2) for n = 1024: Solinas q of 160 bits, p = 12rq - 1 of 512 bits, P of order q', () => {
  const rnd = seededRandom('bf setup 1024');
  const { curve: c, hash } = bfGenerateCurve(1024, rnd);
  assert.equal(hash, 'sha1');
  assert.equal(c.q.toString(2).length, 160);
  assert.equal(c.p.toString(2).length, 512);
  assert.equal(c.p % 12n, 11n);
  assert.equal((c.p + 1n) % (12n * c.q), 0n);
  assert.ok(isProbablePrime(c.p, 20, rnd) && isProbablePrime(c.q, 20, rnd));
  // q = 2^a + s*2^b + c with s, c in {-1, +1}
  const solinas = [...Array(160).keys()].some((b) =>
    [-1n, 1n].some((sgn) => [-1n, 1n].some((cc) => [159n, 160n].some((a) => (1n << a) + sgn * (1n << BigInt(b)) + cc === c.q))),
  );
  assert.ok(solinas);
  assert.equal(c.isInSubgroup(c.P), true);
  const { params: pp, s: master } = bfSetup(c, hash, rnd);
  const id = utf8('carol@example.org');
  const S = bfExtractPriv(pp, master, id);
  assert.equal(bfValidatePrivateKey(pp, id, S), true);
  const m = rnd(16);
  assert.deepEqual(bfDecrypt(pp, S, bfEncrypt(pp, id, m, { random: rnd })), m);
});

test('primality helpers', () => {
  const rnd = seededRandom('primes');
  assert.equal(isProbablePrime(2n ** 127n - 1n, 20, rnd), true);
  assert.equal(isProbablePrime((2n ** 127n - 1n) * (2n ** 61n - 1n), 20, rnd), false);
  assert.equal(isProbablePrime(561n, 20, rnd), false); // Carmichael
  assert.equal(solinasPrime(64, rnd).toString(2).length, 64);
});
