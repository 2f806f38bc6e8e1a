// What the tshark interop tests share: for each payload and the header, the value we expect in
// every field tshark 4.0 shows, and the comparison of tshark's tree with those values.
import assert from 'node:assert/strict';
import { policyParams } from '../../src/wire/index.js';
import type { KeyValidity, Message, Payload } from '../../src/wire/types.js';
import type { TsharkField } from './tshark.js';

export const NODE: Record<number, string> = {
  1: 'mikey.kemac', 2: 'mikey.pke', 3: 'mikey.dh', 4: 'mikey.sign', 5: 'mikey.t', 6: 'mikey.id', 7: 'mikey.cert', 8: 'mikey.chash',
  9: 'mikey.v', 10: 'mikey.sp', 11: 'mikey.rand', 12: 'mikey.err', 14: 'mikey.idr', 21: 'mikey.ext', 26: 'mikey.sakke',
};

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
export type Expect = number | Uint8Array | string;

/** Our value for each field name tshark shows inside one payload node. */
export function expected(p: Payload, next: number): Record<string, Expect | Expect[]> {
  const np = { 'mikey.next_payload': next };
  const kv = (v: KeyValidity): Record<string, Expect> =>
    v.kv === 1 ? { 'mikey.key.kv.spi.len': v.spi.length, 'mikey.key.kv.spi': v.spi }
      : v.kv === 2 ? { 'mikey.key.kv.from.len': v.validFrom.length, 'mikey.key.kv.from': v.validFrom, 'mikey.key.kv.to.len': v.validTo.length, 'mikey.key.kv.to': v.validTo } : {};
  switch (p.type) {
    case 1: {
      const e: Record<string, Expect | Expect[]> = { ...np, 'mikey.kemac.encr_alg': p.encrAlg, 'mikey.kemac.key_data_len': p.encrData.length, 'mikey.kemac.mac_alg': p.macAlg, 'mikey.kemac.mac': p.mac };
      // shown raw when encrypted, empty, or (RSA-R, PK) starting with an ID rather than key data
      if (p.encrAlg !== 0 || p.encrData.length === 0 || p.plaintext?.[0]?.type !== 20) e['mikey.kemac.key_data'] = p.encrData;
      const k = p.encrAlg === 0 ? p.plaintext?.[0] : undefined;
      if (k && k.type === 20) {
        Object.assign(e, { 'mikey.key.type': k.keyType, 'mikey.key.kv': k.validity.kv, 'mikey.key.data.len': k.keyData.length, 'mikey.key.data': k.keyData, ...kv(k.validity) });
        if (k.salt) Object.assign(e, { 'mikey.key.salt.len': k.salt.length, 'mikey.key.salt': k.salt });
      }
      return e;
    }
    case 2: return { ...np, 'mikey.pke.c': p.c, 'mikey.pke.len': p.data.length, 'mikey.pke.data': p.data };
    case 3: return { ...np, 'mikey.dh.group': p.group, 'mikey.dh.value': p.value, 'mikey.dh.reserv': p.reserved, 'mikey.dh.kv': p.validity.kv, ...kv(p.validity) };
    case 4: return { 'mikey.sign.type': p.sType, 'mikey.sign.len': p.signature.length, 'mikey.sign.data': p.signature };
    case 5: return { ...np, 'mikey.t.ts_type': p.tsType, 'mikey.t.ntp': p.value };
    case 6: return { ...np, 'mikey.id.type': p.idType, 'mikey.id.len': p.data.length, 'mikey.id.data': p.data };
    case 7: return { ...np, 'mikey.cert.type': p.certType, 'mikey.cert.data': p.data };
    case 9: return { ...np, 'mikey.v.auth_alg': p.authAlg, 'mikey.v.ver_data': p.mac };
    case 10: { const params = policyParams(p); return {
      ...np, 'mikey.sp.no': p.policyNo, 'mikey.sp.proto_type': p.protType, 'mikey.sp.param_len': params.reduce((n, q) => n + 2 + q.value.length, 0),
      'mikey.sp.param.type': params.map((q) => q.type), 'mikey.sp.param.len': params.map((q) => q.value.length), 'mikey.sp.patam.value': params.map((q) => q.value),
    }; }
    case 11: return { ...np, 'mikey.rand.len': p.rand.length, 'mikey.rand.data': p.rand };
    case 12: return { ...np, 'mikey.err.no': p.errorNo, 'mikey.err.reserved': Uint8Array.from([p.reserved >>> 8, p.reserved & 0xff]) };
    case 14: return { ...np, 'mikey.id.role': p.role, 'mikey.id.type': p.idType, 'mikey.id.len': p.data.length, 'mikey.id.data': p.data };
    case 21: {
      const e: Record<string, Expect> = { ...np, 'mikey.ext.type': p.extType, 'mikey.ext.len': p.data.length };
      if (p.extType === 1) e['mikey.ext.value'] = new TextDecoder().decode(p.data); else e['mikey.ext.data'] = p.data;
      return e;
    }
    case 26: return { ...np, 'mikey.sakke.params': p.sakkeParams, 'mikey.sakke.idscheme': p.idScheme, 'mikey.sakke.len': p.data.length, 'mikey.sakke.data': p.data };
    default: throw new Error(`payload ${p.type} is not one tshark knows`);
  }
}

