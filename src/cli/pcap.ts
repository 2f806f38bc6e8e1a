// MIKEY in packet captures: a reader for pcap (libpcap, micro- and nanosecond, either byte order)
// and pcapng (SHB, IDB, EPB, SPB, the obsolete PB), Ethernet / Linux cooked / raw IP / BSD
// loopback links, IPv4 and IPv6, UDP and TCP. MIKEY is found on UDP port 2269 (RFC 3830 §10),
// in SDP (a=key-mgmt, RFC 4567 §3.1: SIP over UDP or TCP, RTSP DESCRIBE answers) and in RTSP
// KeyMgmt headers and SET_PARAMETER bodies (§3.2). Each message keeps its packet number.
import { findSdpKeyMgmt, parseRtspKeyMgmt, KMPID_MIKEY, isBase64 } from '../sdp/keymgmt.js';
import type { FoundMessage } from './input.js';

export const MIKEY_UDP_PORT = 2269;

export class CaptureError extends Error {
  override readonly name = 'CaptureError';
}

interface Frame {
  /** 1-based packet number, as Wireshark counts. */
  no: number;
  link: number;
  data: Uint8Array;
}

/** True when the bytes start with a pcap or pcapng magic number. */
export function isCapture(b: Uint8Array): boolean {
  if (b.length < 4) return false;
  const m = (b[0]! << 24 | b[1]! << 16 | b[2]! << 8 | b[3]!) >>> 0;
  return [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a].includes(m);
}

// ---- container formats -----------------------------------------------------------------------

/** Thrown for a capture cut short; `frames` holds the packets before the cut. */
class CutShort extends CaptureError {
  constructor(message: string, readonly frames: Frame[]) { super(message); }
}

function pcapFrames(b: Uint8Array): Frame[] {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  if (b.length < 24) throw new CaptureError('pcap: truncated file header');
  const m = v.getUint32(0, false);
  const le = m === 0xd4c3b2a1 || m === 0x4d3cb2a1;
  const link = v.getUint32(20, le) & 0x0fffffff;
  const out: Frame[] = [];
  let o = 24;
  while (o < b.length) {
    if (o + 16 > b.length) throw new CutShort(`pcap: truncated record header of packet ${out.length + 1}`, out);
    const incl = v.getUint32(o + 8, le);
    if (o + 16 + incl > b.length) throw new CutShort(`pcap: packet ${out.length + 1} runs past the end of the file`, out);
    out.push({ no: out.length + 1, link, data: b.subarray(o + 16, o + 16 + incl) });
    o += 16 + incl;
  }
  return out;
}

function pcapngFrames(b: Uint8Array): Frame[] {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const out: Frame[] = [];
  let le = true;
  let links: number[] = [];
  let o = 0;
  while (o < b.length) {
    if (o + 12 > b.length) throw new CutShort(`pcapng: truncated block at byte ${o}`, out);
    const type = v.getUint32(o, le);
    if (type === 0x0a0d0d0a) {
      // Section Header Block: its byte-order magic sets the order of the section
      const bom = v.getUint32(o + 8, true);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new CaptureError('pcapng: bad byte-order magic');
      links = [];
    }
    const len = v.getUint32(o + 4, le);
    if (len >= 12 && len % 4 === 0 && o + len > b.length) throw new CutShort(`pcapng: block at byte ${o} runs past the end of the file`, out);
    if (len < 12 || len % 4 !== 0) throw new CaptureError(`pcapng: bad block length ${len} at byte ${o}`);
    const body = o + 8;
    if (type === 1) links.push(v.getUint16(body, le)); // Interface Description Block
    else if (type === 6 || type === 2) {
      // Enhanced Packet Block / obsolete Packet Block
      const iface = type === 6 ? v.getUint32(body, le) : v.getUint16(body, le);
      const cap = v.getUint32(body + 12, le);
      if (body + 20 + cap > o + len) throw new CaptureError(`pcapng: packet ${out.length + 1} overruns its block`);
      const link = links[iface];
      if (link === undefined) throw new CaptureError(`pcapng: packet ${out.length + 1} on undeclared interface ${iface}`);
      out.push({ no: out.length + 1, link, data: b.subarray(body + 20, body + 20 + cap) });
    } else if (type === 3) {
      // Simple Packet Block: interface 0, captured length = block length - 16 at most
      const orig = v.getUint32(body, le);
      const cap = Math.min(orig, len - 16);
      const link = links[0];
      if (link === undefined) throw new CaptureError('pcapng: simple packet without an interface');
      out.push({ no: out.length + 1, link, data: b.subarray(body + 4, body + 4 + cap) });
    }
    o += len;
  }
  return out;
}

