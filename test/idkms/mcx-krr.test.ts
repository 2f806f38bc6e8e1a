// KMS Redirect Responses (TS 33.180 D.4): canonical XML and the ECDSA signature profile, KRRs
// nested by each entity that narrows them, and our client following our server's redirects over
// HTTPS, with the hostile cases (unsigned, wrong signer, loops, depth, plain http, not allowed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalize, parseXml, XmlError } from '../../src/idkms/xml.js';
import { buildKrr, krrChain, parseKrr, verifyKrr, KrrError, KRR_NS } from '../../src/idkms/mcx-krr.js';
import { buildKmsResponse, parseKmsResponse, type KmsRequestDoc } from '../../src/idkms/mcx-xml.js';
import { McxKmsClient, McxKmsError, type KmsFetch, type McxKmsRedirectOptions } from '../../src/idkms/mcx-client.js';
import { mcxKmsHandler } from '../../src/idkms/mcx-server.js';
import { McxKeyIssuer } from '../../src/idkms/mcx-issuer.js';
import { MemoryIdKmsStore } from '../../src/idkms/store.js';

const dir = mkdtempSync(join(tmpdir(), 'mikey-krr-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** A P-256 key and self-signed certificate from openssl. */
function ecCert(cn: string, san = `DNS:${cn}`): { privateKey: string; certificate: string } {
  const key = join(dir, `${cn}.key`);
  const crt = join(dir, `${cn}.crt`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt, '-days', '2', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { privateKey: readFileSync(key, 'utf8'), certificate: readFileSync(crt, 'utf8') };
}

const signerA = ecCert('kms-a.example.org');
const signerB = ecCert('kms-b.example.org');
const evil = ecCert('evil.example.org');
const signers = { 'kms-a.example.org': signerA.certificate, 'kms-b.example.org': signerB.certificate };
const pinned = (p: string, c: X509Certificate) => {
  const pem = (signers as Record<string, string>)[p];
  return pem !== undefined && new X509Certificate(pem).raw.equals(c.raw);
};

test('C14N 1.0: the examples of the recommendation (§3.3 start and end tags, attribute and namespace order)', () => {
  assert.equal(canonicalize(parseXml('<doc>\n   <e1   />\n   <e2   ></e2>\n   <e3   name = "elem3"   id="elem3"   />\n</doc>')),
    '<doc>\n   <e1></e1>\n   <e2></e2>\n   <e3 id="elem3" name="elem3"></e3>\n</doc>');
  const doc = parseXml(`<doc xmlns:a="http://www.w3.org"><e5 a:attr="out" b:attr="sorted" attr2="all" attr="I'm" xmlns:b="http://www.ietf.org" xmlns="http://example.org"/></doc>`);
  assert.equal(canonicalize(doc.children[0]!), `<e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" xmlns:b="http://www.ietf.org" attr="I'm" attr2="all" b:attr="sorted" a:attr="out"></e5>`);
  // character data and attribute values escaped as §2.3 says; comments dropped; no redundant declarations below
  assert.equal(canonicalize(parseXml('<a xmlns="urn:x" t="&quot;&lt;&#9;"><!-- c --><b xmlns="urn:x">1 &gt; 0 &amp; &#13;</b></a>')),
    '<a xmlns="urn:x" t="&quot;&lt;&#x9;"><b>1 &gt; 0 &amp; &#xD;</b></a>');
});

test('a KRR signs, parses and verifies; altered, unsigned and wrongly signed ones are refused', () => {
  const xml = buildKrr({ initiatorUri: 'sip:alice@example.org', receiverUri: 'sip:bob@example.org', processorUri: 'kms-a.example.org', time: new Date(Date.UTC(2026, 11, 3)), initiatorKmsUris: ['kms-b.example.org'], receiverKmsUris: ['kms.option1.example.org', 'kms.option2.example.org'] }, { kind: 'ecdsa', ...signerA });
  const k = parseKrr(xml);
  assert.equal(k.element.ns, KRR_NS);
  assert.deepEqual([k.info.initiatorUri, k.info.receiverUri, k.info.processorUri, k.info.initiatorKmsUris, k.info.receiverKmsUris],
    ['sip:alice@example.org', 'sip:bob@example.org', 'kms-a.example.org', ['kms-b.example.org'], ['kms.option1.example.org', 'kms.option2.example.org']]);
  verifyKrr(k, pinned);
  const refused = (x: string, why: RegExp) => assert.throws(() => verifyKrr(parseKrr(x), pinned), (e: unknown) => e instanceof KrrError && why.test(e.message), String(why));
  refused(xml.replace('kms-b.example.org', 'kms-evil.example.org'), /digest mismatch/);
  refused(xml.replace(/<SignatureValue>[^<]{4}/, '<SignatureValue>AAAA'), /signature value mismatch/);
  refused(buildKrr({ ...k.info, id: undefined }, undefined), /not signed/);
  refused(buildKrr({ ...k.info, id: undefined }, { kind: 'ecdsa', ...evil }), /not trusted/);
  // signed by B's trusted certificate, but claiming A as processor
  refused(buildKrr({ ...k.info, id: undefined }, { kind: 'ecdsa', ...signerB }), /not trusted/);
  refused(xml.replace('xmldsig-more#ecdsa-sha256', 'xmldsig-more#rsa-sha256'), /signature method/);
  // a second element with the signed Id (signature wrapping)
  refused(xml.replace('</KmsRedirectResponse>', `<x:Extra xmlns:x="urn:x" Id="${k.info.id}"/></KmsRedirectResponse>`), /2 elements with Id/);
});

test('KRRs nest: a second processor narrows the first one\'s list, both signatures still verify (D.4.3)', () => {
  const first = parseKrr(buildKrr({ initiatorUri: 'example:initiator@example.org', receiverUri: 'example:receiver@example.org', processorUri: 'kms-a.example.org', time: new Date(), initiatorKmsUris: [], receiverKmsUris: ['kms.option1.example.org', 'kms.option2.example.org'] }, { kind: 'ecdsa', ...signerA }));
  const second = parseKrr(buildKrr({ initiatorUri: 'example:initiator@example.org', receiverUri: 'example:receiver@example.org', processorUri: 'kms-b.example.org', time: new Date(), initiatorKmsUris: [], receiverKmsUris: ['kms.option1.example.org'] }, { kind: 'ecdsa', ...signerB }, first));
  const chain = krrChain(second);
  assert.deepEqual(chain.map((x) => x.info.processorUri), ['kms-b.example.org', 'kms-a.example.org']);
  assert.deepEqual(chain[1]!.info.receiverKmsUris, ['kms.option1.example.org', 'kms.option2.example.org']);
  verifyKrr(second, pinned);
  // carried inside a KmsResponse's KmsError and read back: still verifies
  const resp = parseKmsResponse(buildKmsResponse({ userUri: 'u', kmsUri: 'kms-b.example.org', time: new Date(), clientReqUrl: 'https://x/init', error: { code: 307, message: 'elsewhere', redirect: second } }));
  verifyKrr(resp.error!.redirect!, pinned);
  // the nested KRR altered inside the outer one: the outer digest no longer matches
  const xml = canonicalize(second.element).replace('kms.option2.example.org', 'kms.option3.example.org');
  assert.throws(() => verifyKrr(parseKrr(xml), pinned), /digest mismatch/);
  // nesting is bounded while reading
  let deep = canonicalize(first.element);
  for (let i = 0; i < 10; i++) deep = `<KmsRedirectResponse xmlns="${KRR_NS}"><KrrInfo Id="k${i}"><InitiatorUri>a</InitiatorUri><ProcessorUri>p</ProcessorUri><Time>2026-01-01T00:00:00Z</Time>${deep}</KrrInfo></KmsRedirectResponse>`;
  assert.throws(() => parseKrr(deep), (e: unknown) => e instanceof KrrError && /nested deeper/.test(e.message));
  // any document: nesting is bounded before anything walks it
  assert.throws(() => parseKrr(`${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`), (e: unknown) => e instanceof XmlError && /nested deeper than 100/.test(e.message));
});

// ---- our client, our servers, over HTTPS ----

interface Kms {
  uri: string;
  server: Server;
  base: string;
  requests: KmsRequestDoc[];
}

const tls = (() => {
  const key = join(dir, 'tls.key');
  const crt = join(dir, 'tls.crt');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { key: readFileSync(key), cert: readFileSync(crt, 'utf8') };
})();

async function startKms(uri: string, redirect: string[] | undefined, krrSigner = uri === 'kms-a.example.org' ? signerA : signerB): Promise<Kms> {
  const issuer = await McxKeyIssuer.open({ store: new MemoryIdKmsStore(), masterKey: new Uint8Array(32).fill(7), kmsUri: uri, keyPeriod: 86_400 });
  const requests: KmsRequestDoc[] = [];
  const handler = mcxKmsHandler({ issuer, authenticate: () => 'sip:alice@example.org', redirect: (_u, doc) => (requests.push(doc), redirect), krrSigner });
  const server = createServer({ key: tls.key, cert: tls.cert }, handler);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { uri, server, base: `https://127.0.0.1:${(server.address() as { port: number }).port}/keymanagement/identity/v1`, requests };
}

async function withKmss(specs: Array<[string, string[] | undefined, { privateKey: string; certificate: string }?]>, run: (k: Map<string, Kms>) => Promise<void>): Promise<void> {
  const all = new Map<string, Kms>();
  try {
    for (const [uri, to, signer] of specs) all.set(uri, await startKms(uri, to, signer));
    await run(all);
  } finally {
    for (const k of all.values()) k.server.close();
  }
}

const clientFor = (k: Map<string, Kms>, first: string, redirects?: Partial<McxKmsRedirectOptions>) => new McxKmsClient({
  baseUrl: k.get(first)!.base, userUri: 'sip:alice@example.org', kmsUri: first, ca: tls.cert,
  redirects: redirects && { signers, baseUrlOf: (u) => k.get(u)?.base ?? `https://${u}/`, ...redirects },
});

test('our client follows our server\'s signed redirect to another KMS and gets working keys there; the KRR travels in KrrList', async () => {
  await withKmss([['kms-a.example.org', ['kms-b.example.org']], ['kms-b.example.org', undefined]], async (k) => {
    const client = clientFor(k, 'kms-a.example.org', {});
    const cert = await client.init();
    assert.equal(cert.kmsUri, 'kms-b.example.org');
    assert.equal(client.kmsUri, 'kms-b.example.org');
    const keys = await client.keyProvision(cert);
    assert.equal(keys[0]!.kmsUri, 'kms-b.example.org');
    const req = k.get('kms-b.example.org')!.requests[0]!;
    assert.equal(req.krrList?.info.processorUri, 'kms-a.example.org');
    verifyKrr(req.krrList!, pinned);
    // without the redirects option, a redirect is an error that names it
    await assert.rejects(clientFor(k, 'kms-a.example.org').init(), (e: unknown) => e instanceof McxKmsError && /redirects are not followed/.test(e.message));
  });
});

test('a second redirect nests the first KRR; the depth bound and loops are refused', async () => {
  await withKmss([['kms-a.example.org', ['kms-b.example.org']], ['kms-b.example.org', ['kms-c.example.org']], ['kms-c.example.org', undefined, signerB]], async (k) => {
    // A -> B -> C: two hops, B's KRR nests A's
    const client = clientFor(k, 'kms-a.example.org', { maxHops: 2 });
    assert.equal((await client.init()).kmsUri, 'kms-c.example.org');
    assert.deepEqual(krrChain(client.redirect!).map((x) => x.info.processorUri), ['kms-b.example.org', 'kms-a.example.org']);
    await assert.rejects(clientFor(k, 'kms-a.example.org', { maxHops: 1 }).init(), /depth exceeded/);
  });
  await withKmss([['kms-a.example.org', ['kms-b.example.org']], ['kms-b.example.org', ['kms-a.example.org']]], async (k) => {
    await assert.rejects(clientFor(k, 'kms-a.example.org', { maxHops: 5 }).init(), (e: unknown) => e instanceof McxKmsError && /loop/.test(e.message));
  });
});

test('hostile redirects: wrong signer, unsigned, plain http, a KMS not allowed, a KRR for someone else', async () => {
  await withKmss([['kms-a.example.org', ['kms-b.example.org'], evil], ['kms-b.example.org', undefined]], async (k) => {
    await assert.rejects(clientFor(k, 'kms-a.example.org', {}).init(), (e: unknown) => e instanceof McxKmsError && /not trusted/.test(e.message));
  });
  await withKmss([['kms-a.example.org', ['kms-b.example.org']], ['kms-b.example.org', undefined]], async (k) => {
    await assert.rejects(clientFor(k, 'kms-a.example.org', { baseUrlOf: () => 'http://127.0.0.1:1/' }).init(), /only https/);
    await assert.rejects(clientFor(k, 'kms-a.example.org', { allowedKmsUris: ['kms-c.example.org'] }).init(), /not allowed/);
    assert.equal(k.get('kms-b.example.org')!.requests.length, 0, 'nothing was sent to B');
  });
  // documents a hostile KMS could send (no server needed): unsigned, for another user, from another processor
  const base = 'https://kms-a.example.org/keymanagement/identity/v1';
  const answer = (krrXml: string): KmsFetch => async (url) => ({ status: 200, body: buildKmsResponse({ userUri: 'sip:alice@example.org', kmsUri: 'kms-a.example.org', time: new Date(), clientReqUrl: url, error: { code: 307, message: 'go', redirect: parseKrr(krrXml) } }) });
  const info = { initiatorUri: 'sip:alice@example.org', processorUri: 'kms-a.example.org', time: new Date(), initiatorKmsUris: ['kms-b.example.org'], receiverKmsUris: [] };
  const cases: Array<[string, RegExp]> = [
    [buildKrr(info, undefined), /not signed/],
    [buildKrr({ ...info, initiatorUri: 'sip:eve@example.org' }, { kind: 'ecdsa', ...signerA }), /not sip:alice/],
    [buildKrr({ ...info, processorUri: 'kms-b.example.org' }, { kind: 'ecdsa', ...signerB }), /not from KMS kms-a/],
    [buildKrr({ ...info, time: new Date(Date.now() - 3_600_000) }, { kind: 'ecdsa', ...signerA }), /skew/],
  ];
  for (const [xml, why] of cases) {
    const client = new McxKmsClient({ baseUrl: base, userUri: 'sip:alice@example.org', kmsUri: 'kms-a.example.org', fetch: answer(xml), redirects: { signers } });
    await assert.rejects(client.init(), (e: unknown) => e instanceof McxKmsError && why.test(e.message), String(why));
    assert.equal(client.kmsUri, 'kms-a.example.org');
  }
});
