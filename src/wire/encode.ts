// MIKEY encoder: sizes the message once, then writes it into a single buffer. Next-payload
// fields and lengths are derived from the model; a decoded message encodes to its own bytes.
import { MikeyEncodeError } from './errors.js';
import {
  DH_VALUE_LENGTH, ECC_FIELD_LENGTH, EncrAlg, HASH_LENGTH, MAC_LENGTH, PayloadType, THDR_PAYLOAD, TS_LENGTH,
  keyTypeHasSalt,
} from './registry.js';
import type { CommonHeader, GeneralExtPayload, GenericIdEntry, KeyValidity, Message, Payload, PayloadChain, SakkePayload, Span } from './types.js';
import { TICKET_FLAG_NAMES } from './types.js';
import { policyParamsLength } from './sp.js';

/** Writes past the end of `buf` are dropped (typed arrays ignore them) but counted in `pos`. */
class Writer {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly spans?: Map<Payload, Span>) {}
  u8(v: number): void {
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v;
  }
  u32(v: number): void {
    const b = this.buf;
    b[this.pos++] = v >>> 24;
    b[this.pos++] = v >>> 16;
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v;
  }
  bytes(v: Uint8Array): void {
    const n = v.length;
    if (n > 24) {
      // past the end: only counted, so the caller sees the message did not fit (pos > length)
      if (this.pos + n <= this.buf.length) this.buf.set(v, this.pos);
    } else for (let i = 0; i < n; i++) this.buf[this.pos + i] = v[i]!;
    this.pos += n;
  }
}

/** A location for error messages, built only when an error is raised. */
type Where = string | (() => string) | { toString(): string };
const at = (w: Where): string => (typeof w === 'function' ? w() : String(w));

function bad(where: Where, reason: string): never {
  throw new MikeyEncodeError(at(where), reason);
}
function fits(v: number, bits: number): boolean {
  return Number.isInteger(v) && v >= 0 && v < 2 ** bits;
}
/** Length checks; `what` names the field within `where`, joined only when an error is raised. */
function len8(b: Uint8Array, where: Where, what?: string): void {
  if (b.length > 0xff) bad(what ? () => `${at(where)} ${what}` : where, `${b.length} bytes do not fit an 8-bit length`);
}
function len16(n: number, where: Where, what?: string): void {
  if (n > 0xffff) bad(what ? () => `${at(where)} ${what}` : where, `${n} bytes do not fit a 16-bit length`);
}

// ---- sizes --------------------------------------------------------------------------------

function headerSize(h: CommonHeader): number {
  const m = h.csIdMap;
  if (m.type === 0) return 10 + 9 * m.entries.length;
  if (m.type === 1) return 10;
  let n = 10;
  for (const e of m.entries) n += 3 + e.policies.length + 2 + sessionDataOf(e).length + 1 + e.spi.length;
  return n;
}

function sessionDataOf(e: GenericIdEntry): Uint8Array {
  if (e.sessionData.length > 0 || !e.srtp) return e.sessionData;
  const s = e.srtp;
  const out = new Uint8Array(e.s ? 10 : 4);
  const v = new DataView(out.buffer);
  v.setUint32(0, s.ssrc);
  if (e.s) {
    v.setUint32(4, s.roc ?? 0);
    v.setUint16(8, s.seq ?? 0);
  }
  return out;
}

function validitySize(v: KeyValidity): number {
  return v.kv === 0 ? 0 : v.kv === 1 ? 1 + v.spi.length : 2 + v.validFrom.length + v.validTo.length;
}

function chainSize(ps: readonly Payload[]): number {
  let n = 0;
  for (const p of ps) n += payloadSize(p);
  return n;
}
function firstChainSize(c: PayloadChain): number {
  return c.payloads.length === 0 ? (c.emptyMarker ? 1 : 0) : 1 + chainSize(c.payloads);
}

