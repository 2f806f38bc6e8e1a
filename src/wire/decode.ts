// Strict MIKEY decoder. Every length is checked against its enclosing boundary before it is
// read; values are views into the input (no copies); every payload keeps its byte span.
import { MikeyDecodeError, payloadName, withinPath, withinPayload } from './errors.js';
import {
  CsIdMapType, DataType, DH_VALUE_LENGTH, ECC_FIELD_LENGTH, ErrorNo, GeneralExtType, HASH_LENGTH,
  KvType, MAC_LENGTH, PayloadType, ProtType, THDR_PAYLOAD, TS_LENGTH, keyTypeHasSalt, registryInfo,
} from './registry.js';
import type {
  CommonHeader, CsIdMap, GeneralExtPayload, GenericIdEntry, KeyIdEntry, KeyValidity, Message,
  Payload, PayloadChain, PolicyParam, SakkePayload, SrtpIdEntry, TicketFlags, TpPayload, TicketPayload,
} from './types.js';
import { TICKET_FLAG_NAMES } from './types.js';

export interface DecodeOptions {
  /**
   * Accept bytes after the last payload (some deployed senders append a stray zero byte).
   * Off by default; when on, the count is reported in `trailingBytes` of the result.
   */
  allowTrailingBytes?: boolean;
  /**
   * Accept SP payloads beside the Empty CS ID map, which RFC 4563 §5 forbids (a deployed 3GPP
   * sender does it). Off by default; when on and seen, `spWithEmptyMap` is set on the result.
   */
  allowSpWithEmptyMap?: boolean;
}

/** Bounded cursor: `end` is the boundary of the structure being read, never the buffer's. */
class Reader {
  readonly ab: ArrayBufferLike;
  readonly base: number;
  /** Next-payload value of the payload just decoded. */
  next = 0;
  constructor(readonly buf: Uint8Array, public pos: number, public end: number, ab?: ArrayBufferLike, base?: number) {
    this.ab = ab ?? buf.buffer;
    this.base = base ?? buf.byteOffset;
  }

  need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new MikeyDecodeError(this.pos, '', `truncated ${what}: needs ${n} byte(s), ${this.end - this.pos} left`);
    }
  }
  u8(): number {
    return this.buf[this.pos++]!;
  }
  u16(): number {
    const b = this.buf;
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  u32(): number {
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }
  /** A view of n bytes, bounds-checked. */
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    // a direct view: cheaper than subarray(), which looks up a species constructor
    const v = new Uint8Array(this.ab, this.base + this.pos, n);
    this.pos += n;
    return v;
  }
  sub(n: number, what: string): Reader {
    this.need(n, what);
    const r = new Reader(this.buf, this.pos, this.pos + n, this.ab, this.base);
    this.pos += n;
    return r;
  }
}

function fail(offset: number, reason: string, errorNo: number = ErrorNo.UnsupportedMessageType): never {
  throw new MikeyDecodeError(offset, '', reason, errorNo);
}

/** Re-throw a decode error with one more element in front of its payload path. */
function within(e: unknown, label: string): never {
  if (e instanceof MikeyDecodeError) throw withinPath(e, label);
  throw e;
}

const NAME = payloadName;

// ---- Common header ------------------------------------------------------------------------

function decodeHeader(r: Reader): CommonHeader {
  const start = r.pos;
  r.need(10, 'common header');
  const version = r.u8();
  if (version !== 1) fail(start, `unsupported MIKEY version ${version}`);
  const dataType = r.u8();
  if (!isKnownDataType(dataType)) fail(start + 1, `unknown data type ${dataType}`, ErrorNo.InvalidDt);
  const next = r.u8();
  const b = r.u8();
  const csbId = r.u32();
  const nCs = r.u8();
  const mapType = r.u8();
  let csIdMap: CsIdMap;
  switch (mapType) {
    case CsIdMapType.SrtpId: {
      // RFC 3830 §6.1.1 (erratum 2654: #CS entries of 9 bytes)
      r.need(9 * nCs, `SRTP-ID map (${nCs} entries)`);
      const entries: SrtpIdEntry[] = new Array(nCs);
      for (let i = 0; i < nCs; i++) entries[i] = { policyNo: r.u8(), ssrc: r.u32(), roc: r.u32() };
      csIdMap = { type: 0, entries };
      break;
    }
    case CsIdMapType.Empty:
      csIdMap = { type: 1, csCount: nCs };
      break;
    case CsIdMapType.GenericId: {
      const entries: GenericIdEntry[] = new Array(nCs);
      for (let i = 0; i < nCs; i++) entries[i] = decodeGenericIdEntry(r, i);
      csIdMap = { type: 2, entries };
      break;
    }
    default:
      fail(start + 9, `unknown CS ID map type ${mapType}`);
  }
  r.next = next;
  return { version, dataType, v: (b & 0x80) !== 0, prfFunc: b & 0x7f, csbId, csIdMap, span: { start, end: r.pos } };
}

