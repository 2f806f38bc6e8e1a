// F_p^2 = F_p[i], i^2 + 1 = 0 (RFC 6508 §2.1; RFC 5091 §2.1 with erratum 3229: a*b = (a0b0 - a1b1, a0b1 + a1b0)).
// Elements are pairs [re, im] of reduced integers.
import { CryptoError } from '../errors.js';
import { invMod, mod, signedWindows } from './field.js';
import { fromBytes, modulus, nativeIbc, pack } from '../native.js';

export type Fp2 = readonly [bigint, bigint];

export const fp2One: Fp2 = [1n, 0n];

export function fp2Add(a: Fp2, b: Fp2, p: bigint): Fp2 {
  let r = a[0] + b[0];
  if (r >= p) r -= p;
  let s = a[1] + b[1];
  if (s >= p) s -= p;
  return [r, s];
}

export function fp2Sub(a: Fp2, b: Fp2, p: bigint): Fp2 {
  let r = a[0] - b[0];
  if (r < 0n) r += p;
  let s = a[1] - b[1];
  if (s < 0n) s += p;
  return [r, s];
}

export function fp2Mul(a: Fp2, b: Fp2, p: bigint): Fp2 {
  // Karatsuba: 3 products, 2 reductions.
  const t0 = a[0] * b[0];
  const t1 = a[1] * b[1];
  const t2 = (a[0] + a[1]) * (b[0] + b[1]);
  return [mod(t0 - t1, p), (t2 - t0 - t1) % p];
}

export function fp2Sqr(a: Fp2, p: bigint): Fp2 {
  return [mod((a[0] + a[1]) * (a[0] - a[1]), p), (2n * a[0] * a[1]) % p];
}

export function fp2Conj(a: Fp2, p: bigint): Fp2 {
  return [a[0], a[1] === 0n ? 0n : p - a[1]];
}

export function fp2Inv(a: Fp2, p: bigint): Fp2 {
  const n = (a[0] * a[0] + a[1] * a[1]) % p;
  if (n === 0n) throw new CryptoError('invalid-parameter', 'inverse of zero in F_p^2');
  const ni = invMod(n, p);
  return [(a[0] * ni) % p, mod(-a[1] * ni, p)];
}

export function fp2Eq(a: Fp2, b: Fp2): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

export function fp2Pow(a: Fp2, e: bigint, p: bigint): Fp2 {
  let r: Fp2 = fp2One;
  let b = a;
  while (e > 0n) {
    if (e & 1n) r = fp2Mul(r, b, p);
    b = fp2Sqr(b, p);
    e >>= 1n;
  }
  return r;
}

/**
 * a^e for a secret exponent: a Montgomery ladder over a fixed number of bits, one product and
 * one squaring per bit whatever its value.
 */
export function fp2PowSecret(a: Fp2, e: bigint, bits: number, p: bigint): Fp2 {
  let r0: Fp2 = fp2One;
  let r1: Fp2 = a;
  for (let i = bits - 1; i >= 0; i--) {
    const bit = Number((e >> BigInt(i)) & 1n);
    const m = fp2Mul(r0, r1, p);
    const s = fp2Sqr(bit ? r1 : r0, p);
    r0 = bit ? m : s;
    r1 = bit ? s : m;
  }
  return r0;
}

/**
 * Representative in F_p of an element a + i*b of PF_p = F_p^2* / F_p*, namely b/a (RFC 6508 §3.2).
 */
export function pfpRepresentative(t: Fp2, p: bigint): bigint {
  if (t[0] === 0n) throw new CryptoError('invalid-parameter', 'element of order 2 in PF_p');
  return (t[1] * invMod(t[0], p)) % p;
}

/**
 * Fixed-base exponentiation in PF_p (elements modulo F_p*): powers of one base by a
 * table of signed windows. Inversion in PF_p is conjugation, so negative digits cost nothing.
 * Every exponent of the same window count takes the same sequence of multiplications.
 */
export class PfpFixedBase {
  private readonly table: Fp2[][];
  private readonly windows: number;
  private packed: Uint8Array | undefined;
  constructor(
    base: Fp2,
    private readonly p: bigint,
    maxBits: number,
    private readonly w = 7,
  ) {
    this.windows = Math.ceil((maxBits + 1) / w);
    const half = 1 << (w - 1);
    this.table = [];
    let b = base;
    for (let j = 0; j <= this.windows; j++) {
      const row: Fp2[] = [fp2One, b];
      for (let d = 2; d <= half; d++) row.push(fp2Mul(row[d - 1]!, b, p));
      this.table.push(row);
      // next window base: b^(2^w)
      let nb = b;
      for (let s = 0; s < w; s++) nb = fp2Sqr(nb, p);
      b = nb;
    }
  }

  /** base^e as a projective F_p^2 element (any F_p* multiple of the true power). */
  pow(e: bigint): Fp2 {
    const p = this.p;
    const digits = signedWindows(e, this.w, this.windows);
    const nat = p > 1n << 512n ? nativeIbc() : null;
    if (nat) {
      this.packed ??= pack(nat, p, this.table.flatMap((row) => row.flatMap((t) => [t[0], t[1]])));
      const r = nat.fp2FixedPow(modulus(p).bytes, this.packed, this.table[0]!.length, digits);
      return [fromBytes(r[0]), fromBytes(r[1])];
    }
    let acc: Fp2 = fp2One;
    for (let j = 0; j <= this.windows; j++) {
      const d = digits[j]!;
      const ad = d < 0 ? -d : d;
      const t = this.table[j]![ad]!;
      // negative digit: multiply by the conjugate (the inverse in PF_p)
      acc = fp2Mul(acc, d < 0 ? [t[0], p - t[1]] : t, p);
    }
    return acc;
  }
}
