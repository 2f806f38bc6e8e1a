// A small SRTP/SRTCP endpoint (RFC 3711, RFC 6188, RFC 7714) over the keys MIKEY hands off:
// every named profile, MKI with several master keys live at once (RFC 3711 §3.1, §8.1), the
// ROC from the crypto session (RFC 3830 §6.1.1), index estimation and a replay list (§3.3).
// It is what `mikey demo`'s media leg and the RTSP interop tests protect and unprotect with.
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual, type CipherGCMTypes } from 'node:crypto';
import { deriveProfileSessionKeys, SRTP_PROFILES, type SrtpProfile, type SrtpProfileName, type SrtpSessionKeys } from '../crypto/srtp-kdf.js';

export type SrtpFailure = 'malformed' | 'auth' | 'replay' | 'mki' | 'ssrc' | 'index';

/** Why a packet was refused; `reason` says which check failed. */
export class SrtpError extends Error {
  override readonly name = 'SrtpError';
  constructor(readonly reason: SrtpFailure, message: string) {
    super(message);
  }
}

/** One master key (RFC 3711 §8.1: a key and salt, selected by its MKI). */
export interface SrtpMasterKeySpec {
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
  mki?: Uint8Array;
}

export interface SrtpEndpointOptions {
  profile: SrtpProfileName;
  keys: readonly SrtpMasterKeySpec[];
  /** SSRC of the stream; 0 or absent: bound to the first SSRC that authenticates (RFC 3830 §6.1.1). */
  ssrc?: number;
  /** Initial roll-over counter (RFC 3711 §3.3.1; MIKEY carries it in the CS map). */
  roc?: number;
  /** Key derivation rate (RFC 3711 §4.3.1), 0 by default. */
  kdr?: number;
  /** Replay list size in packets (default 128). */
  replayWindow?: number;
}

interface KeyState {
  spec: SrtpMasterKeySpec;
  /** Session keys cached per derivation point r = index DIV kdr. */
  rtp: Map<bigint, SrtpSessionKeys>;
  rtcp: Map<bigint, SrtpSessionKeys>;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const CTR: Record<number, string> = { 16: 'aes-128-ctr', 24: 'aes-192-ctr', 32: 'aes-256-ctr' };
const GCM: Record<number, CipherGCMTypes> = { 16: 'aes-128-gcm', 32: 'aes-256-gcm' };

/** Length of the fixed RTP header with CSRCs and header extension (RFC 3550 §5.1, §5.3.1). */
export function rtpHeaderLength(p: Uint8Array): number {
  if (p.length < 12 || p[0]! >> 6 !== 2) throw new SrtpError('malformed', 'not an RTP version 2 packet');
  let n = 12 + 4 * (p[0]! & 0x0f);
  if (p[0]! & 0x10) {
    if (p.length < n + 4) throw new SrtpError('malformed', 'truncated RTP header extension');
    n += 4 + 4 * ((p[n + 2]! << 8) | p[n + 3]!);
  }
  if (p.length < n) throw new SrtpError('malformed', 'truncated RTP header');
  return n;
}

/** A sliding replay list over 48-bit indexes (RFC 3711 §3.3.2). */
class ReplayList {
  private top = -1n;
  private seen = 0n;
  constructor(private readonly size: bigint) {}
  check(i: bigint): boolean {
    if (this.top < 0n || i > this.top) return true;
    const d = this.top - i;
    return d < this.size && ((this.seen >> d) & 1n) === 0n;
  }
  add(i: bigint): void {
    if (i > this.top) {
      const shift = this.top < 0n ? this.size : i - this.top;
      this.seen = shift >= this.size ? 1n : ((this.seen << shift) | 1n) & ((1n << this.size) - 1n);
      this.top = i;
    } else this.seen |= 1n << (this.top - i);
  }
}

/**
 * One direction of one SRTP stream and its SRTCP: a sender or a receiver. Keys are added and
 * removed by MKI (re-keying); `useKey` picks the master key a sender uses.
 */
export class SrtpEndpoint {
  readonly profile: SrtpProfile;
  private readonly keys: KeyState[] = [];
  private current = 0;
  private ssrcValue: number;
  private readonly kdr: bigint;
  // RTP index state (RFC 3711 §3.3.1): s_l and ROC
  private roc: number;
  private sl = -1;
  private rtcpIndex = 0;
  private readonly rtpReplay: ReplayList;
  private readonly rtcpReplay: ReplayList;

