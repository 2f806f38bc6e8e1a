// Child servers in tests: started, then waited for by the line they print when they listen (never
// a fixed sleep), with timeouts scaled for a loaded machine, and a failure that says why (the
// child's exit status and the tail of its standard error and output).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { createInterface } from 'node:readline';

/**
 * A timeout for a loaded machine: `ms` times MIKEY_TEST_TIME_SCALE (default 1) times the load
 * (1-minute load average per core, at least 1, at most 8).
 */
export function scaled(ms: number): number {
  const env = Number(process.env['MIKEY_TEST_TIME_SCALE'] ?? '1');
  const factor = Number.isFinite(env) && env > 0 ? env : 1;
  const load = Math.min(8, Math.max(1, loadavg()[0]! / availableParallelism()));
  return Math.round(ms * factor * load);
}

export interface Child<T> {
  child: ChildProcess;
  /** What `ready` returned for the line that said the child listens. */
  info: T;
  /** Lines of standard output seen so far (readiness and after). */
  lines: string[];
  /** Standard error so far. */
  stderr(): string;
  /** SIGTERM (or `signal`), then SIGKILL after a scaled grace period; resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const tail = (s: string, n = 2000) => (s.length > n ? `…${s.slice(-n)}` : s);

/**
 * Spawns `command args` and resolves once `ready(line)` returns a value for a line of its standard
 * output. Rejects, with the child's stderr, if it exits first or does not get there within
 * `scaled(timeoutMs)` (the child is then killed).
 */
export async function startChild<T>(name: string, command: string, args: string[], ready: (line: string) => T | undefined, o: { timeoutMs?: number; spawn?: SpawnOptions; onLine?: (line: string) => void } = {}): Promise<Child<T>> {
  const child = spawn(command, args, { ...o.spawn, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => { stderr += d; });
  const rl = createInterface({ input: child.stdout! });
  const limit = scaled(o.timeoutMs ?? 20_000);
  const t0 = Date.now();
  const why = () => `stderr: ${stderr.trim() ? tail(stderr.trim()) : '(empty)'}; stdout: ${lines.length ? tail(lines.join('\n')) : '(empty)'}`;
  let done = false;
  const info = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${limit} ms (load ${loadavg()[0]!.toFixed(1)}, MIKEY_TEST_TIME_SCALE=${process.env['MIKEY_TEST_TIME_SCALE'] ?? 1}): ${why()}`));
    }, limit);
    child.once('error', (e) => { clearTimeout(timer); reject(new Error(`${name} could not be started: ${e.message}`)); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} did not start: it exited (${signal ?? `status ${code}`}) after ${Date.now() - t0} ms; ${why()}`));
    });
    rl.on('line', (l) => {
      lines.push(l);
      o.onLine?.(l);
      if (done) return;
      const v = ready(l);
      if (v !== undefined) {
        done = true;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(v);
      }
    });
  });
  return {
    child, info, lines, stderr: () => stderr,
    stop: (signal = 'SIGTERM') => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) { resolve(); return; }
      const t = setTimeout(() => child.kill('SIGKILL'), scaled(5000));
      child.once('exit', () => { clearTimeout(t); resolve(); });
      child.kill(signal);
    }),
  };
}
