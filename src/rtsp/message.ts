// RTSP/1.0 messages on a stream (RFC 2326 §4, §6, §7, §10.12): a bounded incremental parser for
// requests, responses and interleaved binary frames ($), and the serializers. Every limit is
// checked before bytes are buffered or allocated, so a hostile peer gets a typed error, never
// an unbounded buffer.

/** Limits of one parser (defaults in RTSP_LIMITS). */
export interface RtspLimits {
  /** Bytes of the start line and headers together. */
  maxHeaderBytes: number;
  /** Number of header lines. */
  maxHeaders: number;
  /** Content-Length. */
  maxBody: number;
}

export const RTSP_LIMITS: RtspLimits = { maxHeaderBytes: 8192, maxHeaders: 64, maxBody: 65536 };

/** A malformed or oversized RTSP message; `status` is the response a server sends for it. */
export class RtspProtocolError extends Error {
  override readonly name = 'RtspProtocolError';
  constructor(readonly status: number, message: string, readonly where: 'request' | 'response' | 'stream' = 'stream') {
    super(message);
  }
}

export type RtspHeaders = Record<string, string>;

export interface RtspRequestMessage {
  kind: 'request';
  method: string;
  uri: string;
  /** Header names lower-cased; repeated headers joined with ", " (RFC 2616 §4.2). */
  headers: RtspHeaders;
  body: Buffer;
}

export interface RtspResponseMessage {
  kind: 'response';
  status: number;
  reason: string;
  headers: RtspHeaders;
  body: Buffer;
}

/** An interleaved frame (RFC 2326 §10.12): `$`, channel, 16-bit length, data. */
export interface RtspInterleaved {
  kind: 'interleaved';
  channel: number;
  data: Buffer;
}

export type RtspItem = RtspRequestMessage | RtspResponseMessage | RtspInterleaved;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Incremental parser: `push` bytes, get the complete items. After an error the stream is out of
 * step and the parser refuses further input.
 */
export class RtspParser {
  private buf: Buffer = Buffer.alloc(0);
  private broken?: RtspProtocolError;
  readonly limits: RtspLimits;

  constructor(limits: Partial<RtspLimits> = {}) {
    this.limits = { ...RTSP_LIMITS, ...limits };
  }

  /** Bytes held for an incomplete item (bounded by the limits). */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): RtspItem[] {
    if (this.broken) throw this.broken;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: RtspItem[] = [];
    try {
      for (;;) {
        const item = this.next();
        if (!item) break;
        out.push(item);
      }
    } catch (e) {
      this.broken = e as RtspProtocolError;
      this.buf = Buffer.alloc(0);
      throw e;
    }
    return out;
  }

  private next(): RtspItem | undefined {
    const b = this.buf;
    if (b.length === 0) return undefined;
    if (b[0] === 0x24) {
      if (b.length < 4) return undefined;
      const len = b.readUInt16BE(2);
      if (b.length < 4 + len) return undefined;
      const data = Buffer.from(b.subarray(4, 4 + len));
      this.buf = b.subarray(4 + len);
      return { kind: 'interleaved', channel: b[1]!, data };
    }
    const end = b.indexOf('\r\n\r\n');
    if (end < 0) {
      if (b.length > this.limits.maxHeaderBytes) throw new RtspProtocolError(431, `RTSP header section longer than ${this.limits.maxHeaderBytes} bytes`);
      return undefined;
    }
    if (end + 4 > this.limits.maxHeaderBytes) throw new RtspProtocolError(431, `RTSP header section of ${end + 4} bytes (limit ${this.limits.maxHeaderBytes})`);
    const lines = b.subarray(0, end).toString('latin1').split('\r\n');
    const start = lines[0]!;
    if (lines.length - 1 > this.limits.maxHeaders) throw new RtspProtocolError(431, `${lines.length - 1} RTSP header lines (limit ${this.limits.maxHeaders})`);
    const headers: RtspHeaders = {};
    for (const line of lines.slice(1)) {
      const c = line.indexOf(':');
      const name = c < 0 ? '' : line.slice(0, c).trim();
      if (!TOKEN.test(name)) throw new RtspProtocolError(400, `malformed RTSP header line "${printable(line)}"`);
      const k = name.toLowerCase();
      const v = line.slice(c + 1).trim();
      headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    const cl = headers['content-length'];
    let len = 0;
    if (cl !== undefined) {
      if (!/^\d{1,10}$/.test(cl)) throw new RtspProtocolError(400, `Content-Length "${printable(cl)}" is not a number`);
      len = Number(cl);
      if (len > this.limits.maxBody) throw new RtspProtocolError(413, `RTSP body of ${len} bytes (limit ${this.limits.maxBody})`);
    }
    if (b.length < end + 4 + len) return undefined;
    const body = Buffer.from(b.subarray(end + 4, end + 4 + len));
    this.buf = b.subarray(end + 4 + len);
    const resp = /^RTSP\/1\.0 (\d{3})(?: (.*))?$/.exec(start);
    if (resp) return { kind: 'response', status: Number(resp[1]), reason: resp[2] ?? '', headers, body };
    const req = /^([A-Z_]{1,32}) (\S{1,4096}) RTSP\/1\.0$/.exec(start);
    if (req) return { kind: 'request', method: req[1]!, uri: req[2]!, headers, body };
    throw new RtspProtocolError(400, `not an RTSP start line: "${printable(start)}"`);
  }
}

