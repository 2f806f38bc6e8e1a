// Attacks on the responders of the RFC 3830, 4650 and 4738 methods, written as an outsider would:
// only the package by name. Another authenticated peer tries to take over a crypto session bundle
// (RFC 3830 §4.5: an update comes from the peer that set the CSB up), offers below the local
// minimum SRTP policy, the 768/1024-bit OAKLEY groups, and old COUNTER messages after a restart.
// Every attempt must fail and leave the victim's CSB as it was. (Findings 1, 2, 11, 12 of the
// security review; docs/security.md.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PskInitiator, PskResponder, PkInitiator, PkResponder, DhInitiator, DhResponder, DhHmacInitiator, DhHmacResponder, RsaRInitiator, RsaRResponder,
  FileCounterStore, MemoryCounterStore, ErrorNo, decodeMessage, uriIdentity, type CryptoSessionBundle, type SrtpProfileName,
} from 'mikey';
import { refused } from './support.js';
import { pki, CA, credentials } from '../support/pki.js';

const alice = credentials('alice');
const bob = credentials('bob');
const idAlice = uriIdentity('sip:alice@example.org');
const idBob = uriIdentity('sip:bob@example.org');
const idMallory = uriIdentity('sip:mallory@example.org');
// mallory is a peer the responder knows too (by her key): authenticated, but not alice
const mallory = { privateKey: pki('mallory.key'), idi: idMallory };
const knowsMallory = { peerKey: (id: { data: Uint8Array } | undefined) => (id && Buffer.from(id.data).toString() === 'sip:mallory@example.org' ? pki('mallory.pem') : undefined) as never };
const T0 = Date.UTC(2027, 0, 15, 12);
const clock = { now: () => T0 };
const SESSIONS = [{ ssrc: 0x1234 }];
const CSB = 0xc5b00001;
const RAND = new Uint8Array(16).fill(0x42);
const pskOf: Record<string, Uint8Array> = { 'sip:alice@example.org': new Uint8Array(16).fill(1), 'sip:mallory@example.org': new Uint8Array(16).fill(2) };
const pskLookup = (idi: { data: Uint8Array } | undefined) => (idi ? pskOf[Buffer.from(idi.data).toString()] : undefined);

const keysOf = (b: CryptoSessionBundle) => b.sessions.flatMap((s) => s.keys.map((k) => Buffer.from(k.masterKey).toString('hex')));


test('PSK: another peer cannot update or re-create the CSB of alice (Invalid ID); alice keeps her keys', async () => {
  const res = new PskResponder({ psk: pskLookup, clock });
  const a = new PskInitiator({ psk: pskOf['sip:alice@example.org']!, idi: idAlice, clock });
  const offer = a.createOffer({ sessions: SESSIONS, csbId: CSB, rand: RAND });
  await res.receive(offer.bytes);
  const m = new PskInitiator({ psk: pskOf['sip:mallory@example.org']!, idi: idMallory, clock });
  // RAND travelled in clear: mallory keys an update with it and her own PSK
  const initial = m.createOffer({ sessions: SESSIONS, csbId: CSB, rand: RAND, keys: [{ key: new Uint8Array(16).fill(0xee) }] });
  const update = m.createUpdate({ keys: [{ key: new Uint8Array(16).fill(0xee) }] });
  await refused(res.receive(update.bytes), ErrorNo.InvalidId);
  await refused(res.receive(initial.bytes), ErrorNo.InvalidId);
  // alice's update without new keys still runs on her TGK
  const up = a.createUpdate();
  const got = await res.receive(up.bytes);
  assert.equal(got.update, true);
  assert.deepEqual(keysOf(got.bundle), keysOf(offer.bundle));
  // a PSK alone (no identities): the same key is the same owner, another key is not
  const single = new PskResponder({ psk: pskOf['sip:alice@example.org']!, clock });
  await single.receive(new PskInitiator({ psk: pskOf['sip:alice@example.org']!, clock }).createOffer({ sessions: SESSIONS, csbId: CSB }).bytes);
});

test('public-key method: another signer cannot update or re-create the CSB (Invalid ID)', async () => {
  const res = new PkResponder({ ...bob, ...knowsMallory, clock });
  const a = new PkInitiator({ ...alice, responderKey: bob.certificate, clock });
  const offer = a.createOffer({ sessions: SESSIONS, csbId: CSB, rand: RAND });
  await res.receive(offer.bytes);
  const m = new PkInitiator({ ...mallory, responderKey: bob.certificate, clock });
  const initial = m.createOffer({ sessions: SESSIONS, csbId: CSB, rand: RAND, keys: [{ key: new Uint8Array(16).fill(0xee) }] });
  const update = m.createUpdate({ keys: [{ key: new Uint8Array(16).fill(0xee) }] });
  await refused(res.receive(update.bytes), ErrorNo.InvalidId);
  await refused(res.receive(initial.bytes), ErrorNo.InvalidId);
  const got = await res.receive(a.createUpdate().bytes);
  assert.equal(got.update, true);
  assert.deepEqual(keysOf(got.bundle), keysOf(offer.bundle));
});

