// Finding 14 written as an outsider would (only the package by name): a flood of broken messages
// must not cost a receiver more than the same number of good ones. Each broken message is a good
// one cut short inside its last payload, so the decoder walks the whole chain and refuses it at
// the deepest nesting level (where a stack captured per level cost 9-13x a decode).
// docs/security.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { PskInitiator, PskResponder, MikeyDecodeError, MikeyProtocolError, decodeMessage } from 'mikey';

const T0 = Date.UTC(2027, 0, 15, 12);
const clock = { now: () => T0 };
const psk = new Uint8Array(16).fill(9);

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
}

test('rejecting a truncated message costs no more than decoding a good one (decodeMessage), and a responder refuses it with a protocol error', async (t) => {
  const good = new PskInitiator({ psk, clock }).createOffer({ sessions: [{ ssrc: 1 }, { ssrc: 2 }, { ssrc: 3 }], verify: true }).bytes;
  const bad = good.subarray(0, good.length - 3);
  assert.throws(() => decodeMessage(bad), MikeyDecodeError);
  const N = 400;
  const accept: number[] = [];
  const reject: number[] = [];
  // interleaved rounds, medians: a loaded machine slows both sides alike
  for (let round = 0; round < 15; round++) {
    let t0 = performance.now();
    for (let i = 0; i < N; i++) decodeMessage(good);
    accept.push(performance.now() - t0);
    t0 = performance.now();
    for (let i = 0; i < N; i++) {
      try {
        decodeMessage(bad);
      } catch (e) {
        if (!(e instanceof MikeyDecodeError)) throw e;
      }
    }
    reject.push(performance.now() - t0);
  }
  const ratio = median(reject) / median(accept);
  t.diagnostic(`${N} decodes ${median(accept).toFixed(2)} ms, ${N} rejections ${median(reject).toFixed(2)} ms: ratio ${ratio.toFixed(2)}`);
  assert.ok(ratio <= 1.5, `a rejection costs ${ratio.toFixed(2)}x a decode`);
  // and a responder answers it with an Error no, not a crash
  await assert.rejects(new PskResponder({ psk, clock }).receive(bad), (e: unknown) => e instanceof MikeyProtocolError && Number.isInteger(e.errorNo));
});
