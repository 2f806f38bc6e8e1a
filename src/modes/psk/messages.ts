// Pre-shared key method (RFC 3830 §3.1), its verification message and CSB updates (§4.5).
//   I_MESSAGE = HDR, T, RAND, [IDi], [IDr], {SP}, KEMAC      KEMAC = E(encr_key, {TGK}) || MAC
//   R_MESSAGE = HDR, T, [IDr], V                              (when the initiator sets V)
// The KEMAC MAC covers the whole I_MESSAGE but the MAC field; V covers R_MESSAGE || IDi || IDr || T.
import type { KemacEncrAlg, MacAlg } from '../../crypto/kemac.js';
import { deriveMessageKeys, type MessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import type { CommonHeader, KeyDataPayload, SpPayload } from '../../wire/types.js';
import type { CryptoSessionBundle } from '../../session/bundle.js';
import type { Identity } from '../../session/identity.js';

export interface CsbState {
  csbId: number;
  rand: Uint8Array;
  map: CommonHeader['csIdMap'];
  sps: SpPayload[];
  keys: KeyDataPayload[];
  idi?: Identity;
  idr?: Identity;
  bundle: CryptoSessionBundle;
}

export const NULL_ALGS_REFUSED = 'NULL encryption or MAC refused (RFC 3830 §4.2.3: only over a transport that is itself secure; set allowUnprotected)';

export function messageKeys(secret: Uint8Array, csbId: number, rand: Uint8Array, prf: MikeyPrf, encrAlg: KemacEncrAlg, macAlg: MacAlg): MessageKeys {
  return deriveMessageKeys(secret, csbId, rand, prf, { encrAlg, macAlg });
}
