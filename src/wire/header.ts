// Common header (RFC 3830 §6.1, RFC 6043 §6.1): read, size, write and its fields, in one place.
import { bad, fits, len16, len8, type Reader, type Writer } from './cursor.js';
import { FAILED, fail, failure } from './errors.js';
import { en, h32, hex, type Field } from './fields.js';
import { CsIdMapType, DataType, ErrorNo, PayloadType, PrfFunc, ProtType } from './registry.js';
import type { CommonHeader, CsIdMap, GenericIdEntry, SrtpIdEntry } from './types.js';

/** Read the header (the type of the first payload, its third byte, is the caller's to read). */
export function readHeader(r: Reader): CommonHeader {
  const start = r.pos;
  if (!r.need(10, 'common header')) return FAILED;
  const version = r.u8();
  if (version !== 1) return fail(start, `unsupported MIKEY version ${version}`);
  const dataType = r.u8();
  if (!isKnownDataType(dataType)) return fail(start + 1, `unknown data type ${dataType}`, ErrorNo.InvalidDt);
  r.pos++;
  const b = r.u8();
  const csbId = r.u32();
  const nCs = r.u8();
  const mapType = r.u8();
  let csIdMap: CsIdMap;
  switch (mapType) {
    case CsIdMapType.SrtpId: {
      // RFC 3830 §6.1.1 (erratum 2654: #CS entries of 9 bytes)
      if (!r.need(9 * nCs, `SRTP-ID map (${nCs} entries)`)) return FAILED;
      const entries: SrtpIdEntry[] = new Array(nCs);
      for (let i = 0; i < nCs; i++) entries[i] = { policyNo: r.u8(), ssrc: r.u32(), roc: r.u32() };
      csIdMap = { type: CsIdMapType.SrtpId, entries };
      break;
    }
    case CsIdMapType.Empty:
      csIdMap = { type: CsIdMapType.Empty, csCount: nCs };
      break;
    case CsIdMapType.GenericId: {
      const entries: GenericIdEntry[] = new Array(nCs);
      for (let i = 0; i < nCs; i++) {
        entries[i] = readGenericIdEntry(r, i);
        if (failure) return FAILED;
      }
      csIdMap = { type: CsIdMapType.GenericId, entries };
      break;
    }
    default:
      return fail(start + 9, `unknown CS ID map type ${mapType}`);
  }
  return { version, dataType, v: (b & 0x80) !== 0, prfFunc: b & 0x7f, csbId, csIdMap, span: { start, end: r.pos } };
}

function isKnownDataType(t: number): boolean {
  return t >= DataType.PreShared && t <= DataType.Sakke;
}

// RFC 6043 §6.1.1
function readGenericIdEntry(r: Reader, i: number): GenericIdEntry {
  const at = r.pos;
  if (!r.need(3, `GENERIC-ID entry ${i}`)) return FAILED;
  const csId = r.u8();
  const protType = r.u8();
  const b = r.u8();
  const nP = b & 0x7f;
  const policies = Array.from(r.bytes(nP, `GENERIC-ID entry ${i} policies`));
  if (!r.need(2, `GENERIC-ID entry ${i} session data length`)) return FAILED;
  const sdLen = r.u16();
  const sdAt = r.pos;
  const sessionData = r.bytes(sdLen, `GENERIC-ID entry ${i} session data`);
  if (failure) return FAILED;
  const s = (b & 0x80) !== 0;
  let srtp: GenericIdEntry['srtp'];
  if (protType === ProtType.Srtp && sdLen > 0) {
    const expect = s ? 10 : 4;
    if (sdLen !== expect) return fail(sdAt, `SRTP session data of ${sdLen} bytes with S=${s ? 1 : 0} (must be ${expect})`);
    const sd = r.at(sdAt, sdAt + sdLen);
    srtp = s ? { ssrc: sd.u32(), roc: sd.u32(), seq: sd.u16() } : { ssrc: sd.u32() };
  }
  if (!r.need(1, `GENERIC-ID entry ${i} SPI length`)) return FAILED;
  const spi = r.bytes(r.u8(), `GENERIC-ID entry ${i} SPI`);
  if (at === r.pos) return fail(at, 'empty GENERIC-ID entry');
  const e: GenericIdEntry = { csId, protType, s, policies, sessionData, spi };
  if (srtp) e.srtp = srtp;
  return e;
}

