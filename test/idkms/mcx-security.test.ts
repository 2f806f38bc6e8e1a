// The KMS security extension (TS 33.180 D.1): requests and responses signed with HMAC-SHA256
// under the shared InK or TrK, key material wrapped under the TrK (RFC 5649). Our client
// against our server over HTTPS, and what a tampering network or a wrong key gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyWrapError, KW_AES256, KW_AES256_PAD, unwrapKey, wrapKey } from '../../src/idkms/keywrap.js';
import { McxKmsClient, McxKmsError, httpsFetch, type KmsFetch, type McxKmsSecurity } from '../../src/idkms/mcx-client.js';
import { mcxKmsHandler, type McxKmsHandlerOptions } from '../../src/idkms/mcx-server.js';
import { McxKeyIssuer } from '../../src/idkms/mcx-issuer.js';
import { MemoryIdKmsStore } from '../../src/idkms/store.js';
import { buildKmsRequest, buildKmsResponse, parseKmsRequest, parseKmsResponse, type KmsRequestDoc, type KmsSharedKey } from '../../src/idkms/mcx-xml.js';
import { XmlSignatureError } from '../../src/idkms/xmldsig.js';
import { eccsiSign, eccsiVerify } from '../../src/crypto/eccsi.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const INK: KmsSharedKey = { id: 'ink1.kms.example.org', key: new Uint8Array(32).fill(0x11) };
const TRK: KmsSharedKey = { id: 'trk1.kms.example.org', key: new Uint8Array(32).fill(0x22) };
const ALICE = 'sip:alice@example.org';

test('key wrap: RFC 3394 §4.6 and RFC 5649 round trips; a wrong key or altered data fails the integrity check', () => {
  const kek = hex('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F');
  const wrapped = wrapKey(kek, hex('00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F'), KW_AES256);
  assert.equal(Buffer.from(wrapped).toString('hex').toUpperCase(), '28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21');
  // RSK (257), PVT (65), SSK (32) octets: RFC 5649 wraps any length
  for (const n of [257, 65, 32, 1]) {
    const k = new Uint8Array(n).map((_, i) => i * 7);
    const w = wrapKey(TRK.key, k);
    assert.equal(w.length, Math.ceil(n / 8) * 8 + 8);
    assert.deepEqual(unwrapKey(TRK.key, w, KW_AES256_PAD), k);
    assert.throws(() => unwrapKey(INK.key, w, KW_AES256_PAD), KeyWrapError);
    w[3]! ^= 1;
    assert.throws(() => unwrapKey(TRK.key, w, KW_AES256_PAD), KeyWrapError);
  }
  assert.throws(() => wrapKey(TRK.key, new Uint8Array(65), KW_AES256), /cannot wrap 65/);
  assert.throws(() => unwrapKey(TRK.key, new Uint8Array(24), 'urn:other'), /not supported/);
});

test('documents: a signed request and a signed response with wrapped keys read back; altered, re-keyed or unsigned ones do not', () => {
  const req: KmsRequestDoc = { userUri: ALICE, kmsUri: 'kms.example.org', time: new Date(Date.UTC(2026, 11, 3)), clientReqUrl: 'https://kms.example.org/keymanagement/identity/v1/keyprov' };
  const signedReq = buildKmsRequest(req, INK);
  assert.match(signedReq, /<SignedKmsRequest/);
  const keys = { signatureKey: (n: string) => (n === INK.id ? INK.key : undefined) };
  assert.equal(parseKmsRequest(signedReq, keys).signedWith, INK.id);
  assert.throws(() => parseKmsRequest(signedReq.replace(ALICE, 'sip:eve@example.org'), keys), (e: unknown) => e instanceof XmlSignatureError && /digest mismatch/.test(e.message));
  assert.throws(() => parseKmsRequest(signedReq, {}), /unknown key ink1/);
  const keySet = { version: '1.1.0', kmsUri: 'kms.example.org', userUri: ALICE, userId: new Uint8Array(32).fill(1), keyPeriodNo: 7, userDecryptKey: new Uint8Array(257).fill(4), userSigningKeySsk: new Uint8Array(32).fill(9), userPubTokenPvt: new Uint8Array(65).fill(4) };
  const resp = buildKmsResponse({ userUri: ALICE, kmsUri: 'kms.example.org', time: req.time, clientReqUrl: req.clientReqUrl, message: { kind: 'keyprov', version: '1.0.0', keySets: [keySet] } }, { signer: INK, trk: TRK });
  assert.match(resp, /xsi:type="EncKeyContentType"/);
  assert.doesNotMatch(resp, /0909090909/i, 'no key in the clear');
  const both = { signatureKey: (n: string) => (n === INK.id ? INK.key : undefined), transportKey: (n: string) => (n === TRK.id ? TRK.key : undefined) };
  const read = parseKmsResponse(resp, both);
  assert.equal(read.signedWith, INK.id);
  const ks = read.message?.kind === 'keyprov' ? read.message.keySets[0]! : assert.fail();
  assert.equal(ks.encryptedWith, TRK.id);
  assert.deepEqual([ks.userDecryptKey, ks.userSigningKeySsk, ks.userPubTokenPvt], [keySet.userDecryptKey, keySet.userSigningKeySsk, keySet.userPubTokenPvt]);
  assert.throws(() => parseKmsResponse(resp, { ...both, transportKey: () => new Uint8Array(32).fill(0x23) }), /does not unwrap/);
  assert.throws(() => parseKmsResponse(resp, { signatureKey: both.signatureKey }), /encrypted keys under transport key trk1/);
  assert.throws(() => parseKmsResponse(resp.replace(/<SignatureValue>[^<]{4}/, '<SignatureValue>AAAA'), both), /signature value mismatch/);
});

// ---- our client and our server ----

