// The RTSP camera profile (MIKEY-NULL): what we send is per RFC; what deployed senders send is read
// strictly by default, and each known quirk is accepted only when asked for and always reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtspNullInitiator, RtspNullResponder, RtspNullQuirkError, RTSP_NULL_QUIRKS, type QuirkReport, type RtspNullQuirk } from '../../src/profiles/rtsp-null.js';
import { srtpEndpoint, addRekey } from '../../src/profiles/handoff.js';
import { SrtpError } from '../../src/srtp/endpoint.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { policyParams } from '../../src/wire/sp.js';
import { ntpTimestamp } from '../../src/session/time.js';
import { MikeyProtocolError } from '../../src/session/errors.js';
import type { KemacPayload, KeyDataPayload, SpPayload } from '../../src/wire/types.js';

const T0 = Date.UTC(2027, 5, 1, 8, 30);
const clock = { now: () => T0 };
let r = 1;
const random = (n: number) => Uint8Array.from({ length: n }, () => (r = (r * 1103515245 + 12345) & 0x7fffffff) & 0xff);

// ---- deployed message shapes, written field by field from each sender's published format ----

interface Shape {
  csbId?: number;
  ssrc?: number;
  roc?: number;
  t?: Uint8Array | null;
  rand?: Uint8Array | null;
  params: Array<[number, number]>;
  /** TEK key data (key ‖ salt), KV NULL unless mki. */
  key: Uint8Array;
  salt?: Uint8Array;
  mki?: Uint8Array;
  /** Key data type (default TEK, or TEK+SALT with a salt). */
  keyType?: number;
  trailing?: number[];
}

function shape(s: Shape): Uint8Array {
  const out: number[] = [];
  const u32 = (v: number) => out.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  const next: number[] = [];
  if (s.t !== null) next.push(5);
  if (s.rand !== null) next.push(11);
  next.push(10, 1);
  out.push(1, 0, next[0]!, 0);
  u32(s.csbId ?? 0x01020304);
  out.push(1, 0, 0);
  u32(s.ssrc ?? 0);
  u32(s.roc ?? 0);
  let k = 1;
  if (s.t !== null) {
    out.push(next[k++]!, 0, ...(s.t ?? ntpTimestamp(T0)));
  }
  if (s.rand !== null) {
    const rand = s.rand ?? new Uint8Array(16).fill(0x5a);
    out.push(next[k++]!, rand.length, ...rand);
  }
  out.push(next[k++]!, 0, 0, 0, s.params.length * 3);
  for (const [t, v] of s.params) out.push(t, 1, v);
  const kd: number[] = [0, ((s.keyType ?? (s.salt ? 3 : 2)) << 4) | (s.mki ? 1 : 0), s.key.length >> 8, s.key.length & 255, ...s.key];
  if (s.salt) kd.push(0, s.salt.length, ...s.salt);
  if (s.mki) kd.push(s.mki.length, ...s.mki);
  out.push(0, 0, kd.length >> 8, kd.length & 255, ...kd, 0);
  out.push(...(s.trailing ?? []));
  return Uint8Array.from(out);
}

const KEY = Uint8Array.from({ length: 30 }, (_, i) => 0x40 + i);
// GStreamer (gst_mikey_message_new_from_caps + the stream's SSRC): SP 0,1,2,3(=tag length),7,8,10; TEK = key ‖ salt, no MKI
const GST = (tag: 4 | 10) => shape({ ssrc: 0x2d3e4f50, params: [[0, 1], [1, 16], [2, 1], [3, tag], [7, 1], [8, 1], [10, 1]], key: KEY });
// live555 (MIKEYState): SP 0,1,2,3,4,7,8,10,11 all per RFC; TEK = key ‖ salt with a 4-byte MKI
const LIVE555 = shape({ ssrc: 0x11112222, params: [[0, 1], [1, 16], [2, 1], [3, 20], [4, 14], [7, 1], [8, 1], [10, 1], [11, 10]], key: KEY, mki: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) });
// gortsplib before its fix: GStreamer's SP (tag length in parameter 3), two crypto sessions possible, one here
const GORTSPLIB = shape({ ssrc: 0x30685760, params: [[0, 1], [1, 16], [2, 1], [3, 10], [7, 1], [8, 1], [10, 1]], key: KEY });

function keyOf(ctx: { masterKey: Uint8Array; masterSalt: Uint8Array }): string {
  return Buffer.concat([ctx.masterKey, ctx.masterSalt]).toString('hex');
}

