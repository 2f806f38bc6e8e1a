// Deviations of deployed MCX senders (TS 33.180 Annex E over RFC 6509): each refused strictly
// with its Error, accepted with its named tolerance and reported; 'deployed' turns on the set.
// Negative cases (RFC 6508 check, a key set that does not validate, a signature over other
// bytes) give no key whatever the tolerances.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  McxKeyManagement, KeyPurpose, KeyStatus, encodeKeyParameters, protectKeyParametersContent, uidFor, keyPeriodNumber, DEPLOYED_LENIENCE, MCX_TOLERANCES,
  type McxKms, type McxKeySet, type McxOptions, type McxLenience,
} from '../../src/profiles/mcx/index.js';
import { eccsiKmsSetup, eccsiMakeSskPvt, eccsiSign, ECCSI_SIGNATURE_LENGTH } from '../../src/crypto/eccsi.js';
import { SakkeKmsPublicKey, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../../src/crypto/sakke.js';
import { MikeyProtocolError } from '../../src/session/errors.js';
import { ntpToMs } from '../../src/session/time.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { encodeMessage } from '../../src/wire/encode.js';
import { ErrorNo, GeneralExtType, PayloadType } from '../../src/wire/registry.js';
import type { Payload } from '../../src/wire/types.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

async function rejects(p: Promise<unknown>, errorNo: number, re?: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof MikeyProtocolError, String(e));
    assert.equal(e.errorNo, errorNo, e.message);
    if (re) assert.match(e.message, re);
    assert.ok(e.response && e.response.length > 0, 'an Error message to send back');
    return;
  }
  assert.fail('accepted');
}

const ekms = eccsiKmsSetup();
const skms = sakkeKmsSetup(sakkeParamSet1);
const KMS: McxKms = { uri: 'kms.example.org', zS: new SakkeKmsPublicKey(sakkeParamSet1, skms.zS), kpak: ekms.kpak, keyPeriod: 2592000, keyPeriodOffset: 0 };
const T0 = Date.UTC(2027, 0, 15, 12);
const P0 = keyPeriodNumber(T0, KMS.keyPeriod, KMS.keyPeriodOffset);
function issue(uri: string, keyPeriodNo: number): McxKeySet {
  const uid = uidFor(uri, KMS, keyPeriodNo);
  const e = eccsiMakeSskPvt(ekms, uid);
  return { keyPeriodNo, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, uid), ssk: e.ssk, pvt: e.pvt, hs: e.hs };
}
const ALICE = 'sip:alice@example.org', BOB = 'sip:bob@example.org';
const sets = new Map([ALICE, BOB].map((u) => [u, [issue(u, P0)]]));
const node = (uri: string, extra: Partial<McxOptions> = {}) => new McxKeyManagement({ uri, kms: KMS, keySets: sets.get(uri)!, clock: { now: () => T0 }, ...extra });
const strict = () => node(BOB);
const only = (k: keyof McxLenience) => node(BOB, { lenience: { [k]: true } });

/** Re-encode a message with changed header or payloads and sign it again as Alice (RFC 6509 coverage). */
function resign(bytes: Uint8Array, change: { prfFunc?: number; payloads?: (p: Payload[]) => Payload[]; signOver?: (covered: Uint8Array) => Uint8Array }): Uint8Array {
  const m = decodeMessage(bytes, { allowSpWithEmptyMap: true });
  const header = { ...m.header, ...(change.prfFunc !== undefined ? { prfFunc: change.prfFunc } : {}) };
  const out = encodeMessage({ header, payloads: change.payloads ? change.payloads(m.payloads) : m.payloads });
  const covered = out.subarray(0, out.length - ECCSI_SIGNATURE_LENGTH);
  const a = sets.get(ALICE)![0]!;
  out.set(eccsiSign(KMS.kpak, uidFor(ALICE, KMS, P0), a.ssk, a.pvt, change.signOver ? change.signOver(covered) : covered, { hs: a.hs }), covered.length);
  return out;
}
/** A PCK from Alice whose key-parameters extension data is `data(key, csbId)`. */
function withKeyParameters(data: (key: Uint8Array, csbId: number) => Uint8Array) {
  const m = node(ALICE).sendPck({ to: BOB });
  const bytes = resign(m.bytes, { payloads: (ps) => ps.map((p) => p.type === PayloadType.GeneralExt && p.extType === GeneralExtType.KeyParameters3gpp ? { ...p, data: data(m.key, m.csbId) } : p) });
  return { m, bytes };
}
const content = (text = '', groups?: Uint8Array) => {
  const c = encodeKeyParameters({ keyType: KeyPurpose.PCK, status: KeyStatus.NotRevoked, activationTime: 7, expiryTime: 9, text });
  return groups ? Uint8Array.from([...c, ...groups]) : c;
};
const iv = new Uint8Array(16).fill(0xff);

