// Boneh-Franklin identity-based encryption on type-1 curves (RFC 5091 §4-5), y^2 = x^3 + 1 over
// F_p, p = 11 (mod 12). Verified errata: 2736 (HashToRange returns v_2), 2739 (HashBytes takes
// any b, not only b <= hashlen), 3229 (F_p^2 product a0b0 - a1b1, in fp2.ts). 3228 corrects the
// normalisation in Algorithm 3.5.2's Solinas split, which the plain binary Miller loop of
// tate.ts does not use. 2738 bounds n by 256^hashlen, yet HashToPoint1 itself calls
// HashToRange with n = p, larger than that for every parameter set of §5.1.2 (and in §7.4); the
// algorithm is computed as written (two blocks, v_2 mod n) without enforcing the bound.
import { CryptoError } from './errors.js';
import { Curve, type Point } from './pairing/curve.js';
import {
  bigIntToBytes,
  bitLength,
  bytesToBigInt,
  concatBytes,
  defaultRandom,
  invMod,
  isProbablePrime,
  mod,
  powMod,
  randomScalar,
  type RandomSource,
  xorBytes,
} from './pairing/field.js';
import { type Fp2, fp2Eq, fp2PowSecret } from './pairing/fp2.js';
import { finalExpFull, millerGeneric } from './pairing/tate.js';
import { hashBytes, type HashName } from './sakke.js';

export type { HashName };

/** Public parameters (version 2, type-1 curve): E, p, q, P, P_pub, hashfcn (RFC 5091 §5.1.2). */
export interface BfPublicParams {
  readonly version: 2;
  readonly curve: Curve;
  readonly Ppub: Point;
  readonly hash: HashName;
}

/** A type-1 curve y^2 = x^3 + 1 with its order-q generator P. */
export function type1Curve(p: bigint, q: bigint, P: Point): Curve {
  if (p % 12n !== 11n) throw new CryptoError('invalid-parameter', 'p must be 11 modulo 12');
  if ((p + 1n) % q !== 0n) throw new CryptoError('invalid-parameter', 'q must divide p + 1');
  return new Curve({ p, q, a: 0n, b: 1n, P });
}

// ---- supporting algorithms (RFC 5091 §4) ----

export interface HashToRangeTrace {
  h: Uint8Array[];
  v: bigint[];
  result: bigint;
}

/** Algorithm 4.1.1 HashToRange(s, n, hashfcn), with erratum 2736 (v = v_2 mod n). */
export function hashToRangeTrace(s: Uint8Array, n: bigint, hash: HashName): HashToRangeTrace {
  const hashlen = hashBytes(hash).length; // 1)
  if (n <= 0n) throw new CryptoError('invalid-parameter', 'n must be positive');
  const h: Uint8Array[] = [new Uint8Array(hashlen)]; // 3) h_0 = 0x00...00
  const v: bigint[] = [0n]; // 2) v_0 = 0
  for (let i = 1; i <= 2; i++) {
    const t = concatBytes(h[i - 1]!, s); // 4a) t_i = h_(i-1) || s
    h.push(hashBytes(hash, t)); // 4b) h_i = hashfcn(t_i)
    const a = bytesToBigInt(h[i]!); // 4c) a_i = Value(h_i)
    v.push((1n << BigInt(8 * hashlen)) * v[i - 1]! + a); // 4d) v_i = 256^hashlen * v_(i-1) + a_i
  }
  return { h, v, result: v[2]! % n }; // 5) v = v_2 (mod n)   [erratum 2736]
}

export function hashToRange(s: Uint8Array, n: bigint, hash: HashName): bigint {
  return hashToRangeTrace(s, n, hash).result;
}

/** Algorithm 4.2.1 HashBytes(b, p, hashfcn). */
export function hashBytesPrg(b: number, p: Uint8Array, hash: HashName): Uint8Array {
  const K = hashBytes(hash, p); // 2) K = hashfcn(p)
  const hashlen = K.length;
  let h: Uint8Array = new Uint8Array(hashlen); // 3) h_0
  const l = Math.ceil(b / hashlen); // 4)
  const r: Uint8Array[] = [];
  for (let i = 1; i <= l; i++) {
    h = hashBytes(hash, h); // 5a) h_i = hashfcn(h_(i-1))
    r.push(hashBytes(hash, h, K)); // 5b) r_i = hashfcn(h_i || K)
  }
  return concatBytes(...r).subarray(0, b); // 6) LeftmostOctets(b, r_1 || ... || r_l)
}

/** Algorithm 4.3.2 Canonical1(p, o, v). */
export function canonical(p: bigint, o: 0 | 1, v: Fp2): Uint8Array {
  const l = Math.ceil(bitLength(p) / 8);
  const a = bigIntToBytes(v[0], l);
  const b = bigIntToBytes(v[1], l);
  return o === 0 ? concatBytes(a, b) : concatBytes(b, a);
}