function isKnownDataType(t: number): boolean {
  return t >= DataType.PreShared && t <= DataType.Sakke;
}

// RFC 6043 §6.1.1
function decodeGenericIdEntry(r: Reader, i: number): GenericIdEntry {
  const at = r.pos;
  r.need(3, `GENERIC-ID entry ${i}`);
  const csId = r.u8();
  const protType = r.u8();
  const b = r.u8();
  const nP = b & 0x7f;
  const policies = Array.from(r.bytes(nP, `GENERIC-ID entry ${i} policies`));
  r.need(2, `GENERIC-ID entry ${i} session data length`);
  const sdLen = r.u16();
  const sdAt = r.pos;
  const sessionData = r.bytes(sdLen, `GENERIC-ID entry ${i} session data`);
  const s = (b & 0x80) !== 0;
  let srtp: GenericIdEntry['srtp'];
  if (protType === ProtType.Srtp && sdLen > 0) {
    const expect = s ? 10 : 4;
    if (sdLen !== expect) fail(sdAt, `SRTP session data of ${sdLen} bytes with S=${s ? 1 : 0} (must be ${expect})`);
    const v = new DataView(sessionData.buffer, sessionData.byteOffset, sdLen);
    srtp = s ? { ssrc: v.getUint32(0), roc: v.getUint32(4), seq: v.getUint16(8) } : { ssrc: v.getUint32(0) };
  }
  r.need(1, `GENERIC-ID entry ${i} SPI length`);
  const spi = r.bytes(r.u8(), `GENERIC-ID entry ${i} SPI`);
  if (at === r.pos) fail(at, 'empty GENERIC-ID entry');
  const e: GenericIdEntry = { csId, protType, s, policies, sessionData, spi };
  if (srtp) e.srtp = srtp;
  return e;
}

// ---- Payload chain -------------------------------------------------------------------------

/** Where a chain sits: top-level message payloads, or a nested container. */
const enum Ctx { Message, KemacPlain, TpData, InitiatorData, TicketData, IbakePlain, EskPlain }

/** Which payload types may appear in each context: a lookup table indexed by type (0..256). */
const allow = (...types: number[]): Uint8Array => {
  const t = new Uint8Array(THDR_PAYLOAD + 1);
  for (const x of types) t[x] = 1;
  return t;
};
const ALLOWED: Record<Ctx, Uint8Array> = {
  [Ctx.Message]: allow(PayloadType.Kemac, PayloadType.Pke, PayloadType.Dh, PayloadType.Sign, PayloadType.T, PayloadType.Id, PayloadType.Cert, PayloadType.Chash, PayloadType.V, PayloadType.Sp, PayloadType.Rand, PayloadType.Err, PayloadType.Tr, PayloadType.Idr, PayloadType.Randr, PayloadType.Tp, PayloadType.Ticket, PayloadType.GeneralExt, PayloadType.Ibake, PayloadType.Esk, PayloadType.Sakke),
  [Ctx.KemacPlain]: allow(PayloadType.KeyData, PayloadType.Id, PayloadType.Idr),
  [Ctx.TpData]: allow(PayloadType.Kemac, PayloadType.T, PayloadType.Id, PayloadType.Cert, PayloadType.V, PayloadType.Sp, PayloadType.Rand, PayloadType.Tr, PayloadType.Idr, PayloadType.Randr, PayloadType.GeneralExt),
  [Ctx.InitiatorData]: allow(PayloadType.V, PayloadType.T, PayloadType.Id, PayloadType.Rand, PayloadType.Tr, PayloadType.Idr, PayloadType.Randr, PayloadType.GeneralExt),
  [Ctx.TicketData]: allow(THDR_PAYLOAD, PayloadType.Kemac, PayloadType.T, PayloadType.Id, PayloadType.V, PayloadType.Rand, PayloadType.Tr, PayloadType.Idr, PayloadType.Randr, PayloadType.GeneralExt),
  [Ctx.IbakePlain]: allow(PayloadType.Id, PayloadType.Idr, PayloadType.Eccpt),
  [Ctx.EskPlain]: allow(PayloadType.Id, PayloadType.Idr, PayloadType.Sk),
};
const CTX_NAME: Record<Ctx, string> = {
  [Ctx.Message]: 'a message', [Ctx.KemacPlain]: 'KEMAC data', [Ctx.TpData]: 'TP data',
  [Ctx.InitiatorData]: 'Initiator data', [Ctx.TicketData]: 'Ticket data',
  [Ctx.IbakePlain]: 'IBAKE data', [Ctx.EskPlain]: 'ESK data',
};