test('an unregistered PRF value: Invalid PRF strictly; read as PRF-HMAC-SHA-256 with unregistered-prf; MIKEY-1 still refused', async () => {
  const m = node(ALICE).sendPck({ to: BOB });
  const odd = resign(m.bytes, { prfFunc: 0x55 });
  await rejects(strict().receive(odd), ErrorNo.InvalidPrf);
  const r = await only('unregisteredPrf').receive(odd);
  assert.deepEqual(r.lenient, ['unregistered-prf']);
  assert.equal(toHex(r.bundle.sessions[0]!.keys[0]!.masterKey), toHex(m.bundle.sessions[0]!.keys[0]!.masterKey));
  await rejects(only('unregisteredPrf').receive(resign(m.bytes, { prfFunc: 0 })), ErrorNo.InvalidPrf);
});

test('General Extension before SAKKE: refused strictly (Unsupported message type); accepted with general-extension-before-sakke', async () => {
  const m = node(ALICE).sendPck({ to: BOB });
  const moved = resign(m.bytes, {
    payloads: (ps) => {
      const ext = ps.filter((p) => p.type === PayloadType.GeneralExt);
      const rest = ps.filter((p) => p.type !== PayloadType.GeneralExt);
      const at = rest.findIndex((p) => p.type === PayloadType.Sakke);
      return [...rest.slice(0, at), ...ext, ...rest.slice(at)];
    },
  });
  assert.deepEqual(decodeMessage(moved).payloads.map((p) => p.type).slice(-3), [21, 26, 4]);
  await rejects(strict().receive(moved), ErrorNo.UnsupportedMessageType, /payload/);
  const r = await only('generalExtensionBeforeSakke').receive(moved);
  assert.deepEqual(r.lenient, ['general-extension-before-sakke']);
  assert.equal(toHex(r.key), toHex(m.key));
  assert.equal(r.keyParameters?.keyType, KeyPurpose.PCK);
});

test('key parameters without Text (the earlier fixed form), protected and plain', async () => {
  const fixed = content().subarray(0, 15);
  for (const [form, data] of [
    ['protected', (k: Uint8Array, id: number) => protectKeyParametersContent(fixed, { dppk: k, dppkId: id, iv })],
    ['plain', () => fixed],
  ] as const) {
    const { m, bytes } = withKeyParameters(data);
    await rejects(strict().receive(bytes), ErrorNo.UnsupportedMessageType, /key parameters: content of 15 bytes/);
    const r = await only('keyParametersWithoutText').receive(bytes);
    assert.deepEqual(r.lenient, ['key-parameters-without-text'], form);
    assert.deepEqual(r.keyParameters, { keyType: KeyPurpose.PCK, status: 1, activationTime: 7, expiryTime: 9, text: '', format: form });
    assert.equal(toHex(r.key), toHex(m.key));
  }
});

test('key parameters with an element of length zero (Group IDs): refused strictly; read with key-parameters-empty-element', async () => {
  const { bytes } = withKeyParameters((k, id) => protectKeyParametersContent(content('crew', Uint8Array.of(0, 0)), { dppk: k, dppkId: id, iv }));
  await rejects(strict().receive(bytes), ErrorNo.UnsupportedMessageType, /group IDs element of length 0/);
  const r = await only('keyParametersEmptyElements').receive(bytes);
  assert.deepEqual(r.lenient, ['key-parameters-empty-element']);
  assert.deepEqual(r.keyParameters?.groupIds, []);
  assert.equal(r.keyParameters?.text, 'crew');
});

