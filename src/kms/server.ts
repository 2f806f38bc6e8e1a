// The KMS on the network: HTTP POST of application/mikey (RFC 3830 §10.1), over TLS when given a
// certificate, with GET /health; and UDP on port 2269 (RFC 3830 §10.1), one datagram each way.
// Clients for both, with retransmission of the very same bytes.
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { createSocket, type Socket } from 'node:dgram';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Socket as Socket4 } from 'node:net';
import { MIKEY_MEDIA_TYPE, MIKEY_PORT } from '../wire/registry.js';
import type { KmsService } from './service.js';

export interface ServeOptions {
  /** `statusToken`: GET /health with `Authorization: Bearer <token>` gives the details; without, liveness only. */
  http?: { port: number; host?: string; tls?: { cert: string; key: string }; statusToken?: string } & HttpLimits;
  udp?: { port?: number; host?: string };
}

/** What one HTTP client may hold: silent, slow or half-sent connections are dropped, and counted. */
export interface HttpLimits {
  /** All request headers within this long of the connection (or of the previous request), ms (default 5000). */
  headersTimeoutMs?: number;
  /** The whole request within this long, ms (default 10,000). */
  requestTimeoutMs?: number;
  /** An idle kept-alive connection is closed after this long, ms (default 5000). */
  keepAliveTimeoutMs?: number;
  /** Requests per kept-alive connection (default 100). */
  maxRequestsPerSocket?: number;
  /** Open connections in all (default 512; keep it below the process's descriptor limit). */
  maxConnections?: number;
  /** Open connections per client address (default 64). */
  maxConnectionsPerAddress?: number;
}

export const HTTP_LIMITS: Required<HttpLimits> = {
  headersTimeoutMs: 5000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 5000, maxRequestsPerSocket: 100, maxConnections: 512, maxConnectionsPerAddress: 64,
};

/** TLS: ECDHE key exchange with AEAD ciphers only; TLS 1.3 first (its suites are all AEAD with (EC)DHE). */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** A running service: the HTTP port and URL when `http` was asked for, the UDP port when `udp` was. */
export type RunningKms<O extends ServeOptions = ServeOptions> = RunningKmsControl
  & (O extends { http: object } ? { httpPort: number; httpUrl: string } : { httpPort?: number; httpUrl?: string })
  & (O extends { udp: object } ? { udpPort: number } : { udpPort?: number });

interface RunningKmsControl {
  /** HTTP connections open now. */
  connections(): Promise<number>;
  close(): Promise<void>;
}

function peerOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/** Read the body up to `limit` bytes; undefined when it is longer (the connection is then closed). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) { resolve(undefined); return; }
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > limit) { resolve(undefined); req.destroy(); return; }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** Does the request carry the status token? (Both sides hashed first: a constant-time compare of equal lengths.) */
function hasToken(req: IncomingMessage, token: string | undefined): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!token || !m) return false;
  const h = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(m[1]!), h(token));
}

