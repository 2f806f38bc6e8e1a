// RSA-R, the reverse public-key method (RFC 4738 §3), unicast and group mode, and updates
// (RFC 3830 §4.5).
//   I_MESSAGE = HDR, T, [RAND], [IDi|CERTi], [IDr], {SP}, SIGNi                     (V = 1)
//   R_MESSAGE = HDR, [GenExt(CSB_ID)], T, [RAND], [IDr|CERTr], [SP], KEMAC, PKE, SIGNr
// The responder picks the envelope key and the TGK: KEMAC = E(encr_key, IDr || {TGK}) || MAC,
// the MAC over the KEMAC alone with its Next payload zeroed (RFC 3830 §5.2, the public-key
// rule; RFC 4738 §3.6 "calculated over the KEMAC payload"); PKE = E(PKi, env_key);
// SIGNr over R_MESSAGE up to the signature field || IDi || IDr || T (RFC 4738 §3.6 with the
// RFC 3830 §5.2 procedure it defers to in §3.3).
// RAND: the I_MESSAGE's when it has one, else the R_MESSAGE's (§3.5, §3.6); in group mode
// always the responder's. CSB ID for every key derivation: the HDR's, or in group mode the
// General Extension CSB_ID (§3.6: "MUST use that value in key material computation").
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { kemacDecrypt, kemacEncrypt, macCompute, macVerify, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import { deriveMessageKeys, type MessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import { rsaEnvelopeDecrypt, rsaEnvelopeEncrypt, rsaModulusBytes, rsaSign, rsaVerify } from '../../crypto/rsa.js';
import { decodeKeyDataChain, type DecodedMessage } from '../../wire/decode.js';
import { encodeMessageWithSpans, encodePayloads, spanOf, spannedMessage, type EncodedMessage } from '../../wire/encode.js';
import { MikeyDecodeError } from '../../wire/errors.js';
import { CertType, DataType, ErrorNo, GeneralExtType, PayloadType, SignType } from '../../wire/registry.js';
import { policyParams } from '../../wire/sp.js';
import type {
  CertPayload, CommonHeader, CsIdMap, KemacPayload, KeyDataPayload, Message, Payload, SignPayload, SpPayload, SrtpIdEntry, TPayload,
} from '../../wire/types.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { keyUsageOf, parseCertificate, validateChain, type KeyUsageName } from '../../session/certs.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { policyParamsForProfile, srtpPolicyFromSp, type SrtpProfileName } from '../../session/policy.js';
import { any, buildMapAndPolicies, checkFresh, checkLayout, checkSdpIds, decodeOrReject, encrAlgCode, encrAlgOf, header, idPayload, sdpIdsPayload, withoutGenExt, keyDataPayloads, macAlgCode, macAlgOf, macLength, newTimestamp, one, opt, payloadOf, payloadsOf, random32, recordAuthenticated, splitIds, resolveEndpoint, t64, type Endpoint, type KeySpec, type ResolvedEndpoint, type SessionOffer } from '../kit/common.js';
import { buildErrorMessage, rejectErrorMessage, withErrorResponse } from '../kit/error-message.js';
import { idOf, sameIdentity, type Identity } from '../../session/identity.js';
import { credentialFingerprint, CsbTable, type CsbOwner } from '../kit/csb.js';
import { checkBundlePolicy } from '../kit/policy.js';
import { keyDataOf, kemacOnly, openKemacWithId, sealKemac } from '../kit/kemac.js';
import { alignForKeyWrap } from '../kit/offer.js';
import { encodeSigned, encodeSignedWithSpans, identityOfCertificate, peerPublicKey, signedBytes, signPlaceholder, toCert, verifySigned, type PeerTrust, type SigningCredentials } from '../kit/signature.js';

/**
 * Fetches a certificate named by URL (CERT type X.509v3 URL, RFC 4738 §3.8: HTTP, DER as
 * application/pkix-cert). The application does the network I/O; the library never does.
 */
export type CertificateResolver = (url: string) => Promise<Uint8Array | string>;

/** How the envelope key travels (RFC 3830 §4.2.5). Both sides must agree. */
export interface EnvelopeOptions {
  padding?: 'pkcs1-v1_5' | 'oaep';
  oaepHash?: 'sha1' | 'sha256';
  /** Envelope key length in bytes (default 16). */
  keyLength?: number;
}

interface Credentials extends SigningCredentials, PeerTrust {
  /** Send our certificate as a URL (CERT type 1) instead of by value. */
  certificateUrl?: string;
  /** Fetches the peer's certificate when it is sent by URL. */
  certificateResolver?: CertificateResolver;
}

// ---- shared --------------------------------------------------------------------------------

const hexOf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const spKey = (sp: SpPayload) => `${sp.protType}|${policyParams(sp).map((p) => `${p.type}:${hexOf(p.value)}`).join(',')}`;

function privateKeyOf(k: KeyObject | string): KeyObject {
  return typeof k === 'string' ? createPrivateKey(k) : k;
}

/** CERT payloads: ours by value (X.509v3, DER) or by URL (RFC 4738 §3.8), then the chain by value. */
function certPayloadsOf(c: Credentials): CertPayload[] {
  const chain = (c.chain ?? []).map((x): CertPayload => ({ type: PayloadType.Cert, certType: CertType.X509v3, data: new Uint8Array(toCert(x).raw) }));
  if (c.certificateUrl) return [{ type: PayloadType.Cert, certType: CertType.X509v3Url, data: new TextEncoder().encode(c.certificateUrl) }, ...chain];
  if (c.certificate) return [{ type: PayloadType.Cert, certType: CertType.X509v3, data: new Uint8Array(toCert(c.certificate).raw) }, ...chain];
  return [];
}

/**
 * The peer's public key from its CERT payloads (by value, or by URL through the resolver),
 * validated to a trust anchor at `at` for every usage asked; or, without certificates, from
 * `peerKey` by identity. `verify` checks the message signature with the leaf's key before the
 * chain is validated, so a forged message costs one RSA verification, not a chain validation.
 * Throws Invalid Cert or Auth failure.
 */
async function peerKeyOf(msg: Message, c: Credentials, anchors: readonly X509Certificate[], id: Identity | undefined, at: number, usages: readonly KeyUsageName[], verify: (key: KeyObject) => void): Promise<{ key: KeyObject; cert?: X509Certificate }> {
  const certs = payloadsOf(msg, PayloadType.Cert);
  if (!certs.length) {
    const found = peerPublicKey(msg, c, id, at, usages[0]!);
    verify(found.key);
    return found;
  }
  const parsed: X509Certificate[] = [];
  for (const p of certs) {
    if (p.certType === CertType.X509v3Url) {
      if (!c.certificateResolver) throw new MikeyProtocolError(ErrorNo.InvalidCert, 'certificate sent by URL and no resolver configured');
      const url = Buffer.from(p.data).toString('latin1');
      if (!/^[\x21-\x7e]+$/.test(url)) throw new MikeyProtocolError(ErrorNo.InvalidCert, 'certificate URL is not printable ASCII');
      let fetched: Uint8Array | string;
      try {
        fetched = await c.certificateResolver(url);
      } catch (e) {
        throw new MikeyProtocolError(ErrorNo.InvalidCert, `certificate ${url} could not be fetched`, { cause: e });
      }
      parsed.push(parseCertificate(fetched));
    } else if (p.certType === CertType.X509v3 || p.certType === CertType.X509v3Sign || p.certType === CertType.X509v3Encr) {
      parsed.push(parseCertificate(p.data));
    } else throw new MikeyProtocolError(ErrorNo.InvalidCert, `certificate type ${p.certType} is not supported`);
  }
  if (!anchors.length) throw new MikeyProtocolError(ErrorNo.InvalidCert, 'no trust anchors configured');
  const [leaf, ...chain] = parsed as [X509Certificate, ...X509Certificate[]];
  let leafKey: KeyObject;
  try {
    leafKey = leaf.publicKey;
  } catch (e) {
    throw new MikeyProtocolError(ErrorNo.InvalidCert, 'certificate with an unreadable public key', { cause: e });
  }
  verify(leafKey);
  const key = validateChain(leaf, chain, { trustAnchors: anchors, at, usage: usages[0]! });
  const ku = keyUsageOf(leaf);
  for (const u of usages.slice(1)) if (ku && !ku.has(u)) throw new MikeyProtocolError(ErrorNo.InvalidCert, `certificate "${leaf.subject}" does not allow ${u}`);
  return { key, cert: leaf };
}

/** SIGNr input after the message bytes (RFC 4738 §3.6): IDi || IDr || T, as carried in ID and T payloads. */
function signrExtra(idi: Identity | undefined, idr: Identity | undefined, t: TPayload): Uint8Array[] {
  return [idi?.data ?? new Uint8Array(0), idr?.data ?? new Uint8Array(0), t.value];
}

/**
 * The identities SIGNr appends: IDi as carried in the I_MESSAGE's ID payload, IDr as carried in
 * the R_MESSAGE's clear ID payload, else in the I_MESSAGE's (empty when not carried).
 */
function signedIdentities(iMsg: Message, rClearIdr: Identity | undefined): { idi?: Identity; idr?: Identity } {
  const { idi, idr } = splitIds(iMsg as DecodedMessage);
  return { idi, idr: rClearIdr ?? idr };
}

const sameSp = (a: SpPayload, b: SpPayload) => spKey(a) === spKey(b);

/** A built SP carrying the parameters of `sp` under policy number `no`. */
const copySp = (sp: SpPayload, no = sp.policyNo): SpPayload => ({ type: PayloadType.Sp, policyNo: no, protType: sp.protType, params: policyParams(sp).map((p) => ({ type: p.type, value: Uint8Array.from(p.value) })) });

// ---- initiator -----------------------------------------------------------------------------

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

export interface RsaRRequestOptions {
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

interface RsaRInitiatorState {
  csbId: number;
  group: boolean;
  /** RAND we sent (unicast), used for the keys. */
  rand?: Uint8Array;
  map: CsIdMap;
  sps: SpPayload[];
  t: TPayload;
  request: DecodedMessage;
  /** The established CSB (after a response). */
  established?: { rand: Uint8Array; csbId: number; keys: KeyDataPayload[]; map: CsIdMap; sps: SpPayload[]; bundle: CryptoSessionBundle };
  update: boolean;
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
  private state?: RsaRInitiatorState;

  constructor(private readonly opts: RsaRInitiatorOptions) {
    this.ep = resolveEndpoint(opts);
    this.anchors = (opts.trustAnchors ?? []).map(toCert);
    this.prf = opts.prf ?? 'MIKEY-1';
    this.key = privateKeyOf(opts.privateKey);
    this.signer = { ...opts, privateKey: this.key };
    this.idi = opts.idi ?? (opts.certificate ? identityOfCertificate(toCert(opts.certificate)) : undefined);
    if (opts.sdpIds) sdpIdsPayload(opts.sdpIds);
  }

  /** The I_MESSAGE of a new CSB (data type 9, V = 1). */
  createRequest(o: RsaRRequestOptions = {}): Uint8Array {
    const group = o.group ?? false;
    // a lone ID payload without CERTi reads as IDi ([IDi|CERTi], [IDr]): name ourselves first
    if (this.opts.idr && !this.idi && !this.opts.certificate && !this.opts.certificateUrl) throw new TypeError('RSA-R: to name the responder (idr), send IDi or a certificate');
    const csbId = o.csbId ?? random32(this.ep.random);
    // RFC 4738 §3.2: in group mode the initiator MUST NOT send SP
    const { map, sps } = buildMapAndPolicies(o.sessions ?? []);
    const extra = group ? [] : (o.policies ?? []).map((p) => ({ params: policyParamsForProfile(p) }));
    const offered = group ? [] : [...sps];
    for (const e of extra) {
      const sp: SpPayload = { type: PayloadType.Sp, policyNo: offered.length, protType: 0, params: e.params };
      if (!offered.some((x) => sameSp(x, sp))) offered.push(sp);
    }
    if (offered.length > 255) throw new RangeError('at most 256 policies');
    const rand = o.rand === false ? undefined : o.rand ?? (group ? undefined : this.ep.random(16));
    return this.send(csbId, group, map, offered, rand, false);
  }

  /** An update of the established unicast CSB (RFC 3830 §4.5): same CSB ID, new T, no RAND; a new TGK comes back. */
  createUpdate(o: { sessions?: readonly SessionOffer[] } = {}): Uint8Array {
    const e = this.state?.established;
    if (!e || this.state!.group) throw new Error('no established unicast CSB to update');
    const { map, sps } = o.sessions ? buildMapAndPolicies(o.sessions) : { map: this.state!.map, sps: this.state!.sps };
    return this.send(this.state!.csbId, false, map, sps, undefined, true);
  }

  private send(csbId: number, group: boolean, map: CsIdMap, sps: SpPayload[], rand: Uint8Array | undefined, update: boolean): Uint8Array {
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
    const established = this.state?.established;
    this.state = { csbId, group, rand, map, sps, t, request: spannedMessage({ header: hdr, payloads }, encoded), established: update ? established : undefined, update };
    return bytes;
  }

  /** Process the R_MESSAGE (RFC 4738 §3.7); an Error message throws MikeyErrorMessage. */
  async receiveResponse(bytes: Uint8Array): Promise<RsaRResult> {
    const s = this.state;
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
      if (s.update) {
        if (rand) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'RAND in the answer to an update (RFC 3830 §4.5)');
        useRand = s.established!.rand;
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
    const prior = s.established;
    const useKeys = keys.length ? keys : prior?.keys ?? [];
    if (!useKeys.length) throw new MikeyProtocolError(ErrorNo.Unspecified, 'R_MESSAGE without a TGK');
    const hdr: CommonHeader = { ...msg.header, csbId: csbEff, span: undefined };
    const bundle = deriveBundle(hdr, useRand, sps, { kind: 'keyData', keys: useKeys });
    s.established = { rand: useRand, csbId: csbEff, keys: useKeys, map: msg.header.csIdMap, sps, bundle };
    const out: RsaRResult = { bundle, idr: id };
    if (cert) out.certificate = cert;
    if (s.group) out.groupCsbId = csbEff;
    return out;
  }

  get bundle(): CryptoSessionBundle | undefined {
    return this.state?.established?.bundle;
  }
}

// ---- responder -----------------------------------------------------------------------------

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

export interface RsaRAccepted {
  bundle: CryptoSessionBundle;
  /** R_MESSAGE: always sent (RFC 4738 §3.4: a response is mandatory). */
  response: Uint8Array;
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
    const idr = opts.idr ?? (opts.certificate ? identityOfCertificate(toCert(opts.certificate)) : undefined);
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
    return profiles.map((p, i) => ({ type: PayloadType.Sp, policyNo: i, protType: 0, params: policyParamsForProfile(p) }));
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
    const hdr: CommonHeader = { ...msg.header, dataType: DataType.RsaRResp, v: false, csIdMap: map, span: undefined };
    const ids = signedIdentities(msg, clearIdr);
    // the KEMAC MAC is over the KEMAC alone: filled first, then SIGNr covers it (RFC 4738 §3.6)
    const response = encodeSigned({ header: hdr, payloads }, this.signer, (draft, encoded) => {
      const span = spanOf(encoded, kemac);
      draft.set(macCompute(this.macAlg, mk.authKey, kemacOnly(draft, { span, mac: kemac.mac })), span.end - kemac.mac.length);
    }, signrExtra(ids.idi, ids.idr, t));
    const bundle = deriveBundle({ ...hdr, csbId: csbEff }, useRand, sps, { kind: 'keyData', keys });
    checkBundlePolicy(bundle, this.ep.minimumPolicy);
    if (owner) this.csbs.commit(msg.header.csbId, owner, { peer: peerKey, rand: useRand, map, sps });
    const out: RsaRAccepted = { bundle, response, update };
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
    if (offer.type !== 0) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'RSA-R with SRTP: the SRTP-ID map is used');
    const randomSsrc = (): number => random32(this.ep.random) || 1;
    let accepted: SpPayload[];
    if (offered.length) {
      accepted = offered.filter((sp) => this.acceptable(sp));
      if (!accepted.length) throw new MikeyProtocolError(ErrorNo.InvalidSpPar, 'none of the proposed policies is acceptable');
    } else accepted = [{ type: PayloadType.Sp, policyNo: 0, protType: 0, params: policyParamsForProfile(this.opts.policy ?? 'AES_CM_128_HMAC_SHA1_80') }];
    const first = accepted[0]!.policyNo;
    const byNo = new Map(accepted.map((sp) => [sp.policyNo, sp]));
    const entries: SrtpIdEntry[] = offer.entries.map((e) => ({ policyNo: byNo.has(e.policyNo) ? e.policyNo : first, ssrc: e.ssrc || randomSsrc(), roc: e.roc }));
    for (const s of this.opts.sessions ?? []) entries.push({ policyNo: first, ssrc: s.ssrc >>> 0 || randomSsrc(), roc: (s.roc ?? 0) >>> 0 });
    if (entries.length > 255) throw new MikeyProtocolError(ErrorNo.Unspecified, 'more than 255 crypto sessions');
    const used = new Set(entries.map((e) => e.policyNo));
    if (!used.size) used.add(first);
    return { map: { type: 0, entries }, sps: accepted.filter((sp) => used.has(sp.policyNo)).map((sp) => copySp(sp)) };
  }
}

