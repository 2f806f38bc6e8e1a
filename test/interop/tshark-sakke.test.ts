// Wireshark's MIKEY dissector reads the MIKEY-SAKKE messages our senders build (RFC 6509 and
// the 3GPP profile): data type 26, IDR, SP, SAKKE, General Extensions and SIGN (ECCSI) carry our
// values, cover every byte, and nothing is flagged malformed.
//
// tshark 4.0 predates RFC 6043's GENERIC-ID map: it reads any map other than SRTP-ID as having
// no map info, so a GENERIC-ID message would be dissected from the wrong offset. The 3GPP
// messages here therefore use the Empty map (#CS = 0), which the profile allows; the GENERIC-ID
// layout is checked against the deployed vectors in test/profiles/mcx.test.ts instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, policyParams } from '../../src/wire/index.js';
import type { DecodedMessage, Payload } from '../../src/wire/index.js';
import { SakkeInitiator, telUriIdentifier } from '../../src/modes/sakke.js';
import { McxKeyManagement, keyPeriodNumber, uidFor, type McxKms } from '../../src/profiles/mcx/index.js';
import { eccsiKmsSetup, eccsiMakeSskPvt } from '../../src/crypto/eccsi.js';
import { SakkeKmsPublicKey, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../../src/crypto/sakke.js';
import { needPeer } from '../support/peer.js';
import { dumpPacket, misplacedFields, tsharkDecode, tsharkProblem, uncoveredRanges, type TsharkField } from './tshark.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
type Expect = number | Uint8Array | string;
const NODE: Record<number, string> = { 4: 'mikey.sign', 5: 'mikey.t', 10: 'mikey.sp', 11: 'mikey.rand', 14: 'mikey.idr', 21: 'mikey.ext', 26: 'mikey.sakke' };

/** Our value of each field tshark shows in one payload node. */
function expected(p: Payload, next: number): Record<string, Expect | Expect[]> {
  const np = { 'mikey.next_payload': next };
  switch (p.type) {
    case 4: return { 'mikey.sign.type': p.sType, 'mikey.sign.len': p.signature.length, 'mikey.sign.data': p.signature };
    case 5: return { ...np, 'mikey.t.ts_type': p.tsType, 'mikey.t.ntp': p.value };
    case 10: { const q = policyParams(p); return {
      ...np, 'mikey.sp.no': p.policyNo, 'mikey.sp.proto_type': p.protType, 'mikey.sp.param_len': q.reduce((n, x) => n + 2 + x.value.length, 0),
      'mikey.sp.param.type': q.map((x) => x.type), 'mikey.sp.param.len': q.map((x) => x.value.length), 'mikey.sp.patam.value': q.map((x) => x.value),
    }; }
    case 11: return { ...np, 'mikey.rand.len': p.rand.length, 'mikey.rand.data': p.rand };
    case 14: return { ...np, 'mikey.id.role': p.role, 'mikey.id.type': p.idType, 'mikey.id.len': p.data.length, 'mikey.id.data': p.data };
    case 21: return { ...np, 'mikey.ext.type': p.extType, 'mikey.ext.len': p.data.length, 'mikey.ext.data': p.data };
    case 26: return { ...np, 'mikey.sakke.params': p.sakkeParams, 'mikey.sakke.idscheme': p.idScheme, 'mikey.sakke.len': p.data.length, 'mikey.sakke.data': p.data };
    default: throw new Error(`payload ${p.type} in a SAKKE message`);
  }
}

function headerExpected(m: DecodedMessage): Record<string, Expect | Expect[]> {
  const h = m.header;
  const e: Record<string, Expect | Expect[]> = {
    'mikey.version': h.version, 'mikey.type': h.dataType, 'mikey.next_payload': m.payloads[0]!.type, 'mikey.v.set': h.v ? 1 : 0,
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

/** Every leaf tshark shows under `node` must carry our value; returns how many were compared. */
function compare(node: TsharkField, want: Record<string, Expect | Expect[]>, where: string): number {
  const used = new Map<string, number>();
  let n = 0;
  const visit = (f: TsharkField) => {
    if (f.children.length) return f.children.forEach(visit);
    if (f.hidden || !f.name.startsWith('mikey.')) return;
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

function messages(): Array<{ name: string; bytes: Uint8Array }> {
  const ekms = eccsiKmsSetup();
  const skms = sakkeKmsSetup(sakkeParamSet1);
  const T = Date.UTC(2027, 5, 1, 9);
  const clock = { now: () => T };
  // RFC 6509, identifier scheme 1, SRTP-ID map
  const telKeys = (uri: string) => {
    const id = telUriIdentifier(uri, T);
    return [{ id, ...eccsiMakeSskPvt(ekms, id) }];
  };
  const tel = new SakkeInitiator({ uri: 'tel:+447700900123', kms: { zS: skms.zS, kpak: ekms.kpak }, keys: telKeys('tel:+447700900123'), kmsUri: 'kms.example.org', clock });
  // TS 33.180, identifier scheme 2 (UIDs), Empty map
  const kms: McxKms = { uri: 'kms.example.org', zS: new SakkeKmsPublicKey(sakkeParamSet1, skms.zS), kpak: ekms.kpak, keyPeriod: 2592000, keyPeriodOffset: 0 };
  const p = keyPeriodNumber(T, kms.keyPeriod, kms.keyPeriodOffset);
  const mcx = (uri: string, identities: 'uri' | 'uid') => {
    const uid = uidFor(uri, kms, p);
    return new McxKeyManagement({ uri, kms, clock, identities, keySets: [{ keyPeriodNo: p, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, uid), ...eccsiMakeSskPvt(ekms, uid) }] });
  };
  const alice = mcx('sip:alice@example.org', 'uri');
  const gms = mcx('sip:gms@example.org', 'uid');
  return [
    { name: 'RFC 6509, two crypto sessions', bytes: tel.createOffer({ to: 'tel:+447700900456', sessions: [{ ssrc: 0x1234abcd }, { ssrc: 0x5678ef01, profile: 'AEAD_AES_128_GCM' }] }).bytes },
    { name: 'RFC 6509, no identities', bytes: tel.createOffer({ to: 'tel:+447700900456', sessions: [{ ssrc: 1 }], omitIdentities: true }).bytes },
    { name: 'MCX PCK, SAKKE-to-self, key parameters', bytes: alice.sendPck({ to: 'sip:bob@example.org', map: 'empty', toSelf: true }).bytes },
    { name: 'MCX CSK, no key parameters', bytes: alice.sendCsk({ to: 'sip:server@example.org', map: 'empty', keyParameters: false }).bytes },
    { name: 'MCX GMK, UIDs in IDR', bytes: gms.distributeGmk({ members: ['sip:alice@example.org'], map: 'empty', keyParameters: { text: 'group 1' } }).messages[0]!.bytes },
  ];
}

test('tshark decodes our MIKEY-SAKKE messages (data type 26, IDR, SAKKE, SIGN-ECCSI) to our field values, covering every byte', async (t) => {
  if (!needPeer(t, 'tshark', tsharkProblem())) return;
  const samples = messages();
  const packets = await tsharkDecode(samples.map((s) => s.bytes));
  let fields = 0;
  const seen = new Set<string>();
  packets.forEach((pk, i) => {
    const { name } = samples[i]!;
    const m = decodeMessage(samples[i]!.bytes);
    const ctx = `${name}\n${dumpPacket(pk)}`;
    assert.ok(pk.mikey, `${name}: tshark dissected MIKEY`);
    assert.equal(pk.malformed, false, `${ctx}\nexpert: ${JSON.stringify(pk.expert)}`);
    assert.equal(pk.complete, true, `${ctx}\ntshark stopped before the end of the payload chain`);
    assert.deepEqual(misplacedFields(pk).map((f) => f.name), [], ctx);
    const nodes = pk.fields;
    assert.equal(nodes[0]!.name, 'mikey.hdr', ctx);
    fields += compare(nodes[0]!, headerExpected(m), `${name} HDR`);
    assert.deepEqual(nodes.slice(1).map((f) => f.name), m.payloads.map((p) => NODE[p.type]), ctx);
    m.payloads.forEach((p, j) => {
      const node = nodes[j + 1]!;
      assert.equal(node.pos, p.span!.start, `${name}: ${node.name} starts at our offset`);
      assert.equal(node.size, p.span!.end - p.span!.start, `${name}: ${node.name} has our length`);
      fields += compare(node, expected(p, m.payloads[j + 1]?.type ?? 0), `${name} ${node.name}`);
      seen.add(p.type === 14 ? `IDR role ${p.role}` : p.type === 21 ? `GenExt ${p.extType}` : p.type === 4 ? `SIGN S type ${p.sType}` : node.name);
    });
    assert.deepEqual(uncoveredRanges(pk), [], `${ctx}\nbytes tshark did not cover`);
  });
  for (const s of ['mikey.t', 'mikey.rand', 'mikey.sp', 'mikey.sakke', 'SIGN S type 2', 'IDR role 1', 'IDR role 2', 'IDR role 6', 'IDR role 7', 'IDR role 8', 'IDR role 9', 'GenExt 6', 'GenExt 7']) {
    assert.ok(seen.has(s), `${s} compared`);
  }
  assert.ok(fields > 150, `${fields} fields compared`);
});
