// COUNTER timestamps (RFC 3830 §6.6) say nothing about time: a responder refuses an old one only
// while it remembers the last counter accepted per CSB. A responder therefore refuses COUNTER
// unless its store is persistent (`FileCounterStore`) or it set `allowUnpersistedCounter`, where
// a restart forgets the counters (see docs/security.md).
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

/** The last COUNTER accepted per CSB ID. */
export interface CounterStore {
  /** Whether the counters survive a restart (absent: a store given by the caller is taken to). */
  readonly persistent?: boolean;
  get(csbId: number): number | undefined;
  set(csbId: number, counter: number): void;
}

/** In memory, bounded: beyond `capacity` CSBs the least recently set is forgotten. */
export class MemoryCounterStore implements CounterStore {
  readonly persistent = false;
  private readonly map = new Map<number, number>();
  constructor(readonly capacity = 100_000) {}
  get(csbId: number): number | undefined {
    return this.map.get(csbId >>> 0);
  }
  set(csbId: number, counter: number): void {
    this.map.delete(csbId >>> 0);
    if (this.map.size >= this.capacity) this.map.delete(this.map.keys().next().value!);
    this.map.set(csbId >>> 0, counter);
  }
}

/**
 * In a JSON file (mode 0600), rewritten atomically (temporary file, fsync, rename) on every
 * accepted COUNTER message, so a restarted responder still refuses older counters.
 */
export class FileCounterStore implements CounterStore {
  readonly persistent = true;
  private readonly mem: MemoryCounterStore;
  constructor(readonly path: string, capacity = 100_000) {
    this.mem = new MemoryCounterStore(capacity);
    if (existsSync(path)) {
      const data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, number>;
      for (const [k, v] of Object.entries(data)) if (Number.isInteger(v)) this.mem.set(Number(k), v);
    }
  }
  get(csbId: number): number | undefined {
    return this.mem.get(csbId);
  }
  set(csbId: number, counter: number): void {
    this.mem.set(csbId, counter);
    const out: Record<string, number> = {};
    for (const [k, v] of (this.mem as unknown as { map: Map<number, number> }).map) out[k] = v;
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(out));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }
}
