// Identity keys from `mikey kms serve`: IBAKE users fetching keys over HTTP(S) and UDP, then
// running an exchange; MIKEY-SAKKE users provisioned over the XML interface; refusals.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ibeDomainOf, type IbePublicInfo } from '../../src/idkms/ibe-issuer.js';
import { McxKmsClient, McxKmsError, kmsOfCertificate, type McxUserKeys } from '../../src/idkms/mcx-client.js';
import { mcxPassword } from '../../src/kms/identity.js';
import { httpTransport, udpTransport, type Transport } from '../../src/kms/server.js';
import { openStore } from '../../src/kms/store.js';
import { SecretBox } from '../../src/kms/secrets.js';
import { uriIdentity } from '../../src/session/identity.js';
import { IbakeInitiator, IbakeResponder } from '../../src/modes/ibake/index.js';
import { IbakeKeyRing } from '../../src/modes/ibake/keyring.js';
import { IbakeKeyRequester } from '../../src/modes/ibake/keyrequest.js';
import type { IbeDomain } from '../../src/modes/ibake/profile.js';
import { McxKeyManagement } from '../../src/profiles/mcx/mikey.js';
import { srtpContexts } from '../../src/session/bundle.js';
import { MikeyErrorMessage } from '../../src/session/errors.js';
import { ErrorNo } from '../../src/wire/registry.js';
import { ALICE, BOB, CAROL, KMS_ID, MASTER, psk, type KmsProcess } from './harness.js';

export const MCX_KMS = 'kms.example.org';

/** A self-signed TLS certificate for 127.0.0.1; the serve options using it. */
export function tlsFiles(): { dir: string; ca: string; args: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-kms-tls-'));
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { dir, ca: readFileSync(join(dir, 'cert.pem'), 'utf8'), args: ['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')] };
}

export const IDENTITY_ARGS = ['--ibake', '--ibake-bits', '1024', '--mcx-kms-uri', MCX_KMS, '--mcx-key-period', '86400'];

export async function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function ibeInfo(k: KmsProcess, ca: string): Promise<IbePublicInfo> {
  const r = await get(`${k.httpUrl}ibake/params`, ca);
  assert.equal(r.status, 200);
  return JSON.parse(r.body) as IbePublicInfo;
}

/** A user's keys from the KMS (REQUEST_KEY_PSK over `t`), in a new key ring. */
export async function fetchKeys(t: Transport, domain: IbeDomain, who: string, key: Uint8Array, pskId?: string): Promise<IbakeKeyRing> {
  const req = new IbakeKeyRequester({ identities: [uriIdentity(who)], kms: uriIdentity(KMS_ID), domain, psk: key, pskId: pskId === undefined ? undefined : uriIdentity(pskId) });
  const ring = new IbakeKeyRing(domain);
  const keys = req.receiveInto(await t(req.createRequest()), ring);
  assert.equal(keys.length, 2);
  return ring;
}

/** A full IBAKE exchange: both ends end with the same SRTP keys. */
export async function exchange(a: IbakeKeyRing, b: IbakeKeyRing): Promise<void> {
  const ini = new IbakeInitiator({ idi: uriIdentity(ALICE), keys: a });
  const res = new IbakeResponder({ keys: b });
  const r1 = await res.receive(ini.createOffer({ idr: uriIdentity(BOB), sessions: [{ ssrc: 7 }] }).bytes);
  const r2 = await res.receive(ini.receiveResponse(r1.response).bytes);
  const mine = ini.receiveVerification(r2.response);
  const ctx = (x: typeof mine) => JSON.stringify(srtpContexts(x).map((c) => [c.ssrc, Buffer.from(c.masterKey).toString('hex'), Buffer.from(c.masterSalt).toString('hex')]));
  assert.equal(ctx(mine), ctx(r2.bundle!));
  assert.equal(srtpContexts(mine).length, 1);
}

