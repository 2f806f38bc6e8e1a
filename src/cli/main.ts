#!/usr/bin/env node
// The `mikey` command.
import { parseArgs } from 'node:util';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeMessage } from '../wire/decode.js';
import { MikeyDecodeError } from '../wire/errors.js';
import { DataType, PayloadType, THDR_PAYLOAD, registryInfo } from '../wire/registry.js';
import { describeMessage, renderTree } from './describe.js';
import type { Message } from '../wire/types.js';
import { InputError, readInput } from './input.js';

const HELP: Record<string, string> = {
  main: `mikey: MIKEY (RFC 3830 family) key management for SRTP

Usage: mikey <command> [options]

Commands:
  decode [--json] [INPUT]   show a MIKEY message as a field tree (like tshark -V) or JSON
  start                     the main job: decode the bundled sample messages
  help [COMMAND]            this text, or a command's help

Run 'mikey <command> --help' for a command's options.`,
  decode: `Usage: mikey decode [--json] [--lenient-trailing] [INPUT]

Decodes MIKEY messages and prints every field with its registry name and value.

INPUT is one of:
  a hex string            01000500...
  base64                  AQAFAA...
  an SDP body or line     a=key-mgmt:mikey AQAFAA...   (every mikey line is decoded)
  an RTSP header          KeyMgmt: prot=mikey; uri="rtsp://cam/track1"; data="AQAF..."
  a file                  holding any of the above as text, or the raw message bytes
  - or nothing            standard input

Options:
  --json                  print the decoded message as JSON (bytes in hex, payload offsets and
                          lengths, registry names), one object per message
  --lenient-trailing      accept bytes after the last payload (reported)
  -h, --help              this text

Exit status: 0 when every message decodes; 1 with a one-line error saying where and why.`,
  start: `Usage: mikey start

The main job with embedded defaults (what 'npm start' runs): decodes every bundled sample
message in samples/ and prints a one-line summary of each.`,
};

const here = dirname(fileURLToPath(import.meta.url));
/** The package root, from dist/src/cli. */
export const PACKAGE_ROOT = resolve(here, '..', '..', '..');

/** The decoded model as JSON: bytes as hex, spans as offsets, each payload named from the registry. */
export function messageJson(msg: Message): unknown {
  const conv = (x: unknown): unknown => {
    if (x instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.length).toString('hex');
    if (Array.isArray(x)) return x.map(conv);
    if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      if (typeof o['type'] === 'number' && 'span' in o) {
        out['name'] = o['type'] === THDR_PAYLOAD ? 'THDR' : registryInfo(PayloadType).label(o['type'] as number);
      }
      for (const [k, v] of Object.entries(o)) {
        if (v === undefined || k === 'bytes') continue;
        if (k === 'span') {
          const sp = v as { start: number; end: number };
          out['offset'] = sp.start;
          out['length'] = sp.end - sp.start;
        } else out[k] = conv(v);
      }
      return out;
    }
    return x;
  };
  return conv({ header: msg.header, payloads: msg.payloads });
}

function decodeCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, 'lenient-trailing': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP['decode']);
    return 0;
  }
  if (positionals.length > 1) throw new InputError('decode takes at most one INPUT');
  const found = readInput(positionals[0]);
  let status = 0;
  found.forEach((m, i) => {
    const where = found.length > 1 ? `message ${i + 1} (${m.source})` : m.source;
    try {
      const msg = decodeMessage(m.bytes, { allowTrailingBytes: values['lenient-trailing'] === true });
      const tree = describeMessage(msg);
      if (msg.trailingBytes) tree.children!.push({ name: 'Trailing bytes (accepted)', value: msg.trailingBytes });
      if (values.json) console.log(JSON.stringify({ source: m.source, dataType: registryInfo(DataType).label(msg.header.dataType), ...(messageJson(msg) as object), trailingBytes: msg.trailingBytes }, null, 2));
      else {
        if (found.length > 1) console.log(`# ${where}`);
        console.log(renderTree(tree).join('\n'));
      }
    } catch (e) {
      if (!(e instanceof MikeyDecodeError)) throw e;
      console.error(`mikey decode: ${where}: ${e.message}`);
      status = 1;
    }
  });
  return status;
}

function startCommand(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP['start']);
    return 0;
  }
  const dir = join(PACKAGE_ROOT, 'samples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.hex')).sort();
  let bad = 0;
  console.log(`Decoding ${files.length} sample MIKEY messages from ${dir}\n`);
  for (const f of files) {
    const bytes = new Uint8Array(Buffer.from(readFileSync(join(dir, f), 'utf8').replace(/\s+/g, ''), 'hex'));
    try {
      const msg = decodeMessage(bytes);
      const kinds = msg.payloads.map((p) => registryInfo(PayloadType).label(p.type));
      const dt = registryInfo(DataType).label(msg.header.dataType)!;
      console.log(`${f.padEnd(32)} ${String(bytes.length).padStart(5)} B  ${dt.padEnd(18)} ${kinds.join(' ')}`);
    } catch (e) {
      bad++;
      console.log(`${f.padEnd(32)} FAILED: ${(e as Error).message}`);
    }
  }
  console.log(`\n${files.length - bad} decoded, ${bad} failed`);
  return bad ? 1 : 0;
}

export function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'decode': return decodeCommand(rest);
      case 'start': return startCommand(rest);
      case undefined: case 'help': case '--help': case '-h':
        console.log(HELP[rest[0] ?? 'main'] ?? HELP['main']);
        return 0;
      default:
        console.error(`mikey: unknown command '${cmd}'\n\n${HELP['main']}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof InputError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`mikey ${cmd}: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
