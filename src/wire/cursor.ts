// The codec's cursors: a bounded reader over received bytes and a writer into a buffer sized
// exactly beforehand, with the error helpers both sides share.
import { MikeyEncodeError, failShort } from './errors.js';
import type { Payload, Span } from './types.js';

/** An empty view, shared (what a read that does not fit gives, and empty fields). */
export const EMPTY = new Uint8Array(0);

/** Bounded cursor: `end` is the boundary of the structure being read, never the buffer's. */
export class Reader {
  readonly ab: ArrayBufferLike;
  readonly base: number;
  constructor(readonly buf: Uint8Array, public pos: number, public end: number, ab?: ArrayBufferLike, base?: number) {
    this.ab = ab ?? buf.buffer;
    this.base = base ?? buf.byteOffset;
  }

  /** `n` more bytes are there; if not (a length that is not a number neither), the decode's error is recorded and false returned. */
  need(n: number, what: string): boolean {
    if (this.end - this.pos >= n) return true;
    this.short(n, what);
    return false;
  }
  private short(n: number, what: string): void {
    failShort(this.pos, what, n, this.end - this.pos);
    this.pos = this.end;
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
  /** A view of n bytes, bounds-checked (empty, with the error recorded, when they are not there). */
  bytes(n: number, what: string): Uint8Array {
    if (!this.need(n, what)) return EMPTY;
    // a direct view: cheaper than subarray(), which looks up a species constructor
    const v = new Uint8Array(this.ab, this.base + this.pos, n);
    this.pos += n;
    return v;
  }
  /** A reader over the next n bytes (a nested structure); this one moves past them. */
  sub(n: number, what: string): Reader {
    if (!this.need(n, what)) return this.at(this.end, this.end);
    const r = new Reader(this.buf, this.pos, this.pos + n, this.ab, this.base);
    this.pos += n;
    return r;
  }
  /** A reader over [start, end) of the same buffer. */
  at(start: number, end: number): Reader {
    return new Reader(this.buf, start, end, this.ab, this.base);
  }
}

/**
 * Writes into `buf` from `pos`. Positions advance by what each field needs even past the end of
 * `buf` (typed-array stores there are dropped), so a write that ends past `buf.length` has not
 * fitted and `pos` is the size it needed (see encode.ts).
 */
export class Writer {
  constructor(readonly buf: Uint8Array, readonly spans: Map<Payload, Span> | undefined, public pos = 0) {}
  u8(v: number): void {
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    const b = this.buf;
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v;
  }
  u32(v: number): void {
    const b = this.buf;
    b[this.pos++] = v >>> 24;
    b[this.pos++] = v >>> 16;
    b[this.pos++] = v >>> 8;
    b[this.pos++] = v;
  }
  bytes(v: Uint8Array): void {
    this.pos = put(this.buf, this.pos, v);
  }
}

/** Copy `v` into `b` at `o`; returns the position after it. Stores past the end of `b` are dropped. */
export function put(b: Uint8Array, o: number, v: Uint8Array): number {
  const n = v.length;
  // short fields byte by byte: set() costs more than the copy below ~16 bytes (and it
  // throws past the end, where the loop's stores are dropped)
  if (n > 14 && o + n <= b.length) b.set(v, o);
  else for (let i = 0; i < n; i++) b[o + i] = v[i]!;
  return o + n;
}

/** A location for encode errors, turned into text only when an error is raised. */
export type Where = string | (() => string);
export const at = (w: Where): string => (typeof w === 'function' ? w() : w);
/** Payload `index` of the chain at `chain`. */
export const indexed = (chain: Where, index: number): (() => string) => () => `${at(chain)}[${index}]`;
/** Field or chain `label` inside payload `index` of the chain at `chain`. */
export const inside = (chain: Where, index: number, label: string): (() => string) => () => `${at(chain)}[${index}] ${label}`;
/** `what` within `where`. (The closures are made in these helpers, never in a hot function: a
 * function whose variables a closure captures allocates a context on every call.) */
const suffixed = (where: Where, what: string): (() => string) => () => `${at(where)} ${what}`;

export function bad(where: Where, reason: string): never {
  throw new MikeyEncodeError(at(where), reason);
}
/** `v` is an integer of `bits` bits (a mask for the short fields: it is as strict and cheaper). */
export function fits(v: number, bits: number): boolean {
  if (bits < 31) return (v & ((1 << bits) - 1)) === v;
  if (bits === 32) return v >>> 0 === v;
  return Number.isInteger(v) && v >= 0 && v < 2 ** bits;
}
/** Length checks; `what` names the field within `where`, joined only when an error is raised. */
export function len8(b: Uint8Array, where: Where, what?: string): void {
  if (b.length > 0xff) bad(what ? suffixed(where, what) : where, `${b.length} bytes do not fit an 8-bit length`);
}
export function len16(n: number, where: Where, what?: string): void {
  if (n > 0xffff) bad(what ? suffixed(where, what) : where, `${n} bytes do not fit a 16-bit length`);
}
