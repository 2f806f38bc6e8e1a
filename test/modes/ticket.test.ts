// MIKEY-TICKET flows (RFC 6043 §4.2): Ticket Request, Transfer and Resolve with the PSK and PK
// variants, with and without key forking, ticket reuse, expiry, re-keying and CSB updates.
import { test } from 'node:test';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { decodeMessage } from '../../src/wire/decode.js';
import { DataType, ErrorNo, IdRole, PayloadType } from '../../src/wire/registry.js';
import { identity } from '../../src/kms/memory.js';
import { TicketInitiator } from '../../src/modes/ticket/initiator.js';
import { TicketResponder } from '../../src/modes/ticket/responder.js';
import { TicketKms, encodeTicketAlone } from '../../src/modes/ticket/kms.js';
import { ticketDigest } from '../../src/modes/ticket/base-ticket.js';
import { payloadOf } from '../../src/wire/lookup.js';
import { MemoryDirectory } from '../../src/kms/memory.js';
import { completeFlags } from '../../src/modes/ticket/policy.js';
import { ALICE, BOB, CAROL, KMS, SUPPORT, T0, getTicket, hex, key, keysOf, rejects, world } from './ticket-fixture.js';
import { pki } from '../support/pki.js';

const sessions = [{ ssrc: 0x11111111, profiles: ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const }, { profiles: ['AEAD_AES_128_GCM'] as const }];
// these tests offer 32-bit tags: both ends opt in below the default minimum policy
const SHORT_TAGS = { minimumPolicy: { minTagLength: 4 } };

test('full three round trips, PSK legs, no forking: both ends derive the same SRTP keys', async () => {
  const w = world({ alice: SHORT_TAGS, bob: SHORT_TAGS });
  const { grant, prepared } = await getTicket(w, { responders: [identity(BOB)] });
  assert.equal(prepared.issued?.initiator, ALICE);
  assert.deepEqual(prepared.issued?.responders, [BOB]);
  assert.equal(grant.policy.flags.D, true);
  assert.equal(grant.policy.flags.I, false);
  assert.equal(grant.keys.length, 1, 'one TGK by default (§4.2.1.5)');
  const xfer = w.alice.createTransfer(grant, { sessions: sessions.map((s) => ({ ...s, profiles: [...s.profiles] })) });
  assert.equal(xfer.expectsResponse, true);
  const got = await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  assert.equal(got.resolvedBy, 'kms');
  assert.ok(got.response);
  const resp = decodeMessage(got.response);
  assert.equal(resp.header.dataType, DataType.TransferResp);
  // §6.1.1: exactly one policy per crypto session in the response, session data and SPI present
  assert.ok(resp.header.csIdMap.type === 2 && resp.header.csIdMap.entries.every((e) => e.policies.length === 1 && e.sessionData.length > 0 && e.spi.length > 0));
  const session = xfer.receiveResponse(got.response);
  assert.deepEqual(keysOf(session.bundle), keysOf(got.session.bundle));
  assert.equal(session.bundle.sessions.length, 2);
  assert.equal(session.bundle.sessions[0]!.ssrc, 0x11111111);
  assert.equal(session.bundle.sessions[0]!.profile, 'AES_CM_128_HMAC_SHA1_80', 'the first suggested policy is chosen');
  assert.equal(session.bundle.sessions[1]!.profile, 'AEAD_AES_128_GCM');
  assert.notEqual(session.bundle.sessions[1]!.ssrc, 0, 'the Responder supplies the missing SSRC');
  assert.notDeepEqual(session.bundle.sessions[0]!.keys[0]!.masterKey, session.bundle.sessions[1]!.keys[0]!.masterKey);
});

