// What the RFC 3830 methods share: endpoints with injected clock, randomness and replay cache;
// building HDR, T, RAND, ID and SP; MACs over exact spans; Error messages (RFC 3830 §5).
import { randomBytes } from 'node:crypto';
import type { KemacEncrAlg, MacAlg } from '../../crypto/kemac.js';
import { KEMAC_ENCR_PARAMS, MAC_PARAMS } from '../../crypto/kemac.js';
import type { MikeyPrf } from '../../crypto/prf.js';
import { tryDecodeMessage, type DecodedMessage } from '../../wire/decode.js';
import { MikeyDecodeError } from '../../wire/errors.js';
import { payloadOf, payloadsOf } from '../../wire/lookup.js';
import { encodeMessage, encodeMessageWithSpans, type EncodedMessage } from '../../wire/encode.js';
import { CsIdMapType, DataType, EncrAlg, ErrorNo, GeneralExtType, KeyDataType, KvType, MacAlg as MacAlgCode, PayloadType, PrfFunc, ProtType, TsType, registryInfo } from '../../wire/registry.js';
import type {
  CommonHeader, CsIdMap, GeneralExtPayload, IdPayload, KeyDataPayload, Message, Payload, PayloadOf, PolicyParam, SpPayload, TPayload,
} from '../../wire/types.js';
import { MikeyErrorMessage, MikeyProtocolError } from '../../session/errors.js';
import { idOf, type Identity } from '../../session/identity.js';
import { policyParamsForProfile, type SrtpProfileName } from '../../session/policy.js';
import { MemoryReplayCache, replayKey, type ReplayCache } from '../../session/replay.js';
import { checkTimestamp, ntpTimestamp, systemClock, timestamp64, type Clock } from '../../session/time.js';
import { resolveMinimumPolicy, type MinimumPolicy } from './policy.js';
import { MemoryCounterStore, type CounterStore } from './counter.js';

/** Injected dependencies of an initiator or responder. */
export interface Endpoint {
  clock?: Clock;
  /** Cryptographically secure random bytes (default node:crypto randomBytes). */
  random?: (n: number) => Uint8Array;
  /** Responders: remembers authenticated messages (default in-memory, bounded). */
  replayCache?: ReplayCache;
  /** Allowed clock skew in ms either way (default 5 minutes). */
  maxSkewMs?: number;
  /** Initiators: the timestamp type sent (default NTP-UTC, RFC 3830 §6.6, RFC 6043 §6.3). */
  timestamp?: TimestampKind;
  /**
   * Responders: the weakest SRTP policy accepted (default: encryption and authentication on,
   * tags of 80 bits or more, 128-bit keys). Weaker offers are refused with Invalid SPpar.
   */
  minimumPolicy?: Partial<MinimumPolicy>;
  /**
   * Responders: where the last COUNTER accepted per CSB is kept (default in memory: a restart
   * forgets it and would take old COUNTER messages again; give a FileCounterStore to keep it).
   */
  counterStore?: CounterStore;
  /**
   * Responders: accept COUNTER timestamps although the counters are not persisted (the default
   * in-memory store, or a store that says `persistent: false`). A restarted responder then takes
   * old COUNTER messages again. Off by default: COUNTER is refused (Invalid TS) without a store.
   */
  allowUnpersistedCounter?: boolean;
}

export type TimestampKind = 'NTP-UTC' | 'NTP' | 'COUNTER' | 'NTP-UTC-32';

export interface ResolvedEndpoint {
  clock: Clock;
  random: (n: number) => Uint8Array;
  replayCache: ReplayCache;
  maxSkewMs: number;
  timestamp: TimestampKind;
  /** Initiators: the last COUNTER sent; responders: the last COUNTER accepted per CSB ID. */
  counter: number;
  counters: CounterStore;
  /** Responders: COUNTER timestamps are accepted (a persistent store, or the caller opted in). */
  counterAccepted: boolean;
  minimumPolicy: MinimumPolicy;
}

export function resolveEndpoint(e: Endpoint): ResolvedEndpoint {
  return {
    clock: e.clock ?? systemClock,
    random: e.random ?? ((n) => new Uint8Array(randomBytes(n))),
    replayCache: e.replayCache ?? new MemoryReplayCache(),
    maxSkewMs: e.maxSkewMs ?? 5 * 60_000,
    timestamp: e.timestamp ?? 'NTP-UTC',
    counter: 0,
    counters: e.counterStore ?? new MemoryCounterStore(),
    counterAccepted: e.allowUnpersistedCounter === true || (e.counterStore !== undefined && e.counterStore.persistent !== false),
    minimumPolicy: resolveMinimumPolicy(e.minimumPolicy),
  };
}

