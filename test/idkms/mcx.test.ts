// The 3GPP KMS interface (TS 33.180 Annex D): strict XML documents, third-party KMS values in
// hand-written documents (keys validated, then used on a third-party MIKEY-SAKKE message), and our
// client against our server over HTTPS on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKmsRequest, buildKmsResponse, parseKmsRequest, parseKmsResponse, type KmsResponseDoc } from '../../src/idkms/mcx-xml.js';
import { McxKmsClient, McxKmsError, type KmsFetch } from '../../src/idkms/mcx-client.js';
import { mcxKmsHandler } from '../../src/idkms/mcx-server.js';
import { McxKeyIssuer } from '../../src/idkms/mcx-issuer.js';
import { MemoryIdKmsStore } from '../../src/idkms/store.js';
import { parseXml, XmlError } from '../../src/idkms/xml.js';
import { eccsiSign, eccsiVerify } from '../../src/crypto/eccsi.js';
import { sakkeDecapsulate, sakkeEncapsulate, sakkeParamSet1 } from '../../src/crypto/sakke.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { SW_KMS, SW_PCK, SW_PCK_MESSAGE, SW_USERS } from './streamwide-values.js';

const BASE = 'https://kms.mydev.streamwide.com/keymanagement/identity/v1';

// ---- documents written by hand (not by our builder) around the third-party values ----

