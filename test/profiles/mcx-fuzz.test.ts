// Fuzzing the whole MCX receive path (TS 33.180 Annex E over RFC 6509): mutated third-party
// and self-sent messages, signed messages with random structure (so that the checks after the
// signature are reached), and mutated key material and KMS parameters. Every outcome must be
// a key or a MikeyProtocolError that is not the last guard's `unexpected` conversion.
// Small by default; MIKEY_LONG=1 runs many more cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  McxKeyManagement, inspectSakkeMessage, protectKeyParameters, encodeKeyParameters, uidFor, keyPeriodNumber,
  type McxKms, type McxKeySet, type McxOptions,
} from '../../src/profiles/mcx/index.js';
import { eccsiKmsSetup, eccsiMakeSskPvt } from '../../src/crypto/eccsi.js';
import { SakkeKmsPublicKey, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../../src/crypto/sakke.js';
import { MikeyProtocolError } from '../../src/session/errors.js';
import { ntpTimestamp, ntpToMs } from '../../src/session/time.js';
import { UNEXPECTED, SakkeInitiator, SakkeResponder, buildSakkeIMessage, idrPayload, telUriIdentifier } from '../../src/modes/sakke/index.js';
import { IdRole } from '../../src/wire/registry.js';
import { MikeyEncodeError } from '../../src/wire/errors.js';
import type { CsIdMap, GeneralExtPayload, PolicyParam, SpPayload } from '../../src/wire/types.js';

const LONG = process.env.MIKEY_LONG === '1';
const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/** xorshift32: the same cases on every run; MIKEY_FUZZ_SEED picks others. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
  const int = (n: number) => next() % n;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  return { int, bytes, pick };
}
const SEED = Number(process.env.MIKEY_FUZZ_SEED ?? 0x6d636b78);
type Rng = ReturnType<typeof rng>;

/**
 * One to three byte-level mutations: flip, set, insert, delete, truncate, duplicate; never the
 * input itself (a byte set to the value it had, or a bit flipped twice, would be the original,
 * which a receiver then records, and the original sent afterwards is rightly a replay).
 */
function mutate(r: Rng, b: Uint8Array): Uint8Array {
  for (;;) {
    const out = mutateOnce(r, b);
    if (Buffer.compare(out, b) !== 0) return out;
  }
}
function mutateOnce(r: Rng, b: Uint8Array): Uint8Array {
  let out = Uint8Array.from(b);
  for (let n = 1 + r.int(3); n > 0; n--) {
    const at = r.int(Math.max(out.length, 1));
    switch (r.int(6)) {
      case 0: if (out.length) out[at]! ^= 1 << r.int(8); break;
      case 1: if (out.length) out[at] = r.pick([0, 0xff, 0x7f, 0x80, r.int(256)]); break;
      case 2: out = Uint8Array.from([...out.subarray(0, at), ...r.bytes(1 + r.int(4)), ...out.subarray(at)]); break;
      case 3: out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + 1 + r.int(8))]); break;
      case 4: out = out.slice(0, at); break;
      default: out = Uint8Array.from([...out.subarray(0, at + 1), ...out.subarray(Math.max(0, at - r.int(40)), at + 1), ...out.subarray(at + 1)]);
    }
  }
  return out;
}

let unexpected: string[] = [];
async function outcome(what: string, p: Promise<unknown>): Promise<'key' | 'refused'> {
  try {
    await p;
    return 'key';
  } catch (e) {
    if (!(e instanceof MikeyProtocolError)) {
      unexpected.push(`${what}: ${String(e)}`);
      return 'refused';
    }
    if (e.reason.startsWith(UNEXPECTED)) unexpected.push(`${what}: ${e.message}`);
    assert.ok(e.response === undefined || e.response.length > 0);
    return 'refused';
  }
}
function noUnexpected() {
  const u = unexpected;
  unexpected = [];
  assert.deepEqual(u.slice(0, 5), [], `${u.length} unexpected exception(s)`);
}

// ---- the third-party vectors (test/fixtures/mcx/streamwide.json) --------------------------

