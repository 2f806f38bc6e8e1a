// KEMAC transport encryption and the MIKEY MACs: RFC 3830 §4.2.3-§4.2.4, RFC 6043 §6.2.
// Pure functions over bytes; the layer above decides what is encrypted and what the MAC covers.
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { MikeyCryptoError } from './errors.js';

// ---- algorithm tables (names as in the RFC registries; code points live in the wire registry) ----

/** KEMAC "Encr alg": RFC 3830 Table 6.2.a, RFC 6043 Table 6.5. */
export type KemacEncrAlg = 'NULL' | 'AES-CM-128' | 'AES-KW-128' | 'AES-CM-256';
/** KEMAC / V "MAC alg": RFC 3830 Table 6.2.b, RFC 6043 Table 6.6. */
export type MacAlg = 'NULL' | 'HMAC-SHA-1-160' | 'HMAC-SHA-256-256';

export interface EncrAlgParams {
  /** encr_key length in bytes, derived per §4.1.4 */
  readonly keyLen: number;
  /** salt key length in bytes, derived per §4.1.4 */
  readonly saltLen: number;
}

export const KEMAC_ENCR_PARAMS: Readonly<Record<KemacEncrAlg, EncrAlgParams>> = Object.freeze({
  NULL: Object.freeze({ keyLen: 0, saltLen: 0 }),
  // RFC 3830 §4.2.3: 128-bit key, 112-bit salt S
  'AES-CM-128': Object.freeze({ keyLen: 16, saltLen: 14 }),
  // RFC 3830 §4.2.3 last paragraph: 128-bit key and a 64-bit salt S used as the key wrap IV
  'AES-KW-128': Object.freeze({ keyLen: 16, saltLen: 8 }),
  // RFC 6043 §6.2: as AES-CM-128 with a 256-bit key (the salt stays 112 bits)
  'AES-CM-256': Object.freeze({ keyLen: 32, saltLen: 14 }),
});

export interface MacAlgParams {
  /** auth_key length in bytes (RFC 3830 §4.2.4: equal to the hash output) */
  readonly keyLen: number;
  /** MAC field length in bytes */
  readonly tagLen: number;
  readonly hash: 'sha1' | 'sha256' | null;
}

export const MAC_PARAMS: Readonly<Record<MacAlg, MacAlgParams>> = Object.freeze({
  NULL: Object.freeze({ keyLen: 0, tagLen: 0, hash: null }),
  'HMAC-SHA-1-160': Object.freeze({ keyLen: 20, tagLen: 20, hash: 'sha1' }),
  'HMAC-SHA-256-256': Object.freeze({ keyLen: 32, tagLen: 32, hash: 'sha256' }),
});

function encrParams(alg: KemacEncrAlg): EncrAlgParams {
  const p = (KEMAC_ENCR_PARAMS as Record<string, EncrAlgParams | undefined>)[alg];
  if (!p) throw new MikeyCryptoError('unsupported-algorithm', `unknown KEMAC encryption algorithm ${String(alg)}`);
  return p;
}

function macParams(alg: MacAlg): MacAlgParams {
  const p = (MAC_PARAMS as Record<string, MacAlgParams | undefined>)[alg];
  if (!p) throw new MikeyCryptoError('unsupported-algorithm', `unknown MAC algorithm ${String(alg)}`);
  return p;
}

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

// ---- timestamps as 64-bit T ----

/** TS types of RFC 3830 Table 6.6 and RFC 6043 Table 6.8. */
export type TimestampType = 'NTP-UTC' | 'NTP' | 'COUNTER' | 'NTP-UTC-32';

/**
 * The 64-bit T used in the AES-CM IV (RFC 3830 §4.2.3).
 * NTP-UTC, NTP: the 8 bytes as sent. COUNTER (32 bits): padded with LEADING zeros
 * (RFC 3830 §6.6, note under Table 6.6) -> 00000000 || counter. NTP-UTC-32 (32 bits of
 * seconds): padded to a 64-bit NTP-UTC timestamp with zeros in the FRACTIONAL part
 * (RFC 6043 §6.3) -> seconds || 00000000. The two 32-bit types pad on opposite sides.
 */
