// The Ticket Policy (RFC 6043 §6.10): flags D..O and their dependencies, TP Data
// ([IDRkms], [IDRi], [TRs], [TRe], [TRr], [KEMAC], {IDRapp}, (IDRr)), validity periods.
import type { MikeyPrf } from '../../crypto/prf.js';
import { prfOf } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { ntpTimestamp, ntpToMs } from '../../session/time.js';
import { EncrAlg, ErrorNo, IdRole, KeyDataType, KvType, MacAlg, PayloadType, TicketType, TsRole, TsType } from '../../wire/registry.js';
import type {
  IdrPayload, KeyDataPayload, KemacPayload, Payload, TicketFlags, TicketPayload, TpPayload, TrPayload,
} from '../../wire/types.js';
import { TICKET_FLAG_NAMES } from '../../wire/types.js';
import { tryDecodeKeyDataChain } from '../../wire/decode.js';
import { MikeyDecodeError } from '../../wire/errors.js';
import { prfFuncOf } from '../kit/common.js';
import { type Identity } from '../../session/identity.js';

/** A key the Initiator asks for in the TP's KEMAC (RFC 6043 §6.10): type, length, salt, KV data. */
export interface KeyRequest {
  kind: 'TGK' | 'TEK' | 'GTGK';
  /** Key length in bytes (default 16). */
  length?: number;
  /** Salt length in bytes: a "+SALT" key type (RFC 6043 Table 6.7). */
  saltLength?: number;
  /** MKI to use for the key; the KMS picks one when absent (RFC 6043 §6.2.1: an SPI for each key). */
  spi?: Uint8Array;
}

/** A Ticket Policy: what a TP payload asks for, or what a TICKET payload grants. */
export interface TicketPolicy {
  /** Ticket Type (default 1, MIKEY base ticket), Subtype and Version (default 1 and 1, App. A). */
  ticketType?: number;
  subtype?: number;
  version?: number;
  /** PRF for forking and for the base ticket (default MIKEY-1). */
  prf?: MikeyPrf;
  /** Flags; missing ones default per `completeFlags`. */
  flags?: Partial<TicketFlags>;
  kms?: Identity;
  initiator?: Identity;
  /** Start and end of validity, ms since the epoch (TRs, TRe). */
  validFrom?: number;
  validTo?: number;
  /** TRr: seconds between two rekeyings at most. */
  rekeyIntervalSec?: number;
  /** TP only: the keys requested. */
  keys?: KeyRequest[];
  /** IDRapp: authorized application IDs (none: all). */
  apps?: Identity[];
  /** IDRr: responders (or groups) authorized to resolve; at least one. */
  responders: Identity[];
}

/** A policy as read from a TP/TICKET payload: every field known. */
export interface ReadPolicy extends Required<Pick<TicketPolicy, 'ticketType' | 'subtype' | 'version' | 'prf' | 'apps' | 'responders' | 'keys'>> {
  flags: TicketFlags;
  kms?: Identity;
  initiator?: Identity;
  validFrom?: number;
  validTo?: number;
  rekeyIntervalSec?: number;
}

const tpPar = (reason: string): never => {
  throw new MikeyProtocolError(ErrorNo.InvalidTpPar, reason);
};

/**
 * The flag dependencies of RFC 6043 §6.10: NOT D => L, G => F, NOT G => H, NOT H => G, I => E,
 * K => D, M => F; and F when I and a TGK is in the ticket. Returns the first one violated.
 */
export function flagViolation(f: TicketFlags, ticketHasTgk = false): string | undefined {
  if (!f.D && !f.L) return 'NOT D requires L (an Initiator-generated ticket lets the Initiator supply keys)';
  if (f.G && !f.F) return 'G requires F (RANDRr travels in TRANSFER_RESP)';
  if (!f.G && !f.H) return 'NOT G requires H (at least one RAND in the TGK derivation)';
  if (f.I && !f.E) return 'I requires E (forked keys come from the KMS)';
  if (f.K && !f.D) return 'K requires D';
  if (f.M && !f.F) return 'M requires F (Responder keys travel in TRANSFER_RESP)';
  if (f.I && ticketHasTgk && !f.F) return 'I with a TGK in the ticket requires F';
  return undefined;
}

/** Throws Invalid TPpar (15) when a dependency of §6.10 is violated. */
export function checkFlags(f: TicketFlags, ticketHasTgk = false): void {
  const v = flagViolation(f, ticketHasTgk);
  if (v) tpPar(`Ticket Policy flags: ${v}`);
}

