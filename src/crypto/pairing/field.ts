// Prime-field helpers over bigint, and the octet-string conventions of RFC 6508 §4 / RFC 6090 §6.
import { randomBytes } from 'node:crypto';
import { CryptoError } from '../errors.js';
import { fromBytes, modulus, nativeIbc, toBytes } from '../native.js';

export type RandomSource = (n: number) => Uint8Array;
export const defaultRandom: RandomSource = (n) => new Uint8Array(randomBytes(n));

export function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

/** Number of bits of a non-negative integer. */
export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** a^e mod m, square-and-multiply over every bit of e (the pattern depends on e only). */
export function powMod(a: bigint, e: bigint, m: bigint): bigint {
  let base = mod(a, m);
  let r = 1n;
  while (e > 0n) {
    if (e & 1n) r = (r * base) % m;
    base = (base * base) % m;
    e >>= 1n;
  }
  return r;
}

/**
 * Inverse modulo m by the extended Euclidean algorithm with Lehmer's speed-up: runs of
 * quotients are found from the leading 52 bits in double precision and applied to the
 * big integers at once (variable time: public or blinded inputs only).
 */
export function invMod(a: bigint, m: bigint): bigint {
  let r0 = m;
  let r1 = mod(a, m);
  if (r1 === 0n) throw new CryptoError('invalid-parameter', 'inverse of zero');
  let s0 = 0n;
  let s1 = 1n;
  while (r1 >> 64n !== 0n) {
    const shift = BigInt(Math.max(0, bitLength(r0) - 52));
    let x = Number(r0 >> shift);
    let y = Number(r1 >> shift);
    let A = 1;
    let B = 0;
    let C = 0;
    let D = 1;
    for (;;) {
      if (y + C === 0 || y + D === 0) break;
      const q1 = Math.floor((x + A) / (y + C));
      const q2 = Math.floor((x + B) / (y + D));
      if (q1 !== q2) break;
      const t = A - q1 * C;
      A = C;
      C = t;
      const u = B - q1 * D;
      B = D;
      D = u;
      const v = x - q1 * y;
      x = y;
      y = v;
    }
    if (B === 0) {
      const qt = r0 / r1;
      const r2 = r0 - qt * r1;
      r0 = r1;
      r1 = r2;
      const s2 = s0 - qt * s1;
      s0 = s1;
      s1 = s2;
    } else {
      const bA = BigInt(A);
      const bB = BigInt(B);
      const bC = BigInt(C);
      const bD = BigInt(D);
      const nr0 = bA * r0 + bB * r1;
      const nr1 = bC * r0 + bD * r1;
      r0 = nr0;
      r1 = nr1;
      const ns0 = bA * s0 + bB * s1;
      const ns1 = bC * s0 + bD * s1;
      s0 = ns0;
      s1 = ns1;
    }
  }
  while (r1 !== 0n) {
    const qt = r0 / r1;
    const r2 = r0 - qt * r1;
    r0 = r1;
    r1 = r2;
    const s2 = s0 - qt * s1;
    s0 = s1;
    s1 = s2;
  }
  if (r0 !== 1n) throw new CryptoError('invalid-parameter', 'not invertible');
  return mod(s0, m);
}

/**
 * Inverse of a secret value modulo a prime m: the Euclidean steps run on a·β for a fresh
 * random β (multiplicative blinding), so their number does not depend on a alone.
 */
export function invModBlinded(a: bigint, m: bigint, random: RandomSource = defaultRandom): bigint {
  // the native core inverts up to 521 bits as a^(m-2) (Fermat), its steps independent of a
  const nat = m < 1n << 521n ? nativeIbc() : null;
  if (nat) {
    const { bytes, L } = modulus(m);
    const r = fromBytes(nat.fpInv(bytes, toBytes(mod(a, m), L)));
    if (r === 0n) throw new CryptoError('invalid-parameter', 'inverse of zero');
    return r;
  }
  const beta = randomScalar(m, random);
  return (invMod((mod(a, m) * beta) % m, m) * beta) % m;
}

/** Square root modulo p for p ≡ 3 (mod 4); null when a is not a square. */
export function sqrtMod3(a: bigint, p: bigint): bigint | null {
  const nat = nativeIbc();
  let r: bigint;
  if (nat && p > 1n << 512n) {
    const { bytes, L } = modulus(p);
    r = fromBytes(nat.fp2Pow(bytes, toBytes(mod(a, p), L), toBytes(0n, L), toBytes((p + 1n) >> 2n, L))[0]);
  } else r = powMod(a, (p + 1n) >> 2n, p);
  return (r * r) % p === mod(a, p) ? r : null;
}

