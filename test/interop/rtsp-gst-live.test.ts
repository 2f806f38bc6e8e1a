// Live RTSP with gst-rtsp-server (RFC 4567 §4.2, PLAY mode): the server's MIKEY-NULL message in
// DESCRIBE's a=key-mgmt gives us its SRTP key, ours goes in SETUP's KeyMgmt; every SRTP and
// SRTCP packet it sends must authenticate with our hand-off, and it must decrypt our SRTCP
// (seen in its log: rtpsession only reports an RR that srtpdec let through).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket as UdpSocket } from 'node:dgram';
import { readKeyMgmt } from '../../src/sdp/sdp.js';
import { KMPID_MIKEY } from '../../src/sdp/keymgmt.js';
import { setupRequest, keyMgmtOf, rekeyRequest } from '../../src/sdp/rtsp.js';
import { RtspNullInitiator, RtspNullResponder, RtspNullQuirkError, type QuirkReport } from '../../src/profiles/rtsp-null.js';
import { srtpEndpoint, gstSrtpCaps } from '../../src/profiles/handoff.js';
import { SrtpError } from '../../src/srtp/endpoint.js';
import { needPeer } from '../support/peer.js';
import { gstRtspProblem, startGstRtspServer } from './gst-rtsp.js';
import { RtspClient, udpPair } from './rtsp-client.js';

const OUR_SSRC = 0x6d696b65;

function collect(sock: UdpSocket, n: number, ms: number): Promise<Uint8Array[]> {
  return new Promise((resolve) => {
    const got: Uint8Array[] = [];
    const done = () => { sock.off('message', on); clearTimeout(t); resolve(got); };
    const on = (m: Buffer) => { got.push(new Uint8Array(m)); if (got.length >= n) done(); };
    const t = setTimeout(done, ms);
    sock.on('message', on);
  });
}

/** An RTCP receiver report (RFC 3550 §6.4.2) without report blocks, then an SDES CNAME. */
function receiverReport(ssrc: number): Uint8Array {
  const cname = Buffer.from('mikey@127.0.0.1');
  const sdesLen = 4 + 4 + 2 + cname.length;
  const pad = (4 - (sdesLen % 4)) % 4 || 4; // the item list ends with at least one zero byte
  const b = Buffer.alloc(8 + sdesLen + pad);
  b.writeUInt8(0x80, 0); b.writeUInt8(201, 1); b.writeUInt16BE(1, 2); b.writeUInt32BE(ssrc, 4);
  const s = b.subarray(8);
  s.writeUInt8(0x81, 0); s.writeUInt8(202, 1); s.writeUInt16BE((sdesLen + pad) / 4 - 1, 2); s.writeUInt32BE(ssrc, 4);
  s.writeUInt8(1, 8); s.writeUInt8(cname.length, 9); cname.copy(s, 10);
  return new Uint8Array(b);
}

