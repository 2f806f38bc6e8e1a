// The one shape of every method (RFC 3830 §3, §4.5): what an initiator offers (the options of a
// first message and of an update), the result every message an initiator sends comes in
// (`Offer`), the result every responder's receive resolves to (`Answer`), and key data sized for
// AES key wrap.
import type { KemacEncrAlg } from '../../crypto/kemac.js';
import type { CryptoSessionBundle } from '../../session/bundle.js';
import type { KeySpec, SessionOffer } from './common.js';

export interface OfferOptions {
  sessions: readonly SessionOffer[];
  /** Ask for a verification message (V flag). */
  verify?: boolean;
  /** CSB ID (random by default). A group is served by one CSB ID, RAND and TGK (RFC 3830 §8.1). */
  csbId?: number;
  rand?: Uint8Array;
  /** Keys to transport (default one random 16-byte TGK). */
  keys?: readonly KeySpec[];
}

export interface UpdateOptions {
  /** The crypto sessions after the update (default: unchanged). */
  sessions?: readonly SessionOffer[];
  /** New keys; none keeps the current ones (RFC 3830 §4.5). */
  keys?: readonly KeySpec[];
  verify?: boolean;
}

/**
 * A message an initiator sends: its bytes and, where the keys are known at once (pre-shared key,
 * public-key, SAKKE, a TICKET transfer without response), the bundle. Where the keys come only
 * with the answer (DH, DH-HMAC, RSA-R, IBAKE, TICKET requests) `bundle` is `undefined` by type:
 * the answer's reader returns it.
 */
export interface Offer<Bundle extends CryptoSessionBundle | undefined = CryptoSessionBundle> {
  bytes: Uint8Array;
  /** The keys as the initiator will use them. */
  bundle: Bundle;
}

/** A responder's result when it sends a message back (`response`). */
export interface Answered {
  answered: true;
  /** The message to send back. */
  response: Uint8Array;
}

/** A responder's result when nothing is sent back (no V asked for, or a method without answer). */
export interface Unanswered {
  answered: false;
  response?: undefined;
}

/**
 * What every responder's `receive` resolves to beside its keys, discriminated by `answered`:
 * `if (r.answered) send(r.response)`. Methods that always answer (DH, DH-HMAC, RSA-R, IBAKE)
 * type it `Answered`, SAKKE `Unanswered`.
 */
export type Answer = Answered | Unanswered;

/** The `Answer` for a response that may be absent. */
export function answer(response: Uint8Array | undefined): Answer {
  return response ? { answered: true, response } : { answered: false };
}

/**
 * AES key wrap takes whole 64-bit blocks (RFC 3394 §2) and MIKEY defines no padding: the key
 * data must add up to a multiple of 8 bytes. A random TGK is lengthened to get there (its
 * length is free, the PRF takes any); with explicit keys the sender must choose fitting ones.
 */
export function alignForKeyWrap(specs: readonly KeySpec[], encrAlg: KemacEncrAlg, before = 0): KeySpec[] {
  const out = specs.map((k) => ({ ...k }));
  if (encrAlg !== 'AES-KW-128') return out;
  const size = (k: KeySpec) => 4 + (k.key?.length ?? k.length ?? 16) + (k.salt ? 2 + k.salt.length : 0) + (k.mki ? 1 + k.mki.length : 0);
  const total = out.reduce((n, k) => n + size(k), before);
  const pad = (8 - (total % 8)) % 8;
  if (pad === 0) return out;
  const free = out.find((k) => !k.key);
  if (!free) throw new RangeError(`AES-KW-128 needs key data of a multiple of 8 bytes (${total} given)`);
  free.length = (free.length ?? 16) + pad;
  return out;
}

