// Identity-key provisioning in `mikey kms serve` on SQLite: IBAKE keys over HTTPS and UDP, the
// MIKEY-SAKKE XML interface, refusals, and a restart keeping the master secrets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { udpTransport } from '../../src/kms/server.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ibeDomainOf } from '../../src/idkms/ibe-issuer.js';
import { httpTransport } from '../../src/kms/server.js';
import { openStore, type Backup } from '../../src/kms/store.js';
import { SecretBox } from '../../src/kms/secrets.js';
import { readFileSync } from 'node:fs';
import { IbakeKeyRequester } from '../../src/modes/ibake/keyrequest.js';
import { IbakeKeyRing } from '../../src/modes/ibake/keyring.js';
import { uriIdentity } from '../../src/session/identity.js';
import { MikeyErrorMessage } from '../../src/session/errors.js';
import { ErrorNo } from '../../src/wire/registry.js';
import { ALICE, BOB, KMS_ID, MASTER, provision, psk, startKms } from './harness.js';
import { exchange, fetchKeys, IDENTITY_ARGS, ibakeScenario, ibeInfo, idRows, mcxClient, mcxScenario, tlsFiles } from './identity-support.js';

test('SQLite: IBE keys over HTTPS and UDP, an IBAKE exchange, the XML interface, refusals; a restart keeps the master secrets', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-kms-id-'));
  const tls = tlsFiles();
  const db = join(dir, 'kms.db');
  try {
    const s = await openStore(db);
    await provision(s, new SecretBox(MASTER));
    await s.close();
    let kms = await startKms(db, { extra: [...IDENTITY_ARGS, ...tls.args] });
    let first;
    let mcx;
    try {
      // the log names the size as --ibake-bits does (RFC 5091 §5.1.2 n), and p's bits beside it
      const keys = kms.lines.find((l) => l['event'] === 'ibake-keys');
      assert.equal(keys?.['bits'], 1024);
      assert.equal(keys?.['pBits'], 512);
      first = await ibakeScenario(kms, tls.ca, db);
      mcx = await mcxScenario(kms, tls.ca, db);
      assert.equal((await idRows(db)).secrets, 2, 'one IBE and one MIKEY-SAKKE generation');
    } finally {
      await kms.stop();
    }
    kms = await startKms(db, { extra: [...IDENTITY_ARGS, ...tls.args] });
    try {
      // the same master secrets: the same public parameters; keys from before and after work together
      const info = await ibeInfo(kms, tls.ca);
      assert.equal(info.generations.length, 1);
      const domain = ibeDomainOf(info);
      const p = first.domain.paramsFor(0)!;
      const q = domain.paramsFor(0)!;
      assert.equal(q.curve.p, p.curve.p);
      assert.deepEqual(q.curve.encodePoint(q.Ppub), p.curve.encodePoint(p.Ppub));
      const alice = await fetchKeys(httpTransport(kms.httpUrl, { ca: tls.ca }), domain, ALICE, psk(1), 'alice-phone');
      await exchange(alice, first.bob);
      const a = mcxClient(kms, tls.ca, ALICE, 'alice-phone', psk(1));
      const cert = await a.init();
      assert.deepEqual(cert.pubEncKey, mcx.pubEncKey);
      const again = await a.keyProvision(cert);
      assert.deepEqual(again.map((k) => Buffer.from(k.rsk).toString('hex')), mcx.alice.map((k) => Buffer.from(k.rsk).toString('hex')), 'the stored key sets');
      assert.equal((await idRows(db)).secrets, 2);
    } finally {
      await kms.stop();
    }
    // export/import: the identity tables travel, still sealed
    const src = await openStore(db);
    const backup = JSON.parse(JSON.stringify(await src.dump(new SecretBox(MASTER).fingerprint()))) as Backup;
    const copy = await openStore(join(dir, 'copy.db'));
    await copy.migrate();
    await copy.restore(backup);
    for (const kind of ['ibe', 'mcx'] as const) assert.deepEqual(await copy.listSecrets(kind), await src.listSecrets(kind));
    const subject = `1:${Buffer.from(ALICE).toString('hex')}`;
    const period = backup.tables['id_issued']!.find((r) => r['subject'] === subject)!['period_no'] as number;
    assert.ok(await src.getIssuedKey('ibe', subject, period));
    assert.deepEqual(await copy.getIssuedKey('ibe', subject, period), await src.getIssuedKey('ibe', subject, period));
    await Promise.all([src.close(), copy.close()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(tls.dir, { recursive: true, force: true });
  }
});

const pki = (f: string) => join(process.cwd(), 'test', 'fixtures', 'pki', f);

test('SQLite: REQUEST_KEY_PKE signed with a certificate chaining to a trust anchor, the envelope to the KMS key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-kms-id-'));
  const db = join(dir, 'kms.db');
  try {
    const s = await openStore(db);
    await provision(s, new SecretBox(MASTER));
    // bob also has a registered certificate: his signed requests need not carry one
    await s.addCredential({ name: 'bob-cert', user: BOB, kind: 'cert', cert: readFileSync(pki('bob.pem'), 'utf8'), createdAt: Date.now() });
    await s.close();
    const kms = await startKms(db, { extra: ['--ibake', '--key', pki('carol.key'), '--cert', pki('carol.pem'), '--trust-anchor', pki('ca.pem')] });
    const udp = udpTransport(kms.udpPort);
    try {
      const domain = ibeDomainOf(JSON.parse(await (await fetch(`${kms.httpUrl}ibake/params`)).text()) as Parameters<typeof ibeDomainOf>[0]);
      const pke = (who: string, key: string, cert: string | undefined) => new IbakeKeyRequester({
        identities: [uriIdentity(who)], kms: uriIdentity(KMS_ID), domain, privateKey: readFileSync(pki(key), 'utf8'),
        certificate: cert && readFileSync(pki(cert), 'utf8'), kmsKey: readFileSync(pki('carol.pem'), 'utf8'), chash: true,
      });
      const rings = [];
      for (const req of [pke(ALICE, 'alice.key', 'alice.pem'), pke(BOB, 'bob.key', undefined)]) {
        const ring = new IbakeKeyRing(domain);
        assert.equal(req.receiveInto(await udp(req.createRequest()), ring).length, 2);
        rings.push(ring);
      }
      await exchange(rings[0]!, rings[1]!);
      const before = await idRows(db);
      // refused: mallory's self-signed certificate, alice's certificate for bob, bob's key behind alice's certificate
      const refused = async (req: IbakeKeyRequester, errorNo: number) => {
        const answer = await udp(req.createRequest());
        assert.throws(() => req.receiveResponse(answer), (e: unknown) => e instanceof MikeyErrorMessage && e.errorNos[0] === errorNo);
      };
      await refused(pke(ALICE, 'mallory.key', 'mallory.pem'), ErrorNo.InvalidCert);
      await refused(pke(BOB, 'alice.key', 'alice.pem'), ErrorNo.InvalidId);
      await refused(pke(ALICE, 'bob.key', 'alice.pem'), ErrorNo.AuthFailure);
      // without a certificate, only a registered one counts: alice has none, and bob's does not sign for alice's key
      await refused(pke(ALICE, 'alice.key', undefined), ErrorNo.InvalidCert);
      await refused(pke(BOB, 'alice.key', undefined), ErrorNo.AuthFailure);
      assert.deepEqual(await idRows(db), before);
    } finally {
      udp.close();
      await kms.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