test('signed DH: another signer cannot update or re-create the CSB, and the state is written only after every check', async () => {
  const res = new DhResponder({ ...bob, ...knowsMallory, clock });
  const a = new DhInitiator({ ...alice, clock });
  const first = a.receiveResponse((await res.receive(a.createOffer({ sessions: SESSIONS, csbId: CSB, rand: RAND }).bytes)).response);
  // mallory's own exchange under alice's CSB ID, with another responder holding bob's key (she
  // may name any CSB ID she likes); then her update and her offer under that ID, to alice's responder
  const m = new DhInitiator({ ...mallory, ...knowsMallory, trustAnchors: [CA], idr: idBob, clock });
  m.receiveResponse((await new DhResponder({ ...bob, ...knowsMallory, clock }).receive(m.createOffer({ sessions: SESSIONS, csbId: CSB }).bytes)).response);
  const update = m.createUpdate({ rekey: false });
  assert.equal(decodeMessage(update.bytes).header.csbId, CSB);
  await refused(res.receive(update.bytes), ErrorNo.InvalidId);
  await refused(res.receive(new DhInitiator({ ...mallory, ...knowsMallory, trustAnchors: [CA], idr: idBob, clock }).createOffer({ sessions: SESSIONS, csbId: CSB, rand: RAND }).bytes), ErrorNo.InvalidId);
  // alice's update without DHi keeps her TGK
  const got = await res.receive(a.createUpdate({ rekey: false }).bytes);
  assert.equal(got.update, true);
  assert.deepEqual(keysOf(got.bundle), keysOf(first));
  assert.deepEqual(keysOf(a.receiveResponse(got.response)), keysOf(first));
});

test('DH-HMAC: an update by another peer does not verify (Auth failure); an initial message reusing the CSB ID is refused (Invalid ID)', async () => {
  const res = new DhHmacResponder({ psk: pskLookup, idr: idBob, clock });
  const a = new DhHmacInitiator({ psk: pskOf['sip:alice@example.org']!, idi: idAlice, idr: idBob, clock });
  const first = a.receiveResponse((await res.receive(a.createOffer({ sessions: SESSIONS, csbId: CSB, rand: RAND }).bytes)).response);
  const m = new DhHmacInitiator({ psk: pskOf['sip:mallory@example.org']!, idi: idMallory, idr: idBob, clock });
  const initial = m.createOffer({ sessions: SESSIONS, csbId: CSB, rand: RAND });
  await refused(res.receive(initial.bytes), ErrorNo.InvalidId);
  const other = new DhHmacInitiator({ psk: pskOf['sip:mallory@example.org']!, idi: idMallory, idr: idBob, clock });
  other.receiveResponse((await res.receive(other.createOffer({ sessions: SESSIONS, csbId: CSB + 1 }).bytes)).response);
  const upd = decodeMessage(other.createUpdate({ rekey: false }).bytes);
  assert.equal(upd.header.csbId, CSB + 1);
  // the same update aimed at alice's CSB: keyed with mallory's PSK, checked with alice's
  const forged = Uint8Array.from(upd.bytes);
  new DataView(forged.buffer).setUint32(4, CSB);
  await refused(res.receive(forged), ErrorNo.AuthFailure);
  const got = await res.receive(a.createUpdate({ rekey: false }).bytes);
  assert.equal(got.update, true);
  assert.deepEqual(keysOf(got.bundle), keysOf(first));
});

test('RSA-R: another signer reusing the CSB ID is refused (Invalid ID), alice\'s update still works', async () => {
  const res = new RsaRResponder({ ...bob, ...knowsMallory, clock });
  const a = new RsaRInitiator({ ...alice, clock });
  const first = (await a.receiveResponse((await res.receive(a.createOffer({ sessions: SESSIONS, csbId: CSB }).bytes)).response)).bundle;
  const m = new RsaRInitiator({ ...mallory, ...knowsMallory, clock });
  await refused(res.receive(m.createOffer({ sessions: SESSIONS, csbId: CSB }).bytes), ErrorNo.InvalidId);
  const got = await res.receive(a.createUpdate().bytes);
  assert.equal(got.update, true);
  const again = (await a.receiveResponse(got.response)).bundle;
  assert.deepEqual(again.rand, first.rand);
});

