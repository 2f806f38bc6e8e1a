// A user's IBE private keys K_PR, one per identity and key period (RFC 6267 §4.1: "the KMS
// may issue Private Keys for a whole subscription cycle"), with the KMS they come from.
import type { Point } from '../../crypto/pairing/curve.js';
import type { BfPublicParams } from '../../crypto/bfibe.js';
import type { Identity } from '../../session/identity.js';
import { systemClock, type Clock } from '../../session/time.js';
import { domainParams, ibeIdentity, keyPeriodOf, privateKeyMatches, type IbeDomain } from './profile.js';

export interface PrivateKeyEntry {
  identity: Identity;
  periodNo: number;
  key: Point;
}

const keyOf = (id: Identity, no: number) => `${id.idType}:${Buffer.from(id.data).toString('hex')}:${no}`;

export class IbakeKeyRing {
  private readonly keys = new Map<string, PrivateKeyEntry>();

  /** `domain`: the KMS that issued our keys (its parameters, its key periods); `clock`: what "now" is for prune (default the system clock). */
  constructor(readonly domain: IbeDomain, private readonly clock: Clock = systemClock) {}

  /**
   * Add K_PR for `identity` in key period `periodNo`. It is checked against the KMS's public
   * parameters (a key of another identity, period or KMS is refused) unless `validate` is false.
   */
  add(identity: Identity, periodNo: number, key: Point, opts: { validate?: boolean } = {}): void {
    const params = domainParams(this.domain, periodNo);
    if (opts.validate !== false && !privateKeyMatches(params, ibeIdentity(identity, periodNo, this.domain.period), key)) {
      throw new RangeError(`the private key is not the one of this identity for key period ${periodNo}`);
    }
    this.keys.set(keyOf(identity, periodNo), { identity: { idType: identity.idType, data: Uint8Array.from(identity.data) }, periodNo, key });
  }

  get(identity: Identity, periodNo: number): { key: Point; params: BfPublicParams } | undefined {
    const e = this.keys.get(keyOf(identity, periodNo));
    const params = this.domain.paramsFor(periodNo);
    return e && params ? { key: e.key, params } : undefined;
  }

  has(identity: Identity, periodNo: number): boolean {
    return this.keys.has(keyOf(identity, periodNo));
  }

  /** Drop keys of periods before `periodNo` (default: the current one). */
  prune(before: number = keyPeriodOf(this.clock.now(), this.domain.period)): void {
    for (const [k, e] of this.keys) if (e.periodNo < before) this.keys.delete(k);
  }

  entries(): PrivateKeyEntry[] {
    return [...this.keys.values()];
  }
}
