// Tamper matrix, continued (tamper-matrix.test.ts has the RFC 3830 methods): every message of
// MIKEY-TICKET (REQUEST_INIT, REQUEST_RESP, TRANSFER_INIT, RESOLVE_INIT, RESOLVE_RESP,
// TRANSFER_RESP) and MIKEY-SAKKE, each bit flipped once, each refusal checked against the Error no the RFC 3830 §5.3
// order gives (tamper-support.ts). MIKEY-IBAKE is covered by fuzz.test.ts and ibake.test.ts
// (not yet by this matrix). Where a refusal costs a pairing (SAKKE) the CI run flips every bit of the fields up to 64 bytes (header, T, IDs, SP, lengths,
// algorithms) and one bit per byte of longer ones (ciphertexts, signatures); MIKEY_LONG=1 flips
// every bit of everything. MIKEY-TICKET is cheap: every bit, always.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { METHODS } from './receivers.js';
import { tamper, type Field } from './tamper-support.js';

const LONG = process.env.MIKEY_LONG === '1';
const SHORT = (bit: number, f: Field) => LONG || f.end - f.start <= 64 || bit % 8 === (bit >> 3) % 8;

for (const method of ['TICKET', 'SAKKE']) {
  test(`${method}: every message, every bit flipped (${method === 'TICKET' ? 'all bits' : 'long fields: one bit per byte unless MIKEY_LONG=1'}): 0 accepted, the Error no of the processing order; the original still accepted`, async (t) => {
    for (const s of await METHODS[method]!()) {
      const started = Date.now();
      const r = await tamper(`${s.method} ${s.message}`, s.original, s.receive, { ...s.ctx, unauthenticated: s.unauthenticated }, s.expensive ? SHORT : undefined);
      assert.equal(r.byCode.get('ACCEPTED'), undefined);
      t.diagnostic(`${s.method} ${s.message}: ${r.flips} flips, outcomes ${JSON.stringify([...r.byCode])}, ${Date.now() - started} ms`);
      await s.accept();
    }
  });
}
