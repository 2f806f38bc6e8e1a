// The MIKEY-SAKKE inspector (TS 33.180 Annex E): every step with its verdict, on the third-party
// vectors (test/fixtures/mcx) and on messages this library sends, and on failing messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  McxKeyManagement, inspectSakkeMessage, uidFor, keyPeriodNumber,
  type McxKms, type McxKeySet, type SakkeInspection,
} from '../../src/profiles/mcx/index.js';
import { eccsiKmsSetup, eccsiMakeSskPvt } from '../../src/crypto/eccsi.js';
import { SakkeKmsPublicKey, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../../src/crypto/sakke.js';
import { ntpToMs } from '../../src/session/time.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const fx = JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'mcx', 'streamwide.json'), 'utf8'));
const VKMS: McxKms = { uri: fx.kms.uri, zS: hex(fx.kms.pubEncKey), kpak: hex(fx.kms.pubAuthKey), keyPeriod: fx.kms.userKeyPeriod, keyPeriodOffset: fx.kms.userKeyOffset };
const vKeys = (name: string) => {
  const u = fx.users[name];
  return { uri: u.uri, kms: VKMS, keySets: [{ keyPeriodNo: fx.keyPeriodNo, uid: hex(u.uid), rsk: hex(u.rsk), ssk: hex(u.ssk), pvt: hex(u.pvt) }] };
};
const step = (r: SakkeInspection, name: string) => {
  const s = r.steps.find((x) => x.step === name);
  assert.ok(s, `no step ${name}: ${r.steps.map((x) => x.step).join(', ')}`);
  return s;
};

test('third-party vectors: every step ok, key IDs, SRTP keys; the PCK message\'s deviation is found and named', async () => {
  const expect: Record<string, { key: string; purpose: string; keyId: string; gukId?: string; deviations: string[] }> = {
    gmk: { key: '07d1a1677ac36d8e81620484689b3c2d', purpose: 'GMK', keyId: '0df9bc39', gukId: '06a12aea', deviations: [] },
    csk: { key: 'e06e65106183547342d3e8a6ce2540a8', purpose: 'CSK', keyId: '2ddd5bf0', deviations: [] },
    pck: { key: 'b4c96b703acd5c1bf7d4cc45068d9965', purpose: 'PCK', keyId: '16992638', deviations: ['sp-with-empty-map'] },
    legacy: { key: '07d1a1677ac36d8e81620484689b3c2d', purpose: 'GMK', keyId: '0df9bc39', gukId: '048209a7', deviations: [] },
  };
  for (const [name, m] of Object.entries(fx.messages) as Array<[string, { to: string; base64: string }]>) {
    const r = await inspectSakkeMessage(b64(m.base64), vKeys(m.to));
    const e = expect[name]!;
    assert.deepEqual(r.deviations, e.deviations, name);
    assert.equal(Buffer.from(r.received!.key).toString('hex'), e.key, name);
    assert.equal(step(r, 'signature (rfc)').verdict, 'ok', name);
    assert.equal(step(r, 'signature (excluding-sign-header)').verdict, 'skipped', name);
    assert.equal(step(r, 'SAKKE').verdict, 'ok', name);
    assert.deepEqual(step(r, 'T').details?.keyPeriodNo, 236);
    const ids = step(r, 'key IDs').details!;
    assert.deepEqual([ids.purpose, ids.keyId, ids.gukId], [e.purpose, e.keyId, e.gukId], name);
    const srtp = step(r, 'SRTP').details!.sessions as Array<{ masterKey: string }>;
    assert.deepEqual(srtp.map((s) => s.masterKey), r.received!.bundle.sessions.map((s) => Buffer.from(s.keys[0]!.masterKey).toString('hex')), name);
    assert.equal(step(r, 'receive').verdict, e.deviations.length ? 'deviation' : 'ok');
  }
  const pck = await inspectSakkeMessage(b64(fx.messages.pck.base64), vKeys('bob'));
  assert.equal(step(pck, 'decode').verdict, 'fail');
  assert.match(step(pck, 'decode').reason, /SP payload with the Empty CS ID map/);
  assert.equal(step(pck, 'decode with sp-with-empty-map').verdict, 'deviation');
  assert.equal(step(pck, 'key parameters').verdict, 'ok');
  // strict receive refuses it, with its reason
  const strict = await inspectSakkeMessage(b64(fx.messages.pck.base64), vKeys('bob'), { lenience: {} });
  assert.equal(strict.received, undefined);
  assert.match(strict.error!, /Invalid SP/);
});

test('a failing message shows every failure, not only the first: another user\'s keys, a wrong claimed initiator, a late clock', async () => {
  const gmk = b64(fx.messages.gmk.base64);
  const r = await inspectSakkeMessage(gmk, vKeys('bob'));
  assert.equal(step(r, 'signature (rfc)').verdict, 'ok', 'the signature still verifies');
  assert.equal(step(r, 'key set').verdict, 'fail');
  assert.match(step(r, 'key set').reason, /UID in ID role 9/);
  assert.equal(step(r, 'receive').verdict, 'fail');
  const claimed = await inspectSakkeMessage(gmk, vKeys('alice'), { initiator: 'sip:mallory@streamwide.com' });
  assert.equal(step(claimed, 'signer').verdict, 'fail');
  assert.equal(step(claimed, 'receive').verdict, 'fail');
  const late = await inspectSakkeMessage(gmk, vKeys('alice'), { now: ntpToMs(hex(fx.time)) + 3_600_000 });
  assert.equal(step(late, 'T').verdict, 'fail');
  assert.equal(step(late, 'SAKKE').verdict, 'ok', 'the other steps still run');
  assert.match(late.error!, /Invalid TS/);
  const garbage = await inspectSakkeMessage(Uint8Array.of(1, 26, 5), vKeys('alice'));
  assert.equal(step(garbage, 'decode').verdict, 'fail');
  assert.equal(garbage.error, 'the message does not decode');
});

test('messages this library sends: group key and private call key, with the sender\'s values', async () => {
  const ekms = eccsiKmsSetup();
  const skms = sakkeKmsSetup(sakkeParamSet1);
  const KMS: McxKms = { uri: 'kms.example.org', zS: new SakkeKmsPublicKey(sakkeParamSet1, skms.zS), kpak: ekms.kpak, keyPeriod: 2592000, keyPeriodOffset: 0 };
  const T0 = Date.UTC(2027, 0, 15, 12);
  const P0 = keyPeriodNumber(T0, KMS.keyPeriod, 0);
  const issue = (uri: string): McxKeySet => {
    const uid = uidFor(uri, KMS, P0);
    const e = eccsiMakeSskPvt(ekms, uid);
    return { keyPeriodNo: P0, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, uid), ssk: e.ssk, pvt: e.pvt, hs: e.hs };
  };
  const A = 'sip:alice@example.org', B = 'sip:bob@example.org';
  const alice = new McxKeyManagement({ uri: A, kms: KMS, keySets: [issue(A)], clock: { now: () => T0 } });
  const bobKeys = { uri: B, kms: KMS, keySets: [issue(B)] };
  const d = alice.distributeGmk({ members: [B], keyParameters: { text: 'crew 7' } });
  const r = await inspectSakkeMessage(d.messages[0]!.bytes, bobKeys, { now: T0 });
  assert.deepEqual(r.deviations, []);
  assert.ok(r.steps.every((s) => s.verdict === 'ok' || (s.verdict === 'skipped' && s.step === 'signature (excluding-sign-header)')), JSON.stringify(r.steps.filter((s) => s.verdict !== 'ok')));
  assert.equal(step(r, 'key IDs').details!.keyId, d.group.gmkId.toString(16).padStart(8, '0'));
  assert.equal(step(r, 'key IDs').details!.gukId, d.messages[0]!.gukId.toString(16).padStart(8, '0'));
  assert.equal(step(r, 'key parameters').details!.text, 'crew 7');
  const sent = d.messages[0]!.bundle.sessions.map((s) => Buffer.from(s.keys[0]!.masterSalt).toString('hex'));
  assert.deepEqual((step(r, 'SRTP').details!.sessions as Array<{ masterSalt: string }>).map((s) => s.masterSalt), sent);
  const pck = alice.sendPck({ to: B, map: 'empty', signatureCoverage: 'excluding-sign-header' });
  const rp = await inspectSakkeMessage(pck.bytes, bobKeys, { now: T0 });
  assert.deepEqual(rp.deviations, ['signature-without-sign-header']);
  assert.equal(step(rp, 'signature (rfc)').verdict, 'fail');
  assert.equal(step(rp, 'signature (excluding-sign-header)').verdict, 'deviation');
  assert.equal(Buffer.from(rp.received!.key).toString('hex'), Buffer.from(pck.key).toString('hex'));
});
