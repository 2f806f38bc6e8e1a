// Signed Diffie-Hellman method (RFC 3830 §3.3): the initiator (messages.ts has the layout and what both sides share).
import { DH_GROUPS, dhGenerateKeyPair, type DhGroup, type DhGroupName } from '../../crypto/dh.js';
import type { MikeyPrf } from '../../crypto/prf.js';
import { DataType, ErrorNo, PayloadType } from '../../wire/registry.js';
import type { CommonHeader, KeyValidity, Payload, SpPayload, TPayload } from '../../wire/types.js';
import { deriveBundle, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import {
  any, buildMapAndPolicies, checkLayout, decodeOrReject, header, idPayload, one, opt, payloadOf, payloadsOf, resolveEndpoint, newTimestamp,
  random32, type Endpoint, type ResolvedEndpoint, type SessionOffer,
} from '../kit/common.js';
import { rejectErrorMessage } from '../kit/error-message.js';
import { sameIdentity, type Identity } from '../../session/identity.js';
import { initiatorTgk } from '../kit/dh.js';
import { certPayloads, encodeSigned, peerPublicKey, signPlaceholder, verifySigned, type PeerTrust, type SigningCredentials } from '../kit/signature.js';
import type { Offer } from '../kit/offer.js';
import { ourIdentity } from './messages.js';

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

interface DhState {
  csbId: number;
  rand: Uint8Array;
  map: CommonHeader['csIdMap'];
  sps: SpPayload[];
  t: TPayload;
  group: DhGroup;
  /** Our exponent and DH value of the outstanding offer (absent: an update without DHi). */
  x?: Uint8Array;
  dhi?: Uint8Array;
  mki?: Uint8Array;
  idi?: Identity;
  /** The TGK once established. */
  tgk?: Uint8Array;
  bundle?: CryptoSessionBundle;
}

const validity = (mki?: Uint8Array): KeyValidity => (mki ? { kv: 1, spi: mki } : { kv: 0 });

export class DhInitiator {
  private readonly ep: ResolvedEndpoint;
  private readonly prf: MikeyPrf;
  private state?: DhState;

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
    const s = this.state;
    if (!s?.tgk) throw new Error('no established CSB to update');
    const { map, sps } = o.sessions ? buildMapAndPolicies(o.sessions) : { map: s.map, sps: s.sps };
    return this.send({ csbId: s.csbId, rand: s.rand, map, sps, group: s.group, mki: o.mki ?? s.mki, tgk: s.tgk }, false, o.rekey ?? true);
  }

  private send(base: Omit<DhState, 't' | 'x' | 'dhi' | 'idi'>, initial: boolean, withDh: boolean): Offer<undefined> {
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
    this.state = { ...base, t, x: kp?.privateKey, dhi: kp?.publicKey, idi };
    return { bytes, bundle: undefined };
  }

  /** Process R_MESSAGE: verify SIGNr, the echoed T and DHi, then derive the TGK and keys. */
  receiveResponse(bytes: Uint8Array): CryptoSessionBundle {
    const s = this.state;
    if (!s) throw new Error('no offer outstanding');
    const msg = decodeOrReject(bytes);
    if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg);
    if (msg.header.dataType !== DataType.DhResp) throw new MikeyProtocolError(ErrorNo.InvalidDt, `expected a DH response, got data type ${msg.header.dataType}`);
    checkLayout(msg, [one(PayloadType.T), opt(PayloadType.Id), any(PayloadType.Cert), one(PayloadType.Id), { type: PayloadType.Dh, min: 0, max: 2 }, one(PayloadType.Sign)], 'DH R_MESSAGE');
    if (msg.header.csbId !== s.csbId) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'response for another CSB');
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
    const bundle = deriveBundle(header(DataType.DhInit, s.csbId, this.prf, s.map), s.rand, s.sps, { kind: 'tgk', tgk, mki: s.mki });
    s.tgk = tgk;
    s.bundle = bundle;
    return bundle;
  }

  get bundle(): CryptoSessionBundle | undefined {
    return this.state?.bundle;
  }
}
