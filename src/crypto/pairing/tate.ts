// The reduced Tate pairing on supersingular curves of embedding degree 2 (Miller loop and final
// exponentiation), with the two distortion maps in use:
//   RFC 6508 §3.1-3.2 (SAKKE, y^2 = x^3 - 3x):   <R,Q> = f_R([i]Q)^c in PF_p, [i](x,y) = (-x, i*y), c = (p+1)/q
//   RFC 5091 §4.5.2 (type-1, y^2 = x^3 + 1):    e'(A,B) = f_A(phi(B))^((p^2-1)/q) in F_p^2, phi(x,y) = (zeta*x, y)
// Lines are evaluated projectively (no inversion in the loop). Vertical lines take values in
// F_p for the SAKKE map and vanish in the final exponentiation (denominator elimination,
// RFC 6508 §3.2); for the type-1 map they do not, and are kept.
import { CryptoError } from '../errors.js';
import { invMod, mod, naf } from './field.js';
import { type Fp2, fp2Conj, fp2Inv, fp2Mul, fp2Pow, fp2Sqr, pfpRepresentative } from './fp2.js';
import type { Curve, Point } from './curve.js';
import { fromBytes, modulus, nativeIbc, toBytes } from '../native.js';

/** After the loop over q - 1, C = [q-1]A must be -A: A has order q (a free subgroup check). */
function assertEndsAtMinusA(p: bigint, A: Point, X: bigint, Y: bigint, Z: bigint): void {
  const ZZ = (Z * Z) % p;
  if (Z % p === 0n || (X - A.x * ZZ) % p !== 0n || (Y + ((A.y * ZZ) % p) * Z) % p !== 0n) {
    throw new CryptoError('invalid-point', 'point is not of order q');
  }
}

/** f_{q,A} evaluated at the F_p^2 point (xB, yB), up to F_p* factors; binary Miller loop over q - 1
 * with verticals kept (RFC 5091 §3.4-3.5), then the last chord (vertical) to reach f_q. */
export function millerGeneric(curve: Curve, A: Point, xB: Fp2, yB: Fp2): Fp2 {
  const p = curve.p;
  const e = curve.q - 1n;
  let num: Fp2 = [1n, 0n];
  let den: Fp2 = [1n, 0n];
  let X = A.x;
  let Y = A.y;
  let Z = 1n;
  const bits = e.toString(2);
  for (let k = 1; k < bits.length; k++) {
    // tangent at C: Z3*ZZ*yB - 2Y^2 - M*(ZZ*xB - X)   (RFC 5091 Alg. 3.4.2, scaled by 2YZ^3)
    const ZZ = (Z * Z) % p;
    const M = mod(3n * X * X + curve.a * ZZ * ZZ, p);
    const YY = (Y * Y) % p;
    const Z3 = (2n * Y * Z) % p;
    const c1 = (Z3 * ZZ) % p;
    const tangent: Fp2 = [
      mod(c1 * yB[0] - 2n * YY - M * (ZZ * xB[0] - X), p),
      mod(c1 * yB[1] - M * ((ZZ * xB[1]) % p), p),
    ];
    const S = (4n * X * YY) % p;
    const X3 = mod(M * M - 2n * S, p);
    const Y3 = mod(M * (S - X3) - 8n * YY * YY, p);
    X = X3;
    Y = Y3;
    Z = Z3;
    if (Z === 0n) throw new CryptoError('invalid-point', 'point of small order in the Miller loop');
    const ZZ3 = (Z * Z) % p;
    const vertical: Fp2 = [mod(ZZ3 * xB[0] - X, p), (ZZ3 * xB[1]) % p];
    num = fp2Mul(fp2Sqr(num, p), tangent, p);
    den = fp2Mul(fp2Sqr(den, p), vertical, p);
    if (bits[k] === '1') {
      // chord through C and A: Z3*(yB - yA) - r*(xB - xA)   (Alg. 3.4.3, scaled by Z3)
      const Z1Z1 = (Z * Z) % p;
      const U2 = (A.x * Z1Z1) % p;
      const S2 = (((A.y * Z) % p) * Z1Z1) % p;
      const H = mod(U2 - X, p);
      const r = mod(S2 - Y, p);
      if (H === 0n) throw new CryptoError('invalid-point', 'point of small order in the Miller loop');
      const Zn = (Z * H) % p;
      const chord: Fp2 = [mod(Zn * (yB[0] - A.y) - r * (xB[0] - A.x), p), mod(Zn * yB[1] - r * xB[1], p)];
      const HH = (H * H) % p;
      const HHH = (H * HH) % p;
      const V = (X * HH) % p;
      const X3a = mod(r * r - HHH - 2n * V, p);
      Y = mod(r * (V - X3a) - Y * HHH, p);
      X = X3a;
      Z = Zn;
      const ZZn = (Z * Z) % p;
      const vert: Fp2 = [mod(ZZn * xB[0] - X, p), (ZZn * xB[1]) % p];
      num = fp2Mul(num, chord, p);
      den = fp2Mul(den, vert, p);
    }
  }
  assertEndsAtMinusA(p, A, X, Y, Z);
  // [q-1]A = -A: the chord through -A and A is the vertical x - xA; f_q = f_{q-1} * (xB - xA).
  num = fp2Mul(num, [mod(xB[0] - A.x, p), xB[1]], p);
  return fp2Mul(num, fp2Inv(den, p), p);
}

