// Key management carriage in SDP (`a=key-mgmt:<prot> <base64>`, RFC 4567 §3.1) and RTSP
// (`KeyMgmt: prot=mikey; uri="..."; data="..."`, RFC 4567 §3.2 with erratum 2247: a `data`
// parameter, and `uri` / `data` in any order), and the 463 response of §3.2 / §4.2.

/** Key-management protocol identifier of MIKEY (RFC 4567 §7). */
export const KMPID_MIKEY = 'mikey';

/** RTSP status code for a key management failure (RFC 4567 §3.2). */
export const RTSP_KEY_MANAGEMENT_FAILURE = 463;
export const RTSP_KEY_MANAGEMENT_FAILURE_REASON = 'Key management failure';

export interface KeyMgmtSpec {
  /** Key-management protocol identifier as written (KMPIDs are case sensitive, RFC 4567 §3). */
  prot: string;
  /** Base64 data as written. */
  data: string;
  /** RTSP only: the URI the spec applies to. */
  uri?: string;
  /** Where it was found: "session", "media N" (SDP) or "rtsp". */
  where: string;
}

/** KMPID = 1*(ALPHA / DIGIT) (RFC 4567 §3). */
export function isKmpid(s: string): boolean {
  return /^[A-Za-z0-9]+$/.test(s);
}

/** base64 as SDP defines it (RFC 4566 §9): groups of 4, '=' padding only at the end. */
export function isBase64(s: string): boolean {
  return s.length > 0 && s.length % 4 === 0 && /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(s);
}

export function toBase64(data: Uint8Array | string): string {
  return typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.length).toString('base64');
}

export class KeyMgmtSyntaxError extends Error {
  override readonly name = 'KeyMgmtSyntaxError';
}

// ---- SDP ---------------------------------------------------------------------------------------

const KEY_MGMT_VALUE = /^ ?([A-Za-z0-9]+) ([A-Za-z0-9+/=]+)$/;

/** Parse an `a=key-mgmt` value (`key-mgmt-att-value = 0*1SP prtcl-id SP keymgmt-data`, §3.1). */
export function parseKeyMgmtValue(value: string): { prot: string; data: string } {
  const m = KEY_MGMT_VALUE.exec(value.replace(/\r?\n$/, ''));
  if (!m || !isBase64(m[2]!)) throw new KeyMgmtSyntaxError(`not a key-mgmt attribute value: "${value.slice(0, 60)}"`);
  return { prot: m[1]!, data: m[2]! };
}

/** An `a=key-mgmt` line (RFC 4567 §3.1); `data` is the key management message or its base64. */
export function keyMgmtLine(prot: string, data: Uint8Array | string): string {
  if (!isKmpid(prot)) throw new KeyMgmtSyntaxError(`"${prot}" is not a KMPID (1*(ALPHA / DIGIT))`);
  const b64 = toBase64(data);
  if (!isBase64(b64)) throw new KeyMgmtSyntaxError('key management data is not base64');
  return `a=key-mgmt:${prot} ${b64}`;
}

/**
 * Every `a=key-mgmt` line of an SDP body, in order, with its level (session or the m-line
 * index). Lenient about surrounding whitespace, as `mikey decode` reads pasted text.
 */
export function findSdpKeyMgmt(sdp: string): KeyMgmtSpec[] {
  const out: KeyMgmtSpec[] = [];
  let media = -1;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) media++;
    const m = /^a=key-mgmt:\s*([^\s]+)\s+([A-Za-z0-9+/=]+)\s*$/.exec(line);
    if (m) out.push({ prot: m[1]!, data: m[2]!, where: media < 0 ? 'session' : `media ${media}` });
  }
  return out;
}

// ---- RTSP --------------------------------------------------------------------------------------

/** Split on `sep` outside double quotes (quoted-string of RFC 2326 §15.1 with backslash escapes). */
function splitUnquoted(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted && c === '\\' && i + 1 < s.length) {
      cur += c + s[++i]!;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted) throw new KeyMgmtSyntaxError('unterminated quoted string in KeyMgmt');
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  const t = v.trim();
  if (t.startsWith('"')) {
    if (t.length < 2 || !t.endsWith('"')) throw new KeyMgmtSyntaxError(`bad quoted string ${t.slice(0, 40)}`);
    return t.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return t;
}

export interface ParseKeyMgmtOptions {
  /** Refuse what the grammar does not allow (default false: read what deployed peers send). */
  strict?: boolean;
}

/**
 * Parse the value of an RTSP `KeyMgmt` header: specs separated by ',', each `prot=KMPID`
 * followed by `uri="URI"` and `data="base64"` in any order (erratum 2247), separated by ';'.
 * Quoted values may contain ',' and ';'. Strict mode refuses unquoted uri/data, unknown
 * parameters, a spec not starting with prot, and specs without data.
 */
