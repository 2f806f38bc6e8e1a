// SRTP and SRTCP for one RTSP stream over the SrtpEndpoint: a sender that re-keys to a new MKI
// keeping its ROC (ONVIF: the device never resets the ROC), and a receiver that counts what it
// receives, authenticates and refuses, the MKIs it saw and the ROC, and that takes new keys
// while packets under the old one are still arriving (RFC 3711 §8.1). Without MKIs, a re-key
// replaces the key at once: the receiver then tries the new key and the previous one.
import { ntpTimestamp } from '../session/time.js';
import { SrtpEndpoint, SrtpError, type SrtpFailure, type SrtpMasterKeySpec } from '../srtp/endpoint.js';
import type { SrtpProfileName } from '../session/policy.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
/** Master keys kept live per stream: the current one and those packets in flight may use. */
const MAX_KEYS = 3;

export interface MediaCounters {
  received: number;
  authenticated: number;
  failed: number;
  failures: Partial<Record<SrtpFailure, number>>;
}

export interface MediaStats {
  rtp: MediaCounters;
  rtcp: MediaCounters;
  /** MKIs (hex) of authenticated SRTP packets, in the order first seen. */
  mkis: string[];
  /** ROC of the highest authenticated index. */
  roc: number;
  /** Authenticated SRTP indexes: lowest, highest, and how many between them were never authenticated. */
  firstIndex?: number;
  lastIndex?: number;
  missing: number;
  /** The first failure, with its reason, for reports. */
  firstError?: string;
}

function counters(): MediaCounters {
  return { received: 0, authenticated: 0, failed: 0, failures: {} };
}

export interface SrtpReceiverOptions {
  profile: SrtpProfileName;
  keys: readonly SrtpMasterKeySpec[];
  ssrc?: number;
  roc?: number;
}

/** The receiving side of one stream. */
export class SrtpReceiver {
  private endpoints: SrtpEndpoint[];
  private readonly mkiLen: number;
  private readonly known = new Set<string>();
  readonly stats: MediaStats = { rtp: counters(), rtcp: counters(), mkis: [], roc: 0, missing: 0 };

  constructor(private readonly opts: SrtpReceiverOptions) {
    this.endpoints = [new SrtpEndpoint({ profile: opts.profile, keys: opts.keys, ssrc: opts.ssrc, roc: opts.roc })];
    this.mkiLen = opts.keys[0]?.mki?.length ?? 0;
    for (const k of opts.keys) if (k.mki) this.known.add(hex(k.mki));
    this.stats.roc = opts.roc ?? 0;
  }

  get profile(): SrtpProfileName {
    return this.opts.profile;
  }

  get ssrc(): number {
    return this.endpoints[0]!.ssrc;
  }

  /** True when this MKI was ever a key of the stream. */
  hasMki(mki: Uint8Array): boolean {
    return this.known.has(hex(mki));
  }

  /** True when the packet carries an MKI that none of the stream's live keys has (RFC 3711 §3.1). */
  unknownMki(packet: Uint8Array, rtcp = false): boolean {
    if (!this.mkiLen) return false;
    const e = this.endpoints[0]!;
    const p = e.profile;
    const at = packet.length - this.mkiLen - (p.cipher === 'AES-GCM' ? 0 : rtcp ? p.rtcpTagLen : p.rtpTagLen);
    if (at < 12) return false;
    const m = hex(packet.subarray(at, at + this.mkiLen));
    return !e.mkis.some((k) => hex(k) === m);
  }

  /**
   * Take a new master key; the old ones stay for packets in flight. A key whose MKI the stream
   * has already had is refused (a stale re-key), with SrtpError 'mki'.
   */
  addKey(k: SrtpMasterKeySpec): void {
    if ((k.mki?.length ?? 0) !== this.mkiLen) throw new SrtpError('mki', `new key with an MKI of ${k.mki?.length ?? 0} bytes, the stream's are ${this.mkiLen}`);
    if (k.mki) {
      if (this.known.has(hex(k.mki))) throw new SrtpError('mki', `stale re-key: MKI ${hex(k.mki)} was already used on this stream`);
      const e = this.endpoints[0]!;
      e.addKey(k);
      this.known.add(hex(k.mki));
      const mkis = e.mkis;
      if (mkis.length > MAX_KEYS) e.removeKey(mkis[0]!);
      return;
    }
    const cur = this.endpoints[0]!;
    this.endpoints = [new SrtpEndpoint({ profile: this.opts.profile, keys: [k], ssrc: cur.ssrc, roc: cur.rolloverCounter }), cur];
  }

  private fail(c: MediaCounters, e: unknown): undefined {
    c.failed++;
    const reason = e instanceof SrtpError ? e.reason : 'malformed';
    c.failures[reason] = (c.failures[reason] ?? 0) + 1;
    this.stats.firstError ??= (e as Error).message;
    return undefined;
  }

  /** The RTP packet, or undefined when it does not authenticate (counted with its reason). */
  unprotectRtp(packet: Uint8Array): Uint8Array | undefined {
    return this.unprotect(this.stats.rtp, packet, true);
  }

