// Tamper matrix and responder fuzzing: every bit of each initiator message flipped once, and
// random mutations, given to a fresh responder: never accepted, only protocol errors with an RFC
// 3830 §6.12 Error no, and the original is still accepted afterwards. MIKEY_LONG=1 runs more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PskInitiator, PskResponder } from '../../src/modes/psk/index.js';
import { PkInitiator, PkResponder } from '../../src/modes/pke/index.js';
import { DhInitiator, DhResponder } from '../../src/modes/dh/index.js';
import { DhHmacInitiator, DhHmacResponder } from '../../src/modes/dhhmac/index.js';
import { RsaRInitiator, RsaRResponder } from '../../src/modes/rsar/index.js';
import { uriIdentity } from '../../src/session/identity.js';
import { MikeyProtocolError } from '../../src/session/errors.js';
import { ErrorNo } from '../../src/wire/registry.js';

const LONG = process.env.MIKEY_LONG === '1';
const pki = (f: string) => readFileSync(join(process.cwd(), 'test', 'fixtures', 'pki', f), 'utf8');
const CA = pki('ca.pem');
const alice = { privateKey: pki('alice.key'), certificate: pki('alice.pem'), trustAnchors: [CA] };
const bob = { privateKey: pki('bob.key'), certificate: pki('bob.pem'), trustAnchors: [CA] };
const idAlice = uriIdentity('sip:alice@example.org');
const idBob = uriIdentity('sip:bob@example.org');
const psk = new Uint8Array(16).fill(9);
const clock = { now: () => Date.UTC(2027, 0, 15, 12) };
const SESSIONS = [{ ssrc: 0x1234 }];
const CODES = new Set<number>(Object.values(ErrorNo) as number[]);

interface Case { name: string; message: () => Uint8Array; responder: () => { receive(b: Uint8Array): Promise<unknown> } }
const cases: Case[] = [
  { name: 'PSK', message: () => new PskInitiator({ psk, idi: idAlice, clock }).createOffer({ sessions: SESSIONS, verify: true }).bytes, responder: () => new PskResponder({ psk, clock }) },
  { name: 'public-key', message: () => new PkInitiator({ ...alice, responderKey: bob.certificate, clock }).createOffer({ sessions: SESSIONS, verify: true }).bytes, responder: () => new PkResponder({ ...bob, clock }) },
  { name: 'signed DH', message: () => new DhInitiator({ ...alice, clock }).createOffer({ sessions: SESSIONS }), responder: () => new DhResponder({ ...bob, clock }) },
  { name: 'DH-HMAC', message: () => new DhHmacInitiator({ psk, idi: idAlice, idr: idBob, clock }).createOffer({ sessions: SESSIONS }), responder: () => new DhHmacResponder({ psk, idr: idBob, clock }) },
  { name: 'RSA-R', message: () => new RsaRInitiator({ ...alice, clock }).createRequest({ sessions: SESSIONS }), responder: () => new RsaRResponder({ ...bob, clock }) },
];

async function refusedOnly(res: { receive(b: Uint8Array): Promise<unknown> }, bytes: Uint8Array, what: string): Promise<boolean> {
  try {
    await res.receive(bytes);
    return true;
  } catch (e) {
    assert.ok(e instanceof MikeyProtocolError, `${what}: ${String(e)}`);
    assert.ok(CODES.has(e.errorNo), `${what}: Error no ${e.errorNo}`);
    return false;
  }
}

for (const c of cases) {
  test(`${c.name}: bits of the I_MESSAGE flipped (one per byte, every bit with MIKEY_LONG=1): 0 accepted, protocol errors only; the original still accepted`, async () => {
    const msg = c.message();
    const res = c.responder();
    let accepted = 0;
    const codes = new Map<number, number>();
    for (let bit = 0; bit < msg.length * 8; bit++) {
      if (!LONG && bit % 8 !== (bit >> 3) % 8) continue; // CI-sized: one bit per byte, each position in turn
      const m = Uint8Array.from(msg);
      m[bit >> 3]! ^= 0x80 >> (bit & 7);
      try {
        await res.receive(m);
        accepted++;
      } catch (e) {
        assert.ok(e instanceof MikeyProtocolError, `bit ${bit}: ${String(e)}`);
        assert.ok(CODES.has(e.errorNo), `bit ${bit}: Error no ${e.errorNo}`);
        codes.set(e.errorNo, (codes.get(e.errorNo) ?? 0) + 1);
      }
    }
    assert.equal(accepted, 0, `${accepted} flips accepted`);
    assert.ok(codes.has(ErrorNo.AuthFailure), `Auth failure among ${JSON.stringify([...codes])}`);
    await res.receive(msg);
  });

  test(`${c.name}: responder fuzzing (mutated valid messages): no keys, only protocol errors; the original still accepted`, async () => {
    const msg = c.message();
    const res = c.responder();
    let seed = 0x9e3779b9;
    const rnd = (n: number) => {
      seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
      return seed % n;
    };
    const rounds = LONG ? 5000 : 100;
    for (let i = 0; i < rounds; i++) {
      let m = Uint8Array.from(msg);
      const kind = rnd(4);
      if (kind === 0) for (let k = 0, n = 1 + rnd(8); k < n; k++) m[rnd(m.length)] = rnd(256);
      else if (kind === 1) m = m.subarray(0, rnd(m.length));
      else if (kind === 2) { const at = rnd(m.length); m = Uint8Array.from([...m.subarray(0, at), ...Array.from({ length: 1 + rnd(16) }, () => rnd(256)), ...m.subarray(at)]); }
      else { const a = rnd(m.length); const b = a + rnd(m.length - a); m = Uint8Array.from([...m.subarray(0, a), ...m.subarray(b)]); }
      if (m.length === msg.length && m.every((b, j) => b === msg[j])) continue; // the mutation changed nothing
      assert.equal(await refusedOnly(res, m, `round ${i}`), false, `round ${i}: a mutated message was accepted`);
    }
    await res.receive(msg);
  });
}
