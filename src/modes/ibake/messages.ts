// MIKEY-IBAKE I_MESSAGE/R_MESSAGE exchange (RFC 6267 §4.2.2, §5), our profile (profile.ts):
//   I_MESSAGE_1 = HDR, T, RAND, IDRi, IDRr, {SP}, IBAKE, [ESK]   IBAKE = E(K_PUBr, IDRi || ECCPTi || IDRr)
//   R_MESSAGE_1 = HDR, T, IDRi, IDRr, IBAKE                      IBAKE = E(K_PUBi, IDRi || {ECCPTi} || IDRr || ECCPTr)
//   I_MESSAGE_2 = HDR, T, RAND, IDRi, IDRr, IBAKE, [ESK]         IBAKE = E(K_PUBr, IDRi || {ECCPTi} || IDRr || ECCPTr)
//   R_MESSAGE_2 = HDR, T, [IDRi], [IDRr], {SP}, [IBAKE], V       IBAKE = E(K_PUBi, IDRi || ECCPTi)
// Each side proves it could decrypt by returning the other's EC-DH value; K_SESSION = [x][y]P
// gives MPK (keys of V) and TGK (TEKs, RFC 3830 §4.1.3), unknown to the KMS.
import type { MacAlg } from '../../crypto/kemac.js';
import { deriveMessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import { tryDecodeIbakeData, type DecodedMessage } from '../../wire/decode.js';
import { MikeyDecodeError } from '../../wire/errors.js';
import { encodePayloads } from '../../wire/encode.js';
import { ErrorNo, PayloadType } from '../../wire/registry.js';
import type { EccptPayload, IdrPayload, Payload, TPayload } from '../../wire/types.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { payloadsOf, type Endpoint, type ResolvedEndpoint } from '../kit/common.js';
import { sameIdentity, type Identity } from '../../session/identity.js';
import { IbakeKeyRing } from './keyring.js';
import { domainParams, ibeEncrypt, ibeIdentity, identityOf, periodOfTimestamp, ROLE_I, ROLE_R, type IbeDomain } from './profile.js';

/** Where the other side's KMS is: its domain by identity (default: the same KMS as ours). */
export type PeerDomain = (id: Identity) => IbeDomain | undefined;

export interface Common extends Endpoint {
  /** Our K_PR keys (and through them our KMS). */
  keys: IbakeKeyRing;
  peerDomain?: PeerDomain;
  /** MAC of the V payload (default HMAC-SHA-256-256). */
  macAlg?: MacAlg;
}

/** Header bytes that must match between the messages of one exchange: all but data type, next payload and V. */
export function headerKey(bytes: Uint8Array, span: { start: number; end: number }): Uint8Array {
  const h = Uint8Array.from(bytes.subarray(span.start, span.end));
  h[1] = 0;
  h[2] = 0;
  h[3]! &= 0x7f;
  return h;
}

function idrs(msg: DecodedMessage): IdrPayload[] {
  return payloadsOf(msg, PayloadType.Idr);
}

/** The clear IDRi and IDRr of a message: exactly one of each role, in that order. */
export function clearIds(msg: DecodedMessage, optional = false): { idi?: Identity; idr?: Identity } {
  const ids = idrs(msg);
  if (optional && ids.length === 0) return {};
  if (ids.length !== 2 || ids[0]!.role !== ROLE_I || ids[1]!.role !== ROLE_R) {
    if (optional && ids.length === 1) {
      const r = ids[0]!.role;
      if (r === ROLE_I) return { idi: identityOf(ids[0]!) };
      if (r === ROLE_R) return { idr: identityOf(ids[0]!) };
    }
    throw new MikeyProtocolError(ErrorNo.InvalidId, 'IDRi and IDRr payloads expected (ID roles 1 and 2)');
  }
  return { idi: identityOf(ids[0]!), idr: identityOf(ids[1]!) };
}

/** Decrypted IBAKE data as [IDRi, {ECCPT}, IDRr, {ECCPT}], checked against the expected identities. */
export function openIbake(plain: Uint8Array, idi: Identity, idr: Identity | undefined): { eccptI?: EccptPayload; eccptR?: EccptPayload } {
  const subs = tryDecodeIbakeData(plain);
  // the plaintext passed the IBE integrity check: whoever encrypted it wrote a broken chain
  if (subs instanceof MikeyDecodeError) throw new MikeyProtocolError(subs.errorNo, `IBAKE data: ${subs.reason}`, { cause: subs });
  const [a, ...rest] = subs;
  if (!a || a.type !== PayloadType.Idr || a.role !== ROLE_I || !sameIdentity(a, idi)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'IBAKE data does not start with the IDRi of the message');
  let eccptI: EccptPayload | undefined;
  let i = 0;
  if (rest[i]?.type === PayloadType.Eccpt) eccptI = rest[i++] as EccptPayload;
  if (idr === undefined) {
    if (i !== rest.length) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'IBAKE data: unexpected sub-payloads');
    return { eccptI };
  }
  const b = rest[i++];
  if (!b || b.type !== PayloadType.Idr || b.role !== ROLE_R || !sameIdentity(b, idr)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'IBAKE data does not carry the IDRr of the message');
  let eccptR: EccptPayload | undefined;
  if (rest[i]?.type === PayloadType.Eccpt) eccptR = rest[i++] as EccptPayload;
  if (i !== rest.length) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'IBAKE data: unexpected sub-payloads');
  return { eccptI, eccptR };
}

export function eccptBytes(p: EccptPayload): Uint8Array {
  return p.point;
}

function peerDomainOf(opts: Common, id: Identity): IbeDomain {
  const d = opts.peerDomain ? opts.peerDomain(id) : opts.keys.domain;
  if (!d) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no KMS known for this identity');
  return d;
}

/** IBE-encrypt a sub-payload chain to `id` for the key period of `t`. */
export function encryptTo(opts: Common, ep: ResolvedEndpoint, id: Identity, t: TPayload, chain: Payload[]): Uint8Array {
  const d = peerDomainOf(opts, id);
  const no = periodOfTimestamp(t, d.period);
  return ibeEncrypt(domainParams(d, no), ibeIdentity(id, no, d.period), encodePayloads(chain), ep.random);
}

/** Our K_PR for `id` in the key period of `t`, or undefined. */
export function ourKey(keys: IbakeKeyRing, id: Identity, t: TPayload) {
  return keys.get(id, periodOfTimestamp(t, keys.domain.period));
}

/** V MAC input (RFC 6267 §5.4): the message without the MAC (no ESK is ever in it), then IDRi and IDRr data. */
export function vParts(covered: Uint8Array, idi: Identity, idr: Identity): Uint8Array[] {
  return [covered, idi.data, idr.data];
}

export function vKeys(mpk: Uint8Array, csbId: number, rand: Uint8Array, prf: MikeyPrf, macAlg: MacAlg): Uint8Array {
  // RFC 6267 §5.2: RFC 3830 §4.1.4 with MPK as the inkey
  return deriveMessageKeys(mpk, csbId, rand, prf, { encrAlg: 'NULL', macAlg }).authKey;
}
