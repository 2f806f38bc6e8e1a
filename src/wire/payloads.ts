// One table entry per payload type: how it is read, sized and written, and the fields a
// describer prints, side by side, so a layout is written once. The chains that hold payloads
// (a message, KEMAC key data, TP/Initiator/Ticket data, IBAKE and ESK data) are read and written
// here too: every payload but SIGN starts with the type of the one after it (RFC 3830 §6), which
// the chain reads and writes, so no payload reader returns it.
import { FAILED, answerFailureAs, decodePath, fail, failure, payloadName } from './errors.js';
import {
  CertType, DataType, DH_VALUE_LENGTH, DhGroup, ECC_FIELD_LENGTH, EccCurve, EncrAlg, ErrorNo, FecOrder, GeneralExtType,
  HASH_LENGTH, HashFunc, IdRole, IdType, KeyDataType, KeyIdType, KvType, MAC_LENGTH, MacAlg, OmaBcastSubtype, PayloadType,
  PkeCache, PrfFunc, ProtType, RandRole, SakkeIdScheme, SakkeParams, SignType, SkType, SrtpAuthAlg, SrtpEncrAlg, SrtpParam,
  SrtpPrf, TeslaParam, THDR_PAYLOAD, TicketType, TS_LENGTH, TsRole, TsType, keyTypeHasSalt, registryInfo,
} from './registry.js';
import { EMPTY, Writer, bad, fits, indexed, inside, len16, len8, put, type Reader, type Where } from './cursor.js';
import { en, h32, hex, label, printable, type Describer, type Field } from './fields.js';
import { policyParams } from './sp.js';
import type {
  GeneralExtPayload, KeyIdEntry, KeyValidity, Payload, PayloadChain, PayloadOf, PolicyParam, SakkePayload, Span,
  TicketFlags, TicketPayload, TpPayload,
} from './types.js';
import { TICKET_FLAG_NAMES } from './types.js';

/** The codec of one payload type. */
export interface PayloadCodec<P extends Payload = Payload> {
  /** The payload's title as the describer prints it, e.g. `Key Data Transport (KEMAC)`. */
  readonly title: string;
  /** False for SIGN only (RFC 3830 §6.5: no Next payload field, always last). */
  readonly hasNext: boolean;
  /** Bytes of the fixed header (Next payload byte included) and its name in errors. */
  readonly head: number;
  readonly headName: string;
  /** Read the payload at `start`; `r.pos` is past the Next payload byte and `head` bytes are there. */
  read(r: Reader, start: number, dataType: number): P;
  /** Encoded length, the Next payload byte included. */
  size(p: P): number;
  /** Write what follows the Next payload byte; `chain`/`index` name the payload in errors. */
  write(w: Writer, p: P, chain: Where, index: number): void;
  /** The fields after Next payload, for the describer. */
  fields(p: P, d: Describer): Field[];
}

type Codecs = { readonly [T in Payload['type']]: PayloadCodec<PayloadOf<T>> };

// one of each, not one per payload (decode() keeps no state between calls)
const UTF8_DECODER = new TextDecoder();
const UTF8_ENCODER = new TextEncoder();

// ---- shared sub-structures ------------------------------------------------------------------

// RFC 3830 §6.14
function readValidity(r: Reader, kv: number, at: number): KeyValidity {
  switch (kv) {
    case KvType.Null:
      return { kv: KvType.Null };
    case KvType.Spi: {
      if (!r.need(1, 'SPI length')) return FAILED;
      return { kv: KvType.Spi, spi: r.bytes(r.u8(), 'SPI') };
    }
    case KvType.Interval: {
      if (!r.need(1, 'VF length')) return FAILED;
      const validFrom = r.bytes(r.u8(), 'VF');
      if (!r.need(1, 'VT length')) return FAILED;
      const validTo = r.bytes(r.u8(), 'VT');
      return { kv: KvType.Interval, validFrom, validTo };
    }
    default:
      return fail(at, `unknown KV type ${kv}`);
  }
}
function validitySize(v: KeyValidity): number {
  return v.kv === KvType.Null ? 0 : v.kv === KvType.Spi ? 1 + v.spi.length : 2 + v.validFrom.length + v.validTo.length;
}
function writeValidity(w: Writer, v: KeyValidity, chain: Where, index: number): void {
  const kv = v.kv;
  if (kv === KvType.Spi) {
    const spi = v.spi;
    if (spi.length > 0xff) len8(spi, indexed(chain, index), 'SPI');
    w.buf[w.pos] = spi.length;
    w.pos = put(w.buf, w.pos + 1, spi);
  } else if (kv === KvType.Interval) {
    const vf = v.validFrom;
    const vt = v.validTo;
    if (vf.length > 0xff) len8(vf, indexed(chain, index), 'VF');
    if (vt.length > 0xff) len8(vt, indexed(chain, index), 'VT');
    const b = w.buf;
    let o = w.pos;
    b[o] = vf.length;
    o = put(b, o + 1, vf);
    b[o] = vt.length;
    w.pos = put(b, o + 1, vt);
  }
}
function validityFields(v: KeyValidity): Field[] {
  if (v.kv === KvType.Spi) return [{ name: 'SPI/MKI', value: hex(v.spi) }];
  if (v.kv === KvType.Interval) return [{ name: 'Valid from', value: hex(v.validFrom) }, { name: 'Valid to', value: hex(v.validTo) }];
  return [];
}

