// A capture of a client-server session, as a sniffer between them would write it: the RTSP
// connection through a recording TCP proxy (Ethernet/IPv4/TCP frames with real sequence
// numbers), the SRTP/SRTCP as the client received it (Ethernet/IPv4/UDP frames).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { writePcap } from '../../src/rtsp/pcap.js';
import { RtspServer, type RtspServerOptions } from '../../src/rtsp/server.js';
import { RtspClient, type RtspClientOptions, type ClientStream } from '../../src/rtsp/client.js';
import { TestPatternSource, testPatternPayload } from '../../src/rtsp/source.js';
import { until } from './helpers.js';

export const CLIENT_IP = '192.0.2.1';
export const SERVER_IP = '192.0.2.2';

function ip4(s: string): number[] {
  return s.split('.').map(Number);
}

function checksum(b: Uint8Array, acc = 0): number {
  let s = acc;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (b.length % 2) s += b[b.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** An Ethernet/IPv4 frame around a UDP or TCP segment, checksums right. */
export function ipv4Frame(o: { src: string; dst: string; proto: 6 | 17; l4: Uint8Array }): Uint8Array {
  const f = Buffer.alloc(14 + 20 + o.l4.length);
  f[5] = 1;
  f[11] = 2;
  f.writeUInt16BE(0x0800, 12);
  const ip = f.subarray(14, 34);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + o.l4.length, 2);
  ip.writeUInt16BE(0x4000, 6);
  ip[8] = 64;
  ip[9] = o.proto;
  ip.set(ip4(o.src), 12);
  ip.set(ip4(o.dst), 16);
  ip.writeUInt16BE(checksum(ip), 10);
  const l4 = Buffer.from(o.l4);
  const pseudo = Buffer.concat([Buffer.from([...ip4(o.src), ...ip4(o.dst), 0, o.proto]), Buffer.from([l4.length >> 8, l4.length & 0xff])]);
  const at = o.proto === 17 ? 6 : 16;
  l4.writeUInt16BE(0, at);
  l4.writeUInt16BE(checksum(Buffer.concat([pseudo, l4])) || 0xffff, at);
  f.set(l4, 34);
  return f;
}

export function udpSegment(sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const u = Buffer.alloc(8 + payload.length);
  u.writeUInt16BE(sport, 0);
  u.writeUInt16BE(dport, 2);
  u.writeUInt16BE(8 + payload.length, 4);
  u.set(payload, 8);
  return u;
}

export function tcpSegment(sport: number, dport: number, seq: number, ack: number, flags: number, payload: Uint8Array): Uint8Array {
  const t = Buffer.alloc(20 + payload.length);
  t.writeUInt16BE(sport, 0);
  t.writeUInt16BE(dport, 2);
  t.writeUInt32BE(seq >>> 0, 4);
  t.writeUInt32BE(ack >>> 0, 8);
  t[12] = 5 << 4;
  t[13] = flags;
  t.writeUInt16BE(65535, 14);
  t.set(payload, 20);
  return t;
}

/** Frames in arrival order, written as a classic Ethernet pcap. */
export class Recorder {
  readonly frames: Array<{ time: number; data: Uint8Array }> = [];
  private readonly seq = new Map<string, number>();
  private readonly t0: number;
  private n = 0;

  /** `clock`: seconds (default the system's). */
  constructor(private readonly clock: () => number = () => Date.now() / 1000) {
    this.t0 = clock();
  }

  /** A monotonic time (the capture's clock), 1 µs apart at least. */
  private now(): number {
    return Math.max(this.clock(), this.t0 + ++this.n * 1e-6);
  }

  udp(src: string, sport: number, dst: string, dport: number, payload: Uint8Array): void {
    this.frames.push({ time: this.now(), data: ipv4Frame({ src, dst, proto: 17, l4: udpSegment(sport, dport, payload) }) });
  }

  /** Bytes on a TCP connection, in segments of at most `mss` (SYN implied: sequence numbers start at 1000). */
  tcp(src: string, sport: number, dst: string, dport: number, bytes: Uint8Array, mss = 1400): void {
    const k = `${src}:${sport}>${dst}:${dport}`;
    const back = `${dst}:${dport}>${src}:${sport}`;
    for (let o = 0; o < bytes.length; o += mss) {
      const seq = this.seq.get(k) ?? 1000;
      const chunk = bytes.subarray(o, o + mss);
      this.frames.push({ time: this.now(), data: ipv4Frame({ src, dst, proto: 6, l4: tcpSegment(sport, dport, seq, this.seq.get(back) ?? 1000, 0x18, chunk) }) });
      this.seq.set(k, (seq + chunk.length) >>> 0);
    }
  }

  pcap(): Buffer {
    return writePcap(1, this.frames);
  }
}

/** A TCP proxy that records both directions of every connection. */
export async function recordingProxy(target: number, rec: Recorder): Promise<{ port: number; close(): Promise<void> }> {
  const socks = new Set<Socket>();
  const server: Server = createServer((c) => {
    const s = connect(target, '127.0.0.1');
    socks.add(c);
    socks.add(s);
    const cport = c.remotePort!;
    c.on('data', (d) => { rec.tcp(CLIENT_IP, cport, SERVER_IP, 554, d); s.write(d); });
    s.on('data', (d) => { rec.tcp(SERVER_IP, 554, CLIENT_IP, cport, d); c.write(d); });
    const end = () => { c.destroy(); s.destroy(); };
    c.on('close', end);
    s.on('close', end);
    c.on('error', end);
    s.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  return {
    port: typeof a === 'object' && a ? a.port : 0,
    close: () => new Promise<void>((r) => { for (const s of socks) s.destroy(); server.close(() => r()); }),
  };
}

export interface RecordedSession {
  pcap: Buffer;
  /** Payloads the client decrypted, by RTP timestamp / 160 (the test-pattern index). */
  received: number;
  stream: ClientStream;
}

/** One recorded session: DESCRIBE, SETUP, PLAY, `packets` packets, an optional re-key, TEARDOWN. */
export async function recordSession(serverOpts: Partial<RtspServerOptions>, clientOpts: RtspClientOptions, o: { packets?: number; rekeyAfter?: number; getKey?: boolean } = {}): Promise<RecordedSession> {
  const rec = new Recorder();
  const source = new TestPatternSource({ intervalMs: 2 });
  const server = new RtspServer({ source, seqStart: 65500, rtcpEvery: 10, ...serverOpts });
  await server.listen();
  const proxy = await recordingProxy(server.port, rec);
  let received = 0;
  const media = (st: ClientStream, raw: Uint8Array, rtcp: boolean) => {
    if (st.transport.interleaved) return; // on the recorded TCP connection already
    const sp = st.transport.serverPort!;
    const cp = st.transport.clientPort!;
    rec.udp(SERVER_IP, sp[rtcp ? 1 : 0], CLIENT_IP, cp[rtcp ? 1 : 0], raw);
  };
  const client = new RtspClient(`rtsp://127.0.0.1:${proxy.port}/stream`, {
    rtcpEvery: 10, ...clientOpts,
    onRtp: (st, p, raw) => {
      const ts = new DataView(p.buffer, p.byteOffset).getUint32(4);
      if (Buffer.compare(p.subarray(12), testPatternPayload(ts / 160)) !== 0) throw new Error('the client decrypted a payload that is not the pattern');
      received++;
      media(st, raw, false);
    },
    onRtcp: (st, _p, raw) => media(st, raw, true),
  });
  try {
    await client.connect();
    await client.describe();
    const st = await client.setup(0);
    await client.play();
    const stats = st.receiver.stats;
    if (o.rekeyAfter) {
      await until(() => stats.rtp.authenticated >= o.rekeyAfter!, 8000, `${o.rekeyAfter} packets`);
      await client.rekey(0);
    }
    if (o.getKey) {
      await until(() => stats.rtp.authenticated >= 10, 8000, '10 packets');
      await client.currentKey(0);
    }
    await until(() => stats.rtp.authenticated >= (o.packets ?? 60), 8000, `${o.packets ?? 60} packets`);
    await client.teardown();
    return { pcap: rec.pcap(), received, stream: st };
  } finally {
    client.close();
    await proxy.close();
    await server.close();
    await source.close();
  }
}
