// An RTSP server (RFC 2326) serving one RTP source as SRTP keyed by MIKEY (RFC 4567): the
// server's key in DESCRIBE's a=key-mgmt, the client's key taken from SETUP's KeyMgmt, 463 on a
// key-management failure (RFC 4567 §3.2), re-keying by SET_PARAMETER with a new MKI keeping the
// ROC, the current key by GET_PARAMETER (ONVIF multicast), RTP over UDP or interleaved on the
// RTSP connection (RFC 2326 §10.12), RTSP over TLS, Basic or Digest authentication. Each
// vendor profile of profiles.ts makes it behave as that vendor's device. With `multicast`, a
// SETUP asking for multicast (RFC 2326 §12.39) joins one group stream under the server's key,
// which clients fetch, with its current ROC, by GET_PARAMETER (ONVIF); the server re-keys it.
import { createServer as createTcpServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { RtspNullInitiator, RtspNullResponder, type QuirkReport } from '../profiles/rtsp-null.js';
import { parseRtspKeyMgmt, KMPID_MIKEY, keyMgmtLine, KeyMgmtSyntaxError } from '../sdp/keymgmt.js';
import { SRTP_PROFILES } from '../crypto/srtp-kdf.js';
import type { SrtpProfileName } from '../session/policy.js';
import type { SrtpMasterKeySpec } from '../srtp/endpoint.js';
import { MikeyProtocolError } from '../session/errors.js';
import { RtspParser, RtspProtocolError, REASONS, serializeResponse, serializeInterleaved, parseTransport, formatTransport, type RtspLimits, type RtspRequestMessage, type RtspHeaders, type TransportSpec } from './message.js';
import { RtspAuthenticator, type ServerAuthOptions } from './auth.js';
import { rtspProfile, profileMessageBytes, isEmptyUriSpelling, strictKeyProblem, type RtspProfile, type RtspProfileName } from './profiles.js';
import { SrtpReceiver, SrtpSender, senderReport } from './media.js';
import type { RtpSource } from './source.js';

export interface RtspServerOptions {
  source: RtpSource;
  profile?: RtspProfileName | RtspProfile;
  /** SRTP profile of the stream (default AES_CM_128_HMAC_SHA1_80). */
  srtpProfile?: SrtpProfileName;
  host?: string;
  port?: number;
  /** RTSP over TLS (rtsps). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Let a profile that wants TLS (onvif) key media on a plain channel; every such key is reported. */
  allowPlain?: boolean;
  auth?: ServerAuthOptions;
  limits?: Partial<RtspLimits>;
  /** First RTP sequence number of every session (default random). */
  seqStart?: number;
  /** An SRTCP sender report every this many RTP packets (default 50). */
  rtcpEvery?: number;
  /** Events for logs: requests, key management, re-keys, refusals. */
  onEvent?: (e: RtspServerEvent) => void;
  /** Open connections at most (default 64). */
  maxConnections?: number;
  /** Offer multicast: one SRTP stream to this group for every client that asks for it (ONVIF). */
  multicast?: RtspMulticastOptions;
}

export interface RtspMulticastOptions {
  /** Group address (IPv4), e.g. 239.255.0.1. */
  group: string;
  /** RTP port (even; RTCP on the next). Default: an even port chosen at random in 20000-59998. */
  port?: number;
  /** Default 1. */
  ttl?: number;
  /** Interface address to send from (default the listen address). */
  interface?: string;
  /** Re-key the group stream (new MKI, the ROC goes on) every this many packets (default never). */
  rekeyEvery?: number;
}

export interface RtspServerEvent {
  type: 'request' | 'response' | 'keymgmt' | 'rekey' | 'refused' | 'quirk' | 'error' | 'plain-channel';
  detail: string;
  session?: string;
}

interface Stream {
  sender: SrtpSender;
  /** SRTCP from the client (same key: one key for both directions). */
  rtcpIn: SrtpReceiver;
  transport: TransportSpec;
  remote: string;
  seq: number;
  sent: number;
  octets: number;
  lastTs: number;
  unsubscribe?: () => void;
  responder: RtspNullResponder;
  keyMode: 'server' | 'client';
  /** A member of the multicast group stream (sender, counters: the group's). */
  multicast?: boolean;
}

/** The multicast group stream: one sender, the sessions playing it. */
interface Group {
  sender: SrtpSender;
  rtp: UdpSocket;
  port: number;
  ttl: number;
  seq: number;
  sent: number;
  octets: number;
  lastTs: number;
  members: Set<Session>;
  unsubscribe?: () => void;
}

/** What sends RTP: one client's stream, or the multicast group's. */
type RtpOut = Pick<Group, 'sender' | 'seq' | 'sent' | 'octets' | 'lastTs'>;

/**
 * A source packet as a stream sends it: its sequence number and SSRC written in, protected
 * (RFC 3711) and counted; with the SRTCP sender report (RFC 3550 §6.4.1) every `every` packets.
 */
function protectNext(o: RtpOut, p: Uint8Array, every: number): { srtp: Uint8Array; report?: Uint8Array } {
  const out = new Uint8Array(p);
  const v = new DataView(out.buffer);
  v.setUint16(2, o.seq);
  v.setUint32(8, o.sender.ssrc);
  o.seq = (o.seq + 1) & 0xffff;
  o.lastTs = v.getUint32(4);
  const srtp = o.sender.protectRtp(out);
  o.sent++;
  o.octets += out.length - 12;
  return { srtp, report: o.sent % every === 1 ? o.sender.protectRtcp(senderReport(o.sender.ssrc, o.lastTs, o.sent, o.octets)) : undefined };
}

interface Session {
  id: string;
  conn: Connection;
  stream?: Stream;
}

interface Connection {
  sock: Socket;
  tls: boolean;
  parser: RtspParser;
  /** The server key offered in this connection's DESCRIBE. */
  offer?: { key: SrtpMasterKeySpec; ssrc: number; bytes: Uint8Array };
  sessions: Set<Session>;
}

export interface RtspServerStats {
  sessions: number;
  rtpSent: number;
  rtcpReceived: number;
  rtcpAuthenticated: number;
  rekeys: number;
  refused: number;
  /** SRTP packets sent to the multicast group. */
  multicastSent: number;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

export class RtspServer {
  readonly profile: RtspProfile;
  private readonly srtpProfile: SrtpProfileName;
  private tcp?: NetServer;
  private udpRtp?: UdpSocket;
  private udpRtcp?: UdpSocket;
  private readonly conns = new Set<Connection>();
  private readonly sessions = new Map<string, Session>();
  private readonly auth?: RtspAuthenticator;
  readonly stats: RtspServerStats = { sessions: 0, rtpSent: 0, rtcpReceived: 0, rtcpAuthenticated: 0, rekeys: 0, refused: 0, multicastSent: 0 };
  private group?: Group;

  constructor(private readonly opts: RtspServerOptions) {
    this.profile = typeof opts.profile === 'object' ? opts.profile : rtspProfile(opts.profile ?? 'onvif');
    this.srtpProfile = opts.srtpProfile ?? 'AES_CM_128_HMAC_SHA1_80';
    if (opts.auth) this.auth = new RtspAuthenticator(opts.auth);
  }

  private event(type: RtspServerEvent['type'], detail: string, session?: string): void {
    this.opts.onEvent?.({ type, detail, session });
  }

  get port(): number {
    const a = this.tcp?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  get rtpPort(): number {
    return this.udpRtp!.address().port;
  }

  /** The URL to give clients. */
  url(path = '/stream'): string {
    return `${this.opts.tls ? 'rtsps' : 'rtsp'}://${this.opts.host ?? '127.0.0.1'}:${this.port}${path}`;
  }

  async listen(): Promise<void> {
    const host = this.opts.host ?? '127.0.0.1';
    [this.udpRtp, this.udpRtcp] = await udpPair(host);
    this.udpRtcp.on('message', (m, r) => this.rtcpFromClient(new Uint8Array(m), `${r.address}:${r.port}`));
    const onConn = (sock: Socket) => this.connection(sock, !!this.opts.tls);
    this.tcp = this.opts.tls ? createTlsServer({ key: this.opts.tls.key, cert: this.opts.tls.cert }, onConn) : createTcpServer(onConn);
    this.tcp.maxConnections = this.opts.maxConnections ?? 64;
    this.tcp.on('tlsClientError', (e: Error) => this.event('error', `TLS: ${e.message}`));
    await new Promise<void>((ok, bad) => {
      this.tcp!.once('error', bad);
      this.tcp!.listen(this.opts.port ?? 0, host, () => ok());
    });
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) this.stop(s);
    for (const c of this.conns) c.sock.destroy();
    await new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
    this.udpRtp?.close();
    this.udpRtcp?.close();
    this.group?.unsubscribe?.();
    this.group?.rtp.close();
    this.group = undefined;
  }

  /** The multicast group stream, made at the first multicast SETUP. */
  private async multicastGroup(): Promise<Group> {
    if (this.group) return this.group;
    const m = this.opts.multicast!;
    const rtp = createSocket('udp4');
    await new Promise<void>((ok, bad) => { rtp.once('error', bad); rtp.bind(0, m.interface ?? this.opts.host ?? '127.0.0.1', () => ok()); });
    rtp.on('error', () => undefined);
    rtp.setMulticastTTL(m.ttl ?? 1);
    rtp.setMulticastLoopback(true);
    rtp.setMulticastInterface(m.interface ?? this.opts.host ?? '127.0.0.1');
    const port = m.port ?? 20000 + 2 * randomBytes(2).readUInt16BE(0) % 20000;
    const ssrc = randomBytes(4).readUInt32BE(0) || 1;
    if (this.group) {
      rtp.close(); // a concurrent SETUP made it first
      return this.group;
    }
    this.group = {
      sender: new SrtpSender({ profile: this.srtpProfile, key: this.newKey(), ssrc }), rtp, port, ttl: m.ttl ?? 1,
      seq: (this.opts.seqStart ?? randomBytes(2).readUInt16BE(0)) & 0xffff, sent: 0, octets: 0, lastTs: 0, members: new Set(),
    };
    return this.group;
  }

  /** Re-key the multicast group stream: a new key with a new MKI from the next packet, the ROC kept (ONVIF). */
  rekeyMulticast(): { mki?: Uint8Array; roc: number } | undefined {
    const g = this.group;
    if (!g) return undefined;
    const key = this.newKey();
    g.sender.rekey(key);
    this.stats.rekeys++;
    this.event('rekey', `multicast group key MKI ${key.mki ? hex(key.mki) : 'none'}, ROC ${g.sender.roc} kept`);
    return { mki: key.mki, roc: g.sender.roc };
  }

  private joinGroup(s: Session, g: Group): void {
    g.members.add(s);
    if (g.unsubscribe) return;
    const every = this.opts.rtcpEvery ?? 50;
    const dst = this.opts.multicast!.group;
    g.unsubscribe = this.opts.source.subscribe((p) => {
      const re = this.opts.multicast!.rekeyEvery;
      if (re && g.sent > 0 && g.sent % re === 0) this.rekeyMulticast();
      const { srtp, report } = protectNext(g, p, every);
      this.stats.rtpSent++;
      this.stats.multicastSent++;
      g.rtp.send(srtp, g.port, dst, () => undefined);
      if (report) g.rtp.send(report, g.port + 1, dst, () => undefined);
    });
  }

  private leaveGroup(s: Session): void {
    const g = this.group;
    if (!g) return;
    g.members.delete(s);
    if (!g.members.size) {
      g.unsubscribe?.();
      g.unsubscribe = undefined;
    }
  }

  private connection(sock: Socket, tls: boolean): void {
    const c: Connection = { sock, tls, parser: new RtspParser(this.opts.limits), sessions: new Set() };
    this.conns.add(c);
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      let items;
      try {
        items = c.parser.push(d);
      } catch (e) {
        const err = e as RtspProtocolError;
        this.event('refused', `malformed RTSP from ${sock.remoteAddress}: ${err.message}`);
        this.stats.refused++;
        if (sock.writable) sock.end(serializeResponse(err.status ?? 400, REASONS[err.status] ?? 'Bad Request', { CSeq: '0' }, `${err.message}\r\n`));
        sock.destroySoon?.();
        return;
      }
      for (const it of items) {
        if (it.kind === 'request') this.request(c, it);
        else if (it.kind === 'interleaved') this.interleaved(c, it.channel, new Uint8Array(it.data));
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      for (const s of c.sessions) this.stop(s);
      this.conns.delete(c);
    });
  }

  private interleaved(c: Connection, channel: number, data: Uint8Array): void {
    for (const s of c.sessions) {
      const st = s.stream;
      if (st?.transport.interleaved && channel === st.transport.interleaved[1]) {
        this.stats.rtcpReceived++;
        if (st.rtcpIn.unprotectRtcp(data)) this.stats.rtcpAuthenticated++;
      }
    }
  }

  private rtcpFromClient(m: Uint8Array, from: string): void {
    for (const s of this.sessions.values()) {
      const st = s.stream;
      if (st?.transport.clientPort && !st.transport.interleaved && `${st.remote}:${st.transport.clientPort[1]}` === from) {
        this.stats.rtcpReceived++;
        if (st.rtcpIn.unprotectRtcp(m)) this.stats.rtcpAuthenticated++;
        return;
      }
    }
  }

  private send(c: Connection, status: number, cseq: string, headers: RtspHeaders = {}, body?: string, reason?: string): void {
    const h: RtspHeaders = { CSeq: cseq, Server: 'mikey', ...headers };
    if (body) h['Content-Type'] ??= 'text/plain';
    this.event('response', `${status} ${reason ?? REASONS[status] ?? ''}`);
    if (c.sock.writable) c.sock.write(serializeResponse(status, reason ?? REASONS[status] ?? 'Error', h, body));
  }

  private request(c: Connection, r: RtspRequestMessage): void {
    const cseq = r.headers['cseq'] ?? '0';
    this.event('request', `${r.method} ${r.uri}`);
    if (!/^\d{1,10}$/.test(cseq)) return this.send(c, 400, '0', {}, undefined, 'Bad CSeq');
    try {
      if (this.auth && r.method !== 'OPTIONS' && !this.auth.verify(r.headers['authorization'], r.method)) {
        return this.send(c, 401, cseq, { 'WWW-Authenticate': this.auth.challenge() });
      }
      switch (r.method) {
        case 'OPTIONS': return this.send(c, 200, cseq, { Public: 'OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER' });
        case 'DESCRIBE': return this.describe(c, r, cseq);
        case 'SETUP': return this.setup(c, r, cseq);
        case 'PLAY': return this.play(c, r, cseq);
        case 'PAUSE': {
          const s = this.session(c, r, cseq);
          if (!s) return;
          s.stream?.unsubscribe?.();
          if (s.stream) s.stream.unsubscribe = undefined;
          return this.send(c, 200, cseq, { Session: s.id });
        }
        case 'TEARDOWN': {
          const s = this.session(c, r, cseq);
          if (!s) return;
          this.stop(s);
          return this.send(c, 200, cseq, { Session: s.id });
        }
        case 'SET_PARAMETER': return this.setParameter(c, r, cseq);
        case 'GET_PARAMETER': return this.getParameter(c, r, cseq);
        default: return this.send(c, 501, cseq);
      }
    } catch (e) {
      this.event('error', `${r.method}: ${(e as Error).message}`);
      return this.send(c, 500, cseq);
    }
  }

  private session(c: Connection, r: RtspRequestMessage, cseq: string): Session | undefined {
    const id = (r.headers['session'] ?? '').split(';')[0]!.trim();
    const s = this.sessions.get(id);
    if (!s || s.conn !== c) {
      this.send(c, 454, cseq);
      return undefined;
    }
    return s;
  }

  /** Keys may be carried on this channel: TLS, or a profile that allows plain, or allowPlain (reported). */
  private keysAllowed(c: Connection): boolean {
    if (c.tls) return true;
    if (this.profile.requireTls && !this.opts.allowPlain) return false;
    this.event('plain-channel', 'MIKEY-NULL keys on a plain RTSP channel: anyone on the path can read them');
    return true;
  }

  private keyFailure(c: Connection, cseq: string, why: string, session?: string): void {
    this.stats.refused++;
    this.event('refused', `463: ${why}`, session);
    this.send(c, 463, cseq, session ? { Session: session } : {}, undefined);
  }

  private newKey(): SrtpMasterKeySpec {
    const p = SRTP_PROFILES[this.srtpProfile];
    return {
      masterKey: new Uint8Array(randomBytes(p.masterKeyLen)), masterSalt: new Uint8Array(randomBytes(p.masterSaltLen)),
      mki: this.profile.mkiLength ? new Uint8Array(randomBytes(this.profile.mkiLength)) : undefined,
    };
  }

  private keyMessage(key: SrtpMasterKeySpec, ssrc: number, roc: number): Uint8Array {
    const m = new RtspNullInitiator({ keyForm: this.profile.keyForm }).createMessage({
      masterKey: key.masterKey, masterSalt: key.masterSalt, mki: key.mki ?? null, ssrc, roc, profile: this.srtpProfile,
    });
    return profileMessageBytes(this.profile, m.bytes);
  }

  private describe(c: Connection, r: RtspRequestMessage, cseq: string): void {
    const info = this.opts.source.info;
    const lines = ['v=0', `o=- ${Date.now()} 1 IN IP4 ${this.opts.host ?? '127.0.0.1'}`, 's=mikey', 't=0 0', 'a=control:*',
      `m=${info.media} 0 RTP/SAVP ${info.payloadType}`, `a=rtpmap:${info.payloadType} ${info.rtpmap}`];
    if (info.fmtp) lines.push(`a=fmtp:${info.payloadType} ${info.fmtp}`);
    lines.push('a=control:stream=0');
    if (!this.profile.requireClientKey && this.keysAllowed(c)) {
      const key = this.newKey();
      const ssrc = randomBytes(4).readUInt32BE(0) || 1;
      const bytes = this.keyMessage(key, ssrc, 0);
      c.offer = { key, ssrc, bytes };
      lines.push(keyMgmtLine(KMPID_MIKEY, bytes));
      this.event('keymgmt', `server key offered in DESCRIBE (MKI ${key.mki ? hex(key.mki) : 'none'}, SSRC ${ssrc.toString(16)})`);
    }
    const base = r.uri.endsWith('/') ? r.uri : `${r.uri}/`;
    this.send(c, 200, cseq, { 'Content-Base': base, 'Content-Type': 'application/sdp' }, `${lines.join('\r\n')}\r\n`);
  }

  /** Read the client's key from a KeyMgmt value; throws a message for the 463. */
  private async clientKey(c: Connection, value: string, ssrc: number, responder: RtspNullResponder): Promise<{ key: SrtpMasterKeySpec; ssrc: number; roc: number; quirks: QuirkReport[] }> {
    if (this.profile.keyMgmtSpelling === 'empty-uri' && !isEmptyUriSpelling(value)) throw new Error('KeyMgmt is not written prot=mikey; uri=""; data="…"');
    let specs;
    try {
      specs = parseRtspKeyMgmt(value);
    } catch (e) {
      throw new Error(`KeyMgmt: ${(e as KeyMgmtSyntaxError).message}`);
    }
    const spec = specs.find((s) => s.prot === KMPID_MIKEY);
    if (!spec) throw new Error('no prot=mikey in KeyMgmt');
    return this.readKey(spec.data, ssrc, responder);
  }

  private async readKey(b64: string, ssrc: number, responder: RtspNullResponder): Promise<{ key: SrtpMasterKeySpec; ssrc: number; roc: number; quirks: QuirkReport[] }> {
    const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
    if (this.profile.strictKeys) {
      const why = strictKeyProblem(bytes.length && bytes[bytes.length - 1] === 0 && this.profile.trailingZero ? bytes.subarray(0, -1) : bytes);
      if (why) throw new Error(`refused (${this.profile.name}): ${why}`);
    }
    const got = await responder.receive(bytes);
    const ctx = got.contexts[0];
    if (!ctx) throw new Error('MIKEY message without a crypto session');
    if (ctx.profile !== this.srtpProfile) throw new Error(`SRTP profile ${ctx.profile ?? 'unnamed'} (this stream is ${this.srtpProfile})`);
    return { key: { masterKey: ctx.masterKey, masterSalt: ctx.masterSalt, mki: ctx.mki }, ssrc: ctx.ssrc || ssrc, roc: ctx.roc, quirks: got.quirks };
  }

  private setup(c: Connection, r: RtspRequestMessage, cseq: string): void {
    let t: TransportSpec;
    try {
      t = parseTransport(r.headers['transport'] ?? '');
    } catch (e) {
      return this.send(c, 461, cseq, {}, undefined);
    }
    const tcp = t.profile.toUpperCase() === 'RTP/SAVP/TCP';
    if (!(tcp || t.profile.toUpperCase() === 'RTP/SAVP' || t.profile.toUpperCase() === 'RTP/SAVP/UDP')) return this.send(c, 461, cseq);
    if (!t.unicast) return this.setupMulticast(c, r, cseq, t, tcp);
    if (tcp && !t.interleaved) t.interleaved = [0, 1];
    if (!tcp && !t.clientPort) return this.send(c, 461, cseq);
    const existing = r.headers['session'] ? this.session(c, r, cseq) : undefined;
    if (r.headers['session'] && !existing) return;
    if (existing?.stream) return this.send(c, 459, cseq);
    const sid = existing?.id ?? randomBytes(8).toString('hex');
    const km = r.headers['keymgmt'];
    const go = async () => {
      if (!this.keysAllowed(c)) return this.keyFailure(c, cseq, `${this.profile.name}: MIKEY only over RTSP on TLS`);
      const ssrc = c.offer?.ssrc ?? (randomBytes(4).readUInt32BE(0) || 1);
      const responder = new RtspNullResponder({ lenient: [...this.profile.lenient], requireMki: this.profile.requireMki, ssrc });
      let key: SrtpMasterKeySpec;
      let streamSsrc = ssrc;
      let roc = 0;
      let keyMode: 'server' | 'client';
      let rtcpKey: SrtpMasterKeySpec | undefined;
      if (km !== undefined) {
        try {
          const got = await this.clientKey(c, km, ssrc, responder);
          for (const q of got.quirks) this.event('quirk', `${q.quirk}: ${q.detail}`, sid);
          if (this.profile.clientKeyFor === 'rtcp') {
            // RFC 4567 as GStreamer reads it: the client's key is for its SRTCP, the media keeps ours
            if (!c.offer) throw new Error(`${this.profile.name}: the client's key protects only its SRTCP, and no server key was offered (DESCRIBE first)`);
            key = c.offer.key;
            rtcpKey = got.key;
            keyMode = 'server';
          } else {
            key = got.key;
            streamSsrc = got.ssrc;
            roc = got.roc;
            keyMode = 'client';
          }
        } catch (e) {
          return this.keyFailure(c, cseq, `client key: ${e instanceof MikeyProtocolError ? `MIKEY error ${e.errorNo}: ` : ''}${(e as Error).message}`);
        }
      } else if (this.profile.requireClientKey) {
        return this.keyFailure(c, cseq, `${this.profile.name}: SETUP needs the client's key (KeyMgmt)`);
      } else if (c.offer) {
        key = c.offer.key;
        keyMode = 'server';
      } else {
        return this.keyFailure(c, cseq, 'no key: neither a KeyMgmt header nor a DESCRIBE on this connection');
      }
      this.event('keymgmt', `${keyMode}-managed key, MKI ${key.mki ? hex(key.mki) : 'none'}, SSRC ${streamSsrc.toString(16)}`, sid);
      const session: Session = existing ?? { id: sid, conn: c };
      session.stream = {
        sender: new SrtpSender({ profile: this.srtpProfile, key, ssrc: streamSsrc, roc }),
        rtcpIn: new SrtpReceiver({ profile: this.srtpProfile, keys: [rtcpKey ?? key] }),
        transport: t, remote: c.sock.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
        seq: (this.opts.seqStart ?? randomBytes(2).readUInt16BE(0)) & 0xffff, sent: 0, octets: 0, lastTs: 0, responder, keyMode,
      };
      if (!existing) {
        this.sessions.set(sid, session);
        c.sessions.add(session);
        this.stats.sessions++;
      }
      const reply: TransportSpec = { profile: t.profile, unicast: true, ssrc: streamSsrc };
      if (tcp) reply.interleaved = t.interleaved;
      else {
        reply.clientPort = t.clientPort;
        reply.serverPort = [this.rtpPort, this.rtpPort + 1];
      }
      this.send(c, 200, cseq, { Session: `${sid};timeout=60`, Transport: formatTransport(reply) });
    };
    go().catch((e: Error) => this.send(c, 500, cseq, {}, undefined, e.message.slice(0, 60).replace(/[^\x20-\x7e]/g, '')));
  }

  /** SETUP of the multicast group stream: the server's key, which the client fetches by GET_PARAMETER (ONVIF). */
  private setupMulticast(c: Connection, r: RtspRequestMessage, cseq: string, t: TransportSpec, tcp: boolean): void {
    if (!this.opts.multicast || tcp) return this.send(c, 461, cseq);
    const existing = r.headers['session'] ? this.session(c, r, cseq) : undefined;
    if (r.headers['session'] && !existing) return;
    if (existing?.stream) return this.send(c, 459, cseq);
    if (!this.keysAllowed(c)) return this.keyFailure(c, cseq, `${this.profile.name}: MIKEY only over RTSP on TLS`);
    if (r.headers['keymgmt'] !== undefined) return this.keyFailure(c, cseq, 'multicast: the group key is the server\'s; fetch it with GET_PARAMETER');
    const go = async () => {
      const g = await this.multicastGroup();
      const sid = existing?.id ?? randomBytes(8).toString('hex');
      const session: Session = existing ?? { id: sid, conn: c };
      session.stream = {
        sender: g.sender, rtcpIn: new SrtpReceiver({ profile: this.srtpProfile, keys: [g.sender.key] }), transport: t,
        remote: c.sock.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1', seq: g.seq, sent: 0, octets: 0, lastTs: 0,
        responder: new RtspNullResponder({}), keyMode: 'server', multicast: true,
      };
      if (!existing) {
        this.sessions.set(sid, session);
        c.sessions.add(session);
        this.stats.sessions++;
      }
      this.event('keymgmt', `multicast group ${this.opts.multicast!.group}:${g.port}, server key MKI ${g.sender.key.mki ? hex(g.sender.key.mki) : 'none'}`, sid);
      const reply: TransportSpec = { profile: t.profile, unicast: false, destination: this.opts.multicast!.group, port: [g.port, g.port + 1], ttl: g.ttl, ssrc: g.sender.ssrc };
      this.send(c, 200, cseq, { Session: `${sid};timeout=60`, Transport: formatTransport(reply) });
    };
    go().catch((e: Error) => this.send(c, 500, cseq, {}, undefined, e.message.slice(0, 60).replace(/[^\x20-\x7e]/g, '')));
  }

  private play(c: Connection, r: RtspRequestMessage, cseq: string): void {
    const s = this.session(c, r, cseq);
    if (!s) return;
    const st = s.stream;
    if (!st) return this.send(c, 455, cseq);
    const base = r.uri.replace(/\/$/, '');
    this.send(c, 200, cseq, { Session: s.id, Range: 'npt=0.000-', 'RTP-Info': `url=${base}/stream=0;seq=${st.multicast ? this.group!.seq : st.seq};rtptime=0` });
    if (st.unsubscribe) return;
    if (st.multicast) {
      this.joinGroup(s, this.group!);
      st.unsubscribe = () => this.leaveGroup(s);
      return;
    }
    const every = this.opts.rtcpEvery ?? 50;
    st.unsubscribe = this.opts.source.subscribe((p) => {
      const { srtp, report } = protectNext(st, p, every);
      this.stats.rtpSent++;
      this.deliver(c, st, 0, srtp);
      if (report) this.deliver(c, st, 1, report);
    });
  }

  private deliver(c: Connection, st: Stream, which: 0 | 1, data: Uint8Array): void {
    if (st.transport.interleaved) {
      if (c.sock.writable) c.sock.write(serializeInterleaved(st.transport.interleaved[which], data));
    } else {
      const sock = which === 0 ? this.udpRtp! : this.udpRtcp!;
      sock.send(data, st.transport.clientPort![which], st.remote, () => undefined);
    }
  }

  /** Parameters of a text/parameters body: `name: value` lines. */
  private params(body: Buffer): Array<[string, string]> {
    return body.toString('utf8').split(/\r?\n/).filter((l) => l.trim()).map((l) => {
      const i = l.indexOf(':');
      return i < 0 ? [l.trim().toLowerCase(), ''] : [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
    });
  }

  private setParameter(c: Connection, r: RtspRequestMessage, cseq: string): void {
    const s = this.session(c, r, cseq);
    if (!s) return;
    const ps = this.params(r.body);
    if (!ps.length) return this.send(c, 200, cseq, { Session: s.id }); // keep-alive
    const st = s.stream;
    const p = ps.find(([k]) => k === 'mikey' || k === 'keymgmt');
    if (!p || !st) return this.send(c, 451, cseq, { Session: s.id });
    if (st.multicast) return this.keyFailure(c, cseq, 're-key: the multicast group key is the server\'s (GET_PARAMETER gives the current one)', s.id);
    const go = async () => {
      let data = p[1];
      if (p[0] === 'keymgmt') {
        const spec = parseRtspKeyMgmt(p[1]).find((x) => x.prot === KMPID_MIKEY);
        if (!spec) throw new Error('no prot=mikey in the KeyMgmt parameter');
        data = spec.data;
      }
      const got = await this.readKey(data, st.sender.ssrc, st.responder);
      if (got.key.mki && (st.sender.hasMki(got.key.mki) || st.rtcpIn.hasMki(got.key.mki))) throw new Error(`stale MKI ${hex(got.key.mki)}: a re-key needs a new MKI (the current key is never resent)`);
      if ((got.key.mki?.length ?? 0) !== (st.sender.key.mki?.length ?? 0)) throw new Error('re-key changes the MKI length');
      if (got.roc !== 0 && got.roc !== st.sender.roc) this.event('quirk', `re-key carries ROC ${got.roc}; the stream's ROC ${st.sender.roc} is kept`, s.id);
      if (this.profile.clientKeyFor === 'media') st.sender.rekey(got.key);
      st.rtcpIn.addKey(got.key);
      this.stats.rekeys++;
      this.event('rekey', `new key MKI ${got.key.mki ? hex(got.key.mki) : 'none'}, ROC ${st.sender.roc} kept`, s.id);
    };
    // answer before the first packet under the new key
    go().then(() => this.send(c, 200, cseq, { Session: s.id }), (e: Error) => this.keyFailure(c, cseq, `re-key: ${e.message}`, s.id));
  }

  private getParameter(c: Connection, r: RtspRequestMessage, cseq: string): void {
    const s = this.session(c, r, cseq);
    if (!s) return;
    const ps = this.params(r.body);
    if (!ps.length) return this.send(c, 200, cseq, { Session: s.id });
    const st = s.stream;
    if (!st || !ps.every(([k]) => k === 'mikey')) return this.send(c, 451, cseq, { Session: s.id });
    if (!this.keysAllowed(c)) return this.keyFailure(c, cseq, `${this.profile.name}: MIKEY only over RTSP on TLS`, s.id);
    // ONVIF: the current key with the current ROC
    const bytes = this.keyMessage(st.sender.key, st.sender.ssrc, st.sender.roc);
    this.send(c, 200, cseq, { Session: s.id, 'Content-Type': 'text/parameters' }, `mikey: ${Buffer.from(bytes).toString('base64')}\r\n`);
  }

  private stop(s: Session): void {
    s.stream?.unsubscribe?.();
    if (s.stream) s.stream.unsubscribe = undefined;
    this.sessions.delete(s.id);
    s.conn.sessions.delete(s);
  }
}

async function udpPair(host: string): Promise<[UdpSocket, UdpSocket]> {
  for (let i = 0; i < 50; i++) {
    const a = createSocket('udp4');
    await new Promise<void>((ok, bad) => { a.once('error', bad); a.bind(0, host, () => ok()); });
    const port = a.address().port;
    if (port % 2 !== 0 || port === 65535) { a.close(); continue; }
    const b = createSocket('udp4');
    const ok = await new Promise<boolean>((res) => { b.once('error', () => res(false)); b.bind(port + 1, host, () => res(true)); });
    if (ok) {
      a.on('error', () => undefined);
      b.on('error', () => undefined);
      return [a, b];
    }
    a.close();
    try { b.close(); } catch { /* not bound */ }
  }
  throw new Error('no pair of consecutive UDP ports');
}