test('what we send: a NULL/NULL PSK I_MESSAGE per RFC 3830 (TEK+SALT, 4-byte MKI, SP by the book, SSRC 0)', async () => {
  const m = new RtspNullInitiator({ clock, random }).createMessage();
  const msg = decodeMessage(m.bytes);
  assert.equal(msg.header.dataType, 0);
  assert.deepEqual(msg.payloads.map((p) => p.type), [5, 11, 10, 1]);
  assert.equal(msg.header.csIdMap.type === 0 && msg.header.csIdMap.entries[0]!.ssrc, 0, 'SSRC 0: filled in by the responder');
  const sp = msg.payloads[2] as SpPayload;
  const params = new Map(policyParams(sp).map((p) => [p.type, p.value[0]]));
  assert.equal(params.get(3), 20, 'auth key length: HMAC-SHA-1 key, 20 bytes');
  assert.equal(params.get(11), 10, 'tag length in parameter 11');
  const kemac = msg.payloads[3] as KemacPayload;
  assert.deepEqual([kemac.encrAlg, kemac.macAlg], [0, 0]);
  const kd = kemac.plaintext![0] as KeyDataPayload;
  assert.equal(kd.keyType, 3, 'TEK+SALT');
  assert.equal(kd.validity.kv === 1 && kd.validity.spi.length, 4);
  // key ‖ salt form, for GStreamer-based peers
  const g = new RtspNullInitiator({ clock, random, keyForm: 'key||salt' }).createMessage({ ssrc: 5 });
  const gkd = (decodeMessage(g.bytes).payloads[3] as KemacPayload).plaintext![0] as KeyDataPayload;
  assert.deepEqual([gkd.keyType, gkd.keyData.length], [2, 30]);
  // both read back to the same keys by a strict responder, which fills in SSRC 0
  const got = await new RtspNullResponder({ clock, ssrc: 0xabcdef01 }).receive(m.base64);
  assert.deepEqual(got.quirks, []);
  assert.deepEqual(got.filled, [1]);
  assert.equal(got.contexts[0]!.ssrc, 0xabcdef01);
  assert.equal(keyOf(got.contexts[0]!), keyOf(m.contexts[0]!));
  assert.equal(keyOf((await new RtspNullResponder({ clock }).receive(g.bytes)).contexts[0]!), keyOf(g.contexts[0]!));
});

test('live555\'s shape (RFC-correct SP, key ‖ salt, MKI) is read strictly', async () => {
  const got = await new RtspNullResponder({ clock, requireMki: true }).receive(LIVE555);
  assert.deepEqual(got.quirks, []);
  const [c] = got.contexts;
  assert.deepEqual([c!.ssrc, c!.profile, keyOf(c!), Buffer.from(c!.mki!).toString('hex')], [0x11112222, 'AES_CM_128_HMAC_SHA1_80', Buffer.from(KEY).toString('hex'), 'deadbeef']);
});

test('GStreamer and gortsplib shapes: refused strictly for parameter 3, read leniently to the right keys and tag length', async () => {
  for (const [name, bytes, profile] of [['GStreamer _80', GST(10), 'AES_CM_128_HMAC_SHA1_80'], ['GStreamer _32', GST(4), 'AES_CM_128_HMAC_SHA1_32'], ['gortsplib', GORTSPLIB, 'AES_CM_128_HMAC_SHA1_80']] as const) {
    await assert.rejects(new RtspNullResponder({ clock }).receive(bytes), (e: unknown) => e instanceof RtspNullQuirkError && e.quirk === 'tag-length-as-auth-key-length' && e.errorNo === 10, name);
    const seen: QuirkReport[] = [];
    // 32-bit tags are below the default minimum policy: opted in
    const got = await new RtspNullResponder({ clock, lenient: ['tag-length-as-auth-key-length'], onQuirk: (q) => seen.push(q), minimumPolicy: { minTagLength: 4 } }).receive(bytes);
    assert.deepEqual(got.quirks.map((q) => q.quirk), ['tag-length-as-auth-key-length'], name);
    assert.deepEqual(seen, got.quirks);
    assert.equal(got.contexts[0]!.profile, profile, name);
    assert.equal(keyOf(got.contexts[0]!), Buffer.from(KEY).toString('hex'), name);
  }
  // ONVIF: an MKI is required; GStreamer sends none
  await assert.rejects(new RtspNullResponder({ clock, lenient: true, requireMki: true }).receive(GST(10)), /MKI/);
});