interface Fixture {
  kms: { uri: string; pubEncKey: string; pubAuthKey: string; userKeyPeriod: number; userKeyOffset: number };
  time: string; keyPeriodNo: number;
  users: Record<string, { uri: string; uid: string; rsk: string; ssk: string; pvt: string }>;
  messages: Record<string, { from: string; to: string; base64: string }>;
}
const fx = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'mcx', 'streamwide.json'), 'utf8')) as Fixture;
const VKMS: McxKms = { uri: fx.kms.uri, zS: hex(fx.kms.pubEncKey), kpak: hex(fx.kms.pubAuthKey), keyPeriod: fx.kms.userKeyPeriod, keyPeriodOffset: fx.kms.userKeyOffset };
const VT = ntpToMs(hex(fx.time));
const vSet = (name: string): McxKeySet => {
  const u = fx.users[name]!;
  return { keyPeriodNo: fx.keyPeriodNo, uid: hex(u.uid), rsk: hex(u.rsk), ssk: hex(u.ssk), pvt: hex(u.pvt) };
};
const vNode = (name: string, extra: Partial<McxOptions> = {}) => new McxKeyManagement({
  uri: fx.users[name]!.uri, kms: VKMS, clock: { now: () => VT + 1500 }, keySets: [vSet(name)],
  lenience: 'deployed', ...extra,
});

// ---- our own KMS, with a key period of 150 years: every user is in period 0 ----------------

const ekms = eccsiKmsSetup();
const skms = sakkeKmsSetup(sakkeParamSet1);
const CENTURIES = 150 * 365 * 86400; // longer than all NTP time so far
const KMS: McxKms = { uri: 'kms.example.org', zS: new SakkeKmsPublicKey(sakkeParamSet1, skms.zS), kpak: ekms.kpak, keyPeriod: CENTURIES, keyPeriodOffset: 0 };
const T0 = Date.UTC(2027, 0, 15, 12);
function issue(uri: string, keyPeriodNo: number): McxKeySet {
  const uid = uidFor(uri, KMS, keyPeriodNo);
  const e = eccsiMakeSskPvt(ekms, uid);
  return { keyPeriodNo, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, uid), ssk: e.ssk, pvt: e.pvt, hs: e.hs };
}
const ALICE = 'sip:alice@example.org', BOB = 'sip:bob@example.org';
const sets = new Map([ALICE, BOB].map((u) => [u, [issue(u, 0), issue(u, 1)]]));
const node = (uri: string, extra: Partial<McxOptions> = {}) => new McxKeyManagement({ uri, kms: KMS, keySets: sets.get(uri)!, clock: { now: () => T0 }, ...extra });

test('a KMS whose key period is 150 years: every user in period 0, and a message goes through', async () => {
  assert.equal(keyPeriodNumber(T0, KMS.keyPeriod, KMS.keyPeriodOffset), 0);
  const m = node(ALICE).sendPck({ to: BOB });
  const r = await node(BOB).receive(m.bytes, { initiator: ALICE });
  assert.equal(r.keyPeriodNo, 0);
  assert.equal(Buffer.from(r.key).toString('hex'), Buffer.from(m.key).toString('hex'));
  assert.equal(r.initiator.uri, ALICE);
});

test('the last guard: an exception from inside the receiver comes out as a MikeyProtocolError with an Error message', async () => {
  // a key set whose period number cannot name a UID: a bug of the caller's, not of the peer's
  const bad = new McxKeyManagement({ uri: BOB, kms: KMS, keySets: [{ ...sets.get(BOB)![0]!, keyPeriodNo: -3 }], clock: { now: () => T0 } });
  const m = node(ALICE).sendPck({ to: BOB });
  try {
    await bad.receive(m.bytes, { initiator: ALICE });
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof MikeyProtocolError, String(e));
    assert.ok(e.response && e.response.length > 0);
  }
});

test('fuzz: mutated third-party and self-sent messages', async () => {
  const r = rng(SEED);
  const cases: Array<[string, () => McxKeyManagement, Uint8Array]> = Object.entries(fx.messages).map(([name, m]) => [name, () => vNode(m.to), b64(m.base64)]);
  const own = [node(ALICE).sendPck({ to: BOB, toSelf: true }), node(ALICE).sendCsk({ to: BOB, map: 'empty' }),
    node(ALICE).distributeGmk({ members: [BOB], keyParameters: { text: 'crew' } }).messages[0]!];
  for (const [i, m] of own.entries()) cases.push([`own ${i}`, () => node(BOB, { lenience: i % 2 ? 'deployed' : { spWithEmptyMap: true } }), m.bytes]);
  const receivers = cases.map(([, mk]) => mk());
  const n = LONG ? 4000 : 240;
  let refused = 0;
  for (let i = 0; i < n; i++) {
    const c = r.int(cases.length);
    const [name, , bytes] = cases[c]!;
    if ((await outcome(`${name} #${i}`, receivers[c]!.receive(mutate(r, bytes)))) === 'refused') refused++;
  }
  noUnexpected();
  assert.ok(refused > 0.9 * n, `${refused} of ${n} mutated messages refused`);
});

