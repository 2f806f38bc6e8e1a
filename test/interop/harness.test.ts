// Smoke test of the interop harness on hand-written MIKEY messages (RFC 3830 §6 layouts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needPeer } from '../support/peer.js';
import { gstBench, gstBuild, gstFailed, gstParse, gstProblem, type GstBuildSpec, type GstMessage } from './gst.js';
import { UDP_PAYLOAD_OFFSET, writePcap } from './pcap.js';
import {
  dumpPacket,
  findField,
  findFields,
  misplacedFields,
  tsharkDecode,
  tsharkProblem,
  uncoveredRanges,
  type TsharkPacket,
} from './tshark.js';

/** A message as named parts, so the test knows where each payload starts. */
interface Layout {
  parts: Array<[name: string, hex: string]>;
}
const clean = (h: string): string => h.replace(/\s+/g, '').toLowerCase();
const hexOf = (l: Layout): string => l.parts.map(([, h]) => clean(h)).join('');
const bytesOf = (l: Layout): Uint8Array => Buffer.from(hexOf(l), 'hex');
/** [offset, size] of a named part */
function span(l: Layout, name: string): [number, number] {
  let off = 0;
  for (const [n, h] of l.parts) {
    const size = clean(h).length / 2;
    if (n === name) return [off, size];
    off += size;
  }
  throw new Error(`no part ${name}`);
}
const pattern = (n: number, mul: number, add: number): string =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * mul + add) & 0xff)).toString('hex');

const NTP_2024 = 'e93c7f00 80000000'; // 2024-01-01 00:00:00.5 UTC
const KEY = '000102030405060708090a0b0c0d0e0f';
const SALT = '101112131415161718191a1b1c1d';
const RAND16 = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';

// PSK I_MESSAGE, NULL encryption and NULL MAC: HDR, T, RAND, SP, KEMAC{TEK+SALT, SPI/MKI}
const psk: Layout = {
  parts: [
    ['hdr', '01 00 05 00  12345678  01 00  00 deadbeef 00000000'], // ver, PSK, NP=T, V=0|PRF 0, CSB, #CS, SRTP-ID, map
    ['t', `0b 00 ${NTP_2024}`], // NP=RAND, NTP-UTC
    ['rand', `0a 10 ${RAND16}`], // NP=SP, len 16
    // NP=KEMAC, policy 0, SRTP, 30 bytes: AES-CM, 16, HMAC-SHA-1, 20, 14, PRF AES-CM, SRTP/SRTCP enc on, auth on, tag 10
    ['sp', '01 00 00 001e  000101 010110 020101 030114 04010e 050100 070101 080101 0a0101 0b010a'],
    // NP=last, NULL, 41 bytes of key data {NP=last, TEK+SALT|SPI, 16, key, 14, salt, 4, MKI}, MAC alg NULL
    ['kemac', `00 00 0029  00 31 0010 ${KEY} 000e ${SALT} 04 a1b2c3d4  00`],
  ],
};

// PSK I_MESSAGE with V=1, two crypto sessions, NTP timestamp, 20-byte RAND, no SP, a plain TEK
const pskPlain: Layout = {
  parts: [
    ['hdr', '01 00 05 80  cafebabe  02 00  00 00000001 00000000  00 00000002 00000010'],
    ['t', '0b 01 0102030405060708'],
    ['rand', `01 14 ${pattern(20, 11, 5)}`],
    ['kemac', `00 00 0014  00 20 0010 ${pattern(16, 3, 1)}  00`],
  ],
};

// Signed-DH I_MESSAGE shape: HDR, T, RAND, IDi, SP, DHi (OAKLEY 5, 1536 bits), SIGN (RSA, 2048 bits)
const dhValue = pattern(192, 7, 3);
const signature = pattern(256, 13, 9);
const dh: Layout = {
  parts: [
    ['hdr', '01 04 05 80  87654321  01 00  00 11223344 00000000'],
    ['t', `0b 00 ${NTP_2024}`],
    ['rand', `06 10 ${RAND16}`],
    ['id', `0a 01 0015 ${Buffer.from('sip:alice@example.com').toString('hex')}`], // NP=SP, URI, 21
    ['sp', '03 00 00 000c  000101 010110 020101 0b010a'], // NP=DH
    ['dh', `04 00 ${dhValue} 00`], // NP=SIGN, OAKLEY 5, value, reserved|KV null
    ['sign', `0100 ${signature}`], // S type 0 (RSA/PKCS#1 v1.5), length 256
  ],
};

// Not well-formed for tshark: a TR payload (RFC 6043) it does not know, and a RAND cut short
const unknownPayload: Layout = { parts: [['hdr', '01 00 0d 00 00000001 00 01'], ['tr', '00 01 00 e93c7f0080000000']] };
const truncated: Layout = { parts: [['hdr', '01 00 0b 00 00000001 00 01'], ['rand', '00 10 f0f1f2f3']] };

