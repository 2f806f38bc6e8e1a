// The decoded model as JSON, consistent with the field tree: bytes in hex, 32-bit identifiers
// (CSB ID, SSRC, ROC) in hex as the tree shows them, every coded field with its registry name
// beside it (`dataType` and `dataTypeName`), SP parameters listed by name.
import {
  CertType, CsIdMapType, DataType, DhGroup, EccCurve, EncrAlg, ErrorNo, GeneralExtType, HashFunc,
  IdRole, IdType, KeyDataType, KeyIdType, KvType, MacAlg, OmaBcastSubtype, PayloadType, PkeCache,
  PrfFunc, ProtType, RandRole, SakkeIdScheme, SakkeParams, SignType, SkType,
  SrtpParam, TeslaParam, TicketType, TsRole, TsType, THDR_PAYLOAD, registryInfo,
} from '../wire/registry.js';
import type { Message, SpPayload } from '../wire/types.js';
import { policyParams } from '../wire/sp.js';
import { srtpParamValue } from '../wire/payloads.js';

/** Fields whose value is a code point, and the registry naming it (by payload type where it differs). */
const CODED: Record<string, object | Record<number, object>> = {
  dataType: DataType, prfFunc: PrfFunc, encrAlg: EncrAlg, macAlg: MacAlg, group: DhGroup, sType: SignType, tsType: TsType,
  idType: IdType, certType: CertType, hashFunc: HashFunc, protType: ProtType, errorNo: ErrorNo, ticketType: TicketType,
  keyType: KeyDataType, kv: KvType, extType: GeneralExtType, keyIdType: KeyIdType, skType: SkType, curve: EccCurve,
  sakkeParams: SakkeParams, idScheme: SakkeIdScheme,
  // PKE C (RFC 3830 §6.2); V auth alg (§6.9); roles of TR, IDR, RANDR (RFC 6043 §6.4-6.6)
  c: { [PayloadType.Pke]: PkeCache }, authAlg: { [PayloadType.V]: MacAlg },
  role: { [PayloadType.Tr]: TsRole, [PayloadType.Idr]: IdRole, [PayloadType.Randr]: RandRole }, subtype: { [PayloadType.GeneralExt]: OmaBcastSubtype },
};
const HEX32 = new Set(['csbId', 'ssrc', 'roc']);

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const h32 = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

function registryFor(key: string, payloadType: number | undefined): object | undefined {
  const r = CODED[key];
  if (!r) return undefined;
  try {
    registryInfo(r);
    return r;
  } catch {
    return payloadType === undefined ? undefined : (r as Record<number, object>)[payloadType];
  }
}

function spParams(p: SpPayload): unknown[] {
  const reg = p.protType === ProtType.Srtp ? SrtpParam : p.protType === ProtType.Tesla ? TeslaParam : undefined;
  return policyParams(p).map((q) => {
    const out: Record<string, unknown> = { type: q.type, name: reg ? registryInfo(reg).label(q.type) ?? 'Unknown' : undefined, value: hex(q.value) };
    if (p.protType === ProtType.Srtp && q.value.length === 1) {
      out['meaning'] = srtpParamValue(q.type, q.value[0]!);
    } else if (q.value.length > 0 && q.value.length <= 4) out['meaning'] = Buffer.from(q.value).readUIntBE(0, q.value.length);
    return out;
  });
}

/** The decoded model as JSON: `{ dataType, dataTypeName, header, payloads }`. */
export function messageJson(msg: Message): unknown {
  const conv = (x: unknown, payloadType?: number): unknown => {
    if (x instanceof Uint8Array) return hex(x);
    if (Array.isArray(x)) return x.map((y) => conv(y, payloadType));
    if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      const isPayload = typeof o['type'] === 'number' && 'span' in o;
      const pt = isPayload ? (o['type'] as number) : payloadType;
      if (isPayload) out['name'] = o['type'] === THDR_PAYLOAD ? 'THDR' : registryInfo(PayloadType).label(o['type'] as number) ?? 'Unknown';
      for (const [k, v] of Object.entries(o)) {
        if (v === undefined || k === 'bytes' || (k === 'paramBytes' && pt === PayloadType.Sp)) continue;
        if (k === 'span') {
          const sp = v as { start: number; end: number };
          out['offset'] = sp.start;
          out['length'] = sp.end - sp.start;
        } else if (k === 'params' && pt === PayloadType.Sp) continue;
        else if (HEX32.has(k) && typeof v === 'number') out[k] = h32(v);
        else {
          out[k] = conv(v, pt);
          const reg = typeof v === 'number' ? registryFor(k, pt) : undefined;
          if (reg) out[`${k}Name`] = registryInfo(reg).label(v as number) ?? 'Unknown';
        }
      }
      if (isPayload && pt === PayloadType.Sp) out['params'] = spParams(o as unknown as SpPayload);
      return out;
    }
    return x;
  };
  const h = msg.header;
  const header = conv(h) as Record<string, unknown>;
  const map = header['csIdMap'] as Record<string, unknown> | undefined;
  if (map && typeof h.csIdMap.type === 'number') map['typeName'] = registryInfo(CsIdMapType).label(h.csIdMap.type) ?? 'Unknown';
  return { dataType: h.dataType, dataTypeName: registryInfo(DataType).label(h.dataType) ?? 'Unknown', header, payloads: conv(msg.payloads) };
}
