// The optional native field core (native/ibc.c, built by native/install.mjs at install time).
// When it loads, the SAKKE pairing, F_p^2 powers, square roots and scalar multiplications on
// y^2 = x^3 - 3x + b run in it (Montgomery arithmetic, by OpenSSL's bn_mul_mont from the node
// binary when exported, else portable C), and ECCSI's P-256 runs on OpenSSL's EC API when the
// node binary exports it; otherwise the pure TypeScript path runs. Both give the same values
// and are tested against the same vectors. MIKEY_NATIVE=0 forces TypeScript.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

type Bytes = Uint8Array;
/** an opaque fixed-base table held by the native core */
export type P256Table = { readonly __p256Table: unique symbol };
export interface NativeIbc {
  /** f_{q-1,A}([i]Q), or null when A is not of order q */
  millerSakke(p: Bytes, steps: Int8Array, ax: Bytes, ay: Bytes, qx: Bytes, qy: Bytes): [Bytes, Bytes] | null;
  /** lines (lambda_0, mu_0, lambda_1, ...) as concatenated big-endian elements -> opaque packed form */
  linesPack(p: Bytes, values: Bytes): Bytes;
  millerLines(p: Bytes, packed: Bytes, sq: Uint8Array, qx: Bytes, qy: Bytes): [Bytes, Bytes];
  /** (a0 + i a1)^e for a public e */
  fp2Pow(p: Bytes, a0: Bytes, a1: Bytes, e: Bytes): [Bytes, Bytes];
  fp2Mul(p: Bytes, a0: Bytes, a1: Bytes, b0: Bytes, b1: Bytes): [Bytes, Bytes];
  /** [k]A on a curve with a = -3, Jacobian (Z = 0: infinity); fixed 4-bit windows over k's octets */
  ecMul(p: Bytes, ax: Bytes, ay: Bytes, k: Bytes): [Bytes, Bytes, Bytes];
  /** [k]A + [l]B, Jacobian */
  ecMul2(p: Bytes, ax: Bytes, ay: Bytes, k: Bytes, bx: Bytes, by: Bytes, l: Bytes): [Bytes, Bytes, Bytes];
  mulMod(p: Bytes, a: Bytes, b: Bytes): Bytes;
  /** [k]B from packed affine rows (d * 2^(w j) * B for d = 1..half) and signed digits, Jacobian */
  ecFixedMul(p: Bytes, packed: Bytes, half: number, digits: Int32Array): [Bytes, Bytes, Bytes];
  /** Lim-Lee comb tables (8 teeth, s tables) of B for scalars of `bits` bits; null when B has small order */
  ecCombTable(p: Bytes, bx: Bytes, by: Bytes, bits: number, s: number): Bytes | null;
  /** [k]B from ecCombTable's tables, Jacobian; one doubling per column, one addition per column and table */
  ecCombMul(p: Bytes, table: Bytes, bits: number, s: number, k: Bytes): [Bytes, Bytes, Bytes];
  /** the product of packed F_p^2 rows[j][|d_j|], conjugated for negative digits */
  fp2FixedPow(p: Bytes, packed: Bytes, entries: number, digits: Int32Array): [Bytes, Bytes];
  /** a^(p-2) mod p for a prime p (the inverse; 0 for 0), the same operations for every a */
  fpInv(p: Bytes, a: Bytes): Bytes;
  backend(): 'openssl' | 'c';
  setBackend(name: 'openssl' | 'c'): 'openssl' | 'c';
  /** whether the P-256 functions below are available (OpenSSL's EC API found in the process) */
  p256(): boolean;
  /** 0x04 || x || y (65 octets) is a point of P-256 */
  p256Check(point: Bytes): boolean;
  /** [k]G for a secret k (32 octets), constant time; null for the point at infinity */
  p256MulG(k: Bytes): Bytes | null;
  /** [g]G + sum [s_i]P_i + [t]T for public scalars (g, t: 32 octets or empty; points m*65,
   * scalars m*32; T the point of a p256Table or null); throws when a point is not on the curve;
   * null for the point at infinity */
  p256Lin(g: Bytes, points: Bytes, scalars: Bytes, table: P256Table | null, t: Bytes): Bytes | null;
  /** a fixed-base table of a point of P-256 (OpenSSL's precomputation for a generator) */
  p256Table(point: Bytes): P256Table;
  /** HMAC-SHA-256 on OpenSSL's SHA-256 */
  hmacSha256(key: Bytes, data: Bytes): Bytes;
  sha256(data: Bytes): Bytes;
  /** K || V after RFC 6979 §3.2 steps b–g (SHA-256) for seed = int2octets(x) || bits2octets(h1) || k' */
  hmacDrbgInit(seed: Bytes): Bytes;
}

function addonPath(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const f = join(dir, 'native', 'build', 'Release', 'mikey_ibc.node');
    if (existsSync(f)) return f;
    if (existsSync(join(dir, 'package.json'))) return null;
    dir = resolve(dir, '..');
  }
  return null;
}

let addon: NativeIbc | null = null;
let loadProblem: string | null = null;
if (process.env.MIKEY_NATIVE === '0') loadProblem = 'disabled by MIKEY_NATIVE=0';
else {
  const path = addonPath();
  if (path === null) loadProblem = 'native/build/Release/mikey_ibc.node not built';
  else {
    try {
      addon = createRequire(import.meta.url)(path) as NativeIbc;
    } catch (e) {
      loadProblem = `failed to load ${path}: ${(e as Error).message}`;
    }
  }
}
let enabled = addon !== null;
const p256Available = addon !== null && typeof addon.p256 === 'function' && addon.p256();

/** The native core when loaded and enabled, else null (callers take the TypeScript path). */
export function nativeIbc(): NativeIbc | null {
  return enabled ? addon : null;
}

/** The native core when it also offers P-256 (ECCSI), else null. */
export function nativeP256(): NativeIbc | null {
  return enabled && addon !== null && p256Available ? addon : null;
}

/** Turns the native core off or back on (benchmarks and tests of both paths). */
export function setNativeEnabled(on: boolean): void {
  enabled = on && addon !== null;
}

export function nativeStatus(): { loaded: boolean; enabled: boolean; backend?: string; p256?: boolean; problem?: string } {
  return addon
    ? { loaded: true, enabled, backend: addon.backend(), p256: p256Available }
    : { loaded: false, enabled: false, problem: loadProblem ?? 'not loaded' };
}

// ---- conversions ----

const lenCache = new Map<bigint, { bytes: Bytes; L: number }>();

/** p as octets (cached per modulus) and its octet length. */
export function modulus(p: bigint): { bytes: Bytes; L: number } {
  let m = lenCache.get(p);
  if (!m) {
    const hex = p.toString(16);
    const L = Math.ceil(hex.length / 2);
    m = { bytes: Buffer.from(hex.padStart(2 * L, '0'), 'hex'), L };
    lenCache.set(p, m);
  }
  return m;
}

export function toBytes(n: bigint, L: number): Bytes {
  return Buffer.from(n.toString(16).padStart(2 * L, '0'), 'hex');
}

export function fromBytes(b: Bytes): bigint {
  return BigInt('0x' + (b.length === 0 ? '0' : Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex')));
}

/** Field elements (big-endian, L octets each) in the native core's packed form. */
export function pack(nat: NativeIbc, p: bigint, values: readonly bigint[]): Bytes {
  const { bytes, L } = modulus(p);
  const all = new Uint8Array(values.length * L);
  for (let i = 0; i < values.length; i++) all.set(toBytes(values[i]!, L), i * L);
  return nat.linesPack(bytes, all);
}
