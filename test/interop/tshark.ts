// tshark (Wireshark 4.0) as an independent MIKEY decoder: bytes in, field trees out.
// Independent of the wire codec: it only sees bytes, pcap frames and tshark's PDML.
//
// MIKEY field names in tshark 4.0 (full list with types: tshark-mikey-fields.txt):
//   payload nodes  mikey.hdr .kemac .pke .dh .sign .t .id .cert .chash .v .sp .rand .err .idr
//                  .key (key data inside KEMAC) .ext .sakke; an unknown payload is a node named ''
//   every payload  mikey.next_payload (not in HDR's node; SIGN has none)
//   HDR            mikey.version .type .next_payload .v.set .prf_func .csb_id .cs_count
//                  .cs_id_map_type; SRTP-ID map: mikey.srtp_id{.policy_no .ssrc .roc}
//   KEMAC          mikey.kemac.encr_alg .key_data_len (.key_data when encrypted) .mac_alg .mac
//   key data       mikey.key.type .kv .data.len .data .salt.len .salt .kv.spi.len .kv.spi
//                  .kv.from.len .kv.from .kv.to.len .kv.to
//   PKE            mikey.pke.c .len .data         DH     mikey.dh.group .value .reserv .kv
//   SIGN           mikey.sign.type .len .data     T      mikey.t.ts_type .ntp (NTP, NTP-UTC)
//   ID / IDR       mikey.id.type .len .data, IDR adds mikey.id.role
//   CERT           mikey.cert.type .len .data     V      mikey.v.auth_alg .ver_data
//   SP             mikey.sp.no .proto_type .param_len, then one node per parameter, named by type
//                  for SRTP (mikey.sp.encr_alg .encr_len .auth_alg .auth_key_len .salt_len .prf
//                  .kd_rate .srtp_encr .srtcp_encr .fec .srtp_auth .auth_tag_len .srtp_prefix),
//                  mikey.sp.param otherwise; each holds mikey.sp.param.type, mikey.sp.param.len
//                  and mikey.sp.patam.value (sic).
//   RAND           mikey.rand.len .data           ERR    mikey.err.no .reserved
//   General ext.   mikey.ext.type .len, then mikey.ext.value (SDP IDs) or mikey.ext.data
//   SAKKE          mikey.sakke.params .idscheme .len .data
// Quirks of the 4.0 dissector:
// - mikey.sp.param.type/len come with a wrong offset (about twice the real one); tsharkDecode
//   moves them to the two bytes before the parameter's value, after checking their raw bytes,
//   and lists each move in `fixups`.
// - only the first key data sub-payload of a KEMAC is dissected, and its next-payload byte is
//   never shown (coveredBytes counts it unless `strict`);
// - unknown payload types (13 TR, 15-17, 22-25, ...) end the dissection silently with an
//   unnamed node: no expert info, `complete` false, the rest uncovered. Likewise unknown
//   T types (3 NTP-UTC-32; COUNTER's value is not shown either), CS ID map types other than
//   SRTP-ID (map info assumed empty), DH KV data, CHASH content, zero-length SRTP parameters
//   (error 'Trying to fetch an unsigned integer with length 0');
// - mikey.cert.len is read one byte early (it overlaps the type byte); CERT data goes to
//   the X.509 dissector, which raises BER warnings on anything but a certificate.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UDP_PAYLOAD_OFFSET, writePcap } from './pcap.js';

export interface TsharkField {
  /** tshark field abbreviation, e.g. 'mikey.type'; '' for nodes tshark leaves unnamed. */
  name: string;
  /** tshark's shown value (PDML `show`), e.g. '0' or 'f0:f0:..' or a date for NTP. */
  show: string;
  /** tshark's label (PDML `showname`), e.g. 'Data Type: Pre-shared (0)'. */
  showname?: string;
  /** Raw value in hex (PDML `value`); for bit fields the masked value. */
  value?: string;
  /** Raw bytes under a bit field, hex (PDML `unmaskedvalue`). */
  unmasked?: string;
  /** Offset within the MIKEY payload (the UDP payload); -1 for expert details tshark places at 0. */
  pos: number;
  size: number;
  /** tshark marked the field hidden. */
  hidden?: boolean;
  children: TsharkField[];
}

