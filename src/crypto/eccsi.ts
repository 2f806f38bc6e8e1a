// ECCSI, Elliptic Curve-Based Certificateless Signatures for Identity-Based Encryption
// (RFC 6507), on NIST P-256 with SHA-256 (the parameters of RFC 6507 App. A / RFC 6509).
//
// With the native core (src/crypto/native.ts) every operation is OpenSSL's P-256 through its EC
// API: [k]G for secrets in constant time, verification as one public linear combination
// [a]G + [b]PVT + [c]KPAK, point checks by EC_POINT_oct2point. Without it, scalar
// multiplications by secrets and by per-signature values run in node:crypto (OpenSSL): [k]G by
// ECDH key generation, x([k]A) by ECDH; multiples of the fixed KPAK come from a fixed-base
// table; @noble/curves validates points and computes the rare degenerate cases exactly.
import { ECDH, createECDH, createHash, timingSafeEqual } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { CryptoError } from './errors.js';
import { hedgedNonces, type NonceGenerator } from './nonce.js';
import { Curve, FixedBaseTable } from './pairing/curve.js';
import { type NativeIbc, type P256Table, nativeP256 } from './native.js';
import {
  bigIntToBytes,
  bytesToBigInt,
  concatBytes,
  defaultRandom,
  invMod,
  invModBlinded,
  mod,
  randomScalar,
  type RandomSource,
} from './pairing/field.js';

type NoblePoint = InstanceType<typeof p256.Point>;
const Pt = p256.Point;

/** N = Ceiling(n/8) octets for r, s, SSK and hash values. */
export const ECCSI_N = 32;
/** Signature = r || s || PVT: 4N + 1 = 129 octets (RFC 6507 §3.3, §5.2.1 step 7). */
export const ECCSI_SIGNATURE_LENGTH = 4 * ECCSI_N + 1;
const POINT_LEN = 2 * ECCSI_N + 1;

const p = Pt.CURVE().p;
const q = Pt.CURVE().n;
const Gbytes = Pt.BASE.toBytes(false);

// ---- native helpers ----

/** A P-256 ECDH object holding the scalar `k`, made per use: no module state keeps a secret scalar. */
function ecdhWith(k: bigint): ECDH {
  const e = createECDH('prime256v1');
  e.setPrivateKey(bigIntToBytes(k, ECCSI_N));
  return e;
}

/** [k]G as a full point, k in [1, q-1] (OpenSSL key generation, constant time). */
function mulG(k: bigint): NoblePoint {
  return Pt.fromBytes(new Uint8Array(ecdhWith(k).getPublicKey()));
}

/** [k]G as 0x04 || x || y, k in [1, q-1], constant time (native, else ECDH key generation). */
function mulGBytes(k: bigint): Uint8Array {
  const nat = nativeP256();
  const kb = bigIntToBytes(k, ECCSI_N);
  if (nat) return u8(nat.p256MulG(kb)!);
  return new Uint8Array(ecdhWith(k).getPublicKey());
}

/** A point given as 0x04 || x || y checked natively to lie on P-256 (RFC 6507 §5.1.2 step 1). */
function checkPoint(nat: NativeIbc, bytes: Uint8Array, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== POINT_LEN) throw new CryptoError('invalid-length', `${what} must be ${POINT_LEN} octets`);
  if (bytes[0] !== 4) throw new CryptoError('invalid-point', `${what} is not in uncompressed form`);
  if (!nat.p256Check(bytes)) throw new CryptoError('invalid-point', `${what} is not on the curve`);
  return bytes;
}

