// Bounds for what unauthenticated input may cost a responder: a token bucket per source, in a
// bounded table (the least recently seen source goes first), and pending exchanges kept per
// claimed peer with a per-peer and an overall bound, evicting fairly (the oldest of the peer
// holding the most) instead of refusing newcomers.

export interface RateLimit {
  /** Messages per second allowed from one source, on average. */
  perSecond: number;
  /** Messages a source may send at once (default: perSecond). */
  burst?: number;
  /** Sources remembered (default 10,000; the least recently seen is forgotten first). */
  sources?: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;
  private readonly capacity: number;
  constructor(private readonly limit: RateLimit) {
    if (!(limit.perSecond > 0)) throw new RangeError('rate limit: perSecond must be > 0');
    this.burst = limit.burst ?? limit.perSecond;
    this.capacity = limit.sources ?? 10_000;
  }

  /** Take one token for `source` at `now` (ms): false when the source is over its rate. */
  take(source: string, now: number): boolean {
    let b = this.buckets.get(source);
    if (b) {
      this.buckets.delete(source);
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.limit.perSecond);
      b.at = now;
    } else {
      if (this.buckets.size >= this.capacity) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.burst, at: now };
    }
    this.buckets.set(source, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}

/** Items kept per peer: at most `perPeer` each and `total` overall; full means the fairest eviction. */
export class FairPending<T extends { expires: number }> {
  private readonly byPeer = new Map<string, T[]>();
  private count = 0;
  constructor(readonly perPeer: number, readonly total: number) {}

  /** Add `item` for `peer`, evicting (and returning) what had to go to make room. */
  add(peer: string, item: T, now: number): T[] {
    this.sweep(now);
    const evicted: T[] = [];
    const own = this.byPeer.get(peer) ?? [];
    if (own.length >= this.perPeer) evicted.push(own.shift()!);
    else if (this.count >= this.total) {
      // the peer holding the most gives up its oldest; ties: the one whose oldest is oldest
      let victim: T[] | undefined;
      for (const list of this.byPeer.values()) {
        if (!victim || list.length > victim.length || (list.length === victim.length && list[0]!.expires < victim[0]!.expires)) victim = list;
      }
      if (victim) evicted.push(victim.shift()!);
      for (const [k, list] of this.byPeer) if (!list.length) this.byPeer.delete(k);
    }
    own.push(item);
    this.byPeer.set(peer, own);
    this.count += 1 - evicted.length;
    return evicted;
  }

  /** The live items of `peer`. */
  of(peer: string, now: number): T[] {
    const list = this.byPeer.get(peer);
    if (!list) return [];
    const live = list.filter((x) => x.expires > now);
    if (live.length !== list.length) {
      if (live.length) this.byPeer.set(peer, live);
      else this.byPeer.delete(peer);
      this.count -= list.length - live.length;
    }
    return live;
  }

  remove(peer: string, item: T): void {
    const list = this.byPeer.get(peer);
    const i = list?.indexOf(item) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    this.count--;
    if (!list.length) this.byPeer.delete(peer);
  }

  get size(): number {
    return this.count;
  }

  private sweep(now: number): void {
    let n = 0;
    for (const [k, list] of this.byPeer) {
      const live = list.filter((x) => x.expires > now);
      if (live.length) this.byPeer.set(k, live);
      else this.byPeer.delete(k);
      n += live.length;
    }
    this.count = n;
  }
}
