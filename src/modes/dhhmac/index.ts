// HMAC-authenticated Diffie-Hellman (RFC 4650 §3) and its updates (§3.1).
//   I_MESSAGE = HDR, T, RAND, [IDi], IDr, {SP}, [GenExt(SDP IDs)], DHi, KEMAC
//   R_MESSAGE = HDR, T, [IDr], IDi, DHr, DHi, KEMAC                        (always sent)
// KEMAC carries only the MAC (§4.2): NULL encryption, no Encr data, last payload, MAC over the
// whole message but the MAC field. Code points as RFC 3830 Tables 6.2.a/b and IANA: Encr alg
// 0 = NULL, MAC alg 1 = HMAC-SHA-1-160 (RFC 4650 Table 4.2.a and §4.2 "2 (NULL)" contradict them).
// auth_key = PRF(s, 0x2D22AC75 || 0xFF || CSB ID || RAND) (RFC 3830 §4.1.4; RFC 4650 §1.1 cites
// "4.1.5", which does not exist), RAND and CSB ID of the initial I_MESSAGE (RFC 3830 §4.1.1),
// one key for both directions. TGK = g^(xi*xr) as a big-endian number of the prime's length;
// TEKs per RFC 3830 §4.1.3 with the same CSB ID and RAND.
import { DH_GROUPS, dhGenerateKeyPair, dhGroupByMikeyId, type DhGroup, type DhGroupName } from '../../crypto/dh.js';
import { MikeyCryptoError } from '../../crypto/errors.js';
import { macCompute, macVerify, type MacAlg } from '../../crypto/kemac.js';
import { deriveMessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { DataType, EncrAlg, ErrorNo, GeneralExtType, PayloadType } from '../../wire/registry.js';
import type { CommonHeader, DhPayload, GeneralExtPayload, KemacPayload, KeyValidity, Message, Payload, SpPayload, TPayload } from '../../wire/types.js';
import { DEFAULT_DH_GROUPS, responderTgk, initiatorTgk } from '../kit/dh.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { srtpPolicyFromSp, type SrtpProfileName } from '../../session/policy.js';
import { any, buildMapAndPolicies, checkFresh, checkLayout, checkSdpIds, decodeOrReject, encodeWithTrailingTag, header, idPayload, sdpIdsPayload, withoutGenExt, macAlgCode, macAlgOf, macLength, newTimestamp, one, opt, payloadOf, payloadsOf, random32, recordAuthenticated, resolveEndpoint, type Endpoint, type ResolvedEndpoint, type SessionOffer } from '../kit/common.js';
import { buildErrorMessage, rejectErrorMessage, withErrorResponse, type ErrorAuth } from '../kit/error-message.js';
import { idOf, sameIdentity, type Identity } from '../../session/identity.js';
import { credentialFingerprint, CsbTable, type CsbOwner } from '../kit/csb.js';
import { checkBundlePolicy } from '../kit/policy.js';

/** MAC algorithms DH-HMAC runs with: HMAC-SHA-1-160 (mandatory, RFC 4650 §4.2) or RFC 6043's HMAC-SHA-256-256. */
export type DhHmacMacAlg = 'HMAC-SHA-1-160' | 'HMAC-SHA-256-256';

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

interface DhHmacState {
  csbId: number;
  rand: Uint8Array;
  map: CommonHeader['csIdMap'];
  sps: SpPayload[];
  group: DhGroup;
  authKey: Uint8Array;
  t?: TPayload;
  /** Our exponent and DH value of the outstanding offer (absent: an update without DHi). */
  x?: Uint8Array;
  dhi?: Uint8Array;
  mki?: Uint8Array;
  tgk?: Uint8Array;
  bundle?: CryptoSessionBundle;
}

const validity = (mki?: Uint8Array): KeyValidity => (mki ? { kv: 1, spi: mki } : { kv: 0 });
const mkiOf = (p: DhPayload): Uint8Array | undefined => (p.validity.kv === 1 ? p.validity.spi : undefined);
const eq = (a: Uint8Array, b: Uint8Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;


/** auth_key for both DH-HMAC messages of a CSB (RFC 3830 §4.1.4 via RFC 4650 §1.1). */
function authKeyOf(psk: Uint8Array, csbId: number, rand: Uint8Array, prf: MikeyPrf, macAlg: MacAlg): Uint8Array {
  return deriveMessageKeys(psk, csbId, rand, prf, { encrAlg: 'NULL', macAlg }).authKey;
}

/** Encode a DH-HMAC message: KEMAC last, MAC only (RFC 4650 §4.2), over all bytes before the MAC. */
function encodeWithKemacMac(hdr: CommonHeader, payloads: Payload[], macAlg: MacAlg, authKey: Uint8Array): Uint8Array {
  const len = macLength(macAlg);
  const kemac: KemacPayload = { type: PayloadType.Kemac, encrAlg: EncrAlg.Null, encrData: new Uint8Array(0), macAlg: macAlgCode(macAlg), mac: new Uint8Array(len) };
  return encodeWithTrailingTag({ header: hdr, payloads: [...payloads, kemac] }, len, (covered) => macCompute(macAlg, authKey, covered));
}

/** The KEMAC of a received DH-HMAC message: NULL, empty, known MAC; returns the MAC algorithm. */
function checkKemac(kemac: KemacPayload, accepted: readonly MacAlg[]): MacAlg {
  // RFC 4650 §4.2: "KEMAC SHALL not convey any encrypted data"
  if (kemac.encrAlg !== EncrAlg.Null) throw new MikeyProtocolError(ErrorNo.InvalidEa, `KEMAC encryption algorithm ${kemac.encrAlg} (DH-HMAC: NULL only)`);
  if (kemac.encrData.length !== 0) throw new MikeyProtocolError(ErrorNo.InvalidEa, 'KEMAC with encrypted data in DH-HMAC');
  const macAlg = macAlgOf(kemac.macAlg);
  if (macAlg === 'NULL' || !accepted.includes(macAlg)) throw new MikeyProtocolError(ErrorNo.InvalidMac, `${macAlg} not accepted for DH-HMAC`);
  return macAlg;
}

function verifyKemacMac(msg: DecodedMessage, kemac: KemacPayload, macAlg: MacAlg, authKey: Uint8Array): void {
  // RFC 4650 §3: "computed over the entire message, excluding the MAC field"
  if (!macVerify(macAlg, authKey, msg.bytes.subarray(0, kemac.span!.end - kemac.mac.length), kemac.mac)) {
    throw new MikeyProtocolError(ErrorNo.AuthFailure, 'KEMAC MAC does not verify');
  }
}

// ---- initiator -----------------------------------------------------------------------------

export class DhHmacInitiator {
  private readonly ep: ResolvedEndpoint;
  private readonly prf: MikeyPrf;
  private readonly macAlg: DhHmacMacAlg;
  private state?: DhHmacState;

  constructor(private readonly opts: DhHmacInitiatorOptions) {
    this.ep = resolveEndpoint(opts);
    this.prf = opts.prf ?? 'MIKEY-1';
    this.macAlg = opts.macAlg ?? 'HMAC-SHA-1-160';
    if (!opts.idr) throw new TypeError('DH-HMAC: the initiator always names the responder (RFC 4650 §3): give idr');
    if ((this.macAlg as string) === 'NULL') throw new TypeError('DH-HMAC without a MAC has no authentication');
    if (opts.sdpIds) sdpIdsPayload(opts.sdpIds);
  }

  /** The I_MESSAGE of a new CSB. */
  createOffer(o: DhHmacOfferOptions): Uint8Array {
    const csbId = o.csbId ?? random32(this.ep.random);
    const rand = o.rand ?? this.ep.random(16);
    const { map, sps } = buildMapAndPolicies(o.sessions);
    const authKey = authKeyOf(this.opts.psk, csbId, rand, this.prf, this.macAlg);
    return this.send({ csbId, rand, map, sps, group: DH_GROUPS[o.group ?? 'OAKLEY-5'], mki: o.mki, authKey }, true, true);
  }

  /** An update (RFC 4650 §3.1): a new DH exchange (a), or (`rekey: false`) other information only (b). */
  createUpdate(o: { sessions?: readonly SessionOffer[]; rekey?: boolean; mki?: Uint8Array } = {}): Uint8Array {
    const s = this.state;
    if (!s?.tgk) throw new Error('no established CSB to update');
    const { map, sps } = o.sessions ? buildMapAndPolicies(o.sessions) : { map: s.map, sps: s.sps };
    return this.send({ ...s, map, sps, mki: o.mki ?? s.mki }, false, o.rekey ?? true);
  }

  private send(base: DhHmacState, initial: boolean, withDh: boolean): Uint8Array {
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
    this.state = { ...base, t, x: kp?.privateKey, dhi: kp?.publicKey };
    return bytes;
  }

  /** Process R_MESSAGE: its MAC, the echoed T, IDi and DHi, then the TGK and the keys. */
  receiveResponse(bytes: Uint8Array): CryptoSessionBundle {
    const s = this.state;
    if (!s?.t) throw new Error('no offer outstanding');
    const msg = decodeOrReject(bytes);
    if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg, { macAlg: this.macAlg, authKey: s.authKey });
    if (msg.header.dataType !== DataType.DhHmacResp) throw new MikeyProtocolError(ErrorNo.InvalidDt, `expected a DH-HMAC response, got data type ${msg.header.dataType}`);
    checkLayout(withoutGenExt(msg), [one(PayloadType.T), { type: PayloadType.Id, min: 1, max: 2 }, { type: PayloadType.Dh, min: 0, max: 2 }, one(PayloadType.Kemac)], 'DH-HMAC R_MESSAGE');
    const kemac = msg.payloads.at(-1)!;
    if (kemac.type !== PayloadType.Kemac) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'DH-HMAC R_MESSAGE: KEMAC must be the last payload');
    if (msg.header.csbId !== s.csbId) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'response for another CSB');
    // the echoed T before the MAC, as a responder checks T first (RFC 3830 §5.3)
    const t = payloadOf(msg, PayloadType.T)!;
    if (t.tsType !== s.t.tsType || !eq(t.value, s.t.value)) throw new MikeyProtocolError(ErrorNo.InvalidTs, 'response does not echo our timestamp');
    const macAlg = checkKemac(kemac, [this.macAlg]);
    verifyKemacMac(msg, kemac, macAlg, s.authKey);
    // HDR, T, [IDr], IDi: the last ID is IDi, a first one of two IDr
    const ids = payloadsOf(msg, PayloadType.Id);
    if (this.opts.idi && !sameIdentity(idOf(ids.at(-1)), this.opts.idi)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'the response names another initiator');
    if (ids.length === 2 && !sameIdentity(idOf(ids[0]), this.opts.idr)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'the response comes from another responder');
    const dhs = payloadsOf(msg, PayloadType.Dh);
    const tgk = initiatorTgk(dhs, s);
    const bundle = deriveBundle(header(DataType.DhHmacInit, s.csbId, this.prf, s.map), s.rand, s.sps, { kind: 'tgk', tgk, mki: s.mki });
    this.state = { ...s, tgk, bundle, t: undefined, x: undefined, dhi: undefined };
    return bundle;
  }

  get bundle(): CryptoSessionBundle | undefined {
    return this.state?.bundle;
  }
}