  unprotectRtcp(packet: Uint8Array): Uint8Array | undefined {
    return this.unprotect(this.stats.rtcp, packet, false);
  }

  /** Each key in turn (the newest first) while the failure is authentication; counted either way. */
  private unprotect(c: MediaCounters, packet: Uint8Array, rtp: boolean): Uint8Array | undefined {
    c.received++;
    let first: unknown;
    for (const e of this.endpoints) {
      try {
        const plain = rtp ? e.unprotectRtp(packet) : e.unprotectRtcp(packet);
        c.authenticated++;
        if (rtp) this.seen(packet, plain, e);
        return plain;
      } catch (err) {
        first ??= err;
        if (!(err instanceof SrtpError) || err.reason !== 'auth') break;
      }
    }
    return this.fail(c, first);
  }

  private seen(packet: Uint8Array, plain: Uint8Array, e: SrtpEndpoint): void {
    const s = this.stats;
    if (this.mkiLen) {
      const p = e.profile;
      const at = packet.length - this.mkiLen - (p.cipher === 'AES-GCM' ? 0 : p.rtpTagLen);
      const m = hex(packet.subarray(at, at + this.mkiLen));
      if (!s.mkis.includes(m)) s.mkis.push(m);
    }
    s.roc = e.rolloverCounter;
    const seq = (plain[2]! << 8) | plain[3]!;
    const index = s.roc * 0x10000 + seq;
    if (s.firstIndex === undefined || s.lastIndex === undefined) {
      s.firstIndex = s.lastIndex = index;
    } else if (index > s.lastIndex) {
      s.missing += index - s.lastIndex - 1;
      s.lastIndex = index;
    } else if (s.missing > 0) s.missing--; // a late packet fills a gap
  }
}

export interface SrtpSenderOptions {
  profile: SrtpProfileName;
  key: SrtpMasterKeySpec;
  ssrc: number;
  roc?: number;
}

/** The sending side of one stream: protects with the current key; re-keys keeping the ROC. */
export class SrtpSender {
  private endpoint: SrtpEndpoint;
  private readonly used = new Set<string>();
  private currentKey: SrtpMasterKeySpec;

  constructor(private readonly opts: SrtpSenderOptions) {
    this.endpoint = new SrtpEndpoint({ profile: opts.profile, keys: [opts.key], ssrc: opts.ssrc, roc: opts.roc });
    this.currentKey = opts.key;
    if (opts.key.mki) this.used.add(hex(opts.key.mki));
  }

  get roc(): number {
    return this.endpoint.rolloverCounter;
  }

  get ssrc(): number {
    return this.opts.ssrc;
  }

  get profile(): SrtpProfileName {
    return this.opts.profile;
  }

  get key(): SrtpMasterKeySpec {
    return this.currentKey;
  }

  /** True when this MKI was ever a key of the stream. */
  hasMki(mki: Uint8Array): boolean {
    return this.used.has(hex(mki));
  }

  /** Send under a new key from the next packet on (RFC 3830 §4.5); the ROC goes on. */
  rekey(k: SrtpMasterKeySpec): void {
    const mkiLen = this.currentKey.mki?.length ?? 0;
    if ((k.mki?.length ?? 0) !== mkiLen) throw new SrtpError('mki', `new key with an MKI of ${k.mki?.length ?? 0} bytes, the stream's are ${mkiLen}`);
    if (k.mki) {
      if (this.used.has(hex(k.mki))) throw new SrtpError('mki', `stale re-key: MKI ${hex(k.mki)} was already used on this stream`);
      this.endpoint.addKey(k);
      this.endpoint.useKey(k.mki);
      this.used.add(hex(k.mki));
      const mkis = this.endpoint.mkis;
      if (mkis.length > MAX_KEYS) this.endpoint.removeKey(mkis[0]!);
    } else {
      this.endpoint = new SrtpEndpoint({ profile: this.opts.profile, keys: [k], ssrc: this.opts.ssrc, roc: this.endpoint.rolloverCounter });
    }
    this.currentKey = k;
  }

  protectRtp(p: Uint8Array): Uint8Array {
    return this.endpoint.protectRtp(p);
  }

  protectRtcp(p: Uint8Array): Uint8Array {
    return this.endpoint.protectRtcp(p);
  }
}

/** An RTCP sender report without report blocks (RFC 3550 §6.4.1). */
export function senderReport(ssrc: number, rtpTs: number, packets: number, octets: number, now = Date.now()): Uint8Array {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = 200;
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  b.set(ntpTimestamp(now), 8);
  b.writeUInt32BE(rtpTs >>> 0, 16);
  b.writeUInt32BE(packets >>> 0, 20);
  b.writeUInt32BE(octets >>> 0, 24);
  return new Uint8Array(b);
}

/** An RTCP receiver report without report blocks (RFC 3550 §6.4.2). */
export function receiverReport(ssrc: number): Uint8Array {
  const b = Buffer.alloc(8);
  b[0] = 0x80;
  b[1] = 201;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(ssrc >>> 0, 4);
  return new Uint8Array(b);
}