function decodeChain(r: Reader, first: number, ctx: Ctx, dataType: number): Payload[] {
  const out: Payload[] = [];
  let type = first;
  const allowed = ALLOWED[ctx];
  while (type !== PayloadType.Last) {
    const at = r.pos;
    if (allowed[type] !== 1) {
      const known = type === THDR_PAYLOAD || PayloadType.Last < type && type <= PayloadType.Sakke && registryInfo(PayloadType).has(type);
      fail(at, known ? `${NAME(type)} payload not allowed in ${CTX_NAME[ctx]}` : `unknown payload type ${type}`);
    }
    let p: Payload;
    try {
      p = decodePayload(r, type, dataType);
    } catch (e) {
      if (e instanceof MikeyDecodeError) throw withinPayload(e, type, out.length, at);
      throw e;
    }
    out.push(p);
    if (type === PayloadType.Sign) {
      // RFC 3830 §6.5: SIGN has no next-payload field and is always last.
      if (r.pos !== r.end) fail(r.pos, `${r.end - r.pos} byte(s) after the SIGN payload (SIGN must be last)`);
      break;
    }
    type = r.next;
  }
  return out;
}

/** Key-data chains of KEMAC start with an ID in messages whose KEMAC carries one (RFC 3830 §3.2, RFC 4738 §3.6, RFC 6267 §4.2.1). */
function kemacFirstPayload(dataType: number): number {
  switch (dataType) {
    case DataType.PublicKey:
    case DataType.RsaRResp:
      return PayloadType.Id;
    case DataType.RequestKeyResp:
      return PayloadType.Idr;
    default:
      return PayloadType.KeyData;
  }
}

function decodeValidity(r: Reader, kv: number, at: number): KeyValidity {
  switch (kv) {
    case KvType.Null:
      return { kv: 0 };
    case KvType.Spi: {
      r.need(1, 'SPI length');
      return { kv: 1, spi: r.bytes(r.u8(), 'SPI') };
    }
    case KvType.Interval: {
      r.need(1, 'VF length');
      const validFrom = r.bytes(r.u8(), 'VF');
      r.need(1, 'VT length');
      const validTo = r.bytes(r.u8(), 'VT');
      return { kv: 2, validFrom, validTo };
    }
    default:
      fail(at, `unknown KV type ${kv}`);
  }
}

