#!/usr/bin/env node
// The `mikey` command.
import { parseArgs } from 'node:util';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeMessage } from '../wire/decode.js';
import { MikeyDecodeError } from '../wire/errors.js';
import { DataType, KeyDataType, PayloadType, THDR_PAYLOAD, registryInfo } from '../wire/registry.js';
import { describeMessage, renderTree, type Field } from './describe.js';
import { runDemo, renderDemo } from './demo.js';
import { kmsCommand } from './kms.js';
import { openKemac, type OpenedKemac } from '../modes/inspect.js';
import { srtpContexts } from '../session/bundle.js';
import type { Message } from '../wire/types.js';
import { InputError, readInput } from './input.js';

const HELP: Record<string, string> = {
  main: `mikey: MIKEY (RFC 3830 family) key management for SRTP

Usage: mikey <command> [options]

Commands:
  decode [--json] [INPUT]   show a MIKEY message as a field tree (like tshark -V) or JSON;
                            with --psk or --key, open its KEMAC and show the keys
  demo                      run every implemented method over UDP on loopback, with a table
  kms <subcommand>          the key management service (MIKEY-TICKET): serve, init, user,
                            group, policy, tickets, audit, export, import
  rtsp <subcommand>         RTSP cameras with MIKEY-keyed SRTP: probe URL, serve, profiles
  samples                   decode the bundled sample messages, a line each
  start                     the main job with embedded defaults (the demo)
  help [COMMAND]            this text, or a command's help

Run 'mikey <command> --help' for a command's options.`,
  decode: `Usage: mikey decode [--json] [--lenient-trailing] [INPUT]

Decodes MIKEY messages and prints every field with its registry name and value.

INPUT is one of:
  a hex string            01000500...
  base64                  AQAFAA...
  an SDP body or line     a=key-mgmt:mikey AQAFAA...   (every mikey line is decoded)
  an RTSP header          KeyMgmt: prot=mikey; uri="rtsp://cam/track1"; data="AQAF..."
  a capture file          pcap or pcapng: MIKEY on UDP 2269, in SIP SDP and in RTSP (UDP or
                          TCP), each message printed with its packet number
  a file                  holding any of the above as text, or the raw message bytes
  - or nothing            standard input

Options:
  --json                  print the decoded message as JSON (bytes in hex, payload offsets and
                          lengths, registry names), one object per message
  --lenient-trailing      accept bytes after the last payload (reported)
  --psk HEX               pre-shared key: check the KEMAC MAC, decrypt it, show the TGKs and
                          the SRTP master keys and salts of every crypto session
  --key FILE              the responder's RSA private key (PEM): open the envelope (PKE) and
                          then the KEMAC of a public-key message
  --rand HEX              RAND of the first message, to open an update message (which has none)
  -h, --help              this text

Exit status: 0 when every message decodes; 1 with a one-line error saying where and why.`,
  start: `Usage: mikey start

The main job with embedded defaults (what 'npm start' runs): the demo (see 'mikey demo --help').`,
  demo: `Usage: mikey demo

Runs each implemented key-exchange method between an initiator and a responder, each on its
own UDP socket on 127.0.0.1, with fresh keys, then a media leg: one side sends SRTP over UDP
with its keys and the other authenticates and decrypts it with its own. Prints a table:
method, messages, bytes, milliseconds (key set-up included), whether both ends hold the same
SRTP keys, and SRTP packets sent/authenticated. Exit status 1 if anything disagrees.`,
  samples: `Usage: mikey samples

Decodes every bundled sample message in samples/ and prints a one-line summary of each.`,
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
    options: {
      json: { type: 'boolean' }, 'lenient-trailing': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      psk: { type: 'string' }, key: { type: 'string' }, rand: { type: 'string' },
    },
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
      const opened = values.psk || values.key ? openKemac(msg, values.psk ? { psk: hexArg('--psk', values.psk) } : { privateKey: readFileSync(values.key!, 'utf8') }, values.rand ? hexArg('--rand', values.rand) : undefined) : undefined;
      if (opened) {
        tree.children!.push(describeOpened(opened));
        if (!opened.macValid || opened.problem) status = 1;
      }
      if (values.json) console.log(JSON.stringify({ source: m.source, dataType: registryInfo(DataType).label(msg.header.dataType), ...(messageJson(msg) as object), trailingBytes: msg.trailingBytes, opened: opened && openedJson(opened) }, null, 2));
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

function hexArg(name: string, v: string): Uint8Array {
  const clean = v.replace(/^0x/, '').replace(/[\s:]/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw new InputError(`${name} takes hex bytes`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

const hexOf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

function describeOpened(o: OpenedKemac): Field {
  const children: Field[] = [{ name: 'MAC', meaning: o.macValid ? 'verified' : 'DOES NOT VERIFY' }];
  if (o.problem) children.push({ name: 'Problem', meaning: o.problem });
  for (const k of o.keys) {
    children.push({ name: 'Key data', children: [
      { name: 'Type', value: k.keyType, meaning: registryInfo(KeyDataType).label(k.keyType) },
      { name: 'Key', value: hexOf(k.keyData) }, ...(k.salt ? [{ name: 'Salt', value: hexOf(k.salt) }] : []),
      ...(k.validity.kv === 1 ? [{ name: 'SPI/MKI', value: hexOf(k.validity.spi) }] : []),
    ] });
  }
  for (const c of o.bundle ? srtpContexts(o.bundle) : []) {
    children.push({ name: `SRTP crypto session ${c.csId}`, children: [
      { name: 'SSRC', value: `0x${c.ssrc.toString(16).padStart(8, '0')}` }, { name: 'ROC', value: c.roc },
      { name: 'Profile', meaning: c.profile ?? 'none of the named ones' },
      { name: 'Master key', value: hexOf(c.masterKey) }, { name: 'Master salt', value: hexOf(c.masterSalt) },
      ...(c.mki ? [{ name: 'MKI', value: hexOf(c.mki) }] : []),
    ] });
  }
  return { name: 'Opened KEMAC', children };
}

function openedJson(o: OpenedKemac): unknown {
  return {
    macValid: o.macValid, problem: o.problem,
    keys: o.keys.map((k) => ({ keyType: k.keyType, key: hexOf(k.keyData), salt: k.salt && hexOf(k.salt), mki: k.validity.kv === 1 ? hexOf(k.validity.spi) : undefined })),
    srtp: o.bundle ? srtpContexts(o.bundle).map((c) => ({ csId: c.csId, ssrc: c.ssrc, roc: c.roc, profile: c.profile, masterKey: hexOf(c.masterKey), masterSalt: hexOf(c.masterSalt), mki: c.mki && hexOf(c.mki) })) : undefined,
  };
}

async function demoCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP['demo']);
    return 0;
  }
  const rows = await runDemo();
  console.log(renderDemo(rows));
  return rows.every((r) => r.agree && r.media && r.media.authenticated === r.media.sent) ? 0 : 1;
}

function samplesCommand(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP['samples']);
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

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'decode': return decodeCommand(rest);
      case 'samples': return samplesCommand(rest);
      case 'demo': return await demoCommand(rest);
      case 'kms': return await kmsCommand(rest);
      case 'rtsp': return await (await import('./rtsp.js')).rtspCommand(rest);
      case 'start':
        if (rest.includes('--help') || rest.includes('-h')) {
          console.log(HELP['start']);
          return 0;
        }
        return await demoCommand(rest);
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
  process.exitCode = await main(process.argv.slice(2));
}
