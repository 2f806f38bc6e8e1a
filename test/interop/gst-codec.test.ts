// GStreamer's MIKEY parser and builder (the one gst-rtsp-server and rtspsrc use) against our
// codec, on the message it implements: the NULL-encrypted pre-shared-key I_MESSAGE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, policyParams } from '../../src/wire/index.js';
import type { Message, Payload, KeyValidity } from '../../src/wire/types.js';
import { needPeer } from '../support/peer.js';
import { CORPUS, SRTP_POLICY, fill } from '../wire/corpus.js';
import { buildGstDriver, gstBuild, gstFailed, gstParse, gstProblem, type GstBuildSpec, type GstMessage } from './gst.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

/** NULL-encrypted PSK messages in the shapes cameras and media servers send. */
function pskVariants(): Array<{ name: string; message: Message }> {
  const base = CORPUS.find((s) => s.name === 'psk-null')!.message;
  const kd = (keyType: number, seed: number, validity: KeyValidity, keyLen = 16): Payload => {
    const p: Payload = { type: 20, keyType, keyData: fill(keyLen, seed), validity };
    if (keyType === 1 || keyType === 3) p.salt = fill(14, seed + 1);
    return p;
  };
  const with_ = (name: string, header: Partial<Message['header']>, keys: Payload[], extra: Payload[] = []): { name: string; message: Message } => ({
    name,
    message: { header: { ...base.header, ...header }, payloads: [base.payloads[0]!, base.payloads[1]!, ...extra, { type: 1, encrAlg: 0, encrData: new Uint8Array(0), plaintext: keys, macAlg: 0, mac: new Uint8Array(0) }] },
  });
  return [
    { name: 'psk-null (sample)', message: base },
    with_('TEK, no KV, two crypto sessions', { csbId: 0x01020304, csIdMap: { type: 0, entries: [{ policyNo: 0, ssrc: 0xaabbccdd, roc: 0 }, { policyNo: 1, ssrc: 0x11223344, roc: 5 }] } },
      [kd(2, 30, { kv: 0 }, 30)], [SRTP_POLICY, { ...SRTP_POLICY, policyNo: 1 } as Payload]),
    with_('TGK+SALT with a 4-byte MKI', { v: true, csbId: 0xffffffff }, [kd(1, 31, { kv: 1, spi: bytes('0000002a') })], [SRTP_POLICY]),
    with_('TEK with an interval', { csbId: 7 }, [kd(2, 32, { kv: 2, validFrom: bytes('000000000001'), validTo: bytes('0000ffffffff') }, 32)]),
    with_('two keys (re-keying by MKI)', { csbId: 9 }, [kd(3, 33, { kv: 1, spi: bytes('01') }), kd(3, 34, { kv: 1, spi: bytes('02') })], [SRTP_POLICY]),
    with_('SSRC 0 (filled in by the responder)', { csIdMap: { type: 0, entries: [{ policyNo: 0, ssrc: 0, roc: 0 }] } }, [kd(3, 35, { kv: 0 })], [SRTP_POLICY]),
  ];
}

/** GStreamer's view against ours, field by field. */
function assertSame(name: string, g: GstMessage, m: Message): void {
  const h = m.header;
  assert.equal(g.version, h.version, name);
  assert.equal(g.type, h.dataType, name);
  assert.equal(g.v, h.v, name);
  assert.equal(g.prfFunc, h.prfFunc, name);
  assert.equal(g.csbId >>> 0, h.csbId, `${name}: CSB ID`);
  assert.equal(g.mapType, h.csIdMap.type, name);
  assert.ok(h.csIdMap.type === 0);
  assert.deepEqual(g.cs.map((c) => ({ policyNo: c.policy, ssrc: c.ssrc >>> 0, roc: c.roc >>> 0 })), h.csIdMap.entries, `${name}: CS ID map`);
  assert.deepEqual(g.payloads.map((p) => p.type), m.payloads.map((p) => p.type), `${name}: payload order`);
  m.payloads.forEach((p, i) => {
    const q = g.payloads[i]! as Record<string, unknown>;
    switch (p.type) {
      case 5: assert.deepEqual([q['tsType'], q['tsValue']], [p.tsType, hex(p.value)], name); break;
      case 11: assert.equal(q['rand'], hex(p.rand), name); break;
      case 10:
        assert.deepEqual([q['policy'], q['proto']], [p.policyNo, p.protType], name);
        assert.deepEqual(q['params'], policyParams(p).map((x) => ({ type: x.type, len: x.value.length, value: hex(x.value) })), `${name}: SP`);
        break;
      case 1: {
        assert.deepEqual([q['encAlg'], q['macAlg']], [p.encrAlg, p.macAlg], name);
        const sub = q['sub'] as Array<Record<string, unknown>>;
        assert.equal(sub.length, p.plaintext!.length, `${name}: key data count`);
        p.plaintext!.forEach((k, j) => {
          assert.ok(k.type === 20);
          const s = sub[j]!;
          // GStreamer keeps only TGK/TEK of the key type, and shows +SALT as a salt
          assert.equal(s['keyType'], k.keyType & 2, `${name}: key type`);
          assert.equal(s['key'], hex(k.keyData), `${name}: key`);
          assert.equal(s['salt'], k.salt ? hex(k.salt) : undefined, `${name}: salt`);
          assert.equal(s['kvType'], k.validity.kv, `${name}: KV`);
          if (k.validity.kv === 1) assert.equal(s['spi'], hex(k.validity.spi), `${name}: MKI`);
          if (k.validity.kv === 2) assert.deepEqual([s['validFrom'], s['validTo']], [hex(k.validity.validFrom), hex(k.validity.validTo)], name);
        });
        break;
      }
      default: assert.fail(`${name}: unexpected payload ${p.type}`);
    }
  });
}

