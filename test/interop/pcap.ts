// Classic libpcap writer: each payload becomes one Ethernet/IPv4/UDP frame, 127.0.0.1 -> 127.0.0.1.
// Used to feed raw MIKEY bytes to tshark; independent of the wire codec.

export const LINKTYPE_ETHERNET = 1;
/** Offset of the UDP payload inside each frame: Ethernet (14) + IPv4 (20) + UDP (8). */
export const UDP_PAYLOAD_OFFSET = 14 + 20 + 8;
/** Largest payload that fits an IPv4 datagram (total length is 16 bits). */
export const MAX_UDP_PAYLOAD = 0xffff - 20 - 8;

export interface PcapOptions {
  /** UDP destination port (default 2269, the MIKEY port). */
  dstPort?: number;
  /** UDP source port (default 40000). */
  srcPort?: number;
  /** Timestamp of the first frame, seconds since the epoch (default 1700000000). */
  startSec?: number;
}

function ipv4Checksum(hdr: Buffer): number {
  let sum = 0;
  for (let i = 0; i < hdr.length; i += 2) sum += hdr.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function frame(payload: Uint8Array, srcPort: number, dstPort: number, id: number): Buffer {
  const f = Buffer.alloc(UDP_PAYLOAD_OFFSET + payload.length);
  // Ethernet: dst 00:00:00:00:00:02, src 00:00:00:00:00:01, type IPv4
  f[5] = 2;
  f[11] = 1;
  f.writeUInt16BE(0x0800, 12);
  // IPv4
  const ip = f.subarray(14, 34);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip.writeUInt16BE(id & 0xffff, 4);
  ip.writeUInt16BE(0x4000, 6); // DF
  ip[8] = 64; // TTL
  ip[9] = 17; // UDP
  ip.writeUInt32BE(0x7f000001, 12);
  ip.writeUInt32BE(0x7f000001, 16);
  ip.writeUInt16BE(ipv4Checksum(ip), 10);
  // UDP (checksum 0 = none)
  f.writeUInt16BE(srcPort, 34);
  f.writeUInt16BE(dstPort, 36);
  f.writeUInt16BE(8 + payload.length, 38);
  f.set(payload, UDP_PAYLOAD_OFFSET);
  return f;
}

/** A pcap file with one frame per payload; frame i is stamped startSec + i ms. */
export function writePcap(payloads: Uint8Array[], opts: PcapOptions = {}): Buffer {
  const dstPort = opts.dstPort ?? 2269;
  const srcPort = opts.srcPort ?? 40000;
  const startSec = opts.startSec ?? 1_700_000_000;
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0); // microsecond resolution, little-endian
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeInt32LE(0, 8); // thiszone
  gh.writeUInt32LE(0, 12); // sigfigs
  gh.writeUInt32LE(0xffff + 14, 16); // snaplen
  gh.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  parts.push(gh);
  payloads.forEach((p, i) => {
    if (p.length > MAX_UDP_PAYLOAD) throw new RangeError(`payload ${i} too long for one UDP datagram (${p.length} bytes)`);
    const f = frame(p, srcPort, dstPort, i + 1);
    const rh = Buffer.alloc(16);
    const usec = i * 1000;
    rh.writeUInt32LE(startSec + Math.floor(usec / 1e6), 0);
    rh.writeUInt32LE(usec % 1e6, 4);
    rh.writeUInt32LE(f.length, 8);
    rh.writeUInt32LE(f.length, 12);
    parts.push(rh, f);
  });
  return Buffer.concat(parts);
}

// ---- captures with mixed transports (UDP or TCP, IPv4 or IPv6) in pcap or pcapng ----

export interface CaptureFrame {
  payload: Uint8Array;
  /** Transport (default udp). */
  proto?: 'udp' | 'tcp';
  srcPort?: number;
  dstPort?: number;
  /** TCP sequence number of the first payload byte (default 1000). */
  seq?: number;
  ipv6?: boolean;
}

function ipv6Header(payloadLen: number, next: number): Buffer {
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x60000000, 0);
  ip.writeUInt16BE(payloadLen, 4);
  ip[6] = next;
  ip[7] = 64;
  ip[23] = 1; // ::1
  ip[39] = 1;
  return ip;
}

