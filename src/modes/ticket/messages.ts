// What the MIKEY-TICKET exchanges share: fresh timestamps (§4.2.1.5), IDR/RANDR lookup, the
// MAC/signature coverage of Table 5.2 (§5.5), KEMACs with the NULL MAC, signatures that cover
// identities, and Error messages (§5.4).
import { X509Certificate, type KeyObject } from 'node:crypto';
import { kemacDecrypt, kemacEncrypt, macCompute, macVerify, MAC_PARAMS, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import type { MessageKeys, MikeyPrf } from '../../crypto/prf.js';
import { rsaModulusBytes, rsaSign, rsaVerify, type RsaHash } from '../../crypto/rsa.js';
import { MikeyErrorMessage, MikeyProtocolError } from '../../session/errors.js';
import { decodeKeyDataChain, type DecodedMessage } from '../../wire/decode.js';
import { MikeyDecodeError } from '../../wire/errors.js';
import { encodeMessage, encodePayloads } from '../../wire/encode.js';
import { DataType, ErrorNo, PayloadType, SignType, TsType } from '../../wire/registry.js';
import type {
  CommonHeader, IdrPayload, KemacPayload, KeyDataPayload, Message, Payload, RandrPayload, SignPayload, SpPayload, TPayload,
} from '../../wire/types.js';
import { encrAlgCode, encrAlgOf, macAlgCode, macAlgOf, newTimestamp, payloadOf, t64, type ResolvedEndpoint } from '../kit/common.js';
import { type Identity } from '../../session/identity.js';
import { copyKeyData, ticketLayout } from './base-ticket.js';

const EMPTY = new Uint8Array(0);

export function idrPayload(role: number, id: Identity): IdrPayload {
  return { type: 14, role, idType: id.idType, data: id.data };
}
export function findIdr(msg: Message, role: number): IdrPayload | undefined {
  return msg.payloads.find((p): p is IdrPayload => p.type === PayloadType.Idr && p.role === role);
}
export function findRandr(msg: Message, role: number): RandrPayload | undefined {
  return msg.payloads.find((p): p is RandrPayload => p.type === PayloadType.Randr && p.role === role);
}
export function idOf(p: IdrPayload | undefined): Identity | undefined {
  return p ? { idType: p.idType, data: Uint8Array.from(p.data) } : undefined;
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
 * TICKET payload (§5.5), so the message is taken in two parts around them.
 */
export function transferInitParts(msg: DecodedMessage, macStart: number): Uint8Array[] {
  const ticket = payloadOf(msg, 17);
  if (!ticket) return [msg.bytes.subarray(0, macStart)];
  const lay = ticketLayout(msg.bytes, ticket.span!);
  return [msg.bytes.subarray(0, lay.idLenAt), msg.bytes.subarray(lay.end, macStart)];
}

/** Where the MAC of the last (V) payload starts. */
export function vMacStart(msg: DecodedMessage): number {
  const v = msg.payloads.at(-1);
  if (!v || v.type !== PayloadType.V) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'the last payload must be V');
  return v.span!.end - v.mac.length;
}

// ---- KEMAC with the NULL MAC (§4.2.1.5, §4.2.3.5, §5.2) ------------------------------------

export function encryptedKemac(encrAlg: KemacEncrAlg, mk: MessageKeys, keys: readonly KeyDataPayload[], csbId: number, t: TPayload): KemacPayload {
  const plain = encodePayloads(keys);
  return { type: 1, encrAlg: encrAlgCode(encrAlg), encrData: kemacEncrypt(encrAlg, mk, plain, { csbId, t: t64(t) }), macAlg: macAlgCode('NULL'), mac: EMPTY };
}

/** Decrypt a KEMAC whose integrity the V payload already vouched for. Key data only, copied. */
export function decryptKemac(kemac: KemacPayload, mk: MessageKeys, csbId: number, t: TPayload, what: string): KeyDataPayload[] {
  if (kemac.macAlg !== macAlgCode('NULL')) throw new MikeyProtocolError(ErrorNo.InvalidMac, `${what}: the KEMAC uses a MAC; the V payload carries it (NULL expected)`);
  let plain: Uint8Array;
  try {
    plain = kemacDecrypt(encrAlgOf(kemac.encrAlg), mk, kemac.encrData, { csbId, t: t64(t) });
  } catch (e) {
    if (e instanceof MikeyProtocolError) throw e;
    throw new MikeyProtocolError(ErrorNo.AuthFailure, `${what}: the KEMAC does not decrypt`, { cause: e });
  }
  try {
    return decodeKeyDataChain(plain).filter((p): p is KeyDataPayload => p.type === 20).map(copyKeyData);
  } catch (e) {
    if (e instanceof MikeyDecodeError) throw new MikeyProtocolError(ErrorNo.AuthFailure, `${what}: KEMAC data: ${e.reason}`, { cause: e });
    throw e;
  }
}

/** The KEMAC encryption algorithm a message used, or the one that goes with the MAC. */
export function kemacEncrAlg(kemac: KemacPayload | undefined, macAlg: MacAlg): KemacEncrAlg {
  return kemac ? encrAlgOf(kemac.encrAlg) : encrAlgFor(macAlg);
}

// ---- building messages with a trailing V -----------------------------------------------

/**
 * Encode a message whose last payload is V (placeholder MAC), then fill the MAC over `parts`
 * of the encoded bytes (a function of them, as the coverage differs per message).
 */
export function encodeWithV(hdr: CommonHeader, payloads: Payload[], macAlg: MacAlg, authKey: Uint8Array, parts: (bytes: Uint8Array, macStart: number) => Uint8Array[]): Uint8Array {
  const len = MAC_PARAMS[macAlg].tagLen;
  payloads.push({ type: 9, authAlg: macAlgCode(macAlg), mac: new Uint8Array(len) });
  const bytes = encodeMessage({ header: hdr, payloads });
  const macStart = bytes.length - len;
  bytes.set(macCompute(macAlg, authKey, parts(bytes, macStart)), macStart);
  return bytes;
}

/** Check the trailing V against `parts`; its algorithm must be `macAlg` when given. Auth failure otherwise. */
export function checkV(msg: DecodedMessage, authKey: Uint8Array, parts: Uint8Array[], what: string, macAlg?: MacAlg): MacAlg {
  const v = msg.payloads.at(-1);
  if (!v || v.type !== PayloadType.V) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `${what}: the last payload must be V`);
  const alg = macAlgOf(v.authAlg);
  if (alg === 'NULL') throw new MikeyProtocolError(ErrorNo.InvalidMac, `${what}: the NULL MAC in V`);
  if (macAlg && alg !== macAlg) throw new MikeyProtocolError(ErrorNo.InvalidMac, `${what}: V uses ${alg}, ${macAlg} expected`);
  if (!macVerify(alg, authKey, parts, v.mac)) throw new MikeyProtocolError(ErrorNo.AuthFailure, `${what}: the MAC does not verify`);
  return alg;
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

/** Encode a message ending in SIGN and sign it over message || identities (Table 5.2). */
export function encodeSignedWithIds(hdr: CommonHeader, payloads: Payload[], signer: TicketSigner, ids: Uint8Array[]): Uint8Array {
  const len = rsaModulusBytes(signer.privateKey);
  const sign: SignPayload = { type: 4, sType: signer.scheme === 'pss' ? SignType.RsaPss : SignType.RsaPkcs1, signature: new Uint8Array(len) };
  const bytes = encodeMessage({ header: hdr, payloads: [...payloads, sign] });
  const sigStart = bytes.length - len;
  const sig = rsaSign(signer.privateKey, [bytes.subarray(0, sigStart), ...ids], { scheme: signer.scheme ?? 'pkcs1-v1_5', hash: signer.hash ?? 'sha256' });
  bytes.set(sig, sigStart);
  return bytes;
}

/** Verify the trailing SIGN over message || identities. Auth failure otherwise. */
export function verifySignedWithIds(msg: DecodedMessage, key: KeyObject, ids: Uint8Array[], hashes: readonly RsaHash[] = ['sha256']): void {
  const sign = msg.payloads.at(-1);
  if (!sign || sign.type !== PayloadType.Sign) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'no SIGN payload');
  if (sign.sType !== SignType.RsaPkcs1 && sign.sType !== SignType.RsaPss) throw new MikeyProtocolError(ErrorNo.AuthFailure, `signature type ${sign.sType} is not RSA`);
  const covered = [msg.bytes.subarray(0, sign.span!.end - sign.signature.length), ...ids];
  const scheme = sign.sType === SignType.RsaPss ? 'pss' : 'pkcs1-v1_5';
  if (!hashes.some((hash) => rsaVerify(key, covered, sign.signature, { scheme, hash }))) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'the signature does not verify');
}

