// Wireshark's MIKEY dissector as an independent decoder of what we encode: every field it
// shows must carry our value, it must cover every byte, and it must flag nothing malformed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage } from '../../src/wire/index.js';
import type { Payload, Message } from '../../src/wire/types.js';
import { needPeer } from '../support/peer.js';
import { CORPUS, CERT_DER } from '../wire/corpus.js';
import { dumpPacket, findFields, misplacedFields, tsharkDecode, tsharkProblem, uncoveredRanges, type TsharkPacket } from './tshark.js';
import { NODE, compare, expected, headerExpected } from './tshark-expect.js';

/** Data types and payload types the tshark 4.0 dissector knows (DESIGN.md). */
const TSHARK_DATA_TYPES = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 26]);
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
