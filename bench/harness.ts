// Benchmark harness. `compare` is the one way to set ours beside an anchor (a native peer, or
// the crypto floor of an exchange): both are timed in alternating batches (A B B A) in the
// same run, round after round, and the row reports the median of the per-round time ratios
// with its 25th-75th percentile and whether it meets its goal. `measure` times one thing alone.
import { performance } from 'node:perf_hooks';

export interface Measurement {
  name: string;
  /** median seconds per operation */
  medianSec: number;
  opsPerSec: number;
  /** bytes processed per operation, for MB/s */
  bytesPerOp?: number;
}

/** Time `fn` in batches sized to ~`batchMs`, return the median per-op time. */
export function measure(name: string, fn: () => unknown, opts: { batches?: number; batchMs?: number; bytesPerOp?: number } = {}): Measurement {
  const batches = opts.batches ?? 15;
  const batchMs = opts.batchMs ?? 40;
  // warm up and size the batch
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    const dt = performance.now() - t0;
    if (dt >= batchMs / 4 || n >= 1 << 24) { n = Math.max(1, Math.round((n * batchMs) / Math.max(dt, 0.001))); break; }
    n *= 4;
  }
  const perOp: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    perOp.push((performance.now() - t0) / 1000 / n);
  }
  perOp.sort((a, b) => a - b);
  const medianSec = perOp[perOp.length >> 1]!;
  return { name, medianSec, opsPerSec: 1 / medianSec, bytesPerOp: opts.bytesPerOp };
}

export function fmt(m: Measurement): string {
  const us = m.medianSec * 1e6;
  const time = us >= 1000 ? `${(us / 1000).toFixed(3)} ms` : `${us.toFixed(2)} µs`;
  const mbs = m.bytesPerOp ? `  ${((m.bytesPerOp * m.opsPerSec) / 1e6).toFixed(1)} MB/s` : '';
  return `${m.name.padEnd(48)} ${time.padStart(12)}  ${Math.round(m.opsPerSec).toLocaleString('en-US').padStart(12)} ops/s${mbs}`;
}

/** One section of `npm run bench`. `native` rows are timings of a native peer in the same run. */
export interface BenchSection {
  title: string;
  run(): Promise<void>;
}

export function ratioLine(label: string, ours: Measurement, native: Measurement): string {
  // ratio > 1 means ours is slower (time ratio); for "as fast as" goals compare ops/s.
  const timeRatio = ours.medianSec / native.medianSec;
  return `${label.padEnd(48)} ours/native time ratio ${timeRatio.toFixed(2)}  (speed ratio ${(1 / timeRatio).toFixed(2)})`;
}

/** Time an async operation: `n` sequential runs per batch, the median of `batches`. */
export async function measureAsync(name: string, fn: () => Promise<unknown>, batches = 11, n = 20): Promise<Measurement> {
  for (let i = 0; i < n; i++) await fn();
  const per: number[] = [];
  for (let b = 0; b < batches; b++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    per.push((performance.now() - t0) / 1000 / n);
  }
  per.sort((a, b) => a - b);
  const medianSec = per[per.length >> 1]!;
  return { name, medianSec, opsPerSec: 1 / medianSec };
}

/** Print how an exchange compares with its crypto floor measured in the same run. */
export function floorRatio(label: string, m: Measurement, floor: Measurement, goal?: number): void {
  const r = m.medianSec / floor.medianSec;
  console.log(`${label.padEnd(48)} exchange/floor time ratio ${r.toFixed(2)}${goal ? ` (goal <= ${goal})` : ''}`);
}

/** A replay cache that remembers nothing, so one message can be received over and over. */
export const forgetfulReplayCache = { checkAndRecord: () => 'recorded' as const };

// ---- side-by-side rows --------------------------------------------------------------------

/** One side of a row: `batch(n)` runs n operations and returns the seconds they took. */
export interface Side {
  label: string;
  batch(n: number): number | Promise<number>;
}

/** A side timed here: `n` sequential calls of `fn`. */
export function timed(label: string, fn: () => unknown): Side {
  return {
    label,
    batch(n) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) fn();
      return (performance.now() - t0) / 1000;
    },
  };
}

/** A side timed here: `n` sequential awaited calls of `fn`. */
export function timedAsync(label: string, fn: () => Promise<unknown>): Side {
  return {
    label,
    async batch(n) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await fn();
      return (performance.now() - t0) / 1000;
    },
  };
}

/**
 * A side timed here in CPU seconds of this process (GC threads and the thread pool included):
 * `n` sequential awaited calls of `fn`. On a machine shared with other work, elapsed time
 * mostly measures the wait for a core; CPU time is the work done.
 */
export function cpuTimedAsync(label: string, fn: () => Promise<unknown>): Side {
  return {
    label,
    async batch(n) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < n; i++) await fn();
      const t = process.cpuUsage(t0);
      return (t.user + t.system) / 1e6;
    },
  };
}

