// A small, strict XML 1.0 reader and writer for the KMS documents: elements, attributes,
// namespaces, character data and the five predefined entities plus character references.
// Refused: DTDs (no entity expansion of any kind), processing instructions other than the XML
// declaration, CDATA, mismatched or unclosed tags, duplicate attributes, unbound prefixes.

export class XmlError extends Error {
  override readonly name = 'XmlError';
  constructor(message: string, readonly offset?: number) {
    super(offset === undefined ? message : `${message} (at ${offset})`);
  }
}

export interface XmlElement {
  /** Local name. */
  name: string;
  /** Namespace URI ('' for none). */
  ns: string;
  /** Attributes by qualified name as written (xmlns declarations excluded). */
  attrs: Map<string, string>;
  /** Attributes by "{ns}local" for prefixed ones, local name for the others. */
  attrsNs: Map<string, string>;
  children: XmlElement[];
  /** Character data directly inside (concatenated). */
  text: string;
  offset: number;
  /** The name as written (prefix:local). */
  qname: string;
  /** Namespace declarations made on this element: prefix ('' for the default) to URI. */
  nsDecls: Map<string, string>;
  /** Children and character data in document order (comments dropped), for canonicalization. */
  content: Array<string | XmlElement>;
  parent?: XmlElement;
}

const MAX_DEPTH = 100;
const NAME = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?$/;
const XMLNS = 'http://www.w3.org/2000/xmlns/';
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

function decodeEntities(s: string, at: number): string {
  return s.replace(/&([^;]*);?/g, (m, body: string) => {
    if (!m.endsWith(';')) throw new XmlError('unterminated entity reference', at);
    switch (body) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
    }
    const cp = /^#x([0-9a-fA-F]{1,6})$/.exec(body) ? parseInt(body.slice(2), 16) : /^#([0-9]{1,7})$/.exec(body) ? parseInt(body.slice(1), 10) : -1;
    if (cp < 0) throw new XmlError(`unknown entity &${body};`, at);
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new XmlError('invalid character reference', at);
    return String.fromCodePoint(cp);
  });
}

