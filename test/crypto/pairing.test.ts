// The Tate pairing, fields and curves: RFC 5091 §7.1/§7.3 data, bilinearity, non-degeneracy,
// agreement between the one-shot, cached-line and generic Miller loops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToBigInt, invMod, powMod, sqrtMod3 } from '../../src/crypto/pairing/field.js';
import { PfpFixedBase, fp2Inv, fp2Mul, fp2Pow, fp2Sqr, pfpRepresentative } from '../../src/crypto/pairing/fp2.js';
import { SakkeLines, finalExpFull, finalExpSakke, millerGeneric, millerSakke, sakkePairing } from '../../src/crypto/pairing/tate.js';
import { pairing, type1Curve, zeta } from '../../src/crypto/bfibe.js';
import { sakkeParamSet1 } from '../../src/crypto/sakke.js';
import { CryptoError } from '../../src/crypto/errors.js';
import { seededRandom } from './hex.js';

const S = sakkeParamSet1.curve;
const rnd = seededRandom('pairing tests');
const scalar = (n: bigint) => (bytesToBigInt(rnd(48)) % (n - 1n)) + 1n;
const pfpPow = (g: bigint, e: bigint) => pfpRepresentative(fp2Pow([1n, g], e, S.p), S.p);

// RFC 5091 §7.1 / §7.3
const T1 = {
  q: 0xfffffffffffffffffffffffffffbffffn,
  p: 0xbffffffffffffffffffffffffffcffff3n,
  A: { x: 0x489a03c58dcf7fcfc97e99ffef0bb4634n, y: 0x510c6972d795ec0c2b081b81de767f808n },
  l: 0xb8bbbc0089098f2769b32373ade8f0dafn,
  lA: { x: 0x073734b32a882cc97956b9f7e54a2d326n, y: 0x9c4b891aab199741a44a5b6b632b949f7n },
  B: { x: 0x40e98b9382e0b1fa6747dcb1655f54f75n, y: 0xb497a6a02e7611511d0db2ff133b32a3fn },
  e: [0x8b2cac13cbd422658f9e5757b85493818n, 0xbc6af59f54d0a5d83c8efd8f5214fad3cn] as const,
};
const E1 = type1Curve(T1.p, T1.q, T1.A);

test('RFC 5091 §7.1: PointMultiply [l]A', () => {
  assert.deepEqual(E1.mulVar(T1.A, T1.l), T1.lA);
  assert.deepEqual(E1.mulSecret(T1.A, T1.l), T1.lA);
});

test('RFC 5091 §7.3: Pairing e\'(A, B)', () => {
  assert.ok(E1.isInSubgroup(T1.A) && E1.isInSubgroup(T1.B));
  const e = pairing(E1, T1.A, T1.B);
  assert.deepEqual(e, T1.e);
  // zeta is a primitive cube root of unity
  const z = zeta(T1.p);
  assert.deepEqual(fp2Mul(fp2Sqr(z, T1.p), z, T1.p), [1n, 0n]);
  assert.notDeepEqual(z, [1n, 0n]);
});

test('type-1 pairing: bilinear, non-degenerate, of order q', () => {
  const e = pairing(E1, T1.A, T1.B);
  assert.notDeepEqual(e, [1n, 0n]);
  assert.deepEqual(fp2Pow(e, T1.q, T1.p), [1n, 0n]);
  for (let i = 0; i < 2; i++) {
    const a = scalar(T1.q);
    const b = scalar(T1.q);
    const lhs = pairing(E1, E1.mulVar(T1.A, a)!, E1.mulVar(T1.B, b)!);
    assert.deepEqual(lhs, fp2Pow(e, (a * b) % T1.q, T1.p));
  }
  // e'(A, -B) = e'(A, B)^-1
  assert.deepEqual(pairing(E1, T1.A, E1.negate(T1.B)!), fp2Inv(e, T1.p));
});

test('SAKKE pairing: g = <P,P> by the one-shot, cached-line and generic Miller loops', () => {
  const g = sakkeParamSet1.g;
  assert.equal(sakkePairing(S, S.P, S.P), g);
  assert.equal(new SakkeLines(S, S.P).pairing(S.P), g);
  // generic loop with verticals, at [i]P = (-Px, i*Py), gives the same value of PF_p
  const f = millerGeneric(S, S.P, [S.p - S.P.x, 0n], [0n, S.P.y]);
  assert.equal(finalExpSakke(S, f), g);
  assert.notEqual(g, 0n); // 0 represents the identity of PF_p: non-degenerate
});