function swInit(user: string, url: string, over: { pubEncKey?: string } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- KMS certificate of the third-party vectors -->
<KmsResponse xmlns="urn:3gpp:ns:mcsecKMSInterface:1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Version="1.0.0">
  <UserUri>${user}</UserUri>
  <KmsUri>${SW_KMS.kmsUri}</KmsUri>
  <Time>2026-11-27T12:00:00</Time>
  <KmsId>KMSProvAuth</KmsId>
  <ClientReqUrl>${url}</ClientReqUrl>
  <KmsMessage>
    <KmsInit Version="1.0.0">
      <KmsCertificate Version="1.1.0" Role="Root">
        <CertUri>cert1.${SW_KMS.kmsUri}</CertUri>
        <KmsUri>${SW_KMS.kmsUri}</KmsUri>
        <Issuer>www.streamwide.com</Issuer>
        <ValidFrom>2000-01-01T00:00:00</ValidFrom>
        <ValidTo>2100-12-31T23:59:59</ValidTo>
        <Revoked>false</Revoked>
        <UserIdFormat>${SW_KMS.userIdFormat}</UserIdFormat>
        <UserKeyPeriod>${SW_KMS.userKeyPeriod}</UserKeyPeriod>
        <UserKeyOffset>${SW_KMS.userKeyOffset}</UserKeyOffset>
        <PubEncKey>${over.pubEncKey ?? SW_KMS.pubEncKey}</PubEncKey>
        <PubAuthKey>${SW_KMS.pubAuthKey.toUpperCase()}</PubAuthKey>
        <KmsDomainList><KmsDomain>streamwide.com</KmsDomain></KmsDomainList>
      </KmsCertificate>
    </KmsInit>
  </KmsMessage>
</KmsResponse>`;
}

/** Key provisioning, with a prefixed namespace (k:) and an extension element of another namespace. */
function swKeyProv(u: (typeof SW_USERS)[number], url: string, over: Partial<Record<'rsk' | 'ssk' | 'userId' | 'type', string>> = {}): string {
  const key = (name: string, v: string) => `<k:${name} x:type="${over.type ?? 'KeyContentType'}">${v}</k:${name}>`;
  return `<?xml version='1.0' encoding='utf-8'?>
<k:KmsResponse xmlns:k="urn:3gpp:ns:mcsecKMSInterface:1.0" xmlns:x="http://www.w3.org/2001/XMLSchema-instance" Version="1.0.0"><k:UserUri>${u.userUri}</k:UserUri><k:KmsUri>${SW_KMS.kmsUri}</k:KmsUri><k:Time>2026-11-27T12:00:00Z</k:Time><k:ClientReqUrl>${url}</k:ClientReqUrl><k:KmsMessage><k:KmsKeyProv Version="1.0.0"><k:KmsKeySet Version="1.1.0">
<k:KmsUri>${SW_KMS.kmsUri}</k:KmsUri><k:CertUri>cert1.${SW_KMS.kmsUri}</k:CertUri><k:Issuer>www.streamwide.com</k:Issuer><k:UserUri>${u.userUri}</k:UserUri>
<k:UserID>${over.userId ?? u.userId}</k:UserID><k:ValidFrom>2026-01-01T00:00:00</k:ValidFrom><k:ValidTo>2026-12-31T23:59:59</k:ValidTo>
<k:KeyPeriodNo>${u.keyPeriodNo}</k:KeyPeriodNo><k:Revoked>false</k:Revoked>
${key('UserDecryptKey', over.rsk ?? u.rsk)}
${key('UserSigningKeySSK', over.ssk ?? u.ssk)}
${key('UserPubTokenPVT', u.pvt)}
<vendor:Note xmlns:vendor="urn:example:vendor">ignored extension</vendor:Note>
</k:KmsKeySet></k:KmsKeyProv></k:KmsMessage></k:KmsResponse>`;
}

function fetchOf(docs: (url: string) => string, seen: string[] = []): KmsFetch {
  return async (url, init) => {
    seen.push(init.body);
    return { status: 200, body: docs(url) };
  };
}

test('third-party KMS values in KmsInit/KmsKeyProv documents: parsed, every key set validates (UID, RSK, SSK/PVT)', async () => {
  for (const u of SW_USERS) {
    const seen: string[] = [];
    const client = new McxKmsClient({ baseUrl: BASE, userUri: u.userUri, kmsUri: SW_KMS.kmsUri, fetch: fetchOf((url) => (url.endsWith('/init') ? swInit(u.userUri, url) : swKeyProv(u, url)), seen) });
    const cert = await client.init();
    assert.equal(cert.userKeyPeriod, 16777215);
    assert.deepEqual(cert.domainList, ['streamwide.com']);
    const [k] = await client.keyProvision(cert);
    assert.equal(k!.keyPeriodNo, 236);
    assert.equal(Buffer.from(k!.uid).toString('hex'), u.userId);
    // what the client sent: a KmsRequest for this user and KMS
    const req = parseKmsRequest(seen[0]!);
    assert.deepEqual([req.userUri, req.kmsUri, req.clientReqUrl], [u.userUri, SW_KMS.kmsUri, `${BASE}/init`]);
  }
});

test('the provisioned third-party keys open and check a third-party MIKEY-SAKKE message (PCK, alice to bob)', async () => {
  const keys = async (u: (typeof SW_USERS)[number]) => {
    const client = new McxKmsClient({ baseUrl: BASE, userUri: u.userUri, kmsUri: SW_KMS.kmsUri, fetch: fetchOf((url) => (url.endsWith('/init') ? swInit(u.userUri, url) : swKeyProv(u, url))) });
    const cert = await client.init();
    return { cert, k: (await client.keyProvision(cert))[0]! };
  };
  const bob = await keys(SW_USERS[3]!);
  const alice = await keys(SW_USERS[1]!);
  const bytes = new Uint8Array(Buffer.from(SW_PCK_MESSAGE, 'base64'));
  // the message carries an SP payload with the Empty map, which our codec refuses (RFC 4563 §5):
  // the SAKKE payload (Parameter Set 1, ID scheme 2, 273 octets) and the 129-octet ECCSI
  // signature are found by their headers
  assert.throws(() => decodeMessage(bytes), /Empty CS ID map/);
  const at = Buffer.from(bytes).indexOf(Buffer.from([0x01, 0x02, 0x01, 0x11]));
  assert.ok(at > 0);
  const sakke = bytes.subarray(at + 4, at + 4 + 273);
  assert.equal(Buffer.from(sakkeDecapsulate(sakkeParamSet1, bob.cert.pubEncKey, bob.k.uid, bob.k.rsk, sakke)).toString('hex'), SW_PCK);
  assert.deepEqual([...bytes.subarray(bytes.length - 131, bytes.length - 129)], [0x20, 0x81], 'SIGN: S type 2, length 129');
  assert.ok(eccsiVerify(alice.cert.pubAuthKey, alice.k.uid, bytes.subarray(0, bytes.length - 129), bytes.subarray(bytes.length - 129)));
});

test('altered third-party documents are refused: RSK, SSK, UserID, PubEncKey, encrypted keys', async () => {
  const u = SW_USERS[1]!;
  const flip = (h: string, at: number) => h.slice(0, at) + (h[at] === '0' ? '1' : '0') + h.slice(at + 1);
  const cases: Array<[Partial<Record<'rsk' | 'ssk' | 'userId' | 'type', string>>, RegExp]> = [
    [{ rsk: flip(u.rsk, 100) }, /RSK/],
    [{ ssk: flip(u.ssk, 10) }, /SSK/],
    [{ userId: flip(u.userId, 5) }, /UID/],
    [{ type: 'EncKeyContentType' }, /encrypted keys/],
  ];
  for (const [over, why] of cases) {
    const client = new McxKmsClient({ baseUrl: BASE, userUri: u.userUri, kmsUri: SW_KMS.kmsUri, fetch: fetchOf((url) => (url.endsWith('/init') ? swInit(u.userUri, url) : swKeyProv(u, url, over))) });
    await assert.rejects(client.keyProvision(), why);
  }
  const badZ = new McxKmsClient({ baseUrl: BASE, userUri: u.userUri, kmsUri: SW_KMS.kmsUri, fetch: fetchOf((url) => swInit(u.userUri, url, { pubEncKey: flip(SW_KMS.pubEncKey, 40) })) });
  await assert.rejects(badZ.init(), /PubEncKey/);
  // a response for another user, or to another URL
  const other = new McxKmsClient({ baseUrl: BASE, userUri: u.userUri, kmsUri: SW_KMS.kmsUri, fetch: fetchOf((url) => swInit('sip:eve@streamwide.com', url)) });
  await assert.rejects(other.init(), /another user/);
  const moved = new McxKmsClient({ baseUrl: BASE, userUri: u.userUri, kmsUri: SW_KMS.kmsUri, fetch: fetchOf(() => swInit(u.userUri, `${BASE}/elsewhere`)) });
  await assert.rejects(moved.init(), /another request URL/);
});

test('the XML reader is strict', () => {
  const ok = swInit('sip:a@b', `${BASE}/init`);
  assert.equal(parseKmsResponse(ok).message?.kind, 'init');
  const refused: Array<[string, RegExp]> = [
    [`<!DOCTYPE x [<!ENTITY e "boom">]>${ok.slice(ok.indexOf('<KmsResponse'))}`, /DTD/],
    [ok.replace('<UserUri>sip:a@b</UserUri>\n  <KmsUri>kms.mydev.streamwide.com</KmsUri>', '<KmsUri>kms.mydev.streamwide.com</KmsUri>\n  <UserUri>sip:a@b</UserUri>'), /UserUri/],
    [ok.replace('<Revoked>false</Revoked>', '<Revoked>false</Revoked><Surprise/>'), /Surprise/],
    [ok.replace('</KmsResponse>', ''), /unclosed/],
    [ok.replace('<KmsId>KMSProvAuth</KmsId>', '<KmsId>KMS&ent;</KmsId>'), /entity/],
    [ok.replace('<KmsId>KMSProvAuth</KmsId>', '<KmsId><![CDATA[x]]></KmsId>'), /CDATA/],
    [ok.replace('<PubAuthKey>', '<PubAuthKey>zz'), /hexBinary/],
    [ok.replace('<UserKeyPeriod>16777215', '<UserKeyPeriod>-1'), /integer/],
    [ok.replace('xmlns="urn:3gpp:ns:mcsecKMSInterface:1.0"', 'xmlns="urn:example:other"'), /expected <KmsResponse>/],
    [ok.replace('Version="1.0.0">', 'Version="1.0.0" Version="2">'), /duplicate attribute/],
    [`${ok}<again/>`, /after the root/],
    [ok.replace('<Time>2026-11-27T12:00:00</Time>', '<Time>yesterday</Time>'), /dateTime/],
    [ok.replace('<KmsDomainList>', '<x:KmsDomainList>').replace('</KmsDomainList>', '</x:KmsDomainList>'), /unbound prefix/],
  ];
  for (const [xml, why] of refused) assert.throws(() => parseKmsResponse(xml), (e: unknown) => e instanceof XmlError && why.test(e.message), String(why));
  // entities and character references are decoded, nothing else expands
  assert.equal(parseXml('<a t="&lt;&#x41;&#66;">x &amp; y</a>').attrs.get('t'), '<AB');
  assert.equal(parseXml('<a>x &amp; y</a>').text, 'x & y');
});

test('our builder and parser agree, KmsError included', () => {
  const doc: KmsResponseDoc = {
    userUri: 'sip:alice@example.org', kmsUri: 'kms.example.org', time: new Date(Date.UTC(2026, 10, 27, 12)), clientReqUrl: 'https://kms.example.org/keymanagement/identity/v1/keyprov',
    message: { kind: 'keyprov', version: '1.0.0', keySets: [{ version: '1.1.0', kmsUri: 'kms.example.org', userUri: 'sip:alice@example.org', userId: new Uint8Array(32).fill(1), keyPeriodNo: 7, revoked: false, userDecryptKey: Uint8Array.of(4, 1, 2), userSigningKeySsk: Uint8Array.of(9), userPubTokenPvt: Uint8Array.of(4, 3) }] },
  };
  assert.deepEqual(parseKmsResponse(buildKmsResponse(doc)), { ...doc, version: '1.0.0' });
  const err: KmsResponseDoc = { userUri: 'u', kmsUri: 'k', time: doc.time, clientReqUrl: 'https://k/x', error: { code: 403, message: 'a <tricky> & "quoted" message' } };
  assert.deepEqual(parseKmsResponse(buildKmsResponse(err)), { ...err, version: '1.0.0' });
  const req = { userUri: 'sip:a@b', kmsUri: 'k', time: doc.time, clientReqUrl: 'https://k/init', clientId: 'c1', version: '1.1.0' };
  assert.deepEqual(parseKmsRequest(buildKmsRequest(req)), req);
});

// ---- our client against our server over HTTPS ----

interface Running {
  server: Server;
  base: string;
  ca: string;
  dir: string;
  issuer: McxKeyIssuer;
  refused: Array<[number, string]>;
  clock: { t: number; now(): number };
}

async function startKms(): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-kms-'));
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const clock = { t: Date.now(), now() { return this.t; } };
  const issuer = await McxKeyIssuer.open({ store: new MemoryIdKmsStore(), masterKey: new Uint8Array(32).fill(3), kmsUri: 'kms.example.org', keyPeriod: 86_400, clock });
  const tokens = new Map([['token-alice', 'sip:alice@example.org'], ['token-bob', 'sip:bob@example.org']]);
  const refused: Array<[number, string]> = [];
  const handler = mcxKmsHandler({
    issuer, clock, onRefused: (s, why) => refused.push([s, why]),
    authenticate: (req) => tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, '')),
  });
  const ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: ca }, handler);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return { server, base: `https://127.0.0.1:${port}/keymanagement/identity/v1`, ca, dir, issuer, refused, clock };
}

