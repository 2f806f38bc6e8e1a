// The expected Error no of a flipped bit, from where it lies in the message (RFC 3830 §6 field
// layouts) and the responder's processing order (RFC 3830 §5.3): parse, then T, then ID and
// algorithms, then the MAC or signature, and only then the rest. A bit that breaks parsing
// gets the code of the field whose value decides the layout (Invalid DT, Invalid TS, Invalid
// MAC, ...) or Unsupported message type (RFC 4738 §3.5: "cannot correctly parse"); a bit in
// a field the MAC or signature covers gets Auth failure.
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessageWithSpans, ErrorNo, MikeyDecodeError, PayloadType, TsType } from '../../src/wire/index.js';
import type { Message, Payload } from '../../src/wire/index.js';
import { MikeyErrorMessage, MikeyProtocolError } from '../../src/session/errors.js';
import { ntpToMs } from '../../src/session/time.js';

/** What the field a bit lies in is, for the processing order. */
export type FieldKind =
  | 'version' | 'dataType' | 'framing' | 'chain' | 'prf' | 'csb' | 'tsType' | 'ts' | 'encrAlg' | 'macAlg' | 'cert'
  | 'tag' | 'sigType' | 'id' | 'covered' | 'dhGroup' | 'role' | 'idType' | 'selector';

export interface Field {
  /** e.g. `HDR.data type`, `KEMAC[6].MAC`. */
  name: string;
  kind: FieldKind;
  /** The payload type (-1: the common header). */
  payload: number;
  start: number;
  end: number;
}

/** The codes a flip may yield, and why (one code, or two with the reason there are two). */
export interface Expectation {
  codes: readonly number[];
  /** The receiver reads the flipped message as an (unauthenticated) Error message. */
  errorMessage?: boolean;
  /** The receiver may answer it without keys (RFC 6267 I_MESSAGE_1, which nothing authenticates). */
  answered?: boolean;
  why: string;
}

const PT = PayloadType;
const NAME: Record<number, string> = Object.fromEntries(Object.entries(PayloadType).map(([k, v]) => [v, k.toUpperCase()]));

/**
 * The fields of `bytes`, found through the spans `encodeMessageWithSpans` gives for its decoded
 * form (which must encode back to the same bytes).
 */
