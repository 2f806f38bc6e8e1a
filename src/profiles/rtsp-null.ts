// The RTSP camera profile: MIKEY-NULL as deployed (RTSP servers, ONVIF cameras, GStreamer,
// gortsplib, live555). A pre-shared-key I_MESSAGE (RFC 3830 §3.1) with NULL encryption and NULL
// MAC, acceptable only over a transport that is itself protected (RFC 3830 §4.2.3: RTSP over
// TLS), carrying the SRTP master key as a TEK: TEK+SALT, or key ‖ salt in one TEK field; KV = SPI
// with a 4-byte MKI (ONVIF makes it mandatory); SSRC 0 meaning "filled in by the responder"
// (RFC 3830 §6.1.1); re-keying with a new message and a new MKI (RTSP SET_PARAMETER).
//
// What we send is strictly per RFC. Known field quirks of received messages are accepted only
// when the application asks for lenience, and every one seen is reported. They are repaired in
// this layer, on the decoded message, before the PSK responder sees it: with NULL/NULL nothing
// authenticates the bytes, so rewriting them changes no security property.
import { randomBytes } from 'node:crypto';
import { PskInitiator, PskResponder, type Accepted } from '../modes/psk/index.js';
import type { Endpoint } from '../modes/kit/common.js';
import { srtpContexts, type CryptoSessionBundle, type SrtpContext } from '../session/bundle.js';
import { MikeyProtocolError } from '../session/errors.js';
import { ntpTimestamp, ntpToMs, type Clock, systemClock } from '../session/time.js';
import type { SrtpProfileName } from '../session/policy.js';
import { SRTP_PROFILES } from '../crypto/srtp-kdf.js';
import { tryDecodeMessage, type DecodedMessage } from '../wire/decode.js';
import { encodeMessage } from '../wire/encode.js';
import { MikeyDecodeError } from '../wire/errors.js';
import { policyParams } from '../wire/sp.js';
import { DataType, EncrAlg, ErrorNo, KeyDataType, KvType, MacAlg, PayloadType, ProtType, SrtpAuthAlg, SrtpEncrAlg, SrtpParam, TsType } from '../wire/registry.js';
import type { KemacPayload, KeyDataPayload, Payload, PolicyParam, SpPayload, TPayload } from '../wire/types.js';

/** ONVIF's MKI length (bytes). */
export const ONVIF_MKI_LENGTH = 4;

// ---- sending ---------------------------------------------------------------------------------

/** How the SRTP master key and salt travel in the key data (RFC 3830 §6.13). */
export type KeyForm =
  /** TEK+SALT: the key, then the salt in its own field (RFC 3830 §6.13). */
  | 'tek+salt'
  /** TEK whose data is key ‖ salt (30 bytes for AES-128), as GStreamer and cameras read it. */
  | 'key||salt';

export interface RtspNullKeyOptions {
  /** Master key (random by default). */
  masterKey?: Uint8Array;
  /** Master salt (random by default). */
  masterSalt?: Uint8Array;
  /** MKI (KV = SPI). Default: 4 random bytes (ONVIF). `null` sends KV = NULL. */
  mki?: Uint8Array | null;
}

export interface RtspNullOfferOptions extends RtspNullKeyOptions {
  /** SSRC of the stream; 0 (default) lets the responder fill it in (RFC 3830 §6.1.1). */
  ssrc?: number;
  roc?: number;
  /** SRTP profile (default AES_CM_128_HMAC_SHA1_80). */
  profile?: SrtpProfileName;
  /** Several streams at once: one crypto session each, sharing the key (overrides ssrc/roc). */
  streams?: ReadonlyArray<{ ssrc: number; roc?: number }>;
  csbId?: number;
}

export interface RtspNullMessage {
  bytes: Uint8Array;
  base64: string;
  /** The keys as the sender will use them. */
  bundle: CryptoSessionBundle;
  contexts: SrtpContext[];
  mki?: Uint8Array;
}

export interface RtspNullInitiatorOptions extends Pick<Endpoint, 'clock' | 'random' | 'timestamp'> {
  /** Key form (default 'tek+salt', RFC 3830 §6.13; 'key||salt' for GStreamer-based peers). */
  keyForm?: KeyForm;
}

/** Sends MIKEY-NULL messages: the first one, then re-keys (RFC 3830 §4.5 CSB updates) with new MKIs. */
export class RtspNullInitiator {
  private readonly psk: PskInitiator;
  private readonly random: (n: number) => Uint8Array;
  private profile: SrtpProfileName = 'AES_CM_128_HMAC_SHA1_80';

  constructor(private readonly opts: RtspNullInitiatorOptions = {}) {
    this.random = opts.random ?? ((n) => new Uint8Array(randomBytes(n)));
    this.psk = new PskInitiator({ ...opts, psk: new Uint8Array(0), encrAlg: 'NULL', macAlg: 'NULL', allowUnprotected: true });
  }