/** [g]G + [a]A + [b]B (+ [t]T by T's table) for public scalars, natively; null for infinity. */
function linear(nat: NativeIbc, g: bigint, A: Uint8Array, a: bigint, B?: Uint8Array, b?: bigint, T?: P256Table, t?: bigint): Uint8Array | null {
  const s32 = (v: bigint) => bigIntToBytes(mod(v, q), ECCSI_N);
  const pts = B === undefined ? A : concatBytes(A, B);
  const sc = B === undefined ? s32(a) : concatBytes(s32(a), s32(b!));
  const R = nat.p256Lin(s32(g), pts, sc, T ?? null, T === undefined ? new Uint8Array(0) : s32(t!));
  return R === null ? null : u8(R);
}

/** A plain Uint8Array view of a native Buffer. */
function u8(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

// Fixed-base tables of the last few KPAKs (checked on the curve), for [c]KPAK in verification:
// the KMS key every verifier of a community holds (RFC 6507 §4.2).
const kpakNativeTables = new Map<string, P256Table>();

function kpakNativeTable(nat: NativeIbc, kpak: Uint8Array): P256Table {
  if (!(kpak instanceof Uint8Array)) throw new CryptoError('invalid-length', 'KPAK must be bytes');
  const key = Buffer.from(kpak.buffer, kpak.byteOffset, kpak.length).toString('base64');
  let t = kpakNativeTables.get(key);
  if (!t) {
    t = nat.p256Table(checkPoint(nat, kpak, 'KPAK'));
    if (kpakNativeTables.size >= 8) kpakNativeTables.delete(kpakNativeTables.keys().next().value!);
    kpakNativeTables.set(key, t);
  }
  return t;
}

interface Aff {
  x: bigint;
  y: bigint;
}

function affOf(P: NoblePoint): Aff {
  const b = P.toBytes(false);
  return { x: bytesToBigInt(b.subarray(1, 33)), y: bytesToBigInt(b.subarray(33)) };
}

function affBytes(A: Aff): Uint8Array {
  const out = new Uint8Array(POINT_LEN);
  out[0] = 4;
  out.set(bigIntToBytes(A.x, ECCSI_N), 1);
  out.set(bigIntToBytes(A.y, ECCSI_N), 1 + ECCSI_N);
  return out;
}

/** Affine A + B for A != +-B (the callers exclude those cases). */
function affAdd(A: Aff, B: Aff): Aff {
  const l = mod((B.y - A.y) * invMod(B.x - A.x, p), p);
  const x = mod(l * l - A.x - B.x, p);
  return { x, y: mod(l * (A.x - x) - A.y, p) };
}

/**
 * [k]A for a public k: x([k]A) and x([k+1]A) natively by ECDH, y of [k]A by native
 * decompression, its sign chosen so that x([k]A + A) matches (a cross-multiplied check).
 */
function mulPoint(A: NoblePoint, k: bigint): NoblePoint {
  k = mod(k, q);
  if (k === 0n || A.is0()) return Pt.ZERO;
  if (k === 1n || k === q - 1n) return k === 1n ? A : A.negate();
  const a = affOf(A);
  const ab = affBytes(a);
  const x1b = ecdhWith(k).computeSecret(ab); // x([k]A)
  const x2 = bytesToBigInt(new Uint8Array(ecdhWith(k + 1n).computeSecret(ab))); // x([k]A + A)
  const x1 = bytesToBigInt(new Uint8Array(x1b));
  if (x1 === a.x) return A.multiplyUnsafe(k); // [k]A = +-A: exact fallback
  const full = ECDH.convertKey(Buffer.concat([Buffer.from([2]), x1b]), 'prime256v1', undefined, undefined, 'uncompressed') as Buffer;
  const y = bytesToBigInt(new Uint8Array(full.subarray(33)));
  // x(V + A) = l^2 - x1 - xA with l = (yA - yV)/(xA - x1): compare l^2 (xA - x1)^2 without inverting
  const dx = mod(a.x - x1, p);
  const rhs = mod((x2 + x1 + a.x) * ((dx * dx) % p), p);
  const dp = a.y - y;
  if (mod(dp * dp - rhs, p) === 0n) return Pt.fromAffine({ x: x1, y });
  const dm = a.y + y;
  if (mod(dm * dm - rhs, p) === 0n) return Pt.fromAffine({ x: x1, y: p - y });
  throw new CryptoError('invalid-point', 'inconsistent scalar multiplication');
}

function decodePoint(bytes: Uint8Array, what: string): NoblePoint {
  if (!(bytes instanceof Uint8Array) || bytes.length !== POINT_LEN) throw new CryptoError('invalid-length', `${what} must be ${POINT_LEN} octets`);
  if (bytes[0] !== 4) throw new CryptoError('invalid-point', `${what} is not in uncompressed form`);
  let P: NoblePoint;
  try {
    P = Pt.fromBytes(bytes);
    P.assertValidity();
  } catch {
    throw new CryptoError('invalid-point', `${what} is not on the curve`);
  }
  return P;
}

function encodePoint(P: NoblePoint): Uint8Array {
  return P.toBytes(false);
}

function sha256(...parts: Uint8Array[]): Uint8Array {
  const nat = nativeP256();
  if (nat) return u8(nat.sha256(concatBytes(...parts)));
  const h = createHash('sha256');
  for (const x of parts) h.update(x);
  return new Uint8Array(h.digest());
}

function decodeScalar(b: Uint8Array, what: string): bigint {
  if (!(b instanceof Uint8Array) || b.length !== ECCSI_N) throw new CryptoError('invalid-length', `${what} must be ${ECCSI_N} octets`);
  const v = bytesToBigInt(b);
  if (v === 0n || v >= q) throw new CryptoError('invalid-key', `${what} out of range`);
  return v;
}

function checkId(id: Uint8Array): void {
  if (!(id instanceof Uint8Array)) throw new CryptoError('invalid-parameter', 'identifier must be bytes');
}

// ---- KMS (RFC 6507 §4.2, §5.1.1) ----

export interface EccsiKmsKeys {
  /** KMS Secret Authentication Key, N octets */
  ksak: Uint8Array;
  /** KMS Public Authentication Key = [KSAK]G, 0x04 || x || y */
  kpak: Uint8Array;
}

export function eccsiKmsSetup(random: RandomSource = defaultRandom): EccsiKmsKeys {
  return eccsiKmsKeysFromSecret(bigIntToBytes(randomScalar(q, random), ECCSI_N));
}

export function eccsiKmsKeysFromSecret(ksak: Uint8Array): EccsiKmsKeys {
  const k = decodeScalar(ksak, 'KSAK');
  return { ksak: new Uint8Array(ksak), kpak: mulGBytes(k) };
}

/** HS = hash( G || KPAK || ID || PVT ) (RFC 6507 §5.1.1 step 3). */
export function eccsiHashHS(kpak: Uint8Array, id: Uint8Array, pvt: Uint8Array): Uint8Array {
  return sha256(Gbytes, kpak, id, pvt);
}

/** HE = hash( HS || r || M ) (RFC 6507 §5.2.1 step 3). */
export function eccsiHashHE(hs: Uint8Array, r: Uint8Array, message: Uint8Array): Uint8Array {
  return sha256(hs, r, message);
}

export interface EccsiUserKeys {
  /** Secret Signing Key, N octets */
  ssk: Uint8Array;
  /** Public Validation Token, 0x04 || x || y */
  pvt: Uint8Array;
  /** HS, to be stored with the SSK (RFC 6507 §5.1.2 step 2) */
  hs: Uint8Array;
}

/** RFC 6507 §5.1.1: (SSK, PVT) for an identifier. `v` fixes the ephemeral (test vectors). */
export function eccsiMakeSskPvt(
  kms: EccsiKmsKeys,
  id: Uint8Array,
  opts: { v?: bigint; random?: RandomSource } = {},
): EccsiUserKeys {
  checkId(id);
  const ksak = decodeScalar(kms.ksak, 'KSAK');
  const kpak = encodePoint(decodePoint(kms.kpak, 'KPAK'));
  let nonces: NonceGenerator | undefined;
  for (let attempt = 0; attempt < 16; attempt++) {
    // 1) v random non-zero in F_q (hedged like j: a repeated v for two IDs reveals KSAK)
    const v = opts.v !== undefined && attempt === 0 ? mod(opts.v, q) : (nonces ??= hedgedNonces(q, ksak, sha256(kpak, id), opts.random)).next();
    if (v === 0n) throw new CryptoError('invalid-parameter', 'v must be non-zero');
    // 2) PVT = [v]G
    const pvt = mulGBytes(v);
    // 3) HS = hash( G || KPAK || ID || PVT )
    const hs = eccsiHashHS(kpak, id, pvt);
    const HS = bytesToBigInt(hs);
    // 4) SSK = ( KSAK + HS * v ) modulo q
    const ssk = mod(ksak + HS * v, q);
    // 5) restart if SSK or HS is zero modulo q
    if (ssk === 0n || HS % q === 0n) continue;
    // 6) output (SSK, PVT)
    return { ssk: bigIntToBytes(ssk, ECCSI_N), pvt, hs };
  }
  throw new CryptoError('random-failure', 'could not issue an SSK');
}

/** Y = [HS]PVT + KPAK, equal to [SSK]G for a valid pair. */
function signerPoint(kpakP: NoblePoint, HS: bigint, pvtP: NoblePoint): NoblePoint {
  const V = mulPoint(pvtP, HS);
  if (V.is0()) return kpakP;
  const v = affOf(V);
  const k = affOf(kpakP);
  if (v.x === k.x) return V.add(kpakP);
  return Pt.fromAffine(affAdd(v, k));
}

/** Y = [HS]PVT + KPAK (RFC 6507 §5.2.2 step 4), 0x04 || x || y. */
export function eccsiComputeY(kpak: Uint8Array, id: Uint8Array, pvt: Uint8Array): Uint8Array {
  checkId(id);
  const nat = nativeP256();
  if (nat) {
    const k = checkPoint(nat, kpak, 'KPAK');
    const v = checkPoint(nat, pvt, 'PVT');
    const Y = linear(nat, 0n, v, bytesToBigInt(eccsiHashHS(k, id, v)), k, 1n);
    if (Y === null) throw new CryptoError('invalid-point', 'Y is the point at infinity');
    return Y;
  }
  const kpakP = decodePoint(kpak, 'KPAK');
  const pvtP = decodePoint(pvt, 'PVT');
  const hs = eccsiHashHS(encodePoint(kpakP), id, encodePoint(pvtP));
  const Y = signerPoint(kpakP, bytesToBigInt(hs), pvtP);
  if (Y.is0()) throw new CryptoError('invalid-point', 'Y is the point at infinity');
  return encodePoint(Y);
}

/**
 * RFC 6507 §5.1.2: validates a received (SSK, PVT) for an identifier; returns HS for storage.
 * Throws CryptoError('invalid-key' | 'invalid-point' | 'invalid-length') on failure.
 */
export function eccsiValidateSsk(kpak: Uint8Array, id: Uint8Array, ssk: Uint8Array, pvt: Uint8Array): Uint8Array {
  checkId(id);
  const nat = nativeP256();
  if (nat) {
    const k = checkPoint(nat, kpak, 'KPAK');
    const sskV = decodeScalar(ssk, 'SSK');
    // 1) PVT on E; 2) HS = hash( G || KPAK || ID || PVT )
    const v = checkPoint(nat, pvt, 'PVT');
    const hs = eccsiHashHS(k, id, v);
    // 3) KPAK = [SSK]G - [HS]PVT, checked as [SSK]G = [HS]PVT + KPAK ([SSK]G in constant time)
    const Y = linear(nat, 0n, v, bytesToBigInt(hs), k, 1n);
    const S = nat.p256MulG(bigIntToBytes(sskV, ECCSI_N))!;
    if (Y === null || !timingSafeEqual(Y, S)) throw new CryptoError('invalid-key', 'SSK does not validate against KPAK');
    return hs;
  }
  const kpakP = decodePoint(kpak, 'KPAK');
  const sskV = decodeScalar(ssk, 'SSK');
  // 1) PVT on E
  const pvtP = decodePoint(pvt, 'PVT');
  // 2) HS = hash( G || KPAK || ID || PVT )
  const hs = eccsiHashHS(encodePoint(kpakP), id, encodePoint(pvtP));
  // 3) KPAK = [SSK]G - [HS]PVT, i.e. [SSK]G = Y = [HS]Q, checked as [SSK * HS^-1]G = Q
  const HS = bytesToBigInt(hs);
  let ok: boolean;
  if (HS % q === 0n) ok = mulG(sskV).equals(kpakP);
  else {
    const Q = signerQ(kpakTable(encodePoint(kpakP), affOf(kpakP)), affOf(pvtP), HS);
    ok = Q !== null && mulG((sskV * invModBlinded(HS, q)) % q).equals(Pt.fromAffine(Q));
  }
  if (!ok) throw new CryptoError('invalid-key', 'SSK does not validate against KPAK');
  return hs;
}

// ---- signing (RFC 6507 §5.2.1) ----

export interface EccsiSignOptions {
  /**
   * The ephemeral j, for test vectors only. Otherwise j is hedged (nonce.ts): RFC 6979 from
   * SSK and hash( HS || M ) with fresh octets from `random`, so a repeating random source
   * cannot repeat j across messages (which would reveal the SSK).
   */
  j?: bigint;
  random?: RandomSource;
  /** HS stored with the SSK; recomputed when absent */
  hs?: Uint8Array;
}

export function eccsiSign(
  kpak: Uint8Array,
  id: Uint8Array,
  ssk: Uint8Array,
  pvt: Uint8Array,
  message: Uint8Array,
  opts: EccsiSignOptions = {},
): Uint8Array {
  checkId(id);
  const sskV = decodeScalar(ssk, 'SSK');
  const nat = nativeP256();
  const pvtBytes = nat ? new Uint8Array(checkPoint(nat, pvt, 'PVT')) : encodePoint(decodePoint(pvt, 'PVT'));
  const hs = opts.hs ?? eccsiHashHS(nat ? checkPoint(nat, kpak, 'KPAK') : encodePoint(decodePoint(kpak, 'KPAK')), id, pvtBytes);
  if (hs.length !== ECCSI_N) throw new CryptoError('invalid-length', 'HS must be N octets');
  const random = opts.random ?? defaultRandom;
  let nonces: NonceGenerator | undefined;
  for (let attempt = 0; attempt < 16; attempt++) {
    // 1) j random non-zero in F_q (hedged, nonce.ts)
    const j = opts.j !== undefined && attempt === 0 ? mod(opts.j, q) : (nonces ??= hedgedNonces(q, sskV, sha256(hs, message), random)).next();
    if (j === 0n) throw new CryptoError('invalid-parameter', 'j must be non-zero');
    // 2) J = [j]G, r = Jx
    const r = mulGBytes(j).slice(1, 1 + ECCSI_N);
    // 3) HE = hash( HS || r || M )
    const HE = bytesToBigInt(eccsiHashHE(hs, r, message));
    // 4) HE + r * SSK non-zero modulo q
    const t = mod(HE + bytesToBigInt(r) * sskV, q);
    if (t === 0n) continue;
    // 5) s' = ( (( HE + r * SSK )^-1) * j ) modulo q
    const sPrime = (invModBlinded(t, q, random) * j) % q;
    // 6) s = s' if it fits in N octets, else q - s'
    const s = sPrime >> BigInt(8 * ECCSI_N) === 0n ? sPrime : q - sPrime;
    // 7) Signature = ( r || s || PVT )
    return concatBytes(r, bigIntToBytes(s, ECCSI_N), pvtBytes);
  }
  throw new CryptoError('random-failure', 'could not sign');
}

// ---- verification (RFC 6507 §5.2.2) ----
//
// With Q = PVT + [HS^-1]KPAK (so Y = [HS]PVT + KPAK = [HS]Q), step 5 becomes
//   J = [s]([HE]G + [r]Y) = [c]T,  c = s*r*HS,  T = Q + [u]G,  u = HE * (r*HS)^-1  (mod q),
// so Jx is one native ECDH value x([c]T). KPAK is fixed: [HS^-1]KPAK comes from a table.

const P256 = new Curve({ p, q, a: -3n, b: Pt.CURVE().b, P: { x: Pt.CURVE().Gx, y: Pt.CURVE().Gy } });
const kpakTables = new Map<string, FixedBaseTable>();

function kpakTable(kpakBytes: Uint8Array, kpakAff: Aff): FixedBaseTable {
  const key = Buffer.from(kpakBytes).toString('base64');
  let t = kpakTables.get(key);
  if (!t) {
    t = new FixedBaseTable(P256, kpakAff, 8);
    if (kpakTables.size >= 8) kpakTables.delete(kpakTables.keys().next().value!);
    kpakTables.set(key, t);
  }
  return t;
}

/** Q = PVT + [HS^-1]KPAK, or null when HS = 0 (mod q) or Q is the point at infinity. */
function signerQ(table: FixedBaseTable, pvt: Aff, HS: bigint): Aff | null {
  const h = HS % q;
  if (h === 0n) return null;
  return P256.toAffine(P256.jacAddAffine(table.mulJac(invMod(h, q)), pvt));
}

/** Steps 3, 5, 6: Jx = r (mod p) and Jx != 0, with J = [c](Q + [u]G). */
function checkJ(Q: Aff, HS: bigint, r: bigint, s: bigint, HE: bigint): boolean {
  const rh = ((r % q) * (HS % q)) % q;
  if (rh === 0n) return false; // callers route r = 0 (mod q) and HS = 0 (mod q) to checkExact
  const u = ((HE % q) * invMod(rh, q)) % q;
  const c = (s * rh) % q;
  let T: Aff | null = Q;
  if (u !== 0n) {
    const Wb = ecdhWith(u).getPublicKey(); // [u]G
    T = P256.add(Q, { x: bytesToBigInt(Wb.subarray(1, 33)), y: bytesToBigInt(Wb.subarray(33)) });
  }
  if (T === null) return false; // J = [c]0 = 0
  const Jx = bytesToBigInt(new Uint8Array(ecdhWith(c).computeSecret(affBytes(T))));
  return Jx !== 0n && Jx === r % p;
}

/** The same steps by @noble/curves for the degenerate cases (r or HS = 0 mod q). */
function checkExact(kpakP: NoblePoint, pvtP: NoblePoint, HS: bigint, r: bigint, s: bigint, HE: bigint): boolean {
  const Y = pvtP.multiplyUnsafe(HS % q === 0n ? 1n : HS % q).add(kpakP);
  const Yx = HS % q === 0n ? kpakP : Y;
  const a = (s * HE) % q;
  const c = (s * r) % q;
  let J = Pt.ZERO;
  if (a !== 0n) J = J.add(Pt.BASE.multiplyUnsafe(a));
  if (c !== 0n && !Yx.is0()) J = J.add(Yx.multiplyUnsafe(c));
  if (J.is0()) return false;
  const Jx = J.toAffine().x;
  return Jx !== 0n && Jx === r % p;
}

function splitSignature(signature: Uint8Array): { r: Uint8Array; s: Uint8Array; pvt: Uint8Array } {
  if (!(signature instanceof Uint8Array) || signature.length !== ECCSI_SIGNATURE_LENGTH) {
    throw new CryptoError('invalid-length', `ECCSI signature must be ${ECCSI_SIGNATURE_LENGTH} octets`);
  }
  return {
    r: signature.subarray(0, ECCSI_N),
    s: signature.subarray(ECCSI_N, 2 * ECCSI_N),
    pvt: signature.subarray(2 * ECCSI_N),
  };
}

/**
 * RFC 6507 §5.2.2. Returns true iff the signature is valid for (KPAK, ID, M). Malformed input
 * (wrong length, PVT off the curve) is a CryptoError, an invalid signature is `false`.
 */
export function eccsiVerify(kpak: Uint8Array, id: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const nat = nativeP256();
  if (nat) {
    checkId(id);
    if (!(message instanceof Uint8Array)) throw new CryptoError('invalid-parameter', 'message must be bytes');
    const T = kpakNativeTable(nat, kpak); // RFC 6507 §4.2: KPAK on E
    const sig = splitSignature(signature);
    // 1) PVT on E; 2) HS = hash( G || KPAK || ID || PVT )
    const pvt = checkPoint(nat, sig.pvt, 'PVT');
    const hs = eccsiHashHS(kpak, id, pvt);
    return verifyNative(nat, hs, sig, message, (c, HS) => [pvt, (c * HS) % q, undefined, undefined, T, c]);
  }
  return kpakVerifier(kpak).verify(id, message, signature);
}

/**
 * Steps 3, 5, 6 natively: J = [s]([HE]G + [r]Y) as one linear combination [s*HE]G + [s*r](Y),
 * where `terms(c, HS)` gives [c]Y as points and scalars: [c*HS]PVT + [c]KPAK, or [c]Y.
 */
function verifyNative(
  nat: NativeIbc,
  hs: Uint8Array,
  sig: { r: Uint8Array; s: Uint8Array },
  message: Uint8Array,
  terms: (c: bigint, HS: bigint) => [Uint8Array, bigint, Uint8Array?, bigint?, P256Table?, bigint?] | null,
): boolean {
  const r = bytesToBigInt(sig.r);
  const s = bytesToBigInt(sig.s) % q;
  if (s === 0n) return false; // J = 0
  // 3) HE = hash( HS || r || M )
  const HE = bytesToBigInt(eccsiHashHE(hs, sig.r, message));
  // 5) J = [s*HE]G + [s*r]Y, Y = [HS]PVT + KPAK
  const c = (s * (r % q)) % q;
  const t = terms(c, bytesToBigInt(hs) % q);
  let J: Uint8Array | null;
  if (t !== null) J = linear(nat, s * HE, t[0], t[1], t[2], t[3], t[4], t[5]);
  else J = (s * HE) % q === 0n ? null : nat.p256MulG(bigIntToBytes((s * HE) % q, ECCSI_N)); // Y = 0
  if (J === null) return false;
  // 6) Jx = r modulo p, Jx modulo p non-zero
  const Jx = bytesToBigInt(J.subarray(1, 1 + ECCSI_N));
  return Jx !== 0n && Jx === r % p;
}

// Verifiers of the last few KPAKs (decoded and validated once), without a signer cache: every
// call still computes HS and Q for the signer.
const kpakVerifiers = new Map<string, EccsiVerifier>();

function kpakVerifier(kpak: Uint8Array): EccsiVerifier {
  if (!(kpak instanceof Uint8Array)) throw new CryptoError('invalid-length', 'KPAK must be bytes');
  const key = Buffer.from(kpak.buffer, kpak.byteOffset, kpak.length).toString('base64');
  let v = kpakVerifiers.get(key);
  if (!v) {
    v = new EccsiVerifier(kpak, 0);
    if (kpakVerifiers.size >= 8) kpakVerifiers.delete(kpakVerifiers.keys().next().value!);
    kpakVerifiers.set(key, v);
  }
  return v;
}

/** Like eccsiVerify, but throws CryptoError('bad-signature') instead of returning false. */
export function eccsiAssertValid(kpak: Uint8Array, id: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
  if (!eccsiVerify(kpak, id, message, signature)) throw new CryptoError('bad-signature', 'ECCSI signature does not verify');
}

/**
 * A verifier for one KPAK, with its fixed-base table and, for the last few signers (ID, PVT),
 * HS and Q = [HS^-1]Y.
 */
export class EccsiVerifier {
  private readonly kpakBytes: Uint8Array;
  private kpakP: NoblePoint | undefined;
  private table: FixedBaseTable | undefined;
  private readonly cache = new Map<string, { Q: Aff | null; HS: bigint; hs: Uint8Array }>();
  /** natively: HS and Y = [HS]PVT + KPAK (null: the point at infinity) of the last few signers */
  private readonly cacheY = new Map<string, { Y: Uint8Array | null; hs: Uint8Array }>();
  constructor(
    kpak: Uint8Array,
    private readonly cacheSize = 64,
  ) {
    // RFC 6507 §4.2: KPAK must lie on E
    const nat = nativeP256();
    this.kpakBytes = nat ? new Uint8Array(checkPoint(nat, kpak, 'KPAK')) : encodePoint(this.kpak(kpak));
  }

  private kpak(bytes = this.kpakBytes): NoblePoint {
    return (this.kpakP ??= decodePoint(bytes, 'KPAK'));
  }

  verify(id: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    checkId(id);
    if (!(message instanceof Uint8Array)) throw new CryptoError('invalid-parameter', 'message must be bytes');
    const sig = splitSignature(signature);
    const nat = nativeP256();
    if (nat) {
      // 1) PVT on E
      const pvt = checkPoint(nat, sig.pvt, 'PVT');
      const cacheKey = this.cacheSize > 0 ? Buffer.from(concatBytes(pvt, id)).toString('base64') : '';
      let entry = this.cacheSize > 0 ? this.cacheY.get(cacheKey) : undefined;
      if (!entry) {
        // 2) HS = hash( G || KPAK || ID || PVT ); 4) Y = [HS]PVT + KPAK
        const hs = eccsiHashHS(this.kpakBytes, id, pvt);
        entry = { Y: linear(nat, 0n, pvt, bytesToBigInt(hs), this.kpakBytes, 1n), hs };
        if (this.cacheSize > 0) {
          if (this.cacheY.size >= this.cacheSize) this.cacheY.delete(this.cacheY.keys().next().value!);
          this.cacheY.set(cacheKey, entry);
        }
      }
      const Y = entry.Y;
      return verifyNative(nat, entry.hs, sig, message, (c) => (Y === null ? null : [Y, c]));
    }
    // 1) PVT on E
    const pvtP = decodePoint(sig.pvt, 'PVT');
    const cacheKey = this.cacheSize > 0 ? Buffer.from(concatBytes(sig.pvt, id)).toString('base64') : '';
    let entry = this.cacheSize > 0 ? this.cache.get(cacheKey) : undefined;
    if (!entry) {
      // 2) HS = hash( G || KPAK || ID || PVT ); 4) Y = [HS]Q
      const hs = eccsiHashHS(this.kpakBytes, id, sig.pvt);
      const HS = bytesToBigInt(hs);
      this.table ??= kpakTable(this.kpakBytes, affOf(this.kpak()));
      entry = { Q: signerQ(this.table, affOf(pvtP), HS), HS, hs };
      if (this.cacheSize > 0) {
        if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(cacheKey, entry);
      }
    }
    const r = bytesToBigInt(sig.r);
    const s = bytesToBigInt(sig.s) % q;
    if (s === 0n) return false; // J = 0
    // 3) HE = hash( HS || r || M )
    const HE = bytesToBigInt(eccsiHashHE(entry.hs, sig.r, message));
    // 5), 6)
    if (entry.Q === null || r % q === 0n) return checkExact(this.kpak(), pvtP, entry.HS, r, s, HE);
    return checkJ(entry.Q, entry.HS, r, s, HE);
  }
}