/** Parse a whole document: one root element, optionally an XML declaration, comments and whitespace around. */
export function parseXml(input: string): XmlElement {
  let i = 0;
  const n = input.length;
  if (input.charCodeAt(0) === 0xfeff) i = 1;
  const skipMisc = () => {
    for (;;) {
      while (i < n && /\s/.test(input[i]!)) i++;
      if (input.startsWith('<!--', i)) {
        const end = input.indexOf('-->', i + 4);
        if (end < 0) throw new XmlError('unterminated comment', i);
        if (input.slice(i + 4, end).includes('--')) throw new XmlError('"--" inside a comment', i);
        i = end + 3;
      } else return;
    }
  };
  if (input.startsWith('<?xml', i)) {
    const end = input.indexOf('?>', i);
    if (end < 0) throw new XmlError('unterminated XML declaration', i);
    const decl = input.slice(i, end);
    if (!/^<\?xml\s+version\s*=\s*["']1\.[0-9]["'](\s+encoding\s*=\s*["'][Uu][Tt][Ff]-8["'])?(\s+standalone\s*=\s*["'](yes|no)["'])?\s*$/.test(decl)) throw new XmlError('unsupported XML declaration', i);
    i = end + 2;
  }
  skipMisc();
  if (input.startsWith('<!DOCTYPE', i)) throw new XmlError('DTDs are not accepted', i);
  const stack: Array<{ el: XmlElement; qname: string; scope: Map<string, string> }> = [];
  let root: XmlElement | undefined;
  let scope = new Map<string, string>([['xml', XML_NS]]);
  while (i < n) {
    if (stack.length === 0 && root) {
      skipMisc();
      if (i < n) throw new XmlError('content after the root element', i);
      break;
    }
    if (stack.length === 0) skipMisc();
    const c = input[i];
    if (c !== '<') {
      if (stack.length === 0) throw new XmlError('text outside the root element', i);
      const end = input.indexOf('<', i);
      if (end < 0) throw new XmlError('unclosed element', i);
      const raw = input.slice(i, end);
      if (raw.includes('>') && raw.includes(']]>')) throw new XmlError('"]]>" in text', i);
      const t = decodeEntities(raw.replace(/\r\n?/g, '\n'), i);
      const top = stack.at(-1)!.el;
      top.text += t;
      if (typeof top.content.at(-1) === 'string') top.content[top.content.length - 1] += t;
      else top.content.push(t);
      i = end;
      continue;
    }
    if (input.startsWith('<!--', i)) {
      const end = input.indexOf('-->', i + 4);
      if (end < 0) throw new XmlError('unterminated comment', i);
      i = end + 3;
      continue;
    }
    if (input.startsWith('<![CDATA[', i)) throw new XmlError('CDATA sections are not accepted', i);
    if (input.startsWith('<!', i) || input.startsWith('<?', i)) throw new XmlError('declarations and processing instructions are not accepted here', i);
    if (input.startsWith('</', i)) {
      const end = input.indexOf('>', i);
      if (end < 0) throw new XmlError('unterminated end tag', i);
      const qname = input.slice(i + 2, end).trim();
      const top = stack.pop();
      if (!top || top.qname !== qname) throw new XmlError(`end tag </${qname}> does not close <${top?.qname ?? ''}>`, i);
      scope = stack.at(-1)?.scope ?? new Map([['xml', XML_NS]]);
      if (stack.length === 0) root = top.el;
      i = end + 1;
      continue;
    }
    // start tag
    const start = i;
    i++;
    const nameMatch = /^[^\s/>]+/.exec(input.slice(i, i + 256));
    if (!nameMatch || !NAME.test(nameMatch[0])) throw new XmlError('bad element name', i);
    const qname = nameMatch[0];
    i += qname.length;
    const raw = new Map<string, string>();
    for (;;) {
      const ws = /^\s*/.exec(input.slice(i, i + 64))![0].length;
      i += ws;
      if (input.startsWith('/>', i) || input[i] === '>') break;
      if (ws === 0) throw new XmlError('attributes must be separated by white space', i);
      const m = /^([^\s=/>]+)\s*=\s*(["'])/.exec(input.slice(i, i + 300));
      if (!m || !NAME.test(m[1]!)) throw new XmlError('bad attribute', i);
      const q = m[2]!;
      const vStart = i + m[0].length;
      const vEnd = input.indexOf(q, vStart);
      if (vEnd < 0) throw new XmlError('unterminated attribute value', i);
      const v = input.slice(vStart, vEnd);
      if (v.includes('<')) throw new XmlError('"<" in an attribute value', vStart);
      if (raw.has(m[1]!)) throw new XmlError(`duplicate attribute ${m[1]}`, i);
      // XML 1.0 §2.11 and §3.3.3: line ends, then white space normalized; character references are not
      raw.set(m[1]!, decodeEntities(v.replace(/\r\n?/g, '\n').replace(/[\t\n]/g, ' '), vStart));
      i = vEnd + 1;
    }
    const selfClosing = input.startsWith('/>', i);
    i += selfClosing ? 2 : 1;
    const own = new Map(scope);
    const nsDecls = new Map<string, string>();
    for (const [k, v] of raw) {
      if (k === 'xmlns') {
        own.set('', v);
        nsDecls.set('', v);
      } else if (k.startsWith('xmlns:')) {
        if (!v) throw new XmlError('a prefix cannot be undeclared', start);
        own.set(k.slice(6), v);
        nsDecls.set(k.slice(6), v);
      }
    }
    const resolve = (q: string, isAttr: boolean): [string, string] => {
      const k = q.indexOf(':');
      if (k < 0) return [isAttr ? '' : own.get('') ?? '', q];
      const ns = own.get(q.slice(0, k));
      if (ns === undefined) throw new XmlError(`unbound prefix in ${q}`, start);
      return [ns, q.slice(k + 1)];
    };
    const [ns, name] = resolve(qname, false);
    const attrs = new Map<string, string>();
    const attrsNs = new Map<string, string>();
    for (const [k, v] of raw) {
      if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
      attrs.set(k, v);
      const [ans, local] = resolve(k, true);
      const key = ans ? `{${ans}}${local}` : local;
      if (attrsNs.has(key)) throw new XmlError(`duplicate attribute ${key}`, start);
      attrsNs.set(key, v);
    }
    const el: XmlElement = { name, ns, attrs, attrsNs, children: [], text: '', offset: start, qname, nsDecls, content: [] };
    if (stack.length) {
      const parent = stack.at(-1)!.el;
      parent.children.push(el);
      parent.content.push(el);
      el.parent = parent;
    }
    else if (root) throw new XmlError('two root elements', start);
    if (selfClosing) {
      if (!stack.length) root = el;
    } else {
      // the KMS documents are shallow; a bound keeps the recursive walks (C14N, Id lookup) off the stack limit
      if (stack.length >= MAX_DEPTH) throw new XmlError(`elements nested deeper than ${MAX_DEPTH}`, start);
      stack.push({ el, qname, scope: own });
      scope = own;
    }
  }
  if (stack.length) throw new XmlError(`unclosed element <${stack.at(-1)!.qname}>`, n);
  if (!root) throw new XmlError('no root element', 0);
  return root;
}

export { XMLNS };

// ---- writing ------------------------------------------------------------------------------------

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** An element to write: attributes in order, then either text or children. */
export interface XmlNode {
  name: string;
  attrs?: Array<[string, string]>;
  text?: string;
  children?: Array<XmlNode | undefined>;
  /** Already serialized XML written as it is (a signed element carried verbatim); name is ignored. */
  raw?: string;
}

export function writeXml(root: XmlNode): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  const walk = (e: XmlNode, depth: number) => {
    const pad = '  '.repeat(depth);
    if (e.raw !== undefined) {
      out.push(`${pad}${e.raw}\n`);
      return;
    }
    const attrs = (e.attrs ?? []).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
    const kids = (e.children ?? []).filter((c): c is XmlNode => !!c);
    if (kids.length) {
      out.push(`${pad}<${e.name}${attrs}>\n`);
      for (const k of kids) walk(k, depth + 1);
      out.push(`${pad}</${e.name}>\n`);
    } else if (e.text !== undefined && e.text !== '') out.push(`${pad}<${e.name}${attrs}>${escapeXml(e.text)}</${e.name}>\n`);
    else out.push(`${pad}<${e.name}${attrs}/>\n`);
  };
  walk(root, 0);
  return out.join('');
}

