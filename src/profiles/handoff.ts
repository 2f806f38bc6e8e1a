// Hand-off adapters: from a crypto session bundle (srtpContexts, RFC 3830 §4.1.3) to what SRTP
// stacks take: libsrtp profile names and key material, GStreamer `application/x-srtp` caps,
// a werift-rtp SrtpSession, and our own SrtpEndpoint. Re-keying by MKI keeps several master
// keys of one SSRC live at once (RFC 3711 §8.1). werift-rtp is an optional peer dependency, loaded
// by the werift adapters only when one is used.
import { createRequire } from 'node:module';
import { MissingPackageError, isMissing } from '../optional.js';
import { SRTP_PROFILES, type SrtpProfileName } from '../crypto/srtp-kdf.js';
import { srtpContexts, type CryptoSessionBundle, type SrtpContext } from '../session/bundle.js';
import { SrtpEndpoint, rtpHeaderLength } from '../srtp/endpoint.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function named(c: SrtpContext): SrtpProfileName {
  if (!c.profile) throw new TypeError(`crypto session ${c.csId}: its policy is not one of the named SRTP profiles`);
  return c.profile;
}

// ---- libsrtp -------------------------------------------------------------------------------

/** What libsrtp's srtp_policy_t takes for one context (srtp_crypto_policy_set_* names). */
export interface LibsrtpPolicy {
  /** The profile named as libsrtp's DTLS-SRTP / SDES tables name it. */
  profile: SrtpProfileName;
  /** srtp_crypto_policy_set_* for RTP and RTCP (RFC 4568 §6.2: SRTCP keeps the 80-bit tag). */
  rtpPolicy: string;
  rtcpPolicy: string;
  /** key ‖ salt, as libsrtp's `key` (or srtp_master_key_t.key with an MKI). */
  keySalt: Uint8Array;
  ssrc: number;
  /** ssrc_specific, or ssrc_any_inbound for SSRC 0 ("filled in by the responder"). */
  ssrcType: 'ssrc_specific' | 'ssrc_any_inbound';
  roc: number;
  mki?: Uint8Array;
}

const LIBSRTP_SET: Record<SrtpProfileName, [string, string]> = {
  AES_CM_128_HMAC_SHA1_80: ['aes_cm_128_hmac_sha1_80', 'aes_cm_128_hmac_sha1_80'],
  AES_CM_128_HMAC_SHA1_32: ['aes_cm_128_hmac_sha1_32', 'aes_cm_128_hmac_sha1_80'],
  AES_192_CM_HMAC_SHA1_80: ['aes_cm_192_hmac_sha1_80', 'aes_cm_192_hmac_sha1_80'],
  AES_192_CM_HMAC_SHA1_32: ['aes_cm_192_hmac_sha1_32', 'aes_cm_192_hmac_sha1_80'],
  AES_256_CM_HMAC_SHA1_80: ['aes_cm_256_hmac_sha1_80', 'aes_cm_256_hmac_sha1_80'],
  AES_256_CM_HMAC_SHA1_32: ['aes_cm_256_hmac_sha1_32', 'aes_cm_256_hmac_sha1_80'],
  AEAD_AES_128_GCM: ['aes_gcm_128_16_auth', 'aes_gcm_128_16_auth'],
  AEAD_AES_256_GCM: ['aes_gcm_256_16_auth', 'aes_gcm_256_16_auth'],
  NULL_HMAC_SHA1_80: ['null_cipher_hmac_sha1_80', 'null_cipher_hmac_sha1_80'],
  NULL_HMAC_SHA1_32: ['null_cipher_hmac_sha1_32', 'null_cipher_hmac_sha1_80'],
};

export function libsrtpPolicy(c: SrtpContext): LibsrtpPolicy {
  const profile = named(c);
  const [rtpPolicy, rtcpPolicy] = LIBSRTP_SET[profile];
  return {
    profile, rtpPolicy: `srtp_crypto_policy_set_${rtpPolicy}`, rtcpPolicy: `srtp_crypto_policy_set_${rtcpPolicy}`,
    keySalt: concat(c.masterKey, c.masterSalt), ssrc: c.ssrc, ssrcType: c.ssrc === 0 ? 'ssrc_any_inbound' : 'ssrc_specific',
    roc: c.roc, mki: c.mki,
  };
}