export interface TsharkExpert {
  severity: 'chat' | 'note' | 'warn' | 'error' | 'comment' | string;
  message: string;
}

export interface TsharkPacket {
  /** Index of the payload in the input array. */
  index: number;
  /** The bytes that were sent (the UDP payload). */
  bytes: Uint8Array;
  /** The MIKEY protocol node (name 'mikey', showname 'Multimedia Internet KEYing: ...'); null if tshark did not dissect MIKEY. */
  mikey: TsharkField | null;
  /** The payload nodes: shorthand for mikey?.children ?? []. */
  fields: TsharkField[];
  /** The dissector walked the payload chain to its end: it then appends ': <data type name>'
   *  to the protocol item ('Unknown' for types it does not know); on an unknown payload or an
   *  unsupported field value it stops silently, without any expert info. */
  complete: boolean;
  /** tshark's protocol stack, e.g. 'eth:ethertype:ip:udp:mikey'. */
  protocols: string;
  /** A `_ws.malformed` node or an error-level `_ws.expert` anywhere in the packet. */
  malformed: boolean;
  expert: TsharkExpert[];
  /** Position corrections applied to work around dissector bugs (see the quirk note above). */
  fixups: string[];
}

export interface TsharkOptions {
  /** Kill tshark after this many ms (default 20000, plus 5 ms per packet). */
  timeoutMs?: number;
  /** UDP port the frames are sent to (default 2269; MIKEY is decoded on it). */
  dstPort?: number;
}

let problemCache: string | null | undefined;

/** null if `tshark` runs here, else why not. */
export function tsharkProblem(): string | null {
  if (problemCache !== undefined) return problemCache;
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) problemCache = `cannot run tshark: ${r.error.message}`;
  else if (r.status !== 0) problemCache = `tshark --version exited with ${r.status ?? r.signal}: ${r.stderr.trim().slice(0, 200)}`;
  else if (!/TShark/.test(r.stdout)) problemCache = `unexpected tshark --version output: ${r.stdout.slice(0, 100)}`;
  else problemCache = null;
  return problemCache;
}

/** tshark's version string, e.g. '4.0.17'. */
export function tsharkVersion(): string | null {
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return r.stdout?.match(/TShark \(Wireshark\) (\S+)/)?.[1] ?? null;
}

/** Decode all payloads with one tshark run. Rejects on a timeout or a tshark failure. */
export async function tsharkDecode(payloads: Uint8Array[], opts: TsharkOptions = {}): Promise<TsharkPacket[]> {
  const dstPort = opts.dstPort ?? 2269;
  const dir = mkdtempSync(join(tmpdir(), 'mikey-tshark-'));
  const file = join(dir, 'in.pcap');
  try {
    writeFileSync(file, writePcap(payloads, { dstPort }));
    const timeoutMs = opts.timeoutMs ?? 20_000 + 5 * payloads.length;
    // IPv4 checksum checking on: a bad frame then shows up as an error-level expert item
    const args = ['-n', '-r', file, '-T', 'pdml', '-o', 'ip.check_checksum:TRUE', '-d', `udp.port==${dstPort},mikey`];
    const pdml = await run('tshark', args, timeoutMs);
    const packets = parsePdml(pdml);
    if (packets.length !== payloads.length) {
      throw new Error(`tshark returned ${packets.length} packets for ${payloads.length} payloads`);
    }
    return packets.map((p, i) => toPacket(p, i, payloads[i]!));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 4000) err += d.toString('utf8');
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) reject(new Error(`${cmd} timed out after ${timeoutMs} ms`));
      else if (code !== 0) reject(new Error(`${cmd} exited with ${code ?? signal}: ${err.trim().slice(0, 500)}`));
      else resolve(Buffer.concat(out).toString('utf8'));
    });
  });
}

// ---- PDML parsing (PDML is a flat subset of XML: packet > proto > field*, attributes only) ----

/** A PDML element: packet, proto or field, with its attributes. */
export interface XNode {
  tag: string;
  attrs: Record<string, string>;
  children: XNode[];
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? m;
  });
}