/** Algorithm 4.4.2 HashToPoint1(p, q, id, hashfcn). */
export function hashToPoint(curve: Curve, id: Uint8Array, hash: HashName): Point {
  const { p } = curve;
  const y = hashToRange(id, p, hash); // 1)
  const x = powMod(mod(y * y - 1n, p), (2n * p - 1n) / 3n, p); // 2) x = (y^2 - 1)^((2p-1)/3)
  const Q = curve.mulVar({ x, y }, curve.cofactor); // 3), 4) Q = [(p+1)/q]Q'
  if (Q === null) throw new CryptoError('invalid-point', 'identity hashes to a point of small order');
  return Q;
}

/**
 * zeta, a primitive cube root of unity in F_p^2 for the distortion phi(x, y) = (zeta*x, y)
 * (Algorithm 4.5.2 step 1b). a_zeta = (p-1)/2 = -1/2 as printed; the printed
 * b_zeta = 3^((p+1)/4) is sqrt(3), which makes no cube root of unity. The §7.3 test data is
 * reproduced with b_zeta = -sqrt(3)/2, i.e. zeta = (-1 - sqrt(-3))/2.
 */
export function zeta(p: bigint): Fp2 {
  const sqrt3 = powMod(3n, (p + 1n) / 4n, p);
  return [(p - 1n) / 2n, mod(-sqrt3 * invMod(2n, p), p)];
}

/** Algorithm 4.5.2 Pairing1: e'(A, B) = e(A, phi(B)) in F_p^2. */
export function pairing(curve: Curve, A: Point, B: Point): Fp2 {
  const { p } = curve;
  const z = zeta(p);
  const xB: Fp2 = [(B.x * z[0]) % p, (B.x * z[1]) % p];
  return finalExpFull(curve, millerGeneric(curve, A, xB, [B.y, 0n]));
}

// ---- the BF cryptosystem (RFC 5091 §5) ----

function hashLen(hash: HashName): number {
  return hashBytes(hash).length;
}

/** Security parameter n of Algorithm 5.1.2 and its (n_p, n_q, hashfcn). */
export const BF_SECURITY: Readonly<Record<number, { np: number; nq: number; hash: HashName }>> = {
  1024: { np: 512, nq: 160, hash: 'sha1' },
  2048: { np: 1024, nq: 224, hash: 'sha224' },
  3072: { np: 1536, nq: 256, hash: 'sha256' },
  7680: { np: 3840, nq: 384, hash: 'sha384' },
  15360: { np: 7680, nq: 512, hash: 'sha512' },
};

/** Algorithm 5.1.2 step 3a: an n_q-bit Solinas prime q = 2^a + s*2^b + c (s, c = +-1). */
export function solinasPrime(nq: number, random: RandomSource = defaultRandom): bigint {
  for (let b = 1; b < nq - 1; b++) {
    for (const [a, s, c] of [
      [nq - 1, 1n, -1n],
      [nq - 1, 1n, 1n],
      [nq, -1n, -1n],
      [nq, -1n, 1n],
    ] as const) {
      const q = (1n << BigInt(a)) + s * (1n << BigInt(b)) + c;
      if (bitLength(q) === nq && isProbablePrime(q, 40, random)) return q;
    }
  }
  throw new CryptoError('invalid-parameter', 'no Solinas prime of that size');
}

/**
 * Algorithm 5.1.2 BFsetup1 steps 1-4: a type-1 curve for security parameter n, with
 * p = 12*r*q - 1 an n_p-bit prime and P = [12r]P' of order q.
 */
export function bfGenerateCurve(n: number, random: RandomSource = defaultRandom): { curve: Curve; hash: HashName } {
  const sec = BF_SECURITY[n];
  if (!sec) throw new CryptoError('invalid-parameter', 'n must be 1024, 2048, 3072, 7680 or 15360');
  const q = solinasPrime(sec.nq, random); // 3a
  // 3b: r random with p = 12rq - 1 of n_p bits and prime
  const lo = ((1n << BigInt(sec.np - 1)) + 1n) / (12n * q) + 1n;
  const hi = (1n << BigInt(sec.np)) / (12n * q);
  let p = 0n;
  let r = 0n;
  for (let tries = 0; ; tries++) {
    if (tries > 1_000_000) throw new CryptoError('random-failure', 'no prime p found');
    r = lo + (randomScalar(hi - lo, random) % (hi - lo));
    p = 12n * r * q - 1n;
    if (bitLength(p) === sec.np && isProbablePrime(p, 40, random)) break;
  }
  // 4: P = [12r]P' for a random point P' of y^2 = x^3 + 1 (x = (y^2 - 1)^((2p-1)/3))
  for (;;) {
    const y = randomScalar(p, random);
    const x = powMod(mod(y * y - 1n, p), (2n * p - 1n) / 3n, p);
    const tmp = new Curve({ p, q, a: 0n, b: 1n, P: { x, y } });
    const P = tmp.mulVar({ x, y }, 12n * r);
    if (P !== null) return { curve: type1Curve(p, q, P), hash: sec.hash };
  }
}

