// SRTP capture decryption (`mikey srtp decrypt`): the MIKEY messages of a capture are found
// (RTSP DESCRIBE/ANNOUNCE SDP a=key-mgmt, KeyMgmt headers, SET_PARAMETER/GET_PARAMETER
// parameter lines, SDP in SIP, UDP port 2269: RFC 4567 §3, RFC 3830 §10) and opened (MIKEY-NULL,
// a pre-shared key, the private key of a public-key message, or keys given directly); the
// SRTP/SRTCP streams (UDP, and RTSP interleaved on reassembled TCP, RFC 2326 §10.12) are
// followed by SSRC and flow, their keys chosen by MKI (RFC 3711 §3.1) or by authentication,
// their ROC carried across re-keys; the capture is written again with the media decrypted.
// Two passes: every key of the capture is known before the first packet is decrypted.
import type { KeyObject } from 'node:crypto';
import { RtspNullResponder } from '../profiles/rtsp-null.js';
import { PskResponder } from '../modes/psk/index.js';
import { openKemac } from '../modes/kit/inspect.js';
import { NO_MINIMUM_POLICY } from '../modes/kit/policy.js';
import { srtpContexts, type CryptoSessionBundle } from '../session/bundle.js';
import { ntpToMs, type Clock } from '../session/time.js';
import type { SrtpProfileName } from '../session/policy.js';
import { SRTP_PROFILES } from '../crypto/srtp-kdf.js';
import { decodeMessage, type DecodedMessage } from '../wire/decode.js';
import { DataType, EncrAlg, MacAlg, PayloadType, TsType } from '../wire/registry.js';
import type { KemacPayload, TPayload } from '../wire/types.js';
import { SrtpEndpoint, SrtpError, type SrtpFailure } from '../srtp/endpoint.js';
import { findSdpKeyMgmt, parseRtspKeyMgmt, KMPID_MIKEY, isBase64 } from '../sdp/keymgmt.js';
import { RtspParser, parseTransport, type RtspItem, type TransportSpec } from './message.js';
import { readFrames, frameLayers, withUdpPayload, writePcap, CaptureFormatError, type CaptureFrame, type FrameLayers } from './pcap.js';

export const MIKEY_UDP_PORT = 2269;

/** A key given directly (`--key-salt`): master key ‖ master salt, and the MKI when the stream has one. */
export interface DirectKey {
  keySalt: Uint8Array;
  mki?: Uint8Array;
  profile?: SrtpProfileName;
}

export interface DecryptOptions {
  /** Pre-shared key of MIKEY-PSK messages (NULL-KEMAC messages need none). */
  psk?: Uint8Array;
  /** Private key (PEM or KeyObject) that opens the envelope of public-key messages (RFC 3830 §3.2). */
  privateKey?: string | KeyObject;
  /** Keys given directly, tried on every stream. */
  keys?: readonly DirectKey[];
  /** SRTP profile of `keys` without one (default AES_CM_128_HMAC_SHA1_80). */
  profile?: SrtpProfileName;
  /** Streams followed at most (default 256); packets of further streams are counted only. */
  maxStreams?: number;
  /** Keys tried on a packet of a stream with no key yet (default 16). */
  maxTrials?: number;
}

export interface KeyMessageReport {
  /** Frame number (Wireshark's) of the packet carrying it (the first byte of its line over TCP). */
  frame: number;
  /** Where it was found: "rtsp DESCRIBE answer sdp media 0", "rtsp SETUP KeyMgmt", "udp 2269", … */
  where: string;
  status: 'opened' | 'failed' | 'skipped';
  /** Why it failed or was skipped; what it carried otherwise. */
  detail: string;
  keys: Array<{ mki?: string; ssrc: string; roc: number; profile?: string }>;
}

export interface StreamReport {
  kind: 'srtp' | 'srtcp';
  ssrc: string;
  transport: 'udp' | 'rtsp-interleaved';
  /** "10.0.0.1:5000 > 10.0.0.2:6000" (UDP) or "10.0.0.1:554 > 10.0.0.2:40000 channel 0". */
  flow: string;
  /** Announced in an RTSP Transport header or SDP of the capture. */
  announced: boolean;
  packets: number;
  decrypted: number;
  failed: number;
  failures: Partial<Record<SrtpFailure | 'no-key', number>>;
  /** MKIs (hex) of decrypted packets, in the order first seen. */
  mkis: string[];
  /** ROC of the highest decrypted index (SRTP). */
  roc: number;
  /** How often the stream moved to another key (MKI change or a new key without MKI). */
  keyChanges: number;
  profile?: string;
  /** The message each key of the stream came from. */
  keySources: string[];
  firstError?: string;
}

