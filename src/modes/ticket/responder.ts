// The Responder of MIKEY-TICKET: TRANSFER_INIT in, an early check of the Ticket Policy and the
// security policies (§4.2.2.2), the ticket resolved by the KMS (RESOLVE_INIT -> RESOLVE_RESP,
// §4.2.3), from a cache when it is reused (§5.3), or locally with a shared TPK (modes 2 and 4
// of §4.1.1), then TRANSFER_RESP when the F flag asks for it (§4.2.2.3).
import { macVerify, type KemacEncrAlg } from '../../crypto/kemac.js';
import { prfOf } from '../../session/bundle.js';
import { MikeyErrorMessage, MikeyProtocolError } from '../../session/errors.js';
import { policyParamsForProfile, srtpPolicyFromSp } from '../../session/policy.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { CsIdMapType, DataType, ErrorNo, IdRole, PayloadType, ProtType, RandRole } from '../../wire/registry.js';
import type { KeyDataPayload, Payload, SpPayload, TicketPayload, VPayload } from '../../wire/types.js';
import { checkFresh, decodeOrReject, keyDataPayloads, macAlgOf, payloadOf, random32, recordAuthenticated, resolveEndpoint, type KeySpec, type ResolvedEndpoint } from '../kit/common.js';
import { type Identity } from '../../session/identity.js';
import type { Answer } from '../kit/offer.js';
import { checkBundlePolicy, checkOfferedPolicies } from '../kit/policy.js';
import { baseTicketTpkId, isBaseTicket, openBaseTicket, ticketDigest, ticketLayout } from './base-ticket.js';
import { deriveTicketBundle } from './bundle.js';
import { buildTicketKmsRequest, randLength, readTicketKmsResponse, splitMpks, type TicketPartyOptions } from './kms-exchange.js';
import { LabelForm, ticketMessageKeys } from './labels.js';
import { decryptKemac, encryptedKemac, findIdr, findRandr, idrPayload, kemacEncrAlg, responseCoverage, responseTimestamp, ticketErrorMessage, transferInitCoverage, vMacStart, type TicketErrorAuth } from './messages.js';
import { encodeWithV } from '../kit/verification.js';
import { idOf } from '../../session/identity.js';
import { checkFlags, checkValidity, readPolicy, type ReadPolicy } from './policy.js';
import { answerMap, TicketSession } from './session.js';

export interface TicketResponderOptions extends TicketPartyOptions {
  /** §4.2.2.2 early reject: is this Ticket Policy acceptable? false or a reason refuses it. */
  acceptPolicy?: (p: ReadPolicy) => boolean | string;
  /** Is this security policy acceptable? (It must be one we understand in any case.) */
  acceptSp?: (sp: SpPayload) => boolean;
  /** Modes 2 and 4: the TPK we share with the KMS, by the ticket's IDRpsk; base tickets with E = 0 are then opened here. */
  localTpk?: (id: Uint8Array | undefined) => Uint8Array | undefined;
  /** Keys of our own for TRANSFER_RESP (allowed by the M flag; pre-encrypted content, §8). */
  responderKeys?: (policy: ReadPolicy) => readonly KeySpec[] | undefined;
  /** Resolved tickets remembered for reuse (default 1000). */
  ticketCacheSize?: number;
}

/** Sends RESOLVE_INIT to the KMS and returns its answer. */
export type ResolveTransport = (resolveInit: Uint8Array) => Promise<Uint8Array>;

/** What the Responder accepted; `answered` (with TRANSFER_RESP) when the F flag asks for a response. */
export type TransferAccepted = {
  session: TicketSession;
  /** Where the ticket's keys came from. */
  resolvedBy: 'kms' | 'cache' | 'local';
} & Answer;

interface Resolved {
  mpki: Uint8Array;
  /** MPKr' with forking. */
  mpkrF?: Uint8Array;
  keys: KeyDataPayload[];
  idr?: Identity;
  randRkms?: Uint8Array;
  policy: ReadPolicy;
}

