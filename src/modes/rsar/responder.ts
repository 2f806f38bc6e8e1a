// RSA-R method (RFC 4738): the responder (messages.ts has the layout and what both sides share).
import { X509Certificate, type KeyObject } from 'node:crypto';
import { macCompute, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import { deriveMessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import { rsaEnvelopeEncrypt } from '../../crypto/rsa.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { spanOf } from '../../wire/encode.js';
import { CsIdMapType, DataType, ErrorNo, GeneralExtType, PayloadType, ProtType } from '../../wire/registry.js';
import { policyParams } from '../../wire/sp.js';
import type { CommonHeader, CsIdMap, KeyDataPayload, Payload, SpPayload, SrtpIdEntry } from '../../wire/types.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { policyParamsForProfile, srtpPolicyFromSp, type SrtpProfileName } from '../../session/policy.js';
import {
  any, buildMapAndPolicies, checkFresh, checkLayout, checkSdpIds, decodeOrReject, header, idPayload, withoutGenExt, keyDataPayloads, one, opt,
  payloadOf, payloadsOf, random32, recordAuthenticated, splitIds, resolveEndpoint, type Endpoint, type KeySpec, type ResolvedEndpoint,
  type SessionOffer,
} from '../kit/common.js';
import { buildErrorMessage, withErrorResponse } from '../kit/error-message.js';
import { sameIdentity, type Identity } from '../../session/identity.js';
import { credentialFingerprint, CsbTable, type CsbOwner } from '../kit/csb.js';
import type { Answered } from '../kit/offer.js';
import { checkBundlePolicy } from '../kit/policy.js';
import { kemacOnly, sealKemac } from '../kit/kemac.js';
import { alignForKeyWrap } from '../kit/offer.js';
import { encodeSigned, identityOfCertificate, ourIdentity, signedBytes, signPlaceholder, toCert, verifySigned, type SigningCredentials } from '../kit/signature.js';
import { type EnvelopeOptions, type Credentials, privateKeyOf, certPayloadsOf, peerKeyOf, signrExtra, signedIdentities, sameSp } from './messages.js';

/** A built SP carrying the parameters of `sp` under policy number `no`. */
const copySp = (sp: SpPayload, no = sp.policyNo): SpPayload => ({ type: PayloadType.Sp, policyNo: no, protType: sp.protType, params: policyParams(sp).map((p) => ({ type: p.type, value: Uint8Array.from(p.value) })) });

/** Group mode (RFC 4738 §3.2): what every initiator receives. */
export interface RsaRGroupOptions {
  /** The group's CSB ID, sent in the General Extension CSB_ID (default random). */
  csbId?: number;
  /** The group's RAND (default 16 random bytes). */
  rand?: Uint8Array;
  /** The group's crypto sessions and policies (the senders' SSRCs). */
  sessions: readonly SessionOffer[];
  /** The group's keys (default one random 16-byte TGK, chosen once). */
  keys?: readonly KeySpec[];
}

export interface RsaRResponderOptions extends Endpoint, Credentials {
  /** Our identity: first in the KEMAC, and in clear without a certificate (default: from our certificate). */
  idr?: Identity;
  /** Send IDr in clear even with a certificate. */
  sendIdr?: boolean;
  prf?: MikeyPrf;
  /** Unicast: SRTP profiles we accept among those proposed (default: every one the session layer runs). */
  profiles?: readonly SrtpProfileName[];
  /** Unicast: our policy when the initiator proposes none (default AES_CM_128_HMAC_SHA1_80). */
  policy?: SrtpProfileName;
  /** Unicast: our own streams, added to the initiator's in the CS ID map. */
  sessions?: readonly SessionOffer[];
  /** Unicast: the keys sent per exchange (default one random 16-byte TGK each time). */
  keys?: readonly KeySpec[];
  /** Group mode: one CSB, RAND, policy and TGK for every initiator. */
  group?: RsaRGroupOptions;
  encrAlg?: KemacEncrAlg;
  macAlg?: MacAlg;
  envelope?: EnvelopeOptions;
  /** The SDP key-management protocol IDs seen in SDP: the I_MESSAGE must carry the same list. */
  sdpIds?: readonly string[];
}

/** What the responder accepted: always `answered` (RFC 4738 §3.4: a response is mandatory). */
export interface RsaRAccepted extends Answered {
  bundle: CryptoSessionBundle;
  /** The initiator's identity: its clear IDi, else from its certificate. */
  idi?: Identity;
  certificate?: X509Certificate;
  update: boolean;
}

interface GroupState {
  csbId: number;
  rand: Uint8Array;
  map: CsIdMap;
  sps: SpPayload[];
  keys: KeyDataPayload[];
}

interface UnicastCsb {
  /** The initiator's key: only it may update the CSB. */
  peer: KeyObject;
  rand: Uint8Array;
  map: CsIdMap;
  sps: SpPayload[];
}

export class RsaRResponder {
  private readonly ep: ResolvedEndpoint;
  private readonly prf: MikeyPrf;
  private readonly key: KeyObject;
  private readonly signer: SigningCredentials;
  private readonly idr: Identity;
  private readonly encrAlg: KemacEncrAlg;
  private readonly macAlg: MacAlg;
  private readonly groupState?: GroupState;
  private readonly csbs = new CsbTable<UnicastCsb>();
  private readonly anchors: X509Certificate[];

  constructor(private readonly opts: RsaRResponderOptions) {
    this.ep = resolveEndpoint(opts);
    this.anchors = (opts.trustAnchors ?? []).map(toCert);
    this.prf = opts.prf ?? 'MIKEY-1';
    this.key = privateKeyOf(opts.privateKey);
    this.signer = { ...opts, privateKey: this.key };
    const idr = ourIdentity({ idi: opts.idr, certificate: opts.certificate });
    if (!idr) throw new TypeError('RSA-R carries IDr in the KEMAC (RFC 4738 §3.6): give idr or a certificate');
    this.idr = idr;
    this.encrAlg = opts.encrAlg ?? 'AES-CM-128';
    this.macAlg = opts.macAlg ?? 'HMAC-SHA-1-160';
    if (this.encrAlg === 'NULL') throw new TypeError('RSA-R encrypts the KEMAC: NULL encryption refused');
    if (opts.group) {
      const g = opts.group;
      const { map, sps } = buildMapAndPolicies(g.sessions);
      const keys = keyDataPayloads(alignForKeyWrap(g.keys ?? [{}], this.encrAlg, 4 + idr.data.length), this.ep.random);
      this.groupState = { csbId: (g.csbId ?? random32(this.ep.random)) >>> 0, rand: g.rand ?? this.ep.random(16), map, sps, keys };
    }
  }

  /** The group's keys as every member derives them (group mode only). */
  get groupBundle(): CryptoSessionBundle | undefined {
    const g = this.groupState;
    if (!g) return undefined;
    return deriveBundle(header(DataType.RsaRResp, g.csbId, this.prf, g.map), g.rand, g.sps, { kind: 'keyData', keys: g.keys });
  }

  /** Process an I_MESSAGE. Throws MikeyProtocolError with `response` set to the Error message. */
  async receive(bytes: Uint8Array): Promise<RsaRAccepted> {
    let msg: DecodedMessage | undefined;
    try {
      msg = decodeOrReject(bytes);
      return await this.process(msg);
    } catch (e) {
      // Invalid SPpar: the Error message lists what we support (RFC 3830 §5.1.1)
      return withErrorResponse(e, (err) => buildErrorMessage(msg?.header, msg && payloadOf(msg, PayloadType.T), [err.errorNo], this.ep.clock,
        { sps: err.errorNo === ErrorNo.InvalidSpPar ? this.supportedSps() : undefined }));
    }
  }

  private supportedSps(): SpPayload[] {
    if (this.groupState) return this.groupState.sps;
    const profiles = this.opts.profiles ?? [this.opts.policy ?? 'AES_CM_128_HMAC_SHA1_80'];
    return profiles.map((p, i) => ({ type: PayloadType.Sp, policyNo: i, protType: ProtType.Srtp, params: policyParamsForProfile(p) }));
  }

  private acceptable(sp: SpPayload): boolean {
    try {
      const profile = srtpPolicyFromSp(sp).profile;
      return !this.opts.profiles || (profile !== undefined && this.opts.profiles.includes(profile));
    } catch (e) {
      if (e instanceof MikeyProtocolError) return false;
      throw e;
    }
  }

  private async process(msg: DecodedMessage): Promise<RsaRAccepted> {
    if (msg.header.dataType !== DataType.RsaRInit) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType} is not an RSA-R I_MESSAGE`);
    checkLayout(withoutGenExt(msg), [one(PayloadType.T), opt(PayloadType.Rand), opt(PayloadType.Id), any(PayloadType.Cert), opt(PayloadType.Id), any(PayloadType.Sp), one(PayloadType.Sign)], 'RSA-R I_MESSAGE');
    const t = payloadOf(msg, PayloadType.T)!;
    const fresh = checkFresh(t, this.ep, msg.header.csbId);
    const prf = prfOf(msg.header.prfFunc);
    const { idi: clearIdi, idr: askedIdr } = splitIds(msg);
    // SIGNi by the key of CERTi (which also receives the envelope key) or a known key
    const { key: peerKey, cert } = await peerKeyOf(msg, this.opts, this.anchors, clearIdi, this.ep.clock.now(), ['digitalSignature', 'keyEncipherment'],
      (key) => verifySigned(msg, key, this.opts));
    await recordAuthenticated(signedBytes(msg), this.ep, fresh);
    if (askedIdr && !sameIdentity(askedIdr, this.idr)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'the I_MESSAGE asks for another responder');
    checkSdpIds(msg, this.opts.sdpIds);
    const idi = clearIdi ?? (cert ? identityOfCertificate(cert) : undefined);
    const rand = payloadOf(msg, PayloadType.Rand)?.rand;
    const offered = payloadsOf(msg, PayloadType.Sp);
    const payloads: Payload[] = [];
    let csbEff: number;
    let useRand: Uint8Array;
    let map: CsIdMap;
    let sps: SpPayload[];
    let keys: KeyDataPayload[];
    let update = false;
    let owner: CsbOwner | undefined;
    if (this.groupState) {
      // §3.2, §3.5: the group's CSB ID, RAND, SP and TGK whatever the I_MESSAGE offered
      const g = this.groupState;
      if (offered.length && !g.sps.some((sp) => offered.some((o) => sameSp(o, sp)))) throw new MikeyProtocolError(ErrorNo.InvalidSpPar, 'none of the proposed policies is the group\'s');
      payloads.push({ type: PayloadType.GeneralExt, extType: GeneralExtType.CsbId, data: new Uint8Array(0), csbId: g.csbId }, t, { type: PayloadType.Rand, rand: g.rand });
      ({ csbId: csbEff, rand: useRand, map, sps, keys } = g);
    } else {
      // the CSB ID must be free or held by this signer (RFC 3830 §4.5): another peer's is refused, not replaced
      owner = { id: idi, credential: credentialFingerprint('public-key', peerKey) };
      const known = this.csbs.held(msg.header.csbId, owner);
      const prior = rand ? undefined : known;
      update = prior !== undefined;
      csbEff = msg.header.csbId;
      ({ map, sps } = this.choosePolicies(msg.header.csIdMap, offered));
      // §3.6: exactly one side sends RAND; an update sends none (RFC 3830 §4.5)
      useRand = prior?.rand ?? rand ?? this.ep.random(16);
      payloads.push(t);
      if (!rand && !prior) payloads.push({ type: PayloadType.Rand, rand: useRand });
      keys = keyDataPayloads(alignForKeyWrap(this.opts.keys ?? [{}], this.encrAlg, 4 + this.idr.data.length), this.ep.random);
    }
    const hdr: CommonHeader = { ...msg.header, dataType: DataType.RsaRResp, v: false, csIdMap: map, span: undefined };
    // the keys against the local minimum policy before any RSA operation is spent on them
    const bundle = deriveBundle({ ...hdr, csbId: csbEff }, useRand, sps, { kind: 'keyData', keys });
    checkBundlePolicy(bundle, this.ep.minimumPolicy);
    // [IDr|CERTr], [SP], KEMAC, PKE, SIGNr
    const certs = certPayloadsOf(this.opts);
    const clearIdr = !certs.length || this.opts.sendIdr ? this.idr : undefined;
    if (clearIdr) payloads.push(idPayload(clearIdr));
    payloads.push(...certs, ...sps);
    const envKey = this.ep.random(this.opts.envelope?.keyLength ?? 16);
    const mk = deriveMessageKeys(envKey, csbEff, useRand, prf, { encrAlg: this.encrAlg, macAlg: this.macAlg });
    const kemac = sealKemac(this.encrAlg, this.macAlg, mk, [idPayload(this.idr), ...keys], csbEff, t);
    payloads.push(kemac);
    payloads.push({ type: PayloadType.Pke, c: 0, data: rsaEnvelopeEncrypt(peerKey, envKey, { padding: this.opts.envelope?.padding ?? 'pkcs1-v1_5', oaepHash: this.opts.envelope?.oaepHash }) });
    payloads.push(signPlaceholder());
    const ids = signedIdentities(msg, clearIdr);
    // the KEMAC MAC is over the KEMAC alone: filled first, then SIGNr covers it (RFC 4738 §3.6)
    const response = encodeSigned({ header: hdr, payloads }, this.signer, (draft, encoded) => {
      const span = spanOf(encoded, kemac);
      draft.set(macCompute(this.macAlg, mk.authKey, kemacOnly(draft, { span, mac: kemac.mac })), span.end - kemac.mac.length);
    }, signrExtra(ids.idi, ids.idr, t));
    if (owner) this.csbs.commit(msg.header.csbId, owner, { peer: peerKey, rand: useRand, map, sps });
    const out: RsaRAccepted = { answered: true, response, bundle, update };
    if (idi) out.idi = idi;
    if (cert) out.certificate = cert;
    return out;
  }

  /**
   * Unicast policy choice (RFC 4738 §3.5, §3.6): each proposed stream keeps its policy when we
   * accept it, else takes the first one we accept; none acceptable: Invalid SPpar. Without
   * proposals, our policy. Our own streams follow; SSRC 0 is ours to fill (§3.4).
   */
  private choosePolicies(offer: CsIdMap, offered: SpPayload[]): { map: CsIdMap; sps: SpPayload[] } {
    if (offer.type !== CsIdMapType.SrtpId) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'RSA-R with SRTP: the SRTP-ID map is used');
    const randomSsrc = (): number => random32(this.ep.random) || 1;
    let accepted: SpPayload[];
    if (offered.length) {
      accepted = offered.filter((sp) => this.acceptable(sp));
      if (!accepted.length) throw new MikeyProtocolError(ErrorNo.InvalidSpPar, 'none of the proposed policies is acceptable');
    } else accepted = [{ type: PayloadType.Sp, policyNo: 0, protType: ProtType.Srtp, params: policyParamsForProfile(this.opts.policy ?? 'AES_CM_128_HMAC_SHA1_80') }];
    const first = accepted[0]!.policyNo;
    const byNo = new Map(accepted.map((sp) => [sp.policyNo, sp]));
    const entries: SrtpIdEntry[] = offer.entries.map((e) => ({ policyNo: byNo.has(e.policyNo) ? e.policyNo : first, ssrc: e.ssrc || randomSsrc(), roc: e.roc }));
    for (const s of this.opts.sessions ?? []) entries.push({ policyNo: first, ssrc: s.ssrc >>> 0 || randomSsrc(), roc: (s.roc ?? 0) >>> 0 });
    if (entries.length > 255) throw new MikeyProtocolError(ErrorNo.Unspecified, 'more than 255 crypto sessions');
    const used = new Set(entries.map((e) => e.policyNo));
    if (!used.size) used.add(first);
    return { map: { type: CsIdMapType.SrtpId, entries }, sps: accepted.filter((sp) => used.has(sp.policyNo)).map((sp) => copySp(sp)) };
  }
}