function payloadSize(p: Payload): number {
  switch (p.type) {
    case PayloadType.Kemac: return 4 + (p.encrAlg === EncrAlg.Null && p.plaintext ? chainSize(p.plaintext) : p.encrData.length) + 1 + p.mac.length;
    case PayloadType.Pke: return 3 + p.data.length;
    case PayloadType.Dh: return 2 + p.value.length + 1 + validitySize(p.validity);
    case PayloadType.Sign: return 2 + p.signature.length;
    case PayloadType.T: return 2 + p.value.length;
    case PayloadType.Id: case PayloadType.Cert: return 4 + p.data.length;
    case PayloadType.Chash: return 2 + p.hash.length;
    case PayloadType.V: return 2 + p.mac.length;
    case PayloadType.Sp: return 5 + policyParamsLength(p);
    case PayloadType.Rand: return 2 + p.rand.length;
    case PayloadType.Err: return 4;
    case PayloadType.Tr: return 3 + p.value.length;
    case PayloadType.Idr: return 5 + p.data.length;
    case PayloadType.Randr: return 3 + p.rand.length;
    case PayloadType.Tp: return 10 + firstChainSize(p.tpData);
    case PayloadType.Ticket: return 10 + firstChainSize(p.tpData) + 2 + ticketDataOf(p.ticketData, p.baseTicket).length + 2 + firstChainSize(p.initiatorData);
    case PayloadType.KeyData: return 4 + p.keyData.length + (keyTypeHasSalt(p.keyType) ? 2 + (p.salt?.length ?? 0) : 0) + validitySize(p.validity);
    case PayloadType.GeneralExt: return 4 + genExtData(p).length;
    case PayloadType.Ibake: case PayloadType.Esk: return 3 + p.encrData.length;
    case PayloadType.Sk: return 4 + p.keyData.length + validitySize(p.validity);
    case PayloadType.Eccpt: return 2 + p.point.length + p.padding.length + 4 + validitySize(p.validity);
    case PayloadType.Sakke: return 5 + p.data.length;
    case THDR_PAYLOAD: return 3 + p.data.length;
  }
}

function ticketDataOf(data: Uint8Array, base?: Payload[]): Uint8Array {
  return data.length > 0 || !base ? data : encodePayloads(base);
}
function genExtData(p: GeneralExtPayload): Uint8Array {
  if (p.data.length > 0) return p.data;
  if (p.sdpIds) return new TextEncoder().encode(p.sdpIds.join(';'));
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
  if (p.csbId !== undefined) {
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, p.csbId);
    return out;
  }
  if (p.omaBcast) {
    const out = new Uint8Array(1 + p.omaBcast.data.length);
    out[0] = p.omaBcast.subtype;
    out.set(p.omaBcast.data, 1);
    return out;
  }
  if (p.sakke) return encodePayloads([p.sakke]);
  return p.data;
}

// ---- writing ------------------------------------------------------------------------------

function writeHeader(w: Writer, h: CommonHeader, next: number): void {
  if (!(h.version === 1)) bad('HDR', `version ${h.version} (only 1 is defined)`);
  if (!(fits(h.dataType, 8))) bad('HDR', 'data type out of range');
  if (!(fits(h.prfFunc, 7))) bad('HDR', 'PRF func out of range (7 bits)');
  if (!(fits(h.csbId, 32))) bad('HDR', 'CSB ID out of range (32 bits)');
  w.u8(h.version);
  w.u8(h.dataType);
  w.u8(next);
  w.u8((h.v ? 0x80 : 0) | h.prfFunc);
  w.u32(h.csbId);
  const m = h.csIdMap;
  const n = m.type === 1 ? m.csCount : m.entries.length;
  if (!(fits(n, 8))) bad('HDR', `#CS ${n} out of range`);
  w.u8(n);
  w.u8(m.type);
  if (m.type === 0) {
    for (const e of m.entries) {
      w.u8(e.policyNo);
      w.u32(e.ssrc);
      w.u32(e.roc);
    }
  } else if (m.type === 2) {
    for (const e of m.entries) {
      if (!(e.policies.length < 128)) bad('HDR GENERIC-ID', '#P out of range (7 bits)');
      w.u8(e.csId);
      w.u8(e.protType);
      w.u8((e.s ? 0x80 : 0) | e.policies.length);
      for (const pn of e.policies) w.u8(pn);
      const sd = sessionDataOf(e);
      len16(sd.length, 'HDR GENERIC-ID session data');
      w.u16(sd.length);
      w.bytes(sd);
      len8(e.spi, 'HDR GENERIC-ID SPI');
      w.u8(e.spi.length);
      w.bytes(e.spi);
    }
  }
}

