// Public-key (envelope) method (RFC 3830 §3.2) and its updates (§4.5).
//   I_MESSAGE = HDR, T, RAND, [IDi|CERTi], [IDr], {SP}, KEMAC, [CHASH], PKE, SIGNi
//   KEMAC = E(encr_key, IDi || {TGK}) || MAC, the MAC over the KEMAC payload alone (Next payload
//   set to zero); PKE = E(PKr, env_key); SIGNi over the whole message but the signature.
//   R_MESSAGE = HDR, T, [IDr], V   (as for PSK, auth_key from env_key)
import { PkeCache } from '../../wire/registry.js';

/** PKE C field (RFC 3830 §6.3): whether the envelope key is cached as a pre-shared key. */
export type EnvelopeCache = 'none' | 'cache' | 'csb';
export const CACHE_CODE: Record<EnvelopeCache, number> = { none: PkeCache.NoCache, cache: PkeCache.Cache, csb: PkeCache.CacheForCsb };
