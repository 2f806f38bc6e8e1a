// Secrets at rest: pre-shared keys and ticket protection keys are sealed with AES-256-GCM under
// the master key given at start (crypto/sealer.ts, the one sealer, also under the identity-key
// vault). Each blob is bound to what it is (the associated data names the row), so a sealed key
// cannot be moved to another row.
import { createHash, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MasterKeyError, Sealer } from '../crypto/sealer.js';

const CHECK = 'mikey-kms master key check';

export { MasterKeyError };

/** The KMS's sealer (crypto/sealer.ts) with what the store needs beside: the master key check, derived keys, a fingerprint. */
export class SecretBox extends Sealer {
  constructor(masterKey: Uint8Array) {
    super(masterKey);
  }

  /** A value stored once per database: opening it later proves the master key is the same. */
  checkValue(): string {
    return this.seal(Buffer.from(CHECK), 'meta:master-key-check').toString('base64');
  }
  verifyCheckValue(v: string): void {
    const got = Buffer.from(this.open(Buffer.from(v, 'base64'), 'meta:master-key-check')).toString();
    if (got !== CHECK) throw new MasterKeyError('the master key check value is wrong');
  }

  /** A key derived from the master key for another purpose (HKDF-SHA-256, RFC 5869), e.g. sealing identity-key secrets. */
  deriveKey(label: string): Uint8Array {
    return new Uint8Array(hkdfSync('sha256', this.key, Buffer.alloc(0), `mikey-kms ${label}`, 32));
  }

  /** A short fingerprint of the master key (for logs; reveals nothing useful). */
  fingerprint(): string {
    return createHash('sha256').update('mikey-kms fingerprint').update(this.key).digest('hex').slice(0, 16);
  }
}

/** A master key from its text: 64 hex digits or base64 of 32 bytes. */
export function parseMasterKey(text: string): Uint8Array {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return new Uint8Array(Buffer.from(t, 'hex'));
  const b = Buffer.from(t, 'base64');
  if (b.length === 32 && /^[A-Za-z0-9+/=_-]+$/.test(t)) return new Uint8Array(b);
  throw new MasterKeyError('a master key is 64 hex digits or the base64 of 32 bytes');
}

/** The master key from a file, or from MIKEY_KMS_MASTER_KEY. */
export function loadMasterKey(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Uint8Array {
  if (file) return parseMasterKey(readFileSync(file, 'utf8'));
  const v = env['MIKEY_KMS_MASTER_KEY'];
  if (v) return parseMasterKey(v);
  throw new MasterKeyError('no master key: give --master-key-file FILE or set MIKEY_KMS_MASTER_KEY');
}