test('GStreamer parses our NULL-encrypted PSK messages to the same values and re-encodes them byte for byte', async (t) => {
  if (!needPeer(t, 'GStreamer', gstProblem())) return;
  await buildGstDriver();
  const variants = pskVariants();
  const encoded = variants.map((v) => encodeMessage(v.message));
  const parsed = await gstParse(encoded.map(hex));
  parsed.forEach((g, i) => {
    const { name } = variants[i]!;
    assert.ok(!gstFailed(g), `${name}: GStreamer failed: ${gstFailed(g) ? g.error : ''}`);
    assertSame(name, g, decodeMessage(encoded[i]!));
    assert.equal(g.reencoded, hex(encoded[i]!), `${name}: GStreamer's re-encoding equals ours`);
  });
});

test('messages built by GStreamer decode in ours to the same values', async (t) => {
  if (!needPeer(t, 'GStreamer', gstProblem())) return;
  await buildGstDriver();
  const specs: GstBuildSpec[] = [
    { csbId: 0x12345678, cs: [{ policy: 0, ssrc: 0xdeadbeef, roc: 0 }], t: { type: 0, value: 'eeb3ef4080000000' }, rand: hex(fill(16, 1)),
      sp: [{ policy: 0, params: SRTP_POLICY.type === 10 ? policyParams(SRTP_POLICY).map((p) => ({ type: p.type, value: hex(p.value) })) : [] }],
      kemac: { keys: [{ type: 2, key: hex(fill(16, 2)), salt: hex(fill(14, 3)), spi: '00000001' }] } },
    { v: true, csbId: 1, cs: [{ policy: 0, ssrc: 1, roc: 2 }, { policy: 0, ssrc: 3, roc: 4 }], t: 'now', rand: hex(fill(32, 4)),
      kemac: { keys: [{ type: 0, key: hex(fill(16, 5)) }, { type: 2, key: hex(fill(30, 6)), validFrom: '0001', validTo: 'ffff' }] } },
    { csbId: 0, cs: [{ policy: 0, ssrc: 0, roc: 0 }], t: { type: 1, value: '0000000100000000' }, kemac: { keys: [{ key: hex(fill(46, 7)) }] } },
  ];
  const built = await gstBuild(specs);
  const now = Date.now();
  built.forEach((h, i) => {
    const s = specs[i]!;
    const m = decodeMessage(bytes(h));
    assert.equal(m.header.dataType, 0);
    assert.equal(m.header.v, s.v ?? false);
    assert.equal(m.header.csbId, s.csbId);
    assert.deepEqual(m.header.csIdMap, { type: 0, entries: s.cs.map((c) => ({ policyNo: c.policy, ssrc: c.ssrc, roc: c.roc })) });
    const [t0, ...rest] = m.payloads;
    assert.ok(t0!.type === 5);
    if (s.t === 'now') {
      // NTP-UTC of the moment GStreamer built it
      const sec = new DataView(t0.value.buffer, t0.value.byteOffset).getUint32(0);
      assert.ok(Math.abs((sec - 2208988800) * 1000 - now) < 60_000, 'T is now');
    } else assert.deepEqual([t0.tsType, hex(t0.value)], [s.t!.type, s.t!.value]);
    const rand = rest.find((p) => p.type === 11);
    assert.equal(rand && rand.type === 11 ? hex(rand.rand) : undefined, s.rand);
    const sp = rest.filter((p) => p.type === 10);
    assert.deepEqual(sp.map((p) => p.type === 10 && policyParams(p).map((q) => ({ type: q.type, value: hex(q.value) }))), (s.sp ?? []).map((x) => x.params));
    const kemac = rest.find((p) => p.type === 1)!;
    assert.ok(kemac.type === 1 && kemac.encrAlg === 0 && kemac.macAlg === 0);
    assert.deepEqual(kemac.plaintext!.map((k) => {
      assert.ok(k.type === 20);
      const o: Record<string, unknown> = { type: k.keyType & 2, key: hex(k.keyData) };
      if (k.salt) o['salt'] = hex(k.salt);
      if (k.validity.kv === 1) o['spi'] = hex(k.validity.spi);
      if (k.validity.kv === 2) { o['validFrom'] = hex(k.validity.validFrom); o['validTo'] = hex(k.validity.validTo); }
      return o;
    }), s.kemac!.keys.map((k) => ({ ...k, type: k.type ?? 2 })));
    // and our encoder writes the same bytes back
    assert.equal(hex(encodeMessage(m)), h);
  });
});
