import { ErrorNo, describe } from './registry.js';

/**
 * A MIKEY message could not be decoded. Says where (byte offset from the start of the
 * outermost buffer, and the payload path such as `HDR > KEMAC[5] > Key data[0]`), why, and
 * which Error payload code a responder would answer with (RFC 3830 §6.12, RFC 4738 §3.5).
 */
export class MikeyDecodeError extends Error {
  override readonly name = 'MikeyDecodeError';
  constructor(
    readonly offset: number,
    readonly path: string,
    readonly reason: string,
    readonly errorNo: number = ErrorNo.UnsupportedMessageType,
  ) {
    super(`${reason} at byte ${offset} (${path || 'message'}); answer with ${describe(ErrorNo, errorNo)}`);
  }
}

/** A message could not be encoded: a field value does not fit its wire field. */
export class MikeyEncodeError extends Error {
  override readonly name = 'MikeyEncodeError';
  constructor(readonly path: string, readonly reason: string) {
    super(`${reason} (${path})`);
  }
}
