// Short Weierstrass curves y^2 = x^3 + a*x + b over F_p with a subgroup of prime order q,
// as used by the type-1 pairings: RFC 6508 (y^2 = x^3 - 3x) and RFC 5091 (y^2 = x^3 + 1).
// Points are affine {x, y} or null (the point at infinity); arithmetic runs in Jacobian
// coordinates (X, Y, Z) ~ (X/Z^2, Y/Z^3) (RFC 5091 §3.3).
import { CryptoError } from '../errors.js';
import { bigIntToBytes, bitLength, bytesToBigInt, invMod, jacobi, mod, signedWindows, sqrtMod3 } from './field.js';
import { type NativeIbc, fromBytes, modulus, nativeIbc, pack, toBytes } from '../native.js';

export interface Point {
  readonly x: bigint;
  readonly y: bigint;
}
export type MaybePoint = Point | null;
type Jac = [bigint, bigint, bigint];

export interface CurveParams {
  p: bigint;
  q: bigint;
  a: bigint;
  b: bigint;
  /** generator of the order-q subgroup */
  P: Point;
}

export class Curve {
  readonly p: bigint;
  readonly q: bigint;
  readonly a: bigint;
  readonly b: bigint;
  readonly P: Point;
  /** (p + 1) / q */
  readonly cofactor: bigint;
  /** octets of an F_p element: L = Ceiling(lg(p)/8) (RFC 6508 §4) */
  readonly L: number;
  private readonly aMinus3: boolean;
  /** y^2 = x^3 - 3x, p = 3 (mod 4), 3 not a square, cofactor 4: E(F_p) is cyclic of order 4q */
  private readonly descent: boolean;
  private pTable: FixedBaseTable | undefined;
  /** products of the generator done before its table is built */
  private baseUses = 0;
  /** the native core serves curves with a = -3: fixed-base tables for all (P-256, SAKKE),
   * variable-base multiplication above 512 bits (below, OpenSSL's own curve code is faster) */
  private readonly nativeShape: boolean;
  private readonly nativeVar: boolean;

  constructor(params: CurveParams) {
    this.p = params.p;
    this.q = params.q;
    this.a = mod(params.a, params.p);
    this.b = mod(params.b, params.p);
    this.P = params.P;
    this.cofactor = (this.p + 1n) / this.q;
    this.L = Math.ceil(bitLength(this.p) / 8);
    this.aMinus3 = this.a === this.p - 3n;
    this.descent = this.aMinus3 && this.b === 0n && this.cofactor === 4n && this.p % 4n === 3n && jacobi(3n, this.p) === -1;
    if (!this.isOnCurve(this.P)) throw new CryptoError('invalid-parameter', 'generator not on the curve');
    this.nativeShape = this.aMinus3;
    this.nativeVar = this.aMinus3 && this.p > 1n << 512n;
  }

  /** The native core, when loaded and suited to this curve. */
  native(): NativeIbc | null {
    return this.nativeShape ? nativeIbc() : null;
  }

  /** Jacobian [k]A by the native core; k reduced modulo the group order, over a fixed length. */
  nativeMulJac(nat: NativeIbc, A: Point, k: bigint): Jac {
    const { bytes, L } = modulus(this.p);
    const r = nat.ecMul(bytes, toBytes(A.x, L), toBytes(A.y, L), toBytes(mod(k, this.q * this.cofactor), L));
    return [fromBytes(r[0]), fromBytes(r[1]), fromBytes(r[2])];
  }

  /** Jacobian [k]A + [l]B by the native core. */
  nativeMul2Jac(nat: NativeIbc, A: Point, k: bigint, B: Point, l: bigint): Jac {
    const { bytes, L } = modulus(this.p);
    const n = this.q * this.cofactor;
    const r = nat.ecMul2(bytes, toBytes(A.x, L), toBytes(A.y, L), toBytes(mod(k, n), L), toBytes(B.x, L), toBytes(B.y, L), toBytes(mod(l, n), L));
    return [fromBytes(r[0]), fromBytes(r[1]), fromBytes(r[2])];
  }

