// The key service under load: tickets issued and resolved per second over UDP by real clients
// (bench/kms-loadgen.ts, a child process) against `mikey kms serve` processes, this build beside
// the build of an earlier commit ("today", MIKEY_BENCH_BASE_REV, default 242efe6) in the same
// run, in alternating batches (harness.ts compare()). One "pair" is one REQUEST_INIT_PSK
// (a forked ticket is issued) and one RESOLVE_INIT_PSK of a ticket issued before; the row's
// operation is two pairs per client (four at 64 clients; every client busy throughout a batch),
// so the speed ratio is the inverse of the time ratio.
//
// Rows: SQLite and PostgreSQL (a throwaway cluster, synchronous commit on), this build in one
// process and with `--workers N` (MIKEY_BENCH_KMS_WORKERS, default 2) beside today's, at 8 and 64
// clients; the p99 latency at 64 clients beside its 20 ms budget; N workers beside one process
// and two service nodes on one PostgreSQL beside one node. Each side's store is provisioned by
// its own build. Every row's name carries the load average while it ran (the machine is shared).
//
// The earlier build: MIKEY_BENCH_BASE=DIR (a checkout with dist/ built and node_modules), else
// it is made once in $TMPDIR/mikey-bench-base-<rev> (git archive, node_modules linked, tsc).
// MIKEY_LONG=1: longer batches and more rounds. MIKEY_BENCH_KMS=sqlite or =postgres: that store only.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { identity } from '../src/kms/memory.js';
import { udpTransport } from '../src/kms/server.js';
import { TicketInitiator } from '../src/modes/ticket/initiator.js';
import { buildTicketKmsRequest } from '../src/modes/ticket/kms-exchange.js';
import { TicketResponder } from '../src/modes/ticket/responder.js';
import { decodeMessage } from '../src/wire/decode.js';
import { PayloadType } from '../src/wire/registry.js';
import type { Payload } from '../src/wire/types.js';
import { compare, record, type BenchSection, type RowResult, type Side } from './harness.js';
import { earlierBuild, repoRoot } from './report.js';
import type { LoadJob, LoadResult } from './kms-loadgen.js';
import { ALICE, BOB, KMS_ID, MASTER_HEX, psk, startPg } from '../test/kms/harness.js';

const LONG = process.env['MIKEY_LONG'] === '1';
const BASE_REV = process.env['MIKEY_BENCH_BASE_REV'] ?? '242efe6';
const ROUNDS = LONG ? 11 : 7;
const BATCH_MS = LONG ? 2500 : 1000;
/** Pairs per client in one operation: enough that a batch is not mostly ramp-up and drain (at 64 clients, 4). */
const perClient = (clients: number) => (clients >= 32 ? 4 : 2);
const ONLY = process.env['MIKEY_BENCH_KMS'] ?? '';
const WORKERS = Number(process.env['MIKEY_BENCH_KMS_WORKERS'] ?? 2);

/** The earlier commit's build: given, or made once. */
const baseRoot = (): string => earlierBuild(BASE_REV, process.env['MIKEY_BENCH_BASE'], join('src', 'cli', 'main.js'));

/** Provision a store with the build at `root` (its own schema and sealing). */
async function provisionWith(root: string, location: string): Promise<void> {
  const mod = (p: string) => import(pathToFileURL(join(root, 'dist', p)).href);
  const { openStore } = await mod('src/kms/store.js');
  const { SecretBox } = await mod('src/kms/secrets.js');
  const h = await mod('test/kms/harness.js');
  const store = await openStore(location);
  await h.provision(store, new SecretBox(h.MASTER));
  await store.close();
}

interface Server { port: number; child: ChildProcess; stop(): Promise<void> }

