// The documents of the 3GPP KMS interface (TS 33.180 Annex D, namespace
// urn:3gpp:ns:mcsecKMSInterface:1.0): KmsRequest, and KmsResponse carrying KmsInit (the KMS
// certificate), KmsKeyProv (user key sets) or KmsError. Built and parsed strictly, in schema
// order; keys as hexBinary (KeyContentType) or, with the security extension (D.1), wrapped under
// the transport key TrK (EncKeyContentType: xenc:EncryptedKey), and the documents signed with
// HMAC-SHA256 under the InK or the TrK (SignedKmsRequest, SignedKmsResponse).
import { randomBytes } from 'node:crypto';
import { parseXml, leafText, Sequence, writeXml, XmlError, type XmlElement, type XmlNode } from './xml.js';
import { DSIG_NS, finishSignature, signatureTemplate, verifySignature, XmlSignatureError } from './xmldsig.js';
import { KeyWrapError, KW_AES256_PAD, unwrapKey, wrapKey } from './keywrap.js';
import { KRR_NS, krrElementXml, krrListContent, readKrr, type KrrDoc } from './mcx-krr.js';

export const KMS_NS = 'urn:3gpp:ns:mcsecKMSInterface:1.0';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
export const XENC_NS = 'http://www.w3.org/2001/04/xmlenc#';

/** A key shared by a KMS and a client (D.1): the InK or a TrK, with the name KeyName carries. */
export interface KmsSharedKey {
  id: string;
  key: Uint8Array;
}

/** How a document is protected when written (the security extension, D.1). */
export interface KmsProtection {
  /** Signs the document (HMAC-SHA256): the InK or the TrK. */
  signer?: KmsSharedKey;
  /** Wraps the key material (RFC 5649, XML Encryption 1.1 kw-aes-256-pad): the TrK. */
  trk?: KmsSharedKey;
}

/** The shared keys a reader knows, by KeyName. */
export interface KmsReadKeys {
  /** Keys that may sign (InK, TrK). */
  signatureKey?: (name: string) => Uint8Array | undefined;
  /** Transport keys that may wrap key material. */
  transportKey?: (name: string) => Uint8Array | undefined;
}

export interface KmsRequestDoc {
  version?: string;
  userUri: string;
  kmsUri: string;
  time: Date;
  clientId?: string;
  deviceId?: string;
  clientReqUrl: string;
  /** KrrList (D.2.2): the KMS Redirect Response that sent the client here. */
  krrList?: KrrDoc;
  /** Read: the KeyName of the key that signed the request (SignedKmsRequest). */
  signedWith?: string;
}

/** KmsCertificate (TS 33.180 Table D.3.2.2-1). */
export interface KmsCertificateDoc {
  version: string;
  role: 'Root' | 'External';
  certUri?: string;
  kmsUri: string;
  issuer?: string;
  validFrom?: Date;
  validTo?: Date;
  revoked?: boolean;
  /** "2": the hashed UID of F.2.1. */
  userIdFormat: string;
  userKeyPeriod: number;
  userKeyOffset: number;
  /** SAKKE KMS public key Z (0x04 || x || y). */
  pubEncKey: Uint8Array;
  /** ECCSI KPAK (0x04 || x || y). */
  pubAuthKey: Uint8Array;
  parameterSet?: number;
  domainList?: string[];
}

/** KmsKeySet (TS 33.180 Table D.3.3.2-1). */
export interface KmsKeySetDoc {
  version: string;
  kmsUri: string;
  certUri?: string;
  issuer?: string;
  userUri: string;
  /** The UID (32 bytes). */
  userId: Uint8Array;
  validFrom?: Date;
  validTo?: Date;
  keyPeriodNo: number;
  revoked?: boolean;
  userDecryptKey: Uint8Array;
  userSigningKeySsk: Uint8Array;
  userPubTokenPvt: Uint8Array;
  /** Read: the TrK that wrapped all three keys (absent when any was carried in the clear). */
  encryptedWith?: string;
}

export type KmsMessageDoc =
  | { kind: 'init'; version: string; certificate: KmsCertificateDoc }
  | { kind: 'keyprov'; version: string; keySets: KmsKeySetDoc[] }
  /** KmsCertCache (D.3.4): certificates of other KMSs; CacheNum numbers the cache's versions. */
  | { kind: 'certcache'; version: string; cacheNum?: number; certificates: KmsCertificateDoc[] };

