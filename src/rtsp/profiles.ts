// Named vendor profiles of MIKEY over RTSP: option sets that the client and the server both
// follow, each with where the behaviour comes from. What a profile does differently from the
// ONVIF reference is listed by `profileDeviations`, and every field quirk met on the wire is
// reported: a profile never weakens the cryptography silently.
import { decodeMessage, tryDecodeMessage } from '../wire/decode.js';
import { MikeyDecodeError } from '../wire/errors.js';
import { encodeMessage } from '../wire/encode.js';
import { policyParams } from '../wire/sp.js';
import { EncrAlg, KeyDataType, KvType, MacAlg, PayloadType, SrtpParam } from '../wire/registry.js';
import type { KemacPayload, KeyDataPayload, Payload, SpPayload } from '../wire/types.js';
import { buildRtspKeyMgmt, KMPID_MIKEY, toBase64 } from '../sdp/keymgmt.js';
import { ONVIF_MKI_LENGTH, type KeyForm, type RtspNullQuirk } from '../profiles/rtsp-null.js';

export type RtspProfileName = 'onvif' | 'axis' | 'milestone' | 'hanwha' | 'gstreamer' | 'live555' | 'genetec';

export interface RtspProfile {
  name: RtspProfileName;
  /** Where the behaviour comes from. */
  source: string;
  /** Who supplies the key a server sends with when both could: the server (DESCRIBE) or the client (SETUP). */
  keyMgmt: 'server' | 'client';
  /** A server answers 463 to a SETUP that carries no key of the client's. */
  requireClientKey: boolean;
  /** How the TEK is written when sending. */
  keyForm: KeyForm;
  /** MKI length in bytes of the keys sent (0: KV = NULL, no MKI in SRTP packets). */
  mkiLength: 0 | 4;
  /** Refuse received keys without a 4-byte MKI. */
  requireMki: boolean;
  /** One extra 0x00 after the MIKEY message when sending. */
  trailingZero: boolean;
  /** KeyMgmt header as RFC 4567 writes it, or exactly `prot=mikey; uri=""; data="…"`. */
  keyMgmtSpelling: 'rfc4567' | 'empty-uri';
  /** SP parameter 3 holds the tag length, parameter 11 left out (when sending). */
  tagLengthAsAuthKeyLength: boolean;
  /** live555's checks on received messages: TEK with a 4-byte MKI, 30-byte key ‖ salt, auth key length 20, tag length 10. */
  strictKeys: boolean;
  /** MIKEY is offered and sent only over RTSP on TLS (a plain channel is refused unless allowed). */
  requireTls: boolean;
  /** Field quirks accepted (and reported) when received. */
  lenient: readonly RtspNullQuirk[];
  /** What the client's key in SETUP protects: the media both ways (ONVIF's client-managed keys), or only the client's SRTCP (RFC 4567 as GStreamer reads it). */
  clientKeyFor: 'media' | 'rtcp';
  /** The SET_PARAMETER body a client re-keys with: `mikey: <base64>` or `KeyMgmt: prot=mikey; ...`. */
  rekeyParameter: 'mikey' | 'KeyMgmt';
}

const base: Omit<RtspProfile, 'name' | 'source'> = {
  keyMgmt: 'server', requireClientKey: false, keyForm: 'key||salt', mkiLength: ONVIF_MKI_LENGTH, requireMki: true,
  trailingZero: false, keyMgmtSpelling: 'rfc4567', tagLengthAsAuthKeyLength: false, strictKeys: false, requireTls: true,
  lenient: [], rekeyParameter: 'mikey', clientKeyFor: 'media',
};