export class TicketResponder {
  readonly ep: ResolvedEndpoint;
  private readonly cache = new Map<string, Resolved>();
  /** Tickets that may not be reused (J = 0), seen once. */
  private readonly used = new Set<string>();

  constructor(readonly opts: TicketResponderOptions) {
    this.ep = resolveEndpoint(opts);
  }

  /** Process TRANSFER_INIT. Throws MikeyProtocolError with `response` set to the Error message for the Initiator. */
  async receiveTransfer(bytes: Uint8Array, resolve: ResolveTransport): Promise<TransferAccepted> {
    let msg: DecodedMessage | undefined;
    let auth: TicketErrorAuth = {};
    try {
      msg = decodeOrReject(Uint8Array.from(bytes));
      const m = msg;
      return await this.process(m, resolve, (a) => { auth = a; });
    } catch (e) {
      let err = e;
      // the KMS refused: tell the Initiator why (its Error message was for us)
      if (e instanceof MikeyErrorMessage) err = new MikeyProtocolError(e.errorNos[0] ?? ErrorNo.Unspecified, `the KMS refused to resolve the ticket: ${e.message}`, { cause: e });
      if (err instanceof MikeyProtocolError && err.response === undefined) {
        const sps = err.errorNo === ErrorNo.InvalidSp || err.errorNo === ErrorNo.InvalidSpPar
          ? [{ type: PayloadType.Sp, policyNo: 0, protType: ProtType.Srtp, params: policyParamsForProfile('AES_CM_128_HMAC_SHA1_80') } as SpPayload] : [];
        err.response = ticketErrorMessage(msg?.header, msg && payloadOf(msg, PayloadType.T), [err.errorNo], this.ep, err.errorNo === ErrorNo.AuthFailure ? {} : auth, sps);
      }
      throw err;
    }
  }