function writeValidity(w: Writer, v: KeyValidity, path: Where): void {
  if (v.kv === 1) {
    len8(v.spi, path, 'SPI');
    w.u8(v.spi.length);
    w.bytes(v.spi);
  } else if (v.kv === 2) {
    len8(v.validFrom, path, 'VF');
    len8(v.validTo, path, 'VT');
    w.u8(v.validFrom.length);
    w.bytes(v.validFrom);
    w.u8(v.validTo.length);
    w.bytes(v.validTo);
  }
}

function writeChain(w: Writer, ps: readonly Payload[], path: Where): void {
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    if (p.type === PayloadType.Sign && i !== ps.length - 1) bad(`${at(path)}[${i}]`, 'SIGN must be the last payload');
    const nxt = ps[i + 1];
    if (nxt && nxt.type === THDR_PAYLOAD) bad(`${at(path)}[${i + 1}]`, 'THDR must be the first payload of ticket data');
    const start = w.pos;
    writePayload(w, p, nxt ? nxt.type : PayloadType.Last, path, i);
    if (w.spans) w.spans.set(p, { start, end: w.pos });
  }
}
function writeFirstChain(w: Writer, c: PayloadChain, path: Where): void {
  if (c.payloads.length === 0) {
    if (c.emptyMarker) w.u8(0);
    return;
  }
  w.u8(c.payloads[0]!.type);
  writeChain(w, c.payloads, path);
}

/** The location of payload `index` of a chain, for error messages: built only when one is raised. */
class PayloadPath {
  constructor(readonly chain: Where, readonly index: number) {}
  toString(): string {
    return `${at(this.chain)}[${this.index}]`;
  }
}