export interface DecryptReport {
  frames: number;
  messages: KeyMessageReport[];
  streams: StreamReport[];
  warnings: string[];
  /** Frames written: kept as they were, rewritten with the media decrypted, and added (interleaved media as UDP). */
  written: { kept: number; decrypted: number; added: number; dropped: number };
  /** True when at least one stream was found and every packet of every announced stream (or of every stream) decrypted. */
  ok: boolean;
}

/** A capture that is no pcap/pcapng, or is malformed beyond the frames before the damage. */
export class SrtpCaptureError extends CaptureFormatError {}

/** Interleaved channel c is written as UDP from port INTERLEAVED_UDP_BASE + c to the same port. */
export const INTERLEAVED_UDP_BASE = 50000;

interface PoolKey {
  id: number;
  profile: SrtpProfileName;
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
  mki?: Uint8Array;
  mkiHex?: string;
  ssrc: number;
  roc: number;
  time: number;
  from: string;
}

interface Media {
  frame: CaptureFrame;
  /** Index of the frame in the capture (for the output). */
  at: number;
  layers: FrameLayers;
  data: Uint8Array;
  time: number;
  transport: 'udp' | 'rtsp-interleaved';
  flow: string;
  /** Interleaved: the channel. */
  channel?: number;
}

interface Ctx { key: PoolKey; ep: SrtpEndpoint }