test('SAKKE pairing: bilinearity <[a]R,[b]Q> = <R,Q>^(ab) and symmetry', () => {
  const g = sakkeParamSet1.g;
  const a = scalar(S.q);
  const b = scalar(S.q);
  const R = S.mulBase(a)!;
  const Q = S.mulBase(b)!;
  const expected = pfpPow(g, (a * b) % S.q);
  assert.equal(sakkePairing(S, R, Q), expected);
  assert.equal(sakkePairing(S, Q, R), expected);
  const lines = new SakkeLines(S, R);
  assert.equal(lines.pairing(Q), expected);
  assert.equal(finalExpSakke(S, millerSakke(S, R, Q)), expected);
  // <R, Q> * <R, Q'> = <R, Q + Q'>
  const Q2 = S.mulBase(7n)!;
  const sum = pfpRepresentative(fp2Mul([1n, lines.pairing(Q)], [1n, lines.pairing(Q2)], S.p), S.p);
  assert.equal(lines.pairing(S.add(Q, Q2)!), sum);
  // g has order q in PF_p, and PfpFixedBase agrees with plain exponentiation
  assert.equal(pfpPow(g, S.q), 0n);
  const tab = new PfpFixedBase([1n, g], S.p, 1022);
  const e = scalar(S.q);
  assert.equal(pfpRepresentative(tab.pow(e), S.p), pfpPow(g, e));
  assert.equal(pfpRepresentative(tab.pow(S.q - 1n), S.p), pfpPow(g, S.q - 1n));
});

test('curve arithmetic: fixed-base, secret and public multiplications agree; encodings are strict', () => {
  const k = scalar(S.q);
  const viaVar = S.mulVar(S.P, k);
  assert.deepEqual(S.mulBase(k), viaVar);
  assert.deepEqual(S.mulSecret(S.P, k), viaVar);
  assert.deepEqual(S.add(S.mulBase(k), S.mulBase(S.q - k)), null);
  assert.equal(S.mulBase(0n), null);
  assert.equal(S.mulBase(S.q), null);
  const enc = S.encodePoint(viaVar!);
  assert.equal(enc.length, 257);
  assert.deepEqual(S.decodePoint(enc), viaVar);
  const code = (c: string) => (e: unknown) => e instanceof CryptoError && e.code === c;
  assert.throws(() => S.decodePoint(enc.subarray(1)), code('invalid-length'));
  const off = new Uint8Array(enc);
  off[200]! ^= 4;
  assert.throws(() => S.decodePoint(off), code('invalid-point'));
  const big = new Uint8Array(enc);
  big.fill(0xff, 1, 129); // x >= p
  assert.throws(() => S.decodePoint(big), code('invalid-point'));
  // the point (0, 0) is on the curve but of order 2
  assert.ok(S.isOnCurve({ x: 0n, y: 0n }));
  assert.equal(S.isInSubgroup({ x: 0n, y: 0n }), false);
});

test('field helpers', () => {
  const p = S.p;
  const a = scalar(p);
  assert.equal((a * invMod(a, p)) % p, 1n);
  const s = sqrtMod3((a * a) % p, p)!;
  assert.ok(s === a || s === p - a);
  assert.equal(sqrtMod3(p - 1n, p), null); // -1 is not a square for p = 3 mod 4
  assert.equal(powMod(a, p - 1n, p), 1n);
  assert.throws(() => invMod(0n, p), CryptoError);
  // Lehmer steps against the plain extended Euclid, for several sizes of modulus
  const euclid = (x: bigint, m: bigint) => {
    let [r0, r1, s0, s1] = [m, x % m, 0n, 1n];
    while (r1 !== 0n) {
      const qt = r0 / r1;
      [r0, r1, s0, s1] = [r1, r0 - qt * r1, s1, s0 - qt * s1];
    }
    return ((s0 % m) + m) % m;
  };
  for (const m of [p, S.q, 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn, 1000003n]) {
    for (let i = 0; i < 200; i++) {
      const x = (bytesToBigInt(rnd(140)) % (m - 1n)) + 1n;
      assert.equal(invMod(x, m), euclid(x, m));
    }
    assert.equal(invMod(m - 1n, m), m - 1n);
  }
  assert.throws(() => invMod(6n, 9n), CryptoError);
});

test('RFC 5091 final exponentiation and the PF_p representation agree on the SAKKE curve', () => {
  // (p^2-1)/q-th power of f equals (conj(f)/f)^c, and its PF_p class matches f^c's
  const f = millerSakke(S, S.P, S.mulBase(5n)!);
  const full = finalExpFull(S, f);
  assert.deepEqual(fp2Pow(full, S.q, S.p), [1n, 0n]);
  const viaFull = pfpRepresentative(full, S.p);
  const fc = finalExpSakke(S, f);
  // full = conj(f^c)/f^c; in PF_p this is (f^c)^(p-1) = (f^c)^-2 (Frobenius is inversion on PF_p[q])
  assert.equal(viaFull, pfpRepresentative(fp2Pow([1n, fc], S.q - 2n, S.p), S.p));
});


test('subgroup membership by 2-isogeny descent agrees with [q]A = 0', () => {
  let inside = 0;
  let outside = 0;
  for (let x = 1n; x < 48n; x++) {
    const rhs = (((x * x - 3n) * x) % S.p + S.p) % S.p;
    const y = sqrtMod3(rhs, S.p);
    if (y === null) continue;
    for (const k of [1n, 2n, 4n, 3n]) {
      const A = S.mulVar({ x, y }, k);
      if (A === null) continue;
      const byOrder = S.mulVar(A, S.q) === null;
      assert.equal(S.isInSubgroup(A), byOrder, `x=${x} k=${k}`);
      if (byOrder) inside++;
      else outside++;
    }
  }
  assert.ok(inside > 4 && outside > 4);
  assert.equal(S.isInSubgroup(S.P), true);
  assert.equal(S.isInSubgroup({ x: 0n, y: 0n }), false);
});
