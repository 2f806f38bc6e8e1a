// Identities as MIKEY carries them in ID and IDR payloads (RFC 3830 §6.7, RFC 6043 §6.6).
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
export function sameIdentity(a: Identity | undefined, b: Identity | undefined): boolean {
  if (!a || !b) return a === b;
  return a.idType === b.idType && Buffer.compare(Buffer.from(a.data), Buffer.from(b.data)) === 0;
}