// ---- link, network and transport layers ------------------------------------------------------

interface Segment {
  no: number;
  proto: 'udp' | 'tcp';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** TCP sequence number of the first payload byte. */
  seq?: number;
  payload: Uint8Array;
}

function ipOf(data: Uint8Array, link: number): Uint8Array | undefined {
  switch (link) {
    case 1: { // Ethernet, with 802.1Q tags
      let o = 12;
      let type = (data[o]! << 8) | data[o + 1]!;
      while ((type === 0x8100 || type === 0x88a8) && data.length >= o + 6) {
        o += 4;
        type = (data[o]! << 8) | data[o + 1]!;
      }
      return type === 0x0800 || type === 0x86dd ? data.subarray(o + 2) : undefined;
    }
    case 0: // BSD loopback: 4-byte family in host order
    case 109:
      return data.subarray(4);
    case 12: case 14: case 101: case 228: case 229: // raw IP
      return data;
    case 113: { // Linux cooked capture
      const type = (data[14]! << 8) | data[15]!;
      return type === 0x0800 || type === 0x86dd ? data.subarray(16) : undefined;
    }
    case 276: { // Linux cooked capture v2
      const type = (data[0]! << 8) | data[1]!;
      return type === 0x0800 || type === 0x86dd ? data.subarray(20) : undefined;
    }
    default:
      return undefined;
  }
}

function segmentOf(f: Frame): Segment | undefined {
  const ip = ipOf(f.data, f.link);
  if (!ip || ip.length < 20) return undefined;
  let proto: number;
  let l4: Uint8Array;
  let src: string;
  let dst: string;
  if (ip[0]! >> 4 === 4) {
    const ihl = (ip[0]! & 0x0f) * 4;
    const total = (ip[2]! << 8) | ip[3]!;
    const frag = ((ip[6]! & 0x1f) << 8) | ip[7]!;
    if (frag !== 0 || (ip[6]! & 0x20)) return undefined; // fragments are not reassembled
    proto = ip[9]!;
    l4 = ip.subarray(ihl, Math.min(ip.length, total || ip.length));
    src = ip.subarray(12, 16).join('.');
    dst = ip.subarray(16, 20).join('.');
  } else if (ip[0]! >> 4 === 6 && ip.length >= 40) {
    proto = ip[6]!;
    const plen = (ip[4]! << 8) | ip[5]!;
    l4 = ip.subarray(40, Math.min(ip.length, 40 + plen));
    const hex = (a: Uint8Array) => Buffer.from(a).toString('hex');
    src = hex(ip.subarray(8, 24));
    dst = hex(ip.subarray(24, 40));
  } else return undefined;
  if (proto === 17 && l4.length >= 8) {
    const ulen = (l4[4]! << 8) | l4[5]!;
    return { no: f.no, proto: 'udp', src, dst, sport: (l4[0]! << 8) | l4[1]!, dport: (l4[2]! << 8) | l4[3]!, payload: l4.subarray(8, Math.max(8, Math.min(l4.length, ulen))) };
  }
  if (proto === 6 && l4.length >= 20) {
    const off = (l4[12]! >> 4) * 4;
    const seq = ((l4[4]! << 24) | (l4[5]! << 16) | (l4[6]! << 8) | l4[7]!) >>> 0;
    return { no: f.no, proto: 'tcp', src, dst, sport: (l4[0]! << 8) | l4[1]!, dport: (l4[2]! << 8) | l4[3]!, seq, payload: l4.subarray(off) };
  }
  return undefined;
}

// ---- finding MIKEY in text -------------------------------------------------------------------

/** MIKEY in a SIP/RTSP/SDP text: a=key-mgmt lines and KeyMgmt headers or parameter lines, with their offsets. */
function mikeyInText(text: string): Array<{ at: number; data: string; where: string }> {
  const out: Array<{ at: number; data: string; where: string }> = [];
  // SDP: the level of each a=key-mgmt needs the m-lines before it within its body
  for (const m of text.matchAll(/^a=key-mgmt:[^\r\n]*/gm)) {
    const bodyStart = Math.max(text.lastIndexOf('\nv=0', m.index), 0);
    const specs = findSdpKeyMgmt(text.slice(bodyStart, m.index! + m[0].length)).filter((s) => s.prot === KMPID_MIKEY);
    const last = specs[specs.length - 1];
    const own = findSdpKeyMgmt(m[0]);
    if (last && own.length && own[0]!.prot === KMPID_MIKEY) out.push({ at: m.index!, data: last.data, where: `sdp ${last.where}` });
  }
  for (const m of text.matchAll(/^KeyMgmt[ \t]*:[ \t]*([^\r\n]*)/gim)) {
    let specs;
    try {
      specs = parseRtspKeyMgmt(m[1]!);
    } catch {
      continue;
    }
    for (const s of specs) if (s.prot === KMPID_MIKEY) out.push({ at: m.index!, data: s.data, where: s.uri ? `rtsp ${s.uri}` : 'rtsp' });
  }
  return out.sort((a, b) => a.at - b.at);
}