test('gst-rtsp-server: DESCRIBE a=key-mgmt, SETUP KeyMgmt, PLAY, SRTP both ways', { timeout: 30_000 }, async (t) => {
  if (!needPeer(t, 'gst-rtsp-server', gstRtspProblem())) return;
  const serverKeySalt = new Uint8Array(randomBytes(30));
  const server = await startGstRtspServer({ keySalt: serverKeySalt, lifetimeS: 20 });
  const udp = await udpPair();
  let client: RtspClient | undefined;
  try {
    client = await RtspClient.open('127.0.0.1', server.port);
    const base = `rtsp://127.0.0.1:${server.port}/test`;
    const desc = await client.request('DESCRIBE', base, { Accept: 'application/sdp' });
    assert.equal(desc.status, 200);
    const km = readKeyMgmt(desc.body);
    const media = km.media[0]!;
    assert.equal(media.protocol, 'RTP/SAVP');
    assert.equal(media.level, 'media', 'gst-rtsp-server writes a=key-mgmt at media level');
    const attr = media.effective.find((a) => a.prot === KMPID_MIKEY);
    assert.ok(attr, 'a=key-mgmt:mikey in DESCRIBE');

    // strictly, GStreamer's message is refused for its SP parameter 3; with lenience it is read and reported
    await assert.rejects(new RtspNullResponder().receive(attr.data), (e: unknown) => e instanceof RtspNullQuirkError && e.quirk === 'tag-length-as-auth-key-length');
    const seen: QuirkReport[] = [];
    const theirs = await new RtspNullResponder({ lenient: ['tag-length-as-auth-key-length'], onQuirk: (q) => seen.push(q) }).receive(attr.data);
    assert.deepEqual(seen.map((q) => q.quirk), ['tag-length-as-auth-key-length']);
    const [ctx] = theirs.contexts;
    assert.ok(ctx);
    assert.equal(ctx.profile, 'AES_CM_128_HMAC_SHA1_80');
    assert.deepEqual(Buffer.concat([ctx.masterKey, ctx.masterSalt]), Buffer.from(serverKeySalt), 'the key the server was given');
    const ssrcAttr = /a=ssrc:(\d+)/.exec(desc.body);
    if (ssrcAttr) assert.equal(ctx.ssrc, Number(ssrcAttr[1]));
    assert.equal(gstSrtpCaps(theirs.contexts)['srtp-cipher'], 'aes-128-icm');

    // our MIKEY in SETUP (RFC 4567 §4.2); GStreamer reads the TEK as key ‖ salt and knows no MKI
    const initiator = new RtspNullInitiator({ keyForm: 'key||salt' });
    const ours = initiator.createMessage({ ssrc: OUR_SSRC, mki: null });
    const control = media.control ?? 'stream=0';
    const mediaUri = control.startsWith('rtsp:') ? control : `${desc.headers['content-base'] ?? `${base}/`}${control}`;
    const setup = await client.send(setupRequest({
      uri: mediaUri, cseq: 0, transport: `RTP/SAVP;unicast;client_port=${udp.port}-${udp.port + 1}`,
      keyMgmt: [{ prot: KMPID_MIKEY, uri: mediaUri, data: ours.bytes }],
    }));
    assert.equal(setup.status, 200, `SETUP: ${setup.status} ${setup.reason}`);
    assert.deepEqual(keyMgmtOf(setup.headers), []);
    const sp = /server_port=(\d+)-(\d+)/.exec(setup.headers['transport'] ?? '');
    assert.ok(sp, `server ports in ${setup.headers['transport']}`);
    const serverRtcp = Number(sp[2]);

    const rtpIn = collect(udp.rtp, 25, 8000);
    const rtcpIn = collect(udp.rtcp, 1, 8000);
    const play = await client.request('PLAY', base, { Range: 'npt=0-' });
    assert.equal(play.status, 200);

    // our SRTCP to the server: first one under a key the server does not have (it must refuse
    // it), then three under ours
    const wrong = new RtspNullInitiator({ keyForm: 'key||salt' }).createMessage({ ssrc: OUR_SSRC, mki: null });
    udp.rtcp.send(srtpEndpoint(wrong.contexts).protectRtcp(receiverReport(OUR_SSRC)), serverRtcp, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 150));
    const tx = srtpEndpoint(ours.contexts);
    for (let i = 0; i < 3; i++) {
      udp.rtcp.send(tx.protectRtcp(receiverReport(OUR_SSRC)), serverRtcp, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 150));
    }

    // re-keying in the session: SET_PARAMETER with a new MIKEY message (a CSB update, RFC 3830 §4.5)
    const next = initiator.rekey({ mki: null });
    const rk = await client.send(rekeyRequest({ uri: mediaUri, cseq: 0, session: client.session!, keyMgmt: [{ prot: KMPID_MIKEY, uri: mediaUri, data: next.bytes }] }));
    // gst-rtsp-server 1.22 has no SET_PARAMETER handler (451); later versions take the new
    // message when the media is "client-managed MIKEY"
    assert.ok(rk.status === 200 || rk.status === 451, `SET_PARAMETER: ${rk.status} ${rk.reason}`);
    const rekeyed = rk.status === 200;
    if (!rekeyed) t.diagnostic(`gst-rtsp-server answered SET_PARAMETER with ${rk.status} ${rk.reason}: no re-key over RTSP with this version`);
    const tx2 = srtpEndpoint(next.contexts);
    for (let i = 0; rekeyed && i < 2; i++) {
      udp.rtcp.send(tx2.protectRtcp(receiverReport(OUR_SSRC)), serverRtcp, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 150));
    }

    const rtp = await rtpIn;
    assert.ok(rtp.length >= 25, `SRTP packets received: ${rtp.length}`);
    const rx = srtpEndpoint(theirs.contexts);
    for (const p of rtp) {
      const plain = rx.unprotectRtp(p); // throws SrtpError unless it authenticates
      assert.equal(plain[1]! & 0x7f, 0, 'PCMU');
      assert.equal(new DataView(plain.buffer, plain.byteOffset).getUint32(8), ctx.ssrc);
    }
    // a flipped bit must not authenticate
    const bad = new Uint8Array(rtp[0]!);
    bad[bad.length - 1]! ^= 1;
    assert.throws(() => srtpEndpoint(theirs.contexts).unprotectRtp(bad), (e: unknown) => e instanceof SrtpError && e.reason === 'auth');

    const rtcp = await rtcpIn;
    assert.ok(rtcp.length >= 1, 'an SRTCP packet from the server');
    for (const p of rtcp) {
      const plain = rx.unprotectRtcp(p);
      assert.equal(plain[1], 200, 'a sender report first');
    }

    await client.request('TEARDOWN', base).catch(() => undefined);
    await server.stop();
    const log = server.log();
    const hex = OUR_SSRC.toString(16).padStart(8, '0');
    assert.equal(log.match(new RegExp(`got RR packet: SSRC ${hex}`, 'g'))?.length, rekeyed ? 5 : 3, 'the server decrypted our SRTCP packets (and those after the re-key)');
    assert.equal(log.match(/Error authentication packet|Unable to unprotect buffer/g)?.length, 1, 'and refused the one under the wrong key');
  } finally {
    client?.close();
    udp.rtp.close();
    udp.rtcp.close();
    await server.stop();
    server.dispose();
  }
});