/** Random SP parameters: registered and unregistered types, odd lengths and values. */
function randomParams(r: Rng): PolicyParam[] {
  return Array.from({ length: r.int(6) }, () => ({ type: r.int(24), value: r.bytes(r.pick([0, 1, 1, 1, 2, 4, 17])) }));
}
function randomMap(r: Rng): CsIdMap {
  if (r.int(3) === 0) return { type: 1, csCount: 0 };
  if (r.int(4) === 0) return { type: 0, entries: Array.from({ length: 1 + r.int(3) }, (_, i) => ({ policyNo: r.int(3), ssrc: r.int(2 ** 31), roc: r.int(3) * i })) };
  return {
    type: 2,
    entries: Array.from({ length: 1 + r.int(3) }, () => ({
      csId: r.int(12), protType: r.pick([0, 0, 0, 1, 7]), s: r.int(2) === 0, policies: Array.from({ length: r.int(3) }, () => r.int(3)),
      sessionData: r.bytes(r.pick([0, 0, 8, 3])), spi: r.bytes(r.pick([0, 4, 8, 5, 1])),
    })),
  };
}
/** A key-parameters extension: protected under the right or another key, plain, short, or noise. */
function randomKeyParameters(r: Rng, ssv: Uint8Array, csbId: number): Uint8Array {
  const k = { keyType: r.int(8), status: r.int(4), activationTime: r.int(2 ** 30), expiryTime: 0, text: r.pick(['', 'crew', 'x'.repeat(40)]), ...(r.int(2) ? { groupIds: [{ iei: r.int(256), value: r.bytes(r.int(8)) }] } : {}) };
  switch (r.int(6)) {
    case 0: return protectKeyParameters(k, { dppk: ssv, dppkId: csbId, iv: r.bytes(16) });
    case 1: return mutate(r, protectKeyParameters(k, { dppk: ssv, dppkId: r.int(2) ? csbId : r.int(2 ** 31), iv: r.bytes(16) }));
    case 2: return encodeKeyParameters(k);
    case 3: return mutate(r, encodeKeyParameters(k));
    case 4: return encodeKeyParameters(k).subarray(0, 15);
    default: return r.bytes(r.int(80));
  }
}

test('fuzz: signed messages with random maps, policies, CSB IDs and key-parameters extensions', async () => {
  const r = rng(SEED ^ 0x5a5a5a5a);
  const a = sets.get(ALICE)![0]!;
  const receivers = [node(BOB, { lenience: { spWithEmptyMap: true } }), node(BOB, { lenience: 'deployed' })];
  const n = LONG ? 1500 : 40;
  let keys = 0, built = 0;
  for (let i = 0; i < n; i++) {
    const map = randomMap(r);
    const sps: SpPayload[] = Array.from({ length: r.pick([0, 0, 1, 1, 2]) }, (_, j) => ({ type: 10, policyNo: r.int(2) ? j : 0, protType: r.pick([0, 0, 1]), params: randomParams(r) }));
    const csbId = (r.pick([0, 1, 2, 3, 6, 9, 15]) << 28 | r.int(2 ** 28)) >>> 0;
    const t = T0 + r.pick([0, -1000, 2000]);
    const ext = r.int(4);
    const idrs = r.int(5) === 0
      ? [idrPayload(IdRole.IDRi, ALICE), idrPayload(IdRole.IDRkmsi, KMS.uri)]
      : [idrPayload(IdRole.IDRi, ALICE), idrPayload(IdRole.IDRr, BOB), idrPayload(IdRole.IDRkmsi, KMS.uri), idrPayload(IdRole.IDRkmsr, KMS.uri)];
    let bytes: Uint8Array;
    try {
      ({ bytes } = buildSakkeIMessage({
      csbId, csIdMap: map, prf: 'PRF-HMAC-SHA-256', t: { type: 5, tsType: r.pick([0, 0, 0, 2]), value: ntpTimestamp(t) }, rand: r.bytes(r.pick([16, 16, 32, 1])),
      idrs, sps, ssv: r.bytes(16), recipient: { id: uidFor(BOB, KMS, r.pick([0, 0, 1])), zS: KMS.zS }, idScheme: 2,
      extensions: (ssv): GeneralExtPayload[] => ext === 0 ? [] : Array.from({ length: ext === 3 ? 2 : 1 }, () => ({ type: 21, extType: r.pick([7, 7, 7, 6, 0]), data: randomKeyParameters(r, ssv, csbId) })),
      signer: { id: uidFor(ALICE, KMS, 0), ssk: a.ssk, pvt: a.pvt, kpak: KMS.kpak }, random: r.bytes,
      }));
    } catch (e) {
      if (e instanceof MikeyEncodeError) continue; // a structure the codec will not write
      throw e;
    }
    built++;
    if ((await outcome(`structured #${i}`, receivers[i % 2]!.receive(bytes))) === 'key') keys++;
  }
  noUnexpected();
  assert.ok(built > n / 2, `${built} of ${n} built`);
  assert.ok(keys > 0, 'some random structures are valid messages');
});