const all = { psk, pskPlain, dh, unknownPayload, truncated };
type Name = keyof typeof all;
const names = Object.keys(all) as Name[];

let decoded: Promise<Map<Name, TsharkPacket>> | undefined;
/** One tshark run for the whole file. */
function tshark(): Promise<Map<Name, TsharkPacket>> {
  decoded ??= tsharkDecode(names.map((n) => bytesOf(all[n]))).then((ps) => new Map(ps.map((p, i) => [names[i]!, p])));
  return decoded;
}

function field(p: TsharkPacket, name: string, nth = 0): { pos: number; size: number; show: string; value?: string } {
  const f = findFields(p, name)[nth];
  assert.ok(f, `no ${name}[${nth}] in\n${dumpPacket(p)}`);
  return f;
}

function assertClean(p: TsharkPacket): void {
  const why = dumpPacket(p);
  assert.equal(p.malformed, false, `malformed: ${JSON.stringify(p.expert)}\n${why}`);
  assert.equal(p.complete, true, `dissection stopped early\n${why}`);
  assert.deepEqual(uncoveredRanges(p), [], `uncovered bytes\n${why}`);
  assert.deepEqual(misplacedFields(p).map((f) => `${f.name}@${f.pos}`), [], why);
}

test('pcap: frame layout, lengths and IPv4 checksum', () => {
  const payloads = [bytesOf(psk), new Uint8Array(0), bytesOf(dh)];
  const pcap = writePcap(payloads, { dstPort: 2269 });
  assert.equal(pcap.readUInt32LE(0), 0xa1b2c3d4);
  assert.equal(pcap.readUInt32LE(20), 1); // LINKTYPE_ETHERNET
  let off = 24;
  let lastTs = -1;
  for (const p of payloads) {
    const ts = pcap.readUInt32LE(off) * 1e6 + pcap.readUInt32LE(off + 4);
    assert.ok(ts > lastTs, 'timestamps increase');
    lastTs = ts;
    const len = pcap.readUInt32LE(off + 8);
    assert.equal(len, UDP_PAYLOAD_OFFSET + p.length);
    const f = pcap.subarray(off + 16, off + 16 + len);
    assert.equal(f.readUInt16BE(12), 0x0800);
    const ip = f.subarray(14, 34);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    assert.equal(sum, 0xffff, 'IPv4 header checksum');
    assert.equal(ip.readUInt16BE(2), 28 + p.length);
    assert.equal(f.readUInt16BE(36), 2269);
    assert.equal(f.readUInt16BE(38), 8 + p.length);
    assert.equal(Buffer.from(f.subarray(UDP_PAYLOAD_OFFSET)).toString('hex'), Buffer.from(p).toString('hex'));
    off += 16 + len;
  }
  assert.equal(off, pcap.length);
});

