// The MIKEY PRFs and their labels: RFC 3830 §4.1 (MIKEY-1, HMAC-SHA-1) and RFC 6043 §6.1
// (PRF-HMAC-SHA-256). One small labelled function per derivation of the RFCs.
import { createHmac } from 'node:crypto';
import { MikeyCryptoError } from './errors.js';
import { KEMAC_ENCR_PARAMS, MAC_PARAMS, type KemacEncrAlg, type MacAlg } from './kemac.js';

/** HDR "PRF func": RFC 3830 §6.1 (0 = MIKEY-1), RFC 6043 Table 6.3 (1 = PRF-HMAC-SHA-256). */
export type MikeyPrf = 'MIKEY-1' | 'PRF-HMAC-SHA-256';

interface PrfParams {
  readonly hash: 'sha1' | 'sha256';
  /** output block of P in bytes: 160 bits (RFC 3830 §4.1.2) or 256 bits (RFC 6043 §6.1) */
  readonly block: number;
}

const PRF_PARAMS: Readonly<Record<MikeyPrf, PrfParams>> = Object.freeze({
  'MIKEY-1': Object.freeze({ hash: 'sha1', block: 20 }),
  'PRF-HMAC-SHA-256': Object.freeze({ hash: 'sha256', block: 32 }),
});

function prfParams(prf: MikeyPrf): PrfParams {
  const p = (PRF_PARAMS as Record<string, PrfParams | undefined>)[prf];
  if (!p) throw new MikeyCryptoError('unsupported-algorithm', `unknown MIKEY PRF ${String(prf)}`);
  return p;
}

/** inkey chunk size: 256 bits, "half the input block-size" of SHA-1 (RFC 3830 §4.1.2). */
const INKEY_CHUNK = 32;

/** Label constants (32 bits) of RFC 3830 Tables 4.1.3/4.1.4, RFC 6043 Tables 5.1/A.1, RFC 6267 Table 1. */
export const PrfConstant = Object.freeze({
  /** RFC 3830 Table 4.1.3: TEK from TGK */
  Tek: 0x2ad01c64,
  /** RFC 3830 Table 4.1.3: authentication key from TGK */
  AuthKey: 0x1b5c7973,
  /** RFC 3830 Table 4.1.3: encryption key from TGK */
  EncrKey: 0x15798cef,
  /** RFC 3830 Table 4.1.3: salting key from TGK */
  SaltKey: 0x39a2c14b,
  /** RFC 3830 Table 4.1.4: encr_key from envelope / pre-shared key */
  MsgEncrKey: 0x150533e1,
  /** RFC 3830 Table 4.1.4: auth_key from envelope / pre-shared key */
  MsgAuthKey: 0x2d22ac75,
  /** RFC 3830 Table 4.1.4: salt key from envelope / pre-shared key */
  MsgSaltKey: 0x29b88916,
  /** RFC 6043 Table 5.1: MPKr' (forking) */
  ForkMpkr: 0x2b288856,
  /** RFC 6043 Table 5.1: TGK' (forking) */
  ForkTgk: 0x1512b54a,
  /** RFC 6043 Table A.1: MPKi (MIKEY base ticket) */
  TicketMpki: 0x220e99a2,
  /** RFC 6043 Table A.1: MPKr (MIKEY base ticket) */
  TicketMpkr: 0x1f4d675b,
  /** RFC 6267 Table 1: MPK (IBAKE) -- same value as TicketMpki, other meaning */
  IbakeMpk: 0x220e99a2,
  /** RFC 6267 Table 1: TGK (IBAKE) -- same value as TicketMpkr, other meaning */
  IbakeTgk: 0x1f4d675b,
} as const);

export type PrfConstantName = keyof typeof PrfConstant;

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new MikeyCryptoError('bad-parameter', `${what} out of range`);
}

function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

/** RFC 3830 §4.1.3 label: constant(32) || cs_id(8) || csb_id(32) || RAND. */
export function tekLabel(constant: number, csId: number, csbId: number, rand: Uint8Array): Uint8Array {
  checkUint(constant, 0xffffffff, 'label constant');
  checkUint(csId, 0xff, 'CS ID');
  checkUint(csbId, 0xffffffff, 'CSB ID');
  const l = new Uint8Array(9 + rand.length);
  put32(l, 0, constant);
  l[4] = csId;
  put32(l, 5, csbId);
  l.set(rand, 9);
  return l;
}

/** RFC 3830 §4.1.4 label: constant(32) || 0xFF || csb_id(32) || RAND. */
export function msgKeyLabel(constant: number, csbId: number, rand: Uint8Array): Uint8Array {
  return tekLabel(constant, 0xff, csbId, rand);
}

/**
 * RFC 3830 §4.1.2 P(s, label, m) = HMAC(s, A_1 || label) || ... || HMAC(s, A_m || label),
 * A_0 = label, A_i = HMAC(s, A_(i-1)). HMAC-SHA-1 for MIKEY-1, HMAC-SHA-256 for PRF-HMAC-SHA-256.
 */
export function prfP(prf: MikeyPrf, s: Uint8Array, label: Uint8Array, m: number): Uint8Array {
  const { hash, block } = prfParams(prf);
  if (!Number.isInteger(m) || m < 1) throw new MikeyCryptoError('bad-parameter', 'P: m must be a positive integer');
  const out = new Uint8Array(m * block);
  let a: Uint8Array = label;
  for (let i = 0; i < m; i++) {
    a = createHmac(hash, s).update(a).digest();
    out.set(createHmac(hash, s).update(a).update(label).digest(), i * block);
  }
  return out;
}