/** Length checks that build the error's location only when they fail. */
function check8(b: Uint8Array, chain: Where, index: number, what?: string): void {
  if (b.length > 0xff) len8(b, indexed(chain, index), what);
}
function check16(n: number, chain: Where, index: number, what?: string): void {
  if (n > 0xffff) len16(n, indexed(chain, index), what);
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

// ---- policy parameters (RFC 3830 §6.10) -----------------------------------------------------

/** What the one-byte value `v` of SRTP policy parameter `type` means (RFC 3830 §6.10.1): a registry name, on/off, or the number. */
export function srtpParamValue(type: number, v: number): string | number {
  const vreg = type === SrtpParam.EncrAlg ? SrtpEncrAlg
    : type === SrtpParam.AuthAlg || type === SrtpParam.SrtpAuthAlg || type === SrtpParam.SrtcpAuthAlg ? SrtpAuthAlg
      : type === SrtpParam.Prf ? SrtpPrf : type === SrtpParam.FecOrder ? FecOrder : undefined;
  if (vreg) return label(vreg, v);
  const onOff = type === SrtpParam.SrtpEncryption || type === SrtpParam.SrtcpEncryption || type === SrtpParam.SrtpAuthentication;
  return onOff ? (v ? 'on' : 'off') : v;
}

function policyParamField(protType: number, type: number, value: Uint8Array): Field {
  const reg = protType === ProtType.Srtp ? SrtpParam : protType === ProtType.Tesla ? TeslaParam : undefined;
  const name = reg ? registryInfo(reg).label(type) ?? `Unknown (${type})` : `Type ${type}`;
  const f: Field = { name: `${name} [${type}]`, value: hex(value) };
  if (protType === ProtType.Srtp && value.length === 1) {
    f.meaning = String(srtpParamValue(type, value[0]!));
  } else if (value.length <= 4 && value.length > 0) {
    f.meaning = String(Buffer.from(value).readUIntBE(0, value.length));
  }
  return f;
}

function paramsLength(params: readonly PolicyParam[]): number {
  let n = 0;
  for (let i = 0; i < params.length; i++) n += 2 + params[i]!.value.length;
  return n;
}

// ---- ticket policy fields (RFC 6043 §6.10) --------------------------------------------------

/** PRF Func(7) D E F G H I J K L M N O (12) Res(5), in three bytes. */
function readFlags(bits: number): TicketFlags {
  const f = (i: number): boolean => ((bits >>> (16 - i)) & 1) === 1;
  return { D: f(0), E: f(1), F: f(2), G: f(3), H: f(4), I: f(5), J: f(6), K: f(7), L: f(8), M: f(9), N: f(10), O: f(11) };
}
function flagBits(flags: TicketFlags): number {
  let bits = 0;
  for (let i = 0; i < TICKET_FLAG_NAMES.length; i++) if (flags[TICKET_FLAG_NAMES[i]!]) bits |= 1 << (16 - i);
  return bits;
}

function readTicketLike(r: Reader, start: number, dataType: number, type: typeof PayloadType.Tp | typeof PayloadType.Ticket): TpPayload | TicketPayload {
  const ticketType = r.u16();
  const subtype = r.u8();
  const version = r.u8();
  const bits = (r.u16() << 8) | r.u8();
  const prfFunc = bits >>> 17;
  const flags = readFlags(bits);
  const reserved = bits & 0x1f;
  if (!r.need(2, 'TP data length')) return FAILED;
  const tpData = readFirstPayloadChain(r.sub(r.u16(), 'TP data'), Ctx.TpData, dataType, 'TP data');
  if (failure) return FAILED;
  if (type === PayloadType.Tp) {
    return { type: PayloadType.Tp, ticketType, subtype, version, prfFunc, flags, reserved, tpData, span: { start, end: r.pos } };
  }
  if (!r.need(2, 'Ticket data length')) return FAILED;
  const tdLen = r.u16();
  const tdAt = r.pos;
  const ticketData = r.bytes(tdLen, 'Ticket data');
  if (failure) return FAILED;
  let baseTicket: Payload[] | undefined;
  if (ticketType === TicketType.MikeyBaseTicket && subtype === 1 && version === 1) {
    // RFC 6043 App. A: THDR, T, RAND, KEMAC, [IDRpsk], V
    const tr = r.at(tdAt, tdAt + tdLen);
    decodePath.label('Ticket data');
    baseTicket = readChain(tr, THDR_PAYLOAD, Ctx.TicketData, dataType);
    if (!failure && tr.pos !== tr.end) fail(tr.pos, `${tr.end - tr.pos} byte(s) after the last payload`);
    if (failure as unknown) {
      // a broken base ticket is answered as an invalid ticket (RFC 6043 §6.12)
      answerFailureAs('MIKEY base ticket: ', ErrorNo.InvalidTicket);
      return FAILED;
    }
    decodePath.leave();
  }
  if (!r.need(2, 'Initiator data length')) return FAILED;
  const initiatorData = readFirstPayloadChain(r.sub(r.u16(), 'Initiator data'), Ctx.InitiatorData, dataType, 'Initiator data');
  if (failure) return FAILED;
  const p: TicketPayload = {
    type: PayloadType.Ticket, ticketType, subtype, version, prfFunc, flags, reserved, tpData, ticketData, initiatorData, span: { start, end: r.pos },
  };
  if (baseTicket) p.baseTicket = baseTicket;
  return p;
}

function ticketLikeSize(p: TpPayload | TicketPayload): number {
  const n = 10 + firstChainSize(p.tpData);
  return p.type === PayloadType.Tp ? n : n + 2 + ticketDataOf(p).length + 2 + firstChainSize(p.initiatorData);
}

/**
 * Where the fields of a TICKET payload lie (RFC 6043 §6.10): `*LenAt` is a 16-bit length field,
 * `*Start`..`*End` the data after it; from the sizes `ticketLikeSize` adds up.
 */
export interface TicketLayout {
  start: number;
  tpDataStart: number;
  tdLenAt: number;
  tdStart: number;
  tdEnd: number;
  idLenAt: number;
  idStart: number;
  end: number;
}

/** The layout of `p` encoded at `span` (a decoded TICKET or one just encoded with spans). */
export function ticketLayout(p: TicketPayload, span: Span): TicketLayout {
  const start = span.start;
  const tpDataStart = start + 10; // NP, Type, Subtype, Version, PRF|flags, TP data length
  const tdLenAt = tpDataStart + firstChainSize(p.tpData);
  const tdStart = tdLenAt + 2;
  const tdEnd = tdStart + ticketDataOf(p).length;
  const idStart = tdEnd + 2;
  const end = idStart + firstChainSize(p.initiatorData);
  if (end !== span.end) throw new Error('internal: TICKET layout does not match its span');
  return { start, tpDataStart, tdLenAt, tdStart, tdEnd, idLenAt: tdEnd, idStart, end };
}

function writeTicketLike(w: Writer, p: TpPayload | TicketPayload, chain: Where, index: number): void {
  if (!(fits(p.prfFunc, 7))) bad(indexed(chain, index), 'TP PRF Func out of range (7 bits)');
  const bits = (p.prfFunc << 17) | flagBits(p.flags) | (p.reserved & 0x1f);
  w.u16(p.ticketType); w.u8(p.subtype); w.u8(p.version);
  w.u16(bits >>> 8); w.u8(bits & 0xff);
  const tp = firstChainSize(p.tpData);
  check16(tp, chain, index, 'TP data');
  w.u16(tp);
  writeFirstChain(w, p.tpData, inside(chain, index, 'TP data'));
  if (p.type === PayloadType.Ticket) {
    const td = ticketDataOf(p);
    check16(td.length, chain, index, 'Ticket data');
    w.u16(td.length); w.bytes(td);
    const id = firstChainSize(p.initiatorData);
    check16(id, chain, index, 'Initiator data');
    w.u16(id);
    writeFirstChain(w, p.initiatorData, inside(chain, index, 'Initiator data'));
  }
}

/** Ticket data as given, or the base ticket's payloads encoded. */
function ticketDataOf(p: TicketPayload): Uint8Array {
  return p.ticketData.length > 0 || !p.baseTicket ? p.ticketData : encodeChain(p.baseTicket);
}

function ticketLikeFields(p: TpPayload | TicketPayload, d: Describer): Field[] {
  const c: Field[] = [en('Ticket type', TicketType, p.ticketType), { name: 'Subtype', value: p.subtype }, { name: 'Version', value: p.version },
    en('PRF func', PrfFunc, p.prfFunc), { name: 'Flags', value: TICKET_FLAG_NAMES.filter((k) => p.flags[k]).join('') || '-' },
    { name: 'TP data', children: describeChain(p.tpData.payloads, d) }];
  if (p.type === PayloadType.Ticket) {
    c.push({ name: 'Ticket data len', value: p.ticketData.length });
    c.push(p.baseTicket ? { name: 'Ticket data (MIKEY base ticket)', children: describeChain(p.baseTicket, d) } : { name: 'Ticket data', value: hex(p.ticketData) });
    c.push({ name: 'Initiator data', children: describeChain(p.initiatorData.payloads, d) });
  }
  return c;
}

// ---- General Extension (RFC 3830 §6.15) and the inner structures of its updates ------------------

function readGeneralExt(r: Reader, start: number): GeneralExtPayload {
  const extType = r.u8();
  const len = r.u16();
  const at = r.pos;
  const data = r.bytes(len, 'General Ext. data');
  if (failure) return FAILED;
  const p: GeneralExtPayload = { type: PayloadType.GeneralExt, extType, data, span: { start, end: r.pos } };
  switch (extType) {
    case GeneralExtType.SdpIds:
      p.sdpIds = len === 0 ? [] : UTF8_DECODER.decode(data).split(';');
      break;
    case GeneralExtType.KeyId: {
      // RFC 4563 §4: Key ID Type(8) Key ID Length(8) Key ID
      const sub = r.at(at, at + len);
      const keyIds: KeyIdEntry[] = [];
      while (sub.pos < sub.end) {
        decodePath.label(`Key ID[${keyIds.length}]`);
        if (!sub.need(2, 'Key ID sub-payload header')) return FAILED;
        const keyIdType = sub.u8();
        keyIds.push({ keyIdType, keyId: sub.bytes(sub.u8(), 'Key ID') });
        if (failure) return FAILED;
        decodePath.leave();
      }
      p.keyIds = keyIds;
      break;
    }
    case GeneralExtType.CsbId:
      // RFC 4738 §3.9.3
      if (len !== 4) return fail(at, `CSB_ID extension of ${len} bytes (must be 4)`);
      p.csbId = r.at(at, at + 4).u32();
      break;
    case GeneralExtType.OmaBcast:
      if (len < 1) return fail(at, 'OMA BCAST extension without a subtype');
      p.omaBcast = { subtype: data[0]!, data: data.subarray(1) };
      break;
    case GeneralExtType.SakkeToSelf: {
      // 3GPP TS 33.180 E.5: a complete SAKKE payload (its next payload byte ignored)
      const sub = r.at(at, at + len);
      decodePath.label('SAKKE-to-self');
      p.sakke = readOne(sub, PayloadType.Sakke, -1);
      if (failure) return FAILED;
      if (sub.pos !== sub.end) return fail(sub.pos, `${sub.end - sub.pos} byte(s) after the SAKKE payload`);
      decodePath.leave();
      break;
    }
  }
  return p;
}

/** The extension data as given, or built from its decoded form. */
function genExtData(p: GeneralExtPayload): Uint8Array {
  if (p.data.length > 0) return p.data;
  if (p.sdpIds) return UTF8_ENCODER.encode(p.sdpIds.join(';'));
  if (p.keyIds) {
    const out = new Uint8Array(p.keyIds.reduce((n, k) => n + 2 + k.keyId.length, 0));
    let o = 0;
    for (const k of p.keyIds) {
      len8(k.keyId, 'General Ext. Key ID');
      out[o++] = k.keyIdType;
      out[o++] = k.keyId.length;
      out.set(k.keyId, o);
      o += k.keyId.length;
    }
    return out;
  }
  if (p.csbId !== undefined) return Uint8Array.of(p.csbId >>> 24, p.csbId >>> 16, p.csbId >>> 8, p.csbId);
  if (p.omaBcast) {
    const out = new Uint8Array(1 + p.omaBcast.data.length);
    out[0] = p.omaBcast.subtype;
    out.set(p.omaBcast.data, 1);
    return out;
  }
  if (p.sakke) return encodeChain([p.sakke]);
  return p.data;
}

function generalExtFields(p: GeneralExtPayload, d: Describer): Field[] {
  const c: Field[] = [en('Type', GeneralExtType, p.extType), { name: 'Length', value: p.data.length }];
  if (p.sdpIds) c.push({ name: 'SDP IDs', value: p.sdpIds.join(';') });
  else if (p.keyIds) c.push(...p.keyIds.map((k) => ({ name: 'Key ID', children: [en('Key ID type', KeyIdType, k.keyIdType), { name: 'Key ID', value: hex(k.keyId) }] })));
  else if (p.csbId !== undefined) c.push({ name: 'CSB ID', value: h32(p.csbId) });
  else if (p.omaBcast) c.push(en('OMA BCAST subtype', OmaBcastSubtype, p.omaBcast.subtype), { name: 'Subtype data', value: hex(p.omaBcast.data) });
  else if (p.sakke) c.push(describePayload(p.sakke, PayloadType.Last, d));
  else c.push({ name: 'Data', value: hex(p.data), meaning: printable(p.data) });
  return c;
}

// ---- the table ------------------------------------------------------------------------------

/** The length of a TS value of type `tsType` (undefined, with the error recorded, for an unknown type). */
const tsLength = (tsType: number, at: number): number | undefined => {
  const len = TS_LENGTH[tsType];
  if (len === undefined) fail(at, `unknown TS type ${tsType}`, ErrorNo.InvalidTs);
  return len;
};
const tsLengthOk = (tsType: number, value: Uint8Array, chain: Where, index: number): void => {
  if (!(TS_LENGTH[tsType] === value.length)) bad(indexed(chain, index), `TS value of ${value.length} bytes for TS type ${tsType}`);
};

const CODECS: Codecs = {
  // RFC 3830 §6.2
  [PayloadType.Kemac]: {
    title: 'Key Data Transport (KEMAC)', hasNext: true, head: 4, headName: 'KEMAC header',
    read(r, start, dataType) {
      const encrAlg = r.u8();
      const len = r.u16();
      const encrAt = r.pos;
      const encrData = r.bytes(len, 'Encr data');
      if (!r.need(1, 'MAC alg')) return FAILED;
      const macAlg = r.u8();
      const macLen = MAC_LENGTH[macAlg];
      if (macLen === undefined) return fail(r.pos - 1, `unknown MAC alg ${macAlg}`, ErrorNo.InvalidMac);
      const mac = r.bytes(macLen, 'MAC');
      if (failure) return FAILED;
      const p: PayloadOf<typeof PayloadType.Kemac> = { type: PayloadType.Kemac, encrAlg, encrData, macAlg, mac, span: { start, end: r.pos }, plaintext: undefined };
      if (encrAlg === EncrAlg.Null && len === 0) p.plaintext = [];
      else if (encrAlg === EncrAlg.Null) {
        const sub = r.at(encrAt, encrAt + len);
        decodePath.label('Encr data');
        p.plaintext = readChain(sub, kemacFirstPayload(dataType), Ctx.KemacPlain, dataType);
        if (failure) return FAILED;
        decodePath.leave();
        if (sub.pos !== sub.end) return fail(sub.pos, `${sub.end - sub.pos} byte(s) after the last key data sub-payload`);
      }
      return p;
    },
    // NULL encryption: the key data sub-payloads are written from their fields
    size: (p) => 4 + (p.encrAlg === EncrAlg.Null && p.plaintext ? chainSize(p.plaintext) : p.encrData.length) + 1 + p.mac.length,
    write(w, p, chain, index) {
      const mac = p.mac;
      const macAlg = p.macAlg;
      if (!(MAC_LENGTH[macAlg] === mac.length)) bad(indexed(chain, index), `MAC of ${mac.length} bytes for MAC alg ${macAlg}`);
      const encrAlg = p.encrAlg;
      const plaintext = p.plaintext;
      const b = w.buf;
      const lenAt = w.pos + 1;
      b[lenAt - 1] = encrAlg;
      if (encrAlg === EncrAlg.Null && plaintext) {
        w.pos = lenAt + 2;
        writeChain(w, plaintext, inside(chain, index, 'KEMAC'));
        const n = w.pos - lenAt - 2;
        check16(n, chain, index, 'KEMAC');
        b[lenAt] = n >>> 8;
        b[lenAt + 1] = n;
      } else {
        const d = p.encrData;
        check16(d.length, chain, index, 'KEMAC');
        b[lenAt] = d.length >>> 8;
        b[lenAt + 1] = d.length;
        w.pos = put(b, lenAt + 2, d);
      }
      b[w.pos] = macAlg;
      w.pos = put(b, w.pos + 1, mac);
    },
    fields(p, d) {
      const c: Field[] = [en('Encr alg', EncrAlg, p.encrAlg), { name: 'Encr data len', value: p.encrData.length }, { name: 'Encr data', value: hex(p.encrData) }];
      if (p.plaintext) c.push({ name: 'Key data (plaintext)', children: describeChain(p.plaintext, d) });
      c.push(en('MAC alg', MacAlg, p.macAlg), { name: 'MAC', value: hex(p.mac) });
      return c;
    },
  },
  // RFC 3830 §6.4
  [PayloadType.Pke]: {
    title: 'Envelope Data (PKE)', hasNext: true, head: 3, headName: 'PKE header',
    read(r, start) {
      const w = r.u16();
      const data = r.bytes(w & 0x3fff, 'PKE data');
      return { type: PayloadType.Pke, c: w >>> 14, data, span: { start, end: r.pos } };
    },
    size: (p) => 3 + p.data.length,
    write(w, p, chain, index) {
      if (!(fits(p.c, 2))) bad(indexed(chain, index), 'PKE C out of range (2 bits)');
      if (!(p.data.length < 1 << 14)) bad(indexed(chain, index), 'PKE data longer than 14-bit length');
      w.u16((p.c << 14) | p.data.length);
      w.bytes(p.data);
    },
    fields: (p) => [en('C', PkeCache, p.c), { name: 'Data len', value: p.data.length }, { name: 'Data', value: hex(p.data) }],
  },
  // RFC 3830 §6.4
  [PayloadType.Dh]: {
    title: 'DH Data (DH)', hasNext: true, head: 2, headName: 'DH header',
    read(r, start) {
      const group = r.u8();
      const len = DH_VALUE_LENGTH[group];
      if (len === undefined) return fail(start + 1, `unknown DH group ${group}`, ErrorNo.InvalidDh);
      const value = r.bytes(len, 'DH value');
      if (!r.need(1, 'KV')) return FAILED;
      const b = r.u8();
      const validity = readValidity(r, b & 0x0f, r.pos - 1);
      return { type: PayloadType.Dh, group, value, reserved: b >>> 4, validity, span: { start, end: r.pos } };
    },
    size: (p) => 2 + p.value.length + 1 + validitySize(p.validity),
    write(w, p, chain, index) {
      if (!(DH_VALUE_LENGTH[p.group] === p.value.length)) bad(indexed(chain, index), `DH value of ${p.value.length} bytes for group ${p.group}`);
      w.u8(p.group);
      w.bytes(p.value);
      w.u8(((p.reserved & 0xf) << 4) | p.validity.kv);
      writeValidity(w, p.validity, chain, index);
    },
    fields: (p) => [en('DH-Group', DhGroup, p.group), { name: 'DH-value', value: hex(p.value) }, en('KV', KvType, p.validity.kv), ...validityFields(p.validity)],
  },
  // RFC 3830 §6.5: S type(4) | Signature len(12), no next payload.
  [PayloadType.Sign]: {
    title: 'Signature (SIGN)', hasNext: false, head: 2, headName: 'SIGN header',
    read(r, start) {
      const w = r.u16();
      const signature = r.bytes(w & 0x0fff, 'Signature');
      return { type: PayloadType.Sign, sType: w >>> 12, signature, span: { start, end: r.pos } };
    },
    size: (p) => 2 + p.signature.length,
    write(w, p, chain, index) {
      if (!(fits(p.sType, 4))) bad(indexed(chain, index), 'S type out of range (4 bits)');
      if (!(p.signature.length < 1 << 12)) bad(indexed(chain, index), 'signature longer than 12-bit length');
      w.u16((p.sType << 12) | p.signature.length);
      w.bytes(p.signature);
    },
    fields: (p) => [en('S type', SignType, p.sType), { name: 'Signature len', value: p.signature.length }, { name: 'Signature', value: hex(p.signature) }],
  },
  // RFC 3830 §6.6
  [PayloadType.T]: {
    title: 'Timestamp (T)', hasNext: true, head: 2, headName: 'T header',
    read(r, start) {
      const t = r.u8();
      const len = tsLength(t, start + 1);
      if (len === undefined) return FAILED;
      return { type: PayloadType.T, tsType: t, value: r.bytes(len, 'TS value'), span: { start, end: r.pos } };
    },
    size: (p) => 2 + p.value.length,
    write(w, p, chain, index) {
      const v = p.value;
      tsLengthOk(p.tsType, v, chain, index);
      w.buf[w.pos] = p.tsType;
      w.pos = put(w.buf, w.pos + 1, v);
    },
    fields: (p, d) => [en('TS type', TsType, p.tsType), d.ts(p.tsType, p.value)],
  },
  // RFC 3830 §6.7
  [PayloadType.Id]: {
    title: 'ID', hasNext: true, head: 4, headName: 'ID header',
    read(r, start) {
      const idType = r.u8();
      const data = r.bytes(r.u16(), 'ID data');
      return { type: PayloadType.Id, idType, data, span: { start, end: r.pos } };
    },
    size: (p) => 4 + p.data.length,
    write(w, p, chain, index) {
      check16(p.data.length, chain, index);
      w.u8(p.idType);
      w.u16(p.data.length);
      w.bytes(p.data);
    },
    fields: (p) => [en('ID type', IdType, p.idType), { name: 'ID len', value: p.data.length }, { name: 'ID data', value: hex(p.data), meaning: printable(p.data) }],
  },
  // RFC 3830 §6.7
  [PayloadType.Cert]: {
    title: 'Certificate (CERT)', hasNext: true, head: 4, headName: 'CERT header',
    read(r, start) {
      const certType = r.u8();
      const data = r.bytes(r.u16(), 'CERT data');
      return { type: PayloadType.Cert, certType, data, span: { start, end: r.pos } };
    },
    size: (p) => 4 + p.data.length,
    write(w, p, chain, index) {
      check16(p.data.length, chain, index);
      w.u8(p.certType);
      w.u16(p.data.length);
      w.bytes(p.data);
    },
    fields: (p) => [en('Cert type', CertType, p.certType), { name: 'Cert len', value: p.data.length },
      { name: 'Cert data', value: hex(p.data), meaning: p.certType === CertType.X509v3Url ? printable(p.data) : undefined }],
  },
  // RFC 3830 §6.8
  [PayloadType.Chash]: {
    title: 'Cert Hash (CHASH)', hasNext: true, head: 2, headName: 'CHASH header',
    read(r, start) {
      const hashFunc = r.u8();
      const len = HASH_LENGTH[hashFunc];
      if (len === undefined) return fail(start + 1, `unknown hash function ${hashFunc}`, ErrorNo.InvalidHa);
      return { type: PayloadType.Chash, hashFunc, hash: r.bytes(len, 'Hash'), span: { start, end: r.pos } };
    },
    size: (p) => 2 + p.hash.length,
    write(w, p, chain, index) {
      if (!(HASH_LENGTH[p.hashFunc] === p.hash.length)) bad(indexed(chain, index), `hash of ${p.hash.length} bytes for hash func ${p.hashFunc}`);
      w.u8(p.hashFunc);
      w.bytes(p.hash);
    },
    fields: (p) => [en('Hash func', HashFunc, p.hashFunc), { name: 'Hash', value: hex(p.hash) }],
  },
  // RFC 3830 §6.9
  [PayloadType.V]: {
    title: 'Verification (V)', hasNext: true, head: 2, headName: 'V header',
    read(r, start) {
      const authAlg = r.u8();
      const len = MAC_LENGTH[authAlg];
      if (len === undefined) return fail(start + 1, `unknown Auth alg ${authAlg}`, ErrorNo.InvalidMac);
      return { type: PayloadType.V, authAlg, mac: r.bytes(len, 'Ver data'), span: { start, end: r.pos } };
    },
    size: (p) => 2 + p.mac.length,
    write(w, p, chain, index) {
      if (!(MAC_LENGTH[p.authAlg] === p.mac.length)) bad(indexed(chain, index), `Ver data of ${p.mac.length} bytes for auth alg ${p.authAlg}`);
      w.u8(p.authAlg);
      w.bytes(p.mac);
    },
    fields: (p) => [en('Auth alg', MacAlg, p.authAlg), { name: 'Ver data', value: hex(p.mac) }],
  },
  // RFC 3830 §6.10: Type(8) Length(8) Value parameters, each checked to fit the block
  [PayloadType.Sp]: {
    title: 'Security Policy (SP)', hasNext: true, head: 5, headName: 'SP header',
    read(r, start) {
      const policyNo = r.u8();
      const protType = r.u8();
      const len = r.u16();
      if (!r.need(len, 'Policy param')) return FAILED;
      const b = r.buf;
      const end = r.pos + len;
      const params: PolicyParam[] = [];
      for (let o = r.pos; o < end; ) {
        if (end - o < 2) return fail(o, `truncated policy parameter header: needs 2 byte(s), ${end - o} left`);
        const vlen = b[o + 1]!;
        if (end - o - 2 < vlen) return fail(o + 2, `truncated policy parameter ${b[o]!} value: needs ${vlen} byte(s), ${end - o - 2} left`);
        params.push({ type: b[o]!, value: new Uint8Array(r.ab, r.base + o + 2, vlen) });
        o += 2 + vlen;
      }
      r.pos = end;
      return { type: PayloadType.Sp, policyNo, protType, params, span: { start, end } };
    },
    size: (p) => 5 + (p.params ? paramsLength(p.params) : p.paramBytes?.length ?? 0),
    write(w, p, chain, index) {
      const params = p.params;
      const b = w.buf;
      const lenAt = w.pos + 2;
      b[lenAt - 2] = p.policyNo;
      b[lenAt - 1] = p.protType;
      if (params) {
        // Type(8) Length(8) Value, straight into the buffer (most values are one byte), then the length
        let o = lenAt + 2;
        for (let i = 0; i < params.length; i++) {
          const q = params[i]!;
          const v = q.value;
          const len = v.length;
          if (len > 0xff) {
            // the block's 16-bit length is reported first, as before the parameters are written
            check16(paramsLength(params), chain, index);
            bad(inside(chain, index, `param ${q.type}`), `${len} bytes do not fit an 8-bit length`);
          }
          b[o] = q.type;
          b[o + 1] = len;
          if (len === 1) b[o + 2] = v[0]!;
          else put(b, o + 2, v);
          o += 2 + len;
        }
        const n = o - lenAt - 2;
        check16(n, chain, index);
        b[lenAt] = n >>> 8;
        b[lenAt + 1] = n;
        w.pos = o;
      } else {
        const pb = p.paramBytes ?? EMPTY;
        check16(pb.length, chain, index);
        b[lenAt] = pb.length >>> 8;
        b[lenAt + 1] = pb.length;
        w.pos = put(b, lenAt + 2, pb);
      }
    },
    fields(p) {
      const params = policyParams(p);
      return [{ name: 'Policy no', value: p.policyNo }, en('Prot type', ProtType, p.protType),
        { name: 'Policy param length', value: paramsLength(params) }, ...params.map((q) => policyParamField(p.protType, q.type, q.value))];
    },
  },
  // RFC 3830 §6.11
  [PayloadType.Rand]: {
    title: 'RAND', hasNext: true, head: 2, headName: 'RAND header',
    read: (r, start) => ({ type: PayloadType.Rand, rand: r.bytes(r.u8(), 'RAND'), span: { start, end: r.pos } }),
    size: (p) => 2 + p.rand.length,
    write(w, p, chain, index) {
      const rand = p.rand;
      check8(rand, chain, index);
      w.buf[w.pos] = rand.length;
      w.pos = put(w.buf, w.pos + 1, rand);
    },
    fields: (p) => [{ name: 'RAND len', value: p.rand.length }, { name: 'RAND', value: hex(p.rand) }],
  },
  // RFC 3830 §6.12
  [PayloadType.Err]: {
    title: 'Error (ERR)', hasNext: true, head: 4, headName: 'ERR payload',
    read(r, start) {
      const errorNo = r.u8();
      return { type: PayloadType.Err, errorNo, reserved: r.u16(), span: { start, end: r.pos } };
    },
    size: () => 4,
    write(w, p) {
      w.u8(p.errorNo);
      w.u16(p.reserved & 0xffff);
    },
    fields: (p) => [en('Error no', ErrorNo, p.errorNo), { name: 'Reserved', value: p.reserved }],
  },
  // RFC 6043 §6.4
  [PayloadType.Tr]: {
    title: 'Timestamp with Role (TR)', hasNext: true, head: 3, headName: 'TR header',
    read(r, start) {
      const role = r.u8();
      const t = r.u8();
      const len = tsLength(t, start + 2);
      if (len === undefined) return FAILED;
      return { type: PayloadType.Tr, role, tsType: t, value: r.bytes(len, 'TS value'), span: { start, end: r.pos } };
    },
    size: (p) => 3 + p.value.length,
    write(w, p, chain, index) {
      tsLengthOk(p.tsType, p.value, chain, index);
      w.u8(p.role);
      w.u8(p.tsType);
      w.bytes(p.value);
    },
    fields: (p, d) => [en('TS role', TsRole, p.role), en('TS type', TsType, p.tsType), d.ts(p.tsType, p.value)],
  },
  // RFC 6043 §6.6
  [PayloadType.Idr]: {
    title: 'ID with Role (IDR)', hasNext: true, head: 5, headName: 'IDR header',
    read(r, start) {
      const role = r.u8();
      const idType = r.u8();
      return { type: PayloadType.Idr, role, idType, data: r.bytes(r.u16(), 'ID data'), span: { start, end: r.pos } };
    },
    size: (p) => 5 + p.data.length,
    write(w, p, chain, index) {
      check16(p.data.length, chain, index);
      w.u8(p.role);
      w.u8(p.idType);
      w.u16(p.data.length);
      w.bytes(p.data);
    },
    fields: (p) => [en('ID role', IdRole, p.role), en('ID type', IdType, p.idType), { name: 'ID len', value: p.data.length },
      { name: 'ID data', value: hex(p.data), meaning: printable(p.data) }],
  },
  // RFC 6043 §6.8
  [PayloadType.Randr]: {
    title: 'RAND with Role (RANDR)', hasNext: true, head: 3, headName: 'RANDR header',
    read(r, start) {
      const role = r.u8();
      return { type: PayloadType.Randr, role, rand: r.bytes(r.u8(), 'RAND'), span: { start, end: r.pos } };
    },
    size: (p) => 3 + p.rand.length,
    write(w, p, chain, index) {
      check8(p.rand, chain, index);
      w.u8(p.role);
      w.u8(p.rand.length);
      w.bytes(p.rand);
    },
    fields: (p) => [en('RAND role', RandRole, p.role), { name: 'RAND len', value: p.rand.length }, { name: 'RAND', value: hex(p.rand) }],
  },
  // RFC 6043 §6.10
  [PayloadType.Tp]: {
    title: 'Ticket Policy (TP)', hasNext: true, head: 8, headName: 'TP header',
    read: (r, start, dataType) => readTicketLike(r, start, dataType, PayloadType.Tp) as TpPayload,
    size: ticketLikeSize,
    write: writeTicketLike,
    fields: ticketLikeFields,
  },
  // RFC 6043 §6.10
  [PayloadType.Ticket]: {
    title: 'Ticket (TICKET)', hasNext: true, head: 8, headName: 'TICKET header',
    read: (r, start, dataType) => readTicketLike(r, start, dataType, PayloadType.Ticket) as TicketPayload,
    size: ticketLikeSize,
    write: writeTicketLike,
    fields: ticketLikeFields,
  },
  // RFC 3830 §6.13
  [PayloadType.KeyData]: {
    title: 'Key Data', hasNext: true, head: 4, headName: 'Key data header',
    read(r, start) {
      const b = r.u8();
      const keyType = b >>> 4;
      if (keyType > KeyDataType.KPr) return fail(start + 1, `unknown key data type ${keyType}`);
      const keyData = r.bytes(r.u16(), 'Key data');
      let salt: Uint8Array | undefined;
      if (keyTypeHasSalt(keyType)) {
        if (!r.need(2, 'Salt length')) return FAILED;
        salt = r.bytes(r.u16(), 'Salt data');
      }
      const validity = readValidity(r, b & 0x0f, start + 1);
      return { type: PayloadType.KeyData, keyType, keyData, salt, validity, span: { start, end: r.pos } };
    },
    size: (p) => 4 + p.keyData.length + (keyTypeHasSalt(p.keyType) ? 2 + (p.salt ? p.salt.length : 0) : 0) + validitySize(p.validity),
    write(w, p, chain, index) {
      const keyType = p.keyType;
      const kd = p.keyData;
      const salt = p.salt;
      const validity = p.validity;
      if (!(fits(keyType, 4))) bad(indexed(chain, index), 'key data type out of range (4 bits)');
      check16(kd.length, chain, index);
      const salted = keyTypeHasSalt(keyType);
      if (!salted && salt !== undefined) bad(indexed(chain, index), 'salt given for a key data type without +SALT');
      const b = w.buf;
      let o = w.pos;
      b[o] = (keyType << 4) | validity.kv;
      b[o + 1] = kd.length >>> 8;
      b[o + 2] = kd.length;
      o = put(b, o + 3, kd);
      if (salted) {
        const n = salt ? salt.length : 0;
        check16(n, chain, index, 'salt');
        b[o] = n >>> 8;
        b[o + 1] = n;
        o += 2;
        if (salt) o = put(b, o, salt);
      }
      w.pos = o;
      writeValidity(w, validity, chain, index);
    },
    fields(p) {
      const c: Field[] = [en('Type', KeyDataType, p.keyType), en('KV', KvType, p.validity.kv), { name: 'Key data len', value: p.keyData.length }, { name: 'Key data', value: hex(p.keyData) }];
      if (p.salt) c.push({ name: 'Salt len', value: p.salt.length }, { name: 'Salt data', value: hex(p.salt) });
      return [...c, ...validityFields(p.validity)];
    },
  },
  // RFC 3830 §6.15
  [PayloadType.GeneralExt]: {
    title: 'General Extension', hasNext: true, head: 4, headName: 'General Ext. header',
    read: readGeneralExt,
    size: (p) => 4 + genExtData(p).length,
    write(w, p, chain, index) {
      const data = genExtData(p);
      check16(data.length, chain, index);
      w.u8(p.extType);
      w.u16(data.length);
      w.bytes(data);
    },
    fields: generalExtFields,
  },
  // RFC 6267 §6.1.1
  [PayloadType.Ibake]: {
    title: 'IBAKE', hasNext: true, head: 3, headName: 'IBAKE header',
    read: (r, start) => ({ type: PayloadType.Ibake, encrData: r.bytes(r.u16(), 'Encr data'), span: { start, end: r.pos } }),
    size: (p) => 3 + p.encrData.length,
    write(w, p, chain, index) {
      check16(p.encrData.length, chain, index);
      w.u16(p.encrData.length);
      w.bytes(p.encrData);
    },
    fields: (p) => [{ name: 'Encr data len', value: p.encrData.length }, { name: 'Encr data', value: hex(p.encrData) }],
  },
  // RFC 6267 §6.1.2
  [PayloadType.Esk]: {
    title: 'Encrypted Secret Key (ESK)', hasNext: true, head: 3, headName: 'ESK header',
    read: (r, start) => ({ type: PayloadType.Esk, encrData: r.bytes(r.u16(), 'Encr data'), span: { start, end: r.pos } }),
    size: (p) => 3 + p.encrData.length,
    write(w, p, chain, index) {
      check16(p.encrData.length, chain, index);
      w.u16(p.encrData.length);
      w.bytes(p.encrData);
    },
    fields: (p) => [{ name: 'Encr data len', value: p.encrData.length }, { name: 'Encr data', value: hex(p.encrData) }],
  },
  // RFC 6267 §6.1.5
  [PayloadType.Sk]: {
    title: 'Secret Key (SK)', hasNext: true, head: 4, headName: 'SK header',
    read(r, start) {
      const b = r.u8();
      const keyData = r.bytes(r.u16(), 'Key data');
      if (failure) return FAILED;
      const validity = readValidity(r, b & 0x0f, start + 1);
      return { type: PayloadType.Sk, skType: b >>> 4, keyData, validity, span: { start, end: r.pos } };
    },
    size: (p) => 4 + p.keyData.length + validitySize(p.validity),
    write(w, p, chain, index) {
      check16(p.keyData.length, chain, index);
      w.u8((p.skType << 4) | p.validity.kv);
      w.u16(p.keyData.length);
      w.bytes(p.keyData);
      writeValidity(w, p.validity, chain, index);
    },
    fields: (p) => [en('Type', SkType, p.skType), en('KV', KvType, p.validity.kv), { name: 'Key data', value: hex(p.keyData) }, ...validityFields(p.validity)],
  },
  // RFC 6267 §6.1.4: point as SEC 1 octet string, padded to end on a 32-bit boundary.
  [PayloadType.Eccpt]: {
    title: 'EC Diffie-Hellman (ECCPT)', hasNext: true, head: 3, headName: 'ECCPT header',
    read(r, start) {
      const curve = r.u8();
      const flen = ECC_FIELD_LENGTH[curve];
      if (flen === undefined) return fail(start + 1, `unknown ECC curve ${curve}`);
      const form = r.buf[r.pos]!;
      const plen = form === 0x04 ? 1 + 2 * flen : form === 0x02 || form === 0x03 ? 1 + flen : form === 0x00 ? 1 : -1;
      if (plen < 0) return fail(r.pos, `unknown point encoding 0x${form.toString(16).padStart(2, '0')}`);
      const point = r.bytes(plen, 'ECC point');
      const padding = r.bytes((4 - ((2 + plen) & 3)) & 3, 'ECC point padding');
      if (!r.need(4, 'ECCPT trailer')) return FAILED;
      const authAlg = r.u8();
      const tgkLen = r.u16();
      const b = r.u8();
      const validity = readValidity(r, b & 0x0f, r.pos - 1);
      return { type: PayloadType.Eccpt, curve, point, padding, authAlg, tgkLen, reserved: b >>> 4, validity, span: { start, end: r.pos } };
    },
    size: (p) => 2 + p.point.length + p.padding.length + 4 + validitySize(p.validity),
    write(w, p, chain, index) {
      if (!(ECC_FIELD_LENGTH[p.curve] !== undefined)) bad(indexed(chain, index), `unknown ECC curve ${p.curve}`);
      if (!(((2 + p.point.length + p.padding.length) & 3) === 0 && p.padding.length < 4)) bad(indexed(chain, index), 'ECC point padding does not end on a 32-bit boundary');
      w.u8(p.curve);
      w.bytes(p.point);
      w.bytes(p.padding);
      w.u8(p.authAlg);
      w.u16(p.tgkLen);
      w.u8(((p.reserved & 0xf) << 4) | p.validity.kv);
      writeValidity(w, p.validity, chain, index);
    },
    fields: (p) => [en('ECC curve', EccCurve, p.curve), { name: 'ECC point', value: hex(p.point) }, { name: 'Auth alg', value: p.authAlg },
      { name: 'TGK len', value: p.tgkLen }, en('KV', KvType, p.validity.kv), ...validityFields(p.validity)],
  },
  // RFC 6509 §4.2
  [PayloadType.Sakke]: {
    title: 'SAKKE', hasNext: true, head: 5, headName: 'SAKKE header',
    read(r, start): SakkePayload {
      const sakkeParams = r.u8();
      const idScheme = r.u8();
      const data = r.bytes(r.u16(), 'SAKKE data');
      return { type: PayloadType.Sakke, sakkeParams, idScheme, data, span: { start, end: r.pos } };
    },
    size: (p) => 5 + p.data.length,
    write(w, p, chain, index) {
      check16(p.data.length, chain, index);
      w.u8(p.sakkeParams);
      w.u8(p.idScheme);
      w.u16(p.data.length);
      w.bytes(p.data);
    },
    fields: (p) => [en('SAKKE params', SakkeParams, p.sakkeParams), en('ID scheme', SakkeIdScheme, p.idScheme),
      { name: 'SAKKE data len', value: p.data.length }, { name: 'SAKKE data', value: hex(p.data) }],
  },
  // RFC 6043 App. A.3
  [THDR_PAYLOAD]: {
    title: 'Ticket Header (THDR)', hasNext: true, head: 3, headName: 'THDR header',
    read: (r, start) => ({ type: THDR_PAYLOAD, data: r.bytes(r.u16(), 'THDR data'), span: { start, end: r.pos } }),
    size: (p) => 3 + p.data.length,
    write(w, p, chain, index) {
      check16(p.data.length, chain, index);
      w.u16(p.data.length);
      w.bytes(p.data);
    },
    fields: (p) => [{ name: 'THDR data', value: hex(p.data) }],
  },
};

/** The table indexed by payload type (0..256), for the chains' lookups. */
const BY_TYPE: ReadonlyArray<PayloadCodec | undefined> = (() => {
  const t = new Array<PayloadCodec | undefined>(THDR_PAYLOAD + 1).fill(undefined);
  for (const [k, c] of Object.entries(CODECS)) t[Number(k)] = c as PayloadCodec;
  return t;
})();

/** The codec of payload type `type` (undefined for a type without one). */
export function payloadCodec<T extends Payload['type']>(type: T): PayloadCodec<PayloadOf<T>>;
export function payloadCodec(type: number): PayloadCodec | undefined;
export function payloadCodec(type: number): PayloadCodec | undefined {
  return BY_TYPE[type];
}

// ---- chains ---------------------------------------------------------------------------------

/** Where a chain sits: top-level message payloads, or a nested container. */
export const enum Ctx { Message, KemacPlain, TpData, InitiatorData, TicketData, IbakePlain, EskPlain }

/** Which payload types may appear in each context: a lookup table indexed by type (0..256). */
const allow = (...types: number[]): Uint8Array => {
  const t = new Uint8Array(THDR_PAYLOAD + 1);
  for (const x of types) t[x] = 1;
  return t;
};
const P = PayloadType;
const ALLOWED: Record<Ctx, Uint8Array> = {
  [Ctx.Message]: allow(P.Kemac, P.Pke, P.Dh, P.Sign, P.T, P.Id, P.Cert, P.Chash, P.V, P.Sp, P.Rand, P.Err, P.Tr, P.Idr, P.Randr, P.Tp,
    P.Ticket, P.GeneralExt, P.Ibake, P.Esk, P.Sakke),
  [Ctx.KemacPlain]: allow(P.KeyData, P.Id, P.Idr),
  [Ctx.TpData]: allow(P.Kemac, P.T, P.Id, P.Cert, P.V, P.Sp, P.Rand, P.Tr, P.Idr, P.Randr, P.GeneralExt),
  [Ctx.InitiatorData]: allow(P.V, P.T, P.Id, P.Rand, P.Tr, P.Idr, P.Randr, P.GeneralExt),
  [Ctx.TicketData]: allow(THDR_PAYLOAD, P.Kemac, P.T, P.Id, P.V, P.Rand, P.Tr, P.Idr, P.Randr, P.GeneralExt),
  [Ctx.IbakePlain]: allow(P.Id, P.Idr, P.Eccpt),
  [Ctx.EskPlain]: allow(P.Id, P.Idr, P.Sk),
};
const CTX_NAME: Record<Ctx, string> = {
  [Ctx.Message]: 'a message', [Ctx.KemacPlain]: 'KEMAC data', [Ctx.TpData]: 'TP data',
  [Ctx.InitiatorData]: 'Initiator data', [Ctx.TicketData]: 'Ticket data',
  [Ctx.IbakePlain]: 'IBAKE data', [Ctx.EskPlain]: 'ESK data',
};

/** Read one payload of type `type` at `r.pos`, its Next payload byte ignored. */
function readOne<T extends Payload['type']>(r: Reader, type: T, dataType: number): PayloadOf<T> {
  const c = payloadCodec(type);
  const start = r.pos;
  if (!r.need(c.head, c.headName)) return FAILED;
  if (c.hasNext) r.pos = start + 1;
  return c.read(r, start, dataType);
}

/**
 * Read the chain that starts with a payload of type `first`, up to Last payload (or SIGN). On
 * an error (recorded in `failure`) it returns what it has read so far.
 */
export function readChain(r: Reader, first: number, ctx: Ctx, dataType: number): Payload[] {
  const out: Payload[] = [];
  let type = first;
  const allowed = ALLOWED[ctx];
  while (type !== PayloadType.Last) {
    const start = r.pos;
    if (allowed[type] !== 1) {
      const known = BY_TYPE[type] !== undefined;
      fail(start, known ? `${payloadName(type)} payload not allowed in ${CTX_NAME[ctx]}` : `unknown payload type ${type}`);
      return out;
    }
    const c = BY_TYPE[type]!;
    let p: Payload;
    decodePath.payload(type, out.length, start);
    if (!r.need(c.head, c.headName)) return out;
    if (!c.hasNext) {
      p = c.read(r, start, dataType);
    } else {
      r.pos = start + 1;
      p = c.read(r, start, dataType);
    }
    if (failure) return out;
    decodePath.leave();
    out.push(p);
    if (!c.hasNext) {
      // RFC 3830 §6.5: SIGN has no next-payload field and is always last.
      if (r.pos !== r.end) fail(r.pos, `${r.end - r.pos} byte(s) after the SIGN payload (SIGN must be last)`);
      break;
    }
    type = r.buf[start]!;
  }
  return out;
}

/** TP Data and Initiator Data: a First Payload byte, then MIKEY payloads (RFC 6043 §6.10). */
function readFirstPayloadChain(r: Reader, ctx: Ctx, dataType: number, label: string): PayloadChain {
  if (r.pos === r.end) return { payloads: [] };
  const first = r.u8();
  decodePath.label(label);
  const payloads = readChain(r, first, ctx, dataType);
  if (failure) return FAILED;
  if (r.pos !== r.end) return fail(r.pos, `${r.end - r.pos} byte(s) after the last payload`);
  decodePath.leave();
  return payloads.length === 0 ? { payloads, emptyMarker: true } : { payloads };
}

export function chainSize(ps: readonly Payload[]): number {
  let n = 0;
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    n += (BY_TYPE[p.type] as PayloadCodec).size(p);
  }
  return n;
}
function firstChainSize(c: PayloadChain): number {
  return c.payloads.length === 0 ? (c.emptyMarker ? 1 : 0) : 1 + chainSize(c.payloads);
}