  /**
   * A comb table of A (a point of order q) in the native core, for [k]A with k below q: 8 teeth
   * and `s` tables, built in about two scalar multiplications; null when a table point is at
   * infinity (the caller keeps its other path).
   */
  nativeCombTable(nat: NativeIbc, A: Point, s = 2): Uint8Array | null {
    const { bytes, L } = modulus(this.p);
    return nat.ecCombTable(bytes, toBytes(A.x, L), toBytes(A.y, L), bitLength(this.q), s);
  }

  /** Jacobian [k mod q]A from nativeCombTable's table of A. */
  nativeCombMulJac(nat: NativeIbc, table: Uint8Array, k: bigint, s = 2): Jac {
    const { bytes, L } = modulus(this.p);
    const r = nat.ecCombMul(bytes, table, bitLength(this.q), s, toBytes(mod(k, this.q), L));
    return [fromBytes(r[0]), fromBytes(r[1]), fromBytes(r[2])];
  }

  isOnCurve(pt: Point): boolean {
    const { p } = this;
    if (pt.x < 0n || pt.x >= p || pt.y < 0n || pt.y >= p) return false;
    return (pt.y * pt.y - ((pt.x * pt.x + this.a) * pt.x + this.b)) % p === 0n;
  }

  /** On the curve and of order q: [q]pt = 0 (pt itself not 0). */
  isInSubgroup(pt: Point): boolean {
    if (!this.isOnCurve(pt)) return false;
    return this.descent ? this.inFourE(pt) : this.mulVar(pt, this.q) === null;
  }

  /**
   * For y^2 = x^3 - 3x with E(F_p) cyclic of order 4q: E(F_p)[q] = 4E(F_p), decided by
   * 2-isogeny descent instead of a scalar multiplication by q. With E': Y^2 = X^3 + 12X and
   * the isogenies phi: E -> E', phi^: E' -> E (phi^ o phi = [2]), the map (x, y) -> x mod
   * squares has kernel 2E(F_p); a half H of K (2H = +-K) is found through K' in E' with
   * phi^(K') = +-K and phi(H) = +-K', and K is in 4E iff H is in 2E.
   */
  private inFourE(K: Point): boolean {
    const p = this.p;
    const x = K.x;
    if (K.y === 0n || jacobi(x, p) !== 1) return false; // K in 2E(F_p)?
    // X^2 - 4x X + 12 = 0: X = 2x +- 2 sqrt(x^2 - 3); the root that is a square lies in phi(E)
    const s1 = sqrtMod3(mod(x * x - 3n, p), p);
    if (s1 === null) return false;
    let X = mod(2n * x + 2n * s1, p);
    if (jacobi(X, p) !== 1) X = mod(2n * x - 2n * s1, p);
    if (jacobi(X, p) !== 1) return false;
    // x_H^2 - X x_H - 3 = 0
    const s2 = sqrtMod3(mod(X * X + 12n, p), p);
    if (s2 === null) return false;
    const xH = mod((X + s2) * ((p + 1n) / 2n), p);
    return jacobi(xH, p) === 1;
  }

  /** 0x04 || x || y, 2L+1 octets (RFC 6508 §4, RFC 5480 §2.2). */
  encodePoint(pt: Point): Uint8Array {
    const out = new Uint8Array(2 * this.L + 1);
    out[0] = 4;
    out.set(bigIntToBytes(pt.x, this.L), 1);
    out.set(bigIntToBytes(pt.y, this.L), 1 + this.L);
    return out;
  }