export function parseRtspKeyMgmt(value: string, opts: ParseKeyMgmtOptions = {}): KeyMgmtSpec[] {
  const out: KeyMgmtSpec[] = [];
  for (const rawSpec of splitUnquoted(value, ',')) {
    if (rawSpec.trim() === '') {
      if (opts.strict) throw new KeyMgmtSyntaxError('empty key-mgmt-spec');
      continue;
    }
    const spec: Partial<KeyMgmtSpec> = { where: 'rtsp' };
    splitUnquoted(rawSpec, ';').forEach((param, i) => {
      if (param.trim() === '') return; // a trailing ';' as in the RFC's own ABNF
      const eq = param.indexOf('=');
      if (eq < 0) throw new KeyMgmtSyntaxError(`KeyMgmt parameter without '=': "${param.trim().slice(0, 40)}"`);
      const name = param.slice(0, eq).trim().toLowerCase();
      const raw = param.slice(eq + 1).trim();
      if (opts.strict && name !== 'prot' && !raw.startsWith('"')) throw new KeyMgmtSyntaxError(`${name} must be a quoted string`);
      const v = unquote(raw);
      if (name === 'prot') {
        if (opts.strict && i !== 0) throw new KeyMgmtSyntaxError('prot must come first in a key-mgmt-spec');
        if (!isKmpid(v)) throw new KeyMgmtSyntaxError(`"${v}" is not a KMPID`);
        if (spec.prot !== undefined) throw new KeyMgmtSyntaxError('prot given twice in one key-mgmt-spec');
        spec.prot = v;
      } else if (name === 'uri' || name === 'data') {
        if (spec[name] !== undefined) throw new KeyMgmtSyntaxError(`${name} given twice in one key-mgmt-spec`);
        spec[name] = v;
      } else if (opts.strict) throw new KeyMgmtSyntaxError(`unknown KeyMgmt parameter ${name}`);
    });
    if (spec.prot === undefined) throw new KeyMgmtSyntaxError('key-mgmt-spec without prot');
    if (spec.data === undefined) {
      if (opts.strict) throw new KeyMgmtSyntaxError(`key-mgmt-spec for ${spec.prot} without data`);
      continue;
    }
    if (!isBase64(spec.data.replace(/\s+/g, ''))) throw new KeyMgmtSyntaxError(`data of ${spec.prot} is not base64`);
    out.push({ prot: spec.prot, data: spec.data.replace(/\s+/g, ''), uri: spec.uri, where: 'rtsp' });
  }
  return out;
}

export interface KeyMgmtHeaderSpec {
  prot: string;
  data: Uint8Array | string;
  uri?: string;
}

/**
 * The value of an RTSP `KeyMgmt` header (RFC 4567 §3.2, erratum 2247): `prot=mikey; uri="...";
 * data="..."`, several specs joined by ", ". A URI with '"' or a control character is refused
 * (it cannot be a URI, RFC 3986 §2).
 */
export function buildRtspKeyMgmt(specs: readonly KeyMgmtHeaderSpec[]): string {
  if (!specs.length) throw new KeyMgmtSyntaxError('a KeyMgmt header needs at least one key-mgmt-spec');
  return specs.map((s) => {
    if (!isKmpid(s.prot)) throw new KeyMgmtSyntaxError(`"${s.prot}" is not a KMPID`);
    const b64 = toBase64(s.data);
    if (!isBase64(b64)) throw new KeyMgmtSyntaxError('key management data is not base64');
    const parts = [`prot=${s.prot}`];
    if (s.uri !== undefined) {
      if (/["\\\x00-\x20\x7f]/.test(s.uri)) throw new KeyMgmtSyntaxError(`"${s.uri}" is not a URI`);
      parts.push(`uri="${s.uri}"`);
    }
    parts.push(`data="${b64}"`);
    return parts.join('; ');
  }).join(', ');
}

/**
 * A 463 "Key management failure" response (RFC 4567 §3.2, §4.2), with the CSeq of the request
 * and, when given, a KeyMgmt header carrying the key management protocol's error message.
 */
export function rtspKeyMgmtFailure(cseq: number | string, opts: { session?: string; keyMgmt?: readonly KeyMgmtHeaderSpec[] } = {}): string {
  const lines = [`RTSP/1.0 ${RTSP_KEY_MANAGEMENT_FAILURE} ${RTSP_KEY_MANAGEMENT_FAILURE_REASON}`, `CSeq: ${cseq}`];
  if (opts.session) lines.push(`Session: ${opts.session}`);
  if (opts.keyMgmt?.length) lines.push(`KeyMgmt: ${buildRtspKeyMgmt(opts.keyMgmt)}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}