// ---- reading a schema sequence -------------------------------------------------------------------

/**
 * Walks an element's children in schema order (xsd:sequence) within one namespace: elements of
 * other namespaces are extension points and skipped; anything else out of order is an error.
 */
export class Sequence {
  private i = 0;
  private readonly kids: XmlElement[];

  constructor(private readonly el: XmlElement, ns: string) {
    if (el.text.trim() !== '') throw new XmlError(`<${el.name}> has text beside its elements`, el.offset);
    this.kids = el.children.filter((c) => c.ns === ns);
  }

  opt(name: string): XmlElement | undefined {
    const c = this.kids[this.i];
    if (c && c.name === name) {
      this.i++;
      return c;
    }
    return undefined;
  }

  req(name: string): XmlElement {
    const c = this.opt(name);
    if (!c) throw new XmlError(`<${this.el.name}>: <${name}> expected${this.kids[this.i] ? `, found <${this.kids[this.i]!.name}>` : ''}`, this.kids[this.i]?.offset ?? this.el.offset);
    return c;
  }

  many(name: string): XmlElement[] {
    const out: XmlElement[] = [];
    for (let c = this.opt(name); c; c = this.opt(name)) out.push(c);
    return out;
  }

  end(): void {
    const c = this.kids[this.i];
    if (c) throw new XmlError(`<${this.el.name}>: unexpected <${c.name}>`, c.offset);
  }
}

/** The text of a leaf element (no child elements), trimmed. */
export function leafText(el: XmlElement): string {
  if (el.children.length) throw new XmlError(`<${el.name}> must hold text only`, el.offset);
  return el.text.trim();
}

// ---- Canonical XML 1.0 (http://www.w3.org/TR/2001/REC-xml-c14n-20010315, without comments) ----

function inScope(el: XmlElement): Map<string, string> {
  const chain: XmlElement[] = [];
  for (let e: XmlElement | undefined = el; e; e = e.parent) chain.unshift(e);
  const m = new Map<string, string>();
  for (const e of chain) for (const [p, u] of e.nsDecls) m.set(p, u);
  return m;
}

const c14nText = (s: string) => s.replace(/[&<>\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' })[c]!);
const c14nAttr = (s: string) => s.replace(/[&<"\t\n\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '"': '&quot;', '\t': '&#x9;', '\n': '&#xA;', '\r': '&#xD;' })[c]!);
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The canonical form (C14N 1.0, §2: a document subset of one element and its descendants) of
 * `el` in its document: the namespaces in scope are rendered on `el`, declarations below it
 * only where they change what is in scope; attributes sorted; empty elements as start-end pairs.
 */
export function canonicalize(el: XmlElement): string {
  const out: string[] = [];
  const walk = (e: XmlElement, rendered: Map<string, string>, scope: Map<string, string>) => {
    const own = new Map(scope);
    for (const [p, u] of e.nsDecls) own.set(p, u);
    const ns: Array<[string, string]> = [];
    for (const [p, u] of own) {
      if (p === 'xml') continue;
      if (p === '') {
        if ((rendered.get('') ?? '') !== u) ns.push(['', u]);
      } else if (rendered.get(p) !== u) ns.push([p, u]);
    }
    const next = new Map(rendered);
    for (const [p, u] of ns) next.set(p, u);
    ns.sort((a, b) => cmp(a[0], b[0]));
    const attrs = [...e.attrs].map(([q, v]) => {
      const k = q.indexOf(':');
      return { q, v, ns: k < 0 ? '' : own.get(q.slice(0, k)) ?? '', local: k < 0 ? q : q.slice(k + 1) };
    }).sort((a, b) => cmp(a.ns, b.ns) || cmp(a.local, b.local));
    out.push(`<${e.qname}`);
    for (const [p, u] of ns) out.push(p ? ` xmlns:${p}="${c14nAttr(u)}"` : ` xmlns="${c14nAttr(u)}"`);
    for (const a of attrs) out.push(` ${a.q}="${c14nAttr(a.v)}"`);
    out.push('>');
    for (const c of e.content) {
      if (typeof c === 'string') out.push(c14nText(c));
      else walk(c, next, own);
    }
    out.push(`</${e.qname}>`);
  };
  const scope = el.parent ? inScope(el.parent) : new Map<string, string>();
  walk(el, new Map(), scope);
  return out.join('');
}

/** Every element of the tree with the attribute `Id` equal to `id` (a signed reference must find exactly one). */
export function elementsById(root: XmlElement, id: string): XmlElement[] {
  const found: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.attrs.get('Id') === id) found.push(e);
    for (const c of e.children) walk(c);
  };
  walk(root);
  return found;
}
