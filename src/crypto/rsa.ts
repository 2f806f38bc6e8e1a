// RSA for MIKEY: envelope key encryption (RFC 3830 §4.2.5: PKCS#1 v1.5 mandatory, OAEP
// recommended) and signatures (§4.2.6: PKCS#1 v1.5 mandatory, PSS recommended), RFC 8017.
import {
  constants, createHash, createHmac, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt, sign, verify,
  type KeyObject,
} from 'node:crypto';
import { MikeyCryptoError } from './errors.js';

/** A key as a KeyObject or PEM text (DER SPKI / PKCS#8 as bytes also accepted). */
export type RsaKeyInput = KeyObject | string | Uint8Array;

export type RsaHash = 'sha1' | 'sha256';

export interface EnvelopeOptions {
  /** 'pkcs1-v1_5' (default, RFC 8017 §7.2) or 'oaep' (RFC 8017 §7.1) */
  padding?: 'pkcs1-v1_5' | 'oaep';
  /** OAEP hash, also used for MGF1 (default 'sha1', the RFC 8017 default) */
  oaepHash?: RsaHash;
}

export interface EnvelopeDecryptOptions extends EnvelopeOptions {
  /**
   * PKCS#1 v1.5 only: the env_key length the caller expects. A message of any other length is
   * treated like bad padding (implicit rejection). Without it, the synthetic key for bad padding
   * has a pseudo-random length, as in the implicit-rejection procedure described in rsa.ts.
   */
  expectedLength?: number;
}

function toPrivateKey(k: RsaKeyInput): KeyObject {
  if (typeof k === 'string' || k instanceof Uint8Array) {
    return typeof k === 'string' ? createPrivateKey(k) : createPrivateKey({ key: Buffer.from(k), format: 'der', type: 'pkcs8' });
  }
  return k;
}

function toPublicKey(k: RsaKeyInput): KeyObject {
  if (typeof k === 'string' || k instanceof Uint8Array) {
    return typeof k === 'string' ? createPublicKey(k) : createPublicKey({ key: Buffer.from(k), format: 'der', type: 'spki' });
  }
  return k.type === 'private' ? createPublicKey(k) : k;
}

function checkRsa(k: KeyObject): number {
  if (k.asymmetricKeyType !== 'rsa') throw new MikeyCryptoError('unsupported-algorithm', `expected an RSA key, got ${String(k.asymmetricKeyType)}`);
  const bits = k.asymmetricKeyDetails?.modulusLength;
  if (!bits) throw new MikeyCryptoError('bad-parameter', 'RSA key without modulus length');
  return Math.ceil(bits / 8);
}

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function hashLen(h: RsaHash): number {
  if (h === 'sha1') return 20;
  if (h === 'sha256') return 32;
  throw new MikeyCryptoError('unsupported-algorithm', `unsupported hash ${String(h)}`);
}

// ---- envelope encryption ----

/** E(PKr, env_key): RFC 3830 §3.2 PKE data. */
export function rsaEnvelopeEncrypt(publicKey: RsaKeyInput, envKey: Uint8Array, opts: EnvelopeOptions = {}): Uint8Array {
  const key = toPublicKey(publicKey);
  const k = checkRsa(key);
  const padding = opts.padding ?? 'pkcs1-v1_5';
  if (padding === 'pkcs1-v1_5') {
    // RFC 8017 §7.2.1 step 1: mLen <= k - 11
    if (envKey.length > k - 11) throw new MikeyCryptoError('bad-length', `message too long for PKCS#1 v1.5 with a ${k}-byte modulus`);
    return u8(publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, envKey));
  }
  if (padding === 'oaep') {
    const h = opts.oaepHash ?? 'sha1';
    // RFC 8017 §7.1.1 step 1b: mLen <= k - 2hLen - 2
    if (envKey.length > k - 2 * hashLen(h) - 2) throw new MikeyCryptoError('bad-length', `message too long for OAEP with a ${k}-byte modulus`);
    return u8(publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: h }, envKey));
  }
  throw new MikeyCryptoError('unsupported-algorithm', `unknown RSA padding ${String(padding)}`);
}

/**
 * D(SKr, PKE data). OAEP failures throw 'decryption-failed'. PKCS#1 v1.5 never reports bad padding:
 * it runs RSADP without padding and removes the padding itself in constant time, returning a
 * synthetic key on failure (implicit rejection, see pkcs1v15Unpad).
 */
