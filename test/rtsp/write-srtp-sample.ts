// Writes samples/rtsp-srtp.pcap, the capture of the README's `mikey srtp decrypt` example: an
// ONVIF-style session on a plain channel (DESCRIBE with the server's MIKEY-NULL key, MKI
// 00000001; SETUP; PLAY), 40 SRTP packets of the test pattern over UDP whose sequence numbers
// wrap (ROC 0 -> 1), a re-key by SET_PARAMETER (MKI 00000002) after 20, and SRTCP sender
// reports. Deterministic: run it again and the file is the same.
//   node dist/test/rtsp/write-srtp-sample.js
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RtspNullInitiator } from '../../src/profiles/rtsp-null.js';
import { keyMgmtLine, KMPID_MIKEY } from '../../src/sdp/keymgmt.js';
import { SrtpSender, senderReport } from '../../src/rtsp/media.js';
import { testPatternPayload } from '../../src/rtsp/source.js';
import { Recorder, CLIENT_IP, SERVER_IP } from './capture.js';

export const SAMPLE_T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
export const SAMPLE_SSRC = 0x6d696b65;

export interface SampleOptions {
  /** The re-key carries the MKI of the first key (00000001) with another key, and the packets use it. */
  staleMki?: boolean;
  /** After the re-key the packets use a key with MKI 00000003 that no message carries. */
  unknownMki?: boolean;
}

export function srtpSample(o: SampleOptions = {}): Buffer {
  let t = SAMPLE_T0;
  let n = 0;
  const random = (k: number) => Uint8Array.from({ length: k }, () => (n = (n * 37 + 11) & 0xff));
  const clock = { now: () => t };
  const rec = new Recorder(() => t / 1000);
  const key = (i: number) => ({ masterKey: new Uint8Array(16).fill(i), masterSalt: new Uint8Array(14).fill(0x10 + i), mki: Uint8Array.of(0, 0, 0, i) });
  const k1 = key(1);
  const k2 = o.staleMki ? { ...key(2), mki: Uint8Array.of(0, 0, 0, 1) } : key(2);
  const used = o.unknownMki ? key(3) : k2;
  const first = new RtspNullInitiator({ clock, random, keyForm: 'key||salt' }).createMessage({ ...k1, ssrc: SAMPLE_SSRC, csbId: 0x00c0ffee });
  const url = 'rtsp://192.0.2.2/cam';
  const c = (s: string) => { rec.tcp(CLIENT_IP, 40000, SERVER_IP, 554, Buffer.from(s, 'latin1')); t += 5; };
  const s = (s: string) => { rec.tcp(SERVER_IP, 554, CLIENT_IP, 40000, Buffer.from(s, 'latin1')); t += 5; };
  const sdp = ['v=0', 'o=- 1 1 IN IP4 192.0.2.2', 's=mikey', 't=0 0', 'a=control:*', 'm=audio 0 RTP/SAVP 0', 'a=rtpmap:0 PCMU/8000', 'a=control:stream=0', keyMgmtLine(KMPID_MIKEY, first.bytes), ''].join('\r\n');
  c(`DESCRIBE ${url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n`);
  s(`RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Type: application/sdp\r\nContent-Base: ${url}/\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`);
  c(`SETUP ${url}/stream=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/SAVP;unicast;client_port=6000-6001\r\n\r\n`);
  s(`RTSP/1.0 200 OK\r\nCSeq: 2\r\nSession: 12345678;timeout=60\r\nTransport: RTP/SAVP;unicast;client_port=6000-6001;server_port=5000-5001;ssrc=6D696B65\r\n\r\n`);
  c(`PLAY ${url}/ RTSP/1.0\r\nCSeq: 3\r\nSession: 12345678\r\nRange: npt=0-\r\n\r\n`);
  s('RTSP/1.0 200 OK\r\nCSeq: 3\r\nSession: 12345678\r\n\r\n');
  let sender = new SrtpSender({ profile: 'AES_CM_128_HMAC_SHA1_80', key: k1, ssrc: SAMPLE_SSRC });
  for (let i = 0; i < 40; i++) {
    if (i === 20) {
      const rekey = new RtspNullInitiator({ clock, random, keyForm: 'key||salt' }).createMessage({ ...k2, ssrc: SAMPLE_SSRC, roc: sender.roc, csbId: 0x00c0fff0 });
      const body = `mikey: ${Buffer.from(rekey.bytes).toString('base64')}\r\n`;
      c(`SET_PARAMETER ${url}/ RTSP/1.0\r\nCSeq: 4\r\nSession: 12345678\r\nContent-Type: text/parameters\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      s('RTSP/1.0 200 OK\r\nCSeq: 4\r\nSession: 12345678\r\n\r\n');
      // the sequence numbers wrap here: the ROC is 1 from this packet on
      if (o.staleMki || o.unknownMki) sender = new SrtpSender({ profile: 'AES_CM_128_HMAC_SHA1_80', key: used, ssrc: SAMPLE_SSRC, roc: 1 });
      else sender.rekey(k2);
    }
    const p = new Uint8Array(12 + 160);
    const v = new DataView(p.buffer);
    p[0] = 0x80;
    v.setUint16(2, (65516 + i) & 0xffff);
    v.setUint32(4, i * 160);
    v.setUint32(8, SAMPLE_SSRC);
    p.set(testPatternPayload(i), 12);
    rec.udp(SERVER_IP, 5000, CLIENT_IP, 6000, sender.protectRtp(p));
    if (i % 10 === 0) rec.udp(SERVER_IP, 5001, CLIENT_IP, 6001, sender.protectRtcp(senderReport(SAMPLE_SSRC, i * 160, i + 1, (i + 1) * 160, t)));
    t += 20;
  }
  c(`TEARDOWN ${url}/ RTSP/1.0\r\nCSeq: 5\r\nSession: 12345678\r\n\r\n`);
  s('RTSP/1.0 200 OK\r\nCSeq: 5\r\n\r\n');
  return rec.pcap();
}

if (process.argv[1]?.endsWith('write-srtp-sample.js')) {
  const dir = join(process.cwd(), 'samples');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'rtsp-srtp.pcap'), srtpSample());
}
