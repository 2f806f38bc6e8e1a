// MIKEY-IBAKE I_MESSAGE/R_MESSAGE exchange (RFC 6267 §4.2.2, §5), our profile (profile.ts):
//   I_MESSAGE_1 = HDR, T, RAND, IDRi, IDRr, {SP}, IBAKE, [ESK]   IBAKE = E(K_PUBr, IDRi || ECCPTi || IDRr)
//   R_MESSAGE_1 = HDR, T, IDRi, IDRr, IBAKE                      IBAKE = E(K_PUBi, IDRi || {ECCPTi} || IDRr || ECCPTr)
//   I_MESSAGE_2 = HDR, T, RAND, IDRi, IDRr, IBAKE, [ESK]         IBAKE = E(K_PUBr, IDRi || {ECCPTi} || IDRr || ECCPTr)
//   R_MESSAGE_2 = HDR, T, [IDRi], [IDRr], {SP}, [IBAKE], V       IBAKE = E(K_PUBi, IDRi || ECCPTi)
// Each side proves it could decrypt by returning the other's EC-DH value; K_SESSION = [x][y]P
// gives MPK (keys of V) and TGK (TEKs, RFC 3830 §4.1.3), unknown to the KMS.
import { macCompute, macVerify, type MacAlg } from '../../crypto/kemac.js';
import { deriveMessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import { decodeEskData, decodeIbakeData, type DecodedMessage } from '../../wire/decode.js';
import { MikeyDecodeError } from '../../wire/errors.js';
import { encodeMessageWithSpans, encodePayloads } from '../../wire/encode.js';
import { DataType, ErrorNo, PayloadType, SkType } from '../../wire/registry.js';
import type { CommonHeader, EccptPayload, IdrPayload, Payload, SkPayload, SpPayload, TPayload } from '../../wire/types.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { any, buildMapAndPolicies, checkFresh, checkLayout, decodeOrReject, encodeWithTrailingTag, header, macAlgCode, macLength, newTimestamp, one, opt, payloadOf, payloadsOf, random32, recordAuthenticated, resolveEndpoint, type Endpoint, type ResolvedEndpoint, type SessionOffer } from '../kit/common.js';
import { buildErrorMessage, rejectErrorMessage, withErrorResponse } from '../kit/error-message.js';
import { sameIdentity, type Identity } from '../../session/identity.js';
import { checkBundlePolicy, checkOfferedPolicies } from '../kit/policy.js';
import { FairPending, RateLimiter, type RateLimit } from '../kit/limit.js';
import { replayKey } from '../../session/replay.js';
import { IbakeKeyRing } from './keyring.js';
import {
  bytesEq, checkEccpt, deriveFromSession, domainParams, ecdhKeyPair, ecGroup, eccptPayload, ibeDecrypt, ibeEncrypt, ibeIdentity,
  identityOf, idrPayload, periodOfTimestamp, ROLE_I, ROLE_R, sessionKey, type EcdhKey, type EcGroup, type IbakeCurveName,
  type IbeDomain,
} from './profile.js';

/** Where the other side's KMS is: its domain by identity (default: the same KMS as ours). */
export type PeerDomain = (id: Identity) => IbeDomain | undefined;

interface Common extends Endpoint {
  /** Our K_PR keys (and through them our KMS). */
  keys: IbakeKeyRing;
  peerDomain?: PeerDomain;
  /** MAC of the V payload (default HMAC-SHA-256-256). */
  macAlg?: MacAlg;
}

export interface IbakeInitiatorOptions extends Common {
  idi: Identity;
  /** PRF of the header (default PRF-HMAC-SHA-256, RFC 6043 §6.1). */
  prf?: MikeyPrf;
  /** Curve of our EC-DH value (default P-256). */
  curve?: IbakeCurveName;
  /**
   * An answer from another identity than the one called (forking, retargeting, deferred
   * delivery: RFC 6267 §3, §7.3, §7.4): accepted when this returns true (default: refused).
   */
  acceptResponder?: (intended: Identity, actual: Identity) => boolean;
}

export interface IbakeOfferOptions {
  idr: Identity;
  sessions: readonly SessionOffer[];
  csbId?: number;
  rand?: Uint8Array;
  /** MKI of the TGK's keys (carried as KV = SPI in ECCPTi). */
  mki?: Uint8Array;
  /** A secret key SK for the intended responder, sent in an ESK (RFC 6267 §4.2.2.1). */
  secretKey?: Uint8Array;
}

export interface IbakeSecondMessage {
  /** I_MESSAGE_2. */
  bytes: Uint8Array;
  /** Who answered (IDRr of R_MESSAGE_1). */
  responder: Identity;
  /** True when the answer did not carry our ECCPTi (the responder could not decrypt: deferred delivery). */
  deferred: boolean;
  /** The SK sent in an ESK of I_MESSAGE_2 (deferred delivery). */
  secretKey?: Uint8Array;
}

interface InitiatorState {
  hdrBytes: Uint8Array;
  hdr: CommonHeader;
  t1: TPayload;
  rand: Uint8Array;
  sps: SpPayload[];
  spBytes: Uint8Array[];
  intended: Identity;
  ecdh: EcdhKey;
  eccptI: EccptPayload;
  mki?: Uint8Array;
  secretKey?: Uint8Array;
  stage: 1 | 2;
  responder?: Identity;
  t2?: TPayload;
  hdr2Bytes?: Uint8Array;
  sentEccptI2?: boolean;
  mpk?: Uint8Array;
  tgk?: Uint8Array;
}

/** Header bytes that must match between the messages of one exchange: all but data type, next payload and V. */
function headerKey(bytes: Uint8Array, span: { start: number; end: number }): Uint8Array {
  const h = Uint8Array.from(bytes.subarray(span.start, span.end));
  h[1] = 0;
  h[2] = 0;
  h[3]! &= 0x7f;
  return h;
}

function idrs(msg: DecodedMessage): IdrPayload[] {
  return payloadsOf(msg, PayloadType.Idr);
}

/** The clear IDRi and IDRr of a message: exactly one of each role, in that order. */
function clearIds(msg: DecodedMessage, optional = false): { idi?: Identity; idr?: Identity } {
  const ids = idrs(msg);
  if (optional && ids.length === 0) return {};
  if (ids.length !== 2 || ids[0]!.role !== ROLE_I || ids[1]!.role !== ROLE_R) {
    if (optional && ids.length === 1) {
      const r = ids[0]!.role;
      if (r === ROLE_I) return { idi: identityOf(ids[0]!) };
      if (r === ROLE_R) return { idr: identityOf(ids[0]!) };
    }
    throw new MikeyProtocolError(ErrorNo.InvalidId, 'IDRi and IDRr payloads expected (ID roles 1 and 2)');
  }
  return { idi: identityOf(ids[0]!), idr: identityOf(ids[1]!) };
}

/** Decrypted IBAKE data as [IDRi, {ECCPT}, IDRr, {ECCPT}], checked against the expected identities. */
function openIbake(plain: Uint8Array, idi: Identity, idr: Identity | undefined): { eccptI?: EccptPayload; eccptR?: EccptPayload } {
  let subs: Payload[];
  try {
    subs = decodeIbakeData(plain);
  } catch (e) {
    // the plaintext passed the IBE integrity check: whoever encrypted it wrote a broken chain
    if (e instanceof MikeyDecodeError) throw new MikeyProtocolError(e.errorNo, `IBAKE data: ${e.reason}`, { cause: e });
    throw e;
  }
  const [a, ...rest] = subs;
  if (!a || a.type !== PayloadType.Idr || a.role !== ROLE_I || !sameIdentity(a, idi)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'IBAKE data does not start with the IDRi of the message');
  let eccptI: EccptPayload | undefined;
  let i = 0;
  if (rest[i]?.type === PayloadType.Eccpt) eccptI = rest[i++] as EccptPayload;
  if (idr === undefined) {
    if (i !== rest.length) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'IBAKE data: unexpected sub-payloads');
    return { eccptI };
  }
  const b = rest[i++];
  if (!b || b.type !== PayloadType.Idr || b.role !== ROLE_R || !sameIdentity(b, idr)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'IBAKE data does not carry the IDRr of the message');
  let eccptR: EccptPayload | undefined;
  if (rest[i]?.type === PayloadType.Eccpt) eccptR = rest[i++] as EccptPayload;
  if (i !== rest.length) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'IBAKE data: unexpected sub-payloads');
  return { eccptI, eccptR };
}