function writePayload(w: Writer, p: Payload, next: number, chainPath: Where, index: number): void {
  const path = new PayloadPath(chainPath, index);
  switch (p.type) {
    case PayloadType.Kemac: {
      if (!(MAC_LENGTH[p.macAlg] === p.mac.length)) bad(path, `MAC of ${p.mac.length} bytes for MAC alg ${p.macAlg}`);
      w.u8(next); w.u8(p.encrAlg);
      if (p.encrAlg === EncrAlg.Null && p.plaintext) {
        // NULL encryption: the key data sub-payloads are written from their fields
        const lenAt = w.pos;
        w.u16(0);
        writeChain(w, p.plaintext, () => `${path} KEMAC`);
        const n = w.pos - lenAt - 2;
        len16(n, path, 'KEMAC');
        w.buf[lenAt] = n >>> 8; w.buf[lenAt + 1] = n;
      } else {
        const data = p.encrData;
        len16(data.length, path, 'KEMAC');
        w.u16(data.length); w.bytes(data);
      }
      w.u8(p.macAlg); w.bytes(p.mac);
      return;
    }
    case PayloadType.Pke:
      if (!(fits(p.c, 2))) bad(path, 'PKE C out of range (2 bits)');
      if (!(p.data.length < 1 << 14)) bad(path, 'PKE data longer than 14-bit length');
      w.u8(next); w.u16((p.c << 14) | p.data.length); w.bytes(p.data);
      return;
    case PayloadType.Dh:
      if (!(DH_VALUE_LENGTH[p.group] === p.value.length)) bad(path, `DH value of ${p.value.length} bytes for group ${p.group}`);
      w.u8(next); w.u8(p.group); w.bytes(p.value); w.u8(((p.reserved & 0xf) << 4) | p.validity.kv);
      writeValidity(w, p.validity, path);
      return;
    case PayloadType.Sign:
      if (!(fits(p.sType, 4))) bad(path, 'S type out of range (4 bits)');
      if (!(p.signature.length < 1 << 12)) bad(path, 'signature longer than 12-bit length');
      w.u16((p.sType << 12) | p.signature.length); w.bytes(p.signature);
      return;
    case PayloadType.T:
      if (!(TS_LENGTH[p.tsType] === p.value.length)) bad(path, `TS value of ${p.value.length} bytes for TS type ${p.tsType}`);
      w.u8(next); w.u8(p.tsType); w.bytes(p.value);
      return;
    case PayloadType.Id: case PayloadType.Cert:
      len16(p.data.length, path);
      w.u8(next); w.u8(p.type === PayloadType.Id ? p.idType : p.certType); w.u16(p.data.length); w.bytes(p.data);
      return;
    case PayloadType.Chash:
      if (!(HASH_LENGTH[p.hashFunc] === p.hash.length)) bad(path, `hash of ${p.hash.length} bytes for hash func ${p.hashFunc}`);
      w.u8(next); w.u8(p.hashFunc); w.bytes(p.hash);
      return;
    case PayloadType.V:
      if (!(MAC_LENGTH[p.authAlg] === p.mac.length)) bad(path, `Ver data of ${p.mac.length} bytes for auth alg ${p.authAlg}`);
      w.u8(next); w.u8(p.authAlg); w.bytes(p.mac);
      return;
    case PayloadType.Sp: {
      w.u8(next); w.u8(p.policyNo); w.u8(p.protType);
      const lenAt = w.pos;
      w.u16(0);
      if (p.params) {
        for (const q of p.params) {
          if (q.value.length > 0xff) bad(() => `${at(path)} param ${q.type}`, `${q.value.length} bytes do not fit an 8-bit length`);
          w.u8(q.type); w.u8(q.value.length); w.bytes(q.value);
        }
      } else if (p.paramBytes) w.bytes(p.paramBytes);
      const n = w.pos - lenAt - 2;
      len16(n, path);
      w.buf[lenAt] = n >>> 8; w.buf[lenAt + 1] = n;
      return;
    }
    case PayloadType.Rand:
      len8(p.rand, path);
      w.u8(next); w.u8(p.rand.length); w.bytes(p.rand);
      return;
    case PayloadType.Err:
      w.u8(next); w.u8(p.errorNo); w.u16(p.reserved & 0xffff);
      return;
    case PayloadType.Tr:
      if (!(TS_LENGTH[p.tsType] === p.value.length)) bad(path, `TS value of ${p.value.length} bytes for TS type ${p.tsType}`);
      w.u8(next); w.u8(p.role); w.u8(p.tsType); w.bytes(p.value);
      return;
    case PayloadType.Idr:
      len16(p.data.length, path);
      w.u8(next); w.u8(p.role); w.u8(p.idType); w.u16(p.data.length); w.bytes(p.data);
      return;
    case PayloadType.Randr:
      len8(p.rand, path);
      w.u8(next); w.u8(p.role); w.u8(p.rand.length); w.bytes(p.rand);
      return;
    case PayloadType.Tp: case PayloadType.Ticket: {
      if (!(fits(p.prfFunc, 7))) bad(path, 'TP PRF Func out of range (7 bits)');
      let bits = p.prfFunc << 17;
      TICKET_FLAG_NAMES.forEach((f, i) => { if (p.flags[f]) bits |= 1 << (16 - i); });
      bits |= p.reserved & 0x1f;
      w.u8(next); w.u16(p.ticketType); w.u8(p.subtype); w.u8(p.version);
      w.u16(bits >>> 8); w.u8(bits & 0xff);
      const tp = firstChainSize(p.tpData);
      len16(tp, path, 'TP data');
      w.u16(tp);
      writeFirstChain(w, p.tpData, () => `${at(path)} TP data`);
      if (p.type === PayloadType.Ticket) {
        const td = ticketDataOf(p.ticketData, p.baseTicket);
        len16(td.length, path, 'Ticket data');
        w.u16(td.length); w.bytes(td);
        const id = firstChainSize(p.initiatorData);
        len16(id, path, 'Initiator data');
        w.u16(id);
        writeFirstChain(w, p.initiatorData, () => `${at(path)} Initiator data`);
      }
      return;
    }
    case PayloadType.KeyData: {
      if (!(fits(p.keyType, 4))) bad(path, 'key data type out of range (4 bits)');
      len16(p.keyData.length, path);
      w.u8(next); w.u8((p.keyType << 4) | p.validity.kv); w.u16(p.keyData.length); w.bytes(p.keyData);
      if (keyTypeHasSalt(p.keyType)) {
        const salt = p.salt ?? new Uint8Array(0);
        len16(salt.length, path, 'salt');
        w.u16(salt.length); w.bytes(salt);
      } else {
        if (!(p.salt === undefined)) bad(path, 'salt given for a key data type without +SALT');
      }
      writeValidity(w, p.validity, path);
      return;
    }
    case PayloadType.GeneralExt: {
      const data = genExtData(p);
      len16(data.length, path);
      w.u8(next); w.u8(p.extType); w.u16(data.length); w.bytes(data);
      return;
    }
    case PayloadType.Ibake: case PayloadType.Esk:
      len16(p.encrData.length, path);
      w.u8(next); w.u16(p.encrData.length); w.bytes(p.encrData);
      return;
    case PayloadType.Sk:
      len16(p.keyData.length, path);
      w.u8(next); w.u8((p.skType << 4) | p.validity.kv); w.u16(p.keyData.length); w.bytes(p.keyData);
      writeValidity(w, p.validity, path);
      return;
    case PayloadType.Eccpt: {
      if (!(ECC_FIELD_LENGTH[p.curve] !== undefined)) bad(path, `unknown ECC curve ${p.curve}`);
      if (!(((2 + p.point.length + p.padding.length) & 3) === 0 && p.padding.length < 4)) bad(path, 'ECC point padding does not end on a 32-bit boundary');
      w.u8(next); w.u8(p.curve); w.bytes(p.point); w.bytes(p.padding);
      w.u8(p.authAlg); w.u16(p.tgkLen); w.u8(((p.reserved & 0xf) << 4) | p.validity.kv);
      writeValidity(w, p.validity, path);
      return;
    }
    case PayloadType.Sakke:
      writeSakke(w, p, next, path);
      return;
    case THDR_PAYLOAD:
      len16(p.data.length, path);
      w.u8(next); w.u16(p.data.length); w.bytes(p.data);
      return;
  }
}

