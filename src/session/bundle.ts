// The crypto session bundle a finished exchange yields, and the SRTP keys of each crypto
// session (RFC 3830 §4.1.3, §4.4, §6.1.1, §6.13, §6.14).
import { deriveSrtpSalt, deriveTek, type MikeyPrf } from '../crypto/prf.js';
import { CsIdMapType, ErrorNo, KeyDataType, KvType, PayloadType, PrfFunc, ProtType } from '../wire/registry.js';
import { policyParams } from '../wire/sp.js';
import type { CommonHeader, KeyDataPayload, PolicyParam, SpPayload } from '../wire/types.js';
import { MikeyProtocolError } from './errors.js';
import { srtpPolicyFromSp, type SrtpPolicy, type SrtpProfileName } from './policy.js';

/** One SRTP master key of a crypto session, with how the receiver picks it. */
export interface SrtpMasterKey {
  /** TEK (RFC 3830 §4.1.3) = SRTP master key. */
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
  /** MKI, when the key data carried KV = SPI. */
  mki?: Uint8Array;
  /** Key validity interval (KV = Interval): SRTP indexes as carried. */
  validFrom?: Uint8Array;
  validTo?: Uint8Array;
}

/** What an SRTP stack needs for one crypto session. */
export interface CryptoSession {
  /** CS ID: 1-based position in the SRTP-ID map (RFC 3830 §6.1.1), or as given by GENERIC-ID. */
  csId: number;
  /** SSRC; 0 in an SRTP-ID map means "filled in by the responder". */
  ssrc: number;
  roc: number;
  policyNo: number;
  policy: SrtpPolicy;
  profile: SrtpProfileName | undefined;
  /** The SP parameters as sent (empty when no SP payload named this policy). */
  params: PolicyParam[];
  keys: SrtpMasterKey[];
}

export interface CryptoSessionBundle {
  csbId: number;
  prf: MikeyPrf;
  /** RAND of the first message; kept for update messages (which carry none). */
  rand: Uint8Array;
  sessions: CryptoSession[];
}

/** The PRF named by the header (RFC 3830 §6.1, RFC 6043 Table 6.3). Throws Invalid PRF. */
export function prfOf(prfFunc: number): MikeyPrf {
  if (prfFunc === PrfFunc.Mikey1) return 'MIKEY-1';
  if (prfFunc === PrfFunc.HmacSha256) return 'PRF-HMAC-SHA-256';
  throw new MikeyProtocolError(ErrorNo.InvalidPrf, `PRF func ${prfFunc} is not supported`);
}

/** Where the key material comes from: key data sub-payloads (PSK, PK) or a DH secret. */
export type KeySource =
  | { kind: 'keyData'; keys: KeyDataPayload[] }
  | { kind: 'tgk'; tgk: Uint8Array; mki?: Uint8Array };

/**
 * Derive the bundle: per crypto session of the header's map, its policy (from the SP payload
 * with its policy number, RFC 3711 defaults when none) and its SRTP master keys: TEK and salt
 * derived from each TGK (§4.1.3, the carried salt preferred), or a TEK carried as it is.
 */
export function deriveBundle(header: CommonHeader, rand: Uint8Array, sps: readonly SpPayload[], source: KeySource): CryptoSessionBundle {
  const prf = prfOf(header.prfFunc);
  const map = header.csIdMap;
  if (map.type !== CsIdMapType.SrtpId) {
    throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'only the SRTP-ID crypto session map is used by the RFC 3830 methods');
  }
  const policies = new Map<number, SpPayload>();
  for (const sp of sps) {
    if (policies.has(sp.policyNo)) throw new MikeyProtocolError(ErrorNo.InvalidSp, `two SP payloads with policy number ${sp.policyNo}`);
    policies.set(sp.policyNo, sp);
  }
  const sessions = map.entries.map((e, i): CryptoSession => {
    const csId = i + 1;
    const sp = policies.get(e.policyNo);
    const policy = srtpPolicyFromSp(sp ?? { type: PayloadType.Sp, policyNo: e.policyNo, protType: ProtType.Srtp, params: [] });
    const keys = source.kind === 'tgk'
      ? [fromTgk(source.tgk, undefined, csId, header.csbId, rand, prf, policy, source.mki ? { kv: KvType.Spi, spi: source.mki } : { kv: KvType.Null })]
      : source.keys.map((k) => fromKeyData(k, csId, header.csbId, rand, prf, policy));
    return { csId, ssrc: e.ssrc, roc: e.roc, policyNo: e.policyNo, policy, profile: policy.profile, params: sp ? policyParams(sp) : [], keys };
  });
  return { csbId: header.csbId, prf, rand, sessions };
}

