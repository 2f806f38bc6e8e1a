// Captures of RTP/RTSP traffic with their timing: a reader of classic pcap (micro/nanosecond,
// either byte order) and pcapng (EPB, SPB) over Ethernet, Linux cooked (SLL, SLL2), raw IP and
// BSD loopback, IPv4/IPv6, UDP and TCP; and a writer of IPv4/UDP frames. Every length is
// checked against its container: a truncated or hostile file gives CaptureFormatError.

export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
}

export interface CapturedPacket {
  /** 1-based frame number, as Wireshark counts. */
  no: number;
  /** Seconds since the epoch (fractional). */
  time: number;
  proto: 'udp' | 'tcp';
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

/** One captured frame: its link type and bytes as captured. */
export interface CaptureFrame {
  /** 1-based frame number, as Wireshark counts. */
  no: number;
  /** Seconds since the epoch (fractional). */
  time: number;
  /** LINKTYPE_* of the frame's interface. */
  link: number;
  data: Uint8Array;
}

/** Thrown for a capture cut short; `frames` holds the frames before the cut. */
class CutShort extends CaptureFormatError {
  constructor(message: string, readonly frames: CaptureFrame[]) { super(message); }
}

function frames(b: Uint8Array): CaptureFrame[] {
  if (b.length < 4) throw new CaptureFormatError('capture: file too short');
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const magic = v.getUint32(0, false);
  const out: CaptureFrame[] = [];
  if (magic === 0x0a0d0d0a) {
    let le = true;
    let links: Array<{ link: number; tsres: number }> = [];
    let o = 0;
    while (o < b.length) {
      if (o + 12 > b.length) throw new CutShort(`pcapng: truncated block at byte ${o}`, out);
      const type = v.getUint32(o, le);
      if (type === 0x0a0d0d0a) {
        const bom = v.getUint32(o + 8, true);
        if (bom !== 0x1a2b3c4d && bom !== 0x4d3c2b1a) throw new CaptureFormatError('pcapng: bad byte-order magic');
        le = bom === 0x1a2b3c4d;
        links = [];
      }
      const len = v.getUint32(o + 4, le);
      if (len < 12 || len % 4 !== 0) throw new CaptureFormatError(`pcapng: block at ${o} has length ${len}`);
      if (o + len > b.length) throw new CutShort(`pcapng: block at byte ${o} runs past the end of the file`, out);
      if (type === 1) {
        if (len < 20) throw new CaptureFormatError(`pcapng: interface block at ${o} too short`);
        let tsres = 1e-6;
        // if_tsresol option (9)
        let p = o + 16;
        while (p + 4 <= o + len - 4) {
          const code = v.getUint16(p, le);
          const ol = v.getUint16(p + 2, le);
          if (code === 0) break;
          if (code === 9 && ol >= 1 && p + 4 < o + len) {
            const r = b[p + 4]!;
            tsres = r & 0x80 ? 2 ** -(r & 0x7f) : 10 ** -r;
          }
          p += 4 + ol + ((4 - (ol % 4)) % 4);
        }
        links.push({ link: v.getUint16(o + 8, le), tsres });
      } else if (type === 6) {
        if (len < 32) throw new CaptureFormatError(`pcapng: enhanced packet block at ${o} too short`);
        const ifc = links[v.getUint32(o + 8, le)];
        if (!ifc) throw new CaptureFormatError(`pcapng: packet for an undeclared interface at ${o}`);
        const ts = v.getUint32(o + 12, le) * 2 ** 32 + v.getUint32(o + 16, le);
        const cap = v.getUint32(o + 20, le);
        if (28 + cap > len - 4) throw new CaptureFormatError(`pcapng: packet at ${o} runs past its block`);
        out.push({ no: out.length + 1, time: ts * ifc.tsres, link: ifc.link, data: b.subarray(o + 28, o + 28 + cap) });
      } else if (type === 3) {
        const ifc = links[0];
        if (!ifc) throw new CaptureFormatError('pcapng: simple packet before an interface');
        if (len < 16) throw new CaptureFormatError(`pcapng: simple packet block at ${o} too short`);
        out.push({ no: out.length + 1, time: 0, link: ifc.link, data: b.subarray(o + 12, o + len - 4) });
      }
      o += len;
    }
    return out;
  }
  const le = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  if (!le && magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new CaptureFormatError('not a pcap or pcapng file');
  if (b.length < 24) throw new CaptureFormatError('pcap: truncated file header');
  const link = v.getUint32(20, le) & 0x0fffffff;
  let o = 24;
  while (o < b.length) {
    if (o + 16 > b.length) throw new CutShort(`pcap: truncated record header of packet ${out.length + 1}`, out);
    const incl = v.getUint32(o + 8, le);
    if (o + 16 + incl > b.length) throw new CutShort(`pcap: packet ${out.length + 1} runs past the end of the file`, out);
    const time = v.getUint32(o, le) + v.getUint32(o + 4, le) / (nano ? 1e9 : 1e6);
    out.push({ no: out.length + 1, time, link, data: b.subarray(o + 16, o + 16 + incl) });
    o += 16 + incl;
  }
  return out;
}

/**
 * The frames of a pcap or pcapng file. A capture cut short (a record running past the end, as
 * when it was copied while written) gives the frames before the cut and a warning; any other
 * malformation throws CaptureFormatError.
 */
export function readFrames(bytes: Uint8Array): { frames: CaptureFrame[]; warning?: string } {
  try {
    return { frames: frames(bytes) };
  } catch (e) {
    if (!(e instanceof CutShort)) throw e;
    return { frames: e.frames, warning: `the capture appears to have been cut short (${e.message}); read the ${e.frames.length} frame(s) before the cut` };
  }
}

/** Byte offset of the IP header in a frame of this link type, or undefined (not IP, unknown link). */
function ipOffset(f: CaptureFrame): number | undefined {
  const d = f.data;
  switch (f.link) {
    case 1: { // Ethernet, with 802.1Q / 802.1ad tags
      let o = 12;
      while (o + 2 <= d.length && ((d[o]! << 8 | d[o + 1]!) === 0x8100 || (d[o]! << 8 | d[o + 1]!) === 0x88a8)) o += 4;
      if (o + 2 > d.length) return undefined;
      const type = d[o]! << 8 | d[o + 1]!;
      return type === 0x0800 || type === 0x86dd ? o + 2 : undefined;
    }
    case 113: return d.length >= 16 ? 16 : undefined; // Linux cooked
    case 276: return d.length >= 20 ? 20 : undefined; // Linux cooked v2
    case 0: case 108: case 109: return d.length >= 4 ? 4 : undefined; // BSD loopback
    case 101: case 12: case 14: case 228: case 229: return 0; // raw IP
    default: return undefined;
  }
}

/** Where the layers of an IPv4/IPv6 UDP or TCP frame start, with its addresses and ports. */
export interface FrameLayers {
  ipAt: number;
  ipVersion: 4 | 6;
  proto: 'udp' | 'tcp';
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** Start of the UDP/TCP header. */
  l4At: number;
  /** The UDP/TCP payload: data.subarray(payloadAt, payloadEnd). */
  payloadAt: number;
  payloadEnd: number;
  /** TCP: sequence number of the first payload byte, and the flags byte. */
  seq?: number;
  flags?: number;
}

/** The layers of a frame, or undefined for anything but unfragmented IPv4/IPv6 UDP and TCP. */
export function frameLayers(f: CaptureFrame): FrameLayers | undefined {
  const at = ipOffset(f);
  if (at === undefined) return undefined;
  const d = f.data;
  const ip = d.subarray(at);
  if (ip.length < 20) return undefined;
  let proto: number;
  let l4: number;
  let end: number;
  let src: string;
  let dst: string;
  let ipVersion: 4 | 6;
  if (ip[0]! >> 4 === 4) {
    ipVersion = 4;
    const ihl = (ip[0]! & 15) * 4;
    const total = (ip[2]! << 8) | ip[3]!;
    if (ihl < 20 || total < ihl || total > ip.length) return undefined;
    if (((ip[6]! & 0x1f) << 8 | ip[7]!) !== 0 || ip[6]! & 0x20) return undefined; // fragments are not reassembled
    proto = ip[9]!;
    l4 = at + ihl;
    end = at + total;
    src = ip.subarray(12, 16).join('.');
    dst = ip.subarray(16, 20).join('.');
  } else if (ip[0]! >> 4 === 6 && ip.length >= 40) {
    ipVersion = 6;
    proto = ip[6]!; // extension headers are not followed
    const plen = (ip[4]! << 8) | ip[5]!;
    if (40 + plen > ip.length) return undefined;
    l4 = at + 40;
    end = at + 40 + plen;
    const h = (x: Uint8Array) => Array.from({ length: 8 }, (_, i) => ((x[2 * i]! << 8) | x[2 * i + 1]!).toString(16)).join(':');
    src = h(ip.subarray(8, 24));
    dst = h(ip.subarray(24, 40));
  } else return undefined;
  const port = (o: number) => (d[o]! << 8) | d[o + 1]!;
  if (proto === 17 && end - l4 >= 8) {
    const ulen = port(l4 + 4);
    return { ipAt: at, ipVersion, proto: 'udp', src, dst, srcPort: port(l4), dstPort: port(l4 + 2), l4At: l4, payloadAt: l4 + 8, payloadEnd: ulen >= 8 ? Math.min(end, l4 + ulen) : end };
  }
  if (proto === 6 && end - l4 >= 20) {
    const off = (d[l4 + 12]! >> 4) * 4;
    if (off < 20 || l4 + off > end) return undefined;
    const seq = ((d[l4 + 4]! << 24) | (d[l4 + 5]! << 16) | (d[l4 + 6]! << 8) | d[l4 + 7]!) >>> 0;
    return { ipAt: at, ipVersion, proto: 'tcp', src, dst, srcPort: port(l4), dstPort: port(l4 + 2), l4At: l4, payloadAt: l4 + off, payloadEnd: end, seq, flags: d[l4 + 13]! };
  }
  return undefined;
}

/** The UDP and TCP packets of a capture (others are skipped), with time and addresses. */
export function readCapture(bytes: Uint8Array): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  for (const f of frames(bytes)) {
    const l = frameLayers(f);
    if (!l) continue;
    out.push({ no: f.no, time: f.time, proto: l.proto, src: l.src, dst: l.dst, srcPort: l.srcPort, dstPort: l.dstPort, payload: f.data.subarray(l.payloadAt, l.payloadEnd) });
  }
  return out;
}

function sum16(b: Uint8Array, start = 0, end = b.length, acc = 0): number {
  let s = acc;
  for (let i = start; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if ((end - start) % 2) s += b[end - 1]! << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * The frame with its UDP payload replaced: IP total/payload length, IPv4 header checksum, UDP
 * length and checksum (RFC 768, RFC 8200 §8.1) recomputed; link-layer trailer bytes dropped.
 * With `ports`, the UDP ports are replaced too (and `addresses` the IP addresses are kept); a
 * TCP frame given here becomes a UDP frame of the same addresses.
 */
export function withUdpPayload(f: CaptureFrame, l: FrameLayers, payload: Uint8Array, ports?: [number, number]): Uint8Array {
  const ipLen = l.ipVersion === 4 ? l.l4At - l.ipAt : 40;
  const out = new Uint8Array(l.ipAt + ipLen + 8 + payload.length);
  out.set(f.data.subarray(0, l.ipAt + ipLen));
  const v = new DataView(out.buffer);
  const ip = l.ipAt;
  const u = ip + ipLen;
  const udpLen = 8 + payload.length;
  if (l.ipVersion === 4) {
    v.setUint16(ip + 2, ipLen + udpLen);
    out[ip + 9] = 17;
    v.setUint16(ip + 10, 0);
    v.setUint16(ip + 10, ~fold(sum16(out, ip, ip + ipLen)) & 0xffff);
  } else {
    v.setUint16(ip + 4, udpLen);
    out[ip + 6] = 17;
  }
  v.setUint16(u, ports ? ports[0] : l.srcPort);
  v.setUint16(u + 2, ports ? ports[1] : l.dstPort);
  v.setUint16(u + 4, udpLen);
  v.setUint16(u + 6, 0);
  out.set(payload, u + 8);
  // pseudo header: addresses, protocol, UDP length
  let s = l.ipVersion === 4 ? sum16(out, ip + 12, ip + 20) : sum16(out, ip + 8, ip + 40);
  s += 17 + udpLen;
  s = sum16(out, u, u + udpLen, s);
  const c = ~fold(s) & 0xffff;
  v.setUint16(u + 6, c === 0 ? 0xffff : c);
  return out;
}

/** A classic pcap (microseconds) of frames of one link type. */
export function writePcap(link: number, records: ReadonlyArray<{ time: number; data: Uint8Array }>): Buffer {
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(link, 20);
  parts.push(gh);
  for (const r of records) {
    const rh = Buffer.alloc(16);
    let sec = Math.floor(r.time);
    let usec = Math.round((r.time - sec) * 1e6);
    if (usec >= 1e6) { sec++; usec -= 1e6; }
    rh.writeUInt32LE(sec >>> 0, 0);
    rh.writeUInt32LE(usec, 4);
    rh.writeUInt32LE(r.data.length, 8);
    rh.writeUInt32LE(r.data.length, 12);
    parts.push(rh, Buffer.from(r.data.buffer, r.data.byteOffset, r.data.length));
  }
  return Buffer.concat(parts);
}

export interface PcapRecord {
  time: number;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
  /** IPv4 addresses (default 127.0.0.1). */
  src?: string;
  dst?: string;
}

function ipv4(s: string | undefined): number {
  const p = (s ?? '127.0.0.1').split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) return 0x7f000001;
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/** A classic pcap (microseconds, Ethernet) with one IPv4/UDP frame per record. */
export function writeUdpPcap(records: readonly PcapRecord[]): Buffer {
  return writePcap(1, records.map((r, id) => {
    const n = Math.min(r.payload.length, 65535 - 28);
    const f = Buffer.alloc(42 + n);
    f[5] = 2;
    f[11] = 1;
    f.writeUInt16BE(0x0800, 12);
    const ip = f.subarray(14, 34);
    ip[0] = 0x45;
    ip.writeUInt16BE(28 + n, 2);
    ip.writeUInt16BE(id & 0xffff, 4);
    ip.writeUInt16BE(0x4000, 6);
    ip[8] = 64;
    ip[9] = 17;
    ip.writeUInt32BE(ipv4(r.src), 12);
    ip.writeUInt32BE(ipv4(r.dst), 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    f.writeUInt16BE(r.srcPort, 34);
    f.writeUInt16BE(r.dstPort, 36);
    f.writeUInt16BE(8 + n, 38);
    f.set(r.payload.subarray(0, n), 42);
    return { time: r.time, data: f };
  }));
}