test('each quirk: refused and reported strictly, accepted and reported when asked for', async () => {
  const base = { ssrc: 7, params: [[0, 1], [1, 16], [2, 1], [3, 20], [4, 14], [11, 10]] as Array<[number, number]>, key: KEY.subarray(0, 16), salt: KEY.subarray(16) };
  const cases: Array<[RtspNullQuirk, Uint8Array]> = [
    ['aes-f8-for-aes-cm', shape({ ...base, params: [[0, 2], ...base.params.slice(1)] })],
    ['timestamp-not-ntp', shape({ ...base, t: Uint8Array.of(0, 0, 0, 0, ...[0, 0, 0, 0]) })],
    ['timestamp-not-ntp', shape({ ...base, t: (() => { const b = new Uint8Array(8); new DataView(b.buffer).setUint32(0, T0 / 1000); return b; })() })],
    ['missing-rand', shape({ ...base, rand: null })],
    ['trailing-zero-byte', shape({ ...base, trailing: [0] })],
  ];
  for (const [quirk, bytes] of cases) {
    const seen: QuirkReport[] = [];
    await assert.rejects(new RtspNullResponder({ clock, onQuirk: (q) => seen.push(q) }).receive(bytes), (e: unknown) => e instanceof RtspNullQuirkError && e.quirk === quirk, quirk);
    assert.deepEqual(seen.map((q) => [q.quirk, q.accepted]), [[quirk, false]]);
    const others = RTSP_NULL_QUIRKS.filter((q) => q !== quirk);
    await assert.rejects(new RtspNullResponder({ clock, lenient: others }).receive(bytes), RtspNullQuirkError, `${quirk}: lenience for the others does not cover it`);
    const got = await new RtspNullResponder({ clock, lenient: [quirk] }).receive(bytes);
    assert.deepEqual(got.quirks.map((q) => [q.quirk, q.accepted]), [[quirk, true]]);
    assert.equal(keyOf(got.contexts[0]!), Buffer.from(KEY).toString('hex'), quirk);
    assert.equal(got.contexts[0]!.profile, 'AES_CM_128_HMAC_SHA1_80');
  }
  // the Unix-time case says so
  await assert.rejects(new RtspNullResponder({ clock }).receive(cases[2]![1]), /Unix time/);
  // two trailing bytes, or a non-zero one, are not the quirk
  await assert.rejects(new RtspNullResponder({ clock, lenient: true }).receive(shape({ ...base, trailing: [0, 0] })), (e: unknown) => e instanceof MikeyProtocolError && !(e instanceof RtspNullQuirkError));
  await assert.rejects(new RtspNullResponder({ clock, lenient: true }).receive(shape({ ...base, trailing: [1] })), (e: unknown) => !(e instanceof RtspNullQuirkError));
  // without RAND, a TGK cannot be repaired (its TEK derivation needs RAND)
  const tgk = shape({ ...base, rand: null, keyType: 1 }); // TGK+SALT
  await assert.rejects(new RtspNullResponder({ clock, lenient: true }).receive(tgk), /TGK/);
});

test('everything at once, as a careless camera sends it', async () => {
  const bytes = shape({ ssrc: 9, t: new Uint8Array(8), rand: null, params: [[0, 2], [1, 16], [2, 1], [3, 4], [7, 1], [8, 1], [10, 1]], key: KEY, trailing: [0] });
  const got = await new RtspNullResponder({ clock, lenient: true, minimumPolicy: { minTagLength: 4 } }).receive(bytes);
  assert.deepEqual(got.quirks.map((q) => q.quirk).sort(), ['aes-f8-for-aes-cm', 'missing-rand', 'tag-length-as-auth-key-length', 'timestamp-not-ntp', 'trailing-zero-byte']);
  assert.equal(got.contexts[0]!.profile, 'AES_CM_128_HMAC_SHA1_32');
});

test('re-keying: a CSB update with a new MKI; both keys live at once for one SSRC', async () => {
  const ini = new RtspNullInitiator({ clock, random });
  const first = ini.createMessage({ ssrc: 0x5000, mki: Uint8Array.of(0, 0, 0, 1) });
  const resp = new RtspNullResponder({ clock });
  const a = await resp.receive(first.bytes);
  const second = ini.rekey({ mki: Uint8Array.of(0, 0, 0, 2) });
  assert.equal(decodeMessage(second.bytes).payloads.some((p) => p.type === 11), false, 'an update carries no RAND (RFC 3830 §4.5)');
  const b = await resp.receive(second.bytes);
  assert.equal(b.update, true);
  assert.notEqual(keyOf(b.contexts[0]!), keyOf(a.contexts[0]!));
  // the receiver's stream holds both master keys; the sender switches by MKI
  const rx = srtpEndpoint(a.contexts);
  assert.deepEqual(addRekey(new Map([[0x5000, rx]]), b.bundle).map((m) => Buffer.from(m).toString('hex')), ['00000002']);
  const tx = srtpEndpoint(first.contexts);
  tx.addKey({ masterKey: second.contexts[0]!.masterKey, masterSalt: second.contexts[0]!.masterSalt, mki: second.mki });
  const pkt = (seq: number) => { const p = new Uint8Array(32); p[0] = 0x80; p[3] = seq; new DataView(p.buffer).setUint32(8, 0x5000); return p; };
  const old = tx.protectRtp(pkt(1));
  tx.useKey(second.mki!);
  const fresh = tx.protectRtp(pkt(2));
  assert.deepEqual(rx.unprotectRtp(fresh), pkt(2));
  assert.deepEqual(rx.unprotectRtp(old), pkt(1), 'a late packet under the old key still authenticates');
  rx.removeKey(Uint8Array.of(0, 0, 0, 1));
  const older = srtpEndpoint(first.contexts).protectRtp(pkt(3));
  assert.throws(() => rx.unprotectRtp(older), (e: unknown) => e instanceof SrtpError && e.reason === 'mki');
});