/** RFC 5091 final exponentiation: f^((p^2-1)/q) = (conj(f)/f)^((p+1)/q). */
export function finalExpFull(curve: Curve, f: Fp2): Fp2 {
  const p = curve.p;
  const u = fp2Mul(fp2Conj(f, p), fp2Inv(f, p), p);
  return fp2Pow(u, curve.cofactor, p);
}

/** RFC 6508 §3.2: t = v^c, returned as its representative b/a in F_p. */
export function finalExpSakke(curve: Curve, f: Fp2): bigint {
  const nat = nativeIbc();
  if (nat) {
    const { bytes, L } = modulus(curve.p);
    const r = nat.fp2Pow(bytes, toBytes(f[0], L), toBytes(f[1], L), toBytes(curve.cofactor, L));
    return pfpRepresentative([fromBytes(r[0]), fromBytes(r[1])], curve.p);
  }
  return pfpRepresentative(fp2Pow(f, curve.cofactor, curve.p), curve.p);
}

// ---------------------------------------------------------------------------------------------
// SAKKE-shaped pairing (a = -3, distortion [i](x, y) = (-x, i*y)): lines take the form
//   alpha*Qx + beta + i*gamma*Qy   with alpha, beta, gamma in F_p,
// the loop runs over the NAF of q - 1 and keeps no vertical (they lie in F_p).

const stepsOf = new WeakMap<Curve, Int8Array>();

/** The NAF steps of q - 1 for a curve, computed once. */
function curveSteps(curve: Curve): Int8Array {
  let s = stepsOf.get(curve);
  if (!s) {
    s = nafSteps(curve.q - 1n);
    stepsOf.set(curve, s);
  }
  return s;
}

function nafSteps(e: bigint): Int8Array {
  // most significant digit first, the leading 1 dropped
  const d = naf(e);
  const out = new Int8Array(d.length - 1);
  for (let i = d.length - 2, j = 0; i >= 0; i--, j++) out[j] = d[i]!;
  return out;
}

/**
 * One-shot Miller value f_{q-1,A}([i]Q) for the SAKKE distortion, up to F_p* factors.
 * Throws CryptoError('invalid-point') unless A has order q.
 */
