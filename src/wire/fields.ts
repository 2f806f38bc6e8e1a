// The field tree a describer prints for a decoded message (`mikey decode`, like `tshark -V`):
// every structure of the codec lists its own fields beside its layout (payloads.ts, header.ts).
import { registryInfo } from './registry.js';

export interface Field {
  /** Field name as the RFC calls it. */
  name: string;
  /** Raw value: a number or a hex string. */
  value?: number | string | boolean;
  /** What the value means (registry name, decoded time, text). */
  meaning?: string;
  /** Byte offset of the payload in the message, for payload nodes. */
  offset?: number;
  children?: Field[];
}

/** What the field lists need from outside the wire layer. */
export interface Describer {
  /** The field of a timestamp value of TS type `tsType` (its meaning: the time, or the counter). */
  ts(tsType: number, value: Uint8Array): Field;
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
export const h32 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;
export const label = (reg: object, v: number): string => registryInfo(reg).label(v) ?? 'Unknown';
/** A field whose value is a code point of registry `reg`. */
export const en = (name: string, reg: object, v: number): Field => ({ name, value: v, meaning: label(reg, v) });
/** The bytes as text when they are printable (NULs shown as \0). */
export const printable = (b: Uint8Array): string | undefined => {
  for (const c of b) if ((c < 0x20 && c !== 0) || c > 0x7e) return undefined;
  return Buffer.from(b).toString('latin1').replace(/\0/g, '\\0');
};
