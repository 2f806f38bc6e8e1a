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
  errorNo: number;
  /** The reason as text; undefined for a truncation, whose text is built from the next three when read. */
  text: string | undefined;
  what: string;
  needs: number;
  left: number;
  /** Put before the reason (the container that answers for the error, e.g. the MIKEY base ticket). */
  prefix: string;
  /** The path, outermost first: a label, or a payload as its type, index and offset (three numbers). */
  labels: Array<string | number> | undefined;
  /** Or, when the path is one payload of the message: its type (-1 otherwise), index and offset. */
  type: number;
  index: number;
  at: number;
}

// The decoder never throws while it reads: it records the first error it finds, with the payload
// path it keeps on the way down, and returns up the chain (the readers' contract: after a failed
// read, return `FAILED` before reading further). Rejecting must cost no more than accepting, and
// a V8 throw costs a microsecond or more: inside an I/O callback (a server's receive path) V8
// also captures the thrower's stack for the uncaught-exception report, ~1.5-5 us, against ~2 us
// for decoding a whole message. `tryDecodeMessage` returns the error; `decodeMessage` throws it
// once, from the top. A path entry is a label, or a payload (type, index, offset).
const pathLabel: Array<string | undefined> = [];
const pathType: number[] = [];
const pathIndex: number[] = [];
const pathAt: number[] = [];
let pathDepth = 0;

/** The first error of the decode in progress (undefined while it has found none). */
export let failure: MikeyDecodeError | undefined;

/**
 * Record a decode error at `offset` (the first one wins: what follows it is not read). Typed
 * `never` so that a reader writes `return fail(...)`; it returns, with nothing.
 */
export function fail(offset: number, reason: string, errorNo: number = ErrorNo.UnsupportedMessageType): never {
  if (failure === undefined) failure = new MikeyDecodeError(offset, reason, errorNo);
  return undefined as never;
}

/** Record that `what` needs `needs` bytes at `offset` and `left` are there. */
export function failShort(offset: number, what: string, needs: number, left: number): void {
  if (failure === undefined) failure = new MikeyDecodeError(offset, undefined, ErrorNo.UnsupportedMessageType, what, needs, left);
}

/** The container `prefix` answers for the decode's error, with `errorNo` (e.g. a broken base ticket, RFC 6043 §6.12). */
export function answerFailureAs(prefix: string, errorNo: number): void {
  const f = failure as unknown as DecodeErrorFields | undefined;
  if (!f) return;
  f.prefix = prefix + f.prefix;
  f.errorNo = errorNo;
}

/** What a reader returns after a failed read (the chain looks at `failure`, not at this value). */
export const FAILED = undefined as never;

/** The decoder's side of the path: a decode starts it, and enters and leaves each container. */
export const decodePath = {
  start(): void {
    pathDepth = 0;
    failure = undefined;
  },
  /** The decode's error, if any, and the state cleared for the next decode. */
  end(): MikeyDecodeError | undefined {
    const f = failure;
    failure = undefined;
    pathDepth = 0;
    return f;
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

// Built where the error is found, so it costs little: the reason text and the path are put
// together when read.
export const MikeyDecodeError = function MikeyDecodeError(
  this: DecodeErrorFields, offset: number, reason: string | undefined, errorNo: number = ErrorNo.UnsupportedMessageType,
  what = '', needs = 0, left = 0,
) {
  this.offset = offset;
  this.errorNo = errorNo;
  this.text = reason;
  this.what = what;
  this.needs = needs;
  this.left = left;
  this.prefix = '';
  // the path: at the depth of a message's own payloads (most errors) no array is made
  let labels: Array<string | number> | undefined;
  if (pathDepth > 1 || (pathDepth === 1 && pathLabel[0] !== undefined)) {
    let n = 0;
    for (let d = 0; d < pathDepth; d++) n += pathLabel[d] !== undefined ? 1 : 3;
    labels = new Array<string | number>(n);
    for (let d = 0, i = 0; d < pathDepth; d++) {
      const l = pathLabel[d];
      if (l !== undefined) labels[i++] = l;
      else {
        labels[i++] = pathType[d]!;
        labels[i++] = pathIndex[d]!;
        labels[i++] = pathAt[d]!;
      }
    }
  }
  this.labels = labels;
  // one payload of the message: its type, index and offset
  this.type = labels === undefined && pathDepth === 1 ? pathType[0]! : -1;
  this.index = pathIndex[0]!;
  this.at = pathAt[0]!;
} as unknown as {
  new (offset: number, reason: string | undefined, errorNo?: number, what?: string, needs?: number, left?: number): MikeyDecodeError;
  readonly prototype: MikeyDecodeError;
};

const proto = MikeyDecodeError.prototype as unknown as DecodeErrorFields & MikeyDecodeError;
Object.setPrototypeOf(proto, Error.prototype);
Object.defineProperties(proto, {
  name: { value: 'MikeyDecodeError', configurable: true, writable: true },
  path: {
    get(this: DecodeErrorFields) {
      let s = '';
      const l = this.labels ?? (this.type >= 0 ? [this.type, this.index, this.at] : []);
      for (let i = 0; i < l.length; ) {
        const x = l[i]!;
        let text: string;
        if (typeof x === 'string') {
          text = x;
          i++;
        } else {
          text = `${payloadName(x)}[${l[i + 1]}]@${l[i + 2]}`;
          i += 3;
        }
        s += s ? ` > ${text}` : text;
      }
      return s;
    },
    enumerable: true,
    configurable: true,
  },
  reason: {
    get(this: DecodeErrorFields) {
      return this.prefix + (this.text ?? `truncated ${this.what}: needs ${this.needs} byte(s), ${this.left} left`);
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
  [Symbol.for('nodejs.util.inspect.custom')]: {
    value(this: MikeyDecodeError) {
      return `${this.stack} ${JSON.stringify({ offset: this.offset, path: this.path, errorNo: this.errorNo })}`;
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
