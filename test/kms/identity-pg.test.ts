// Identity-key provisioning in `mikey kms serve` on PostgreSQL: two KMS processes starting at once
// on one database agree on one master secret and issue compatible keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { needPeer } from '../support/peer.js';
import { ibeDomainOf } from '../../src/idkms/ibe-issuer.js';
import { httpTransport, udpTransport } from '../../src/kms/server.js';
import { openStore } from '../../src/kms/store.js';
import { SecretBox } from '../../src/kms/secrets.js';
import { ALICE, BOB, MASTER, provision, psk, startKms, startPg, type PgCluster } from './harness.js';
import { exchange, fetchKeys, IDENTITY_ARGS, ibakeScenario, ibeInfo, idRows, mcxClient, mcxScenario, tlsFiles } from './identity-support.js';

let cluster: PgCluster | undefined;
let problem: string | null = null;
test.before(async () => {
  const c = await startPg();
  if (typeof c === 'string') problem = c; else cluster = c;
});
test.after(async () => { await cluster?.stop(); });

test('PostgreSQL: two KMS processes on one database issue compatible IBE keys and key sets; refusals store nothing', async (t) => {
  if (!needPeer(t, 'PostgreSQL', problem)) return;
  const url = await cluster!.createDb('kms_identity');
  const s = await openStore(url);
  await provision(s, new SecretBox(MASTER));
  await s.close();
  const tls = tlsFiles();
  // both start at once on an empty identity store: one generation each kind wins
  const [a, b] = await Promise.all([startKms(url, { node: 'A', extra: [...IDENTITY_ARGS, ...tls.args] }), startKms(url, { node: 'B', extra: [...IDENTITY_ARGS, ...tls.args] })]);
  try {
    assert.equal((await idRows(url)).secrets, 2);
    const atA = await ibakeScenario(a, tls.ca, url);
    assert.deepEqual(await ibeInfo(b, tls.ca), await ibeInfo(a, tls.ca));
    // alice's keys from A, bob's from B (over UDP): an exchange
    const domain = ibeDomainOf(await ibeInfo(b, tls.ca));
    const udp = udpTransport(b.udpPort);
    try {
      const bobAtB = await fetchKeys(udp, domain, BOB, psk(2), 'bob-phone');
      await exchange(atA.alice, bobAtB);
    } finally {
      udp.close();
    }
    const aliceAtB = await fetchKeys(httpTransport(b.httpUrl, { ca: tls.ca }), domain, ALICE, psk(1), 'alice-phone');
    await exchange(aliceAtB, atA.bob);
    // MIKEY-SAKKE: provisioned at B, the same KMS certificate and key sets as at A
    const mcx = await mcxScenario(b, tls.ca, url);
    const viaA = mcxClient(a, tls.ca, ALICE, 'alice-phone', psk(1));
    const cert = await viaA.init();
    assert.deepEqual(cert.pubEncKey, mcx.pubEncKey);
    assert.deepEqual((await viaA.keyProvision(cert)).map((k) => Buffer.from(k.ssk).toString('hex')), mcx.alice.map((k) => Buffer.from(k.ssk).toString('hex')));
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    rmSync(tls.dir, { recursive: true, force: true });
  }
});