/** Algorithm 5.1.2 steps 5-7 for an existing curve: master secret s in [2, q-1], P_pub = [s]P. */
export function bfSetup(curve: Curve, hash: HashName, random: RandomSource = defaultRandom): { params: BfPublicParams; s: bigint } {
  if (curve.a !== 0n || curve.b !== 1n) throw new CryptoError('invalid-parameter', 'not a type-1 curve');
  let s = 0n;
  while (s < 2n) s = randomScalar(curve.q, random);
  const Ppub = curve.mulSecret(curve.P, s);
  if (Ppub === null) throw new CryptoError('invalid-parameter', 'degenerate P_pub');
  return { params: { version: 2, curve, Ppub, hash }, s };
}

/** Algorithm 5.2.1 BFderivePubl: Q_id = HashToPoint(E, p, q, id, hashfcn). */
export function bfDerivePubl(params: BfPublicParams, id: Uint8Array): Point {
  return hashToPoint(params.curve, id, params.hash);
}

/** Algorithm 5.3.1 BFextractPriv: S_id = [s]Q_id. */
export function bfExtractPriv(params: BfPublicParams, s: bigint, id: Uint8Array): Point {
  const S = params.curve.mulSecret(bfDerivePubl(params, id), s);
  if (S === null) throw new CryptoError('invalid-key', 'degenerate private key');
  return S;
}

export interface BfCiphertext {
  U: Point;
  V: Uint8Array;
  W: Uint8Array;
}

/** Algorithm 5.4.1 BFencrypt. `rho` fixes the random hashlen-octet string (test vectors). */
export function bfEncrypt(
  params: BfPublicParams,
  id: Uint8Array,
  m: Uint8Array,
  opts: { rho?: Uint8Array; random?: RandomSource } = {},
): BfCiphertext {
  const { curve, hash } = params;
  const hashlen = hashLen(hash); // 1)
  const Qid = bfDerivePubl(params, id); // 2)
  const rho = opts.rho ?? (opts.random ?? defaultRandom)(hashlen); // 3)
  if (rho.length !== hashlen) throw new CryptoError('invalid-length', `rho must be ${hashlen} octets`);
  const t = hashBytes(hash, m); // 4) t = hashfcn(m)
  const l = hashToRange(concatBytes(rho, t), curve.q, hash); // 5)
  const U = curve.mulSecret(curve.P, l); // 6) U = [l]P
  if (U === null) throw new CryptoError('invalid-parameter', 'degenerate encryption');
  const theta = pairing(curve, params.Ppub, Qid); // 7)
  const thetaL = fp2PowSecret(theta, l, bitLength(curve.q), curve.p); // 8) theta' = theta^l
  const z = canonical(curve.p, 0, thetaL); // 9)
  const w = hashBytes(hash, z); // 10)
  const V = xorBytes(w, rho); // 11) V = w XOR rho
  const W = xorBytes(hashBytesPrg(m.length, rho, hash), m); // 12)
  return { U, V, W }; // 13)
}

/** Algorithm 5.5.1 BFdecrypt; throws CryptoError('decryption-failed') for an invalid ciphertext. */
export function bfDecrypt(params: BfPublicParams, Sid: Point, c: BfCiphertext): Uint8Array {
  const { curve, hash } = params;
  const hashlen = hashLen(hash); // 1)
  if (!(c.V instanceof Uint8Array) || c.V.length !== hashlen) throw new CryptoError('invalid-length', `V must be ${hashlen} octets`);
  if (!(c.W instanceof Uint8Array)) throw new CryptoError('invalid-length', 'W must be bytes');
  if (!c.U || typeof c.U.x !== 'bigint' || typeof c.U.y !== 'bigint') throw new CryptoError('invalid-point', 'U is not a point');
  if (!curve.isInSubgroup(c.U)) throw new CryptoError('decryption-failed', 'U is not a point of order q');
  const theta = pairing(curve, c.U, Sid); // 2)
  const z = canonical(curve.p, 0, theta); // 3)
  const w = hashBytes(hash, z); // 4)
  const rho = xorBytes(w, c.V); // 5)
  const m = xorBytes(hashBytesPrg(c.W.length, rho, hash), c.W); // 6)
  const t = hashBytes(hash, m); // 7)
  const l = hashToRange(concatBytes(rho, t), curve.q, hash); // 8)
  const U = curve.mulSecret(curve.P, l); // 9) U = [l]P ?
  if (U === null || !curve.equals(U, c.U)) throw new CryptoError('decryption-failed', 'ciphertext rejected');
  return m;
}

/** Checks e'(P, S_id) = e'(P_pub, Q_id), i.e. S_id = [s]Q_id, without the master secret. */
export function bfValidatePrivateKey(params: BfPublicParams, id: Uint8Array, Sid: Point): boolean {
  const { curve } = params;
  if (!curve.isInSubgroup(Sid)) return false;
  return fp2Eq(pairing(curve, curve.P, Sid), pairing(curve, params.Ppub, bfDerivePubl(params, id)));
}