export const RTSP_PROFILES: Readonly<Record<RtspProfileName, RtspProfile>> = {
  onvif: {
    ...base, name: 'onvif',
    source: 'ONVIF Streaming Specification, MIKEY section: MIKEY-NULL over RTSP on TLS only, key ‖ salt in one TEK, MKI (KV = SPI) mandatory, auth key length 20 / tag length 10, SSRC in the SETUP Transport, re-key by SET_PARAMETER "mikey:" keeping the ROC, GET_PARAMETER for multicast, 463 on errors',
  },
  axis: {
    ...base, name: 'axis', keyMgmt: 'client', requireClientKey: true, requireTls: false,
    source: 'AXIS OS camera behaviour: client-managed keys (SETUP without KeyMgmt is answered 463), one key for both directions, 4-byte MKI',
  },
  milestone: {
    ...base, name: 'milestone', trailingZero: true, requireTls: false, lenient: ['trailing-zero-byte'],
    source: 'Milestone XProtect recorders: the MIKEY message is followed by one extra 0x00 byte',
  },
  hanwha: {
    ...base, name: 'hanwha', keyMgmt: 'client', keyMgmtSpelling: 'empty-uri', requireTls: false,
    source: 'Hanwha Vision (Wisenet) cameras: the KeyMgmt header must read exactly prot=mikey; uri=""; data="…"',
  },
  gstreamer: {
    ...base, name: 'gstreamer', mkiLength: 0, requireMki: false, tagLengthAsAuthKeyLength: true, requireTls: false,
    lenient: ['tag-length-as-auth-key-length'], rekeyParameter: 'KeyMgmt', clientKeyFor: 'rtcp',
    source: 'GStreamer gst-rtsp-server / rtspsrc (gstmikey.c): SP parameter 3 carries the tag length, parameter 11 is ignored, the MKI is ignored; each side keys what it sends (the server its media in DESCRIBE, the client its SRTCP in SETUP); re-key in a text/parameters KeyMgmt line',
  },
  live555: {
    ...base, name: 'live555', strictKeys: true, requireTls: false,
    source: 'live555 MIKEYState.cpp: accepts only a TEK with a 4-byte MKI, a 30-byte key ‖ salt, NULL KEMAC, auth key length 20, tag length 10',
  },
  genetec: {
    ...base, name: 'genetec', requireTls: false,
    source: 'Genetec Security Center: a 32-bit MKI is mandatory; key and salt as one TEK, because TEK+SALT makes some cameras send SRTP without an MKI',
  },
};

export const RTSP_PROFILE_NAMES = Object.keys(RTSP_PROFILES) as RtspProfileName[];

export function rtspProfile(name: string): RtspProfile {
  const p = (RTSP_PROFILES as Record<string, RtspProfile | undefined>)[name];
  if (!p) throw new TypeError(`unknown RTSP profile "${name}" (one of ${RTSP_PROFILE_NAMES.join(', ')})`);
  return p;
}

/** What a profile does differently from the ONVIF reference, in words, for reports. */
export function profileDeviations(p: RtspProfile): string[] {
  const r = RTSP_PROFILES.onvif;
  const out: string[] = [];
  if (!p.requireTls && r.requireTls) out.push('MIKEY-NULL accepted on a plain RTSP channel: the SRTP keys travel unprotected there (reported per connection)');
  if (p.keyMgmt !== r.keyMgmt) out.push(`keys managed by the ${p.keyMgmt}`);
  if (p.requireClientKey) out.push('SETUP without the client key is answered 463');
  if (p.mkiLength === 0) out.push('no MKI: a re-key replaces the key at once and the receiver tries old and new key (reported)');
  if (p.trailingZero) out.push('one 0x00 after the MIKEY message');
  if (p.keyMgmtSpelling !== 'rfc4567') out.push('KeyMgmt written as prot=mikey; uri=""; data="…"');
  if (p.tagLengthAsAuthKeyLength) out.push('SP parameter 3 written with the tag length, parameter 11 left out');
  if (p.strictKeys) out.push('received keys refused unless TEK, 4-byte MKI, 30-byte key ‖ salt, auth key length 20, tag length 10');
  for (const q of p.lenient) out.push(`received field quirk "${q}" accepted (reported per message)`);
  if (p.clientKeyFor === 'rtcp') out.push('the client\'s key protects only its SRTCP: media keys come from the server');
  if (p.rekeyParameter !== r.rekeyParameter) out.push(`re-key in a "${p.rekeyParameter}:" parameter line`);
  return out;
}

