// Our profile of MIKEY-IBAKE: every encoding RFC 6267 leaves open, in one place
// (docs/ibake-profile.md says why). The exchange and the key requests only call these.
import { createECDH } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { bfDecrypt, bfEncrypt, bfValidatePrivateKey, type BfCiphertext, type BfPublicParams } from '../../crypto/bfibe.js';
import type { Point } from '../../crypto/pairing/curve.js';
import { bigIntToBytes, bytesToBigInt } from '../../crypto/pairing/field.js';
import { hashBytes } from '../../crypto/sakke.js';
import { msgKeyLabel, mikeyPrf, PrfConstant, type MikeyPrf } from '../../crypto/prf.js';
import { EccCurve, ErrorNo, IdRole, KvType, PayloadType, TsType } from '../../wire/registry.js';
import type { EccptPayload, IdrPayload, KeyValidity, TPayload } from '../../wire/types.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { ntpTimestamp, ntpToMs } from '../../session/time.js';
import type { Identity } from '../../session/identity.js';

/** Name of this profile, for logs and documentation. */
export const IBAKE_PROFILE = 'mikey-ibake/1';

// ---- key periods: the "date" of K_PUB = H1(ID || date) (RFC 6267 §4.1) -------------------------

/** Key periods as the 3GPP KMS counts them: seconds since 0h 1 January 1900 (NTP), minus an offset. */
export interface KeyPeriodPolicy {
  /** Length of a key period in seconds (default one day). */
  periodSeconds: number;
  /** Offset of period 0 from 1900-01-01T00:00:00Z, in seconds. */
  offsetSeconds: number;
}
export const DEFAULT_KEY_PERIOD: KeyPeriodPolicy = Object.freeze({ periodSeconds: 86_400, offsetSeconds: 0 });
const NTP_UNIX_OFFSET = 2_208_988_800;

export function keyPeriodOf(ms: number, policy: KeyPeriodPolicy): number {
  if (!(policy.periodSeconds > 0)) throw new RangeError('key period must be positive');
  return Math.floor((Math.floor(ms / 1000) + NTP_UNIX_OFFSET - policy.offsetSeconds) / policy.periodSeconds);
}

/** Start of key period `no` in ms since 1970. */
export function keyPeriodStartMs(no: number, policy: KeyPeriodPolicy): number {
  return (no * policy.periodSeconds + policy.offsetSeconds - NTP_UNIX_OFFSET) * 1000;
}