function eccptBytes(p: EccptPayload): Uint8Array {
  return p.point;
}

function skPayload(sk: Uint8Array): SkPayload {
  return { type: PayloadType.Sk, skType: SkType.Sk, keyData: sk, validity: { kv: 0 } };
}

function peerDomainOf(opts: Common, id: Identity): IbeDomain {
  const d = opts.peerDomain ? opts.peerDomain(id) : opts.keys.domain;
  if (!d) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no KMS known for this identity');
  return d;
}

/** IBE-encrypt a sub-payload chain to `id` for the key period of `t`. */
function encryptTo(opts: Common, ep: ResolvedEndpoint, id: Identity, t: TPayload, chain: Payload[]): Uint8Array {
  const d = peerDomainOf(opts, id);
  const no = periodOfTimestamp(t, d.period);
  return ibeEncrypt(domainParams(d, no), ibeIdentity(id, no, d.period), encodePayloads(chain), ep.random);
}

/** Our K_PR for `id` in the key period of `t`, or undefined. */
function ourKey(keys: IbakeKeyRing, id: Identity, t: TPayload) {
  return keys.get(id, periodOfTimestamp(t, keys.domain.period));
}

/** V MAC input (RFC 6267 §5.4): the message without the MAC (no ESK is ever in it), then IDRi and IDRr data. */
function vParts(covered: Uint8Array, idi: Identity, idr: Identity): Uint8Array[] {
  return [covered, idi.data, idr.data];
}