export function idPayload(id: Identity): IdPayload {
  return { type: PayloadType.Id, idType: id.idType, data: id.data };
}

// ---- algorithms by code point ------------------------------------------------------------

export function prfFuncOf(prf: MikeyPrf): number {
  return prf === 'MIKEY-1' ? PrfFunc.Mikey1 : PrfFunc.HmacSha256;
}
// The algorithm names are the registry's labels (RFC 3830 Table 6.2.a, 6.2.b; RFC 6043), which
// crypto/kemac uses as its names: no second table.
const encrInfo = registryInfo(EncrAlg);
const macInfo = registryInfo(MacAlgCode);
const ENCR_CODE = new Map(encrInfo.values().map((v) => [encrInfo.label(v)!, v]));
const MAC_CODE = new Map(macInfo.values().map((v) => [macInfo.label(v)!, v]));
export function encrAlgOf(code: number): KemacEncrAlg {
  const a = encrInfo.label(code);
  if (a === undefined || !(a in KEMAC_ENCR_PARAMS)) throw new MikeyProtocolError(ErrorNo.InvalidEa, `KEMAC encryption algorithm ${code} is not supported`);
  return a as KemacEncrAlg;
}
export function encrAlgCode(a: KemacEncrAlg): number {
  return ENCR_CODE.get(a)!;
}
export function macAlgOf(code: number): MacAlg {
  const a = macInfo.label(code);
  if (a === undefined || !(a in MAC_PARAMS)) throw new MikeyProtocolError(ErrorNo.InvalidMac, `MAC algorithm ${code} is not supported`);
  return a as MacAlg;
}
export function macAlgCode(a: MacAlg): number {
  return MAC_CODE.get(a)!;
}
export function macLength(a: MacAlg): number {
  return MAC_PARAMS[a].tagLen;
}

/** 32 random bits, e.g. a CSB ID (RFC 3830 §6.1), read from the bytes `random` returns wherever they lie. */
export function random32(random: (n: number) => Uint8Array): number {
  const b = random(4);
  return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
}

// ---- building --------------------------------------------------------------------------

/** A crypto session offered by an initiator: an SRTP stream and its policy. */
export interface SessionOffer {
  /** SSRC; 0 lets the responder fill it in (RFC 3830 §6.1.1). */
  ssrc: number;
  roc?: number;
  /** A named profile (default AES_CM_128_HMAC_SHA1_80), or explicit SP parameters. */
  profile?: SrtpProfileName;
  params?: PolicyParam[];
}

/** SRTP-ID map and SP payloads for the sessions; sessions with equal policies share a policy number. */
export function buildMapAndPolicies(sessions: readonly SessionOffer[]): { map: CsIdMap; sps: SpPayload[] } {
  if (sessions.length > 255) throw new RangeError('at most 255 crypto sessions');
  const sps: SpPayload[] = [];
  const byKey = new Map<string, number>();
  const entries = sessions.map((s) => {
    const params = s.params ?? policyParamsForProfile(s.profile ?? 'AES_CM_128_HMAC_SHA1_80');
    const key = params.map((p) => `${p.type}:${Buffer.from(p.value).toString('hex')}`).join(',');
    let no = byKey.get(key);
    if (no === undefined) {
      no = sps.length;
      byKey.set(key, no);
      sps.push({ type: PayloadType.Sp, policyNo: no, protType: ProtType.Srtp, params });
    }
    return { policyNo: no, ssrc: s.ssrc >>> 0, roc: (s.roc ?? 0) >>> 0 };
  });
  return { map: { type: CsIdMapType.SrtpId, entries }, sps };
}

export function header(dataType: number, csbId: number, prf: MikeyPrf, map: CsIdMap, v = false): CommonHeader {
  return { version: 1, dataType, v, prfFunc: prfFuncOf(prf), csbId: csbId >>> 0, csIdMap: map };
}

export function tNow(clock: Clock): TPayload {
  return { type: PayloadType.T, tsType: TsType.NtpUtc, value: ntpTimestamp(clock.now()) };
}

/** A fresh timestamp of the endpoint's kind: every message from an initiator gets a unique one (§5.2). */
export function newTimestamp(ep: ResolvedEndpoint): TPayload {
  switch (ep.timestamp) {
    case 'NTP-UTC': return tNow(ep.clock);
    case 'NTP': return { type: PayloadType.T, tsType: TsType.Ntp, value: ntpTimestamp(ep.clock.now()) };
    case 'NTP-UTC-32': return { type: PayloadType.T, tsType: TsType.NtpUtc32, value: ntpTimestamp(ep.clock.now()).slice(0, 4) };
    case 'COUNTER': {
      const v = new Uint8Array(4);
      new DataView(v.buffer).setUint32(0, ++ep.counter);
      return { type: PayloadType.T, tsType: TsType.Counter, value: v };
    }
  }
}