export function millerSakke(curve: Curve, A: Point, Q: Point): Fp2 {
  const p = curve.p;
  const steps = curveSteps(curve);
  const nat = nativeIbc();
  if (nat) {
    const { bytes, L } = modulus(p);
    const r = nat.millerSakke(bytes, steps, toBytes(A.x, L), toBytes(A.y, L), toBytes(Q.x, L), toBytes(Q.y, L));
    if (r === null) throw new CryptoError('invalid-point', 'point is not of order q');
    return [fromBytes(r[0]), fromBytes(r[1])];
  }
  const Qx = Q.x;
  const Qy = Q.y;
  const QxA = (Qx + A.x) % p;
  const yNeg = p - A.y;
  let f0 = 1n;
  let f1 = 0n;
  let X = A.x;
  let Y = A.y;
  let Z = 1n;
  for (let k = 0; k < steps.length; k++) {
    // doubling with tangent: re = M*(ZZ*Qx + X) - 2YY, im = 2YZ*ZZ*Qy
    const ZZ = (Z * Z) % p;
    const M = (3n * (X - ZZ) * (X + ZZ)) % p;
    const YY = (Y * Y) % p;
    const Z3 = (2n * Y * Z) % p;
    const re = (M * ((ZZ * Qx + X) % p) - 2n * YY) % p;
    const im = (((Z3 * ZZ) % p) * Qy) % p;
    const s0 = ((f0 + f1) * (f0 - f1)) % p;
    const s1 = (2n * f0 * f1) % p;
    const t0 = s0 * re;
    const t1 = s1 * im;
    f1 = ((s0 + s1) * (re + im) - t0 - t1) % p;
    f0 = (t0 - t1) % p;
    const S = (4n * X * YY) % p;
    const X3 = (M * M - 2n * S) % p;
    Y = (M * (S - X3) - 8n * YY * YY) % p;
    X = X3;
    Z = Z3;
    const d = steps[k]!;
    if (d !== 0) {
      // chord through C and K = +-A: re = r*(Qx + xA) - yK*Z3, im = Z3*Qy
      const yK = d > 0 ? A.y : yNeg;
      const Z1Z1 = (Z * Z) % p;
      const U2 = (A.x * Z1Z1) % p;
      const S2 = (((yK * Z) % p) * Z1Z1) % p;
      const H = (U2 - X) % p;
      const r = (S2 - Y) % p;
      if (H === 0n) throw new CryptoError('invalid-point', 'point of small order in the Miller loop');
      const Zn = (Z * H) % p;
      const lre = (r * QxA - yK * Zn) % p;
      const lim = (Zn * Qy) % p;
      const u0 = f0 * lre;
      const u1 = f1 * lim;
      f1 = ((f0 + f1) * (lre + lim) - u0 - u1) % p;
      f0 = (u0 - u1) % p;
      const HH = (H * H) % p;
      const HHH = (H * HH) % p;
      const V = (X * HH) % p;
      const Xn = (r * r - HHH - 2n * V) % p;
      Y = (r * (V - Xn) - Y * HHH) % p;
      X = Xn;
      Z = Zn;
    }
  }
  assertEndsAtMinusA(p, A, X, Y, Z);
  return [mod(f0, p), mod(f1, p)];
}

/** <R,Q> of RFC 6508 §3.2 as its F_p representative. */
export function sakkePairing(curve: Curve, R: Point, Q: Point): bigint {
  return finalExpSakke(curve, millerSakke(curve, R, Q));
}

/**
 * The lines of the Miller loop for a fixed first argument A, normalised to
 * lambda*Qx + mu + i*Qy, so that f_A([i]Q) for any Q costs six products per step and no
 * point arithmetic. Used for a receiver's own RSK (by symmetry <R,K> = <K,R> on the cyclic
 * group E(F_p)[q]) and for fixed public points (P, Z_S).
 */
