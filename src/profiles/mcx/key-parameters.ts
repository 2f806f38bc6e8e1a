// The '3GPP key parameters' General Extension (type 7, TS 33.180 E.6): an MCData protected
// payload (§8.5.4) whose payload is the Key Parameters information element (Table E.6.1-1),
// encrypted with AES-128-GCM under a key derived from the key the MIKEY message carries.
//   protected payload = message type (1) | date and time (5) | payload ID (4) | payload
//                       sequence number (1) | payload algorithm (1) | IV (16) | DPPK-ID (4) |
//                       payload: IEI (1) | length (2) | ciphertext || tag (16)
//   key  = the 128 least significant bits of KDF(DPPK, 0x53, DPPK-ID)     (F.1.5)
//   AAD  = the 32 bytes before the payload IE
// Rel-13 senders (33.179) put the Key Parameters content itself in the extension, unprotected
// (it is still inside the signature): read as format 'plain'.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { ErrorNo } from '../../wire/registry.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { mcxKdf, u32Bytes, u32Of } from './keys.js';

/** Key Parameters content (Table E.6.1-1, MONP encoding of TS 24.379 Annex I). */
export interface McxKeyParameters {
  /** Key Type (E.6.11): the purpose tag numbering, 0 GMK, 1 PCK, 2 CSK, ... */
  keyType: number;
  /** Status (E.6.9): bit 0 not revoked, bit 1 shared with a gateway. */
  status: number;
  /** Activation and expiry times (E.6.4, E.6.10): the 5-byte values as carried. */
  activationTime: number;
  expiryTime: number;
  /** Text (E.6.5): a name for the key. */
  text: string;
  /** Group IDs (E.6.3), when present: each an IEI and a value (TLV-E). */
  groupIds?: Array<{ iei: number; value: Uint8Array }>;
  /** Bytes after the known elements, kept as received. */
  rest?: Uint8Array;
}

export const KeyStatus = Object.freeze({ NotRevoked: 0x1, SharedWithGateway: 0x2 } as const);

const MSG_PROTECTED_PAYLOAD = 0x43;
const ALG_AES_128_GCM = 0x01;
const IEI_KEY_PARAMETERS = 0x00;
const FC_DPCK = 0x53;
const HEAD = 32; // bytes before the payload IE, all authenticated

const enc = new TextEncoder();
const dec = new TextDecoder();

function put40(b: Uint8Array, at: number, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0 || v >= 2 ** 40) throw new RangeError(`5-byte value out of range: ${v}`);
  b[at] = Math.floor(v / 2 ** 32);
  new DataView(b.buffer, b.byteOffset).setUint32(at + 1, v >>> 0);
}
function get40(b: Uint8Array, at: number): number {
  return b[at]! * 2 ** 32 + new DataView(b.buffer, b.byteOffset).getUint32(at + 1);
}
function bad(reason: string): never {
  throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `3GPP key parameters: ${reason}`);
}

export function encodeKeyParameters(k: McxKeyParameters): Uint8Array {
  const text = enc.encode(k.text);
  const groups = k.groupIds?.map((g) => g.value.length) ?? [];
  const groupLen = k.groupIds ? 1 + groups.reduce((n, l) => n + 3 + l, 0) : 0;
  const out = new Uint8Array(17 + text.length + (k.groupIds ? 2 + groupLen : 0) + (k.rest?.length ?? 0));
  const v = new DataView(out.buffer);
  out[0] = k.keyType;
  v.setUint32(1, k.status >>> 0);
  put40(out, 5, k.activationTime);
  put40(out, 10, k.expiryTime);
  if (text.length > 0xffff) throw new RangeError('key text too long');
  v.setUint16(15, text.length);
  out.set(text, 17);
  let o = 17 + text.length;
  if (k.groupIds) {
    if (k.groupIds.length > 255) throw new RangeError('more than 255 group IDs');
    // E.6.3 (LV-E): number of group IDs, then each group ID as TLV-E
    v.setUint16(o, groupLen);
    out[o + 2] = k.groupIds.length;
    o += 3;
    for (const g of k.groupIds) {
      out[o] = g.iei;
      v.setUint16(o + 1, g.value.length);
      out.set(g.value, o + 3);
      o += 3 + g.value.length;
    }
  }
  if (k.rest) out.set(k.rest, o);
  return out;
}