test('tshark: PSK I_MESSAGE fields, positions and full coverage', async (t) => {
  if (!needPeer(t, 'tshark', tsharkProblem())) return;
  const p = (await tshark()).get('psk')!;
  assert.equal(p.protocols, 'eth:ethertype:ip:udp:mikey');
  assertClean(p);
  assert.equal(p.mikey!.show, 'Multimedia Internet KEYing: Pre-shared');
  // payload nodes cover exactly the hand-written parts
  const nodes = p.fields.map((f) => [f.name, f.pos, f.size]);
  assert.deepEqual(nodes, [
    ['mikey.hdr', ...span(psk, 'hdr')],
    ['mikey.t', ...span(psk, 't')],
    ['mikey.rand', ...span(psk, 'rand')],
    ['mikey.sp', ...span(psk, 'sp')],
    ['mikey.kemac', ...span(psk, 'kemac')],
  ]);
  assert.equal(field(p, 'mikey.version').show, '1');
  assert.equal(field(p, 'mikey.type').show, '0');
  assert.equal(field(p, 'mikey.v.set').show, '0');
  assert.equal(field(p, 'mikey.csb_id').value, '12345678');
  assert.equal(field(p, 'mikey.cs_count').show, '1');
  assert.equal(field(p, 'mikey.srtp_id.ssrc').value, 'deadbeef');
  assert.deepEqual([field(p, 'mikey.srtp_id.roc').pos, field(p, 'mikey.srtp_id.roc').size], [15, 4]);
  const ntp = field(p, 'mikey.t.ntp');
  assert.equal(ntp.value, clean(NTP_2024));
  assert.match(ntp.show, /^Jan {1,2}1, 2024 00:00:00\.5/);
  assert.equal(ntp.pos, span(psk, 't')[0] + 2);
  const rand = field(p, 'mikey.rand.data');
  assert.deepEqual([rand.pos, rand.size, rand.value], [span(psk, 'rand')[0] + 2, 16, RAND16]);
  // SP: ten SRTP parameters, by tshark's names
  const sp = findField(p, 'mikey.sp')!;
  const params = sp.children.filter((c) => c.children.length > 0).map((c) => [c.name, c.show]);
  assert.deepEqual(params, [
    ['mikey.sp.encr_alg', '1'],
    ['mikey.sp.encr_len', '16'],
    ['mikey.sp.auth_alg', '1'],
    ['mikey.sp.auth_key_len', '20'],
    ['mikey.sp.salt_len', '14'],
    ['mikey.sp.prf', '0'],
    ['mikey.sp.srtp_encr', '1'],
    ['mikey.sp.srtcp_encr', '1'],
    ['mikey.sp.srtp_auth', '1'],
    ['mikey.sp.auth_tag_len', '10'],
  ]);
  assert.equal(field(p, 'mikey.sp.param.type', 9).pos, span(psk, 'sp')[0] + 5 + 27);
  assert.ok(p.fixups.length > 0, 'the SP parameter position quirk was corrected');
  // KEMAC and its key data
  const kemac = span(psk, 'kemac')[0];
  assert.equal(field(p, 'mikey.kemac.encr_alg').show, '0');
  assert.equal(field(p, 'mikey.kemac.key_data_len').show, '41');
  assert.deepEqual([findField(p, 'mikey.key')!.pos, findField(p, 'mikey.key')!.size], [kemac + 4, 41]);
  assert.equal(field(p, 'mikey.key.type').show, '3');
  assert.equal(field(p, 'mikey.key.kv').show, '1');
  assert.deepEqual([field(p, 'mikey.key.data').pos, field(p, 'mikey.key.data').value], [kemac + 8, KEY]);
  assert.deepEqual([field(p, 'mikey.key.salt').pos, field(p, 'mikey.key.salt').value], [kemac + 26, SALT]);
  assert.deepEqual([field(p, 'mikey.key.kv.spi').pos, field(p, 'mikey.key.kv.spi').value], [kemac + 41, 'a1b2c3d4']);
  assert.deepEqual([field(p, 'mikey.kemac.mac_alg').pos, field(p, 'mikey.kemac.mac_alg').show], [kemac + 45, '0']);
});

test('tshark: second PSK message (V=1, two crypto sessions, plain TEK)', async (t) => {
  if (!needPeer(t, 'tshark', tsharkProblem())) return;
  const p = (await tshark()).get('pskPlain')!;
  assertClean(p);
  assert.equal(field(p, 'mikey.v.set').show, '1');
  assert.deepEqual(findFields(p, 'mikey.srtp_id.ssrc').map((f) => [f.pos, f.value]), [[11, '00000001'], [20, '00000002']]);
  assert.equal(field(p, 'mikey.srtp_id.roc', 1).value, '00000010');
  assert.equal(field(p, 'mikey.t.ts_type').show, '1');
  assert.equal(field(p, 'mikey.rand.len').show, '20');
  assert.equal(field(p, 'mikey.key.type').show, '2');
  assert.equal(field(p, 'mikey.key.data').value, pattern(16, 3, 1));
});

test('tshark: signed-DH-shaped message (1536-bit DH value, RSA SIGN)', async (t) => {
  if (!needPeer(t, 'tshark', tsharkProblem())) return;
  const p = (await tshark()).get('dh')!;
  assertClean(p);
  assert.equal(p.mikey!.show, 'Multimedia Internet KEYing: D-H init');
  assert.deepEqual(
    p.fields.map((f) => [f.name, f.pos, f.size]),
    (['hdr', 't', 'rand', 'id', 'sp', 'dh', 'sign'] as const).map((n) => [`mikey.${n}`, ...span(dh, n)]),
  );
  assert.equal(field(p, 'mikey.id.type').show, '1');
  assert.equal(field(p, 'mikey.id.data').show, 'sip:alice@example.com');
  const dhPos = span(dh, 'dh')[0];
  assert.equal(field(p, 'mikey.dh.group').show, '0');
  assert.deepEqual([field(p, 'mikey.dh.value').pos, field(p, 'mikey.dh.value').size, field(p, 'mikey.dh.value').value], [dhPos + 2, 192, dhValue]);
  assert.equal(field(p, 'mikey.dh.kv').show, '0');
  const signPos = span(dh, 'sign')[0];
  assert.equal(field(p, 'mikey.sign.type').show, '0');
  assert.equal(field(p, 'mikey.sign.len').show, '256');
  const sig = field(p, 'mikey.sign.data');
  assert.deepEqual([sig.pos, sig.size, sig.value], [signPos + 2, 256, signature]);
  assert.equal(signPos + 258, bytesOf(dh).length);
});

