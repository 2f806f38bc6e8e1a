// HMAC-authenticated Diffie-Hellman (RFC 4650 §3) and its updates (§3.1).
//   I_MESSAGE = HDR, T, RAND, [IDi], IDr, {SP}, [GenExt(SDP IDs)], DHi, KEMAC
//   R_MESSAGE = HDR, T, [IDr], IDi, DHr, DHi, KEMAC                        (always sent)
// KEMAC carries only the MAC (§4.2): NULL encryption, no Encr data, last payload, MAC over the
// whole message but the MAC field. Code points as RFC 3830 Tables 6.2.a/b and IANA: Encr alg
// 0 = NULL, MAC alg 1 = HMAC-SHA-1-160 (RFC 4650 Table 4.2.a and §4.2 "2 (NULL)" contradict them).
// auth_key = PRF(s, 0x2D22AC75 || 0xFF || CSB ID || RAND) (RFC 3830 §4.1.4; RFC 4650 §1.1 cites
// "4.1.5", which does not exist), RAND and CSB ID of the initial I_MESSAGE (RFC 3830 §4.1.1),
// one key for both directions. TGK = g^(xi*xr) as a big-endian number of the prime's length;
// TEKs per RFC 3830 §4.1.3 with the same CSB ID and RAND.
import { macCompute, macVerify, type MacAlg } from '../../crypto/kemac.js';
import { deriveMessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { EncrAlg, ErrorNo, PayloadType } from '../../wire/registry.js';
import type { CommonHeader, KemacPayload, Payload } from '../../wire/types.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { encodeWithTrailingTag, macAlgCode, macAlgOf, macLength } from '../kit/common.js';

/** MAC algorithms DH-HMAC runs with: HMAC-SHA-1-160 (mandatory, RFC 4650 §4.2) or RFC 6043's HMAC-SHA-256-256. */
export type DhHmacMacAlg = 'HMAC-SHA-1-160' | 'HMAC-SHA-256-256';

/** auth_key for both DH-HMAC messages of a CSB (RFC 3830 §4.1.4 via RFC 4650 §1.1). */
export function authKeyOf(psk: Uint8Array, csbId: number, rand: Uint8Array, prf: MikeyPrf, macAlg: MacAlg): Uint8Array {
  return deriveMessageKeys(psk, csbId, rand, prf, { encrAlg: 'NULL', macAlg }).authKey;
}

/** Encode a DH-HMAC message: KEMAC last, MAC only (RFC 4650 §4.2), over all bytes before the MAC. */
export function encodeWithKemacMac(hdr: CommonHeader, payloads: Payload[], macAlg: MacAlg, authKey: Uint8Array): Uint8Array {
  const len = macLength(macAlg);
  const kemac: KemacPayload = { type: PayloadType.Kemac, encrAlg: EncrAlg.Null, encrData: new Uint8Array(0), macAlg: macAlgCode(macAlg), mac: new Uint8Array(len) };
  return encodeWithTrailingTag({ header: hdr, payloads: [...payloads, kemac] }, len, (covered) => macCompute(macAlg, authKey, covered));
}

/** The KEMAC of a received DH-HMAC message: NULL, empty, known MAC; returns the MAC algorithm. */
export function checkKemac(kemac: KemacPayload, accepted: readonly MacAlg[]): MacAlg {
  // RFC 4650 §4.2: "KEMAC SHALL not convey any encrypted data"
  if (kemac.encrAlg !== EncrAlg.Null) throw new MikeyProtocolError(ErrorNo.InvalidEa, `KEMAC encryption algorithm ${kemac.encrAlg} (DH-HMAC: NULL only)`);
  if (kemac.encrData.length !== 0) throw new MikeyProtocolError(ErrorNo.InvalidEa, 'KEMAC with encrypted data in DH-HMAC');
  const macAlg = macAlgOf(kemac.macAlg);
  if (macAlg === 'NULL' || !accepted.includes(macAlg)) throw new MikeyProtocolError(ErrorNo.InvalidMac, `${macAlg} not accepted for DH-HMAC`);
  return macAlg;
}

export function verifyKemacMac(msg: DecodedMessage, kemac: KemacPayload, macAlg: MacAlg, authKey: Uint8Array): void {
  // RFC 4650 §3: "computed over the entire message, excluding the MAC field"
  if (!macVerify(macAlg, authKey, msg.bytes.subarray(0, kemac.span!.end - kemac.mac.length), kemac.mac)) {
    throw new MikeyProtocolError(ErrorNo.AuthFailure, 'KEMAC MAC does not verify');
  }
}
