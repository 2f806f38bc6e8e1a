// KMS Redirect Responses (TS 33.180 Rel-17 D.4, §5.2.8): a signed XML document naming the KMSs
// acceptable for an initiator (and a receiver), created by the entity that refuses a KMS and
// re-created, with the previous one nested inside, by every entity that narrows the choice
// further. Signature profile D.4.2: ECDSA-SHA256, SHA-256 digest, C14N 1.0, X.509 certificate in
// KeyInfo; which certificate is trusted for which processor is the application's call.
import { randomBytes, type X509Certificate } from 'node:crypto';
import { canonicalize, leafText, parseXml, Sequence, writeXml, XmlError, type XmlElement, type XmlNode } from './xml.js';
import { DSIG_NS, finishSignature, signatureTemplate, verifySignature, XmlSignatureError, type XmlSigner } from './xmldsig.js';

export const KRR_NS = 'urn:3gpp:ns:mcsecKMSKRR:1.0';
/** D.4.1: the MIME type of a KRR in a SIP 488 response. */
export const KRR_CONTENT_TYPE = 'application/vnd.3gpp.kmsredirectresponse+xml';
/** Nesting deeper than this is refused while reading (each level is one signature to check). */
export const KRR_MAX_NESTING = 8;

export interface KrrInfoDoc {
  /** The Id the signature refers to. */
  id: string;
  /** Who the KRR is returned to (the initiator of the MIKEY message, or the KMS client). */
  initiatorUri: string;
  receiverUri?: string;
  /** The entity that refused a KMS and signed this KRR. */
  processorUri: string;
  time: Date;
  /** KMS URIs acceptable for the initiator, in order of preference. */
  initiatorKmsUris: string[];
  /** KMS URIs acceptable for the receiver. */
  receiverKmsUris: string[];
}

/** A KRR as read: its fields, the elements its signature covers, and the KRR nested inside it. */
export interface KrrDoc {
  info: KrrInfoDoc;
  element: XmlElement;
  infoElement: XmlElement;
  signature?: XmlElement;
  inner?: KrrDoc;
}

export class KrrError extends Error {
  override readonly name = 'KrrError';
}

const timeOut = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * A signed KRR document. `inner` is the KRR this one narrows (a KmsRedirectResponse element or
 * a KrrList carrying one), nested verbatim so that its own signature still verifies.
 */
export function buildKrr(info: Omit<KrrInfoDoc, 'id'> & { id?: string }, signer: Extract<XmlSigner, { kind: 'ecdsa' }> | undefined, inner?: KrrDoc): string {
  const id = info.id ?? `krr-${randomBytes(8).toString('hex')}`;
  const list = (name: string, uris: string[]): XmlNode | undefined => (uris.length ? { name, children: uris.map((u) => ({ name: 'KmsUri', text: u })) } : undefined);
  const infoNode: XmlNode = {
    name: 'KrrInfo', attrs: [['Id', id]],
    children: [
      { name: 'InitiatorUri', text: info.initiatorUri },
      info.receiverUri === undefined ? undefined : { name: 'ReceiverUri', text: info.receiverUri },
      { name: 'ProcessorUri', text: info.processorUri },
      { name: 'Time', text: timeOut(info.time) },
      list('InitiatorKmsUris', info.initiatorKmsUris),
      list('ReceiverKmsUris', info.receiverKmsUris),
      inner ? { name: '', raw: krrElementXml(inner) } : undefined,
    ],
  };
  const xml = writeXml({ name: 'KmsRedirectResponse', attrs: [['xmlns', KRR_NS], ['Version', '1.0.0']], children: [infoNode, signer && signatureTemplate(signer, id)] });
  return signer ? finishSignature(xml, signer, id) : xml;
}

/** The KRR as one KmsRedirectResponse element in canonical form, to carry inside another document. */
export function krrElementXml(k: KrrDoc): string {
  if (k.element.name === 'KmsRedirectResponse' && k.element.ns === KRR_NS) return canonicalize(k.element);
  // from a KrrList (KmsRequest, D.2): the same content under the KRR's own element
  return `<KmsRedirectResponse xmlns="${KRR_NS}" Version="1.0.0">${canonicalize(k.infoElement)}${k.signature ? canonicalize(k.signature) : ''}</KmsRedirectResponse>`;
}