test('the digest the KMS records is the ticket as issued (Ticket Type to the end of Ticket Data): the same in a TRANSFER_INIT with Initiator Data', async () => {
  const w = world();
  const { grant, prepared } = await getTicket(w, { responders: [identity(BOB)], flags: { I: true } });
  assert.equal(prepared.issued?.digest, createHash('sha256').update(encodeTicketAlone(grant.ticket)).digest('hex'));
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
  const m = decodeMessage(xfer.bytes);
  const t = payloadOf(m, PayloadType.Ticket)!;
  assert.equal(t.initiatorData.payloads.length, 2, 'Vi and Vr');
  assert.equal(ticketDigest(m.bytes, t, t.span!), prepared.issued?.digest);
});

test('the PK legs: REQUEST_INIT_PK and RESOLVE_INIT_PK (signatures, envelope keys to the KMS, CHASH)', async () => {
  const dir = new MemoryDirectory({ trustAnchors: [pki('ca.pem')] });
  dir.addUser(ALICE, { name: 'alice-cert', certificate: pki('alice.pem') });
  dir.addUser(BOB);
  const clock = { now: () => T0 };
  const kms = new TicketKms({ identity: identity(KMS), directory: dir, privateKey: pki('carol.key'), certificate: pki('carol.pem'), clock });
  const alice = new TicketInitiator({ identity: identity(ALICE), kms: identity(KMS), signer: { privateKey: pki('alice.key'), certificate: pki('alice.pem') }, kmsKey: pki('carol.pem'), chash: true, clock });
  // Bob sends his certificate chain; the KMS checks it against its trust anchor
  const bob = new TicketResponder({ identity: identity(BOB), kms: identity(KMS), signer: { privateKey: pki('bob.key'), certificate: pki('bob.pem'), scheme: 'pss' }, kmsKey: pki('carol.pem'), clock });
  const req = alice.createRequest({ responders: [identity(BOB)], flags: { I: true } });
  assert.equal(decodeMessage(req.bytes).header.dataType, DataType.RequestInitPk);
  const grant = req.receiveResponse((await kms.receive(req.bytes)).response);
  assert.equal(grant.policy.flags.I, true);
  const xfer = alice.createTransfer(grant, { sessions: [{ ssrc: 7, profiles: ['AES_CM_128_HMAC_SHA1_80'] }] });
  assert.ok(xfer.expectsResponse);
  let resolveType = -1;
  const got = await bob.receiveTransfer(xfer.bytes, async (b) => { resolveType = decodeMessage(b).header.dataType; return (await kms.receive(b)).response; });
  assert.equal(resolveType, DataType.ResolveInitPk);
  assert.deepEqual(keysOf(xfer.receiveResponse(got.response!).bundle), keysOf(got.session.bundle));
});

test('256-bit algorithms throughout: PRF-HMAC-SHA-256, AES-CM-256, HMAC-SHA-256-256, 32-byte keys', async () => {
  const w = world({ alice: { prf: 'PRF-HMAC-SHA-256', psk: key(1, 32) }, bob: { prf: 'PRF-HMAC-SHA-256', psk: key(2, 32) } });
  w.dir.users.get(ALICE)!.creds[0]!.psk = key(1, 32);
  w.dir.users.get(BOB)!.creds[0]!.psk = key(2, 32);
  const { grant } = await getTicket(w, { responders: [identity(BOB)], prf: 'PRF-HMAC-SHA-256', keys: [{ kind: 'TGK', length: 32 }] });
  assert.equal(grant.mpki.length, 32);
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1, profiles: ['AEAD_AES_256_GCM'] }] });
  assert.ok(xfer.expectsResponse);
  const m = decodeMessage(xfer.bytes);
  assert.equal(m.header.prfFunc, 1);
  const got = await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  const s = xfer.receiveResponse(got.response!);
  assert.deepEqual(keysOf(s.bundle), keysOf(got.session.bundle));
  assert.equal(s.bundle.sessions[0]!.keys[0]!.masterKey.length, 32);
});