export function timestamp64(type: TimestampType, value: Uint8Array): Uint8Array {
  switch (type) {
    case 'NTP-UTC':
    case 'NTP':
      if (value.length !== 8) throw new MikeyCryptoError('bad-length', `${type} timestamp must be 8 bytes, got ${value.length}`);
      return new Uint8Array(value); // a copy, also for Buffer inputs (Buffer#slice is a view)
    case 'COUNTER': {
      if (value.length !== 4) throw new MikeyCryptoError('bad-length', `COUNTER timestamp must be 4 bytes, got ${value.length}`);
      const t = new Uint8Array(8);
      t.set(value, 4);
      return t;
    }
    case 'NTP-UTC-32': {
      if (value.length !== 4) throw new MikeyCryptoError('bad-length', `NTP-UTC-32 timestamp must be 4 bytes, got ${value.length}`);
      const t = new Uint8Array(8);
      t.set(value, 0);
      return t;
    }
    default:
      throw new MikeyCryptoError('bad-parameter', `unknown timestamp type ${String(type)}`);
  }
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new MikeyCryptoError('bad-parameter', `${what} must be a 32-bit unsigned integer`);
}

// ---- AES-CM (RFC 3711 §4.1.1) ----

const CTR_CIPHER: Record<number, string> = { 16: 'aes-128-ctr', 24: 'aes-192-ctr', 32: 'aes-256-ctr' };

/**
 * AES in counter mode as in RFC 3711 §4.1.1: keystream E(k, IV) || E(k, IV+1 mod 2^128) || ...
 * XORed onto `data`. Key 16, 24 or 32 bytes; IV 16 bytes. At most 2^16 blocks (2^23 bits,
 * RFC 3830 §4.2.3 note) so the counter stays in the low 16 bits of a MIKEY/SRTP IV.
 */
export function aesCm(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const name = CTR_CIPHER[key.length];
  if (!name) throw new MikeyCryptoError('bad-length', `AES key must be 16, 24 or 32 bytes, got ${key.length}`);
  if (iv.length !== 16) throw new MikeyCryptoError('bad-length', `AES-CM IV must be 16 bytes, got ${iv.length}`);
  if (data.length > 1 << 20) throw new MikeyCryptoError('bad-length', 'AES-CM input exceeds 2^23 bits');
  const c = createCipheriv(name, key, iv);
  const out = Buffer.concat([c.update(data), c.final()]);
  return u8(out);
}

/** The raw AES-CM keystream of `length` bytes (RFC 3711 §4.1.1). */
export function aesCmKeystream(key: Uint8Array, iv: Uint8Array, length: number): Uint8Array {
  return aesCm(key, iv, new Uint8Array(length));
}

/** IV = (S XOR (0x0000 || CSB ID || T)) || 0x0000 (RFC 3830 §4.2.3); S 14 bytes, T 8 bytes. */
export function kemacIv(salt: Uint8Array, csbId: number, t64: Uint8Array): Uint8Array {
  if (salt.length !== 14) throw new MikeyCryptoError('bad-length', `AES-CM salt S must be 14 bytes (112 bits), got ${salt.length}`);
  if (t64.length !== 8) throw new MikeyCryptoError('bad-length', `T must be 8 bytes (64 bits), got ${t64.length}`);
  checkU32(csbId, 'CSB ID');
  const iv = new Uint8Array(16);
  // 0x0000 || CSB ID || T, 14 bytes
  iv[2] = csbId >>> 24;
  iv[3] = (csbId >>> 16) & 0xff;
  iv[4] = (csbId >>> 8) & 0xff;
  iv[5] = csbId & 0xff;
  iv.set(t64, 6);
  for (let i = 0; i < 14; i++) iv[i]! ^= salt[i]!;
  // bytes 14, 15 stay 0x0000 (the block counter)
  return iv;
}