  constructor(opts: SrtpEndpointOptions) {
    const p = (SRTP_PROFILES as Record<string, SrtpProfile | undefined>)[opts.profile];
    if (!p) throw new TypeError(`unknown SRTP profile ${opts.profile}`);
    this.profile = p;
    if (!opts.keys.length) throw new TypeError('an SRTP endpoint needs at least one master key');
    for (const k of opts.keys) this.addKey(k);
    this.ssrcValue = (opts.ssrc ?? 0) >>> 0;
    this.roc = (opts.roc ?? 0) >>> 0;
    this.kdr = BigInt(opts.kdr ?? 0);
    const w = BigInt(opts.replayWindow ?? 128);
    this.rtpReplay = new ReplayList(w);
    this.rtcpReplay = new ReplayList(w);
  }

  /** The SSRC (0 until a wildcard receiver has seen an authentic packet). */
  get ssrc(): number {
    return this.ssrcValue;
  }

  /** The roll-over counter of the highest index seen or sent (RFC 3711 §3.3.1). */
  get rolloverCounter(): number {
    return this.roc;
  }

  get mkis(): Uint8Array[] {
    return this.keys.flatMap((k) => (k.spec.mki ? [k.spec.mki] : []));
  }

  /** Add a master key; with MKIs every key must have one, all of one length (RFC 3711 §3.1). */
  addKey(spec: SrtpMasterKeySpec): void {
    const p = this.profile;
    if (spec.masterKey.length !== p.masterKeyLen) throw new TypeError(`${p.name}: master key of ${spec.masterKey.length} bytes (${p.masterKeyLen} expected)`);
    if (spec.masterSalt.length !== p.masterSaltLen) throw new TypeError(`${p.name}: master salt of ${spec.masterSalt.length} bytes (${p.masterSaltLen} expected)`);
    const first = this.keys[0]?.spec;
    if (first) {
      if (!first.mki || !spec.mki) throw new TypeError('several master keys need MKIs');
      if (first.mki.length !== spec.mki.length) throw new TypeError('every master key of a stream needs an MKI of the same length');
    }
    if (spec.mki && this.keys.some((k) => hex(k.spec.mki!) === hex(spec.mki!))) throw new TypeError(`MKI ${hex(spec.mki)} is already in use`);
    this.keys.push({ spec, rtp: new Map(), rtcp: new Map() });
  }

  /** Forget a master key (after a re-key has taken over). */
  removeKey(mki: Uint8Array): void {
    const i = this.keys.findIndex((k) => k.spec.mki && hex(k.spec.mki) === hex(mki));
    if (i < 0) throw new RangeError(`no master key with MKI ${hex(mki)}`);
    if (this.keys.length === 1) throw new RangeError('cannot remove the last master key');
    const cur = this.keys[this.current]!;
    this.keys.splice(i, 1);
    this.current = Math.max(0, this.keys.indexOf(cur));
  }

  /** Send with the master key of this MKI from now on. */
  useKey(mki: Uint8Array): void {
    const i = this.keys.findIndex((k) => k.spec.mki && hex(k.spec.mki) === hex(mki));
    if (i < 0) throw new RangeError(`no master key with MKI ${hex(mki)}`);
    this.current = i;
  }

  private sessionKeys(k: KeyState, rtcp: boolean, index: bigint): SrtpSessionKeys {
    const r = this.kdr === 0n ? 0n : index / this.kdr;
    const cache = rtcp ? k.rtcp : k.rtp;
    let s = cache.get(r);
    if (!s) {
      const at = { index, kdr: this.kdr };
      const all = deriveProfileSessionKeys(this.profile, k.spec.masterKey, k.spec.masterSalt, rtcp ? { rtcp: at } : { rtp: at });
      s = rtcp ? all.srtcp : all.srtp;
      if (cache.size > 4) cache.clear();
      cache.set(r, s);
    }
    return s;
  }