async function onHttp(service: KmsService, req: IncomingMessage, res: ServerResponse, limit: number, tls: boolean, statusToken?: string): Promise<void> {
  const send = (status: number, type: string, body: Uint8Array | string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body as string), 'cache-control': 'no-store', ...extra });
    res.end(body);
  };
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n', { allow: 'GET' });
    // unauthenticated callers learn liveness only: no node name, counts or uptime
    const details = hasToken(req, statusToken);
    try {
      return send(200, 'application/json', `${JSON.stringify(details ? await service.health() : await service.alive())}\n`);
    } catch (e) {
      return send(503, 'application/json', `${JSON.stringify(details ? { status: 'unavailable', reason: String(e) } : { status: 'unavailable' })}\n`);
    }
  }
  // the 3GPP KMS interface (TS 33.180 D.1: over HTTPS only)
  const mcx = service.identity?.mcxHandler;
  if (mcx && tls && path?.startsWith('/keymanagement/')) return mcx(req, res);
  const ibe = service.o.identityKeys?.ibe;
  if (ibe && path === '/ibake/params') {
    // the public parameters per generation and the key periods: what users need to validate keys
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n', { allow: 'GET' });
    return send(200, 'application/json', `${JSON.stringify(ibe.publicInfo())}\n`);
  }
  if (path !== '/' && path !== '/mikey') return send(404, 'text/plain', 'not found\n');
  if (req.method !== 'POST') return send(405, 'text/plain', 'method not allowed\n', { allow: 'POST' });
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== MIKEY_MEDIA_TYPE) return send(415, 'text/plain', `content type must be ${MIKEY_MEDIA_TYPE}\n`);
  const body = await readBody(req, limit);
  if (!body) {
    res.setHeader('connection', 'close');
    return send(413, 'text/plain', 'request too large\n');
  }
  const r = await service.handle(new Uint8Array(body.buffer, body.byteOffset, body.length), peerOf(req));
  if (r.kind === 'drop') {
    if (r.reason === 'rate-limited') return send(429, 'text/plain', 'too many requests\n', { 'retry-after': '1' });
    if (r.reason === 'too-large') return send(413, 'text/plain', 'request too large\n');
    return send(503, 'text/plain', 'unavailable\n', { 'retry-after': '1' });
  }
  // a MIKEY Error message goes with 400; the body says which error
  return send(r.errorNo === undefined ? 200 : 400, MIKEY_MEDIA_TYPE, r.response);
}

const definedOf = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Start the listeners. Ports 0 pick free ones; the UDP default is 2269. */
export async function serveKms<O extends ServeOptions>(service: KmsService, o: O, maxRequestBytes = 8192): Promise<RunningKms<O>> {
  let server: Server | undefined;
  let socket: Socket | undefined;
  const out: RunningKmsControl & { httpPort?: number; httpUrl?: string; udpPort?: number } = {
    close: async () => undefined,
    connections: () => new Promise((resolve, reject) => (server ? server.getConnections((e, n) => (e ? reject(e) : resolve(n))) : resolve(0))),
  };
  if (o.http) {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      onHttp(service, req, res, maxRequestBytes, !!o.http?.tls, o.http?.statusToken).catch(() => {
        if (!res.headersSent) { res.writeHead(500); res.end(); } else res.destroy();
      });
    };
    const lim = { ...HTTP_LIMITS, ...definedOf(o.http) };
    // the headers/request timeouts are checked every `connectionsCheckingInterval` (Node's default 30 s is too coarse)
    const common = {
      headersTimeout: lim.headersTimeoutMs, requestTimeout: Math.max(lim.requestTimeoutMs, lim.headersTimeoutMs), keepAliveTimeout: lim.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(lim.headersTimeoutMs / 4))),
    };
    server = o.http.tls
      ? createHttpsServer({
        ...common, cert: o.http.tls.cert, key: o.http.tls.key, minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS, honorCipherOrder: true,
        // a TLS handshake that does not finish in time is dropped like silent HTTP
        handshakeTimeout: lim.headersTimeoutMs,
      }, handler)
      : createHttpServer(common, handler);
    server.maxRequestsPerSocket = lim.maxRequestsPerSocket;
    server.maxConnections = lim.maxConnections;
    // a connection silent this long is closed, also one that never sent a byte (the headers timeout starts with the first)
    server.timeout = lim.headersTimeoutMs;
    const perAddress = new Map<string, number>();
    server.on('connection', (sock: Socket4) => {
      const a = sock.remoteAddress ?? '';
      const n = (perAddress.get(a) ?? 0) + 1;
      if (n > lim.maxConnectionsPerAddress) { sock.destroy(); return; }
      perAddress.set(a, n);
      sock.once('close', () => { const m = (perAddress.get(a) ?? 1) - 1; if (m > 0) perAddress.set(a, m); else perAddress.delete(a); });
    });
    await new Promise<void>((ok, fail) => { server!.once('error', fail); server!.listen(o.http!.port, o.http!.host ?? '127.0.0.1', () => ok()); });
    out.httpPort = (server.address() as AddressInfo).port;
    out.httpUrl = `${o.http.tls ? 'https' : 'http'}://${o.http.host ?? '127.0.0.1'}:${out.httpPort}/`;
  }
  if (o.udp) {
    socket = createSocket('udp4');
    socket.on('message', (msg, rinfo) => {
      service.handle(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), rinfo.address, { datagram: true }).then((r) => {
        if (r.kind === 'answer') socket!.send(r.response, rinfo.port, rinfo.address);
      }, () => undefined);
    });
    await new Promise<void>((ok, fail) => { socket!.once('error', fail); socket!.bind(o.udp!.port ?? MIKEY_PORT, o.udp!.host ?? '127.0.0.1', () => ok()); });
    out.udpPort = socket.address().port;
  }
  out.close = async () => {
    if (socket) await new Promise<void>((ok) => socket!.close(() => ok()));
    if (server) {
      server.closeAllConnections?.();
      await new Promise<void>((ok) => server!.close(() => ok()));
    }
  };
  // the ports and URL asked for in `o` are set above
  return out as RunningKms<O>;
}

