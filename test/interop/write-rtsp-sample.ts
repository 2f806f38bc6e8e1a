// Writes samples/rtsp-camera.pcapng, the capture of the README's pcap example: an
// RTSP session over TCP whose DESCRIBE answer carries gst-rtsp-server's MIKEY (as captured from
// it, with the test key 11..11) and whose SETUP carries ours. Deterministic: run it again and the
// file is the same.  node dist/test/interop/write-rtsp-sample.js
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RtspNullInitiator } from '../../src/profiles/rtsp-null.js';
import { buildRtspKeyMgmt } from '../../src/sdp/keymgmt.js';
import { writePcapng, type CaptureFrame } from './pcap.js';

export const GST_MIKEY = 'AQAFAI0dQnABAACy5/PyAAAAAAsA7rRH5MuIyj4KEPPYSp8Lm2gW0LuVh7gZFUUBAAAAFQABAQEBEAIBAQMBCgcBAQgBAQoBAQAAACIAIAAeERERERERERERERERERERERERERERERERERERERERAA==';
export const T_GST = Date.UTC(2026, 10, 27, 18, 18, 12, 795);

export function rtspSample(): Buffer {
  let n = 0;
  const ours = new RtspNullInitiator({ clock: { now: () => T_GST + 40 }, random: (k) => Uint8Array.from({ length: k }, () => (n = (n * 37 + 11) & 0xff)) })
    .createMessage({ ssrc: 0x6d696b65, csbId: 0x00c0ffee, mki: Uint8Array.of(0, 0, 0, 1) });
  const text = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
  const url = 'rtsp://127.0.0.1:8554/test';
  const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=Session streamed with GStreamer', 't=0 0', 'a=control:*', 'm=audio 0 RTP/SAVP 0',
    'c=IN IP4 0.0.0.0', 'a=rtpmap:0 PCMU/8000', 'a=control:stream=0', `a=key-mgmt:mikey ${GST_MIKEY}`, ''].join('\r\n');
  const req1 = `DESCRIBE ${url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n`;
  const resp1 = `RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Type: application/sdp\r\nContent-Base: ${url}/\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`;
  const req2 = `SETUP ${url}/stream=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/SAVP;unicast;client_port=50000-50001\r\nKeyMgmt: ${buildRtspKeyMgmt([{ prot: 'mikey', uri: `${url}/stream=0`, data: ours.bytes }])}\r\n\r\n`;
  const c = { proto: 'tcp' as const, srcPort: 50100, dstPort: 8554 };
  const s = { proto: 'tcp' as const, srcPort: 8554, dstPort: 50100 };
  const frames: CaptureFrame[] = [
    { ...c, payload: text(req1), seq: 1 },
    { ...s, payload: text(resp1), seq: 1 },
    { ...c, payload: text(req2), seq: 1 + req1.length },
    { ...s, payload: text('RTSP/1.0 200 OK\r\nCSeq: 2\r\nSession: 1234\r\n\r\n'), seq: 1 + resp1.length },
  ];
  return writePcapng(frames);
}

if (process.argv[1]?.endsWith('write-rtsp-sample.js')) {
  const dir = join(process.cwd(), 'samples');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'rtsp-camera.pcapng'), rtspSample());
}