  private keyByMki(packet: Uint8Array, mkiAt: number): KeyState {
    const len = this.keys[0]!.spec.mki?.length ?? 0;
    if (len === 0) return this.keys[0]!;
    const mki = packet.subarray(mkiAt, mkiAt + len);
    const k = this.keys.find((x) => timingSafeEqual(x.spec.mki!, mki));
    if (!k) throw new SrtpError('mki', `unknown MKI ${hex(mki)}`);
    return k;
  }

  private get mkiLen(): number {
    return this.keys[0]!.spec.mki?.length ?? 0;
  }

  private checkSsrc(ssrc: number): void {
    if (this.ssrcValue !== 0 && ssrc !== this.ssrcValue) throw new SrtpError('ssrc', `SSRC 0x${ssrc.toString(16)} is not this stream's 0x${this.ssrcValue.toString(16)}`);
  }

  // ---- SRTP --------------------------------------------------------------------------------

  /** Protect an RTP packet (RFC 3711 §3.3). The sender's index follows the sequence numbers. */
  protectRtp(packet: Uint8Array): Uint8Array {
    const h = rtpHeaderLength(packet);
    const v = new DataView(packet.buffer, packet.byteOffset, packet.length);
    const seq = v.getUint16(2);
    const ssrc = v.getUint32(8);
    if (this.ssrcValue === 0) this.ssrcValue = ssrc;
    this.checkSsrc(ssrc);
    // sender side of §3.3.1: the ROC grows when SEQ wraps
    if (this.sl >= 0 && seq < this.sl && this.sl - seq > 0x8000) this.roc = (this.roc + 1) >>> 0;
    if (this.sl < 0 || seq > this.sl || this.sl - seq > 0x8000) this.sl = seq;
    const index = (BigInt(this.roc) << 16n) | BigInt(seq);
    const k = this.keys[this.current]!;
    const s = this.sessionKeys(k, false, index);
    const mki = k.spec.mki ?? new Uint8Array(0);
    const p = this.profile;
    const hdr = packet.subarray(0, h);
    if (p.cipher === 'AES-GCM') {
      const c = createCipheriv(GCM[s.encrKey.length]!, s.encrKey, gcmRtpIv(s.saltKey, ssrc, this.roc, seq));
      c.setAAD(hdr);
      const body = Buffer.concat([c.update(packet.subarray(h)), c.final(), c.getAuthTag()]);
      return concat(hdr, body, mki);
    }
    const body = p.cipher === 'NULL' ? packet.subarray(h) : ctr(s.encrKey, cmRtpIv(s.saltKey, ssrc, index), packet.subarray(h));
    const authed = concat(hdr, body);
    const tag = hmac(s.authKey, [authed, u32(this.roc)], p.rtpTagLen);
    return concat(authed, mki, tag);
  }

  /** Unprotect an SRTP packet: MKI, index estimation, replay list, tag, decryption. */
  unprotectRtp(packet: Uint8Array): Uint8Array {
    const p = this.profile;
    const h = rtpHeaderLength(packet);
    const tagLen = p.cipher === 'AES-GCM' ? 0 : p.rtpTagLen;
    const trailer = this.mkiLen + tagLen;
    const aead = p.cipher === 'AES-GCM' ? 16 : 0;
    if (packet.length < h + trailer + aead) throw new SrtpError('malformed', 'SRTP packet shorter than its header, tag and MKI');
    const v = new DataView(packet.buffer, packet.byteOffset, packet.length);
    const seq = v.getUint16(2);
    const ssrc = v.getUint32(8);
    this.checkSsrc(ssrc);
    const roc = this.estimateRoc(seq);
    const index = (BigInt(roc) << 16n) | BigInt(seq);
    if (!this.rtpReplay.check(index)) throw new SrtpError('replay', `SRTP index ${index} replayed or too old`);
    const mkiAt = packet.length - trailer;
    const k = this.keyByMki(packet, mkiAt);
    const s = this.sessionKeys(k, false, index);
    const hdr = packet.subarray(0, h);
    let payload: Uint8Array;
    if (p.cipher === 'AES-GCM') {
      const ct = packet.subarray(h, mkiAt - 16);
      const d = createDecipheriv(GCM[s.encrKey.length]!, s.encrKey, gcmRtpIv(s.saltKey, ssrc, roc, seq));
      d.setAAD(hdr);
      d.setAuthTag(packet.subarray(mkiAt - 16, mkiAt));
      try {
        payload = Buffer.concat([d.update(ct), d.final()]);
      } catch {
        throw new SrtpError('auth', 'SRTP AEAD tag does not verify');
      }
    } else {
      const authed = packet.subarray(0, mkiAt);
      const tag = packet.subarray(packet.length - tagLen);
      const want = hmac(s.authKey, [authed, u32(roc)], tagLen);
      if (!timingSafeEqual(want, tag)) throw new SrtpError('auth', 'SRTP authentication tag does not verify');
      const body = packet.subarray(h, mkiAt);
      payload = p.cipher === 'NULL' ? body : ctr(s.encrKey, cmRtpIv(s.saltKey, ssrc, index), body);
    }
    // only an authentic packet moves the state (§3.3.1, §3.3.2)
    this.rtpReplay.add(index);
    if (this.ssrcValue === 0) this.ssrcValue = ssrc;
    if (this.sl < 0 || roc > this.roc || (roc === this.roc && seq > this.sl)) {
      this.roc = roc;
      this.sl = seq;
    }
    return concat(hdr, payload);
  }