interface Stream {
  report: StreamReport;
  rtcp: boolean;
  ssrc: number;
  ctxs: Ctx[];
  current?: Ctx;
  /** Keys already tried and refused on this stream (by id): the trial budget. */
  trials: Map<number, Ctx>;
  lastSeq: number;
  roc: number;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const ssrcHex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/** Is it an RTP/RTCP version 2 packet, and which (RFC 5761 §4: RTCP packet types 192..223). */
function classify(p: Uint8Array): 'rtp' | 'rtcp' | undefined {
  if (p.length < 12 || p[0]! >> 6 !== 2) return undefined;
  const pt = p[1]!;
  if (pt >= 192 && pt <= 223) return p.length >= 8 ? 'rtcp' : undefined;
  return 'rtp';
}

// ---- pass 1: signalling --------------------------------------------------------------------

interface Found { frame: number; time: number; where: string; b64?: string; bytes?: Uint8Array }

/** MIKEY in an RTSP message: KeyMgmt headers, SDP a=key-mgmt, `mikey:`/`KeyMgmt:` parameter lines. */
function mikeyInRtsp(it: RtspItem, label: string): Array<{ where: string; b64: string }> {
  if (it.kind === 'interleaved') return [];
  const out: Array<{ where: string; b64: string }> = [];
  const km = it.headers['keymgmt'];
  if (km !== undefined) {
    try {
      for (const s of parseRtspKeyMgmt(km)) if (s.prot === KMPID_MIKEY) out.push({ where: `${label} KeyMgmt`, b64: s.data });
    } catch { /* not a KeyMgmt value we can read: reported as nothing found */ }
  }
  const body = it.body.toString('latin1');
  if (body) {
    if (/^a=key-mgmt:/m.test(body)) for (const s of findSdpKeyMgmt(body)) if (s.prot === KMPID_MIKEY) out.push({ where: `${label} sdp ${s.where}`, b64: s.data });
    for (const m of body.matchAll(/^[ \t]*(mikey|keymgmt)[ \t]*:[ \t]*([^\r\n]*)/gim)) {
      if (m[1]!.toLowerCase() === 'mikey') out.push({ where: `${label} parameter mikey`, b64: m[2]!.trim() });
      else {
        try {
          for (const s of parseRtspKeyMgmt(m[2]!.trim())) if (s.prot === KMPID_MIKEY) out.push({ where: `${label} parameter KeyMgmt`, b64: s.data });
        } catch { /* skipped */ }
      }
    }
  }
  return out;
}

/** MIKEY in SIP/SDP text (UDP or a TCP stream that is not RTSP). */
function mikeyInText(text: string, label: string): Array<{ where: string; b64: string }> {
  const out: Array<{ where: string; b64: string }> = [];
  if (/^a=key-mgmt:/m.test(text)) for (const s of findSdpKeyMgmt(text)) if (s.prot === KMPID_MIKEY) out.push({ where: `${label} sdp ${s.where}`, b64: s.data });
  for (const m of text.matchAll(/^KeyMgmt[ \t]*:[ \t]*([^\r\n]*)/gim)) {
    try {
      for (const s of parseRtspKeyMgmt(m[1]!)) if (s.prot === KMPID_MIKEY) out.push({ where: `${label} KeyMgmt`, b64: s.data });
    } catch { /* skipped */ }
  }
  return out;
}

const RTSP_START = /^(?:[A-Z_]{1,32} \S+ RTSP\/1\.0\r?\n|RTSP\/1\.0 \d{3})/;
const TEXT_START = /^(?:[A-Z_]+ \S+ (?:SIP|RTSP)\/[12]\.0|(?:SIP|RTSP)\/[12]\.0 \d{3})/;
/** Out-of-order TCP segments held per direction at most; beyond, the gap is given up. */
const MAX_HELD_SEGMENTS = 512;

interface Seg { at: number; frame: CaptureFrame; layers: FrameLayers; seq: number; payload: Uint8Array }

interface Direction {
  key: string;
  conn: string;
  segs: Seg[];
}

interface Conn {
  /** CSeq → method of requests seen (either direction), to name answers. */
  cseq: Map<string, string>;
  /** Channels announced interleaved on this connection. */
  channels: Set<number>;
}

interface Signalling {
  found: Found[];
  media: Media[];
  announcedPorts: Set<string>;
  announcedChannels: Set<string>;
  /** SSRCs from Transport headers (SETUP answers), for keys that leave the SSRC to the responder. */
  transportSsrcs: Set<number>;
  warnings: string[];
}

function addTransport(sig: Signalling, t: TransportSpec, conn: string, c: Conn): void {
  for (const pr of [t.clientPort, t.serverPort, t.port]) if (pr) for (const p of pr) sig.announcedPorts.add(String(p));
  if (t.interleaved) for (const ch of t.interleaved) { c.channels.add(ch); sig.announcedChannels.add(`${conn}#${ch}`); }
  if (t.ssrc !== undefined) sig.transportSsrcs.add(t.ssrc);
}

function signalling(frames: readonly CaptureFrame[]): Signalling {
  const sig: Signalling = { found: [], media: [], announcedPorts: new Set(), announcedChannels: new Set(), transportSsrcs: new Set(), warnings: [] };
  const dirs = new Map<string, Direction>();
  frames.forEach((f, at) => {
    const l = frameLayers(f);
    if (!l) return;
    const payload = f.data.subarray(l.payloadAt, l.payloadEnd);
    if (l.proto === 'udp') {
      if (l.srcPort === MIKEY_UDP_PORT || l.dstPort === MIKEY_UDP_PORT) {
        if (payload.length) sig.found.push({ frame: f.no, time: f.time, where: `udp ${MIKEY_UDP_PORT}`, bytes: payload });
        return;
      }
      if (payload.length >= 12 && payload[0]! >> 6 !== 2) {
        const text = Buffer.from(payload.subarray(0, 65536)).toString('latin1');
        if (TEXT_START.test(text)) {
          for (const m of mikeyInText(text, text.includes('RTSP/1.0') ? 'rtsp/udp' : 'sip/udp')) sig.found.push({ frame: f.no, time: f.time, where: m.where, b64: m.b64 });
          for (const m of text.matchAll(/^m=\S+ (\d+)/gm)) sig.announcedPorts.add(m[1]!);
        }
        return;
      }
      if (classify(payload)) sig.media.push({ frame: f, at, layers: l, data: payload, time: f.time, transport: 'udp', flow: `${l.src}:${l.srcPort} > ${l.dst}:${l.dstPort}` });
      return;
    }
    if (l.payloadEnd <= l.payloadAt) return;
    const a = `${l.src}:${l.srcPort}`;
    const b = `${l.dst}:${l.dstPort}`;
    const key = `${a} > ${b}`;
    let d = dirs.get(key);
    if (!d) dirs.set(key, d = { key, conn: a < b ? `${a}|${b}` : `${b}|${a}`, segs: [] });
    d.segs.push({ at, frame: f, layers: l, seq: l.seq!, payload });
  });
  const conns = new Map<string, Conn>();
  // each direction in sequence order; requests before the answers that name them, by first frame
  const order = [...dirs.values()].sort((x, y) => x.segs[0]!.at - y.segs[0]!.at);
  const items: Array<{ at: number; frame: CaptureFrame; layers: FrameLayers; dir: Direction; item: RtspItem }> = [];
  for (const d of order) {
    const first = d.segs[0]!;
    const rel = (s: Seg) => (s.seq - first.seq) | 0;
    const sorted = d.segs.map((s, i) => ({ s, i })).sort((x, y) => rel(x.s) - rel(y.s) || x.i - y.i).map((x) => x.s);
    const head = Buffer.from(sorted[0]!.payload.subarray(0, 200)).toString('latin1');
    if (!RTSP_START.test(head) && sorted[0]!.payload[0] !== 0x24) {
      // not RTSP: SDP in SIP or elsewhere, searched as text
      const text = Buffer.concat(sorted.slice(0, 256).map((s) => s.payload)).subarray(0, 1 << 20).toString('latin1');
      if (TEXT_START.test(text)) for (const m of mikeyInText(text, text.includes('RTSP/1.0') ? 'rtsp/tcp' : 'sip/tcp')) sig.found.push({ frame: first.frame.no, time: first.frame.time, where: m.where, b64: m.b64 });
      continue;
    }
    let parser = new RtspParser({ maxBody: 1 << 20 });
    let next: number | undefined;
    let held = 0;
    let broken = false;
    for (const s of sorted) {
      let p = s.payload;
      if (next !== undefined) {
        const gap = (s.seq - next) | 0;
        if (gap < 0) {
          if (-gap >= p.length) continue; // retransmission
          p = p.subarray(-gap);
        } else if (gap > 0) {
          sig.warnings.push(`tcp ${d.key}: ${gap} byte(s) missing before frame ${s.frame.no}; RTSP resumed at the next message or frame start`);
          parser = new RtspParser({ maxBody: 1 << 20 });
          broken = true;
        }
      }
      next = (s.seq + s.payload.length) >>> 0;
      if (broken) {
        // resynchronize: only at a segment that starts an RTSP message or an interleaved frame
        if (!(p[0] === 0x24 || RTSP_START.test(Buffer.from(p.subarray(0, 200)).toString('latin1')))) continue;
        broken = false;
      }
      if (++held > MAX_HELD_SEGMENTS * 4096) break;
      try {
        for (const item of parser.push(Buffer.from(p))) items.push({ at: s.at, frame: s.frame, layers: s.layers, dir: d, item });
      } catch (e) {
        sig.warnings.push(`tcp ${d.key}: RTSP unreadable from frame ${s.frame.no} (${(e as Error).message}); resumed at the next message or frame start`);
        parser = new RtspParser({ maxBody: 1 << 20 });
        broken = true;
      }
    }
  }
  items.sort((x, y) => x.at - y.at);
  for (const { at, frame, layers, dir, item } of items) {
    let c = conns.get(dir.conn);
    if (!c) conns.set(dir.conn, c = { cseq: new Map(), channels: new Set() });
    if (item.kind === 'interleaved') {
      if (classify(item.data)) sig.media.push({ frame, at, layers, data: new Uint8Array(item.data), time: frame.time, transport: 'rtsp-interleaved', flow: `${dir.key} channel ${item.channel}`, channel: item.channel });
      continue;
    }
    const cseq = item.headers['cseq'] ?? '';
    let label: string;
    if (item.kind === 'request') {
      c.cseq.set(cseq, item.method);
      label = `rtsp ${item.method}`;
    } else label = `rtsp ${c.cseq.get(cseq) ?? ''} answer ${item.status}`.replace('  ', ' ');
    const t = item.headers['transport'];
    if (t !== undefined) {
      try {
        addTransport(sig, parseTransport(t), dir.conn, c);
      } catch { /* a Transport we cannot read announces nothing */ }
    }
    if (item.kind === 'response' || item.method === 'ANNOUNCE') {
      const body = item.body.toString('latin1');
      for (const m of body.matchAll(/^m=\S+ (\d+)/gm)) if (m[1] !== '0') sig.announcedPorts.add(m[1]!);
    }
    for (const m of mikeyInRtsp(item, label)) sig.found.push({ frame: frame.no, time: frame.time, where: m.where, b64: m.b64 });
  }
  sig.media.sort((x, y) => x.at - y.at);
  sig.found.sort((x, y) => x.frame - y.frame);
  return sig;
}

// ---- opening the messages ------------------------------------------------------------------

class Opener {
  private now = 0;
  private readonly clock: Clock = { now: () => this.now };
  // wide skew: the messages are judged at their own time, not now
  private readonly nullResponder = new RtspNullResponder({ lenient: true, clock: this.clock, maxSkewMs: 1e13, minimumPolicy: NO_MINIMUM_POLICY });
  private readonly pskResponder?: PskResponder;
  /** RAND per CSB ID, for updates of public-key messages. */
  private readonly rands = new Map<number, Uint8Array>();
  private readonly seen = new Set<string>();