function writeSakke(w: Writer, p: SakkePayload, next: number, path: Where): void {
  len16(p.data.length, path);
  w.u8(next); w.u8(p.sakkeParams); w.u8(p.idScheme); w.u16(p.data.length); w.bytes(p.data);
}

/** Encode a chain of payloads without a header (KEMAC plaintext, IBAKE/ESK plaintext, ticket data). */
export function encodePayloads(ps: readonly Payload[]): Uint8Array {
  const out = new Uint8Array(chainSize(ps));
  const w = new Writer(out);
  writeChain(w, ps, 'payload');
  return out;
}

/**
 * Output buffers of small messages are carved from a shared 16 KiB slab (as Node's Buffer pool
 * does): one typed-array view per message instead of a backing store of its own. Regions are
 * never handed out twice, and every byte of one is written by the encoder, so nothing of an
 * earlier message shows through the view.
 *
 * Kept because it pays: a backing store of its own costs more than encoding a PSK message
 * (on the bench machine `new Uint8Array(200)` took 2.7 µs where a view of the slab took 0.11 µs
 * and GStreamer encodes the message in about 0.5 µs). What it exposes: `bytes.buffer` of an
 * encoded message is the slab, so code holding one message can read the messages encoded
 * just before and after it (NULL-encrypted keys included), and transferring that buffer
 * (postMessage, `ArrayBuffer.transfer`) detaches theirs. Copy first (`bytes.slice()`) to
 * hand a message's buffer to code that may do either.
 */
