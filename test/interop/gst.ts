// GStreamer (libgstsdp's GstMIKEYMessage) as an independent MIKEY peer, through the C driver
// test/interop/gst/mikey-gst.c. Independent of the wire codec: hex and JSON only.
//
// What GStreamer 1.22 handles: HDR, T (types 0-2), RAND, SP, PKE, and KEMAC whose data it reads
// as key data sub-payloads (PSK I_MESSAGE only; in a PK I_MESSAGE it expects an ID sub-payload
// and spins; in other message types it rejects KEMAC). It never decrypts nor checks a MAC.
// On DH, SIGN, ID, CERT, CHASH, V, ERR, general extensions and every payload type it does not
// know (IDR, SAKKE, TR, ...) its parser loops forever: every call runs the driver in a child
// process and treats silence as a hang.
// Other quirks: it reads any map type as SRTP-ID entries but keeps them only for type 0 (so
// the entries vanish on re-encoding); trailing bytes after the last payload are ignored; key
// types keep only bit 1 (TGK/TEK), +SALT is re-derived from a non-empty salt; the KEMAC MAC
// is re-encoded as uninitialized bytes; PKE is re-encoded with its C/length word set to 1.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---- parse output (what the driver prints; field names follow GStreamer's structs) ----

export interface GstCsSrtp {
  policy: number;
  ssrc: number;
  roc: number;
}

export interface GstKeyData {
  type: 20;
  /** GStreamer keeps only bit 1 of the type: 0 (TGK) or 2 (TEK); +SALT shows as `salt`. */
  keyType: number;
  kvType: number;
  key: string;
  salt?: string;
  spi?: string;
  validFrom?: string;
  validTo?: string;
}

export type GstPayload =
  | { type: 1; encAlg: number; macAlg: number; sub: GstPayload[] } // KEMAC (the MAC is not kept)
  | { type: 2; c: number; data: string } // PKE
  | { type: 5; tsType: number; tsValue: string } // T
  | { type: 10; policy: number; proto: number; params: Array<{ type: number; len: number; value: string }> } // SP
  | { type: 11; rand: string } // RAND
  | GstKeyData
  | { type: number }; // anything else: GStreamer keeps no fields

export interface GstMessage {
  version: number;
  type: number;
  v: boolean;
  prfFunc: number;
  csbId: number;
  mapType: number;
  cs: GstCsSrtp[];
  payloads: GstPayload[];
  /** gst_mikey_message_to_bytes of the parsed message. */
  reencoded?: string;
  reencodeError?: string;
}

export interface GstParseFailure {
  error: string;
  /** The parser did not return (killed after `hangMs`). */
  hung?: boolean;
  /** The driver died while parsing this message. */
  crashed?: boolean;
}

export type GstParsed = GstMessage | GstParseFailure;

export function gstFailed(p: GstParsed): p is GstParseFailure {
  return 'error' in p;
}

// ---- build input: a NULL-encrypted PSK I_MESSAGE (HDR, T, [RAND], {SP}, [KEMAC]) ----

export interface GstBuildSpec {
  /** Data type (default 0, PSK I_MESSAGE). */
  type?: number;
  /** V flag (default false). */
  v?: boolean;
  /** PRF func (default 0). */
  prfFunc?: number;
  csbId: number;
  /** SRTP-ID map entries in CS ID order. */
  cs: GstCsSrtp[];
  /** T payload: explicit (type 0/1: 8-byte hex value, type 2: 4-byte), 'now' (NTP-UTC now), or absent. */
  t?: { type: 0 | 1 | 2; value: string } | 'now';
  /** RAND bytes, hex (1-255 bytes). */
  rand?: string;
  sp?: Array<{ policy: number; proto?: number; params: Array<{ type: number; value: string }> }>;
  kemac?: {
    /** Only written, never applied by GStreamer (default 0 = NULL). */
    encAlg?: number;
    /** Written with a MAC field of uninitialized bytes if not 0 (default 0 = NULL). */
    macAlg?: number;
    keys: Array<{
      /** 0 TGK or 2 TEK (default 2); GStreamer sets the +SALT bit itself when `salt` is given. */
      type?: number;
      key: string;
      salt?: string;
      /** KV = SPI/MKI. */
      spi?: string;
      /** KV = interval (give both). */
      validFrom?: string;
      validTo?: string;
    }>;
  };
}

