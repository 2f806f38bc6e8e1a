// SRTP security policy (RFC 3830 §6.10.1 and its updates: RFC 4771 RCC, RFC 6188 AES-192/256,
// RFC 7714 AES-GCM): from SP parameters to a typed policy and a named profile, and back.
// Anything not understood is refused with Invalid SPpar, never guessed.
import { ErrorNo, ProtType, SrtpAuthAlg, SrtpEncrAlg, SrtpParam, SrtpPrf } from '../wire/registry.js';
import { policyParams } from '../wire/sp.js';
import type { PolicyParam, SpPayload } from '../wire/types.js';
import { MikeyProtocolError } from './errors.js';
import { SRTP_PROFILES, type SrtpProfile, type SrtpProfileName } from '../crypto/srtp-kdf.js';

export type { SrtpProfileName };

/** The SRTP policy in force for a crypto session, with the RFC 3711 defaults filled in. */
export interface SrtpPolicy {
  encrAlg: number;
  /** Session encryption key length = master key length, bytes. */
  encrKeyLength: number;
  authAlg: number;
  authKeyLength: number;
  /** Session salt = master salt length, bytes. */
  saltKeyLength: number;
  prf: number;
  /** Key derivation rate (RFC 3711 §4.3.1): 0 or a power of two up to 2^24. */
  keyDerivationRate: number;
  srtpEncryption: boolean;
  srtcpEncryption: boolean;
  srtpAuthentication: boolean;
  /** SRTP authentication tag length, bytes (AEAD: the AEAD tag). */
  authTagLength: number;
  /** RFC 4771 ROC carrying, when one of RCCm1..3 is the SRTP authentication algorithm. */
  rcc?: { mode: number; rate: number; srtpTagLength: number; srtcpTagLength: number };
  /** The profile this policy is, when it is one of the named ones. */
  profile: SrtpProfileName | undefined;
}

/** A profile as MIKEY policy parameters describe it (RFC 3830 §6.10.1, RFC 7714 §15). */
interface ProfileSpec { encr: number; key: number; auth: number; authKey: number; salt: number; tag: number }
function specOf(p: SrtpProfile): ProfileSpec {
  const encr = p.cipher === 'AES-GCM' ? SrtpEncrAlg.AesGcm : p.cipher === 'AES-CM' ? SrtpEncrAlg.AesCm : SrtpEncrAlg.Null;
  return { encr, key: p.masterKeyLen, auth: p.authKeyLen ? SrtpAuthAlg.HmacSha1 : SrtpAuthAlg.Null, authKey: p.authKeyLen, salt: p.masterSaltLen, tag: p.rtpTagLen };
}

const bad = (reason: string): never => {
  throw new MikeyProtocolError(ErrorNo.InvalidSpPar, reason);
};

function uint(p: PolicyParam, maxLen: number): number {
  if (p.value.length === 0 || p.value.length > maxLen) bad(`parameter ${p.type} has ${p.value.length} byte(s) (1 to ${maxLen} allowed)`);
  let v = 0;
  for (const b of p.value) v = v * 256 + b;
  return v;
}
function flag(p: PolicyParam): boolean {
  const v = uint(p, 1);
  if (v > 1) bad(`parameter ${p.type} must be 0 (off) or 1 (on), is ${v}`);
  return v === 1;
}