test('our client and our server over HTTPS: init, key provisioning, keys that work; refusals', async () => {
  const k = await startKms();
  try {
    const client = (token: string, user = 'sip:alice@example.org', extra: object = {}) =>
      new McxKmsClient({ baseUrl: k.base, userUri: user, kmsUri: 'kms.example.org', ca: k.ca, headers: { authorization: `Bearer ${token}` }, clock: k.clock, ...extra });
    const alice = client('token-alice');
    const cert = await alice.init();
    assert.equal(cert.userKeyPeriod, 86_400);
    const keys = await alice.keyProvision(cert);
    assert.deepEqual(keys.map((x) => x.keyPeriodNo), [k.issuer.currentPeriod(), k.issuer.currentPeriod() + 1]);
    // the keys work: a SAKKE encapsulation to alice's UID opens, her ECCSI signature verifies
    const enc = sakkeEncapsulate(sakkeParamSet1, cert.pubEncKey, keys[0]!.uid);
    assert.deepEqual(sakkeDecapsulate(sakkeParamSet1, cert.pubEncKey, keys[0]!.uid, keys[0]!.rsk, enc.encapsulatedData), enc.ssv);
    const m = new TextEncoder().encode('message');
    assert.ok(eccsiVerify(cert.pubAuthKey, keys[0]!.uid, m, eccsiSign(cert.pubAuthKey, keys[0]!.uid, keys[0]!.ssk, keys[0]!.pvt, m)));
    // refusals: no token (401), a token of another user (403), no trust in the server certificate
    await assert.rejects(client('nobody').init(), (e: unknown) => e instanceof McxKmsError && e.status === 401);
    await assert.rejects(client('token-bob').init(), (e: unknown) => e instanceof McxKmsError && e.status === 403 && e.kmsErrorCode === 403);
    await assert.rejects(new McxKmsClient({ baseUrl: k.base, userUri: 'sip:alice@example.org', kmsUri: 'kms.example.org', headers: { authorization: 'Bearer token-alice' } }).init(), /self[- ]signed|unable to verify/i);
    await assert.rejects(client('token-alice', 'sip:alice@example.org', { baseUrl: k.base.replace('https:', 'http:') }).init(), /HTTPS/);
    // a request for another KMS, a stale request, other methods and paths
    await assert.rejects(new McxKmsClient({ baseUrl: k.base, userUri: 'sip:alice@example.org', kmsUri: 'kms.other.org', ca: k.ca, headers: { authorization: 'Bearer token-alice' } }).init(), (e: unknown) => e instanceof McxKmsError && e.status === 400);
    await assert.rejects(client('token-alice', 'sip:alice@example.org', { clock: { now: () => k.clock.t - 3_600_000 } }).init(), (e: unknown) => e instanceof McxKmsError && /skew/.test(e.message));
    const status = async (method: string, path: string) => (await fetchStatus(k, method, path));
    assert.equal(await status('GET', '/keymanagement/identity/v1/init'), 405);
    assert.equal(await status('POST', '/keymanagement/identity/v1/other'), 404);
    assert.ok(k.refused.some(([s]) => s === 403));
    // rotation: the next period's key set comes with the next certificate
    await k.issuer.rotate(k.issuer.currentPeriod() + 1);
    assert.equal((await alice.keyProvision(cert)).length, 1);
    k.clock.t += 86_400_000;
    const cert2 = await alice.init();
    assert.notDeepEqual(cert2.pubEncKey, cert.pubEncKey);
    await assert.rejects(alice.keyProvision(cert), /fetch that certificate first/);
    assert.equal((await alice.keyProvision(cert2)).length, 2);
  } finally {
    k.server.close();
    rmSync(k.dir, { recursive: true, force: true });
  }
});

async function fetchStatus(k: Running, method: string, path: string): Promise<number> {
  const { request } = await import('node:https');
  const u = new URL(k.base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, ca: k.ca, headers: { authorization: 'Bearer token-alice' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
