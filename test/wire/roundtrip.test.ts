import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeMessage, encodeMessage, decodeIbakeData, decodeEskData, encodePayloads, encodeMessageInto, encodedSize, MikeyEncodeError } from '../../src/wire/index.js';
import { DataType, PayloadType, KeyDataType, KvType, TsType, CsIdMapType, GeneralExtType, registryInfo } from '../../src/wire/registry.js';
import type { Payload, Message, SpPayload } from '../../src/wire/types.js';
import { policyParams } from '../../src/wire/sp.js';
import { CORPUS, ESK_PLAINTEXT, IBAKE_PLAINTEXT } from './corpus.js';

/** A comparable form: spans dropped, and of a value carried both raw and decoded, the decoded one. */
function comparable(x: unknown): unknown {
  if (x instanceof Uint8Array) return Buffer.from(x).toString('hex');
  if (Array.isArray(x)) return x.map(comparable);
  if (x && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      if (k === 'span' || k === 'bytes' || v === undefined) continue;
      if (k === 'encrData' && o['plaintext'] && (o['encrAlg'] === 0)) continue;
      if (k === 'data' && o['type'] === 21 && ['sdpIds', 'keyIds', 'csbId', 'omaBcast', 'sakke'].some((f) => o[f] !== undefined)) continue;
      if (k === 'ticketData' && o['baseTicket']) continue;
      if (k === 'sessionData' && o['srtp']) continue;
      if (k === 'paramBytes') { out['params'] = comparable(policyParams(o as unknown as SpPayload)); continue; }
      out[k] = comparable(v);
    }
    return out;
  }
  return x;
}

function walk(ps: Payload[], visit: (p: Payload) => void): void {
  for (const p of ps) {
    visit(p);
    if (p.type === 1 && p.plaintext) walk(p.plaintext, visit);
    if (p.type === 16 || p.type === 17) walk(p.tpData.payloads, visit);
    if (p.type === 17) { walk(p.initiatorData.payloads, visit); if (p.baseTicket) walk(p.baseTicket, visit); }
    if (p.type === 21 && p.sakke) visit(p.sakke);
  }
}

for (const s of CORPUS) {
  test(`round trip: ${s.name} (${s.description})`, () => {
    const bytes = encodeMessage(s.message);
    const d = decodeMessage(bytes);
    // field by field against the model it was built from
    assert.deepEqual(comparable(d.header), comparable(s.message.header));
    assert.deepEqual(comparable(d.payloads), comparable(s.message.payloads));
    // and byte-exact re-encoding of the decoded message
    assert.equal(Buffer.from(encodeMessage(d)).toString('hex'), Buffer.from(bytes).toString('hex'));
    // spans tile the message: header, then each payload in order, to the last byte
    let at = d.header.span!.end;
    for (const p of d.payloads) {
      assert.equal(p.span!.start, at, `payload ${p.type} starts where the previous ended`);
      at = p.span!.end;
    }
    assert.equal(at, bytes.length);
  });
}

test('encodeMessageInto writes the same bytes into the caller\'s buffer at its offset, and refuses a buffer too small', () => {
  for (const s of CORPUS) {
    const bytes = encodeMessage(s.message);
    const target = new Uint8Array(bytes.length + 10).fill(0xaa);
    assert.equal(encodeMessageInto(s.message, target, 7), bytes.length, s.name);
    assert.deepEqual(target.subarray(7, 7 + bytes.length), bytes, s.name);
    assert.ok(target.subarray(0, 7).every((x) => x === 0xaa) && target.subarray(7 + bytes.length).every((x) => x === 0xaa), `${s.name}: bytes beside the message untouched`);
    assert.throws(() => encodeMessageInto(s.message, new Uint8Array(bytes.length + 2), 3),
      (e: unknown) => e instanceof MikeyEncodeError && e.reason === `${bytes.length} bytes do not fit the ${bytes.length - 1} left in the target`, s.name);
  }
  assert.throws(() => encodeMessageInto(CORPUS[0]!.message, new Uint8Array(10), 11), RangeError);
});