export function headerSize(h: CommonHeader): number {
  const m = h.csIdMap;
  if (m.type === CsIdMapType.SrtpId) return 10 + 9 * m.entries.length;
  if (m.type === CsIdMapType.Empty) return 10;
  let n = 10;
  for (const e of m.entries) n += 3 + e.policies.length + 2 + sessionDataLength(e) + 1 + e.spi.length;
  return n;
}

/** Session data as given, or built from `srtp` when none is given. */
function sessionDataLength(e: GenericIdEntry): number {
  return e.sessionData.length > 0 || !e.srtp ? e.sessionData.length : e.s ? 10 : 4;
}

export function writeHeader(w: Writer, h: CommonHeader, first: number): void {
  if (!(h.version === 1)) bad('HDR', `version ${h.version} (only 1 is defined)`);
  if (!(fits(h.dataType, 8))) bad('HDR', 'data type out of range');
  if (!(fits(h.prfFunc, 7))) bad('HDR', 'PRF func out of range (7 bits)');
  if (!(fits(h.csbId, 32))) bad('HDR', 'CSB ID out of range (32 bits)');
  const m = h.csIdMap;
  const n = m.type === CsIdMapType.Empty ? m.csCount : m.entries.length;
  if (!(fits(n, 8))) bad('HDR', `#CS ${n} out of range`);
  const b = w.buf;
  let o = w.pos;
  const csbId = h.csbId;
  b[o] = h.version;
  b[o + 1] = h.dataType;
  b[o + 2] = first;
  b[o + 3] = (h.v ? 0x80 : 0) | h.prfFunc;
  b[o + 4] = csbId >>> 24;
  b[o + 5] = csbId >>> 16;
  b[o + 6] = csbId >>> 8;
  b[o + 7] = csbId;
  b[o + 8] = n;
  b[o + 9] = m.type;
  o += 10;
  w.pos = o;
  if (m.type === CsIdMapType.SrtpId) {
    const es = m.entries;
    for (let i = 0; i < es.length; i++) {
      const e = es[i]!;
      const ssrc = e.ssrc;
      const roc = e.roc;
      b[o] = e.policyNo;
      b[o + 1] = ssrc >>> 24;
      b[o + 2] = ssrc >>> 16;
      b[o + 3] = ssrc >>> 8;
      b[o + 4] = ssrc;
      b[o + 5] = roc >>> 24;
      b[o + 6] = roc >>> 16;
      b[o + 7] = roc >>> 8;
      b[o + 8] = roc;
      o += 9;
    }
    w.pos = o;
  } else if (m.type === CsIdMapType.GenericId) {
    for (const e of m.entries) {
      if (!(e.policies.length < 128)) bad('HDR GENERIC-ID', '#P out of range (7 bits)');
      len8(e.spi, 'HDR GENERIC-ID SPI');
      const sdLen = sessionDataLength(e);
      len16(sdLen, 'HDR GENERIC-ID session data');
      w.u8(e.csId);
      w.u8(e.protType);
      w.u8((e.s ? 0x80 : 0) | e.policies.length);
      for (const pn of e.policies) w.u8(pn);
      w.u16(sdLen);
      if (e.sessionData.length > 0 || !e.srtp) w.bytes(e.sessionData);
      else {
        w.u32(e.srtp.ssrc);
        if (e.s) {
          w.u32(e.srtp.roc ?? 0);
          w.u16(e.srtp.seq ?? 0);
        }
      }
      w.u8(e.spi.length);
      w.bytes(e.spi);
    }
  }
}

/** The header's fields; `first` is the type of the first payload. */
export function headerFields(h: CommonHeader, first: number): Field {
  const m = h.csIdMap;
  const children: Field[] = [
    { name: 'Version', value: h.version },
    en('Data type', DataType, h.dataType),
    en('Next payload', PayloadType, first),
    { name: 'V', value: h.v },
    en('PRF func', PrfFunc, h.prfFunc),
    { name: 'CSB ID', value: h32(h.csbId) },
    { name: '#CS', value: m.type === CsIdMapType.Empty ? m.csCount : m.entries.length },
    en('CS ID map type', CsIdMapType, m.type),
  ];
  if (m.type === CsIdMapType.SrtpId) {
    m.entries.forEach((e, i) => children.push({
      name: `CS #${i + 1}`, children: [{ name: 'Policy no', value: e.policyNo }, { name: 'SSRC', value: h32(e.ssrc) }, { name: 'ROC', value: h32(e.roc) }],
    }));
  } else if (m.type === CsIdMapType.GenericId) {
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
