// RSA-R method (RFC 4738): the initiator (messages.ts has the layout and what both sides share).
import { X509Certificate, type KeyObject } from 'node:crypto';
import { macVerify } from '../../crypto/kemac.js';
import { deriveMessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import { rsaEnvelopeDecrypt } from '../../crypto/rsa.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { spannedMessage } from '../../wire/encode.js';
import { DataType, ErrorNo, GeneralExtType, PayloadType, ProtType } from '../../wire/registry.js';
import type { CommonHeader, CsIdMap, KeyDataPayload, Payload, SpPayload, TPayload } from '../../wire/types.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { policyParamsForProfile, type SrtpProfileName } from '../../session/policy.js';
import {
  any, buildMapAndPolicies, checkLayout, decodeOrReject, encrAlgOf, header, idPayload, sdpIdsPayload, withoutGenExt, macAlgOf, newTimestamp,
  one, opt, payloadOf, payloadsOf, random32, resolveEndpoint, type Endpoint, type ResolvedEndpoint, type SessionOffer,
} from '../kit/common.js';
import { rejectErrorMessage } from '../kit/error-message.js';
import { idOf, sameIdentity, type Identity } from '../../session/identity.js';
import { kemacOnly, openKemacWithId } from '../kit/kemac.js';
import { encodeSignedWithSpans, ourIdentity, signPlaceholder, toCert, verifySigned, type SigningCredentials } from '../kit/signature.js';
import type { Offer } from '../kit/offer.js';
import { type EnvelopeOptions, type Credentials, hexOf, privateKeyOf, certPayloadsOf, peerKeyOf, signrExtra, signedIdentities, sameSp } from './messages.js';

export interface RsaRInitiatorOptions extends Endpoint, Credentials {
  /** Our identity, sent in clear when no certificate is sent (or with `sendIdi`). */
  idi?: Identity;
  sendIdi?: boolean;
  /** Accept an R_MESSAGE only from this responder; it is named in the I_MESSAGE (RFC 4738 §3.4). */
  idr?: Identity;
  /** Local policy on who answered (RFC 4738 §5): false refuses the keys (Invalid ID). */
  acceptResponder?: (idr: Identity, cert: X509Certificate | undefined) => boolean;
  prf?: MikeyPrf;
  envelope?: EnvelopeOptions;
  /** The SDP key-management protocol IDs, sent in a General Extension (RFC 4567 §4.1.4). */
  sdpIds?: readonly string[];
}

export interface RsaROfferOptions {
  /** Our RTP streams (SSRC, ROC) and the policy proposed for each (RFC 4738 §3.4); none: #CS = 0. */
  sessions?: readonly SessionOffer[];
  /** Further policies we accept, proposed as extra SP payloads. */
  policies?: readonly SrtpProfileName[];
  csbId?: number;
  /** Our RAND (unicast default: 16 random bytes, RFC 4738 §3.4 SHOULD); false: the responder sends it. */
  rand?: Uint8Array | false;
  /** Ask for group keys (RFC 4738 §3.2): no SP, no RAND used; the answer sets CSB ID, RAND and SP. */
  group?: boolean;
}

/** An I_MESSAGE sent: what its R_MESSAGE is checked against. */
interface AwaitingResponse {
  csbId: number;
  group: boolean;
  /** RAND we sent (unicast), used for the keys. */
  rand?: Uint8Array;
  map: CsIdMap;
  sps: SpPayload[];
  t: TPayload;
  request: DecodedMessage;
  /** For an update: the CSB it renews. */
  updating?: Established;
}

/** The CSB an R_MESSAGE established. */
interface Established {
  rand: Uint8Array;
  csbId: number;
  group: boolean;
  keys: KeyDataPayload[];
  map: CsIdMap;
  sps: SpPayload[];
  bundle: CryptoSessionBundle;
}

export interface RsaRResult {
  bundle: CryptoSessionBundle;
  /** The responder's identity, as authenticated (the IDr inside the KEMAC). */
  idr: Identity;
  /** Its certificate, when it sent one. */
  certificate?: X509Certificate;
  /** Group mode: the CSB ID the responder set (General Extension CSB_ID). */
  groupCsbId?: number;
}

export class RsaRInitiator {
  private readonly ep: ResolvedEndpoint;
  private readonly prf: MikeyPrf;
  private readonly key: KeyObject;
  private readonly signer: SigningCredentials;
  private readonly idi?: Identity;
  private readonly anchors: X509Certificate[];
  private awaiting?: AwaitingResponse;
  private established?: Established;

  constructor(private readonly opts: RsaRInitiatorOptions) {
    this.ep = resolveEndpoint(opts);
    this.anchors = (opts.trustAnchors ?? []).map(toCert);
    this.prf = opts.prf ?? 'MIKEY-1';
    this.key = privateKeyOf(opts.privateKey);
    this.signer = { ...opts, privateKey: this.key };
    this.idi = ourIdentity(opts);
    if (opts.sdpIds) sdpIdsPayload(opts.sdpIds);
  }

  /** The I_MESSAGE of a new CSB (data type 9, V = 1); the keys come with the R_MESSAGE. */
  createOffer(o: RsaROfferOptions = {}): Offer<undefined> {
    const group = o.group ?? false;
    // a lone ID payload without CERTi reads as IDi ([IDi|CERTi], [IDr]): name ourselves first
    if (this.opts.idr && !this.idi && !this.opts.certificate && !this.opts.certificateUrl) throw new TypeError('RSA-R: to name the responder (idr), send IDi or a certificate');
    const csbId = o.csbId ?? random32(this.ep.random);
    // RFC 4738 §3.2: in group mode the initiator MUST NOT send SP
    const { map, sps } = buildMapAndPolicies(o.sessions ?? []);
    const extra = group ? [] : (o.policies ?? []).map((p) => ({ params: policyParamsForProfile(p) }));
    const offered = group ? [] : [...sps];
    for (const e of extra) {
      const sp: SpPayload = { type: PayloadType.Sp, policyNo: offered.length, protType: ProtType.Srtp, params: e.params };
      if (!offered.some((x) => sameSp(x, sp))) offered.push(sp);
    }
    if (offered.length > 255) throw new RangeError('at most 256 policies');
    const rand = o.rand === false ? undefined : o.rand ?? (group ? undefined : this.ep.random(16));
    return this.send(csbId, group, map, offered, rand, undefined);
  }

  /** An update of the established unicast CSB (RFC 3830 §4.5): same CSB ID, new T, no RAND; a new TGK comes back. */
  createUpdate(o: { sessions?: readonly SessionOffer[] } = {}): Offer<undefined> {
    const s = this.awaiting;
    const e = this.established;
    if (!s || !e || e.group) throw new Error('no established unicast CSB to update');
    const { map, sps } = o.sessions ? buildMapAndPolicies(o.sessions) : { map: s.map, sps: s.sps };
    return this.send(s.csbId, false, map, sps, undefined, e);
  }

  private send(csbId: number, group: boolean, map: CsIdMap, sps: SpPayload[], rand: Uint8Array | undefined, updating: Established | undefined): Offer<undefined> {
    const hdr = header(DataType.RsaRInit, csbId, this.prf, map, true);
    const t = newTimestamp(this.ep);
    const payloads: Payload[] = [t];
    if (rand) payloads.push({ type: PayloadType.Rand, rand });
    const certs = certPayloadsOf(this.opts);
    if (this.idi && (!certs.length || this.opts.sendIdi)) payloads.push(idPayload(this.idi));
    payloads.push(...certs);
    if (this.opts.idr) payloads.push(idPayload(this.opts.idr));
    payloads.push(...sps);
    if (this.opts.sdpIds) payloads.push(sdpIdsPayload(this.opts.sdpIds));
    payloads.push(signPlaceholder());
    const encoded = encodeSignedWithSpans({ header: hdr, payloads }, this.signer);
    const bytes = encoded.bytes;
    this.awaiting = { csbId, group, rand, map, sps, t, request: spannedMessage({ header: hdr, payloads }, encoded), updating };
    this.established = updating;
    return { bytes, bundle: undefined };
  }

  /** Process the R_MESSAGE (RFC 4738 §3.7); an Error message throws MikeyErrorMessage. */
  async receiveResponse(bytes: Uint8Array): Promise<RsaRResult> {
    const s = this.awaiting;
    if (!s) throw new Error('no request outstanding');
    const msg = decodeOrReject(bytes);
    if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg);
    if (msg.header.dataType !== DataType.RsaRResp) throw new MikeyProtocolError(ErrorNo.InvalidDt, `expected an RSA-R R_MESSAGE, got data type ${msg.header.dataType}`);
    checkLayout(withoutGenExt(msg), [one(PayloadType.T), opt(PayloadType.Rand), opt(PayloadType.Id), any(PayloadType.Cert), any(PayloadType.Sp),
      one(PayloadType.Kemac), one(PayloadType.Pke), one(PayloadType.Sign)], 'RSA-R R_MESSAGE');
    // §3.6: same CSB ID in the HDR, the T of the I_MESSAGE
    if (msg.header.csbId !== s.csbId) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'response for another CSB');
    const t = payloadOf(msg, PayloadType.T)!;
    if (t.tsType !== s.t.tsType || hexOf(t.value) !== hexOf(s.t.value)) throw new MikeyProtocolError(ErrorNo.InvalidTs, 'response does not echo our timestamp');
    // who signed it, and the signature over R_MESSAGE || IDi || IDr || T
    const clearIdr = idOf(payloadOf(msg, PayloadType.Id));
    const ids = signedIdentities(s.request, clearIdr);
    const { cert } = await peerKeyOf(msg, this.opts, this.anchors, clearIdr ?? this.opts.idr, this.ep.clock.now(), ['digitalSignature'],
      (key) => verifySigned(msg, key, this.opts, signrExtra(ids.idi, ids.idr, t)));
    // the authenticated message's structure (§3.6, §3.7): silently discarded when wrong
    const csbExt = msg.payloads.filter((p) => p.type === PayloadType.GeneralExt && p.extType === GeneralExtType.CsbId);
    const rand = payloadOf(msg, PayloadType.Rand)?.rand;
    const sps = payloadsOf(msg, PayloadType.Sp);
    let useRand: Uint8Array;
    let csbEff = s.csbId;
    if (s.group) {
      if (csbExt.length !== 1 || !rand || !sps.length) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'group R_MESSAGE without CSB_ID, RAND or SP (RFC 4738 §3.2)');
      csbEff = (csbExt[0] as { csbId?: number }).csbId!;
      useRand = rand;
    } else {
      if (csbExt.length) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'CSB_ID extension in a unicast R_MESSAGE (RFC 4738 §3.6)');
      if (s.updating) {
        if (rand) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'RAND in the answer to an update (RFC 3830 §4.5)');
        useRand = s.updating.rand;
      } else if (s.rand) {
        if (rand) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'both sides sent RAND (RFC 4738 §3.7)');
        useRand = s.rand;
      } else {
        if (!rand) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'neither side sent RAND (RFC 4738 §3.7)');
        useRand = rand;
      }
      // §3.7: a policy we did not propose is discarded
      if (s.sps.length) for (const sp of sps) {
        if (!s.sps.some((o) => sameSp(o, sp))) throw new MikeyProtocolError(ErrorNo.InvalidSpPar, `policy ${sp.policyNo} was not proposed`);
      }
      if (s.sps.length && !sps.length) throw new MikeyProtocolError(ErrorNo.InvalidSpPar, 'policies proposed and none returned (RFC 4738 §3.6)');
    }
    // the envelope key, the KEMAC keys and MAC, then IDr || {TGK}
    const kemac = payloadOf(msg, PayloadType.Kemac)!;
    const encrAlg = encrAlgOf(kemac.encrAlg);
    const macAlg = macAlgOf(kemac.macAlg);
    if (encrAlg === 'NULL') throw new MikeyProtocolError(ErrorNo.InvalidEa, 'NULL encryption of the KEMAC in RSA-R');
    if (macAlg === 'NULL' && encrAlg !== 'AES-KW-128') throw new MikeyProtocolError(ErrorNo.InvalidMac, 'NULL MAC without key wrap');
    const prf = prfOf(msg.header.prfFunc);
    let envKey: Uint8Array;
    try {
      envKey = rsaEnvelopeDecrypt(this.key, payloadOf(msg, PayloadType.Pke)!.data, { padding: this.opts.envelope?.padding ?? 'pkcs1-v1_5', oaepHash: this.opts.envelope?.oaepHash, expectedLength: this.opts.envelope?.keyLength ?? 16 });
    } catch (e) {
      throw new MikeyProtocolError(ErrorNo.AuthFailure, 'PKE does not decrypt', { cause: e });
    }
    const mk = deriveMessageKeys(envKey, csbEff, useRand, prf, { encrAlg, macAlg });
    if (!macVerify(macAlg, mk.authKey, kemacOnly(msg.bytes, kemac), kemac.mac)) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'KEMAC MAC does not verify');
    const { id, keys } = openKemacWithId(kemac, encrAlg, mk, csbEff, t, 'IDr');
    // the responder's identity: the KEMAC's IDr, matching what it stated and what we asked for
    if (clearIdr && !sameIdentity(clearIdr, id)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'the IDr inside the KEMAC differs from the IDr sent');
    if (this.opts.idr && !sameIdentity(this.opts.idr, id)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'answered by another responder than the one asked for');
    if (this.opts.acceptResponder && !this.opts.acceptResponder(id, cert)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'responder refused by local policy');
    const prior = this.established;
    const useKeys = keys.length ? keys : prior?.keys ?? [];
    if (!useKeys.length) throw new MikeyProtocolError(ErrorNo.Unspecified, 'R_MESSAGE without a TGK');
    const hdr: CommonHeader = { ...msg.header, csbId: csbEff, span: undefined };
    const bundle = deriveBundle(hdr, useRand, sps, { kind: 'keyData', keys: useKeys });
    this.established = { rand: useRand, csbId: csbEff, group: s.group, keys: useKeys, map: msg.header.csIdMap, sps, bundle };
    const out: RsaRResult = { bundle, idr: id };
    if (cert) out.certificate = cert;
    if (s.group) out.groupCsbId = csbEff;
    return out;
  }

  get bundle(): CryptoSessionBundle | undefined {
    return this.established?.bundle;
  }
}
