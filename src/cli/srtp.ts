// `mikey srtp decrypt IN OUT`: the SRTP/SRTCP of a capture decrypted with the keys of its MIKEY
// messages (or keys given), written as a capture tshark and GStreamer read, with a report per stream.
import { readFileSync, writeFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { decryptCapture, formatDecryptReport, INTERLEAVED_UDP_BASE, type DirectKey } from '../rtsp/decrypt.js';
import { SRTP_PROFILES } from '../crypto/srtp-kdf.js';
import type { SrtpProfileName } from '../session/policy.js';
import { DataError, EXIT, EXIT_HELP, UsageError, parseCommand } from './args.js';

export const SRTP_DECRYPT_HELP = `Usage: mikey srtp decrypt IN.pcap OUT.pcap [options]

Finds the MIKEY messages of a capture (pcap or pcapng): RTSP DESCRIBE/ANNOUNCE SDP a=key-mgmt,
KeyMgmt headers (SETUP), SET_PARAMETER/GET_PARAMETER "mikey:" and "KeyMgmt:" parameter lines,
SDP in SIP, UDP port 2269. Opens them: MIKEY-NULL as it is, a pre-shared key with --psk, a
public-key message with --key. Follows every SRTP and SRTCP stream by SSRC and flow, over UDP
and RTSP interleaved on TCP (reassembled), picks each packet's key by its MKI (re-keys) or by
authentication, keeps the ROC across re-keys, and writes OUT with the media decrypted: same
frames and timing, UDP lengths and checksums fixed; packets that do not decrypt stay as they
were; interleaved media is added as UDP from and to port ${INTERLEAVED_UDP_BASE}+channel after
the frame that completed it. RTSP over TLS cannot be read: give its keys with --key-salt.

Options:
  --psk HEX            pre-shared key of MIKEY-PSK messages
  --key FILE           private key (PEM) of the responder of public-key messages (PKE)
  --key-salt HEX[:MKI] an SRTP master key ‖ master salt (and its MKI, hex), tried on every
                       stream (repeatable)
  --srtp-profile P     profile of the --key-salt keys (default AES_CM_128_HMAC_SHA1_80)
  --json               print the report as JSON
  -h, --help           this text

Prints per MIKEY message whether it opened and what it carried; per stream (SSRC, flow):
packets, decrypted, failed (and why: auth, mki, replay, no-key, malformed), the MKIs, the ROC,
where its keys came from.

Exit status: 0 when every packet of every stream announced in the capture (of every stream
when none is) decrypted; 1 when not (the report says which and why), or the input is not a
capture; 2 usage.`;

export const SRTP_HELP = `Usage: mikey srtp <subcommand> [options]

  decrypt IN OUT   decrypt the SRTP/SRTCP of a capture with the keys of its MIKEY messages

Run 'mikey srtp <subcommand> --help' for its options.

${EXIT_HELP}`;

function hexArg(name: string, v: string): Uint8Array {
  const clean = v.replace(/^0x/, '').replace(/[\s]/g, '');
  if (!/^([0-9a-fA-F]{2})+$/.test(clean)) throw new UsageError(`${name} takes hex bytes`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

export async function srtpCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'decrypt': return await decryptCommand(rest);
    case '--help': case '-h': case 'help':
      console.log(SRTP_HELP);
      return EXIT.ok;
    case undefined: throw new UsageError('a subcommand: decrypt');
    default: throw new UsageError(`unknown subcommand '${sub}'`);
  }
}

/** The command module's interface (main.ts's COMMANDS). */
export const help = SRTP_HELP;
export const run = srtpCommand;

async function decryptCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    psk: { type: 'string' }, key: { type: 'string' }, 'key-salt': { type: 'string', multiple: true }, 'srtp-profile': { type: 'string' }, json: { type: 'boolean' },
  }, { maxPositionals: 2 });
  if (values.help) {
    console.log(SRTP_DECRYPT_HELP);
    return EXIT.ok;
  }
  if (positionals.length !== 2) throw new UsageError('decrypt takes IN.pcap and OUT.pcap');
  const profile = values['srtp-profile'] ?? 'AES_CM_128_HMAC_SHA1_80';
  if (!(profile in SRTP_PROFILES)) throw new UsageError(`unknown SRTP profile ${profile} (${Object.keys(SRTP_PROFILES).join(', ')})`);
  const p = SRTP_PROFILES[profile as SrtpProfileName];
  const keys: DirectKey[] = (values['key-salt'] ?? []).map((ks) => {
    const [k, mki, extra] = ks.split(':');
    if (extra !== undefined) throw new UsageError('--key-salt takes HEX or HEX:MKI');
    const keySalt = hexArg('--key-salt', k!);
    if (keySalt.length !== p.masterKeyLen + p.masterSaltLen) throw new UsageError(`--key-salt: ${keySalt.length} bytes; ${profile} takes ${p.masterKeyLen + p.masterSaltLen} (a ${p.masterKeyLen}-byte key, then the ${p.masterSaltLen}-byte salt)`);
    return { keySalt, mki: mki === undefined ? undefined : hexArg('--key-salt MKI', mki), profile: profile as SrtpProfileName };
  });
  let privateKey: string | undefined;
  if (values.key) {
    privateKey = readFileSync(values.key, 'utf8');
    try {
      createPrivateKey(privateKey);
    } catch (e) {
      throw new DataError(`${values.key}: not a private key (PEM): ${(e as Error).message}`);
    }
  }
  const input = new Uint8Array(readFileSync(positionals[0]!));
  let result;
  try {
    result = await decryptCapture(input, { psk: values.psk ? hexArg('--psk', values.psk) : undefined, privateKey, keys, profile: profile as SrtpProfileName });
  } catch (e) {
    if (e instanceof Error && e.name === 'CaptureFormatError') throw new DataError(`${positionals[0]}: ${e.message}`);
    throw e;
  }
  writeFileSync(positionals[1]!, result.capture);
  if (values.json) console.log(JSON.stringify(result.report, null, 2));
  else console.log(formatDecryptReport(result.report));
  return result.report.ok ? EXIT.ok : EXIT.data;
}