export function fieldsOf(bytes: Uint8Array): Field[] {
  const msg = decodeMessage(bytes) as Message;
  const enc = encodeMessageWithSpans({ header: { ...msg.header, span: undefined }, payloads: msg.payloads });
  assert.deepEqual(Buffer.from(enc.bytes), Buffer.from(bytes), 'the message encodes back to its bytes');
  const out: Field[] = [];
  const add = (payload: number, label: string, name: string, kind: FieldKind, start: number, end: number) => {
    if (end > start) out.push({ name: `${label}.${name}`, kind, payload, start, end });
  };
  const h = enc.header.start;
  add(-1, 'HDR', 'version', 'version', h, h + 1);
  add(-1, 'HDR', 'data type', 'dataType', h + 1, h + 2);
  add(-1, 'HDR', 'next payload', 'framing', h + 2, h + 3);
  out.push({ name: 'HDR.V', kind: 'covered', payload: -1, start: h + 3, end: h + 4 }); // bit 0 of byte 3 only: see kindAt
  add(-1, 'HDR', 'CSB ID', 'csb', h + 4, h + 8);
  add(-1, 'HDR', '#CS', 'framing', h + 8, h + 9);
  add(-1, 'HDR', 'CS ID map type', 'framing', h + 9, h + 10);
  add(-1, 'HDR', 'CS ID map info', msg.header.csIdMap.type === 0 ? 'covered' : 'chain', h + 10, enc.header.end);
  msg.payloads.forEach((p: Payload, i) => {
    const s = enc.spans.get(p)!;
    const a = s.start;
    const e = s.end;
    const L = `${NAME[p.type] ?? p.type}[${i}]`;
    const f = (name: string, kind: FieldKind, from: number, to: number) => add(p.type, L, name, kind, from, to);
    if (p.type !== PT.Sign) f('next payload', 'framing', a, a + 1);
    switch (p.type) {
      case PT.Kemac: {
        const n = e - a - 5 - p.mac.length;
        f('encr alg', 'encrAlg', a + 1, a + 2); f('encr data len', 'framing', a + 2, a + 4); f('encr data', 'covered', a + 4, a + 4 + n);
        f('MAC alg', 'macAlg', a + 4 + n, a + 5 + n); f('MAC', 'tag', a + 5 + n, e);
        break;
      }
      case PT.Pke: f('C and data len', 'framing', a + 1, a + 3); f('data', 'covered', a + 3, e); break;
      case PT.Dh: f('DH-Group', 'dhGroup', a + 1, a + 2); f('DH value', 'covered', a + 2, a + 2 + p.value.length); f('Reserved and KV', 'framing', a + 2 + p.value.length, e); break;
      case PT.Sign: f('S type', 'sigType', a, a + 1); f('Signature len', 'framing', a, a + 2); f('Signature', 'tag', a + 2, e); break;
      case PT.T: f('TS type', 'tsType', a + 1, a + 2); f('TS value', 'ts', a + 2, e); break;
      case PT.Id: f('ID type', 'idType', a + 1, a + 2); f('ID len', 'framing', a + 2, a + 4); f('ID data', 'id', a + 4, e); break;
      case PT.Cert: f('Cert type', 'cert', a + 1, a + 2); f('Cert len', 'framing', a + 2, a + 4); f('Cert data', 'cert', a + 4, e); break;
      case PT.Chash: f('Hash func', 'framing', a + 1, a + 2); f('Hash', 'covered', a + 2, e); break;
      case PT.V: f('Auth alg', 'macAlg', a + 1, a + 2); f('Ver data', 'tag', a + 2, e); break;
      case PT.Sp: f('Policy no', 'covered', a + 1, a + 2); f('Prot type', 'covered', a + 2, a + 3); f('Policy param len', 'framing', a + 3, a + 5); f('Policy params', 'chain', a + 5, e); break;
      case PT.Rand: f('RAND len', 'framing', a + 1, a + 2); f('RAND', 'covered', a + 2, e); break;
      case PT.Idr: f('ID role', 'role', a + 1, a + 2); f('ID type', 'idType', a + 2, a + 3); f('ID len', 'framing', a + 3, a + 5); f('ID data', 'id', a + 5, e); break;
      case PT.Randr: f('RAND role', 'role', a + 1, a + 2); f('RAND len', 'framing', a + 2, a + 3); f('RAND', 'covered', a + 3, e); break;
      case PT.GeneralExt: f('Type', 'covered', a + 1, a + 2); f('Length', 'framing', a + 2, a + 4); f('Data', 'chain', a + 4, e); break;
      case PT.Ibake: case PT.Esk: f('length', 'framing', a + 1, a + 3); f('encr data', 'covered', a + 3, e); break;
      case PT.Sakke: f('SAKKE params', 'selector', a + 1, a + 2); f('ID scheme', 'selector', a + 2, a + 3); f('SAKKE data len', 'framing', a + 3, a + 5); f('SAKKE data', 'covered', a + 5, e); break;
      default: f('body', 'chain', a + 1, e); // TP, TICKET, ...: nested chains the decoder reads
    }
  });
  return out;
}

/** The field bit `bit` (MSB first) lies in; byte 3 of the header and the SIGN's first byte are split by bits. */
export function fieldAt(fields: readonly Field[], bit: number): Field {
  const byte = bit >> 3;
  const inByte = bit & 7;
  const hits = fields.filter((f) => byte >= f.start && byte < f.end);
  assert.ok(hits.length, `bit ${bit}: no field`);
  const first = hits[0]!;
  if (first.name === 'HDR.V' && inByte > 0) return { ...first, name: 'HDR.PRF func', kind: 'prf' };
  if (first.kind === 'sigType' && inByte >= 4) return hits[1]!; // the low 4 bits begin the 12-bit Signature len
  return first;
}

