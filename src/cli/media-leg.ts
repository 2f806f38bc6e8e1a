// The demo's media leg: after an exchange, the initiator's side protects RTP with its handed-off
// keys (srtpContexts, RFC 3830 §4.1.3) and sends it over UDP on loopback; the responder's side
// unprotects with its own keys. A packet counts only when it authenticates (RFC 3711 §3.3).
import { createSocket } from 'node:dgram';
import { srtpContexts, type CryptoSessionBundle, type SrtpContext } from '../session/bundle.js';
import { srtpEndpoint } from '../profiles/handoff.js';
import type { SrtpEndpoint } from '../srtp/endpoint.js';

const key = (c: SrtpContext) => `${c.csId}/${c.mki ? Buffer.from(c.mki).toString('hex') : '-'}`;

function rtpPacket(ssrc: number, seq: number, pt: number): Uint8Array {
  const p = new Uint8Array(12 + 160);
  const v = new DataView(p.buffer);
  v.setUint8(0, 0x80);
  v.setUint8(1, pt);
  v.setUint16(2, seq & 0xffff);
  v.setUint32(4, seq * 160);
  v.setUint32(8, ssrc);
  for (let i = 12; i < p.length; i++) p[i] = (i * 31 + seq) & 0xff;
  return p;
}

/**
 * Send `packets` SRTP packets from `a`'s crypto sessions (round robin, each with its first
 * master key) to `b`'s, over UDP on 127.0.0.1. A crypto session with SSRC 0 sends with an SSRC
 * of its own, which the receiving side binds on the first authentic packet (RFC 3830 §6.1.1).
 * Sessions whose policy is no named profile are not sent on.
 */
export async function mediaLeg(a: CryptoSessionBundle, b: CryptoSessionBundle, packets = 50): Promise<{ sent: number; authenticated: number }> {
  const byKey = new Map(srtpContexts(b).map((c) => [key(c), c]));
  const senders: Array<{ tx: SrtpEndpoint; ssrc: number; seq: number }> = [];
  const receivers = new Map<number, SrtpEndpoint>();
  const seenCs = new Set<number>();
  for (const c of srtpContexts(a)) {
    if (seenCs.has(c.csId) || !c.profile) continue;
    const peer = byKey.get(key(c));
    if (!peer || peer.profile !== c.profile) continue;
    seenCs.add(c.csId);
    const ssrc = c.ssrc !== 0 ? c.ssrc : (0x4d4b0000 | c.csId) >>> 0;
    if (receivers.has(ssrc)) continue;
    senders.push({ tx: srtpEndpoint([c]), ssrc, seq: 1000 * c.csId });
    // the receiver holds every master key of its crypto session (re-keys by MKI)
    receivers.set(ssrc, srtpEndpoint(srtpContexts(b).filter((x) => x.csId === c.csId && x.profile === c.profile)));
  }
  if (!senders.length || packets <= 0) return { sent: 0, authenticated: 0 };

  const rx = createSocket('udp4');
  const txSock = createSocket('udp4');
  try {
    await new Promise<void>((ok) => rx.bind(0, '127.0.0.1', ok));
    await new Promise<void>((ok) => txSock.bind(0, '127.0.0.1', ok));
    const port = rx.address().port;
    let received = 0;
    let authenticated = 0;
    let sent = 0;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((ok) => { finish = ok; });
    rx.on('message', (m) => {
      received++;
      if (m.length >= 12) {
        const r = receivers.get(m.readUInt32BE(8));
        try {
          if (r) {
            r.unprotectRtp(new Uint8Array(m.buffer, m.byteOffset, m.length));
            authenticated++;
          }
        } catch {
          // not authentic: not counted
        }
      }
      if (received >= sent && sent === packets) finish();
    });
    for (let i = 0; i < packets; i++) {
      const s = senders[i % senders.length]!;
      const srtp = s.tx.protectRtp(rtpPacket(s.ssrc, s.seq++, 96));
      await new Promise<void>((ok, bad) => txSock.send(srtp, port, '127.0.0.1', (e) => (e ? bad(e) : ok())));
      sent++;
      if (i % 16 === 15) await new Promise((r) => setImmediate(r)); // let the receiver keep up
    }
    if (received >= sent) finish();
    const timer = setTimeout(finish, 2000);
    await done;
    clearTimeout(timer);
    return { sent, authenticated };
  } finally {
    rx.close();
    txSock.close();
  }
}