  private key(o: RtspNullKeyOptions) {
    const p = SRTP_PROFILES[this.profile];
    const masterKey = o.masterKey ?? this.random(p.masterKeyLen);
    const masterSalt = o.masterSalt ?? this.random(p.masterSaltLen);
    if (masterKey.length !== p.masterKeyLen || masterSalt.length !== p.masterSaltLen) throw new RangeError(`${p.name} needs a ${p.masterKeyLen}-byte key and a ${p.masterSaltLen}-byte salt`);
    const mki = o.mki === null ? undefined : o.mki ?? this.random(ONVIF_MKI_LENGTH);
    const spec = this.opts.keyForm === 'key||salt'
      ? { kind: 'TEK' as const, key: concat(masterKey, masterSalt), mki }
      : { kind: 'TEK' as const, key: masterKey, salt: masterSalt, mki };
    return { spec, mki };
  }

  /** The I_MESSAGE: HDR, T, RAND, SP, KEMAC(NULL, TEK[+SALT], NULL MAC). */
  createMessage(o: RtspNullOfferOptions = {}): RtspNullMessage {
    this.profile = o.profile ?? 'AES_CM_128_HMAC_SHA1_80';
    const { spec, mki } = this.key(o);
    const streams = o.streams ?? [{ ssrc: o.ssrc ?? 0, roc: o.roc }];
    const offer = this.psk.createOffer({ sessions: streams.map((s) => ({ ssrc: s.ssrc, roc: s.roc, profile: this.profile })), keys: [spec], csbId: o.csbId });
    return result(offer.bytes, offer.bundle, mki);
  }

  /**
   * A re-key: same CSB, new T, a new key with a new MKI, no RAND (RFC 3830 §4.5). With
   * `mki: null` the new key replaces the old one at once (peers that know no MKI).
   */
  rekey(o: RtspNullKeyOptions = {}): RtspNullMessage {
    const { spec, mki } = this.key(o);
    const offer = this.psk.createUpdate({ keys: [spec] });
    return result(offer.bytes, offer.bundle, mki);
  }
}

function result(bytes: Uint8Array, bundle: CryptoSessionBundle, mki: Uint8Array | undefined): RtspNullMessage {
  return { bytes, base64: Buffer.from(bytes).toString('base64'), bundle, contexts: srtpContexts(bundle), mki };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}

// ---- receiving -------------------------------------------------------------------------------

/** Field quirks seen in deployed MIKEY-NULL senders. */
export type RtspNullQuirk =
  /** SP parameter 3 ("Session Auth. key length", 20 for HMAC-SHA-1) holds the tag length 4 or 10 (GStreamer, older gortsplib). */
  | 'tag-length-as-auth-key-length'
  /** SP encryption algorithm 2 (AES-F8) where AES-CM is meant: GStreamer's one enum names 2 AES-KW-128, the KEMAC value, and reads SP 2 as AES-CM. */
  | 'aes-f8-for-aes-cm'
  /** A T payload whose NTP value is not the time (Unix seconds, zero, a device clock never set). */
  | 'timestamp-not-ntp'
  /** An initial message (unknown CSB) without RAND. */
  | 'missing-rand'
  /** A zero byte after the last payload. */
  | 'trailing-zero-byte';

export const RTSP_NULL_QUIRKS: readonly RtspNullQuirk[] = ['tag-length-as-auth-key-length', 'aes-f8-for-aes-cm', 'timestamp-not-ntp', 'missing-rand', 'trailing-zero-byte'];

export interface QuirkReport {
  quirk: RtspNullQuirk;
  detail: string;
  /** True when it was accepted (lenience asked for); false when the message was refused for it. */
  accepted: boolean;
}

export interface RtspNullResponderOptions extends Pick<Endpoint, 'clock' | 'replayCache' | 'maxSkewMs' | 'minimumPolicy'> {
  /** Accept these quirks (true: all of them). Default: none, every message read strictly. */
  lenient?: boolean | readonly RtspNullQuirk[];
  /** Fill in SSRC 0 of a crypto session with this SSRC (ours), by CS ID when a function. */
  ssrc?: number | ((csId: number) => number | undefined);
  /** Refuse keys without a 4-byte MKI (ONVIF). Default false. */
  requireMki?: boolean;
  /** Called for every quirk seen (also for refused ones). */
  onQuirk?: (q: QuirkReport) => void;
}

export interface RtspNullAccepted {
  bundle: CryptoSessionBundle;
  contexts: SrtpContext[];
  /** The quirks seen and accepted. */
  quirks: QuirkReport[];
  /** True for a re-key of a known CSB. */
  update: boolean;
  /** CS IDs whose SSRC 0 was filled in. */
  filled: number[];
}

