// A field tree of a decoded message with registry names, printed like `tshark -V` or as JSON.
// Each structure's fields are listed by the codec beside its layout (wire/header.ts and
// wire/payloads.ts); this module adds what the wire layer does not know (time) and renders.
import { PayloadType, TsType } from '../wire/registry.js';
import { ntpToMs } from '../session/time.js';
import type { Message } from '../wire/types.js';
import { hex, type Describer, type Field } from '../wire/fields.js';
import { headerFields } from '../wire/header.js';
import { describeChain } from '../wire/payloads.js';

export type { Field } from '../wire/fields.js';

/** NTP (1900 epoch) timestamp as a Date (RFC 3830 §6.6, RFC 4330 era rule for NTP-UTC-32). */
export function ntpToDate(value: Uint8Array): Date {
  return new Date(ntpToMs(value));
}

const describer: Describer = {
  ts(tsType, value) {
    const meaning = tsType === TsType.Counter
      ? `counter ${((value[0]! << 24) | (value[1]! << 16) | (value[2]! << 8) | value[3]!) >>> 0}`
      : ntpToDate(value).toISOString();
    return { name: 'TS value', value: hex(value), meaning };
  },
};

/** The field tree of a message. */
export function describeMessage(msg: Message): Field {
  const first = msg.payloads[0]?.type ?? PayloadType.Last;
  const size = msg.bytes?.length;
  return {
    name: `MIKEY message${size !== undefined ? ` (${size} bytes)` : ''}`,
    children: [headerFields(msg.header, first), ...describeChain(msg.payloads, describer)],
  };
}

/** Indented text, one field a line. */
export function renderTree(f: Field, indent = 0, out: string[] = []): string[] {
  const pad = '    '.repeat(indent);
  let line = `${pad}${f.name}`;
  if (f.value !== undefined) line += `: ${typeof f.value === 'boolean' ? (f.value ? 1 : 0) : f.value === '' ? '(empty)' : f.value}`;
  if (f.meaning !== undefined) line += f.value !== undefined ? ` (${f.meaning})` : `: ${f.meaning}`;
  if (f.offset !== undefined && f.children) line += `  [offset ${f.offset}]`;
  out.push(line);
  for (const c of f.children ?? []) renderTree(c, indent + 1, out);
  return out;
}
