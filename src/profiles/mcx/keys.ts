// Keys of the 3GPP mission-critical profile (TS 33.180): key identifiers and their purpose
// tags, the GUK-ID of group keys, crypto session IDs, default SRTP policies, and the crypto
// session bundle of a MIKEY-SAKKE message with a GENERIC-ID or Empty map (RFC 6043 §6.1.1,
// RFC 4563 §5), TEKs and salts by RFC 3830 §4.1.3 with the header's PRF.
import { createHmac } from 'node:crypto';
import { deriveSrtpSalt, deriveTek, type MikeyPrf } from '../../crypto/prf.js';
import { CsIdMapType, ErrorNo, PayloadType, ProtType, SrtpParam } from '../../wire/registry.js';
import { policyParams } from '../../wire/sp.js';
import type { CommonHeader, PolicyParam, SpPayload } from '../../wire/types.js';
import { deriveBundle, prfOf, type CryptoSession, type CryptoSessionBundle, type SrtpMasterKey } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { srtpPolicyFromSp } from '../../session/policy.js';

// ---- key identifiers (TS 33.180 §5.2.2, E.6.11) -------------------------------------------

/** Purpose tags: the 4 most significant bits of a 32-bit key identifier. */
export const KeyPurpose = Object.freeze({ GMK: 0, PCK: 1, CSK: 2, SPK: 3, MKFC: 4, MSCCK: 5, MuSiK: 6 } as const);
export type KeyPurposeName = keyof typeof KeyPurpose;

export function keyPurposeOf(keyId: number): number {
  return keyId >>> 28;
}

export function keyPurposeName(tag: number): KeyPurposeName | undefined {
  return (Object.keys(KeyPurpose) as KeyPurposeName[]).find((k) => KeyPurpose[k] === tag);
}

/** A key identifier: purpose tag || 28 random bits. */
export function newKeyId(purpose: number, random: (n: number) => Uint8Array): number {
  if (!Number.isInteger(purpose) || purpose < 0 || purpose > 15) throw new RangeError(`purpose tag ${purpose}`);
  const r = random(4);
  return ((purpose << 28) | (((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) & 0x0fffffff)) >>> 0;
}

export function u32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}

export function u32Of(b: Uint8Array, at = 0): number {
  return new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0);
}

// ---- key derivation (TS 33.220 Annex B, as TS 33.180 Annex F uses it) ---------------------

/** HMAC-SHA-256(key, FC || P0 || L0 || P1 || L1 || ...), Li the 2-byte length of Pi. */
export function mcxKdf(key: Uint8Array, fc: number, ...params: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key).update(Uint8Array.of(fc));
  for (const p of params) {
    if (p.length > 0xffff) throw new RangeError('KDF parameter longer than 65535 bytes');
    h.update(p).update(Uint8Array.of(p.length >>> 8, p.length & 0xff));
  }
  return new Uint8Array(h.digest());
}

const FC_USER_SALT = 0x50;

/** TS 33.180 F.1.3: User Salt = the 28 least significant bits of KDF(GMK, 0x50, user URI). */
export function userSalt(gmk: Uint8Array, userUri: string): number {
  const out = mcxKdf(gmk, FC_USER_SALT, new TextEncoder().encode(userUri));
  return u32Of(out, out.length - 4) & 0x0fffffff;
}

/** TS 33.180 F.1.3: GUK-ID = the GMK-ID's purpose tag || (its 28 bits XOR the member's User Salt). */
export function gukId(gmkId: number, gmk: Uint8Array, userUri: string): number {
  return ((gmkId & 0xf0000000) | ((gmkId ^ userSalt(gmk, userUri)) & 0x0fffffff)) >>> 0;
}

/** The GMK-ID back from a member's GUK-ID (the XOR is its own inverse). */
export const gmkIdOf = gukId;

// ---- crypto sessions (TS 33.180 Table E.1.3-1) --------------------------------------------

export const McxCsId = Object.freeze({
  McpttPrivateInitiator: 0,
  McpttPrivateReceiver: 1,
  McvideoPrivateInitiator: 2,
  McvideoPrivateReceiver: 3,
  McpttGroup: 4,
  McvideoGroup: 5,
  CskMcptt: 6,
  MusikMcptt: 7,
  CskMcvideo: 8,
  MusikMcvideo: 9,
} as const);

export type McxService = 'MCPTT' | 'MCVideo';