function vKeys(mpk: Uint8Array, csbId: number, rand: Uint8Array, prf: MikeyPrf, macAlg: MacAlg): Uint8Array {
  // RFC 6267 §5.2: RFC 3830 §4.1.4 with MPK as the inkey
  return deriveMessageKeys(mpk, csbId, rand, prf, { encrAlg: 'NULL', macAlg }).authKey;
}

// ---- initiator ------------------------------------------------------------------------------

export class IbakeInitiator {
  private readonly ep: ResolvedEndpoint;
  private readonly prf: MikeyPrf;
  private readonly macAlg: MacAlg;
  private readonly group: EcGroup;
  private state?: InitiatorState;

  constructor(private readonly opts: IbakeInitiatorOptions) {
    this.ep = resolveEndpoint(opts);
    if (this.ep.timestamp === 'COUNTER') throw new TypeError('MIKEY-IBAKE takes its key period from the time stamp: COUNTER cannot be used');
    this.prf = opts.prf ?? 'PRF-HMAC-SHA-256';
    this.macAlg = opts.macAlg ?? 'HMAC-SHA-256-256';
    if (this.macAlg === 'NULL') throw new TypeError('the V payload of R_MESSAGE_2 needs a MAC');
    this.group = ecGroup(opts.curve ?? 'P-256');
  }

  /** I_MESSAGE_1 (RFC 6267 §4.2.2.1). */
  createOffer(o: IbakeOfferOptions): Uint8Array {
    const csbId = o.csbId ?? random32(this.ep.random);
    const rand = o.rand ?? this.ep.random(16);
    const { map, sps } = buildMapAndPolicies(o.sessions);
    const hdr = header(DataType.IMessage1, csbId, this.prf, map, true);
    const t = newTimestamp(this.ep);
    if (!ourKey(this.opts.keys, this.opts.idi, t)) throw new Error('no private key of ours (IDRi) for the current key period: request it from the KMS first');
    const ecdh = ecdhKeyPair(this.group, this.ep.random);
    const eccptI = eccptPayload(ecdh, macAlgCode(this.macAlg), o.mki ? { kv: 1, spi: o.mki } : { kv: 0 });
    const idi = idrPayload(ROLE_I, this.opts.idi);
    const idr = idrPayload(ROLE_R, o.idr);
    const payloads: Payload[] = [t, { type: PayloadType.Rand, rand }, idi, idr, ...sps];
    payloads.push({ type: PayloadType.Ibake, encrData: encryptTo(this.opts, this.ep, o.idr, t, [idi, eccptI, idr]) });
    if (o.secretKey) payloads.push({ type: PayloadType.Esk, encrData: encryptTo(this.opts, this.ep, o.idr, t, [idi, skPayload(o.secretKey)]) });
    const { bytes, header: hdrSpan } = encodeMessageWithSpans({ header: hdr, payloads });
    const spBytes = sps.map((sp) => encodePayloads([sp]));
    this.state = {
      hdrBytes: headerKey(bytes, hdrSpan), hdr, t1: t, rand, sps, spBytes,
      intended: o.idr, ecdh, eccptI, mki: o.mki, secretKey: o.secretKey, stage: 1,
    };
    return bytes;
  }