export class SakkeLines {
  private readonly lam: bigint[];
  private readonly mu: bigint[];
  /** per step: 1 = squaring before the line (doubling), 0 = addition line only */
  private readonly sq: Uint8Array;
  /** the lines in the native core's form, packed on first native use */
  private packed: Uint8Array | undefined;
  constructor(
    private readonly curve: Curve,
    A: Point,
  ) {
    const p = curve.p;
    const steps = curveSteps(curve);
    const alpha: bigint[] = [];
    const beta: bigint[] = [];
    const gamma: bigint[] = [];
    const sq: number[] = [];
    const yNeg = p - A.y;
    let X = A.x;
    let Y = A.y;
    let Z = 1n;
    for (let k = 0; k < steps.length; k++) {
      const ZZ = (Z * Z) % p;
      const M = mod(3n * (X - ZZ) * (X + ZZ), p);
      const YY = (Y * Y) % p;
      const Z3 = (2n * Y * Z) % p;
      alpha.push((M * ZZ) % p);
      beta.push(mod(M * X - 2n * YY, p));
      gamma.push((Z3 * ZZ) % p);
      sq.push(1);
      const S = (4n * X * YY) % p;
      const X3 = mod(M * M - 2n * S, p);
      Y = mod(M * (S - X3) - 8n * YY * YY, p);
      X = X3;
      Z = Z3;
      const d = steps[k]!;
      if (d !== 0) {
        const yK = d > 0 ? A.y : yNeg;
        const Z1Z1 = (Z * Z) % p;
        const U2 = (A.x * Z1Z1) % p;
        const S2 = (((yK * Z) % p) * Z1Z1) % p;
        const H = mod(U2 - X, p);
        const r = mod(S2 - Y, p);
        if (H === 0n) throw new CryptoError('invalid-point', 'point of small order in the Miller loop');
        const Zn = (Z * H) % p;
        alpha.push(r);
        beta.push(mod(r * A.x - yK * Zn, p));
        gamma.push(Zn);
        sq.push(0);
        const HH = (H * H) % p;
        const HHH = (H * HH) % p;
        const V = (X * HH) % p;
        const Xn = mod(r * r - HHH - 2n * V, p);
        Y = mod(r * (V - Xn) - Y * HHH, p);
        X = Xn;
        Z = Zn;
      }
    }
    assertEndsAtMinusA(p, A, X, Y, Z);
    // batch inversion of all gammas
    const n = gamma.length;
    const prefix: bigint[] = new Array(n);
    let acc = 1n;
    for (let i = 0; i < n; i++) {
      prefix[i] = acc;
      acc = (acc * gamma[i]!) % p;
    }
    let inv = invMod(acc, p);
    this.lam = new Array(n);
    this.mu = new Array(n);
    for (let i = n - 1; i >= 0; i--) {
      const gi = (inv * prefix[i]!) % p;
      inv = (inv * gamma[i]!) % p;
      this.lam[i] = (alpha[i]! * gi) % p;
      this.mu[i] = (beta[i]! * gi) % p;
    }
    this.sq = Uint8Array.from(sq);
  }

  /** f_A([i]Q) up to F_p* factors. */
  miller(Q: Point): Fp2 {
    const p = this.curve.p;
    const { lam, mu, sq } = this;
    const nat = nativeIbc();
    if (nat) {
      const { bytes, L } = modulus(p);
      if (!this.packed) {
        const all = new Uint8Array(2 * lam.length * L);
        for (let i = 0; i < lam.length; i++) {
          all.set(toBytes(lam[i]!, L), 2 * i * L);
          all.set(toBytes(mu[i]!, L), (2 * i + 1) * L);
        }
        this.packed = nat.linesPack(bytes, all);
      }
      const r = nat.millerLines(bytes, this.packed, sq, toBytes(Q.x, L), toBytes(Q.y, L));
      return [fromBytes(r[0]), fromBytes(r[1])];
    }
    const Qx = Q.x;
    const Qy = Q.y;
    let f0 = 1n;
    let f1 = 0n;
    const n = sq.length;
    for (let k = 0; k < n; k++) {
      if (sq[k] === 1) {
        const s0 = ((f0 + f1) * (f0 - f1)) % p;
        f1 = (2n * f0 * f1) % p;
        f0 = s0;
      }
      const re = (lam[k]! * Qx + mu[k]!) % p;
      const t0 = f0 * re;
      const t1 = f1 * Qy;
      f1 = ((f0 + f1) * (re + Qy) - t0 - t1) % p;
      f0 = (t0 - t1) % p;
    }
    return [mod(f0, p), mod(f1, p)];
  }

  /** <A,Q> as its F_p representative. */
  pairing(Q: Point): bigint {
    return finalExpSakke(this.curve, this.miller(Q));
  }
}

/** Product of raw Miller values raised to exponents, then SAKKE final exponentiation. */
export function sakkeCombine(curve: Curve, parts: Array<[Fp2, bigint]>): bigint {
  const p = curve.p;
  let acc: Fp2 = [1n, 0n];
  const nat = nativeIbc();
  const pow = (f: Fp2, e: bigint): Fp2 => {
    if (!nat) return fp2Pow(f, e, p);
    const { bytes, L } = modulus(p);
    const r = nat.fp2Pow(bytes, toBytes(f[0], L), toBytes(f[1], L), toBytes(e, L));
    return [fromBytes(r[0]), fromBytes(r[1])];
  };
  for (const [f, e] of parts) acc = fp2Mul(acc, e === 1n ? f : pow(f, mod(e, curve.q)), p);
  return finalExpSakke(curve, acc);
}
