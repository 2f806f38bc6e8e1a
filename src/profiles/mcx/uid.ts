// The MIKEY-SAKKE UID of TS 33.180 F.2.1 (SAKKE ID scheme 2, "3GPP MCX hashed UID"), which
// replaces the RFC 6509 §3.2 identifier: a hash of the user's URI, its KMS and the key period.
import { NTP_UNIX_OFFSET } from '../../session/time.js';
import { createHash } from 'node:crypto';
import type { SakkeKmsPublicKey } from '../../crypto/sakke.js';

/** A KMS as a KmsCertificate describes it (TS 33.180 D.3.2). */
export interface McxKms {
  /** KmsUri, e.g. "kms.example.org". */
  uri: string;
  /** PubEncKey: SAKKE KMS Public Key Z (0x04 || x || y). */
  zS: Uint8Array | SakkeKmsPublicKey;
  /** PubAuthKey: ECCSI KPAK (0x04 || x || y). */
  kpak: Uint8Array;
  /** UserKeyPeriod in seconds. */
  keyPeriod: number;
  /** UserKeyOffset in seconds. */
  keyPeriodOffset: number;
}

export interface UidParams {
  /** The user's URI (MC service ID), e.g. "sip:alice@example.org". */
  uri: string;
  kmsUri: string;
  /** Key period length and offset in seconds. */
  keyPeriod: number;
  keyPeriodOffset: number;
  /** The key period number since 0h 1 January 1900. */
  keyPeriodNo: number;
}

const enc = new TextEncoder();
const FC_UID = 0x00;
const UID_LABEL = enc.encode('MIKEY-SAKKE-UID');

/** A non-negative integer as its shortest big-endian bytes (zero: one 0x00 byte). */
function intBytes(v: number): Uint8Array {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`not a non-negative integer: ${v}`);
  const out: number[] = [];
  let x = v;
  do {
    out.unshift(x % 256);
    x = Math.floor(x / 256);
  } while (x > 0);
  return Uint8Array.from(out);
}

/** TS 33.220 B.2 parameter encoding: P || L, L the 2-byte length of P. */
function lp(p: Uint8Array): Uint8Array[] {
  if (p.length > 0xffff) throw new RangeError('KDF parameter longer than 65535 bytes');
  return [p, Uint8Array.of(p.length >>> 8, p.length & 0xff)];
}

/**
 * TS 33.180 F.2.1: UID = SHA-256(FC || P0 || L0 || ... || P5 || L5) with FC = 0x00 (no key:
 * the KDF degenerates to the hash), P0 = "MIKEY-SAKKE-UID", P1 = the URI, P2 = the KMS URI,
 * P3 = key period length, P4 = offset, P5 = current key period number.
 */
export function mikeySakkeUid(p: UidParams): Uint8Array {
  const h = createHash('sha256').update(Uint8Array.of(FC_UID));
  for (const part of [UID_LABEL, enc.encode(p.uri), enc.encode(p.kmsUri), intBytes(p.keyPeriod), intBytes(p.keyPeriodOffset), intBytes(p.keyPeriodNo)]) {
    for (const x of lp(part)) h.update(x);
  }
  return new Uint8Array(h.digest());
}

/** Key period number of a time (ms since 1970): floor((NTP seconds - offset) / period) (F.2.1). */
export function keyPeriodNumber(ms: number, keyPeriod: number, keyPeriodOffset: number): number {
  if (!(keyPeriod > 0)) throw new RangeError('key period must be positive');
  return Math.floor((Math.floor(ms / 1000) + NTP_UNIX_OFFSET - keyPeriodOffset) / keyPeriod);
}

/** Start of a key period, in ms since 1970. */
export function keyPeriodStart(no: number, keyPeriod: number, keyPeriodOffset: number): number {
  return (no * keyPeriod + keyPeriodOffset - NTP_UNIX_OFFSET) * 1000;
}

/** The UID of `uri` under `kms` for key period `keyPeriodNo`. */
export function uidFor(uri: string, kms: Pick<McxKms, 'uri' | 'keyPeriod' | 'keyPeriodOffset'>, keyPeriodNo: number): Uint8Array {
  return mikeySakkeUid({ uri, kmsUri: kms.uri, keyPeriod: kms.keyPeriod, keyPeriodOffset: kms.keyPeriodOffset, keyPeriodNo });
}
