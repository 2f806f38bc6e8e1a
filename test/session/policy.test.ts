import { test } from 'node:test';
import assert from 'node:assert/strict';
import { srtpPolicyFromSp, policyParamsForProfile } from '../../src/session/policy.js';
import { SRTP_PROFILES, type SrtpProfileName } from '../../src/crypto/srtp-kdf.js';
import { MikeyProtocolError } from '../../src/session/errors.js';
import { ErrorNo } from '../../src/wire/registry.js';
import type { PolicyParam } from '../../src/wire/types.js';

const sp = (params: PolicyParam[], protType = 0) => ({ type: 10 as const, policyNo: 0, protType, params });
const p = (type: number, ...v: number[]): PolicyParam => ({ type, value: Uint8Array.from(v) });

test('every named profile survives parameters -> policy -> name', () => {
  for (const name of Object.keys(SRTP_PROFILES) as SrtpProfileName[]) {
    const pol = srtpPolicyFromSp(sp(policyParamsForProfile(name)));
    assert.equal(pol.profile, name);
    assert.equal(pol.encrKeyLength, SRTP_PROFILES[name].masterKeyLen);
    assert.equal(pol.saltKeyLength, SRTP_PROFILES[name].masterSaltLen);
  }
});

test('RFC 3711 defaults when nothing is said; AES-GCM defaults per RFC 7714', () => {
  assert.equal(srtpPolicyFromSp(sp([])).profile, 'AES_CM_128_HMAC_SHA1_80');
  const gcm = srtpPolicyFromSp(sp([p(0, 6)]));
  assert.deepEqual([gcm.profile, gcm.saltKeyLength, gcm.authTagLength, gcm.authAlg], ['AEAD_AES_128_GCM', 12, 16, 0]);
  assert.equal(srtpPolicyFromSp(sp([p(0, 6), p(1, 32)])).profile, 'AEAD_AES_256_GCM');
  assert.equal(srtpPolicyFromSp(sp([p(7, 0), p(8, 0)])).profile, 'NULL_HMAC_SHA1_80', 'encryption off = the NULL cipher');
  assert.equal(srtpPolicyFromSp(sp([p(6, 0, 0, 1, 0)])).keyDerivationRate, 256);
});

test('the 3GPP group-call default with RCCm3 (RFC 4771) is understood, and has no libsrtp name', () => {
  const pol = srtpPolicyFromSp(sp([p(0, 6), p(1, 16), p(2, 4), p(4, 12), p(5, 0), p(6, 0), p(13, 0, 1), p(18, 4), p(19, 0), p(20, 16)]));
  assert.deepEqual(pol.rcc, { mode: 4, rate: 1, srtpTagLength: 4, srtcpTagLength: 0 });
  assert.equal(pol.profile, undefined);
});

test('anything not understood is Invalid SPpar (or Invalid SP for another protocol)', () => {
  const refused = (params: PolicyParam[], protType = 0, code: number = ErrorNo.InvalidSpPar) =>
    assert.throws(() => srtpPolicyFromSp(sp(params, protType)), (e: unknown) => e instanceof MikeyProtocolError && e.errorNo === code);
  refused([], 1, ErrorNo.InvalidSp);
  refused([p(0, 2)]);                 // AES-F8
  refused([p(0, 3)]);                 // SEED
  refused([p(1, 20)]);                // 20-byte key
  refused([p(2, 9)]);                 // unknown auth alg
  refused([p(4, 12)]);                // AES-CM with a 12-byte salt
  refused([p(5, 1)]);                 // SEED PRF
  refused([p(6, 0, 3)]);              // KDR not a power of two
  refused([p(7, 2)]);                 // flag 2
  refused([p(12, 4)]);                // SRTP prefix
  refused([p(0, 6), p(20, 8)]);       // AEAD tag 8
  refused([p(0, 6), p(1, 24)]);       // AES-GCM-192
  refused([p(99, 1)]);                // unknown parameter
  refused([p(0, 1), p(0, 1)]);        // twice
  refused([{ type: 1, value: new Uint8Array(0) }]);
});
