// `mikey decode`: MIKEY messages as a field tree (like tshark -V) or as JSON, a line per message.
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { MikeyDecodeError } from '../wire/errors.js';
import { KeyDataType, KvType } from '../wire/registry.js';
import { describeMessage, renderTree, type Field } from './describe.js';
import { openKemac, type OpenedKemac } from '../modes/kit/inspect.js';
import { srtpContexts } from '../session/bundle.js';
import { registryInfo } from '../wire/registry.js';
import { InputError, readInputs } from './input.js';
import { DECODE_MCX_HELP, decodeTolerant, deviationFields } from './deviations.js';
import { messageJson } from './json.js';
import { DataError, EXIT, EXIT_HELP, UsageError, jsonLine, parseCommand } from './args.js';

export const help = `Usage: mikey decode [--json] [--lenient-trailing] [--strict] [--psk HEX | --key FILE | --keys FILE --user URI] [INPUT]

Decodes MIKEY messages and prints every field with its registry name and value.

INPUT is one of:
  a hex string            01000500...
  base64                  AQAFAA...
  an SDP body or line     a=key-mgmt:mikey AQAFAA...   (every mikey line is decoded)
  an RTSP header          KeyMgmt: prot=mikey; uri="rtsp://cam/track1"; data="AQAF..."
  a capture file          pcap or pcapng: MIKEY on UDP 2269, in SIP SDP and in RTSP (UDP or
                          TCP), each message printed with its packet number; a capture cut
                          short is decoded up to the cut, with a warning (and status 1)
  a file                  holding any of the above as text, or the raw message bytes
  - or nothing            standard input (text or raw bytes, as a file)

Options:
  --json                  print each decoded message as one JSON object on its own line (NDJSON):
                          bytes in hex, payload offsets and lengths, every coded field with its
                          registry name
  --lenient-trailing      accept bytes after the last payload (reported)
  --psk HEX               pre-shared key: check the KEMAC MAC, decrypt it, show the TGKs and
                          the SRTP master keys and salts of every crypto session
  --key FILE              the responder's RSA private key (PEM): open the envelope (PKE) and
                          then the KEMAC of a public-key message
  --rand HEX              RAND of the first message, to open an update message (which has none)
  --strict                refuse deviations of deployed senders instead of marking them
  -h, --help              this text
${DECODE_MCX_HELP}

${EXIT_HELP}
A message that does not decode, or a KEMAC whose MAC does not verify, gives status 1 with a
one-line error saying where and why.`;

const OPTIONS = {
  json: { type: 'boolean' }, 'lenient-trailing': { type: 'boolean' }, psk: { type: 'string' }, key: { type: 'string' }, rand: { type: 'string' },
  strict: { type: 'boolean' }, keys: { type: 'string', multiple: true }, user: { type: 'string' }, initiator: { type: 'string' }, now: { type: 'string' },
} as const;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, OPTIONS, { maxPositionals: 1 });
  if (values.help) {
    console.log(help);
    return EXIT.ok;
  }
  if (values.psk && values.key) throw new UsageError('--psk and --key do not go together');
  const psk = values.psk ? hexArg('--psk', values.psk) : undefined;
  const rand = values.rand ? hexArg('--rand', values.rand) : undefined;
  const privateKey = values.key ? readFileSync(values.key, 'utf8') : undefined;
  if (privateKey !== undefined) {
    try {
      createPrivateKey(privateKey);
    } catch (e) {
      throw new DataError(`${values.key}: not a private key (PEM): ${(e as Error).message}`);
    }
  }
  const { messages: found, warnings } = readInputs(positionals[0]);
  for (const w of warnings) console.error(`mikey decode: warning: ${w}`);
  // a capture cut short: what was before the cut is printed, and the status says the input was damaged
  let status: number = warnings.length ? EXIT.data : EXIT.ok;
  // MIKEY-SAKKE with MCX key material: the inspector (decode-mcx.ts)
  if (values.keys) return Math.max(status, await (await import('./decode-mcx.js')).decodeMcx(found, values));
  for (const [i, m] of found.entries()) {
    const where = found.length > 1 ? `message ${i + 1} (${m.source})` : m.source;
    try {
      const { msg, deviations } = await decodeTolerant(m.bytes, { strict: values.strict === true, allowTrailingBytes: values['lenient-trailing'] === true });
      const tree = describeMessage(msg);
      tree.children!.push(...deviationFields(deviations));
      if (msg.trailingBytes) tree.children!.push({ name: 'Trailing bytes (accepted)', value: msg.trailingBytes });
      const opened = psk || privateKey ? openKemac(msg, psk ? { psk } : { privateKey: privateKey! }, rand) : undefined;
      if (opened) {
        tree.children!.push(describeOpened(opened));
        if (!opened.macValid || opened.problem) status = EXIT.data;
      }
      if (values.json) jsonLine({ source: m.source, ...(messageJson(msg) as object), trailingBytes: msg.trailingBytes, deviations, opened: opened && openedJson(opened) });
      else {
        if (found.length > 1) console.log(`# ${where}`);
        console.log(renderTree(tree).join('\n'));
      }
    } catch (e) {
      if (!(e instanceof MikeyDecodeError) && !(e instanceof InputError)) throw e;
      console.error(`mikey decode: ${where}: ${e.message}`);
      status = EXIT.data;
    }
  }
  return status;
}

function hexArg(name: string, v: string): Uint8Array {
  const clean = v.replace(/^0x/, '').replace(/[\s:]/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw new UsageError(`${name} takes hex bytes`);
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
      ...(k.validity.kv === KvType.Spi ? [{ name: 'SPI/MKI', value: hexOf(k.validity.spi) }] : []),
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
    keys: o.keys.map((k) => ({ keyType: k.keyType, keyTypeName: registryInfo(KeyDataType).label(k.keyType), key: hexOf(k.keyData), salt: k.salt && hexOf(k.salt), mki: k.validity.kv === KvType.Spi ? hexOf(k.validity.spi) : undefined })),
    srtp: o.bundle ? srtpContexts(o.bundle).map((c) => ({ csId: c.csId, ssrc: `0x${c.ssrc.toString(16).padStart(8, '0')}`, roc: c.roc, profile: c.profile, masterKey: hexOf(c.masterKey), masterSalt: hexOf(c.masterSalt), mki: c.mki && hexOf(c.mki) })) : undefined,
  };
}