/** The content of a KrrList element (KmsRequest, type krr:KmsRedirectResponseType). */
export function krrListContent(k: KrrDoc): string[] {
  return [canonicalize(k.infoElement), ...(k.signature ? [canonicalize(k.signature)] : [])];
}

function uriList(el: XmlElement | undefined): string[] {
  if (!el) return [];
  const s = new Sequence(el, KRR_NS);
  const out = s.many('KmsUri').map(leafText);
  s.end();
  if (!out.length) throw new XmlError(`<${el.name}> without a KmsUri`, el.offset);
  return out;
}

function timeIn(el: XmlElement): Date {
  const s = leafText(el);
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.exec(s);
  const d = m ? new Date(`${m[1]}${m[2] ?? ''}${m[3] ?? 'Z'}`) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new XmlError(`not a dateTime: ${s}`, el.offset);
  return d;
}

/** Reads a KmsRedirectResponse element (or a KrrList), nested KRRs included, without checking signatures. */
export function readKrr(el: XmlElement, depth = 0): KrrDoc {
  if (depth > KRR_MAX_NESTING) throw new KrrError(`KRRs nested deeper than ${KRR_MAX_NESTING}`);
  const s = new Sequence(el, KRR_NS);
  const infoElement = s.req('KrrInfo');
  s.end();
  const sigs = el.children.filter((c) => c.ns === DSIG_NS && c.name === 'Signature');
  if (sigs.length > 1) throw new KrrError('more than one signature on a KRR');
  const id = infoElement.attrs.get('Id');
  if (!id) throw new XmlError('KrrInfo without Id', infoElement.offset);
  const is = new Sequence(infoElement, KRR_NS);
  const info: KrrInfoDoc = { id, initiatorUri: leafText(is.req('InitiatorUri')), processorUri: '', time: new Date(0), initiatorKmsUris: [], receiverKmsUris: [] };
  const r = is.opt('ReceiverUri');
  if (r) info.receiverUri = leafText(r);
  info.processorUri = leafText(is.req('ProcessorUri'));
  info.time = timeIn(is.req('Time'));
  info.initiatorKmsUris = uriList(is.opt('InitiatorKmsUris'));
  info.receiverKmsUris = uriList(is.opt('ReceiverKmsUris'));
  const nested = is.opt('KmsRedirectResponse');
  is.end();
  const doc: KrrDoc = { info, element: el, infoElement };
  if (sigs[0]) doc.signature = sigs[0];
  if (nested) doc.inner = readKrr(nested, depth + 1);
  return doc;
}

/** Parses a KRR document (D.4.4), e.g. the body of a SIP 488. */
export function parseKrr(xml: string): KrrDoc {
  const r = parseXml(xml);
  if (r.ns !== KRR_NS || r.name !== 'KmsRedirectResponse') throw new XmlError(`expected <KmsRedirectResponse> in ${KRR_NS}, got <${r.name}>`, r.offset);
  return readKrr(r);
}

/** The KRRs from the newest to the oldest. */
export function krrChain(k: KrrDoc): KrrDoc[] {
  const out: KrrDoc[] = [];
  for (let x: KrrDoc | undefined = k; x; x = x.inner) out.push(x);
  return out;
}

/**
 * Checks the signature of every KRR of the chain: each must be signed (D.4.2) by a certificate
 * `trust` accepts for that KRR's processor. Throws KrrError naming the KRR and why.
 */
export function verifyKrr(k: KrrDoc, trust: (processorUri: string, certificate: X509Certificate) => boolean): void {
  for (const x of krrChain(k)) {
    if (!x.signature) throw new KrrError(`KRR ${x.info.id} from ${x.info.processorUri} is not signed`);
    try {
      verifySignature(x.signature, x.infoElement, { kind: 'ecdsa', trust: (c) => trust(x.info.processorUri, c) });
    } catch (e) {
      if (e instanceof XmlSignatureError) throw new KrrError(`KRR ${x.info.id} from ${x.info.processorUri}: ${e.message}`);
      throw e;
    }
  }
}