const TEXTUAL = /^(?:[A-Z_]+ \S+ (?:SIP|RTSP)\/[12]\.0|(?:SIP|RTSP)\/[12]\.0 \d{3})/;

/** Every MIKEY message of a pcap or pcapng capture, in packet order, each with its packet number. */
export function messagesFromCapture(bytes: Uint8Array): FoundMessage[] {
  if (!isCapture(bytes)) throw new CaptureError('not a pcap or pcapng capture');
  return messagesFromFrames(bytes[0] === 0x0a && bytes[1] === 0x0d ? pcapngFrames(bytes) : pcapFrames(bytes));
}

/**
 * As messagesFromCapture, but a capture cut short (a packet or block running past the end, as
 * when the capture was copied while written) gives the messages of the packets before the cut
 * and a warning, as tshark does.
 */
export function readCapture(bytes: Uint8Array): { messages: FoundMessage[]; warning?: string } {
  try {
    return { messages: messagesFromCapture(bytes) };
  } catch (e) {
    if (!(e instanceof CutShort)) throw e;
    return { messages: messagesFromFrames(e.frames), warning: `the capture appears to have been cut short (${e.message}); decoded the ${e.frames.length} packet(s) before the cut` };
  }
}

function messagesFromFrames(frames: Frame[]): FoundMessage[] {
  const found: Array<FoundMessage & { no: number; order: number }> = [];
  let order = 0;
  const add = (no: number, b: Uint8Array, source: string) => found.push({ bytes: b, source: `packet ${no} (${source})`, no, order: order++ });
  const streams = new Map<string, Segment[]>();
  for (const f of frames) {
    const s = segmentOf(f);
    if (!s || s.payload.length === 0) continue;
    if (s.proto === 'udp') {
      if (s.sport === MIKEY_UDP_PORT || s.dport === MIKEY_UDP_PORT) {
        add(s.no, s.payload, `udp ${MIKEY_UDP_PORT}`);
        continue;
      }
      const text = Buffer.from(s.payload).toString('latin1');
      if (!TEXTUAL.test(text)) continue;
      const proto = text.includes('RTSP/1.0') ? 'rtsp/udp' : 'sip/udp';
      for (const m of mikeyInText(text)) if (isBase64(m.data)) add(s.no, new Uint8Array(Buffer.from(m.data, 'base64')), `${proto} ${m.where}`);
    } else {
      const key = `${s.src}:${s.sport}>${s.dst}:${s.dport}`;
      streams.set(key, [...(streams.get(key) ?? []), s]);
    }
  }
  // TCP: each direction reassembled in sequence order (duplicates dropped), then searched;
  // a message is reported at the packet holding the first byte of its line
  for (const segs of streams.values()) {
    // sequence numbers relative to the first segment seen, signed (RFC 793 §3.3 arithmetic)
    const rel = (s: Segment) => (s.seq! - segs[0]!.seq!) | 0;
    const sorted = [...segs].sort((a, b) => rel(a) - rel(b));
    const parts: Uint8Array[] = [];
    const starts: Array<{ at: number; no: number }> = [];
    let next: number | undefined;
    let len = 0;
    for (const s of sorted) {
      let p = s.payload;
      if (next !== undefined) {
        const d = (s.seq! - next) | 0;
        if (d < 0) {
          if (-d >= p.length) continue; // retransmission
          p = p.subarray(-d);
        }
      }
      starts.push({ at: len, no: s.no });
      parts.push(p);
      len += p.length;
      next = (s.seq! + s.payload.length) >>> 0;
    }
    const text = Buffer.concat(parts).toString('latin1');
    if (!/(?:SIP|RTSP)\/[12]\.0/.test(text)) continue;
    const proto = text.includes('RTSP/1.0') ? 'rtsp/tcp' : 'sip/tcp';
    for (const m of mikeyInText(text)) {
      let no = starts[0]!.no;
      for (const st of starts) if (st.at <= m.at) no = st.no;
      if (isBase64(m.data)) add(no, new Uint8Array(Buffer.from(m.data, 'base64')), `${proto} ${m.where}`);
    }
  }
  return found.sort((a, b) => a.no - b.no || a.order - b.order).map(({ bytes: b, source }) => ({ bytes: b, source }));
}