function decodePayload(r: Reader, type: number, dataType: number): Payload {
  switch (type) {
    case PayloadType.Kemac:
      return decodeKemac(r, type, dataType);
    case PayloadType.Pke:
      return decodePke(r, type, dataType);
    case PayloadType.Dh:
      return decodeDh(r, type, dataType);
    case PayloadType.Sign:
      return decodeSign(r, type, dataType);
    case PayloadType.T:
      return decodeT(r, type, dataType);
    case PayloadType.Id:
    case PayloadType.Cert:
      return decodeIdOrCert(r, type, dataType);
    case PayloadType.Chash:
      return decodeChash(r, type, dataType);
    case PayloadType.V:
      return decodeV(r, type, dataType);
    case PayloadType.Sp:
      return decodeSp(r);
    case PayloadType.Rand:
      return decodeRand(r, type, dataType);
    case PayloadType.Err:
      return decodeErr(r, type, dataType);
    case PayloadType.Tr:
      return decodeTr(r, type, dataType);
    case PayloadType.Idr:
      return decodeIdr(r, type, dataType);
    case PayloadType.Randr:
      return decodeRandr(r, type, dataType);
    case PayloadType.Tp:
    case PayloadType.Ticket:
      return decodeTicketLike(r, type, dataType);
    case PayloadType.KeyData:
      return decodeKeyData(r);
    case PayloadType.GeneralExt:
      return decodeGeneralExt(r);
    case PayloadType.Ibake:
    case PayloadType.Esk:
      return decodeIbakeOrEsk(r, type, dataType);
    case PayloadType.Sk:
      return decodeSk(r, type, dataType);
    case PayloadType.Eccpt:
      return decodeEccpt(r, type, dataType);
    case PayloadType.Sakke:
      return decodeSakke(r);
    case THDR_PAYLOAD:
      return decodeThdr(r, type, dataType);
    default:
      fail(r.pos, `unknown payload type ${type}`);
  }
}

function decodeKemac(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  // RFC 3830 §6.2
  r.need(4, 'KEMAC header');
  const next = r.u8();
  const encrAlg = r.u8();
  const len = r.u16();
  const encrAt = r.pos;
  const encrData = r.bytes(len, 'Encr data');
  r.need(1, 'MAC alg');
  const macAlg = r.u8();
  const macLen = MAC_LENGTH[macAlg];
  if (macLen === undefined) fail(r.pos - 1, `unknown MAC alg ${macAlg}`, ErrorNo.InvalidMac);
  const mac = r.bytes(macLen, 'MAC');
  const p: Payload = { type: PayloadType.Kemac, encrAlg, encrData, macAlg, mac, span: { start, end: r.pos }, plaintext: undefined };
  if (encrAlg === 0 && len === 0) p.plaintext = [];
  else if (encrAlg === 0) {
    const sub = new Reader(r.buf, encrAt, encrAt + len, r.ab, r.base);
    try {
      p.plaintext = decodeKemacPlain(sub, kemacFirstPayload(dataType), dataType);
    } catch (e) {
      within(e, 'Encr data');
    }
    if (sub.pos !== sub.end) fail(sub.pos, `${sub.end - sub.pos} byte(s) after the last key data sub-payload`);
  }
  r.next = next;
  return p;
}

function decodePke(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  r.need(3, 'PKE header');
  const next = r.u8();
  const w = r.u16();
  const data = r.bytes(w & 0x3fff, 'PKE data');
  r.next = next;
  return { type: PayloadType.Pke, c: w >>> 14, data, span: { start, end: r.pos } };
}

function decodeDh(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  r.need(2, 'DH header');
  const next = r.u8();
  const group = r.u8();
  const len = DH_VALUE_LENGTH[group];
  if (len === undefined) fail(start + 1, `unknown DH group ${group}`, ErrorNo.InvalidDh);
  const value = r.bytes(len, 'DH value');
  r.need(1, 'KV');
  const b = r.u8();
  const validity = decodeValidity(r, b & 0x0f, r.pos - 1);
  r.next = next;
  return { type: PayloadType.Dh, group, value, reserved: b >>> 4, validity, span: { start, end: r.pos } };
}

function decodeSign(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  // RFC 3830 §6.5: S type(4) | Signature len(12), no next payload.
  r.need(2, 'SIGN header');
  const w = r.u16();
  const signature = r.bytes(w & 0x0fff, 'Signature');
  r.next = PayloadType.Last;
  return { type: PayloadType.Sign, sType: w >>> 12, signature, span: { start, end: r.pos } };
}

function decodeT(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  r.need(2, 'T header');
  const next = r.u8();
  const tsType = r.u8();
  const len = TS_LENGTH[tsType];
  if (len === undefined) fail(start + 1, `unknown TS type ${tsType}`, ErrorNo.InvalidTs);
  r.next = next;
  return { type: PayloadType.T, tsType, value: r.bytes(len, 'TS value'), span: { start, end: r.pos } };
}

