// An RTSP client (RFC 2326) for SRTP keyed by MIKEY (RFC 4567): OPTIONS, DESCRIBE (the server's
// key from a=key-mgmt), SETUP (the client's key in KeyMgmt, or none; falling back to the other
// way on 463), PLAY, TEARDOWN; RTP over UDP or interleaved (RFC 2326 §10.12); rtsps with
// certificate verification and an explicit opt-out; Basic and Digest; re-keying during PLAY
// by SET_PARAMETER (new MKI, the ROC goes on) and the ONVIF GET_PARAMETER for the current key.
// Multicast (ONVIF): SETUP asks for it, the client joins the group of the answer's Transport and
// fetches the server's key with its current ROC by GET_PARAMETER, again when the group is re-keyed.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { RtspNullInitiator, RtspNullResponder, type QuirkReport } from '../profiles/rtsp-null.js';
import { findSdpKeyMgmt, KMPID_MIKEY } from '../sdp/keymgmt.js';
import type { SrtpProfileName } from '../session/policy.js';
import type { SrtpMasterKeySpec } from '../srtp/endpoint.js';
import { RtspParser, serializeRequest, serializeInterleaved, parseTransport, RtspProtocolError, type RtspLimits, type RtspResponseMessage, type RtspHeaders, type TransportSpec } from './message.js';
import { authorize, parseChallenges, type Challenge, type Credentials } from './auth.js';
import { rtspProfile, profileMessageBytes, profileKeyMgmt, strictKeyProblem, type RtspProfile, type RtspProfileName } from './profiles.js';
import { SrtpReceiver, SrtpSender, receiverReport } from './media.js';

export type KeyMgmtMode = 'server' | 'client';

export interface RtspClientOptions {
  profile?: RtspProfileName | RtspProfile;
  /** RTP over UDP (default), interleaved on the RTSP connection, or the server's multicast group. */
  transport?: 'udp' | 'tcp' | 'multicast';
  /** Who supplies the key: the server (DESCRIBE), the client (SETUP), or 'auto' (the profile's way, then the other on 463). */
  keyMgmt?: KeyMgmtMode | 'auto';
  /** TLS options for rtsps (ca, servername, ...). */
  tls?: ConnectionOptions;
  /** rtsps without certificate verification (lab cameras); reported. */
  insecure?: boolean;
  /** Let a profile that wants TLS (onvif) exchange keys on a plain channel; reported. */
  allowPlain?: boolean;
  credentials?: Credentials;
  /** Per request (default 5000 ms). */
  timeoutMs?: number;
  limits?: Partial<RtspLimits>;
  /** SRTP profile of the client's keys (default AES_CM_128_HMAC_SHA1_80). */
  srtpProfile?: SrtpProfileName;
  /** Every decrypted RTP / RTCP packet. */
  onRtp?: (stream: ClientStream, packet: Uint8Array, raw: Uint8Array) => void;
  onRtcp?: (stream: ClientStream, packet: Uint8Array, raw: Uint8Array) => void;
  /** A SRTCP receiver report every this many authenticated RTP packets (default 50; 0: never). */
  rtcpEvery?: number;
}

export interface SdpMedia {
  media: string;
  proto: string;
  payloadType: number;
  rtpmap?: string;
  control?: string;
  keyMgmt?: string;
}

export interface ClientStream {
  index: number;
  uri: string;
  media: SdpMedia;
  keyMode: KeyMgmtMode;
  ssrc: number;
  receiver: SrtpReceiver;
  /** Our SRTCP: the stream's key (one key for both directions), our SSRC. */
  rtcpOut: SrtpSender;
  transport: TransportSpec;
  initiator?: RtspNullInitiator;
  rekeys: number;
  udp?: { rtp: UdpSocket; rtcp: UdpSocket; port: number };
  /** Receiving the server's multicast group (keys by GET_PARAMETER). */
  multicast?: { group: string; port: number; ttl?: number; held: Uint8Array[]; fetching?: Promise<unknown>; lastFetch: number; fetches: number; stale?: boolean };
}

