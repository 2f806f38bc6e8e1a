// libsrtp2 as an independent SRTP peer, through the C driver test/interop/srtp/driver.c
// (built at run time into .build/). Hex in, JSON out; every call runs under a timeout.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type LibsrtpProfile =
  | 'AES_CM_128_HMAC_SHA1_80'
  | 'AES_CM_128_HMAC_SHA1_32'
  | 'AES_192_CM_HMAC_SHA1_80'
  | 'AES_256_CM_HMAC_SHA1_80'
  | 'AEAD_AES_128_GCM'
  | 'AEAD_AES_256_GCM'
  | 'NULL_HMAC_SHA1_80';

export interface SrtpContextSpec {
  profile: LibsrtpProfile;
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
  ssrc: number;
  /** roll-over counter set on the stream before the packet (default 0) */
  roc?: number;
  /** Master Key Identifier carried in the packet (RFC 3711 §3.1) */
  mki?: Uint8Array;
}

export type SrtpOp = 'rtp-protect' | 'rtp-unprotect' | 'rtcp-protect' | 'rtcp-unprotect';

export interface SrtpRequest extends SrtpContextSpec {
  op: SrtpOp;
  packet: Uint8Array;
}

export type SrtpResult = { ok: true; packet: Uint8Array } | { ok: false; status: number; where: string };

// ---- locating and building ----

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'interop', 'srtp', 'driver.c'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (test/interop/srtp/driver.c)');
    dir = up;
  }
}

function driverSource(): string {
  return join(repoRoot(), 'test', 'interop', 'srtp', 'driver.c');
}

function driverBinary(): string {
  return join(repoRoot(), '.build', 'srtp-driver');
}

function fresh(bin: string, src: string): boolean {
  return existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs;
}

let problemCache: string | null | undefined;

/** null if libsrtp2 and a C compiler are usable here, else the reason. */
export function srtpProblem(): string | null {
  if (problemCache !== undefined) return problemCache;
  problemCache = (() => {
    try {
      if (!existsSync(driverSource())) return `driver source missing: ${driverSource()}`;
      if (fresh(driverBinary(), driverSource())) return null;
      const cc = spawnSync('cc', ['--version'], { encoding: 'utf8', timeout: 10_000 });
      if (cc.error || cc.status !== 0) return `no C compiler (cc): ${cc.error?.message ?? cc.stderr}`;
      if (!existsSync('/usr/include/srtp2/srtp.h')) {
        const pc = spawnSync('pkg-config', ['--exists', 'libsrtp2'], { encoding: 'utf8', timeout: 10_000 });
        if (pc.error || pc.status !== 0) return 'libsrtp2 headers not found (install libsrtp2-dev)';
      }
      return null;
    } catch (e) {
      return `cannot check for libsrtp2: ${(e as Error).message}`;
    }
  })();
  return problemCache;
}

function runProcess(cmd: string, args: string[], input: string, timeoutMs: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    child.stdin.on('error', () => { /* the child may exit early; reported through close */ });
    child.stdin.end(input);
  });
}

let buildPromise: Promise<string> | undefined;

/** Compile the driver into .build/ if missing or older than its source; returns the binary path. */
export function buildSrtpDriver(): Promise<string> {
  buildPromise ??= (async () => {
    const src = driverSource();
    const bin = driverBinary();
    if (fresh(bin, src)) return bin;
    mkdirSync(dirname(bin), { recursive: true });
    const tmp = `${bin}.${process.pid}.tmp`;
    const r = await runProcess('cc', ['-O2', '-Wall', '-o', tmp, src, '-lsrtp2'], '', 120_000);
    if (r.code !== 0) throw new Error(`cc failed (${r.code ?? r.signal}): ${r.stderr.slice(0, 2000)}`);
    renameSync(tmp, bin); // concurrent test files may build at the same time
    return bin;
  })().catch((e: unknown) => {
    buildPromise = undefined;
    throw e;
  });
  return buildPromise;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function line(r: SrtpRequest): string {
  return [r.op, r.profile, hex(r.masterKey), hex(r.masterSalt), String(r.ssrc >>> 0), String((r.roc ?? 0) >>> 0), r.mki && r.mki.length ? hex(r.mki) : '-', hex(r.packet)].join(' ');
}

/** Run several requests through one driver process (each with a fresh libsrtp session). */
export async function libsrtpBatch(reqs: readonly SrtpRequest[], timeoutMs = 20_000): Promise<SrtpResult[]> {
  const bin = await buildSrtpDriver();
  const r = await runProcess(bin, [], reqs.map(line).join('\n') + '\n', timeoutMs);
  if (r.code !== 0) throw new Error(`srtp driver exited with ${r.code ?? r.signal}: ${r.stderr.slice(0, 1000)}`);
  const out = r.stdout.split('\n').filter((l) => l.length > 0);
  if (out.length !== reqs.length) throw new Error(`srtp driver answered ${out.length} of ${reqs.length} requests`);
  return out.map((l) => {
    const j = JSON.parse(l) as { ok: boolean; packet?: string; status?: number; where?: string };
    return j.ok ? { ok: true, packet: new Uint8Array(Buffer.from(j.packet ?? '', 'hex')) } : { ok: false, status: j.status ?? -1, where: j.where ?? '' };
  });
}

export async function libsrtpVersion(): Promise<string> {
  const bin = await buildSrtpDriver();
  const r = await runProcess(bin, [], 'version\n', 10_000);
  return (JSON.parse(r.stdout.trim()) as { version: string }).version;
}

async function one(op: SrtpOp, ctx: SrtpContextSpec, packet: Uint8Array): Promise<SrtpResult> {
  const [r] = await libsrtpBatch([{ ...ctx, op, packet }]);
  return r!;
}

export const libsrtpProtectRtp = (ctx: SrtpContextSpec, packet: Uint8Array) => one('rtp-protect', ctx, packet);
export const libsrtpUnprotectRtp = (ctx: SrtpContextSpec, packet: Uint8Array) => one('rtp-unprotect', ctx, packet);
export const libsrtpProtectRtcp = (ctx: SrtpContextSpec, packet: Uint8Array) => one('rtcp-protect', ctx, packet);
export const libsrtpUnprotectRtcp = (ctx: SrtpContextSpec, packet: Uint8Array) => one('rtcp-unprotect', ctx, packet);
