// Turning what a user pastes or points at into MIKEY message bytes.
import { existsSync, readFileSync } from 'node:fs';
import { findSdpKeyMgmt, parseRtspKeyMgmt, KMPID_MIKEY, KeyMgmtSyntaxError } from '../sdp/keymgmt.js';
import { CaptureError, isCapture, messagesFromCapture } from './pcap.js';

export interface FoundMessage {
  bytes: Uint8Array;
  /** Where the message came from: "hex", "base64", "sdp session", "rtsp", ... */
  source: string;
}

export class InputError extends Error {
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
    if (!specs.length) throw new InputError('SDP has no a=key-mgmt:mikey line');
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

/** INPUT may be a file path, a literal (hex, base64, SDP, header), or "-"/absent for stdin. */
export function readInput(arg: string | undefined): FoundMessage[] {
  if (arg === undefined || arg === '-') {
    const raw = readFileSync(0);
    if (isCapture(raw)) return fromCapture(raw, 'stdin');
    return messagesFromText(raw.toString('utf8'));
  }
  if (existsSync(arg)) {
    const raw = readFileSync(arg);
    // a pcap or pcapng capture: MIKEY on UDP 2269, in SIP/RTSP SDP and in RTSP KeyMgmt
    if (isCapture(raw)) return fromCapture(raw, arg);
    const asText = raw.toString('utf8');
    // a binary file is a raw MIKEY message; a text file holds one of the text forms
    if (/^[\x09\x0a\x0d\x20-\x7e]*$/.test(asText)) return messagesFromText(asText).map((m) => ({ ...m, source: `${arg} (${m.source})` }));
    return [{ bytes: new Uint8Array(raw), source: arg }];
  }
  return messagesFromText(arg);
}

function fromCapture(raw: Buffer, name: string): FoundMessage[] {
  let found: FoundMessage[];
  try {
    found = messagesFromCapture(new Uint8Array(raw.buffer, raw.byteOffset, raw.length));
  } catch (e) {
    if (e instanceof CaptureError) throw new InputError(`${name}: ${e.message}`);
    throw e;
  }
  if (!found.length) throw new InputError(`${name}: no MIKEY message in the capture (UDP 2269, SDP a=key-mgmt, RTSP KeyMgmt)`);
  return found;
}
