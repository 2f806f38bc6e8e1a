// Hedged signature nonces: RFC 6979 §3.2 (HMAC_DRBG over SHA-256) with fresh randomness as the
// additional data of §3.6. The nonce depends on the key, the message and the random octets, so
// a random source that repeats (or returns constants) no longer repeats nonces across
// messages, and a fresh one keeps nonces unpredictable even for a leaked (key, message).
import { createHmac } from 'node:crypto';
import { CryptoError } from './errors.js';
import { bigIntToBytes, bitLength, bytesToBigInt, concatBytes, defaultRandom, type RandomSource } from './pairing/field.js';
import { nativeP256 } from './native.js';

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const nat = nativeP256();
  if (nat) return nat.hmacSha256(key, parts.length === 1 ? parts[0]! : concatBytes(...parts));
  const h = createHmac('sha256', key);
  for (const x of parts) h.update(x);
  return new Uint8Array(h.digest());
}

/**
 * Nonces k in [1, q-1] for one signature (RFC 6979 §3.2 steps b–h, SHA-256). `x` is the
 * private key, `h1` the hash of what is signed, `extra` the additional data k' (§3.6).
 * `next()` gives the first candidate, then the next ones if the signer must retry (step h.3).
 */
export class NonceGenerator {
  private K: Uint8Array;
  private V: Uint8Array;
  private readonly qlen: number;
  private readonly rlen: number;
  private first = true;

  constructor(
    private readonly q: bigint,
    x: bigint,
    h1: Uint8Array,
    extra: Uint8Array = new Uint8Array(0),
  ) {
    this.qlen = bitLength(q);
    this.rlen = Math.ceil(this.qlen / 8);
    if (x <= 0n || x >= q) throw new CryptoError('invalid-key', 'private key out of range');
    const xo = bigIntToBytes(x, this.rlen); // int2octets(x)
    const ho = bigIntToBytes(this.bits2int(h1) % q, this.rlen); // bits2octets(h1)
    const nat = nativeP256();
    if (nat) {
      // b) to g) in one native call
      const KV = nat.hmacDrbgInit(concatBytes(xo, ho, extra));
      this.K = KV.subarray(0, 32);
      this.V = KV.subarray(32);
      return;
    }
    this.V = new Uint8Array(32).fill(1); // b)
    this.K = new Uint8Array(32); // c)
    this.K = hmac(this.K, this.V, Uint8Array.of(0), xo, ho, extra); // d)
    this.V = hmac(this.K, this.V); // e)
    this.K = hmac(this.K, this.V, Uint8Array.of(1), xo, ho, extra); // f)
    this.V = hmac(this.K, this.V); // g)
  }

  private bits2int(b: Uint8Array): bigint {
    const v = bytesToBigInt(b);
    const blen = b.length * 8;
    return blen > this.qlen ? v >> BigInt(blen - this.qlen) : v;
  }

  next(): bigint {
    for (;;) {
      if (!this.first) {
        // h.3) K = HMAC_K(V || 0x00), V = HMAC_K(V)
        this.K = hmac(this.K, this.V, Uint8Array.of(0));
        this.V = hmac(this.K, this.V);
      }
      this.first = false;
      // h.1, h.2) T from V until it has qlen bits
      const T = new Uint8Array(Math.ceil(this.rlen / 32) * 32);
      for (let off = 0; off < this.rlen; off += 32) {
        this.V = hmac(this.K, this.V);
        T.set(this.V, off);
      }
      const k = this.bits2int(T.subarray(0, this.rlen));
      if (k >= 1n && k < this.q) return k;
    }
  }
}

/** Octets of fresh randomness mixed into every hedged nonce. */
export const NONCE_EXTRA_LENGTH = 32;

/** A hedged nonce generator: RFC 6979 with `NONCE_EXTRA_LENGTH` octets from `random` as k'. */
export function hedgedNonces(q: bigint, x: bigint, h1: Uint8Array, random: RandomSource = defaultRandom): NonceGenerator {
  const extra = random(NONCE_EXTRA_LENGTH);
  if (!(extra instanceof Uint8Array) || extra.length !== NONCE_EXTRA_LENGTH) {
    throw new CryptoError('random-failure', 'random source returned the wrong length');
  }
  return new NonceGenerator(q, x, h1, extra);
}
