// The camera profile against GStreamer's own MIKEY code (libgstsdp, through the C driver): the
// message gst-rtsp-server builds is read (leniently, its quirk reported) to its keys, and the
// messages we send are read by GStreamer to the same key, MKI and SSRC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RtspNullInitiator, RtspNullResponder, RtspNullQuirkError } from '../../src/profiles/rtsp-null.js';
import { needPeer } from '../support/peer.js';
import { buildGstDriver, gstBuild, gstFailed, gstParse, gstProblem, type GstKeyData, type GstMessage } from './gst.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('a message built by GStreamer as gst-rtsp-server does: strict refusal, lenient keys', async (t) => {
  if (!needPeer(t, 'GStreamer', gstProblem())) return;
  await buildGstDriver();
  const key = new Uint8Array(randomBytes(30));
  for (const [tag, profile] of [[10, 'AES_CM_128_HMAC_SHA1_80'], [4, 'AES_CM_128_HMAC_SHA1_32']] as const) {
    const [h] = await gstBuild([{
      csbId: 0x0badf00d, cs: [{ policy: 0, ssrc: 0x12345678, roc: 3 }], t: 'now', rand: hex(randomBytes(16)),
      // gst_mikey_message_new_from_caps: encr AES-CM, key 16, HMAC-SHA-1, "auth key length" = tag length, on/on/on
      sp: [{ policy: 0, params: [[0, '01'], [1, '10'], [2, '01'], [3, tag.toString(16).padStart(2, '0')], [7, '01'], [8, '01'], [10, '01']].map(([type, value]) => ({ type: type as number, value: value as string })) }],
      kemac: { keys: [{ type: 2, key: hex(key) }] },
    }]);
    const bytes = new Uint8Array(Buffer.from(h!, 'hex'));
    await assert.rejects(new RtspNullResponder().receive(bytes), (e: unknown) => e instanceof RtspNullQuirkError && e.quirk === 'tag-length-as-auth-key-length');
    const got = await new RtspNullResponder({ lenient: ['tag-length-as-auth-key-length'], minimumPolicy: { minTagLength: 4 } }).receive(bytes);
    assert.deepEqual(got.quirks.map((q) => q.quirk), ['tag-length-as-auth-key-length']);
    const [c] = got.contexts;
    assert.deepEqual([c!.ssrc, c!.roc, c!.profile, hex(Buffer.concat([c!.masterKey, c!.masterSalt]))], [0x12345678, 3, profile, hex(key)]);
  }
});

test('GStreamer reads what we send: key ‖ salt form, MKI, SSRC', async (t) => {
  if (!needPeer(t, 'GStreamer', gstProblem())) return;
  await buildGstDriver();
  const mki = Uint8Array.of(1, 2, 3, 4);
  const concat = new RtspNullInitiator({ keyForm: 'key||salt' }).createMessage({ ssrc: 0xfeedface, mki });
  const separate = new RtspNullInitiator().createMessage({ ssrc: 0x0, mki });
  const [a, b] = await gstParse([hex(concat.bytes), hex(separate.bytes)]);
  assert.ok(a && !gstFailed(a) && b && !gstFailed(b), 'GStreamer parses both');
  const ka = (a as GstMessage).payloads.find((p) => p.type === 1) as { sub: GstKeyData[] };
  const kb = (b as GstMessage).payloads.find((p) => p.type === 1) as { sub: GstKeyData[] };
  const ctx = concat.contexts[0]!;
  assert.equal(ka.sub[0]!.key, hex(Buffer.concat([ctx.masterKey, ctx.masterSalt])), 'the 30 bytes GStreamer hands to srtpdec');
  assert.equal(ka.sub[0]!.spi, hex(mki));
  assert.equal((a as GstMessage).cs[0]!.ssrc, 0xfeedface);
  // TEK+SALT: GStreamer keeps key and salt apart (and would give srtpdec the 16-byte key alone)
  assert.deepEqual([kb.sub[0]!.key, kb.sub[0]!.salt], [hex(separate.contexts[0]!.masterKey), hex(separate.contexts[0]!.masterSalt)]);
});
