// Hostile input to every responder: whatever arrives, the answer is a MikeyProtocolError with an
// Error payload code (and an Error message to send), never another exception and never keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PskInitiator, PskResponder } from '../../src/modes/psk/index.js';
import { PkInitiator, PkResponder } from '../../src/modes/pke/index.js';
import { DhInitiator, DhResponder } from '../../src/modes/dh/index.js';
import { MikeyProtocolError } from '../../src/session/errors.js';
import { ErrorNo, registryInfo } from '../../src/wire/registry.js';
import { pki } from '../support/pki.js';

const T0 = Date.UTC(2027, 0, 15, 12);
const clock = { now: () => T0 };
const alice = { privateKey: pki('alice.key'), certificate: pki('alice.pem'), trustAnchors: [pki('ca.pem')] };
const bob = { privateKey: pki('bob.key'), certificate: pki('bob.pem'), trustAnchors: [pki('ca.pem')] };
const psk = new Uint8Array(16).fill(5);

const mutation = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('set' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('insert' as const), at: fc.nat(), v: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
);
function mutate(src: Uint8Array, ms: Array<{ k: string; at: number; bit?: number; v?: number | Uint8Array }>): Uint8Array {
  let b = Uint8Array.from(src);
  for (const m of ms) {
    const at = m.at % Math.max(1, b.length);
    if (m.k === 'flip') b[at]! ^= 1 << m.bit!;
    else if (m.k === 'set') b[at] = m.v as number;
    else if (m.k === 'cut') b = b.subarray(0, at);
    else b = Uint8Array.from([...b.subarray(0, at), ...(m.v as Uint8Array), ...b.subarray(at)]);
  }
  return b;
}

async function onlyProtocolErrors(name: string, original: Uint8Array, receive: (b: Uint8Array) => Promise<unknown>, runs: number): Promise<void> {
  await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (ms) => {
    const b = mutate(original, ms);
    if (Buffer.compare(Buffer.from(b), Buffer.from(original)) === 0) return;
    try {
      await receive(b);
    } catch (e) {
      assert.ok(e instanceof MikeyProtocolError, `${name}: ${e instanceof Error ? e.stack : e}`);
      assert.ok(registryInfo(ErrorNo).has(e.errorNo));
      assert.ok(e.response instanceof Uint8Array && e.response.length >= 10, 'an Error message to send');
      return;
    }
    assert.fail(`${name}: a mutated message was accepted`);
  }), { numRuns: runs });
}

test('PSK responder: mutated messages give protocol errors only', async () => {
  const offer = new PskInitiator({ psk, clock }).createOffer({ sessions: [{ ssrc: 1 }, { ssrc: 2 }], verify: true });
  await onlyProtocolErrors('PSK', offer.bytes, (b) => new PskResponder({ psk, clock }).receive(b), 2000);
});

test('public-key responder: mutated messages give protocol errors only', async () => {
  const offer = new PkInitiator({ ...alice, responderKey: bob.certificate, clock }).createOffer({ sessions: [{ ssrc: 1 }] });
  await onlyProtocolErrors('PK', offer.bytes, (b) => new PkResponder({ ...bob, clock }).receive(b), 400);
});

test('DH responder: mutated messages give protocol errors only', async () => {
  const offer = new DhInitiator({ ...alice, clock }).createOffer({ sessions: [{ ssrc: 1 }], group: 'OAKLEY-1' });
  await onlyProtocolErrors('DH', offer.bytes, (b) => new DhResponder({ ...bob, clock }).receive(b), 400);
});
