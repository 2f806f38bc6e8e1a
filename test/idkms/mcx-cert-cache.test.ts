// The KMS certificate cache (TS 33.180 D.3.4, KmsCertCache): our client fetches the other KMSs'
// certificates from our home KMS over HTTPS, keeps them within a bound, uses them only while
// valid, and a MIKEY-SAKKE message from a user of another KMS opens with the certificate it
// brings; unknown KMSs cost one fetch, not one per message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McxKmsClient, kmsOfCertificate } from '../../src/idkms/mcx-client.js';
import { McxKmsCertCache, certificateUnusable } from '../../src/idkms/mcx-cert-cache.js';
import { mcxKmsHandler } from '../../src/idkms/mcx-server.js';
import { McxKeyIssuer } from '../../src/idkms/mcx-issuer.js';
import { MemoryIdKmsStore } from '../../src/idkms/store.js';
import type { KmsCertificateDoc } from '../../src/idkms/mcx-xml.js';
import { McxKeyManagement } from '../../src/profiles/mcx/mikey.js';
import { MikeyProtocolError } from '../../src/session/errors.js';

const ALICE = 'sip:alice@a.example.org';
const BOB = 'sip:bob@b.example.org';

test('certificate validity: revoked, not yet valid, expired', () => {
  const c = { validFrom: new Date(1000), validTo: new Date(2000) } as KmsCertificateDoc;
  assert.equal(certificateUnusable(c, 1500), undefined);
  assert.match(certificateUnusable(c, 999)!, /not valid before/);
  assert.match(certificateUnusable(c, 2000)!, /expired/);
  assert.equal(certificateUnusable({ ...c, revoked: true }, 1500), 'revoked');
});

test('KmsCertCache between our client and our KMS; a message from another KMS\'s user opens with the cached certificate; expiry, unknown KMSs and the bound', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-certcache-'));
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const ca = readFileSync(join(dir, 'c.pem'), 'utf8');
  const a = await McxKeyIssuer.open({ store: new MemoryIdKmsStore(), masterKey: new Uint8Array(32).fill(1), kmsUri: 'kms.a.example.org', keyPeriod: 86_400 });
  const b = await McxKeyIssuer.open({ store: new MemoryIdKmsStore(), masterKey: new Uint8Array(32).fill(2), kmsUri: 'kms.b.example.org', keyPeriod: 86_400 });
  const now = Date.now();
  const bCert: KmsCertificateDoc = { ...b.certificate(), role: 'External' };
  // what our KMS A gives as its cache: B's certificate, an expired one, one that does not check, fillers
  let served: KmsCertificateDoc[] = [
    bCert,
    { ...bCert, kmsUri: 'kms.old.example.org', certUri: 'kms.old.example.org/cert/1', validTo: new Date(now - 1000) },
    { ...bCert, kmsUri: 'kms.broken.example.org', pubAuthKey: Uint8Array.of(4, 1, 2) },
    ...[1, 2, 3].map((i) => ({ ...bCert, kmsUri: `kms.f${i}.example.org` })),
  ];
  let cacheNum = 1;
  const server = createServer({ key: readFileSync(join(dir, 'k.pem')), cert: ca }, mcxKmsHandler({ issuer: a, authenticate: () => ALICE, certCache: () => ({ cacheNum, certificates: served }) }));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    const base = `https://127.0.0.1:${(server.address() as { port: number }).port}/keymanagement/identity/v1`;
    const client = new McxKmsClient({ baseUrl: base, userUri: ALICE, kmsUri: 'kms.a.example.org', ca });
    const fetched = await client.certCache();
    assert.equal(fetched.cacheNum, 1);
    assert.deepEqual(fetched.refused.map((x) => x.kmsUri), ['kms.broken.example.org']);
    assert.equal(fetched.certificates.length, 5);

    const clock = { t: now, now() { return this.t; } };
    const cache = new McxKmsCertCache({ client, clock, maxEntries: 3 });
    const home = await client.init();
    const [aliceKeys] = await client.keyProvision(home);
    const alice = new McxKeyManagement({ uri: ALICE, kms: kmsOfCertificate(home), keySets: [aliceKeys!], peerKmsLookup: (u) => cache.lookup(u) });
    const bobKeys = await b.keySet(BOB);
    const bob = new McxKeyManagement({ uri: BOB, kms: kmsOfCertificate(b.certificate()), keySets: [bobKeys], peerKms: [kmsOfCertificate(home)] });

    // Bob (KMS B) to Alice (KMS A): B is unknown to Alice until the cache brings it, fetched once
    const m1 = bob.sendPck({ to: ALICE, toKms: 'kms.a.example.org' });
    const r1 = await alice.receive(m1.bytes);
    assert.deepEqual(r1.key, m1.key);
    assert.equal(cache.fetches, 1);
    const m2 = bob.sendPck({ to: ALICE, toKms: 'kms.a.example.org' });
    assert.deepEqual((await alice.receive(m2.bytes)).key, m2.key);
    assert.equal(cache.fetches, 1, 'the second message uses the cache');

    // an unknown KMS: one fetch, then no more within minRefreshMs however often it is named
    await assert.rejects(cache.certificate('kms.nowhere.example.org'), /not in the home KMS's certificate cache/);
    assert.equal(cache.fetches, 1);
    clock.t += 61_000;
    await assert.rejects(cache.certificate('kms.nowhere.example.org'), /not in/);
    await assert.rejects(cache.certificate('kms.nowhere.example.org'), /not in/);
    assert.equal(cache.fetches, 2);
    assert.equal(await cache.lookup('kms.nowhere.example.org'), undefined);

    // expired: refused (after a refresh that brings no newer one); a message under it opens with no key
    clock.t += 61_000;
    await assert.rejects(cache.certificate('kms.old.example.org'), /expired/);
    // the bound: 5 usable certificates served, 3 kept
    assert.ok(cache.size <= 3, `size ${cache.size}`);

    // B's certificate expires: the cache fetches again and takes the renewed one
    served = [{ ...bCert, validTo: new Date(clock.t + 10_000) }];
    clock.t += 61_000;
    await cache.refresh();
    const before = cache.fetches;
    served = [{ ...bCert, validTo: new Date(clock.t + 86_400_000) }];
    cacheNum = 2;
    clock.t += 61_000;
    assert.ok((await cache.certificate('kms.b.example.org')).validTo!.getTime() > clock.t);
    assert.equal(cache.fetches, before + 1);
    assert.equal(cache.cacheNum, 2);

    // a KMS the cache cannot vouch for: Bob's message has no signer Alice can check
    const carol = new McxKeyManagement({ uri: BOB, kms: { ...kmsOfCertificate(b.certificate()), uri: 'kms.nowhere.example.org' }, keySets: [bobKeys], peerKms: [kmsOfCertificate(home)] });
    clock.t += 61_000;
    await assert.rejects(alice.receive(carol.sendPck({ to: ALICE, toKms: 'kms.a.example.org' }).bytes), (e: unknown) => e instanceof MikeyProtocolError && e.errorNo === 0);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