export interface KmsResponseDoc {
  version?: string;
  userUri: string;
  kmsUri: string;
  time: Date;
  kmsId?: string;
  clientReqUrl: string;
  message?: KmsMessageDoc;
  /** KmsError; `redirect` is a KMS Redirect Response (D.4) carried in its extension point. */
  error?: { code: number; message: string; redirect?: KrrDoc };
  /** Read: the KeyName of the key that signed the response (SignedKmsResponse). */
  signedWith?: string;
}

// ---- values ---------------------------------------------------------------------------------

const hexOut = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();
const timeOut = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function hexIn(el: XmlElement, what: string): Uint8Array {
  const s = leafText(el).replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(s)) throw new XmlError(`${what} is not hexBinary`, el.offset);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** A key as KeyContentType (hexBinary) or EncKeyContentType (xenc:EncryptedKey under a TrK). */
function keyIn(el: XmlElement, what: string, keys: KmsReadKeys): { key: Uint8Array; trk?: string } {
  const t = el.attrsNs.get(`{${XSI_NS}}type`)?.replace(/^[\w.-]+:/, '');
  if (t === undefined || t === 'KeyContentType') return { key: hexIn(el, what) };
  if (t !== 'EncKeyContentType') throw new XmlError(`${what} is carried as ${t}`, el.offset);
  const ek = el.children.filter((c) => c.ns === XENC_NS && c.name === 'EncryptedKey');
  if (ek.length !== 1 || el.children.length !== 1 || el.text.trim() !== '') throw new XmlError(`${what}: EncKeyContentType holds one xenc:EncryptedKey (encrypted keys)`, el.offset);
  const s = new Sequence(ek[0]!, XENC_NS);
  const alg = s.req('EncryptionMethod').attrs.get('Algorithm') ?? '';
  const keyName = ek[0]!.children.find((c) => c.ns === DSIG_NS && c.name === 'KeyInfo')?.children.find((c) => c.ns === DSIG_NS && c.name === 'KeyName');
  const cd = s.req('CipherData');
  const cds = new Sequence(cd, XENC_NS);
  const cv = leafText(cds.req('CipherValue')).replace(/\s+/g, '');
  cds.end();
  if (!keyName) throw new XmlError(`${what}: encrypted keys must name their transport key (ds:KeyName)`, el.offset);
  const trk = leafText(keyName);
  const kek = keys.transportKey?.(trk);
  if (!kek) throw new XmlError(`${what}: encrypted keys under transport key ${trk}, which we do not hold`, el.offset);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(cv) || cv.length % 4 !== 0) throw new XmlError(`${what}: CipherValue is not base64`, el.offset);
  try {
    return { key: unwrapKey(kek, new Uint8Array(Buffer.from(cv, 'base64')), alg), trk };
  } catch (e) {
    if (e instanceof KeyWrapError) throw new XmlError(`${what}: ${e.message}`, el.offset);
    throw e;
  }
}

/** UserID: hexBinary (64 digits); base64 of 32 bytes is also read. */
function uidIn(el: XmlElement): Uint8Array {
  const s = leafText(el);
  if (/^[0-9a-fA-F]{64}$/.test(s)) return new Uint8Array(Buffer.from(s, 'hex'));
  if (/^[A-Za-z0-9+/]{43}=$/.test(s)) return new Uint8Array(Buffer.from(s, 'base64'));
  throw new XmlError('UserID is not a 32-byte UID', el.offset);
}

function intIn(el: XmlElement, what: string): number {
  const s = leafText(el);
  if (!/^[+]?[0-9]{1,15}$/.test(s)) throw new XmlError(`${what} is not a non-negative integer`, el.offset);
  return Number(s);
}

function boolIn(el: XmlElement): boolean {
  const s = leafText(el);
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  throw new XmlError('not a boolean', el.offset);
}

/** xsd:dateTime; without a zone it is read as UTC. */
function timeIn(el: XmlElement): Date {
  const s = leafText(el);
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.exec(s);
  if (!m) throw new XmlError(`not a dateTime: ${s}`, el.offset);
  const d = new Date(`${m[1]}${m[2] ?? ''}${m[3] ?? 'Z'}`);
  if (Number.isNaN(d.getTime())) throw new XmlError(`not a dateTime: ${s}`, el.offset);
  return d;
}