/** A key to transport: a TGK (default) or a TEK, random when not given. */
export interface KeySpec {
  /** The key (default: `length` random bytes). */
  key?: Uint8Array;
  /** Length of a random key in bytes (default 16). */
  length?: number;
  /** Carry a salt (+SALT key types). */
  salt?: Uint8Array;
  /** MKI: key validity by SPI (RFC 3830 §6.14). */
  mki?: Uint8Array;
  /** 'TGK' (default) or 'TEK'. */
  kind?: 'TGK' | 'TEK';
}

export function keyDataPayloads(specs: readonly KeySpec[], random: (n: number) => Uint8Array): KeyDataPayload[] {
  return specs.map((k) => {
    const tek = k.kind === 'TEK';
    const keyType = tek ? (k.salt ? KeyDataType.TekSalt : KeyDataType.Tek) : k.salt ? KeyDataType.TgkSalt : KeyDataType.Tgk;
    const p: KeyDataPayload = {
      type: PayloadType.KeyData, keyType, keyData: k.key ?? random(k.length ?? 16), salt: k.salt,
      validity: k.mki ? { kv: KvType.Spi, spi: k.mki } : { kv: KvType.Null },
    };
    return p;
  });
}

/**
 * Encode `msg` whose last payload carries a MAC or signature of `tagLength` bytes (zeros as
 * placeholder), then fill it with `tag(bytes covered)` over every byte before it.
 */
export function encodeWithTrailingTag(
  msg: Message, tagLength: number, tag: (covered: Uint8Array, bytes: Uint8Array, encoded?: EncodedMessage) => Uint8Array, withSpans = false,
): Uint8Array {
  const encoded = withSpans ? encodeMessageWithSpans(msg) : undefined;
  const bytes = encoded ? encoded.bytes : encodeMessage(msg);
  const covered = bytes.subarray(0, bytes.length - tagLength);
  const t = tag(covered, bytes, encoded);
  if (t.length !== tagLength) throw new Error(`internal: tag of ${t.length} bytes, ${tagLength} expected`);
  bytes.set(t, bytes.length - tagLength);
  return bytes;
}

// ---- receiving -------------------------------------------------------------------------

/** Decode, turning a codec error into the protocol error a responder answers with (one throw, not two). */
export function decodeOrReject(bytes: Uint8Array): DecodedMessage {
  const m = tryDecodeMessage(bytes);
  if (m instanceof MikeyDecodeError) throw new MikeyProtocolError(m.errorNo, m.message, { cause: m });
  return m;
}

export { payloadOf, payloadsOf } from '../../wire/lookup.js';
export function requirePayload<T extends Payload['type']>(msg: Message, type: T, what: string, errorNo: number = ErrorNo.UnsupportedMessageType): PayloadOf<T> {
  const p = payloadOf(msg, type);
  if (!p) throw new MikeyProtocolError(errorNo, `${what} missing`);
  return p;
}

/** The message's payload types must follow `pattern` (RFC 3830 §3 message layouts). */
export function checkLayout(msg: Message, pattern: ReadonlyArray<{ type: number; min: number; max: number }>, what: string): void {
  let i = 0;
  for (const slot of pattern) {
    let n = 0;
    while (n < slot.max && i < msg.payloads.length && msg.payloads[i]!.type === slot.type) { i++; n++; }
    if (n < slot.min) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `${what}: payload ${i} must be a ${PayloadName(slot.type)}`);
  }
  if (i !== msg.payloads.length) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `${what}: unexpected ${PayloadName(msg.payloads[i]!.type)} payload at position ${i}`);
}
export const one = (type: number) => ({ type, min: 1, max: 1 });
export const opt = (type: number) => ({ type, min: 0, max: 1 });
export const any = (type: number) => ({ type, min: 0, max: 255 });
const PayloadName = (t: number) => Object.entries(PayloadType).find(([, v]) => v === t)?.[0] ?? String(t);

/**
 * Freshness before authentication (RFC 3830 §5.3): a time inside the allowed skew, or a COUNTER
 * above the last one accepted for this CSB. Returns what `recordAuthenticated` needs.
 * A responder takes COUNTER only when its counters survive a restart or it opted in (RFC 3830
 * §5.4: COUNTER needs the last value kept). `inMemory`: the message only makes sense to state that
 * a restart forgets with the counters (the answer to our own request, an update of a live session).
 */