  /** Read R_MESSAGE_1 (§4.2.2.4) and answer with I_MESSAGE_2 (§4.2.2.5). */
  receiveResponse(bytes: Uint8Array): IbakeSecondMessage {
    const s = this.state;
    if (!s || s.stage !== 1) throw new Error('no I_MESSAGE_1 outstanding');
    const msg = decodeOrReject(bytes);
    if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg);
    if (msg.header.dataType !== DataType.RMessage1) throw new MikeyProtocolError(ErrorNo.InvalidDt, `expected R_MESSAGE_1, got data type ${msg.header.dataType}`);
    checkLayout(msg, [one(PayloadType.T), one(PayloadType.Idr), one(PayloadType.Idr), one(PayloadType.Ibake)], 'R_MESSAGE_1');
    // §4.2.2.3: version, PRF, CSB ID, #CS and map as in I_MESSAGE_1; T echoed
    if (!bytesEq(headerKey(msg.bytes, msg.header.span!), s.hdrBytes)) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'R_MESSAGE_1 header does not match our I_MESSAGE_1');
    // §4.2.2.3: "The V flag SHALL be set to 1" (nothing else covers R_MESSAGE_1's header)
    if (!msg.header.v) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'R_MESSAGE_1 with V = 0');
    const t = payloadOf(msg, PayloadType.T)!;
    if (t.tsType !== s.t1.tsType || !bytesEq(t.value, s.t1.value)) throw new MikeyProtocolError(ErrorNo.InvalidTs, 'R_MESSAGE_1 does not echo our timestamp');
    const { idi, idr } = clearIds(msg);
    if (!sameIdentity(idi, this.opts.idi)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'R_MESSAGE_1 is for another IDRi');
    if (!sameIdentity(idr, s.intended) && !(this.opts.acceptResponder?.(s.intended, idr!) ?? false)) {
      throw new MikeyProtocolError(ErrorNo.InvalidId, 'R_MESSAGE_1 comes from another identity than the one called');
    }
    const own = ourKey(this.opts.keys, this.opts.idi, t);
    if (!own) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no private key of ours for the key period of the exchange');
    const plain = ibeDecrypt(own.params, own.key, payloadOf(msg, PayloadType.Ibake)!.encrData);
    const { eccptI, eccptR } = openIbake(plain, this.opts.idi, idr!);
    if (!eccptR) throw new MikeyProtocolError(ErrorNo.InvalidDh, 'R_MESSAGE_1 without the responder\'s EC-DH value');
    checkEccpt(eccptR, this.group);
    // the responder proves it decrypted I_MESSAGE_1 by returning [x]P (§4.2.2.4)
    if (eccptI && !bytesEq(eccptBytes(eccptI), s.ecdh.pub)) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'R_MESSAGE_1 returns another EC-DH value than ours');
    const deferred = !eccptI;
    const kSession = sessionKey(s.ecdh, eccptBytes(eccptR));
    const { mpk, tgk } = deriveFromSession(this.prf, kSession, s.rand);
    kSession.fill(0);
    // I_MESSAGE_2: HDR as R_MESSAGE_1 (RFC 6267 §4.2.2.5 says R_MESSAGE_2, a typo), a new T, the RAND again
    const hdr2: CommonHeader = { ...s.hdr, dataType: DataType.IMessage2, v: true };
    const t2 = newTimestamp(this.ep);
    const idiP = idrPayload(ROLE_I, this.opts.idi);
    const idrP = idrPayload(ROLE_R, idr!);
    const chain: Payload[] = deferred ? [idiP, s.eccptI, idrP, eccptR] : [idiP, idrP, eccptR];
    const payloads: Payload[] = [t2, { type: PayloadType.Rand, rand: s.rand }, idiP, idrP, { type: PayloadType.Ibake, encrData: encryptTo(this.opts, this.ep, idr!, t2, chain) }];
    let secretKey: Uint8Array | undefined;
    if (deferred) {
      // §4.2.2.5: an ESK for the intended recipient, so a mailbox can pass the SK on
      secretKey = s.secretKey ?? this.ep.random(16);
      payloads.push({ type: PayloadType.Esk, encrData: encryptTo(this.opts, this.ep, s.intended, t2, [idiP, skPayload(secretKey)]) });
    }
    const { bytes: out, header: hdr2Span } = encodeMessageWithSpans({ header: hdr2, payloads });
    Object.assign(s, { stage: 2, responder: idr, t2, sentEccptI2: deferred, mpk, tgk, hdr2Bytes: headerKey(out, hdr2Span) });
    const r: IbakeSecondMessage = { bytes: out, responder: idr!, deferred };
    if (secretKey) r.secretKey = secretKey;
    return r;
  }

  /** Read R_MESSAGE_2 (§4.2.2.8): the V keyed from MPK; the crypto session bundle. */
  receiveVerification(bytes: Uint8Array): CryptoSessionBundle {
    const s = this.state;
    if (!s || s.stage !== 2) throw new Error('no I_MESSAGE_2 outstanding');
    const authKey = vKeys(s.mpk!, s.hdr.csbId, s.rand, this.prf, this.macAlg);
    const msg = decodeOrReject(bytes);
    if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg, { macAlg: this.macAlg, authKey });
    if (msg.header.dataType !== DataType.RMessage2) throw new MikeyProtocolError(ErrorNo.InvalidDt, `expected R_MESSAGE_2, got data type ${msg.header.dataType}`);
    checkLayout(msg, [one(PayloadType.T), opt(PayloadType.Idr), opt(PayloadType.Idr), any(PayloadType.Sp), opt(PayloadType.Ibake), one(PayloadType.V)], 'R_MESSAGE_2');
    if (!bytesEq(headerKey(msg.bytes, msg.header.span!), s.hdr2Bytes!)) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'R_MESSAGE_2 header does not match our I_MESSAGE_2');
    const t = payloadOf(msg, PayloadType.T)!;
    if (t.tsType !== s.t2!.tsType || !bytesEq(t.value, s.t2!.value)) throw new MikeyProtocolError(ErrorNo.InvalidTs, 'R_MESSAGE_2 does not echo our timestamp');
    const { idi, idr } = clearIds(msg, true);
    if ((idi && !sameIdentity(idi, this.opts.idi)) || (idr && !sameIdentity(idr, s.responder))) throw new MikeyProtocolError(ErrorNo.InvalidId, 'R_MESSAGE_2 names other identities');
    const v = payloadOf(msg, PayloadType.V)!;
    if (v.authAlg !== macAlgCode(this.macAlg)) throw new MikeyProtocolError(ErrorNo.InvalidMac, `V uses MAC algorithm ${v.authAlg}`);
    if (!macVerify(this.macAlg, authKey, vParts(msg.bytes.subarray(0, v.span!.end - v.mac.length), this.opts.idi, s.responder!), v.mac)) {
      throw new MikeyProtocolError(ErrorNo.AuthFailure, 'R_MESSAGE_2 MAC does not verify');
    }
    // our profile: the responder echoes the SP payloads it used, under V
    const sps = payloadsOf(msg, PayloadType.Sp);
    if (sps.length !== s.spBytes.length || sps.some((sp, i) => !bytesEq(withoutNext(msg.bytes, sp.span!), withoutNext(s.spBytes[i]!, { start: 0, end: s.spBytes[i]!.length })))) {
      throw new MikeyProtocolError(ErrorNo.InvalidSp, 'R_MESSAGE_2 policies differ from those offered');
    }
    const ibake = payloadOf(msg, PayloadType.Ibake);
    if (s.sentEccptI2) {
      // §4.2.2.7: the responder returns ECCPTi received in I_MESSAGE_2
      if (!ibake) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'R_MESSAGE_2 without the IBAKE payload returning ECCPTi');
      const own = ourKey(this.opts.keys, this.opts.idi, t);
      if (!own) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no private key of ours for the key period of the exchange');
      const { eccptI } = openIbake(ibeDecrypt(own.params, own.key, ibake.encrData), this.opts.idi, undefined);
      if (!eccptI || !bytesEq(eccptBytes(eccptI), s.ecdh.pub)) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'R_MESSAGE_2 returns another EC-DH value than ours');
    } else if (ibake) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'unexpected IBAKE payload in R_MESSAGE_2');
    const bundle = deriveBundle(s.hdr, s.rand, s.sps, { kind: 'tgk', tgk: s.tgk!, mki: s.mki });
    s.mpk!.fill(0);
    this.state = undefined;
    return bundle;
  }
}