test('key forking (I flag): the Responder gets MPKr\' and TGK\' bound to itself; a second device of the same identity gets other keys', async () => {
  const w = world({ alice: SHORT_TAGS, bob: SHORT_TAGS });
  const { grant } = await getTicket(w, { responders: [identity(BOB)], flags: { I: true } });
  assert.ok(grant.mpkr, 'MPKr in the KEMAC with forking');
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 5, profiles: ['AES_CM_128_HMAC_SHA1_80'] }] });
  assert.ok(xfer.expectsResponse);
  const tk = decodeMessage(xfer.bytes).payloads.find((p) => p.type === PayloadType.Ticket)!;
  assert.ok(tk.type === 17 && tk.initiatorData.payloads.length === 2, 'Initiator Data: Vi, Vr');
  // the TRANSFER_INIT reaches both of Bob's devices; each resolves it
  const phone = await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  const laptop = await w.bob2.receiveTransfer(xfer.bytes, w.resolve);
  assert.notDeepEqual(keysOf(phone.session.bundle), keysOf(laptop.session.bundle), 'different RANDRkms, different TGK\'');
  // the phone answers: the Initiator ends up with the phone's keys
  const s = xfer.receiveResponse(phone.response!);
  assert.deepEqual(keysOf(s.bundle), keysOf(phone.session.bundle));
  assert.equal(new TextDecoder().decode(s.peer!.data), BOB);
});

test('forking to a group identity: a member resolves, IDRr of TRANSFER_RESP names who answered (§4.2.2.3)', async () => {
  const w = world({ alice: SHORT_TAGS, bob: SHORT_TAGS });
  const { grant } = await getTicket(w, { responders: [identity(SUPPORT)], flags: { I: true } });
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 9 }] });
  assert.ok(xfer.expectsResponse);
  const got = await w.carol.receiveTransfer(xfer.bytes, w.resolve);
  const s = xfer.receiveResponse(got.response!);
  assert.equal(new TextDecoder().decode(s.peer!.data), CAROL);
  assert.deepEqual(keysOf(s.bundle), keysOf(got.session.bundle));
  // Bob is not in the group: the KMS refuses him (Invalid ID), and Bob tells Alice
  await rejects(w.bob.receiveTransfer(xfer.bytes, w.resolve), 7);
});

test('GTGK and TEKs are never forked (with the same RANDs, G = 0, every resolver gets the same group keys); TGK+SALT keeps its salt', async () => {
  const w = world({ alice: SHORT_TAGS, bob: SHORT_TAGS });
  const { grant } = await getTicket(w, { responders: [identity(BOB)], flags: { I: true, G: false }, keys: [{ kind: 'GTGK' }, { kind: 'TEK', length: 16, saltLength: 14 }, { kind: 'TGK', saltLength: 14 }] });
  assert.deepEqual(grant.keys.map((k) => k.keyType), [4, 3, 1]);
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1, profiles: ['AES_CM_128_HMAC_SHA1_80'] }] });
  assert.ok(xfer.expectsResponse);
  const a = await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  const b = await w.bob2.receiveTransfer(xfer.bytes, w.resolve);
  const [ga, ta, fa] = a.session.bundle.sessions[0]!.keys;
  const [gb, tb, fb] = b.session.bundle.sessions[0]!.keys;
  assert.deepEqual(ga!.masterKey, gb!.masterKey, 'GTGK: the same for every resolver');
  assert.deepEqual(ta!.masterKey, tb!.masterKey, 'TEK: the same for every resolver');
  assert.deepEqual(ta!.masterKey, grant.keys[1]!.keyData);
  assert.notDeepEqual(fa!.masterKey, fb!.masterKey, 'TGK: forked');
  assert.deepEqual(fa!.masterSalt, grant.keys[2]!.salt, 'the carried salt is used');
  assert.deepEqual(keysOf(xfer.receiveResponse(a.response!).bundle), keysOf(a.session.bundle));
});