  /** RFC 3711 §3.3.1 / Appendix A: the ROC of a received SEQ. */
  private estimateRoc(seq: number): number {
    if (this.sl < 0) return this.roc;
    if (this.sl < 0x8000) return seq - this.sl > 0x8000 ? (this.roc - 1) >>> 0 : this.roc;
    return this.sl - 0x8000 > seq ? (this.roc + 1) >>> 0 : this.roc;
  }

  // ---- SRTCP -------------------------------------------------------------------------------

  /** Protect a (compound) RTCP packet (RFC 3711 §3.4; RFC 7714 §9 for AES-GCM). */
  protectRtcp(packet: Uint8Array): Uint8Array {
    if (packet.length < 8 || packet[0]! >> 6 !== 2) throw new SrtpError('malformed', 'not an RTCP packet');
    const ssrc = new DataView(packet.buffer, packet.byteOffset, packet.length).getUint32(4);
    if (this.ssrcValue === 0) this.ssrcValue = ssrc;
    const index = this.rtcpIndex;
    this.rtcpIndex = (this.rtcpIndex + 1) & 0x7fffffff;
    const k = this.keys[this.current]!;
    const s = this.sessionKeys(k, true, BigInt(index));
    const mki = k.spec.mki ?? new Uint8Array(0);
    const p = this.profile;
    const encrypt = p.cipher !== 'NULL';
    const eIndex = u32(((encrypt ? 0x80000000 : 0) | index) >>> 0);
    const hdr = packet.subarray(0, 8);
    if (p.cipher === 'AES-GCM') {
      const c = createCipheriv(GCM[s.encrKey.length]!, s.encrKey, gcmRtcpIv(s.saltKey, ssrc, index));
      c.setAAD(concat(hdr, eIndex));
      const body = Buffer.concat([c.update(packet.subarray(8)), c.final(), c.getAuthTag()]);
      return concat(hdr, body, eIndex, mki);
    }
    const body = encrypt ? ctr(s.encrKey, cmRtpIv(s.saltKey, ssrc, BigInt(index)), packet.subarray(8)) : packet.subarray(8);
    const authed = concat(hdr, body, eIndex);
    return concat(authed, mki, hmac(s.authKey, [authed], p.rtcpTagLen));
  }

