// The KMS side of MIKEY-TICKET (RFC 6043 §4.2.1, §4.2.3): REQUEST_INIT_PSK/PK -> REQUEST_RESP
// and RESOLVE_INIT_PSK/PK -> RESOLVE_RESP. Who is who, which policy is granted and which keys
// protect tickets come from an injected directory; what must be remembered (the replay key,
// the ticket issued, the resolution) is handed back to the caller to commit in one step.
import { randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import type { MacAlg } from '../../crypto/kemac.js';
import { rsaEnvelopeDecrypt } from '../../crypto/rsa.js';
import { prfOf } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { replayKey } from '../../session/replay.js';
import { type DecodedMessage } from '../../wire/decode.js';
import { CsIdMapType, DataType, ErrorNo, HashFunc, IdRole, KeyDataType, KvType, PayloadType, RandRole } from '../../wire/registry.js';
import type { KeyDataPayload, Payload, TicketPayload, TPayload, VPayload } from '../../wire/types.js';
import { checkFresh, decodeOrReject, macAlgOf, payloadOf, resolveEndpoint, tNow, type Endpoint, type ResolvedEndpoint } from '../kit/common.js';
import { withErrorResponse } from '../kit/error-message.js';
import { identityText, idOf, sameIdentity, type Identity } from '../../session/identity.js';
import { chashOf, toCert, verifySignature } from '../kit/signature.js';
import {
  baseTicketHeader, baseTicketTpkId, buildBaseTicket, isBaseTicket, openBaseTicket, ticketDigest, ticketLayout, type TicketKeys,
} from './base-ticket.js';
import { deriveMpks, forkKey, initiatorDataAuthKey, LabelForm, ticketMessageKeys } from './labels.js';
import { encodeWithV } from '../kit/verification.js';
import { encrAlgFor, encryptedKemac, findIdr, findRandr, idrPayload, initialCoverage, responseCoverage, responseTimestamp, ticketErrorMessage, type TicketErrorAuth, type TicketSigner } from './messages.js';
import { checkFlags, checkValidity, completeFlags, readPolicy, type KeyRequest, type ReadPolicy, type TicketPolicy } from './policy.js';
import { macVerify } from '../../crypto/kemac.js';
import { encodePayloads, spanOf } from '../../wire/encode.js';

/** A pre-shared key that may have protected a message, and whose it is. */
export interface PskCandidate {
  /** The user's identity (IDRi/IDRr as registered). */
  user: Identity;
  key: Uint8Array;
  /** Which credential (a device) of the user, for logs. */
  credential: string;
}

/** A user's verified signature key. */
export interface SignerCandidate {
  user: Identity;
  key: KeyObject;
  credential: string;
}

/** A Ticket Protection Key (App. A) and its identifier, sent in the ticket's IDRpsk. */
export interface Tpk {
  id: Uint8Array;
  key: Uint8Array;
}

type Maybe<T> = T | Promise<T>;

/** What the KMS knows: users and credentials, policies, ticket protection keys. */
export interface KmsDirectory {
  /** Pre-shared keys that may protect a message from `claimed` (IDRi/IDRr, if sent) naming `pskId` (IDRpsk, if sent). */
  pskCandidates(claimed: Identity | undefined, pskId: Uint8Array | undefined): Maybe<PskCandidate[]>;
  /** The signature key of `claimed` (registered certificate), or from the CERT chain sent; undefined when unknown. */
  signer(claimed: Identity | undefined, certs: readonly Uint8Array[], now: number): Maybe<SignerCandidate | undefined>;
  /** The policy granted to `requester` (possibly changed); throw MikeyProtocolError (Invalid TPpar) to refuse. */
  grant(requester: Identity, requested: ReadPolicy, now: number): Maybe<TicketPolicy>;
  /** May `resolver` resolve a ticket of `policy`? The identity it answers as (IDRr of RESOLVE_RESP), or undefined. */
  authorizeResolve(resolver: Identity, policy: ReadPolicy): Maybe<Identity | undefined>;
  /** The TPK new tickets are protected with. */
  currentTpk(now: number): Maybe<Tpk>;
  /** A TPK by identifier (current or retired but not yet expired). */
  tpk(id: Uint8Array): Maybe<Uint8Array | undefined>;
}

/** Another Ticket Type (RFC 6043 §11): how this KMS issues and opens it. */
export interface TicketCodec {
  ticketType: number;
  subtype: number;
  version: number;
  /** The TICKET payload for a granted policy (flags completed) and the keys it encodes. */
  issue(i: { policy: TicketPolicy; id: Uint8Array; mpk: Uint8Array; keys: KeyDataPayload[]; now: number }): Maybe<TicketPayload & { keysOut: { mpki: Uint8Array; mpkr: Uint8Array } }>;
  /** Check and open a ticket carried in `bytes`: Invalid TICKET when it is not ours or broken. */
  open(ticket: TicketPayload, bytes: Uint8Array): Maybe<TicketKeys & { id: Uint8Array }>;
}

export interface TicketKmsOptions extends Endpoint {
  /** Our identity (IDRkms). */
  identity: Identity;
  directory: KmsDirectory;
  /** RSA key decrypting the PKE of REQUEST_INIT_PK / RESOLVE_INIT_PK, and our certificate (for CHASH). */
  privateKey?: KeyObject | string;
  certificate?: X509Certificate | string;
  /** Signs Error messages answering authenticated PK requests (SIGNkms, §5.4). */
  signer?: TicketSigner;
  /** Ticket Types other than the MIKEY base ticket. */
  codecs?: readonly TicketCodec[];
  /** Send IDRkms in responses (default true). */
  sendIdentity?: boolean;
}

/** A ticket the KMS issued: what to keep about it. */
export interface IssuedTicket {
  id: string;
  ticketType: number;
  tpkId?: string;
  initiator: string;
  responders: string[];
  flags: string;
  issuedAt: number;
  validFrom?: number;
  validTo?: number;
  /** sha256 of the TICKET payload as issued (from Ticket Type to the end of Ticket Data). */
  digest: string;
}

/** A resolution the KMS answered. */
export interface Resolution {
  ticketId: string;
  resolver: string;
  /** The Vi MAC when forking (one TRANSFER_INIT), for reuse detection (J flag). */
  vi?: string;
  reusable: boolean;
}

/**
 * What a ticket that may not be reused (J = 0, §5.3) is claimed by: with forking the first
 * TRANSFER_INIT (its Vi, whoever resolves it); without forking the KMS cannot see the
 * TRANSFER_INIT, so each resolver may resolve the ticket with one RESOLVE_INIT (a retransmission
 * is answered from the replay cache) and a second, different one is a reuse.
 */
export function ticketUse(r: Resolution, request: string): { key: string; claim: string } | undefined {
  if (r.reusable) return undefined;
  return r.vi !== undefined ? { key: r.ticketId, claim: r.vi } : { key: `${r.ticketId} ${r.resolver}`, claim: `request ${request}` };
}

/** A request answered but not yet committed: the caller stores these, then sends `response`. */
export interface KmsPrepared {
  kind: 'request' | 'resolve';
  response: Uint8Array;
  replay: { key: string; expiresAt: number };
  user: string;
  credential: string;
  issued?: IssuedTicket;
  resolved?: Resolution;
  /** How an Error message answering this request after all (e.g. a reuse found at commit) is authenticated. */
  errorAuth: TicketErrorAuth;
  /** The request's header and timestamp, for such an Error message. */
  request: { header: DecodedMessage['header']; t: TPayload };
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

/** Key lengths and RAND sizes: §12.1 (RANDs at least as long as the keys they serve). */
function keyPayload(k: KeyRequest, random: (n: number) => Uint8Array): KeyDataPayload {
  const salt = (k.saltLength ?? 0) > 0;
  const keyType = k.kind === 'TGK' ? (salt ? KeyDataType.TgkSalt : KeyDataType.Tgk)
    : k.kind === 'TEK' ? (salt ? KeyDataType.TekSalt : KeyDataType.Tek) : (salt ? KeyDataType.GtgkSalt : KeyDataType.Gtgk);
  // §6.2.1: an SPI (or MKI) for each key
  return { type: PayloadType.KeyData, keyType, keyData: random(k.length ?? 16), salt: salt ? random(k.saltLength!) : undefined, validity: { kv: KvType.Spi, spi: k.spi ?? random(4) } };
}

function isTgk(k: KeyDataPayload): boolean {
  return k.keyType === KeyDataType.Tgk || k.keyType === KeyDataType.TgkSalt;
}

/** Whether the granted policy differs from the requested one (the K flag, §6.10). */
function changed(req: ReadPolicy, g: TicketPolicy, grantedFlags: ReturnType<typeof completeFlags>): boolean {
  const sec = (ms?: number) => (ms === undefined ? undefined : Math.floor(ms / 1000));
  const ids = (l?: Identity[]) => (l ?? []).map((i) => `${i.idType}:${hex(i.data)}`).join(',');
  const keys = (l?: KeyRequest[]) => (l ?? []).map((k) => `${k.kind}/${k.length ?? 16}/${k.saltLength ?? 0}`).join(',');
  const f = (x: ReturnType<typeof completeFlags>) => JSON.stringify({ ...x, K: false });
  return f(req.flags) !== f(grantedFlags) || sec(req.validFrom) !== sec(g.validFrom) || sec(req.validTo) !== sec(g.validTo)
    || req.rekeyIntervalSec !== g.rekeyIntervalSec || ids(req.responders) !== ids(g.responders) || ids(req.apps) !== ids(g.apps)
    || (req.keys.length > 0 && keys(req.keys) !== keys(g.keys));
}

interface Authenticated {
  user: Identity;
  credential: string;
  /** The pre-shared or envelope key the response is protected with. */
  inkey: Uint8Array;
  macAlg: MacAlg;
  /** Error messages after authentication: V with the message's auth_key, or SIGNkms. */
  errAuth: TicketErrorAuth;
}

/** The key tried for a sender with no pre-shared key (never verifies: random per process). */
const UNKNOWN_PSK = new Uint8Array(randomBytes(32));

export class TicketKms {
  readonly ep: ResolvedEndpoint;
  private readonly kmsCert?: X509Certificate;
  /** Resolutions seen by `receive` (the service keeps them in its store instead). */
  private readonly resolutions = new Map<string, Set<string>>();

  constructor(readonly opts: TicketKmsOptions) {
    this.ep = resolveEndpoint(opts);
    if (opts.certificate) this.kmsCert = toCert(opts.certificate);
  }

  /**
   * Process a request and record it in the injected replay cache (and, for tickets that may
   * not be reused, the resolutions seen): for a KMS whose state lives in this process.
   */
  async receive(bytes: Uint8Array): Promise<KmsPrepared> {
    const p = await this.prepare(bytes);
    try {
      if (p.resolved) this.checkResolution(p.resolved, p.replay.key);
      const verdict = await this.ep.replayCache.checkAndRecord(p.replay.key, p.replay.expiresAt, this.ep.clock.now());
      if (verdict !== 'recorded') throw new MikeyProtocolError(ErrorNo.InvalidTs, verdict === 'replayed' ? 'replayed message' : 'replay cache full');
    } catch (e) {
      return withErrorResponse(e, (err) => this.errorFor(p, err.errorNo));
    }
    if (p.resolved) this.noteResolution(p.resolved, p.replay.key);
    return p;
  }

  /** The Error message answering a prepared request after all (§5.4). */
  errorFor(p: KmsPrepared, errorNo: number): Uint8Array {
    return ticketErrorMessage(p.request.header, p.request.t, [errorNo], this.ep, p.errorAuth);
  }

  private checkResolution(r: Resolution, request: string): void {
    const use = ticketUse(r, request);
    if (!use) return;
    const seen = this.resolutions.get(use.key);
    if (seen && !seen.has(use.claim)) throw new MikeyProtocolError(ErrorNo.InvalidTicket, 'the Ticket Policy forbids reuse (J = 0) and the ticket was used before');
  }

  /** J = 0: the first claim (see ticketUse) holds the ticket; another one is a reuse (§5.3). */
  private noteResolution(r: Resolution, request: string): void {
    const use = ticketUse(r, request);
    if (!use) return;
    const seen = this.resolutions.get(use.key) ?? new Set<string>();
    seen.add(use.claim);
    this.resolutions.set(use.key, seen);
  }

  /**
   * Check a request and build the answer without remembering anything. Throws
   * MikeyProtocolError with `response` set to the Error message to send.
   */
  async prepare(bytes: Uint8Array): Promise<KmsPrepared> {
    let msg: DecodedMessage | undefined;
    let errAuth: TicketErrorAuth = {};
    try {
      msg = decodeOrReject(bytes);
      const m = msg;
      switch (m.header.dataType) {
        case DataType.RequestInitPsk: case DataType.RequestInitPk:
          return await this.request(m, (a) => { errAuth = a; });
        case DataType.ResolveInitPsk: case DataType.ResolveInitPk:
          return await this.resolve(m, (a) => { errAuth = a; });
        default:
          throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${m.header.dataType} is not a request to a KMS`);
      }
    } catch (e) {
      return withErrorResponse(e, (err) => ticketErrorMessage(msg?.header, msg && payloadOf(msg, PayloadType.T), [err.errorNo], this.ep, err.errorNo === ErrorNo.AuthFailure && !errAuth.authKey && !errAuth.signer ? {} : errAuth));
    }
  }

  // ---- shared by both exchanges ------------------------------------------------------------

  /** HDR, T, RANDR first; IDRkms, when sent, names us; #CS = 0 with the Empty map (§4.2.1.1, §4.2.3.1). */
  private common(msg: DecodedMessage, randRole: number): { t: TPayload; rand: Uint8Array } {
    const h = msg.header;
    if (h.csIdMap.type !== CsIdMapType.Empty || h.csIdMap.csCount !== 0) {
      throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, '#CS must be 0 with the Empty map in a request to the KMS');
    }
    const t = msg.payloads[0];
    if (!t || t.type !== PayloadType.T) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'the first payload must be T');
    const rand = findRandr(msg, randRole);
    if (!rand) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `${randRole === RandRole.RANDRi ? 'RANDRi' : 'RANDRr'} missing`);
    if (rand.rand.length < 16) throw new MikeyProtocolError(ErrorNo.Unspecified, 'RAND shorter than 128 bits (§12.1)');
    const kms = findIdr(msg, IdRole.IDRkms);
    if (kms && !sameIdentity(kms, this.opts.identity)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'IDRkms names another KMS');
    return { t, rand: Uint8Array.from(rand.rand) };
  }

  /** Authenticate the sender: V from a pre-shared key, or SIGN and PKE (§4.2.1.2-3, §4.2.3.2-3, Table 5.2). */
  private async authenticate(msg: DecodedMessage, psk: boolean, claimedRole: number, rands: { randRi?: Uint8Array; randRr?: Uint8Array }): Promise<Authenticated> {
    const prf = prfOf(msg.header.prfFunc);
    const claimed = idOf(findIdr(msg, claimedRole));
    const kmsId = idOf(findIdr(msg, IdRole.IDRkms)) ?? this.opts.identity;
    const last = msg.payloads.at(-1)!;
    if (psk) {
      if (last.type !== PayloadType.V) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'the last payload must be V');
      const macAlg = macAlgOf(last.authAlg);
      if (macAlg === 'NULL') throw new MikeyProtocolError(ErrorNo.InvalidMac, 'the NULL MAC in V');
      const pskId = findIdr(msg, IdRole.IDRpsk)?.data;
      const cands = await this.opts.directory.pskCandidates(claimed, pskId);
      const covered = msg.bytes.subarray(0, last.span!.end - last.mac.length);
      if (!cands.length) {
        // answered like a wrong key, after as much work: an unauthenticated sender learns nothing of who is registered
        const authKey = ticketMessageKeys(prf, UNKNOWN_PSK, msg.header.csbId, LabelForm.Initial, rands, { encrAlg: 'NULL', macAlg }).authKey;
        macVerify(macAlg, authKey, initialCoverage(covered, claimed ?? this.opts.identity, kmsId), last.mac);
        throw new MikeyProtocolError(ErrorNo.AuthFailure, 'no pre-shared key for this sender');
      }
      for (const c of cands.slice(0, 16)) {
        const authKey = ticketMessageKeys(prf, c.key, msg.header.csbId, LabelForm.Initial, rands, { encrAlg: 'NULL', macAlg }).authKey;
        if (macVerify(macAlg, authKey, initialCoverage(covered, claimed ?? c.user, kmsId), last.mac)) {
          return { user: c.user, credential: c.credential, inkey: c.key, macAlg, errAuth: { macAlg, authKey } };
        }
      }
      throw new MikeyProtocolError(ErrorNo.AuthFailure, 'V does not verify with the sender\'s pre-shared key');
    }
    if (last.type !== PayloadType.Sign) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'the last payload must be SIGN');
    const pke = payloadOf(msg, PayloadType.Pke);
    if (!pke) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'PKE missing');
    if (!this.opts.privateKey) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'this KMS has no key for the public-key variants');
    const certs = msg.payloads.filter((p) => p.type === PayloadType.Cert).map((p) => (p as { data: Uint8Array }).data);
    const signer = await this.opts.directory.signer(claimed, certs, this.ep.clock.now());
    // an unknown sender is answered like a signature that does not verify
    if (!signer) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'no certificate known for this sender');
    verifySignature(msg, signer.key, ['sha256'], [(claimed ?? signer.user).data, kmsId.data]);
    const chash = payloadOf(msg, PayloadType.Chash);
    if (chash) {
      if (!this.kmsCert) throw new MikeyProtocolError(ErrorNo.InvalidCert, 'CHASH names a certificate and this KMS has none configured');
      if (chash.hashFunc > HashFunc.Sha256) throw new MikeyProtocolError(ErrorNo.InvalidHa, `hash function ${chash.hashFunc}`);
      if (Buffer.compare(Buffer.from(chashOf(this.kmsCert, chash.hashFunc).hash), Buffer.from(chash.hash)) !== 0) throw new MikeyProtocolError(ErrorNo.InvalidCert, 'CHASH does not name our certificate');
    }
    const errAuth: TicketErrorAuth = this.opts.signer ? { signer: this.opts.signer } : {};
    let env: Uint8Array;
    try {
      env = rsaEnvelopeDecrypt(this.opts.privateKey, pke.data);
    } catch (e) {
      throw new MikeyProtocolError(ErrorNo.AuthFailure, 'the envelope does not decrypt with our key', { cause: e });
    }
    if (env.length < 16) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'envelope key shorter than 128 bits');
    // the response goes with the strength of the header's PRF (§12.1)
    const macAlg: MacAlg = prf === 'PRF-HMAC-SHA-256' ? 'HMAC-SHA-256-256' : 'HMAC-SHA-1-160';
    return { user: signer.user, credential: signer.credential, inkey: env, macAlg, errAuth };
  }

  private codecFor(t: { ticketType: number; subtype: number; version: number }): TicketCodec | undefined {
    return this.opts.codecs?.find((c) => c.ticketType === t.ticketType && c.subtype === t.subtype && c.version === t.version);
  }

  // ---- Ticket Request (§4.2.1) ------------------------------------------------------------

  private async request(msg: DecodedMessage, authenticated: (a: TicketErrorAuth) => void): Promise<KmsPrepared> {
    const psk = msg.header.dataType === DataType.RequestInitPsk;
    const { t, rand: randRi } = this.common(msg, RandRole.RANDRi);
    const fresh = checkFresh(t, this.ep, msg.header.csbId);
    const tp = payloadOf(msg, PayloadType.Tp);
    if (!tp) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'TP missing');
    const a = await this.authenticate(msg, psk, IdRole.IDRi, { randRi });
    authenticated(a.errAuth);
    const now = this.ep.clock.now();
    const requested = readPolicy(tp);
    checkFlags(requested.flags);
    const base = isBaseTicket(requested);
    const codec = base ? undefined : this.codecFor(requested);
    if (!base && !codec) throw new MikeyProtocolError(ErrorNo.InvalidTicket, `Ticket Type ${requested.ticketType}/${requested.subtype}/${requested.version} is not supported`);
    const g = await this.opts.directory.grant(a.user, requested, now);
    const keyReqs = g.keys?.length ? g.keys : [{ kind: 'TGK' as const, length: 16 }];
    const flags = completeFlags({ ...g.flags, D: true });
    const hasTgk = keyReqs.some((k) => k.kind === 'TGK');
    if (flags.I && hasTgk) flags.F = true;
    flags.K = changed(requested, { ...g, keys: keyReqs }, flags);
    checkFlags(flags, hasTgk);
    const policy: TicketPolicy = { ...g, keys: keyReqs, flags, kms: this.opts.identity, initiator: a.user, ticketType: requested.ticketType, subtype: requested.subtype, version: requested.version, prf: g.prf ?? requested.prf };
    const rnd = this.ep.random;
    const sessionKeys = keyReqs.map((k) => keyPayload(k, rnd));
    const longest = Math.max(16, ...sessionKeys.map((k) => k.keyData.length));
    const mpk = rnd(policy.prf === 'PRF-HMAC-SHA-256' ? Math.max(32, longest) : longest);
    const id = rnd(16);
    let ticket: TicketPayload;
    let mpki: Uint8Array;
    let mpkr: Uint8Array;
    let tpkId: string | undefined;
    if (codec) {
      const out = await codec.issue({ policy, id, mpk, keys: sessionKeys, now });
      ({ mpki, mpkr } = out.keysOut);
      const { keysOut: _k, ...rest } = out;
      void _k;
      ticket = rest;
    } else {
      const tpk = await this.opts.directory.currentTpk(now);
      tpkId = hex(tpk.id);
      const trand = rnd(Math.max(32, tpk.key.length, mpk.length));
      ticket = buildBaseTicket({ policy, tpk: tpk.key, tpkId: tpk.id, thdr: id, t: tNow(this.ep.clock), rand: trand, mpk, keys: sessionKeys });
      ({ mpki, mpkr } = deriveMpks(policy.prf!, mpk, trand));
    }
    // REQUEST_RESP = HDR, T, [IDRkms], TICKET, KEMAC, V (§4.2.1.5)
    const hdr = { ...msg.header, dataType: DataType.RequestResp, v: false };
    const tResp = responseTimestamp(this.ep, t);
    const encrAlg = encrAlgFor(a.macAlg);
    const prf = prfOf(msg.header.prfFunc);
    const mk = ticketMessageKeys(prf, a.inkey, msg.header.csbId, LabelForm.Response, { randRi }, { encrAlg, macAlg: a.macAlg });
    const mpkPayload = (k: Uint8Array): KeyDataPayload => ({ type: PayloadType.KeyData, keyType: KeyDataType.Mpk, keyData: k, validity: { kv: KvType.Null } });
    const kemacKeys = [mpkPayload(mpki), ...(flags.I ? [mpkPayload(mpkr)] : []), ...sessionKeys];
    const payloads: Payload[] = [tResp];
    if (this.opts.sendIdentity !== false) payloads.push(idrPayload(IdRole.IDRkms, this.opts.identity));
    payloads.push(ticket, encryptedKemac(encrAlg, mk, kemacKeys, msg.header.csbId, tResp));
    let digest = '';
    const response = encodeWithV(hdr, payloads, a.macAlg, mk.authKey, (b, m, e) => {
      digest = ticketDigest(b, ticket, spanOf(e!, ticket));
      return responseCoverage(b.subarray(0, m), msg.bytes);
    }, true);
    return {
      kind: 'request', response, replay: { key: replayKey(msg.bytes), expiresAt: fresh.expiresAt }, user: identityText(a.user), credential: a.credential,
      errorAuth: a.errAuth, request: { header: msg.header, t },
      issued: {
        id: hex(id), ticketType: policy.ticketType!, tpkId, initiator: identityText(a.user), responders: policy.responders.map(identityText),
        flags: flagsText(flags), issuedAt: now, validFrom: policy.validFrom, validTo: policy.validTo,
        digest,
      },
    };
  }

  // ---- Ticket Resolve (§4.2.3) ------------------------------------------------------------

  private async resolve(msg: DecodedMessage, authenticated: (a: TicketErrorAuth) => void): Promise<KmsPrepared> {
    const psk = msg.header.dataType === DataType.ResolveInitPsk;
    const { t, rand: randRr } = this.common(msg, RandRole.RANDRr);
    const fresh = checkFresh(t, this.ep, msg.header.csbId);
    const ticket = payloadOf(msg, PayloadType.Ticket);
    if (!ticket) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'TICKET missing');
    const a = await this.authenticate(msg, psk, IdRole.IDRr, { randRr });
    authenticated(a.errAuth);
    const now = this.ep.clock.now();
    const policy = readPolicy(ticket);
    checkFlags(policy.flags);
    checkValidity(policy, now, this.ep.maxSkewMs);
    let opened: TicketKeys;
    let ticketId: string;
    if (isBaseTicket(ticket)) {
      const tpkId = baseTicketTpkId(ticket);
      const tpk = tpkId ? await this.opts.directory.tpk(tpkId) : undefined;
      if (!tpk) throw new MikeyProtocolError(ErrorNo.InvalidTicket, 'the ticket is protected with a key this KMS does not hold');
      opened = openBaseTicket(ticket, msg.bytes, tpk, policy.prf);
      ticketId = hex(baseTicketHeader(ticket) ?? new Uint8Array(0));
    } else {
      const codec = this.codecFor(ticket);
      if (!codec) throw new MikeyProtocolError(ErrorNo.InvalidTicket, `Ticket Type ${ticket.ticketType}/${ticket.subtype}/${ticket.version} is not supported`);
      const o = await codec.open(ticket, msg.bytes);
      opened = o;
      ticketId = hex(o.id);
    }
    checkFlags(policy.flags, opened.keys.some(isTgk));
    const as = await this.opts.directory.authorizeResolve(a.user, policy);
    if (!as) throw new MikeyProtocolError(ErrorNo.InvalidId, `${identityText(a.user)} may not resolve this ticket`);
    let vi: string | undefined;
    const prfTp = policy.prf;
    let keys = opened.keys;
    const extra: Payload[] = [];
    let mpkrF: Uint8Array | undefined;
    if (policy.flags.I) {
      vi = checkInitiatorData(msg, ticket, opened.mpkr, prfTp);
      // §5.1.1: fork MPKr and the TGKs (not TEKs, not GTGKs) with IDRr and a fresh RANDRkms
      const longest = Math.max(16, opened.mpkr.length, ...keys.filter(isTgk).map((k) => k.keyData.length));
      const randRkms = this.ep.random(longest);
      mpkrF = forkKey(prfTp, 'MPKr', opened.mpkr, as.data, randRkms);
      keys = keys.map((k) => (isTgk(k) ? { ...k, keyData: forkKey(prfTp, 'TGK', k.keyData, as.data, randRkms) } : k));
      extra.push(idrPayload(IdRole.IDRr, as), { type: PayloadType.Randr, role: RandRole.RANDRkms, rand: randRkms });
    }
    // RESOLVE_RESP = HDR, T, [IDRkms], KEMAC, [IDRr], [RANDRkms], V (§4.2.3.5)
    const hdr = { ...msg.header, dataType: DataType.ResolveResp, v: false };
    const tResp = responseTimestamp(this.ep, t);
    const encrAlg = encrAlgFor(a.macAlg);
    const mk = ticketMessageKeys(prfOf(msg.header.prfFunc), a.inkey, msg.header.csbId, LabelForm.Response, { randRr }, { encrAlg, macAlg: a.macAlg });
    const mpkPayload = (k: Uint8Array): KeyDataPayload => ({ type: PayloadType.KeyData, keyType: KeyDataType.Mpk, keyData: k, validity: { kv: KvType.Null } });
    const payloads: Payload[] = [tResp];
    if (this.opts.sendIdentity !== false) payloads.push(idrPayload(IdRole.IDRkms, this.opts.identity));
    payloads.push(encryptedKemac(encrAlg, mk, [mpkPayload(opened.mpki), ...(mpkrF ? [mpkPayload(mpkrF)] : []), ...keys], msg.header.csbId, tResp), ...extra);
    const response = encodeWithV(hdr, payloads, a.macAlg, mk.authKey, (b, m) => responseCoverage(b.subarray(0, m), msg.bytes));
    return {
      kind: 'resolve', response, replay: { key: replayKey(msg.bytes), expiresAt: fresh.expiresAt }, user: identityText(a.user), credential: a.credential,
      errorAuth: a.errAuth, request: { header: msg.header, t },
      resolved: { ticketId, resolver: identityText(a.user), vi, reusable: policy.flags.J },
    };
  }
}

/**
 * §4.2.3.4: with forking the KMS checks the Initiator Data: Vi, then Vr whose MAC (auth_key from
 * MPKr, §6.10) covers the Initiator Data but its own MAC field. Returns the Vi MAC (hex).
 */
function checkInitiatorData(msg: DecodedMessage, ticket: TicketPayload, mpkr: Uint8Array, prf: ReturnType<typeof prfOf>): string {
  const ps = ticket.initiatorData.payloads;
  const vs = ps.filter((p): p is VPayload => p.type === PayloadType.V);
  if (vs.length !== 2 || ps.at(-1)?.type !== PayloadType.V) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'forking: the Initiator Data must hold Vi and Vr');
  const [vi, vr] = vs as [VPayload, VPayload];
  if (vi.authAlg !== vr.authAlg) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'forking: Vi and Vr use different algorithms');
  const macAlg = macAlgOf(vr.authAlg);
  if (macAlg === 'NULL') throw new MikeyProtocolError(ErrorNo.InvalidMac, 'forking: the NULL MAC in Vr');
  const lay = ticketLayout(ticket, ticket.span!);
  const covered = msg.bytes.subarray(lay.idStart, vr.span!.end - vr.mac.length);
  if (!macVerify(macAlg, initiatorDataAuthKey(prf, mpkr, macAlg), covered, vr.mac)) {
    throw new MikeyProtocolError(ErrorNo.AuthFailure, 'forking: Vr does not verify: the TRANSFER_INIT was not sent by the holder of the ticket');
  }
  return hex(vi.mac);
}

/** The TICKET payload encoded on its own, from Ticket Type to the end of Ticket Data (what a digest of the ticket covers). */
export function encodeTicketAlone(t: TicketPayload): Uint8Array {
  const alone: TicketPayload = { ...t, initiatorData: { payloads: [] } };
  const b = encodePayloads([alone]);
  return b.subarray(1, ticketLayout(alone, { start: 0, end: b.length }).tdEnd);
}

export function flagsText(f: ReturnType<typeof completeFlags>): string {
  return (Object.keys(f) as Array<keyof typeof f>).map((k) => (f[k] ? k : k.toLowerCase())).join('');
}