// ---- GStreamer -----------------------------------------------------------------------------

/** Fields of GStreamer's `application/x-srtp` caps (srtpenc/srtpdec, gst-rtsp-server). */
export interface GstSrtpCaps {
  ssrc: number;
  roc: number;
  'srtp-key': Uint8Array;
  'srtp-cipher': string;
  'srtp-auth': string;
  'srtcp-cipher': string;
  'srtcp-auth': string;
  mki?: Uint8Array;
  /** Further master keys of the same SSRC: srtp-key2 / mki2, srtp-key3 / mki3, ... */
  [more: `srtp-key${number}` | `mki${number}`]: Uint8Array;
}

function gstCipher(p: SrtpProfileName): string {
  const pr = SRTP_PROFILES[p];
  if (pr.cipher === 'NULL') return 'null';
  if (pr.cipher === 'AES-GCM') return pr.masterKeyLen === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
  if (pr.masterKeyLen === 24) throw new TypeError(`${p}: GStreamer's srtp elements have no AES-192 cipher`);
  return pr.masterKeyLen === 16 ? 'aes-128-icm' : 'aes-256-icm';
}
function gstAuth(tagLen: number, cipher: string): string {
  if (cipher.endsWith('-gcm')) return 'null'; // the AEAD tag authenticates
  return tagLen === 4 ? 'hmac-sha1-32' : 'hmac-sha1-80';
}

/**
 * Caps for one SSRC. `contexts` are that SSRC's master keys (several after a re-key by MKI); the
 * first is `srtp-key`/`mki`, the next `srtp-key2`/`mki2`, ... srtp-key is key ‖ salt.
 */
export function gstSrtpCaps(contexts: readonly SrtpContext[]): GstSrtpCaps {
  const [first] = contexts;
  if (!first) throw new TypeError('no SRTP context');
  const profile = named(first);
  for (const c of contexts) if (c.ssrc !== first.ssrc || c.profile !== profile) throw new TypeError('all contexts of one caps must share SSRC and profile');
  if (contexts.length > 1 && contexts.some((c) => !c.mki)) throw new TypeError('several master keys need MKIs');
  const cipher = gstCipher(profile);
  const pr = SRTP_PROFILES[profile];
  const caps: GstSrtpCaps = {
    ssrc: first.ssrc, roc: first.roc, 'srtp-key': concat(first.masterKey, first.masterSalt),
    'srtp-cipher': cipher, 'srtp-auth': gstAuth(pr.rtpTagLen, cipher), 'srtcp-cipher': cipher, 'srtcp-auth': gstAuth(pr.rtcpTagLen, cipher),
  };
  if (first.mki) caps.mki = first.mki;
  contexts.slice(1).forEach((c, i) => {
    caps[`srtp-key${i + 2}`] = concat(c.masterKey, c.masterSalt);
    caps[`mki${i + 2}`] = c.mki!;
  });
  return caps;
}

/** The caps as a GStreamer caps string (gst_caps_from_string syntax). */
export function gstCapsString(caps: GstSrtpCaps): string {
  const parts = ['application/x-srtp', `ssrc=(uint)${caps.ssrc}`, `roc=(uint)${caps.roc}`];
  for (const [k, v] of Object.entries(caps)) {
    if (k === 'ssrc' || k === 'roc') continue;
    parts.push(v instanceof Uint8Array ? `${k}=(buffer)${hex(v)}` : `${k}=(string)${v}`);
  }
  return parts.join(', ');
}

// ---- our SRTP endpoint ---------------------------------------------------------------------