export interface ClassifyContext {
  now: number;
  maxSkewMs: number;
  /** PRF funcs the receiver supports (RFC 3830 Table 6.1.c, RFC 6043 Table 6.3). */
  prfs?: readonly number[];
  /** KEMAC encr algs the receiver accepts. */
  encrAlgs?: readonly number[];
  /** The receiver is an initiator reading an answer to its own message (it chose the PRF; it takes Error messages). */
  answer?: boolean;
  /** The answer echoes the initiator's T (RFC 3830 §3.1, §3.2). */
  echoesT?: boolean;
  /** Authenticated by a signature: the KEMAC's encryption algorithm is content the signature covers. */
  signed?: boolean;
  /** Nothing authenticates the message (RFC 6267 I_MESSAGE_1): a change the responder does not notice is answered, without keys. */
  unauthenticated?: boolean;
  /** Method-specific rules, tried first (each says which RFC clause it follows). */
  override?: (f: Field, flipped: Uint8Array) => Expectation | undefined;
}

/** The expected outcome of flipping `bit` of `original`, following RFC 3830 §5.3. */
export function classify(original: Uint8Array, fields: readonly Field[], bit: number, ctx: ClassifyContext): { field: Field; expect: Expectation } {
  const field = fieldAt(fields, bit);
  const flipped = Uint8Array.from(original);
  flipped[bit >> 3]! ^= 0x80 >> (bit & 7);
  const e = ctx.override?.(field, flipped) ?? expectation(field, flipped, flipped[bit >> 3]!, { ...ctx, original });
  if (ctx.unauthenticated && e.codes.includes(ErrorNo.AuthFailure)) {
    const sp = field.payload === PT.Sp ? [ErrorNo.InvalidSp, ErrorNo.InvalidSpPar] : [];
    return { field, expect: { ...e, codes: [...e.codes, ...sp], answered: true, why: `${e.why}; but nothing authenticates this message (RFC 6267 §4.2.2): answered without keys unless the IBE ciphertext fails to decrypt (Auth failure)${sp.length ? ' or the policy falls below the local minimum, checked before any work (Invalid SP, Invalid SPpar)' : ''}` } };
  }
  return { field, expect: e };
}