/** One Ethernet frame: IPv4 or IPv6, then UDP or TCP (checksums left 0: not checked by readers). */
export function captureFrame(f: CaptureFrame, id: number): Buffer {
  const tcp = f.proto === 'tcp';
  const l4 = Buffer.alloc((tcp ? 20 : 8) + f.payload.length);
  l4.writeUInt16BE(f.srcPort ?? 40000, 0);
  l4.writeUInt16BE(f.dstPort ?? 2269, 2);
  if (tcp) {
    l4.writeUInt32BE((f.seq ?? 1000) >>> 0, 4);
    l4.writeUInt32BE(1, 8); // ack
    l4[12] = 5 << 4;
    l4[13] = 0x18; // PSH, ACK
    l4.writeUInt16BE(65535, 14);
  } else l4.writeUInt16BE(8 + f.payload.length, 4);
  l4.set(f.payload, tcp ? 20 : 8);
  let ip: Buffer;
  if (f.ipv6) ip = ipv6Header(l4.length, tcp ? 6 : 17);
  else {
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + l4.length, 2);
    ip.writeUInt16BE(id & 0xffff, 4);
    ip.writeUInt16BE(0x4000, 6);
    ip[8] = 64;
    ip[9] = tcp ? 6 : 17;
    ip.writeUInt32BE(0x7f000001, 12);
    ip.writeUInt32BE(0x7f000001, 16);
    ip.writeUInt16BE(ipv4Checksum(ip), 10);
  }
  const eth = Buffer.alloc(14);
  eth[5] = 2;
  eth[11] = 1;
  eth.writeUInt16BE(f.ipv6 ? 0x86dd : 0x0800, 12);
  return Buffer.concat([eth, ip, l4]);
}

/** A classic pcap (optionally big-endian or with nanosecond stamps) of the frames. */
export function writePcapFrames(frames: CaptureFrame[], opts: { bigEndian?: boolean; nanosecond?: boolean } = {}): Buffer {
  const w32 = (b: Buffer, v: number, o: number) => (opts.bigEndian ? b.writeUInt32BE(v >>> 0, o) : b.writeUInt32LE(v >>> 0, o));
  const w16 = (b: Buffer, v: number, o: number) => (opts.bigEndian ? b.writeUInt16BE(v, o) : b.writeUInt16LE(v, o));
  const gh = Buffer.alloc(24);
  w32(gh, opts.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(gh, 2, 4);
  w16(gh, 4, 6);
  w32(gh, 0x40000, 16);
  w32(gh, LINKTYPE_ETHERNET, 20);
  const parts: Buffer[] = [gh];
  frames.forEach((f, i) => {
    const fr = captureFrame(f, i + 1);
    const rh = Buffer.alloc(16);
    w32(rh, 1_700_000_000, 0);
    w32(rh, i, 4);
    w32(rh, fr.length, 8);
    w32(rh, fr.length, 12);
    parts.push(rh, fr);
  });
  return Buffer.concat(parts);
}

/** A pcapng (SHB, one IDB, an EPB per frame; frame `simple` indexes become SPBs). */
export function writePcapng(frames: CaptureFrame[], opts: { simple?: number[] } = {}): Buffer {
  const block = (type: number, body: Buffer): Buffer => {
    const pad = (4 - (body.length % 4)) % 4;
    const len = 12 + body.length + pad;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    body.copy(b, 8);
    b.writeUInt32LE(len, len - 4);
    return b;
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(LINKTYPE_ETHERNET, 0);
  idb.writeUInt32LE(0x40000, 4);
  const parts = [block(0x0a0d0d0a, shb), block(1, idb)];
  frames.forEach((f, i) => {
    const fr = captureFrame(f, i + 1);
    if (opts.simple?.includes(i)) {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(fr.length, 0);
      parts.push(block(3, Buffer.concat([h, fr])));
      return;
    }
    const h = Buffer.alloc(20);
    h.writeUInt32LE(0, 0);
    h.writeUInt32LE(0, 4);
    h.writeUInt32LE(i, 8);
    h.writeUInt32LE(fr.length, 12);
    h.writeUInt32LE(fr.length, 16);
    parts.push(block(6, Buffer.concat([h, fr])));
  });
  return Buffer.concat(parts);
}
