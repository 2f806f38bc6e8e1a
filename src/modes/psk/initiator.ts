// Pre-shared key method (RFC 3830 §3.1): the initiator (messages.ts has the layout and what both sides share).
import { macCompute, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import type { MessageKeys, MikeyPrf } from '../../crypto/prf.js';
import { DataType, PayloadType } from '../../wire/registry.js';
import type { CommonHeader, KeyDataPayload, Payload, SpPayload, TPayload } from '../../wire/types.js';
import { deriveBundle, type CryptoSessionBundle } from '../../session/bundle.js';
import type { Identity } from '../../session/identity.js';
import {
  buildMapAndPolicies, encodeWithTrailingTag, header, idPayload, keyDataPayloads, newTimestamp, random32, resolveEndpoint, sdpIdsPayload,
  type Endpoint, type ResolvedEndpoint,
} from '../kit/common.js';
import { sealKemac } from '../kit/kemac.js';
import { alignForKeyWrap, type Offer, type OfferOptions, type UpdateOptions } from '../kit/offer.js';
import { readVerification } from '../kit/verification.js';
import { type CsbState, NULL_ALGS_REFUSED, messageKeys } from './messages.js';

/** Algorithms protecting the MIKEY message itself. */
export interface MessageProtection {
  /** PRF of the header (default MIKEY-1). */
  prf?: MikeyPrf;
  /** KEMAC encryption (default AES-CM-128). */
  encrAlg?: KemacEncrAlg;
  /** KEMAC and V MAC (default HMAC-SHA-1-160). */
  macAlg?: MacAlg;
}

/** Build a KEMAC-protected message whose KEMAC (last) MAC covers everything before it (§3.1). */
export function buildKemacMessage(
  hdr: CommonHeader, before: Payload[], keys: readonly Payload[], mk: MessageKeys, t: TPayload, encrAlg: KemacEncrAlg, macAlg: MacAlg,
): Uint8Array {
  const kemac = sealKemac(encrAlg, macAlg, mk, keys, hdr.csbId, t);
  return encodeWithTrailingTag({ header: hdr, payloads: [...before, kemac] }, kemac.mac.length, (covered) => macCompute(macAlg, mk.authKey, covered));
}

export interface PskInitiatorOptions extends Endpoint, MessageProtection {
  /** The pre-shared key s (RFC 3830 §3.1). */
  psk: Uint8Array;
  idi?: Identity;
  idr?: Identity;
  allowUnprotected?: boolean;
  /** In SDP: the key-management protocol IDs of the offer, sent in the SDP IDs extension (RFC 4567 §4.1.4). */
  sdpIds?: readonly string[];
}

export class PskInitiator {
  private readonly ep: ResolvedEndpoint;
  private readonly prf: MikeyPrf;
  private readonly encrAlg: KemacEncrAlg;
  private readonly macAlg: MacAlg;
  private state?: CsbState & { t: TPayload; mk: MessageKeys };

  constructor(private readonly opts: PskInitiatorOptions) {
    this.ep = resolveEndpoint(opts);
    this.prf = opts.prf ?? 'MIKEY-1';
    this.encrAlg = opts.encrAlg ?? 'AES-CM-128';
    this.macAlg = opts.macAlg ?? 'HMAC-SHA-1-160';
    if ((this.encrAlg === 'NULL' || this.macAlg === 'NULL') && !opts.allowUnprotected) throw new TypeError(NULL_ALGS_REFUSED);
  }

  /** The I_MESSAGE of a new CSB. */
  createOffer(o: OfferOptions): Offer {
    const csbId = o.csbId ?? random32(this.ep.random);
    const rand = o.rand ?? this.ep.random(16);
    const { map, sps } = buildMapAndPolicies(o.sessions);
    const keys = keyDataPayloads(alignForKeyWrap(o.keys ?? [{}], this.encrAlg), this.ep.random);
    return this.send(csbId, rand, map, sps, keys, o.verify ?? false, true);
  }

  /** An update of the current CSB: same CSB ID, new T, no RAND (RFC 3830 §4.5). */
  createUpdate(o: UpdateOptions = {}): Offer {
    const s = this.state;
    if (!s) throw new Error('no CSB to update: create an offer first');
    const { map, sps } = o.sessions ? buildMapAndPolicies(o.sessions) : { map: s.map, sps: s.sps };
    const keys = o.keys ? keyDataPayloads(alignForKeyWrap(o.keys, this.encrAlg), this.ep.random) : s.keys;
    return this.send(s.csbId, s.rand, map, sps, keys, o.verify ?? false, false, o.keys !== undefined);
  }

  private send(csbId: number, rand: Uint8Array, map: CommonHeader['csIdMap'], sps: SpPayload[], keys: KeyDataPayload[], v: boolean, initial: boolean, newKeys = true): Offer {
    const hdr = header(DataType.PreShared, csbId, this.prf, map, v);
    const t = newTimestamp(this.ep);
    const mk = messageKeys(this.opts.psk, csbId, rand, this.prf, this.encrAlg, this.macAlg);
    const before: Payload[] = [t];
    if (initial) before.push({ type: PayloadType.Rand, rand });
    if (this.opts.idi) before.push(idPayload(this.opts.idi));
    if (this.opts.idr) before.push(idPayload(this.opts.idr));
    before.push(...sps);
    if (this.opts.sdpIds) before.push(sdpIdsPayload(this.opts.sdpIds));
    // an update without new keys carries an empty KEMAC: its MAC still authenticates the update
    const bytes = buildKemacMessage(hdr, before, newKeys ? keys : [], mk, t, this.encrAlg, this.macAlg);
    const bundle = deriveBundle(hdr, rand, sps, { kind: 'keyData', keys });
    this.state = { csbId, rand, map, sps, keys, idi: this.opts.idi, idr: this.opts.idr, bundle, t, mk };
    return { bytes, bundle };
  }

  /** Check the responder's verification message (or read its Error message). */
  receiveResponse(bytes: Uint8Array): CryptoSessionBundle {
    if (!this.state) throw new Error('no offer outstanding');
    return readVerification(bytes, DataType.PskVerification, this.state, this.macAlg, this.state.mk.authKey);
  }

  get bundle(): CryptoSessionBundle | undefined {
    return this.state?.bundle;
  }
}
