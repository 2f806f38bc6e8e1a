// The `mikey` command run as a user runs it, from tests: one invocation, or many at once (each
// is a Node start-up that mostly waits on the loader, so a table of them runs in parallel).
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

export const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

export interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** Options for node itself, before the script (e.g. --import). */
  nodeArgs?: string[];
}

/** `node dist/src/cli/main.js ARGS`, to its exit; never rejects (a failure to spawn is status null). */
export function mikey(args: string[], o: RunOptions = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [...(o.nodeArgs ?? []), CLI, ...args], { env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    c.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    c.once('error', (e) => resolve({ status: null, signal: null, stdout, stderr: `${stderr}${e.message}` }));
    c.once('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
    c.stdin.on('error', () => {}); // a command that exits before reading its input
    c.stdin.end(o.input);
  });
}

/**
 * Runs every invocation, a few at a time (twice the cores: start-ups wait on the file system
 * as much as on the CPU), and resolves to their results in the order given.
 */
export async function mikeyAll(runs: Array<string[] | [string[], RunOptions]>, width = 2 * availableParallelism()): Promise<Ran[]> {
  const out: Ran[] = new Array<Ran>(runs.length);
  let next = 0;
  const lane = async () => {
    while (next < runs.length) {
      const i = next++;
      const r = runs[i]!;
      const [args, o] = Array.isArray(r[0]) ? (r as [string[], RunOptions]) : [r as string[], {}];
      out[i] = await mikey(args, o);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, runs.length) }, lane));
  return out;
}
