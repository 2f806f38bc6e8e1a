// Benchmark harness: medians over repeated timed batches, and side-by-side ratios.
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
