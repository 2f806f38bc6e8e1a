// The crypto session bundle of a Ticket Transfer exchange: GENERIC-ID map (RFC 6043 §6.1.1) or
// Empty map (RFC 4563 §5), SP payloads of both messages, and keys derived from a TGK, TGK' or
// GTGK with the TICKET label (RFC 6043 §5.1.3), or TEKs carried as they are.
import { carriedSalt, keyValidity, prfOf, tekMasterKey, type CryptoSession, type CryptoSessionBundle, type SrtpMasterKey } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { srtpPolicyFromSp, type SrtpPolicy } from '../../session/policy.js';
import { CsIdMapType, ErrorNo, KeyDataType, PayloadType, ProtType } from '../../wire/registry.js';
import { policyParams } from '../../wire/sp.js';
import type { CommonHeader, GenericIdEntry, KeyDataPayload, SpPayload } from '../../wire/types.js';
import { ticketSalt, ticketTek } from './labels.js';

export interface TicketBundleInput {
  /** The header whose map is in force: TRANSFER_RESP's when there is one, else TRANSFER_INIT's. */
  header: CommonHeader;
  /** SP payloads of TRANSFER_INIT then TRANSFER_RESP (a response may name the initial message's policies, §6.1.1). */
  sps: readonly SpPayload[];
  /** Session keys: TEK, TGK (already forked when I), GTGK. MPKs are left out. */
  keys: readonly KeyDataPayload[];
  /** RANDRi when the H flag is set, RANDRr when the G flag is set (§5.1.3). */
  randRi?: Uint8Array;
  randRr?: Uint8Array;
}

/** SRTP session data (RFC 6043 §6.1.1): SSRC, then ROC and SEQ when S is set. */
function srtpData(e: GenericIdEntry): { ssrc: number; roc: number; seq?: number } {
  const d = e.sessionData;
  if (d.length === 0) return { ssrc: 0, roc: 0 };
  if (d.length !== (e.s ? 10 : 4)) throw new MikeyProtocolError(ErrorNo.InvalidSpPar, `SRTP session data of ${d.length} bytes with S=${e.s ? 1 : 0}`);
  const v = new DataView(d.buffer, d.byteOffset, d.length);
  return e.s ? { ssrc: v.getUint32(0), roc: v.getUint32(4), seq: v.getUint16(8) } : { ssrc: v.getUint32(0), roc: 0 };
}

function keyFor(k: KeyDataPayload, csId: number, prf: ReturnType<typeof prfOf>, policy: SrtpPolicy, randRi?: Uint8Array, randRr?: Uint8Array): SrtpMasterKey {
  switch (k.keyType) {
    case KeyDataType.Tgk: case KeyDataType.TgkSalt: case KeyDataType.Gtgk: case KeyDataType.GtgkSalt: {
      if (k.keyData.length === 0) throw new MikeyProtocolError(ErrorNo.Unspecified, 'empty TGK');
      const masterKey = ticketTek(prf, k.keyData, csId, randRi, randRr, policy.encrKeyLength);
      // §5.1.3: a carried salt is used as it is, none is derived then
      const masterSalt = k.salt ? carriedSalt(k.salt, policy) : ticketSalt(prf, k.keyData, csId, randRi, randRr, policy.saltKeyLength);
      return { masterKey, masterSalt, ...keyValidity(k.validity) };
    }
    case KeyDataType.Tek: case KeyDataType.TekSalt:
      return tekMasterKey(k, policy);
    default:
      throw new MikeyProtocolError(ErrorNo.Unspecified, `key data type ${k.keyType} is not a session key`);
  }
}

/**
 * Derive the bundle. A GENERIC-ID entry names its policy (exactly one in a response; the first
 * of those suggested when no response follows), its SSRC/ROC in the session data, and every
 * session key applies to every crypto session (its CS ID is in the label). The Empty map gives
 * CS IDs 1..#CS under the RFC 3711 default policy (the policy is agreed out of band, RFC 4563 §5).
 */
export function deriveTicketBundle(i: TicketBundleInput): CryptoSessionBundle {
  const prf = prfOf(i.header.prfFunc);
  const map = i.header.csIdMap;
  if (map.type === CsIdMapType.SrtpId) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'RFC 6043 §6.1: the SRTP-ID map SHALL NOT be used');
  if (!i.randRi && !i.randRr) throw new MikeyProtocolError(ErrorNo.Unspecified, '§5.1.3: at least one of RANDRi and RANDRr must be used');
  const policies = new Map<number, SpPayload>();
  for (const sp of i.sps) policies.set(sp.policyNo, sp); // a later SP (the response's) replaces an earlier one
  const sessionKeys = i.keys.filter((k) => k.keyType !== KeyDataType.Mpk);
  const entries: Array<{ csId: number; policyNo: number; ssrc: number; roc: number; sp?: SpPayload }> = map.type === CsIdMapType.GenericId
    ? map.entries.map((e) => {
      if (e.protType !== ProtType.Srtp) throw new MikeyProtocolError(ErrorNo.InvalidSp, `crypto session ${e.csId}: security protocol ${e.protType} is not SRTP`);
      const policyNo = e.policies[0];
      const sp = policyNo === undefined ? undefined : policies.get(policyNo);
      if (policyNo !== undefined && !sp) throw new MikeyProtocolError(ErrorNo.InvalidSp, `crypto session ${e.csId} names policy ${policyNo}, which no SP payload defines`);
      return { csId: e.csId, policyNo: policyNo ?? 0, ...srtpData(e), sp };
    })
    : Array.from({ length: map.csCount }, (_, k) => ({ csId: k + 1, policyNo: 0, ssrc: 0, roc: 0 }));
  const seen = new Set<number>();
  const sessions = entries.map((e): CryptoSession => {
    if (seen.has(e.csId)) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `CS ID ${e.csId} twice in the map`);
    seen.add(e.csId);
    const policy = srtpPolicyFromSp(e.sp ?? { type: PayloadType.Sp, policyNo: e.policyNo, protType: ProtType.Srtp, params: [] });
    const keys = sessionKeys.map((k) => keyFor(k, e.csId, prf, policy, i.randRi, i.randRr));
    return { csId: e.csId, ssrc: e.ssrc, roc: e.roc, policyNo: e.policyNo, policy, profile: policy.profile, params: e.sp ? policyParams(e.sp) : [], keys };
  });
  return { csbId: i.header.csbId, prf, rand: i.randRi ?? i.randRr!, sessions };
}
