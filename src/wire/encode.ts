// MIKEY encoder: writes the message in one pass into a private scratch buffer and copies it
// into an allocation of its exact size (header.ts and payloads.ts give every structure's size
// beside its layout, for `encodedSize` and messages too large for the scratch). Next-payload
// fields and lengths are derived from the model; a decoded message encodes to its own bytes.
// Every encoded message owns its bytes: `bytes.buffer` holds that message and nothing else;
// `encodeMessageInto` writes into the caller's own buffer instead.
import { bad, Writer } from './cursor.js';
import { headerSize, writeHeader } from './header.js';
import { PayloadType } from './registry.js';
import { chainSize, encodeChain, writeChain } from './payloads.js';
import type { Message, Payload, Span } from './types.js';

/** Encode a chain of payloads without a header (KEMAC plaintext, IBAKE/ESK plaintext, ticket data). */
export function encodePayloads(ps: readonly Payload[]): Uint8Array {
  return encodeChain(ps);
}

/** Write the header and payloads into `buf` from `offset`; the writer's `pos` is past the end of `buf` when it did not fit. */
function writeMessage(buf: Uint8Array, offset: number, msg: Message, spans: Map<Payload, Span> | undefined): Writer {
  const ps = msg.payloads;
  const w = new Writer(buf, spans, offset);
  writeHeader(w, msg.header, ps.length > 0 ? ps[0]!.type : PayloadType.Last);
  writeChain(w, ps, 'payload');
  return w;
}

// The encoder's private scratch: a message is written there in one pass (no sizing pass) and
// copied out into bytes of its own. It is never handed out; it grows up to SCRATCH_MAX, larger
// messages are sized first and written into their own allocation.
const SCRATCH_MAX = 1 << 16;
let scratch = new Uint8Array(2048);
let scratchBusy = false;

/** Size, one exact allocation, write. */
function exact(msg: Message, spans: Map<Payload, Span> | undefined): Uint8Array {
  const size = encodedSize(msg);
  spans?.clear();
  const w = writeMessage(new Uint8Array(size), 0, msg, spans);
  if (w.pos !== size) bad('message', `internal size mismatch ${w.pos} != ${size}`);
  return w.buf;
}

/** The message in bytes of its own (with the spans of every payload when `spans` is given). */
function owned(msg: Message, spans: Map<Payload, Span> | undefined): Uint8Array {
  // a message encoded while one is being written (a nested encode) gets its own buffer
  if (scratchBusy) return exact(msg, spans);
  scratchBusy = true;
  try {
    const n = writeMessage(scratch, 0, msg, spans).pos;
    if (n <= scratch.length) return scratch.slice(0, n);
    if (n > SCRATCH_MAX) return exact(msg, spans);
    let size = scratch.length;
    while (size < n) size *= 2;
    scratch = new Uint8Array(size);
    spans?.clear();
    return scratch.slice(0, writeMessage(scratch, 0, msg, spans).pos);
  } finally {
    scratchBusy = false;
  }
}

/** Encode a message into bytes of its own. Throws `MikeyEncodeError` when a field does not fit its wire format. */
export function encodeMessage(msg: Message): Uint8Array {
  return owned(msg, undefined);
}

/**
 * Encode a message into `target` from `offset` (a send buffer the caller keeps and reuses, so no
 * allocation is made); returns the number of bytes written. What else `target` holds is the
 * caller's: the message does not own these bytes. Throws `MikeyEncodeError` when a field does
 * not fit its wire format or the message does not fit `target` (whose bytes from `offset` on are
 * then unspecified).
 */
export function encodeMessageInto(msg: Message, target: Uint8Array, offset = 0): number {
  if (!(Number.isInteger(offset) && offset >= 0 && offset <= target.length)) throw new RangeError(`offset ${offset} outside the target (${target.length} bytes)`);
  const end = writeMessage(target, offset, msg, undefined).pos;
  if (end > target.length) bad('message', `${end - offset} bytes do not fit the ${target.length - offset} left in the target`);
  return end - offset;
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
  const spans = new Map<Payload, Span>();
  const bytes = owned(msg, spans);
  return { bytes, header: { start: 0, end: headerSize(msg.header) }, spans };
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
