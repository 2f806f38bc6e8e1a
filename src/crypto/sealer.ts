// Secrets at rest: AES-256-GCM under a master key (NIST SP 800-38D), each blob bound to what it is
// by its associated data (the row or record it belongs to), so a sealed value cannot be moved.
// One layout: version (1) || IV (12) || tag (16) || ciphertext. Blobs written before the version
// byte existed (IV (12) || ciphertext || tag (16), the identity-key vault's first layout) still
// open where `legacy` is set; every new blob is written in the versioned layout.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV = 12;
const TAG = 16;

/** A sealed value that does not open (wrong master key, altered or truncated), or a master key of the wrong size. */
export class MasterKeyError extends Error {
  override readonly name = 'MasterKeyError';
}

export interface SealerOptions {
  /** The IV source (default: the system's random bytes). */
  random?: (n: number) => Uint8Array;
  /** Also open blobs in the unversioned layout (IV || ciphertext || tag). */
  legacy?: boolean;
}

export class Sealer {
  protected readonly key: Buffer;
  private readonly random: (n: number) => Uint8Array;
  private readonly legacy: boolean;

  constructor(masterKey: Uint8Array, o: SealerOptions = {}) {
    if (masterKey.length !== 32) throw new MasterKeyError(`the master key must be 32 bytes (AES-256), got ${masterKey.length}`);
    this.key = Buffer.from(masterKey);
    this.random = o.random ?? ((n) => randomBytes(n));
    this.legacy = o.legacy ?? false;
  }

  /** version(1) || IV(12) || tag(16) || ciphertext. */
  seal(plain: Uint8Array, aad: string): Buffer {
    const iv = Buffer.from(this.random(IV));
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([Buffer.of(VERSION), iv, c.getAuthTag(), ct]);
  }

  open(blob: Uint8Array, aad: string): Uint8Array {
    const b = Buffer.from(blob.buffer, blob.byteOffset, blob.length);
    if (b.length >= 1 + IV + TAG && b[0] === VERSION) {
      const v = this.tryOpen(b.subarray(1, 1 + IV), b.subarray(1 + IV + TAG), b.subarray(1 + IV, 1 + IV + TAG), aad);
      if (v) return v;
      // a legacy blob whose IV starts with the version byte: the tag decides
      if (!this.legacy) throw new MasterKeyError(`sealed ${aad} does not open: wrong master key or damaged data`);
    } else if (!this.legacy) {
      throw new MasterKeyError(`sealed ${aad}: unknown format`);
    }
    if (b.length < IV + TAG) throw new MasterKeyError(`sealed ${aad}: too short (${b.length} bytes)`);
    const v = this.tryOpen(b.subarray(0, IV), b.subarray(IV, b.length - TAG), b.subarray(b.length - TAG), aad);
    if (!v) throw new MasterKeyError(`sealed ${aad} does not open: wrong master key or damaged data`);
    return v;
  }

  private tryOpen(iv: Buffer, ct: Buffer, tag: Buffer, aad: string): Uint8Array | undefined {
    const d = createDecipheriv('aes-256-gcm', this.key, iv);
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(tag);
    try {
      return new Uint8Array(Buffer.concat([d.update(ct), d.final()]));
    } catch {
      return undefined;
    }
  }
}