// ---- AES key wrap (RFC 3394) ----

// RFC 3394 §2.2.3.1 default initial value A6A6A6A6A6A6A6A6 (never handed out, so never mutated).
const RFC3394_DEFAULT_IV = new Uint8Array(8).fill(0xa6);

/** A fresh copy of the RFC 3394 §2.2.3.1 default IV. */
export function rfc3394DefaultIv(): Uint8Array {
  return RFC3394_DEFAULT_IV.slice();
}

const WRAP_CIPHER: Record<number, string> = { 16: 'id-aes128-wrap', 24: 'id-aes192-wrap', 32: 'id-aes256-wrap' };

function wrapCipherName(kek: Uint8Array, iv: Uint8Array): string {
  const name = WRAP_CIPHER[kek.length];
  if (!name) throw new MikeyCryptoError('bad-length', `KEK must be 16, 24 or 32 bytes, got ${kek.length}`);
  if (iv.length !== 8) throw new MikeyCryptoError('bad-length', `key wrap IV must be 8 bytes, got ${iv.length}`);
  return name;
}

/**
 * RFC 3394 §2.2.1 key wrap. The key data must be n >= 2 64-bit blocks (a multiple of 8
 * bytes, at least 16): anything else is refused with 'bad-length' (RFC 3394 defines no
 * padding; RFC 5649 padding is not part of MIKEY).
 */
export function aesKeyWrap(kek: Uint8Array, keyData: Uint8Array, iv: Uint8Array = RFC3394_DEFAULT_IV): Uint8Array {
  const name = wrapCipherName(kek, iv);
  if (keyData.length < 16 || keyData.length % 8 !== 0) {
    throw new MikeyCryptoError('bad-length', `AES key wrap input must be a multiple of 8 bytes and at least 16, got ${keyData.length}`);
  }
  const c = createCipheriv(name, kek, iv);
  return u8(Buffer.concat([c.update(keyData), c.final()]));
}

/** RFC 3394 §2.2.2 unwrap with the §2.2.3 integrity check against `iv`; failure -> 'unwrap-failed'. */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array, iv: Uint8Array = RFC3394_DEFAULT_IV): Uint8Array {
  const name = wrapCipherName(kek, iv);
  if (wrapped.length < 24 || wrapped.length % 8 !== 0) {
    throw new MikeyCryptoError('bad-length', `AES key wrap ciphertext must be a multiple of 8 bytes and at least 24, got ${wrapped.length}`);
  }
  let out: Buffer;
  try {
    const d = createDecipheriv(name, kek, iv);
    out = Buffer.concat([d.update(wrapped), d.final()]);
  } catch {
    throw new MikeyCryptoError('unwrap-failed', 'AES key unwrap integrity check failed');
  }
  if (out.length !== wrapped.length - 8) throw new MikeyCryptoError('unwrap-failed', 'AES key unwrap integrity check failed');
  return u8(out);
}

// ---- KEMAC Encr data ----

/** Keys for the KEMAC transport, from §4.1.4 (see deriveMessageKeys in prf.ts). */
export interface KemacKeys {
  encrKey: Uint8Array;
  saltKey: Uint8Array;
}

/** What the AES-CM IV needs: the message's CSB ID and the Initiator's 64-bit T. */
export interface KemacIvInput {
  csbId: number;
  /** 64-bit T (use timestamp64 for 32-bit TS types) */
  t: Uint8Array;
}

function checkKeys(alg: KemacEncrAlg, keys: KemacKeys): EncrAlgParams {
  const p = encrParams(alg);
  if (keys.encrKey.length !== p.keyLen) throw new MikeyCryptoError('bad-length', `${alg} needs a ${p.keyLen}-byte encr_key, got ${keys.encrKey.length}`);
  if (keys.saltKey.length !== p.saltLen) throw new MikeyCryptoError('bad-length', `${alg} needs a ${p.saltLen}-byte salt, got ${keys.saltKey.length}`);
  return p;
}

