// MIKEY-TICKET under attack: every tampered, unauthenticated or unauthorized message is refused
// with the right Error (RFC 6043 §5.4; Auth failure unauthenticated, the others with a V under
// the failed message's auth_key), and nothing is remembered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, type DecodedMessage } from '../../src/wire/decode.js';
import { encodeMessage } from '../../src/wire/encode.js';
import { DataType, IdRole, PayloadType } from '../../src/wire/registry.js';
import type { Payload, TicketPayload } from '../../src/wire/types.js';
import { identity } from '../../src/kms/memory.js';
import { MemoryReplayCache } from '../../src/session/replay.js';
import { MikeyErrorMessage } from '../../src/session/errors.js';
import { TicketInitiator } from '../../src/modes/ticket/initiator.js';
import { TicketResponder } from '../../src/modes/ticket/responder.js';
import { ticketLayout } from '../../src/modes/ticket/base-ticket.js';
import { BOB, CAROL, KMS, getTicket, key, rejects, world, type World } from './ticket-fixture.js';

const errorOf = (b: Uint8Array) => {
  const m = decodeMessage(b);
  assert.equal(m.header.dataType, DataType.Error);
  return { codes: m.payloads.filter((p) => p.type === PayloadType.Err).map((p) => (p as { errorNo: number }).errorNo), authenticated: m.payloads.at(-1)?.type === PayloadType.V };
};
const flip = (b: Uint8Array, at: number) => { const c = Uint8Array.from(b); c[at]! ^= 0x01; return c; };

async function kmsWorld(): Promise<World & { cache: MemoryReplayCache }> {
  const cache = new MemoryReplayCache();
  const w = world({ kms: { replayCache: cache } });
  return Object.assign(w, { cache });
}

test('REQUEST_INIT: a flipped bit anywhere in the message fails authentication: unauthenticated Error, nothing recorded', async () => {
  const w = await kmsWorld();
  const req = w.alice.createRequest({ responders: [identity(BOB)] });
  const m = decodeMessage(req.bytes);
  // RANDRi, IDRi, the TP, V (a flipped timestamp fails the freshness check first, §5.3 of RFC 3830)
  const tp = m.payloads.find((p) => p.type === PayloadType.Tp)!;
  // (a changed IDRi names nobody the KMS knows: Auth failure like a wrong key, unauthenticated)
  for (const [at, code] of [[m.payloads[1]!.span!.end - 1, 0], [m.payloads[2]!.span!.end - 1, 0], [tp.span!.start + 12, 0], [req.bytes.length - 1, 0]] as const) {
    const e = await rejects(w.kms.receive(flip(req.bytes, at)), code);
    const err = errorOf(e.response!);
    assert.deepEqual(err, { codes: [code], authenticated: false });
  }
  assert.equal(w.cache.size, 0, 'no replay entry for a failed request');
  // the untouched request still goes through, once
  req.receiveResponse((await w.kms.receive(req.bytes)).response);
  assert.equal(w.cache.size, 1);
  await rejects(w.kms.receive(req.bytes), 1);
});

test('REQUEST_INIT from an unknown user, for another KMS, with #CS > 0, stale or from the future', async () => {
  const w = await kmsWorld();
  const mallory = new TicketInitiator({ identity: identity('sip:mallory@example.org'), kms: identity(KMS), psk: key(66), clock: { now: () => w.now.t } });
  // an unknown name is answered like a known name with a wrong key (no user enumeration): Auth failure
  const e = await rejects(w.kms.receive(mallory.createRequest({ responders: [identity(BOB)] }).bytes), 0);
  assert.equal(errorOf(e.response!).authenticated, false);
  // a known name with a wrong key: Auth failure
  const imp = new TicketInitiator({ identity: identity('sip:alice@example.org'), kms: identity(KMS), psk: key(66), clock: { now: () => w.now.t } });
  await rejects(w.kms.receive(imp.createRequest({ responders: [identity(BOB)] }).bytes), 0);
  const other = new TicketInitiator({ identity: identity('sip:alice@example.org'), kms: identity('sip:kms@elsewhere.example'), psk: key(1), clock: { now: () => w.now.t } });
  await rejects(w.kms.receive(other.createRequest({ responders: [identity(BOB)] }).bytes), 7);
  const req = w.alice.createRequest({ responders: [identity(BOB)] });
  const m = decodeMessage(req.bytes);
  const withCs = encodeMessage({ header: { ...m.header, csIdMap: { type: 1, csCount: 1 } }, payloads: m.payloads });
  await rejects(w.kms.receive(withCs), 13);
  const stale = new TicketInitiator({ identity: identity('sip:alice@example.org'), kms: identity(KMS), psk: key(1), clock: { now: () => w.now.t - 3600_000 } });
  await rejects(w.kms.receive(stale.createRequest({ responders: [identity(BOB)] }).bytes), 1);
  assert.equal(w.cache.size, 0);
  // not a request at all
  await rejects(w.kms.receive(req.bytes.subarray(0, 5)), 13);
  const asTransfer = Uint8Array.from(req.bytes);
  asTransfer[1] = DataType.TransferInit;
  await rejects(w.kms.receive(asTransfer), 13);
});

