// SAKKE, Sakai-Kasahara Key Encryption (RFC 6508), with Parameter Set 1 of RFC 6509 App. A.
import { createHash } from 'node:crypto';
import { CryptoError } from './errors.js';
import { Curve, FixedBaseTable, type Point } from './pairing/curve.js';
import {
  bigIntToBytes,
  bitLength,
  bytesToBigInt,
  concatBytes,
  defaultRandom,
  invModBlinded,
  mod,
  type RandomSource,
  xorBytes,
} from './pairing/field.js';
import { type Fp2, PfpFixedBase, pfpRepresentative } from './pairing/fp2.js';
import { SakkeLines, finalExpSakke, millerSakke, sakkeCombine } from './pairing/tate.js';

export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';

export interface SakkeParameterSet {
  /** SAKKE Params value of RFC 6509 §4.3 */
  readonly id: number;
  /** security parameter: SSV bits */
  readonly n: number;
  readonly curve: Curve;
  /** g = <P,P>, as its F_p representative */
  readonly g: bigint;
  readonly hash: HashName;
}

const hex = (s: string): bigint => BigInt('0x' + s.replace(/\s+/g, ''));

/** RFC 6509 App. A, Parameter Set 1. */
export const sakkeParamSet1: SakkeParameterSet = {
  id: 1,
  n: 128,
  curve: new Curve({
    p: hex(`997ABB1F 0A563FDA 65C61198 DAD0657A 416C0CE1 9CB48261 BE9AE358 B3E01A2E
            F40AAB27 E2FC0F1B 228730D5 31A59CB0 E791B39F F7C88A19 356D27F4 A666A6D0
            E26C6487 326B4CD4 512AC5CD 65681CE1 B6AFF4A8 31852A82 A7CF3C52 1C3C09AA
            9F94D6AF 56971F1F FCE3E823 89857DB0 80C5DF10 AC7ACE87 666D807A FEA85FEB`),
    q: hex(`265EAEC7 C2958FF6 99718466 36B4195E 905B0338 672D2098 6FA6B8D6 2CF8068B
            BD02AAC9 F8BF03C6 C8A1CC35 4C69672C 39E46CE7 FDF22286 4D5B49FD 2999A9B4
            389B1921 CC9AD335 144AB173 595A0738 6DABFD2A 0C614AA0 A9F3CF14 870F026A
            A7E535AB D5A5C7C7 FF38FA08 E2615F6C 203177C4 2B1EB3A1 D99B601E BFAA17FB`),
    a: -3n,
    b: 0n,
    P: {
      x: hex(`53FC09EE 332C29AD 0A799005 3ED9B52A 2B1A2FD6 0AEC69C6 98B2F204 B6FF7CBF
              B5EDB6C0 F6CE2308 AB10DB90 30B09E10 43D5F22C DB9DFA55 718BD9E7 406CE890
              9760AF76 5DD5BCCB 337C8654 8B72F2E1 A702C339 7A60DE74 A7C1514D BA66910D
              D5CFB4CC 80728D87 EE9163A5 B63F73EC 80EC46C4 967E0979 880DC8AB EAE63895`),
      y: hex(`0A824906 3F6009F1 F9F1F053 3634A135 D3E82016 02990696 3D778D82 1E141178
              F5EA69F4 654EC2B9 E7F7F5E5 F0DE55F6 6B598CCF 9A140B2E 416CFF0C A9E032B9
              70DAE117 AD547C6C CAD696B5 B7652FE0 AC6F1E80 164AA989 492D979F C5A4D5F2
              13515AD7 E9CB99A9 80BDAD5A D5BB4636 ADB9B570 6A67DCDE 75573FD7 1BEF16D7`),
    },
  }),
  g: hex(`66FC2A43 2B6EA392 148F1586 7D623068 C6A87BD1 FB94C41E 27FABE65 8E015A87
          371E9474 4C96FEDA 449AE956 3F8BC446 CBFDA85D 5D00EF57 7072DA8F 541721BE
          EE0FAED1 828EAB90 B99DFB01 38C78433 55DF0460 B4A9FD74 B4F1A32B CAFA1FFA
          D682C033 A7942BCC E3720F20 B9B7B040 3C8CAE87 B7A0042A CDE0FAB3 6461EA46`),
  hash: 'sha256',
};

