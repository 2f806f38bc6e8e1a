// MIKEY-IBAKE exchange (RFC 6267 §4.2.2, §5): the initiator (messages.ts has the layout and what both sides share).
import { macVerify, type MacAlg } from '../../crypto/kemac.js';
import type { MikeyPrf } from '../../crypto/prf.js';
import { encodeMessageWithSpans, encodePayloads } from '../../wire/encode.js';
import { DataType, ErrorNo, KvType, PayloadType, SkType } from '../../wire/registry.js';
import type { CommonHeader, EccptPayload, Payload, SkPayload, SpPayload, TPayload } from '../../wire/types.js';
import { deriveBundle, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import {
  any, buildMapAndPolicies, checkLayout, decodeOrReject, header, macAlgCode, newTimestamp, one, opt, payloadOf, payloadsOf, random32,
  resolveEndpoint, type ResolvedEndpoint, type SessionOffer,
} from '../kit/common.js';
import { rejectErrorMessage } from '../kit/error-message.js';
import type { Offer } from '../kit/offer.js';
import { sameIdentity, type Identity } from '../../session/identity.js';
import {
  bytesEq, checkEccpt, deriveFromSession, ecdhKeyPair, ecGroup, eccptPayload, ibeDecrypt, idrPayload, ROLE_I, ROLE_R, sessionKey, type EcdhKey,
  type EcGroup, type IbakeCurveName,
} from './profile.js';
import { type Common, headerKey, clearIds, openIbake, eccptBytes, encryptTo, ourKey, vParts, vKeys } from './messages.js';

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

/** I_MESSAGE_2 (in `bytes`), the answer to R_MESSAGE_1; the keys come with R_MESSAGE_2. */
export interface IbakeSecondMessage extends Offer<undefined> {
  /** Who answered (IDRr of R_MESSAGE_1). */
  responder: Identity;
  /** True when the answer did not carry our ECCPTi (the responder could not decrypt: deferred delivery). */
  deferred: boolean;
  /** The SK sent in an ESK of I_MESSAGE_2 (deferred delivery). */
  secretKey?: Uint8Array;
}

/** What both steps keep from I_MESSAGE_1. */
interface Exchange {
  hdr: CommonHeader;
  rand: Uint8Array;
  sps: SpPayload[];
  spBytes: Uint8Array[];
  ecdh: EcdhKey;
  mki?: Uint8Array;
}

/** I_MESSAGE_1 sent (§4.2.2.1), R_MESSAGE_1 awaited. */
interface AwaitingResponse extends Exchange {
  step: 'awaiting-response';
  hdrBytes: Uint8Array;
  t1: TPayload;
  intended: Identity;
  eccptI: EccptPayload;
  secretKey?: Uint8Array;
}

/** I_MESSAGE_2 sent (§4.2.2.5), R_MESSAGE_2 awaited: the session keys are known, not yet confirmed. */
interface AwaitingVerification extends Exchange {
  step: 'awaiting-verification';
  responder: Identity;
  t2: TPayload;
  hdr2Bytes: Uint8Array;
  /** ECCPTi went again in I_MESSAGE_2 (deferred delivery): R_MESSAGE_2 must return it. */
  sentEccptI2: boolean;
  mpk: Uint8Array;
  tgk: Uint8Array;
}

function skPayload(sk: Uint8Array): SkPayload {
  return { type: PayloadType.Sk, skType: SkType.Sk, keyData: sk, validity: { kv: KvType.Null } };
}

export class IbakeInitiator {
  private readonly ep: ResolvedEndpoint;
  private readonly prf: MikeyPrf;
  private readonly macAlg: MacAlg;
  private readonly group: EcGroup;
  private state?: AwaitingResponse | AwaitingVerification;

  constructor(private readonly opts: IbakeInitiatorOptions) {
    this.ep = resolveEndpoint(opts);
    if (this.ep.timestamp === 'COUNTER') throw new TypeError('MIKEY-IBAKE takes its key period from the time stamp: COUNTER cannot be used');
    this.prf = opts.prf ?? 'PRF-HMAC-SHA-256';
    this.macAlg = opts.macAlg ?? 'HMAC-SHA-256-256';
    if (this.macAlg === 'NULL') throw new TypeError('the V payload of R_MESSAGE_2 needs a MAC');
    this.group = ecGroup(opts.curve ?? 'P-256');
  }

  /** I_MESSAGE_1 (RFC 6267 §4.2.2.1); the keys come with R_MESSAGE_2. */
  createOffer(o: IbakeOfferOptions): Offer<undefined> {
    const csbId = o.csbId ?? random32(this.ep.random);
    const rand = o.rand ?? this.ep.random(16);
    const { map, sps } = buildMapAndPolicies(o.sessions);
    const hdr = header(DataType.IMessage1, csbId, this.prf, map, true);
    const t = newTimestamp(this.ep);
    if (!ourKey(this.opts.keys, this.opts.idi, t)) throw new Error('no private key of ours (IDRi) for the current key period: request it from the KMS first');
    const ecdh = ecdhKeyPair(this.group, this.ep.random);
    const eccptI = eccptPayload(ecdh, macAlgCode(this.macAlg), o.mki ? { kv: KvType.Spi, spi: o.mki } : { kv: KvType.Null });
    const idi = idrPayload(ROLE_I, this.opts.idi);
    const idr = idrPayload(ROLE_R, o.idr);
    const payloads: Payload[] = [t, { type: PayloadType.Rand, rand }, idi, idr, ...sps];
    payloads.push({ type: PayloadType.Ibake, encrData: encryptTo(this.opts, this.ep, o.idr, t, [idi, eccptI, idr]) });
    if (o.secretKey) payloads.push({ type: PayloadType.Esk, encrData: encryptTo(this.opts, this.ep, o.idr, t, [idi, skPayload(o.secretKey)]) });
    const { bytes, header: hdrSpan } = encodeMessageWithSpans({ header: hdr, payloads });
    const spBytes = sps.map((sp) => encodePayloads([sp]));
    this.state = {
      step: 'awaiting-response', hdrBytes: headerKey(bytes, hdrSpan), hdr, t1: t, rand, sps, spBytes,
      intended: o.idr, ecdh, eccptI, mki: o.mki, secretKey: o.secretKey,
    };
    return { bytes, bundle: undefined };
  }

  /** Read R_MESSAGE_1 (§4.2.2.4) and answer with I_MESSAGE_2 (§4.2.2.5). */
  receiveResponse(bytes: Uint8Array): IbakeSecondMessage {
    const s = this.state;
    if (s?.step !== 'awaiting-response') throw new Error('no I_MESSAGE_1 outstanding');
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
    this.state = {
      step: 'awaiting-verification', hdr: s.hdr, rand: s.rand, sps: s.sps, spBytes: s.spBytes, ecdh: s.ecdh, mki: s.mki,
      responder: idr!, t2, sentEccptI2: deferred, mpk, tgk, hdr2Bytes: headerKey(out, hdr2Span),
    };
    const r: IbakeSecondMessage = { bytes: out, bundle: undefined, responder: idr!, deferred };
    if (secretKey) r.secretKey = secretKey;
    return r;
  }

  /** Read R_MESSAGE_2 (§4.2.2.8): the V keyed from MPK; the crypto session bundle. */
  receiveVerification(bytes: Uint8Array): CryptoSessionBundle {
    const s = this.state;
    if (s?.step !== 'awaiting-verification') throw new Error('no I_MESSAGE_2 outstanding');
    const authKey = vKeys(s.mpk, s.hdr.csbId, s.rand, this.prf, this.macAlg);
    const msg = decodeOrReject(bytes);
    if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg, { macAlg: this.macAlg, authKey });
    if (msg.header.dataType !== DataType.RMessage2) throw new MikeyProtocolError(ErrorNo.InvalidDt, `expected R_MESSAGE_2, got data type ${msg.header.dataType}`);
    checkLayout(msg, [one(PayloadType.T), opt(PayloadType.Idr), opt(PayloadType.Idr), any(PayloadType.Sp), opt(PayloadType.Ibake), one(PayloadType.V)], 'R_MESSAGE_2');
    if (!bytesEq(headerKey(msg.bytes, msg.header.span!), s.hdr2Bytes)) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'R_MESSAGE_2 header does not match our I_MESSAGE_2');
    const t = payloadOf(msg, PayloadType.T)!;
    if (t.tsType !== s.t2.tsType || !bytesEq(t.value, s.t2.value)) throw new MikeyProtocolError(ErrorNo.InvalidTs, 'R_MESSAGE_2 does not echo our timestamp');
    const { idi, idr } = clearIds(msg, true);
    if ((idi && !sameIdentity(idi, this.opts.idi)) || (idr && !sameIdentity(idr, s.responder))) throw new MikeyProtocolError(ErrorNo.InvalidId, 'R_MESSAGE_2 names other identities');
    const v = payloadOf(msg, PayloadType.V)!;
    if (v.authAlg !== macAlgCode(this.macAlg)) throw new MikeyProtocolError(ErrorNo.InvalidMac, `V uses MAC algorithm ${v.authAlg}`);
    if (!macVerify(this.macAlg, authKey, vParts(msg.bytes.subarray(0, v.span!.end - v.mac.length), this.opts.idi, s.responder), v.mac)) {
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
    const bundle = deriveBundle(s.hdr, s.rand, s.sps, { kind: 'tgk', tgk: s.tgk, mki: s.mki });
    s.mpk.fill(0);
    this.state = undefined;
    return bundle;
  }
}

function withoutNext(bytes: Uint8Array, span: { start: number; end: number }): Uint8Array {
  return bytes.subarray(span.start + 1, span.end);
}