function withoutNext(bytes: Uint8Array, span: { start: number; end: number }): Uint8Array {
  return bytes.subarray(span.start + 1, span.end);
}

// ---- responder ------------------------------------------------------------------------------

export interface IbakeResponderOptions extends Common {
  /**
   * The identity we answer with (IDRr of R_MESSAGE_1): default the one called. Another one for
   * forking or retargeting (RFC 6267 §3): we need its K_PR; the initiator must accept it.
   */
  idr?: Identity;
  /** Curves accepted for ECCPTi (default P-256, P-384, P-521). */
  curves?: readonly IbakeCurveName[];
  /**
   * A mailbox (RFC 6267 §3.3, §7.5): when I_MESSAGE_1 is for an identity we hold no key of,
   * answer with our ECCPTr only instead of refusing. Requires `idr`.
   */
  mailbox?: boolean;
  /** Who may call (default everyone who proves an identity). */
  acceptInitiator?: (idi: Identity) => boolean;
  /** How long an answered I_MESSAGE_1 waits for its I_MESSAGE_2 (default maxSkewMs). */
  pendingMs?: number;
  /**
   * Answered I_MESSAGE_1 waiting at most (default 10000). They are unauthenticated: when full, the
   * oldest exchange of the claimed initiator holding the most goes, nobody is refused.
   */
  maxPending?: number;
  /** Answered I_MESSAGE_1 waiting per claimed initiator (default 8; beyond, its oldest goes). */
  maxPendingPerPeer?: number;
  /** Messages per `source` (given to `receive`) checked per second; beyond, dropped unanswered before any work. */
  rateLimit?: RateLimit;
}

/** What the responder got: by `stage`, after I_MESSAGE_1 (no keys yet) or I_MESSAGE_2 (the keys). */
export type IbakeReceived = IbakeReceivedFirst | IbakeReceivedSecond;

/** After I_MESSAGE_1 (RFC 6267 §4.2.2.3): R_MESSAGE_1 to send back. */
export interface IbakeReceivedFirst extends IbakeReceivedCommon {
  stage: 1;
  bundle?: undefined;
}

/** After I_MESSAGE_2 (RFC 6267 §4.2.2.7): R_MESSAGE_2 to send back, and the keys. */
export interface IbakeReceivedSecond extends IbakeReceivedCommon {
  stage: 2;
  bundle: CryptoSessionBundle;
}

interface IbakeReceivedCommon {
  /** R_MESSAGE_1 or R_MESSAGE_2 to send back. */
  response: Uint8Array;
  idi: Identity;
  /** An SK we could decrypt from an ESK (for us). */
  secretKey?: Uint8Array;
  /** ESK payloads for another identity, kept for it (deferred delivery, §4.2.2.6): see `openStoredEsk`. */
  storedEsk?: StoredEsk[];
}

/** An ESK kept for its recipient: its encrypted data, the key period it was encrypted for, the initiator. */
export interface StoredEsk {
  encrData: Uint8Array;
  periodNo: number;
  idi: Identity;
}

/** The recipient of a stored ESK opens it with its K_PR of that period: the SK (RFC 6267 §3.3). */
export function openStoredEsk(keys: IbakeKeyRing, recipient: Identity, esk: StoredEsk): Uint8Array {
  const k = keys.get(recipient, esk.periodNo);
  if (!k) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no private key for this ESK\'s key period');
  return openEsk(ibeDecrypt(k.params, k.key, esk.encrData), esk.idi);
}

