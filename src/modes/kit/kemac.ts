// The KEMAC (RFC 3830 §6.2): key data sealed under the message keys, and opened again.
//   KEMAC = E(encr_key, chain) || MAC; the chain starts with IDi (public-key, §3.2), IDr (RSA-R
//   response, RFC 4738 §3.6) or key data (elsewhere). Who covers it with what MAC is the
//   method's business; sealing leaves the MAC zeroed for the method to fill.
import { kemacDecrypt, kemacEncrypt, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import type { MessageKeys } from '../../crypto/prf.js';
import { tryDecodeKeyDataChain } from '../../wire/decode.js';
import { MikeyDecodeError } from '../../wire/errors.js';
import { encodePayloads } from '../../wire/encode.js';
import { ErrorNo, PayloadType } from '../../wire/registry.js';
import type { KemacPayload, KeyDataPayload, Payload, TPayload } from '../../wire/types.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { idOf, type Identity } from '../../session/identity.js';
import { encrAlgCode, macAlgCode, macLength, t64 } from './common.js';

/** KEMAC = E(encr_key, chain) with a zeroed MAC of `macAlg`'s length (§4.2.3 IV from CSB ID and T). */
export function sealKemac(encrAlg: KemacEncrAlg, macAlg: MacAlg, mk: MessageKeys, chain: readonly Payload[] | Uint8Array, csbId: number, t: TPayload): KemacPayload {
  const plain = chain instanceof Uint8Array ? chain : encodePayloads(chain);
  // AES key wrap takes whole 8-byte blocks (RFC 3394 §2.2.1) and KEMAC data has no padding: refuse rather than invent one
  if (encrAlg === 'AES-KW-128' && plain.length % 8 !== 0) throw new RangeError(`AES-KW-128: KEMAC data of ${plain.length} bytes is not a multiple of 8; choose a key length that makes it one`);
  return {
    type: PayloadType.Kemac, encrAlg: encrAlgCode(encrAlg), macAlg: macAlgCode(macAlg), mac: new Uint8Array(macLength(macAlg)),
    encrData: kemacEncrypt(encrAlg, mk, plain, { csbId, t: t64(t) }),
  };
}

/**
 * The decrypted chain of sub-payloads, the first of type `first`. Called only after the MAC or
 * signature covering the KEMAC verified. Both failures (the data does not decrypt, or it does
 * and does not decode) answer Auth failure: RFC 3830 §5.3 puts the check of what the keys
 * protect under authentication, and a wrong key yields exactly such data (the public-key
 * method's implicit rejection, §3.2 with AES-KW and the NULL MAC); a distinct code per
 * decoding error would tell a sender about plaintext it could not read.
 */
export function openKemac(kemac: KemacPayload, encrAlg: KemacEncrAlg, mk: MessageKeys, csbId: number, t: TPayload, first: number = PayloadType.KeyData, what = 'KEMAC'): Payload[] {
  if (kemac.encrData.length === 0) return [];
  let plain: Uint8Array;
  try {
    plain = kemacDecrypt(encrAlg, mk, kemac.encrData, { csbId, t: t64(t) });
  } catch (e) {
    throw new MikeyProtocolError(ErrorNo.AuthFailure, `${what} data does not decrypt`, { cause: e });
  }
  const subs = tryDecodeKeyDataChain(plain, first);
  if (subs instanceof MikeyDecodeError) throw new MikeyProtocolError(ErrorNo.AuthFailure, `${what} data: ${subs.reason}`, { cause: subs });
  return subs;
}

/** The key data sub-payloads of a chain (views into the decrypted buffer, which is the chain's own). */
export function keyDataOf(chain: readonly Payload[]): KeyDataPayload[] {
  return chain.filter((p): p is KeyDataPayload => p.type === PayloadType.KeyData);
}

/** A chain that starts with the sender's identity (`who`: IDi §3.2, IDr RFC 4738 §3.6), then key data. */
export function openKemacWithId(kemac: KemacPayload, encrAlg: KemacEncrAlg, mk: MessageKeys, csbId: number, t: TPayload, who: 'IDi' | 'IDr'): { id: Identity; keys: KeyDataPayload[] } {
  const chain = openKemac(kemac, encrAlg, mk, csbId, t, PayloadType.Id);
  const id = chain[0];
  if (!id || id.type !== PayloadType.Id) throw new MikeyProtocolError(ErrorNo.InvalidId, `KEMAC data does not start with ${who}`);
  return { id: idOf(id)!, keys: keyDataOf(chain.slice(1)) };
}

/** KEMAC MAC input of the public-key messages: the KEMAC payload alone, Next payload zeroed, MAC excluded (§5.2). */
export function kemacOnly(bytes: Uint8Array, kemac: { span?: { start: number; end: number }; mac: Uint8Array }): Uint8Array {
  const part = Uint8Array.from(bytes.subarray(kemac.span!.start, kemac.span!.end - kemac.mac.length));
  part[0] = 0;
  return part;
}