test('messages larger than the encoder\'s scratch buffer are encoded whole, and so are the ones after them and after a refused one', () => {
  const small = CORPUS[0]!.message;
  const first = encodeMessage(small);
  for (const n of [3000, 40_000, 65_535]) {
    const encrData = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
    const m: Message = { header: small.header, payloads: [{ type: PayloadType.Kemac, encrAlg: 1, encrData, macAlg: 0, mac: new Uint8Array(0) }] };
    const b = encodeMessage(m);
    assert.equal(b.length, encodedSize(m));
    assert.deepEqual((decodeMessage(b).payloads[0] as { encrData: Uint8Array }).encrData, encrData);
    assert.deepEqual(encodeMessage(small), first);
  }
  const bad: Message = { header: small.header, payloads: [...small.payloads, { type: PayloadType.Rand, rand: new Uint8Array(256) }] };
  assert.throws(() => encodeMessage(bad), MikeyEncodeError);
  assert.deepEqual(encodeMessage(small), first);
});

test('bundled samples equal the corpus encodings', () => {
  for (const s of CORPUS) {
    const file = readFileSync(join(process.cwd(), 'samples', `${s.name}.hex`), 'utf8').replace(/\s+/g, '');
    assert.equal(file, Buffer.from(encodeMessage(s.message)).toString('hex'), s.name);
  }
});

test('the corpus covers every data type, payload type, key data type, KV, TS type, map type and General Extension type', () => {
  const seen = { dt: new Set<number>(), pt: new Set<number>(), kd: new Set<number>(), kv: new Set<number>(), ts: new Set<number>(), map: new Set<number>(), ge: new Set<number>() };
  const decoded: Message[] = CORPUS.map((s) => decodeMessage(encodeMessage(s.message)));
  const sub = [...decodeIbakeData(encodePayloads(IBAKE_PLAINTEXT)), ...decodeEskData(encodePayloads(ESK_PLAINTEXT))];
  for (const m of [...decoded, { header: decoded[0]!.header, payloads: sub }]) {
    seen.dt.add(m.header.dataType);
    seen.map.add(m.header.csIdMap.type);
    walk(m.payloads, (p) => {
      seen.pt.add(p.type);
      if (p.type === 20) seen.kd.add(p.keyType);
      if ('validity' in p) seen.kv.add(p.validity.kv);
      if (p.type === 5 || p.type === 13) seen.ts.add(p.tsType);
      if (p.type === 21) seen.ge.add(p.extType);
    });
  }
  const all = (reg: object) => registryInfo(reg).values();
  assert.deepEqual([...seen.dt].sort((a, b) => a - b), all(DataType));
  assert.deepEqual([...seen.pt].sort((a, b) => a - b), [...all(PayloadType).filter((v) => v !== 0), 256]);
  assert.deepEqual([...seen.kd].sort((a, b) => a - b), all(KeyDataType));
  assert.deepEqual([...seen.kv].sort((a, b) => a - b), all(KvType));
  assert.deepEqual([...seen.ts].sort((a, b) => a - b), all(TsType));
  assert.deepEqual([...seen.map].sort((a, b) => a - b), all(CsIdMapType));
  assert.deepEqual([...seen.ge].sort((a, b) => a - b), all(GeneralExtType));
});

test('IBAKE and ESK plaintext sub-payloads (ECCPT, SK) round trip', () => {
  for (const [chain, decode] of [[IBAKE_PLAINTEXT, decodeIbakeData], [ESK_PLAINTEXT, decodeEskData]] as const) {
    const bytes = encodePayloads(chain);
    const d = decode(bytes);
    assert.deepEqual(comparable(d), comparable(chain));
    assert.deepEqual(encodePayloads(d), bytes);
  }
  const d = decodeIbakeData(encodePayloads(IBAKE_PLAINTEXT));
  const p256 = d[1]!;
  assert.equal(p256.type, 25);
  if (p256.type === 25) {
    assert.equal(p256.point.length, 65);
    assert.equal(p256.padding.length, 1, 'NP, curve and a 65-byte point end 1 byte short of a 32-bit boundary');
  }
});