/** Group contexts by SSRC (one stream each); each group keeps every master key (MKI). */
export function contextsBySsrc(contexts: readonly SrtpContext[]): Map<number, SrtpContext[]> {
  const m = new Map<number, SrtpContext[]>();
  for (const c of contexts) m.set(c.ssrc, [...(m.get(c.ssrc) ?? []), c]);
  return m;
}

/** An SrtpEndpoint for one crypto session's contexts (all its master keys; sends with the first). */
export function srtpEndpoint(contexts: readonly SrtpContext[], opts: { replayWindow?: number } = {}): SrtpEndpoint {
  const [first] = contexts;
  if (!first) throw new TypeError('no SRTP context');
  return new SrtpEndpoint({
    profile: named(first), ssrc: first.ssrc, roc: first.roc, kdr: first.kdr, replayWindow: opts.replayWindow,
    keys: contexts.map((c) => ({ masterKey: c.masterKey, masterSalt: c.masterSalt, mki: c.mki })),
  });
}

/**
 * Re-keying: add the master keys of a new bundle (a new MIKEY message with new MKIs) to the
 * endpoints of their SSRCs; the old keys stay until removed. Returns the MKIs added.
 */
export function addRekey(endpoints: ReadonlyMap<number, SrtpEndpoint>, bundle: CryptoSessionBundle): Uint8Array[] {
  const added: Uint8Array[] = [];
  for (const c of srtpContexts(bundle)) {
    const e = endpoints.get(c.ssrc) ?? (c.ssrc === 0 ? undefined : endpoints.get(0));
    if (!e) throw new RangeError(`no SRTP stream for SSRC 0x${c.ssrc.toString(16)}`);
    if (!c.mki) throw new TypeError('re-keying by MKI needs KV = SPI (an MKI) on every key');
    if (e.profile.name !== c.profile) throw new TypeError(`re-key changes the profile of SSRC 0x${c.ssrc.toString(16)}`);
    e.addKey({ masterKey: c.masterKey, masterSalt: c.masterSalt, mki: c.mki });
    added.push(c.mki);
  }
  return added;
}

// ---- werift-rtp ----------------------------------------------------------------------------

// werift names its profiles by their DTLS-SRTP protection profile numbers (RFC 5764 §4.1.2, RFC 7714 §14.2)
const WERIFT: Partial<Record<SrtpProfileName, number>> = {
  AES_CM_128_HMAC_SHA1_80: 0x0001,
  AEAD_AES_128_GCM: 0x0007,
};

/** werift-rtp's SrtpSession, as used here (its types stay out of ours: werift is optional). */
export interface WeriftSrtpSession {
  encrypt(payload: Buffer, header: object): Buffer;
  decrypt(packet: Buffer): Buffer;
  localContext: object;
  remoteContext: object;
}

/** werift-rtp's SrtcpSession, as used here. */
export interface WeriftSrtcpSession {
  encrypt(packet: Buffer): Buffer;
  decrypt(packet: Buffer): Buffer;
}

type Werift = typeof import('werift-rtp');
let loaded: Werift | undefined;
/** werift-rtp, loaded on first use (synchronously: the package is CommonJS), or a MissingPackageError naming it. */
function werift(): Werift {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('werift-rtp') as Werift;
  } catch (e) {
    if (isMissing(e, 'werift-rtp')) throw new MissingPackageError('werift-rtp', 'The werift-rtp SRTP hand-off');
    throw e;
  }
  return loaded;
}

/** werift-rtp's profile number for a context, or undefined when werift has no such profile. */
export function weriftProfile(c: SrtpContext): number | undefined {
  return c.profile ? WERIFT[c.profile] : undefined;
}

/**
 * werift-rtp SrtpSession and SrtcpSession for a pair of contexts: `local` protects what we send,
 * `remote` unprotects what we receive. werift knows AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM,
 * starts every ROC at 0 and knows no MKI: `WeriftSrtp` below adds the MKI and the ROC.
 */
