import { ErrorNo, PayloadType, THDR_PAYLOAD, describe } from './registry.js';

/**
 * A MIKEY message could not be decoded. Says where (byte offset from the start of the
 * outermost buffer, and the payload path such as `HDR > KEMAC[5] > Key data[0]`), why, and
 * which Error payload code a responder would answer with (RFC 3830 §6.12, RFC 4738 §3.5).
 *
 * Rejecting must cost no more than accepting (hostile input is cheap to send), so this error
 * is a plain object on Error's prototype chain (`instanceof Error` holds): no native error
 * object, no stack trace; its message, path and `stack` line are built when read.
 */
export interface MikeyDecodeError extends Error {
  readonly name: 'MikeyDecodeError';
  readonly offset: number;
  /** Enclosing payloads, outermost first, e.g. `HDR > KEMAC[5]@40 > Key data[0]@44`. */
  readonly path: string;
  readonly reason: string;
  readonly errorNo: number;
}

interface DecodeErrorFields {
  offset: number;
  reason: string;
  errorNo: number;
  /** Path labels, innermost first, as the error leaves each container: text, or payload [type, index, offset]. */
  labels: Array<string | readonly [number, number, number]>;
}

// The payload path of the decode in progress, outermost first. The decoder keeps it on the way
// down, so an error is thrown once, where it is found, already knowing its path: a throw costs
// about a microsecond, and a catch and re-throw at every nesting level made rejecting a message
// dearer than accepting it. An entry is a label, or a payload (type, index, offset).
const pathLabel: Array<string | undefined> = [];
const pathType: number[] = [];
const pathIndex: number[] = [];
const pathAt: number[] = [];
let pathDepth = 0;

/** The decoder's side of the path: a decode starts it, and enters and leaves each container. */
export const decodePath = {
  start(): void {
    pathDepth = 0;
  },
  payload(type: number, index: number, at: number): void {
    const d = pathDepth++;
    pathLabel[d] = undefined;
    pathType[d] = type;
    pathIndex[d] = index;
    pathAt[d] = at;
  },
  label(label: string): void {
    pathLabel[pathDepth++] = label;
  },
  leave(): void {
    pathDepth--;
  },
};

export const MikeyDecodeError = function MikeyDecodeError(
  this: DecodeErrorFields, offset: number, path: string, reason: string, errorNo: number = ErrorNo.UnsupportedMessageType,
) {
  this.offset = offset;
  this.reason = reason;
  this.errorNo = errorNo;
  const labels: DecodeErrorFields['labels'] = path ? [path] : [];
  for (let d = pathDepth - 1; d >= 0; d--) labels.push(pathLabel[d] ?? [pathType[d]!, pathIndex[d]!, pathAt[d]!]);
  this.labels = labels;
} as unknown as {
  new (offset: number, path: string, reason: string, errorNo?: number): MikeyDecodeError;
  readonly prototype: MikeyDecodeError;
};

const proto = MikeyDecodeError.prototype as unknown as DecodeErrorFields & MikeyDecodeError;
Object.setPrototypeOf(proto, Error.prototype);
Object.defineProperties(proto, {
  name: { value: 'MikeyDecodeError', configurable: true, writable: true },
  labels: { value: [], writable: true, enumerable: false },
  path: {
    get(this: DecodeErrorFields) {
      let s = '';
      for (let i = this.labels.length - 1; i >= 0; i--) {
        const l = this.labels[i]!;
        const text = typeof l === 'string' ? l : `${payloadName(l[0])}[${l[1]}]@${l[2]}`;
        s += s ? ` > ${text}` : text;
      }
      return s;
    },
    enumerable: true,
    configurable: true,
  },
  message: {
    get(this: MikeyDecodeError) {
      return `${this.reason} at byte ${this.offset} (${this.path || 'message'}); answer with ${describe(ErrorNo, this.errorNo)}`;
    },
    configurable: true,
  },
  stack: {
    get(this: MikeyDecodeError) {
      return `${this.name}: ${this.message}`;
    },
    configurable: true,
  },
  toJSON: {
    value(this: MikeyDecodeError) {
      return { name: this.name, offset: this.offset, path: this.path, reason: this.reason, errorNo: this.errorNo };
    },
    configurable: true,
  },
});

/** A payload type's short name for paths, e.g. `KEMAC`, `Key data`, `THDR`. */
export function payloadName(t: number): string {
  return t === THDR_PAYLOAD ? 'THDR' : describe(PayloadType, t).replace(/ \(\d+\)$/, '');
}

/** A message could not be encoded: a field value does not fit its wire field. */
export class MikeyEncodeError extends Error {
  override readonly name = 'MikeyEncodeError';
  constructor(readonly path: string, readonly reason: string) {
    super(`${reason} (${path})`);
  }
}
