// Strict MIKEY decoder. Every length is checked against its enclosing boundary before it is
// read; values are views into the input (no copies); every payload keeps its byte span. The
// layouts are in header.ts and payloads.ts (one table entry per payload type).
import { CsIdMapType, ErrorNo, PayloadType } from './registry.js';
import { Reader } from './cursor.js';
import { MikeyDecodeError, decodePath, fail, failure } from './errors.js';
import { readHeader } from './header.js';
import { Ctx, readChain } from './payloads.js';
import type { Message, Payload } from './types.js';

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

export interface DecodedMessage extends Message {
  bytes: Uint8Array;
  /** Bytes accepted after the last payload under `allowTrailingBytes`. */
  trailingBytes?: number;
  /** An SP payload was accepted beside the Empty map under `allowSpWithEmptyMap`. */
  spWithEmptyMap?: boolean;
}

/**
 * Decode one MIKEY message, or say why it cannot be: the `MikeyDecodeError` is returned, not
 * thrown. Nothing on this path throws, so a receiver of hostile input pays no more for a
 * rejection than for a decode (a V8 throw costs 1.5-5 us inside an I/O callback: see errors.ts).
 */
export function tryDecodeMessage(bytes: Uint8Array, opts?: DecodeOptions): DecodedMessage | MikeyDecodeError {
  const r = new Reader(bytes, 0, bytes.length);
  decodePath.start();
  decodePath.label('HDR');
  const header = readHeader(r);
  if (failure) return decodePath.end()!;
  decodePath.leave();
  // RFC 3830 §6.1: the header's third byte is the type of the first payload
  const first = bytes[2]!;
  const payloads = readChain(r, first, Ctx.Message, header.dataType);
  if (failure) return decodePath.end()!;
  let spWithEmptyMap = false;
  if (header.csIdMap.type === CsIdMapType.Empty) {
    const sp = payloads.find((p) => p.type === PayloadType.Sp);
    // RFC 4563 §5: no SP payload with the empty map
    if (sp && !opts?.allowSpWithEmptyMap) return error(sp.span!.start, 'SP payload with the Empty CS ID map', ErrorNo.InvalidSp);
    spWithEmptyMap = sp !== undefined;
  }
  const msg: DecodedMessage = { header, payloads, bytes };
  if (spWithEmptyMap) msg.spWithEmptyMap = true;
  if (r.pos !== r.end) {
    if (!opts?.allowTrailingBytes) return error(r.pos, `${r.end - r.pos} byte(s) after the last payload`);
    msg.trailingBytes = r.end - r.pos;
  }
  return msg;
}

/** Decode one MIKEY message. Throws `MikeyDecodeError` on anything malformed (`tryDecodeMessage` returns it). */
export function decodeMessage(bytes: Uint8Array, opts?: DecodeOptions): DecodedMessage {
  return orThrow(tryDecodeMessage(bytes, opts));
}

function error(offset: number, reason: string, errorNo?: number): MikeyDecodeError {
  fail(offset, reason, errorNo);
  return decodePath.end()!;
}

/** A chain of sub-payloads that must fill `plain` exactly. */
function decodeWhole(plain: Uint8Array, first: number, ctx: Ctx, what: string): Payload[] | MikeyDecodeError {
  const r = new Reader(plain, 0, plain.length);
  decodePath.start();
  const out = readChain(r, first, ctx, -1);
  if (failure) return decodePath.end()!;
  if (r.pos !== r.end) return error(r.pos, `${r.end - r.pos} byte(s) after the last ${what}`);
  return out;
}

function orThrow<T>(v: T | MikeyDecodeError): T {
  if (v instanceof MikeyDecodeError) throw v;
  return v;
}

/**
 * Decode the plaintext of a KEMAC (after decryption): key data sub-payloads, preceded by an
 * ID/IDR payload in the messages that carry one there (`first`). Throws `MikeyDecodeError`.
 */
export function decodeKeyDataChain(plain: Uint8Array, first: number = PayloadType.KeyData): Payload[] {
  return orThrow(tryDecodeKeyDataChain(plain, first));
}
/** `decodeKeyDataChain`, the error returned. */
export function tryDecodeKeyDataChain(plain: Uint8Array, first: number = PayloadType.KeyData): Payload[] | MikeyDecodeError {
  return decodeWhole(plain, first, Ctx.KemacPlain, 'key data sub-payload');
}

/** Decode decrypted IBAKE data: IDR and ECCPT sub-payloads (RFC 6267 §6.1.1). Throws `MikeyDecodeError`. */
export function decodeIbakeData(plain: Uint8Array, first: number = PayloadType.Idr): Payload[] {
  return orThrow(tryDecodeIbakeData(plain, first));
}
/** `decodeIbakeData`, the error returned. */
export function tryDecodeIbakeData(plain: Uint8Array, first: number = PayloadType.Idr): Payload[] | MikeyDecodeError {
  return decodeWhole(plain, first, Ctx.IbakePlain, 'sub-payload');
}

/** Decode decrypted ESK data: IDR and SK sub-payloads (RFC 6267 §6.1.2). Throws `MikeyDecodeError`. */
export function decodeEskData(plain: Uint8Array, first: number = PayloadType.Idr): Payload[] {
  return orThrow(tryDecodeEskData(plain, first));
}
/** `decodeEskData`, the error returned. */
export function tryDecodeEskData(plain: Uint8Array, first: number = PayloadType.Idr): Payload[] | MikeyDecodeError {
  return decodeWhole(plain, first, Ctx.EskPlain, 'sub-payload');
}