/** Write a chain: each payload's Next payload byte, then the payload. */
export function writeChain(w: Writer, ps: readonly Payload[], chain: Where): void {
  const n = ps.length;
  if (n === 0) return;
  // each payload's type is read once (the loads see every payload shape: they are megamorphic)
  let p = ps[0]!;
  let type: number = p.type;
  for (let i = 0; i < n; i++) {
    const c = BY_TYPE[type] as PayloadCodec;
    const nxt = i + 1 < n ? ps[i + 1]! : undefined;
    const nextType: number = nxt !== undefined ? nxt.type : PayloadType.Last;
    if (nxt !== undefined && nextType === THDR_PAYLOAD) bad(indexed(chain, i + 1), 'THDR must be the first payload of ticket data');
    const start = w.pos;
    if (c.hasNext) w.buf[w.pos++] = nextType;
    else if (nxt !== undefined) bad(indexed(chain, i), 'SIGN must be the last payload');
    c.write(w, p, chain, i);
    if (w.spans) w.spans.set(p, { start, end: w.pos });
    if (nxt === undefined) break;
    p = nxt;
    type = nextType;
  }
}
function writeFirstChain(w: Writer, c: PayloadChain, chain: Where): void {
  if (c.payloads.length === 0) {
    if (c.emptyMarker) w.u8(PayloadType.Last);
    return;
  }
  w.u8(c.payloads[0]!.type);
  writeChain(w, c.payloads, chain);
}

/** Encode a chain of payloads without a header, into bytes of its own. */
export function encodeChain(ps: readonly Payload[]): Uint8Array {
  const size = chainSize(ps);
  const w = new Writer(new Uint8Array(size), undefined);
  writeChain(w, ps, 'payload');
  if (w.pos !== size) bad('payload', `internal size mismatch ${w.pos} != ${size}`);
  return w.buf;
}

// ---- description ----------------------------------------------------------------------------

/** A payload's field node: its title, offset, Next payload (`next`, but for SIGN) and fields. */
export function describePayload(p: Payload, next: number, d: Describer): Field {
  const c = BY_TYPE[p.type] as PayloadCodec;
  const fields = c.fields(p, d);
  return { name: c.title, offset: p.span?.start, children: c.hasNext ? [en('Next payload', PayloadType, next), ...fields] : fields };
}

/** The field nodes of a chain of payloads. */
export function describeChain(ps: readonly Payload[], d: Describer): Field[] {
  return ps.map((p, i) => describePayload(p, ps[i + 1]?.type ?? PayloadType.Last, d));
}