/** CPU milliseconds used so far by a process and its children (the workers), from /proc (Linux; else NaN). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    let ms = ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    for (const c of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) ms += cpuMs(Number(c));
    return ms;
  } catch {
    return NaN;
  }
}

/** `mikey kms serve` of the build at `root`, UDP only; its log goes to a file (not through us). */
async function serve(root: string, db: string, node: string, dir: string, extra: string[] = []): Promise<Server> {
  const keyFile = join(dir, 'master.key');
  if (!existsSync(keyFile)) writeFileSync(keyFile, `${MASTER_HEX}\n`, { mode: 0o600 });
  const logFile = join(dir, `${node}.log`);
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(logFile, 'w');
  const child = spawn(process.execPath, [join(root, 'dist', 'src', 'cli', 'main.js'), 'kms', 'serve', '--db', db, '--master-key-file', keyFile,
    '--identity', KMS_ID, '--no-http', '--udp-port', '0', '--node', node, '--rate', '1000000', '--burst', '1000000', ...extra], { stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const t0 = Date.now();
  for (;;) {
    const m = /"event":"listening".*"udp":"[^"]*:(\d+)"/.exec(readFileSync(logFile, 'utf8'));
    if (m) return { port: Number(m[1]), child, stop: async () => { child.kill('SIGTERM'); await exited; } };
    if (child.exitCode !== null || Date.now() - t0 > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`kms serve (${node}) did not start: ${stderr.slice(-1500)} ${readFileSync(logFile, 'utf8').slice(-1500)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

const kmsId = identity(KMS_ID);
const alice = new TicketInitiator({ identity: identity(ALICE), kms: kmsId, psk: psk(1), pskId: Buffer.from('alice-phone') });
const bob = new TicketResponder({ identity: identity(BOB), kms: kmsId, psk: psk(2), pskId: Buffer.from('bob-phone') });
const csb = () => (Math.random() * 0x1_0000_0000) >>> 0;

/** Tickets issued by the KMS at `port`, to be resolved in the timed batches. */
async function ticketsFrom(port: number, n = 16): Promise<Payload[]> {
  const t = udpTransport(port, '127.0.0.1', { timeoutMs: 2000 });
  const out: Payload[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const req = alice.createRequest({ responders: [identity(BOB)], flags: { I: true } });
      const grant = req.receiveResponse(await t(req.bytes));
      const xfer = alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
      out.push(decodeMessage(xfer.bytes).payloads.find((p) => p.type === PayloadType.Ticket)!);
    }
  } finally {
    t.close();
  }
  return out;
}

/** `n` pairs: a REQUEST_INIT and a RESOLVE_INIT each (fresh: new RANDs, timestamps and CSB IDs). */
function pairs(n: number, tickets: Payload[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    out.push(alice.createRequest({ responders: [identity(BOB)], flags: { I: true } }, { csbId: csb() }).bytes);
    out.push(buildTicketKmsRequest(bob.opts, bob.ep, 'resolve', tickets[i % tickets.length]!, csb()).bytes);
  }
  return out;
}

class LoadGen {
  private readonly child = fork(join(dirname(fileURLToPath(import.meta.url)), 'kms-loadgen.js'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  run(job: LoadJob): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      this.child.once('message', (m: LoadResult & { error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m)));
      this.child.send(job);
    });
  }
  close(): void { this.child.disconnect(); }
}

interface Batch { n: number; latencies: number[]; retransmissions: number; failures: number; cpuMs: number }

/** Clients' view of a side: the ports, tickets to resolve, and the CPU its server processes used. */
interface Target { label: string; ports: number[]; tickets: Payload[]; cpu(): number }

/** A side: `n` pairs sent by `clients` clients spread over `ports`; every batch's latencies kept. */
function side(t: Target, gen: LoadGen, clients: number, batches: Batch[]): Side {
  const { label, ports, tickets } = t;
  return {
    label,
    // one operation is perClient() pairs per client: a batch keeps every client busy from start to end
    async batch(n) {
      const messages = pairs(n * clients * perClient(clients), tickets);
      const c0 = t.cpu();
      const r = await gen.run({ ports, clients, messages });
      const cpu = t.cpu() - c0;
      // unanswered after every retransmission: counted (the batch's time includes the wait), not fatal
      if (r.failures) console.log(`  ${label}: ${r.failures} requests unanswered`);
      batches.push({ n: n * clients * perClient(clients), latencies: r.latencies, retransmissions: r.retransmissions, failures: r.failures, cpuMs: cpu });
      return r.sec;
    },
  };
}

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

/** The timed batches of a side (compare: 2 per round, after calibration). */
const timedBatches = (b: Batch[], rounds: number) => b.slice(-2 * rounds);

function latencyLine(label: string, b: Batch[], rounds: number): string {
  const all = timedBatches(b, rounds).flatMap((x) => x.latencies);
  const re = timedBatches(b, rounds).reduce((a, x) => a + x.retransmissions, 0);
  return `${label.padEnd(40)} latency p50 ${pct(all, 0.5).toFixed(2)} ms  p99 ${pct(all, 0.99).toFixed(2)} ms  (${all.length} requests, ${re} retransmitted)`;
}

const perSec = (r: RowResult, clients: number) => `${r.ours} ${Math.round((clients * perClient(clients)) / r.oursSec)} pairs/s, ${r.anchor} ${Math.round((clients * perClient(clients)) / r.anchorSec)} pairs/s: ${(1 / r.ratio).toFixed(2)}× (IQR ${(1 / r.p75).toFixed(2)}–${(1 / r.p25).toFixed(2)})`;

async function row(name: string, gen: LoadGen, ours: Target, anchor: Target, clients: number, goal: number, o: { cpuRow?: string } = {}): Promise<{ r: RowResult; a: Batch[]; b: Batch[] }> {
  const a: Batch[] = [];
  const b: Batch[] = [];
  // the machine is shared: the row says how loaded it was when the row started
  const r = await compare({
    name: `${name} (load ${loadavg()[0]!.toFixed(1)})`, kind: 'like-for-like', goal, rounds: ROUNDS, batchMs: BATCH_MS,
    ours: side(ours, gen, clients, a), anchor: side(anchor, gen, clients, b),
  });
  console.log(`  ${perSec(r, clients)}; load ${loadavg()[0]!.toFixed(1)}`);
  console.log(`  ${latencyLine(ours.label, a, ROUNDS)}`);
  console.log(`  ${latencyLine(anchor.label, b, ROUNDS)}`);
  if (o.cpuRow) cpuRow(o.cpuRow, a, b, goal);
  return { r, a, b };
}

/**
 * The servers' CPU time per pair, ours beside the anchor, per round of the same batches: what
 * a request costs, whatever share of the shared cores the servers got.
 */
function cpuRow(name: string, ours: Batch[], anchor: Batch[], goal: number): void {
  const perPair = (b: Batch[], i: number) => (b[2 * i]!.cpuMs + b[2 * i + 1]!.cpuMs) / 1000 / (b[2 * i]!.n + b[2 * i + 1]!.n);
  const [ta, tb] = [timedBatches(ours, ROUNDS), timedBatches(anchor, ROUNDS)];
  const a = Array.from({ length: ROUNDS }, (_, i) => perPair(ta, i));
  const b = Array.from({ length: ROUNDS }, (_, i) => perPair(tb, i));
  if (![...a, ...b].every((x) => Number.isFinite(x) && x > 0)) { console.log(`  ${name}: no CPU times (/proc)`); return; }
  const ratios = a.map((x, i) => x / b[i]!);
  const s = [...ratios].sort((x, y) => x - y);
  const q = (v: number) => s[Math.round((s.length - 1) * v)]!;
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  const r = record({
    name: `${name} (load ${loadavg()[0]!.toFixed(1)})`, kind: 'like-for-like', ours: 'ours, server CPU per pair', anchor: 'today, server CPU per pair', goal, met: q(0.5) <= goal,
    ratio: q(0.5), p25: q(0.25), p75: q(0.75), oursSec: med(a), anchorSec: med(b), rounds: ROUNDS, ratios,
  });
  console.log(`  CPU per pair: ours ${(r.oursSec * 1000).toFixed(2)} ms, anchor ${(r.anchorSec * 1000).toFixed(2)} ms: ${(1 / r.ratio).toFixed(2)}× less`);
}

/** p99 per round of the timed batches, beside the budget: a row whose anchor is the budget. */
function p99Row(name: string, ours: Batch[], today: Batch[], budgetMs: number): void {
  name = `${name} (load ${loadavg()[0]!.toFixed(1)})`;
  const t = timedBatches(ours, ROUNDS);
  const perRound = Array.from({ length: ROUNDS }, (_, i) => pct([...t[2 * i]!.latencies, ...t[2 * i + 1]!.latencies], 0.99));
  const ratios = perRound.map((p) => p / budgetMs);
  const s = [...ratios].sort((x, y) => x - y);
  const q = (v: number) => s[Math.round((s.length - 1) * v)]!;
  const r = record({
    name, kind: 'like-for-like', ours: 'ours p99', anchor: `budget ${budgetMs} ms`, goal: 1, met: q(0.5) <= 1, ratio: q(0.5), p25: q(0.25), p75: q(0.75),
    oursSec: pct(perRound, 0.5) / 1000, anchorSec: budgetMs / 1000, rounds: ROUNDS, ratios,
  });
  const todayP99 = pct(timedBatches(today, ROUNDS).flatMap((x) => x.latencies), 0.99);
  console.log(`  p99 today ${todayP99.toFixed(2)} ms, ours ${r.oursSec * 1000 < 10 ? (r.oursSec * 1000).toFixed(2) : (r.oursSec * 1000).toFixed(1)} ms (budget ${budgetMs} ms)`);
}

async function part(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    console.log(`${what}: stopped early: ${(e as Error).stack ?? String(e)}`);
  }
}

export const kmsLoadSection: BenchSection = {
  title: 'Key service under load: tickets issued + resolved per second over UDP, vs an earlier commit',
  async run() {
    const base = baseRoot();
    const ours = repoRoot();
    const dir = mkdtempSync(join(tmpdir(), 'mikey-bench-kmsload-'));
    const gen = new LoadGen();
    const servers: Server[] = [];
    const start = async (root: string, db: string, node: string, extra: string[] = []) => {
      const s = await serve(root, db, node, dir, extra);
      servers.push(s);
      return s;
    };
    const stopAll = async () => { for (const s of servers.splice(0)) await s.stop(); };
    try {
      console.log(`today = ${BASE_REV} (${base}); ours with --workers ${WORKERS}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
      const w = `${WORKERS} workers`;
      const ready = async (label: string, s: Server[]): Promise<Target> => ({ label, ports: s.map((x) => x.port), tickets: await ticketsFrom(s[0]!.port), cpu: () => s.reduce((a, x) => a + cpuMs(x.child.pid), 0) });
      // a part that fails says so and the rows measured so far are kept (and filed)
      if (ONLY !== 'postgres') await part('SQLite', async () => {
        // SQLite: one file per server
        for (const f of ['base', 'ours', 'oursw']) await provisionWith(f === 'base' ? base : ours, join(dir, `${f}.db`));
        const tb = await ready(`today ${BASE_REV}`, [await start(base, join(dir, 'base.db'), 'base')]);
        const to = await ready('ours, 1 process', [await start(ours, join(dir, 'ours.db'), 'ours')]);
        const tw = await ready(`ours, ${w}`, [await start(ours, join(dir, 'oursw.db'), 'oursw', ['--workers', String(WORKERS)])]);
        await row('KMS SQLite, 8 clients, 1 process', gen, to, tb, 8, 0.2, { cpuRow: 'KMS SQLite, server CPU per pair, 8 clients, 1 process' });
        await row(`KMS SQLite, 8 clients, ${w}`, gen, tw, tb, 8, 0.2, { cpuRow: `KMS SQLite, server CPU per pair, 8 clients, ${w}` });
        const r64 = await row('KMS SQLite, 64 clients, 1 process', gen, to, tb, 64, 0.2);
        p99Row('KMS SQLite, p99 latency at 64 clients, 1 process', r64.a, r64.b, 20);
        const w64 = await row(`KMS SQLite, 64 clients, ${w}`, gen, tw, tb, 64, 0.2);
        p99Row(`KMS SQLite, p99 latency at 64 clients, ${w}`, w64.a, w64.b, 20);
        await row(`KMS SQLite, ${w} vs 1 process, 16 clients`, gen, tw, to, 16, 1 / 1.6);
      });
      await stopAll();
      if (ONLY === 'sqlite') return;
      const pg = await startPg({ durable: true });
      if (typeof pg === 'string') {
        console.log(`PostgreSQL: skipped (${pg})`);
        return;
      }
      await part('PostgreSQL', async () => {
        const [ub, uo, uw] = [await pg.createDb('base'), await pg.createDb('ours'), await pg.createDb('oursw')];
        await provisionWith(base, ub);
        await provisionWith(ours, uo);
        await provisionWith(ours, uw);
        const pb = await start(base, ub, 'pg-base');
        const po = await start(ours, uo, 'pg-ours-1');
        const pb1 = await ready(`today ${BASE_REV}`, [pb]);
        const po1 = await ready('ours, 1 process', [po]);
        const pw = await ready(`ours, ${w}`, [await start(ours, uw, 'pg-oursw', ['--workers', String(WORKERS)])]);
        await row('KMS PostgreSQL, 8 clients, 1 process', gen, po1, pb1, 8, 0.2, { cpuRow: 'KMS PostgreSQL, server CPU per pair (not the database\'s), 8 clients, 1 process' });
        await row(`KMS PostgreSQL, 8 clients, ${w}`, gen, pw, pb1, 8, 0.2);
        const p64 = await row('KMS PostgreSQL, 64 clients, 1 process', gen, po1, pb1, 64, 0.2);
        p99Row('KMS PostgreSQL, p99 latency at 64 clients, 1 process', p64.a, p64.b, 20);
        await row(`KMS PostgreSQL, ${w} vs 1 process, 16 clients`, gen, pw, po1, 16, 1 / 1.6);
        await pb.stop();
        const po2 = await start(ours, uo, 'pg-ours-2');
        const two: Target = { label: 'ours, two nodes', ports: [po.port, po2.port], tickets: po1.tickets, cpu: () => cpuMs(po.child.pid) + cpuMs(po2.child.pid) };
        await row('KMS PostgreSQL, two nodes vs one, 16 clients', gen, two, { ...po1, label: 'ours, one node' }, 16, 1 / 1.6);
      }).finally(async () => {
        await stopAll();
        await pg.stop();
      });
    } finally {
      await stopAll();
      gen.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
