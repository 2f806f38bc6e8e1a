// RTSP messages as far as key management needs them (RFC 2326 §6-§7, RFC 4567 §4.2): requests
// with a KeyMgmt header (SETUP), a SET_PARAMETER carrying a new MIKEY message (re-keying, as
// gst-rtsp-server reads it: "KeyMgmt: ..." lines in a text/parameters body), responses with
// their headers and body, the 463 status.
import { buildRtspKeyMgmt, parseRtspKeyMgmt, type KeyMgmtHeaderSpec, type KeyMgmtSpec } from './keymgmt.js';

export interface RtspRequest {
  method: string;
  uri: string;
  headers: Record<string, string>;
  body?: string;
}

export interface RtspResponse {
  status: number;
  reason: string;
  /** Header names lower-cased; repeated headers joined with ", " (RFC 2616 §4.2). */
  headers: Record<string, string>;
  body: string;
}

/** Serialize a request; Content-Length is added for a body. */
export function buildRtspRequest(r: RtspRequest): string {
  const lines = [`${r.method} ${r.uri} RTSP/1.0`];
  for (const [k, v] of Object.entries(r.headers)) {
    if (/[\r\n]/.test(v)) throw new TypeError(`header ${k} contains a line break`);
    lines.push(`${k}: ${v}`);
  }
  const body = r.body ?? '';
  if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * Read one response from the front of `buf`. Returns undefined while incomplete, else the
 * response and the bytes it used. Interleaved binary data ($, RFC 2326 §10.12) is skipped.
 */
export function parseRtspResponse(buf: Buffer): { response: RtspResponse; used: number } | undefined {
  let start = 0;
  while (start + 4 <= buf.length && buf[start] === 0x24) start += 4 + buf.readUInt16BE(start + 2);
  const end = buf.indexOf('\r\n\r\n', start);
  if (end < 0) return undefined;
  const head = buf.subarray(start, end).toString('latin1').split('\r\n');
  const m = /^RTSP\/1\.0 (\d{3}) ?(.*)$/.exec(head[0] ?? '');
  if (!m) throw new SyntaxError(`not an RTSP response: "${(head[0] ?? '').slice(0, 60)}"`);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const c = line.indexOf(':');
    if (c < 0) continue;
    const k = line.slice(0, c).trim().toLowerCase();
    const v = line.slice(c + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  const len = Number(headers['content-length'] ?? 0);
  if (buf.length < end + 4 + len) return undefined;
  return { response: { status: Number(m[1]), reason: m[2]!, headers, body: buf.subarray(end + 4, end + 4 + len).toString('utf8') }, used: end + 4 + len };
}

/** The KeyMgmt specs of a response (463 or SETUP reply) or request headers. */
export function keyMgmtOf(headers: Record<string, string>): KeyMgmtSpec[] {
  const v = Object.entries(headers).find(([k]) => k.toLowerCase() === 'keymgmt')?.[1];
  return v === undefined ? [] : parseRtspKeyMgmt(v);
}

/**
 * A SETUP request carrying the client's MIKEY answer (RFC 4567 §4.2): `uri` of the KeyMgmt spec
 * is the aggregate control URI for a session-level message, the media URI for a media-level one.
 */
export function setupRequest(o: { uri: string; cseq: number; transport: string; keyMgmt: readonly KeyMgmtHeaderSpec[]; session?: string; headers?: Record<string, string> }): RtspRequest {
  const headers: Record<string, string> = { CSeq: String(o.cseq), Transport: o.transport, KeyMgmt: buildRtspKeyMgmt(o.keyMgmt), ...o.headers };
  if (o.session) headers['Session'] = o.session;
  return { method: 'SETUP', uri: o.uri, headers };
}

/** Re-keying in an established session: SET_PARAMETER with the new message in a KeyMgmt line. */
export function rekeyRequest(o: { uri: string; cseq: number; session: string; keyMgmt: readonly KeyMgmtHeaderSpec[] }): RtspRequest {
  return {
    method: 'SET_PARAMETER', uri: o.uri,
    headers: { CSeq: String(o.cseq), Session: o.session, 'Content-Type': 'text/parameters' },
    body: `KeyMgmt: ${buildRtspKeyMgmt(o.keyMgmt)}\r\n`,
  };
}

/** The KeyMgmt lines of a text/parameters body (SET_PARAMETER re-key). */
export function keyMgmtOfParameters(body: string): KeyMgmtSpec[] {
  return body.split(/\r?\n/).flatMap((l) => {
    const m = /^\s*KeyMgmt\s*:\s*(.*)$/i.exec(l);
    return m ? parseRtspKeyMgmt(m[1]!) : [];
  });
}
