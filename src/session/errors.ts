import { ErrorNo, describe } from '../wire/registry.js';

/**
 * An exchange failed. `errorNo` is the Error payload code (RFC 3830 §6.12) a responder answers
 * with; the reason says what was wrong and never contains key material.
 */
export class MikeyProtocolError extends Error {
  override readonly name = 'MikeyProtocolError';
  /** The Error message (data type 6) a responder sends back, when one should be sent. */
  response?: Uint8Array;
  constructor(readonly errorNo: number, readonly reason: string, options?: { cause?: unknown }) {
    super(`${describe(ErrorNo, errorNo)}: ${reason}`, options);
  }
}

/** The peer answered with an Error message (data type 6). */
export class MikeyErrorMessage extends Error {
  override readonly name = 'MikeyErrorMessage';
  constructor(readonly errorNos: number[], readonly authenticated: boolean) {
    super(`peer reported ${errorNos.map((e) => describe(ErrorNo, e)).join(', ') || 'an error'}${authenticated ? '' : ' (unauthenticated)'}`);
  }
}