test('key parameters protected under another message type byte: protected by what authenticates (key-parameters-form-by-content)', async () => {
  const { bytes } = withKeyParameters((k, id) => protectKeyParametersContent(content('crew'), { dppk: k, dppkId: id, iv, messageType: 0x01 }));
  await rejects(strict().receive(bytes), ErrorNo.UnsupportedMessageType, /key parameters/);
  const r = await only('keyParametersFormByContent').receive(bytes);
  assert.deepEqual(r.lenient, ['key-parameters-form-by-content']);
  assert.equal(r.keyParameters?.format, 'protected');
  assert.equal(r.keyParameters?.text, 'crew');
  // plain content whose first byte happens to be the protected-payload type: read as plain
  const plain = Uint8Array.from(content('x'));
  plain[0] = 0x43;
  const p = withKeyParameters(() => plain);
  await rejects(strict().receive(p.bytes), ErrorNo.UnsupportedMessageType);
  const rp = await only('keyParametersFormByContent').receive(p.bytes);
  assert.deepEqual([rp.keyParameters?.format, rp.keyParameters?.keyType, rp.lenient], ['plain', 0x43, ['key-parameters-form-by-content']]);
  // the tolerance does not make a protected payload under another key readable
  const other = withKeyParameters((k, id) => protectKeyParametersContent(content(), { dppk: new Uint8Array(16), dppkId: id, iv }));
  await rejects(only('keyParametersFormByContent').receive(other.bytes), ErrorNo.AuthFailure, /do not authenticate/);
});

test('an unreadable key-parameters extension does not cost the key with key-parameters-unreadable', async () => {
  const other = withKeyParameters((k, id) => protectKeyParametersContent(content(), { dppk: new Uint8Array(16), dppkId: id, iv }));
  await rejects(strict().receive(other.bytes), ErrorNo.AuthFailure);
  const r = await only('keyParametersUnreadable').receive(other.bytes);
  assert.deepEqual(r.lenient, ['key-parameters-unreadable']);
  assert.equal(r.keyParameters, undefined);
  assert.match(r.keyParametersError!, /do not authenticate/);
  assert.equal(toHex(r.key), toHex(other.m.key));
  const noise = withKeyParameters(() => Uint8Array.of(1, 2, 3));
  const rn = await only('keyParametersUnreadable').receive(noise.bytes);
  assert.match(rn.keyParametersError!, /content of 3 bytes/);
});

test('key material with leading zero octets: refused strictly (no key opens it); normalised with key-material-leading-zeros', async () => {
  const pad = (b: Uint8Array) => Uint8Array.from([0, 0, ...b]);
  const b = sets.get(BOB)![0]!;
  const padded: McxKeySet = { ...b, rsk: pad(b.rsk), ssk: pad(b.ssk), pvt: pad(b.pvt) };
  const m = node(ALICE).sendPck({ to: BOB });
  await rejects(new McxKeyManagement({ uri: BOB, kms: KMS, keySets: [padded], clock: { now: () => T0 } }).receive(m.bytes), ErrorNo.AuthFailure, /decapsulate/);
  const bob = new McxKeyManagement({ uri: BOB, kms: { ...KMS, kpak: pad(KMS.kpak) }, keySets: [padded], clock: { now: () => T0 }, lenience: { keyMaterialLeadingZeros: true } });
  const r = await bob.receive(m.bytes);
  assert.deepEqual(r.lenient, ['key-material-leading-zeros']);
  assert.equal(toHex(r.key), toHex(m.key));
  // the SSK of 34 octets signs once normalised
  const back = bob.sendPck({ to: ALICE });
  assert.equal(toHex((await node(ALICE).receive(back.bytes)).key), toHex(back.key));
  // a value out of range is left as it is, and still fails
  const bad = new McxKeyManagement({ uri: BOB, kms: KMS, keySets: [{ ...b, rsk: Uint8Array.from([1, ...b.rsk]) }], clock: { now: () => T0 }, lenience: 'deployed' });
  await rejects(bad.receive(node(ALICE).sendPck({ to: BOB }).bytes), ErrorNo.AuthFailure);
});

