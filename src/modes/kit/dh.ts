// What the two Diffie-Hellman methods share (RFC 3830 §3.3, RFC 3830 §4.5, RFC 4650 §3): the
// groups accepted by default and the responder's answer to DHi.
import { dhComputeSecret, dhGenerateKeyPair, dhGroupByMikeyId, type DhGroup, type DhGroupName } from '../../crypto/dh.js';
import { MikeyCryptoError } from '../../crypto/errors.js';
import { ErrorNo, KvType, PayloadType } from '../../wire/registry.js';
import type { DhPayload, TPayload } from '../../wire/types.js';
import type { CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';

/**
 * Groups a responder accepts unless told otherwise: OAKLEY-5 (1536 bits). OAKLEY-1 (768) and
 * OAKLEY-2 (1024) are within reach of precomputation attacks and must be asked for by name.
 */
export const DEFAULT_DH_GROUPS: readonly DhGroupName[] = Object.freeze(['OAKLEY-5']);

export const mkiOf = (p: DhPayload): Uint8Array | undefined => (p.validity.kv === KvType.Spi ? p.validity.spi : undefined);

/**
 * The responder's side of a DH value (RFC 3830 §3.3, RFC 4650 §3): the group checked against
 * those accepted, a fresh key pair, the peer value range-checked, the shared secret as TGK.
 */
export function answerDhi(dhi: DhPayload, groups: readonly DhGroupName[] | undefined): { tgk: Uint8Array; dhr: DhPayload; mki?: Uint8Array } {
  let group: DhGroup;
  try {
    group = dhGroupByMikeyId(dhi.group);
  } catch (e) {
    return dhError(e);
  }
  if (groups && !groups.includes(group.name)) throw new MikeyProtocolError(ErrorNo.InvalidDh, `${group.name} not accepted`);
  const kp = dhGenerateKeyPair(group);
  let tgk: Uint8Array;
  try {
    tgk = dhComputeSecret(group, kp.privateKey, dhi.value);
  } catch (e) {
    return dhError(e);
  }
  return { tgk, dhr: { type: PayloadType.Dh, group: group.mikeyId, value: kp.publicKey, reserved: 0, validity: { kv: KvType.Null } }, mki: mkiOf(dhi) };
}

/**
 * The responder's TGK for a DH or DH-HMAC message: from DHi when there is one, else (an update
 * without DHi, RFC 3830 §4.5) the TGK of the CSB being updated; an initial message needs DHi.
 */
export function responderTgk(
  dhi: DhPayload | undefined, initial: boolean, prior: { tgk: Uint8Array; mki?: Uint8Array } | undefined,
  groups: readonly DhGroupName[] | undefined, what: string,
): { tgk: Uint8Array; mki?: Uint8Array; dhr?: DhPayload } {
  if (dhi) return answerDhi(dhi, groups);
  if (initial || !prior) throw new MikeyProtocolError(ErrorNo.InvalidDh, `initial ${what} message without DHi`);
  return { tgk: prior.tgk, mki: prior.mki };
}

/** A DH failure in the crypto layer as the Error payload a responder sends (Invalid DH). */
export function dhError(e: unknown): never {
  if (e instanceof MikeyCryptoError && (e.code === 'dh-out-of-range' || e.code === 'bad-length')) throw new MikeyProtocolError(ErrorNo.InvalidDh, e.message, { cause: e });
  if (e instanceof MikeyCryptoError && e.code === 'unsupported-algorithm') throw new MikeyProtocolError(ErrorNo.InvalidDh, e.message, { cause: e });
  throw e;
}

/** The initiator's CSB once a verified answer gave its TGK. `C` is what the method keeps per CSB. */
export interface DhEstablished<C> {
  step: 'established';
  csb: C;
  tgk: Uint8Array;
  bundle: CryptoSessionBundle;
}

/** An offer sent, its answer not yet read; `previous` is the CSB an update renews (RFC 3830 §4.5). */
export interface DhAwaitingResponse<C> {
  step: 'awaiting-response';
  csb: C;
  t: TPayload;
  /** Our exponent and DHi (absent: an update without new keys). */
  dh?: { x: Uint8Array; dhi: Uint8Array };
  previous?: DhEstablished<C>;
}

/** The established CSB of an initiator: the last one verified, also while an update of it is outstanding. */
export function establishedOf<C>(s: DhAwaitingResponse<C> | DhEstablished<C> | undefined): DhEstablished<C> | undefined {
  return s?.step === 'established' ? s : s?.previous;
}

/**
 * The initiator's TGK from the DH payloads of the answer (RFC 3830 §5.3, RFC 4650 §3.1): none
 * after an update without DHi (the TGK stays), else DHr and the echo of our DHi.
 */
export function initiatorTgk(dhs: readonly DhPayload[], s: DhAwaitingResponse<{ group: DhGroup }>): Uint8Array {
  if (!s.dh) {
    if (dhs.length) throw new MikeyProtocolError(ErrorNo.InvalidDh, 'DH values in the answer to an update without DHi');
    if (!s.previous) throw new MikeyProtocolError(ErrorNo.InvalidDh, 'an update without DHi for no established CSB');
    return s.previous.tgk;
  }
  const { group } = s.csb;
  if (dhs.length !== 2) throw new MikeyProtocolError(ErrorNo.InvalidDh, 'the response must carry DHr and DHi');
  const [dhr, dhi] = dhs as [DhPayload, DhPayload];
  if (dhi.group !== group.mikeyId || Buffer.compare(Buffer.from(dhi.value), Buffer.from(s.dh.dhi)) !== 0) {
    throw new MikeyProtocolError(ErrorNo.AuthFailure, 'the response does not echo our DH value');
  }
  if (dhr.group !== group.mikeyId) throw new MikeyProtocolError(ErrorNo.InvalidDh, 'DHr in another group');
  try {
    return dhComputeSecret(group, s.dh.x, dhr.value);
  } catch (e) {
    return dhError(e);
  }
}
