// The Initiator of MIKEY-TICKET: Ticket Request (REQUEST_INIT_PSK/PK -> REQUEST_RESP, RFC 6043
// §4.2.1) and Ticket Transfer (TRANSFER_INIT -> TRANSFER_RESP, §4.2.2), with key forking
// (§5.1.1: Initiator Data Vi/Vr, MPKr' and TGK' from the modifier), ticket reuse (§5.3) and
// Initiator-created tickets (mode 3 of §4.1.1).
import { macCompute, MAC_PARAMS, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import type { MikeyPrf } from '../../crypto/prf.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { encodeMessageWithSpans, spanOf } from '../../wire/encode.js';
import { DataType, ErrorNo, IdRole, KeyDataType, PayloadType, RandRole } from '../../wire/registry.js';
import type { KeyDataPayload, Payload, SpPayload, TicketPayload, VPayload } from '../../wire/types.js';
import { checkFresh, decodeOrReject, header, keyDataPayloads, macAlgCode, newTimestamp, payloadOf, resolveEndpoint, tNow, type KeySpec, type ResolvedEndpoint } from '../kit/common.js';
import { type Identity } from '../../session/identity.js';
import { buildBaseTicket, copyKeyData, ticketLayout } from './base-ticket.js';
import { deriveTicketBundle } from './bundle.js';
import { deriveMpks, forkKey, initiatorDataAuthKey, LabelForm, ticketMessageKeys } from './labels.js';
import { checkV } from '../kit/verification.js';
import { decryptKemac, encrAlgFor, encryptedKemac, findIdr, findRandr, idrPayload, kemacEncrAlg, responseCoverage, transferInitCoverage, vMacStart } from './messages.js';
import { idOf } from '../../session/identity.js';
import { rejectErrorMessage } from '../kit/error-message.js';
import type { Offer } from '../kit/offer.js';
import { checkFlags, checkValidity, completeFlags, readPolicy, tpPayload, type ReadPolicy, type TicketPolicy } from './policy.js';
import { buildTicketKmsRequest, randLength, readTicketKmsResponse, splitMpks, type TicketPartyOptions } from './kms-exchange.js';
import { genericMap, TicketSession, type TicketSessionOffer } from './session.js';

export interface TicketInitiatorOptions extends TicketPartyOptions {
  /** §4.2.1.6: is the granted policy acceptable? false or a reason refuses it. */
  acceptPolicy?: (granted: ReadPolicy) => boolean | string;
}

/** A ticket obtained from the KMS (or made by the Initiator), with the keys it encodes. */
export interface TicketGrant {
  /** The TICKET payload (views into a private copy of the message that carried it, or built here: mode 3). */
  ticket: TicketPayload;
  policy: ReadPolicy;
  mpki: Uint8Array;
  /** Present with forking (I flag). */
  mpkr?: Uint8Array;
  /** TEKs, TGKs, GTGKs (TGKs not forked). */
  keys: KeyDataPayload[];
  /** Transfers made with this ticket (reuse, §5.3). */
  uses: number;
}

/** REQUEST_INIT sent (`bytes`): the keys come with the ticket in REQUEST_RESP. */
export interface PendingRequest extends Offer<undefined> {
  /** Check REQUEST_RESP (or read the KMS's Error message) and open the ticket's keys. */
  receiveResponse(bytes: Uint8Array): TicketGrant;
}

export interface TransferOptions {
  sessions: readonly TicketSessionOffer[];
  /** IDRr of TRANSFER_INIT (default the first responder of the Ticket Policy). */
  responder?: Identity;
  csbId?: number;
  /** Keys of our own in a KEMAC (allowed by the L flag; pre-encrypted content, §8). */
  keys?: readonly KeySpec[];
}

/** TRANSFER_INIT sent (`bytes`), by the F flag of the Ticket Policy: a TRANSFER_RESP to wait for, or the session now. */
export type PendingTransfer = TransferAwaitingResponse | TransferEstablished;

/** F = 1: TRANSFER_RESP will come and gives the session. */
export interface TransferAwaitingResponse extends Offer<undefined> {
  expectsResponse: true;
  /** Check TRANSFER_RESP (or read an Error message) and derive the bundle. */
  receiveResponse(bytes: Uint8Array): TicketSession;
}

/** F = 0: no TRANSFER_RESP (§4.2.2.1); the session is established now. */
export interface TransferEstablished extends Offer {
  expectsResponse: false;
  session: TicketSession;
}

export class TicketInitiator {
  readonly ep: ResolvedEndpoint;

  constructor(readonly opts: TicketInitiatorOptions) {
    this.ep = resolveEndpoint(opts);
  }

  /** REQUEST_INIT_PSK or REQUEST_INIT_PK asking for `policy` (§4.2.1). */
  createRequest(policy: TicketPolicy, o: { csbId?: number } = {}): PendingRequest {
    const csbId = o.csbId ?? this.randomCsb();
    const tp = tpPayload({ ...policy, initiator: policy.initiator ?? this.opts.identity, kms: policy.kms ?? this.opts.kms });
    const req = buildTicketKmsRequest(this.opts, this.ep, 'request', tp, csbId);
    return {
      bytes: req.bytes,
      bundle: undefined,
      receiveResponse: (bytes) => {
        const { msg, keys } = readTicketKmsResponse(bytes, { request: req, party: this.opts, ep: this.ep });
        const ticket = payloadOf(msg, PayloadType.Ticket);
        if (!ticket) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'TICKET missing');
        const granted = readPolicy(ticket);
        checkFlags(granted.flags);
        const split = splitMpks(keys, granted.flags.I);
        this.checkGranted(granted, split.keys);
        return { ticket, policy: granted, ...split, uses: 0 };
      },
    };
  }

  /** §4.2.1.6: the granted policy must be usable and acceptable to us. */
  private checkGranted(p: ReadPolicy, keys: KeyDataPayload[]): void {
    checkFlags(p.flags, keys.some((k) => k.keyType === KeyDataType.Tgk || k.keyType === KeyDataType.TgkSalt));
    if (!p.flags.N) throw new MikeyProtocolError(ErrorNo.InvalidTicket, 'the ticket needs processing beyond RFC 6043 (N = 0)');
    const ok = this.opts.acceptPolicy?.(p) ?? true;
    if (ok !== true) throw new MikeyProtocolError(ErrorNo.InvalidTpPar, `granted Ticket Policy refused${typeof ok === 'string' ? `: ${ok}` : ''}`);
  }

  /**
   * Mode 3 (§4.1.1): an Initiator that shares a TPK with the KMS makes the base ticket itself
   * (D = 0, so L = 1) and needs no Ticket Request.
   */
  createTicket(policy: TicketPolicy, tpk: { id?: Uint8Array; key: Uint8Array }, keys: readonly KeySpec[] = [{}]): TicketGrant {
    const flags = completeFlags({ ...policy.flags, D: false, K: false });
    const full: TicketPolicy = { ...policy, flags, initiator: policy.initiator ?? this.opts.identity, kms: policy.kms ?? this.opts.kms };
    const kd = keyDataPayloads(keys.map((k) => ({ ...k, mki: k.mki ?? this.ep.random(4) })), this.ep.random);
    const mpk = this.ep.random(Math.max(16, ...kd.map((k) => k.keyData.length)));
    const rand = this.ep.random(Math.max(32, tpk.key.length, mpk.length));
    const ticket = buildBaseTicket({ policy: full, tpk: tpk.key, tpkId: tpk.id, thdr: this.ep.random(16), t: tNow(this.ep.clock), rand, mpk, keys: kd });
    const { mpki, mpkr } = deriveMpks(full.prf ?? 'MIKEY-1', mpk, rand);
    return { ticket, policy: readPolicy(ticket), mpki, mpkr: flags.I ? mpkr : undefined, keys: kd, uses: 0 };
  }

  /**
   * TRANSFER_INIT = HDR, T, RANDRi, [IDRi], [IDRr], {SP}, TICKET, [KEMAC], V (§4.2.2.1), keys
   * from MPKi. With forking the TICKET carries Initiator Data: Vi (= V) and Vr (from MPKr).
   * Reusing a ticket (§5.3) takes a new CSB ID, timestamp and RANDs; J = 0 forbids it.
   */
  createTransfer(grant: TicketGrant, o: TransferOptions): PendingTransfer {
    const p = grant.policy;
    if (grant.uses > 0 && !p.flags.J) throw new MikeyProtocolError(ErrorNo.InvalidTicket, 'the Ticket Policy forbids reuse (J = 0)');
    checkValidity(p, this.ep.clock.now(), 0);
    if (o.keys?.length && !p.flags.L) throw new MikeyProtocolError(ErrorNo.InvalidTpPar, 'the Ticket Policy does not let the Initiator supply keys (L = 0)');
    grant.uses++;
    const prf = this.opts.prf ?? 'MIKEY-1';
    const macAlg = this.opts.macAlg ?? (prf === 'PRF-HMAC-SHA-256' ? 'HMAC-SHA-256-256' : 'HMAC-SHA-1-160');
    const encrAlg = this.opts.encrAlg ?? encrAlgFor(macAlg);
    const csbId = o.csbId ?? this.randomCsb();
    const { map, sps } = genericMap(o.sessions);
    // V flag agrees with F (§4.2.2.1)
    const hdr = header(DataType.TransferInit, csbId, prf, map, p.flags.F);
    const t = newTimestamp(this.ep);
    const longest = Math.max(grant.mpki.length, ...grant.keys.map((k) => k.keyData.length));
    const randRi = this.ep.random(randLength(longest));
    const responder = o.responder ?? p.responders[0]!;
    const payloads: Payload[] = [t, { type: PayloadType.Randr, role: RandRole.RANDRi, rand: randRi }, idrPayload(IdRole.IDRi, this.opts.identity), idrPayload(IdRole.IDRr, responder), ...sps];
    const tagLen = MAC_PARAMS[macAlg].tagLen;
    const placeholder = (): VPayload => ({ type: PayloadType.V, authAlg: macAlgCode(macAlg), mac: new Uint8Array(tagLen) });
    const ticket: TicketPayload = { ...grant.ticket, initiatorData: p.flags.I ? { payloads: [placeholder(), placeholder()] } : { payloads: [] } };
    payloads.push(ticket);
    const mk = ticketMessageKeys(prf, grant.mpki, csbId, LabelForm.Initial, { randRi }, { encrAlg, macAlg });
    const ownKeys = o.keys?.length ? keyDataPayloads(o.keys.map((k) => ({ ...k, mki: k.mki ?? this.ep.random(4) })), this.ep.random) : [];
    if (ownKeys.length) payloads.push(encryptedKemac(encrAlg, mk, ownKeys, csbId, t));
    const v = placeholder();
    payloads.push(v);
    // the spans of our own encoding locate the MACs: no decoding of what we just wrote
    const encoded = encodeMessageWithSpans({ header: hdr, payloads });
    const bytes = encoded.bytes;
    const macStart = spanOf(encoded, v).end - tagLen;
    const lay = ticketLayout(ticket, spanOf(encoded, ticket));
    // §5.5: the MAC skips the Initiator Data length and Initiator Data of the TICKET
    const vMac = macCompute(macAlg, mk.authKey, transferInitCoverage(bytes, lay, macStart, this.opts.identity, responder));
    bytes.set(vMac, macStart);
    if (p.flags.I) {
      // §6.10: Vi is the V of this message; Vr covers the Initiator Data but its MAC, with a key from MPKr
      const [vi, vr] = ticket.initiatorData.payloads as [VPayload, VPayload];
      bytes.set(vMac, spanOf(encoded, vi).end - tagLen);
      const vrStart = spanOf(encoded, vr).end - tagLen;
      bytes.set(macCompute(macAlg, initiatorDataAuthKey(p.prf, grant.mpkr!, macAlg), bytes.subarray(lay.idStart, vrStart)), vrStart);
    }
    const state = {
      csbId, prf, macAlg, encrAlg, randRi, mk, hdr, sps, ownKeys, responder, grant, transferInit: bytes,
    };
    if (p.flags.F) return { bytes, bundle: undefined, expectsResponse: true, receiveResponse: (resp) => this.receiveTransferResp(resp, state) };
    // no TRANSFER_RESP (F = 0): hence no RANDRr (G implies F) and RANDRi is used (NOT G implies H)
    const keys = [...grant.keys, ...ownKeys];
    const bundle = deriveTicketBundle({ header: hdr, sps, keys, randRi });
    const session = new TicketSession({
      role: 'initiator', csbId, prf, updateKeys: mk, macAlg, encrAlg, randRi, header: hdr, sps, keys, policy: p, self: this.opts.identity, peer: responder, bundle,
    }, this.ep);
    return { bytes, bundle, expectsResponse: false, session };
  }

  /** TRANSFER_RESP = HDR, T, [RANDRr], [IDRr], [RANDRkms], {SP}, [KEMAC], V (§4.2.2.3-4). */
  private receiveTransferResp(bytes: Uint8Array, s: {
    csbId: number; prf: MikeyPrf; macAlg: MacAlg; encrAlg: KemacEncrAlg; randRi: Uint8Array; mk: ReturnType<typeof ticketMessageKeys>;
    hdr: ReturnType<typeof header>; sps: SpPayload[]; ownKeys: KeyDataPayload[]; responder: Identity; grant: TicketGrant; transferInit: Uint8Array;
  }): TicketSession {
    const p = s.grant.policy;
    const msg = decodeOrReject(Uint8Array.from(bytes));
    if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg, { macAlg: s.macAlg, authKey: s.mk.authKey });
    if (msg.header.dataType !== DataType.TransferResp) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType}, TRANSFER_RESP expected`);
    if (msg.header.csbId !== s.csbId || msg.header.prfFunc !== s.hdr.prfFunc) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'TRANSFER_RESP for another CSB');
    const t = msg.payloads[0];
    if (!t || t.type !== PayloadType.T) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'the first payload must be T');
    checkFresh(t, this.ep, s.csbId, true);
    const randRr = findRandr(msg, RandRole.RANDRr)?.rand;
    if (p.flags.G && !randRr) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'G: RANDRr missing');
    const idr = idOf(findIdr(msg, IdRole.IDRr));
    let mpk = s.grant.mpki;
    let keys = s.grant.keys;
    if (p.flags.I) {
      const randRkms = findRandr(msg, RandRole.RANDRkms)?.rand;
      if (!idr || !randRkms) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'forking: IDRr and RANDRkms required in TRANSFER_RESP');
      // §5.1.1: the modifier (IDRr, RANDRkms) forks MPKr and the TGKs
      mpk = forkKey(p.prf, 'MPKr', s.grant.mpkr!, idr.data, randRkms);
      keys = keys.map((k) => (k.keyType === KeyDataType.Tgk || k.keyType === KeyDataType.TgkSalt ? { ...k, keyData: forkKey(p.prf, 'TGK', k.keyData, idr.data, randRkms) } : k));
    }
    const rr = p.flags.G ? randRr : undefined;
    const kemac = payloadOf(msg, PayloadType.Kemac);
    const mk = ticketMessageKeys(s.prf, mpk, s.csbId, LabelForm.Response, { randRi: s.randRi, randRr: rr }, { encrAlg: kemacEncrAlg(kemac, s.macAlg), macAlg: s.macAlg });
    checkV(msg, mk.authKey, responseCoverage(msg.bytes.subarray(0, vMacStart(msg)), s.transferInit), 'TRANSFER_RESP', s.macAlg);
    let theirKeys: KeyDataPayload[] = [];
    if (kemac) {
      if (!p.flags.M) throw new MikeyProtocolError(ErrorNo.InvalidTpPar, 'the Responder supplied keys though the Ticket Policy does not let it (M = 0)');
      theirKeys = decryptKemac(kemac, mk, s.csbId, t, 'TRANSFER_RESP');
    }
    const rsps = msg.payloads.filter((q): q is SpPayload => q.type === PayloadType.Sp);
    const allSps = [...s.sps, ...rsps];
    const all = [...keys, ...s.ownKeys, ...theirKeys.map(copyKeyData)];
    const bundle = deriveTicketBundle({ header: msg.header, sps: allSps, keys: all, randRi: p.flags.H ? s.randRi : undefined, randRr: rr });
    return new TicketSession({
      role: 'initiator', csbId: s.csbId, prf: s.prf, updateKeys: mk, macAlg: s.macAlg, encrAlg: s.encrAlg, randRi: s.randRi, randRr: rr,
      header: msg.header, sps: allSps, keys: all, policy: p, self: this.opts.identity, peer: idr ?? s.responder, bundle,
    }, this.ep);
  }

  private randomCsb(): number {
    const r = this.ep.random(4);
    return new DataView(r.buffer, r.byteOffset, 4).getUint32(0);
  }
}
