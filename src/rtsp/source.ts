// RTP sources an RtspServer serves: a test pattern it generates, RTP read from a UDP port that
// GStreamer or FFmpeg feeds, or RTP replayed from a capture with its original timing.
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readCapture } from './pcap.js';

/** What the SDP says of the stream. */
export interface RtpSourceInfo {
  media: 'audio' | 'video';
  payloadType: number;
  /** rtpmap encoding, e.g. PCMU/8000 or H264/90000. */
  rtpmap: string;
  fmtp?: string;
}

export type RtpListener = (packet: Uint8Array) => void;

export interface RtpSource {
  readonly info: RtpSourceInfo;
  /** Receive every RTP packet from now on; returns the unsubscribe function. */
  subscribe(fn: RtpListener): () => void;
  close(): Promise<void>;
}

abstract class BaseSource implements RtpSource {
  protected readonly listeners = new Set<RtpListener>();
  abstract readonly info: RtpSourceInfo;
  subscribe(fn: RtpListener): () => void {
    this.listeners.add(fn);
    this.changed();
    return () => {
      this.listeners.delete(fn);
      this.changed();
    };
  }
  protected emit(p: Uint8Array): void {
    for (const l of [...this.listeners]) l(p);
  }
  protected changed(): void {}
  abstract close(): Promise<void>;
}

/** The payload of test-pattern packet n: deterministic bytes a receiver can check. */
export function testPatternPayload(n: number, size = 160): Uint8Array {
  const out = new Uint8Array(size);
  let block = createHash('sha256').update(`mikey test pattern ${n}`).digest();
  for (let i = 0; i < size; i++) {
    if (i % 32 === 0 && i) block = createHash('sha256').update(block).digest();
    out[i] = block[i % 32]!;
  }
  return out;
}

/** PCMU-sized packets of a known pattern (payload n = testPatternPayload(n)), every `intervalMs`. */
export class TestPatternSource extends BaseSource {
  readonly info: RtpSourceInfo = { media: 'audio', payloadType: 0, rtpmap: 'PCMU/8000' };
  private timer?: NodeJS.Timeout;
  private n = 0;
  private readonly ssrc = 0x74657374;

  constructor(private readonly opts: { intervalMs?: number; payloadSize?: number } = {}) {
    super();
  }

  /** Packets generated so far. */
  get count(): number {
    return this.n;
  }

  protected override changed(): void {
    if (this.listeners.size && !this.timer) {
      this.timer = setInterval(() => this.tick(), this.opts.intervalMs ?? 20);
    } else if (!this.listeners.size && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private tick(): void {
    const size = this.opts.payloadSize ?? 160;
    const p = new Uint8Array(12 + size);
    const v = new DataView(p.buffer);
    p[0] = 0x80;
    p[1] = this.info.payloadType;
    v.setUint16(2, this.n & 0xffff);
    v.setUint32(4, (this.n * size) >>> 0);
    v.setUint32(8, this.ssrc);
    p.set(testPatternPayload(this.n, size), 12);
    this.n++;
    this.emit(p);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }
}

/** RTP arriving on a UDP port (e.g. `... ! rtppcmupay ! udpsink port=N`). */
export class UdpRtpSource extends BaseSource {
  private constructor(readonly info: RtpSourceInfo, private readonly sock: Socket) {
    super();
    sock.on('message', (m) => {
      if (m.length >= 12 && m[0]! >> 6 === 2) this.emit(new Uint8Array(m));
    });
  }

  static async open(info: RtpSourceInfo, port: number, host = '127.0.0.1'): Promise<UdpRtpSource> {
    const sock = createSocket('udp4');
    await new Promise<void>((ok, bad) => {
      sock.once('error', bad);
      sock.bind(port, host, () => { sock.off('error', bad); ok(); });
    });
    sock.on('error', () => undefined);
    return new UdpRtpSource(info, sock);
  }

  get port(): number {
    return this.sock.address().port;
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await new Promise<void>((r) => this.sock.close(() => r()));
  }
}

/** RTP packets of one UDP stream of a capture, replayed with the capture's timing (looping). */
export class PcapRtpSource extends BaseSource {
  private timer?: NodeJS.Timeout;
  private i = 0;
  private readonly packets: Array<{ time: number; data: Uint8Array }>;

  constructor(readonly info: RtpSourceInfo, file: string | Uint8Array, opts: { dstPort?: number; loop?: boolean } = {}) {
    super();
    const bytes = typeof file === 'string' ? new Uint8Array(readFileSync(file)) : file;
    const udp = readCapture(bytes).filter((p) => p.proto === 'udp' && p.payload.length >= 12 && p.payload[0]! >> 6 === 2 && (p.payload[1]! & 0x7f) < 72);
    const port = opts.dstPort ?? udp[0]?.dstPort;
    this.packets = udp.filter((p) => p.dstPort === port).map((p) => ({ time: p.time, data: new Uint8Array(p.payload) }));
    if (!this.packets.length) throw new RangeError('no RTP packets in the capture');
    this.loop = opts.loop ?? true;
  }

  private readonly loop: boolean;

  protected override changed(): void {
    if (this.listeners.size && !this.timer) this.schedule(0);
    else if (!this.listeners.size && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      const cur = this.packets[this.i]!;
      this.emit(cur.data);
      this.i++;
      if (this.i >= this.packets.length) {
        if (!this.loop) { this.timer = undefined; return; }
        this.i = 0;
      }
      const next = this.packets[this.i]!;
      this.schedule(this.i === 0 ? 20 : Math.max(0, Math.min(1000, (next.time - cur.time) * 1000)));
    }, ms);
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }
}
