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