/**
 * Encrypt KEMAC "Encr data" (RFC 3830 §4.2.3): NULL copies; AES-CM-128/256 XOR the keystream
 * from IV = (S XOR (0x0000 || CSB ID || T)) || 0x0000; AES-KW-128 wraps with IV = S.
 */
export function kemacEncrypt(alg: KemacEncrAlg, keys: KemacKeys, plaintext: Uint8Array, iv: KemacIvInput): Uint8Array {
  checkKeys(alg, keys);
  switch (alg) {
    case 'NULL':
      return new Uint8Array(plaintext);
    case 'AES-CM-128':
    case 'AES-CM-256':
      return aesCm(keys.encrKey, kemacIv(keys.saltKey, iv.csbId, iv.t), plaintext);
    case 'AES-KW-128':
      return aesKeyWrap(keys.encrKey, plaintext, keys.saltKey);
  }
}

/** Inverse of kemacEncrypt. AES-KW-128 integrity failure -> MikeyCryptoError 'unwrap-failed'. */
export function kemacDecrypt(alg: KemacEncrAlg, keys: KemacKeys, ciphertext: Uint8Array, iv: KemacIvInput): Uint8Array {
  checkKeys(alg, keys);
  switch (alg) {
    case 'NULL':
      return new Uint8Array(ciphertext);
    case 'AES-CM-128':
    case 'AES-CM-256':
      return aesCm(keys.encrKey, kemacIv(keys.saltKey, iv.csbId, iv.t), ciphertext);
    case 'AES-KW-128':
      return aesKeyUnwrap(keys.encrKey, ciphertext, keys.saltKey);
  }
}

/** Length of the Encr data for a plaintext of `n` bytes. */
export function kemacEncryptedLength(alg: KemacEncrAlg, n: number): number {
  return alg === 'AES-KW-128' ? n + 8 : n;
}

// ---- MAC (RFC 3830 §4.2.4, RFC 6043 §6.2) ----

/** MAC over the concatenation of `data` parts (no copy of the message is made). */
export function macCompute(alg: MacAlg, authKey: Uint8Array, data: Uint8Array | readonly Uint8Array[]): Uint8Array {
  const p = macParams(alg);
  if (authKey.length !== p.keyLen) throw new MikeyCryptoError('bad-length', `${alg} needs a ${p.keyLen}-byte auth_key, got ${authKey.length}`);
  if (p.hash === null) return new Uint8Array(0);
  const h = createHmac(p.hash, authKey);
  if (data instanceof Uint8Array) h.update(data);
  else for (const part of data) h.update(part);
  return u8(h.digest());
}

/**
 * Constant-time MAC check. The tag length is public (fixed by the algorithm), so a wrong
 * length returns false at once; otherwise the full tag is compared with timingSafeEqual.
 * NULL MAC: true only for an empty tag.
 */
export function macVerify(alg: MacAlg, authKey: Uint8Array, data: Uint8Array | readonly Uint8Array[], tag: Uint8Array): boolean {
  const p = macParams(alg);
  const expected = macCompute(alg, authKey, data);
  if (tag.length !== p.tagLen) return false;
  if (p.tagLen === 0) return true;
  const ok = timingSafeEqual(expected, tag);
  expected.fill(0);
  return ok;
}

/** macVerify that throws MikeyCryptoError 'mac-mismatch' (RFC 3830 Error no 0 / 3 above). */
export function macCheck(alg: MacAlg, authKey: Uint8Array, data: Uint8Array | readonly Uint8Array[], tag: Uint8Array): void {
  if (!macVerify(alg, authKey, data, tag)) throw new MikeyCryptoError('mac-mismatch', `${alg} MAC does not verify`);
}
