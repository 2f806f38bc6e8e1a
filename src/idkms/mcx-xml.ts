// The documents of the 3GPP KMS interface (TS 33.180 Annex D, namespace
// urn:3gpp:ns:mcsecKMSInterface:1.0): KmsRequest, and KmsResponse carrying KmsInit (the KMS
// certificate), KmsKeyProv (user key sets) or KmsError. Built and parsed strictly, in schema
// order; keys as hexBinary (KeyContentType). Encrypted keys (EncKeyContentType, the D.2.2
// security extension) and XML signatures are refused rather than misread.
import { parseXml, leafText, Sequence, writeXml, XmlError, type XmlElement, type XmlNode } from './xml.js';
import { KRR_NS, krrElementXml, krrListContent, readKrr, type KrrDoc } from './mcx-krr.js';

export const KMS_NS = 'urn:3gpp:ns:mcsecKMSInterface:1.0';
const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';

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
}

export type KmsMessageDoc =
  | { kind: 'init'; version: string; certificate: KmsCertificateDoc }
  | { kind: 'keyprov'; version: string; keySets: KmsKeySetDoc[] };

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
}

// ---- values ---------------------------------------------------------------------------------

const hexOut = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();
const timeOut = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function hexIn(el: XmlElement, what: string): Uint8Array {
  const s = leafText(el).replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(s)) throw new XmlError(`${what} is not hexBinary`, el.offset);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

function keyIn(el: XmlElement, what: string): Uint8Array {
  const t = el.attrsNs.get(`{${XSI_NS}}type`);
  if (t !== undefined && t.replace(/^[\w.-]+:/, '') !== 'KeyContentType') throw new XmlError(`${what} is carried as ${t}: encrypted keys are not supported`, el.offset);
  return hexIn(el, what);
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

function root(xml: string, name: string): XmlElement {
  const r = parseXml(xml);
  if (r.ns !== KMS_NS || r.name !== name) throw new XmlError(`expected <${name}> in ${KMS_NS}, got <${r.name}> in ${r.ns || 'no namespace'}`, r.offset);
  return r;
}

const leaf = (name: string, text: string | undefined): XmlNode | undefined => (text === undefined ? undefined : { name, text });

// ---- KmsRequest (D.2.2) -------------------------------------------------------------------------

export function buildKmsRequest(d: KmsRequestDoc): string {
  return writeXml({
    name: 'KmsRequest', attrs: [['xmlns', KMS_NS], ['Version', d.version ?? '1.1.0']],
    children: [leaf('UserUri', d.userUri), leaf('KmsUri', d.kmsUri), leaf('Time', timeOut(d.time)), leaf('ClientId', d.clientId), leaf('DeviceId', d.deviceId), leaf('ClientReqUrl', d.clientReqUrl),
      d.krrList ? { name: 'KrrList', children: krrListContent(d.krrList).map((raw) => ({ name: '', raw })) } : undefined],
  });
}

export function parseKmsRequest(xml: string): KmsRequestDoc {
  const r = root(xml, 'KmsRequest');
  const s = new Sequence(r, KMS_NS);
  const d: KmsRequestDoc = { userUri: textIn(s.req('UserUri')), kmsUri: textIn(s.req('KmsUri')), time: timeIn(s.req('Time')), clientReqUrl: '' };
  const v = r.attrs.get('Version');
  if (v !== undefined) d.version = v;
  const cid = s.opt('ClientId');
  if (cid) d.clientId = textIn(cid);
  const did = s.opt('DeviceId');
  if (did) d.deviceId = textIn(did);
  d.clientReqUrl = textIn(s.req('ClientReqUrl'));
  const krr = s.opt('KrrList');
  if (krr) d.krrList = readKrr(krr);
  s.end();
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

function keySetNode(k: KmsKeySetDoc): XmlNode {
  const key = (name: string, b: Uint8Array): XmlNode => ({ name, attrs: [['xsi:type', 'KeyContentType']], text: hexOut(b) });
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

export function buildKmsResponse(d: KmsResponseDoc): string {
  if (!!d.message === !!d.error) throw new TypeError('a KmsResponse carries a KmsMessage or a KmsError');
  let body: XmlNode;
  if (d.error) body = { name: 'KmsError', children: [leaf('ErrorCode', String(d.error.code)), leaf('ErrorMsg', d.error.message), d.error.redirect && { name: '', raw: krrElementXml(d.error.redirect) }] };
  else {
    const m = d.message!;
    body = {
      name: 'KmsMessage',
      children: [m.kind === 'init'
        ? { name: 'KmsInit', attrs: [['Version', m.version]], children: [certNode(m.certificate)] }
        : { name: 'KmsKeyProv', attrs: [['Version', m.version]], children: m.keySets.map(keySetNode) }],
    };
  }
  // xsi only where keys use xsi:type: a prefix declared on the root would be in scope of a
  // nested signed KRR and change its canonical form (C14N 1.0 renders inherited namespaces)
  return writeXml({
    name: 'KmsResponse', attrs: [['xmlns', KMS_NS], ...(d.message?.kind === 'keyprov' ? [['xmlns:xsi', XSI_NS] as [string, string]] : []), ['Version', d.version ?? '1.0.0']],
    children: [leaf('UserUri', d.userUri), leaf('KmsUri', d.kmsUri), leaf('Time', timeOut(d.time)), leaf('KmsId', d.kmsId), leaf('ClientReqUrl', d.clientReqUrl), body],
  });
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

function parseKeySet(el: XmlElement): KmsKeySetDoc {
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
  k.userDecryptKey = keyIn(s.req('UserDecryptKey'), 'UserDecryptKey');
  k.userSigningKeySsk = keyIn(s.req('UserSigningKeySSK'), 'UserSigningKeySSK');
  k.userPubTokenPvt = keyIn(s.req('UserPubTokenPVT'), 'UserPubTokenPVT');
  s.end();
  return k as KmsKeySetDoc;
}

export function parseKmsResponse(xml: string): KmsResponseDoc {
  const r = root(xml, 'KmsResponse');
  const s = new Sequence(r, KMS_NS);
  const d: KmsResponseDoc = { userUri: textIn(s.req('UserUri')), kmsUri: textIn(s.req('KmsUri')), time: timeIn(s.req('Time')), clientReqUrl: '' };
  const v = r.attrs.get('Version');
  if (v !== undefined) d.version = v;
  const kmsId = s.opt('KmsId');
  if (kmsId) d.kmsId = textIn(kmsId);
  d.clientReqUrl = textIn(s.req('ClientReqUrl'));
  const msg = s.opt('KmsMessage');
  if (msg) {
    const ms = new Sequence(msg, KMS_NS);
    const init = ms.opt('KmsInit');
    if (init) {
      const is = new Sequence(init, KMS_NS);
      if (is.opt('SignedKmsCertificate')) throw new XmlError('signed KMS certificates are not supported', init.offset);
      d.message = { kind: 'init', version: init.attrs.get('Version') ?? '', certificate: parseCertificate(is.req('KmsCertificate')) };
      is.end();
    } else {
      const kp = ms.opt('KmsKeyProv');
      if (!kp) throw new XmlError('KmsMessage: KmsInit or KmsKeyProv expected (KmsCertCache is not supported)', msg.offset);
      const ks = new Sequence(kp, KMS_NS);
      d.message = { kind: 'keyprov', version: kp.attrs.get('Version') ?? '', keySets: ks.many('KmsKeySet').map(parseKeySet) };
      ks.end();
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
  return d;
}