/**
 * Flags from a partial set: the defaults are a KMS-generated ticket (D), resolved by the KMS
 * (E), with TRANSFER_RESP (F) and RANDRr (G), RANDRi in the TGK derivation (H), no forking,
 * reuse allowed (J), no Initiator/Responder keys, and processing as this specification (N, O).
 * Dependencies are then completed in their direction (I => E, G or M => F, NOT G => H,
 * NOT D => L); K is never set by the Initiator.
 */
export function completeFlags(p: Partial<TicketFlags> = {}): TicketFlags {
  const f: TicketFlags = {
    D: p.D ?? true, E: p.E ?? true, F: p.F ?? true, G: p.G ?? true, H: p.H ?? true, I: p.I ?? false,
    J: p.J ?? true, K: p.K ?? false, L: p.L ?? false, M: p.M ?? false, N: p.N ?? true, O: p.O ?? true,
  };
  if (f.I) f.E = true;
  if (f.G || f.M) f.F = true;
  if (!f.G) f.H = true;
  if (!f.D) f.L = true;
  if (f.I && p.F === undefined) f.F = true;
  return f;
}

export function flagsString(f: TicketFlags): string {
  return TICKET_FLAG_NAMES.map((n) => (f[n] ? n : n.toLowerCase())).join('');
}

// ---- TR payloads ------------------------------------------------------------------------

/** A TR of NTP-UTC-32 seconds (RFC 6043 §6.3, §6.4). */
export function trPayload(role: number, ms: number): TrPayload {
  return { type: PayloadType.Tr, role, tsType: TsType.NtpUtc32, value: ntpTimestamp(ms).slice(0, 4) };
}

function trMs(tr: TrPayload): number {
  // RFC 6043 §6.10: TRs/TRe in 1968-2104 by the RFC 4330 era rule
  if (tr.tsType !== TsType.NtpUtc && tr.tsType !== TsType.Ntp && tr.tsType !== TsType.NtpUtc32) tpPar(`TS type ${tr.tsType} in a validity period`);
  return ntpToMs(tr.value);
}

// ---- TP Data ----------------------------------------------------------------------------

function idr(role: number, id: Identity): IdrPayload {
  return { type: PayloadType.Idr, role, idType: id.idType, data: id.data };
}

function keyTypeOf(k: KeyRequest): number {
  const salt = (k.saltLength ?? 0) > 0;
  switch (k.kind) {
    case 'TGK': return salt ? KeyDataType.TgkSalt : KeyDataType.Tgk;
    case 'TEK': return salt ? KeyDataType.TekSalt : KeyDataType.Tek;
    case 'GTGK': return salt ? KeyDataType.GtgkSalt : KeyDataType.Gtgk;
  }
}

/** The requested keys as a NULL/NULL KEMAC of zeroed key data (RFC 6043 §6.10). */
function requestKemac(keys: readonly KeyRequest[]): KemacPayload {
  const plaintext: KeyDataPayload[] = keys.map((k) => ({
    type: PayloadType.KeyData, keyType: keyTypeOf(k), keyData: new Uint8Array(k.length ?? 16),
    salt: (k.saltLength ?? 0) > 0 ? new Uint8Array(k.saltLength!) : undefined,
    validity: k.spi ? { kv: KvType.Spi, spi: k.spi } : { kv: KvType.Null },
  }));
  return { type: PayloadType.Kemac, encrAlg: EncrAlg.Null, encrData: new Uint8Array(0), macAlg: MacAlg.Null, mac: new Uint8Array(0), plaintext };
}

/** TP Data in the order of RFC 6043 §6.10. `granted` leaves out the KEMAC (it SHALL NOT be in a granted policy). */
export function tpDataPayloads(p: TicketPolicy, granted: boolean): Payload[] {
  if (!p.responders.length) throw new RangeError('a Ticket Policy names at least one responder (IDRr)');
  const out: Payload[] = [];
  if (p.kms) out.push(idr(IdRole.IDRkms, p.kms));
  if (p.initiator) out.push(idr(IdRole.IDRi, p.initiator));
  if (p.validFrom !== undefined) out.push(trPayload(TsRole.TRs, p.validFrom));
  if (p.validTo !== undefined) out.push(trPayload(TsRole.TRe, p.validTo));
  if (p.rekeyIntervalSec !== undefined) {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, p.rekeyIntervalSec >>> 0);
    out.push({ type: PayloadType.Tr, role: TsRole.TRr, tsType: TsType.NtpUtc32, value: v });
  }
  if (!granted && p.keys?.length) out.push(requestKemac(p.keys));
  for (const a of p.apps ?? []) out.push(idr(IdRole.IDRapp, a));
  for (const r of p.responders) out.push(idr(IdRole.IDRr, r));
  return out;
}