/** Rows of the identity tables (read-only look at the store). */
export async function idRows(db: string): Promise<{ secrets: number; ibe: number; mcx: number; subjects: string[] }> {
  const s = await openStore(db);
  try {
    const b = await s.dump(new SecretBox(MASTER).fingerprint());
    const issued = b.tables['id_issued'] ?? [];
    return {
      secrets: (b.tables['id_secrets'] ?? []).length, ibe: issued.filter((r) => r['kind'] === 'ibe').length, mcx: issued.filter((r) => r['kind'] === 'mcx').length,
      subjects: [...new Set(issued.map((r) => String(r['subject'])))].sort(),
    };
  } finally {
    await s.close();
  }
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export function mcxClient(k: KmsProcess, ca: string, userUri: string, device: string, key: Uint8Array): McxKmsClient {
  return new McxKmsClient({ baseUrl: `${k.httpUrl}keymanagement/identity/v1`, userUri, kmsUri: MCX_KMS, ca, headers: { authorization: basic(device, mcxPassword(key)) } });
}

/** IBAKE keys over HTTPS (alice) and UDP (bob, two devices, no IDRpsk), an exchange, refusals storing nothing. */
export async function ibakeScenario(k: KmsProcess, ca: string, db: string): Promise<{ domain: IbeDomain; alice: IbakeKeyRing; bob: IbakeKeyRing }> {
  const info = await ibeInfo(k, ca);
  assert.equal(info.generations.length, 1);
  const domain = ibeDomainOf(info);
  const udp = udpTransport(k.udpPort);
  try {
    const alice = await fetchKeys(httpTransport(k.httpUrl, { ca }), domain, ALICE, psk(1), 'alice-phone');
    const bob = await fetchKeys(udp, domain, BOB, psk(3));
    await exchange(alice, bob);
    const before = await idRows(db);
    assert.equal(before.ibe, 4, 'two users, two key periods each');
    // refusals: a wrong PSK, carol's PSK for bob's identity, an unknown user
    const refused = async (t: Transport, who: string, key: Uint8Array, errorNo: number, pskId?: string) => {
      const req = new IbakeKeyRequester({ identities: [uriIdentity(who)], kms: uriIdentity(KMS_ID), domain, psk: key, pskId: pskId === undefined ? undefined : uriIdentity(pskId) });
      const answer = await t(req.createRequest());
      assert.throws(() => req.receiveResponse(answer), (e: unknown) => e instanceof MikeyErrorMessage && e.errorNos[0] === errorNo);
    };
    await refused(httpTransport(k.httpUrl, { ca }), ALICE, psk(9), ErrorNo.AuthFailure, 'alice-phone');
    await refused(udp, BOB, psk(9), ErrorNo.AuthFailure);
    // no user or device enumeration: another's device and an unknown user are answered like a wrong key
    await refused(udp, BOB, psk(4), ErrorNo.AuthFailure, 'carol-desk');
    await refused(udp, 'sip:mallory@example.org', psk(1), ErrorNo.AuthFailure);
    assert.deepEqual(await idRows(db), before, 'nothing stored for refused requests');
    return { domain, alice, bob };
  } finally {
    udp.close();
  }
}

/** MIKEY-SAKKE users provisioned over the XML interface; a message between them decrypts; refusals. */
export async function mcxScenario(k: KmsProcess, ca: string, db: string): Promise<{ alice: McxUserKeys[]; pubEncKey: Uint8Array }> {
  const a = mcxClient(k, ca, ALICE, 'alice-phone', psk(1));
  const cert = await a.init();
  const aliceKeys = await a.keyProvision(cert);
  const b = mcxClient(k, ca, BOB, 'bob-laptop', psk(3));
  const bobKeys = await b.keyProvision(await b.init());
  assert.equal(aliceKeys.length, 2);
  const kms = kmsOfCertificate(cert);
  const alice = new McxKeyManagement({ uri: ALICE, kms, keySets: aliceKeys });
  const bob = new McxKeyManagement({ uri: BOB, kms, keySets: bobKeys });
  const sent = alice.sendPck({ to: BOB });
  const got = await bob.receive(sent.bytes, { initiator: ALICE });
  assert.deepEqual(got.key, sent.key);
  const before = await idRows(db);
  assert.equal(before.mcx, 4);
  // refusals: no credentials or a wrong password (401), another user's URI (403), plain HTTP refused by the client
  const status = async (c: McxKmsClient) => {
    try { await c.keyProvision(cert); } catch (e) { assert.ok(e instanceof McxKmsError, String(e)); return e.status; }
    return 200;
  };
  assert.equal(await status(mcxClient(k, ca, ALICE, 'alice-phone', psk(9))), 401);
  assert.equal(await status(mcxClient(k, ca, CAROL, 'nobody', psk(4))), 401);
  assert.equal(await status(new McxKmsClient({ baseUrl: `${k.httpUrl}keymanagement/identity/v1`, userUri: ALICE, kmsUri: MCX_KMS, ca })), 401);
  assert.equal(await status(mcxClient(k, ca, BOB, 'carol-desk', psk(4))), 403);
  assert.deepEqual(await idRows(db), before, 'nothing stored for refused requests');
  return { alice: aliceKeys, pubEncKey: cert.pubEncKey };
}