export function headerExpected(m: Message): Record<string, Expect | Expect[]> {
  const h = m.header;
  const e: Record<string, Expect | Expect[]> = {
    'mikey.version': h.version, 'mikey.type': h.dataType, 'mikey.next_payload': m.payloads[0]?.type ?? 0, 'mikey.v.set': h.v ? 1 : 0,
    'mikey.prf_func': h.prfFunc, 'mikey.csb_id': h.csbId, 'mikey.cs_count': h.csIdMap.type === 1 ? h.csIdMap.csCount : h.csIdMap.entries.length,
    'mikey.cs_id_map_type': h.csIdMap.type,
  };
  if (h.csIdMap.type === 0) {
    e['mikey.srtp_id.policy_no'] = h.csIdMap.entries.map((x) => x.policyNo);
    e['mikey.srtp_id.ssrc'] = h.csIdMap.entries.map((x) => x.ssrc);
    e['mikey.srtp_id.roc'] = h.csIdMap.entries.map((x) => x.roc);
  }
  return e;
}

/** Compare every leaf tshark shows under `node` with our values; returns how many were compared. */
export function compare(node: TsharkField, want: Record<string, Expect | Expect[]>, where: string): number {
  const used = new Map<string, number>();
  let n = 0;
  const visit = (f: TsharkField) => {
    if (f.children.length && f.name !== 'mikey.cert.data') return f.children.forEach(visit);
    // the certificate's own X.509 fields are tshark's business, not the MIKEY codec's
    if (f.hidden || !f.name.startsWith('mikey.')) return;
    // tshark 4.0 reads the CERT length one byte early (it overlaps the type byte); its value is not ours to compare
    if (f.name === 'mikey.cert.len') return;
    assert.ok(f.name in want, `${where}: tshark shows ${f.name} (${f.showname}) that we do not compare`);
    let w = want[f.name]!;
    if (Array.isArray(w)) {
      const i = used.get(f.name) ?? 0;
      used.set(f.name, i + 1);
      w = w[i]!;
    }
    if (w instanceof Uint8Array) assert.equal((f.value ?? '').toLowerCase(), hex(w), `${where}: ${f.name} raw bytes`);
    else if (typeof w === 'string') assert.equal(f.show, w, `${where}: ${f.name}`);
    else assert.equal(Number(f.show), w, `${where}: ${f.name} (${f.showname})`);
    n++;
  };
  visit(node);
  return n;
}