function expectation(field: Field, flipped: Uint8Array, b: number, ctx: ClassifyContext & { original?: Uint8Array }): Expectation {
  let parsed: ReturnType<typeof decodeMessage> | undefined;
  let parseError: MikeyDecodeError | undefined;
  try {
    parsed = decodeMessage(flipped);
  } catch (e) {
    if (!(e instanceof MikeyDecodeError)) throw e;
    parseError = e;
  }
  const parse = (): Expectation => ({ codes: [parseError!.errorNo], why: `does not parse (${parseError!.reason}): the code of the field that decides the layout, else Unsupported message type (RFC 4738 §3.5)` });
  const auth: Expectation = { codes: [ErrorNo.AuthFailure], why: 'covered by the MAC/signature, which no longer verifies (§5.3)' };
  const reparsed = (...more: number[]): Expectation => ({
    codes: [ErrorNo.UnsupportedMessageType, ErrorNo.AuthFailure, ...more],
    why: 'reparses as another message: refused by the method\'s layout check (Unsupported message type), or, where the layout fits, its MAC/signature fails (Auth failure)',
  });
  switch (field.kind) {
    case 'version': return parseError ? parse() : { codes: [ErrorNo.UnsupportedMessageType], why: 'version must be 1' };
    case 'dataType': {
      if (parseError) return parse();
      if (ctx.answer && parsed!.header.dataType === 6) return { codes: [], errorMessage: true, why: 'now an Error message (unauthenticated): the initiator reports it as such' };
      if (ctx.answer) return { codes: [ErrorNo.InvalidDt, ErrorNo.UnsupportedMessageType], why: 'not the answer expected; no RFC fixes the initiator\'s code: Invalid DT ("not supported Data type", Table 6.12) or Message type not supported (RFC 4738 §3.5)' };
      return { codes: [ErrorNo.UnsupportedMessageType], why: 'a message type this responder does not support (RFC 4738 §3.5: "Message type not supported", 13); unknown values fail to parse (Invalid DT)' };
    }
    case 'framing': {
      if (parseError) return parse();
      // a reparse that makes a CERT of other bytes: the credential is checked before the signature
      const certs = (m: { payloads: readonly Payload[] }) => m.payloads.filter((p) => p.type === PT.Cert).map((p) => p.type === PT.Cert && Buffer.from(p.data).toString('hex')).join();
      return certs(parsed!) !== certs(decodeMessage(ctx.original!)) ? reparsed(ErrorNo.InvalidCert) : reparsed();
    }
    case 'chain':
      if (!parseError && field.payload === PT.Ticket) {
        return { codes: [ErrorNo.AuthFailure, ErrorNo.InvalidTicket, ErrorNo.InvalidTpPar], why: 'the ticket is read before the V can be checked: its policy early (RFC 6043 §4.2.2.2: Invalid TPpar, Invalid TICKET), its MAC by the KMS (§5: Invalid TICKET); what both pass fails the V' };
      }
      return parseError ? parse() : auth;
    case 'tsType': return parseError ? parse() : reparsed(ErrorNo.InvalidTs);
    case 'macAlg': return parseError ? parse() : reparsed(ErrorNo.InvalidMac);
    case 'dhGroup': return parseError ? parse() : reparsed(ErrorNo.InvalidDh);
    case 'sigType': return parseError ? parse() : {
      codes: [ErrorNo.AuthFailure, ErrorNo.UnsupportedMessageType],
      why: 'a signature of another S type the receiver supports does not verify (§5.3); one it does not support has no Error no of its own (Unsupported message type)',
    };
    case 'prf': {
      if (parseError) return parse();
      const ok = (ctx.prfs ?? [0, 1]).includes(parsed!.header.prfFunc);
      if (ctx.signed && !ok) return { codes: [ErrorNo.InvalidPrf, ErrorNo.AuthFailure], why: 'signed: the PRF is not needed to verify the signature, so a receiver refuses an unsupported one with the header (Invalid PRF) or after the signature failed (Auth failure)' };
      if (ctx.answer) return { codes: [ErrorNo.AuthFailure, ErrorNo.UnsupportedMessageType], why: 'the initiator chose the PRF: an answer whose header differs from its request is not its answer (Unsupported message type), or the MAC/signature over the header fails' };
      return ok ? auth : { codes: [ErrorNo.InvalidPrf], why: 'an unsupported PRF func: the keys to verify with cannot be derived (§5.3: algorithms before the MAC)' };
    }
    case 'encrAlg': {
      if (parseError) return parse();
      if (ctx.signed) return { ...auth, why: 'the KEMAC is content the signature covers; it is read after the signature verified (§5.3)' };
      const ok = (ctx.encrAlgs ?? [1, 2, 3]).includes(b);
      return ok ? auth : { codes: [ErrorNo.InvalidEa], why: 'an encryption algorithm the receiver does not accept (§5.3: algorithms before the MAC)' };
    }
    case 'ts': {
      if (parseError) return parse();
      if (ctx.echoesT) return { codes: [ErrorNo.InvalidTs], why: 'the answer does not echo our T (§3.1, §3.2)' };
      const t = parsed!.payloads.find((p) => p.type === PT.T)!;
      if (t.type === PT.T && t.tsType !== TsType.Counter && Math.abs(ntpToMs(t.value) - ctx.now) > ctx.maxSkewMs) {
        return { codes: [ErrorNo.InvalidTs], why: 'T outside the allowed skew: checked first (§5.3)' };
      }
      return { codes: [ErrorNo.AuthFailure], why: 'T still inside the skew: the MAC/signature over it fails (§5.3)' };
    }
    case 'cert': {
      if (parseError) return parse();
      if (field.name.endsWith('Cert type')) {
        return b === 0 || b === 2 ? { ...auth, why: 'another X.509v3 certificate type: the signature over it fails' } : { codes: [ErrorNo.InvalidCert], why: 'a certificate type not supported (Table 6.12)' };
      }
      return {
        codes: [ErrorNo.InvalidCert, ErrorNo.AuthFailure],
        why: 'the signature covers the certificate: a receiver that validates the chain first says Invalid Cert, one that verifies with the leaf key first (one RSA verification, not a chain: RSA-R) says Auth failure; both follow §5.3 (extract the ID, verify)',
      };
    }
    case 'role': return parseError ? parse() : {
      codes: [ErrorNo.UnsupportedMessageType, ErrorNo.InvalidId, ErrorNo.AuthFailure],
      why: 'a RAND or ID in another role (RFC 6043 §6.6, §6.9): the payload the method needs is missing (Unsupported message type), an identity is looked up in the wrong role before the MAC (§5.3 "extract the ID": Invalid ID), or the MAC fails',
    };
    case 'idType': return parseError ? parse() : {
      codes: [ErrorNo.InvalidId, ErrorNo.AuthFailure],
      why: 'an ID type the receiver does not support is Invalid ID ("ID not supported", Table 6.12) when it reads the ID before the MAC; otherwise the MAC/signature fails',
    };
    case 'selector': return parseError ? parse() : {
      codes: [ErrorNo.UnsupportedMessageType, ErrorNo.AuthFailure],
      why: 'a SAKKE parameter set or identifier scheme the receiver does not support (RFC 6509 §4.2): no Error no names it, so Unsupported message type; one it supports fails the signature',
    };
    case 'id': return parseError ? parse() : {
      codes: [ErrorNo.InvalidId, ErrorNo.AuthFailure],
      why: '§5.3 extracts the ID before the MAC/signature: an identity the receiver does not know, or that is not its own, is Invalid ID; one that leads to the same key fails the MAC/signature',
    };
    case 'csb':
      if (!parseError && ctx.answer) return { codes: [ErrorNo.AuthFailure, ErrorNo.UnsupportedMessageType], why: 'an answer for another CSB: not the answer to our request (Unsupported message type), or its MAC/signature fails' };
      return parseError ? parse() : auth;
    case 'covered': case 'tag': return parseError ? parse() : auth;
  }
}

