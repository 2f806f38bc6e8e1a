// `mikey decode` on deployed MIKEY-SAKKE messages: deviations marked (or refused with --strict),
// and opened with MCX key material (TS 33.180 KMS XML documents or JSON): the third-party
// vectors (test/fixtures/mcx) and a message this library sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McxKeyManagement, uidFor, keyPeriodNumber, type McxKms, type McxKeySet } from '../../src/profiles/mcx/index.js';
import { eccsiKmsSetup, eccsiMakeSskPvt } from '../../src/crypto/eccsi.js';
import { sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../../src/crypto/sakke.js';
import { mikey, mikeyAll, type Ran } from '../support/cli.js';

const fix = (f: string) => join(process.cwd(), 'test', 'fixtures', 'mcx', f);
const run = (...runs: string[][]) => mikeyAll(runs.map((args) => [args, { nodeArgs: process.execArgv }]));

test('a deployed message (SP beside the Empty map): decoded with the deviation marked; --strict refuses it in one line', async () => {
  const [r, json, s, ok] = await run(['decode', fix('pck.b64')], ['decode', '--json', fix('pck.b64')], ['decode', '--strict', fix('pck.b64')], ['decode', '--strict', fix('gmk.b64')]) as [Ran, Ran, Ran, Ran];
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Deviation: sp-with-empty-map/);
  const j = JSON.parse(json.stdout.trim());
  assert.deepEqual(j.deviations, ['sp-with-empty-map']);
  assert.equal(s.status, 1);
  assert.match(s.stderr, /^mikey decode: .*SP payload with the Empty CS ID map.*Invalid SP \(9\)\n$/);
  assert.equal(ok.status, 0, ok.stderr);
  assert.doesNotMatch(ok.stdout, /Deviation/);
});

test('--keys JSON and --user: every step, the opened key; --strict fails on the deviation', async () => {
  const [r, s, wrong, who] = await run(
    ['decode', '--keys', fix('streamwide.json'), '--user', 'sip:bob@streamwide.com', fix('pck.b64')],
    ['decode', '--strict', '--keys', fix('streamwide.json'), '--user', 'sip:bob@streamwide.com', fix('pck.b64')],
    ['decode', '--keys', fix('streamwide.json'), '--user', 'sip:alice@streamwide.com', fix('pck.b64')],
    ['decode', '--keys', fix('streamwide.json'), fix('pck.b64')],
  ) as [Ran, Ran, Ran, Ran];
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\[DEVIATION\] decode with sp-with-empty-map/);
  assert.match(r.stdout, /\[ok\] SAKKE: decapsulates with the key set of period 236; RFC 6508/);
  assert.match(r.stdout, /Opened: PCK b4c96b703acd5c1bf7d4cc45068d9965, key ID 16992638/);
  assert.match(r.stdout, /crypto session 1: .*MKI 16992638/);
  assert.equal(s.status, 1);
  assert.match(s.stdout, /Not opened: Invalid SP/);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stdout, /\[FAIL\] key set: no key set of ours matches/);
  assert.equal(who.status, 2, 'usage');
  assert.match(who.stderr, /--user: one of/);
});

test('--keys with the TS 33.180 KMS documents (KmsInit and KmsKeyProv XML), --json', async () => {
  const [r, noCert] = await run(['decode', '--json', '--keys', fix('kms-init.xml'), '--keys', fix('kms-keyprov-alice.xml'), fix('gmk.b64')], ['decode', '--keys', fix('kms-keyprov-alice.xml'), fix('gmk.b64')]) as [Ran, Ran];
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim());
  assert.deepEqual([j.opened.purpose, j.opened.key, j.opened.keyId, j.opened.gukId], ['GMK', '07d1a1677ac36d8e81620484689b3c2d', 0x0df9bc39, 0x06a12aea]);
  assert.deepEqual(j.deviations, []);
  assert.equal(noCert.status, 1);
  assert.match(noCert.stderr, /no KMS certificate for kms.mydev.streamwide.com/);
});

test('a message this library sends, opened by the CLI with a JSON key file', async () => {
  const ekms = eccsiKmsSetup();
  const skms = sakkeKmsSetup(sakkeParamSet1);
  const KMS: McxKms = { uri: 'kms.example.org', zS: skms.zS, kpak: ekms.kpak, keyPeriod: 2592000, keyPeriodOffset: 0 };
  const T0 = Date.UTC(2027, 0, 15, 12);
  const P0 = keyPeriodNumber(T0, KMS.keyPeriod, 0);
  const issue = (uri: string): McxKeySet => {
    const uid = uidFor(uri, KMS, P0);
    const e = eccsiMakeSskPvt(ekms, uid);
    return { keyPeriodNo: P0, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, uid), ssk: e.ssk, pvt: e.pvt, hs: e.hs };
  };
  const A = 'sip:alice@example.org', B = 'sip:bob@example.org';
  const bob = issue(B);
  const m = new McxKeyManagement({ uri: A, kms: KMS, keySets: [issue(A)], clock: { now: () => T0 } }).sendCsk({ to: B, keyParameters: { text: 'server' } });
  const h = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'mikey-mcx-'));
  writeFileSync(join(dir, 'keys.json'), JSON.stringify({
    kms: { uri: KMS.uri, pubEncKey: h(skms.zS), pubAuthKey: h(ekms.kpak), userKeyPeriod: KMS.keyPeriod, userKeyOffset: 0 },
    users: { bob: { uri: B, keyPeriodNo: P0, rsk: h(bob.rsk), ssk: h(bob.ssk), pvt: h(bob.pvt) } },
  }));
  const [r, late] = await run(['decode', '--keys', join(dir, 'keys.json'), '--now', new Date(T0).toISOString(), h(m.bytes)], ['decode', '--keys', join(dir, 'keys.json'), '--now', new Date(T0 + 3_600_000).toISOString(), h(m.bytes)]) as [Ran, Ran];
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`Opened: CSK ${h(m.key)}, key ID ${m.keyId.toString(16).padStart(8, '0')}`));
  assert.match(r.stdout, /text: server/);
  assert.match(r.stdout, /Deviations: none/);
  assert.equal(late.status, 1);
  assert.match(late.stdout, /\[FAIL\] T: skew 3600000 ms/);
});

test('decode --help describes the MCX options', async () => {
  const r = await mikey(['decode', '--help']);
  assert.equal(r.status, 0);
  for (const o of ['--strict', '--keys FILE', '--user URI', '--initiator URI', '--now TIME']) assert.ok(r.stdout.includes(o), o);
});