/** The crypto sessions a key serves (Table E.1.3-1): both directions of a private call. */
export function csIdsFor(purpose: number, service: McxService = 'MCPTT'): number[] {
  const v = service === 'MCVideo';
  switch (purpose) {
    case KeyPurpose.GMK: return [v ? McxCsId.McvideoGroup : McxCsId.McpttGroup];
    case KeyPurpose.PCK: return v ? [McxCsId.McvideoPrivateInitiator, McxCsId.McvideoPrivateReceiver] : [McxCsId.McpttPrivateInitiator, McxCsId.McpttPrivateReceiver];
    case KeyPurpose.CSK: return [v ? McxCsId.CskMcvideo : McxCsId.CskMcptt];
    case KeyPurpose.MuSiK: return [v ? McxCsId.MusikMcvideo : McxCsId.MusikMcptt];
    default: return [];
  }
}

// ---- default security policies -----------------------------------------------------------

const p1 = (type: number, v: number): PolicyParam => ({ type, value: Uint8Array.of(v) });

/** TS 33.180 Table E.2-1, group calls: AES-GCM with RCCm3 (the ROC in a 4-byte SRTP tag). */
export const GROUP_CALL_DEFAULT_POLICY: readonly PolicyParam[] = Object.freeze([
  p1(SrtpParam.EncrAlg, 6), p1(SrtpParam.EncrKeyLength, 16), p1(SrtpParam.AuthAlg, 4), p1(SrtpParam.SaltKeyLength, 12),
  p1(SrtpParam.Prf, 0), p1(SrtpParam.KeyDerivationRate, 0), p1(SrtpParam.RocTransmissionRate, 1),
  p1(SrtpParam.SrtpAuthTagLength, 4), p1(SrtpParam.SrtcpAuthTagLength, 0), p1(SrtpParam.AeadAuthTagLength, 16),
]);

/** TS 33.180 Table E.3-1, private calls: AES-GCM, no RCC. */
export const PRIVATE_CALL_DEFAULT_POLICY: readonly PolicyParam[] = Object.freeze([
  p1(SrtpParam.EncrAlg, 6), p1(SrtpParam.EncrKeyLength, 16), p1(SrtpParam.SaltKeyLength, 12),
  p1(SrtpParam.Prf, 0), p1(SrtpParam.KeyDerivationRate, 0), p1(SrtpParam.AeadAuthTagLength, 16),
]);

/**
 * The default policy of a key's purpose when no SP is sent: group keys (GMK, MKFC, MuSiK) take
 * E.2-1; PCK takes E.3-1; CSK (SRTCP only, where RFC 4771 RCC never applies) takes E.3-1 too.
 */
export function defaultPolicyFor(purpose: number): readonly PolicyParam[] {
  return purpose === KeyPurpose.GMK || purpose === KeyPurpose.MKFC || purpose === KeyPurpose.MuSiK ? GROUP_CALL_DEFAULT_POLICY : PRIVATE_CALL_DEFAULT_POLICY;
}

// ---- SRTP master keys ---------------------------------------------------------------------

/** RFC 3830 §4.1.3 with PRF-HMAC-SHA-256 (TS 33.180 §7.4): master key and salt of one crypto session. */
export function mcxSrtpMasterKey(tgk: Uint8Array, csId: number, csbId: number, rand: Uint8Array, lengths: { key: number; salt: number } = { key: 16, salt: 12 }, prf: MikeyPrf = 'PRF-HMAC-SHA-256'): { masterKey: Uint8Array; masterSalt: Uint8Array } {
  return { masterKey: deriveTek(tgk, csId, csbId, rand, prf, lengths.key), masterSalt: deriveSrtpSalt(tgk, csId, csbId, rand, prf, lengths.salt) };
}

/** The MKI of a key (TS 33.180 §7.4): GMK-ID || GUK-ID for group media, else the key's ID. */
export function mcxMki(keyId: number, gukIdOfSender?: number): Uint8Array {
  if (gukIdOfSender === undefined) return u32Bytes(keyId);
  const m = new Uint8Array(8);
  m.set(u32Bytes(keyId), 0);
  m.set(u32Bytes(gukIdOfSender), 4);
  return m;
}

// ---- the bundle of a message -------------------------------------------------------------

export interface McxBundleOptions {
  /** SP parameters that apply when no SP payload names a session's policy. */
  defaultParams: readonly PolicyParam[];
  /** Empty map (#CS = 0): the crypto sessions implied by the key's purpose, with their MKI. */
  implied: ReadonlyArray<{ csId: number; mki?: Uint8Array }>;
}

