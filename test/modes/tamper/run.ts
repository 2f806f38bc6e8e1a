// Tamper matrix (RFC 3830 §5.3, §6.12), one file per method: every bit of every message flipped
// once and given to its receiver (the responder for initiator messages, the initiator for
// answers): never accepted, each refusal carries the Error no the processing order gives for
// where the bit lies (../tamper-support.ts), and the receiver still accepts the original
// afterwards. Where a refusal costs a certificate chain, an RSA operation or a pairing, the CI
// run flips every bit of the fields up to 64 bytes and one bit per byte of longer ones (one per
// 8 bytes of certificates); MIKEY_LONG=1 flips every bit of everything. Responder fuzzing:
// ../fuzz.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { METHODS, type Scenario } from '../receivers.js';
import { tamper, type Field } from '../tamper-support.js';

const LONG = process.env.MIKEY_LONG === '1';
/** The CI subset of an expensive message's bits (every bit with MIKEY_LONG=1). */
const SHORT = (bit: number, f: Field) => f.end - f.start <= 64 || (bit % 8 === (bit >> 3) % 8 && (f.kind !== 'cert' || (bit >> 3) % 8 === 0));

/**
 * One test: the messages of `method` (receivers.ts, or `make`) through the matrix, in order;
 * `only`: the messages to flip (the others are only passed on, to reach the next), so that a
 * dear method can be split over files.
 */
export function matrix(method: string, make: () => Promise<Scenario[]> = METHODS[method]!, only?: readonly string[]): void {
  test(`${method}${only ? ` ${only.join(', ')}` : ''}: every message, every bit flipped: 0 accepted, the Error no of the processing order; the original still accepted`, async (t) => {
    const scenarios = await make();
    assert.ok(scenarios.length > 0);
    assert.ok(!only || only.every((m) => scenarios.some((s) => s.message === m)), `no such message in ${method}`);
    for (const s of scenarios) {
      if (only && !only.includes(s.message)) {
        await s.accept();
        continue;
      }
      const started = Date.now();
      const r = await tamper(`${s.method} ${s.message}`, s.original, s.receive, { ...s.ctx, unauthenticated: s.unauthenticated }, s.expensive && !LONG ? SHORT : undefined);
      assert.equal(r.byCode.get('ACCEPTED'), undefined, `${s.method} ${s.message}: a flipped message was accepted`);
      assert.ok(r.flips > 0);
      t.diagnostic(`${s.method} ${s.message}: ${r.flips} flips${s.expensive && !LONG ? ' (CI subset)' : ''}, outcomes ${JSON.stringify([...r.byCode])}, ${Date.now() - started} ms`);
      await s.accept();
    }
  });
}
