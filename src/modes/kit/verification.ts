// The V payload (RFC 3830 §6.9): a MAC with the auth_key over a message and what the method
// appends to it, filled after encoding and checked over the exact received spans; and the
// verification message R_MESSAGE = HDR, T, [IDr], V of the PSK and public-key methods (§3.1, §3.2).
import { macCompute, macVerify, type MacAlg } from '../../crypto/kemac.js';
import type { DecodedMessage } from '../../wire/decode.js';
import type { EncodedMessage } from '../../wire/encode.js';
import { DataType, ErrorNo, PayloadType } from '../../wire/registry.js';
import type { CommonHeader, Payload, TPayload } from '../../wire/types.js';
import type { CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { idOf, type Identity } from '../../session/identity.js';
import { checkLayout, decodeOrReject, encodeWithTrailingTag, idPayload, macAlgCode, macAlgOf, macLength, one, opt, payloadOf } from './common.js';
import { rejectErrorMessage } from './error-message.js';

const EMPTY = new Uint8Array(0);

/** V MAC input (RFC 3830 §5.2): the message without the MAC, then IDi, IDr and T data. */
export function verificationParts(covered: Uint8Array, idi: Identity | undefined, idr: Identity | undefined, t: Uint8Array): Uint8Array[] {
  return [covered, idi?.data ?? EMPTY, idr?.data ?? EMPTY, t];
}

/**
 * Encode a message whose last payload is V (placeholder MAC, pushed here), then fill the MAC
 * over `parts` of the encoded bytes (a function of them: the coverage differs per message;
 * `encoded` gives the spans when `withSpans`).
 */
export function encodeWithV(
  hdr: CommonHeader, payloads: Payload[], macAlg: MacAlg, authKey: Uint8Array,
  parts: (bytes: Uint8Array, macStart: number, encoded?: EncodedMessage) => Uint8Array[], withSpans = false,
): Uint8Array {
  const len = macLength(macAlg);
  payloads.push({ type: PayloadType.V, authAlg: macAlgCode(macAlg), mac: new Uint8Array(len) });
  return encodeWithTrailingTag({ header: hdr, payloads }, len, (covered, bytes, encoded) => macCompute(macAlg, authKey, parts(bytes, covered.length, encoded)), withSpans);
}

/** Check the trailing V against `parts`; its algorithm must be `macAlg` when given. Auth failure otherwise. */
export function checkV(msg: DecodedMessage, authKey: Uint8Array, parts: Uint8Array[], what: string, macAlg?: MacAlg): MacAlg {
  const v = msg.payloads.at(-1);
  if (!v || v.type !== PayloadType.V) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `${what}: the last payload must be V`);
  const alg = macAlgOf(v.authAlg);
  if (alg === 'NULL') throw new MikeyProtocolError(ErrorNo.InvalidMac, `${what}: the NULL MAC in V`);
  if (macAlg && alg !== macAlg) throw new MikeyProtocolError(ErrorNo.InvalidMac, `${what}: V uses ${alg}, ${macAlg} expected`);
  if (!macVerify(alg, authKey, parts, v.mac)) throw new MikeyProtocolError(ErrorNo.AuthFailure, `${what}: the MAC does not verify`);
  return alg;
}

/** R_MESSAGE = HDR, T, [IDr], V (RFC 3830 §3.1, §3.2, §5.2). */
export function buildVerification(
  dataType: number, req: CommonHeader, t: TPayload, ourId: Identity | undefined, idi: Identity | undefined, idrInRequest: Identity | undefined,
  macAlg: MacAlg, authKey: Uint8Array,
): Uint8Array {
  const hdr: CommonHeader = { ...req, dataType, v: false };
  const payloads: Payload[] = [t];
  if (ourId) payloads.push(idPayload(ourId));
  const idr = ourId ?? idrInRequest;
  return encodeWithV(hdr, payloads, macAlg, authKey, (bytes, macStart) => verificationParts(bytes.subarray(0, macStart), idi, idr, t.value));
}

/**
 * The initiator's reading of the answer R_MESSAGE = HDR, T, [IDr], V (PSK and public-key), or
 * of an Error message, whose V (when present) is checked with the same key.
 */
export function readVerification(bytes: Uint8Array, dataType: number, s: { csbId: number; idi?: Identity; idr?: Identity; t: TPayload; bundle: CryptoSessionBundle }, macAlg: MacAlg, authKey: Uint8Array): CryptoSessionBundle {
  const msg = decodeOrReject(bytes);
  if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg, { macAlg, authKey });
  if (msg.header.dataType !== dataType) throw new MikeyProtocolError(ErrorNo.InvalidDt, `expected a verification message, got data type ${msg.header.dataType}`);
  checkLayout(msg, [one(PayloadType.T), opt(PayloadType.Id), one(PayloadType.V)], 'verification message');
  if (msg.header.csbId !== s.csbId) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'verification message for another CSB');
  const t = payloadOf(msg, PayloadType.T)!;
  // §3.1: the responder echoes the initiator's timestamp
  if (t.tsType !== s.t.tsType || Buffer.compare(Buffer.from(t.value), Buffer.from(s.t.value)) !== 0) {
    throw new MikeyProtocolError(ErrorNo.InvalidTs, 'verification message does not echo our timestamp');
  }
  const v = payloadOf(msg, PayloadType.V)!;
  if (v.authAlg !== macAlgCode(macAlg)) throw new MikeyProtocolError(ErrorNo.InvalidMac, `V uses auth alg ${v.authAlg}`);
  const idr = idOf(payloadOf(msg, PayloadType.Id)) ?? s.idr;
  const covered = msg.bytes.subarray(0, v.span!.end - v.mac.length);
  if (!macVerify(macAlg, authKey, verificationParts(covered, s.idi, idr, s.t.value), v.mac)) {
    throw new MikeyProtocolError(ErrorNo.AuthFailure, 'verification MAC does not verify');
  }
  return s.bundle;
}
