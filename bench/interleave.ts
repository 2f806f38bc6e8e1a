// Side-by-side timing: ours (A) and an anchor (B) in alternating batches A B B A, several
// rounds in one run; the result is the median of the per-round time ratios A/B with the 25th
// and 75th percentiles, so load that comes and goes hits both sides alike.
import { performance } from 'node:perf_hooks';

/** Runs an operation `n` times and gives the seconds it took (measured where it runs). */
export type Timed = (n: number) => number | Promise<number>;

/** A synchronous function as a Timed. */
export function timed(fn: () => unknown): Timed {
  return (n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return (performance.now() - t0) / 1000;
  };
}

export interface CompareRow {
  label: string;
  ours: Timed;
  anchor: Timed;
  /** goal for the time ratio ours/anchor (met when the median is <= goal) */
  goal?: number;
  /** rounds of A B B A (>= 7) */
  rounds?: number;
  /** target duration of one batch per side */
  batchMs?: number;
}

export interface CompareResult {
  label: string;
  rounds: number;
  /** median of per-round time ratios ours/anchor, with the 25th and 75th percentiles */
  median: number;
  p25: number;
  p75: number;
  oursSec: number;
  anchorSec: number;
  goal?: number;
  met?: boolean;
}

function percentile(sorted: number[], f: number): number {
  const x = (sorted.length - 1) * f;
  const lo = Math.floor(x);
  const hi = Math.ceil(x);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (x - lo);
}

async function batchSize(t: Timed, batchMs: number): Promise<number> {
  await t(1); // warm up
  let n = 1;
  for (;;) {
    const dt = (await t(n)) * 1000;
    if (dt >= batchMs / 4 || n >= 1 << 20) return Math.max(1, Math.round((n * batchMs) / Math.max(dt, 0.001)));
    n *= 4;
  }
}

export async function compare(row: CompareRow): Promise<CompareResult> {
  const rounds = Math.max(7, row.rounds ?? 7);
  const batchMs = row.batchMs ?? 150;
  const nA = await batchSize(row.ours, batchMs);
  const nB = await batchSize(row.anchor, batchMs);
  const ratios: number[] = [];
  const perA: number[] = [];
  const perB: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const a1 = (await row.ours(nA)) / nA;
    const b1 = (await row.anchor(nB)) / nB;
    const b2 = (await row.anchor(nB)) / nB;
    const a2 = (await row.ours(nA)) / nA;
    ratios.push((a1 + a2) / (b1 + b2));
    perA.push((a1 + a2) / 2);
    perB.push((b1 + b2) / 2);
  }
  ratios.sort((x, y) => x - y);
  perA.sort((x, y) => x - y);
  perB.sort((x, y) => x - y);
  const median = percentile(ratios, 0.5);
  return {
    label: row.label,
    rounds,
    median,
    p25: percentile(ratios, 0.25),
    p75: percentile(ratios, 0.75),
    oursSec: percentile(perA, 0.5),
    anchorSec: percentile(perB, 0.5),
    goal: row.goal,
    met: row.goal === undefined ? undefined : median <= row.goal,
  };
}

function t(sec: number): string {
  const us = sec * 1e6;
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`;
}

export function formatResult(r: CompareResult): string {
  const goal = r.goal === undefined ? '' : `  goal <= ${r.goal.toFixed(2)} ${r.met ? 'met' : 'NOT met'}`;
  return (
    `${r.label.padEnd(52)} ${t(r.oursSec).padStart(10)} vs ${t(r.anchorSec).padStart(10)}` +
    `  ratio ${r.median.toFixed(2)} [${r.p25.toFixed(2)}-${r.p75.toFixed(2)}]${goal}`
  );
}
