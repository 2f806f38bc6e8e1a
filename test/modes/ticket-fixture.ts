// A small MIKEY-TICKET world for the tests: a KMS over an in-memory directory, Alice
// (Initiator), Bob (Responder, two devices), Carol (in the it-support group), and fixed clocks.
import assert from 'node:assert/strict';
import { TicketInitiator, type TicketInitiatorOptions } from '../../src/modes/ticket/initiator.js';
import { TicketResponder, type TicketResponderOptions } from '../../src/modes/ticket/responder.js';
import { TicketKms, type TicketKmsOptions } from '../../src/modes/ticket/kms.js';
import { MemoryDirectory, identity } from '../../src/kms/memory.js';
import { MikeyProtocolError } from '../../src/session/errors.js';
import type { CryptoSessionBundle } from '../../src/session/bundle.js';

export const T0 = Date.UTC(2027, 2, 1, 12);
export const clockAt = (ms: number) => ({ now: () => ms });
export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
export const key = (n: number, len = 16) => new Uint8Array(len).map((_, i) => (i * 7 + n) & 0xff);

export const ALICE = 'sip:alice@example.org';
export const BOB = 'sip:bob@example.org';
export const CAROL = 'sip:carol@example.org';
export const SUPPORT = 'sip:it-support@example.org';
export const KMS = 'sip:kms@example.org';

export function keysOf(b: CryptoSessionBundle): string[] {
  return b.sessions.flatMap((s) => s.keys.map((k) => `${s.csId}/${s.ssrc}/${s.profile}:${hex(k.masterKey)}/${hex(k.masterSalt)}/${k.mki ? hex(k.mki) : ''}`));
}

export async function rejects(p: Promise<unknown> | (() => unknown), errorNo: number): Promise<MikeyProtocolError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof MikeyProtocolError, String(e));
    assert.equal(e.errorNo, errorNo, e.message);
    return e;
  }
  assert.fail('accepted');
}

export interface World {
  dir: MemoryDirectory;
  kms: TicketKms;
  alice: TicketInitiator;
  bob: TicketResponder;
  bob2: TicketResponder;
  carol: TicketResponder;
  /** RESOLVE_INIT to the KMS; counts the calls. */
  resolve: (b: Uint8Array) => Promise<Uint8Array>;
  resolves: () => number;
  now: { t: number };
}

export function world(o: { kms?: Partial<TicketKmsOptions>; alice?: Partial<TicketInitiatorOptions>; bob?: Partial<TicketResponderOptions>; dir?: ConstructorParameters<typeof MemoryDirectory>[0] } = {}): World {
  const now = { t: T0 };
  const clock = { now: () => now.t };
  const dir = new MemoryDirectory(o.dir);
  dir.addUser(ALICE, { name: 'alice-phone', psk: key(1) });
  dir.addUser(BOB, { name: 'bob-phone', psk: key(2) }, { name: 'bob-laptop', psk: key(3) });
  dir.addUser(CAROL, { name: 'carol-desk', psk: key(4) });
  dir.addGroup(SUPPORT, CAROL);
  const kms = new TicketKms({ identity: identity(KMS), directory: dir, clock, ...o.kms });
  const alice = new TicketInitiator({ identity: identity(ALICE), kms: identity(KMS), psk: key(1), clock, ...o.alice });
  const bob = new TicketResponder({ identity: identity(BOB), kms: identity(KMS), psk: key(2), pskId: new TextEncoder().encode('bob-phone'), clock, ...o.bob });
  const bob2 = new TicketResponder({ identity: identity(BOB), kms: identity(KMS), psk: key(3), pskId: new TextEncoder().encode('bob-laptop'), clock, ...o.bob });
  const carol = new TicketResponder({ identity: identity(CAROL), kms: identity(KMS), psk: key(4), clock });
  let n = 0;
  const resolve = async (b: Uint8Array) => {
    n++;
    try {
      return (await kms.receive(b)).response;
    } catch (e) {
      if (e instanceof MikeyProtocolError && e.response) return e.response;
      throw e;
    }
  };
  return { dir, kms, alice, bob, bob2, carol, resolve, resolves: () => n, now };
}

/** REQUEST_INIT -> REQUEST_RESP through the KMS. */
export async function getTicket(w: World, policy: Parameters<TicketInitiator['createRequest']>[0], ini = w.alice) {
  const req = ini.createRequest(policy);
  const ans = await w.kms.receive(req.bytes);
  return { grant: req.receiveResponse(ans.response), prepared: ans, request: req.bytes };
}
