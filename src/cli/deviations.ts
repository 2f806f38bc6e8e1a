// What `mikey decode` accepts from deployed senders: every deviation decoded and named, or
// refused with --strict. The MCX inspector (decode-mcx.ts) is loaded only when it is needed.
import { decodeMessage, type DecodedMessage } from '../wire/decode.js';
import { MikeyDecodeError } from '../wire/errors.js';
import { DataType } from '../wire/registry.js';
import type { Field } from './describe.js';
import { InputError } from './input.js';

export const DECODE_MCX_HELP = `
Deviations of deployed senders (an SP payload beside the Empty map, an unregistered PRF in a
SAKKE message, General Extensions before SAKKE) are decoded and marked "Deviation"; --strict
refuses them instead (exit 1).

MIKEY-SAKKE (TS 33.180) with the recipient's key material:
  --keys FILE             KMS documents (KmsResponse XML with KmsInit: the KMS certificate, or
                          KmsKeyProv: key sets) or a JSON file {kms, peerKms?, users: {NAME:
                          {uri, rsk, ssk, pvt, uid?, keyPeriodNo?}}, keyPeriodNo?}; repeatable
  --user URI              the recipient's MC service ID (default: the only user in the keys)
  --initiator URI         the sender's MC service ID, as the signalling names it
  --now TIME              judge T against this time (ISO 8601; default: T itself)
  Prints every step of the receiver with its verdict (ok, deviation, fail, skipped) and the
  opened keys; exit 0 when the key opens (with --strict: and no deviation), else 1.`;

/** A decoded message and the deviations it needed. */
export interface TolerantDecode {
  msg: DecodedMessage;
  deviations: string[];
}

/** Decode, accepting what deployed senders do unless `strict`; every deviation named. */
export async function decodeTolerant(bytes: Uint8Array, o: { strict?: boolean; allowTrailingBytes?: boolean }): Promise<TolerantDecode> {
  const deviations: string[] = [];
  let msg: DecodedMessage;
  try {
    msg = decodeMessage(bytes, { allowTrailingBytes: o.allowTrailingBytes === true });
  } catch (e) {
    if (o.strict || !(e instanceof MikeyDecodeError)) throw e;
    try {
      msg = decodeMessage(bytes, { allowTrailingBytes: o.allowTrailingBytes === true, allowSpWithEmptyMap: true });
    } catch {
      throw e;
    }
  }
  if (msg.spWithEmptyMap) deviations.push('sp-with-empty-map');
  // SAKKE: the MCX profile's checks, loaded only for such a message (start-up: see main.ts)
  if (msg.header.dataType === DataType.Sakke) (await import('./decode-mcx.js')).sakkeDeviations(msg, deviations);
  if (o.strict && deviations.length) throw new InputError(`deviation from the RFCs: ${deviations.join(', ')} (decoded without --strict)`);
  return { msg, deviations };
}

export function deviationFields(deviations: readonly string[]): Field[] {
  return deviations.map((d) => ({ name: 'Deviation', meaning: d }));
}