test('a Ticket Policy the KMS cannot grant: Invalid TPpar (15), answered under the requester\'s auth_key', async () => {
  const w = world({ dir: { rules: [{ initiator: '*', responder: BOB, maxValiditySec: 600, forking: 'forbid', reuse: true, initiatorKeys: false, responderKeys: false, maxKeys: 1 }] } });
  const req = w.alice.createRequest({ responders: [identity(CAROL)] });
  const e = await rejects(w.kms.receive(req.bytes), 15);
  assert.deepEqual(errorOf(e.response!), { codes: [15], authenticated: true });
  // the Initiator reads it as an authenticated Error message
  assert.throws(() => req.receiveResponse(e.response!), (x: unknown) => x instanceof MikeyErrorMessage && x.authenticated && x.errorNos[0] === 15);
  // a TRe before TRs, a TRr of 0, a PRF the KMS does not know
  await rejects(w.kms.receive(w.alice.createRequest({ responders: [identity(BOB)], validFrom: w.now.t + 1000_000, validTo: w.now.t }).bytes), 15);
  await rejects(w.kms.receive(w.alice.createRequest({ responders: [identity(BOB)], rekeyIntervalSec: 0 }).bytes), 15);
  // the rules narrow what they can: forking refused, one key, short validity; K set
  const { grant } = await getTicket(w, { responders: [identity(BOB)], flags: { I: true }, keys: [{ kind: 'TGK' }, { kind: 'TGK' }] });
  assert.deepEqual([grant.policy.flags.I, grant.keys.length, grant.policy.flags.K], [false, 1, true]);
  // an Initiator that does not accept a changed policy discards it (§4.2.1.6)
  const picky = new TicketInitiator({ identity: identity('sip:alice@example.org'), kms: identity(KMS), psk: key(1), clock: { now: () => w.now.t }, acceptPolicy: (p) => (p.flags.I ? true : 'forking required') });
  const r2 = picky.createRequest({ responders: [identity(BOB)], flags: { I: true } });
  await rejects(async () => r2.receiveResponse((await w.kms.receive(r2.bytes)).response), 15);
});

/** Re-encode `msg` with `edit` applied to its payloads and a valid V for the Initiator (the TP built by hand). */
test('flag dependencies violated in a TP made by hand: Invalid TPpar', async () => {
  const w = world();
  const req = w.alice.createRequest({ responders: [identity(BOB)] });
  const m = decodeMessage(req.bytes);
  const tp = m.payloads.find((p) => p.type === PayloadType.Tp)!;
  assert.ok(tp.type === 16);
  // G without F, re-signed with Alice's key through a fresh request carrying the raw TP
  const bad = { ...tp, flags: { ...tp.flags, F: false, G: true } };
  const { buildTicketKmsRequest } = await import('../../src/modes/ticket/kms-exchange.js');
  const forged = buildTicketKmsRequest(w.alice.opts, w.alice.ep, 'request', bad, 7);
  const e = await rejects(w.kms.receive(forged.bytes), 15);
  assert.match(e.message, /G requires F/);
});

async function transfer(w: World, policy: Parameters<TicketInitiator['createRequest']>[0]) {
  const { grant } = await getTicket(w, policy);
  const xfer = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
  assert.ok(xfer.expectsResponse);
  return { grant, xfer };
}