export interface GstBench {
  /** Median ns per gst_mikey_message_new_from_data + gst_mikey_message_to_bytes + unrefs. */
  parseEncodeNs: number;
  /** Median ns per gst_mikey_message_new_from_data + unref. */
  parseNs?: number;
  iterations: number;
  batches: number;
}

// ---- locating and building the driver ----

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'mikey') return dir;
      } catch {
        // keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (package.json of mikey)');
    dir = up;
  }
}

const PKG = ['gstreamer-sdp-1.0', 'gstreamer-1.0'];

export function gstDriverSource(): string {
  return join(repoRoot(), 'test', 'interop', 'gst', 'mikey-gst.c');
}

export function gstDriverPath(): string {
  return join(repoRoot(), '.build', 'mikey-gst');
}

let problemCache: string | null | undefined;

/** null if the driver can be built and run here, else why not. */
export function gstProblem(): string | null {
  if (problemCache !== undefined) return problemCache;
  problemCache = (() => {
    if (!existsSync(gstDriverSource())) return `driver source missing: ${gstDriverSource()}`;
    const bin = gstDriverPath();
    if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(gstDriverSource()).mtimeMs) return null;
    const cc = spawnSync('cc', ['--version'], { encoding: 'utf8', timeout: 10_000 });
    if (cc.error || cc.status !== 0) return `no C compiler (cc): ${cc.error?.message ?? cc.stderr}`;
    const pc = spawnSync('pkg-config', ['--exists', '--print-errors', ...PKG], { encoding: 'utf8', timeout: 10_000 });
    if (pc.error) return `pkg-config not runnable: ${pc.error.message}`;
    if (pc.status !== 0) return `pkg-config cannot find ${PKG.join(', ')} (libgstreamer-plugins-base1.0-dev): ${pc.stderr.trim().slice(0, 300)}`;
    return null;
  })();
  return problemCache;
}

let buildPromise: Promise<string> | undefined;

/** Compile the driver into .build/ if missing or older than its source; returns the binary path. */
export function buildGstDriver(): Promise<string> {
  buildPromise ??= doBuild().catch((e: unknown) => {
    buildPromise = undefined;
    throw e;
  });
  return buildPromise;
}

async function doBuild(): Promise<string> {
  const src = gstDriverSource();
  const bin = gstDriverPath();
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs) return bin;
  mkdirSync(dirname(bin), { recursive: true });
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', ...PKG], { encoding: 'utf8', timeout: 10_000 });
  if (flags.status !== 0) throw new Error(`pkg-config failed: ${flags.stderr}`);
  // build to a private name, then rename: concurrent test files may build at the same time
  const tmp = `${bin}.${process.pid}.tmp`;
  const args = ['-O2', '-Wall', '-o', tmp, src, ...flags.stdout.trim().split(/\s+/)];
  const r = await runProcess('cc', args, '', { totalMs: 120_000 });
  if (r.code !== 0) throw new Error(`cc failed (${r.code ?? r.signal}): ${r.stderr.slice(0, 2000)}`);
  renameSync(tmp, bin);
  return bin;
}

// ---- child processes ----

interface RunResult {
  lines: string[];
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** killed because no line came within the allowed time */
  stalled: boolean;
}

interface RunLimits {
  /** kill after this long in total */
  totalMs: number;
  /** kill if the first output line takes longer than this */
  firstLineMs?: number;
  /** kill if a further line takes longer than this after the previous one */
  lineMs?: number;
}