  /** Parses 0x04 || x || y and checks that the point is on the curve (not yet the subgroup). */
  decodePoint(bytes: Uint8Array): Point {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 2 * this.L + 1) throw new CryptoError('invalid-length', `point must be ${2 * this.L + 1} octets`);
    if (bytes[0] !== 4) throw new CryptoError('invalid-point', 'point is not in uncompressed form');
    const pt = { x: bytesToBigInt(bytes.subarray(1, 1 + this.L)), y: bytesToBigInt(bytes.subarray(1 + this.L)) };
    if (!this.isOnCurve(pt)) throw new CryptoError('invalid-point', 'point is not on the curve');
    return pt;
  }

  equals(a: MaybePoint, b: MaybePoint): boolean {
    if (a === null || b === null) return a === b;
    return a.x === b.x && a.y === b.y;
  }

  negate(a: MaybePoint): MaybePoint {
    return a === null ? null : { x: a.x, y: a.y === 0n ? 0n : this.p - a.y };
  }

  add(a: MaybePoint, b: MaybePoint): MaybePoint {
    if (a === null) return b;
    if (b === null) return a;
    return this.toAffine(this.jacAddAffine([a.x, a.y, 1n], b));
  }

  // ---- Jacobian arithmetic ----

  // Coordinates in these formulas may be any representative in (-p, p): every product is
  // reduced with %, and only toAffine/batchToAffine normalise.

  /** [2]A; RFC 5091 §3.3.1 shape, with the a = -3 shortcut M = 3(X - Z^2)(X + Z^2). */
  jacDouble(A: Jac): Jac {
    const p = this.p;
    const [X, Y, Z] = A;
    if (Z === 0n || Y === 0n) return [1n, 1n, 0n];
    const ZZ = (Z * Z) % p;
    const M = this.aMinus3 ? (3n * (X - ZZ) * (X + ZZ)) % p : (3n * X * X + this.a * ((ZZ * ZZ) % p)) % p;
    const YY = (Y * Y) % p;
    const S = (4n * X * YY) % p;
    const X3 = (M * M - 2n * S) % p;
    const Y3 = (M * (S - X3) - 8n * YY * YY) % p;
    const Z3 = (2n * Y * Z) % p;
    return [X3, Y3, Z3];
  }

  /** A + B with B affine (mixed addition); handles the doubling and inverse cases. */
  jacAddAffine(A: Jac, B: Point): Jac {
    const p = this.p;
    const [X1, Y1, Z1] = A;
    if (Z1 === 0n) return [B.x, B.y, 1n];
    const Z1Z1 = (Z1 * Z1) % p;
    const H = (B.x * Z1Z1 - X1) % p;
    const r = ((((B.y * Z1) % p) * Z1Z1) - Y1) % p;
    if (H === 0n) return r === 0n ? this.jacDouble(A) : [1n, 1n, 0n];
    const HH = (H * H) % p;
    const HHH = (H * HH) % p;
    const V = (X1 * HH) % p;
    const X3 = (r * r - HHH - 2n * V) % p;
    const Y3 = (r * (V - X3) - Y1 * HHH) % p;
    const Z3 = (Z1 * H) % p;
    return [X3, Y3, Z3];
  }

  /** A + B, both Jacobian. */
  jacAdd(A: Jac, B: Jac): Jac {
    const p = this.p;
    const [X1, Y1, Z1] = A;
    const [X2, Y2, Z2] = B;
    if (Z1 === 0n) return B;
    if (Z2 === 0n) return A;
    const Z1Z1 = (Z1 * Z1) % p;
    const Z2Z2 = (Z2 * Z2) % p;
    const U1 = (X1 * Z2Z2) % p;
    const S1 = (((Y1 * Z2) % p) * Z2Z2) % p;
    const H = (X2 * Z1Z1 - U1) % p;
    const r = ((((Y2 * Z1) % p) * Z1Z1) - S1) % p;
    if (H === 0n) return r === 0n ? this.jacDouble(A) : [1n, 1n, 0n];
    const HH = (H * H) % p;
    const HHH = (H * HH) % p;
    const V = (U1 * HH) % p;
    const X3 = (r * r - HHH - 2n * V) % p;
    const Y3 = (r * (V - X3) - S1 * HHH) % p;
    const Z3 = (((Z1 * Z2) % p) * H) % p;
    return [X3, Y3, Z3];
  }

  toAffine(A: Jac): MaybePoint {
    const [X, Y, Z] = A;
    if (Z === 0n) return null;
    const p = this.p;
    const zi = invMod(Z, p);
    const zi2 = (zi * zi) % p;
    return { x: mod(X * zi2, p), y: mod(((Y * zi2) % p) * zi, p) };
  }

  /** Affine forms of many Jacobian points with one inversion (Montgomery's trick). */
  batchToAffine(pts: Jac[]): MaybePoint[] {
    const p = this.p;
    const n = pts.length;
    const prefix: bigint[] = new Array(n);
    let acc = 1n;
    for (let i = 0; i < n; i++) {
      prefix[i] = acc;
      const z = pts[i]![2];
      if (z !== 0n) acc = (acc * z) % p;
    }
    let inv = invMod(acc, p);
    const out: MaybePoint[] = new Array(n);
    // prefix products may be negative representatives; the results are normalised below
    for (let i = n - 1; i >= 0; i--) {
      const [X, Y, Z] = pts[i]!;
      if (Z === 0n) {
        out[i] = null;
        continue;
      }
      const zi = (inv * prefix[i]!) % p;
      inv = (inv * Z) % p;
      const zi2 = (zi * zi) % p;
      out[i] = { x: mod(X * zi2, p), y: mod(((Y * zi2) % p) * zi, p) };
    }
    return out;
  }

  /** [k]A for a public scalar (variable time, width-4 signed windows). */
  mulVar(A: Point, k: bigint): MaybePoint {
    k = mod(k, this.q * this.cofactor);
    if (k === 0n) return null;
    const nat = this.nativeVar ? nativeIbc() : null;
    if (nat) return this.toAffine(this.nativeMulJac(nat, A, k));
    const w = 4;
    const count = Math.ceil(bitLength(k) / w);
    const digits = signedWindows(k, w, count);
    const tab: Jac[] = [[A.x, A.y, 1n]];
    for (let d = 2; d <= 1 << (w - 1); d++) tab.push(this.jacAddAffine(tab[d - 2]!, A));
    const aff = this.batchToAffine(tab);
    let acc: Jac = [1n, 1n, 0n];
    for (let j = count; j >= 0; j--) {
      for (let s = 0; s < w; s++) acc = this.jacDouble(acc);
      const d = digits[j]!;
      if (d !== 0) {
        const t = aff[(d < 0 ? -d : d) - 1]!;
        if (t !== null) acc = this.jacAddAffine(acc, d < 0 ? { x: t.x, y: this.p - t.y } : t);
      }
    }
    return this.toAffine(acc);
  }

  /**
   * [k]A for a secret scalar: fixed-length signed windows over bitLength(n) bits, a table
   * lookup and an addition at every window whatever the digit (a zero digit adds and drops).
   */
  mulSecret(A: Point, k: bigint): MaybePoint {
    return this.toAffine(this.mulSecretJac(A, k));
  }

  /** Jacobian [k]A for a secret scalar (`mulSecret` without the final inversion). */
  mulSecretJac(A: Point, k: bigint): Jac {
    const n = this.q * this.cofactor;
    k = mod(k, n);
    const nat = this.nativeVar ? nativeIbc() : null;
    if (nat) return this.nativeMulJac(nat, A, k);
    const w = 5;
    const count = Math.ceil(bitLength(n) / w);
    const digits = signedWindows(k, w, count);
    const tab: Jac[] = [[A.x, A.y, 1n]];
    for (let d = 2; d <= 1 << (w - 1); d++) tab.push(this.jacAddAffine(tab[d - 2]!, A));
    const aff = this.batchToAffine(tab);
    let acc: Jac = [1n, 1n, 0n];
    for (let j = count; j >= 0; j--) {
      for (let s = 0; s < w; s++) acc = this.jacDouble(acc);
      const d = digits[j]!;
      const t = aff[(d < 0 ? -d : d === 0 ? 1 : d) - 1]!;
      const sum = t === null ? acc : this.jacAddAffine(acc, d < 0 ? { x: t.x, y: this.p - t.y } : t);
      if (d !== 0) acc = sum;
    }
    return acc;
  }

  /** [k]P for the curve's generator, by a lazily built fixed-base table. */
  mulBase(k: bigint): MaybePoint {
    return this.toAffine(this.mulBaseJac(k));
  }

  /** Jacobian [k]P (no final inversion), for sums of fixed-base products. */
  mulBaseJac(k: bigint): Jac {
    // the generator's table takes ~0.8 s to build in BigInt for the 1024-bit curve, the time of
    // ~30 variable-base products in BigInt or ~200 in the native core: a process that multiplies
    // the generator a few times (a KMS set-up and a few RSKs, one call, `mikey start`) does not
    // build it; one that keeps going (a KMS issuing keys, a client sending calls) builds it on
    // the ninth product
    if (this.pTable === undefined && this.baseUses < 8) {
      this.baseUses++;
      return this.mulSecretJac(this.P, k);
    }
    return this.baseTable().mulJac(k);
  }

  private baseTable(): FixedBaseTable {
    // the generator's table is shared by every key of the parameter set: a wider window
    if (!this.pTable) this.pTable = new FixedBaseTable(this, this.P, this.p > 1n << 512n ? 8 : 6);
    return this.pTable;
  }
}