function ticketOf(b: Uint8Array): { m: DecodedMessage; lay: ReturnType<typeof ticketLayout> } {
  const m = decodeMessage(b);
  const t = m.payloads.find((p): p is TicketPayload => p.type === PayloadType.Ticket)!;
  return { m, lay: ticketLayout(t, t.span!) };
}

test('a tampered ticket: the KMS refuses to resolve it (Invalid TICKET), the Responder passes that on to the Initiator', async () => {
  const w = world();
  const { xfer } = await transfer(w, { responders: [identity(BOB)] });
  const { lay } = ticketOf(xfer.bytes);
  for (const at of [lay.tdStart + 5, lay.tdEnd - 40, lay.tdEnd - 1]) {
    const e = await rejects(w.bob.receiveTransfer(flip(xfer.bytes, at), w.resolve), 14);
    assert.deepEqual(errorOf(e.response!).codes, [14]);
  }
  // a flipped bit in the Ticket Policy (TP data is MAC-covered): also refused
  await rejects(w.bob.receiveTransfer(flip(xfer.bytes, lay.tpDataStart + 3), w.resolve), 14);
});

test('a TRANSFER_INIT whose V was tampered: Auth failure at the Responder after resolution; TRANSFER_RESP tampered: Auth failure at the Initiator', async () => {
  const w = world();
  const { xfer } = await transfer(w, { responders: [identity(BOB)] });
  const e = await rejects(w.bob.receiveTransfer(flip(xfer.bytes, xfer.bytes.length - 1), w.resolve), 0);
  assert.deepEqual(errorOf(e.response!), { codes: [0], authenticated: false });
  // a byte of the Initiator Data is outside V's coverage only with forking; without, tampering SP is caught
  const m = decodeMessage(xfer.bytes);
  const idr = m.payloads.find((p) => p.type === PayloadType.Idr && p.role === IdRole.IDRi)!;
  await rejects(w.bob.receiveTransfer(flip(xfer.bytes, idr.span!.end - 1), w.resolve), 0);
  const ok = await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  await rejects(async () => xfer.receiveResponse(flip(ok.response!, ok.response!.length - 3)), 0);
  const rr = decodeMessage(ok.response!).payloads.find((p) => p.type === PayloadType.Randr)!;
  await rejects(async () => xfer.receiveResponse(flip(ok.response!, rr.span!.end - 1)), 0);
  xfer.receiveResponse(ok.response!);
});

test('forking: Mallory puts Alice\'s ticket in her own TRANSFER_INIT (§12.4); Initiator Data tampered; Vi that is not V', async () => {
  const w = world();
  w.dir.addUser('sip:mallory@example.org', { name: 'm', psk: key(77) });
  const { grant, xfer } = await transfer(w, { responders: [identity(BOB)], flags: { I: true } });
  // Mallory has the TICKET from the wire but neither MPKi nor MPKr: with made-up ones her Vr cannot verify
  const mallory = new TicketInitiator({ identity: identity('sip:mallory@example.org'), kms: identity(KMS), psk: key(77), clock: { now: () => w.now.t } });
  const stolen = { ...grant, mpki: key(90), mpkr: key(91), uses: 0 };
  const forged = mallory.createTransfer(stolen, { sessions: [{ ssrc: 1 }] });
  let kmsSaid: number[] = [];
  await rejects(w.bob.receiveTransfer(forged.bytes, async (b) => {
    const r = await w.resolve(b);
    kmsSaid = errorOf(r).codes;
    return r;
  }), 0);
  assert.deepEqual(kmsSaid, [0], 'the KMS found that Vr does not verify');
  // Vr flipped: the KMS refuses
  const { m, lay } = ticketOf(xfer.bytes);
  void m;
  await rejects(w.bob.receiveTransfer(flip(xfer.bytes, lay.end - 1), w.resolve), 0);
  // Vi flipped: the Responder sees it is not this message's V, before asking the KMS
  const before = w.resolves();
  await rejects(w.bob.receiveTransfer(flip(xfer.bytes, lay.idStart + 5), w.resolve), 0);
  assert.equal(w.resolves(), before);
  // the real one still goes through
  const ok = await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  xfer.receiveResponse(ok.response!);
});