test('tshark: the harness notices what tshark could not decode', async (t) => {
  if (!needPeer(t, 'tshark', tsharkProblem())) return;
  const d = await tshark();
  const unknown = d.get('unknownPayload')!;
  assert.equal(unknown.complete, false);
  assert.equal(unknown.malformed, false, 'tshark raises nothing on an unknown payload');
  assert.notDeepEqual(uncoveredRanges(unknown), []);
  assert.equal(unknown.fields[1]!.name, '', 'an unknown payload is an unnamed node');
  const cut = d.get('truncated')!;
  assert.equal(cut.malformed, true);
  assert.equal(cut.complete, false);
});

test('GStreamer: parses the PSK messages and re-encodes them byte for byte; spins on DH', async (t) => {
  if (!needPeer(t, 'gstreamer', gstProblem())) return;
  const [a, b, c] = await gstParse([hexOf(psk), hexOf(pskPlain), hexOf(dh)]);
  assert.ok(a && !gstFailed(a), JSON.stringify(a));
  const m = a as GstMessage;
  assert.equal(m.reencoded, hexOf(psk));
  assert.deepEqual(
    { version: m.version, type: m.type, v: m.v, prfFunc: m.prfFunc, csbId: m.csbId, mapType: m.mapType, cs: m.cs },
    { version: 1, type: 0, v: false, prfFunc: 0, csbId: 0x12345678, mapType: 0, cs: [{ policy: 0, ssrc: 0xdeadbeef, roc: 0 }] },
  );
  assert.deepEqual(m.payloads.map((p) => p.type), [5, 11, 10, 1]);
  assert.deepEqual(m.payloads[0], { type: 5, tsType: 0, tsValue: clean(NTP_2024) });
  assert.deepEqual(m.payloads[1], { type: 11, rand: RAND16 });
  const sp = m.payloads[2] as { params: Array<{ type: number; value: string }> };
  assert.deepEqual(sp.params.map((x) => [x.type, x.value]), [[0, '01'], [1, '10'], [2, '01'], [3, '14'], [4, '0e'], [5, '00'], [7, '01'], [8, '01'], [10, '01'], [11, '0a']]);
  assert.deepEqual(m.payloads[3], {
    type: 1,
    encAlg: 0,
    macAlg: 0,
    sub: [{ type: 20, keyType: 2, kvType: 1, key: KEY, salt: SALT, spi: 'a1b2c3d4' }],
  });

  assert.ok(b && !gstFailed(b), JSON.stringify(b));
  assert.equal((b as GstMessage).reencoded, hexOf(pskPlain));
  assert.deepEqual((b as GstMessage).cs.map((x) => x.ssrc), [1, 2]);

  assert.ok(c && gstFailed(c) && c.hung === true, `expected a hang on DH, got ${JSON.stringify(c)}`);
});

test('GStreamer: a message built with its API matches the hand-written layout', async (t) => {
  if (!needPeer(t, 'gstreamer', gstProblem())) return;
  const spec: GstBuildSpec = {
    csbId: 0x12345678,
    cs: [{ policy: 0, ssrc: 0xdeadbeef, roc: 0 }],
    t: { type: 0, value: clean(NTP_2024) },
    rand: RAND16,
    sp: [{ policy: 0, proto: 0, params: [[0, '01'], [1, '10'], [2, '01'], [3, '14'], [4, '0e'], [5, '00'], [7, '01'], [8, '01'], [10, '01'], [11, '0a']].map(([type, value]) => ({ type: type as number, value: value as string })) }],
    kemac: { keys: [{ type: 2, key: KEY, salt: SALT, spi: 'a1b2c3d4' }] },
  };
  const [built, now] = await gstBuild([spec, { ...spec, t: 'now' }]);
  assert.equal(built, hexOf(psk));
  // with the current time: the same bytes except the timestamp value
  const [tPos] = span(psk, 't');
  const nowBytes = Buffer.from(now!, 'hex');
  const ntpSec = nowBytes.readUInt32BE(tPos + 2);
  assert.ok(Math.abs(ntpSec - 2208988800 - Date.now() / 1000) < 60, 'T is now');
  nowBytes.fill(0, tPos + 2, tPos + 10);
  const ref = Buffer.from(hexOf(psk), 'hex');
  ref.fill(0, tPos + 2, tPos + 10);
  assert.deepEqual(nowBytes, ref);
});

test('GStreamer: bench reports a median time per parse+encode', async (t) => {
  if (!needPeer(t, 'gstreamer', gstProblem())) return;
  const r = await gstBench(hexOf(psk), 2000, { batches: 5 });
  assert.ok(r.parseEncodeNs > 0 && Number.isFinite(r.parseEncodeNs));
  assert.ok(r.parseNs !== undefined && r.parseNs > 0 && r.parseNs <= r.parseEncodeNs * 1.5);
});
