// Finding MIKEY data in SDP (`a=key-mgmt:mikey <base64>`) and RTSP (`KeyMgmt:` header),
// RFC 4567 §3.1 and §5 (with erratum 2247: the `data` parameter).

/** Key-management protocol identifier of MIKEY (RFC 4567 §4). */
export const KMPID_MIKEY = 'mikey';

export interface KeyMgmtSpec {
  /** Key-management protocol identifier, e.g. "mikey". */
  prot: string;
  /** Base64 data as written. */
  data: string;
  /** RTSP only: the URI the spec applies to. */
  uri?: string;
  /** Where it was found: "session", "media N" (SDP) or "rtsp". */
  where: string;
}

/** Every `a=key-mgmt` line of an SDP body, with its level (session or the m-line index). */
export function findSdpKeyMgmt(sdp: string): KeyMgmtSpec[] {
  const out: KeyMgmtSpec[] = [];
  let media = -1;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) media++;
    const m = /^a=key-mgmt:\s*([^\s]+)\s+([A-Za-z0-9+/=]+)\s*$/.exec(line);
    if (m) out.push({ prot: m[1]!.toLowerCase(), data: m[2]!, where: media < 0 ? 'session' : `media ${media}` });
  }
  return out;
}

/** Parse the value of an RTSP `KeyMgmt` header: `prot=mikey; uri="..."; data="..."`, several specs comma-separated. */
export function parseRtspKeyMgmt(value: string): KeyMgmtSpec[] {
  const out: KeyMgmtSpec[] = [];
  // a spec is a run of `name=value` parameters separated by ';'; specs are separated by ','
  const re = /\s*([A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,]*)\s*([;,]?)/g;
  let cur: Partial<KeyMgmtSpec> = {};
  const flush = () => {
    if (cur.prot && cur.data !== undefined) out.push({ prot: cur.prot.toLowerCase(), data: cur.data, uri: cur.uri, where: 'rtsp' });
    cur = {};
  };
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null && m[0].length > 0) {
    const name = m[1]!.toLowerCase();
    let v = m[2]!.trim();
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (name === 'prot') {
      if (cur.prot) flush();
      cur.prot = v;
    } else if (name === 'uri') cur.uri = v;
    else if (name === 'data') cur.data = v;
    if (m[3] === ',') flush();
  }
  flush();
  return out;
}