function textIn(el: XmlElement): string {
  return leafText(el);
}

const leaf = (name: string, text: string | undefined): XmlNode | undefined => (text === undefined ? undefined : { name, text });

// ---- KmsRequest (D.2.2) -------------------------------------------------------------------------

/** A KmsRequest; with `signer`, a SignedKmsRequest (D.1, HMAC-SHA256 under the InK or TrK). */
export function buildKmsRequest(d: KmsRequestDoc, signer?: KmsSharedKey): string {
  return signed('KmsRequest', {
    name: 'KmsRequest', attrs: [['Version', d.version ?? '1.1.0']],
    children: [leaf('UserUri', d.userUri), leaf('KmsUri', d.kmsUri), leaf('Time', timeOut(d.time)), leaf('ClientId', d.clientId), leaf('DeviceId', d.deviceId), leaf('ClientReqUrl', d.clientReqUrl),
      d.krrList ? { name: 'KrrList', children: krrListContent(d.krrList).map((raw) => ({ name: '', raw })) } : undefined],
  }, [], signer);
}

/** Writes `body` as the root, or inside Signed<name> with an enveloping signature over it. */
function signed(name: string, body: XmlNode, nsAttrs: Array<[string, string]>, signer: KmsSharedKey | undefined): string {
  if (!signer) return writeXml({ ...body, attrs: [['xmlns', KMS_NS], ...nsAttrs, ...(body.attrs ?? [])] });
  const id = `${name}-${randomBytes(8).toString('hex')}`;
  const s = { kind: 'hmac' as const, keyName: signer.id, key: signer.key };
  const xml = writeXml({ name: `Signed${name}`, attrs: [['xmlns', KMS_NS], ...nsAttrs], children: [{ ...body, attrs: [['Id', id], ...(body.attrs ?? [])] }, signatureTemplate(s, id)] });
  return finishSignature(xml, s, id);
}

/** The document element of a KmsRequest or KmsResponse, its signature checked when it is a Signed one. */
function unwrapSigned(xml: string, name: string, keys: KmsReadKeys): { el: XmlElement; signedWith?: string } {
  const r = parseXml(xml);
  if (r.ns === KMS_NS && r.name === name) return { el: r };
  if (r.ns !== KMS_NS || r.name !== `Signed${name}`) throw new XmlError(`expected <${name}> or <Signed${name}> in ${KMS_NS}, got <${r.name}> in ${r.ns || 'no namespace'}`, r.offset);
  const s = new Sequence(r, KMS_NS);
  const el = s.req(name);
  s.end();
  const sigs = r.children.filter((c) => c.ns === DSIG_NS && c.name === 'Signature');
  if (sigs.length !== 1) throw new XmlSignatureError(`<Signed${name}> without its signature`);
  const v = verifySignature(sigs[0]!, el, { kind: 'hmac', key: (n) => keys.signatureKey?.(n) });
  return { el, signedWith: v.keyName! };
}

/** What a KmsRequest and a KmsResponse start with (TS 33.180 D.2.2, D.3.2): the Version attribute, UserUri, KmsUri, Time. */
function readHead(xml: string, root: 'KmsRequest' | 'KmsResponse', keys: KmsReadKeys): { s: Sequence; signedWith?: string; head: KmsRequestDoc & KmsResponseDoc } {
  const { el, signedWith } = unwrapSigned(xml, root, keys);
  const s = new Sequence(el, KMS_NS);
  const head: KmsRequestDoc & KmsResponseDoc = { userUri: textIn(s.req('UserUri')), kmsUri: textIn(s.req('KmsUri')), time: timeIn(s.req('Time')), clientReqUrl: '' };
  const v = el.attrs.get('Version');
  if (v !== undefined) head.version = v;
  return { s, signedWith, head };
}