/** The SRTP policy of an SP payload (RFC 3830 §6.10.1). Throws Invalid SP / Invalid SPpar. */
export function srtpPolicyFromSp(sp: SpPayload): SrtpPolicy {
  if (sp.protType !== ProtType.Srtp) throw new MikeyProtocolError(ErrorNo.InvalidSp, `security protocol ${sp.protType} is not SRTP`);
  const given = new Map<number, PolicyParam>();
  for (const p of policyParams(sp)) {
    if (given.has(p.type)) bad(`parameter ${p.type} given twice`);
    given.set(p.type, p);
  }
  const get = (t: number) => given.get(t);
  const encrAlg = get(SrtpParam.EncrAlg) ? uint(get(SrtpParam.EncrAlg)!, 1) : SrtpEncrAlg.AesCm;
  const aead = encrAlg === SrtpEncrAlg.AesGcm;
  if (encrAlg !== SrtpEncrAlg.Null && encrAlg !== SrtpEncrAlg.AesCm && !aead) bad(`SRTP encryption algorithm ${encrAlg} is not supported`);
  const authAlg = get(SrtpParam.AuthAlg) ? uint(get(SrtpParam.AuthAlg)!, 1) : aead ? SrtpAuthAlg.Null : SrtpAuthAlg.HmacSha1;
  const policy: SrtpPolicy = {
    encrAlg,
    encrKeyLength: get(SrtpParam.EncrKeyLength) ? uint(get(SrtpParam.EncrKeyLength)!, 1) : 16,
    authAlg,
    authKeyLength: get(SrtpParam.AuthKeyLength) ? uint(get(SrtpParam.AuthKeyLength)!, 1) : aead ? 0 : 20,
    saltKeyLength: get(SrtpParam.SaltKeyLength) ? uint(get(SrtpParam.SaltKeyLength)!, 1) : aead ? 12 : 14,
    prf: get(SrtpParam.Prf) ? uint(get(SrtpParam.Prf)!, 1) : SrtpPrf.AesCm,
    keyDerivationRate: get(SrtpParam.KeyDerivationRate) ? uint(get(SrtpParam.KeyDerivationRate)!, 4) : 0,
    srtpEncryption: get(SrtpParam.SrtpEncryption) ? flag(get(SrtpParam.SrtpEncryption)!) : true,
    srtcpEncryption: get(SrtpParam.SrtcpEncryption) ? flag(get(SrtpParam.SrtcpEncryption)!) : true,
    srtpAuthentication: get(SrtpParam.SrtpAuthentication) ? flag(get(SrtpParam.SrtpAuthentication)!) : true,
    authTagLength: aead
      ? get(SrtpParam.AeadAuthTagLength) ? uint(get(SrtpParam.AeadAuthTagLength)!, 1) : 16
      : get(SrtpParam.AuthTagLength) ? uint(get(SrtpParam.AuthTagLength)!, 1) : 10,
    profile: undefined,
  };
  for (const t of given.keys()) if (!SrtpParam_KNOWN.has(t)) bad(`unknown SRTP policy parameter ${t}`);
  if (policy.prf !== SrtpPrf.AesCm) bad(`SRTP PRF ${policy.prf} is not supported`);
  const kdr = policy.keyDerivationRate;
  if (kdr !== 0 && (kdr & (kdr - 1)) !== 0 || kdr > 2 ** 24) bad(`key derivation rate ${kdr} is not 0 or a power of two up to 2^24`);
  const prefix = get(SrtpParam.PrefixLength);
  if (prefix && uint(prefix, 2) !== 0) bad('an SRTP prefix is not supported');
  if (get(SrtpParam.FecOrder) && uint(get(SrtpParam.FecOrder)!, 1) !== 0) bad('unknown FEC order');
  if (![16, 24, 32].includes(policy.encrKeyLength)) bad(`session encryption key length ${policy.encrKeyLength} is not 16, 24 or 32`);
  if (aead) {
    // RFC 7714 §15: AES-GCM with 16 or 32-byte keys, a 16-byte AEAD tag, a 12-byte salt, PRF AES-CM
    if (policy.encrKeyLength === 24) bad('AES-GCM with a 24-byte key has no SRTP profile');
    if (policy.authTagLength !== 16) bad(`AEAD tag length ${policy.authTagLength} (16 required)`);
    if (policy.saltKeyLength !== 12) bad(`AES-GCM salt length ${policy.saltKeyLength} (12 required)`);
    if (get(SrtpParam.AuthTagLength) && uint(get(SrtpParam.AuthTagLength)!, 1) !== 0) bad('an SRTP authentication tag with AES-GCM');
  } else if (policy.saltKeyLength !== 14) bad(`salt length ${policy.saltKeyLength} (14 required for AES-CM)`);
  // RFC 4771: ROC carrying modes
  if (policy.authAlg >= SrtpAuthAlg.RccM1 && policy.authAlg <= SrtpAuthAlg.RccM3) {
    const rate = get(SrtpParam.RocTransmissionRate) ? uint(get(SrtpParam.RocTransmissionRate)!, 2) : 1;
    if (rate === 0) bad('ROC transmission rate 0');
    policy.rcc = {
      mode: policy.authAlg,
      rate,
      srtpTagLength: get(SrtpParam.SrtpAuthTagLength) ? uint(get(SrtpParam.SrtpAuthTagLength)!, 1) : policy.authTagLength + 4,
      srtcpTagLength: get(SrtpParam.SrtcpAuthTagLength) ? uint(get(SrtpParam.SrtcpAuthTagLength)!, 1) : policy.authTagLength,
    };
    if (policy.rcc.srtpTagLength < 4) bad('RCC needs an SRTP tag of at least the 4-byte ROC');
  } else if (policy.authAlg !== SrtpAuthAlg.Null && policy.authAlg !== SrtpAuthAlg.HmacSha1) {
    bad(`SRTP authentication algorithm ${policy.authAlg} is not supported`);
  }
  if (aead && policy.authAlg === SrtpAuthAlg.HmacSha1) bad('HMAC-SHA-1 with AES-GCM');
  if (!aead && policy.authAlg === SrtpAuthAlg.HmacSha1 && policy.authKeyLength !== 20) bad(`HMAC-SHA-1 key length ${policy.authKeyLength} (20 required)`);
  policy.profile = profileOf(policy);
  return policy;
}