const SLAB_SIZE = 16 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let slabUsed = 0;
function allocate(n: number): Uint8Array {
  if (n > SLAB_SIZE >>> 3) return new Uint8Array(n);
  if (slabUsed + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed = (slabUsed + n + 7) & ~7;
  return out;
}

/** Encode a message into a view of the shared slab (see above). Throws `MikeyEncodeError` when a field does not fit its wire format. */
export function encodeMessage(msg: Message): Uint8Array {
  const first = msg.payloads[0];
  const firstType = first ? first.type : PayloadType.Last;
  // One pass straight into the free part of the slab; a message that does not fit is sized
  // first and written again into a buffer of its own.
  if (SLAB_SIZE - slabUsed < 2048) {
    slab = new ArrayBuffer(SLAB_SIZE);
    slabUsed = 0;
  }
  const room = new Uint8Array(slab, slabUsed, SLAB_SIZE - slabUsed);
  const w = new Writer(room);
  writeHeader(w, msg.header, firstType);
  writeChain(w, msg.payloads, 'payload');
  if (w.pos <= room.length) {
    const out = new Uint8Array(slab, slabUsed, w.pos);
    slabUsed = (slabUsed + w.pos + 7) & ~7;
    return out;
  }
  const size = headerSize(msg.header) + chainSize(msg.payloads);
  const out = size > SLAB_SIZE >>> 3 ? new Uint8Array(size) : allocate(size);
  const w2 = new Writer(out);
  writeHeader(w2, msg.header, firstType);
  writeChain(w2, msg.payloads, 'payload');
  if (w2.pos !== size) bad('message', `internal size mismatch ${w2.pos} != ${size}`);
  return out;
}

/**
 * The bytes of an encoded message and where each payload sits in them, so the sender can fill
 * MACs and signatures and keep spans without decoding its own output.
 */
export interface EncodedMessage {
  bytes: Uint8Array;
  /** The common header. */
  header: Span;
  /** Every payload written, nested ones included (KEMAC key data, TP/Initiator/Ticket data), by object. */
  spans: ReadonlyMap<Payload, Span>;
}

/** Encode a message and record the span of every payload in it. */
export function encodeMessageWithSpans(msg: Message): EncodedMessage {
  const first = msg.payloads[0];
  const size = headerSize(msg.header) + chainSize(msg.payloads);
  const bytes = allocate(size);
  const spans = new Map<Payload, Span>();
  const w = new Writer(bytes, spans);
  writeHeader(w, msg.header, first ? first.type : PayloadType.Last);
  const header = { start: 0, end: w.pos };
  writeChain(w, msg.payloads, 'payload');
  if (w.pos !== size) bad('message', `internal size mismatch ${w.pos} != ${size}`);
  return { bytes, header, spans };
}

/** The span of `p` in an encoded message (it must be one of the payloads written). */
export function spanOf(e: EncodedMessage, p: Payload): Span {
  const s = e.spans.get(p);
  if (!s) throw new Error('internal: payload not in the encoded message');
  return s;
}

/**
 * `msg` as its receiver would decode it from `e` (its encoding): shallow copies of the header
 * and top-level payloads carrying their spans, and the bytes. The SIGN's signature is read from the bytes.
 */
export function spannedMessage(msg: Message, e: EncodedMessage): Message & { bytes: Uint8Array } {
  const payloads = msg.payloads.map((p) => {
    const span = spanOf(e, p);
    return p.type === PayloadType.Sign ? { ...p, signature: e.bytes.subarray(span.end - p.signature.length, span.end), span } : { ...p, span };
  });
  return { header: { ...msg.header, span: e.header }, payloads, bytes: e.bytes };
}

/** Size in bytes that `encodeMessage` will produce. */
export function encodedSize(msg: Message): number {
  return headerSize(msg.header) + chainSize(msg.payloads);
}