function decodeIdOrCert(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  r.need(4, `${NAME(type)} header`);
  const next = r.u8();
  const kind = r.u8();
  const data = r.bytes(r.u16(), `${NAME(type)} data`);
  const span = { start, end: r.pos };
  r.next = next;
  return type === PayloadType.Id ? { type: PayloadType.Id, idType: kind, data, span } : { type: PayloadType.Cert, certType: kind, data, span };
}

function decodeChash(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  r.need(2, 'CHASH header');
  const next = r.u8();
  const hashFunc = r.u8();
  const len = HASH_LENGTH[hashFunc];
  if (len === undefined) fail(start + 1, `unknown hash function ${hashFunc}`, ErrorNo.InvalidHa);
  r.next = next;
  return { type: PayloadType.Chash, hashFunc, hash: r.bytes(len, 'Hash'), span: { start, end: r.pos } };
}

function decodeV(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  r.need(2, 'V header');
  const next = r.u8();
  const authAlg = r.u8();
  const len = MAC_LENGTH[authAlg];
  if (len === undefined) fail(start + 1, `unknown Auth alg ${authAlg}`, ErrorNo.InvalidMac);
  r.next = next;
  return { type: PayloadType.V, authAlg, mac: r.bytes(len, 'Ver data'), span: { start, end: r.pos } };
}

function decodeSp(r: Reader): Payload {
  // RFC 3830 §6.10: Type(8) Length(8) Value parameters, each checked to fit the block
  const start = r.pos;
  r.need(5, 'SP header');
  const next = r.u8();
  const policyNo = r.u8();
  const protType = r.u8();
  const len = r.u16();
  r.need(len, 'Policy param');
  const b = r.buf;
  const end = r.pos + len;
  const params: PolicyParam[] = [];
  for (let o = r.pos; o < end; ) {
    if (end - o < 2) fail(o, `truncated policy parameter header: needs 2 byte(s), ${end - o} left`);
    const vlen = b[o + 1]!;
    if (end - o - 2 < vlen) fail(o + 2, `truncated policy parameter ${b[o]!} value: needs ${vlen} byte(s), ${end - o - 2} left`);
    params.push({ type: b[o]!, value: new Uint8Array(r.ab, r.base + o + 2, vlen) });
    o += 2 + vlen;
  }
  r.pos = end;
  r.next = next;
  return { type: PayloadType.Sp, policyNo, protType, params, span: { start, end } };
}

function decodeRand(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  r.need(2, 'RAND header');
  const next = r.u8();
  r.next = next;
  return { type: PayloadType.Rand, rand: r.bytes(r.u8(), 'RAND'), span: { start, end: r.pos } };
}

function decodeErr(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  r.need(4, 'ERR payload');
  const next = r.u8();
  const errorNo = r.u8();
  r.next = next;
  return { type: PayloadType.Err, errorNo, reserved: r.u16(), span: { start, end: r.pos } };
}

function decodeTr(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  // RFC 6043 §6.4
  r.need(3, 'TR header');
  const next = r.u8();
  const role = r.u8();
  const tsType = r.u8();
  const len = TS_LENGTH[tsType];
  if (len === undefined) fail(start + 2, `unknown TS type ${tsType}`, ErrorNo.InvalidTs);
  r.next = next;
  return { type: PayloadType.Tr, role, tsType, value: r.bytes(len, 'TS value'), span: { start, end: r.pos } };
}

function decodeIdr(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  // RFC 6043 §6.6
  r.need(5, 'IDR header');
  const next = r.u8();
  const role = r.u8();
  const idType = r.u8();
  r.next = next;
  return { type: PayloadType.Idr, role, idType, data: r.bytes(r.u16(), 'ID data'), span: { start, end: r.pos } };
}

function decodeRandr(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  r.need(3, 'RANDR header');
  const next = r.u8();
  const role = r.u8();
  r.next = next;
  return { type: PayloadType.Randr, role, rand: r.bytes(r.u8(), 'RAND'), span: { start, end: r.pos } };
}

function decodeIbakeOrEsk(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  r.need(3, `${NAME(type)} header`);
  const next = r.u8();
  const encrData = r.bytes(r.u16(), 'Encr data');
  const span = { start, end: r.pos };
  r.next = next;
  return type === PayloadType.Ibake ? { type: PayloadType.Ibake, encrData, span } : { type: PayloadType.Esk, encrData, span };
}