// ---- responder -----------------------------------------------------------------------------

export interface DhHmacResponderOptions extends Endpoint {
  /** The pre-shared key, or a lookup by the identities in the I_MESSAGE (undefined: unknown peer). */
  psk: Uint8Array | ((idi: Identity | undefined, idr: Identity) => Uint8Array | undefined);
  /** Our identity: an I_MESSAGE naming another IDr is refused; sent as IDr in the R_MESSAGE. */
  idr?: Identity;
  /** The initiator's identity when its I_MESSAGE carries none ("by some other means", RFC 4650 §3). */
  idi?: Identity;
  /** Groups accepted (default OAKLEY-5 only: OAKLEY-1 and 2 are opt-in). */
  groups?: readonly DhGroupName[];
  /** MAC algorithms accepted (default both). */
  macAlgs?: readonly DhHmacMacAlg[];
  /** SRTP profiles accepted (default every policy the session layer can run). */
  profiles?: readonly SrtpProfileName[];
  /** The key-management protocol IDs seen in the SDP offer: the I_MESSAGE must carry the same list. */
  sdpIds?: readonly string[];
}

export interface DhHmacAccepted {
  bundle: CryptoSessionBundle;
  /** R_MESSAGE: always sent. */
  response: Uint8Array;
  idi: Identity;
  update: boolean;
}

