// The KMS service on its embedded store: SQLite (a temp file, WAL), and the store's own duties:
// migrations, the master key check, sealed secrets, TPK rotation, backup and restore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/kms/store.js';
import { SecretBox, MasterKeyError } from '../../src/kms/secrets.js';
import { KmsService } from '../../src/kms/service.js';
import { KMS_ID, MASTER, provision } from './harness.js';
import { scenarios } from './scenarios.js';

const dir = mkdtempSync(join(tmpdir(), 'mikey-kms-sqlite-'));
let n = 0;
const fresh = () => openStore(join(dir, `kms${n++}.db`));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('KMS service on SQLite', async (t) => {
  await scenarios(t, fresh);
});

test('SQLite store: created on first start, migrations versioned and applied once, secrets sealed, wrong master key refused', async () => {
  const path = join(dir, 'store.db');
  const s = await openStore(path);
  assert.equal(await s.migrate(), 3);
  assert.equal(await s.migrate(), 3, 'a second run applies nothing');
  const box = new SecretBox(MASTER);
  await provision(s, box);
  const svc = await KmsService.open({ store: s, box, identity: KMS_ID });
  await svc.directory.currentTpk(Date.now());
  await svc.close();
  // no key in the clear in the file
  const raw = readFileSync(path);
  const alicePsk = Buffer.from(new Uint8Array(16).map((_, i) => (i * 11 + 1) & 0xff));
  assert.equal(raw.indexOf(alicePsk), -1, 'the pre-shared key is not stored in the clear');
  const s2 = await openStore(path);
  await assert.rejects(KmsService.open({ store: s2, box: new SecretBox(new Uint8Array(32).fill(9)), identity: KMS_ID }), MasterKeyError);
  await s2.close();
});

test('TPK rotation: a new key after the interval, old tickets still resolvable while the old key is kept, then refused', async () => {
  const s = await fresh();
  const box = new SecretBox(MASTER);
  await provision(s, box);
  let now = Date.UTC(2027, 5, 1);
  const clock = { now: () => now };
  const svc = await KmsService.open({ store: s, box, identity: KMS_ID, clock, tpkRotateMs: 3600_000, tpkKeepMs: 7200_000, maxSkewMs: 60_000 });
  const k1 = await svc.directory.currentTpk(now);
  now += 3_000_000;
  assert.deepEqual((await svc.directory.currentTpk(now)).id, k1.id);
  now += 700_000;
  const k2 = await svc.directory.currentTpk(now);
  assert.notDeepEqual(k2.id, k1.id);
  assert.ok(await svc.directory.tpk(k1.id), 'the old key is kept');
  now += 3 * 3600_000;
  assert.equal(await svc.directory.tpk(k1.id), undefined, 'past its keeping time');
  await svc.housekeeping();
  assert.equal((await s.tpks()).some((t) => Buffer.compare(t.id, Buffer.from(k1.id)) === 0), false, 'and pruned');
  await svc.close();
});