test('ticket reuse (§5.3): new CSB, timestamp and RANDs; the Responder needs no second resolution; J = 0 forbids it', async () => {
  const w = world({ alice: SHORT_TAGS, bob: SHORT_TAGS });
  const { grant } = await getTicket(w, { responders: [identity(BOB)], flags: { I: true } });
  const first = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
  assert.ok(first.expectsResponse);
  const a = await w.bob.receiveTransfer(first.bytes, w.resolve);
  const s1 = first.receiveResponse(a.response!);
  const second = w.alice.createTransfer(grant, { sessions: [{ ssrc: 2 }] });
  assert.ok(second.expectsResponse);
  assert.notEqual(decodeMessage(second.bytes).header.csbId, decodeMessage(first.bytes).header.csbId);
  const b = await w.bob.receiveTransfer(second.bytes, w.resolve);
  assert.equal(b.resolvedBy, 'cache');
  assert.equal(w.resolves(), 1);
  const s2 = second.receiveResponse(b.response!);
  assert.deepEqual(keysOf(s2.bundle), keysOf(b.session.bundle));
  assert.notDeepEqual(keysOf(s1.bundle).map((k) => k.split(':')[1]), keysOf(s2.bundle).map((k) => k.split(':')[1]), 'new RANDs, new TEKs');

  const once = (await getTicket(w, { responders: [identity(BOB)], flags: { J: false } })).grant;
  const x = w.alice.createTransfer(once, { sessions: [{ ssrc: 1 }] });
  await w.bob.receiveTransfer(x.bytes, w.resolve);
  await rejects(() => w.alice.createTransfer(once, { sessions: [{ ssrc: 1 }] }), 14);
  // a second TRANSFER_INIT with it (made by hand) is refused by the Responder
  once.uses = 0;
  const again = w.alice.createTransfer(once, { sessions: [{ ssrc: 3 }] });
  await rejects(w.bob.receiveTransfer(again.bytes, w.resolve), 14);
  // ...and, with forking, by the KMS for another Responder device
  const onceF = (await getTicket(w, { responders: [identity(BOB)], flags: { J: false, I: true } })).grant;
  await w.bob.receiveTransfer(w.alice.createTransfer(onceF, { sessions: [{ ssrc: 1 }] }).bytes, w.resolve);
  onceF.uses = 0;
  await rejects(w.bob2.receiveTransfer(w.alice.createTransfer(onceF, { sessions: [{ ssrc: 1 }] }).bytes, w.resolve), 14);
});

test('validity (TRs/TRe): the KMS caps it; an expired ticket is refused by Initiator, Responder and KMS with Invalid TICKET', async () => {
  const w = world({ dir: { rules: [{ initiator: '*', responder: '*', maxValiditySec: 3600, forking: 'allow', reuse: true, initiatorKeys: false, responderKeys: false, maxKeys: 4 }] } });
  const { grant } = await getTicket(w, { responders: [identity(BOB)], validTo: T0 + 86_400_000 });
  assert.equal(grant.policy.validTo, T0 + 3600_000);
  assert.equal(grant.policy.flags.K, true, 'the KMS changed the policy');
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
  w.now.t = T0 + 2 * 3600_000;
  await rejects(() => w.alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] }), 14);
  await rejects(w.bob.receiveTransfer(xfer.bytes, async (b) => (await w.kms.receive(b)).response), 1 /* the TRANSFER_INIT itself is stale too */);
  // a fresh TRANSFER_INIT with the expired ticket, checked by the Responder before the KMS
  w.now.t = T0 + 3600_000 + 10 * 60_000;
  grant.policy.validTo = undefined; // the Initiator ignoring the validity
  const late = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
  const e = await rejects(w.bob.receiveTransfer(late.bytes, w.resolve), 14);
  assert.equal(w.resolves(), 0, 'rejected early, without contacting the KMS (§4.2.2.2)');
  assert.equal(decodeMessage(e.response!).header.dataType, DataType.Error);
  // the KMS checks it as well (a Responder that does not)
  const lax = new TicketResponder({ identity: identity(BOB), kms: identity(KMS), psk: key(2), clock: { now: () => w.now.t }, maxSkewMs: 24 * 3600_000 });
  await rejects(lax.receiveTransfer(w.alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] }).bytes, async (b) => {
    const ee = await rejects(w.kms.receive(b), 14);
    return ee.response!;
  }), 14);
});