export function hashBytes(name: HashName, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash(name);
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

export interface HashToIntegerRangeTrace {
  A: Uint8Array;
  h: Uint8Array[];
  v: Uint8Array[];
  result: bigint;
}

/** RFC 6508 §5.1 HashToIntegerRange(s, n, hashfn), with its intermediate values. */
export function hashToIntegerRangeTrace(s: Uint8Array, n: bigint, hash: HashName = 'sha256'): HashToIntegerRangeTrace {
  const A = hashBytes(hash, s); // 1) A = hashfn(s)
  const hashlen = A.length * 8;
  const h: Uint8Array[] = [new Uint8Array(A.length)]; // 2) h_0 = 00...00
  const v: Uint8Array[] = [];
  const l = Math.ceil(bitLength(n - 1n) / hashlen); // 3) l = Ceiling(lg(n)/hashlen)
  for (let i = 1; i <= l; i++) {
    h.push(hashBytes(hash, h[i - 1]!)); // 4a) h_i = hashfn(h_(i-1))
    v.push(hashBytes(hash, h[i]!, A)); // 4b) v_i = hashfn(h_i || A)
  }
  const vp = bytesToBigInt(concatBytes(...v)); // 5) v' = v_1 || ... || v_l
  return { A, h, v, result: vp % n }; // 6) v = v' mod n
}

export function hashToIntegerRange(s: Uint8Array, n: bigint, hash: HashName = 'sha256'): bigint {
  return hashToIntegerRangeTrace(s, n, hash).result;
}

// ---- key material (RFC 6508 §6.1) ----

export interface SakkeKmsKeys {
  /** KMS Master Secret z_T, L octets */
  z: Uint8Array;
  /** KMS Public Key Z_T = [z_T]P, 0x04 || x || y */
  zS: Uint8Array;
}

function checkParams(params: SakkeParameterSet): void {
  if (params.curve.cofactor * params.curve.q !== params.curve.p + 1n) throw new CryptoError('invalid-parameter', 'q does not divide p + 1');
}

function decodeScalar(params: SakkeParameterSet, z: Uint8Array, name: string): bigint {
  if (!(z instanceof Uint8Array) || z.length === 0 || z.length > params.curve.L) throw new CryptoError('invalid-length', `${name} must be 1..${params.curve.L} octets`);
  const v = bytesToBigInt(z);
  if (v < 2n || v >= params.curve.q) throw new CryptoError('invalid-key', `${name} out of range`);
  return v;
}

function identifierInt(params: SakkeParameterSet, id: Uint8Array): bigint {
  if (!(id instanceof Uint8Array) || id.length === 0) throw new CryptoError('invalid-length', 'identifier must not be empty');
  return mod(bytesToBigInt(id), params.curve.q);
}

/** Decodes Z_S or an RSK: on the curve and of order q. */
function decodeGroupPoint(params: SakkeParameterSet, bytes: Uint8Array, what: string): Point {
  const pt = params.curve.decodePoint(bytes);
  if (!params.curve.isInSubgroup(pt)) throw new CryptoError('invalid-point', `${what} is not of order q`);
  return pt;
}

/** RFC 6508 §6.1: z_T random in [2, q-1], Z_T = [z_T]P. */
export function sakkeKmsSetup(params: SakkeParameterSet = sakkeParamSet1, random: RandomSource = defaultRandom): SakkeKmsKeys {
  checkParams(params);
  const { curve } = params;
  let z: bigint;
  do {
    const b = random(curve.L + 8);
    if (!(b instanceof Uint8Array) || b.length !== curve.L + 8) throw new CryptoError('random-failure', 'random source returned the wrong length');
    z = bytesToBigInt(b) % curve.q;
  } while (z < 2n);
  return sakkeKmsKeysFromSecret(params, bigIntToBytes(z, curve.L));
}

/** Z_T = [z_T]P for a given master secret. */
export function sakkeKmsKeysFromSecret(params: SakkeParameterSet, z: Uint8Array): SakkeKmsKeys {
  const zv = decodeScalar(params, z, 'z');
  const Z = params.curve.mulBase(zv);
  if (Z === null) throw new CryptoError('invalid-key', 'z is a multiple of q');
  return { z: bigIntToBytes(zv, params.curve.L), zS: params.curve.encodePoint(Z) };
}

/** RFC 6508 §6.1.1: RSK K_(a,T) = [(a + z_T)^-1]P. */
export function sakkeMakeRsk(params: SakkeParameterSet, z: Uint8Array, id: Uint8Array, random: RandomSource = defaultRandom): Uint8Array {
  const { curve } = params;
  const zv = decodeScalar(params, z, 'z');
  const a = identifierInt(params, id);
  const s = mod(a + zv, curve.q);
  if (s === 0n) throw new CryptoError('invalid-key', 'identifier collides with the master secret');
  const K = curve.mulBase(invModBlinded(s, curve.q, random));
  return curve.encodePoint(K!);
}

// ---- cached per-KMS public data ----

const baseLines = new WeakMap<SakkeParameterSet, SakkeLines>();
const gTables = new WeakMap<SakkeParameterSet, PfpFixedBase>();

function linesOfP(params: SakkeParameterSet): SakkeLines {
  let l = baseLines.get(params);
  if (!l) {
    l = new SakkeLines(params.curve, params.curve.P);
    baseLines.set(params, l);
  }
  return l;
}

function gTable(params: SakkeParameterSet): PfpFixedBase {
  let t = gTables.get(params);
  if (!t) {
    // g in PF_p is represented by g, i.e. the coset of 1 + i*g (RFC 6508 §2.1)
    t = new PfpFixedBase([1n, params.g], params.curve.p, bitLength(params.curve.q));
    gTables.set(params, t);
  }
  return t;
}

/** An identifier's point I = [b]P + Z_S, how often it was used, and (native core) its comb table. */
interface IdentityEntry {
  readonly I: Point;
  uses: number;
  comb?: Uint8Array | null;
}

/** identifiers whose point (and comb table, about 130 kB) a SakkeKmsPublicKey keeps, LRU */
const IDENTITIES_KEPT = 8;

/**
 * A KMS Public Key Z_S with its precomputation: a fixed-base table for [k]Z_S, (lazily) the
 * Miller lines of Z_S and, for the last few identifiers, the identity point [b]P + Z_S and, on
 * the native core, from its second use on, a comb table of it (so [r]([b]P + Z_S) for the same
 * recipient again is one table walk). Build one per KMS and reuse it. With `{ tables: false }`
 * nothing is kept between calls (one-shot).
 */
export class SakkeKmsPublicKey {
  readonly Z: Point;
  readonly zS: Uint8Array;
  readonly tables: boolean;
  private table: FixedBaseTable | undefined;
  /** products [r]([b]P + Z) made before the table of Z is built */
  private untabled = 0;
  private lines: SakkeLines | undefined;
  private readonly identities = new Map<bigint, IdentityEntry>();
  constructor(
    readonly params: SakkeParameterSet,
    zS: Uint8Array,
    opts: { tables?: boolean } = {},
  ) {
    checkParams(params);
    this.Z = decodeGroupPoint(params, zS, 'Z_S');
    this.zS = params.curve.encodePoint(this.Z);
    this.tables = opts.tables ?? true;
  }

  private identity(b: bigint): IdentityEntry {
    let e = this.tables ? this.identities.get(b) : undefined;
    if (e) {
      // least recently used first
      this.identities.delete(b);
      this.identities.set(b, e);
      return e;
    }
    const { curve } = this.params;
    const J = curve.add(curve.mulBase(b), this.Z);
    if (J === null) throw new CryptoError('invalid-parameter', 'identity point at infinity');
    e = { I: J, uses: 0 };
    if (this.tables) {
      if (this.identities.size >= IDENTITIES_KEPT) this.identities.delete(this.identities.keys().next().value!);
      this.identities.set(b, e);
    }
    return e;
  }

  /** [b]P + Z_S (RFC 6508 §6.1.2, §6.2.1 step 3), public. */
  identityPoint(b: bigint): Point {
    return this.identity(b).I;
  }

  /** [r]([b]P + Z_S) = [r*b]P + [r]Z_S, Jacobian (RFC 6508 §6.2.1 step 3, §6.2.2 step 5). */
  mulIdentityPoint(b: bigint, r: bigint): [bigint, bigint, bigint] {
    const { curve } = this.params;
    const nat = curve.native();
    if (!this.tables) return curve.mulSecretJac(this.identityPoint(b), r);
    let e: IdentityEntry | undefined;
    if (nat) {
      // the same recipient again: a comb table of its I, built on the second use (as wolfSSL's
      // FP_ECC cache builds one for a point met twice), so a single first contact pays nothing
      e = this.identity(b);
      e.uses++;
      if (e.comb === undefined && e.uses >= 2) e.comb = curve.nativeCombTable(nat, e.I);
      if (e.comb) return curve.nativeCombMulJac(nat, e.comb, r);
    }
    if (!this.table && this.untabled < 8) {
      // a first contact, one variable-base product, until a few have been made: the tables of Z
      // and P take ~1.3 s to build in BigInt, the time of hundreds of native products (a client
      // that calls a few people, `mikey start`, never builds them)
      this.untabled++;
      return curve.mulSecretJac((e ?? this.identity(b)).I, r);
    }
    if (!this.table) this.table = new FixedBaseTable(curve, this.Z, 7);
    const a = curve.mulBaseJac(mod(r * b, curve.q));
    return curve.jacAdd(a, this.table.mulJac(r));
  }

  zLines(): SakkeLines {
    if (!this.lines) this.lines = new SakkeLines(this.params.curve, this.Z);
    return this.lines;
  }
}

const recentKms = new WeakMap<SakkeParameterSet, Map<string, SakkeKmsPublicKey>>();

/** The precomputation of a KMS Public Key given as bytes is kept for the last few keys. */
function kmsPublic(params: SakkeParameterSet, zS: Uint8Array | SakkeKmsPublicKey): SakkeKmsPublicKey {
  if (zS instanceof SakkeKmsPublicKey) {
    if (zS.params !== params) throw new CryptoError('invalid-parameter', 'KMS public key of another parameter set');
    return zS;
  }
  if (!(zS instanceof Uint8Array)) throw new CryptoError('invalid-parameter', 'Z_S must be bytes');
  let recent = recentKms.get(params);
  if (!recent) {
    recent = new Map();
    recentKms.set(params, recent);
  }
  const key = Buffer.from(zS).toString('base64');
  let k = recent.get(key);
  if (!k) {
    k = new SakkeKmsPublicKey(params, zS);
    if (recent.size >= 4) recent.delete(recent.keys().next().value!);
    recent.set(key, k);
  }
  return k;
}

/**
 * RFC 6508 §6.1.2: < [a]P + Z, K_(a,T) > = g, with K of order q. Computed as
 * <P,K>^a * <Z,K> (bilinearity) from the cached Miller lines of P and of Z_S.
 */
export function sakkeValidateRsk(params: SakkeParameterSet, zS: Uint8Array | SakkeKmsPublicKey, id: Uint8Array, rsk: Uint8Array): boolean {
  const kms = kmsPublic(params, zS);
  const a = identifierInt(params, id);
  let K: Point;
  try {
    // one-shot: on the curve only; the Miller loop over K below checks its order
    K = kms.tables ? decodeGroupPoint(params, rsk, 'RSK') : params.curve.decodePoint(rsk);
  } catch (e) {
    if (e instanceof CryptoError) return false;
    throw e;
  }
  // one-shot: <K, [a]P + Z> (= <[a]P + Z, K> on the cyclic E(F_p)[q]) by one Miller loop over
  // K, which ends at [q-1]K = -K only if K has order q: no separate subgroup check
  if (!kms.tables) {
    try {
      return finalExpSakke(params.curve, millerSakke(params.curve, K, kms.identityPoint(a))) === params.g;
    } catch (e) {
      if (e instanceof CryptoError) return false;
      throw e;
    }
  }
  const fP = linesOfP(params).miller(K);
  const fZ = kms.zLines().miller(K);
  return (
    sakkeCombine(params.curve, [
      [fP, a],
      [fZ, 1n],
    ]) === params.g
  );
}

// ---- key exchange (RFC 6508 §6.2) ----

export interface SakkeEncapsulation {
  /** the Shared Secret Value, n/8 octets */
  ssv: Uint8Array;
  /** Encapsulated Data R_(b,S) || H, 2L + n/8 + 1 octets (RFC 6508 §4) */
  encapsulatedData: Uint8Array;
}

/** Encapsulated Data length: 2L + n/8 + 1 (RFC 6508 §4, with n in bits). */
export function sakkeEncapsulatedDataLength(params: SakkeParameterSet = sakkeParamSet1): number {
  return 2 * params.curve.L + params.n / 8 + 1;
}

/** g^r in PF_p as its F_p representative (RFC 6508 §6.2.1 step 4a). */
export function sakkeGPowR(params: SakkeParameterSet, r: bigint): bigint {
  return pfpRepresentative(gTable(params).pow(r), params.curve.p);
}

function maskOf(params: SakkeParameterSet, gr: bigint): Uint8Array {
  const n = BigInt(params.n);
  const m = hashToIntegerRange(bigIntToBytes(gr, params.curve.L), 1n << n, params.hash);
  return bigIntToBytes(m, params.n / 8);
}

/** RFC 6508 §6.2.1 (Sender). */
export function sakkeEncapsulate(
  params: SakkeParameterSet,
  zS: Uint8Array | SakkeKmsPublicKey,
  id: Uint8Array,
  opts: { ssv?: Uint8Array; random?: RandomSource } = {},
): SakkeEncapsulation {
  const kms = kmsPublic(params, zS);
  const { curve } = params;
  const b = identifierInt(params, id);
  const nOct = params.n / 8;
  // 1) SSV in [0, 2^n - 1]
  const ssv = opts.ssv ?? (opts.random ?? defaultRandom)(nOct);
  if (!(ssv instanceof Uint8Array) || ssv.length !== nOct) throw new CryptoError('invalid-length', `SSV must be ${nOct} octets`);
  // 2) r = HashToIntegerRange(SSV || b, q, Hash)
  const r = hashToIntegerRange(concatBytes(ssv, id), curve.q, params.hash);
  // 3) R_(b,S) = [r]([b]P + Z_S)
  const R = curve.toAffine(kms.mulIdentityPoint(b, r));
  if (R === null) throw new CryptoError('invalid-parameter', 'degenerate encapsulation');
  // 4) H = SSV XOR HashToIntegerRange(g^r, 2^n, Hash)
  const H = xorBytes(ssv, maskOf(params, sakkeGPowR(params, r)));
  // 5) (R_(b,S), H)
  return { ssv: new Uint8Array(ssv), encapsulatedData: concatBytes(curve.encodePoint(R), H) };
}

/**
 * A receiver's key for one period: its Identifier, its KMS's public key and its validated RSK,
 * with the Miller lines of the RSK precomputed (the pairing <R,K> = <K,R> then needs no
 * point arithmetic).
 */
export class SakkeReceiver {
  readonly kms: SakkeKmsPublicKey;
  private readonly b: bigint;
  private readonly id: Uint8Array;
  private readonly lines: SakkeLines;

  constructor(
    readonly params: SakkeParameterSet,
    zS: Uint8Array | SakkeKmsPublicKey,
    id: Uint8Array,
    rsk: Uint8Array,
  ) {
    this.kms = kmsPublic(params, zS);
    this.b = identifierInt(params, id);
    this.id = new Uint8Array(id);
    // the line construction walks [k]K up to [q-1]K = -K, so it rejects K not of order q
    const K = params.curve.decodePoint(rsk);
    this.lines = new SakkeLines(params.curve, K);
    // RFC 6508 §6.1.2 with the lines just built: <K, [b]P + Z> = g
    const I = this.kms.identityPoint(this.b);
    if (this.lines.pairing(I) !== params.g) throw new CryptoError('invalid-key', 'RSK does not validate');
  }

  /** RFC 6508 §6.2.2 (Receiver). Throws CryptoError('decapsulation-failed') on any rejection. */
  decapsulate(encapsulatedData: Uint8Array): Uint8Array {
    // 2) w = <R, K_(b,S)> = <K, R>, from the lines of K
    return decapsulateWith(this.params, this.kms, this.b, this.id, encapsulatedData, (R) => this.lines.miller(R));
  }
}

function decapsulateWith(
  params: SakkeParameterSet,
  kms: SakkeKmsPublicKey,
  b: bigint,
  id: Uint8Array,
  encapsulatedData: Uint8Array,
  miller: (R: Point) => Fp2,
): Uint8Array {
  const { curve } = params;
  if (!(encapsulatedData instanceof Uint8Array) || encapsulatedData.length !== sakkeEncapsulatedDataLength(params)) {
    throw new CryptoError('invalid-length', `Encapsulated Data must be ${sakkeEncapsulatedDataLength(params)} octets`);
  }
  // 1) parse (R_(b,S), H)
  const Rbytes = encapsulatedData.subarray(0, 2 * curve.L + 1);
  const H = encapsulatedData.subarray(2 * curve.L + 1);
  let R: Point;
  try {
    R = curve.decodePoint(Rbytes);
  } catch {
    throw new CryptoError('decapsulation-failed', 'R is not a point of the curve');
  }
  // 2) w = <R_(b,S), K_(b,S)>
  const w = finalExpSakke(curve, miller(R));
  // 3) SSV = H XOR HashToIntegerRange(w, 2^n, Hash)
  const ssv = xorBytes(H, maskOf(params, w));
  // 4) r = HashToIntegerRange(SSV || b, q, Hash)
  const r = hashToIntegerRange(concatBytes(ssv, id), curve.q, params.hash);
  // 5) TEST = [r]([b]P + Z_S) must equal R_(b,S)
  const [X, Y, Z] = kms.mulIdentityPoint(b, r);
  const p = curve.p;
  const ZZ = (Z * Z) % p;
  const ok = Z % p !== 0n && mod(X - R.x * ZZ, p) === 0n && mod(Y - ((R.y * ZZ) % p) * Z, p) === 0n;
  if (!ok) throw new CryptoError('decapsulation-failed', 'R does not match the recovered SSV');
  // 6) SSV
  return ssv;
}

/**
 * RFC 6508 §6.2.2 in one call: the pairing by a one-shot Miller loop over the RSK (which also
 * checks that the RSK has order q). The RSK is expected to have been validated (§6.1.2) on
 * receipt; to decapsulate repeatedly, build a SakkeReceiver once instead.
 */
export function sakkeDecapsulate(
  params: SakkeParameterSet,
  zS: Uint8Array | SakkeKmsPublicKey,
  id: Uint8Array,
  rsk: Uint8Array,
  encapsulatedData: Uint8Array,
): Uint8Array {
  const kms = kmsPublic(params, zS);
  const K = params.curve.decodePoint(rsk);
  return decapsulateWith(params, kms, identifierInt(params, id), new Uint8Array(id), encapsulatedData, (R) => millerSakke(params.curve, K, R));
}

/** <R, Q> of RFC 6508 §3.2, both points on E(F_p)[q], as the F_p representative. */
export function sakkePair(params: SakkeParameterSet, R: Uint8Array, Q: Uint8Array): bigint {
  const a = decodeGroupPoint(params, R, 'R');
  const b = decodeGroupPoint(params, Q, 'Q');
  return finalExpSakke(params.curve, millerSakke(params.curve, a, b));
}