const dir = mkdtempSync(join(tmpdir(), 'mikey-kmssec-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const tls = (() => {
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
})();

let issuer: McxKeyIssuer | undefined;
async function withKms(security: McxKmsHandlerOptions['security'], run: (base: string, seen: KmsRequestDoc[], refused: string[]) => Promise<void>): Promise<void> {
  issuer ??= await McxKeyIssuer.open({ store: new MemoryIdKmsStore(), masterKey: new Uint8Array(32).fill(5), kmsUri: 'kms.example.org', keyPeriod: 86_400 });
  const seen: KmsRequestDoc[] = [];
  const refused: string[] = [];
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, mcxKmsHandler({
    issuer, security, authenticate: () => ALICE, redirect: (_u, d) => (seen.push(d), undefined), onRefused: (s, why) => refused.push(`${s} ${why}`),
  }));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    await run(`https://127.0.0.1:${(server.address() as { port: number }).port}/keymanagement/identity/v1`, seen, refused);
  } finally {
    server.close();
  }
}

const client = (base: string, security?: McxKmsSecurity, fetch?: KmsFetch) => new McxKmsClient({ baseUrl: base, userUri: ALICE, kmsUri: 'kms.example.org', ca: tls.cert, security, fetch });
/** The real HTTPS fetch, with the response body passed through `alter` (a network in the middle). */
const altered = (alter: (body: string) => string): KmsFetch => {
  const f = httpsFetch({ ca: tls.cert });
  return async (url, init) => {
    const r = await f(url, init);
    return { ...r, body: alter(r.body) };
  };
};

test('round trip: signed requests, signed responses, key material wrapped under the TrK, keys that work', async () => {
  await withKms(() => ({ ink: INK, trk: TRK, required: true }), async (base, seen) => {
    const bodies: string[] = [];
    const c = client(base, { ink: INK, trk: TRK }, altered((b) => (bodies.push(b), b)));
    const cert = await c.init();
    const [k] = await c.keyProvision(cert);
    assert.deepEqual(seen.map((d) => d.signedWith), [INK.id, INK.id]);
    assert.match(bodies[0]!, /^<\?xml[^>]*>\n<SignedKmsResponse/);
    assert.match(bodies[1]!, /EncKeyContentType/);
    assert.ok(!bodies[1]!.includes(Buffer.from(k!.ssk).toString('hex').toUpperCase()), 'the SSK is not in the clear');
    const m = new TextEncoder().encode('signed');
    assert.ok(eccsiVerify(cert.pubAuthKey, k!.uid, m, eccsiSign(cert.pubAuthKey, k!.uid, k!.ssk, k!.pvt, m)));
    // a client with only the TrK signs with it, and is answered under it
    await client(base, { trk: TRK }).init();
    assert.equal(seen.at(-1)!.signedWith, TRK.id);
  });
});

test('refused: tampered responses, a wrong TrK, a wrong InK, unsigned or clear responses when the extension is required, unsigned requests', async () => {
  await withKms(() => ({ ink: INK, trk: TRK, required: true }), async (base, _seen, refused) => {
    const sec = { ink: INK, trk: TRK };
    await assert.rejects(client(base, sec, altered((b) => b.replace(/<SignatureValue>[^<]{4}/, '<SignatureValue>AAAA'))).init(), (e: unknown) => e instanceof McxKmsError && /signature value mismatch/.test(e.message));
    await assert.rejects(client(base, sec, altered((b) => b.replace(/<CipherValue>[^<]{4}/, '<CipherValue>AAAA'))).keyProvision(), /digest mismatch/);
    await assert.rejects(client(base, sec, altered((b) => b.replace(/<SignedKmsResponse[^>]*>|<\/SignedKmsResponse>|<Signature [\s\S]*<\/Signature>/g, '').replace(' Id="KmsResponse-', ' xmlns="urn:3gpp:ns:mcsecKMSInterface:1.0" data-id="'))).init(), /unsigned KmsResponse refused/);
    // wrong TrK (same name): the response verifies under the InK, the keys do not unwrap
    await assert.rejects(client(base, { ink: INK, trk: { id: TRK.id, key: new Uint8Array(32).fill(0x99) } }).keyProvision(), (e: unknown) => e instanceof McxKmsError && /does not unwrap/.test(e.message));
    // wrong InK: the KMS refuses the request
    await assert.rejects(client(base, { ink: { id: INK.id, key: new Uint8Array(32).fill(0x98) }, trk: TRK }).init(), (e: unknown) => e instanceof McxKmsError && e.status === 403);
    assert.ok(refused.some((r) => /^403 request signature: signature value mismatch/.test(r)), refused.join('\n'));
    // a client without the extension: unsigned requests are refused here
    await assert.rejects(client(base).init(), (e: unknown) => e instanceof McxKmsError && e.status === 403);
    assert.ok(refused.some((r) => /unsigned request/.test(r)));
  });
  // a KMS that holds no shared keys for the user cannot check a signed request: refused
  await withKms(undefined, async (base, _seen, refused) => {
    await assert.rejects(client(base, { ink: INK, trk: TRK }).init(), (e: unknown) => e instanceof McxKmsError && e.status === 403);
    assert.ok(refused.some((r) => /unknown key ink1/.test(r)));
  });
  // a KMS with only the InK signs but cannot wrap: the client that requires the extension refuses the keys
  await withKms(() => ({ ink: INK }), async (base) => {
    assert.equal((await client(base, { ink: INK, trk: TRK }).init()).kmsUri, 'kms.example.org');
    await assert.rejects(client(base, { ink: INK, trk: TRK }).keyProvision(), /key material in the clear refused/);
    assert.equal((await client(base, { ink: INK, required: false }).keyProvision()).length, 2);
  });
});