test('re-keying (TRr) and CSB updates (§5.2): new keys from the Initiator (L), a new crypto session, Responder-started update', async () => {
  const w = world({ alice: SHORT_TAGS, bob: SHORT_TAGS, dir: { rules: [{ initiator: '*', responder: '*', maxValiditySec: 86_400, forking: 'allow', reuse: true, initiatorKeys: true, responderKeys: true, maxKeys: 4, rekeySec: 600 }] } });
  const { grant } = await getTicket(w, { responders: [identity(BOB)], flags: { I: true, L: true, M: true } });
  assert.equal(grant.policy.rekeyIntervalSec, 600);
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1, profiles: ['AES_CM_128_HMAC_SHA1_80'] }] });
  assert.ok(xfer.expectsResponse);
  const got = await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  const alice = xfer.receiveResponse(got.response!);
  const bob = got.session;
  const before = keysOf(bob.bundle);
  assert.equal(alice.rekeyDeadline, T0 + 600_000);
  w.now.t = T0 + 601_000;
  assert.equal(alice.rekeyDue(), true);
  // the Initiator re-keys: a new TGK in an update, answered (V flag)
  const up = alice.createUpdate({ keys: [{ length: 16 }], verify: true, sessions: [{ ssrc: 1, profiles: ['AES_CM_128_HMAC_SHA1_80'] }, { ssrc: 2, profiles: ['AES_CM_128_HMAC_SHA1_32'] }] });
  const m = decodeMessage(up.bytes);
  assert.ok(!m.payloads.some((p) => p.type === PayloadType.Randr || p.type === PayloadType.Ticket), 'no RANDs, no TICKET in an update');
  assert.equal(m.header.csbId, alice.csbId);
  const answered = await bob.receiveUpdate(up.bytes);
  const after = up.receiveResponse(answered.response!);
  assert.deepEqual(keysOf(after), keysOf(answered.bundle));
  assert.equal(after.sessions.length, 2);
  assert.notDeepEqual(keysOf(after)[0]!.split(':')[1], before[0]!.split(':')[1], 'a new TGK, new TEKs');
  assert.equal(alice.rekeyDue(), false);
  // the Responder starts an update with keys of its own (M), no answer asked
  const rup = bob.createUpdate({ keys: [{ length: 16 }] });
  const r = await alice.receiveUpdate(rup.bytes);
  assert.equal(r.response, undefined);
  assert.deepEqual(keysOf(r.bundle), keysOf(bob.bundle));
  // an update replayed is refused
  await rejects(alice.receiveUpdate(rup.bytes), 1);
});

test('without TRANSFER_RESP (F = 0, G = 0, H = 1): the bundle is final after TRANSFER_INIT', async () => {
  const w = world({ alice: SHORT_TAGS, bob: SHORT_TAGS });
  const { grant } = await getTicket(w, { responders: [identity(BOB)], flags: { F: false, G: false } });
  assert.equal(grant.policy.flags.F, false);
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 0xabc, profiles: ['AES_CM_128_HMAC_SHA1_32'] }] });
  assert.ok(!xfer.expectsResponse);
  assert.equal(decodeMessage(xfer.bytes).header.v, false, 'V agrees with F');
  assert.ok(xfer.session);
  const got = await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  assert.equal(got.response, undefined);
  assert.deepEqual(keysOf(got.session.bundle), keysOf(xfer.session.bundle));
});