interface ResponderCsb {
  secret: Uint8Array;
  rand: Uint8Array;
  prf: MikeyPrf;
  tgk: Uint8Array;
  mki?: Uint8Array;
}

export class DhHmacResponder {
  private readonly ep: ResolvedEndpoint;
  private readonly csbs = new CsbTable<ResponderCsb>();

  constructor(private readonly opts: DhHmacResponderOptions) {
    this.ep = resolveEndpoint(opts);
  }

  /** Process an I_MESSAGE. Throws MikeyProtocolError with `response` set to the Error message. */
  async receive(bytes: Uint8Array): Promise<DhHmacAccepted> {
    let msg: DecodedMessage | undefined;
    let auth: ErrorAuth | undefined;
    try {
      msg = decodeOrReject(bytes);
      return await this.process(msg, (a) => { auth = a; });
    } catch (e) {
      // RFC 3830 §5.1.2: after an authentication failure the Error message is not authenticated
      return withErrorResponse(e, (err) => buildErrorMessage(msg?.header, msg && payloadOf(msg, PayloadType.T), [err.errorNo], this.ep.clock, { auth: err.errorNo === ErrorNo.AuthFailure ? undefined : auth }));
    }
  }

  private async process(msg: DecodedMessage, authenticated: (a: ErrorAuth) => void): Promise<DhHmacAccepted> {
    if (msg.header.dataType !== DataType.DhHmacInit) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType} is not a DH-HMAC I_MESSAGE`);
    // RFC 4650 §4.1: only KEMAC, DH, T, ID, SP, RAND, ERR and General Ext.; KEMAC last (§4.2)
    checkLayout(withoutGenExt(msg), [one(PayloadType.T), opt(PayloadType.Rand), { type: PayloadType.Id, min: 1, max: 2 }, any(PayloadType.Sp), opt(PayloadType.Dh), one(PayloadType.Kemac)], 'DH-HMAC I_MESSAGE');
    const kemac = msg.payloads.at(-1)!;
    if (kemac.type !== PayloadType.Kemac) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'DH-HMAC I_MESSAGE: KEMAC must be the last payload');
    const t = payloadOf(msg, PayloadType.T)!;
    const fresh = checkFresh(t, this.ep, msg.header.csbId);
    const prf = prfOf(msg.header.prfFunc);
    // [IDi], IDr: one ID is IDr, two are IDi and IDr
    const ids = payloadsOf(msg, PayloadType.Id);
    const idr = idOf(ids.at(-1))!;
    const idi = ids.length === 2 ? idOf(ids[0]) : this.opts.idi;
    const macAlg = checkKemac(kemac, this.opts.macAlgs ?? ['HMAC-SHA-1-160', 'HMAC-SHA-256-256']);
    const rand = payloadOf(msg, PayloadType.Rand)?.rand;
    const prior = rand ? undefined : this.csbs.peek(msg.header.csbId);
    if (!rand && !prior) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'no RAND and no CSB to update');
    // an update is authenticated with the key of the CSB it updates
    const secret = prior ? prior.secret : typeof this.opts.psk === 'function' ? this.opts.psk(idi, idr) : this.opts.psk;
    if (!secret) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no pre-shared key for this peer');
    const useRand = rand ?? prior!.rand;
    const authKey = authKeyOf(secret, msg.header.csbId, useRand, prf, macAlg);
    verifyKemacMac(msg, kemac, macAlg, authKey);
    authenticated({ macAlg, authKey });
    await recordAuthenticated(msg.bytes, this.ep, fresh);
    if (this.opts.idr && !sameIdentity(idr, this.opts.idr)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'the I_MESSAGE is for another responder');
    // RFC 4650 §3: the responder always names the initiator
    if (!idi) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no IDi in the I_MESSAGE and none known');
    // the CSB belongs to the identity and the key that created it (RFC 3830 §4.5)
    const owner: CsbOwner = { id: idi, credential: credentialFingerprint('psk', secret) };
    this.csbs.held(msg.header.csbId, owner);
    checkSdpIds(msg, this.opts.sdpIds);
    const sps = payloadsOf(msg, PayloadType.Sp);
    if (this.opts.profiles) {
      for (const sp of sps) {
        const profile = srtpPolicyFromSp(sp).profile;
        if (!profile || !this.opts.profiles.includes(profile)) throw new MikeyProtocolError(ErrorNo.InvalidSpPar, `policy ${sp.policyNo} (${profile ?? 'no named profile'}) not accepted`);
      }
    }
    const dhi = payloadOf(msg, PayloadType.Dh);
    const { tgk, mki, dhr } = responderTgk(dhi, rand !== undefined, prior, this.opts.groups ?? DEFAULT_DH_GROUPS, 'DH-HMAC');
    const bundle = deriveBundle(msg.header, useRand, sps, { kind: 'tgk', tgk, mki });
    checkBundlePolicy(bundle, this.ep.minimumPolicy);
    this.csbs.commit(msg.header.csbId, owner, { secret, rand: useRand, prf, tgk, mki });
    // R_MESSAGE = HDR, T, [IDr], IDi, [DHr, DHi], KEMAC
    const payloads: Payload[] = [t];
    if (this.opts.idr) payloads.push(idPayload(this.opts.idr));
    payloads.push(idPayload(idi));
    if (dhi && dhr) payloads.push(dhr, { ...dhi, span: undefined });
    const response = encodeWithKemacMac({ ...msg.header, dataType: DataType.DhHmacResp, v: false, span: undefined }, payloads, macAlg, authKey);
    return { bundle, response, idi, update: !rand };
  }
}
