// What the MIKEY-TICKET exchanges share: fresh timestamps (§4.2.1.5), IDR/RANDR lookup, the
// MAC/signature coverage of Table 5.2 (§5.5), KEMACs with the NULL MAC, signatures that cover
// identities, and Error messages (§5.4).
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { KemacEncrAlg, MacAlg } from '../../crypto/kemac.js';
import type { MessageKeys } from '../../crypto/prf.js';
import type { RsaHash } from '../../crypto/rsa.js';
import { MikeyProtocolError } from '../../session/errors.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { ErrorNo, PayloadType, TsType } from '../../wire/registry.js';
import type { CommonHeader, IdrPayload, KemacPayload, KeyDataPayload, Message, RandrPayload, SpPayload, TPayload } from '../../wire/types.js';
import { buildErrorMessage, type ErrorAuth } from '../kit/error-message.js';
import { keyDataOf, openKemac, sealKemac } from '../kit/kemac.js';
import { encrAlgOf, macAlgCode, newTimestamp, type ResolvedEndpoint } from '../kit/common.js';
import { type Identity } from '../../session/identity.js';
import { copyKeyData, type TicketLayout } from './base-ticket.js';

const EMPTY = new Uint8Array(0);

export function idrPayload(role: number, id: Identity): IdrPayload {
  return { type: PayloadType.Idr, role, idType: id.idType, data: id.data };
}
export function findIdr(msg: Message, role: number): IdrPayload | undefined {
  return msg.payloads.find((p): p is IdrPayload => p.type === PayloadType.Idr && p.role === role);
}
export function findRandr(msg: Message, role: number): RandrPayload | undefined {
  return msg.payloads.find((p): p is RandrPayload => p.type === PayloadType.Randr && p.role === role);
}

/**
 * The timestamp of a response or Error message: fresh for the NTP types (RFC 6043 §4.2.1.5,
 * §4.2.2.3, §4.2.3.5, §5.4, unlike RFC 3830), the request's own value for COUNTER.
 */
export function responseTimestamp(ep: ResolvedEndpoint, request: TPayload | undefined): TPayload {
  if (request?.tsType === TsType.Counter) return request;
  const kind = request?.tsType === TsType.NtpUtc32 ? 'NTP-UTC-32' : request?.tsType === TsType.Ntp ? 'NTP' : 'NTP-UTC';
  return newTimestamp({ ...ep, timestamp: kind });
}

/** Algorithms pair up by strength (RFC 6043 §12.1: the 256-bit algorithms go together). */
export function encrAlgFor(macAlg: MacAlg): KemacEncrAlg {
  return macAlg === 'HMAC-SHA-256-256' ? 'AES-CM-256' : 'AES-CM-128';
}

// ---- coverage (RFC 6043 §5.5, Table 5.2) -------------------------------------------------

/** Initial messages: the message up to the MAC/signature, then the identities' data. */
export function initialCoverage(covered: Uint8Array, a: Identity | undefined, b: Identity | undefined): Uint8Array[] {
  return [covered, a?.data ?? EMPTY, b?.data ?? EMPTY];
}

/** Response messages: the message up to its MAC, then the whole initial message. */
export function responseCoverage(covered: Uint8Array, initial: Uint8Array): Uint8Array[] {
  return [covered, initial];
}

/**
 * TRANSFER_INIT: the MAC does not cover the Initiator Data length and Initiator Data of the
 * TICKET payload (§5.5), so the message is taken in two parts around them; then the identities.
 */
export function transferInitCoverage(bytes: Uint8Array, ticket: TicketLayout, macStart: number, idi: Identity | undefined, idr: Identity | undefined): Uint8Array[] {
  return [bytes.subarray(0, ticket.idLenAt), ...initialCoverage(bytes.subarray(ticket.end, macStart), idi, idr)];
}

/** Where the MAC of the last (V) payload starts. */
export function vMacStart(msg: DecodedMessage): number {
  const v = msg.payloads.at(-1);
  if (!v || v.type !== PayloadType.V) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'the last payload must be V');
  return v.span!.end - v.mac.length;
}

// ---- KEMAC with the NULL MAC (§4.2.1.5, §4.2.3.5, §5.2) ------------------------------------

export function encryptedKemac(encrAlg: KemacEncrAlg, mk: MessageKeys, keys: readonly KeyDataPayload[], csbId: number, t: TPayload): KemacPayload {
  return sealKemac(encrAlg, 'NULL', mk, keys, csbId, t);
}

/** Decrypt a KEMAC whose integrity the V payload already vouched for. Key data only, copied. */
export function decryptKemac(kemac: KemacPayload, mk: MessageKeys, csbId: number, t: TPayload, what: string): KeyDataPayload[] {
  if (kemac.macAlg !== macAlgCode('NULL')) throw new MikeyProtocolError(ErrorNo.InvalidMac, `${what}: the KEMAC uses a MAC; the V payload carries it (NULL expected)`);
  return keyDataOf(openKemac(kemac, encrAlgOf(kemac.encrAlg), mk, csbId, t, PayloadType.KeyData, `${what}: KEMAC`)).map(copyKeyData);
}

/** The KEMAC encryption algorithm a message used, or the one that goes with the MAC. */
export function kemacEncrAlg(kemac: KemacPayload | undefined, macAlg: MacAlg): KemacEncrAlg {
  return kemac ? encrAlgOf(kemac.encrAlg) : encrAlgFor(macAlg);
}

// ---- signatures covering identities (§5.5) ---------------------------------------------

export interface TicketSigner {
  privateKey: KeyObject | string;
  /** Our certificate and chain, sent as CERT payloads. */
  certificate?: X509Certificate | string;
  chain?: ReadonlyArray<X509Certificate | string>;
  scheme?: 'pkcs1-v1_5' | 'pss';
  hash?: RsaHash;
}

// ---- Error messages (§5.4) --------------------------------------------------------------

export interface TicketErrorAuth {
  macAlg?: MacAlg;
  authKey?: Uint8Array;
  signer?: TicketSigner;
}

/**
 * The Error message of a TICKET exchange (§5.4): the common one with a fresh timestamp (the
 * request's for COUNTER), authenticated with the auth_key of the failed message or signed.
 */
export function ticketErrorMessage(req: CommonHeader | undefined, reqT: TPayload | undefined, errorNos: readonly number[], ep: ResolvedEndpoint, auth: TicketErrorAuth = {}, sps: readonly SpPayload[] = []): Uint8Array {
  const a: ErrorAuth | undefined = auth.authKey && auth.macAlg && auth.macAlg !== 'NULL' ? { macAlg: auth.macAlg, authKey: auth.authKey } : auth.signer ? { signer: auth.signer } : undefined;
  return buildErrorMessage(req, responseTimestamp(ep, reqT), errorNos, ep.clock, { sps, auth: a });
}