test('pre-encrypted content (§8): no keys in the ticket path needed, the Responder supplies TEKs (M), the Initiator its own (L)', async () => {
  const rules = [{ initiator: '*', responder: '*', maxValiditySec: 86_400, forking: 'allow' as const, reuse: true, initiatorKeys: true, responderKeys: true, maxKeys: 4 }];
  const tek = { kind: 'TEK' as const, key: key(9), salt: key(10, 14) };
  const w = world({ dir: { rules }, bob: { responderKeys: () => [tek] } });
  const { grant } = await getTicket(w, { responders: [identity(BOB)], flags: { M: true, L: true } });
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1, profiles: ['AES_CM_128_HMAC_SHA1_80'] }], keys: [{ kind: 'TEK', key: key(11), salt: key(12, 14) }] });
  assert.ok(xfer.expectsResponse);
  const got = await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  const s = xfer.receiveResponse(got.response!);
  assert.deepEqual(keysOf(s.bundle), keysOf(got.session.bundle));
  const masters = s.bundle.sessions[0]!.keys.map((k) => hex(k.masterKey));
  assert.ok(masters.includes(hex(key(9))) && masters.includes(hex(key(11))));
  // without M in the policy, Responder keys are refused by the Initiator
  const w2 = world({ bob: { responderKeys: () => [tek] } });
  const g2 = (await getTicket(w2, { responders: [identity(BOB)], flags: { M: true } })).grant;
  assert.equal(g2.policy.flags.M, false, 'the KMS did not grant M');
  const x2 = w2.alice.createTransfer(g2, { sessions: [{ ssrc: 1 }] });
  const got2 = await w2.bob.receiveTransfer(x2.bytes, w2.resolve);
  assert.ok(!decodeMessage(got2.response!).payloads.some((p) => p.type === PayloadType.Kemac));
});

test('modes 2 and 3 (§4.1.1): a Responder sharing the TPK resolves locally (E = 0); an Initiator sharing it makes the ticket (D = 0)', async () => {
  const w = world({ alice: SHORT_TAGS, bob: SHORT_TAGS });
  const tpk = w.dir.currentTpk(T0);
  const bob = new TicketResponder({ identity: identity(BOB), psk: key(2), clock: { now: () => T0 }, localTpk: (id) => (id && hex(id) === hex(tpk.id) ? tpk.key : undefined) });
  const { grant } = await getTicket(w, { responders: [identity(BOB)], flags: { E: false } });
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
  assert.ok(xfer.expectsResponse);
  const got = await bob.receiveTransfer(xfer.bytes, async () => assert.fail('no resolution with the KMS'));
  assert.equal(got.resolvedBy, 'local');
  assert.deepEqual(keysOf(xfer.receiveResponse(got.response!).bundle), keysOf(got.session.bundle));
  // mode 3: Alice makes the ticket herself; Bob resolves it at the KMS
  const own = w.alice.createTicket({ responders: [identity(BOB)] }, tpk, [{ length: 16 }]);
  assert.equal(own.policy.flags.D, false);
  assert.equal(own.policy.flags.L, true, 'NOT D implies L');
  const x3 = w.alice.createTransfer(own, { sessions: [{ ssrc: 3 }] });
  assert.ok(x3.expectsResponse);
  const g3 = await w.bob.receiveTransfer(x3.bytes, w.resolve);
  assert.deepEqual(keysOf(x3.receiveResponse(g3.response!).bundle), keysOf(g3.session.bundle));
});

test('other Ticket Types pass through: an opaque ticket (private type 0xF000) issued and opened by a KMS codec, untouched by I and R', async () => {
  const store = new Map<string, { mpk: Uint8Array; keys: import('../../src/wire/types.js').KeyDataPayload[] }>();
  const codec: import('../../src/modes/ticket/kms.js').TicketCodec = {
    ticketType: 0xf000, subtype: 1, version: 1,
    issue: ({ policy, id, mpk, keys }) => {
      store.set(hex(id), { mpk, keys });
      const flags = completeFlags(policy.flags);
      return {
        type: 17, ticketType: 0xf000, subtype: 1, version: 1, prfFunc: 0, flags, reserved: 0,
        tpData: { payloads: [{ type: 14, role: IdRole.IDRr, idType: 1, data: new TextEncoder().encode(BOB) }] },
        ticketData: id, initiatorData: { payloads: [] }, keysOut: { mpki: mpk, mpkr: mpk.map((x) => x ^ 0xff) },
      };
    },
    open: (t) => {
      const e = store.get(hex(t.ticketData));
      if (!e) throw new Error('unknown');
      return { id: t.ticketData, mpk: e.mpk, mpki: e.mpk, mpkr: e.mpk.map((x) => x ^ 0xff), keys: e.keys };
    },
  };
  const w = world({ kms: { codecs: [codec] } });
  const { grant } = await getTicket(w, { responders: [identity(BOB)], ticketType: 0xf000 });
  assert.equal(grant.ticket.ticketType, 0xf000);
  assert.equal(grant.ticket.baseTicket, undefined);
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
  assert.ok(xfer.expectsResponse);
  const got = await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  assert.deepEqual(keysOf(xfer.receiveResponse(got.response!).bundle), keysOf(got.session.bundle));
  // a KMS without the codec: Invalid TICKET (14)
  await rejects(world().kms.receive(w.alice.createRequest({ responders: [identity(BOB)], ticketType: 0xf000 }).bytes), 14);
});

