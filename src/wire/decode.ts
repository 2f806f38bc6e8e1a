// Strict MIKEY decoder. Every length is checked against its enclosing boundary before it is
// read; values are views into the input (no copies); every payload keeps its byte span. The
// layouts are in header.ts and payloads.ts (one table entry per payload type).
import { CsIdMapType, ErrorNo, PayloadType } from './registry.js';
import { Reader, fail } from './cursor.js';
import { decodePath } from './errors.js';
import { readHeader } from './header.js';
import { Ctx, readChain } from './payloads.js';
import type { CommonHeader, Message, Payload } from './types.js';

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

/** Decode one MIKEY message. Throws `MikeyDecodeError` on anything malformed. */
export function decodeMessage(bytes: Uint8Array, opts?: DecodeOptions): DecodedMessage {
  const r = new Reader(bytes, 0, bytes.length);
  decodePath.start();
  decodePath.label('HDR');
  const header = readHeader(r);
  decodePath.leave();
  // RFC 3830 §6.1: the header's third byte is the type of the first payload
  const first = bytes[2]!;
  const payloads = readChain(r, first, Ctx.Message, header.dataType);
  let spWithEmptyMap = false;
  if (header.csIdMap.type === CsIdMapType.Empty) {
    const sp = payloads.find((p) => p.type === PayloadType.Sp);
    // RFC 4563 §5: no SP payload with the empty map
    if (sp && !opts?.allowSpWithEmptyMap) fail(sp.span!.start, 'SP payload with the Empty CS ID map', ErrorNo.InvalidSp);
    spWithEmptyMap = sp !== undefined;
  }
  const msg: DecodedMessage = { header, payloads, bytes };
  if (spWithEmptyMap) msg.spWithEmptyMap = true;
  if (r.pos !== r.end) {
    if (!opts?.allowTrailingBytes) fail(r.pos, `${r.end - r.pos} byte(s) after the last payload`);
    msg.trailingBytes = r.end - r.pos;
  }
  return msg;
}

/** A chain of sub-payloads that must fill `plain` exactly. */
function decodeWhole(plain: Uint8Array, first: number, ctx: Ctx, what: string): Payload[] {
  const r = new Reader(plain, 0, plain.length);
  decodePath.start();
  const out = readChain(r, first, ctx, -1);
  if (r.pos !== r.end) fail(r.pos, `${r.end - r.pos} byte(s) after the last ${what}`);
  return out;
}

/**
 * Decode the plaintext of a KEMAC (after decryption): key data sub-payloads, preceded by an
 * ID/IDR payload in the messages that carry one there (`first`).
 */
export function decodeKeyDataChain(plain: Uint8Array, first: number = PayloadType.KeyData): Payload[] {
  return decodeWhole(plain, first, Ctx.KemacPlain, 'key data sub-payload');
}

/** Decode decrypted IBAKE data: IDR and ECCPT sub-payloads (RFC 6267 §6.1.1). */
export function decodeIbakeData(plain: Uint8Array, first: number = PayloadType.Idr): Payload[] {
  return decodeWhole(plain, first, Ctx.IbakePlain, 'sub-payload');
}

/** Decode decrypted ESK data: IDR and SK sub-payloads (RFC 6267 §6.1.2). */
export function decodeEskData(plain: Uint8Array, first: number = PayloadType.Idr): Payload[] {
  return decodeWhole(plain, first, Ctx.EskPlain, 'sub-payload');
}