/** Jacobi symbol (a/n) for odd n > 0 (the Legendre symbol when n is prime); variable time. */
export function jacobi(a: bigint, n: bigint): number {
  a = mod(a, n);
  let t = 1;
  while (a !== 0n) {
    while ((a & 1n) === 0n) {
      a >>= 1n;
      const r = n & 7n;
      if (r === 3n || r === 5n) t = -t;
    }
    const tmp = a;
    a = n;
    n = tmp;
    if ((a & 3n) === 3n && (n & 3n) === 3n) t = -t;
    a %= n;
  }
  return n === 1n ? t : 0;
}

const SMALL_PRIMES: bigint[] = (() => {
  const out: bigint[] = [];
  for (let n = 3; n < 2000; n += 2) {
    let prime = true;
    for (let d = 3; d * d <= n; d += 2) if (n % d === 0) prime = false;
    if (prime) out.push(BigInt(n));
  }
  return out;
})();

/** Miller-Rabin with `rounds` random bases after trial division (public candidates only). */
export function isProbablePrime(n: bigint, rounds = 32, random: RandomSource = defaultRandom): boolean {
  if (n < 2n) return false;
  if (n < 4n) return true;
  if ((n & 1n) === 0n) return false;
  for (const sp of SMALL_PRIMES) {
    if (n === sp) return true;
    if (n % sp === 0n) return false;
  }
  let d = n - 1n;
  let r = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    r++;
  }
  for (let i = 0; i < rounds; i++) {
    const a = (randomScalar(n - 3n, random) % (n - 3n)) + 2n;
    let x = powMod(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    let composite = true;
    for (let j = 1; j < r; j++) {
      x = (x * x) % n;
      if (x === n - 1n) {
        composite = false;
        break;
      }
    }
    if (composite) return false;
  }
  return true;
}

/** Integer in [1, n-1] from 64 more random bits than n has, reduced. */
export function randomScalar(n: bigint, random: RandomSource = defaultRandom): bigint {
  const len = Math.ceil(bitLength(n) / 8) + 8;
  const b = random(len);
  if (!(b instanceof Uint8Array) || b.length !== len) throw new CryptoError('random-failure', 'random source returned the wrong length');
  // [0, n-2] + 1; the 64 extra bits make the reduction bias negligible.
  return (bytesToBigInt(b) % (n - 1n)) + 1n;
}

export function bytesToBigInt(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  return BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex'));
}

/** Big-endian, left-padded to exactly `len` octets (RFC 6090 §6). */
export function bigIntToBytes(n: bigint, len: number): Uint8Array {
  if (n < 0n) throw new CryptoError('invalid-parameter', 'negative integer');
  const hex = n.toString(16);
  if (hex.length > len * 2) throw new CryptoError('invalid-length', 'integer does not fit');
  return new Uint8Array(Buffer.from(hex.padStart(len * 2, '0'), 'hex'));
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time equality for equal-length byte strings. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function xorBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length !== b.length) throw new CryptoError('invalid-length', 'xor of unequal lengths');
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** Signed-digit (width-w) recoding of a non-negative scalar into exactly `count` digits in [-2^(w-1), 2^(w-1)]. */
export function signedWindows(k: bigint, w: number, count: number): Int32Array {
  const out = new Int32Array(count + 1);
  const mask = (1n << BigInt(w)) - 1n;
  const half = 1 << (w - 1);
  const full = 1 << w;
  let carry = 0;
  for (let j = 0; j < count; j++) {
    let d = Number((k >> BigInt(w * j)) & mask) + carry;
    if (d > half) {
      d -= full;
      carry = 1;
    } else carry = 0;
    out[j] = d;
  }
  out[count] = carry;
  return out;
}

/** Non-adjacent form, least significant digit first, digits in {-1, 0, 1}. */
export function naf(n: bigint): Int8Array {
  const d: number[] = [];
  while (n > 0n) {
    if (n & 1n) {
      const z = 2 - Number(n & 3n);
      d.push(z);
      n -= BigInt(z);
    } else d.push(0);
    n >>= 1n;
  }
  return Int8Array.from(d);
}