/** Reads a KmsRequest or SignedKmsRequest; a signature is verified with `keys` (XmlSignatureError when it fails). */
export function parseKmsRequest(xml: string, keys: KmsReadKeys = {}): KmsRequestDoc {
  const { s, signedWith, head: d } = readHead(xml, 'KmsRequest', keys);
  const cid = s.opt('ClientId');
  if (cid) d.clientId = textIn(cid);
  const did = s.opt('DeviceId');
  if (did) d.deviceId = textIn(did);
  d.clientReqUrl = textIn(s.req('ClientReqUrl'));
  const krr = s.opt('KrrList');
  if (krr) d.krrList = readKrr(krr);
  s.end();
  if (signedWith !== undefined) d.signedWith = signedWith;
  return d;
}

// ---- KmsResponse (D.3) --------------------------------------------------------------------------

function certNode(c: KmsCertificateDoc): XmlNode {
  return {
    name: 'KmsCertificate', attrs: [['Version', c.version], ['Role', c.role]],
    children: [
      leaf('CertUri', c.certUri), leaf('KmsUri', c.kmsUri), leaf('Issuer', c.issuer), leaf('ValidFrom', c.validFrom && timeOut(c.validFrom)),
      leaf('ValidTo', c.validTo && timeOut(c.validTo)), leaf('Revoked', c.revoked === undefined ? undefined : String(c.revoked)),
      leaf('UserIdFormat', c.userIdFormat), leaf('UserKeyPeriod', String(c.userKeyPeriod)), leaf('UserKeyOffset', String(c.userKeyOffset)),
      leaf('PubEncKey', hexOut(c.pubEncKey)), leaf('PubAuthKey', hexOut(c.pubAuthKey)),
      leaf('ParameterSet', c.parameterSet === undefined ? undefined : String(c.parameterSet)),
      c.domainList ? { name: 'KmsDomainList', children: c.domainList.map((x) => ({ name: 'KmsDomain', text: x })) } : undefined,
    ],
  };
}

function keySetNode(k: KmsKeySetDoc, trk: KmsSharedKey | undefined): XmlNode {
  const key = (name: string, b: Uint8Array): XmlNode => (trk
    ? {
      name, attrs: [['xsi:type', 'EncKeyContentType']],
      children: [{
        name: 'EncryptedKey', attrs: [['xmlns', XENC_NS]],
        children: [
          { name: 'EncryptionMethod', attrs: [['Algorithm', KW_AES256_PAD]] },
          { name: 'KeyInfo', attrs: [['xmlns', DSIG_NS]], children: [{ name: 'KeyName', text: trk.id }] },
          { name: 'CipherData', children: [{ name: 'CipherValue', text: Buffer.from(wrapKey(trk.key, b, KW_AES256_PAD)).toString('base64') }] },
        ],
      }],
    }
    : { name, attrs: [['xsi:type', 'KeyContentType']], text: hexOut(b) });
  return {
    name: 'KmsKeySet', attrs: [['Version', k.version]],
    children: [
      leaf('KmsUri', k.kmsUri), leaf('CertUri', k.certUri), leaf('Issuer', k.issuer), leaf('UserUri', k.userUri), leaf('UserID', hexOut(k.userId)),
      leaf('ValidFrom', k.validFrom && timeOut(k.validFrom)), leaf('ValidTo', k.validTo && timeOut(k.validTo)), leaf('KeyPeriodNo', String(k.keyPeriodNo)),
      leaf('Revoked', k.revoked === undefined ? undefined : String(k.revoked)),
      key('UserDecryptKey', k.userDecryptKey), key('UserSigningKeySSK', k.userSigningKeySsk), key('UserPubTokenPVT', k.userPubTokenPvt),
    ],
  };
}

