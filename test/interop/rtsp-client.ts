// A small RTSP client over node:net for the live tests (RFC 2326): one request at a time, with
// a timeout on every answer; UDP sockets for RTP/RTCP on consecutive ports.
import { connect, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { buildRtspRequest, parseRtspResponse, type RtspRequest, type RtspResponse } from '../../src/sdp/rtsp.js';

export class RtspClient {
  private buf = Buffer.alloc(0);
  private waiting?: { resolve: (r: RtspResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };
  private cseq = 0;
  session?: string;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.drain();
    });
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => this.fail(new Error('RTSP connection closed')));
  }

  static open(host: string, port: number, timeoutMs = 3000): Promise<RtspClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host);
      const t = setTimeout(() => { s.destroy(); reject(new Error('RTSP connect timeout')); }, timeoutMs);
      s.once('connect', () => { clearTimeout(t); resolve(new RtspClient(s)); });
      s.once('error', (e) => { clearTimeout(t); reject(e); });
    });
  }

  private fail(e: Error): void {
    const w = this.waiting;
    if (!w) return;
    this.waiting = undefined;
    clearTimeout(w.timer);
    w.reject(e);
  }

  private drain(): void {
    if (!this.waiting) return;
    const got = parseRtspResponse(this.buf);
    if (!got) return;
    this.buf = this.buf.subarray(got.used);
    const w = this.waiting;
    this.waiting = undefined;
    clearTimeout(w.timer);
    w.resolve(got.response);
  }

  /** Send a request (CSeq and Session filled in) and wait for its response. */
  request(method: string, uri: string, headers: Record<string, string> = {}, body?: string, timeoutMs = 5000): Promise<RtspResponse> {
    return this.send({ method, uri, headers, body }, timeoutMs);
  }

  send(r: RtspRequest, timeoutMs = 5000): Promise<RtspResponse> {
    if (this.waiting) throw new Error('one request at a time');
    const headers: Record<string, string> = { CSeq: String(++this.cseq), 'User-Agent': 'mikey-test', ...r.headers };
    if (this.session && !headers['Session']) headers['Session'] = this.session;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no answer to ${r.method} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting = {
        resolve: (res) => {
          const s = res.headers['session'];
          if (s) this.session = s.split(';')[0]!.trim();
          resolve(res);
        },
        reject, timer,
      };
      this.sock.write(buildRtspRequest({ ...r, headers }));
      this.drain();
    });
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Two UDP sockets on 127.0.0.1 with consecutive ports, the first even (RFC 3550 §11). */
export async function udpPair(): Promise<{ rtp: UdpSocket; rtcp: UdpSocket; port: number }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const rtp = createSocket('udp4');
    await new Promise<void>((ok, bad) => { rtp.once('error', bad); rtp.bind(0, '127.0.0.1', () => ok()); });
    const port = rtp.address().port;
    if (port % 2 !== 0) { rtp.close(); continue; }
    const rtcp = createSocket('udp4');
    const ok = await new Promise<boolean>((res) => { rtcp.once('error', () => res(false)); rtcp.bind(port + 1, '127.0.0.1', () => res(true)); });
    if (ok) return { rtp, rtcp, port };
    rtp.close();
    try { rtcp.close(); } catch { /* not bound */ }
  }
  throw new Error('no pair of consecutive UDP ports');
}