const SrtpParam_KNOWN = new Set<number>(Object.values(SrtpParam));

function profileOf(p: SrtpPolicy): SrtpProfileName | undefined {
  if (p.rcc || !p.srtpAuthentication) return undefined;
  // a profile names one cipher for both SRTP and SRTCP
  const rtp = p.srtpEncryption ? p.encrAlg : SrtpEncrAlg.Null;
  const rtcp = p.srtcpEncryption ? p.encrAlg : SrtpEncrAlg.Null;
  if (rtp !== rtcp) return undefined;
  for (const [name, profile] of Object.entries(SRTP_PROFILES) as Array<[SrtpProfileName, SrtpProfile]>) {
    const s = specOf(profile);
    if (s.encr === rtp && s.key === p.encrKeyLength && s.auth === p.authAlg && s.tag === p.authTagLength && s.salt === p.saltKeyLength) return name;
  }
  return undefined;
}

/** SP parameters that state a named profile fully (RFC 3830 §6.10.1, RFC 7714 §15). */
export function policyParamsForProfile(name: SrtpProfileName, opts: { keyDerivationRate?: number } = {}): PolicyParam[] {
  const profile = (SRTP_PROFILES as Record<string, SrtpProfile | undefined>)[name];
  if (!profile) throw new TypeError(`unknown SRTP profile ${name}`);
  const s = specOf(profile);
  const one = (type: number, v: number): PolicyParam => ({ type, value: Uint8Array.of(v) });
  const out = [one(SrtpParam.EncrAlg, s.encr), one(SrtpParam.EncrKeyLength, s.key), one(SrtpParam.AuthAlg, s.auth)];
  if (s.auth) out.push(one(SrtpParam.AuthKeyLength, s.authKey));
  out.push(one(SrtpParam.SaltKeyLength, s.salt), one(SrtpParam.Prf, SrtpPrf.AesCm));
  if (opts.keyDerivationRate) {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, opts.keyDerivationRate);
    out.push({ type: SrtpParam.KeyDerivationRate, value: v });
  } else out.push(one(SrtpParam.KeyDerivationRate, 0));
  out.push(one(SrtpParam.SrtpEncryption, 1), one(SrtpParam.SrtcpEncryption, 1), one(SrtpParam.SrtpAuthentication, 1));
  out.push(s.encr === SrtpEncrAlg.AesGcm ? one(SrtpParam.AeadAuthTagLength, s.tag) : one(SrtpParam.AuthTagLength, s.tag));
  return out;
}