test('fuzz: mutated key material and KMS parameters on valid messages', async () => {
  const r = rng(SEED ^ 0x13572468);
  const v = fx.messages.gmk!;
  const own = node(ALICE).sendPck({ to: BOB });
  const n = LONG ? 600 : 24;
  for (let i = 0; i < n; i++) {
    const useVector = r.int(2) === 0;
    const base = useVector ? vSet(v.to) : sets.get(BOB)![0]!;
    const set: McxKeySet = { ...base };
    const kms: McxKms = { ...(useVector ? VKMS : KMS) };
    switch (r.int(9)) {
      case 0: set.rsk = mutate(r, set.rsk); break;
      case 1: set.rsk = Uint8Array.from([0, 0, ...set.rsk]); break;
      case 2: set.ssk = mutate(r, set.ssk); break;
      case 3: set.pvt = mutate(r, set.pvt); break;
      case 4: set.keyPeriodNo = r.pick([0, 1, 2 ** 40, Number.MAX_SAFE_INTEGER]); delete set.uid; break;
      case 5: set.uid = r.bytes(r.pick([0, 31, 32, 33])); break;
      case 6: kms.keyPeriod = r.pick([1, 86400, 2 ** 32, 2 ** 45]); kms.keyPeriodOffset = r.pick([0, 2 ** 33]); break;
      case 7: kms.kpak = mutate(r, kms.kpak); break;
      default: kms.zS = mutate(r, kms.zS instanceof Uint8Array ? kms.zS : skms.zS);
    }
    const me = useVector ? fx.users[v.to]!.uri : BOB;
    const rcv = new McxKeyManagement({ uri: me, kms, keySets: [set], lenience: i % 2 ? 'deployed' : {}, clock: { now: () => (useVector ? VT + 1500 : T0) } });
    await outcome(`key material #${i}`, rcv.receive(useVector ? b64(v.base64) : own.bytes));
  }
  noUnexpected();
});

test('fuzz: the RFC 6509 responder (identifier scheme 1) on mutated messages', async () => {
  const r = rng(SEED ^ 0x0badf00d);
  const A = 'tel:+447700900123', B = 'tel:+447700900456';
  const kms = { zS: KMS.zS, kpak: KMS.kpak };
  const keysOf = (uri: string) => {
    const id = telUriIdentifier(uri, T0);
    const e = eccsiMakeSskPvt(ekms, id);
    return [{ id, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, id), ssk: e.ssk, pvt: e.pvt, hs: e.hs }];
  };
  const offer = new SakkeInitiator({ uri: A, kms, keys: keysOf(A), kmsUri: KMS.uri, clock: { now: () => T0 } })
    .createOffer({ to: B, sessions: [{ ssrc: 0x11223344 }] });
  const responder = new SakkeResponder({ uri: B, kms, keys: keysOf(B), kmsUri: KMS.uri, clock: { now: () => T0 }, lenience: { spWithEmptyMap: true, signatureWithoutSignHeader: true, generalExtensionBeforeSakke: true } });
  const n = LONG ? 1500 : 80;
  for (let i = 0; i < n; i++) await outcome(`scheme 1 #${i}`, responder.receive(mutate(r, offer.bytes)));
  noUnexpected();
  assert.equal((await outcome('original', responder.receive(offer.bytes))), 'key');
});

test('fuzz: the inspector never throws on mutated messages and reports a verdict for each step', async () => {
  const r = rng(SEED ^ 0x1f2e3d4c);
  const n = LONG ? 300 : 12;
  for (let i = 0; i < n; i++) {
    const [name, m] = r.pick(Object.entries(fx.messages));
    const u = fx.users[m.to]!;
    const got = await inspectSakkeMessage(mutate(r, b64(m.base64)), { uri: u.uri, kms: VKMS, keySets: [vSet(m.to)] });
    assert.ok(got.steps.length > 0, name);
    assert.ok(got.steps.every((s) => ['ok', 'deviation', 'fail', 'skipped'].includes(s.verdict) && s.reason.length > 0), name);
    if (!got.received) assert.ok(got.error, name);
  }
});