test('a Responder the ticket does not name: Invalid ID from the KMS (authenticated), nothing cached', async () => {
  const w = world();
  const { xfer } = await transfer(w, { responders: [identity(BOB)] });
  let kmsError: Uint8Array | undefined;
  const e = await rejects(w.carol.receiveTransfer(xfer.bytes, async (b) => {
    const r = await w.resolve(b);
    kmsError = r;
    return r;
  }), 7);
  assert.deepEqual(errorOf(kmsError!), { codes: [7], authenticated: true });
  assert.deepEqual(errorOf(e.response!).codes, [7]);
  // RESOLVE_INIT with a wrong key: Auth failure
  const fake = new TicketResponder({ identity: identity(BOB), kms: identity(KMS), psk: key(55), clock: { now: () => w.now.t } });
  await rejects(fake.receiveTransfer(xfer.bytes, w.resolve), 0);
  // Bob still resolves it (the failures left nothing behind)
  await w.bob.receiveTransfer(xfer.bytes, w.resolve);
});

test('early rejects at the Responder (§4.2.2.2): KEMAC without L, O = 0, SRTP-ID map, an SP it cannot use; replayed TRANSFER_INIT', async () => {
  const w = world();
  const { grant, xfer } = await transfer(w, { responders: [identity(BOB)] });
  const m = decodeMessage(xfer.bytes);
  // O = 0 (flags are in the clear; the Responder checks before the KMS)
  const { lay } = ticketOf(xfer.bytes);
  const o0 = Uint8Array.from(xfer.bytes);
  o0[lay.start + 7]! &= ~(1 << 5); // PRF(7) D..O(12) Res(5): O is bit 5 of the third byte
  assert.equal(decodeMessage(o0).payloads.find((p) => p.type === PayloadType.Ticket)!.type, 17);
  const tk = decodeMessage(o0).payloads.find((p) => p.type === PayloadType.Ticket);
  assert.ok(tk?.type === 17 && !tk.flags.O && tk.flags.N);
  await rejects(w.bob.receiveTransfer(o0, w.resolve), 14);
  // a KEMAC of the Initiator's though L = 0
  const withKemac = encodeMessage({ header: m.header, payloads: [...m.payloads.slice(0, -1), { type: 1, encrAlg: 0, encrData: new Uint8Array(0), macAlg: 0, mac: new Uint8Array(0) } as Payload, m.payloads.at(-1)!] });
  await rejects(w.bob.receiveTransfer(withKemac, w.resolve), 15);
  // the SRTP-ID map
  const srtpId = encodeMessage({ header: { ...m.header, csIdMap: { type: 0, entries: [{ policyNo: 0, ssrc: 1, roc: 0 }] } }, payloads: m.payloads });
  await rejects(w.bob.receiveTransfer(srtpId, w.resolve), 13);
  // a policy with an unknown encryption algorithm
  const x2 = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1, params: [[{ type: 0, value: Uint8Array.of(99) }]] }] });
  const e = await rejects(w.bob.receiveTransfer(x2.bytes, w.resolve), 10);
  assert.ok(decodeMessage(e.response!).payloads.some((p) => p.type === PayloadType.Sp), 'the Error message names a policy we support (§5.4)');
  assert.equal(w.resolves(), 0);
  await w.bob.receiveTransfer(xfer.bytes, w.resolve);
  await rejects(w.bob.receiveTransfer(xfer.bytes, w.resolve), 1);
});

test('REQUEST_RESP and RESOLVE_RESP tampered or for another request: Auth failure at the receiver', async () => {
  const w = world();
  const req = w.alice.createRequest({ responders: [identity(BOB)] });
  const ans = (await w.kms.receive(req.bytes)).response;
  await rejects(async () => req.receiveResponse(flip(ans, ans.length - 2)), 0);
  await rejects(async () => req.receiveResponse(flip(ans, 30)), 0);
  const req2 = w.alice.createRequest({ responders: [identity(BOB)] }, { csbId: decodeMessage(req.bytes).header.csbId });
  await rejects(async () => req2.receiveResponse(ans), 0);
  req.receiveResponse(ans);
  const { xfer } = await transfer(w, { responders: [identity(BOB)] });
  await rejects(w.bob.receiveTransfer(xfer.bytes, async (b) => flip(await w.resolve(b), 40)), 0);
});
