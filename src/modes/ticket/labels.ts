// MIKEY-TICKET key derivation labels and the derivations over them (RFC 6043 §5.1, §6.10,
// App. A.2). One small function per label form; the form byte after 0xFFFFFFFF / CSB ID tells
// them apart: 0x00 forking, 0x01 initial message, 0x02 response, 0x03 TGK/GTGK, 0x04 Vr,
// 0x05 TPK, 0x06 MPK. RANDR fields enter a label as RAND length (8 bits) || RAND, never as
// whole payloads (§5.1, App. A.2).
import { mikeyPrf, PrfConstant, type MessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import { KEMAC_ENCR_PARAMS, MAC_PARAMS, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';

/** The form byte that follows the CSB ID / 0xFFFFFFFF field in a TICKET label. */
export const LabelForm = Object.freeze({
  /** RFC 6043 §5.1.1: MPKr' and TGK' (forking) */
  Fork: 0x00,
  /** RFC 6043 §5.1.2: keys protecting an initial message */
  Initial: 0x01,
  /** RFC 6043 §5.1.2: keys protecting a response message */
  Response: 0x02,
  /** RFC 6043 §5.1.3: keys from a TGK/TGK'/GTGK */
  Tgk: 0x03,
  /** RFC 6043 §6.10: the Vr auth_key from MPKr */
  InitiatorData: 0x04,
  /** RFC 6043 App. A.2.1: keys from a TPK */
  Tpk: 0x05,
  /** RFC 6043 App. A.2.2: MPKi and MPKr from the MPK */
  Mpk: 0x06,
} as const);

const NONE = new Uint8Array(0);

function u32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

function checkRand(r: Uint8Array, what: string): void {
  if (r.length > 0xff) throw new RangeError(`${what} longer than 255 bytes cannot be length-prefixed`);
}

/** constant(32) || csField(8) || word(32) || form(8) || tail: the shape shared by every TICKET label. */
function label(constant: number, csField: number, word: number, form: number, tail: readonly Uint8Array[]): Uint8Array {
  const n = tail.reduce((a, t) => a + t.length, 10);
  const l = new Uint8Array(n);
  u32(l, 0, constant >>> 0);
  l[4] = csField;
  u32(l, 5, word >>> 0);
  l[9] = form;
  let o = 10;
  for (const t of tail) { l.set(t, o); o += t.length; }
  return l;
}

/** length RANDRi || [RANDRi] || length RANDRr || [RANDRr], absent = length 0 (§5.1.2, §5.1.3). */
function randPair(randRi: Uint8Array | undefined, randRr: Uint8Array | undefined): Uint8Array[] {
  const ri = randRi ?? NONE;
  const rr = randRr ?? NONE;
  checkRand(ri, 'RANDRi');
  checkRand(rr, 'RANDRr');
  return [Uint8Array.of(ri.length), ri, Uint8Array.of(rr.length), rr];
}

/**
 * RFC 6043 §5.1.2: constant || 0xFF || CSB ID || 0x01 (initial) or 0x02 (response) ||
 * length RANDRi || [RANDRi] || length RANDRr || [RANDRr].
 */
export function messageKeyLabel(constant: number, csbId: number, form: typeof LabelForm.Initial | typeof LabelForm.Response, randRi?: Uint8Array, randRr?: Uint8Array): Uint8Array {
  return label(constant, 0xff, csbId, form, randPair(randRi, randRr));
}

/** RFC 6043 §5.1.3: constant || CS ID || 0xFFFFFFFF || 0x03 || length RANDRi || [RANDRi] || length RANDRr || [RANDRr]. */
export function tgkLabel(constant: number, csId: number, randRi?: Uint8Array, randRr?: Uint8Array): Uint8Array {
  if (!Number.isInteger(csId) || csId < 0 || csId > 0xff) throw new RangeError('CS ID out of range');
  return label(constant, csId, 0xffffffff, LabelForm.Tgk, randPair(randRi, randRr));
}

/**
 * RFC 6043 §5.1.1: constant || 0xFF || 0xFFFFFFFF || 0x00 || length ID Data (16 bits) ||
 * ID Data || length RANDRkms (8 bits) || RANDRkms.
 */
export function forkLabel(constant: number, idData: Uint8Array, randRkms: Uint8Array): Uint8Array {
  if (idData.length > 0xffff) throw new RangeError('ID Data longer than 65535 bytes');
  checkRand(randRkms, 'RANDRkms');
  return label(constant, 0xff, 0xffffffff, LabelForm.Fork, [Uint8Array.of(idData.length >>> 8, idData.length & 0xff), idData, Uint8Array.of(randRkms.length), randRkms]);
}

/** RFC 6043 §6.10 (Initiator Data): constant || 0xFF || 0xFFFFFFFF || 0x04. */
export function initiatorDataLabel(constant: number): Uint8Array {
  return label(constant, 0xff, 0xffffffff, LabelForm.InitiatorData, []);
}

/** RFC 6043 App. A.2.1: constant || 0xFF || 0xFFFFFFFF || 0x05 || length RAND || RAND. */
export function tpkLabel(constant: number, rand: Uint8Array): Uint8Array {
  checkRand(rand, 'RAND');
  return label(constant, 0xff, 0xffffffff, LabelForm.Tpk, [Uint8Array.of(rand.length), rand]);
}

/** RFC 6043 App. A.2.2: constant || 0xFF || 0xFFFFFFFF || 0x06 || length RAND || RAND. */
export function mpkLabel(constant: number, rand: Uint8Array): Uint8Array {
  checkRand(rand, 'RAND');
  return label(constant, 0xff, 0xffffffff, LabelForm.Mpk, [Uint8Array.of(rand.length), rand]);
}

// ---- derivations --------------------------------------------------------------------------

/** encr_key, auth_key, salt_key for the KEMAC and V algorithms from one label per constant (RFC 3830 §4.1.4 constants). */
function keysFor(prf: MikeyPrf, inkey: Uint8Array, algs: { encrAlg: KemacEncrAlg; macAlg: MacAlg }, labelOf: (constant: number) => Uint8Array): MessageKeys {
  const e = KEMAC_ENCR_PARAMS[algs.encrAlg];
  const a = MAC_PARAMS[algs.macAlg];
  const derive = (constant: number, len: number) => (len === 0 ? new Uint8Array(0) : mikeyPrf(prf, inkey, labelOf(constant), len * 8));
  return {
    encrKey: derive(PrfConstant.MsgEncrKey, e.keyLen),
    authKey: derive(PrfConstant.MsgAuthKey, a.keyLen),
    saltKey: derive(PrfConstant.MsgSaltKey, e.saltLen),
  };
}

/**
 * Keys protecting a MIKEY-TICKET message (RFC 6043 §5.1.2): inkey is the pre-shared key, the
 * envelope key, MPKi or MPKr'; PRF of the HDR.
 */
export function ticketMessageKeys(
  prf: MikeyPrf, inkey: Uint8Array, csbId: number, form: typeof LabelForm.Initial | typeof LabelForm.Response,
  rands: { randRi?: Uint8Array; randRr?: Uint8Array }, algs: { encrAlg: KemacEncrAlg; macAlg: MacAlg },
): MessageKeys {
  return keysFor(prf, inkey, algs, (c) => messageKeyLabel(c, csbId, form, rands.randRi, rands.randRr));
}

/** The Vr auth_key from MPKr, not forked (RFC 6043 §6.10); PRF of the Ticket Policy. */
export function initiatorDataAuthKey(prf: MikeyPrf, mpkr: Uint8Array, macAlg: MacAlg): Uint8Array {
  const len = MAC_PARAMS[macAlg].keyLen;
  return len === 0 ? new Uint8Array(0) : mikeyPrf(prf, mpkr, initiatorDataLabel(PrfConstant.MsgAuthKey), len * 8);
}

/** Keys protecting a MIKEY base ticket, from the TPK (RFC 6043 App. A.2.1); PRF of the Ticket Policy. */
export function tpkKeys(prf: MikeyPrf, tpk: Uint8Array, rand: Uint8Array, algs: { encrAlg: KemacEncrAlg; macAlg: MacAlg }): MessageKeys {
  return keysFor(prf, tpk, algs, (c) => tpkLabel(c, rand));
}

/** MPKi and MPKr from the MPK of a base ticket (RFC 6043 App. A.2.2), each as long as the MPK. */
export function deriveMpks(prf: MikeyPrf, mpk: Uint8Array, rand: Uint8Array): { mpki: Uint8Array; mpkr: Uint8Array } {
  const bits = mpk.length * 8;
  return {
    mpki: mikeyPrf(prf, mpk, mpkLabel(PrfConstant.TicketMpki, rand), bits),
    mpkr: mikeyPrf(prf, mpk, mpkLabel(PrfConstant.TicketMpkr, rand), bits),
  };
}

/** A forked key, MPKr' or TGK', as long as its inkey (RFC 6043 §5.1.1); PRF of the Ticket Policy. */
export function forkKey(prf: MikeyPrf, kind: 'MPKr' | 'TGK', inkey: Uint8Array, idData: Uint8Array, randRkms: Uint8Array): Uint8Array {
  const constant = kind === 'MPKr' ? PrfConstant.ForkMpkr : PrfConstant.ForkTgk;
  return mikeyPrf(prf, inkey, forkLabel(constant, idData, randRkms), inkey.length * 8);
}

/** TEK (SRTP master key) from a TGK, TGK' or GTGK for CS `csId` (RFC 6043 §5.1.3); PRF of the HDR. */
export function ticketTek(prf: MikeyPrf, tgk: Uint8Array, csId: number, randRi: Uint8Array | undefined, randRr: Uint8Array | undefined, lenBytes: number): Uint8Array {
  return mikeyPrf(prf, tgk, tgkLabel(PrfConstant.Tek, csId, randRi, randRr), lenBytes * 8);
}

/** Salting key from a TGK, TGK' or GTGK when none is carried (RFC 6043 §5.1.3, RFC 3830 §4.1.3 constant). */
export function ticketSalt(prf: MikeyPrf, tgk: Uint8Array, csId: number, randRi: Uint8Array | undefined, randRr: Uint8Array | undefined, lenBytes: number): Uint8Array {
  return mikeyPrf(prf, tgk, tgkLabel(PrfConstant.SaltKey, csId, randRi, randRr), lenBytes * 8);
}
