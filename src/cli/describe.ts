// A field tree of a decoded message with registry names, printed like `tshark -V` or as JSON.
import {
  CertType, CsIdMapType, DataType, DhGroup, EccCurve, EncrAlg, ErrorNo, GeneralExtType, HashFunc,
  IdRole, IdType, KeyDataType, KeyIdType, KvType, MacAlg, OmaBcastSubtype, PayloadType, PkeCache,
  PrfFunc, ProtType, RandRole, SakkeIdScheme, SakkeParams, SignType, SkType, SrtpAuthAlg, SrtpEncrAlg,
  SrtpParam, SrtpPrf, FecOrder, TeslaParam, TicketType, TsRole, TsType, registryInfo,
} from '../wire/registry.js';
import { ntpToMs } from '../session/time.js';
import type { CommonHeader, KeyValidity, Message, Payload, PayloadChain } from '../wire/types.js';
import { TICKET_FLAG_NAMES } from '../wire/types.js';
import { policyParams } from '../wire/sp.js';

export interface Field {
  /** Field name as the RFC calls it. */
  name: string;
  /** Raw value: a number or a hex string. */
  value?: number | string | boolean;
  /** What the value means (registry name, decoded time, text). */
  meaning?: string;
  /** Byte offset of the payload in the message, for payload nodes. */
  offset?: number;
  children?: Field[];
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const h32 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;
const label = (reg: object, v: number): string => registryInfo(reg).label(v) ?? 'Unknown';
const en = (name: string, reg: object, v: number): Field => ({ name, value: v, meaning: label(reg, v) });
const printable = (b: Uint8Array): string | undefined => {
  for (const c of b) if ((c < 0x20 && c !== 0) || c > 0x7e) return undefined;
  return Buffer.from(b).toString('latin1').replace(/\0/g, '\\0');
};

/** NTP (1900 epoch) timestamp as a Date (RFC 3830 §6.6, RFC 4330 era rule for NTP-UTC-32). */
export function ntpToDate(value: Uint8Array): Date {
  return new Date(ntpToMs(value));
}

function tsField(tsType: number, value: Uint8Array): Field {
  let meaning: string | undefined;
  if (tsType === TsType.Counter) meaning = `counter ${new DataView(value.buffer, value.byteOffset, 4).getUint32(0)}`;
  else meaning = ntpToDate(value).toISOString();
  return { name: 'TS value', value: hex(value), meaning };
}

function validity(v: KeyValidity): Field[] {
  if (v.kv === 1) return [{ name: 'SPI/MKI', value: hex(v.spi) }];
  if (v.kv === 2) return [{ name: 'Valid from', value: hex(v.validFrom) }, { name: 'Valid to', value: hex(v.validTo) }];
  return [];
}

function header(h: CommonHeader, first: number): Field {
  const m = h.csIdMap;
  const children: Field[] = [
    { name: 'Version', value: h.version },
    en('Data type', DataType, h.dataType),
    en('Next payload', PayloadType, first),
    { name: 'V', value: h.v },
    en('PRF func', PrfFunc, h.prfFunc),
    { name: 'CSB ID', value: h32(h.csbId) },
    { name: '#CS', value: m.type === 1 ? m.csCount : m.entries.length },
    en('CS ID map type', CsIdMapType, m.type),
  ];
  if (m.type === 0) {
    m.entries.forEach((e, i) => children.push({
      name: `CS #${i + 1}`, children: [{ name: 'Policy no', value: e.policyNo }, { name: 'SSRC', value: h32(e.ssrc) }, { name: 'ROC', value: h32(e.roc) }],
    }));
  } else if (m.type === 2) {
    for (const e of m.entries) {
      const c: Field[] = [{ name: 'CS ID', value: e.csId }, en('Prot type', ProtType, e.protType), { name: 'S', value: e.s }, { name: '#P', value: e.policies.length }];
      if (e.policies.length) c.push({ name: 'Policies', value: e.policies.join(',') });
      c.push({ name: 'Session data', value: hex(e.sessionData) });
      if (e.srtp) {
        c.push({ name: 'SSRC', value: h32(e.srtp.ssrc) });
        if (e.srtp.roc !== undefined) c.push({ name: 'ROC', value: h32(e.srtp.roc) }, { name: 'SEQ', value: e.srtp.seq! });
      }
      c.push({ name: 'SPI', value: hex(e.spi) });
      children.push({ name: `CS ID ${e.csId}`, children: c });
    }
  }
  return { name: 'Common Header (HDR)', offset: h.span?.start, children };
}

function policyParam(protType: number, type: number, value: Uint8Array): Field {
  const reg = protType === ProtType.Srtp ? SrtpParam : protType === ProtType.Tesla ? TeslaParam : undefined;
  const name = reg ? registryInfo(reg).label(type) ?? `Unknown (${type})` : `Type ${type}`;
  const f: Field = { name: `${name} [${type}]`, value: hex(value) };
  if (protType === ProtType.Srtp && value.length === 1) {
    const v = value[0]!;
    const vreg = type === 0 ? SrtpEncrAlg : type === 2 || type === 14 || type === 15 ? SrtpAuthAlg : type === 5 ? SrtpPrf : type === 9 ? FecOrder : undefined;
    f.meaning = vreg ? label(vreg, v) : type === 7 || type === 8 || type === 10 ? (v ? 'on' : 'off') : String(v);
  } else if (value.length <= 4 && value.length > 0) {
    f.meaning = String(Buffer.from(value).readUIntBE(0, value.length));
  }
  return f;
}

function chain(c: PayloadChain): Field[] {
  return c.payloads.map((p, i) => payload(p, c.payloads[i + 1]?.type ?? 0));
}

function payload(p: Payload, next: number): Field {
  const np = en('Next payload', PayloadType, next);
  const f = (name: string, children: Field[]): Field => ({ name, offset: p.span?.start, children: p.type === 4 ? children : [np, ...children] });
  switch (p.type) {
    case 1: {
      const c: Field[] = [en('Encr alg', EncrAlg, p.encrAlg), { name: 'Encr data len', value: p.encrData.length }, { name: 'Encr data', value: hex(p.encrData) }];
      if (p.plaintext) c.push({ name: 'Key data (plaintext)', children: p.plaintext.map((q, i) => payload(q, p.plaintext![i + 1]?.type ?? 0)) });
      c.push(en('MAC alg', MacAlg, p.macAlg), { name: 'MAC', value: hex(p.mac) });
      return f('Key Data Transport (KEMAC)', c);
    }
    case 2: return f('Envelope Data (PKE)', [en('C', PkeCache, p.c), { name: 'Data len', value: p.data.length }, { name: 'Data', value: hex(p.data) }]);
    case 3: return f('DH Data (DH)', [en('DH-Group', DhGroup, p.group), { name: 'DH-value', value: hex(p.value) }, en('KV', KvType, p.validity.kv), ...validity(p.validity)]);
    case 4: return f('Signature (SIGN)', [en('S type', SignType, p.sType), { name: 'Signature len', value: p.signature.length }, { name: 'Signature', value: hex(p.signature) }]);
    case 5: return f('Timestamp (T)', [en('TS type', TsType, p.tsType), tsField(p.tsType, p.value)]);
    case 6: return f('ID', [en('ID type', IdType, p.idType), { name: 'ID len', value: p.data.length }, { name: 'ID data', value: hex(p.data), meaning: printable(p.data) }]);
    case 7: return f('Certificate (CERT)', [en('Cert type', CertType, p.certType), { name: 'Cert len', value: p.data.length }, { name: 'Cert data', value: hex(p.data), meaning: p.certType === 1 ? printable(p.data) : undefined }]);
    case 8: return f('Cert Hash (CHASH)', [en('Hash func', HashFunc, p.hashFunc), { name: 'Hash', value: hex(p.hash) }]);
    case 9: return f('Verification (V)', [en('Auth alg', MacAlg, p.authAlg), { name: 'Ver data', value: hex(p.mac) }]);
    case 10: return f('Security Policy (SP)', [{ name: 'Policy no', value: p.policyNo }, en('Prot type', ProtType, p.protType),
      { name: 'Policy param length', value: policyParams(p).reduce((n, q) => n + 2 + q.value.length, 0) }, ...policyParams(p).map((q) => policyParam(p.protType, q.type, q.value))]);
    case 11: return f('RAND', [{ name: 'RAND len', value: p.rand.length }, { name: 'RAND', value: hex(p.rand) }]);
    case 12: return f('Error (ERR)', [en('Error no', ErrorNo, p.errorNo), { name: 'Reserved', value: p.reserved }]);
    case 13: return f('Timestamp with Role (TR)', [en('TS role', TsRole, p.role), en('TS type', TsType, p.tsType), tsField(p.tsType, p.value)]);
    case 14: return f('ID with Role (IDR)', [en('ID role', IdRole, p.role), en('ID type', IdType, p.idType), { name: 'ID len', value: p.data.length }, { name: 'ID data', value: hex(p.data), meaning: printable(p.data) }]);
    case 15: return f('RAND with Role (RANDR)', [en('RAND role', RandRole, p.role), { name: 'RAND len', value: p.rand.length }, { name: 'RAND', value: hex(p.rand) }]);
    case 16: case 17: {
      const c: Field[] = [en('Ticket type', TicketType, p.ticketType), { name: 'Subtype', value: p.subtype }, { name: 'Version', value: p.version },
        en('PRF func', PrfFunc, p.prfFunc), { name: 'Flags', value: TICKET_FLAG_NAMES.filter((k) => p.flags[k]).join('') || '-' },
        { name: 'TP data', children: chain(p.tpData) }];
      if (p.type === 17) {
        c.push({ name: 'Ticket data len', value: p.ticketData.length });
        c.push(p.baseTicket ? { name: 'Ticket data (MIKEY base ticket)', children: p.baseTicket.map((q, i) => payload(q, p.baseTicket![i + 1]?.type ?? 0)) } : { name: 'Ticket data', value: hex(p.ticketData) });
        c.push({ name: 'Initiator data', children: chain(p.initiatorData) });
      }
      return f(p.type === 16 ? 'Ticket Policy (TP)' : 'Ticket (TICKET)', c);
    }
    case 20: {
      const c: Field[] = [en('Type', KeyDataType, p.keyType), en('KV', KvType, p.validity.kv), { name: 'Key data len', value: p.keyData.length }, { name: 'Key data', value: hex(p.keyData) }];
      if (p.salt) c.push({ name: 'Salt len', value: p.salt.length }, { name: 'Salt data', value: hex(p.salt) });
      return f('Key Data', [...c, ...validity(p.validity)]);
    }
    case 21: {
      const c: Field[] = [en('Type', GeneralExtType, p.extType), { name: 'Length', value: p.data.length }];
      if (p.sdpIds) c.push({ name: 'SDP IDs', value: p.sdpIds.join(';') });
      else if (p.keyIds) c.push(...p.keyIds.map((k) => ({ name: 'Key ID', children: [en('Key ID type', KeyIdType, k.keyIdType), { name: 'Key ID', value: hex(k.keyId) }] })));
      else if (p.csbId !== undefined) c.push({ name: 'CSB ID', value: h32(p.csbId) });
      else if (p.omaBcast) c.push(en('OMA BCAST subtype', OmaBcastSubtype, p.omaBcast.subtype), { name: 'Subtype data', value: hex(p.omaBcast.data) });
      else if (p.sakke) c.push(payload(p.sakke, 0));
      else c.push({ name: 'Data', value: hex(p.data), meaning: printable(p.data) });
      return f('General Extension', c);
    }
    case 22: return f('IBAKE', [{ name: 'Encr data len', value: p.encrData.length }, { name: 'Encr data', value: hex(p.encrData) }]);
    case 23: return f('Encrypted Secret Key (ESK)', [{ name: 'Encr data len', value: p.encrData.length }, { name: 'Encr data', value: hex(p.encrData) }]);
    case 24: return f('Secret Key (SK)', [en('Type', SkType, p.skType), en('KV', KvType, p.validity.kv), { name: 'Key data', value: hex(p.keyData) }, ...validity(p.validity)]);
    case 25: return f('EC Diffie-Hellman (ECCPT)', [en('ECC curve', EccCurve, p.curve), { name: 'ECC point', value: hex(p.point) }, { name: 'Auth alg', value: p.authAlg },
      { name: 'TGK len', value: p.tgkLen }, en('KV', KvType, p.validity.kv), ...validity(p.validity)]);
    case 26: return f('SAKKE', [en('SAKKE params', SakkeParams, p.sakkeParams), en('ID scheme', SakkeIdScheme, p.idScheme), { name: 'SAKKE data len', value: p.data.length }, { name: 'SAKKE data', value: hex(p.data) }]);
    case 256: return f('Ticket Header (THDR)', [{ name: 'THDR data', value: hex(p.data) }]);
  }
}

/** The field tree of a message. */
export function describeMessage(msg: Message): Field {
  const first = msg.payloads[0]?.type ?? 0;
  const size = msg.bytes?.length;
  return {
    name: `MIKEY message${size !== undefined ? ` (${size} bytes)` : ''}`,
    children: [header(msg.header, first), ...msg.payloads.map((p, i) => payload(p, msg.payloads[i + 1]?.type ?? 0))],
  };
}

/** Indented text, one field a line. */
export function renderTree(f: Field, indent = 0, out: string[] = []): string[] {
  const pad = '    '.repeat(indent);
  let line = `${pad}${f.name}`;
  if (f.value !== undefined) line += `: ${typeof f.value === 'boolean' ? (f.value ? 1 : 0) : f.value === '' ? '(empty)' : f.value}`;
  if (f.meaning !== undefined) line += f.value !== undefined ? ` (${f.meaning})` : `: ${f.meaning}`;
  if (f.offset !== undefined && f.children) line += `  [offset ${f.offset}]`;
  out.push(line);
  for (const c of f.children ?? []) renderTree(c, indent + 1, out);
  return out;
}
