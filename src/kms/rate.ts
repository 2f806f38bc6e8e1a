// Per-peer rate limit (RFC 6043 §12.3: rate limiting SHOULD be implemented in the KMS): a token
// bucket per peer address, refilled continuously; idle buckets are forgotten, and at most
// `maxPeers` are kept (the oldest go first: a flood of spoofed sources cannot grow the table).
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perSec: number, private readonly burst: number, private readonly now: () => number = () => Date.now(), private readonly maxPeers = 100_000) {}

  get size(): number {
    return this.buckets.size;
  }

  /** Take one token for `peer`; false when its bucket is empty. */
  take(peer: string): boolean {
    const t = this.now();
    let b = this.buckets.get(peer);
    if (!b) {
      if (this.buckets.size >= this.maxPeers) this.sweep(t);
      b = { tokens: this.burst, at: t };
      this.buckets.set(peer, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSec);
    b.at = t;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private sweep(t: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + ((t - b.at) / 1000) * this.perSec >= this.burst) this.buckets.delete(k);
    // still full: the least recently created go (a forgotten peer starts again with a full bucket)
    for (const k of this.buckets.keys()) {
      if (this.buckets.size < this.maxPeers) break;
      this.buckets.delete(k);
    }
  }
}