interface Pending {
  /** Replay identity of the I_MESSAGE_1 answered, and the answer: a copy gets the same answer, for no work. */
  digest: string;
  response: Uint8Array;
  hdr: CommonHeader;
  hdrBytes: Uint8Array;
  rand: Uint8Array;
  sps: SpPayload[];
  spBytes: Uint8Array[];
  idi: Identity;
  idr: Identity;
  ecdh: EcdhKey;
  eccptR: EccptPayload;
  eccptI?: EccptPayload;
  expires: number;
}

export class IbakeResponder {
  private readonly ep: ResolvedEndpoint;
  private readonly macAlg: MacAlg;
  private readonly pending: FairPending<Pending>;
  private readonly limiter?: RateLimiter;

  constructor(private readonly opts: IbakeResponderOptions) {
    this.ep = resolveEndpoint(opts);
    this.macAlg = opts.macAlg ?? 'HMAC-SHA-256-256';
    if (opts.mailbox && !opts.idr) throw new TypeError('a mailbox answers with its own identity: give idr');
    this.pending = new FairPending(opts.maxPendingPerPeer ?? 8, opts.maxPending ?? 10_000);
    if (opts.rateLimit) this.limiter = new RateLimiter(opts.rateLimit);
  }

  /** Exchanges waiting for their I_MESSAGE_2. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Process I_MESSAGE_1 or I_MESSAGE_2. Throws MikeyProtocolError (with `response` when an Error
   * message is due). `source`: where it came from (an address), for the rate limit.
   */
  async receive(bytes: Uint8Array, o: { source?: string } = {}): Promise<IbakeReceived> {
    if (this.limiter && o.source !== undefined && !this.limiter.take(o.source, this.ep.clock.now())) {
      throw new MikeyProtocolError(ErrorNo.Unspecified, `rate limit: too many messages from ${o.source}; dropped unanswered`);
    }
    // §4.2.2.2, §4.2.2.6: a message that cannot be parsed is discarded silently (no Error message)
    const msg = decodeOrReject(bytes);
    let auth: { macAlg: MacAlg; authKey: Uint8Array } | undefined;
    try {
      if (msg.header.dataType === DataType.IMessage1) return await this.first(msg);
      if (msg.header.dataType === DataType.IMessage2) return await this.second(msg, (a) => { auth = a; });
      throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType} is not an IBAKE initiator message`);
    } catch (e) {
      return withErrorResponse(e, (err) => buildErrorMessage(msg.header, payloadOf(msg, PayloadType.T), [err.errorNo], this.ep.clock, { auth: err.errorNo === ErrorNo.AuthFailure ? undefined : auth }));
    }
  }

  private async first(msg: DecodedMessage): Promise<IbakeReceived> {
    checkLayout(msg, [one(PayloadType.T), one(PayloadType.Rand), one(PayloadType.Idr), one(PayloadType.Idr), any(PayloadType.Sp), one(PayloadType.Ibake), opt(PayloadType.Esk)], 'I_MESSAGE_1');
    // §4.2.2.1: R_MESSAGE_1 is mandatory, so the initiator sets V
    if (!msg.header.v) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'I_MESSAGE_1 with V = 0');
    const t = payloadOf(msg, PayloadType.T)!;
    const fresh = checkFresh(t, this.ep, msg.header.csbId);
    prfOf(msg.header.prfFunc);
    // nothing authenticates the SP payloads of I_MESSAGE_1 (RFC 6267 §4.2.2.1): below the local
    // minimum they are refused here; within it, the initiator checks our echo under V (R_MESSAGE_2)
    checkOfferedPolicies(msg.header.csIdMap, payloadsOf(msg, PayloadType.Sp), this.ep.minimumPolicy);
    const { idi, idr: called } = clearIds(msg);
    if (this.opts.acceptInitiator && !this.opts.acceptInitiator(idi!)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'initiator not accepted');
    // RFC 3830 §5.4: I_MESSAGE_1 is not authenticated, so it enters no replay cache; a copy of one
    // we answered gets the same answer, without a pairing and without new state
    const peer = peerKey(idi!);
    const digest = replayKey(msg.bytes);
    const answered = this.pending.of(peer, this.ep.clock.now()).find((p) => p.digest === digest);
    if (answered) return { response: answered.response, stage: 1, idi: answered.idi };
    const answerAs = this.opts.idr ?? called!;
    if (!ourKey(this.opts.keys, answerAs, t)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no private key for our identity in this key period');
    const key = ourKey(this.opts.keys, called!, t);
    let eccptI: EccptPayload | undefined;
    let secretKey: Uint8Array | undefined;
    const storedEsk: StoredEsk[] = [];
    let group = ecGroup(this.opts.curves?.[0] ?? 'P-256');
    if (key) {
      const { eccptI: e, eccptR } = openIbake(ibeDecrypt(key.params, key.key, payloadOf(msg, PayloadType.Ibake)!.encrData), idi!, called!);
      if (!e || eccptR) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'I_MESSAGE_1 IBAKE data must be IDRi || ECCPTi || IDRr');
      group = checkEccpt(e);
      if (this.opts.curves && !this.opts.curves.includes(group.name)) throw new MikeyProtocolError(ErrorNo.InvalidDh, `${group.name} not accepted`);
      eccptI = e;
    } else if (!this.opts.mailbox) {
      throw new MikeyProtocolError(ErrorNo.InvalidId, 'I_MESSAGE_1 is for an identity we hold no key of');
    }
    const esk = payloadOf(msg, PayloadType.Esk);
    if (esk) {
      if (key) secretKey = openEsk(ibeDecrypt(key.params, key.key, esk.encrData), idi!);
      else storedEsk.push({ encrData: Uint8Array.from(esk.encrData), periodNo: periodOfTimestamp(t, this.opts.keys.domain.period), idi: idi! });
    }
    void fresh;
    const ecdh = ecdhKeyPair(group, this.ep.random);
    const eccptR = eccptPayload(ecdh, macAlgCode(this.macAlg));
    const hdr: CommonHeader = { ...msg.header, dataType: DataType.RMessage1, v: true, span: undefined };
    const idiP = idrPayload(ROLE_I, idi!);
    const idrP = idrPayload(ROLE_R, answerAs);
    const chain: Payload[] = eccptI ? [idiP, eccptI, idrP, eccptR] : [idiP, idrP, eccptR];
    const payloads: Payload[] = [t, idiP, idrP, { type: PayloadType.Ibake, encrData: encryptTo(this.opts, this.ep, idi!, t, chain) }];
    const { bytes: response, header: responseHdrSpan } = encodeMessageWithSpans({ header: hdr, payloads });
    const sps = payloadsOf(msg, PayloadType.Sp);
    this.pending.add(peer, {
      digest, response,
      hdr: { ...msg.header, span: undefined }, hdrBytes: headerKey(response, responseHdrSpan),
      rand: Uint8Array.from(payloadOf(msg, PayloadType.Rand)!.rand), sps: sps.map((sp) => ({ ...sp, params: sp.params?.map((q) => ({ type: q.type, value: Uint8Array.from(q.value) })) })),
      spBytes: sps.map((sp) => Uint8Array.from(msg.bytes.subarray(sp.span!.start, sp.span!.end))),
      idi: idi!, idr: answerAs, ecdh, eccptR, eccptI, expires: this.ep.clock.now() + (this.opts.pendingMs ?? this.ep.maxSkewMs),
    }, this.ep.clock.now());
    const r: IbakeReceived = { response, stage: 1, idi: idi! };
    if (secretKey) r.secretKey = secretKey;
    if (storedEsk.length) r.storedEsk = storedEsk;
    return r;
  }

  private async second(msg: DecodedMessage, authenticated: (a: { macAlg: MacAlg; authKey: Uint8Array }) => void): Promise<IbakeReceived> {
    checkLayout(msg, [one(PayloadType.T), one(PayloadType.Rand), one(PayloadType.Idr), one(PayloadType.Idr), one(PayloadType.Ibake), opt(PayloadType.Esk)], 'I_MESSAGE_2');
    // §4.2.2.5: R_MESSAGE_2 is mandatory, so the initiator sets V (the header comparison below masks it)
    if (!msg.header.v) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'I_MESSAGE_2 with V = 0');
    const { idi, idr } = clearIds(msg);
    const peerId = peerKey(idi!);
    const list = this.pending.of(peerId, this.ep.clock.now()).filter((c) => c.hdr.csbId === msg.header.csbId);
    if (!list.length) throw new MikeyProtocolError(ErrorNo.Unspecified, 'I_MESSAGE_2 for no exchange of ours');
    const t = payloadOf(msg, PayloadType.T)!;
    const fresh = checkFresh(t, this.ep, msg.header.csbId);
    const hk = headerKey(msg.bytes, msg.header.span!);
    const rand = payloadOf(msg, PayloadType.Rand)!.rand;
    // several I_MESSAGE_1 may have named this CSB ID (anyone can write one): the exchange is the
    // one whose header, identities and RAND match and whose [y]P comes back
    const matching = list.filter((c) => bytesEq(hk, c.hdrBytes) && sameIdentity(idi, c.idi) && sameIdentity(idr, c.idr) && bytesEq(rand, c.rand));
    if (!matching.length) {
      const c = list[list.length - 1]!;
      if (!bytesEq(hk, c.hdrBytes)) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'I_MESSAGE_2 header does not match our R_MESSAGE_1');
      if (!sameIdentity(idi, c.idi) || !sameIdentity(idr, c.idr)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'I_MESSAGE_2 names other identities than the exchange');
      // our profile: I_MESSAGE_2 repeats the RAND of I_MESSAGE_1, the RAND of every derivation
      throw new MikeyProtocolError(ErrorNo.AuthFailure, 'I_MESSAGE_2 RAND differs from I_MESSAGE_1');
    }
    const first = matching[0]!;
    const key = ourKey(this.opts.keys, first.idr, t);
    if (!key) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no private key for our identity in this key period');
    const { eccptI, eccptR } = openIbake(ibeDecrypt(key.params, key.key, payloadOf(msg, PayloadType.Ibake)!.encrData), first.idi, first.idr);
    // the initiator proves it decrypted R_MESSAGE_1 by returning [y]P
    const p = eccptR && matching.find((c) => bytesEq(eccptBytes(eccptR), c.ecdh.pub));
    if (!p) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'I_MESSAGE_2 returns another EC-DH value than ours');
    let peer: EccptPayload;
    if (p.eccptI) {
      if (eccptI && !bytesEq(eccptI.point, p.eccptI.point)) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'I_MESSAGE_2 carries another ECCPTi than I_MESSAGE_1');
      peer = p.eccptI;
    } else {
      if (!eccptI) throw new MikeyProtocolError(ErrorNo.InvalidDh, 'I_MESSAGE_2 without ECCPTi after an R_MESSAGE_1 without it');
      checkEccpt(eccptI, p.ecdh.group);
      peer = eccptI;
    }
    const esk = payloadOf(msg, PayloadType.Esk);
    let secretKey: Uint8Array | undefined;
    const storedEsk: StoredEsk[] = [];
    if (esk) {
      const mine = ourKey(this.opts.keys, p.idr, t);
      try {
        if (mine) secretKey = openEsk(ibeDecrypt(mine.params, mine.key, esk.encrData), p.idi);
      } catch { /* not for us: kept for its recipient */ }
      if (!secretKey) storedEsk.push({ encrData: Uint8Array.from(esk.encrData), periodNo: periodOfTimestamp(t, this.opts.keys.domain.period), idi: p.idi });
    }
    const prf = prfOf(p.hdr.prfFunc);
    const kSession = sessionKey(p.ecdh, peer.point);
    const { mpk, tgk } = deriveFromSession(prf, kSession, p.rand);
    kSession.fill(0);
    const authKey = vKeys(mpk, p.hdr.csbId, p.rand, prf, this.macAlg);
    authenticated({ macAlg: this.macAlg, authKey });
    await recordAuthenticated(msg.bytes, this.ep, fresh);
    this.pending.remove(peerId, p);
    const mki = peer.validity.kv === 1 ? Uint8Array.from(peer.validity.spi) : undefined;
    const bundle = deriveBundle(p.hdr, p.rand, p.sps, { kind: 'tgk', tgk, mki });
    checkBundlePolicy(bundle, this.ep.minimumPolicy);
    // R_MESSAGE_2 (§4.2.2.7): HDR as I_MESSAGE_2 with V = 0, T echoed, IDRi, IDRr, our SP echo, [IBAKE], V
    const hdr: CommonHeader = { ...msg.header, dataType: DataType.RMessage2, v: false, span: undefined };
    const payloads: Payload[] = [t, idrPayload(ROLE_I, p.idi), idrPayload(ROLE_R, p.idr), ...p.sps];
    if (eccptI && !p.eccptI) payloads.push({ type: PayloadType.Ibake, encrData: encryptTo(this.opts, this.ep, p.idi, t, [idrPayload(ROLE_I, p.idi), eccptI]) });
    const len = macLength(this.macAlg);
    payloads.push({ type: PayloadType.V, authAlg: macAlgCode(this.macAlg), mac: new Uint8Array(len) });
    const response = encodeWithTrailingTag({ header: hdr, payloads }, len, (covered) => macCompute(this.macAlg, authKey, vParts(covered, p.idi, p.idr)));
    mpk.fill(0);
    const r: IbakeReceived = { response, stage: 2, bundle, idi: p.idi };
    if (secretKey) r.secretKey = secretKey;
    if (storedEsk.length) r.storedEsk = storedEsk;
    return r;
  }
}

/** Pending exchanges are kept per claimed initiator. */
function peerKey(id: Identity): string {
  return `${id.idType}:${Buffer.from(id.data).toString('hex')}`;
}

/** ESK data = IDRi || SK (RFC 6267 §4.2.2.1, §6.1.5). */
function openEsk(plain: Uint8Array, idi: Identity): Uint8Array {
  let subs: Payload[];
  try {
    subs = decodeEskData(plain);
  } catch (e) {
    if (e instanceof MikeyDecodeError) throw new MikeyProtocolError(e.errorNo, `ESK data: ${e.reason}`, { cause: e });
    throw e;
  }
  const [id, sk] = subs;
  if (!id || id.type !== PayloadType.Idr || !sameIdentity(id, idi)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'ESK data does not name the initiator');
  if (!sk || sk.type !== PayloadType.Sk || sk.skType !== SkType.Sk || subs.length !== 2) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'ESK data must be ID || SK');
  return Uint8Array.from(sk.keyData);
}