function decodeSk(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  r.need(4, 'SK header');
  const next = r.u8();
  const b = r.u8();
  const keyData = r.bytes(r.u16(), 'Key data');
  const validity = decodeValidity(r, b & 0x0f, start + 1);
  r.next = next;
  return { type: PayloadType.Sk, skType: b >>> 4, keyData, validity, span: { start, end: r.pos } };
}

function decodeEccpt(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  // RFC 6267 §6.1.4: point as SEC 1 octet string, padded to end on a 32-bit boundary.
  r.need(3, 'ECCPT header');
  const next = r.u8();
  const curve = r.u8();
  const flen = ECC_FIELD_LENGTH[curve];
  if (flen === undefined) fail(start + 1, `unknown ECC curve ${curve}`);
  const form = r.buf[r.pos]!;
  const plen = form === 0x04 ? 1 + 2 * flen : form === 0x02 || form === 0x03 ? 1 + flen : form === 0x00 ? 1 : -1;
  if (plen < 0) fail(r.pos, `unknown point encoding 0x${form.toString(16).padStart(2, '0')}`);
  const point = r.bytes(plen, 'ECC point');
  const padding = r.bytes((4 - ((2 + plen) & 3)) & 3, 'ECC point padding');
  r.need(4, 'ECCPT trailer');
  const authAlg = r.u8();
  const tgkLen = r.u16();
  const b = r.u8();
  const validity = decodeValidity(r, b & 0x0f, r.pos - 1);
  r.next = next;
  return { type: PayloadType.Eccpt, curve, point, padding, authAlg, tgkLen, reserved: b >>> 4, validity, span: { start, end: r.pos } };
}

function decodeThdr(r: Reader, type: number, dataType: number): Payload {
  const start = r.pos;
  r.need(3, 'THDR header');
  const next = r.u8();
  r.next = next;
  return { type: THDR_PAYLOAD, data: r.bytes(r.u16(), 'THDR data'), span: { start, end: r.pos } };
}


// RFC 6509 §4.2
function decodeSakke(r: Reader): SakkePayload {
  const start = r.pos;
  r.need(5, 'SAKKE header');
  const next = r.u8();
  const sakkeParams = r.u8();
  const idScheme = r.u8();
  const data = r.bytes(r.u16(), 'SAKKE data');
  r.next = next;
  return { type: PayloadType.Sakke, sakkeParams, idScheme, data, span: { start, end: r.pos } };
}

// RFC 3830 §6.13
function decodeKeyData(r: Reader): Payload {
  const start = r.pos;
  r.need(4, 'Key data header');
  const next = r.u8();
  const b = r.u8();
  const keyType = b >>> 4;
  if (keyType > 7) fail(start + 1, `unknown key data type ${keyType}`);
  const keyData = r.bytes(r.u16(), 'Key data');
  let salt: Uint8Array | undefined;
  if (keyTypeHasSalt(keyType)) {
    r.need(2, 'Salt length');
    salt = r.bytes(r.u16(), 'Salt data');
  }
  const validity = decodeValidity(r, b & 0x0f, start + 1);
  r.next = next;
  return { type: PayloadType.KeyData, keyType, keyData, salt, validity, span: { start, end: r.pos } };
}

/** KEMAC plaintext: the common case of key data only, read in a tight loop (the hot path). */
function decodeKemacPlain(r: Reader, first: number, dataType: number): Payload[] {
  if (first !== PayloadType.KeyData) return decodeChain(r, first, Ctx.KemacPlain, dataType);
  const out: Payload[] = [];
  let type: number = first;
  while (type === PayloadType.KeyData) {
    const at = r.pos;
    try {
      out.push(decodeKeyData(r));
    } catch (e) {
      if (e instanceof MikeyDecodeError) throw withinPayload(e, PayloadType.KeyData, out.length, at);
      throw e;
    }
    type = r.next;
  }
  if (type !== PayloadType.Last) {
    const rest = decodeChain(r, type, Ctx.KemacPlain, dataType);
    for (const p of rest) out.push(p);
  }
  return out;
}

