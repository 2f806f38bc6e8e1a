// AES key wrap with padding (RFC 5649), the key transport of the KMS security extension
// (XML Encryption 1.1 kw-aes-256-pad / kw-aes-128-pad), and RFC 3394 without padding for
// received keys that are a multiple of 8 octets (XML Encryption kw-aes256 / kw-aes128).
// node:crypto does the block cipher work; a wrong key or altered data fails the integrity check.
import { createCipheriv, createDecipheriv } from 'node:crypto';

export const KW_AES256_PAD = 'http://www.w3.org/2009/xmlenc11#kw-aes-256-pad';
export const KW_AES128_PAD = 'http://www.w3.org/2009/xmlenc11#kw-aes-128-pad';
export const KW_AES256 = 'http://www.w3.org/2001/04/xmlenc#kw-aes256';
export const KW_AES128 = 'http://www.w3.org/2001/04/xmlenc#kw-aes128';

export class KeyWrapError extends Error {
  override readonly name = 'KeyWrapError';
}

const ALGS: Record<string, { keyLength: number; cipher: string; iv: Buffer }> = {
  [KW_AES256_PAD]: { keyLength: 32, cipher: 'id-aes256-wrap-pad', iv: Buffer.from('a65959a6', 'hex') }, // RFC 5649 §3 AIV
  [KW_AES128_PAD]: { keyLength: 16, cipher: 'id-aes128-wrap-pad', iv: Buffer.from('a65959a6', 'hex') },
  [KW_AES256]: { keyLength: 32, cipher: 'id-aes256-wrap', iv: Buffer.from('a6a6a6a6a6a6a6a6', 'hex') }, // RFC 3394 §2.2.3.1
  [KW_AES128]: { keyLength: 16, cipher: 'id-aes128-wrap', iv: Buffer.from('a6a6a6a6a6a6a6a6', 'hex') },
};

function alg(algorithm: string, kek: Uint8Array) {
  const a = ALGS[algorithm];
  if (!a) throw new KeyWrapError(`key transport algorithm ${algorithm} is not supported`);
  if (kek.length !== a.keyLength) throw new KeyWrapError(`${algorithm} takes a ${a.keyLength}-byte key, the transport key has ${kek.length}`);
  return a;
}

/** Wraps `key` under `kek` (default RFC 5649 with AES-256). */
export function wrapKey(kek: Uint8Array, key: Uint8Array, algorithm = kek.length === 16 ? KW_AES128_PAD : KW_AES256_PAD): Uint8Array {
  const a = alg(algorithm, kek);
  if (key.length === 0 || (a.iv.length === 8 && (key.length % 8 !== 0 || key.length < 16))) throw new KeyWrapError(`${algorithm} cannot wrap ${key.length} bytes`);
  const c = createCipheriv(a.cipher, kek, a.iv);
  return new Uint8Array(Buffer.concat([c.update(key), c.final()]));
}

/** Unwraps and checks integrity; KeyWrapError when the key is wrong or the data altered. */
export function unwrapKey(kek: Uint8Array, wrapped: Uint8Array, algorithm: string): Uint8Array {
  const a = alg(algorithm, kek);
  if (wrapped.length < 16 || wrapped.length % 8 !== 0 || wrapped.length > 4096) throw new KeyWrapError(`wrapped key of ${wrapped.length} bytes`);
  try {
    const d = createDecipheriv(a.cipher, kek, a.iv);
    return new Uint8Array(Buffer.concat([d.update(wrapped), d.final()]));
  } catch {
    throw new KeyWrapError('the wrapped key does not unwrap under this transport key (integrity check failed)');
  }
}