  constructor(private readonly o: DecryptOptions) {
    if (o.psk) this.pskResponder = new PskResponder({ psk: o.psk, clock: this.clock, maxSkewMs: 1e13, minimumPolicy: NO_MINIMUM_POLICY, allowUnprotected: true });
  }

  /** The bundle of a message, or why not; undefined for messages that carry no keys (verification, error). */
  async open(bytes: Uint8Array): Promise<{ bundle?: CryptoSessionBundle; skip?: string; method: string }> {
    const k = hex(bytes);
    if (this.seen.has(k)) return { skip: 'the same message again', method: '' };
    if (this.seen.size < 4096) this.seen.add(k);
    let msg: DecodedMessage;
    try {
      msg = decodeMessage(bytes, { allowTrailingBytes: true });
    } catch (e) {
      throw new Error(`not a MIKEY message: ${(e as Error).message}`);
    }
    const t = msg.payloads.find((p): p is TPayload => p.type === PayloadType.T);
    this.now = t && (t.tsType === TsType.NtpUtc || t.tsType === TsType.Ntp || t.tsType === TsType.NtpUtc32) ? ntpToMs(t.value) : Date.now();
    const kemac = msg.payloads.find((p): p is KemacPayload => p.type === PayloadType.Kemac);
    const dt = msg.header.dataType;
    if (dt === DataType.PreShared && kemac) {
      if (kemac.encrAlg === EncrAlg.Null && kemac.macAlg === MacAlg.Null) {
        const got = await this.nullResponder.receive(bytes);
        return { bundle: got.bundle, method: `MIKEY-NULL${got.quirks.length ? ` (quirks: ${got.quirks.map((q) => q.quirk).join(', ')})` : ''}` };
      }
      if (!this.pskResponder) return { skip: 'pre-shared-key message with a protected KEMAC: give --psk', method: 'MIKEY-PSK' };
      const got = await this.pskResponder.receive(msg.trailingBytes ? bytes.subarray(0, bytes.length - msg.trailingBytes) : bytes);
      return { bundle: got.bundle, method: 'MIKEY-PSK' };
    }
    if (dt === DataType.PublicKey && kemac) {
      if (!this.o.privateKey) return { skip: 'public-key message: give --key with the responder\'s private key', method: 'MIKEY-PK' };
      const rand = msg.payloads.find((p) => p.type === PayloadType.Rand) as { rand: Uint8Array } | undefined;
      if (rand) this.rands.set(msg.header.csbId, rand.rand);
      const opened = openKemac(msg, { privateKey: this.o.privateKey }, rand ? undefined : this.rands.get(msg.header.csbId));
      if (!opened.macValid) throw new Error(opened.problem ?? 'KEMAC MAC does not verify');
      if (!opened.bundle) throw new Error(opened.problem ?? 'no SRTP keys');
      return { bundle: opened.bundle, method: 'MIKEY-PK' };
    }
    const names: Record<number, string> = { [DataType.PskVerification]: 'a verification message', [DataType.PkVerification]: 'a verification message', [DataType.Error]: 'an Error message' };
    const what = names[dt];
    if (what) return { skip: `${what}: no keys`, method: '' };
    return { skip: `data type ${dt}: not opened here (give the keys with --key-salt)`, method: '' };
  }
}

// ---- pass 2: the media ---------------------------------------------------------------------

function trailerMki(p: Uint8Array, key: PoolKey, rtcp: boolean): string | undefined {
  if (!key.mki) return undefined;
  const prof = SRTP_PROFILES[key.profile];
  const tag = prof.cipher === 'AES-GCM' ? 0 : rtcp ? prof.rtcpTagLen : prof.rtpTagLen;
  const at = p.length - tag - key.mki.length;
  if (at < 12) return undefined;
  return hex(p.subarray(at, at + key.mki.length));
}

/** Decrypt the SRTP/SRTCP of a capture with the keys of its MIKEY messages (and any given). */
export async function decryptCapture(bytes: Uint8Array, o: DecryptOptions = {}): Promise<{ report: DecryptReport; capture: Buffer }> {
  let read;
  try {
    read = readFrames(bytes);
  } catch (e) {
    throw new SrtpCaptureError((e as Error).message);
  }
  const { frames } = read;
  const sig = signalling(frames);
  const warnings = [...(read.warning ? [read.warning] : []), ...sig.warnings];
  const pool: PoolKey[] = [];
  const messages: KeyMessageReport[] = [];
  const mkiOwner = new Map<string, PoolKey>();
  const addKey = (k: Omit<PoolKey, 'id' | 'mkiHex'>): PoolKey => {
    const key: PoolKey = { ...k, id: pool.length, mkiHex: k.mki ? hex(k.mki) : undefined };
    pool.push(key);
    return key;
  };
  for (const [i, d] of (o.keys ?? []).entries()) {
    const profile = d.profile ?? o.profile ?? 'AES_CM_128_HMAC_SHA1_80';
    const p = SRTP_PROFILES[profile];
    if (d.keySalt.length !== p.masterKeyLen + p.masterSaltLen) throw new RangeError(`key ${i + 1}: ${d.keySalt.length} bytes, ${profile} needs ${p.masterKeyLen + p.masterSaltLen} (key ‖ salt)`);
    addKey({ profile, masterKey: d.keySalt.subarray(0, p.masterKeyLen), masterSalt: d.keySalt.subarray(p.masterKeyLen), mki: d.mki, ssrc: 0, roc: 0, time: -Infinity, from: `--key-salt ${i + 1}` });
  }
  const opener = new Opener(o);
  for (const f of sig.found.slice(0, 10_000)) {
    const r: KeyMessageReport = { frame: f.frame, where: f.where, status: 'failed', detail: '', keys: [] };
    messages.push(r);
    let b = f.bytes;
    if (!b) {
      if (!isBase64(f.b64!)) {
        r.detail = 'not base64';
        continue;
      }
      b = new Uint8Array(Buffer.from(f.b64!, 'base64'));
    }
    try {
      const got = await opener.open(b);
      if (!got.bundle) {
        r.status = 'skipped';
        r.detail = got.skip!;
        continue;
      }
      const notes: string[] = [];
      for (const c of srtpContexts(got.bundle)) {
        r.keys.push({ mki: c.mki && hex(c.mki), ssrc: ssrcHex(c.ssrc), roc: c.roc, profile: c.profile });
        if (!c.profile) {
          notes.push(`crypto session ${c.csId}: the SRTP policy is none of the named profiles`);
          continue;
        }
        const key = addKey({ profile: c.profile, masterKey: c.masterKey, masterSalt: c.masterSalt, mki: c.mki, ssrc: c.ssrc, roc: c.roc, time: f.time, from: `frame ${f.frame} (${f.where})` });
        if (key.mkiHex) {
          const prev = mkiOwner.get(key.mkiHex);
          if (prev && (hex(prev.masterKey) !== hex(key.masterKey) || hex(prev.masterSalt) !== hex(key.masterSalt))) {
            notes.push(`stale MKI ${key.mkiHex}: already the MKI of another key (${prev.from}); packets with it are tried under both`);
          } else if (!prev) mkiOwner.set(key.mkiHex, key);
        }
      }
      r.status = 'opened';
      r.detail = [got.method, ...notes].join('; ');
    } catch (e) {
      r.detail = (e as Error).message;
    }
  }
  // SSRC 0 in a message: the responder fills it in (RFC 3830 §6.1.1); the SETUP answer's Transport says which
  const streams = new Map<string, Stream>();
  const maxStreams = o.maxStreams ?? 256;
  const maxTrials = o.maxTrials ?? 16;
  let overflow = 0;
  const out: Array<{ time: number; data: Uint8Array } | undefined> = frames.map((f) => ({ time: f.time, data: f.data }));
  const added = new Map<number, Array<{ time: number; data: Uint8Array }>>();
  let decryptedFrames = 0;

  const newCtx = (key: PoolKey, ssrc: number, roc: number): Ctx | undefined => {
    try {
      return { key, ep: new SrtpEndpoint({ profile: key.profile, keys: [key], ssrc, roc, replayWindow: 1024 }) };
    } catch {
      return undefined;
    }
  };

  /** RFC 3711 §3.3.1: the ROC the stream's state gives this SEQ. */
  const rocFor = (s: Stream, seq: number): number => {
    if (s.lastSeq < 0) return s.roc;
    if (s.lastSeq < 0x8000) return seq - s.lastSeq > 0x8000 ? Math.max(0, s.roc - 1) : s.roc;
    return s.lastSeq - 0x8000 > seq ? s.roc + 1 : s.roc;
  };

  const tryCtx = (s: Stream, c: Ctx, p: Uint8Array): Uint8Array | SrtpError => {
    try {
      return s.rtcp ? c.ep.unprotectRtcp(p) : c.ep.unprotectRtp(p);
    } catch (e) {
      return e instanceof SrtpError ? e : new SrtpError('malformed', (e as Error).message);
    }
  };

  /** Candidate keys for a packet the stream's keys did not open, best first. */
  const candidates = (s: Stream, p: Uint8Array, time: number): PoolKey[] => {
    const have = new Set(s.ctxs.map((c) => c.key.id));
    const rank = (k: PoolKey): number => {
      const m = trailerMki(p, k, s.rtcp);
      if (k.mki && m !== k.mkiHex) return -1; // an MKI says which key: no other is tried
      let r = 0;
      if (k.mki) r += 8;
      if (k.ssrc === s.ssrc) r += 4;
      else if (k.ssrc === 0 || sig.transportSsrcs.has(s.ssrc)) r += 2;
      if (k.time <= time) r += 1;
      return r;
    };
    return pool.filter((k) => !have.has(k.id)).map((k) => ({ k, r: rank(k) })).filter((x) => x.r >= 0)
      // best rank first; among equals, the latest key before the packet, then the earliest after it
      .sort((a, b) => b.r - a.r || (a.k.time <= time && b.k.time <= time ? b.k.time - a.k.time : a.k.time - b.k.time))
      .map((x) => x.k);
  };

  for (const m of sig.media) {
    const kind = classify(m.data)!;
    const rtcp = kind === 'rtcp';
    const v = new DataView(m.data.buffer, m.data.byteOffset, m.data.length);
    const ssrc = rtcp ? v.getUint32(4) : v.getUint32(8);
    const id = `${kind}|${m.flow}|${ssrc}`;
    let s = streams.get(id);
    if (!s) {
      if (streams.size >= maxStreams) {
        overflow++;
        continue;
      }
      const announced = m.transport === 'udp'
        ? sig.announcedPorts.has(String(m.layers.srcPort)) || sig.announcedPorts.has(String(m.layers.dstPort))
        : true;
      s = {
        rtcp, ssrc, ctxs: [], trials: new Map(), lastSeq: -1, roc: 0,
        report: { kind: rtcp ? 'srtcp' : 'srtp', ssrc: ssrcHex(ssrc), transport: m.transport, flow: m.flow, announced, packets: 0, decrypted: 0, failed: 0, failures: {}, mkis: [], roc: 0, keyChanges: 0, keySources: [] },
      };
      streams.set(id, s);
    }
    const r = s.report;
    r.packets++;
    const seq = rtcp ? 0 : v.getUint16(2);
    let plain: Uint8Array | undefined;
    let err: SrtpError | undefined;
    let used: Ctx | undefined;
    // 1. the stream's keys: the one the packet's MKI names, else the current one, then the earlier ones
    const order = s.current ? [s.current, ...s.ctxs.filter((c) => c !== s!.current).reverse()] : [];
    for (const c of order) {
      const tm = c.key.mki ? trailerMki(m.data, c.key, rtcp) : undefined;
      if (tm !== undefined && tm !== c.key.mkiHex) continue; // too short to hold one: refused as malformed below
      const got = tryCtx(s, c, m.data);
      if (got instanceof SrtpError) {
        err ??= got;
        if (got.reason === 'malformed') break;
        continue;
      }
      plain = got;
      used = c;
      break;
    }
    // 2. a key of the capture not yet on this stream: a re-key (by MKI, or without MKI by authentication)
    if (!plain && err?.reason !== 'malformed') {
      let tried = 0;
      for (const k of candidates(s, m.data, m.time)) {
        if (tried >= maxTrials) break;
        let c = s.trials.get(k.id);
        if (!c) {
          if (s.trials.size >= 64) s.trials.delete(s.trials.keys().next().value!);
          // a stream that runs on keeps its ROC across the re-key (ONVIF); a new stream starts at the message's
          c = newCtx(k, ssrc, s.current ? rocFor(s, seq) : k.roc);
          if (!c) continue;
          s.trials.set(k.id, c);
        }
        tried++;
        const got = tryCtx(s, c, m.data);
        if (got instanceof SrtpError) {
          if (!err || err.reason === 'auth' && got.reason !== 'auth') err = got;
          continue;
        }
        plain = got;
        used = c;
        s.trials.delete(k.id);
        s.ctxs.push(c);
        if (s.ctxs.length > 8) s.ctxs.splice(0, 1);
        if (!r.keySources.includes(k.from) && r.keySources.length < 32) r.keySources.push(k.from);
        r.profile = k.profile;
        break;
      }
      if (!plain && !err) {
        const mki = s.current && trailerMki(m.data, s.current.key, rtcp);
        err = new SrtpError('mki', mki ? `unknown MKI ${mki}: no key of the capture (or given) has it` : pool.length ? 'no key of the capture (or given) authenticates this stream' : 'no keys: no MIKEY message opened, none given');
      }
    }
    if (!plain || !used) {
      r.failed++;
      const reason: SrtpFailure | 'no-key' = !s.current && err && (err.reason === 'auth' || err.reason === 'mki') ? 'no-key' : err?.reason ?? 'malformed';
      r.failures[reason] = (r.failures[reason] ?? 0) + 1;
      r.firstError ??= `frame ${m.frame.no}: ${err?.message ?? 'not decrypted'}`;
      continue;
    }
    if (s.current && used !== s.current) r.keyChanges++;
    s.current = used;
    r.decrypted++;
    if (used.key.mkiHex && !r.mkis.includes(used.key.mkiHex) && r.mkis.length < 64) r.mkis.push(used.key.mkiHex);
    if (!rtcp) {
      const roc = used.ep.rolloverCounter;
      if (roc > s.roc || (roc === s.roc && (s.lastSeq < 0 || seq > s.lastSeq))) {
        s.roc = roc;
        s.lastSeq = seq;
      }
      r.roc = s.roc;
    }
    // the output: the same frame with the plain packet, or interleaved media as UDP after its frame
    if (m.transport === 'udp') {
      out[m.at] = { time: m.time, data: withUdpPayload(m.frame, m.layers, plain) };
      decryptedFrames++;
    } else {
      const port = INTERLEAVED_UDP_BASE + m.channel!;
      const list = added.get(m.at) ?? [];
      if (!added.has(m.at)) added.set(m.at, list);
      list.push({ time: m.time, data: withUdpPayload(m.frame, m.layers, plain, [port, port]) });
    }
  }
  if (overflow) warnings.push(`more than ${maxStreams} streams: ${overflow} packet(s) of further streams not followed`);

  // one link type in the output: the capture's, or raw IP when it mixes several
  const links = new Set(frames.map((f) => f.link));
  const mixed = links.size > 1;
  const link = mixed ? 101 : frames[0]?.link ?? 1;
  let dropped = 0;
  const records: Array<{ time: number; data: Uint8Array }> = [];
  const push = (f: CaptureFrame, rec: { time: number; data: Uint8Array }) => {
    if (!mixed) return records.push(rec);
    const l = frameLayers({ ...f, data: rec.data });
    if (!l) return dropped++;
    records.push({ time: rec.time, data: rec.data.subarray(l.ipAt) });
  };
  frames.forEach((f, i) => {
    push(f, out[i]!);
    for (const a of added.get(i) ?? []) push(f, a);
  });
  if (mixed) warnings.push(`the capture mixes link types ${[...links].join(', ')}: written as raw IP, ${dropped} non-IP frame(s) left out`);
  const streamReports = [...streams.values()].map((s) => s.report);
  const judged = streamReports.some((s) => s.announced) ? streamReports.filter((s) => s.announced) : streamReports;
  const addedCount = [...added.values()].reduce((a, l) => a + l.length, 0);
  const report: DecryptReport = {
    frames: frames.length, messages, streams: streamReports, warnings,
    written: { kept: frames.length - decryptedFrames - (mixed ? dropped : 0), decrypted: decryptedFrames, added: addedCount, dropped },
    ok: judged.length > 0 && judged.every((s) => s.packets > 0 && s.failed === 0),
  };
  return { report, capture: writePcap(link, records) };
}

/** The report as text, a line per fact. */
export function formatDecryptReport(r: DecryptReport): string {
  const out = [`${r.frames} frames, ${r.messages.length} MIKEY message(s), ${r.streams.length} stream(s)`];
  for (const m of r.messages) {
    out.push(`  key frame ${m.frame} (${m.where}): ${m.status}${m.detail ? `: ${m.detail}` : ''}`);
    for (const k of m.keys) out.push(`    SSRC ${k.ssrc}, ROC ${k.roc}, MKI ${k.mki ?? 'none'}, ${k.profile ?? 'unnamed policy'}`);
  }
  for (const s of r.streams) {
    const fails = Object.entries(s.failures).map(([k, v]) => `${k} ${v}`).join(', ');
    out.push(`  ${s.kind} SSRC ${s.ssrc} ${s.transport} ${s.flow}${s.announced ? '' : ' (not announced in the capture)'}`);
    out.push(`    packets ${s.packets}, decrypted ${s.decrypted}, failed ${s.failed}${fails ? ` (${fails})` : ''}`);
    out.push(`    MKIs ${s.mkis.length ? s.mkis.join(', ') : 'none'}${s.kind === 'srtp' ? `, ROC ${s.roc}` : ''}${s.keyChanges ? `, key changes ${s.keyChanges}` : ''}${s.profile ? `, ${s.profile}` : ''}`);
    if (s.keySources.length) out.push(`    keys from ${s.keySources.join('; ')}`);
    if (s.firstError) out.push(`    first failure: ${s.firstError}`);
  }
  for (const w of r.warnings) out.push(`  warning: ${w}`);
  out.push(`  written: ${r.written.decrypted} frame(s) decrypted in place, ${r.written.added} interleaved packet(s) added as UDP (ports ${INTERLEAVED_UDP_BASE}+channel), ${r.written.kept} kept as they were`);
  out.push(r.ok ? 'result: every packet of every stream decrypted' : r.streams.length ? 'result: NOT every packet decrypted (see the streams above)' : 'result: no SRTP/SRTCP stream found');
  return out.join('\n');
}
