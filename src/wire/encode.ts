// MIKEY encoder: sizes the message first (header.ts and payloads.ts give every structure's
// size beside its layout), allocates exactly that, then writes it. Next-payload fields and
// lengths are derived from the model; a decoded message encodes to its own bytes. Every
// encoded message owns its bytes: `bytes.buffer` holds that message and nothing else.
import { bad, Writer } from './cursor.js';
import { headerSize, writeHeader } from './header.js';
import { PayloadType } from './registry.js';
import { chainSize, encodeChain, writeChain } from './payloads.js';
import type { Message, Payload, Span } from './types.js';

/** Encode a chain of payloads without a header (KEMAC plaintext, IBAKE/ESK plaintext, ticket data). */
export function encodePayloads(ps: readonly Payload[]): Uint8Array {
  return encodeChain(ps);
}

/** Size, one exact allocation, write (with the spans of every payload when `spans` is given). */
function write(msg: Message, spans: Map<Payload, Span> | undefined): Writer {
  const ps = msg.payloads;
  const size = headerSize(msg.header) + chainSize(ps);
  const w = new Writer(new Uint8Array(size), spans);
  writeHeader(w, msg.header, ps.length > 0 ? ps[0]!.type : PayloadType.Last);
  writeChain(w, ps, 'payload');
  if (w.pos !== size) bad('message', `internal size mismatch ${w.pos} != ${size}`);
  return w;
}

/** Encode a message into bytes of its own. Throws `MikeyEncodeError` when a field does not fit its wire format. */
export function encodeMessage(msg: Message): Uint8Array {
  return write(msg, undefined).buf;
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
  const bytes = write(msg, spans).buf;
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