// RFC 6043 §6.10
function decodeTicketLike(r: Reader, type: number, dataType: number): TpPayload | TicketPayload {
  const start = r.pos;
  r.need(8, `${NAME(type)} header`);
  const next = r.u8();
  const ticketType = r.u16();
  const subtype = r.u8();
  const version = r.u8();
  // PRF Func(7) D E F G H I J K L M N O (12) Res(5), in three bytes
  const bits = (r.u16() << 8) | r.u8();
  const prfFunc = bits >>> 17;
  const flags = {} as TicketFlags;
  TICKET_FLAG_NAMES.forEach((f, i) => { flags[f] = ((bits >>> (16 - i)) & 1) === 1; });
  const reserved = bits & 0x1f;
  r.need(2, 'TP data length');
  const tpData = decodeFirstPayloadChain(r.sub(r.u16(), 'TP data'), Ctx.TpData, dataType, 'TP data');
  const fields = { ticketType, subtype, version, prfFunc, flags, reserved, tpData };
  if (type === PayloadType.Tp) {
    r.next = next;
    return { type: PayloadType.Tp, ...fields, span: { start, end: r.pos } };
  }
  r.need(2, 'Ticket data length');
  const tdLen = r.u16();
  const tdAt = r.pos;
  const ticketData = r.bytes(tdLen, 'Ticket data');
  let baseTicket: Payload[] | undefined;
  if (ticketType === 1 && subtype === 1 && version === 1) {
    // RFC 6043 App. A: THDR, T, RAND, KEMAC, [IDRpsk], V
    const tr = new Reader(r.buf, tdAt, tdAt + tdLen);
    try {
      baseTicket = decodeChain(tr, THDR_PAYLOAD, Ctx.TicketData, dataType);
      if (tr.pos !== tr.end) fail(tr.pos, `${tr.end - tr.pos} byte(s) after the last payload`);
    } catch (e) {
      if (e instanceof MikeyDecodeError) {
        throw new MikeyDecodeError(e.offset, e.path ? `Ticket data > ${e.path}` : 'Ticket data', `MIKEY base ticket: ${e.reason}`, ErrorNo.InvalidTicket);
      }
      throw e;
    }
  }
  r.need(2, 'Initiator data length');
  const initiatorData = decodeFirstPayloadChain(r.sub(r.u16(), 'Initiator data'), Ctx.InitiatorData, dataType, 'Initiator data');
  const p: TicketPayload = { type: PayloadType.Ticket, ...fields, ticketData, initiatorData, span: { start, end: r.pos } };
  if (baseTicket) p.baseTicket = baseTicket;
  r.next = next;
  return p;
}

/** TP Data and Initiator Data: a First Payload byte, then MIKEY payloads (RFC 6043 §6.10). */
function decodeFirstPayloadChain(r: Reader, ctx: Ctx, dataType: number, label: string): PayloadChain {
  if (r.pos === r.end) return { payloads: [] };
  const first = r.u8();
  let payloads: Payload[];
  try {
    payloads = decodeChain(r, first, ctx, dataType);
    if (r.pos !== r.end) fail(r.pos, `${r.end - r.pos} byte(s) after the last payload`);
  } catch (e) {
    within(e, label);
  }
  return payloads.length === 0 ? { payloads, emptyMarker: true } : { payloads };
}