/** A KmsResponse; with `protection`, key material wrapped under the TrK and/or a SignedKmsResponse. */
export function buildKmsResponse(d: KmsResponseDoc, protection: KmsProtection = {}): string {
  if (!!d.message === !!d.error) throw new TypeError('a KmsResponse carries a KmsMessage or a KmsError');
  let body: XmlNode;
  if (d.error) body = { name: 'KmsError', children: [leaf('ErrorCode', String(d.error.code)), leaf('ErrorMsg', d.error.message), d.error.redirect && { name: '', raw: krrElementXml(d.error.redirect) }] };
  else {
    const m = d.message!;
    body = {
      name: 'KmsMessage',
      children: [m.kind === 'init'
        ? { name: 'KmsInit', attrs: [['Version', m.version]], children: [certNode(m.certificate)] }
        : m.kind === 'keyprov'
          ? { name: 'KmsKeyProv', attrs: [['Version', m.version]], children: m.keySets.map((k) => keySetNode(k, protection.trk)) }
          : { name: 'KmsCertCache', attrs: [['Version', m.version], ...(m.cacheNum === undefined ? [] : [['CacheNum', String(m.cacheNum)] as [string, string]])], children: m.certificates.map(certNode) }],
    };
  }
  // xsi only where keys use xsi:type: a prefix declared on the root would be in scope of a
  // nested signed KRR and change its canonical form (C14N 1.0 renders inherited namespaces)
  return signed('KmsResponse', {
    name: 'KmsResponse', attrs: [['Version', d.version ?? '1.0.0']],
    children: [leaf('UserUri', d.userUri), leaf('KmsUri', d.kmsUri), leaf('Time', timeOut(d.time)), leaf('KmsId', d.kmsId), leaf('ClientReqUrl', d.clientReqUrl), body],
  }, d.message?.kind === 'keyprov' ? [['xmlns:xsi', XSI_NS]] : [], protection.signer);
}

function parseCertificate(el: XmlElement): KmsCertificateDoc {
  const s = new Sequence(el, KMS_NS);
  const role = el.attrs.get('Role') ?? 'Root';
  if (role !== 'Root' && role !== 'External') throw new XmlError(`KmsCertificate Role ${role}`, el.offset);
  const c: Partial<KmsCertificateDoc> & { role: 'Root' | 'External' } = { version: el.attrs.get('Version') ?? '', role };
  const certUri = s.opt('CertUri');
  if (certUri) c.certUri = textIn(certUri);
  c.kmsUri = textIn(s.req('KmsUri'));
  const issuer = s.opt('Issuer');
  if (issuer) c.issuer = textIn(issuer);
  const vf = s.opt('ValidFrom');
  if (vf) c.validFrom = timeIn(vf);
  const vt = s.opt('ValidTo');
  if (vt) c.validTo = timeIn(vt);
  const rev = s.opt('Revoked');
  if (rev) c.revoked = boolIn(rev);
  c.userIdFormat = textIn(s.req('UserIdFormat'));
  c.userKeyPeriod = intIn(s.req('UserKeyPeriod'), 'UserKeyPeriod');
  c.userKeyOffset = intIn(s.req('UserKeyOffset'), 'UserKeyOffset');
  c.pubEncKey = hexIn(s.req('PubEncKey'), 'PubEncKey');
  c.pubAuthKey = hexIn(s.req('PubAuthKey'), 'PubAuthKey');
  const ps = s.opt('ParameterSet');
  if (ps) c.parameterSet = intIn(ps, 'ParameterSet');
  const dl = s.opt('KmsDomainList');
  if (dl) {
    const ds = new Sequence(dl, KMS_NS);
    c.domainList = ds.many('KmsDomain').map(textIn);
    ds.end();
  }
  s.end();
  if (c.userKeyPeriod === 0) throw new XmlError('UserKeyPeriod is 0', el.offset);
  return c as KmsCertificateDoc;
}

function parseKeySet(el: XmlElement, keys: KmsReadKeys): KmsKeySetDoc {
  const s = new Sequence(el, KMS_NS);
  const k: Partial<KmsKeySetDoc> = { version: el.attrs.get('Version') ?? '' };
  k.kmsUri = textIn(s.req('KmsUri'));
  const certUri = s.opt('CertUri');
  if (certUri) k.certUri = textIn(certUri);
  const issuer = s.opt('Issuer');
  if (issuer) k.issuer = textIn(issuer);
  k.userUri = textIn(s.req('UserUri'));
  k.userId = uidIn(s.req('UserID'));
  const vf = s.opt('ValidFrom');
  if (vf) k.validFrom = timeIn(vf);
  const vt = s.opt('ValidTo');
  if (vt) k.validTo = timeIn(vt);
  k.keyPeriodNo = intIn(s.req('KeyPeriodNo'), 'KeyPeriodNo');
  const rev = s.opt('Revoked');
  if (rev) k.revoked = boolIn(rev);
  const rsk = keyIn(s.req('UserDecryptKey'), 'UserDecryptKey', keys);
  const ssk = keyIn(s.req('UserSigningKeySSK'), 'UserSigningKeySSK', keys);
  const pvt = keyIn(s.req('UserPubTokenPVT'), 'UserPubTokenPVT', keys);
  s.end();
  k.userDecryptKey = rsk.key;
  k.userSigningKeySsk = ssk.key;
  k.userPubTokenPvt = pvt.key;
  if (rsk.trk !== undefined && rsk.trk === ssk.trk && rsk.trk === pvt.trk) k.encryptedWith = rsk.trk;
  return k as KmsKeySetDoc;
}

