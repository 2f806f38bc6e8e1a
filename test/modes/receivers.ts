// Every message of every method with its receiver, for the tamper matrix and responder fuzzing:
// a setup gives the valid message, a receiver holding the state it needs, and `accept`, which
// must still take the original once the hostile input was refused.
import {
  PskInitiator, PskResponder, PkInitiator, PkResponder, DhInitiator, DhResponder, DhHmacInitiator, DhHmacResponder,
  RsaRInitiator, RsaRResponder, SakkeInitiator, SakkeResponder, IbakeInitiator, IbakeResponder, MikeyProtocolError,
  telUriIdentifier, uriIdentity, ErrorNo, type SakkeKmsPublicKeys, type SakkeUserKeys,
} from '../../src/index.js';
import { decodeMessage, PayloadType } from '../../src/wire/index.js';
import { ntpToMs } from '../../src/session/time.js';
import { SakkeKmsPublicKey, eccsiKmsSetup, eccsiMakeSskPvt, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../../src/entry/crypto.js';
import type { TransferAwaitingResponse } from '../../src/modes/ticket/initiator.js';
import { world, getTicket, ALICE, BOB, SUPPORT } from './ticket-fixture.js';
import { identity } from '../../src/kms/memory.js';
import { testKms, alice as ibAlice, bob as ibBob, T0 as IB_T0, clockAt } from './ibake-support.js';
import type { ClassifyContext } from './tamper-support.js';
import { credentials } from '../support/pki.js';

export interface Received {
  /** The receiver's result: keys (a bundle) or a stage without keys. */
  keyed: boolean;
}
export interface Scenario {
  method: string;
  message: string;
  original: Uint8Array;
  /** Gives the receiver the bytes; throws MikeyProtocolError (or MikeyErrorMessage) when refused. */
  receive: (b: Uint8Array) => Promise<Received>;
  /** The receiver takes the original (after the hostile input). */
  accept: () => Promise<void>;
  ctx: ClassifyContext;
  /** Each refusal costs a certificate chain, an RSA operation or a pairing: the CI run flips fewer bits (tamper/run.ts). */
  expensive?: boolean;
  /** RFC 6267 I_MESSAGE_1: nothing authenticates it, so a changed one may be answered (stage 1, no keys). */
  unauthenticated?: boolean;
}

const alice = credentials('alice');
const bob = credentials('bob');
const idAlice = uriIdentity('sip:alice@example.org');
const idBob = uriIdentity('sip:bob@example.org');
const psk = new Uint8Array(16).fill(9);
export const NOW = Date.UTC(2027, 0, 15, 12);
const clock = { now: () => NOW };
const SESSIONS = [{ ssrc: 0x1234 }];
const SKEW = 5 * 60_000;
const CTX: ClassifyContext = { now: NOW, maxSkewMs: SKEW };
const ANSWER: ClassifyContext = { ...CTX, answer: true, echoesT: true };
const keyed = (r: { bundle?: unknown }): Received => ({ keyed: r.bundle !== undefined });

type Make = () => Promise<Scenario[]>;

const psk3830: Make = async () => {
  const ini = new PskInitiator({ psk, idi: idAlice, clock });
  const offer = ini.createOffer({ sessions: SESSIONS, verify: true });
  const res = new PskResponder({ psk, clock });
  let response: Uint8Array | undefined;
  return [
    { method: 'PSK', message: 'I_MESSAGE', original: offer.bytes, receive: async (b) => keyed(await res.receive(b)), accept: async () => { response = (await res.receive(offer.bytes)).response; }, ctx: CTX },
    { method: 'PSK', message: 'R_MESSAGE', get original() { return response!; }, receive: async (b) => keyed({ bundle: ini.receiveResponse(b) }), accept: async () => { ini.receiveResponse(response!); }, ctx: ANSWER },
  ];
};

const pk3830: Make = async () => {
  const ini = new PkInitiator({ ...alice, responderKey: bob.certificate, clock });
  const offer = ini.createOffer({ sessions: SESSIONS, verify: true });
  const res = new PkResponder({ ...bob, clock });
  let response: Uint8Array | undefined;
  return [
    { method: 'PK', message: 'I_MESSAGE', original: offer.bytes, receive: async (b) => keyed(await res.receive(b)), accept: async () => { response = (await res.receive(offer.bytes)).response; }, ctx: { ...CTX, signed: true }, expensive: true },
    { method: 'PK', message: 'R_MESSAGE', get original() { return response!; }, receive: async (b) => keyed({ bundle: ini.receiveResponse(b) }), accept: async () => { ini.receiveResponse(response!); }, ctx: ANSWER },
  ];
};

const dh3830: Make = async () => {
  const ini = new DhInitiator({ ...alice, clock });
  const offer = ini.createOffer({ sessions: SESSIONS });
  const res = new DhResponder({ ...bob, clock });
  let response: Uint8Array | undefined;
  return [
    { method: 'DH', message: 'I_MESSAGE', original: offer.bytes, receive: async (b) => keyed(await res.receive(b)), accept: async () => { response = (await res.receive(offer.bytes)).response; }, ctx: { ...CTX, signed: true }, expensive: true },
    { method: 'DH', message: 'R_MESSAGE', get original() { return response!; }, receive: async (b) => keyed({ bundle: ini.receiveResponse(b) }), accept: async () => { ini.receiveResponse(response!); }, ctx: { ...ANSWER, signed: true }, expensive: true },
  ];
};

const dhhmac: Make = async () => {
  const ini = new DhHmacInitiator({ psk, idi: idAlice, idr: idBob, clock });
  const offer = ini.createOffer({ sessions: SESSIONS });
  const res = new DhHmacResponder({ psk, idr: idBob, clock });
  let response: Uint8Array | undefined;
  return [
    { method: 'DH-HMAC', message: 'I_MESSAGE', original: offer.bytes, receive: async (b) => keyed(await res.receive(b)), accept: async () => { response = (await res.receive(offer.bytes)).response; }, ctx: { ...CTX, encrAlgs: [0] } },
    { method: 'DH-HMAC', message: 'R_MESSAGE', get original() { return response!; }, receive: async (b) => keyed({ bundle: ini.receiveResponse(b) }), accept: async () => { ini.receiveResponse(response!); }, ctx: { ...ANSWER, encrAlgs: [0] } },
  ];
};

const rsar: Make = async () => {
  const ini = new RsaRInitiator({ ...alice, clock });
  const req = ini.createOffer({ sessions: SESSIONS });
  const res = new RsaRResponder({ ...bob, clock });
  let response: Uint8Array | undefined;
  return [
    { method: 'RSA-R', message: 'I_MESSAGE', original: req.bytes, receive: async (b) => keyed(await res.receive(b)), accept: async () => { response = (await res.receive(req.bytes)).response; }, ctx: { ...CTX, signed: true }, expensive: true },
    { method: 'RSA-R', message: 'R_MESSAGE', get original() { return response!; }, receive: async (b) => keyed(await ini.receiveResponse(b)), accept: async () => { await ini.receiveResponse(response!); }, ctx: { ...ANSWER, signed: true }, expensive: true },
  ];
};

// ---- MIKEY-TICKET (RFC 6043): six messages, four receivers ------------------------------------

const ticket: Make = async () => {
  // Bob's randomness is fixed so that each TRANSFER_INIT he gets makes the same RESOLVE_INIT,
  // whose RESOLVE_RESP (captured once) can then be given to him changed
  const w = world();
  w.bob.ep.random = (n: number) => new Uint8Array(n).fill(0x5a);
  const request = w.alice.createRequest({ responders: [identity(BOB)] });
  let requestResp: Uint8Array | undefined;
  let grant: ReturnType<typeof request.receiveResponse> | undefined;
  let xfer: TransferAwaitingResponse | undefined;
  let resolveInit: Uint8Array | undefined;
  let resolveResp: Uint8Array | undefined;
  let transferResp: Uint8Array | undefined;
  const kmsReceive = async (b: Uint8Array) => { await w.kms.receive(b); return { keyed: true }; };
  const prepareTransfer = async () => {
    grant = request.receiveResponse(requestResp!);
    const pending = w.alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
    if (!pending.expectsResponse) throw new Error('TRANSFER_RESP expected (F = 1)');
    xfer = pending;
    // the RESOLVE_INIT Bob makes for it, not sent to the KMS yet
    await w.bob.receiveTransfer(xfer.bytes, async (b) => { resolveInit = b; throw new MikeyProtocolError(12, 'captured'); }).catch(() => undefined);
  };
  const TCTX: ClassifyContext = { ...CTX, now: w.now.t };
  return [
    { method: 'TICKET', message: 'REQUEST_INIT', original: request.bytes, receive: kmsReceive, accept: async () => { requestResp = (await w.kms.receive(request.bytes)).response; }, ctx: TCTX },
    { method: 'TICKET', message: 'REQUEST_RESP', get original() { return requestResp!; }, receive: async (b) => { request.receiveResponse(b); return { keyed: true }; }, accept: prepareTransfer, ctx: { ...TCTX, answer: true } },
    { method: 'TICKET', message: 'TRANSFER_INIT', get original() { return xfer!.bytes; }, receive: async (b) => keyed((await w.bob2.receiveTransfer(b, w.resolve)).session), accept: async () => { await w.bob2.receiveTransfer(xfer!.bytes, w.resolve); }, ctx: TCTX },
    { method: 'TICKET', message: 'RESOLVE_INIT', get original() { return resolveInit!; }, receive: kmsReceive, accept: async () => { resolveResp = (await w.kms.receive(resolveInit!)).response; }, ctx: TCTX },
    { method: 'TICKET', message: 'RESOLVE_RESP', get original() { return resolveResp!; }, receive: async (b) => keyed((await w.bob.receiveTransfer(xfer!.bytes, async () => b)).session), accept: async () => { transferResp = (await w.bob.receiveTransfer(xfer!.bytes, async () => resolveResp!)).response; }, ctx: { ...TCTX, answer: true } },
    { method: 'TICKET', message: 'TRANSFER_RESP', get original() { return transferResp!; }, receive: async (b) => keyed(xfer!.receiveResponse(b)), accept: async () => { xfer!.receiveResponse(transferResp!); }, ctx: { ...TCTX, answer: true } },
  ];
};
void SUPPORT;
void ALICE;
void getTicket;

// ---- MIKEY-SAKKE (RFC 6509): one message -----------------------------------------------------

export const sakkeWorld = (() => {
  let cached: { kms: SakkeKmsPublicKeys; keys: (uri: string) => SakkeUserKeys[] } | undefined;
  return () => {
    if (cached) return cached;
    const ekms = eccsiKmsSetup();
    const skms = sakkeKmsSetup(sakkeParamSet1);
    const kms: SakkeKmsPublicKeys = { zS: new SakkeKmsPublicKey(sakkeParamSet1, skms.zS), kpak: ekms.kpak };
    const keys = (uri: string) => ['2027-01'].map((m) => {
      const id = telUriIdentifier(uri, m);
      const e = eccsiMakeSskPvt(ekms, id);
      return { id, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, id), ssk: e.ssk, pvt: e.pvt, hs: e.hs };
    });
    cached = { kms, keys };
    return cached;
  };
})();

