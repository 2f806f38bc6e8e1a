import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import {
  decodeMessage, encodeMessage, encodeMessageWithSpans, encodePayloads, MikeyDecodeError, decodeEskData, decodeIbakeData, decodeKeyDataChain,
  tryDecodeEskData, tryDecodeIbakeData, tryDecodeKeyDataChain, tryDecodeMessage,
} from '../../src/wire/index.js';
import { CORPUS } from './corpus.js';

const SAMPLES = CORPUS.map((s) => encodeMessage(s.message));
/** The slowest inputs seen (GC pauses and compilation included), re-timed at the end. */
const slowest: Array<{ ms: number; bytes: Uint8Array }> = [];

/** The same error: where, why, and the Error payload code. */
function sameError(a: MikeyDecodeError, b: MikeyDecodeError): void {
  assert.deepEqual({ offset: a.offset, path: a.path, reason: a.reason, errorNo: a.errorNo }, { offset: b.offset, path: b.path, reason: b.reason, errorNo: b.errorNo });
}

/**
 * The decoder's contract on any input: MikeyDecodeError, or a message that re-encodes to the
 * input; and `tryDecodeMessage` never throws, returning that error or that message.
 */
function contract(bytes: Uint8Array): void {
  const t0 = performance.now();
  const tried = tryDecodeMessage(bytes);
  try {
    const m = decodeMessage(bytes);
    assert.deepEqual(encodeMessage(m), bytes);
    assert.ok(!(tried instanceof MikeyDecodeError), `tryDecodeMessage refused what decodeMessage accepts: ${String(tried)}`);
    assert.deepEqual(tried, m);
  } catch (e) {
    if (!(e instanceof MikeyDecodeError)) throw e;
    assert.ok(tried instanceof MikeyDecodeError, 'tryDecodeMessage accepted what decodeMessage refuses');
    sameError(tried, e);
  }
  const ms = performance.now() - t0;
  if (slowest.length < 20 || ms > slowest[slowest.length - 1]!.ms) {
    slowest.push({ ms, bytes: Uint8Array.from(bytes) });
    slowest.sort((a, b) => b.ms - a.ms);
    slowest.length = Math.min(slowest.length, 20);
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(src: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = Uint8Array.from(src);
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case 'flip': b[at]! ^= 1 << m.bit; break;
      case 'set': b[at] = m.v; break;
      case 'insert': b = Uint8Array.from([...b.subarray(0, at), ...m.bytes, ...b.subarray(at)]); break;
      case 'delete': b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + m.n)]); break;
      case 'cut': b = b.subarray(0, at); break;
    }
  }
  return b;
}

test('random bytes: only MikeyDecodeError, never a hang; tryDecodeMessage returns the same error', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => contract(b)), { numRuns: 3000 });
  // random bytes that at least start like a MIKEY header get further into the decoder
  fc.assert(fc.property(fc.integer({ min: 0, max: 27 }), fc.uint8Array({ maxLength: 1024 }), (dt, rest) => {
    contract(Uint8Array.from([1, dt, ...rest]));
  }), { numRuns: 3000 });
});

test('mutated samples: only MikeyDecodeError or a self-consistent message', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: SAMPLES.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (i, ms) => {
    contract(mutate(SAMPLES[i]!, ms));
  }), { numRuns: 20000 });
});

test('sub-payload decoders keep the same contract, and their try- forms return what they throw', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), fc.constantFrom(6, 14, 20, 25), (b, first) => {
    for (const [f, tryF] of [[decodeKeyDataChain, tryDecodeKeyDataChain], [decodeIbakeData, tryDecodeIbakeData], [decodeEskData, tryDecodeEskData]] as const) {
      const tried = tryF(b, first);
      try {
        assert.deepEqual(tried, f(b, first));
      } catch (e) {
        if (!(e instanceof MikeyDecodeError)) throw e;
        assert.ok(tried instanceof MikeyDecodeError);
        sameError(tried, e);
      }
    }
  }), { numRuns: 3000 });
});

/** Bytes of their own: the whole backing buffer is the message (nothing before, after or beside it). */
function owned(b: Uint8Array, what: string): void {
  assert.equal(b.byteOffset, 0, `${what}: byteOffset`);
  assert.equal(b.buffer.byteLength, b.length, `${what}: buffer.byteLength`);
}

test('encode(decode(x)) gives x back, in bytes of its own', () => {
  let accepted = 0;
  const check = (bytes: Uint8Array): void => {
    let m;
    try {
      m = decodeMessage(bytes);
    } catch (e) {
      if (e instanceof MikeyDecodeError) return;
      throw e;
    }
    accepted++;
    const out = encodeMessage(m);
    assert.deepEqual(out, bytes);
    owned(out, 'encodeMessage');
    const withSpans = encodeMessageWithSpans(m);
    assert.deepEqual(withSpans.bytes, bytes);
    owned(withSpans.bytes, 'encodeMessageWithSpans');
    // a chain alone too (what KEMAC, IBAKE and ESK plaintexts are encoded with)
    const chain = encodePayloads(m.payloads);
    assert.deepEqual(chain, bytes.subarray(m.header.span!.end));
    owned(chain, 'encodePayloads');
  };
  for (const b of SAMPLES) check(b);
  fc.assert(fc.property(fc.integer({ min: 0, max: SAMPLES.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 2 }), (i, ms) => {
    check(mutate(SAMPLES[i]!, ms));
  }), { numRuns: 3000 });
  assert.ok(accepted > SAMPLES.length, `only ${accepted} inputs decoded`);
  // two messages encoded one after the other share nothing
  const a = encodeMessage(CORPUS[0]!.message);
  const b = encodeMessage(CORPUS[0]!.message);
  assert.notEqual(a.buffer, b.buffer);
});

test('no message takes more than a few milliseconds', () => {
  // the 20 slowest inputs of all runs above, each re-timed (best of 5, so a GC pause does not count)
  assert.ok(slowest.length === 20);
  for (const s of slowest) {
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      try { decodeMessage(s.bytes); } catch { /* rejected */ }
      best = Math.min(best, performance.now() - t0);
    }
    assert.ok(best < 2, `an input of ${s.bytes.length} bytes takes ${best.toFixed(2)} ms`);
  }
  // and a large valid message: 65535 bytes of key data in one KEMAC
  const big = encodeMessage({ header: CORPUS[0]!.message.header, payloads: [{ type: 1, encrAlg: 1, encrData: new Uint8Array(65535), macAlg: 0, mac: new Uint8Array(0) }] });
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) decodeMessage(big);
  assert.ok((performance.now() - t0) / 100 < 1);
});