/**
 * Reads a KmsResponse or SignedKmsResponse: a signature is verified and wrapped keys unwrapped
 * with `keys` (XmlSignatureError, XmlError when that fails).
 */
export function parseKmsResponse(xml: string, keys: KmsReadKeys = {}): KmsResponseDoc {
  const { s, signedWith, head: d } = readHead(xml, 'KmsResponse', keys);
  const kmsId = s.opt('KmsId');
  if (kmsId) d.kmsId = textIn(kmsId);
  d.clientReqUrl = textIn(s.req('ClientReqUrl'));
  const msg = s.opt('KmsMessage');
  if (msg) {
    const ms = new Sequence(msg, KMS_NS);
    const init = ms.opt('KmsInit');
    if (init) {
      const is = new Sequence(init, KMS_NS);
      const sc = is.opt('SignedKmsCertificate');
      d.message = { kind: 'init', version: init.attrs.get('Version') ?? '', certificate: sc ? signedCertificate(sc, keys) : parseCertificate(is.req('KmsCertificate')) };
      is.end();
    } else {
      const kp = ms.opt('KmsKeyProv');
      const cc = kp ? undefined : ms.opt('KmsCertCache');
      if (kp) {
        const ks = new Sequence(kp, KMS_NS);
        d.message = { kind: 'keyprov', version: kp.attrs.get('Version') ?? '', keySets: ks.many('KmsKeySet').map((k) => parseKeySet(k, keys)) };
        ks.end();
      } else if (cc) {
        const cs = new Sequence(cc, KMS_NS);
        const certificates = [...cs.many('SignedKmsCertificate').map((c) => signedCertificate(c, keys)), ...cs.many('KmsCertificate').map(parseCertificate)];
        cs.end();
        const n = cc.attrs.get('CacheNum');
        d.message = { kind: 'certcache', version: cc.attrs.get('Version') ?? '', certificates };
        if (n !== undefined) {
          if (!/^[0-9]{1,15}$/.test(n)) throw new XmlError('CacheNum is not a non-negative integer', cc.offset);
          d.message.cacheNum = Number(n);
        }
      } else throw new XmlError('KmsMessage: KmsInit, KmsKeyProv or KmsCertCache expected', msg.offset);
    }
    ms.end();
  } else {
    const err = s.req('KmsError');
    const es = new Sequence(err, KMS_NS);
    d.error = { code: intIn(es.req('ErrorCode'), 'ErrorCode'), message: textIn(es.req('ErrorMsg')) };
    es.end();
    const krrs = err.children.filter((c) => c.ns === KRR_NS && c.name === 'KmsRedirectResponse');
    if (krrs.length > 1) throw new XmlError('KmsError with more than one KMS Redirect Response', err.offset);
    if (krrs[0]) d.error.redirect = readKrr(krrs[0]);
  }
  s.end();
  if (signedWith !== undefined) d.signedWith = signedWith;
  return d;
}

/** SignedKmsCertificate: the certificate, its signature (when present) checked with the shared keys. */
function signedCertificate(el: XmlElement, keys: KmsReadKeys): KmsCertificateDoc {
  const s = new Sequence(el, KMS_NS);
  const c = s.req('KmsCertificate');
  s.end();
  const sigs = el.children.filter((x) => x.ns === DSIG_NS && x.name === 'Signature');
  if (sigs.length > 1) throw new XmlSignatureError('SignedKmsCertificate with more than one signature');
  if (sigs[0]) verifySignature(sigs[0], c, { kind: 'hmac', key: (n) => keys.signatureKey?.(n) });
  return parseCertificate(c);
}