// ---- Error messages (§5.4) --------------------------------------------------------------

export interface TicketErrorAuth {
  macAlg?: MacAlg;
  authKey?: Uint8Array;
  signer?: TicketSigner;
}

/**
 * HDR, T, (ERR), {SP}, [V|SIGN]: version, PRF func and CSB ID as in the failed message, V flag
 * 0, a fresh timestamp (the request's for COUNTER); the MAC or signature covers the Error
 * message itself with the auth_key of the failed message (§5.4). Unauthenticated without one.
 */
export function ticketErrorMessage(req: CommonHeader | undefined, reqT: TPayload | undefined, errorNos: readonly number[], ep: ResolvedEndpoint, auth: TicketErrorAuth = {}, sps: readonly SpPayload[] = []): Uint8Array {
  const hdr: CommonHeader = req
    ? { ...req, dataType: DataType.Error, v: false }
    : { version: 1, dataType: DataType.Error, v: false, prfFunc: 0, csbId: 0, csIdMap: { type: 1, csCount: 0 } };
  const payloads: Payload[] = [responseTimestamp(ep, reqT), ...errorNos.map((e): Payload => ({ type: 12, errorNo: e, reserved: 0 }))];
  if (hdr.csIdMap.type !== 1) payloads.push(...sps);
  if (auth.authKey && auth.macAlg && auth.macAlg !== 'NULL') {
    return encodeWithV(hdr, payloads, auth.macAlg, auth.authKey, (b, m) => [b.subarray(0, m)]);
  }
  if (auth.signer) return encodeSignedWithIds(hdr, payloads, auth.signer, []);
  return encodeMessage({ header: hdr, payloads });
}

/** A received Error message: throws MikeyErrorMessage, authenticated when its V or SIGN verifies. */
export function rejectTicketError(msg: DecodedMessage, auth: { macAlg?: MacAlg; authKey?: Uint8Array; peerKey?: KeyObject } = {}): never {
  const errs = msg.payloads.filter((p) => p.type === PayloadType.Err).map((e) => (e as { errorNo: number }).errorNo);
  const last = msg.payloads.at(-1);
  let ok = false;
  if (last?.type === PayloadType.V && auth.authKey && auth.macAlg && auth.macAlg !== 'NULL' && last.authAlg === macAlgCode(auth.macAlg)) {
    ok = macVerify(auth.macAlg, auth.authKey, msg.bytes.subarray(0, last.span!.end - last.mac.length), last.mac);
  } else if (last?.type === PayloadType.Sign && auth.peerKey) {
    try {
      verifySignedWithIds(msg, auth.peerKey, []);
      ok = true;
    } catch { ok = false; }
  }
  throw new MikeyErrorMessage(errs, ok);
}

export type { MikeyPrf };