test('minimum policy: no encryption, no authentication, 32-bit tags are refused by default by every method (Invalid SPpar), accepted when configured', async () => {
  const weak: SrtpProfileName[] = ['NULL_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32', 'NULL_HMAC_SHA1_32'];
  for (const profile of weak) {
    const sessions = [{ ssrc: 1, profile }];
    const psk = pskOf['sip:alice@example.org']!;
    await refused(new PskResponder({ psk, clock }).receive(new PskInitiator({ psk, clock }).createOffer({ sessions }).bytes), ErrorNo.InvalidSpPar);
    await refused(new PkResponder({ ...bob, clock }).receive(new PkInitiator({ ...alice, responderKey: bob.certificate, clock }).createOffer({ sessions }).bytes), ErrorNo.InvalidSpPar);
    await refused(new DhHmacResponder({ psk, idr: idBob, clock }).receive(new DhHmacInitiator({ psk, idi: idAlice, idr: idBob, clock }).createOffer({ sessions }).bytes), ErrorNo.InvalidSpPar);
    const e = await refused(new RsaRResponder({ ...bob, clock, profiles: [profile] }).receive(new RsaRInitiator({ ...alice, clock }).createOffer({ sessions, policies: [profile] }).bytes), ErrorNo.InvalidSpPar);
    assert.ok(e.response, 'an Error message goes back');
  }
  // one strong and one weak session: the whole message is refused, no CSB is kept
  const res = new PskResponder({ psk: pskLookup, clock });
  const a = new PskInitiator({ psk: pskOf['sip:alice@example.org']!, idi: idAlice, clock });
  await refused(res.receive(a.createOffer({ sessions: [{ ssrc: 1 }, { ssrc: 2, profile: 'AES_CM_128_HMAC_SHA1_32' }], csbId: CSB }).bytes), ErrorNo.InvalidSpPar);
  await refused(res.receive(a.createUpdate().bytes), ErrorNo.UnsupportedMessageType);
  // configured: 32-bit tags accepted, no encryption still refused
  const lax = new PskResponder({ psk: pskLookup, clock, minimumPolicy: { minTagLength: 4 } });
  const ok = await lax.receive(a.createOffer({ sessions: [{ ssrc: 1, profile: 'AES_CM_128_HMAC_SHA1_32' }] }).bytes);
  assert.equal(ok.bundle.sessions[0]!.profile, 'AES_CM_128_HMAC_SHA1_32');
  await refused(lax.receive(a.createOffer({ sessions: [{ ssrc: 1, profile: 'NULL_HMAC_SHA1_32' }] }).bytes), ErrorNo.InvalidSpPar);
  // explicit SP parameters: encryption flags off on a named cipher
  await refused(lax.receive(a.createOffer({ sessions: [{ ssrc: 1, params: [{ type: 7, value: Uint8Array.of(0) }] }] }).bytes), ErrorNo.InvalidSpPar);
});

test('OAKLEY-1 and OAKLEY-2 are refused by default by the DH and DH-HMAC responders (Invalid DH), accepted when asked for', async () => {
  const psk = pskOf['sip:alice@example.org']!;
  for (const group of ['OAKLEY-1', 'OAKLEY-2'] as const) {
    await refused(new DhResponder({ ...bob, clock }).receive(new DhInitiator({ ...alice, clock }).createOffer({ sessions: SESSIONS, group }).bytes), ErrorNo.InvalidDh);
    await refused(new DhHmacResponder({ psk, idr: idBob, clock }).receive(new DhHmacInitiator({ psk, idi: idAlice, idr: idBob, clock }).createOffer({ sessions: SESSIONS, group }).bytes), ErrorNo.InvalidDh);
    const ini = new DhHmacInitiator({ psk, idi: idAlice, idr: idBob, clock });
    const got = await new DhHmacResponder({ psk, idr: idBob, clock, groups: [group] }).receive(ini.createOffer({ sessions: SESSIONS, group }).bytes);
    assert.deepEqual(keysOf(ini.receiveResponse(got.response)), keysOf(got.bundle));
  }
});

test('COUNTER after a restart: with a FileCounterStore an old COUNTER message is still refused (Invalid TS); without a store COUNTER is refused unless the caller opts in', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-counter-'));
  try {
    const path = join(dir, 'counters.json');
    const psk = pskOf['sip:alice@example.org']!;
    const ini = new PskInitiator({ psk, clock, timestamp: 'COUNTER' });
    const first = ini.createOffer({ sessions: SESSIONS, csbId: CSB });
    const second = ini.createUpdate({ keys: [{}] });
    const before = new PskResponder({ psk, clock, counterStore: new FileCounterStore(path), replayCache: { checkAndRecord: () => 'recorded' } });
    await before.receive(first.bytes);
    await before.receive(second.bytes);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    // restarted: a new responder, an empty replay cache, the counters from the file
    const after = new PskResponder({ psk, clock, counterStore: new FileCounterStore(path) });
    const e = await refused(after.receive(first.bytes), ErrorNo.InvalidTs);
    assert.match(e.reason, /counter 1 not above the last accepted 2/);
    // without a persistent store a responder (restarted or not) refuses COUNTER: a restart would forget the counters
    const e2 = await refused(new PskResponder({ psk, clock }).receive(first.bytes), ErrorNo.InvalidTs);
    assert.match(e2.reason, /counters are not persisted/);
    await refused(new PskResponder({ psk, clock, counterStore: new MemoryCounterStore() }).receive(first.bytes), ErrorNo.InvalidTs);
    // the documented limit of the opt-in: a restarted responder takes the old message again
    const opted = new PskResponder({ psk, clock, allowUnpersistedCounter: true });
    await opted.receive(first.bytes);
    await opted.receive(second.bytes);
    await refused(opted.receive(first.bytes), ErrorNo.InvalidTs);
    await new PskResponder({ psk, clock, allowUnpersistedCounter: true }).receive(first.bytes);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
