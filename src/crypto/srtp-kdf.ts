// SRTP key derivation: RFC 3711 §4.3 with the AES-CM PRF (§4.3.3) for 128-, 192- and 256-bit
// master keys (RFC 6188 §3-§4), and the AES-GCM master salt handling of RFC 7714 §11
// (erratum 4938). This is where MIKEY's TEK/salt become SRTP/SRTCP session keys.
import { createCipheriv } from 'node:crypto';
import { MikeyCryptoError } from './errors.js';

/** <label> values of RFC 3711 §4.3.1-§4.3.2. */
export const SrtpLabel = Object.freeze({
  RtpEncr: 0x00,
  RtpAuth: 0x01,
  RtpSalt: 0x02,
  RtcpEncr: 0x03,
  RtcpAuth: 0x04,
  RtcpSalt: 0x05,
} as const);

const CTR: Record<number, string> = { 16: 'aes-128-ctr', 24: 'aes-192-ctr', 32: 'aes-256-ctr' };

/**
 * RFC 3711 §4.3.3 PRF_n(k_master, x): AES-CM keyed by the master key with IV = x * 2^16,
 * keystream truncated to n bits. x is 112 bits (14 bytes).
 */
export function srtpPrf(masterKey: Uint8Array, x: Uint8Array, nBytes: number): Uint8Array {
  const name = CTR[masterKey.length];
  if (!name) throw new MikeyCryptoError('bad-length', `SRTP master key must be 16, 24 or 32 bytes, got ${masterKey.length}`);
  if (x.length !== 14) throw new MikeyCryptoError('bad-length', `SRTP PRF input x must be 112 bits, got ${x.length * 8}`);
  if (!Number.isInteger(nBytes) || nBytes < 0 || nBytes > 1 << 20) throw new MikeyCryptoError('bad-length', 'SRTP PRF output must be 0..2^23 bits');
  const iv = new Uint8Array(16);
  iv.set(x, 0); // x * 2^16
  const c = createCipheriv(name, masterKey, iv);
  const out = Buffer.concat([c.update(new Uint8Array(nBytes)), c.final()]);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

const MAX_INDEX = (1n << 48n) - 1n;

/** key_derivation_rate: 0 (unspecified) or one of {1, 2, 4, ..., 2^24} (RFC 3711 §3.2.1). */
function checkKdr(kdr: bigint): void {
  if (kdr === 0n) return;
  if (kdr < 0n || kdr > 1n << 24n || (kdr & (kdr - 1n)) !== 0n) {
    throw new MikeyCryptoError('bad-parameter', 'key derivation rate must be 0 or a power of 2 up to 2^24');
  }
}

export interface SrtpKdfPoint {
  /**
   * The 48-bit packet index (SRTP: ROC || SEQ). For SRTCP labels the 31-bit SRTCP index,
   * placed in the same 48-bit field (RFC 3711 erratum 3712, as libsrtp does). Default 0.
   */
  index?: bigint | number;
  /** key_derivation_rate (default 0: derive once) */
  kdr?: bigint | number;
}

/**
 * One session key (RFC 3711 §4.3.1): r = index DIV kdr (48 bits, "a DIV 0 = 0"),
 * key_id = <label> || r, x = key_id XOR master_salt (right-aligned), k = PRF_n(k_master, x).
 * master salt: 14 bytes (112 bits).
 */
export function srtpKdf(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, nBytes: number, at: SrtpKdfPoint = {}): Uint8Array {
  if (masterSalt.length !== 14) throw new MikeyCryptoError('bad-length', `SRTP master salt must be 112 bits for the KDF, got ${masterSalt.length * 8}`);
  if (!Number.isInteger(label) || label < 0 || label > 0xff) throw new MikeyCryptoError('bad-parameter', 'SRTP KDF label must be 8 bits');
  const index = BigInt(at.index ?? 0);
  const kdr = BigInt(at.kdr ?? 0);
  if (index < 0n || index > MAX_INDEX) throw new MikeyCryptoError('bad-parameter', 'SRTP index must be 48 bits');
  checkKdr(kdr);
  const r = kdr === 0n ? 0n : index / kdr;
  // key_id = label(8) || r(48): 56 bits, right-aligned against the 112-bit salt -> bytes 7..13
  const x = new Uint8Array(masterSalt); // a copy: Buffer#slice would alias the caller's salt
  x[7]! ^= label;
  for (let i = 0; i < 6; i++) x[13 - i]! ^= Number((r >> BigInt(8 * i)) & 0xffn);
  return srtpPrf(masterKey, x, nBytes);
}

/** RFC 7714 §11 with erratum 4938: the 96-bit AEAD master salt times 2^16 -> the 112-bit KDF salt. */
export function gcmKdfSalt(masterSalt96: Uint8Array): Uint8Array {
  if (masterSalt96.length !== 12) throw new MikeyCryptoError('bad-length', `AES-GCM master salt must be 96 bits, got ${masterSalt96.length * 8}`);
  const s = new Uint8Array(14);
  s.set(masterSalt96, 0);
  return s;
}

// ---- profiles ----

export type SrtpProfileName =
  | 'AES_CM_128_HMAC_SHA1_80'
  | 'AES_CM_128_HMAC_SHA1_32'
  | 'AES_192_CM_HMAC_SHA1_80'
  | 'AES_192_CM_HMAC_SHA1_32'
  | 'AES_256_CM_HMAC_SHA1_80'
  | 'AES_256_CM_HMAC_SHA1_32'
  | 'AEAD_AES_128_GCM'
  | 'AEAD_AES_256_GCM'
  | 'NULL_HMAC_SHA1_80'
  | 'NULL_HMAC_SHA1_32';

export interface SrtpProfile {
  readonly name: SrtpProfileName;
  readonly cipher: 'AES-CM' | 'AES-GCM' | 'NULL';
  readonly masterKeyLen: number;
  readonly masterSaltLen: number;
  /** n_e, n_a, n_s in bytes (RFC 3711 §4.3.1) */
  readonly encrKeyLen: number;
  readonly authKeyLen: number;
  readonly saltLen: number;
  /** authentication tag bytes for SRTP and SRTCP */
  readonly rtpTagLen: number;
  readonly rtcpTagLen: number;
}

function profile(p: SrtpProfile): SrtpProfile {
  return Object.freeze(p);
}

/**
 * Crypto suites: RFC 4568 §6.2 (AES_CM_128_HMAC_SHA1_80/32; SRTCP always uses the 80-bit
 * tag), RFC 6188 §5-§6 (AES_192/256_CM_HMAC_SHA1_80/32), RFC 7714 §12 (AEAD_AES_128/256_GCM,
 * 16-byte tag, 96-bit salt, no auth key), and NULL_HMAC_SHA1_80: the NULL cipher (RFC 3711
 * §4.1.3) with HMAC-SHA1-80, keeping a 16-byte master key and 14-byte master salt for the
 * default AES-CM PRF (the names are RFC 5764's; its DTLS profiles carry no cipher key).
 */
export const SRTP_PROFILES: Readonly<Record<SrtpProfileName, SrtpProfile>> = Object.freeze({
  AES_CM_128_HMAC_SHA1_80: profile({ name: 'AES_CM_128_HMAC_SHA1_80', cipher: 'AES-CM', masterKeyLen: 16, masterSaltLen: 14, encrKeyLen: 16, authKeyLen: 20, saltLen: 14, rtpTagLen: 10, rtcpTagLen: 10 }),
  AES_CM_128_HMAC_SHA1_32: profile({ name: 'AES_CM_128_HMAC_SHA1_32', cipher: 'AES-CM', masterKeyLen: 16, masterSaltLen: 14, encrKeyLen: 16, authKeyLen: 20, saltLen: 14, rtpTagLen: 4, rtcpTagLen: 10 }),
  AES_192_CM_HMAC_SHA1_80: profile({ name: 'AES_192_CM_HMAC_SHA1_80', cipher: 'AES-CM', masterKeyLen: 24, masterSaltLen: 14, encrKeyLen: 24, authKeyLen: 20, saltLen: 14, rtpTagLen: 10, rtcpTagLen: 10 }),
  AES_192_CM_HMAC_SHA1_32: profile({ name: 'AES_192_CM_HMAC_SHA1_32', cipher: 'AES-CM', masterKeyLen: 24, masterSaltLen: 14, encrKeyLen: 24, authKeyLen: 20, saltLen: 14, rtpTagLen: 4, rtcpTagLen: 10 }),
  AES_256_CM_HMAC_SHA1_80: profile({ name: 'AES_256_CM_HMAC_SHA1_80', cipher: 'AES-CM', masterKeyLen: 32, masterSaltLen: 14, encrKeyLen: 32, authKeyLen: 20, saltLen: 14, rtpTagLen: 10, rtcpTagLen: 10 }),
  AES_256_CM_HMAC_SHA1_32: profile({ name: 'AES_256_CM_HMAC_SHA1_32', cipher: 'AES-CM', masterKeyLen: 32, masterSaltLen: 14, encrKeyLen: 32, authKeyLen: 20, saltLen: 14, rtpTagLen: 4, rtcpTagLen: 10 }),
  AEAD_AES_128_GCM: profile({ name: 'AEAD_AES_128_GCM', cipher: 'AES-GCM', masterKeyLen: 16, masterSaltLen: 12, encrKeyLen: 16, authKeyLen: 0, saltLen: 12, rtpTagLen: 16, rtcpTagLen: 16 }),
  AEAD_AES_256_GCM: profile({ name: 'AEAD_AES_256_GCM', cipher: 'AES-GCM', masterKeyLen: 32, masterSaltLen: 12, encrKeyLen: 32, authKeyLen: 0, saltLen: 12, rtpTagLen: 16, rtcpTagLen: 16 }),
  NULL_HMAC_SHA1_80: profile({ name: 'NULL_HMAC_SHA1_80', cipher: 'NULL', masterKeyLen: 16, masterSaltLen: 14, encrKeyLen: 0, authKeyLen: 20, saltLen: 0, rtpTagLen: 10, rtcpTagLen: 10 }),
  NULL_HMAC_SHA1_32: profile({ name: 'NULL_HMAC_SHA1_32', cipher: 'NULL', masterKeyLen: 16, masterSaltLen: 14, encrKeyLen: 0, authKeyLen: 20, saltLen: 0, rtpTagLen: 4, rtcpTagLen: 10 }),
});

export interface SrtpSessionKeys {
  encrKey: Uint8Array;
  authKey: Uint8Array;
  saltKey: Uint8Array;
}

export interface SrtpKeyLengths {
  encrKeyLen: number;
  authKeyLen: number;
  saltLen: number;
}

/** SRTP (labels 0-2) session keys at packet index `at.index`. masterSalt: 14 bytes. */
export function deriveSrtpKeys(masterKey: Uint8Array, masterSalt: Uint8Array, lens: SrtpKeyLengths, at: SrtpKdfPoint = {}): SrtpSessionKeys {
  return {
    encrKey: srtpKdf(masterKey, masterSalt, SrtpLabel.RtpEncr, lens.encrKeyLen, at),
    authKey: srtpKdf(masterKey, masterSalt, SrtpLabel.RtpAuth, lens.authKeyLen, at),
    saltKey: srtpKdf(masterKey, masterSalt, SrtpLabel.RtpSalt, lens.saltLen, at),
  };
}

/** SRTCP (labels 3-5, RFC 3711 §4.3.2) session keys at SRTCP index `at.index`. masterSalt: 14 bytes. */
export function deriveSrtcpKeys(masterKey: Uint8Array, masterSalt: Uint8Array, lens: SrtpKeyLengths, at: SrtpKdfPoint = {}): SrtpSessionKeys {
  return {
    encrKey: srtpKdf(masterKey, masterSalt, SrtpLabel.RtcpEncr, lens.encrKeyLen, at),
    authKey: srtpKdf(masterKey, masterSalt, SrtpLabel.RtcpAuth, lens.authKeyLen, at),
    saltKey: srtpKdf(masterKey, masterSalt, SrtpLabel.RtcpSalt, lens.saltLen, at),
  };
}

/**
 * SRTP and SRTCP session keys for a profile from the master key and salt MIKEY hands off
 * (TEK and salt, RFC 3830 §4.1.3). AEAD profiles take a 12-byte salt (multiplied by 2^16
 * for the KDF, RFC 7714 erratum 4938) and derive no auth key.
 */
export function deriveProfileSessionKeys(
  name: SrtpProfileName | SrtpProfile, masterKey: Uint8Array, masterSalt: Uint8Array,
  at: { rtp?: SrtpKdfPoint; rtcp?: SrtpKdfPoint } = {},
): { srtp: SrtpSessionKeys; srtcp: SrtpSessionKeys; profile: SrtpProfile } {
  const p = typeof name === 'string' ? (SRTP_PROFILES as Record<string, SrtpProfile | undefined>)[name] : name;
  if (!p) throw new MikeyCryptoError('unsupported-algorithm', `unknown SRTP profile ${String(name)}`);
  if (masterKey.length !== p.masterKeyLen) throw new MikeyCryptoError('bad-length', `${p.name} master key must be ${p.masterKeyLen} bytes, got ${masterKey.length}`);
  if (masterSalt.length !== p.masterSaltLen) throw new MikeyCryptoError('bad-length', `${p.name} master salt must be ${p.masterSaltLen} bytes, got ${masterSalt.length}`);
  const salt = p.cipher === 'AES-GCM' ? gcmKdfSalt(masterSalt) : masterSalt;
  return {
    srtp: deriveSrtpKeys(masterKey, salt, p, at.rtp),
    srtcp: deriveSrtcpKeys(masterKey, salt, p, at.rtcp),
    profile: p,
  };
}
