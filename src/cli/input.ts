// Turning what a user pastes or points at into MIKEY message bytes.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { findSdpKeyMgmt, parseRtspKeyMgmt, KMPID_MIKEY, KeyMgmtSyntaxError } from '../sdp/keymgmt.js';
import { CaptureError, isCapture, readCapture } from './pcap.js';
import { DataError } from './args.js';

export interface FoundMessage {
  bytes: Uint8Array;
  /** Where the message came from: "hex", "base64", "sdp session", "rtsp", ... */
  source: string;
}

/** Input that holds no MIKEY message we can find: exit status 1. */
export class InputError extends DataError {
  override readonly name = 'InputError';
}

const HEX = /^(?:0x)?[0-9a-fA-F\s:]+$/;
const B64 = /^[A-Za-z0-9+/\s]+={0,2}\s*$/;

function b64(s: string, source: string): FoundMessage {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 4 !== 0 || !B64.test(clean)) throw new InputError(`${source}: not valid base64`);
  return { bytes: new Uint8Array(Buffer.from(clean, 'base64')), source };
}

/** Find MIKEY messages in text: hex, base64, SDP, an `a=key-mgmt` line, or an RTSP `KeyMgmt` header. */
export function messagesFromText(text: string): FoundMessage[] {
  const t = text.trim();
  if (t === '') throw new InputError('empty input');
  if (/a=key-mgmt:/i.test(t)) {
    const specs = findSdpKeyMgmt(t).filter((s) => s.prot === KMPID_MIKEY);
    if (!specs.length) {
      // a line naming mikey whose data is not base64 (RFC 4567 §3.1: key-mgmt-data is base64)
      const bad = /^\s*a=key-mgmt:\s*mikey\b\s*(.*)$/im.exec(t);
      if (bad) throw new InputError(`a=key-mgmt:mikey line: ${bad[1]!.trim() ? `data '${bad[1]!.trim().slice(0, 40)}' is not base64` : 'no data'}`);
      throw new InputError('SDP has no a=key-mgmt:mikey line');
    }
    return specs.map((s) => b64(s.data, `sdp ${s.where}`));
  }
  if (/(?:^|\n)\s*KeyMgmt\s*:/i.test(t) || /^prot\s*=/i.test(t)) {
    const line = /(?:^|\n)\s*KeyMgmt\s*:\s*([^\r\n]*)/i.exec(t)?.[1] ?? t;
    let parsed;
    try {
      parsed = parseRtspKeyMgmt(line);
    } catch (e) {
      if (e instanceof KeyMgmtSyntaxError) throw new InputError(`KeyMgmt header: ${e.message}`);
      throw e;
    }
    const specs = parsed.filter((s) => s.prot === KMPID_MIKEY);
    if (!specs.length) throw new InputError('KeyMgmt header has no prot=mikey spec with data');
    return specs.map((s) => b64(s.data, s.uri ? `rtsp ${s.uri}` : 'rtsp'));
  }
  if (HEX.test(t)) {
    const clean = t.replace(/^0x/, '').replace(/[\s:]/g, '');
    if (clean.length % 2 !== 0) throw new InputError('hex input has an odd number of digits');
    return [{ bytes: new Uint8Array(Buffer.from(clean, 'hex')), source: 'hex' }];
  }
  if (B64.test(t)) return [b64(t, 'base64')];
  throw new InputError('input is neither hex, base64, SDP nor an RTSP KeyMgmt header');
}

/** What INPUT holds: the messages, and warnings (a capture cut short). */
export interface Inputs {
  messages: FoundMessage[];
  warnings: string[];
}

const TEXT = /^[\x09\x0a\x0d\x20-\x7e]*$/;

/** INPUT may be a file path, a literal (hex, base64, SDP, header), or "-"/absent for stdin. */
export function readInputs(arg: string | undefined): Inputs {
  if (arg === undefined || arg === '-') return fromBytes(readFileSync(0), 'stdin');
  if (existsSync(arg)) {
    if (statSync(arg).isDirectory()) throw new InputError(`${arg}: is a directory, not a file`);
    return fromBytes(readFileSync(arg), arg);
  }
  try {
    return { messages: messagesFromText(arg), warnings: [] };
  } catch (e) {
    // one word with a path separator or a file extension, and not a message: a file that is not there
    if (e instanceof InputError && /^[^\s=]*[/\\.][^\s]*$/.test(arg) && !/^[A-Za-z0-9+/]+={0,2}$/.test(arg)) throw new InputError(`${arg}: no such file`);
    // one word that is not a message either: it may have been meant as a file name
    if (e instanceof InputError && /^\S+$/.test(arg)) throw new InputError(`${arg}: no such file, and not a message (${e.message})`);
    throw e;
  }
}

/** A file's or standard input's bytes: a capture, text in one of the text forms, or a raw message. */
function fromBytes(raw: Buffer, name: string): Inputs {
  // a pcap or pcapng capture: MIKEY on UDP 2269, in SIP/RTSP SDP and in RTSP KeyMgmt
  if (isCapture(raw)) return fromCapture(raw, name);
  const asText = raw.toString('latin1');
  // a binary file is a raw MIKEY message; a text file holds one of the text forms
  if (TEXT.test(asText)) return { messages: messagesFromText(asText).map((m) => ({ ...m, source: `${name} (${m.source})` })), warnings: [] };
  return { messages: [{ bytes: new Uint8Array(raw), source: name }], warnings: [] };
}

function fromCapture(raw: Buffer, name: string): Inputs {
  let found: { messages: FoundMessage[]; warning?: string };
  try {
    found = readCapture(new Uint8Array(raw.buffer, raw.byteOffset, raw.length));
  } catch (e) {
    if (e instanceof CaptureError) throw new InputError(`${name}: ${e.message}`);
    throw e;
  }
  const warnings = found.warning ? [`${name}: ${found.warning}`] : [];
  if (!found.messages.length) {
    throw new InputError(`${name}: no MIKEY message in the capture (UDP 2269, SDP a=key-mgmt, RTSP KeyMgmt)${found.warning ? `; ${found.warning}` : ''}`);
  }
  return { messages: found.messages, warnings };
}