/**
 * RFC 3830 §4.1.2 PRF(inkey, label): n = ceil(inkey_len / 256), inkey = s_1 || ... || s_n (all
 * 256 bits except possibly s_n, which is a FULL 256 bits when inkey_len is a multiple of 256),
 * m = ceil(outkey_len / 160) [/256 for PRF-HMAC-SHA-256, RFC 6043 §6.1],
 * outkey = the outkey_len most significant bits of P(s_1, label, m) XOR ... XOR P(s_n, label, m).
 * Lengths in bits; outkeyLenBits must be a multiple of 8.
 */
export function mikeyPrf(prf: MikeyPrf, inkey: Uint8Array, label: Uint8Array, outkeyLenBits: number): Uint8Array {
  const { block } = prfParams(prf);
  if (inkey.length === 0) throw new MikeyCryptoError('bad-length', 'PRF inkey must not be empty');
  if (!Number.isInteger(outkeyLenBits) || outkeyLenBits <= 0 || outkeyLenBits % 8 !== 0) {
    throw new MikeyCryptoError('bad-length', 'PRF outkey_len must be a positive multiple of 8 bits');
  }
  const outLen = outkeyLenBits / 8;
  const n = Math.ceil(inkey.length / INKEY_CHUNK);
  const m = Math.ceil(outLen / block);
  const acc = new Uint8Array(m * block);
  for (let i = 0; i < n; i++) {
    const s = inkey.subarray(i * INKEY_CHUNK, Math.min((i + 1) * INKEY_CHUNK, inkey.length));
    const p = prfP(prf, s, label, m);
    for (let j = 0; j < acc.length; j++) acc[j]! ^= p[j]!;
    p.fill(0);
  }
  const out = acc.slice(0, outLen);
  acc.fill(0);
  return out;
}

// ---- derivations from a TGK (RFC 3830 §4.1.3) ----

/** PRF(tgk, constant || cs_id || csb_id || RAND) of `lenBytes` bytes (RFC 3830 §4.1.3). */
export function deriveFromTgk(
  tgk: Uint8Array, constant: number, csId: number, csbId: number, rand: Uint8Array, prf: MikeyPrf, lenBytes: number,
): Uint8Array {
  return mikeyPrf(prf, tgk, tekLabel(constant, csId, csbId, rand), lenBytes * 8);
}

/** TEK (the SRTP master key) for crypto session `csId`: constant 0x2AD01C64 (RFC 3830 §4.1.3). */
export function deriveTek(tgk: Uint8Array, csId: number, csbId: number, rand: Uint8Array, prf: MikeyPrf, lenBytes: number): Uint8Array {
  return deriveFromTgk(tgk, PrfConstant.Tek, csId, csbId, rand, prf, lenBytes);
}

/** Salting key (the SRTP master salt) when no salt is carried: constant 0x39A2C14B (RFC 3830 §4.1.3). */
export function deriveSrtpSalt(tgk: Uint8Array, csId: number, csbId: number, rand: Uint8Array, prf: MikeyPrf, lenBytes: number): Uint8Array {
  return deriveFromTgk(tgk, PrfConstant.SaltKey, csId, csbId, rand, prf, lenBytes);
}

// ---- message keys from an envelope / pre-shared key (RFC 3830 §4.1.4) ----

export interface MessageKeys {
  /** encr_key for the KEMAC (empty for NULL encryption) */
  encrKey: Uint8Array;
  /** auth_key for the KEMAC / V MAC (empty for the NULL MAC) */
  authKey: Uint8Array;
  /** salt key: 112 bits for AES-CM, 64 bits (the KW IV) for AES-KW-128, empty for NULL */
  saltKey: Uint8Array;
}

/**
 * encr_key, auth_key and salt key from the pre-shared or envelope key (RFC 3830 §4.1.4),
 * with lengths given by the KEMAC algorithms (§4.2.3, §4.2.4; RFC 6043 §6.2).
 */
export function deriveMessageKeys(
  secret: Uint8Array, csbId: number, rand: Uint8Array, prf: MikeyPrf, algs: { encrAlg: KemacEncrAlg; macAlg: MacAlg },
): MessageKeys {
  const e = (KEMAC_ENCR_PARAMS as Record<string, { keyLen: number; saltLen: number } | undefined>)[algs.encrAlg];
  const a = (MAC_PARAMS as Record<string, { keyLen: number } | undefined>)[algs.macAlg];
  if (!e) throw new MikeyCryptoError('unsupported-algorithm', `unknown KEMAC encryption algorithm ${String(algs.encrAlg)}`);
  if (!a) throw new MikeyCryptoError('unsupported-algorithm', `unknown MAC algorithm ${String(algs.macAlg)}`);
  const derive = (constant: number, len: number): Uint8Array =>
    len === 0 ? new Uint8Array(0) : mikeyPrf(prf, secret, msgKeyLabel(constant, csbId, rand), len * 8);
  return {
    encrKey: derive(PrfConstant.MsgEncrKey, e.keyLen),
    authKey: derive(PrfConstant.MsgAuthKey, a.keyLen),
    saltKey: derive(PrfConstant.MsgSaltKey, e.saltLen),
  };
}
