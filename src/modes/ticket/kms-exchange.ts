// What the Initiator and the Responder of MIKEY-TICKET share as clients of the KMS (RFC 6043
// §4.2.1 Ticket Request, §4.2.3 Ticket Resolve): credentials, the request, reading the response.
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { MAC_PARAMS, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import type { MikeyPrf } from '../../crypto/prf.js';
import { rsaEnvelopeEncrypt } from '../../crypto/rsa.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { sameIdentity, type Identity } from '../../session/identity.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { CsIdMapType, DataType, ErrorNo, HashFunc, IdRole, IdType, KeyDataType, PayloadType, RandRole } from '../../wire/registry.js';
import type { KeyDataPayload, Payload } from '../../wire/types.js';
import { checkFresh, decodeOrReject, header, newTimestamp, payloadOf, type Endpoint, type ResolvedEndpoint } from '../kit/common.js';
import { rejectErrorMessage } from '../kit/error-message.js';
import { certPayloads, chashOf, encodeSigned, signPlaceholder, toCert } from '../kit/signature.js';
import { checkV, encodeWithV } from '../kit/verification.js';
import { LabelForm, ticketMessageKeys } from './labels.js';
import { decryptKemac, findIdr, idrPayload, initialCoverage, kemacEncrAlg, responseCoverage, vMacStart, type TicketSigner } from './messages.js';

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

const asKey = (k: KeyObject | string | X509Certificate): KeyObject =>
  k instanceof X509Certificate ? k.publicKey : typeof k === 'string' ? (k.includes('CERTIFICATE') ? new X509Certificate(k).publicKey : createPublicKey(k)) : k;

/** The RAND length for keys of these lengths (§12.1: RANDs at least as long as the longest key). */
export function randLength(...keyLens: number[]): number {
  return Math.min(255, Math.max(16, ...keyLens));
}

/** REQUEST_INIT or RESOLVE_INIT: HDR, T, RANDR, [IDR], {CERT}, [IDRkms], TP|TICKET, [IDRpsk], V | [CHASH], PKE, SIGN. */
export function buildTicketKmsRequest(o: TicketPartyOptions, ep: ResolvedEndpoint, kind: 'request' | 'resolve', body: Payload, csbId: number): TicketKmsRequest {
  const prf = o.prf ?? 'MIKEY-1';
  const psk = !!o.psk;
  if (!psk && (!o.signer || !o.kmsKey)) throw new TypeError('KMS credentials: give psk, or signer and kmsKey');
  const dataType = kind === 'request' ? (psk ? DataType.RequestInitPsk : DataType.RequestInitPk) : (psk ? DataType.ResolveInitPsk : DataType.ResolveInitPk);
  // §4.2.1.1 / §4.2.3.1: V flag 1, #CS 0, Empty map
  const hdr = header(dataType, csbId, prf, { type: CsIdMapType.Empty, csCount: 0 }, true);
  const t = newTimestamp(ep);
  const macAlg = o.macAlg ?? (prf === 'PRF-HMAC-SHA-256' ? 'HMAC-SHA-256-256' : 'HMAC-SHA-1-160');
  const rand = ep.random(randLength(psk ? o.psk!.length : 16, MAC_PARAMS[macAlg].keyLen));
  const selfRole = kind === 'request' ? IdRole.IDRi : IdRole.IDRr;
  const payloads: Payload[] = [t, { type: PayloadType.Randr, role: kind === 'request' ? RandRole.RANDRi : RandRole.RANDRr, rand }, idrPayload(selfRole, o.identity)];
  const kmsIdData = o.kms?.data ?? new Uint8Array(0);
  if (psk) {
    if (o.kms) payloads.push(idrPayload(IdRole.IDRkms, o.kms));
    payloads.push(body);
    if (o.pskId) payloads.push({ type: PayloadType.Idr, role: IdRole.IDRpsk, idType: IdType.ByteString, data: o.pskId });
    const rands = kind === 'request' ? { randRi: rand } : { randRr: rand };
    const mk = ticketMessageKeys(prf, o.psk!, csbId, LabelForm.Initial, rands, { encrAlg: 'NULL', macAlg });
    const bytes = encodeWithV(hdr, payloads, macAlg, mk.authKey, (b, m) => initialCoverage(b.subarray(0, m), o.identity, o.kms));
    return { kind, csbId, bytes, rand, inkey: o.psk!, macAlg, prf };
  }
  const signer = o.signer!;
  payloads.push(...certPayloads(signer));
  if (o.kms) payloads.push(idrPayload(IdRole.IDRkms, o.kms));
  payloads.push(body);
  if (o.chash && o.kmsKey instanceof X509Certificate) payloads.push(chashOf(o.kmsKey, HashFunc.Sha256));
  else if (o.chash && typeof o.kmsKey === 'string' && o.kmsKey.includes('CERTIFICATE')) payloads.push(chashOf(toCert(o.kmsKey), HashFunc.Sha256));
  const env = ep.random(prf === 'PRF-HMAC-SHA-256' ? 32 : 16);
  payloads.push({ type: PayloadType.Pke, c: 0, data: rsaEnvelopeEncrypt(asKey(o.kmsKey!), env) });
  const bytes = encodeSigned({ header: hdr, payloads: [...payloads, signPlaceholder()] }, signer, undefined, [o.identity.data, kmsIdData]);
  return { kind, csbId, bytes, rand, inkey: env, macAlg: prf === 'PRF-HMAC-SHA-256' ? 'HMAC-SHA-256-256' : 'HMAC-SHA-1-160', prf };
}

/** Check a REQUEST_RESP / RESOLVE_RESP to `request` and open its KEMAC (§4.2.1.6, §4.2.3.6). */
export function readTicketKmsResponse(bytes: Uint8Array, c: { request: TicketKmsRequest; party: TicketPartyOptions; ep: ResolvedEndpoint }): { msg: DecodedMessage; keys: KeyDataPayload[] } {
  const { csbId, inkey, prf, macAlg } = c.request;
  const o = c.party;
  const ep = c.ep;
  const request = c.request.bytes;
  const expect = c.request.kind === 'request' ? DataType.RequestResp : DataType.ResolveResp;
  const rands = c.request.kind === 'request' ? { randRi: c.request.rand } : { randRr: c.request.rand };
  const msg = decodeOrReject(Uint8Array.from(bytes));
  const authKeyOf = (form: typeof LabelForm.Initial | typeof LabelForm.Response) => ticketMessageKeys(prf, inkey, csbId, form, rands, { encrAlg: 'NULL', macAlg }).authKey;
  if (msg.header.dataType === DataType.Error) {
    // §5.4: the Error message's V uses the auth_key of the message where the error occurred
    rejectErrorMessage(msg, { macAlg, authKey: authKeyOf(LabelForm.Initial) });
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
  if (kms && o.kms && !sameIdentity(kms, o.kms)) {
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

/** A request sent to the KMS, with what reading its answer needs. */
export interface TicketKmsRequest {
  kind: 'request' | 'resolve';
  csbId: number;
  bytes: Uint8Array;
  /** RANDRi (request) or RANDRr (resolve). */
  rand: Uint8Array;
  /** The key the message keys come from: the pre-shared key, or the envelope key. */
  inkey: Uint8Array;
  macAlg: MacAlg;
  prf: MikeyPrf;
}