/**
 * Fixed-base scalar multiplication: affine multiples d * 2^(w*j) * B for signed digits d,
 * so [k]B is one mixed addition per window and no doubling. Every scalar below the
 * group order takes the same number of additions (zero digits add and drop the result).
 */
export class FixedBaseTable {
  private readonly rows: Point[][];
  private readonly windows: number;
  /** the rows in the native core's form, packed on first native use */
  private packed: Uint8Array | undefined;
  constructor(
    private readonly curve: Curve,
    base: Point,
    private readonly w = 6,
  ) {
    const bits = bitLength(curve.q * curve.cofactor);
    this.windows = Math.ceil(bits / w);
    const half = 1 << (w - 1);
    const jac: [bigint, bigint, bigint][] = [];
    let b: [bigint, bigint, bigint] = [base.x, base.y, 1n];
    const bAff: Point[] = [base];
    for (let j = 0; j <= this.windows; j++) {
      const bj = j === 0 ? base : (curve.toAffine(b) as Point);
      bAff[j] = bj;
      let m: [bigint, bigint, bigint] = [bj.x, bj.y, 1n];
      jac.push(m);
      for (let d = 2; d <= half; d++) {
        m = curve.jacAddAffine(m, bj);
        jac.push(m);
      }
      for (let s = 0; s < w; s++) b = curve.jacDouble(b);
    }
    const aff = curve.batchToAffine(jac);
    this.rows = [];
    for (let j = 0; j <= this.windows; j++) {
      const row: Point[] = [];
      for (let d = 0; d < half; d++) {
        const pt = aff[j * half + d];
        if (pt == null) throw new CryptoError('invalid-point', 'base point of small order');
        row.push(pt);
      }
      this.rows.push(row);
    }
  }

  mulJac(k: bigint): [bigint, bigint, bigint] {
    const curve = this.curve;
    const p = curve.p;
    k = mod(k, curve.q * curve.cofactor);
    const digits = signedWindows(k, this.w, this.windows);
    const nat = curve.native();
    if (nat) {
      this.packed ??= pack(nat, p, this.rows.flatMap((row) => row.flatMap((pt) => [pt.x, pt.y])));
      const r = nat.ecFixedMul(modulus(p).bytes, this.packed, 1 << (this.w - 1), digits);
      return [fromBytes(r[0]), fromBytes(r[1]), fromBytes(r[2])];
    }
    let acc: [bigint, bigint, bigint] = [1n, 1n, 0n];
    for (let j = 0; j <= this.windows; j++) {
      const d = digits[j]!;
      const t = this.rows[j]![(d < 0 ? -d : d === 0 ? 1 : d) - 1]!;
      const sum = curve.jacAddAffine(acc, d < 0 ? { x: t.x, y: p - t.y } : t);
      if (d !== 0) acc = sum;
    }
    return acc;
  }

  mul(k: bigint): MaybePoint {
    return this.curve.toAffine(this.mulJac(k));
  }
}