function runProcess(cmd: string, args: string[], input: string, limits: RunLimits): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    let stalled = false;
    let lineTimer: NodeJS.Timeout | undefined;
    const kill = (): void => {
      stalled = true;
      child.kill('SIGKILL');
    };
    const armLine = (ms: number | undefined): void => {
      if (lineTimer) clearTimeout(lineTimer);
      if (ms !== undefined) lineTimer = setTimeout(kill, ms);
    };
    const total = setTimeout(kill, limits.totalMs);
    armLine(limits.firstLineMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        lines.push(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
        armLine(limits.lineMs);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 8000) stderr += d;
    });
    child.stdin.on('error', () => {
      // the child may die (or be killed) before reading all its input
    });
    child.on('error', (e) => {
      clearTimeout(total);
      if (lineTimer) clearTimeout(lineTimer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(total);
      if (lineTimer) clearTimeout(lineTimer);
      resolvePromise({ lines, stderr, code, signal, stalled });
    });
    child.stdin.end(input);
  });
}

export interface GstParseOptions {
  /** A message whose result takes longer than this is declared hung (default 1000 ms). */
  hangMs?: number;
  /** Allowance for the driver's start-up (default 5000 ms). */
  startMs?: number;
}

/** Parse each hex message with GStreamer; hung or crashing messages get a failure entry. */
export async function gstParse(hexes: string[], opts: GstParseOptions = {}): Promise<GstParsed[]> {
  const bin = await buildGstDriver();
  const hangMs = opts.hangMs ?? 1000;
  const startMs = opts.startMs ?? 5000;
  const results: GstParsed[] = [];
  for (const h of hexes) {
    if (!/^([0-9a-fA-F]{2})*$/.test(h)) throw new Error(`not a hex string: ${h.slice(0, 40)}`);
  }
  while (results.length < hexes.length) {
    const rest = hexes.slice(results.length);
    const r = await runProcess(bin, ['parse'], rest.map((h) => (h === '' ? '\n' : `${h}\n`)).join(''), {
      totalMs: startMs + hangMs * rest.length + 60_000,
      firstLineMs: startMs,
      lineMs: hangMs,
    });
    const [ready, ...lines] = r.lines;
    if (ready !== '{"ready":true}') {
      throw new Error(`GStreamer driver did not start (${r.stalled ? `no output in ${startMs} ms` : (r.code ?? r.signal)}): ${r.stderr.trim().slice(0, 300)}`);
    }
    for (const line of lines.slice(0, rest.length)) results.push(JSON.parse(line) as GstParsed);
    if (results.length >= hexes.length) break;
    const i = results.length;
    if (r.stalled) {
      results.push({ error: `GStreamer did not return for message ${i} within ${hangMs} ms (hang)`, hung: true });
    } else {
      results.push({
        error: `driver ended (${r.code ?? r.signal}) while parsing message ${i}: ${r.stderr.trim().slice(0, 300)}`,
        crashed: true,
      });
    }
  }
  return results;
}

/** Build each spec with GStreamer's API; returns the hex of gst_mikey_message_to_bytes. */
export async function gstBuild(specs: GstBuildSpec[], opts: { timeoutMs?: number } = {}): Promise<string[]> {
  const bin = await buildGstDriver();
  const timeoutMs = opts.timeoutMs ?? 10_000 + 100 * specs.length;
  const r = await runProcess(bin, ['build'], specs.map((s) => `${JSON.stringify(s)}\n`).join(''), { totalMs: timeoutMs });
  const out: string[] = [];
  for (const [i, line] of r.lines.entries()) {
    const o = JSON.parse(line) as { hex?: string; error?: string };
    if (o.hex === undefined) throw new Error(`GStreamer could not build spec ${i}: ${o.error}`);
    out.push(o.hex);
  }
  if (out.length < specs.length) {
    const why = r.stalled ? `timed out after ${timeoutMs} ms` : `driver ended (${r.code ?? r.signal}): ${r.stderr.trim().slice(0, 300)}`;
    throw new Error(`GStreamer build stopped at spec ${out.length}: ${why}`);
  }
  return out;
}