/** A quirk was seen and lenience for it was not asked for. */
export class RtspNullQuirkError extends MikeyProtocolError {
  constructor(readonly quirk: RtspNullQuirk, errorNo: number, detail: string) {
    super(errorNo, `${detail} (field quirk "${quirk}"; accept it with lenient: ['${quirk}'])`);
  }
}

/** Receives MIKEY-NULL messages (an RTSP client reading DESCRIBE's a=key-mgmt, or a server its SETUP). */
export class RtspNullResponder {
  private readonly psk: PskResponder;
  private readonly clock: Clock;
  private readonly maxSkewMs: number;
  private readonly known = new Set<number>();

  constructor(private readonly opts: RtspNullResponderOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.maxSkewMs = opts.maxSkewMs ?? 5 * 60_000;
    this.psk = new PskResponder({
      psk: new Uint8Array(0), allowUnprotected: true, encrAlgs: ['NULL'], macAlgs: ['NULL'],
      clock: opts.clock, replayCache: opts.replayCache, maxSkewMs: opts.maxSkewMs, minimumPolicy: opts.minimumPolicy,
    });
  }

  private allowed(q: RtspNullQuirk): boolean {
    const l = this.opts.lenient;
    return l === true || (Array.isArray(l) && l.includes(q));
  }