/** The same for synchronous calls. */
export function cpuTimed(label: string, fn: () => unknown): Side {
  return {
    label,
    batch(n) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < n; i++) fn();
      const t = process.cpuUsage(t0);
      return (t.user + t.system) / 1e6;
    },
  };
}

/**
 * What a row compares. `like-for-like`: the same work on both sides. `precomputation`: what our
 * precomputed path buys over a one-shot one. `floor`: a whole exchange beside the primitive
 * calls it cannot avoid (its "crypto floor"). `earlier-build`: the same work in this build beside
 * an earlier commit's build.
 */
export type RowKind = 'like-for-like' | 'precomputation' | 'floor' | 'earlier-build';

export interface RowSpec {
  name: string;
  kind: RowKind;
  ours: Side;
  anchor: Side;
  /** The goal on the time ratio ours/anchor: met when the median ratio is at most this. */
  goal: number;
  /** Rounds of A B B A (at least 7; default 9). */
  rounds?: number;
  /** Target duration of one batch (default 50 ms). */
  batchMs?: number;
}

export interface RowResult {
  section: string;
  name: string;
  kind: RowKind;
  ours: string;
  anchor: string;
  goal: number;
  met: boolean;
  /** Median of the per-round time ratios ours/anchor, and its 25th and 75th percentiles. */
  ratio: number;
  p25: number;
  p75: number;
  /** Median seconds per operation on each side. */
  oursSec: number;
  anchorSec: number;
  rounds: number;
  ratios: number[];
}

function quantile(sorted: number[], q: number): number {
  const x = (sorted.length - 1) * q;
  const i = Math.floor(x);
  const f = x - i;
  return i + 1 < sorted.length ? sorted[i]! * (1 - f) + sorted[i + 1]! * f : sorted[i]!;
}

/** Batch size for about `ms` milliseconds of `side` (doubling from 1, which also warms it up). */
async function calibrate(side: Side, ms: number): Promise<number> {
  let n = 1;
  for (;;) {
    const dt = await side.batch(n);
    if (dt * 1000 >= ms / 4 || n >= 1 << 24) return Math.max(1, Math.round((n * ms) / Math.max(dt * 1000, 0.001)));
    n *= 2;
  }
}

let currentSection = '';
const collected: RowResult[] = [];

/** Rows measured so far in this run, and the section they are filed under. */
export function resultsSoFar(): readonly RowResult[] {
  return collected;
}
export function beginSection(title: string): void {
  currentSection = title;
}

const fmtTime = (s: number): string => (s >= 1e-3 ? `${(s * 1e3).toFixed(3)} ms` : `${(s * 1e6).toFixed(2)} µs`);

/** One line: the row, both medians, the ratio with its spread, the goal and whether it is met. */
export function rowLine(r: RowResult): string {
  return `${r.name.padEnd(46)} ${fmtTime(r.oursSec).padStart(11)} vs ${fmtTime(r.anchorSec).padStart(11)}  ratio ${r.ratio.toFixed(2)} [${r.p25.toFixed(2)}-${r.p75.toFixed(2)}]  goal <= ${r.goal.toFixed(2)}  ${r.met ? 'met' : 'not met'}`;
}

/**
 * Time ours (A) and the anchor (B) in alternating batches A B B A, `rounds` times, and report
 * the median per-round ratio of time per operation, ours/anchor, with its interquartile range.
 */
export async function compare(spec: RowSpec): Promise<RowResult> {
  const rounds = Math.max(7, spec.rounds ?? 9);
  const ms = spec.batchMs ?? 50;
  const nA = await calibrate(spec.ours, ms);
  const nB = await calibrate(spec.anchor, ms);
  const ratios: number[] = [];
  const perA: number[] = [];
  const perB: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const a1 = await spec.ours.batch(nA);
    const b1 = await spec.anchor.batch(nB);
    const b2 = await spec.anchor.batch(nB);
    const a2 = await spec.ours.batch(nA);
    const a = (a1 + a2) / (2 * nA);
    const b = (b1 + b2) / (2 * nB);
    perA.push(a);
    perB.push(b);
    ratios.push(a / b);
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  const ratio = quantile(sorted, 0.5);
  const r: RowResult = {
    section: currentSection,
    name: spec.name,
    kind: spec.kind,
    ours: spec.ours.label,
    anchor: spec.anchor.label,
    goal: spec.goal,
    met: ratio <= spec.goal,
    ratio,
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    oursSec: quantile(perA.sort((x, y) => x - y), 0.5),
    anchorSec: quantile(perB.sort((x, y) => x - y), 0.5),
    rounds,
    ratios,
  };
  collected.push(r);
  console.log(rowLine(r));
  return r;
}

/** File a row measured some other way (e.g. a latency beside its budget) with the rows of `compare`. */
export function record(r: Omit<RowResult, 'section'>): RowResult {
  const row: RowResult = { section: currentSection, ...r };
  collected.push(row);
  console.log(rowLine(row));
  return row;
}
