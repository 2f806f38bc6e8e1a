// Opening a KEMAC for inspection (`mikey decode --psk/--key`): the MAC is checked and the key
// data decrypted with the message's own parameters; no timestamp, replay or signature checks.
import { kemacDecrypt, macVerify } from '../../crypto/kemac.js';
import { deriveMessageKeys } from '../../crypto/prf.js';
import { rsaEnvelopeDecrypt } from '../../crypto/rsa.js';
import type { KeyObject } from 'node:crypto';
import { decodeKeyDataChain, type DecodedMessage } from '../../wire/decode.js';
import { DataType, PayloadType } from '../../wire/registry.js';
import type { KeyDataPayload, Payload } from '../../wire/types.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { encrAlgOf, macAlgOf, payloadOf, payloadsOf, t64 } from './common.js';

export interface OpenedKemac {
  /** Whether the MAC verified (always true for the NULL MAC). */
  macValid: boolean;
  /** The decrypted sub-payloads (ID first in the public-key method), when decryption worked. */
  plaintext?: Payload[];
  keys: KeyDataPayload[];
  bundle?: CryptoSessionBundle;
  /** What went wrong, when something did. */
  problem?: string;
}

/** Open the KEMAC of a PSK message (with the pre-shared key) or of a public-key message (with the responder's private key). */
export function openKemac(msg: DecodedMessage, secret: { psk: Uint8Array } | { privateKey: KeyObject | string }, rand?: Uint8Array): OpenedKemac {
  const kemac = payloadOf(msg, PayloadType.Kemac);
  if (!kemac) return { macValid: false, keys: [], problem: 'no KEMAC payload' };
  const useRand = rand ?? payloadOf(msg, PayloadType.Rand)?.rand;
  const t = payloadOf(msg, PayloadType.T);
  if (!useRand || !t) return { macValid: false, keys: [], problem: 'no RAND (an update message: give the RAND of the first message) or no T' };
  try {
    const pk = msg.header.dataType === DataType.PublicKey || msg.header.dataType === DataType.RsaRResp;
    let key: Uint8Array;
    if ('psk' in secret) key = secret.psk;
    else {
      const pke = payloadOf(msg, PayloadType.Pke);
      if (!pke) return { macValid: false, keys: [], problem: 'no PKE payload for the private key to open' };
      key = rsaEnvelopeDecrypt(secret.privateKey, pke.data);
    }
    const encrAlg = encrAlgOf(kemac.encrAlg);
    const macAlg = macAlgOf(kemac.macAlg);
    const prf = prfOf(msg.header.prfFunc);
    const mk = deriveMessageKeys(key, msg.header.csbId, useRand, prf, { encrAlg, macAlg });
    let covered: Uint8Array;
    if (pk) {
      covered = Uint8Array.from(msg.bytes.subarray(kemac.span!.start, kemac.span!.end - kemac.mac.length));
      covered[0] = 0;
    } else covered = msg.bytes.subarray(0, kemac.span!.end - kemac.mac.length);
    const macValid = macVerify(macAlg, mk.authKey, covered, kemac.mac);
    if (!macValid) return { macValid, keys: [], problem: 'MAC does not verify: wrong key' };
    const plain = kemacDecrypt(encrAlg, mk, kemac.encrData, { csbId: msg.header.csbId, t: t64(t) });
    const plaintext = plain.length ? decodeKeyDataChain(plain, pk ? PayloadType.Id : PayloadType.KeyData) : [];
    const keys = plaintext.filter((p): p is KeyDataPayload => p.type === PayloadType.KeyData);
    const out: OpenedKemac = { macValid, plaintext, keys };
    try {
      out.bundle = deriveBundle(msg.header, useRand, payloadsOf(msg, PayloadType.Sp), { kind: 'keyData', keys });
    } catch (e) {
      out.problem = `no SRTP keys: ${(e as Error).message}`;
    }
    return out;
  } catch (e) {
    return { macValid: false, keys: [], problem: (e as Error).message };
  }
}