/** Feed `receive` every bit of `original` flipped (or those `pick` selects), check each outcome. */
export async function tamper(
  what: string, original: Uint8Array, receive: (b: Uint8Array) => unknown, ctx: ClassifyContext, pick: (bit: number, f: Field) => boolean = () => true,
): Promise<{ flips: number; byCode: Map<string, number> }> {
  assert.ok(original?.length, `${what}: no message`);
  const fields = fieldsOf(original);
  const byCode = new Map<string, number>();
  const wrong: string[] = [];
  let flips = 0;
  for (let bit = 0; bit < original.length * 8; bit++) {
    const f0 = fieldAt(fields, bit);
    if (!pick(bit, f0)) continue;
    flips++;
    const { field, expect } = classify(original, fields, bit, ctx);
    const m = Uint8Array.from(original);
    m[bit >> 3]! ^= 0x80 >> (bit & 7);
    let got: string;
    try {
      const r = await receive(m) as { keyed?: boolean } | undefined;
      got = ctx.unauthenticated && r?.keyed === false ? 'answered' : 'ACCEPTED';
    } catch (e) {
      if (e instanceof MikeyProtocolError) got = String(e.errorNo);
      else if (e instanceof MikeyErrorMessage && !e.authenticated) got = 'Error message';
      else got = `${(e as Error)?.name}: ${(e as Error)?.message}`;
    }
    const ok = got === 'Error message' ? expect.errorMessage === true : got === 'answered' ? expect.answered === true : expect.codes.map(String).includes(got);
    byCode.set(got, (byCode.get(got) ?? 0) + 1);
    if (!ok) wrong.push(`bit ${bit} (byte ${bit >> 3}) in ${field.name}: got ${got}, expected ${expect.errorMessage ? 'an Error message' : expect.codes.join(' or ')} (${expect.why})`);
  }
  assert.deepEqual(wrong.slice(0, 12), [], `${what}: ${wrong.length} of ${flips} flips answered against the processing order`);
  return { flips, byCode };
}