const sakke: Make = async () => {
  const { kms, keys } = sakkeWorld();
  const A = 'tel:+447700900123';
  const B = 'tel:+447700900456';
  const offer = new SakkeInitiator({ uri: A, kms, keys: keys(A), kmsUri: 'kms.example.org', clock }).createOffer({ to: B, sessions: SESSIONS });
  const res = new SakkeResponder({ uri: B, kms, keys: keys(B), kmsUri: 'kms.example.org', clock });
  return [{ method: 'SAKKE', message: 'I_MESSAGE', original: offer.bytes, receive: async (b) => keyed(await res.receive(b)), accept: async () => { await res.receive(offer.bytes); }, ctx: { ...CTX, signed: true, prfs: [0] }, expensive: true }];
};

// ---- MIKEY-IBAKE (RFC 6267): four messages ---------------------------------------------------

const ibake: Make = async () => {
  const kms = testKms();
  const ini = new IbakeInitiator({ idi: ibAlice, keys: kms.ring(ibAlice), clock: clockAt(IB_T0) });
  // the responder's randomness repeats for each instance, so that a fresh one given I_MESSAGE_1
  // answers with the same R_MESSAGE_1 (same [y]P) and takes the same I_MESSAGE_2
  const bobKeys = kms.ring(ibBob);
  const responder = () => new IbakeResponder({ keys: bobKeys, clock: clockAt(IB_T0), random: seeded(0x1bace) });
  const res = responder();
  const m1 = ini.createOffer({ idr: ibBob, sessions: SESSIONS });
  let r1: Uint8Array | undefined;
  let m2: Uint8Array | undefined;
  let r2: Uint8Array | undefined;
  const ICTX: ClassifyContext = { ...CTX, now: IB_T0 };
  const stage = (r: { bundle?: unknown }) => keyed(r);
  // I_MESSAGE_2's receiver: the responder, then the initiator on its R_MESSAGE_2. Nothing in RFC
  // 6267 authenticates T of I_MESSAGE_2 (§4.2.2.5): the responder cannot tell a changed T inside
  // the skew and answers (consuming its pending exchange, so a primed responder takes its place);
  // its R_MESSAGE_2 echoes that T under V (§4.2.2.7) and the initiator refuses it (Invalid TS).
  let primed: IbakeResponder | undefined;
  const exchange = async (b: Uint8Array): Promise<Received> => {
    primed ??= responder();
    if (primed.pendingCount === 0) await primed.receive(m1.bytes);
    const r = await primed.receive(b);
    if (!r.bundle) return { keyed: false };
    primed = undefined;
    return keyed({ bundle: ini.receiveVerification(r.response) });
  };
  const I2CTX: ClassifyContext = {
    ...ICTX,
    override: (f, flipped) => {
      const t = f.kind === 'ts' ? decodeMessage(flipped).payloads.find((p) => p.type === PayloadType.T) : undefined;
      if (t?.type === PayloadType.T && Math.abs(ntpToMs(t.value) - IB_T0) <= SKEW) {
        return { codes: [ErrorNo.InvalidTs], why: 'T of I_MESSAGE_2 is covered by nothing (RFC 6267 §4.2.2.5): the responder answers; the initiator refuses the R_MESSAGE_2 that echoes the changed T (§4.2.2.7)' };
      }
      if (f.kind === 'prf') return { codes: [ErrorNo.AuthFailure], why: 'the PRF was fixed by I_MESSAGE_1: the header must be that of R_MESSAGE_1 (§4.2.2.5), else no exchange of ours' };
      if (f.kind === 'csb' || f.kind === 'id' || f.kind === 'idType') {
        return { codes: [ErrorNo.Unspecified, ErrorNo.InvalidId, ErrorNo.AuthFailure], why: 'another CSB ID or initiator names no pending exchange (Unspecified error); another responder identity is not the exchange\'s (Invalid ID)' };
      }
      return undefined;
    },
  };
  return [
    // a fresh responder for each changed I_MESSAGE_1: an answered one leaves a pending exchange
    { method: 'IBAKE', message: 'I_MESSAGE_1', original: m1.bytes, receive: async (b) => stage(await new IbakeResponder({ keys: bobKeys, clock: clockAt(IB_T0) }).receive(b)), accept: async () => { r1 = (await res.receive(m1.bytes)).response; }, ctx: ICTX, expensive: true, unauthenticated: true },
    { method: 'IBAKE', message: 'R_MESSAGE_1', get original() { return r1!; }, receive: async (b) => { ini.receiveResponse(b); return { keyed: false }; }, accept: async () => { m2 = ini.receiveResponse(r1!).bytes; }, ctx: { ...ICTX, answer: true, echoesT: true }, expensive: true },
    { method: 'IBAKE', message: 'I_MESSAGE_2', get original() { return m2!; }, receive: exchange, accept: async () => { primed ??= responder(); if (primed.pendingCount === 0) await primed.receive(m1.bytes); r2 = (await primed.receive(m2!)).response; }, ctx: I2CTX, expensive: true },
    { method: 'IBAKE', message: 'R_MESSAGE_2', get original() { return r2!; }, receive: async (b) => keyed({ bundle: ini.receiveVerification(b) }), accept: async () => { ini.receiveVerification(r2!); }, ctx: { ...ICTX, answer: true, echoesT: true } },
  ];
};

/** A repeatable random source (tests only): xorshift32 from `seed`. */
function seeded(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => Uint8Array.from({ length: n }, () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x & 0xff;
  });
}

export const METHODS: Record<string, Make> = { PSK: psk3830, PK: pk3830, DH: dh3830, 'DH-HMAC': dhhmac, 'RSA-R': rsar, TICKET: ticket, SAKKE: sakke, IBAKE: ibake };
