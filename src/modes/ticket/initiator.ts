// The Initiator of MIKEY-TICKET: Ticket Request (REQUEST_INIT_PSK/PK -> REQUEST_RESP, RFC 6043
// §4.2.1) and Ticket Transfer (TRANSFER_INIT -> TRANSFER_RESP, §4.2.2), with key forking
// (§5.1.1: Initiator Data Vi/Vr, MPKr' and TGK' from the modifier), ticket reuse (§5.3) and
// Initiator-created tickets (mode 3 of §4.1.1).
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { macCompute, MAC_PARAMS, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import type { MikeyPrf } from '../../crypto/prf.js';
import { rsaEnvelopeEncrypt } from '../../crypto/rsa.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { decodeMessage, type DecodedMessage } from '../../wire/decode.js';
import { encodeMessage } from '../../wire/encode.js';
import { DataType, ErrorNo, HashFunc, IdRole, KeyDataType, PayloadType, RandRole } from '../../wire/registry.js';
import type { KeyDataPayload, Payload, SpPayload, TicketPayload, VPayload } from '../../wire/types.js';
import { checkFresh, decodeOrReject, header, keyDataPayloads, macAlgCode, newTimestamp, payloadOf, resolveEndpoint, tNow, type Endpoint, type KeySpec, type ResolvedEndpoint } from '../kit/common.js';
import { type Identity } from '../../session/identity.js';
import { chashOf, toCert } from '../kit/signature.js';
import { buildBaseTicket, copyKeyData, ticketLayout } from './base-ticket.js';
import { deriveTicketBundle } from './bundle.js';
import { deriveMpks, forkKey, initiatorDataAuthKey, LabelForm, ticketMessageKeys } from './labels.js';
import {
  checkV, decryptKemac, encodeSignedWithIds, encodeWithV, encrAlgFor, encryptedKemac, findIdr, findRandr, idOf, idrPayload,
  initialCoverage, kemacEncrAlg, rejectTicketError, responseCoverage, transferInitParts, vMacStart, type TicketSigner,
} from './messages.js';
import { checkFlags, checkValidity, completeFlags, readPolicy, tpPayload, type ReadPolicy, type TicketPolicy } from './policy.js';
import { genericMap, TicketSession, type TicketSessionOffer } from './session.js';

/** How an Initiator or Responder authenticates to its KMS: a pre-shared key or a signature and the KMS's public key. */
export interface KmsCredentials {
  /** Pre-shared key with the KMS (the PSK variants). */
  psk?: Uint8Array;
  /** IDRpsk: which pre-shared key (a byte string). */
  pskId?: Uint8Array;
  /** Our signature key and certificate (the PK variants). */
  signer?: TicketSigner;
  /** The KMS's public key or certificate: encrypts the envelope key (PKE). */
  kmsKey?: KeyObject | string | X509Certificate;
  /** Send CHASH naming the KMS certificate. */
  chash?: boolean;
}

export interface TicketPartyOptions extends Endpoint, KmsCredentials {
  /** Our identity (IDRi for the Initiator, IDRr for the Responder). */
  identity: Identity;
  /** The KMS's identity (IDRkms). */
  kms?: Identity;
  /** HDR PRF of our messages (default MIKEY-1). */
  prf?: MikeyPrf;
  /** MAC of our V payloads (default HMAC-SHA-1-160; HMAC-SHA-256-256 with PRF-HMAC-SHA-256). */
  macAlg?: MacAlg;
  /** KEMAC encryption of our KEMACs (default: the one that goes with the MAC, §12.1). */
  encrAlg?: KemacEncrAlg;
}

export interface TicketInitiatorOptions extends TicketPartyOptions {
  /** §4.2.1.6: is the granted policy acceptable? false or a reason refuses it. */
  acceptPolicy?: (granted: ReadPolicy) => boolean | string;
}

/** A ticket obtained from the KMS (or made by the Initiator), with the keys it encodes. */
export interface TicketGrant {
  /** The TICKET payload (views into a private copy of the message that carried it). */
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

export interface PendingRequest {
  bytes: Uint8Array;
  /** Check REQUEST_RESP (or read the KMS's Error message) and open the ticket's keys. */
  receive(bytes: Uint8Array): TicketGrant;
}

export interface TransferOptions {
  sessions: readonly TicketSessionOffer[];
  /** IDRr of TRANSFER_INIT (default the first responder of the Ticket Policy). */
  responder?: Identity;
  csbId?: number;
  /** Keys of our own in a KEMAC (allowed by the L flag; pre-encrypted content, §8). */
  keys?: readonly KeySpec[];
}

export interface PendingTransfer {
  bytes: Uint8Array;
  /** F flag: a TRANSFER_RESP will come. */
  expectsResponse: boolean;
  /** Without a TRANSFER_RESP (F = 0) the session is established now. */
  session?: TicketSession;
  /** Check TRANSFER_RESP (or read an Error message) and derive the bundle. */
  receive(bytes: Uint8Array): TicketSession;
}

const asKey = (k: KeyObject | string | X509Certificate): KeyObject =>
  k instanceof X509Certificate ? k.publicKey : typeof k === 'string' ? (k.includes('CERTIFICATE') ? new X509Certificate(k).publicKey : createPublicKey(k)) : k;

/** The RAND length for keys of these lengths (§12.1: RANDs at least as long as the longest key). */
export function randLength(...keyLens: number[]): number {
  return Math.min(255, Math.max(16, ...keyLens));
}

/** REQUEST_INIT or RESOLVE_INIT: HDR, T, RANDR, [IDR], {CERT}, [IDRkms], TP|TICKET, [IDRpsk], V | [CHASH], PKE, SIGN. */
export function buildTicketKmsRequest(
  o: TicketPartyOptions, ep: ResolvedEndpoint, kind: 'request' | 'resolve', body: Payload, csbId: number,
): { bytes: Uint8Array; rand: Uint8Array; inkey: Uint8Array; macAlg: MacAlg; prf: MikeyPrf } {
  const prf = o.prf ?? 'MIKEY-1';
  const psk = !!o.psk;
  if (!psk && (!o.signer || !o.kmsKey)) throw new TypeError('KMS credentials: give psk, or signer and kmsKey');
  const dataType = kind === 'request' ? (psk ? DataType.RequestInitPsk : DataType.RequestInitPk) : (psk ? DataType.ResolveInitPsk : DataType.ResolveInitPk);
  // §4.2.1.1 / §4.2.3.1: V flag 1, #CS 0, Empty map
  const hdr = header(dataType, csbId, prf, { type: 1, csCount: 0 }, true);
  const t = newTimestamp(ep);
  const macAlg = o.macAlg ?? (prf === 'PRF-HMAC-SHA-256' ? 'HMAC-SHA-256-256' : 'HMAC-SHA-1-160');
  const rand = ep.random(randLength(psk ? o.psk!.length : 16, MAC_PARAMS[macAlg].keyLen));
  const selfRole = kind === 'request' ? IdRole.IDRi : IdRole.IDRr;
  const payloads: Payload[] = [t, { type: 15, role: kind === 'request' ? RandRole.RANDRi : RandRole.RANDRr, rand }, idrPayload(selfRole, o.identity)];
  const kmsIdData = o.kms?.data ?? new Uint8Array(0);
  if (psk) {
    if (o.kms) payloads.push(idrPayload(IdRole.IDRkms, o.kms));
    payloads.push(body);
    if (o.pskId) payloads.push({ type: 14, role: IdRole.IDRpsk, idType: 2, data: o.pskId });
    const rands = kind === 'request' ? { randRi: rand } : { randRr: rand };
    const mk = ticketMessageKeys(prf, o.psk!, csbId, LabelForm.Initial, rands, { encrAlg: 'NULL', macAlg });
    const bytes = encodeWithV(hdr, payloads, macAlg, mk.authKey, (b, m) => initialCoverage(b.subarray(0, m), o.identity, { idType: 0, data: kmsIdData }));
    return { bytes, rand, inkey: o.psk!, macAlg, prf };
  }
  const signer = o.signer!;
  if (signer.certificate) for (const c of [signer.certificate, ...(signer.chain ?? [])]) payloads.push({ type: 7, certType: 0, data: new Uint8Array(toCert(c).raw) });
  if (o.kms) payloads.push(idrPayload(IdRole.IDRkms, o.kms));
  payloads.push(body);
  if (o.chash && o.kmsKey instanceof X509Certificate) payloads.push(chashOf(o.kmsKey, HashFunc.Sha256));
  else if (o.chash && typeof o.kmsKey === 'string' && o.kmsKey.includes('CERTIFICATE')) payloads.push(chashOf(toCert(o.kmsKey), HashFunc.Sha256));
  const env = ep.random(prf === 'PRF-HMAC-SHA-256' ? 32 : 16);
  payloads.push({ type: 2, c: 0, data: rsaEnvelopeEncrypt(asKey(o.kmsKey!), env) });
  const bytes = encodeSignedWithIds(hdr, payloads, signer, [o.identity.data, kmsIdData]);
  return { bytes, rand, inkey: env, macAlg: prf === 'PRF-HMAC-SHA-256' ? 'HMAC-SHA-256-256' : 'HMAC-SHA-1-160', prf };
}

/** Check a REQUEST_RESP / RESOLVE_RESP and open its KEMAC (§4.2.1.6, §4.2.3.6). */
export function readTicketKmsResponse(
  bytes: Uint8Array, request: Uint8Array, expect: number, csbId: number, inkey: Uint8Array, prf: MikeyPrf, macAlg: MacAlg,
  rands: { randRi?: Uint8Array; randRr?: Uint8Array }, o: TicketPartyOptions, ep: ResolvedEndpoint,
): { msg: DecodedMessage; keys: KeyDataPayload[] } {
  const msg = decodeOrReject(Uint8Array.from(bytes));
  const authKeyOf = (form: typeof LabelForm.Initial | typeof LabelForm.Response) => ticketMessageKeys(prf, inkey, csbId, form, rands, { encrAlg: 'NULL', macAlg }).authKey;
  if (msg.header.dataType === DataType.Error) {
    // §5.4: the Error message's V uses the auth_key of the message where the error occurred
    rejectTicketError(msg, { macAlg, authKey: authKeyOf(LabelForm.Initial) });
  }
  if (msg.header.dataType !== expect) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType}, ${expect} expected`);
  if (msg.header.csbId !== csbId) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'a response for another CSB');
  const t = msg.payloads[0];
  if (!t || t.type !== PayloadType.T) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'the first payload must be T');
  checkFresh(t, ep, csbId, true);
  const kemac = payloadOf(msg, PayloadType.Kemac);
  if (!kemac) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'KEMAC missing');
  const encrAlg = kemacEncrAlg(kemac, macAlg);
  const mk = ticketMessageKeys(prf, inkey, csbId, LabelForm.Response, rands, { encrAlg, macAlg });
  checkV(msg, mk.authKey, responseCoverage(msg.bytes.subarray(0, vMacStart(msg)), request), expect === DataType.RequestResp ? 'REQUEST_RESP' : 'RESOLVE_RESP', macAlg);
  const kms = findIdr(msg, IdRole.IDRkms);
  if (kms && o.kms && !(kms.idType === o.kms.idType && Buffer.compare(Buffer.from(kms.data), Buffer.from(o.kms.data)) === 0)) {
    throw new MikeyProtocolError(ErrorNo.InvalidId, 'the response names another KMS');
  }
  return { msg, keys: decryptKemac(kemac, mk, csbId, t, 'KMS response') };
}

/** Split a KEMAC from the KMS: MPKi, [MPKr], then the session keys (§4.2.1.5, §4.2.3.5). */
export function splitMpks(keys: KeyDataPayload[], forking: boolean): { mpki: Uint8Array; mpkr?: Uint8Array; keys: KeyDataPayload[] } {
  const [mpki, mpkr] = keys;
  if (!mpki || mpki.keyType !== KeyDataType.Mpk) throw new MikeyProtocolError(ErrorNo.Unspecified, 'the KEMAC does not start with MPKi');
  if (forking && (!mpkr || mpkr.keyType !== KeyDataType.Mpk)) throw new MikeyProtocolError(ErrorNo.Unspecified, 'forking: the KEMAC carries no second MPK');
  const rest = keys.slice(forking ? 2 : 1);
  if (rest.some((k) => k.keyType === KeyDataType.Mpk)) throw new MikeyProtocolError(ErrorNo.Unspecified, 'an unexpected MPK');
  return { mpki: mpki.keyData, mpkr: forking ? mpkr!.keyData : undefined, keys: rest };
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
      receive: (bytes) => {
        const { msg, keys } = readTicketKmsResponse(bytes, req.bytes, DataType.RequestResp, csbId, req.inkey, req.prf, req.macAlg, { randRi: req.rand }, this.opts, this.ep);
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
    // decode the ticket as it will travel, so it carries spans like a received one
    const carrier = decodeMessage(encodeMessage({ header: header(DataType.RequestResp, 0, 'MIKEY-1', { type: 1, csCount: 0 }), payloads: [tNow(this.ep.clock), ticket] }));
    const t = payloadOf(carrier, PayloadType.Ticket)!;
    const { mpki, mpkr } = deriveMpks(full.prf ?? 'MIKEY-1', mpk, rand);
    const policyRead = readPolicy(t);
    return { ticket: t, policy: policyRead, mpki, mpkr: flags.I ? mpkr : undefined, keys: kd, uses: 0 };
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
    const payloads: Payload[] = [t, { type: 15, role: RandRole.RANDRi, rand: randRi }, idrPayload(IdRole.IDRi, this.opts.identity), idrPayload(IdRole.IDRr, responder), ...sps];
    const tagLen = MAC_PARAMS[macAlg].tagLen;
    const placeholder = (): VPayload => ({ type: 9, authAlg: macAlgCode(macAlg), mac: new Uint8Array(tagLen) });
    const ticket: TicketPayload = { ...grant.ticket, initiatorData: p.flags.I ? { payloads: [placeholder(), placeholder()] } : { payloads: [] } };
    payloads.push(ticket);
    const mk = ticketMessageKeys(prf, grant.mpki, csbId, LabelForm.Initial, { randRi }, { encrAlg, macAlg });
    const ownKeys = o.keys?.length ? keyDataPayloads(o.keys.map((k) => ({ ...k, mki: k.mki ?? this.ep.random(4) })), this.ep.random) : [];
    if (ownKeys.length) payloads.push(encryptedKemac(encrAlg, mk, ownKeys, csbId, t));
    payloads.push(placeholder());
    const bytes = encodeMessage({ header: hdr, payloads });
    const draft = decodeMessage(bytes);
    const macStart = vMacStart(draft);
    const vMac = macCompute(macAlg, mk.authKey, [...transferInitParts(draft, macStart), ...initialCoverage(new Uint8Array(0), this.opts.identity, responder).slice(1)]);
    bytes.set(vMac, macStart);
    if (p.flags.I) {
      // §6.10: Vi is the V of this message; Vr covers the Initiator Data but its MAC, with a key from MPKr
      const tk = payloadOf(draft, PayloadType.Ticket)!;
      const [vi, vr] = tk.initiatorData.payloads as [VPayload, VPayload];
      bytes.set(vMac, vi.span!.end - tagLen);
      const lay = ticketLayout(bytes, tk.span!);
      const vrStart = vr.span!.end - tagLen;
      bytes.set(macCompute(macAlg, initiatorDataAuthKey(p.prf, grant.mpkr!, macAlg), bytes.subarray(lay.idStart, vrStart)), vrStart);
    }
    const state = {
      csbId, prf, macAlg, encrAlg, randRi, mk, hdr, sps, ownKeys, responder, grant, transferInit: bytes,
    };
    const pending: PendingTransfer = {
      bytes, expectsResponse: p.flags.F,
      receive: (resp) => this.receiveTransferResp(resp, state),
    };
    if (!p.flags.F) {
      // no TRANSFER_RESP (F = 0): hence no RANDRr (G implies F) and RANDRi is used (NOT G implies H)
      const keys = [...grant.keys, ...ownKeys];
      const bundle = deriveTicketBundle({ header: hdr, sps, keys, randRi });
      pending.session = new TicketSession({
        role: 'initiator', csbId, prf, updateKeys: mk, macAlg, encrAlg, randRi, header: hdr, sps, keys, policy: p, self: this.opts.identity, peer: responder, bundle,
      }, this.ep);
    }
    return pending;
  }

  /** TRANSFER_RESP = HDR, T, [RANDRr], [IDRr], [RANDRkms], {SP}, [KEMAC], V (§4.2.2.3-4). */
  private receiveTransferResp(bytes: Uint8Array, s: {
    csbId: number; prf: MikeyPrf; macAlg: MacAlg; encrAlg: KemacEncrAlg; randRi: Uint8Array; mk: ReturnType<typeof ticketMessageKeys>;
    hdr: ReturnType<typeof header>; sps: SpPayload[]; ownKeys: KeyDataPayload[]; responder: Identity; grant: TicketGrant; transferInit: Uint8Array;
  }): TicketSession {
    const p = s.grant.policy;
    const msg = decodeOrReject(Uint8Array.from(bytes));
    if (msg.header.dataType === DataType.Error) rejectTicketError(msg, { macAlg: s.macAlg, authKey: s.mk.authKey });
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

