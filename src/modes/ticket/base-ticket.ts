// The MIKEY base ticket (RFC 6043 App. A): Ticket Data = THDR, T, RAND, KEMAC, [IDRpsk], V,
// protected with keys from a Ticket Protection Key (TPK). KEMAC = E(encr_key, MPK || {TEK|TGK|GTGK})
// with the NULL MAC; V covers the TICKET payload but its Next Payload byte, the Initiator Data
// length and data, and the MAC itself. Also: where the fields of a TICKET payload sit in a message.
import { createHash } from 'node:crypto';
import { macCompute, macVerify, MAC_PARAMS, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import type { MikeyPrf } from '../../crypto/prf.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { encodePayloads } from '../../wire/encode.js';
import { ErrorNo, IdRole, IdType, KeyDataType, KvType, MacAlg as MacAlgCode, PayloadType, THDR_PAYLOAD, TicketType } from '../../wire/registry.js';
import { ticketLayout } from '../../wire/payloads.js';
import type { KeyDataPayload, Payload, Span, TicketPayload, TPayload, VPayload } from '../../wire/types.js';
import { openKemac, sealKemac } from '../kit/kemac.js';
import { encrAlgOf, macAlgCode, macAlgOf, prfFuncOf } from '../kit/common.js';
import { deriveMpks, tpkKeys } from './labels.js';
import { completeFlags, checkFlags, tpDataPayloads, type TicketPolicy } from './policy.js';

/** App. A.1: "If CSB ID is needed in the IV creation it SHALL be set to 0xFFFFFFFF". */
export const TICKET_CSB_ID = 0xffffffff;

/** Where the fields of a TICKET payload lie in message coordinates: the codec's sizes, no length field re-read. */
export { ticketLayout, type TicketLayout } from '../../wire/payloads.js';

/** What a ticket encodes for the party that resolves it. */
export interface TicketKeys {
  /** The MPK (App. A.1), and MPKi/MPKr derived from it (App. A.2.2). */
  mpk: Uint8Array;
  mpki: Uint8Array;
  mpkr: Uint8Array;
  /** The session keys: TEK, TGK, GTGK sub-payloads (copied). */
  keys: KeyDataPayload[];
}

export interface BaseTicketInput {
  /** The granted policy (flags as granted; K set by the KMS when it changed the request). */
  policy: TicketPolicy;
  tpk: Uint8Array;
  /** Identifier of the TPK, sent in IDRpsk as a byte string (App. A.1). */
  tpkId?: Uint8Array;
  /** THDR Data: implementation specific (App. A.3); here a ticket serial. */
  thdr: Uint8Array;
  /** The time of issue (App. A.1 T). */
  t: TPayload;
  /** RAND: at least as long as the longest of TPK and MPK (§12.1). */
  rand: Uint8Array;
  mpk: Uint8Array;
  keys: readonly KeyDataPayload[];
  encrAlg?: KemacEncrAlg;
  macAlg?: MacAlg;
}

/**
 * Build a TICKET payload holding a MIKEY base ticket: the KEMAC is encrypted under keys from
 * the TPK (IV with CSB ID 0xFFFFFFFF and the ticket's T), and V is filled over the payload as
 * encoded on its own (its Next Payload byte and Initiator Data are outside the MAC, so they may
 * change when the ticket travels).
 */
export function buildBaseTicket(i: BaseTicketInput): TicketPayload {
  const prf = i.policy.prf ?? 'MIKEY-1';
  const encrAlg = i.encrAlg ?? (prf === 'PRF-HMAC-SHA-256' ? 'AES-CM-256' : 'AES-CM-128');
  const macAlg = i.macAlg ?? (prf === 'PRF-HMAC-SHA-256' ? 'HMAC-SHA-256-256' : 'HMAC-SHA-1-160');
  if (i.rand.length < Math.max(i.tpk.length, i.mpk.length)) throw new RangeError('App. A / §12.1: the ticket RAND must be at least as long as the TPK and the MPK');
  const flags = completeFlags(i.policy.flags);
  checkFlags(flags, i.keys.some((k) => k.keyType === KeyDataType.Tgk || k.keyType === KeyDataType.TgkSalt));
  const mk = tpkKeys(prf, i.tpk, i.rand, { encrAlg, macAlg });
  const mpkPayload: KeyDataPayload = { type: PayloadType.KeyData, keyType: KeyDataType.Mpk, keyData: i.mpk, validity: { kv: KvType.Null } };
  const macLen = MAC_PARAMS[macAlg].tagLen;
  const base: Payload[] = [
    { type: THDR_PAYLOAD, data: i.thdr },
    i.t,
    { type: PayloadType.Rand, rand: i.rand },
    sealKemac(encrAlg, 'NULL', mk, [mpkPayload, ...i.keys], TICKET_CSB_ID, i.t),
  ];
  if (i.tpkId) base.push({ type: PayloadType.Idr, role: IdRole.IDRpsk, idType: IdType.ByteString, data: i.tpkId });
  const v: VPayload = { type: PayloadType.V, authAlg: macAlgCode(macAlg), mac: new Uint8Array(macLen) };
  base.push(v);
  const ticketData = encodePayloads(base);
  const ticket: TicketPayload = {
    type: PayloadType.Ticket, ticketType: i.policy.ticketType ?? TicketType.MikeyBaseTicket, subtype: i.policy.subtype ?? 1, version: i.policy.version ?? 1,
    prfFunc: prfFuncOf(prf), flags, reserved: 0, tpData: { payloads: tpDataPayloads(i.policy, true) },
    ticketData, baseTicket: base, initiatorData: { payloads: [] },
  };
  // App. A.1: the MAC covers the TICKET payload from Ticket Type up to the MAC field
  const alone = encodePayloads([ticket]);
  const macStart = ticketLayout(ticket, { start: 0, end: alone.length }).tdEnd - macLen;
  v.mac = macCompute(macAlg, mk.authKey, alone.subarray(1, macStart));
  ticketData.set(v.mac, ticketData.length - macLen);
  return ticket;
}

/** A ticket as issued, the TICKET from Ticket Type to the end of Ticket Data (Initiator Data changes per transfer), hashed (SHA-256, hex). */
export function ticketDigest(bytes: Uint8Array, ticket: TicketPayload, span: Span): string {
  const lay = ticketLayout(ticket, span);
  return createHash('sha256').update(bytes.subarray(lay.start + 1, lay.tdEnd)).digest('hex');
}

/** Is this the MIKEY base ticket of App. A (Type 1, Subtype 1, Version 1)? */
export function isBaseTicket(t: { ticketType: number; subtype: number; version: number }): boolean {
  return t.ticketType === TicketType.MikeyBaseTicket && t.subtype === 1 && t.version === 1;
}

/** The IDRpsk of a base ticket: which TPK protects it. */
export function baseTicketTpkId(t: TicketPayload): Uint8Array | undefined {
  const p = t.baseTicket?.find((q) => q.type === PayloadType.Idr && q.role === IdRole.IDRpsk);
  return p && p.type === PayloadType.Idr ? p.data : undefined;
}

/** The THDR Data of a base ticket. */
export function baseTicketHeader(t: TicketPayload): Uint8Array | undefined {
  const p = t.baseTicket?.[0];
  return p && p.type === THDR_PAYLOAD ? p.data : undefined;
}

const badTicket = (reason: string): never => {
  throw new MikeyProtocolError(ErrorNo.InvalidTicket, reason);
};

/**
 * Open a base ticket carried in `bytes` (a decoded message or a TICKET payload encoded alone):
 * check V over the exact bytes received, then decrypt the KEMAC. Anything wrong with the ticket
 * itself, a MAC that does not verify included, is Invalid TICKET (14): the message carrying it
 * may be perfectly authentic.
 */
export function openBaseTicket(ticket: TicketPayload, bytes: Uint8Array, tpk: Uint8Array, prf: MikeyPrf): TicketKeys {
  const base = ticket.baseTicket;
  if (!base || !isBaseTicket(ticket)) return badTicket('not a MIKEY base ticket');
  const types = base.map((p) => p.type);
  // App. A: THDR, T, RAND, KEMAC, [IDRpsk], V (unexpected payloads before V are ignored)
  if (types[0] !== THDR_PAYLOAD || types.at(-1) !== PayloadType.V) return badTicket('base ticket data must start with THDR and end with V');
  const t = base.find((p): p is TPayload => p.type === PayloadType.T);
  const rand = base.find((p) => p.type === PayloadType.Rand);
  const kemac = base.find((p) => p.type === PayloadType.Kemac);
  if (!t || !rand || rand.type !== PayloadType.Rand || !kemac || kemac.type !== PayloadType.Kemac) return badTicket('base ticket without T, RAND or KEMAC');
  const v = base.at(-1) as Extract<Payload, { type: typeof PayloadType.V }>;
  let encrAlg: KemacEncrAlg;
  let macAlg: MacAlg;
  try {
    encrAlg = encrAlgOf(kemac.encrAlg);
    macAlg = macAlgOf(v.authAlg);
  } catch (e) {
    return badTicket(`base ticket algorithms: ${(e as Error).message}`);
  }
  if (kemac.macAlg !== MacAlgCode.Null) badTicket('the base ticket KEMAC must use the NULL MAC (App. A.1)');
  if (macAlg === 'NULL') badTicket('a base ticket with the NULL MAC');
  const mk = tpkKeys(prf, tpk, rand.rand, { encrAlg, macAlg });
  const lay = ticketLayout(ticket, ticket.span!);
  const covered = bytes.subarray(lay.start + 1, lay.tdEnd - v.mac.length);
  if (v.span!.end !== lay.tdEnd) badTicket('V must be the last payload of the ticket data');
  if (!macVerify(macAlg, mk.authKey, covered, v.mac)) badTicket('the ticket MAC does not verify');
  let subs: Payload[];
  try {
    subs = openKemac(kemac, encrAlg, mk, TICKET_CSB_ID, t);
  } catch {
    // the KMS's own token: what does not open is an Invalid TICKET (RFC 6043 §6.10), not an Auth failure
    return badTicket('the ticket KEMAC does not decrypt');
  }
  const keyData = subs.filter((p): p is KeyDataPayload => p.type === PayloadType.KeyData).map(copyKeyData);
  const mpk = keyData[0];
  if (!mpk || mpk.keyType !== KeyDataType.Mpk) return badTicket('the ticket KEMAC does not start with the MPK');
  const { mpki, mpkr } = deriveMpks(prf, mpk.keyData, rand.rand);
  return { mpk: mpk.keyData, mpki, mpkr, keys: keyData.slice(1) };
}

/** A key data sub-payload detached from the buffer it was decoded from. */
export function copyKeyData(k: KeyDataPayload): KeyDataPayload {
  const v = k.validity;
  return {
    type: PayloadType.KeyData, keyType: k.keyType, keyData: Uint8Array.from(k.keyData), salt: k.salt ? Uint8Array.from(k.salt) : undefined,
    validity: v.kv === KvType.Spi ? { kv: KvType.Spi, spi: Uint8Array.from(v.spi) }
      : v.kv === KvType.Interval ? { kv: KvType.Interval, validFrom: Uint8Array.from(v.validFrom), validTo: Uint8Array.from(v.validTo) } : { kv: KvType.Null },
  };
}