/** What a key's KV field gives its master key (RFC 3830 §6.14): the MKI (SPI) or the validity interval. */
export function keyValidity(v: KeyDataPayload['validity']): Partial<SrtpMasterKey> {
  if (v.kv === KvType.Spi) return { mki: v.spi };
  if (v.kv === KvType.Interval) return { validFrom: v.validFrom, validTo: v.validTo };
  return {};
}

/** A salt carried in the key data is used as it is (RFC 3830 §4.1.3, RFC 6043 §5.1.3): the policy's length or Invalid SPpar. */
export function carriedSalt(salt: Uint8Array, policy: SrtpPolicy): Uint8Array {
  if (salt.length !== policy.saltKeyLength) throw new MikeyProtocolError(ErrorNo.InvalidSpPar, `salt of ${salt.length} bytes for a ${policy.saltKeyLength}-byte master salt`);
  return salt;
}

/** A TEK is the master key itself; its salt is carried, or follows the key in one field. */
export function tekMasterKey(k: KeyDataPayload, policy: SrtpPolicy): SrtpMasterKey {
  const n = policy.encrKeyLength;
  let masterKey = k.keyData;
  let masterSalt = k.salt;
  if (!masterSalt && k.keyData.length === n + policy.saltKeyLength) {
    masterKey = k.keyData.subarray(0, n);
    masterSalt = k.keyData.subarray(n);
  }
  if (masterKey.length !== n) throw new MikeyProtocolError(ErrorNo.InvalidSpPar, `TEK of ${masterKey.length} bytes for a ${n}-byte master key`);
  if (!masterSalt || masterSalt.length !== policy.saltKeyLength) {
    throw new MikeyProtocolError(ErrorNo.InvalidSpPar, `TEK without a ${policy.saltKeyLength}-byte salt`);
  }
  return { masterKey, masterSalt, ...keyValidity(k.validity) };
}

function fromTgk(tgk: Uint8Array, salt: Uint8Array | undefined, csId: number, csbId: number, rand: Uint8Array, prf: MikeyPrf, policy: SrtpPolicy, v: KeyDataPayload['validity']): SrtpMasterKey {
  const masterKey = deriveTek(tgk, csId, csbId, rand, prf, policy.encrKeyLength);
  const masterSalt = salt ? carriedSalt(salt, policy) : deriveSrtpSalt(tgk, csId, csbId, rand, prf, policy.saltKeyLength);
  return { masterKey, masterSalt, ...keyValidity(v) };
}

function fromKeyData(k: KeyDataPayload, csId: number, csbId: number, rand: Uint8Array, prf: MikeyPrf, policy: SrtpPolicy): SrtpMasterKey {
  switch (k.keyType) {
    case KeyDataType.Tgk:
    case KeyDataType.TgkSalt:
      if (k.keyData.length === 0) throw new MikeyProtocolError(ErrorNo.Unspecified, 'empty TGK');
      return fromTgk(k.keyData, k.salt, csId, csbId, rand, prf, policy, k.validity);
    case KeyDataType.Tek:
    case KeyDataType.TekSalt:
      return tekMasterKey(k, policy);
    default:
      throw new MikeyProtocolError(ErrorNo.Unspecified, `key data type ${k.keyType} does not belong in this exchange`);
  }
}

/** One SRTP crypto context, the shape SRTP stacks take (DESIGN: the hand-off). */
export interface SrtpContext {
  csId: number;
  ssrc: number;
  roc: number;
  masterKey: Uint8Array;
  masterSalt: Uint8Array;
  mki?: Uint8Array;
  /** Named profile (libsrtp spelling), undefined when the policy is not one of them. */
  profile: SrtpProfileName | undefined;
  /** Key derivation rate (0: derive once). */
  kdr: number;
  policy: SrtpPolicy;
}

/** Every (crypto session, master key) pair of a bundle as an SRTP crypto context. */
export function srtpContexts(bundle: CryptoSessionBundle): SrtpContext[] {
  return bundle.sessions.flatMap((s) => s.keys.map((k) => ({
    csId: s.csId, ssrc: s.ssrc, roc: s.roc, masterKey: k.masterKey, masterSalt: k.masterSalt, mki: k.mki,
    profile: s.profile, kdr: s.policy.keyDerivationRate, policy: s.policy,
  })));
}
