// Tamper matrix (RFC 3830 §5.3, §6.12): every bit of every message of every method flipped once
// and given to its receiver (the responder for initiator messages, the initiator for answers):
// never accepted, and each refusal carries the Error no the processing order gives for where the
// bit lies (tamper-support.ts). The original is still accepted afterwards. Expensive methods flip
// every bit of the cleartext and one bit per byte of long ciphertexts by default; MIKEY_LONG=1
// flips every bit of everything (each case says which). Responder fuzzing: fuzz.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PskInitiator, PskResponder, PkInitiator, PkResponder, DhInitiator, DhResponder, DhHmacInitiator, DhHmacResponder,
  RsaRInitiator, RsaRResponder, uriIdentity,
} from '../../src/index.js';
import { tamper, type ClassifyContext, type Field } from './tamper-support.js';

const pki = (f: string) => readFileSync(join(process.cwd(), 'test', 'fixtures', 'pki', f), 'utf8');
const CA = pki('ca.pem');
const alice = { privateKey: pki('alice.key'), certificate: pki('alice.pem'), trustAnchors: [CA] };
const bob = { privateKey: pki('bob.key'), certificate: pki('bob.pem'), trustAnchors: [CA] };
const idAlice = uriIdentity('sip:alice@example.org');
const idBob = uriIdentity('sip:bob@example.org');
const psk = new Uint8Array(16).fill(9);
const NOW = Date.UTC(2027, 0, 15, 12);
const clock = { now: () => NOW };
const SESSIONS = [{ ssrc: 0x1234 }];
const CTX: ClassifyContext = { now: NOW, maxSkewMs: 5 * 60_000 };
const SIGNED: ClassifyContext = { ...CTX, signed: true };
const LONG = process.env.MIKEY_LONG === '1';
/**
 * Messages with certificates and RSA signatures: every bit of every field but the opaque ones
 * over 64 bytes: of signatures, DH values, envelopes one bit per byte, of certificates (each flip
 * costs a parse and a chain validation) one bit per 8 bytes, each bit position in turn; every bit
 * of everything with MIKEY_LONG=1.
 */
const SHORT = (bit: number, f: Field) => LONG || f.end - f.start <= 64 || (bit % 8 === (bit >> 3) % 8 && (f.kind !== 'cert' || (bit >> 3) % 8 === 0));

let started = Date.now();
type T = { diagnostic(m: string): void };
function report(t: T, name: string, r: { flips: number; byCode: Map<string, number> }) {
  assert.equal(r.byCode.get('ACCEPTED'), undefined);
  assert.ok(r.flips > 0);
  t.diagnostic(`${name}: ${r.flips} flips, outcomes ${JSON.stringify([...r.byCode])}, ${Date.now() - started} ms`);
  started = Date.now();
}

test('PSK I_MESSAGE and its verification message: every bit', async (t) => {
  const ini = new PskInitiator({ psk, idi: idAlice, clock });
  const offer = ini.createOffer({ sessions: SESSIONS, verify: true });
  const res = new PskResponder({ psk, clock });
  report(t, 'PSK I', await tamper('PSK I_MESSAGE', offer.bytes, (b) => res.receive(b), CTX));
  const got = await res.receive(offer.bytes);
  report(t, 'PSK R', await tamper('PSK R_MESSAGE', got.response!, (b) => ini.receiveResponse(b), { ...CTX, answer: true, echoesT: true }));
  ini.receiveResponse(got.response!);
});

test('public-key method I_MESSAGE and its verification message: every bit', async (t) => {
  const ini = new PkInitiator({ ...alice, responderKey: bob.certificate, clock });
  const offer = ini.createOffer({ sessions: SESSIONS, verify: true });
  const res = new PkResponder({ ...bob, clock });
  report(t, 'PK I', await tamper('PK I_MESSAGE', offer.bytes, (b) => res.receive(b), SIGNED, SHORT));
  const got = await res.receive(offer.bytes);
  report(t, 'PK R', await tamper('PK R_MESSAGE', got.response!, (b) => ini.receiveResponse(b), { ...CTX, answer: true, echoesT: true }, SHORT));
  ini.receiveResponse(got.response!);
});

test('signed DH I_MESSAGE and R_MESSAGE: every bit', async (t) => {
  const ini = new DhInitiator({ ...alice, clock });
  const offer = ini.createOffer({ sessions: SESSIONS });
  const res = new DhResponder({ ...bob, clock });
  report(t, 'DH I', await tamper('DH I_MESSAGE', offer, (b) => res.receive(b), SIGNED, SHORT));
  const got = await res.receive(offer);
  report(t, 'DH R', await tamper('DH R_MESSAGE', got.response, (b) => ini.receiveResponse(b), { ...SIGNED, answer: true, echoesT: true }, SHORT));
  ini.receiveResponse(got.response);
});

test('DH-HMAC I_MESSAGE and R_MESSAGE: every bit', async (t) => {
  const ini = new DhHmacInitiator({ psk, idi: idAlice, idr: idBob, clock });
  const offer = ini.createOffer({ sessions: SESSIONS });
  const res = new DhHmacResponder({ psk, idr: idBob, clock });
  report(t, 'DH-HMAC I', await tamper('DH-HMAC I_MESSAGE', offer, (b) => res.receive(b), { ...CTX, encrAlgs: [0] }));
  const got = await res.receive(offer);
  report(t, 'DH-HMAC R', await tamper('DH-HMAC R_MESSAGE', got.response, (b) => ini.receiveResponse(b), { ...CTX, answer: true, echoesT: true, encrAlgs: [0] }));
  ini.receiveResponse(got.response);
});

test('RSA-R I_MESSAGE and R_MESSAGE: every bit', async (t) => {
  const ini = new RsaRInitiator({ ...alice, clock });
  const req = ini.createRequest({ sessions: SESSIONS });
  const res = new RsaRResponder({ ...bob, clock });
  report(t, 'RSA-R I', await tamper('RSA-R I_MESSAGE', req, (b) => res.receive(b), SIGNED, SHORT));
  const got = await res.receive(req);
  report(t, 'RSA-R R', await tamper('RSA-R R_MESSAGE', got.response, (b) => ini.receiveResponse(b), { ...SIGNED, answer: true, echoesT: true }, SHORT));
  await ini.receiveResponse(got.response);
});
