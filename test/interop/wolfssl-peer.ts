// Builds and runs the wolfSSL ECCSI/SAKKE driver (test/interop/wolfssl/driver.c) against the
// system's libwolfssl (Debian: libwolfssl-dev, built with ECCSI and SAKKE).
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'interop', 'wolfssl', 'driver.c'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error('repository root not found');
}

const root = repoRoot();
const source = join(root, 'test', 'interop', 'wolfssl', 'driver.c');
const binary = join(root, '.build', 'wolfssl-driver');

let state: { problem: string | null } | undefined;

/** null when the driver is built and usable, else why not. */
export function wolfsslProblem(): string | null {
  if (state) return state.problem;
  state = { problem: findProblem() };
  return state.problem;
}

function findProblem(): string | null {
  const inc = '/usr/include/wolfssl';
  for (const h of ['wolfcrypt/eccsi.h', 'wolfcrypt/sakke.h', 'options.h']) {
    if (!existsSync(join(inc, h))) return `header ${inc}/${h} missing (apt-get install libwolfssl-dev)`;
  }
  const options = readFileSync(join(inc, 'options.h'), 'utf8');
  for (const flag of ['WOLFCRYPT_HAVE_ECCSI', 'WOLFCRYPT_HAVE_SAKKE']) {
    if (!new RegExp(`#define\\s+${flag}\\b`).test(options)) return `libwolfssl built without ${flag}`;
  }
  const fresh = existsSync(binary) && statSync(binary).mtimeMs >= statSync(source).mtimeMs;
  if (!fresh) {
    const cc = spawnSync('cc', ['--version'], { encoding: 'utf8' });
    if (cc.error || cc.status !== 0) return 'no C compiler (cc)';
    mkdirSync(dirname(binary), { recursive: true });
    // build beside the target and rename, so concurrent runs never execute a half-written file
    const tmp = `${binary}.${process.pid}.tmp`;
    // Debian's libwolfssl is SP math with 64-bit digits (configure found __uint128_t); the
    // driver must see the same sp_int layout, and checks it when it starts.
    const wide = /__SIZEOF_INT128__/.test(spawnSync('cc', ['-dM', '-E', '-x', 'c', '/dev/null'], { encoding: 'utf8' }).stdout ?? '');
    const build = spawnSync('cc', ['-O2', '-Wall', ...(wide ? ['-DHAVE___UINT128_T'] : []), '-o', tmp, source, '-lwolfssl'], { encoding: 'utf8' });
    if (build.error || build.status !== 0) return `driver build failed: ${build.stderr || build.error?.message}`;
    renameSync(tmp, binary);
  }
  return null;
}

export interface DriverResult {
  status: number;
  lines: string[];
  stderr: string;
}

export function runDriver(args: string[], timeoutMs = 60_000): DriverResult {
  const r = spawnSync(binary, args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw r.error;
  if (r.status === 2) throw new Error(`wolfSSL driver error (${args[0]}): ${r.stderr}`);
  return { status: r.status ?? -1, lines: r.stdout.split('\n').filter((l) => l.length > 0), stderr: r.stderr };
}

export const h = (b: Uint8Array) => Buffer.from(b).toString('hex');
export const unh = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

export function driverBinary(): string {
  return binary;
}

/**
 * The driver's serve mode: one long-lived process with its keys set up, timing `n` runs of an
 * operation per request, so a benchmark can alternate its batches with ours.
 */
export class WolfsslServer {
  private readonly lines: AsyncIterableIterator<string>;
  private stderr = '';
  readonly ops: string[];

  private constructor(
    private readonly child: ReturnType<typeof spawn>,
    lines: AsyncIterableIterator<string>,
    ops: string[],
  ) {
    this.lines = lines;
    this.ops = ops;
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  static async start(): Promise<WolfsslServer> {
    const problem = wolfsslProblem();
    if (problem !== null) throw new Error(problem);
    const child = spawn(binary, ['serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done || !first.value.startsWith('ready')) throw new Error(`wolfSSL driver did not start: ${err}`);
    return new WolfsslServer(child, lines, first.value.split(' ').slice(1));
  }

  /** Seconds for `n` runs of `op` inside the driver. */
  async time(op: string, n: number): Promise<number> {
    this.child.stdin!.write(`${op} ${n}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error(`wolfSSL driver exited: ${this.stderr}`);
    if (!/^\d+$/.test(r.value)) throw new Error(`wolfSSL driver: ${r.value} ${this.stderr}`);
    return Number(r.value) / 1e9;
  }

  close(): void {
    this.child.stdin!.end();
  }
}
