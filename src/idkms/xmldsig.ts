// XML Signature (W3C XML Signature 1.1) in the two profiles TS 33.180 Annex D uses: HMAC-SHA256
// under a shared key (the KMS security extension, D.1: InK or TrK) and ECDSA-SHA256 with an
// X.509 certificate in KeyInfo (KMS Redirect Responses, D.4.2). Both: C14N 1.0 without comments
// (REC-xml-c14n-20010315), one Reference to an element by its Id, SHA-256 digest, no other
// transforms. Anything else is refused rather than half-checked.
import { createHmac, createHash, createPrivateKey, sign as ecSign, verify as ecVerify, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';
import { canonicalize, elementsById, leafText, parseXml, Sequence, XmlError, type XmlElement, type XmlNode } from './xml.js';

export const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const C14N = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
export const HMAC_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256';
export const ECDSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';

export class XmlSignatureError extends Error {
  override readonly name = 'XmlSignatureError';
}

export type XmlSigner =
  | { kind: 'hmac'; keyName: string; key: Uint8Array }
  | { kind: 'ecdsa'; privateKey: KeyObject | string; certificate: string };

const DIGEST_MARK = '@@DIGEST@@';
const SIG_MARK = '@@SIGNATURE@@';

/** The ds:Signature node (default namespace declared on it) with placeholders for the values. */
function signatureNode(method: string, refId: string, keyInfo: XmlNode): XmlNode {
  return {
    name: 'Signature', attrs: [['xmlns', DSIG_NS]],
    children: [
      {
        name: 'SignedInfo',
        children: [
          { name: 'CanonicalizationMethod', attrs: [['Algorithm', C14N]] },
          { name: 'SignatureMethod', attrs: [['Algorithm', method]] },
          { name: 'Reference', attrs: [['URI', `#${refId}`]], children: [{ name: 'DigestMethod', attrs: [['Algorithm', SHA256]] }, { name: 'DigestValue', text: DIGEST_MARK }] },
        ],
      },
      { name: 'SignatureValue', text: SIG_MARK },
      keyInfo,
    ],
  };
}

/** A ds:Signature to place in a document (returned as a node for `writeXml`), finished by `finishSignature`. */
export function signatureTemplate(signer: XmlSigner, refId: string): XmlNode {
  const keyInfo: XmlNode = signer.kind === 'hmac'
    ? { name: 'KeyInfo', children: [{ name: 'KeyName', text: signer.keyName }] }
    : { name: 'KeyInfo', children: [{ name: 'X509Data', children: [{ name: 'X509Certificate', text: new X509Certificate(signer.certificate).raw.toString('base64') }] }] };
  return signatureNode(signer.kind === 'hmac' ? HMAC_SHA256 : ECDSA_SHA256, refId, keyInfo);
}

function findSignature(root: XmlElement, refId: string): XmlElement {
  let found: XmlElement | undefined;
  const walk = (e: XmlElement) => {
    if (e.ns === DSIG_NS && e.name === 'Signature' && e.children.some((s) => s.name === 'SignedInfo' && s.children.some((r) => r.name === 'Reference' && r.attrs.get('URI') === `#${refId}`))) found = e;
    for (const c of e.children) walk(c);
  };
  walk(root);
  if (!found) throw new XmlSignatureError(`no signature over #${refId}`);
  return found;
}

/** Fills in the digest and the signature value of a document written with `signatureTemplate`. */
export function finishSignature(xml: string, signer: XmlSigner, refId: string): string {
  const [ref] = elementsById(parseXml(xml), refId);
  if (!ref) throw new XmlSignatureError(`no element with Id ${refId}`);
  const digest = createHash('sha256').update(canonicalize(ref), 'utf8').digest('base64');
  if (xml.split(DIGEST_MARK).length !== 2) throw new XmlSignatureError('one signature at a time');
  const withDigest = xml.replace(DIGEST_MARK, digest);
  const signedInfo = findSignature(parseXml(withDigest), refId).children.find((c) => c.name === 'SignedInfo')!;
  const data = Buffer.from(canonicalize(signedInfo), 'utf8');
  const value = signer.kind === 'hmac'
    ? createHmac('sha256', signer.key).update(data).digest()
    : ecSign('sha256', data, { key: typeof signer.privateKey === 'string' ? createPrivateKey(signer.privateKey) : signer.privateKey, dsaEncoding: 'ieee-p1363' });
  return withDigest.replace(SIG_MARK, value.toString('base64'));
}

export type XmlVerifier =
  | { kind: 'hmac'; key: (keyName: string) => Uint8Array | undefined }
  | { kind: 'ecdsa'; trust: (certificate: X509Certificate) => boolean };

export interface VerifiedSignature {
  /** The element the signature covers. */
  signed: XmlElement;
  keyName?: string;
  certificate?: X509Certificate;
}

function b64(el: XmlElement, what: string): Buffer {
  const s = leafText(el).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new XmlSignatureError(`${what} is not base64`);
  return Buffer.from(s, 'base64');
}

/**
 * Verifies `signature` (a ds:Signature element) and that its one Reference is `expected` (so a
 * signature over another element of the document cannot vouch for this one). Throws
 * XmlSignatureError with the reason.
 */
export function verifySignature(signature: XmlElement, expected: XmlElement, v: XmlVerifier): VerifiedSignature {
  try {
    if (signature.ns !== DSIG_NS || signature.name !== 'Signature') throw new XmlSignatureError('not a ds:Signature');
    const s = new Sequence(signature, DSIG_NS);
    const signedInfo = s.req('SignedInfo');
    const value = b64(s.req('SignatureValue'), 'SignatureValue');
    const keyInfo = s.opt('KeyInfo');
    const si = new Sequence(signedInfo, DSIG_NS);
    if (si.req('CanonicalizationMethod').attrs.get('Algorithm') !== C14N) throw new XmlSignatureError('canonicalization is not C14N 1.0 (REC-xml-c14n-20010315)');
    const method = si.req('SignatureMethod');
    const want = v.kind === 'hmac' ? HMAC_SHA256 : ECDSA_SHA256;
    if (method.attrs.get('Algorithm') !== want) throw new XmlSignatureError(`signature method ${method.attrs.get('Algorithm') ?? '(none)'}, expected ${want}`);
    const hol = method.children.find((c) => c.name === 'HMACOutputLength');
    if (hol && leafText(hol) !== '256') throw new XmlSignatureError('HMACOutputLength is not 256');
    const refs = si.many('Reference');
    si.end();
    if (refs.length !== 1) throw new XmlSignatureError(`${refs.length} references: exactly one is accepted`);
    const ref = refs[0]!;
    const uri = ref.attrs.get('URI') ?? '';
    if (!uri.startsWith('#')) throw new XmlSignatureError('the reference is not to an element of this document');
    const rs = new Sequence(ref, DSIG_NS);
    const transforms = rs.opt('Transforms');
    if (transforms && transforms.children.some((t) => t.attrs.get('Algorithm') !== C14N)) throw new XmlSignatureError('transforms other than C14N 1.0 are not accepted');
    if (rs.req('DigestMethod').attrs.get('Algorithm') !== SHA256) throw new XmlSignatureError('digest is not SHA-256');
    const digest = b64(rs.req('DigestValue'), 'DigestValue');
    rs.end();
    let root = signature;
    while (root.parent) root = root.parent;
    const targets = elementsById(root, uri.slice(1));
    if (targets.length !== 1) throw new XmlSignatureError(`${targets.length} elements with Id ${uri.slice(1)}`);
    if (targets[0] !== expected) throw new XmlSignatureError(`the signature covers <${targets[0]!.name}>, not the <${expected.name}> read`);
    const actual = createHash('sha256').update(canonicalize(expected), 'utf8').digest();
    if (digest.length !== actual.length || !timingSafeEqual(digest, actual)) throw new XmlSignatureError('digest mismatch: the signed element was altered');
    const data = Buffer.from(canonicalize(signedInfo), 'utf8');
    if (v.kind === 'hmac') {
      const name = keyInfo?.children.find((c) => c.ns === DSIG_NS && c.name === 'KeyName');
      if (!name) throw new XmlSignatureError('no KeyName: which shared key signed is not said');
      const keyName = leafText(name);
      const key = v.key(keyName);
      if (!key) throw new XmlSignatureError(`unknown key ${keyName}`);
      const mac = createHmac('sha256', key).update(data).digest();
      if (value.length !== mac.length || !timingSafeEqual(value, mac)) throw new XmlSignatureError('signature value mismatch');
      return { signed: expected, keyName };
    }
    const x509 = keyInfo?.children.find((c) => c.ns === DSIG_NS && c.name === 'X509Data')?.children.find((c) => c.ns === DSIG_NS && c.name === 'X509Certificate');
    if (!x509) throw new XmlSignatureError('no X509Certificate in KeyInfo');
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(b64(x509, 'X509Certificate'));
    } catch (e) {
      if (e instanceof XmlSignatureError) throw e;
      throw new XmlSignatureError('X509Certificate does not parse');
    }
    if (!v.trust(cert)) throw new XmlSignatureError(`signer ${cert.subject.replace(/\n/g, ', ')} is not trusted here`);
    if (value.length !== 64 || !ecVerify('sha256', data, { key: cert.publicKey, dsaEncoding: 'ieee-p1363' }, value)) throw new XmlSignatureError('signature value mismatch');
    return { signed: expected, certificate: cert };
  } catch (e) {
    if (e instanceof XmlError) throw new XmlSignatureError(`malformed signature: ${e.message}`);
    throw e;
  }
}
