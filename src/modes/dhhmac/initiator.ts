// DH-HMAC method (RFC 4650): the initiator (messages.ts has the layout and what both sides share).
import { DH_GROUPS, dhGenerateKeyPair, type DhGroup, type DhGroupName } from '../../crypto/dh.js';
import type { MikeyPrf } from '../../crypto/prf.js';
import { DataType, ErrorNo, KvType, PayloadType } from '../../wire/registry.js';
import type { CommonHeader, KeyValidity, Payload, SpPayload, TPayload } from '../../wire/types.js';
import { establishedOf, initiatorTgk, type DhAwaitingResponse, type DhEstablished } from '../kit/dh.js';
import { deriveBundle, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import {
  buildMapAndPolicies, checkLayout, decodeOrReject, header, idPayload, sdpIdsPayload, withoutGenExt, newTimestamp, one, payloadOf, payloadsOf,
  random32, resolveEndpoint, type Endpoint, type ResolvedEndpoint, type SessionOffer,
} from '../kit/common.js';
import { rejectErrorMessage } from '../kit/error-message.js';
import type { Offer } from '../kit/offer.js';
import { idOf, sameIdentity, type Identity } from '../../session/identity.js';
import { type DhHmacMacAlg, authKeyOf, encodeWithKemacMac, checkKemac, verifyKemacMac } from './messages.js';

export interface DhHmacOfferOptions {
  sessions: readonly SessionOffer[];
  csbId?: number;
  rand?: Uint8Array;
  /** OAKLEY group (default OAKLEY-5, RFC 3830 §4.2.7). */
  group?: DhGroupName;
  /** MKI for the resulting TGK (KV = SPI of DHi). */
  mki?: Uint8Array;
}

export interface DhHmacInitiatorOptions extends Endpoint {
  /** The pre-shared key s (RFC 4650 §1.1). */
  psk: Uint8Array;
  /** Our identity: SHOULD be sent (RFC 4650 §3). */
  idi?: Identity;
  /** The responder's identity: always sent (RFC 4650 §3). */
  idr: Identity;
  prf?: MikeyPrf;
  macAlg?: DhHmacMacAlg;
  /**
   * The key-management protocol IDs of the SDP offer carrying this message, in SDP order (e.g.
   * ['mikey']): sent in a General Extension "SDP IDs" against bidding-down (RFC 4650 §4.4,
   * RFC 4567 §4.1.4).
   */
  sdpIds?: readonly string[];
}

/** What an update keeps for the life of the CSB (RFC 4650 §3.1: CSB ID, RAND and auth_key stay). */
interface DhHmacCsb {
  csbId: number;
  rand: Uint8Array;
  map: CommonHeader['csIdMap'];
  sps: SpPayload[];
  group: DhGroup;
  authKey: Uint8Array;
  mki?: Uint8Array;
}

type Established = DhEstablished<DhHmacCsb>;
type AwaitingResponse = DhAwaitingResponse<DhHmacCsb>;

const validity = (mki?: Uint8Array): KeyValidity => (mki ? { kv: KvType.Spi, spi: mki } : { kv: KvType.Null });
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;

export class DhHmacInitiator {
  private readonly ep: ResolvedEndpoint;
  private readonly prf: MikeyPrf;
  private readonly macAlg: DhHmacMacAlg;
  private state?: AwaitingResponse | Established;

  constructor(private readonly opts: DhHmacInitiatorOptions) {
    this.ep = resolveEndpoint(opts);
    this.prf = opts.prf ?? 'MIKEY-1';
    this.macAlg = opts.macAlg ?? 'HMAC-SHA-1-160';
    if (!opts.idr) throw new TypeError('DH-HMAC: the initiator always names the responder (RFC 4650 §3): give idr');
    if ((this.macAlg as string) === 'NULL') throw new TypeError('DH-HMAC without a MAC has no authentication');
    if (opts.sdpIds) sdpIdsPayload(opts.sdpIds);
  }

  /** The I_MESSAGE of a new CSB. */
  createOffer(o: DhHmacOfferOptions): Offer<undefined> {
    const csbId = o.csbId ?? random32(this.ep.random);
    const rand = o.rand ?? this.ep.random(16);
    const { map, sps } = buildMapAndPolicies(o.sessions);
    const authKey = authKeyOf(this.opts.psk, csbId, rand, this.prf, this.macAlg);
    return this.send({ csbId, rand, map, sps, group: DH_GROUPS[o.group ?? 'OAKLEY-5'], mki: o.mki, authKey }, true, true);
  }

  /** An update (RFC 4650 §3.1): a new DH exchange (a), or (`rekey: false`) other information only (b). */
  createUpdate(o: { sessions?: readonly SessionOffer[]; rekey?: boolean; mki?: Uint8Array } = {}): Offer<undefined> {
    const s = this.established;
    if (!s) throw new Error('no established CSB to update');
    const { map, sps } = o.sessions ? buildMapAndPolicies(o.sessions) : { map: s.csb.map, sps: s.csb.sps };
    return this.send({ ...s.csb, map, sps, mki: o.mki ?? s.csb.mki }, false, o.rekey ?? true, s);
  }

  private send(base: DhHmacCsb, initial: boolean, withDh: boolean, previous?: Established): Offer<undefined> {
    const hdr = header(DataType.DhHmacInit, base.csbId, this.prf, base.map, true);
    const t = newTimestamp(this.ep);
    const kp = withDh ? dhGenerateKeyPair(base.group) : undefined;
    const payloads: Payload[] = [t];
    if (initial) payloads.push({ type: PayloadType.Rand, rand: base.rand });
    if (this.opts.idi) payloads.push(idPayload(this.opts.idi));
    payloads.push(idPayload(this.opts.idr), ...base.sps);
    if (this.opts.sdpIds) payloads.push(sdpIdsPayload(this.opts.sdpIds));
    if (kp) payloads.push({ type: PayloadType.Dh, group: base.group.mikeyId, value: kp.publicKey, reserved: 0, validity: validity(base.mki) });
    const bytes = encodeWithKemacMac(hdr, payloads, this.macAlg, base.authKey);
    this.state = { step: 'awaiting-response', csb: base, t, dh: kp && { x: kp.privateKey, dhi: kp.publicKey }, previous };
    return { bytes, bundle: undefined };
  }

  /** Process R_MESSAGE: its MAC, the echoed T, IDi and DHi, then the TGK and the keys. */
  receiveResponse(bytes: Uint8Array): CryptoSessionBundle {
    const s = this.state;
    if (s?.step !== 'awaiting-response') throw new Error('no offer outstanding');
    const { csb } = s;
    const msg = decodeOrReject(bytes);
    if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg, { macAlg: this.macAlg, authKey: csb.authKey });
    if (msg.header.dataType !== DataType.DhHmacResp) throw new MikeyProtocolError(ErrorNo.InvalidDt, `expected a DH-HMAC response, got data type ${msg.header.dataType}`);
    checkLayout(withoutGenExt(msg), [one(PayloadType.T), { type: PayloadType.Id, min: 1, max: 2 }, { type: PayloadType.Dh, min: 0, max: 2 }, one(PayloadType.Kemac)], 'DH-HMAC R_MESSAGE');
    const kemac = msg.payloads.at(-1)!;
    if (kemac.type !== PayloadType.Kemac) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'DH-HMAC R_MESSAGE: KEMAC must be the last payload');
    if (msg.header.csbId !== csb.csbId) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'response for another CSB');
    // the echoed T before the MAC, as a responder checks T first (RFC 3830 §5.3)
    const t = payloadOf(msg, PayloadType.T)!;
    if (t.tsType !== s.t.tsType || !eq(t.value, s.t.value)) throw new MikeyProtocolError(ErrorNo.InvalidTs, 'response does not echo our timestamp');
    const macAlg = checkKemac(kemac, [this.macAlg]);
    verifyKemacMac(msg, kemac, macAlg, csb.authKey);
    // HDR, T, [IDr], IDi: the last ID is IDi, a first one of two IDr
    const ids = payloadsOf(msg, PayloadType.Id);
    if (this.opts.idi && !sameIdentity(idOf(ids.at(-1)), this.opts.idi)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'the response names another initiator');
    if (ids.length === 2 && !sameIdentity(idOf(ids[0]), this.opts.idr)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'the response comes from another responder');
    const dhs = payloadsOf(msg, PayloadType.Dh);
    const tgk = initiatorTgk(dhs, s);
    const bundle = deriveBundle(header(DataType.DhHmacInit, csb.csbId, this.prf, csb.map), csb.rand, csb.sps, { kind: 'tgk', tgk, mki: csb.mki });
    this.state = { step: 'established', csb, tgk, bundle };
    return bundle;
  }

  private get established(): Established | undefined {
    return establishedOf(this.state);
  }

  get bundle(): CryptoSessionBundle | undefined {
    return this.established?.bundle;
  }
}
