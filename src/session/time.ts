// MIKEY timestamps (RFC 3830 §4.2.8, §6.6; RFC 6043 §6.3) and the clock they are checked against.
import { TsType } from '../wire/registry.js';
import { ErrorNo } from '../wire/registry.js';
import { MikeyProtocolError } from './errors.js';

/** Milliseconds since the Unix epoch. Injected so tests and vectors are deterministic. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01). */
export const NTP_UNIX_OFFSET = 2208988800;

/** 64-bit NTP timestamp (NTP-UTC and NTP types) of a time in ms. */
export function ntpTimestamp(ms: number): Uint8Array {
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  const sec = Math.floor(ms / 1000);
  v.setUint32(0, (sec + NTP_UNIX_OFFSET) >>> 0);
  v.setUint32(4, Math.floor(((ms - sec * 1000) / 1000) * 2 ** 32) >>> 0);
  return out;
}

/** 32-bit NTP-UTC-32 timestamp (RFC 6043 §6.3): the seconds of the NTP format. */
export function ntpUtc32Timestamp(ms: number): Uint8Array {
  return ntpTimestamp(ms).subarray(0, 4);
}

/** Time in ms of an NTP value, using the RFC 4330 §3 era rule (MSB clear: from 2036 on). */
export function ntpToMs(value: Uint8Array): number {
  const v = new DataView(value.buffer, value.byteOffset, value.length);
  const sec = v.getUint32(0);
  const frac = value.length >= 8 ? v.getUint32(4) : 0;
  const era = sec & 0x80000000 ? 0 : 2 ** 32;
  return (sec + era - NTP_UNIX_OFFSET) * 1000 + Math.floor((frac / 2 ** 32) * 1000);
}

/** The 64-bit form of a timestamp value for the PRF and KEMAC IV (RFC 3830 §6.6, RFC 6043 §6.3). */
export function timestamp64(tsType: number, value: Uint8Array): Uint8Array {
  if (value.length === 8) return value;
  const out = new Uint8Array(8);
  if (tsType === TsType.Counter) out.set(value, 4); // leading zeros
  else out.set(value, 0); // NTP-UTC-32: zero fraction
  return out;
}

export interface TimestampPolicy {
  /** Allowed clock skew in ms either way (default 5 minutes). */
  maxSkewMs?: number;
  /** For COUNTER timestamps: the last counter accepted from this peer; the new one must exceed it. */
  lastCounter?: number;
}

/**
 * Check a received timestamp against the clock (RFC 3830 §5.3, §5.4). Returns the time (ms) or
 * the counter value. Throws Invalid TS.
 */
export function checkTimestamp(tsType: number, value: Uint8Array, clock: Clock, policy: TimestampPolicy = {}): number {
  if (tsType === TsType.Counter) {
    const c = new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
    if (policy.lastCounter !== undefined && c <= policy.lastCounter) {
      throw new MikeyProtocolError(ErrorNo.InvalidTs, `counter ${c} not above the last accepted ${policy.lastCounter}`);
    }
    return c;
  }
  if (tsType !== TsType.NtpUtc && tsType !== TsType.Ntp && tsType !== TsType.NtpUtc32) {
    throw new MikeyProtocolError(ErrorNo.InvalidTs, `unsupported TS type ${tsType}`);
  }
  const t = ntpToMs(value);
  const skew = policy.maxSkewMs ?? 5 * 60_000;
  const now = clock.now();
  if (Math.abs(t - now) > skew) {
    throw new MikeyProtocolError(ErrorNo.InvalidTs, `timestamp ${new Date(t).toISOString()} is ${Math.round((t - now) / 1000)} s from now (allowed ±${skew / 1000} s)`);
  }
  return t;
}
