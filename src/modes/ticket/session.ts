// A crypto session bundle established by a Ticket Transfer exchange, and its updates
// (RFC 6043 §5.2): either side sends TRANSFER_INIT without RANDs or TICKET, the other may answer
// with TRANSFER_RESP; both protected with the keys of the last message of the initial exchange.
import type { KemacEncrAlg, MacAlg } from '../../crypto/kemac.js';
import type { MessageKeys, MikeyPrf } from '../../crypto/prf.js';
import type { CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { policyParamsForProfile, srtpPolicyFromSp, type SrtpProfileName } from '../../session/policy.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { CsIdMapType, DataType, ErrorNo, IdRole, KvType, PayloadType, ProtType } from '../../wire/registry.js';
import type { CommonHeader, CsIdMap, GenericIdEntry, KeyDataPayload, Payload, PolicyParam, SpPayload } from '../../wire/types.js';
import { checkFresh, decodeOrReject, header, keyDataPayloads, newTimestamp, payloadOf, random32, recordAuthenticated, resolveEndpoint, type Endpoint, type KeySpec, type ResolvedEndpoint } from '../kit/common.js';
import { withErrorResponse } from '../kit/error-message.js';
import { type Identity } from '../../session/identity.js';
import { checkBundlePolicy } from '../kit/policy.js';
import { deriveTicketBundle } from './bundle.js';
import { checkV, encodeWithV } from '../kit/verification.js';
import { decryptKemac, encryptedKemac, findIdr, idrPayload, initialCoverage, responseCoverage, responseTimestamp, ticketErrorMessage, vMacStart } from './messages.js';
import { rejectErrorMessage } from '../kit/error-message.js';
import type { Offer } from '../kit/offer.js';
import type { ReadPolicy } from './policy.js';

/** A crypto session offered in a GENERIC-ID map (RFC 6043 §6.1.1). */
export interface TicketSessionOffer {
  /** CS ID (default: position, 1-based). */
  csId?: number;
  /** SSRC; absent: left to the Responder (session data length 0). */
  ssrc?: number;
  /** ROC and SEQ: sent with the S flag when either is given. */
  roc?: number;
  seq?: number;
  /** Policies suggested (#P of them); a named profile each, or explicit parameters. Default: none (the Responder picks). */
  profiles?: readonly SrtpProfileName[];
  params?: readonly PolicyParam[][];
  /** SPI (MKI) of the key to use first; absent: left to the Responder. */
  spi?: Uint8Array;
}

/** A GENERIC-ID map and its SP payloads; equal policies share a policy number. */
export function genericMap(sessions: readonly TicketSessionOffer[], firstPolicyNo = 0, known: SpPayload[] = []): { map: CsIdMap; sps: SpPayload[] } {
  if (sessions.length > 255) throw new RangeError('at most 255 crypto sessions');
  const sps: SpPayload[] = [];
  const byKey = new Map<string, number>();
  const keyOf = (params: readonly PolicyParam[]) => params.map((p) => `${p.type}:${Buffer.from(p.value).toString('hex')}`).join(',');
  for (const sp of known) if (sp.params) byKey.set(keyOf(sp.params), sp.policyNo);
  let next = firstPolicyNo;
  const entries = sessions.map((s, i): GenericIdEntry => {
    const alternatives = s.params ?? (s.profiles ?? []).map((p) => policyParamsForProfile(p));
    const policies = alternatives.map((params) => {
      const k = keyOf(params);
      let no = byKey.get(k);
      if (no === undefined) {
        no = next++;
        byKey.set(k, no);
        sps.push({ type: PayloadType.Sp, policyNo: no, protType: ProtType.Srtp, params: [...params] });
      }
      return no;
    });
    const withRocSeq = s.roc !== undefined || s.seq !== undefined;
    const sessionData = s.ssrc === undefined ? new Uint8Array(0) : srtpSessionData(s.ssrc, withRocSeq ? { roc: s.roc ?? 0, seq: s.seq ?? 0 } : undefined);
    return { csId: s.csId ?? i + 1, protType: ProtType.Srtp, s: withRocSeq, policies, sessionData, spi: s.spi ?? new Uint8Array(0) };
  });
  return { map: { type: CsIdMapType.GenericId, entries }, sps };
}

/** SRTP Session Data (§6.1.1): SSRC, then ROC and SEQ when the S flag is set. */
export function srtpSessionData(ssrc: number, rocSeq?: { roc: number; seq: number }): Uint8Array {
  const out = new Uint8Array(rocSeq ? 10 : 4);
  const v = new DataView(out.buffer);
  v.setUint32(0, ssrc >>> 0);
  if (rocSeq) {
    v.setUint32(4, rocSeq.roc >>> 0);
    v.setUint16(8, rocSeq.seq & 0xffff);
  }
  return out;
}

/** What both sides keep after the initial Ticket Transfer exchange. */
export interface TicketSessionState {
  role: 'initiator' | 'responder';
  csbId: number;
  prf: MikeyPrf;
  /** The keys of the last message of the initial exchange (§5.2). */
  updateKeys: MessageKeys;
  macAlg: MacAlg;
  encrAlg: KemacEncrAlg;
  randRi?: Uint8Array;
  randRr?: Uint8Array;
  header: CommonHeader;
  sps: SpPayload[];
  keys: KeyDataPayload[];
  policy: ReadPolicy;
  self: Identity;
  peer?: Identity;
  bundle: CryptoSessionBundle;
}

/** An update (`bytes`) and the bundle as the sender will use it (final when no answer is expected). */
export interface UpdateOffer extends Offer {
  /** Read the answer (when `verify` asked for one); gives the updated bundle. */
  receiveResponse(bytes: Uint8Array): CryptoSessionBundle;
}

/** One established CSB, on either side. */
export class TicketSession {
  private readonly ep: ResolvedEndpoint;
  private keysAt: number;

  constructor(private s: TicketSessionState, ep: Endpoint | ResolvedEndpoint) {
    this.ep = 'counters' in ep ? ep as ResolvedEndpoint : resolveEndpoint(ep);
    this.keysAt = this.ep.clock.now();
  }

  get bundle(): CryptoSessionBundle { return this.s.bundle; }
  get policy(): ReadPolicy { return this.s.policy; }
  get csbId(): number { return this.s.csbId; }
  get role(): 'initiator' | 'responder' { return this.s.role; }
  /** The peer's identity as carried (for a forked exchange: the endpoint that answered). */
  get peer(): Identity | undefined { return this.s.peer; }

  /** TRr (§6.10): the time by which new keys must be in use, when the policy sets one. */
  get rekeyDeadline(): number | undefined {
    return this.s.policy.rekeyIntervalSec === undefined ? undefined : this.keysAt + this.s.policy.rekeyIntervalSec * 1000;
  }
  rekeyDue(now = this.ep.clock.now()): boolean {
    const d = this.rekeyDeadline;
    return d !== undefined && now >= d;
  }

  /** May this side put keys in a KEMAC (L for the Initiator, M for the Responder, §6.10)? */
  private maySupplyKeys(role: 'initiator' | 'responder'): boolean {
    return role === 'initiator' ? this.s.policy.flags.L : this.s.policy.flags.M;
  }

  /**
   * A CSB update (§5.2): TRANSFER_INIT = HDR, T, [IDRself], [IDRpeer], {SP}, [KEMAC], V with the
   * same CSB ID, a new timestamp, no RANDs, no TICKET. New keys are never forked.
   */
  createUpdate(o: { sessions?: readonly TicketSessionOffer[]; keys?: readonly KeySpec[]; verify?: boolean } = {}): UpdateOffer {
    const s = this.s;
    if (o.keys?.length && !this.maySupplyKeys(s.role)) throw new MikeyProtocolError(ErrorNo.InvalidTpPar, `the Ticket Policy does not let the ${s.role === 'initiator' ? 'Initiator supply keys (L)' : 'Responder supply keys (M)'}`);
    const { map, sps } = o.sessions ? genericMap(o.sessions, 0) : { map: s.header.csIdMap, sps: s.sps };
    const hdr = header(DataType.TransferInit, s.csbId, s.prf, map, o.verify ?? false);
    const t = newTimestamp(this.ep);
    const payloads: Payload[] = [t, idrPayload(s.role === 'initiator' ? IdRole.IDRi : IdRole.IDRr, s.self)];
    if (s.peer) payloads.push(idrPayload(s.role === 'initiator' ? IdRole.IDRr : IdRole.IDRi, s.peer));
    payloads.push(...sps);
    const newKeys = o.keys?.length ? keyDataPayloads(o.keys.map((k) => ({ ...k, kind: k.kind ?? 'TGK' })), this.ep.random) : undefined;
    if (newKeys) payloads.push(encryptedKemac(s.encrAlg, s.updateKeys, newKeys, s.csbId, t));
    const bytes = encodeWithV(hdr, payloads, s.macAlg, s.updateKeys.authKey, (b, m) => initialCoverage(b.subarray(0, m), s.self, s.peer));
    const keys = newKeys ?? s.keys;
    const bundle = this.derive(hdr, sps, keys);
    const apply = (h: CommonHeader, allSps: SpPayload[]) => {
      const b = this.derive(h, allSps, keys);
      this.s = { ...s, header: h, sps: allSps, keys, bundle: b };
      if (newKeys) this.keysAt = this.ep.clock.now();
      return b;
    };
    if (!o.verify) apply(hdr, sps);
    return {
      bytes, bundle,
      receiveResponse: (resp: Uint8Array) => {
        const msg = decodeOrReject(resp);
        if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg, { macAlg: s.macAlg, authKey: s.updateKeys.authKey });
        if (msg.header.dataType !== DataType.TransferResp || msg.header.csbId !== s.csbId) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'not the TRANSFER_RESP of this update');
        checkV(msg, s.updateKeys.authKey, responseCoverage(msg.bytes.subarray(0, vMacStart(msg)), bytes), 'TRANSFER_RESP (update)', s.macAlg);
        const rsps = msg.payloads.filter((p): p is SpPayload => p.type === PayloadType.Sp);
        return apply(msg.header.csIdMap.type === CsIdMapType.Empty ? hdr : msg.header, [...sps, ...rsps]);
      },
    };
  }

  /** Receive the peer's update; answer with TRANSFER_RESP when its V flag asks for one. */
  async receiveUpdate(bytes: Uint8Array): Promise<{ bundle: CryptoSessionBundle; response?: Uint8Array }> {
    const s = this.s;
    let msg: DecodedMessage | undefined;
    let authed = false;
    try {
      msg = decodeOrReject(bytes);
      const m = msg;
      if (m.header.dataType !== DataType.TransferInit || m.header.csbId !== s.csbId) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'not an update of this CSB');
      if (payloadOf(m, PayloadType.Ticket) || payloadOf(m, PayloadType.Randr)) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, '§5.2: an update carries no new RAND or TICKET');
      const t = m.payloads[0];
      if (!t || t.type !== PayloadType.T) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'the first payload must be T');
      const fresh = checkFresh(t, this.ep, m.header.csbId, true);
      const peerRole = s.role === 'initiator' ? IdRole.IDRr : IdRole.IDRi;
      const selfRole = s.role === 'initiator' ? IdRole.IDRi : IdRole.IDRr;
      const sender = findIdr(m, peerRole) ?? s.peer;
      const receiver = findIdr(m, selfRole) ?? s.self;
      checkV(m, s.updateKeys.authKey, initialCoverage(m.bytes.subarray(0, vMacStart(m)), sender, receiver), 'TRANSFER_INIT (update)', s.macAlg);
      authed = true;
      await recordAuthenticated(m.bytes, this.ep, fresh);
      const kemac = payloadOf(m, PayloadType.Kemac);
      const peerSide = s.role === 'initiator' ? 'responder' : 'initiator';
      if (kemac && !this.maySupplyKeys(peerSide)) throw new MikeyProtocolError(ErrorNo.InvalidTpPar, 'the Ticket Policy does not let the sender supply keys');
      const newKeys = kemac ? decryptKemac(kemac, s.updateKeys, s.csbId, t, 'update') : undefined;
      const sps = m.payloads.filter((p): p is SpPayload => p.type === PayloadType.Sp);
      const keys = newKeys ?? s.keys;
      let hdr: CommonHeader = m.header;
      let allSps = sps.length ? sps : s.sps;
      let response: Uint8Array | undefined;
      if (m.header.v) {
        const r = answerMap(m.header.csIdMap, allSps, keys, this.ep.random);
        const rh = { ...m.header, dataType: DataType.TransferResp, v: false, csIdMap: r.map };
        const payloads: Payload[] = [responseTimestamp(this.ep, t), idrPayload(selfRole, s.self), ...r.sps];
        response = encodeWithV(rh, payloads, s.macAlg, s.updateKeys.authKey, (b, mm) => responseCoverage(b.subarray(0, mm), m.bytes));
        hdr = rh;
        allSps = [...allSps, ...r.sps];
      }
      const bundle = this.derive(hdr, allSps, keys);
      checkBundlePolicy(bundle, this.ep.minimumPolicy);
      this.s = { ...s, header: hdr, sps: allSps, keys, bundle };
      if (newKeys) this.keysAt = this.ep.clock.now();
      return response ? { bundle, response } : { bundle };
    } catch (e) {
      return withErrorResponse(e, (err) => ticketErrorMessage(msg?.header, msg && payloadOf(msg, PayloadType.T), [err.errorNo], this.ep, authed ? { macAlg: s.macAlg, authKey: s.updateKeys.authKey } : {}));
    }
  }

  private derive(hdr: CommonHeader, sps: SpPayload[], keys: KeyDataPayload[]): CryptoSessionBundle {
    const f = this.s.policy.flags;
    return deriveTicketBundle({ header: hdr, sps, keys, randRi: f.H ? this.s.randRi : undefined, randRr: f.G ? this.s.randRr : undefined });
  }
}