export function rsaEnvelopeDecrypt(privateKey: RsaKeyInput, ciphertext: Uint8Array, opts: EnvelopeDecryptOptions = {}): Uint8Array {
  const key = toPrivateKey(privateKey);
  const k = checkRsa(key);
  // RFC 8017 §7.1.2 / §7.2.2 step 1: the ciphertext length is public
  if (ciphertext.length !== k) throw new MikeyCryptoError('bad-length', `RSA ciphertext must be ${k} bytes, got ${ciphertext.length}`);
  const padding = opts.padding ?? 'pkcs1-v1_5';
  if (padding === 'oaep') {
    try {
      return u8(privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: opts.oaepHash ?? 'sha1' }, ciphertext));
    } catch {
      throw new MikeyCryptoError('decryption-failed', 'RSA-OAEP decryption error');
    }
  }
  if (padding !== 'pkcs1-v1_5') throw new MikeyCryptoError('unsupported-algorithm', `unknown RSA padding ${String(padding)}`);
  const expected = opts.expectedLength;
  if (expected !== undefined && (!Number.isInteger(expected) || expected < 0 || expected > k - 11)) {
    throw new MikeyCryptoError('bad-parameter', 'expectedLength out of range for this modulus');
  }
  // RSADP (RFC 8017 §5.1.2). OpenSSL refuses c >= n (step 1); n is public, so that leaks nothing.
  let em: Buffer;
  try {
    em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, ciphertext);
  } catch {
    throw new MikeyCryptoError('decryption-failed', 'ciphertext representative out of range');
  }
  const padded = new Uint8Array(k);
  padded.set(em, k - em.length); // OpenSSL returns k bytes; keep right alignment regardless
  em.fill(0);
  const out = pkcs1v15Unpad(padded, ciphertext, rejectionSecret(key, k), expected);
  padded.fill(0);
  return out;
}

const secretCache = new WeakMap<KeyObject, Uint8Array>();

/**
 * The rejection secret: a value only the key's holder can compute, SHA-256 of RSADP(2) = 2^d mod n
 * (k bytes). Not from an export of d: Node 20 can deadlock exporting a key as JWK when a garbage
 * collection runs inside the export and frees the job that generated the key (the job's
 * destructor takes the key's lock, which the export holds).
 */
function rejectionSecret(key: KeyObject, k: number): Uint8Array {
  let s = secretCache.get(key);
  if (s === undefined) {
    const two = Buffer.alloc(k);
    two[k - 1] = 2;
    const m = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, two);
    s = u8(createHash('sha256').update('MIKEY RSA implicit rejection').update(m).digest());
    m.fill(0);
    secretCache.set(key, s);
  }
  return s;
}

// ---- constant-time helpers (32-bit masks; no secret-dependent branches or indices) ----

/** 0xffffffff if a === b (bytes or small non-negative ints < 2^31) else 0 */
function ctEqMask(a: number, b: number): number {
  return ((((a ^ b) - 1) >>> 31) * 0xffffffff) | 0;
}
/** 0xffffffff if a < b (non-negative ints < 2^31) else 0 */
function ctLtMask(a: number, b: number): number {
  return (((a - b) >>> 31) * 0xffffffff) | 0;
}
function ctSelect(mask: number, a: number, b: number): number {
  return (a & mask) | (b & ~mask);
}

/**
 * PRF of the implicit-rejection procedure: HMAC-SHA-256(KDK, I || label || L) for I = 0, 1, ...
 * (16-bit counter I, 16-bit output bit length L), concatenated and truncated to `bytes`.
 */
function rejectionPrf(kdk: Uint8Array, label: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const bits = Buffer.alloc(2);
  bits.writeUInt16BE((bytes * 8) & 0xffff);
  for (let i = 0, off = 0; off < bytes; i++, off += 32) {
    const ctr = Buffer.alloc(2);
    ctr.writeUInt16BE(i);
    const block = createHmac('sha256', kdk).update(ctr).update(label, 'latin1').update(bits).digest();
    out.set(block.subarray(0, Math.min(32, bytes - off)), off);
  }
  return out;
}

/**
 * EME-PKCS1-v1_5 decoding (RFC 8017 §7.2.2 step 3) with implicit rejection.
 * EM = 0x00 || 0x02 || PS (>= 8 non-zero bytes) || 0x00 || M. The whole EM is scanned with
 * mask arithmetic; M is right-aligned in EM, so the output is a byte-wise select over all k
 * bytes between EM and a synthetic message, followed by one slice at the selected length.
 * Synthetic message (deterministic, secret, indistinguishable from random without d):
 *   KDK = HMAC-SHA-256(SHA-256(d), C); synthetic = PRF(KDK, "message", k);
 *   length = expectedLength, or the first of 128 16-bit PRF(KDK, "length") values, masked to
 *   the bit size of k-10, that is below k-10 (all 128 are always examined).
 * This follows the implicit-rejection design of the IRTF CFRG RSA guidance draft
 * (draft-irtf-cfrg-rsa-guidance) as also used by OpenSSL 3.2; the byte values are our own
 * construction and need not match any other implementation (they never leave this host).
 */