function printable(s: string): string {
  return s.slice(0, 60).replace(/[^\x20-\x7e]/g, '.');
}

function headerLines(headers: RtspHeaders, body: Buffer | string | undefined): string[] {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (!TOKEN.test(k)) throw new TypeError(`"${k}" is not a header name`);
    if (/[\r\n]/.test(v)) throw new TypeError(`header ${k} contains a line break`);
    if (k.toLowerCase() !== 'content-length') lines.push(`${k}: ${v}`);
  }
  const n = body === undefined ? 0 : Buffer.byteLength(body);
  if (n) lines.push(`Content-Length: ${n}`);
  return lines;
}

export function serializeRequest(method: string, uri: string, headers: RtspHeaders, body?: Buffer | string): Buffer {
  if (!/^[A-Z_]+$/.test(method) || /\s/.test(uri)) throw new TypeError(`bad request line ${method} ${uri}`);
  const head = [`${method} ${uri} RTSP/1.0`, ...headerLines(headers, body)].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body === undefined ? Buffer.alloc(0) : Buffer.from(body)]);
}

export function serializeResponse(status: number, reason: string, headers: RtspHeaders, body?: Buffer | string): Buffer {
  const head = [`RTSP/1.0 ${status} ${reason}`, ...headerLines(headers, body)].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body === undefined ? Buffer.alloc(0) : Buffer.from(body)]);
}

export function serializeInterleaved(channel: number, data: Uint8Array): Buffer {
  if (data.length > 0xffff) throw new RangeError(`interleaved frame of ${data.length} bytes`);
  const h = Buffer.alloc(4);
  h[0] = 0x24;
  h[1] = channel;
  h.writeUInt16BE(data.length, 2);
  return Buffer.concat([h, data]);
}

export const REASONS: Record<number, string> = {
  200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  413: 'Request Entity Too Large', 431: 'Request Header Fields Too Large', 451: 'Parameter Not Understood',
  454: 'Session Not Found', 455: 'Method Not Valid in This State', 459: 'Aggregate Operation Not Allowed',
  461: 'Unsupported Transport', 463: 'Key management failure', 500: 'Internal Server Error', 501: 'Not Implemented',
};

/** Transport header fields (RFC 2326 §12.39) as far as this client and server use them. */
export interface TransportSpec {
  profile: string;
  unicast: boolean;
  clientPort?: [number, number];
  serverPort?: [number, number];
  interleaved?: [number, number];
  ssrc?: number;
  destination?: string;
  port?: [number, number];
  ttl?: number;
}

function pair(v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(v);
  if (!m) throw new RtspProtocolError(461, `bad port range "${printable(v)}" in Transport`);
  const a = Number(m[1]);
  return [a, m[2] === undefined ? a + 1 : Number(m[2])];
}

/** The first transport of a Transport header. */
export function parseTransport(value: string): TransportSpec {
  const parts = value.split(',')[0]!.split(';').map((s) => s.trim());
  const p: Record<string, string | undefined> = {};
  let unicast = true;
  for (const x of parts.slice(1)) {
    const eq = x.indexOf('=');
    const k = (eq < 0 ? x : x.slice(0, eq)).toLowerCase();
    if (k === 'multicast') unicast = false;
    p[k] = eq < 0 ? '' : x.slice(eq + 1);
  }
  const ssrc = p['ssrc'];
  if (ssrc !== undefined && !/^[0-9A-Fa-f]{1,8}$/.test(ssrc)) throw new RtspProtocolError(461, `bad SSRC "${printable(ssrc)}" in Transport`);
  const ttl = p['ttl'];
  return {
    profile: parts[0]!, unicast, clientPort: pair(p['client_port']), serverPort: pair(p['server_port']),
    interleaved: pair(p['interleaved']), ssrc: ssrc === undefined ? undefined : parseInt(ssrc, 16) >>> 0,
    destination: p['destination'], port: pair(p['port']), ttl: ttl === undefined ? undefined : Number(ttl),
  };
}

export function formatTransport(t: TransportSpec): string {
  const out = [t.profile, t.unicast ? 'unicast' : 'multicast'];
  if (t.destination) out.push(`destination=${t.destination}`);
  if (t.port) out.push(`port=${t.port[0]}-${t.port[1]}`);
  if (t.ttl !== undefined) out.push(`ttl=${t.ttl}`);
  if (t.clientPort) out.push(`client_port=${t.clientPort[0]}-${t.clientPort[1]}`);
  if (t.serverPort) out.push(`server_port=${t.serverPort[0]}-${t.serverPort[1]}`);
  if (t.interleaved) out.push(`interleaved=${t.interleaved[0]}-${t.interleaved[1]}`);
  if (t.ssrc !== undefined) out.push(`ssrc=${(t.ssrc >>> 0).toString(16).toUpperCase().padStart(8, '0')}`);
  return out.join(';');
}