/** Forms of the extension that deployed senders use, each accepted only when asked (reported by name). */
export interface KeyParametersLenience {
  /** 'key-parameters-without-text': the earlier release's fixed form, key type to expiry time (15 bytes) with no Text. */
  withoutText?: boolean;
  /** 'key-parameters-empty-element': an element present with length zero (the Group IDs LV-E). */
  emptyElements?: boolean;
  /** 'key-parameters-form-by-content': protected or plain decided by what authenticates, not by the message type byte. */
  formByContent?: boolean;
}

export function decodeKeyParameters(b: Uint8Array, lenience: KeyParametersLenience = {}, lenient: string[] = []): McxKeyParameters {
  try {
    return decodeForm(b, 17, lenience, lenient);
  } catch (e) {
    if (!lenience.withoutText || !(e instanceof MikeyProtocolError)) throw e;
    const k = decodeForm(b, 15, lenience, lenient);
    lenient.push('key-parameters-without-text');
    return k;
  }
}

/** `fixed` 17: Text (E.6.5) after the times; 15: the earlier fixed form without it. */
function decodeForm(b: Uint8Array, fixed: 15 | 17, lenience: KeyParametersLenience, lenient: string[]): McxKeyParameters {
  if (b.length < fixed) bad(`content of ${b.length} bytes (${fixed} at least)`);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const textLen = fixed === 17 ? v.getUint16(15) : 0;
  if (fixed + textLen > b.length) bad('text overruns the content');
  const k: McxKeyParameters = {
    keyType: b[0]!, status: v.getUint32(1), activationTime: get40(b, 5), expiryTime: get40(b, 10),
    text: dec.decode(b.subarray(17, 17 + textLen)),
  };
  let o = fixed + textLen;
  if (o + 2 <= b.length) {
    const len = v.getUint16(o);
    const end = o + 2 + len;
    if (end > b.length) bad('group IDs overrun the content');
    if (len === 0) {
      if (!lenience.emptyElements) bad('group IDs element of length 0');
      lenient.push('key-parameters-empty-element');
      k.groupIds = [];
      o = end;
    } else {
      const count = b[o + 2]!;
      o += 3;
      const groupIds: Array<{ iei: number; value: Uint8Array }> = [];
      for (let i = 0; i < count; i++) {
        if (o + 3 > end) bad('group ID overruns its element');
        const l = v.getUint16(o + 1);
        if (o + 3 + l > end) bad('group ID overruns its element');
        groupIds.push({ iei: b[o]!, value: b.slice(o + 3, o + 3 + l) });
        o += 3 + l;
      }
      if (o !== end) bad('bytes left in the group IDs element');
      k.groupIds = groupIds;
    }
  }
  if (o < b.length) k.rest = b.slice(o);
  return k;
}

/** DPCK = the 128 least significant bits of KDF(DPPK, 0x53, DPPK-ID) (TS 33.180 F.1.5). */
export function payloadCipherKey(dppk: Uint8Array, dppkId: number): Uint8Array {
  return mcxKdf(dppk, FC_DPCK, u32Bytes(dppkId)).slice(16);
}

export interface KeyParametersProtection {
  /** The key the MIKEY message carries (GMK, PCK, CSK, ...) and the message's CSB ID. */
  dppk: Uint8Array;
  dppkId: number;
  iv: Uint8Array;
  /** Date and time element of the protected payload (5 bytes as carried; default 0). */
  dateTime?: number;
}

/** The extension data: Key Parameters in an MCData protected payload (E.6.1, §8.5.4). */
export function protectKeyParameters(k: McxKeyParameters, o: KeyParametersProtection): Uint8Array {
  return protectKeyParametersContent(encodeKeyParameters(k), o);
}