/**
 * The Responder's map (§4.2.2.3): exactly one policy per crypto session (the first suggested
 * that we accept; the default profile, in an SP of our own, when none was suggested), session
 * data (a random SSRC when none was given) and an SPI (the MKI of the first key carrying one).
 */
export function answerMap(map: CsIdMap, sps: readonly SpPayload[], keys: readonly KeyDataPayload[], random: (n: number) => Uint8Array, accept?: (sp: SpPayload) => boolean): { map: CsIdMap; sps: SpPayload[] } {
  if (map.type !== CsIdMapType.GenericId) return { map, sps: [] };
  const known = new Map(sps.map((sp) => [sp.policyNo, sp]));
  const added: SpPayload[] = [];
  let nextNo = Math.max(-1, ...sps.map((sp) => sp.policyNo)) + 1;
  const firstSpi = keys.map((k) => (k.validity.kv === KvType.Spi ? k.validity.spi : undefined)).find((x) => x !== undefined);
  const entries = map.entries.map((e): GenericIdEntry => {
    let chosen = e.policies.find((no) => {
      const sp = known.get(no);
      if (!sp) return false;
      try {
        srtpPolicyFromSp(sp);
      } catch {
        return false;
      }
      return accept ? accept(sp) : true;
    });
    if (chosen === undefined) {
      if (e.policies.length > 0) throw new MikeyProtocolError(ErrorNo.InvalidSp, `crypto session ${e.csId}: none of the suggested policies is acceptable`);
      const sp: SpPayload = { type: PayloadType.Sp, policyNo: nextNo++, protType: ProtType.Srtp, params: policyParamsForProfile('AES_CM_128_HMAC_SHA1_80') };
      added.push(sp);
      known.set(sp.policyNo, sp);
      chosen = sp.policyNo;
    }
    // §6.1.1: session data and SPI MUST be in the response; a random SSRC when none was given
    const sessionData = e.sessionData.length ? e.sessionData : srtpSessionData(random32(random));
    return { csId: e.csId, protType: e.protType, s: e.sessionData.length ? e.s : false, policies: [chosen], sessionData, spi: e.spi.length ? e.spi : (firstSpi ?? Uint8Array.of(e.csId)) };
  });
  return { map: { type: CsIdMapType.GenericId, entries }, sps: added };
}