/** Multicast packets held while the key their MKI names is fetched, at most. */
const MAX_HELD = 64;

/** A key-management failure (463, or no usable key either way). */
export class RtspKeyManagementError extends Error {
  override readonly name = 'RtspKeyManagementError';
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/** A response other than the one expected. */
export class RtspStatusError extends Error {
  override readonly name = 'RtspStatusError';
  constructor(readonly method: string, readonly status: number, readonly reason: string) {
    super(`${method}: ${status} ${reason}`);
  }
}

/** The media sections of an SDP body, with their a=key-mgmt (media level, else session level). */
export function parseSdpMedia(sdp: string): { control?: string; media: SdpMedia[] } {
  const keys = findSdpKeyMgmt(sdp).filter((k) => k.prot === KMPID_MIKEY);
  const session = keys.find((k) => k.where === 'session')?.data;
  const out: SdpMedia[] = [];
  let control: string | undefined;
  let cur: SdpMedia | undefined;
  for (const raw of sdp.split(/\r?\n/)) {
    const l = raw.trim();
    const m = /^m=(\S+) \d+(?:\/\d+)? (\S+) (\d+)/.exec(l);
    if (m) {
      cur = { media: m[1]!, proto: m[2]!, payloadType: Number(m[3]), keyMgmt: keys.find((k) => k.where === `media ${out.length}`)?.data ?? session };
      out.push(cur);
      continue;
    }
    const c = /^a=control:(\S+)/.exec(l);
    if (c) {
      if (cur) cur.control = c[1];
      else control = c[1];
    }
    const r = /^a=rtpmap:(\d+) (\S+)/.exec(l);
    if (r && cur && Number(r[1]) === cur.payloadType) cur.rtpmap = r[2];
  }
  return { control, media: out };
}

interface Pending { method: string; resolve: (r: RtspResponseMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

export class RtspClient {
  readonly url: URL;
  readonly profile: RtspProfile;
  readonly streams: ClientStream[] = [];
  /** Quirks met in received MIKEY messages, accepted or not. */
  readonly quirks: QuirkReport[] = [];
  /** Everything a report should tell: fallbacks, plain channels, skipped verification. */
  readonly notes: string[] = [];
  session?: string;
  /** Response headers of the last DESCRIBE and OPTIONS. */
  server?: string;
  methods?: string;
  private sock?: Socket;
  private parser: RtspParser;
  private cseq = 0;
  private readonly pending = new Map<number, Pending>();
  private challenges?: Challenge[];
  private nc = 0;
  private sdp?: { control?: string; media: SdpMedia[] };
  private base?: string;
  private closed = false;
  private readonly srtpProfile: SrtpProfileName;
  private readonly clientSsrc = randomBytes(4).readUInt32BE(0) || 1;

  constructor(url: string, private readonly opts: RtspClientOptions = {}) {
    this.url = new URL(url);
    if (this.url.protocol !== 'rtsp:' && this.url.protocol !== 'rtsps:') throw new TypeError(`not an rtsp:// or rtsps:// URL: ${url}`);
    this.profile = typeof opts.profile === 'object' ? opts.profile : rtspProfile(opts.profile ?? 'onvif');
    this.parser = new RtspParser(opts.limits);
    this.srtpProfile = opts.srtpProfile ?? 'AES_CM_128_HMAC_SHA1_80';
  }

  get tls(): boolean {
    return this.url.protocol === 'rtsps:';
  }

  /** The URL without credentials, as requests carry it. */
  get requestUrl(): string {
    const u = new URL(this.url.href);
    u.username = '';
    u.password = '';
    return u.href;
  }

  private get credentials(): Credentials | undefined {
    return this.opts.credentials ?? (this.url.username ? { username: decodeURIComponent(this.url.username), password: decodeURIComponent(this.url.password) } : undefined);
  }

  async connect(): Promise<void> {
    const host = this.url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(this.url.port || (this.tls ? 322 : 554));
    const timeout = this.opts.timeoutMs ?? 5000;
    if (this.tls && this.opts.insecure) this.notes.push('rtsps without certificate verification (--insecure): the keys are only as safe as the path to the camera');
    this.sock = await new Promise<Socket>((resolve, reject) => {
      const s = this.tls
        ? tlsConnect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, ...this.opts.tls, rejectUnauthorized: !this.opts.insecure })
        : netConnect(port, host);
      const t = setTimeout(() => { s.destroy(); reject(new Error(`connect to ${host}:${port}: no answer within ${timeout} ms`)); }, timeout);
      s.once(this.tls ? 'secureConnect' : 'connect', () => { clearTimeout(t); resolve(s); });
      s.once('error', (e) => { clearTimeout(t); reject(e); });
    });
    this.sock.setNoDelay(true);
    this.sock.on('data', (d: Buffer) => this.data(d));
    this.sock.on('error', (e) => this.failAll(e));
    this.sock.on('close', () => this.failAll(new Error('RTSP connection closed by the server')));
  }