  private async process(msg: DecodedMessage, resolve: ResolveTransport, authenticated: (a: TicketErrorAuth) => void): Promise<TransferAccepted> {
    if (msg.header.dataType !== DataType.TransferInit) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType} is not TRANSFER_INIT`);
    const t = msg.payloads[0];
    if (!t || t.type !== PayloadType.T) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'the first payload must be T');
    const fresh = checkFresh(t, this.ep, msg.header.csbId);
    const randRi = findRandr(msg, RandRole.RANDRi)?.rand;
    const ticket = payloadOf(msg, PayloadType.Ticket);
    if (!randRi || !ticket) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'TRANSFER_INIT without RANDRi or TICKET (an update goes to its session)');
    if (msg.header.csIdMap.type === CsIdMapType.SrtpId) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, '§6.1: the SRTP-ID map SHALL NOT be used');
    const v = msg.payloads.at(-1);
    if (!v || v.type !== PayloadType.V) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'the last payload must be V');
    const macAlg = macAlgOf(v.authAlg);
    if (macAlg === 'NULL') throw new MikeyProtocolError(ErrorNo.InvalidMac, 'the NULL MAC in V');

    // §4.2.2.2: early reject on what is visible without the KMS
    const policy = readPolicy(ticket);
    checkFlags(policy.flags);
    if (!policy.flags.O) throw new MikeyProtocolError(ErrorNo.InvalidTicket, 'the ticket needs processing beyond RFC 6043 (O = 0)');
    checkValidity(policy, this.ep.clock.now(), this.ep.maxSkewMs);
    const ok = this.opts.acceptPolicy?.(policy) ?? true;
    if (ok !== true) throw new MikeyProtocolError(ErrorNo.InvalidTpPar, `Ticket Policy refused${typeof ok === 'string' ? `: ${ok}` : ''}`);
    const sps = msg.payloads.filter((p): p is SpPayload => p.type === PayloadType.Sp);
    for (const sp of sps) {
      srtpPolicyFromSp(sp);
      if (this.opts.acceptSp && !this.opts.acceptSp(sp)) throw new MikeyProtocolError(ErrorNo.InvalidSp, `security policy ${sp.policyNo} refused`);
    }
    const kemac = payloadOf(msg, PayloadType.Kemac);
    if (kemac && !policy.flags.L) throw new MikeyProtocolError(ErrorNo.InvalidTpPar, 'the Initiator supplied keys though the Ticket Policy does not let it (L = 0)');
    if (policy.flags.I) {
      const vs = ticket.initiatorData.payloads.filter((p): p is VPayload => p.type === PayloadType.V);
      // §4.2.3.6: the Vi MAC is the V MAC of this message
      if (vs.length !== 2 || Buffer.compare(Buffer.from(vs[0]!.mac), Buffer.from(v.mac)) !== 0) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'forking: Vi is not the V of this message');
    }

    const digest = ticketDigest(msg.bytes, ticket, ticket.span!);
    let resolved = this.cache.get(digest);
    let resolvedBy: TransferAccepted['resolvedBy'] = 'cache';
    if (this.used.has(digest) || (resolved && !resolved.policy.flags.J)) throw new MikeyProtocolError(ErrorNo.InvalidTicket, 'the Ticket Policy forbids reuse (J = 0) and this ticket was used before');
    if (!resolved) {
      const tpk = !policy.flags.E && isBaseTicket(ticket) ? this.opts.localTpk?.(baseTicketTpkId(ticket)) : undefined;
      if (tpk) {
        const o = openBaseTicket(ticket, msg.bytes, tpk, policy.prf);
        resolved = { mpki: o.mpki, keys: o.keys, policy };
        resolvedBy = 'local';
      } else {
        resolved = await this.resolveAtKms(ticket, policy, resolve);
        resolvedBy = 'kms';
      }
    }

    // now MPKi is known: authenticate TRANSFER_INIT (§4.2.3.6)
    const prf = prfOf(msg.header.prfFunc);
    const encrAlg: KemacEncrAlg = kemacEncrAlg(kemac, macAlg);
    const mkInit = ticketMessageKeys(prf, resolved.mpki, msg.header.csbId, LabelForm.Initial, { randRi }, { encrAlg, macAlg });
    const idi = idOf(findIdr(msg, IdRole.IDRi));
    const idrSent = idOf(findIdr(msg, IdRole.IDRr)) ?? this.opts.identity;
    const macStart = vMacStart(msg);
    if (!macVerify(macAlg, mkInit.authKey, transferInitCoverage(msg.bytes, ticketLayout(ticket, ticket.span!), macStart, idi, idrSent), v.mac)) {
      throw new MikeyProtocolError(ErrorNo.AuthFailure, 'TRANSFER_INIT: V does not verify with the MPKi of the ticket');
    }
    authenticated({ macAlg, authKey: mkInit.authKey });
    await recordAuthenticated(msg.bytes, this.ep, fresh);
    checkOfferedPolicies(msg.header.csIdMap, sps, this.ep.minimumPolicy);
    if (policy.flags.J) this.remember(digest, resolved);
    else this.used.add(digest);

    const initiatorKeys = kemac ? decryptKemac(kemac, mkInit, msg.header.csbId, t, 'TRANSFER_INIT') : [];
    const f = policy.flags;
    let keys = [...resolved.keys, ...initiatorKeys];
    if (!f.F) {
      const bundle = deriveTicketBundle({ header: msg.header, sps, keys, randRi });
      checkBundlePolicy(bundle, this.ep.minimumPolicy);
      const session = new TicketSession({
        role: 'responder', csbId: msg.header.csbId, prf, updateKeys: mkInit, macAlg, encrAlg, randRi, header: msg.header, sps, keys, policy,
        self: this.opts.identity, peer: idi, bundle,
      }, this.ep);
      return { answered: false, session, resolvedBy };
    }
    // TRANSFER_RESP = HDR, T, [RANDRr], [IDRr], [RANDRkms], {SP}, [KEMAC], V (§4.2.2.3)
    const longest = Math.max(resolved.mpki.length, ...keys.map((k) => k.keyData.length));
    const randRr = f.G ? this.ep.random(randLength(longest)) : undefined;
    const own = policy.flags.M ? this.opts.responderKeys?.(policy) : undefined;
    const ownKeys = own?.length ? keyDataPayloads(own.map((k) => ({ ...k, mki: k.mki ?? this.ep.random(4) })), this.ep.random) : [];
    keys = [...keys, ...ownKeys];
    const answer = answerMap(msg.header.csIdMap, sps, keys, this.ep.random, this.opts.acceptSp);
    const hdr = { ...msg.header, dataType: DataType.TransferResp, v: false, csIdMap: answer.map };
    const tResp = responseTimestamp(this.ep, t);
    const mkResp = ticketMessageKeys(prf, resolved.mpkrF ?? resolved.mpki, msg.header.csbId, LabelForm.Response, { randRi, randRr }, { encrAlg, macAlg });
    const payloads: Payload[] = [tResp];
    if (randRr) payloads.push({ type: PayloadType.Randr, role: RandRole.RANDRr, rand: randRr });
    payloads.push(idrPayload(IdRole.IDRr, resolved.idr ?? this.opts.identity));
    if (resolved.randRkms) payloads.push({ type: PayloadType.Randr, role: RandRole.RANDRkms, rand: resolved.randRkms });
    payloads.push(...answer.sps);
    if (ownKeys.length) payloads.push(encryptedKemac(encrAlg, mkResp, ownKeys, msg.header.csbId, tResp));
    const response = encodeWithV(hdr, payloads, macAlg, mkResp.authKey, (b, m) => responseCoverage(b.subarray(0, m), msg.bytes));
    const allSps = [...sps, ...answer.sps];
    const bundle = deriveTicketBundle({ header: hdr, sps: allSps, keys, randRi: f.H ? randRi : undefined, randRr });
    checkBundlePolicy(bundle, this.ep.minimumPolicy);
    const session = new TicketSession({
      role: 'responder', csbId: msg.header.csbId, prf, updateKeys: mkResp, macAlg, encrAlg, randRi, randRr, header: hdr, sps: allSps, keys, policy,
      self: resolved.idr ?? this.opts.identity, peer: idi, bundle,
    }, this.ep);
    return { answered: true, response, session, resolvedBy };
  }

  /** RESOLVE_INIT_PSK/PK with the TICKET as received (Initiator Data included), then RESOLVE_RESP (§4.2.3). */
  private async resolveAtKms(ticket: TicketPayload, policy: ReadPolicy, resolve: ResolveTransport): Promise<Resolved> {
    const csbId = random32(this.ep.random);
    const req = buildTicketKmsRequest(this.opts, this.ep, 'resolve', ticket, csbId);
    const answer = await resolve(req.bytes);
    const { msg: resp, keys } = readTicketKmsResponse(answer, { request: req, party: this.opts, ep: this.ep });
    const split = splitMpks(keys, policy.flags.I);
    const out: Resolved = { mpki: split.mpki, keys: split.keys, policy };
    if (policy.flags.I) {
      const idr = idOf(findIdr(resp, IdRole.IDRr));
      const randRkms = findRandr(resp, RandRole.RANDRkms)?.rand;
      if (!idr || !randRkms) throw new MikeyProtocolError(ErrorNo.Unspecified, 'forking: RESOLVE_RESP without IDRr and RANDRkms');
      Object.assign(out, { mpkrF: split.mpkr, idr, randRkms: Uint8Array.from(randRkms) });
    } else {
      const idr = idOf(findIdr(resp, IdRole.IDRr));
      if (idr) out.idr = idr;
    }
    return out;
  }

  private remember(digest: string, r: Resolved): void {
    const cap = this.opts.ticketCacheSize ?? 1000;
    if (this.cache.size >= cap) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(digest, r);
  }
}
