// Identities as MIKEY carries them in ID and IDR payloads (RFC 3830 §6.7, RFC 6043 §6.6).
import { timingSafeEqual } from 'node:crypto';
import { IdType } from '../wire/registry.js';

/** An identity as carried in an ID payload (RFC 3830 §6.7). */
export interface Identity {
  idType: number;
  data: Uint8Array;
}
/** A URI identity, e.g. `sip:alice@example.org`. */
export function uriIdentity(uri: string): Identity {
  return { idType: IdType.Uri, data: new TextEncoder().encode(uri) };
}

/** The identity an ID or IDR payload carries, copied out of the message's bytes. */
export function idOf(p: { idType: number; data: Uint8Array } | undefined): Identity | undefined {
  return p ? { idType: p.idType, data: Uint8Array.from(p.data) } : undefined;
}

/**
 * The one identity equality: same ID type, same bytes. Two absent identities are NOT the same:
 * an absent identity names nobody, and every check asks whether a carried identity is the one
 * expected, which nothing proves when neither is there. (Who holds a CSB is a different
 * question, with "both anonymous" a real answer: kit/csb.ts `sameOwner`.)
 */
export function sameIdentity(a: { idType: number; data: Uint8Array } | undefined, b: { idType: number; data: Uint8Array } | undefined): boolean {
  if (!a || !b) return false;
  return a.idType === b.idType && a.data.length === b.data.length && timingSafeEqual(a.data, b.data);
}

/** The identity as text (URIs, NAIs and the other textual ID types); '' when absent. */
export function identityText(id: { data: Uint8Array } | undefined): string {
  return id ? new TextDecoder().decode(id.data) : '';
}