// ---- clients ----------------------------------------------------------------------------

export type Transport = (request: Uint8Array) => Promise<Uint8Array>;

/** POST the request as application/mikey; the answer (a MIKEY message, Error messages included). */
export function httpTransport(url: string, o: { ca?: string; timeoutMs?: number; retries?: number } = {}): Transport {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  const once = (body: Uint8Array) => new Promise<Uint8Array>((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)(u, {
      method: 'POST', headers: { 'content-type': MIKEY_MEDIA_TYPE, 'content-length': body.length }, ca: o.ca, timeout: o.timeoutMs ?? 5000, agent: false,
    }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const b = Buffer.concat(parts);
        if (res.headers['content-type'] === MIKEY_MEDIA_TYPE) resolve(new Uint8Array(b.buffer, b.byteOffset, b.length));
        else reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${b.toString().trim()}`), { status: res.statusCode }));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
  return async (body) => {
    let last: unknown;
    for (let i = 0; i <= (o.retries ?? 0); i++) {
      try {
        return await once(body);
      } catch (e) {
        last = e;
        const status = (e as { status?: number }).status;
        if (status !== undefined && status !== 503 && status !== 429) throw e;
        await new Promise((r) => setTimeout(r, 50 * (i + 1)));
      }
    }
    throw last;
  };
}

/**
 * Send the datagram and wait for the answer, sending the very same bytes again after each
 * `timeoutMs` (the KMS answers a retransmission with the answer it stored). Answers are matched
 * to requests by CSB ID (a response and an Error message carry the request's, §4.2.1.5, §5.4);
 * a second copy of an answer finds no request waiting and is dropped.
 */
export function udpTransport(port: number, host = '127.0.0.1', o: { timeoutMs?: number; retries?: number } = {}): Transport & { close(): void; duplicates: number } {
  const socket = createSocket('udp4');
  socket.unref();
  const waiting = new Map<number, (b: Uint8Array) => void>();
  const csb = (b: Uint8Array) => (b.length >= 8 ? new DataView(b.buffer, b.byteOffset + 4, 4).getUint32(0) : -1);
  const t = ((body: Uint8Array) => new Promise<Uint8Array>((resolve, reject) => {
    const id = csb(body);
    if (waiting.has(id)) { reject(new Error('a request with this CSB ID is outstanding')); return; }
    let tries = 0;
    let timer: NodeJS.Timeout;
    waiting.set(id, (b) => { clearTimeout(timer); waiting.delete(id); resolve(b); });
    const attempt = () => {
      if (tries++ > (o.retries ?? 3)) {
        waiting.delete(id);
        reject(new Error('no answer from the KMS'));
        return;
      }
      socket.send(body, port, host);
      timer = setTimeout(attempt, o.timeoutMs ?? 500);
    };
    attempt();
  })) as Transport & { close(): void; duplicates: number };
  t.duplicates = 0;
  socket.on('message', (m) => {
    const b = new Uint8Array(m.buffer, m.byteOffset, m.length);
    const w = waiting.get(csb(b));
    if (w) w(b); else t.duplicates++;
  });
  t.close = () => socket.close();
  return t;
}
