// Who a crypto session bundle belongs to (RFC 3830 §4.5: an update is sent by the peer that set
// up the CSB). One table for every method: a CSB is held by the identity AND the credential
// (pre-shared key, signing key, envelope key pair) that authenticated the message creating it;
// an update is taken only from that owner; an initial message naming a CSB ID held by another
// owner is refused with Invalid ID, never merged. Callers read (`held`) before authentication
// and write (`commit`) only after every check passed.
import { createHash, KeyObject, timingSafeEqual } from 'node:crypto';
import { ErrorNo } from '../../wire/registry.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { sameIdentity, type Identity } from '../../session/identity.js';

/** The owner of a CSB: an identity (when the method carries one) and a credential fingerprint. */
export interface CsbOwner {
  id: Identity | undefined;
  /** SHA-256 of the credential with its kind (see `credentialFingerprint`). */
  credential: Uint8Array;
}

/**
 * A fingerprint of the credential that authenticated a message: a pre-shared key (hashed, never
 * kept in clear by the table), or a public key (its SPKI DER).
 */
export function credentialFingerprint(kind: 'psk' | 'public-key' | 'identity-key', credential: Uint8Array | KeyObject): Uint8Array {
  const bytes = credential instanceof KeyObject ? credential.export({ type: 'spki', format: 'der' }) : credential;
  return new Uint8Array(createHash('sha256').update(`mikey csb owner ${kind}\0`).update(bytes).digest());
}

export function sameOwner(a: CsbOwner, b: CsbOwner): boolean {
  // a CSB created without an identity is held by "anonymous + this credential"
  const ids = a.id === undefined || b.id === undefined ? a.id === b.id : sameIdentity(a.id, b.id);
  // both parts compared, so the time does not say which differed
  const creds = a.credential.length === b.credential.length && timingSafeEqual(a.credential, b.credential);
  return ids && creds;
}

export class CsbTable<S> {
  private readonly entries = new Map<number, { owner: CsbOwner; state: S }>();

  /** The CSB under `csbId`, whoever holds it (read-only: for the keys an update is checked with). */
  peek(csbId: number): S | undefined {
    return this.entries.get(csbId >>> 0)?.state;
  }

  /**
   * The state `owner` holds under `csbId` (undefined: the ID is free). Throws Invalid ID when
   * another owner holds it: an update from someone else, or an initial message reusing its ID.
   */
  held(csbId: number, owner: CsbOwner): S | undefined {
    const e = this.entries.get(csbId >>> 0);
    if (!e) return undefined;
    if (!sameOwner(e.owner, owner)) throw new MikeyProtocolError(ErrorNo.InvalidId, `CSB ID ${csbId >>> 0} is held by another peer`);
    return e.state;
  }

  /** Write the CSB after every check passed; refuses (Invalid ID) to hand one to a new owner. */
  commit(csbId: number, owner: CsbOwner, state: S): void {
    this.held(csbId, owner);
    this.entries.set(csbId >>> 0, { owner: { id: owner.id && { idType: owner.id.idType, data: Uint8Array.from(owner.id.data) }, credential: owner.credential }, state });
  }

  /** Forget a CSB (its owner ended it). */
  delete(csbId: number): boolean {
    return this.entries.delete(csbId >>> 0);
  }

  get size(): number {
    return this.entries.size;
  }
}