/** The <packet> elements of a PDML document. */
export function parsePdml(xml: string): XNode[] {
  const root: XNode = { tag: '#root', attrs: {}, children: [] };
  const stack: XNode[] = [root];
  const tagRe = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*"[^"]*")*)\s*(\/?)>|<\?[\s\S]*?\?>|<!--[\s\S]*?-->/g;
  const attrRe = /([\w.:-]+)\s*=\s*"([^"]*)"/g;
  for (let m = tagRe.exec(xml); m; m = tagRe.exec(xml)) {
    const name = m[2];
    if (name === undefined) continue; // declaration or comment
    if (m[1] === '/') {
      const top = stack.pop();
      if (!top || top.tag !== name) throw new Error(`PDML: unbalanced </${name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (let a = attrRe.exec(m[3] ?? ''); a; a = attrRe.exec(m[3] ?? '')) attrs[a[1]!] = unescapeXml(a[2]!);
    attrRe.lastIndex = 0;
    const node: XNode = { tag: name, attrs, children: [] };
    stack[stack.length - 1]!.children.push(node);
    if (m[4] !== '/') stack.push(node);
  }
  if (stack.length !== 1) throw new Error('PDML: truncated document');
  const pdml = root.children.find((n) => n.tag === 'pdml');
  return pdml ? pdml.children.filter((n) => n.tag === 'packet') : [];
}

function walk(n: XNode, f: (n: XNode) => void): void {
  f(n);
  for (const c of n.children) walk(c, f);
}

function toField(n: XNode, base: number): TsharkField {
  const a = n.attrs;
  const abs = Number(a.pos ?? 0);
  const f: TsharkField = {
    name: a.name ?? '',
    show: a.show ?? a.showname ?? '',
    // expert details carry pos 0 whatever they refer to: -1 keeps them out of the payload
    pos: abs >= base ? abs - base : -1,
    size: Number(a.size ?? 0),
    children: n.children.filter((c) => c.tag === 'field' || c.tag === 'proto').map((c) => toField(c, base)),
  };
  if (a.showname !== undefined) f.showname = a.showname;
  if (a.value !== undefined) f.value = a.value;
  if (a.unmaskedvalue !== undefined) f.unmasked = a.unmaskedvalue;
  if (a.hide === 'yes') f.hidden = true;
  return f;
}

const SEVERITY: Record<string, string> = {
  '2097152': 'comment',
  '4194304': 'chat',
  '5242880': 'note',
  '6291456': 'warn',
  '8388608': 'error',
};

function toPacket(p: XNode, index: number, bytes: Uint8Array): TsharkPacket {
  const expert: TsharkExpert[] = [];
  let malformed = false;
  let protocols = '';
  walk(p, (n) => {
    const name = n.attrs.name;
    if (name === 'frame.protocols') protocols = n.attrs.show ?? '';
    if (name === '_ws.malformed' && n.tag === 'proto') malformed = true;
    if (name === '_ws.expert') {
      const sev = n.children.find((c) => c.attrs.name === '_ws.expert.severity')?.attrs.show ?? '';
      const msg = n.children.find((c) => c.attrs.name === '_ws.expert.message')?.attrs.show ?? n.attrs.showname ?? '';
      const severity = SEVERITY[sev] ?? sev;
      if (Number(sev) >= 8388608) malformed = true;
      expert.push({ severity, message: msg });
    }
  });
  const proto = p.children.find((c) => c.tag === 'proto' && c.attrs.name === 'mikey');
  const mikey = proto ? toField(proto, UDP_PAYLOAD_OFFSET) : null;
  const fixups: string[] = [];
  if (mikey) {
    mikey.show = proto!.attrs.showname ?? 'mikey';
    fixSpParams(mikey, bytes, fixups);
  }
  const complete = mikey !== null && /^Multimedia Internet KEYing: /.test(mikey.show) && !malformed;
  return { index, bytes, mikey, fields: mikey?.children ?? [], complete, protocols, malformed, expert, fixups };
}

function hexAt(bytes: Uint8Array, pos: number, size: number): string | null {
  if (pos < 0 || pos + size > bytes.length) return null;
  return Buffer.from(bytes.subarray(pos, pos + size)).toString('hex');
}

function fixSpParams(f: TsharkField, bytes: Uint8Array, fixups: string[]): void {
  for (const c of f.children) fixSpParams(c, bytes, fixups);
  const t = f.children.find((c) => c.name === 'mikey.sp.param.type');
  const l = f.children.find((c) => c.name === 'mikey.sp.param.len');
  if (!t || !l) return;
  // The parameter node spans its value; type and length are the two bytes before it.
  const valuePos = f.pos;
  for (const [field, want] of [[t, valuePos - 2], [l, valuePos - 1]] as const) {
    if (field.pos === want) continue;
    const raw = hexAt(bytes, want, 1);
    if (raw === null || raw !== field.value) continue; // leave it alone if the bytes disagree
    fixups.push(`${field.name} at ${field.pos} moved to ${want}`);
    field.pos = want;
  }
}

// ---- helpers for tests ----

/** All fields named `name` under `root` (depth first, document order). */
export function findFields(root: TsharkPacket | TsharkField | TsharkField[], name: string): TsharkField[] {
  const out: TsharkField[] = [];
  const visit = (f: TsharkField): void => {
    if (f.name === name) out.push(f);
    f.children.forEach(visit);
  };
  const list = Array.isArray(root) ? root : 'children' in root ? [root] : root.fields;
  list.forEach(visit);
  return out;
}

/** The first field named `name`, or undefined. */
export function findField(root: TsharkPacket | TsharkField | TsharkField[], name: string): TsharkField | undefined {
  return findFields(root, name)[0];
}

/** Leaf fields (no children, size > 0) in document order. */
export function leafFields(packet: TsharkPacket): TsharkField[] {
  const out: TsharkField[] = [];
  const visit = (f: TsharkField): void => {
    if (f.children.length === 0) {
      if (f.size > 0) out.push(f);
    } else f.children.forEach(visit);
  };
  packet.fields.forEach(visit);
  return out;
}

export interface CoverageOptions {
  /** Count only bytes under leaf fields. By default the next-payload byte of each key data
   *  sub-payload (the first byte of a 'mikey.key' node) also counts: tshark 4.0 reads it
   *  but never adds it to the tree. */
  strict?: boolean;
}

/** For each byte of the MIKEY payload: is it inside at least one leaf field of non-zero size? */
export function coveredBytes(packet: TsharkPacket, opts: CoverageOptions = {}): boolean[] {
  const covered = new Array<boolean>(packet.bytes.length).fill(false);
  const mark = (pos: number, size: number): void => {
    for (let i = Math.max(0, pos); i < Math.min(covered.length, pos + size); i++) covered[i] = true;
  };
  for (const f of leafFields(packet)) mark(f.pos, f.size);
  if (!opts.strict) {
    for (const k of findFields(packet, 'mikey.key')) {
      if (k.size > 0 && !k.children.some((c) => c.name === 'mikey.next_payload')) mark(k.pos, 1);
    }
  }
  return covered;
}

/** Uncovered byte ranges as [start, end) pairs; empty when tshark covered every byte. */
export function uncoveredRanges(packet: TsharkPacket, opts: CoverageOptions = {}): Array<[number, number]> {
  const cov = coveredBytes(packet, opts);
  const out: Array<[number, number]> = [];
  for (let i = 0; i < cov.length; i++) {
    if (cov[i]) continue;
    let j = i;
    while (j < cov.length && !cov[j]) j++;
    out.push([i, j]);
    i = j;
  }
  return out;
}

/** Leaf fields whose raw value disagrees with the bytes at their position (byte-sized, unmasked fields only). */
export function misplacedFields(packet: TsharkPacket): TsharkField[] {
  return leafFields(packet).filter((f) => {
    if (f.value === undefined || f.unmasked !== undefined || f.value.length !== f.size * 2) return false;
    return hexAt(packet.bytes, f.pos, f.size) !== f.value.toLowerCase();
  });
}

/** Indented text dump of a packet's MIKEY tree (for failure messages). */
export function dumpPacket(packet: TsharkPacket): string {
  const lines: string[] = [];
  const visit = (f: TsharkField, depth: number): void => {
    lines.push(`${'  '.repeat(depth)}${f.name || '(unnamed)'} @${f.pos}+${f.size} ${f.showname ?? f.show}`);
    f.children.forEach((c) => visit(c, depth + 1));
  };
  if (packet.mikey) visit(packet.mikey, 0);
  else lines.push('(no MIKEY)');
  return lines.join('\n');
}