export function checkFresh(t: TPayload, ep: ResolvedEndpoint, csbId: number, inMemory = false): Freshness {
  if (t.tsType === TsType.Counter) {
    if (!inMemory && !ep.counterAccepted) {
      throw new MikeyProtocolError(ErrorNo.InvalidTs, 'COUNTER timestamp refused: counters are not persisted (a restart would accept old messages); give a persistent counterStore or set allowUnpersistedCounter');
    }
    const c = checkTimestamp(t.tsType, t.value, ep.clock, { lastCounter: ep.counters.get(csbId) });
    return { csbId, counter: c, expiresAt: ep.clock.now() + ep.maxSkewMs };
  }
  const ms = checkTimestamp(t.tsType, t.value, ep.clock, { maxSkewMs: ep.maxSkewMs });
  return { csbId, expiresAt: Math.max(ms, ep.clock.now()) + ep.maxSkewMs };
}

export interface Freshness {
  csbId: number;
  counter?: number;
  /** Until when the message must be remembered to refuse its replay. */
  expiresAt: number;
}

/**
 * After authentication: remember the message; a second copy is a replay (RFC 3830 §5.4).
 * `covered`: what the MAC or signature covers (a MAC'd message: all its bytes; a signed one:
 * the bytes before the signature, and for ECCSI r too), so a re-signed copy is the same message.
 */
export async function recordAuthenticated(covered: Uint8Array | readonly Uint8Array[], ep: ResolvedEndpoint, fresh: Freshness): Promise<void> {
  const now = ep.clock.now();
  if (fresh.counter !== undefined) ep.counters.set(fresh.csbId, fresh.counter);
  const verdict = await ep.replayCache.checkAndRecord(replayKey(covered), fresh.expiresAt, now);
  if (verdict === 'replayed') throw new MikeyProtocolError(ErrorNo.InvalidTs, 'replayed message');
  if (verdict === 'full') throw new MikeyProtocolError(ErrorNo.InvalidTs, 'replay cache full: refusing new messages until entries expire');
}

export function t64(t: TPayload): Uint8Array {
  return timestamp64(t.tsType, t.value);
}

// ---- bidding-down protection in SDP (RFC 4567 §4.1.4, §7.1) ---------------------------------

/** General Extension "SDP IDs" (RFC 3830 §6.15, RFC 4567 §4.1.4): the protocol IDs joined by ";". */
export function sdpIdsPayload(ids: readonly string[]): GeneralExtPayload {
  if (!ids.length || ids.some((id) => id === '' || id.includes(';'))) throw new RangeError('SDP IDs: non-empty protocol identifiers without ";"');
  return { type: PayloadType.GeneralExt, extType: GeneralExtType.SdpIds, data: new Uint8Array(0), sdpIds: [...ids] };
}

/**
 * The responder's bidding-down check (RFC 4567 §7.1: "match the list in the General Extension
 * Payload with the list included in SDP"): the authenticated message must carry exactly the
 * list the application saw in SDP. A mismatch or a missing list is refused with Unspecified
 * error (12): no Error no names it, and the message itself did authenticate.
 */
export function checkSdpIds(msg: Message, seen: readonly string[] | undefined): void {
  if (!seen) return;
  const ext = msg.payloads.find((p): p is GeneralExtPayload => p.type === PayloadType.GeneralExt && p.extType === GeneralExtType.SdpIds);
  const carried = ext?.sdpIds;
  if (!carried) throw new MikeyProtocolError(ErrorNo.Unspecified, 'no SDP IDs General Extension: bidding-down protection missing (RFC 4567 §4.1.4)');
  if (carried.length !== seen.length || carried.some((id, i) => id !== seen[i])) {
    throw new MikeyProtocolError(ErrorNo.Unspecified, `SDP IDs "${carried.join(';')}" differ from "${seen.join(';')}" seen in SDP: possible bidding-down attack`);
  }
}

/** The payloads other than General Extensions (which RFC 3830 §6.15 allows in any message), for layout checks. */
export function withoutGenExt(msg: Message): Message {
  return { header: msg.header, payloads: msg.payloads.filter((p) => p.type !== PayloadType.GeneralExt) };
}

/**
 * IDi and IDr of a message laid out as [IDi|CERTi], [IDr] (RFC 3830 §3.2, §3.3, RFC 4738 §3.4):
 * with certificates, an ID before them is IDi and one after them IDr; without, the first ID is
 * IDi and the second IDr.
 */
export function splitIds(msg: DecodedMessage): { idi?: Identity; idr?: Identity } {
  const ids = payloadsOf(msg, PayloadType.Id);
  const firstCert = payloadsOf(msg, PayloadType.Cert)[0];
  if (!firstCert) return { idi: idOf(ids[0]), idr: idOf(ids[1]) };
  return { idi: idOf(ids.find((p) => p.span!.start < firstCert.span!.start)), idr: idOf(ids.find((p) => p.span!.start > firstCert.span!.start)) };
}