/** The bytes of a message as the profile sends them (what `RtspNullInitiator` wrote, reshaped). */
export function profileMessageBytes(p: RtspProfile, bytes: Uint8Array): Uint8Array {
  let out = bytes;
  if (p.tagLengthAsAuthKeyLength) {
    const msg = decodeMessage(bytes);
    const payloads: Payload[] = msg.payloads.map((x) => {
      if (x.type !== PayloadType.Sp) return x;
      const params = policyParams(x);
      const tag = params.find((q) => q.type === SrtpParam.AuthTagLength)?.value;
      if (!tag) return x;
      const fixed = params.filter((q) => q.type !== SrtpParam.AuthTagLength).map((q) => (q.type === SrtpParam.AuthKeyLength ? { type: q.type, value: tag } : q));
      return { type: PayloadType.Sp, policyNo: x.policyNo, protType: x.protType, params: fixed } as SpPayload;
    });
    out = encodeMessage({ header: msg.header, payloads });
  }
  if (p.trailingZero) {
    const z = new Uint8Array(out.length + 1);
    z.set(out);
    out = z;
  }
  return out;
}

/** The KeyMgmt header value the profile writes. */
export function profileKeyMgmt(p: RtspProfile, uri: string, bytes: Uint8Array): string {
  if (p.keyMgmtSpelling === 'empty-uri') return `prot=${KMPID_MIKEY}; uri=""; data="${toBase64(bytes)}"`;
  return buildRtspKeyMgmt([{ prot: KMPID_MIKEY, uri, data: bytes }]);
}

/** True when a KeyMgmt header value is exactly the `uri=""` spelling (what Hanwha expects). */
export function isEmptyUriSpelling(v: string): boolean {
  return /^prot=mikey; uri=""; data="[A-Za-z0-9+/=]+"$/.test(v.trim());
}

/** live555's checks (MIKEYState.cpp) on a received message; returns why it is refused, or undefined. */
export function strictKeyProblem(bytes: Uint8Array): string | undefined {
  const msg = tryDecodeMessage(bytes);
  if (msg instanceof MikeyDecodeError) return `not a MIKEY message: ${msg.message}`;
  const kemac = msg.payloads.find((x): x is KemacPayload => x.type === PayloadType.Kemac);
  if (!kemac) return 'no KEMAC';
  if (kemac.encrAlg !== EncrAlg.Null || kemac.macAlg !== MacAlg.Null) return 'KEMAC is not NULL/NULL';
  const keys = (kemac.plaintext ?? []).filter((x): x is KeyDataPayload => x.type === PayloadType.KeyData);
  if (keys.length !== 1) return `${keys.length} key data sub-payloads (one TEK expected)`;
  const k = keys[0]!;
  if (k.keyType !== KeyDataType.Tek) return `key type ${k.keyType} (TEK expected)`;
  if (k.keyData.length !== 30) return `key of ${k.keyData.length} bytes (30-byte key ‖ salt expected)`;
  if (k.validity.kv !== KvType.Spi || k.validity.spi.length !== 4) return 'no 4-byte MKI (KV = SPI)';
  for (const sp of msg.payloads.filter((x): x is SpPayload => x.type === PayloadType.Sp)) {
    const ps = policyParams(sp);
    const v = (t: number) => ps.find((q) => q.type === t)?.value[0];
    if (v(SrtpParam.AuthKeyLength) !== 20) return `SP auth key length ${v(SrtpParam.AuthKeyLength) ?? 'missing'} (20 expected)`;
    if (v(SrtpParam.AuthTagLength) !== 10) return `SP tag length ${v(SrtpParam.AuthTagLength) ?? 'missing'} (10 expected)`;
  }
  return undefined;
}
