// encodeMessageWithSpans: the sender learns where each payload sits without decoding its own
// output; the spans are the ones a receiver's decoder reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, encodeMessageWithSpans, spannedMessage } from '../../src/wire/index.js';
import type { Payload } from '../../src/wire/types.js';
import { CORPUS } from './corpus.js';

test('every corpus message: the encoder reports the spans the decoder finds, nested payloads included', () => {
  for (const s of CORPUS) {
    const e = encodeMessageWithSpans(s.message);
    assert.deepEqual(e.bytes, encodeMessage(s.message), s.name);
    const d = decodeMessage(e.bytes);
    assert.deepEqual(e.header, d.header.span, `${s.name} header`);
    const pairs = (built: readonly Payload[], got: readonly Payload[]): void => {
      assert.equal(built.length, got.length);
      built.forEach((p, i) => {
        const q = got[i]!;
        assert.deepEqual(e.spans.get(p), q.span, `${s.name} ${p.type}[${i}]`);
        if (p.type === 1 && q.type === 1 && p.encrAlg === 0 && p.plaintext) pairs(p.plaintext, q.plaintext!);
        if ((p.type === 16 || p.type === 17) && (q.type === 16 || q.type === 17)) pairs(p.tpData.payloads, q.tpData.payloads);
        if (p.type === 17 && q.type === 17) pairs(p.initiatorData.payloads, q.initiatorData.payloads);
      });
    };
    pairs(s.message.payloads, d.payloads);
    const m = spannedMessage(s.message, e);
    assert.deepEqual(m.payloads.map((p) => p.span), d.payloads.map((p) => p.span), s.name);
  }
});