test("lenience 'deployed': every tolerance; a message with several deviations goes through and each is reported", async () => {
  assert.deepEqual(Object.values(MCX_TOLERANCES).sort(), Object.keys(DEPLOYED_LENIENCE).sort());
  const m = node(ALICE).sendPck({ to: BOB, signatureCoverage: 'excluding-sign-header' });
  const fixed = content().subarray(0, 15);
  const many = resign(m.bytes, {
    prfFunc: 0x7f,
    signOver: (c) => c.subarray(0, c.length - 2),
    payloads: (ps) => {
      const ext = { type: 21, extType: GeneralExtType.KeyParameters3gpp, data: protectKeyParametersContent(fixed, { dppk: m.key, dppkId: m.csbId, iv, messageType: 0 }) } as Payload;
      const rest = ps.filter((p) => p.type !== PayloadType.GeneralExt);
      const at = rest.findIndex((p) => p.type === PayloadType.Sakke);
      return [...rest.slice(0, at), ext, ...rest.slice(at)];
    },
  });
  await rejects(strict().receive(many), ErrorNo.InvalidPrf);
  const r = await node(BOB, { lenience: 'deployed' }).receive(many);
  assert.deepEqual(r.lenient.sort(), ['general-extension-before-sakke', 'key-parameters-form-by-content', 'key-parameters-without-text', 'signature-without-sign-header', 'unregistered-prf']);
  assert.equal(toHex(r.key), toHex(m.key));
  // a conforming message reports nothing
  assert.deepEqual((await node(BOB, { lenience: 'deployed' }).receive(node(ALICE).sendPck({ to: BOB }).bytes)).lenient, []);
});

test("'deployed' on the third-party vectors: the PCK message's SP beside the Empty map is reported", async () => {
  const fx = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'mcx', 'streamwide.json'), 'utf8'));
  const vkms: McxKms = { uri: fx.kms.uri, zS: hex(fx.kms.pubEncKey), kpak: hex(fx.kms.pubAuthKey), keyPeriod: fx.kms.userKeyPeriod, keyPeriodOffset: fx.kms.userKeyOffset };
  const bob = fx.users.bob;
  const r = await new McxKeyManagement({
    uri: bob.uri, kms: vkms, clock: { now: () => ntpToMs(hex(fx.time)) + 1000 }, lenience: 'deployed',
    keySets: [{ keyPeriodNo: fx.keyPeriodNo, uid: hex(bob.uid), rsk: hex(bob.rsk), ssk: hex(bob.ssk), pvt: hex(bob.pvt) }],
  }).receive(b64(fx.messages.pck.base64));
  assert.deepEqual(r.lenient, ['sp-with-empty-map']);
  assert.equal(toHex(r.key), 'b4c96b703acd5c1bf7d4cc45068d9965');
});

test("negative cases under 'deployed': SAKKE data failing the RFC 6508 check, a key set that does not validate, a signature over other bytes", async () => {
  const deployed = () => node(BOB, { lenience: 'deployed' });
  const m = node(ALICE).sendPck({ to: BOB });
  // RFC 6508 §6.2.2: the SAKKE data changed (and signed again): the check of r fails
  const sakke = resign(m.bytes, { payloads: (ps) => ps.map((p) => {
    if (p.type !== PayloadType.Sakke) return p;
    const data = Uint8Array.from(p.data);
    data[data.length - 1]! ^= 1;
    return { ...p, data };
  }) });
  await rejects(deployed().receive(sakke), ErrorNo.AuthFailure, /decapsulate/);
  // Bob's RSK issued for another identifier: RFC 6508 §6.1.2 validation fails, no key
  const b = sets.get(BOB)![0]!;
  const wrongRsk = new McxKeyManagement({ uri: BOB, kms: KMS, clock: { now: () => T0 }, lenience: 'deployed', keySets: [{ ...b, rsk: sets.get(ALICE)![0]!.rsk }] });
  await rejects(wrongRsk.receive(m.bytes), ErrorNo.AuthFailure);
  // ECCSI over other bytes (the message with one byte changed)
  const other = resign(m.bytes, { signOver: (c) => { const x = Uint8Array.from(c); x[20]! ^= 1; return x; } });
  await rejects(deployed().receive(other), ErrorNo.AuthFailure, /signature/);
});

test('SIGN with another RFC 6509 / RFC 3830 signature type (RSA PKCS#1, RSA PSS): a clear refusal, under every lenience', async () => {
  const m = node(ALICE).sendPck({ to: BOB });
  for (const sType of [0, 1, 3]) {
    const other = resign(m.bytes, { payloads: (ps) => ps.map((p) => (p.type === PayloadType.Sign ? { ...p, sType } : p)) });
    await rejects(node(BOB, { lenience: 'deployed' }).receive(other), ErrorNo.UnsupportedMessageType, new RegExp(`S type ${sType} \\(only ECCSI is supported\\)`));
  }
});
