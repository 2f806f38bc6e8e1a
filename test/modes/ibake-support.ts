// Shared by the IBAKE tests: the RFC 5091 §7 curve (small, fast: protocol logic), a KMS on it,
// key rings, clocks, and assertions on outcomes.
import assert from 'node:assert/strict';
import { bfExtractPriv, bfSetup, type1Curve, type BfPublicParams } from '../../src/crypto/bfibe.js';
import { uriIdentity, type Identity } from '../../src/session/identity.js';
import { IbakeKeyRing } from '../../src/modes/ibake/keyring.js';
import { DEFAULT_KEY_PERIOD, ibeIdentity, keyPeriodOf, staticDomain, type IbeDomain } from '../../src/modes/ibake/profile.js';
import { srtpContexts, type CryptoSessionBundle } from '../../src/session/bundle.js';
import { MikeyProtocolError } from '../../src/session/errors.js';

/** RFC 5091 §7: p (192 bits), q (140 bits), P; hash SHA-1. */
export const smallCurve = type1Curve(
  0xa6a0ffd016103ffffffffff595f002fe9ef195f002fe9efbn,
  0xffffffffffffffffffffffeffffffffffffn,
  { x: 0x6924c354256acf5a0ff7f61be4f0495b54540a5bf6395b3dn, y: 0x024fd8e2eb7c09104bca116f41c035219955237c0eac19abn },
);

export const T0 = Date.UTC(2026, 10, 27, 12);
export const clockAt = (ms: number) => ({ now: () => ms });
export const PERIOD = keyPeriodOf(T0, DEFAULT_KEY_PERIOD);

export const alice = uriIdentity('sip:alice@example.org');
export const bob = uriIdentity('sip:bob@example.org');
export const carol = uriIdentity('sip:carol@example.org');
export const mailbox = uriIdentity('sip:voicemail@example.org');

export interface TestKms {
  params: BfPublicParams;
  s: bigint;
  domain: IbeDomain;
  extract(id: Identity, periodNo?: number): ReturnType<typeof bfExtractPriv>;
  ring(...ids: Identity[]): IbakeKeyRing;
}

export function testKms(curve = smallCurve, hash: 'sha1' | 'sha256' = 'sha1'): TestKms {
  const { params, s } = bfSetup(curve, hash);
  const domain = staticDomain(params);
  const extract = (id: Identity, no = PERIOD) => bfExtractPriv(params, s, ibeIdentity(id, no, domain.period));
  return {
    params, s, domain, extract,
    ring: (...ids) => {
      const r = new IbakeKeyRing(domain);
      for (const id of ids) r.add(id, PERIOD, extract(id), { validate: false });
      return r;
    },
  };
}

export function contexts(b: CryptoSessionBundle): string {
  return JSON.stringify(srtpContexts(b).map((c) => [c.csId, c.ssrc, c.profile, Buffer.from(c.masterKey).toString('hex'), Buffer.from(c.masterSalt).toString('hex'), c.mki && Buffer.from(c.mki).toString('hex')]));
}

export function sameKeys(a: CryptoSessionBundle, b: CryptoSessionBundle): void {
  assert.equal(a.csbId, b.csbId);
  assert.equal(contexts(a), contexts(b));
}

export async function rejects(p: Promise<unknown> | (() => unknown), errorNo: number): Promise<MikeyProtocolError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof MikeyProtocolError, String(e));
    assert.equal(e.errorNo, errorNo, e.message);
    return e;
  }
  assert.fail('accepted');
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
