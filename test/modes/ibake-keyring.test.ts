// The IBAKE key ring reads "now" from the clock it is given, never the wall clock: prune drops
// the keys of past key periods (RFC 6267 §4.1) exactly when a fake clock crosses a period boundary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IbakeKeyRing } from '../../src/modes/ibake/keyring.js';
import { keyPeriodStartMs } from '../../src/modes/ibake/profile.js';
import { alice, bob, PERIOD, T0, testKms } from './ibake-support.js';

const held = (r: IbakeKeyRing) => r.entries().map((e) => `${Buffer.from(e.identity.data).toString()}@${e.periodNo - PERIOD}`).sort();

test('prune follows the injected clock: a past period goes when the clock enters the next one, not a millisecond before', () => {
  const kms = testKms();
  const clock = { t: T0, now() { return this.t; } };
  const ring = new IbakeKeyRing(kms.domain, clock);
  for (const no of [PERIOD - 1, PERIOD, PERIOD + 1]) ring.add(alice, no, kms.extract(alice, no));
  ring.add(bob, PERIOD, kms.extract(bob, PERIOD));

  ring.prune();
  assert.deepEqual(held(ring), ['sip:alice@example.org@0', 'sip:alice@example.org@1', 'sip:bob@example.org@0']);

  clock.t = keyPeriodStartMs(PERIOD + 1, kms.domain.period) - 1;
  ring.prune();
  assert.equal(ring.entries().length, 3, 'still the current period');

  clock.t += 1;
  ring.prune();
  assert.deepEqual(held(ring), ['sip:alice@example.org@1']);
  assert.ok(ring.get(alice, PERIOD + 1), 'the new period\'s key is there to use');
  assert.equal(ring.has(bob, PERIOD), false);

  // an explicit boundary still wins over the clock
  ring.prune(PERIOD + 2);
  assert.equal(ring.entries().length, 0);
});