export function weriftSessions(local: SrtpContext, remote: SrtpContext): { srtp: WeriftSrtpSession; srtcp: WeriftSrtcpSession } {
  const profile = weriftProfile(local);
  if (profile === undefined || weriftProfile(remote) !== profile) throw new TypeError(`werift-rtp has no SRTP profile ${local.profile ?? '(unnamed)'}${remote.profile !== local.profile ? ` / ${remote.profile}` : ''}`);
  if (local.kdr || remote.kdr) throw new TypeError('werift-rtp derives session keys once (key derivation rate 0)');
  const keys = {
    localMasterKey: Buffer.from(local.masterKey), localMasterSalt: Buffer.from(local.masterSalt),
    remoteMasterKey: Buffer.from(remote.masterKey), remoteMasterSalt: Buffer.from(remote.masterSalt),
  };
  const w = werift();
  return { srtp: new w.SrtpSession({ keys, profile: profile as 1 | 7 }), srtcp: new w.SrtcpSession({ keys, profile: profile as 1 | 7 }) };
}

interface RocState { ssrc: number; rolloverCounter: number; lastSequenceNumber: number; rolloverHasProcessed?: boolean }

/**
 * A Node application's SRTP over werift-rtp for one pair of contexts, with what werift lacks
 * added around it: the MKI (RFC 3711 §3.1: after the encrypted part, RFC 7714 §8.2: after the
 * AEAD tag; not authenticated) and the initial ROC of the crypto session.
 */
export class WeriftSrtp {
  readonly srtp: WeriftSrtpSession;
  readonly srtcp: WeriftSrtcpSession;
  private readonly tagLen: number;

  constructor(private readonly local: SrtpContext, private readonly remote: SrtpContext) {
    const s = weriftSessions(local, remote);
    this.srtp = s.srtp;
    this.srtcp = s.srtcp;
    this.tagLen = local.profile === 'AEAD_AES_128_GCM' ? 0 : 10;
    const seed = (ctx: { srtpSSRCStates: Record<number, RocState> }, c: SrtpContext) => {
      if (c.roc && c.ssrc) ctx.srtpSSRCStates[c.ssrc] = { ssrc: c.ssrc, rolloverCounter: c.roc, lastSequenceNumber: 0 };
    };
    seed(this.srtp.localContext as unknown as { srtpSSRCStates: Record<number, RocState> }, local);
    seed(this.srtp.remoteContext as unknown as { srtpSSRCStates: Record<number, RocState> }, remote);
  }

  private withMki(p: Uint8Array, mki: Uint8Array | undefined, tagLen: number): Uint8Array {
    if (!mki) return p;
    const at = p.length - tagLen;
    const out = new Uint8Array(p.length + mki.length);
    out.set(p.subarray(0, at), 0);
    out.set(mki, at);
    out.set(p.subarray(at), at + mki.length);
    return out;
  }

  private withoutMki(p: Uint8Array, mki: Uint8Array | undefined, tagLen: number): Buffer {
    if (!mki) return Buffer.from(p);
    const at = p.length - tagLen - mki.length;
    if (at < 0 || hex(p.subarray(at, at + mki.length)) !== hex(mki)) throw new Error(`packet MKI is not ${hex(mki)}`);
    return Buffer.concat([p.subarray(0, at), p.subarray(at + mki.length)]);
  }

  protectRtp(packet: Uint8Array): Uint8Array {
    rtpHeaderLength(packet);
    const rtp = werift().RtpPacket.deSerialize(Buffer.from(packet));
    return this.withMki(this.srtp.encrypt(rtp.payload, rtp.header), this.local.mki, this.tagLen);
  }

  unprotectRtp(packet: Uint8Array): Uint8Array {
    return new Uint8Array(this.srtp.decrypt(this.withoutMki(packet, this.remote.mki, this.tagLen)));
  }

  protectRtcp(packet: Uint8Array): Uint8Array {
    return this.withMki(this.srtcp.encrypt(Buffer.from(packet)), this.local.mki, this.tagLen);
  }

  unprotectRtcp(packet: Uint8Array): Uint8Array {
    return new Uint8Array(this.srtcp.decrypt(this.withoutMki(packet, this.remote.mki, this.tagLen)));
  }
}
