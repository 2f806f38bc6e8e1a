// Pre-shared key method (RFC 3830 §3.1), its verification message and CSB updates (§4.5).
//   I_MESSAGE = HDR, T, RAND, [IDi], [IDr], {SP}, KEMAC      KEMAC = E(encr_key, {TGK}) || MAC
//   R_MESSAGE = HDR, T, [IDr], V                              (when the initiator sets V)
// The KEMAC MAC covers the whole I_MESSAGE but the MAC field; V covers R_MESSAGE || IDi || IDr || T.
import { macCompute, macVerify, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import { deriveMessageKeys, type MessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import { DataType, ErrorNo, PayloadType } from '../../wire/registry.js';
import type { DecodedMessage } from '../../wire/decode.js';
import type { CommonHeader, KeyDataPayload, Payload, SpPayload, TPayload } from '../../wire/types.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { idOf, type Identity } from '../../session/identity.js';
import {
  any, buildMapAndPolicies, checkFresh, checkLayout, checkSdpIds, decodeOrReject, encodeWithTrailingTag, encrAlgOf, header, idPayload, keyDataPayloads,
  macAlgOf, newTimestamp, one, opt, payloadOf, payloadsOf, random32, recordAuthenticated, requirePayload, resolveEndpoint, sdpIdsPayload, withoutGenExt,
  type Endpoint, type ResolvedEndpoint,
} from '../kit/common.js';
import { credentialFingerprint, CsbTable, type CsbOwner } from '../kit/csb.js';
import { answerOrRefuse, buildErrorMessage, withErrorResponse } from '../kit/error-message.js';
import { keyDataOf, openKemac, sealKemac } from '../kit/kemac.js';
import { alignForKeyWrap, type Offer, type OfferOptions, type UpdateOptions } from '../kit/offer.js';
import { checkBundlePolicy } from '../kit/policy.js';
import { buildVerification, readVerification } from '../kit/verification.js';

/** Algorithms protecting the MIKEY message itself. */
export interface MessageProtection {
  /** PRF of the header (default MIKEY-1). */
  prf?: MikeyPrf;
  /** KEMAC encryption (default AES-CM-128). */
  encrAlg?: KemacEncrAlg;
  /** KEMAC and V MAC (default HMAC-SHA-1-160). */
  macAlg?: MacAlg;
}

interface CsbState {
  csbId: number;
  rand: Uint8Array;
  prf: MikeyPrf;
  secret: Uint8Array;
  map: CommonHeader['csIdMap'];
  sps: SpPayload[];
  keys: KeyDataPayload[];
  idi?: Identity;
  idr?: Identity;
  bundle: CryptoSessionBundle;
}

const NULL_ALGS_REFUSED = 'NULL encryption or MAC refused (RFC 3830 §4.2.3: only over a transport that is itself secure; set allowUnprotected)';

// ---- shared by both sides ------------------------------------------------------------------

function messageKeys(secret: Uint8Array, csbId: number, rand: Uint8Array, prf: MikeyPrf, encrAlg: KemacEncrAlg, macAlg: MacAlg): MessageKeys {
  return deriveMessageKeys(secret, csbId, rand, prf, { encrAlg, macAlg });
}

/** Build a KEMAC-protected message whose KEMAC (last) MAC covers everything before it (§3.1). */
export function buildKemacMessage(
  hdr: CommonHeader, before: Payload[], keys: readonly Payload[], mk: MessageKeys, t: TPayload, encrAlg: KemacEncrAlg, macAlg: MacAlg,
): Uint8Array {
  const kemac = sealKemac(encrAlg, macAlg, mk, keys, hdr.csbId, t);
  return encodeWithTrailingTag({ header: hdr, payloads: [...before, kemac] }, kemac.mac.length, (covered) => macCompute(macAlg, mk.authKey, covered));
}

// ---- initiator -----------------------------------------------------------------------------

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
    this.state = { csbId, rand, prf: this.prf, secret: this.opts.psk, map, sps, keys, idi: this.opts.idi, idr: this.opts.idr, bundle, t, mk };
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

// ---- responder -----------------------------------------------------------------------------

export interface PskResponderOptions extends Endpoint {
  /** The pre-shared key, or a lookup by the identities in the message (undefined: unknown peer). */
  psk: Uint8Array | ((idi: Identity | undefined, idr: Identity | undefined) => Uint8Array | undefined);
  /** Our identity, sent as IDr in the verification message when given. */
  idr?: Identity;
  allowUnprotected?: boolean;
  /** KEMAC encryption algorithms accepted (default all but NULL). */
  encrAlgs?: readonly KemacEncrAlg[];
  /** MAC algorithms accepted (default all but NULL). */
  macAlgs?: readonly MacAlg[];
  /** In SDP: the protocol IDs seen there; the message must carry the same list (RFC 4567 §7.1). */
  sdpIds?: readonly string[];
}

export interface Accepted {
  bundle: CryptoSessionBundle;
  /** The verification message to send back, when the initiator asked for one. */
  response?: Uint8Array;
  /** The initiator's identity, as carried. */
  idi?: Identity;
  /** True for an update of an existing CSB. */
  update: boolean;
}

export class PskResponder {
  private readonly ep: ResolvedEndpoint;
  private readonly csbs = new CsbTable<CsbState>();

  constructor(private readonly opts: PskResponderOptions) {
    this.ep = resolveEndpoint(opts);
  }

  /** Process an I_MESSAGE. Throws MikeyProtocolError, with `response` set to the Error message to send. */
  async receive(bytes: Uint8Array): Promise<Accepted> {
    return answerOrRefuse(bytes, this.ep.clock, (msg, authenticated) => this.process(msg, authenticated));
  }

  private async process(msg: DecodedMessage, authenticated: (a: { macAlg: MacAlg; authKey: Uint8Array }) => void): Promise<Accepted> {
    if (msg.header.dataType !== DataType.PreShared) {
      throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType} is not a pre-shared key message`);
    }
    // General Extensions may stand anywhere (RFC 3830 §6.15); the KEMAC must be last (its MAC ends the message)
    if (msg.payloads.at(-1)?.type !== PayloadType.Kemac) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'PSK I_MESSAGE: the KEMAC must be the last payload');
    checkLayout(withoutGenExt(msg), [one(PayloadType.T), opt(PayloadType.Rand), opt(PayloadType.Id), opt(PayloadType.Id), any(PayloadType.Sp), one(PayloadType.Kemac)], 'PSK I_MESSAGE');
    const t = payloadOf(msg, PayloadType.T)!;
    const fresh = checkFresh(t, this.ep, msg.header.csbId);
    const prf = prfOf(msg.header.prfFunc);
    const ids = payloadsOf(msg, PayloadType.Id);
    const idi = idOf(ids[0]);
    const idr = idOf(ids[1]);
    const rand = payloadOf(msg, PayloadType.Rand)?.rand;
    // an update is checked with the RAND of the CSB it names; who holds that CSB is checked once the MAC verified
    const prior = rand ? undefined : this.csbs.peek(msg.header.csbId);
    if (!rand && !prior) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'no RAND and no CSB to update');
    const secret = typeof this.opts.psk === 'function' ? this.opts.psk(idi, idr) : this.opts.psk;
    if (!secret) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no pre-shared key for this peer');
    const kemac = requirePayload(msg, PayloadType.Kemac, 'KEMAC');
    const encrAlg = encrAlgOf(kemac.encrAlg);
    const macAlg = macAlgOf(kemac.macAlg);
    this.checkAlgs(encrAlg, macAlg);
    const useRand = rand ?? prior!.rand;
    const mk = messageKeys(secret, msg.header.csbId, useRand, prf, encrAlg, macAlg);
    // §5.3: verify the MAC over everything but the MAC field before anything else
    if (!macVerify(macAlg, mk.authKey, msg.bytes.subarray(0, kemac.span!.end - kemac.mac.length), kemac.mac)) {
      throw new MikeyProtocolError(ErrorNo.AuthFailure, 'KEMAC MAC does not verify');
    }
    authenticated({ macAlg, authKey: mk.authKey });
    await recordAuthenticated(msg.bytes, this.ep, fresh);
    // the CSB belongs to the identity and the key that created it (RFC 3830 §4.5)
    const owner: CsbOwner = { id: idi, credential: credentialFingerprint('psk', secret) };
    this.csbs.held(msg.header.csbId, owner);
    checkSdpIds(msg, this.opts.sdpIds);
    const keys = keyDataOf(openKemac(kemac, encrAlg, mk, msg.header.csbId, t));
    if (rand && keys.length === 0) throw new MikeyProtocolError(ErrorNo.Unspecified, 'initial message without a TGK');
    const sps = payloadsOf(msg, PayloadType.Sp);
    const useKeys = keys.length ? keys : prior!.keys;
    const bundle = deriveBundle(msg.header, useRand, sps, { kind: 'keyData', keys: useKeys });
    checkBundlePolicy(bundle, this.ep.minimumPolicy);
    this.csbs.commit(msg.header.csbId, owner, { csbId: msg.header.csbId, rand: useRand, prf, secret, map: msg.header.csIdMap, sps, keys: useKeys, idi, idr, bundle });
    const accepted: Accepted = { bundle, idi, update: !rand };
    if (msg.header.v) accepted.response = buildVerification(DataType.PskVerification, msg.header, t, this.opts.idr, idi, idr, macAlg, mk.authKey);
    return accepted;
  }

  private checkAlgs(encrAlg: KemacEncrAlg, macAlg: MacAlg): void {
    const unprotected = encrAlg === 'NULL' || macAlg === 'NULL';
    if (unprotected && !this.opts.allowUnprotected) throw new MikeyProtocolError(encrAlg === 'NULL' ? ErrorNo.InvalidEa : ErrorNo.InvalidMac, NULL_ALGS_REFUSED);
    if (this.opts.encrAlgs && !this.opts.encrAlgs.includes(encrAlg)) throw new MikeyProtocolError(ErrorNo.InvalidEa, `${encrAlg} not accepted`);
    if (this.opts.macAlgs && !this.opts.macAlgs.includes(macAlg)) throw new MikeyProtocolError(ErrorNo.InvalidMac, `${macAlg} not accepted`);
  }
}

export type { Offer, OfferOptions, UpdateOptions } from '../kit/offer.js';
