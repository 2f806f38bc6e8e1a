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

interface Frame { no: number; time: number; link: number; data: Uint8Array }

function frames(b: Uint8Array): Frame[] {
  if (b.length < 4) throw new CaptureFormatError('capture: file too short');
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const magic = v.getUint32(0, false);
  const out: Frame[] = [];
  if (magic === 0x0a0d0d0a) {
    let le = true;
    let links: Array<{ link: number; tsres: number }> = [];
    let o = 0;
    while (o + 12 <= b.length) {
      const type = v.getUint32(o, le);
      if (type === 0x0a0d0d0a) {
        le = v.getUint32(o + 8, true) === 0x1a2b3c4d;
        links = [];
      }
      const len = v.getUint32(o + 4, le);
      if (len < 12 || len % 4 !== 0 || o + len > b.length) throw new CaptureFormatError(`pcapng: block at ${o} has length ${len}`);
      if (type === 1) {
        let tsres = 1e-6;
        // if_tsresol option (9)
        let p = o + 16;
        while (p + 4 <= o + len - 4) {
          const code = v.getUint16(p, le);
          const ol = v.getUint16(p + 2, le);
          if (code === 0) break;
          if (code === 9 && ol >= 1) {
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
    if (o + 16 > b.length) throw new CaptureFormatError(`pcap: truncated record header of packet ${out.length + 1}`);
    const incl = v.getUint32(o + 8, le);
    if (o + 16 + incl > b.length) throw new CaptureFormatError(`pcap: packet ${out.length + 1} runs past the end of the file`);
    const time = v.getUint32(o, le) + v.getUint32(o + 4, le) / (nano ? 1e9 : 1e6);
    out.push({ no: out.length + 1, time, link, data: b.subarray(o + 16, o + 16 + incl) });
    o += 16 + incl;
  }
  return out;
}

function ipPayload(f: Frame): Uint8Array | undefined {
  const d = f.data;
  switch (f.link) {
    case 1: { // Ethernet, with 802.1Q tags
      let o = 12;
      while (o + 2 <= d.length && (d[o]! << 8 | d[o + 1]!) === 0x8100) o += 4;
      return o + 2 <= d.length ? d.subarray(o + 2) : undefined;
    }
    case 113: return d.subarray(16); // Linux cooked
    case 276: return d.subarray(20); // Linux cooked v2
    case 0: case 108: return d.subarray(4); // BSD loopback
    case 101: case 12: case 228: case 229: return d; // raw IP
    default: return undefined;
  }
}

/** The UDP and TCP packets of a capture (others are skipped), with time and addresses. */
export function readCapture(bytes: Uint8Array): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  for (const f of frames(bytes)) {
    const ip = ipPayload(f);
    if (!ip || ip.length < 20) continue;
    let proto: number;
    let l4: Uint8Array;
    let src: string;
    let dst: string;
    if (ip[0]! >> 4 === 4) {
      const ihl = (ip[0]! & 15) * 4;
      const total = (ip[2]! << 8) | ip[3]!;
      if (ihl < 20 || total < ihl || total > ip.length) continue;
      if (((ip[6]! & 0x1f) << 8 | ip[7]!) !== 0 || ip[6]! & 0x20) continue; // fragments
      proto = ip[9]!;
      l4 = ip.subarray(ihl, total);
      src = ip.subarray(12, 16).join('.');
      dst = ip.subarray(16, 20).join('.');
    } else if (ip[0]! >> 4 === 6 && ip.length >= 40) {
      proto = ip[6]!;
      const plen = (ip[4]! << 8) | ip[5]!;
      if (40 + plen > ip.length) continue;
      l4 = ip.subarray(40, 40 + plen);
      const h = (x: Uint8Array) => Array.from({ length: 8 }, (_, i) => ((x[2 * i]! << 8) | x[2 * i + 1]!).toString(16)).join(':');
      src = h(ip.subarray(8, 24));
      dst = h(ip.subarray(24, 40));
    } else continue;
    if (proto === 17 && l4.length >= 8) {
      out.push({ no: f.no, time: f.time, proto: 'udp', src, dst, srcPort: (l4[0]! << 8) | l4[1]!, dstPort: (l4[2]! << 8) | l4[3]!, payload: l4.subarray(8) });
    } else if (proto === 6 && l4.length >= 20) {
      const off = (l4[12]! >> 4) * 4;
      if (off < 20 || off > l4.length) continue;
      out.push({ no: f.no, time: f.time, proto: 'tcp', src, dst, srcPort: (l4[0]! << 8) | l4[1]!, dstPort: (l4[2]! << 8) | l4[3]!, payload: l4.subarray(off) });
    }
  }
  return out;
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
  const parts: Buffer[] = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(65535, 16);
  gh.writeUInt32LE(1, 20);
  parts.push(gh);
  records.forEach((r, id) => {
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
    const rh = Buffer.alloc(16);
    const sec = Math.floor(r.time);
    rh.writeUInt32LE(sec >>> 0, 0);
    rh.writeUInt32LE(Math.min(999_999, Math.round((r.time - sec) * 1e6)), 4);
    rh.writeUInt32LE(f.length, 8);
    rh.writeUInt32LE(f.length, 12);
    parts.push(rh, f);
  });
  return Buffer.concat(parts);
}