/** The date component: the period's start as ISO 8601 UTC, seconds precision ("2026-11-27T00:00:00Z"). */
export function periodDate(no: number, policy: KeyPeriodPolicy): string {
  return new Date(keyPeriodStartMs(no, policy)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The IBE identity string: ID data || 0x00 || date (the date has a fixed length, so the split is unambiguous). */
export function ibeIdentity(id: Identity | Uint8Array, no: number, policy: KeyPeriodPolicy): Uint8Array {
  const data = id instanceof Uint8Array ? id : id.data;
  const date = new TextEncoder().encode(periodDate(no, policy));
  const out = new Uint8Array(data.length + 1 + date.length);
  out.set(data, 0);
  out.set(date, data.length + 1);
  return out;
}

/** The key period of a message: the one containing its timestamp. COUNTER carries no date. */
export function periodOfTimestamp(t: TPayload, policy: KeyPeriodPolicy): number {
  if (t.tsType !== TsType.NtpUtc && t.tsType !== TsType.Ntp && t.tsType !== TsType.NtpUtc32) {
    throw new MikeyProtocolError(ErrorNo.InvalidTs, 'MIKEY-IBAKE needs a time stamp (NTP-UTC, NTP or NTP-UTC-32): the key period comes from it');
  }
  return keyPeriodOf(ntpToMs(t.value), policy);
}

/**
 * A KMS as the users see it: its public parameters per key period (a KMS that rotates its
 * master secret has several generations) and its key periods.
 */
export interface IbeDomain {
  period: KeyPeriodPolicy;
  paramsFor(periodNo: number): BfPublicParams | undefined;
}

export function staticDomain(params: BfPublicParams, period: KeyPeriodPolicy = DEFAULT_KEY_PERIOD): IbeDomain {
  return { period, paramsFor: () => params };
}

export function domainParams(domain: IbeDomain, periodNo: number, errorNo: number = ErrorNo.InvalidId): BfPublicParams {
  const p = domain.paramsFor(periodNo);
  if (!p) throw new MikeyProtocolError(errorNo, `no IBE parameters for key period ${periodNo}`);
  return p;
}

// ---- IBE ciphertexts in IBAKE and ESK (RFC 6267 §6.1.1, §6.1.2 leave the format open) ----------

/** Encr data = U (0x04 || x || y, 2L+1 octets) || V (hashlen octets) || W (the rest, |W| = |m|). */
export function encodeBfCiphertext(params: BfPublicParams, c: BfCiphertext): Uint8Array {
  const u = params.curve.encodePoint(c.U);
  const out = new Uint8Array(u.length + c.V.length + c.W.length);
  out.set(u, 0);
  out.set(c.V, u.length);
  out.set(c.W, u.length + c.V.length);
  return out;
}

function decodeBfCiphertext(params: BfPublicParams, data: Uint8Array): BfCiphertext {
  const ul = 2 * params.curve.L + 1;
  const vl = hashBytes(params.hash).length;
  if (data.length <= ul + vl) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'IBE ciphertext too short');
  let U: Point;
  try {
    U = params.curve.decodePoint(data.subarray(0, ul));
  } catch (e) {
    throw new MikeyProtocolError(ErrorNo.AuthFailure, 'IBE ciphertext: U is not a curve point', { cause: e });
  }
  return { U, V: data.subarray(ul, ul + vl), W: data.subarray(ul + vl) };
}

/** BFencrypt (RFC 5091 §5.4) of `plain` to the IBE identity, encoded as above. */
export function ibeEncrypt(params: BfPublicParams, ibeId: Uint8Array, plain: Uint8Array, random: (n: number) => Uint8Array): Uint8Array {
  return encodeBfCiphertext(params, bfEncrypt(params, ibeId, plain, { random }));
}

/** BFdecrypt (RFC 5091 §5.5); any failure is Auth failure (RFC 3830 §5.1.2). */
export function ibeDecrypt(params: BfPublicParams, key: Point, data: Uint8Array): Uint8Array {
  const c = decodeBfCiphertext(params, data);
  try {
    return bfDecrypt(params, key, c);
  } catch (e) {
    throw new MikeyProtocolError(ErrorNo.AuthFailure, 'IBE ciphertext does not decrypt with our private key', { cause: e });
  }
}

// ---- K_PR in a key data sub-payload (RFC 6267 §6.1.3, type 7) ----------------------------------

/** K_PR = S_id as 0x04 || x || y on the KMS's type-1 curve. */
export function encodePrivateKey(params: BfPublicParams, key: Point): Uint8Array {
  return params.curve.encodePoint(key);
}

export function decodePrivateKey(params: BfPublicParams, bytes: Uint8Array): Point {
  return params.curve.decodePoint(bytes);
}

/** Checks S_id against the identity and period without the master secret (e'(P, S) = e'(P_pub, Q)). */
export function privateKeyMatches(params: BfPublicParams, ibeId: Uint8Array, key: Point): boolean {
  return bfValidatePrivateKey(params, ibeId, key);
}

/** The key period a K_PR is for, carried as KV = Interval: VF/VT = NTP-UTC (64-bit) of its start/end. */
export function periodValidity(no: number, policy: KeyPeriodPolicy): KeyValidity {
  return { kv: KvType.Interval, validFrom: ntpTimestamp(keyPeriodStartMs(no, policy)), validTo: ntpTimestamp(keyPeriodStartMs(no + 1, policy)) };
}

export function periodOfValidity(v: KeyValidity, policy: KeyPeriodPolicy): number {
  if (v.kv !== 2 || v.validFrom.length !== 8 || v.validTo.length !== 8) {
    throw new MikeyProtocolError(ErrorNo.Unspecified, 'K_PR without its key period (KV Interval of two NTP-UTC values)');
  }
  const start = ntpToMs(v.validFrom);
  const no = keyPeriodOf(start, policy);
  if (keyPeriodStartMs(no, policy) !== start || ntpToMs(v.validTo) !== keyPeriodStartMs(no + 1, policy)) {
    throw new MikeyProtocolError(ErrorNo.Unspecified, 'K_PR validity is not one key period of the KMS');
  }
  return no;
}

// ---- EC Diffie-Hellman (RFC 6267 §6.1.4, Table 5) ----------------------------------------------

type NobleCurve = typeof p256;
type NoblePoint = InstanceType<NobleCurve['Point']>;

export type IbakeCurveName = 'P-256' | 'P-384' | 'P-521';
export interface EcGroup {
  name: IbakeCurveName;
  /** OpenSSL's name, for [x]P by node:crypto. */
  openssl: string;
  /** ECC Curve code point (RFC 6267 Table 5). */
  code: number;
  /** Field element length in octets. */
  flen: number;
  order: bigint;
  curve: NobleCurve;
}

const GROUPS: Record<IbakeCurveName, EcGroup> = {
  'P-256': { name: 'P-256', openssl: 'prime256v1', code: EccCurve.P256, flen: 32, order: p256.Point.Fn.ORDER, curve: p256 },
  'P-384': { name: 'P-384', openssl: 'secp384r1', code: EccCurve.P384, flen: 48, order: p384.Point.Fn.ORDER, curve: p384 as unknown as NobleCurve },
  'P-521': { name: 'P-521', openssl: 'secp521r1', code: EccCurve.P521, flen: 66, order: p521.Point.Fn.ORDER, curve: p521 as unknown as NobleCurve },
};
export const IBAKE_CURVES: readonly IbakeCurveName[] = ['P-256', 'P-384', 'P-521'];

export function ecGroup(name: IbakeCurveName): EcGroup {
  const g = GROUPS[name];
  if (!g) throw new TypeError(`unsupported curve ${String(name)}`);
  return g;
}

/** The group of an ECCPT curve code; the binary curves of Table 5 are not supported: Invalid DH. */
export function ecGroupOfCode(code: number): EcGroup {
  const g = Object.values(GROUPS).find((x) => x.code === code);
  if (!g) throw new MikeyProtocolError(ErrorNo.InvalidDh, `ECC curve ${code} is not supported (P-256, P-384, P-521 are)`);
  return g;
}

export interface EcdhKey {
  group: EcGroup;
  secret: bigint;
  /** [x]P as SEC 1 uncompressed octets. */
  pub: Uint8Array;
}

/** x in [1, n-1] from flen + 16 random octets (bias below 2^-128), and [x]P (by OpenSSL, constant time). */
export function ecdhKeyPair(group: EcGroup, random: (n: number) => Uint8Array): EcdhKey {
  const secret = (bytesToBigInt(random(group.flen + 16)) % (group.order - 1n)) + 1n;
  const ecdh = createECDH(group.openssl);
  ecdh.setPrivateKey(bigIntToBytes(secret, group.flen));
  return { group, secret, pub: new Uint8Array(ecdh.getPublicKey(null, 'uncompressed')) };
}

function peerPoint(group: EcGroup, bytes: Uint8Array): NoblePoint {
  let P: NoblePoint;
  try {
    P = group.curve.Point.fromBytes(bytes);
    P.assertValidity();
  } catch (e) {
    throw new MikeyProtocolError(ErrorNo.InvalidDh, 'ECC point is not a point of the curve', { cause: e });
  }
  if (P.is0()) throw new MikeyProtocolError(ErrorNo.InvalidDh, 'ECC point at infinity');
  return P;
}

/** K_SESSION = [x][y]P as a SEC 1 uncompressed octet string (RFC 6267 §5.1; the form is our choice). */
export function sessionKey(own: EcdhKey, peer: Uint8Array): Uint8Array {
  return peerPoint(own.group, peer).multiply(own.secret).toBytes(false);
}

/** Lengths of the keys derived from K_SESSION, in bits (the RFC fixes none). */
export const MPK_BITS = 256;
export const TGK_BITS = 256;

/** RFC 6267 §5.1: PRF(K_SESSION, constant || 0xFF || 0xFFFFFFFF || RAND); inkey_len is K_SESSION's length. */
export function deriveFromSession(prf: MikeyPrf, kSession: Uint8Array, rand: Uint8Array): { mpk: Uint8Array; tgk: Uint8Array } {
  return {
    mpk: mikeyPrf(prf, kSession, msgKeyLabel(PrfConstant.IbakeMpk, 0xffffffff, rand), MPK_BITS),
    tgk: mikeyPrf(prf, kSession, msgKeyLabel(PrfConstant.IbakeTgk, 0xffffffff, rand), TGK_BITS),
  };
}

/**
 * ECCPT (RFC 6267 §6.1.4): the point uncompressed, zero padding to a 32-bit boundary, Auth alg =
 * the V MAC algorithm, TGK len = TGK_BITS / 8 (both ignored by the receiver), KV as given.
 */
export function eccptPayload(key: EcdhKey, macAlgCode: number, validity: KeyValidity = { kv: KvType.Null }): EccptPayload {
  const plen = key.pub.length;
  return {
    type: PayloadType.Eccpt, curve: key.group.code, point: key.pub, padding: new Uint8Array((4 - ((2 + plen) & 3)) & 3),
    authAlg: macAlgCode, tgkLen: TGK_BITS / 8, reserved: 0, validity,
  };
}

/** The received point: the curve supported, uncompressed or compressed, zero padding, on the curve. */
export function checkEccpt(p: EccptPayload, group?: EcGroup): EcGroup {
  const g = ecGroupOfCode(p.curve);
  if (group && g.code !== group.code) throw new MikeyProtocolError(ErrorNo.InvalidDh, 'ECC point on another curve than ours');
  if (p.padding.some((b) => b !== 0)) throw new MikeyProtocolError(ErrorNo.InvalidDh, 'ECC point padding is not zero');
  peerPoint(g, p.point);
  return g;
}

// ---- identities ---------------------------------------------------------------------------------

export function idrPayload(role: number, id: Identity): IdrPayload {
  return { type: PayloadType.Idr, role, idType: id.idType, data: id.data };
}
export const ROLE_I = IdRole.IDRi;
export const ROLE_R = IdRole.IDRr;
export const ROLE_KMS = IdRole.IDRkms;
export const ROLE_PSK = IdRole.IDRpsk;

export function identityOf(p: { idType: number; data: Uint8Array }): Identity {
  return { idType: p.idType, data: Uint8Array.from(p.data) };
}

export function bytesEq(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