test('Empty CS ID map in the transfer (RFC 4563 §5): crypto sessions 1..#CS under the default policy', async () => {
  const w = world({ alice: SHORT_TAGS, bob: SHORT_TAGS });
  const { grant } = await getTicket(w, { responders: [identity(BOB)] });
  const xfer = w.alice.createTransfer(grant, { sessions: [] });
  assert.ok(xfer.expectsResponse);
  const got = await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  const s = xfer.receiveResponse(got.response!);
  assert.deepEqual(keysOf(s.bundle), keysOf(got.session.bundle));
});

test('CSB takeover attempt: carol reuses the CSB ID of alice\'s exchange; her update fails the MAC of alice\'s CSB, her own TRANSFER_INIT is a separate CSB attributed to her', async () => {
  const w = world({ alice: SHORT_TAGS, bob: SHORT_TAGS, dir: { rules: [{ initiator: '*', responder: '*', maxValiditySec: 86_400, forking: 'allow', reuse: true, initiatorKeys: true, responderKeys: true, maxKeys: 4 }] } });
  const { grant } = await getTicket(w, { responders: [identity(BOB)], flags: { L: true } });
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1, profiles: ['AES_CM_128_HMAC_SHA1_80'] }] });
  const got = await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  const aliceCsb = got.session;
  const before = keysOf(aliceCsb.bundle);
  assert.equal(aliceCsb.peer && new TextDecoder().decode(aliceCsb.peer.data), ALICE);
  // carol, a user of the same KMS with a ticket of her own, keys an update of alice's CSB ID with her keys
  const carol = new TicketInitiator({ identity: identity(CAROL), kms: identity(KMS), psk: key(4), clock: { now: () => w.now.t }, ...SHORT_TAGS });
  const { grant: cg } = await getTicket(w, { responders: [identity(BOB)], flags: { L: true } }, carol);
  const cx = carol.createTransfer(cg, { sessions: [{ ssrc: 1, profiles: ['AES_CM_128_HMAC_SHA1_80'] }], csbId: aliceCsb.csbId });
  assert.ok(cx.expectsResponse);
  const carolCsb = await w.bob.receiveTransfer(cx.bytes, w.resolve);
  const carolSide = cx.receiveResponse(carolCsb.response!);
  const update = carolSide.createUpdate({ keys: [{ length: 16 }] });
  assert.equal(decodeMessage(update.bytes).header.csbId, aliceCsb.csbId);
  // routed to alice's CSB by its CSB ID, carol's update does not verify there
  await rejects(aliceCsb.receiveUpdate(update.bytes), ErrorNo.AuthFailure);
  assert.deepEqual(keysOf(aliceCsb.bundle), before, 'alice\'s CSB keeps its keys');
  // carol's own TRANSFER_INIT gave a separate CSB, attributed to carol, with other keys
  assert.notEqual(carolCsb.session, aliceCsb);
  assert.equal(carolCsb.session.peer && new TextDecoder().decode(carolCsb.session.peer.data), CAROL);
  assert.notDeepEqual(keysOf(carolCsb.session.bundle), before);
});
