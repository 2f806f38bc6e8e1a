// Wireshark's MIKEY dissector as an independent decoder of what we encode: every field it
// shows must carry our value, it must cover every byte, and it must flag nothing malformed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, policyParams } from '../../src/wire/index.js';
import type { Payload, Message, KeyValidity } from '../../src/wire/types.js';
import { needPeer } from '../support/peer.js';
import { CORPUS, CERT_DER } from '../wire/corpus.js';
import { dumpPacket, findFields, misplacedFields, tsharkDecode, tsharkProblem, uncoveredRanges, type TsharkField, type TsharkPacket } from './tshark.js';

/** Data types and payload types the tshark 4.0 dissector knows (DESIGN.md). */
const TSHARK_DATA_TYPES = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 26]);
const NODE: Record<number, string> = {
  1: 'mikey.kemac', 2: 'mikey.pke', 3: 'mikey.dh', 4: 'mikey.sign', 5: 'mikey.t', 6: 'mikey.id', 7: 'mikey.cert', 8: 'mikey.chash',
  9: 'mikey.v', 10: 'mikey.sp', 11: 'mikey.rand', 12: 'mikey.err', 14: 'mikey.idr', 21: 'mikey.ext', 26: 'mikey.sakke',
};

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
type Expect = number | Uint8Array | string;

/** Our value for each field name tshark shows inside one payload node. */
function expected(p: Payload, next: number): Record<string, Expect | Expect[]> {
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
    case 3: return { ...np, 'mikey.dh.group': p.group, 'mikey.dh.value': p.value, 'mikey.dh.reserv': p.reserved, 'mikey.dh.kv': p.validity.kv };
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

function headerExpected(m: Message): Record<string, Expect | Expect[]> {
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
function compare(node: TsharkField, want: Record<string, Expect | Expect[]>, where: string): number {
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

/**
 * Bytes tshark 4.0 leaves undissected in well-formed messages, by its own limits: the key data
 * sub-payloads after the first.
 */
function allowedGaps(m: Message): Array<[number, number]> {
  const gaps: Array<[number, number]> = [];
  for (const p of m.payloads) {
    if (p.type === 1 && p.plaintext && p.plaintext.length > 1) gaps.push([p.plaintext[1]!.span!.start, p.plaintext.at(-1)!.span!.end]);
    // it reads the CERT length one byte early, so the length's second byte is under no field
    if (p.type === 7) gaps.push([p.span!.start + 3, p.span!.start + 4]);
  }
  return gaps;
}

/**
 * The same message within what the tshark 4.0 dissector implements. It predates RFC 6043's
 * additions (HMAC-SHA-256-256, COUNTER/NTP-UTC-32 handling, GENERIC-ID) and RFC 4442's TESLA
 * policy, passes every CERT, even a URL (type 1), to its X.509 decoder, and does not dissect
 * CHASH (it takes the rest of the message as the hash) nor DH key-validity data. Everything else is
 * left as it is.
 */
function withinTshark(m: Message): Message {
  const mac = (alg: number, b: Uint8Array) => (alg === 2 ? { alg: 1, b: b.subarray(0, 20) } : { alg, b });
  const payloads = m.payloads.flatMap((p): Payload[] => {
    switch (p.type) {
      case 1: { const x = mac(p.macAlg, p.mac); return [{ ...p, macAlg: x.alg, mac: x.b }]; }
      case 9: { const x = mac(p.authAlg, p.mac); return [{ ...p, authAlg: x.alg, mac: x.b }]; }
      case 5: return [p.tsType >= 2 ? { ...p, tsType: 0, value: Uint8Array.from([0xee, 0xb3, 0xef, 0x40, 0, 0, 0, 0]) } : p];
      case 7: return [p.certType === 1 ? { ...p, certType: 0, data: CERT_DER } : p];
      case 10: return p.protType === 0 ? [p] : [];
      case 8: return []; // it takes everything from a CHASH to the end of the message as the hash
      case 3: return [{ ...p, validity: { kv: 0 } }]; // nor does it read DH key-validity data
      default: return [p];
    }
  });
  const map = m.header.csIdMap;
  const csIdMap = map.type === 2 ? { type: 0 as const, entries: map.entries.map((e) => ({ policyNo: e.policies[0] ?? 0, ssrc: e.srtp?.ssrc ?? 0, roc: 0 })) } : map;
  return { header: { ...m.header, csIdMap }, payloads };
}

function tsharkSamples(): Array<{ name: string; message: Message }> {
  return CORPUS.filter((s) => TSHARK_DATA_TYPES.has(s.message.header.dataType)).map((s) => ({ name: s.name, message: withinTshark(s.message) }));
}

test('tshark decodes every message of the data types it knows to our field values, covering every byte', async (t) => {
  if (!needPeer(t, 'tshark', tsharkProblem())) return;
  const samples = tsharkSamples();
  const encoded = samples.map((s) => encodeMessage(s.message));
  const packets = await tsharkDecode(encoded);
  let fields = 0;
  const payloadTypes = new Set<number>();
  packets.forEach((pk: TsharkPacket, i) => {
    const name = samples[i]!.name;
    const m = decodeMessage(encoded[i]!);
    const ctx = `${name}\n${dumpPacket(pk)}`;
    assert.ok(pk.mikey, `${name}: tshark dissected MIKEY`);
    assert.equal(pk.malformed, false, `${ctx}\nexpert: ${JSON.stringify(pk.expert)}`);
    assert.equal(pk.complete, true, `${ctx}\ntshark stopped before the end of the payload chain`);
    assert.deepEqual(misplacedFields(pk).map((f) => f.name), [], ctx);
    // payload nodes one to one with ours
    const nodes = pk.fields;
    assert.equal(nodes[0]!.name, 'mikey.hdr', ctx);
    fields += compare(nodes[0]!, headerExpected(m), `${name} HDR`);
    assert.deepEqual(nodes.slice(1).map((f) => f.name), m.payloads.map((p) => NODE[p.type]), ctx);
    m.payloads.forEach((p, j) => {
      payloadTypes.add(p.type);
      const node = nodes[j + 1]!;
      assert.equal(node.pos, p.span!.start, `${name}: ${node.name} starts at our offset`);
      assert.equal(node.size, p.span!.end - p.span!.start, `${name}: ${node.name} has our length`);
      fields += compare(node, expected(p, m.payloads[j + 1]?.type ?? 0), `${name} ${node.name}`);
    });
    // every byte is under a field, except where the dissector itself stops short
    // (the certificate field holds X.509 sub-fields that leave DER tags and lengths out: it covers its span)
    const gaps = [...allowedGaps(m), ...findFields(pk, 'mikey.cert.data').map((f) => [f.pos, f.pos + f.size] as [number, number])];
    const left = uncoveredRanges(pk).flatMap(([a, b]) => {
      const out: Array<[number, number]> = [];
      for (let i = a; i < b; i++) if (!gaps.some(([x, y]) => i >= x && i < y)) out.push([i, i + 1]);
      return out;
    });
    assert.deepEqual(left, [], `${ctx}\nbytes tshark did not cover`);
  });
  // what this exercised
  for (const t of [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 21, 26]) assert.ok(payloadTypes.has(t), `payload ${t} compared`);
  assert.ok(fields > 500, `${fields} fields compared`);
});
