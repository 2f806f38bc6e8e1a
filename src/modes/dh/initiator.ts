// Signed Diffie-Hellman method (RFC 3830 §3.3): the initiator (messages.ts has the layout and what both sides share).
import { DH_GROUPS, dhGenerateKeyPair, type DhGroup, type DhGroupName } from '../../crypto/dh.js';
import type { MikeyPrf } from '../../crypto/prf.js';
import { DataType, ErrorNo, KvType, PayloadType } from '../../wire/registry.js';
import type { CommonHeader, KeyValidity, Payload, SpPayload, TPayload } from '../../wire/types.js';
import { deriveBundle, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import {
  any, buildMapAndPolicies, checkLayout, decodeOrReject, header, idPayload, one, opt, payloadOf, payloadsOf, resolveEndpoint, newTimestamp,
  random32, type Endpoint, type ResolvedEndpoint, type SessionOffer,
} from '../kit/common.js';
import { rejectErrorMessage } from '../kit/error-message.js';
import { sameIdentity, type Identity } from '../../session/identity.js';
import { establishedOf, initiatorTgk, type DhAwaitingResponse, type DhEstablished } from '../kit/dh.js';
import { certPayloads, encodeSigned, ourIdentity, peerPublicKey, signPlaceholder, verifySigned, type PeerTrust, type SigningCredentials } from '../kit/signature.js';
import type { Offer } from '../kit/offer.js';

export interface DhOfferOptions {
  sessions: readonly SessionOffer[];
  csbId?: number;
  rand?: Uint8Array;
  /** OAKLEY group (default OAKLEY-5, the mandatory one). */
  group?: DhGroupName;
  /** MKI for the resulting TGK (KV = SPI of DHi). */
  mki?: Uint8Array;
}

export interface DhInitiatorOptions extends Endpoint, SigningCredentials, PeerTrust {
  idi?: Identity;
  idr?: Identity;
  prf?: MikeyPrf;
}

/** What an update keeps for the life of the CSB (RFC 3830 §4.5: CSB ID and RAND stay). */
interface DhCsb {
  csbId: number;
  rand: Uint8Array;
  map: CommonHeader['csIdMap'];
  sps: SpPayload[];
  group: DhGroup;
  mki?: Uint8Array;
}

type Established = DhEstablished<DhCsb>;
type AwaitingResponse = DhAwaitingResponse<DhCsb> & { idi?: Identity };

const validity = (mki?: Uint8Array): KeyValidity => (mki ? { kv: KvType.Spi, spi: mki } : { kv: KvType.Null });

export class DhInitiator {
  private readonly ep: ResolvedEndpoint;
  private readonly prf: MikeyPrf;
  private state?: AwaitingResponse | Established;

  constructor(private readonly opts: DhInitiatorOptions) {
    this.ep = resolveEndpoint(opts);
    this.prf = opts.prf ?? 'MIKEY-1';
  }

  createOffer(o: DhOfferOptions): Offer<undefined> {
    const csbId = o.csbId ?? random32(this.ep.random);
    const rand = o.rand ?? this.ep.random(16);
    const { map, sps } = buildMapAndPolicies(o.sessions);
    return this.send({ csbId, rand, map, sps, group: DH_GROUPS[o.group ?? 'OAKLEY-5'], mki: o.mki }, true, true);
  }

  /** An update (no RAND): a new DH exchange, or (`rekey: false`) new sessions under the same TGK (§4.5). */
  createUpdate(o: { sessions?: readonly SessionOffer[]; rekey?: boolean; mki?: Uint8Array } = {}): Offer<undefined> {
    const s = this.established;
    if (!s) throw new Error('no established CSB to update');
    const { map, sps } = o.sessions ? buildMapAndPolicies(o.sessions) : { map: s.csb.map, sps: s.csb.sps };
    return this.send({ ...s.csb, map, sps, mki: o.mki ?? s.csb.mki }, false, o.rekey ?? true, s);
  }

  private send(base: DhCsb, initial: boolean, withDh: boolean, previous?: Established): Offer<undefined> {
    const hdr = header(DataType.DhInit, base.csbId, this.prf, base.map, true);
    const t = newTimestamp(this.ep);
    const kp = withDh ? dhGenerateKeyPair(base.group) : undefined;
    const payloads: Payload[] = [t];
    if (initial) payloads.push({ type: PayloadType.Rand, rand: base.rand });
    const certs = certPayloads(this.opts);
    const idi = ourIdentity(this.opts);
    if (certs.length) payloads.push(...certs);
    else if (idi) payloads.push(idPayload(idi));
    if (this.opts.idr) payloads.push(idPayload(this.opts.idr));
    payloads.push(...base.sps);
    if (kp) payloads.push({ type: PayloadType.Dh, group: base.group.mikeyId, value: kp.publicKey, reserved: 0, validity: validity(base.mki) });
    payloads.push(signPlaceholder());
    const bytes = encodeSigned({ header: hdr, payloads }, this.opts);
    this.state = { step: 'awaiting-response', csb: base, t, idi, dh: kp && { x: kp.privateKey, dhi: kp.publicKey }, previous };
    return { bytes, bundle: undefined };
  }

  /** Process R_MESSAGE: verify SIGNr, the echoed T and DHi, then derive the TGK and keys. */
  receiveResponse(bytes: Uint8Array): CryptoSessionBundle {
    const s = this.state;
    if (s?.step !== 'awaiting-response') throw new Error('no offer outstanding');
    const { csb } = s;
    const msg = decodeOrReject(bytes);
    if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg);
    if (msg.header.dataType !== DataType.DhResp) throw new MikeyProtocolError(ErrorNo.InvalidDt, `expected a DH response, got data type ${msg.header.dataType}`);
    checkLayout(msg, [one(PayloadType.T), opt(PayloadType.Id), any(PayloadType.Cert), one(PayloadType.Id), { type: PayloadType.Dh, min: 0, max: 2 }, one(PayloadType.Sign)], 'DH R_MESSAGE');
    if (msg.header.csbId !== csb.csbId) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'response for another CSB');
    const t = payloadOf(msg, PayloadType.T)!;
    if (Buffer.compare(Buffer.from(t.value), Buffer.from(s.t.value)) !== 0) throw new MikeyProtocolError(ErrorNo.InvalidTs, 'response does not echo our timestamp');
    // HDR, T, [IDr|CERTr], IDi: the last ID is IDi, a first one of two is IDr
    const ids = payloadsOf(msg, PayloadType.Id);
    const echoedIdi = ids.at(-1)!;
    const idr = ids.length === 2 ? { idType: ids[0]!.idType, data: ids[0]!.data } : this.opts.idr;
    const { key } = peerPublicKey(msg, this.opts, idr, this.ep.clock.now(), 'digitalSignature');
    verifySigned(msg, key, this.opts);
    if (s.idi && !sameIdentity({ idType: echoedIdi.idType, data: echoedIdi.data }, s.idi)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'the response names another initiator');
    const dhs = payloadsOf(msg, PayloadType.Dh);
    const tgk = initiatorTgk(dhs, s);
    const bundle = deriveBundle(header(DataType.DhInit, csb.csbId, this.prf, csb.map), csb.rand, csb.sps, { kind: 'tgk', tgk, mki: csb.mki });
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
