// Replay cache (RFC 3830 §5.4): only successfully authenticated messages are remembered, for as
// long as their timestamp stays inside the allowed skew.
import { createHash } from 'node:crypto';

export type ReplayVerdict = 'recorded' | 'replayed' | 'full';

export interface ReplayCache {
  /**
   * Record the message identified by `key` until `expiresAt` (ms): 'recorded', or 'replayed'
   * when the key is already recorded, or 'full' when nothing more can be remembered. Check and
   * record are one step so two concurrent copies of one message cannot both pass.
   */
  checkAndRecord(key: string, expiresAt: number, now: number): ReplayVerdict | Promise<ReplayVerdict>;
}

/**
 * The replay key of a message: a hash of what authenticates it. For a signed message that is
 * the signed bytes (plus, for ECCSI, r), never the whole signature: (r, s) and (r, q-s) both
 * verify, so a key over the signature would let a re-signed copy pass as new (RFC 6507 §5.2.2).
 */
export function replayKey(bytes: Uint8Array | readonly Uint8Array[]): string {
  const h = createHash('sha256');
  if (bytes instanceof Uint8Array) return h.update(bytes).digest('base64');
  for (const part of bytes) h.update(Uint8Array.of(part.length >>> 24, part.length >>> 16, part.length >>> 8, part.length)).update(part);
  return h.digest('base64');
}

/**
 * In-memory replay cache, bounded: expired entries are dropped, and when it is full of live
 * ones, new messages are refused until entries expire (RFC 3830 §5.4: a host that cannot keep
 * track rejects incoming requests rather than risk accepting a replay).
 */
export class MemoryReplayCache implements ReplayCache {
  private readonly entries = new Map<string, number>();
  constructor(readonly capacity = 10_000) {}

  checkAndRecord(key: string, expiresAt: number, now: number): ReplayVerdict {
    const seen = this.entries.get(key);
    if (seen !== undefined && seen > now) return 'replayed';
    if (this.entries.size >= this.capacity) this.evict(now);
    if (this.entries.size >= this.capacity) return 'full';
    this.entries.set(key, expiresAt);
    return 'recorded';
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(now: number): void {
    for (const [k, exp] of this.entries) if (exp <= now) this.entries.delete(k);
  }
}