  /** Accept a message (bytes, or the base64 of a=key-mgmt / KeyMgmt data). Throws MikeyProtocolError. */
  async receive(input: Uint8Array | string): Promise<RtspNullAccepted> {
    const bytes = typeof input === 'string' ? new Uint8Array(Buffer.from(input, 'base64')) : input;
    const quirks: QuirkReport[] = [];
    const seen = (quirk: RtspNullQuirk, errorNo: number, detail: string): void => {
      const accepted = this.allowed(quirk);
      const r = { quirk, detail, accepted };
      this.opts.onQuirk?.(r);
      if (!accepted) throw new RtspNullQuirkError(quirk, errorNo, detail);
      quirks.push(r);
    };
    const { msg, body } = this.decode(bytes, seen);
    if (msg.header.dataType !== DataType.PreShared) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType}: MIKEY-NULL is a pre-shared-key I_MESSAGE`);
    const kemac = msg.payloads.find((p): p is KemacPayload => p.type === PayloadType.Kemac);
    if (!kemac) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'no KEMAC');
    if (kemac.encrAlg !== EncrAlg.Null) throw new MikeyProtocolError(ErrorNo.InvalidEa, `KEMAC encryption ${kemac.encrAlg}: MIKEY-NULL uses NULL`);
    if (kemac.macAlg !== MacAlg.Null) throw new MikeyProtocolError(ErrorNo.InvalidMac, `KEMAC MAC ${kemac.macAlg}: MIKEY-NULL uses NULL`);
    const keys = (kemac.plaintext ?? []).filter((p): p is KeyDataPayload => p.type === PayloadType.KeyData);
    let payloads: Payload[] = msg.payloads;
    let changed = false;

    // SP parameters (RFC 3830 §6.10.1)
    payloads = payloads.map((p) => {
      if (p.type !== PayloadType.Sp || p.protType !== ProtType.Srtp) return p;
      const fixed = this.fixPolicy(p, seen);
      if (fixed !== p) changed = true;
      return fixed;
    });

    // T (RFC 3830 §6.6): an NTP value that is not the time
    const ti = payloads.findIndex((p) => p.type === PayloadType.T);
    const t = payloads[ti] as TPayload | undefined;
    if (t && (t.tsType === TsType.NtpUtc || t.tsType === TsType.Ntp || t.tsType === TsType.NtpUtc32)) {
      const now = this.clock.now();
      const ms = ntpToMs(t.value);
      if (Math.abs(ms - now) > this.maxSkewMs) {
        const sec = new DataView(t.value.buffer, t.value.byteOffset, 4).getUint32(0);
        const what = t.value.every((b) => b === 0) ? 'zero'
          : Math.abs(sec * 1000 - now) <= this.maxSkewMs ? `Unix time ${sec} written as NTP`
            : `${new Date(ms).toISOString()}, ${Math.round((ms - now) / 1000)} s from now`;
        seen('timestamp-not-ntp', ErrorNo.InvalidTs, `timestamp is not NTP time (${what})`);
        payloads = payloads.map((p, i) => (i === ti ? { type: PayloadType.T, tsType: TsType.NtpUtc, value: ntpTimestamp(now) } : p));
        changed = true;
      }
    }

    // RAND (RFC 3830 §3.1): only an update of a known CSB goes without
    if (!payloads.some((p) => p.type === PayloadType.Rand) && !this.known.has(msg.header.csbId)) {
      const teks = keys.length > 0 && keys.every((k) => k.keyType === KeyDataType.Tek || k.keyType === KeyDataType.TekSalt);
      if (!teks) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'no RAND, no CSB to update, and a TGK whose TEK derivation needs RAND');
      seen('missing-rand', ErrorNo.UnsupportedMessageType, 'initial message without RAND');
      // the TEKs are carried as they are: RAND takes no part in them (RFC 3830 §4.1.3)
      payloads = [...payloads.slice(0, ti + 1), { type: PayloadType.Rand, rand: new Uint8Array(16) }, ...payloads.slice(ti + 1)];
      changed = true;
    }

    if (this.opts.requireMki) {
      for (const k of keys) {
        if (k.validity.kv !== KvType.Spi || k.validity.spi.length !== ONVIF_MKI_LENGTH) throw new MikeyProtocolError(ErrorNo.Unspecified, `key without a ${ONVIF_MKI_LENGTH}-byte MKI (KV = SPI), which ONVIF requires`);
      }
    }

    const input2 = changed ? encodeMessage({ header: msg.header, payloads }) : body;
    const got: Accepted = await this.psk.receive(input2);
    this.known.add(msg.header.csbId);
    const filled: number[] = [];
    const bundle = this.fill(got.bundle, filled);
    return { bundle, contexts: srtpContexts(bundle), quirks, update: got.update, filled };
  }

  private decode(bytes: Uint8Array, seen: (q: RtspNullQuirk, e: number, d: string) => void): { msg: DecodedMessage; body: Uint8Array } {
    const strict = tryDecodeMessage(bytes);
    if (!(strict instanceof MikeyDecodeError)) return { msg: strict, body: bytes };
    // the one repair: a zero byte after the last payload (decoded again only then, so that a
    // broken message costs one decode)
    if (strict.offset === bytes.length - 1 && bytes[bytes.length - 1] === 0) {
      const body = bytes.subarray(0, bytes.length - 1);
      const msg = tryDecodeMessage(body);
      if (!(msg instanceof MikeyDecodeError)) {
        seen('trailing-zero-byte', ErrorNo.UnsupportedMessageType, 'a zero byte after the last payload');
        return { msg, body };
      }
    }
    throw new MikeyProtocolError(strict.errorNo, strict.message, { cause: strict });
  }

  private fixPolicy(sp: SpPayload, seen: (q: RtspNullQuirk, e: number, d: string) => void): SpPayload {
    const params = policyParams(sp).map((p) => ({ type: p.type, value: p.value }));
    const get = (t: number) => params.find((p) => p.type === t);
    let changed = false;
    const encr = get(SrtpParam.EncrAlg);
    if (encr && encr.value.length === 1 && encr.value[0] === SrtpEncrAlg.AesF8) {
      seen('aes-f8-for-aes-cm', ErrorNo.InvalidSpPar, `policy ${sp.policyNo}: SRTP encryption algorithm 2 (AES-F8)`);
      encr.value = Uint8Array.of(SrtpEncrAlg.AesCm);
      changed = true;
    }
    const encrAlg = encr ? encr.value[0] : SrtpEncrAlg.AesCm;
    const auth = get(SrtpParam.AuthAlg);
    const hmac = encrAlg !== SrtpEncrAlg.AesGcm && (!auth || (auth.value.length === 1 && auth.value[0] === SrtpAuthAlg.HmacSha1));
    const akl = get(SrtpParam.AuthKeyLength);
    if (hmac && akl && akl.value.length === 1 && (akl.value[0] === 4 || akl.value[0] === 10)) {
      const tag = akl.value[0]!;
      seen('tag-length-as-auth-key-length', ErrorNo.InvalidSpPar, `policy ${sp.policyNo}: session auth key length ${tag}, the tag length of HMAC-SHA1-${tag * 8} (HMAC-SHA-1 keys are 20 bytes)`);
      akl.value = Uint8Array.of(20);
      if (!get(SrtpParam.AuthTagLength)) params.push({ type: SrtpParam.AuthTagLength, value: Uint8Array.of(tag) });
      changed = true;
    }
    return changed ? { type: PayloadType.Sp, policyNo: sp.policyNo, protType: sp.protType, params: params as PolicyParam[] } : sp;
  }

  private fill(b: CryptoSessionBundle, filled: number[]): CryptoSessionBundle {
    const f = this.opts.ssrc;
    if (f === undefined) return b;
    const sessions = b.sessions.map((s) => {
      if (s.ssrc !== 0) return s;
      const v = typeof f === 'function' ? f(s.csId) : f;
      if (v === undefined) return s;
      filled.push(s.csId);
      return { ...s, ssrc: v >>> 0 };
    });
    return { ...b, sessions };
  }
}
