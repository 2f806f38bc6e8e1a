// Typed payload lookups: `payloadOf(msg, PayloadType.Kemac)` is a KemacPayload, by the type map
// `PayloadOf` (one payload interface per Next payload value, RFC 3830 §6).
import type { Message, Payload, PayloadOf, Span } from './types.js';

/** A payload as decoded (or as `spannedMessage` rebuilds it): its byte span is known. */
export type Spanned<P extends Payload> = P & { span: Span };

/** A decoded message (it has its bytes): every top-level payload has its span. */
type WithBytes = Message & { bytes: Uint8Array };

/** The first payload of `type` in a message (or a payload list, such as a KEMAC's plaintext), typed by it. */
export function payloadOf<T extends Payload['type']>(msg: WithBytes, type: T): Spanned<PayloadOf<T>> | undefined;
export function payloadOf<T extends Payload['type']>(from: Message | readonly Payload[], type: T): PayloadOf<T> | undefined;
export function payloadOf<T extends Payload['type']>(from: Message | readonly Payload[], type: T): PayloadOf<T> | undefined {
  return listOf(from).find((p): p is PayloadOf<T> => p.type === type);
}

/** Every payload of `type`, in order, typed by it. */
export function payloadsOf<T extends Payload['type']>(msg: WithBytes, type: T): Array<Spanned<PayloadOf<T>>>;
export function payloadsOf<T extends Payload['type']>(from: Message | readonly Payload[], type: T): Array<PayloadOf<T>>;
export function payloadsOf<T extends Payload['type']>(from: Message | readonly Payload[], type: T): Array<PayloadOf<T>> {
  return listOf(from).filter((p): p is PayloadOf<T> => p.type === type);
}

const listOf = (from: Message | readonly Payload[]): readonly Payload[] => ('payloads' in from ? from.payloads : from);
