// MIKEY-IBAKE exchange (RFC 6267 §4.2.2, §5): the responder (messages.ts has the layout and what both sides share).
import { macCompute, type MacAlg } from '../../crypto/kemac.js';
import { tryDecodeEskData, type DecodedMessage } from '../../wire/decode.js';
import { MikeyDecodeError } from '../../wire/errors.js';
import { encodeMessageWithSpans } from '../../wire/encode.js';
import { DataType, ErrorNo, KvType, PayloadType, SkType } from '../../wire/registry.js';
import type { CommonHeader, EccptPayload, Payload, SpPayload } from '../../wire/types.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import {
  any, checkFresh, checkLayout, decodeOrReject, encodeWithTrailingTag, macAlgCode, macLength, one, opt, payloadOf, payloadsOf,
  recordAuthenticated, resolveEndpoint, type ResolvedEndpoint,
} from '../kit/common.js';
import { buildErrorMessage, withErrorResponse } from '../kit/error-message.js';
import { sameIdentity, type Identity } from '../../session/identity.js';
import type { Answered } from '../kit/offer.js';
import { checkBundlePolicy, checkOfferedPolicies } from '../kit/policy.js';
import { FairPending, RateLimiter, type RateLimit } from '../kit/limit.js';
import { replayKey } from '../../session/replay.js';
import { IbakeKeyRing } from './keyring.js';
import {
  bytesEq, checkEccpt, deriveFromSession, ecdhKeyPair, ecGroup, eccptPayload, ibeDecrypt, idrPayload, periodOfTimestamp, ROLE_I, ROLE_R,
  sessionKey, type EcdhKey, type IbakeCurveName,
} from './profile.js';
import { type Common, headerKey, clearIds, openIbake, eccptBytes, encryptTo, ourKey, vParts, vKeys } from './messages.js';

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

/** What the responder got: by `stage`, after I_MESSAGE_1 (no keys yet) or I_MESSAGE_2 (the keys); an answer to send either way. */
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

/** Always `answered`: R_MESSAGE_1 or R_MESSAGE_2 in `response`. */
interface IbakeReceivedCommon extends Answered {
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
    checkFresh(t, this.ep, msg.header.csbId);
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
    if (answered) return { answered: true, response: answered.response, stage: 1, idi: answered.idi };
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
    const r: IbakeReceived = { answered: true, response, stage: 1, idi: idi! };
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
    // §5.1.2-style: the same answer whether or not an exchange is pending for the claimed peer and CSB ID
    const list = this.pending.of(peerId, this.ep.clock.now()).filter((c) => c.hdr.csbId === msg.header.csbId);
    if (!list.length) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'I_MESSAGE_2 for no exchange of ours');
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
    const mki = peer.validity.kv === KvType.Spi ? Uint8Array.from(peer.validity.spi) : undefined;
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
    const r: IbakeReceived = { answered: true, response, stage: 2, bundle, idi: p.idi };
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
  const subs = tryDecodeEskData(plain);
  if (subs instanceof MikeyDecodeError) throw new MikeyProtocolError(subs.errorNo, `ESK data: ${subs.reason}`, { cause: subs });
  const [id, sk] = subs;
  if (!id || id.type !== PayloadType.Idr || !sameIdentity(id, idi)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'ESK data does not name the initiator');
  if (!sk || sk.type !== PayloadType.Sk || sk.skType !== SkType.Sk || subs.length !== 2) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'ESK data must be ID || SK');
  return Uint8Array.from(sk.keyData);
}