  private failAll(e: Error): void {
    for (const [k, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(k);
      p.reject(e);
    }
  }

  private data(d: Buffer): void {
    let items;
    try {
      items = this.parser.push(d);
    } catch (e) {
      const err = e as RtspProtocolError;
      this.failAll(new RtspProtocolError(err.status ?? 400, `from the server: ${err.message}`, 'response'));
      this.sock?.destroy();
      return;
    }
    for (const it of items) {
      if (it.kind === 'interleaved') this.interleaved(it.channel, new Uint8Array(it.data));
      else if (it.kind === 'response') {
        const n = Number(it.headers['cseq']);
        const p = this.pending.get(n);
        if (!p) continue;
        this.pending.delete(n);
        clearTimeout(p.timer);
        p.resolve(it);
      } else if (this.sock?.writable) {
        // a request from the server (ANNOUNCE, GET_PARAMETER keep-alive, ...)
        this.sock.write(`RTSP/1.0 501 Not Implemented\r\nCSeq: ${it.headers['cseq'] ?? '0'}\r\n\r\n`);
      }
    }
  }

  private interleaved(channel: number, data: Uint8Array): void {
    for (const st of this.streams) {
      const ch = st.transport.interleaved;
      if (!ch) continue;
      if (channel === ch[0]) this.rtpIn(st, data);
      else if (channel === ch[1]) this.rtcpIn(st, data);
    }
  }

  private rtpIn(st: ClientStream, raw: Uint8Array): void {
    const mc = st.multicast;
    if (mc && st.receiver.unknownMki(raw)) {
      // ONVIF: the group was re-keyed; GET_PARAMETER gives the current key (held packets wait for it)
      // a fetch that brought no new key is not repeated for 250 ms (a sender under a key nobody gave)
      if (!mc.fetching && (!mc.stale || Date.now() - mc.lastFetch >= 250)) {
        mc.lastFetch = Date.now();
        mc.fetches++;
        mc.fetching = this.currentKey(st.index)
          .then((k) => { mc.stale = !k.added; })
          .catch((e: Error) => { mc.stale = true; this.notes.push(`multicast key fetch: ${e.message}`); })
          .finally(() => {
            mc.fetching = undefined;
            for (const p of mc.held.splice(0)) this.rtpPacket(st, p);
          });
      }
      if (mc.fetching) {
        if (mc.held.length >= MAX_HELD) this.rtpPacket(st, mc.held.shift()!);
        mc.held.push(raw);
        return;
      }
    }
    this.rtpPacket(st, raw);
  }

  private rtpPacket(st: ClientStream, raw: Uint8Array): void {
    const p = st.receiver.unprotectRtp(raw);
    if (!p) return;
    this.opts.onRtp?.(st, p, raw);
    const every = this.opts.rtcpEvery ?? 50;
    if (every && st.receiver.stats.rtp.authenticated % every === 0) this.sendRtcp(st, st.rtcpOut.protectRtcp(receiverReport(this.clientSsrc)));
  }

  private rtcpIn(st: ClientStream, raw: Uint8Array): void {
    const p = st.receiver.unprotectRtcp(raw);
    if (p) this.opts.onRtcp?.(st, p, raw);
  }

  private sendRtcp(st: ClientStream, data: Uint8Array): void {
    if (st.transport.interleaved) {
      if (this.sock?.writable) this.sock.write(serializeInterleaved(st.transport.interleaved[1], data));
    } else if (st.udp && st.transport.serverPort) {
      st.udp.rtcp.send(data, st.transport.serverPort[1], this.url.hostname.replace(/^\[|\]$/g, ''), () => undefined);
    }
  }

  /** Send a request and wait for its answer; answers a 401 challenge once with the credentials. */
  async request(method: string, uri: string, headers: RtspHeaders = {}, body?: string): Promise<RtspResponseMessage> {
    let r = await this.once(method, uri, headers, body);
    if (r.status === 401 && this.credentials) {
      this.challenges = parseChallenges(r.headers['www-authenticate'] ?? '');
      this.nc = 0;
      if (!this.challenges.length) return r;
      r = await this.once(method, uri, headers, body);
    }
    return r;
  }

  private once(method: string, uri: string, headers: RtspHeaders, body?: string): Promise<RtspResponseMessage> {
    if (!this.sock || this.closed) return Promise.reject(new Error('not connected'));
    const cseq = ++this.cseq;
    const h: RtspHeaders = { CSeq: String(cseq), 'User-Agent': 'mikey', ...headers };
    if (this.session && !h['Session']) h['Session'] = this.session;
    const cred = this.credentials;
    if (this.challenges && cred) h['Authorization'] = authorize(this.challenges, cred, method, uri, ++this.nc);
    const timeout = this.opts.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(cseq);
        reject(new Error(`${method}: no answer within ${timeout} ms`));
      }, timeout);
      this.pending.set(cseq, { method, resolve, reject, timer });
      this.sock!.write(serializeRequest(method, uri, h, body));
    });
  }

  private expect(method: string, r: RtspResponseMessage): RtspResponseMessage {
    if (r.status !== 200) throw new RtspStatusError(method, r.status, r.reason);
    return r;
  }

  async options(): Promise<string[]> {
    const r = this.expect('OPTIONS', await this.request('OPTIONS', this.requestUrl));
    this.methods = r.headers['public'];
    this.server ??= r.headers['server'];
    return (this.methods ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  }

  async describe(): Promise<SdpMedia[]> {
    const r = this.expect('DESCRIBE', await this.request('DESCRIBE', this.requestUrl, { Accept: 'application/sdp' }));
    this.server ??= r.headers['server'];
    this.base = r.headers['content-base'] ?? r.headers['content-location'] ?? this.requestUrl;
    this.sdp = parseSdpMedia(r.body.toString('utf8'));
    if (!this.sdp.media.length) throw new Error('DESCRIBE: the SDP has no media');
    return this.sdp.media;
  }

  private resolve(control: string | undefined): string {
    const base = this.base ?? this.requestUrl;
    if (!control || control === '*') return base;
    if (/^rtsps?:\/\//i.test(control)) return control;
    return base.endsWith('/') ? base + control : `${base}/${control}`;
  }

  private get aggregate(): string {
    return this.resolve(this.sdp?.control);
  }

  private keysAllowed(): boolean {
    if (this.tls) return true;
    if (this.profile.requireTls && !this.opts.allowPlain) return false;
    if (!this.notes.some((n) => n.startsWith('plain channel'))) this.notes.push('plain channel: the MIKEY-NULL keys travel unprotected (RTSP without TLS)');
    return true;
  }

  private async serverKey(m: SdpMedia): Promise<{ key: SrtpMasterKeySpec; ssrc: number; roc: number }> {
    if (!m.keyMgmt) throw new Error('no a=key-mgmt:mikey in DESCRIBE');
    const bytes = new Uint8Array(Buffer.from(m.keyMgmt, 'base64'));
    if (this.profile.strictKeys) {
      const why = strictKeyProblem(bytes);
      if (why) throw new Error(`${this.profile.name} refuses the server's key: ${why}`);
    }
    const got = await new RtspNullResponder({ lenient: [...this.profile.lenient], requireMki: this.profile.requireMki, onQuirk: (q) => this.quirks.push(q) }).receive(bytes);
    const c = got.contexts[0];
    if (!c) throw new Error('the server\'s MIKEY message has no crypto session');
    if (!c.profile) throw new Error('the server\'s SRTP policy is not a named profile');
    return { key: { masterKey: c.masterKey, masterSalt: c.masterSalt, mki: c.mki }, ssrc: c.ssrc, roc: c.roc };
  }

  private async udpPair(): Promise<{ rtp: UdpSocket; rtcp: UdpSocket; port: number }> {
    for (let i = 0; i < 50; i++) {
      const rtp = createSocket('udp4');
      await new Promise<void>((ok, bad) => { rtp.once('error', bad); rtp.bind(0, () => ok()); });
      const port = rtp.address().port;
      if (port % 2 !== 0 || port === 65535) { rtp.close(); continue; }
      const rtcp = createSocket('udp4');
      const ok = await new Promise<boolean>((res) => { rtcp.once('error', () => res(false)); rtcp.bind(port + 1, () => res(true)); });
      if (ok) {
        rtp.on('error', () => undefined);
        rtcp.on('error', () => undefined);
        return { rtp, rtcp, port };
      }
      rtp.close();
      try { rtcp.close(); } catch { /* not bound */ }
    }
    throw new Error('no pair of consecutive UDP ports');
  }

  /**
   * SETUP of media `index` with SRTP keyed by MIKEY. In 'auto', the profile's key management
   * first, then the other way when the server answers 463 (reported in `notes`).
   */
  async setup(index = 0): Promise<ClientStream> {
    if (!this.sdp) await this.describe();
    const m = this.sdp!.media[index];
    if (!m) throw new RangeError(`no media ${index} in the SDP`);
    if (!/SAVP/.test(m.proto)) throw new RtspKeyManagementError(`media ${index} is ${m.proto}, not SRTP (RTP/SAVP)`);
    if (!this.keysAllowed()) throw new RtspKeyManagementError(`${this.profile.name}: MIKEY keys only over RTSP on TLS (use rtsps://, or allow a plain channel explicitly)`);
    const uri = this.resolve(m.control);
    if (this.opts.transport === 'multicast') return await this.setupMulticast(index, m, uri);
    const mode = this.opts.keyMgmt ?? 'auto';
    if (mode === 'client' && this.profile.clientKeyFor === 'rtcp') throw new RtspKeyManagementError(`${this.profile.name}: media keys come from the server; the client's key protects only its SRTCP (RFC 4567)`);
    const order: KeyMgmtMode[] = mode !== 'auto' ? [mode] : this.profile.clientKeyFor === 'rtcp' ? ['server'] : this.profile.keyMgmt === 'server' ? ['server', 'client'] : ['client', 'server'];
    let server: { key: SrtpMasterKeySpec; ssrc: number; roc: number } | undefined;
    let serverProblem = '';
    if (order.includes('server')) {
      try {
        server = await this.serverKey(m);
      } catch (e) {
        serverProblem = (e as Error).message;
      }
    }
    const tcp = this.opts.transport === 'tcp';
    const udp = tcp ? undefined : await this.udpPair();
    const transport = tcp ? `RTP/SAVP/TCP;unicast;interleaved=${2 * index}-${2 * index + 1}` : `RTP/SAVP;unicast;client_port=${udp!.port}-${udp!.port + 1}`;
    const problems: string[] = [];
    try {
      for (const way of order) {
        const headers: RtspHeaders = { Transport: transport };
        let key: SrtpMasterKeySpec;
        let ssrc = 0;
        let roc = 0;
        let initiator: RtspNullInitiator | undefined;
        let rtcpKey: SrtpMasterKeySpec | undefined;
        if (way === 'server') {
          if (!server) {
            problems.push(`server-managed: ${serverProblem}`);
            if (order.length > 1 && way === order[0]) this.notes.push(`fallback: no usable server key (${serverProblem}), trying client-managed`);
            continue;
          }
          ({ key, ssrc, roc } = server);
          if (this.profile.clientKeyFor === 'rtcp') {
            // our own key for our SRTCP (RFC 4567 §4.2), as rtspsrc sends it
            initiator = new RtspNullInitiator({ keyForm: this.profile.keyForm });
            const msg = initiator.createMessage({ ssrc: this.clientSsrc, mki: this.profile.mkiLength ? new Uint8Array(randomBytes(this.profile.mkiLength)) : null, profile: this.srtpProfile });
            const c = msg.contexts[0]!;
            rtcpKey = { masterKey: c.masterKey, masterSalt: c.masterSalt, mki: c.mki };
            headers['KeyMgmt'] = profileKeyMgmt(this.profile, uri, profileMessageBytes(this.profile, msg.bytes));
          }
        } else {
          initiator = new RtspNullInitiator({ keyForm: this.profile.keyForm });
          const msg = initiator.createMessage({ ssrc: 0, mki: this.profile.mkiLength ? new Uint8Array(randomBytes(this.profile.mkiLength)) : null, profile: this.srtpProfile });
          const c = msg.contexts[0]!;
          key = { masterKey: c.masterKey, masterSalt: c.masterSalt, mki: c.mki };
          headers['KeyMgmt'] = profileKeyMgmt(this.profile, uri, profileMessageBytes(this.profile, msg.bytes));
        }
        const r = await this.request('SETUP', uri, headers);
        if (r.status === 463) {
          problems.push(`${way}-managed: 463 ${r.reason}`);
          if (order.length > 1 && way === order[0]) this.notes.push(`fallback: ${way}-managed keys answered 463, trying ${order[1]}-managed`);
          continue;
        }
        this.expect('SETUP', r);
        const session = r.headers['session'];
        if (session) this.session = session.split(';')[0]!.trim();
        const t = parseTransport(r.headers['transport'] ?? transport);
        if (tcp && !t.interleaved) t.interleaved = [2 * index, 2 * index + 1];
        if (!tcp && !t.serverPort) this.notes.push('SETUP answer without server_port: no SRTCP to the server');
        if (t.ssrc !== undefined) ssrc = t.ssrc;
        const st: ClientStream = {
          index, uri, media: m, keyMode: way, ssrc, transport: t, initiator, rekeys: 0, udp,
          receiver: new SrtpReceiver({ profile: this.srtpProfile, keys: [key], ssrc, roc }),
          rtcpOut: new SrtpSender({ profile: this.srtpProfile, key: rtcpKey ?? key, ssrc: this.clientSsrc }),
        };
        if (udp) {
          udp.rtp.on('message', (d) => this.rtpIn(st, new Uint8Array(d)));
          udp.rtcp.on('message', (d) => this.rtcpIn(st, new Uint8Array(d)));
        }
        this.streams.push(st);
        return st;
      }
    } catch (e) {
      udp?.rtp.close();
      udp?.rtcp.close();
      throw e;
    }
    udp?.rtp.close();
    udp?.rtcp.close();
    throw new RtspKeyManagementError(`SETUP ${uri}: no key management succeeded (${problems.join('; ')})`, 463);
  }

  /** SETUP of the server's multicast group: join it, then the current key and ROC by GET_PARAMETER (ONVIF). */
  private async setupMulticast(index: number, m: SdpMedia, uri: string): Promise<ClientStream> {
    const r = await this.request('SETUP', uri, { Transport: 'RTP/SAVP;multicast' });
    if (r.status === 463) throw new RtspKeyManagementError(`SETUP ${uri} (multicast): 463 ${r.reason}`, 463);
    this.expect('SETUP', r);
    const session = r.headers['session'];
    if (session) this.session = session.split(';')[0]!.trim();
    const t = parseTransport(r.headers['transport'] ?? '');
    if (t.unicast || !t.destination || !t.port) throw new Error(`SETUP ${uri}: asked for multicast, the answer's Transport has no multicast destination and port (${r.headers['transport'] ?? 'none'})`);
    const local = (this.sock?.localAddress ?? '0.0.0.0').replace(/^::ffff:/, '');
    const join = async (port: number): Promise<UdpSocket> => {
      const sock = createSocket({ type: 'udp4', reuseAddr: true });
      await new Promise<void>((ok, bad) => { sock.once('error', bad); sock.bind(port, () => { sock.off('error', bad); ok(); }); });
      sock.on('error', () => undefined);
      try {
        sock.addMembership(t.destination!, local);
      } catch (e) {
        sock.close();
        throw new Error(`cannot join multicast group ${t.destination} on ${local}: ${(e as Error).message}`);
      }
      return sock;
    };
    const rtp = await join(t.port[0]);
    const rtcp = await join(t.port[1]).catch((e: Error) => { rtp.close(); throw e; });
    const udp = { rtp, rtcp, port: t.port[0] };
    try {
      const cur = await this.fetchKey();
      const ssrc = t.ssrc ?? cur.ssrc;
      const st: ClientStream = {
        index, uri, media: m, keyMode: 'server', ssrc, transport: t, rekeys: 0, udp,
        receiver: new SrtpReceiver({ profile: this.srtpProfile, keys: [cur.key], ssrc, roc: cur.roc }),
        rtcpOut: new SrtpSender({ profile: this.srtpProfile, key: cur.key, ssrc: this.clientSsrc }),
        multicast: { group: t.destination, port: t.port[0], ttl: t.ttl, held: [], lastFetch: 0, fetches: 1 },
      };
      this.notes.push(`multicast: group ${t.destination}:${t.port[0]}${t.ttl !== undefined ? ` ttl ${t.ttl}` : ''}, key by GET_PARAMETER (MKI ${cur.key.mki ? Buffer.from(cur.key.mki).toString('hex') : 'none'}, ROC ${cur.roc})`);
      udp.rtp.on('message', (d) => this.rtpIn(st, new Uint8Array(d)));
      udp.rtcp.on('message', (d) => this.rtcpIn(st, new Uint8Array(d)));
      this.streams.push(st);
      return st;
    } catch (e) {
      rtp.close();
      rtcp.close();
      throw e;
    }
  }

  async play(): Promise<RtspResponseMessage> {
    return this.expect('PLAY', await this.request('PLAY', this.aggregate, { Range: 'npt=0-' }));
  }

  /**
   * Re-key during PLAY: a new key with a new MKI in SET_PARAMETER; the receiver takes it before
   * the request goes out, so no packet is lost to the switch. The ROC goes on (ONVIF).
   */
  async rekey(index = 0): Promise<{ mki?: Uint8Array }> {
    const st = this.streams[index];
    if (!st) throw new RangeError(`no stream ${index}`);
    if (st.multicast) throw new RtspKeyManagementError('re-key refused: the multicast group key is the server\'s (GET_PARAMETER gives the current one)');
    if (!this.keysAllowed()) throw new RtspKeyManagementError('re-key refused: MIKEY keys only over RTSP on TLS');
    const mki = this.profile.mkiLength ? new Uint8Array(randomBytes(this.profile.mkiLength)) : null;
    let msg;
    if (st.initiator && (st.keyMode === 'client' || this.profile.clientKeyFor === 'rtcp')) msg = st.initiator.rekey({ mki });
    else {
      st.initiator = new RtspNullInitiator({ keyForm: this.profile.keyForm });
      msg = st.initiator.createMessage({ ssrc: st.receiver.ssrc || st.ssrc, roc: st.receiver.stats.roc, mki, profile: this.srtpProfile });
    }
    const c = msg.contexts[0]!;
    const key = { masterKey: c.masterKey, masterSalt: c.masterSalt, mki: c.mki };
    const media = this.profile.clientKeyFor === 'media';
    if (media) st.receiver.addKey(key);
    const bytes = profileMessageBytes(this.profile, msg.bytes);
    const body = this.profile.rekeyParameter === 'mikey'
      ? `mikey: ${Buffer.from(bytes).toString('base64')}\r\n`
      : `KeyMgmt: ${profileKeyMgmt(this.profile, st.uri, bytes)}\r\n`;
    const r = await this.request('SET_PARAMETER', this.aggregate, { 'Content-Type': 'text/parameters' }, body);
    if (r.status === 463) throw new RtspKeyManagementError(`re-key refused: 463 ${r.reason}`, 463);
    this.expect('SET_PARAMETER', r);
    st.rtcpOut.rekey(key);
    st.rekeys++;
    return { mki: key.mki };
  }

  /** ONVIF multicast: the current key by GET_PARAMETER; added to the stream when new. */
  async currentKey(index = 0): Promise<{ mki?: Uint8Array; roc: number; ssrc: number; added: boolean }> {
    const st = this.streams[index];
    if (!st) throw new RangeError(`no stream ${index}`);
    const { key, roc, ssrc } = await this.fetchKey();
    const added = !(key.mki && st.receiver.hasMki(key.mki));
    if (added) st.receiver.addKey(key);
    return { mki: key.mki, roc, ssrc, added };
  }

  /** GET_PARAMETER "mikey": the server's current key, its ROC and SSRC (ONVIF). */
  private async fetchKey(): Promise<{ key: SrtpMasterKeySpec; roc: number; ssrc: number }> {
    const r = await this.request('GET_PARAMETER', this.aggregate, { 'Content-Type': 'text/parameters' }, 'mikey\r\n');
    if (r.status === 463) throw new RtspKeyManagementError(`GET_PARAMETER mikey: 463 ${r.reason}`, 463);
    this.expect('GET_PARAMETER', r);
    const line = /^\s*mikey\s*:\s*([A-Za-z0-9+/=]+)\s*$/im.exec(r.body.toString('utf8'));
    if (!line) throw new RtspKeyManagementError('GET_PARAMETER answer without a mikey: line');
    const got = await new RtspNullResponder({ lenient: [...this.profile.lenient], requireMki: this.profile.requireMki, onQuirk: (q) => this.quirks.push(q) }).receive(line[1]!);
    const c = got.contexts[0];
    if (!c) throw new RtspKeyManagementError('GET_PARAMETER: a MIKEY message without a crypto session');
    return { key: { masterKey: c.masterKey, masterSalt: c.masterSalt, mki: c.mki }, roc: c.roc, ssrc: c.ssrc };
  }

  async teardown(): Promise<void> {
    if (!this.session) return;
    await this.request('TEARDOWN', this.aggregate).catch(() => undefined);
    this.session = undefined;
  }

  close(): void {
    this.closed = true;
    for (const st of this.streams) {
      st.udp?.rtp.close();
      st.udp?.rtcp.close();
      st.udp = undefined;
    }
    this.sock?.destroy();
    this.failAll(new Error('client closed'));
  }
}