/** Time GStreamer's parse (+ encode) of one message: median CPU ns per op over `batches` batches of `iterations`. */
export async function gstBench(hex: string, iterations: number, opts: { batches?: number; timeoutMs?: number } = {}): Promise<GstBench> {
  const bin = await buildGstDriver();
  // a message GStreamer spins on must not hang the benchmark: parse it once first
  const [probe] = await gstParse([hex]);
  if (!probe || gstFailed(probe)) throw new Error(`GStreamer cannot parse the benchmark message: ${probe?.error}`);
  const batches = opts.batches ?? 15;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const r = await runProcess(bin, ['bench', String(Math.max(1, Math.floor(iterations))), String(batches)], `${hex}\n`, { totalMs: timeoutMs });
  const line = r.lines[0];
  if (line === undefined) {
    throw new Error(r.stalled ? `GStreamer bench timed out after ${timeoutMs} ms` : `GStreamer bench failed (${r.code ?? r.signal}): ${r.stderr.slice(0, 300)}`);
  }
  const o = JSON.parse(line) as GstBench & { error?: string };
  if (o.error !== undefined) throw new Error(`GStreamer bench: ${o.error}`);
  return o;
}

/**
 * The driver in `serve` mode: it keeps the messages loaded and times one batch per request, so
 * a bench can alternate GStreamer's batches with its own in the same run (A B B A).
 */
export class GstBenchServer {
  private buffered = '';
  private waiting: Array<(line: string) => void> = [];
  private stderr = '';
  private constructor(private readonly child: ReturnType<typeof spawn>) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        this.waiting.shift()?.(line);
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      if (this.stderr.length < 8000) this.stderr += d;
    });
    child.on('close', (code, signal) => {
      for (const w of this.waiting.splice(0)) w(JSON.stringify({ error: `driver ended (${code ?? signal}): ${this.stderr.trim().slice(0, 300)}` }));
    });
  }

  /** Start the driver with `hexes` loaded (each must be a message GStreamer parses without hanging). */
  static async start(hexes: string[]): Promise<GstBenchServer> {
    const bin = await buildGstDriver();
    const probes = await gstParse(hexes);
    probes.forEach((p, i) => {
      if (gstFailed(p)) throw new Error(`GStreamer cannot parse bench message ${i}: ${p.error}`);
    });
    const s = new GstBenchServer(spawn(bin, ['serve'], { stdio: ['pipe', 'pipe', 'pipe'] }));
    const r = await s.request(`load ${hexes.join(' ')}`, 30_000);
    if (r['loaded'] !== hexes.length) throw new Error(`GStreamer driver loaded ${String(r['loaded'])} of ${hexes.length} messages`);
    return s;
  }

  private request(line: string, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error(`GStreamer driver: no answer to "${line.slice(0, 20)}" in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push((answer) => {
        clearTimeout(timer);
        const o = JSON.parse(answer) as Record<string, unknown>;
        if (typeof o['error'] === 'string') reject(new Error(`GStreamer driver: ${o['error']}`));
        else resolvePromise(o);
      });
      this.child.stdin!.write(`${line}\n`);
    });
  }

  /**
   * Seconds for `n` operations of `work`, timed inside the driver: elapsed (CLOCK_MONOTONIC), or
   * with `clock: 'cpu'` the driver's CPU time (CLOCK_PROCESS_CPUTIME_ID).
   */
  async run(work: 'dse' | 'enc', n: number, clock: 'wall' | 'cpu' = 'wall'): Promise<number> {
    const r = await this.request(`run ${work} ${Math.max(1, Math.floor(n))}`, 120_000);
    return (r[clock === 'cpu' ? 'cpuNs' : 'ns'] as number) / 1e9;
  }

  close(): void {
    this.child.stdin!.end();
  }
}
