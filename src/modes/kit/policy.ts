// The local minimum SRTP policy every responder enforces before it derives or keeps keys
// (RFC 3830 §5.3: the responder checks the offered policy; RFC 3711 §9.5: an authentication tag
// shorter than 80 bits, or none, is a choice to be made on purpose). An offer weaker than the
// minimum is refused with Invalid SPpar, whatever authenticated it.
import { CsIdMapType, ErrorNo, PayloadType, ProtType, SrtpAuthAlg, SrtpEncrAlg } from '../../wire/registry.js';
import type { CsIdMap, SpPayload } from '../../wire/types.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { srtpPolicyFromSp, type SrtpPolicy } from '../../session/policy.js';
import type { CryptoSessionBundle } from '../../session/bundle.js';

export interface MinimumPolicy {
  /** SRTP and SRTCP encryption required (default true): a NULL cipher or an encryption flag off is refused. */
  encryption: boolean;
  /** SRTP message authentication required (default true): NULL auth, the flag off or RCCm3 are refused. */
  authentication: boolean;
  /** Shortest SRTP authentication tag accepted, in bytes (default 10, 80 bits: the _32 profiles are refused). */
  minTagLength: number;
  /** Shortest session encryption key, in bytes (default 16). */
  minKeyLength: number;
}

/** The default: encrypted and authenticated with tags of at least 80 bits and 128-bit keys. */
export const DEFAULT_MINIMUM_POLICY: Readonly<MinimumPolicy> = Object.freeze({ encryption: true, authentication: true, minTagLength: 10, minKeyLength: 16 });

/** No minimum at all: every policy the session layer can run (tests, or a transport that is itself secure). */
export const NO_MINIMUM_POLICY: Readonly<MinimumPolicy> = Object.freeze({ encryption: false, authentication: false, minTagLength: 0, minKeyLength: 0 });

export function resolveMinimumPolicy(p: Partial<MinimumPolicy> | undefined): MinimumPolicy {
  return { ...DEFAULT_MINIMUM_POLICY, ...p };
}

/** Why `policy` falls short of `min`, or undefined when it does not. */
export function policyShortfall(policy: SrtpPolicy, min: MinimumPolicy): string | undefined {
  const aead = policy.encrAlg === SrtpEncrAlg.AesGcm;
  if (min.encryption && (policy.encrAlg === SrtpEncrAlg.Null || !policy.srtpEncryption || !policy.srtcpEncryption)) return 'no encryption';
  const authenticated = aead || (policy.srtpAuthentication && policy.authAlg !== SrtpAuthAlg.Null && policy.authAlg !== SrtpAuthAlg.RccM3);
  if (min.authentication && !authenticated) return 'no authentication';
  if (authenticated && policy.authTagLength < min.minTagLength) return `an authentication tag of ${policy.authTagLength * 8} bits (at least ${min.minTagLength * 8} required)`;
  if (policy.encrAlg !== SrtpEncrAlg.Null && policy.encrKeyLength < min.minKeyLength) return `a ${policy.encrKeyLength * 8}-bit key (at least ${min.minKeyLength * 8} required)`;
  return undefined;
}

function refuse(what: string, shortfall: string): never {
  throw new MikeyProtocolError(ErrorNo.InvalidSpPar, `${what}: ${shortfall} is below the local minimum policy`);
}

/** Every crypto session of the bundle meets the minimum. Throws Invalid SPpar. */
export function checkBundlePolicy(bundle: CryptoSessionBundle, min: MinimumPolicy): void {
  for (const s of bundle.sessions) {
    const why = policyShortfall(s.policy, min);
    if (why) refuse(`crypto session ${s.csId} (policy ${s.policyNo}${s.profile ? `, ${s.profile}` : ''})`, why);
  }
}

/**
 * Before any key exists: every SP payload offered, and the RFC 3711 defaults of a crypto
 * session whose policy no SP payload gives, meet the minimum. Throws Invalid SPpar.
 */
export function checkOfferedPolicies(map: CsIdMap, sps: readonly SpPayload[], min: MinimumPolicy): void {
  const given = new Set<number>();
  for (const sp of sps) {
    given.add(sp.policyNo);
    const policy = srtpPolicyFromSp(sp);
    const why = policyShortfall(policy, min);
    if (why) refuse(`policy ${sp.policyNo}${policy.profile ? ` (${policy.profile})` : ''}`, why);
  }
  if (map.type !== CsIdMapType.SrtpId) return;
  for (const e of map.entries) {
    if (given.has(e.policyNo)) continue;
    const why = policyShortfall(srtpPolicyFromSp({ type: PayloadType.Sp, policyNo: e.policyNo, protType: ProtType.Srtp, params: [] }), min);
    if (why) refuse(`policy ${e.policyNo} (defaults)`, why);
  }
}