/** The TP payload of a desired policy (REQUEST_INIT); K is '0' from the Initiator (§6.10). */
export function tpPayload(p: TicketPolicy): TpPayload {
  const flags = completeFlags({ ...p.flags, K: false });
  checkFlags(flags);
  return {
    type: PayloadType.Tp, ticketType: p.ticketType ?? TicketType.MikeyBaseTicket, subtype: p.subtype ?? 1, version: p.version ?? 1,
    prfFunc: prfFuncOf(p.prf ?? 'MIKEY-1'), flags, reserved: 0, tpData: { payloads: tpDataPayloads(p, false) },
  };
}

/**
 * Read the policy of a TP or TICKET payload. Throws Invalid TPpar for what cannot be honoured:
 * an unknown PRF, a TRr that is not NTP-UTC-32, a KEMAC that is not NULL/NULL or that sits in a
 * granted policy, no IDRr. Unexpected payloads are ignored (§6.10).
 */
export function readPolicy(p: TpPayload | TicketPayload): ReadPolicy {
  let prf: MikeyPrf;
  try {
    prf = prfOf(p.prfFunc);
  } catch {
    return tpPar(`Ticket Policy PRF func ${p.prfFunc} is not supported`);
  }
  const out: ReadPolicy = {
    ticketType: p.ticketType, subtype: p.subtype, version: p.version, prf, flags: { ...p.flags }, apps: [], responders: [], keys: [],
  };
  for (const q of p.tpData.payloads) {
    if (q.type === PayloadType.Idr) {
      const id = { idType: q.idType, data: q.data };
      if (q.role === IdRole.IDRkms) out.kms = id;
      else if (q.role === IdRole.IDRi) out.initiator = id;
      else if (q.role === IdRole.IDRapp) out.apps.push(id);
      else if (q.role === IdRole.IDRr) out.responders.push(id);
    } else if (q.type === PayloadType.Tr) {
      if (q.role === TsRole.TRs) out.validFrom = trMs(q);
      else if (q.role === TsRole.TRe) out.validTo = trMs(q);
      else if (q.role === TsRole.TRr) {
        // §6.10: TS Type SHALL be NTP-UTC-32; the integer part is the interval in seconds
        if (q.tsType !== TsType.NtpUtc32) tpPar('TRr must be NTP-UTC-32');
        out.rekeyIntervalSec = new DataView(q.value.buffer, q.value.byteOffset, 4).getUint32(0);
        if (out.rekeyIntervalSec === 0) tpPar('TRr of 0 seconds');
      }
    } else if (q.type === PayloadType.Kemac) {
      if (p.type === PayloadType.Ticket) tpPar('a KEMAC in the granted Ticket Policy');
      if (q.encrAlg !== EncrAlg.Null || q.macAlg !== MacAlg.Null) tpPar('the KEMAC of a Ticket Policy must use NULL encryption and the NULL MAC');
      const subs = tryDecodeKeyDataChain(q.encrData);
      if (subs instanceof MikeyDecodeError) return tpPar('the KEMAC of the Ticket Policy does not decode');
      for (const k of subs) {
        if (k.type !== PayloadType.KeyData) continue;
        const kind = k.keyType === KeyDataType.Tgk || k.keyType === KeyDataType.TgkSalt ? 'TGK'
          : k.keyType === KeyDataType.Tek || k.keyType === KeyDataType.TekSalt ? 'TEK'
            : k.keyType === KeyDataType.Gtgk || k.keyType === KeyDataType.GtgkSalt ? 'GTGK' : undefined;
        if (!kind) tpPar(`key type ${k.keyType} cannot be requested in a Ticket Policy`);
        out.keys.push({ kind: kind!, length: k.keyData.length, saltLength: k.salt?.length, spi: k.validity.kv === KvType.Spi && k.validity.spi.length ? k.validity.spi : undefined });
      }
    }
  }
  if (!out.responders.length) tpPar('the Ticket Policy names no responder (IDRr)');
  if (out.validFrom !== undefined && out.validTo !== undefined && out.validTo < out.validFrom) tpPar('TRe before TRs');
  return out;
}

/**
 * A ticket is usable between TRs and TRe (RFC 6043 §6.10), with the clock skew allowed either
 * way. Outside: Invalid TICKET (14).
 */
export function checkValidity(p: { validFrom?: number; validTo?: number }, now: number, skewMs: number): void {
  if (p.validFrom !== undefined && now + skewMs < p.validFrom) {
    throw new MikeyProtocolError(ErrorNo.InvalidTicket, `ticket not valid before ${new Date(p.validFrom).toISOString()}`);
  }
  if (p.validTo !== undefined && now - skewMs > p.validTo) {
    throw new MikeyProtocolError(ErrorNo.InvalidTicket, `ticket expired at ${new Date(p.validTo).toISOString()}`);
  }
}
