// `mikey samples`: a line for each bundled sample message.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeMessage } from '../wire/decode.js';
import { DataType, PayloadType, registryInfo } from '../wire/registry.js';
import { EXIT, EXIT_HELP, PACKAGE_ROOT, parseCommand } from './args.js';

export const help = `Usage: mikey samples

Decodes every bundled sample message in samples/ and prints a one-line summary of each: file,
size, method and message (in one style: METHOD message), payloads.

${EXIT_HELP}`;

/** Each data type as "METHOD message" (RFC 3830 §6.1, RFC 4650, RFC 4738, RFC 6043, RFC 6267, RFC 6509). */
const MESSAGE: Record<number, string> = {
  [DataType.PreShared]: 'PSK init', [DataType.PskVerification]: 'PSK verification', [DataType.PublicKey]: 'PK init',
  [DataType.PkVerification]: 'PK verification', [DataType.DhInit]: 'DH init', [DataType.DhResp]: 'DH response', [DataType.Error]: 'error',
  [DataType.DhHmacInit]: 'DHHMAC init', [DataType.DhHmacResp]: 'DHHMAC response', [DataType.RsaRInit]: 'RSA-R init', [DataType.RsaRResp]: 'RSA-R response',
  [DataType.RequestInitPsk]: 'TICKET request init PSK', [DataType.RequestInitPk]: 'TICKET request init PK', [DataType.RequestResp]: 'TICKET request response',
  [DataType.TransferInit]: 'TICKET transfer init', [DataType.TransferResp]: 'TICKET transfer response', [DataType.ResolveInitPsk]: 'TICKET resolve init PSK',
  [DataType.ResolveInitPk]: 'TICKET resolve init PK', [DataType.ResolveResp]: 'TICKET resolve response', [DataType.RequestKeyPsk]: 'IBAKE key request PSK',
  [DataType.RequestKeyPke]: 'IBAKE key request PKE', [DataType.RequestKeyResp]: 'IBAKE key response', [DataType.IMessage1]: 'IBAKE init 1',
  [DataType.RMessage1]: 'IBAKE response 1', [DataType.IMessage2]: 'IBAKE init 2', [DataType.RMessage2]: 'IBAKE response 2', [DataType.Sakke]: 'SAKKE init',
};

/** The sample label of a data type: "METHOD message". */
export function messageLabel(dataType: number): string {
  return MESSAGE[dataType] ?? `unknown data type ${dataType}`;
}

export function run(argv: string[]): number {
  const { values } = parseCommand(argv, {}, { maxPositionals: 0 });
  if (values.help) {
    console.log(help);
    return EXIT.ok;
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
      console.log(`${f.padEnd(32)} ${String(bytes.length).padStart(5)} B  ${messageLabel(msg.header.dataType).padEnd(26)} ${kinds.join(' ')}`);
    } catch (e) {
      bad++;
      console.log(`${f.padEnd(32)} FAILED: ${(e as Error).message}`);
    }
  }
  console.log(`\n${files.length - bad} decoded, ${bad} failed`);
  return bad ? EXIT.data : EXIT.ok;
}