test('a PSK message assembled by hand from RFC 3830 §6 decodes field by field', () => {
  const hex = [
    '01', '00', '05', '80', 'a1b2c3d4', '02', '00', // HDR: v1, PSK, next T, V=1 PRF 0, CSB, #CS 2, SRTP-ID
    '00', '11111111', '00000000', '00', '22222222', '00000007', // two SRTP-ID entries
    '0b', '00', 'eeb3ef4080000000', // T: next RAND, NTP-UTC
    '0a', '10', '000102030405060708090a0b0c0d0e0f', // RAND: next SP, 16 bytes
    '01', '00', '00', '0006', '0001 01', '0b01 04', // SP: next KEMAC, policy 0, SRTP, params: encr=AES-CM, tag len 4
    '00', '00', '0023', // KEMAC: last, NULL, 35 bytes of key data
    '00', '31', '0010', 'ffeeddccbbaa99887766554433221100', '000a', '0102030405060708090a', '02', 'beef', // TEK+SALT, KV=SPI
    '01', '0102030405060708090a0b0c0d0e0f1011121314', // MAC alg HMAC-SHA-1-160 and 20 bytes
  ].join('').replace(/\s/g, '');
  const bytes = Uint8Array.from(Buffer.from(hex, 'hex'));
  const m = decodeMessage(bytes);
  assert.equal(m.header.dataType, DataType.PreShared);
  assert.equal(m.header.v, true);
  assert.equal(m.header.prfFunc, 0);
  assert.equal(m.header.csbId, 0xa1b2c3d4);
  assert.deepEqual(m.header.csIdMap, { type: 0, entries: [{ policyNo: 0, ssrc: 0x11111111, roc: 0 }, { policyNo: 0, ssrc: 0x22222222, roc: 7 }] });
  assert.deepEqual(m.payloads.map((p) => p.type), [PayloadType.T, PayloadType.Rand, PayloadType.Sp, PayloadType.Kemac]);
  const [t, rand, sp, kemac] = m.payloads;
  assert.ok(t!.type === 5 && t!.tsType === 0 && Buffer.from(t!.value).toString('hex') === 'eeb3ef4080000000');
  assert.ok(rand!.type === 11 && rand!.rand.length === 16 && rand!.rand[15] === 15);
  assert.ok(sp!.type === 10);
  assert.deepEqual(policyParams(sp!).map((q) => [q.type, Buffer.from(q.value).toString('hex')]), [[0, '01'], [11, '04']]);
  assert.ok(kemac!.type === 1);
  assert.equal(kemac!.macAlg, 1);
  assert.equal(Buffer.from(kemac!.mac).toString('hex'), '0102030405060708090a0b0c0d0e0f1011121314');
  const kd = kemac!.plaintext![0]!;
  assert.ok(kd.type === 20);
  assert.equal(kd.keyType, KeyDataType.TekSalt);
  assert.equal(Buffer.from(kd.keyData).toString('hex'), 'ffeeddccbbaa99887766554433221100');
  assert.equal(Buffer.from(kd.salt!).toString('hex'), '0102030405060708090a');
  assert.deepEqual(kd.validity.kv === 1 && Buffer.from(kd.validity.spi).toString('hex'), 'beef');
  // MAC coverage helpers rely on spans: the KEMAC's MAC is its last 20 bytes
  assert.equal(kemac!.span!.end, bytes.length);
  assert.equal(Buffer.from(bytes.subarray(kemac!.span!.end - 20)).toString('hex'), '0102030405060708090a0b0c0d0e0f1011121314');
  assert.deepEqual(encodeMessage(m), bytes);
});
