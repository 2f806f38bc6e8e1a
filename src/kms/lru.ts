// A bounded cache: a Map in use order (the least recently used entry is evicted first), with an
// age limit per entry. Every cache of the key service is one of these, so none grows with the
// identities a sender can name.
export class Lru<K, V> {
  private readonly m = new Map<K, { at: number; value: V }>();
  /** Entries evicted for room (not for age). */
  evicted = 0;

  constructor(readonly capacity: number, private readonly maxAgeMs = Infinity) {
    if (!(capacity >= 1)) throw new RangeError(`cache capacity must be at least 1, got ${capacity}`);
  }

  get size(): number {
    return this.m.size;
  }

  /** The entry if present and younger than the age limit at `now`; it becomes the most recent. */
  get(key: K, now = 0): V | undefined {
    const e = this.m.get(key);
    if (!e) return undefined;
    this.m.delete(key);
    if (now - e.at >= this.maxAgeMs) return undefined;
    this.m.set(key, e);
    return e.value;
  }

  has(key: K, now = 0): boolean {
    const e = this.m.get(key);
    return e !== undefined && now - e.at < this.maxAgeMs;
  }

  set(key: K, value: V, now = 0): void {
    this.m.delete(key);
    this.m.set(key, { at: now, value });
    while (this.m.size > this.capacity) {
      this.m.delete(this.m.keys().next().value as K);
      this.evicted++;
    }
  }

  delete(key: K): boolean {
    return this.m.delete(key);
  }

  clear(): void {
    this.m.clear();
  }
}
