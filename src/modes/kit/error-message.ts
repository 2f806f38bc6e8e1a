// Error messages (RFC 3830 §5.1.2, RFC 6043 §5.4): HDR, T, {ERR}, {SP}, [V|SIGN], built by a
// responder that refuses a message and read by the initiator that gets one back.
import type { KeyObject } from 'node:crypto';
import { macCompute, macVerify, type MacAlg } from '../../crypto/kemac.js';
import { encodeMessage } from '../../wire/encode.js';
import { CsIdMapType, DataType, ErrorNo, MIKEY_VERSION, PayloadType, PrfFunc } from '../../wire/registry.js';
import type { DecodedMessage } from '../../wire/decode.js';
import type { CommonHeader, Payload, SpPayload, TPayload } from '../../wire/types.js';
import { MikeyErrorMessage, MikeyProtocolError } from '../../session/errors.js';
import type { Clock } from '../../session/time.js';
import { decodeOrReject, encodeWithTrailingTag, macAlgCode, macLength, payloadOf, payloadsOf, tNow } from './common.js';
import { encodeSigned, signPlaceholder, verifySignature, type SigningCredentials } from './signature.js';

/** What authenticates an Error message: a V with the failed message's auth_key, or (TICKET) a signature. */
/** The MAC an Error message carries once the request authenticated by a MAC (RFC 3830 §5.1.2). */
export type MacAuth = { macAlg: MacAlg; authKey: Uint8Array };
export type ErrorAuth = MacAuth | { signer: SigningCredentials };

/**
 * HDR, T, {ERR}, {SP}, [V|SIGN]: version, PRF and CSB ID as in the failed message, V flag 0. After
 * an authentication failure the message is not authenticated (§5.1.2); otherwise `auth` adds a V
 * whose MAC covers the Error message itself (the coverage RFC 6043 §5.4 spells out), or a SIGN.
 * `t`: the request's T (RFC 3830), or the fresh one RFC 6043 §5.4 asks for; absent: now.
 */
export function buildErrorMessage(req: CommonHeader | undefined, t: TPayload | undefined, errorNos: readonly number[], clock: Clock, opts: { sps?: readonly SpPayload[]; auth?: ErrorAuth } = {}): Uint8Array {
  const hdr: CommonHeader = req
    ? { ...req, dataType: DataType.Error, v: false }
    : { version: MIKEY_VERSION, dataType: DataType.Error, v: false, prfFunc: PrfFunc.Mikey1, csbId: 0, csIdMap: { type: CsIdMapType.Empty, csCount: 0 } };
  const payloads: Payload[] = [t ?? tNow(clock), ...errorNos.map((e): Payload => ({ type: PayloadType.Err, errorNo: e, reserved: 0 }))];
  // SP payloads only where the CS ID map can name policies (not the Empty map)
  if (hdr.csIdMap.type !== CsIdMapType.Empty && opts.sps) payloads.push(...opts.sps);
  const a = opts.auth;
  if (a && 'signer' in a) return encodeSigned({ header: hdr, payloads: [...payloads, signPlaceholder()] }, a.signer);
  if (!a || a.macAlg === 'NULL') return encodeMessage({ header: hdr, payloads });
  const len = macLength(a.macAlg);
  payloads.push({ type: PayloadType.V, authAlg: macAlgCode(a.macAlg), mac: new Uint8Array(len) });
  return encodeWithTrailingTag({ header: hdr, payloads }, len, (covered) => macCompute(a.macAlg, a.authKey, covered));
}

/** An initiator reading an Error message: throws MikeyErrorMessage, authenticated when its V (or SIGN) verifies. */
export function rejectErrorMessage(msg: DecodedMessage, auth: { macAlg?: MacAlg; authKey?: Uint8Array; peerKey?: KeyObject } = {}): never {
  const errs = payloadsOf(msg, PayloadType.Err).map((e) => e.errorNo);
  const v = payloadOf(msg, PayloadType.V);
  const last = msg.payloads.at(-1);
  let authenticated = false;
  if (v && auth.authKey && auth.macAlg && auth.macAlg !== 'NULL' && v.authAlg === macAlgCode(auth.macAlg)) {
    authenticated = macVerify(auth.macAlg, auth.authKey, msg.bytes.subarray(0, v.span!.end - v.mac.length), v.mac);
  } else if (last?.type === PayloadType.Sign && auth.peerKey) {
    try {
      verifySignature(msg, auth.peerKey, ['sha256']);
      authenticated = true;
    } catch { authenticated = false; }
  }
  throw new MikeyErrorMessage(errs, authenticated);
}

/** A responder failure, with the Error message to send back (when one should be sent). */
export function withErrorResponse(e: unknown, build: (err: MikeyProtocolError) => Uint8Array | undefined): never {
  if (e instanceof MikeyProtocolError && e.response === undefined) e.response = build(e);
  throw e;
}

/**
 * A responder's `receive` (RFC 3830 §5.3, §5.1.2): decode, process, and on a refusal attach the
 * Error message to send, with a V by the message's auth_key once `authenticated` was called,
 * never after an Auth failure.
 */
export async function answerOrRefuse<R>(bytes: Uint8Array, clock: Clock, process: (msg: DecodedMessage, authenticated: (a: MacAuth) => void) => Promise<R>): Promise<R> {
  let msg: DecodedMessage | undefined;
  let auth: MacAuth | undefined;
  try {
    msg = decodeOrReject(bytes);
    return await process(msg, (a) => { auth = a; });
  } catch (e) {
    return withErrorResponse(e, (err) => buildErrorMessage(msg?.header, msg && payloadOf(msg, PayloadType.T), [err.errorNo], clock, { auth: err.errorNo === ErrorNo.AuthFailure ? undefined : auth }));
  }
}