function policyOf(sp: SpPayload | undefined, defaults: readonly PolicyParam[], policyNo: number) {
  const params = sp ? policyParams(sp) : [...defaults];
  return { policy: srtpPolicyFromSp(sp ?? { type: PayloadType.Sp, policyNo, protType: ProtType.Srtp, params }), params };
}

/**
 * The crypto session bundle of a MIKEY-SAKKE message: SRTP-ID maps as RFC 3830; GENERIC-ID
 * entries (RFC 6043 §6.1.1) with their CS ID, the first of their policies, session data and
 * SPI (the MKI); the Empty map with the sessions the profile implies. Keys per session by
 * RFC 3830 §4.1.3 from the TGK, with the header's PRF.
 */
export function deriveMcxBundle(header: CommonHeader, rand: Uint8Array, sps: readonly SpPayload[], tgk: Uint8Array, opts: McxBundleOptions): CryptoSessionBundle {
  const map = header.csIdMap;
  if (map.type === CsIdMapType.SrtpId) return deriveBundle(header, rand, sps, { kind: 'tgk', tgk });
  const prf = prfOf(header.prfFunc);
  const policies = new Map<number, SpPayload>();
  for (const sp of sps) {
    if (policies.has(sp.policyNo)) throw new MikeyProtocolError(ErrorNo.InvalidSp, `two SP payloads with policy number ${sp.policyNo}`);
    policies.set(sp.policyNo, sp);
  }
  const session = (csId: number, policyNo: number, ssrc: number, roc: number, mki: Uint8Array | undefined): CryptoSession => {
    const { policy, params } = policyOf(policies.get(policyNo), opts.defaultParams, policyNo);
    const k = mcxSrtpMasterKey(tgk, csId, header.csbId, rand, { key: policy.encrKeyLength, salt: policy.saltKeyLength }, prf);
    const key: SrtpMasterKey = mki && mki.length ? { ...k, mki } : k;
    return { csId, ssrc, roc, policyNo, policy, profile: policy.profile, params, keys: [key] };
  };
  let sessions: CryptoSession[];
  if (map.type === CsIdMapType.GenericId) {
    sessions = map.entries.map((e) => {
      if (e.protType !== ProtType.Srtp) throw new MikeyProtocolError(ErrorNo.InvalidSp, `crypto session ${e.csId}: security protocol ${e.protType} is not SRTP`);
      return session(e.csId, e.policies[0] ?? -1, e.srtp?.ssrc ?? 0, e.srtp?.roc ?? 0, e.spi);
    });
  } else {
    // RFC 4563 §5: the policy comes from outside MIKEY, here the profile (or a deployed sender's SP)
    const only = sps.length === 1 ? sps[0]!.policyNo : -1;
    sessions = opts.implied.map((s) => session(s.csId, only, 0, 0, s.mki));
  }
  return { csbId: header.csbId, prf, rand, sessions };
}

/**
 * A group's GMK as a member holds it (TS 33.180 §7.4.2): media keys are per sending member,
 * with that member's GUK-ID as CSB ID and GMK-ID || GUK-ID as MKI.
 */
export class McxGroupKey {
  constructor(
    readonly gmk: Uint8Array,
    readonly gmkId: number,
    readonly rand: Uint8Array,
    readonly csId: number = McxCsId.McpttGroup,
    readonly params: readonly PolicyParam[] = GROUP_CALL_DEFAULT_POLICY,
  ) {}

  gukIdOf(userUri: string): number {
    return gukId(this.gmkId, this.gmk, userUri);
  }

  /** The SRTP master key of media sent by the member with `senderGukId`. */
  senderKey(senderGukId: number): SrtpMasterKey {
    const policy = srtpPolicyFromSp({ type: PayloadType.Sp, policyNo: 0, protType: ProtType.Srtp, params: [...this.params] });
    const k = mcxSrtpMasterKey(this.gmk, this.csId, senderGukId, this.rand, { key: policy.encrKeyLength, salt: policy.saltKeyLength });
    return { ...k, mki: mcxMki(this.gmkId, senderGukId) };
  }

  /** The sender's key from the MKI of a packet (GMK-ID || GUK-ID), or undefined for another GMK. */
  senderKeyForMki(mki: Uint8Array): SrtpMasterKey | undefined {
    if (mki.length !== 8 || u32Of(mki) !== this.gmkId) return undefined;
    return this.senderKey(u32Of(mki, 4));
  }
}