// RFC 3830 §6.15 and the inner structures of its updates
function decodeGeneralExt(r: Reader): GeneralExtPayload {
  const start = r.pos;
  r.need(4, 'General Ext. header');
  const next = r.u8();
  const extType = r.u8();
  const len = r.u16();
  const at = r.pos;
  const data = r.bytes(len, 'General Ext. data');
  const p: GeneralExtPayload = { type: PayloadType.GeneralExt, extType, data, span: { start, end: r.pos } };
  switch (extType) {
    case GeneralExtType.SdpIds:
      p.sdpIds = len === 0 ? [] : new TextDecoder().decode(data).split(';');
      break;
    case GeneralExtType.KeyId: {
      // RFC 4563 §4: Key ID Type(8) Key ID Length(8) Key ID
      const sub = new Reader(r.buf, at, at + len);
      const keyIds: KeyIdEntry[] = [];
      try {
        while (sub.pos < sub.end) {
          sub.need(2, 'Key ID sub-payload header');
          const keyIdType = sub.u8();
          keyIds.push({ keyIdType, keyId: sub.bytes(sub.u8(), 'Key ID') });
        }
      } catch (e) {
        within(e, `Key ID[${keyIds.length}]`);
      }
      p.keyIds = keyIds;
      break;
    }
    case GeneralExtType.CsbId:
      // RFC 4738 §3.9.3
      if (len !== 4) fail(at, `CSB_ID extension of ${len} bytes (must be 4)`);
      p.csbId = ((data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!) >>> 0;
      break;
    case GeneralExtType.OmaBcast:
      if (len < 1) fail(at, 'OMA BCAST extension without a subtype');
      p.omaBcast = { subtype: data[0]!, data: data.subarray(1) };
      break;
    case GeneralExtType.SakkeToSelf: {
      // 3GPP TS 33.180 E.5: a complete SAKKE payload (its next payload byte ignored)
      const sub = new Reader(r.buf, at, at + len);
      try {
        p.sakke = decodeSakke(sub);
        if (sub.pos !== sub.end) fail(sub.pos, `${sub.end - sub.pos} byte(s) after the SAKKE payload`);
      } catch (e) {
        within(e, 'SAKKE-to-self');
      }
      break;
    }
  }
  r.next = next;
  return p;
}

// ---- Entry points ---------------------------------------------------------------------------

export interface DecodedMessage extends Message {
  bytes: Uint8Array;
  /** Bytes accepted after the last payload under `allowTrailingBytes`. */
  trailingBytes?: number;
  /** An SP payload was accepted beside the Empty map under `allowSpWithEmptyMap`. */
  spWithEmptyMap?: boolean;
}

/** Decode one MIKEY message. Throws `MikeyDecodeError` on anything malformed. */
export function decodeMessage(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedMessage {
  const r = new Reader(bytes, 0, bytes.length);
  let header: CommonHeader;
  try {
    header = decodeHeader(r);
  } catch (e) {
    within(e, 'HDR');
  }
  const payloads = decodeChain(r, r.next, Ctx.Message, header.dataType);
  let spWithEmptyMap = false;
  if (header.csIdMap.type === CsIdMapType.Empty) {
    const sp = payloads.find((p) => p.type === PayloadType.Sp);
    // RFC 4563 §5: no SP payload with the empty map
    if (sp && !opts.allowSpWithEmptyMap) fail(sp.span!.start, 'SP payload with the Empty CS ID map', ErrorNo.InvalidSp);
    spWithEmptyMap = sp !== undefined;
  }
  const msg: DecodedMessage = { header, payloads, bytes };
  if (spWithEmptyMap) msg.spWithEmptyMap = true;
  if (r.pos !== r.end) {
    if (!opts.allowTrailingBytes) fail(r.pos, `${r.end - r.pos} byte(s) after the last payload`);
    msg.trailingBytes = r.end - r.pos;
  }
  return msg;
}

/**
 * Decode the plaintext of a KEMAC (after decryption): key data sub-payloads, preceded by an
 * ID/IDR payload in the messages that carry one there (`first`).
 */
export function decodeKeyDataChain(plain: Uint8Array, first: number = PayloadType.KeyData): Payload[] {
  const r = new Reader(plain, 0, plain.length);
  const out = decodeChain(r, first, Ctx.KemacPlain, -1);
  if (r.pos !== r.end) fail(r.pos, `${r.end - r.pos} byte(s) after the last key data sub-payload`);
  return out;
}

/** Decode decrypted IBAKE data: IDR and ECCPT sub-payloads (RFC 6267 §6.1.1). */
export function decodeIbakeData(plain: Uint8Array, first: number = PayloadType.Idr): Payload[] {
  const r = new Reader(plain, 0, plain.length);
  const out = decodeChain(r, first, Ctx.IbakePlain, -1);
  if (r.pos !== r.end) fail(r.pos, `${r.end - r.pos} byte(s) after the last sub-payload`);
  return out;
}

/** Decode decrypted ESK data: IDR and SK sub-payloads (RFC 6267 §6.1.2). */
export function decodeEskData(plain: Uint8Array, first: number = PayloadType.Idr): Payload[] {
  const r = new Reader(plain, 0, plain.length);
  const out = decodeChain(r, first, Ctx.EskPlain, -1);
  if (r.pos !== r.end) fail(r.pos, `${r.end - r.pos} byte(s) after the last sub-payload`);
  return out;
}