/** The protected payload of given content bytes; `messageType` other than 0x43 as some deployed senders send. */
export function protectKeyParametersContent(plain: Uint8Array, o: KeyParametersProtection & { messageType?: number }): Uint8Array {
  if (o.iv.length !== 16) throw new RangeError('the protected payload IV is 16 bytes');
  const out = new Uint8Array(HEAD + 3 + plain.length + 16);
  out[0] = o.messageType ?? MSG_PROTECTED_PAYLOAD;
  put40(out, 1, o.dateTime ?? 0);
  // payload ID (4) and sequence number (1) are 0 (E.6.1)
  out[11] = ALG_AES_128_GCM;
  out.set(o.iv, 12);
  out.set(u32Bytes(o.dppkId), 28);
  out[HEAD] = IEI_KEY_PARAMETERS;
  new DataView(out.buffer).setUint16(HEAD + 1, plain.length + 16);
  const c = createCipheriv('aes-128-gcm', payloadCipherKey(o.dppk, o.dppkId), o.iv);
  c.setAAD(out.subarray(0, HEAD));
  out.set(c.update(plain), HEAD + 3);
  c.final();
  out.set(c.getAuthTag(), HEAD + 3 + plain.length);
  return out;
}

export interface OpenedKeyParameters extends McxKeyParameters {
  format: 'protected' | 'plain';
}

/**
 * Read the extension data. A protected payload must name the message's key (DPPK-ID = CSB ID)
 * and authenticate under it; a failure there means the sender used another key: Auth failure.
 * Strictly the message type byte decides protected or plain; with `formByContent`, a payload
 * that authenticates is protected whatever that byte, and one that does not is read as plain.
 */
export function openKeyParameters(data: Uint8Array, dppk: Uint8Array, csbId: number, lenience: KeyParametersLenience = {}, lenient: string[] = []): OpenedKeyParameters {
  const typed = data[0] === MSG_PROTECTED_PAYLOAD;
  if (!lenience.formByContent) {
    return typed ? openProtected(data, dppk, csbId, lenience, lenient) : { ...decodeKeyParameters(data, lenience, lenient), format: 'plain' };
  }
  const seen: string[] = [];
  let first: unknown;
  try {
    const k = openProtected(data, dppk, csbId, lenience, seen);
    lenient.push(...seen);
    if (!typed) lenient.push('key-parameters-form-by-content');
    return k;
  } catch (e) {
    if (!(e instanceof MikeyProtocolError)) throw e;
    first = e;
  }
  try {
    const k: OpenedKeyParameters = { ...decodeKeyParameters(data, lenience, lenient), format: 'plain' };
    if (typed) lenient.push('key-parameters-form-by-content');
    return k;
  } catch (e) {
    // neither reading: report the one the type byte asked for
    throw typed ? first : e;
  }
}

function openProtected(data: Uint8Array, dppk: Uint8Array, csbId: number, lenience: KeyParametersLenience, lenient: string[]): OpenedKeyParameters {
  if (data.length < HEAD + 3 + 16) bad(`protected payload of ${data.length} bytes`);
  if (data[11] !== ALG_AES_128_GCM) bad(`payload algorithm ${data[11]} not supported`);
  if (data[HEAD] !== IEI_KEY_PARAMETERS) bad(`payload IEI ${data[HEAD]} is not Key Parameters`);
  const len = new DataView(data.buffer, data.byteOffset).getUint16(HEAD + 1);
  if (HEAD + 3 + len !== data.length || len < 16) bad('payload length does not match the extension');
  const dppkId = u32Of(data, 28);
  if (dppkId !== csbId) throw new MikeyProtocolError(ErrorNo.AuthFailure, `key parameters protected under DPPK-ID ${dppkId.toString(16)}, not the CSB ID`);
  const body = data.subarray(HEAD + 3);
  const d = createDecipheriv('aes-128-gcm', payloadCipherKey(dppk, dppkId), data.subarray(12, 28));
  d.setAAD(data.subarray(0, HEAD));
  d.setAuthTag(body.subarray(body.length - 16));
  let plain: Uint8Array;
  try {
    plain = Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
  } catch (e) {
    throw new MikeyProtocolError(ErrorNo.AuthFailure, 'key parameters do not authenticate under the carried key', { cause: e });
  }
  return { ...decodeKeyParameters(new Uint8Array(plain), lenience, lenient), format: 'protected' };
}