  unprotectRtcp(packet: Uint8Array): Uint8Array {
    const p = this.profile;
    const aead = p.cipher === 'AES-GCM';
    const tagLen = aead ? 0 : p.rtcpTagLen;
    const mkiLen = this.mkiLen;
    if (packet.length < 8 + (aead ? 16 : 0) + 4 + mkiLen + tagLen || packet[0]! >> 6 !== 2) throw new SrtpError('malformed', 'SRTCP packet too short');
    const v = new DataView(packet.buffer, packet.byteOffset, packet.length);
    const ssrc = v.getUint32(4);
    this.checkSsrc(ssrc);
    const mkiAt = packet.length - tagLen - mkiLen;
    const eAt = mkiAt - 4;
    const word = v.getUint32(eAt);
    const encrypted = (word & 0x80000000) !== 0;
    const index = word & 0x7fffffff;
    if (!this.rtcpReplay.check(BigInt(index))) throw new SrtpError('replay', `SRTCP index ${index} replayed or too old`);
    const k = this.keyByMki(packet, mkiAt);
    const s = this.sessionKeys(k, true, BigInt(index));
    const hdr = packet.subarray(0, 8);
    let body: Uint8Array;
    if (aead) {
      const eIndex = packet.subarray(eAt, mkiAt);
      if (!encrypted) {
        // RFC 7714 §9.3: the whole packet is associated data, the cipher is the tag alone
        const d = createDecipheriv(GCM[s.encrKey.length]!, s.encrKey, gcmRtcpIv(s.saltKey, ssrc, index));
        d.setAAD(concat(packet.subarray(0, eAt - 16), eIndex));
        d.setAuthTag(packet.subarray(eAt - 16, eAt));
        try {
          d.final();
        } catch {
          throw new SrtpError('auth', 'SRTCP AEAD tag does not verify');
        }
        body = packet.subarray(8, eAt - 16);
      } else {
        const d = createDecipheriv(GCM[s.encrKey.length]!, s.encrKey, gcmRtcpIv(s.saltKey, ssrc, index));
        d.setAAD(concat(hdr, eIndex));
        d.setAuthTag(packet.subarray(eAt - 16, eAt));
        try {
          body = Buffer.concat([d.update(packet.subarray(8, eAt - 16)), d.final()]);
        } catch {
          throw new SrtpError('auth', 'SRTCP AEAD tag does not verify');
        }
      }
    } else {
      const authed = packet.subarray(0, mkiAt);
      const want = hmac(s.authKey, [authed], tagLen);
      if (!timingSafeEqual(want, packet.subarray(packet.length - tagLen))) throw new SrtpError('auth', 'SRTCP authentication tag does not verify');
      const enc = packet.subarray(8, eAt);
      body = encrypted && p.cipher !== 'NULL' ? ctr(s.encrKey, cmRtpIv(s.saltKey, ssrc, BigInt(index)), enc) : enc;
    }
    this.rtcpReplay.add(BigInt(index));
    if (this.ssrcValue === 0) this.ssrcValue = ssrc;
    return concat(hdr, body);
  }
}

// ---- primitives ------------------------------------------------------------------------------

function concat(...parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}

function hmac(key: Uint8Array, parts: Uint8Array[], len: number): Uint8Array {
  const h = createHmac('sha1', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest().subarray(0, len));
}

function ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(CTR[key.length]!, key, iv);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

/** RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16); SRTCP uses its index as i. */
function cmRtpIv(salt: Uint8Array, ssrc: number, index: bigint): Uint8Array {
  const iv = new Uint8Array(16);
  iv.set(salt.subarray(0, 14), 0);
  const s = u32(ssrc);
  for (let j = 0; j < 4; j++) iv[4 + j]! ^= s[j]!;
  for (let j = 0; j < 6; j++) iv[13 - j]! ^= Number((index >> BigInt(8 * j)) & 0xffn);
  return iv;
}

/** RFC 7714 §8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt. */
function gcmRtpIv(salt: Uint8Array, ssrc: number, roc: number, seq: number): Uint8Array {
  const iv = new Uint8Array(12);
  const v = new DataView(iv.buffer);
  v.setUint32(2, ssrc);
  v.setUint32(6, roc);
  v.setUint16(10, seq);
  for (let j = 0; j < 12; j++) iv[j]! ^= salt[j]!;
  return iv;
}

/** RFC 7714 §9.1: IV = (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt. */
function gcmRtcpIv(salt: Uint8Array, ssrc: number, index: number): Uint8Array {
  const iv = new Uint8Array(12);
  const v = new DataView(iv.buffer);
  v.setUint32(2, ssrc);
  v.setUint32(8, index & 0x7fffffff);
  for (let j = 0; j < 12; j++) iv[j]! ^= salt[j]!;
  return iv;
}
