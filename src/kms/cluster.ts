// The key service run until SIGTERM/SIGINT, in one process or in several (`kms serve --workers N`,
// `"workers": N` for kms/bin.ts). Workers are node:cluster processes: a worker binding the UDP
// port or listening on the HTTP port gets the primary's handle (exclusive: false), so all
// workers read one socket (the kernel hands each datagram to one reader) and HTTP connections
// are dealt round-robin. The primary prepares the store once (migrations, master key check, the
// ticket protection key, identity-key secrets), then forks the workers; it signals readiness
// (`listening`) only when every worker listens, replaces a worker that dies, and stops them all.
import cluster, { type Worker } from 'node:cluster';
import type { Writable } from 'node:stream';
import { jsonLogger, type Logger } from './log.js';
import { openKeyService, type KeyServiceConfig } from './open.js';
import { HTTP_LIMITS } from './server.js';
import { DEFAULT_RATE } from './service.js';

export interface RunKeyServiceOptions {
  /** Processes serving (default 1: this one). */
  workers?: number;
  /** Where the JSON log lines go (default standard output). */
  logTo?: Writable;
}

const READY = 'mikey-kms-listening';
const WORKER = 'MIKEY_KMS_WORKER';
const WORKERS = 'MIKEY_KMS_WORKERS';

interface Ready { type: typeof READY; http?: string; udp?: string }

const signalled = (): Promise<string> => new Promise((resolve) => {
  process.once('SIGTERM', () => resolve('SIGTERM'));
  process.once('SIGINT', () => resolve('SIGINT'));
});

const udpAddress = (c: KeyServiceConfig, port: number | undefined) => (port === undefined ? undefined : `${c.listen?.udp?.host ?? '127.0.0.1'}:${port}`);

/** Why `workers` cannot serve this store, or undefined. */
export function workersRefused(c: KeyServiceConfig, workers: number): string | undefined {
  if (workers <= 1) return undefined;
  const where = typeof c.store === 'string' ? c.store : c.store.location;
  if (where === ':memory:' || where.startsWith('file::memory:')) return 'an in-memory SQLite store belongs to one process: --workers needs a store file or PostgreSQL';
  if (!c.listen?.udp && !c.listen?.http) return '--workers needs a listener';
  return undefined;
}

/**
 * A worker's share of what is limited per process: the per-peer rate and burst, and the HTTP
 * connections per address, divided among the workers (a peer's requests may reach any of them,
 * so together they allow what one process would).
 */
export function workerConfig(c: KeyServiceConfig, workers: number, slot: number): KeyServiceConfig {
  const share = (v: number) => Math.max(1, Math.ceil(v / workers));
  const rate = c.rate ?? DEFAULT_RATE;
  const http = c.listen?.http;
  return {
    ...c,
    node: `${c.node ?? process.pid}/${slot}`,
    rate: { ...rate, perSec: share(rate.perSec), burst: share(rate.burst) },
    listen: c.listen && {
      ...c.listen,
      http: http && { ...http, maxConnectionsPerAddress: share(http.maxConnectionsPerAddress ?? HTTP_LIMITS.maxConnectionsPerAddress) },
    },
  };
}

/** Run the service until SIGTERM or SIGINT (or, in a worker, until the primary goes); 0 when it stopped cleanly. */
export async function runKeyService(c: KeyServiceConfig, o: RunKeyServiceOptions = {}): Promise<number> {
  const out = o.logTo ?? process.stdout;
  if (cluster.isWorker && process.env[WORKER]) return runWorker(c, out);
  const workers = o.workers ?? 1;
  const node = c.node ?? String(process.pid);
  const log = c.log ?? jsonLogger(out, node);
  if (workers <= 1) {
    const ks = await openKeyService({ ...c, node, log });
    const r = ks.running;
    log.info('listening', { http: r?.httpUrl, udp: udpAddress(c, r?.udpPort) });
    log.info('stopping', { signal: await signalled() });
    await ks.close();
    log.info('stopped');
    return 0;
  }
  const refused = workersRefused(c, workers);
  if (refused) throw new Error(refused);
  // the store made ready once, here, before any worker opens it (no migration or first-start race)
  const prepared = await openKeyService({ ...c, node, log, listen: undefined });
  const backend = prepared.service.o.store.backend;
  await prepared.close();
  if (backend === 'sqlite') log.warn('workers-sqlite', { workers, hint: 'the workers share the SQLite file (WAL, busy timeout 5 s): one writes at a time; PostgreSQL scales further' });
  return runPrimary(c, workers, log);
}

async function runWorker(c: KeyServiceConfig, out: Writable): Promise<number> {
  const workers = Number(process.env[WORKERS]);
  const wc = workerConfig(c, workers, Number(process.env[WORKER]));
  // a worker's own log: its events but the readiness and stop events, which are the primary's
  const log = jsonLogger(out, wc.node!);
  const ks = await openKeyService({ ...wc, log });
  const r = ks.running;
  process.send!({ type: READY, http: r?.httpUrl, udp: udpAddress(c, r?.udpPort) } satisfies Ready);
  await Promise.race([signalled(), new Promise((resolve) => process.once('disconnect', resolve))]);
  await ks.close();
  if (process.connected) process.disconnect();
  return 0;
}

async function runPrimary(c: KeyServiceConfig, workers: number, log: Logger): Promise<number> {
  const slots = new Map<number, Worker>();
  let stopping = false;
  let first: ((e?: Error) => void) | undefined;
  let started = 0;
  let ready: Ready | undefined;
  const failures = new Map<number, number>();
  const fork = (slot: number) => {
    const w = cluster.fork({ [WORKER]: String(slot), [WORKERS]: String(workers) });
    slots.set(slot, w);
    let listening = false;
    w.on('message', (m: Ready) => {
      if (m?.type !== READY || listening) return;
      listening = true;
      failures.set(slot, 0);
      ready ??= m;
      if (first) {
        if (++started === workers) first();
      } else log.info('worker-restarted', { worker: slot, pid: w.process.pid });
    });
    w.once('exit', (code, signal) => {
      if (slots.get(slot) === w) slots.delete(slot);
      if (stopping) return;
      if (first) { first(new Error(`worker ${slot} exited (${signal ?? `code ${code}`}) before it listened`)); return; }
      log.error('worker-exited', { worker: slot, pid: w.process.pid, code, signal });
      // a worker that keeps failing at start is tried again less and less often (at most every 10 s)
      const n = listening ? 0 : (failures.get(slot) ?? 0) + 1;
      failures.set(slot, n);
      setTimeout(() => { if (!stopping) fork(slot); }, Math.min(10_000, n === 0 ? 0 : 100 * 2 ** n));
    });
  };
  const stopAll = async () => {
    stopping = true;
    const exits = [...slots.values()].map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) { resolve(); return; }
      w.once('exit', () => resolve());
      w.process.kill('SIGTERM');
      // a worker that does not stop in time is killed
      setTimeout(() => { if (!w.isDead()) w.process.kill('SIGKILL'); }, 10_000).unref();
    }));
    await Promise.all(exits);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      first = (e) => (e ? reject(e) : resolve());
      for (let s = 1; s <= workers; s++) fork(s);
    });
  } catch (e) {
    await stopAll();
    throw e;
  } finally {
    first = undefined;
  }
  log.info('listening', { http: ready?.http, udp: ready?.udp, workers, pids: [...slots.values()].map((w) => w.process.pid) });
  log.info('stopping', { signal: await signalled() });
  await stopAll();
  log.info('stopped');
  return 0;
}
