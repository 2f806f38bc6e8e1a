// The key-service bench's load generator, a child process of the bench (bench/kms-load.ts): real
// UDP clients against KMS processes. Each job names the ports, the number of clients and the
// datagrams to send; every client is its own socket with one request outstanding (a closed
// loop) and takes the next datagram from the job's list, so `clients` requests are in flight.
// A datagram not answered within `timeoutMs` is sent again (the KMS answers a retransmission
// with the answer it stored). The reply: the seconds from the first send to the last answer,
// and the latency of every request (first send to its answer).
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';

export interface LoadJob {
  ports: number[];
  clients: number;
  messages: Uint8Array[];
  timeoutMs?: number;
}

export interface LoadResult {
  sec: number;
  /** Milliseconds per request, in the order they were answered. */
  latencies: number[];
  retransmissions: number;
  failures: number;
}

const csbOf = (b: Uint8Array) => (b.length >= 8 ? new DataView(b.buffer, b.byteOffset + 4, 4).getUint32(0) : -1);

async function bind(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((ok) => s.bind(0, '127.0.0.1', ok));
  return s;
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const sockets = await Promise.all(Array.from({ length: job.clients }, bind));
  const latencies: number[] = [];
  let retransmissions = 0;
  let failures = 0;
  let next = 0;
  const timeoutMs = job.timeoutMs ?? 1000;
  const t0 = performance.now();
  const client = (s: Socket, port: number) => new Promise<void>((done) => {
    let waiting = -1;
    let sentAt = 0;
    let tries = 0;
    let timer: NodeJS.Timeout | undefined;
    let body: Uint8Array;
    const send = () => {
      if (tries++ > 5) { failures++; clearTimeout(timer); waiting = -1; take(); return; }
      if (tries > 1) retransmissions++;
      s.send(body, port, '127.0.0.1');
      timer = setTimeout(send, timeoutMs);
    };
    const take = () => {
      if (next >= job.messages.length) { done(); return; }
      body = job.messages[next++]!;
      waiting = csbOf(body);
      sentAt = performance.now();
      tries = 0;
      send();
    };
    s.on('message', (m) => {
      // a late copy of an earlier answer finds nothing waiting
      if (waiting < 0 || csbOf(m) !== waiting) return;
      clearTimeout(timer);
      waiting = -1;
      latencies.push(performance.now() - sentAt);
      take();
    });
    take();
  });
  await Promise.all(sockets.map((s, i) => client(s, job.ports[i % job.ports.length]!)));
  const sec = (performance.now() - t0) / 1000;
  for (const s of sockets) s.close();
  return { sec, latencies, retransmissions, failures };
}

if (process.send) {
  process.on('message', (job: LoadJob) => {
    runLoad({ ...job, messages: job.messages.map((m) => new Uint8Array(m)) }).then((r) => process.send!(r), (e: unknown) => process.send!({ error: String(e) }));
  });
  process.on('disconnect', () => process.exit(0));
}
