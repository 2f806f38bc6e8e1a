// Benchmark harness. `compare` is the one way to set ours beside an anchor (a native peer, or
// the crypto floor of an exchange): both are timed in alternating batches (A B B A) in the
// same run, round after round, and the row reports the median of the per-round time ratios
// with its 25th-75th percentile and whether it meets its goal.
import { performance } from 'node:perf_hooks';

/** One section of `npm run bench`. `native` rows are timings of a native peer in the same run. */
export interface BenchSection {
  title: string;
  run(): Promise<void>;
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
