// Responder fuzzing: mutated valid messages (bytes set, truncated, inserted, deleted) given to
// the receiver of every message of every method: only protocol errors (a MikeyProtocolError with
// an RFC 3830 §6.12 Error no, or an unauthenticated Error message at an initiator), never keys,
// and the original is still accepted afterwards. MIKEY_LONG=1 runs 50 times as many rounds. MCX
// (TS 33.180 over RFC 6509) has its own fuzzing: test/profiles/mcx-fuzz.test.ts. Tamper matrix: tamper/*.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorNo, MikeyErrorMessage, MikeyProtocolError } from '../../src/index.js';
import { METHODS } from './receivers.js';

const LONG = process.env.MIKEY_LONG === '1';
const CODES = new Set<number>(Object.values(ErrorNo) as number[]);

function rng(seed: number) {
  return (n: number) => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed % n;
  };
}

function mutate(rnd: (n: number) => number, msg: Uint8Array): Uint8Array {
  let m = Uint8Array.from(msg);
  const kind = rnd(4);
  if (kind === 0) for (let k = 0, n = 1 + rnd(8); k < n; k++) m[rnd(m.length)] = rnd(256);
  else if (kind === 1) m = m.subarray(0, rnd(m.length));
  else if (kind === 2) { const at = rnd(m.length); m = Uint8Array.from([...m.subarray(0, at), ...Array.from({ length: 1 + rnd(16) }, () => rnd(256)), ...m.subarray(at)]); }
  else { const a = rnd(m.length); const b = a + rnd(m.length - a); m = Uint8Array.from([...m.subarray(0, a), ...m.subarray(b)]); }
  return m;
}

// pairings and RSA make IBAKE, SAKKE and the certificate methods dearer per round
const ROUNDS: Record<string, number> = { PSK: 200, 'DH-HMAC': 200, TICKET: 100, PK: 40, DH: 40, 'RSA-R': 40, SAKKE: 30, IBAKE: 15 };

for (const method of Object.keys(METHODS)) {
  test(`${method}: every receiver fuzzed with mutated valid messages: only protocol errors, no keys; the original still accepted`, async (t) => {
    const rnd = rng(0x9e3779b9 ^ method.length);
    for (const s of await METHODS[method]!()) {
      const msg = s.original;
      const rounds = (ROUNDS[method] ?? 50) * (LONG ? 50 : 1);
      const outcomes = new Map<string, number>();
      for (let i = 0; i < rounds; i++) {
        const m = mutate(rnd, msg);
        if (m.length === msg.length && m.every((b, j) => b === msg[j])) continue;
        let got: string;
        try {
          const r = await s.receive(m);
          assert.ok(s.unauthenticated && !r.keyed, `${s.method} ${s.message} round ${i}: a mutated message was accepted`);
          got = 'answered without keys';
        } catch (e) {
          if (e instanceof MikeyErrorMessage && !e.authenticated) got = 'Error message';
          else {
            assert.ok(e instanceof MikeyProtocolError, `${s.method} ${s.message} round ${i}: ${String(e)}`);
            assert.ok(CODES.has(e.errorNo), `${s.method} ${s.message} round ${i}: Error no ${e.errorNo}`);
            got = String(e.errorNo);
          }
        }
        outcomes.set(got, (outcomes.get(got) ?? 0) + 1);
      }
      t.diagnostic(`${s.method} ${s.message}: ${rounds} rounds ${JSON.stringify([...outcomes])}`);
      await s.accept();
    }
  });
}
