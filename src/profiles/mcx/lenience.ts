// What deployed MCX senders and key management systems do beyond TS 33.180 and the RFCs, each
// accepted only when asked and reported by name in the result (`lenient`). 'deployed' asks for
// the whole set a receiver among deployed MCPTT/MCVideo systems needs.
import type { SakkeLenience } from '../../modes/sakke/index.js';
import type { KeyParametersLenience } from './key-parameters.js';
import type { McxKms } from './uid.js';

export interface McxLenience extends SakkeLenience {
  /** 'unregistered-prf': a PRF func value that is not registered, read as PRF-HMAC-SHA-256 (the profile's, E.1). */
  unregisteredPrf?: boolean;
  /** 'key-parameters-without-text': see KeyParametersLenience.withoutText. */
  keyParametersWithoutText?: boolean;
  /** 'key-parameters-empty-element': see KeyParametersLenience.emptyElements. */
  keyParametersEmptyElements?: boolean;
  /** 'key-parameters-form-by-content': see KeyParametersLenience.formByContent. */
  keyParametersFormByContent?: boolean;
  /** 'key-parameters-unreadable': a key-parameters extension (E.6, informative) that cannot be read is reported, and the key kept. */
  keyParametersUnreadable?: boolean;
  /** 'key-material-leading-zeros': keys and KMS keys given with leading zero octets (or short) are brought to their length when in range. */
  keyMaterialLeadingZeros?: boolean;
}

/** Every tolerance: what deployed systems need. */
export const DEPLOYED_LENIENCE: Readonly<Required<McxLenience>> = Object.freeze({
  spWithEmptyMap: true, signatureWithoutSignHeader: true, generalExtensionBeforeSakke: true, unregisteredPrf: true,
  keyParametersWithoutText: true, keyParametersEmptyElements: true, keyParametersFormByContent: true, keyParametersUnreadable: true,
  keyMaterialLeadingZeros: true,
});

/** The tolerance names, as reported in `lenient`, with the option that turns each on. */
export const MCX_TOLERANCES: Readonly<Record<string, keyof McxLenience>> = Object.freeze({
  'sp-with-empty-map': 'spWithEmptyMap',
  'signature-without-sign-header': 'signatureWithoutSignHeader',
  'general-extension-before-sakke': 'generalExtensionBeforeSakke',
  'unregistered-prf': 'unregisteredPrf',
  'key-parameters-without-text': 'keyParametersWithoutText',
  'key-parameters-empty-element': 'keyParametersEmptyElements',
  'key-parameters-form-by-content': 'keyParametersFormByContent',
  'key-parameters-unreadable': 'keyParametersUnreadable',
  'key-material-leading-zeros': 'keyMaterialLeadingZeros',
});

export function resolveMcxLenience(l: McxLenience | 'deployed' | undefined): McxLenience {
  return l === 'deployed' ? DEPLOYED_LENIENCE : (l ?? {});
}

export function keyParametersLenience(l: McxLenience): KeyParametersLenience {
  return { withoutText: l.keyParametersWithoutText === true, emptyElements: l.keyParametersEmptyElements === true, formByContent: l.keyParametersFormByContent === true };
}

// ---- key material lengths (RFC 6507 §4.1, RFC 6508 §2.1, parameter set 1 / P-256) ---------

/** SSK and HS: scalars of P-256; PVT and KPAK: uncompressed P-256 points; RSK and Z: points of E(F_p), p of 1024 bits. */
export const KEY_LENGTHS = Object.freeze({ ssk: 32, hs: 32, pvt: 65, kpak: 65, rsk: 257, zS: 257 } as const);

/**
 * A value at its length: extra leading zero octets removed, a short scalar padded with zeros.
 * Undefined when it cannot be (non-zero extra octets, a short point): the value is out of range.
 */
export function atLength(b: Uint8Array, n: number, scalar: boolean): Uint8Array | undefined {
  if (b.length === n) return b;
  if (b.length > n) return b.subarray(0, b.length - n).every((x) => x === 0) ? b.subarray(b.length - n) : undefined;
  if (!scalar) return undefined;
  const out = new Uint8Array(n);
  out.set(b, n - b.length);
  return out;
}

/** `v` normalised when that changes it and is possible; `changed` says whether it did. */
function norm(v: Uint8Array, n: number, scalar: boolean, changed: { v: boolean }): Uint8Array {
  const w = atLength(v, n, scalar);
  if (!w || w === v) return v;
  changed.v = true;
  return w;
}

export function normaliseKeySet<S extends { rsk: Uint8Array; ssk: Uint8Array; pvt: Uint8Array; hs?: Uint8Array }>(s: S): { set: S; changed: boolean } {
  const c = { v: false };
  const set = { ...s, rsk: norm(s.rsk, KEY_LENGTHS.rsk, false, c), ssk: norm(s.ssk, KEY_LENGTHS.ssk, true, c), pvt: norm(s.pvt, KEY_LENGTHS.pvt, false, c) };
  if (s.hs) set.hs = norm(s.hs, KEY_LENGTHS.hs, true, c);
  return c.v ? { set, changed: true } : { set: s, changed: false };
}

export function normaliseKms(k: McxKms): { kms: McxKms; changed: boolean } {
  const c = { v: false };
  const kms = { ...k, kpak: norm(k.kpak, KEY_LENGTHS.kpak, false, c), zS: k.zS instanceof Uint8Array ? norm(k.zS, KEY_LENGTHS.zS, false, c) : k.zS };
  return c.v ? { kms, changed: true } : { kms: k, changed: false };
}
