// Hex helpers for vectors copied from the RFC texts (spaces and line breaks allowed).
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error('bad hex in test vector');
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

export function big(s: string): bigint {
  return BigInt('0x' + s.replace(/\s+/g, ''));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').toUpperCase();
}

/** Deterministic byte source for reproducible randomness in tests (SHA-256 counter mode). */
import { createHash } from 'node:crypto';
export function seededRandom(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n: number) => {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const block = createHash('sha256').update(seed).update(String(counter++)).digest();
      out.set(block.subarray(0, Math.min(32, n - o)), o);
      o += 32;
    }
    return out;
  };
}