function pkcs1v15Unpad(em: Uint8Array, c: Uint8Array, secret: Uint8Array, expectedLength: number | undefined): Uint8Array {
  const k = em.length;
  const kdk = createHmac('sha256', secret).update(c).digest();
  const synth = rejectionPrf(kdk, 'message', k);
  const maxLen = k - 11; // longest message with 8 bytes of PS
  let synthLen: number;
  if (expectedLength !== undefined) {
    synthLen = expectedLength;
  } else {
    const cand = rejectionPrf(kdk, 'length', 256);
    let mask = 1;
    while (mask < maxLen + 1) mask = (mask << 1) | 1; // public: depends on k only
    synthLen = 0;
    let found = 0;
    for (let i = 0; i < 256; i += 2) {
      const v = ((cand[i]! << 8) | cand[i + 1]!) & mask;
      const take = ctLtMask(v, maxLen + 1) & ~found;
      synthLen = ctSelect(take, v, synthLen);
      found |= take;
    }
    cand.fill(0);
  }
  kdk.fill(0);

  // scan EM without early exit
  let good = ctEqMask(em[0]!, 0) & ctEqMask(em[1]!, 2);
  let sepIdx = 0;
  let found = 0;
  for (let i = 2; i < k; i++) {
    const z = ctEqMask(em[i]!, 0);
    sepIdx = ctSelect(z & ~found, i, sepIdx);
    found |= z;
  }
  good &= found;
  good &= ~ctLtMask(sepIdx, 10); // PS at least 8 bytes: separator at index >= 10
  const realLen = k - 1 - sepIdx;
  if (expectedLength !== undefined) good &= ctEqMask(realLen, expectedLength);
  const len = ctSelect(good, realLen, synthLen);

  const mixed = new Uint8Array(k);
  const g8 = good & 0xff;
  for (let i = 0; i < k; i++) mixed[i] = (em[i]! & g8) | (synth[i]! & ~g8);
  synth.fill(0);
  const out = mixed.slice(k - len);
  mixed.fill(0);
  return out;
}

// ---- signatures (RFC 3830 §4.2.6) ----

export interface RsaSignOptions {
  /** 'pkcs1-v1_5' (default; RFC 8017 §8.2) or 'pss' (RFC 8017 §8.1) */
  scheme?: 'pkcs1-v1_5' | 'pss';
  /** default 'sha256' */
  hash?: RsaHash;
  /**
   * PSS salt length in bytes. Signing default: the hash length. Verifying default: 'auto'
   * (any salt length the signature carries is accepted, as RFC 8017 §9.1.2 permits when the
   * length is not fixed by the application).
   */
  saltLength?: number | 'auto';
}

function signPadding(o: RsaSignOptions, forVerify: boolean): { padding: number; saltLength?: number } {
  const scheme = o.scheme ?? 'pkcs1-v1_5';
  if (scheme === 'pkcs1-v1_5') return { padding: constants.RSA_PKCS1_PADDING };
  if (scheme !== 'pss') throw new MikeyCryptoError('unsupported-algorithm', `unknown RSA signature scheme ${String(scheme)}`);
  const h = o.hash ?? 'sha256';
  let salt: number;
  if (o.saltLength === 'auto') {
    if (!forVerify) throw new MikeyCryptoError('bad-parameter', "saltLength 'auto' is only for verification");
    salt = constants.RSA_PSS_SALTLEN_AUTO;
  } else if (o.saltLength === undefined) {
    salt = forVerify ? constants.RSA_PSS_SALTLEN_AUTO : hashLen(h);
  } else {
    salt = o.saltLength;
  }
  return { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: salt };
}

/** Signature over `data` (the MIKEY message up to the SIGN signature field). */
export function rsaSign(privateKey: RsaKeyInput, data: Uint8Array | readonly Uint8Array[], opts: RsaSignOptions = {}): Uint8Array {
  const key = toPrivateKey(privateKey);
  checkRsa(key);
  const h = opts.hash ?? 'sha256';
  hashLen(h);
  const msg = data instanceof Uint8Array ? data : Buffer.concat(data as Uint8Array[]);
  return u8(sign(h, msg, { key, ...signPadding(opts, false) }));
}

/** true iff `signature` is valid; malformed signatures give false, never an exception. */
export function rsaVerify(
  publicKey: RsaKeyInput, data: Uint8Array | readonly Uint8Array[], signature: Uint8Array, opts: RsaSignOptions = {},
): boolean {
  const key = toPublicKey(publicKey);
  const k = checkRsa(key);
  const h = opts.hash ?? 'sha256';
  hashLen(h);
  if (signature.length !== k) return false; // RFC 8017 §8.1.2/§8.2.2 step 1
  const msg = data instanceof Uint8Array ? data : Buffer.concat(data as Uint8Array[]);
  try {
    return verify(h, msg, { key, ...signPadding(opts, true) }, signature);
  } catch {
    return false;
  }
}

/** rsaVerify that throws MikeyCryptoError 'signature-invalid'. */
export function rsaVerifyOrThrow(
  publicKey: RsaKeyInput, data: Uint8Array | readonly Uint8Array[], signature: Uint8Array, opts: RsaSignOptions = {},
): void {
  if (!rsaVerify(publicKey, data, signature, opts)) throw new MikeyCryptoError('signature-invalid', 'RSA signature does not verify');
}

/** Modulus length in bytes (the SIGN "Signature len" and PKE data length for RSA). */
export function rsaModulusBytes(key: RsaKeyInput): number {
  return checkRsa(typeof key === 'string' || key instanceof Uint8Array ? toPublicKey(key) : key);
}
