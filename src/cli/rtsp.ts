// `mikey rtsp`: probe a camera's SRTP keyed by MIKEY, serve a secure stream, list the vendor profiles.
import { readFileSync, writeFileSync } from 'node:fs';
import { probe, formatProbe, probeCapture } from '../rtsp/probe.js';
import { RTSP_PROFILE_NAMES, RTSP_PROFILES, profileDeviations, rtspProfile } from '../rtsp/profiles.js';
import { RtspServer, type RtspMulticastOptions } from '../rtsp/server.js';
import { TestPatternSource, UdpRtpSource, PcapRtpSource, type RtpSource, type RtpSourceInfo } from '../rtsp/source.js';
import { SRTP_PROFILES } from '../crypto/srtp-kdf.js';
import type { SrtpProfileName } from '../session/policy.js';
import { DataError, EXIT, EXIT_HELP, UsageError, parseCommand } from './args.js';

export const RTSP_HELP = `Usage: mikey rtsp <probe|serve|profiles> [options]

  probe URL       talk to a camera (rtsp:// or rtsps://) and report whether its SRTP works
  serve           serve an RTP stream over RTSP with SRTP keyed by MIKEY
  profiles        list the vendor profiles, where each comes from and how it deviates

Run 'mikey rtsp <subcommand> --help' for its options.

${EXIT_HELP}`;

export const RTSP_PROBE_HELP = `Usage: mikey rtsp probe URL [options]

OPTIONS, DESCRIBE, SETUP of every SRTP stream (the server's key from a=key-mgmt, or ours in
KeyMgmt, falling back to the other on 463), PLAY, TEARDOWN. Prints per stream: codec, SRTP and
SRTCP packets received/authenticated/failed, the MKIs seen, the ROC, the key management, and
every quirk and profile deviation met. Credentials go in the URL (rtsp://user:pass@host/...).

Options:
  --profile NAME      onvif (default), axis, milestone, hanwha, gstreamer, live555, genetec
  --key-mgmt MODE     auto (default: the profile's way, then the other on 463), server, client
  --transport T       udp (default), tcp (RTP interleaved on the RTSP connection) or
                      multicast (join the server's group; its key and ROC by GET_PARAMETER,
                      fetched again when the group is re-keyed: ONVIF)
  --packets N         stop after N SRTP packets per stream (default 100)
  --rekey-after N     re-key by SET_PARAMETER (new MKI, ROC kept) after N packets
  --get-key           ask for the current key by GET_PARAMETER (ONVIF multicast)
  --wait S            give up waiting for packets after S seconds (default 10)
  --json              print the report as JSON
  --out FILE.pcap     write the decrypted RTP/RTCP with their arrival times
  --ca FILE           trust this CA (PEM) for rtsps
  --insecure          rtsps without certificate verification (lab cameras; reported)
  --allow-plain       let the onvif profile exchange keys without TLS (reported)
  -h, --help          this text

Exit status: 0 when every stream's packets authenticate (and what was asked, such as the
re-key, succeeded); 1 when not: the report says why; 2 usage (unknown option, a missing URL).`;

export const RTSP_SERVE_HELP = `Usage: mikey rtsp serve [options]

Serves one RTP stream at rtsp://HOST:PORT/stream with SRTP keyed by MIKEY: the server's key in
DESCRIBE, the client's accepted in SETUP, re-keys by SET_PARAMETER (ROC kept), the current key
by GET_PARAMETER, 463 on key-management errors. Prints the URL, then runs until stopped.

Options:
  --profile NAME      behave as this vendor's device (default onvif: needs --tls-cert or --allow-plain)
  --host H            listen address (default 127.0.0.1)
  --port N            RTSP port (default 8554; 0 picks one)
  --udp-port N        serve RTP arriving on this UDP port (e.g. from GStreamer or FFmpeg)
  --pcap FILE         serve the RTP of a capture, replayed with its timing
  --rtpmap ENC        encoding of --udp-port/--pcap RTP (default PCMU/8000)
  --payload-type N    payload type of that RTP (default 0)
  --media M           audio (default) or video
                      (without --udp-port or --pcap: a PCMU test pattern)
  --srtp-profile P    SRTP protection profile (default AES_CM_128_HMAC_SHA1_80)
  --tls-cert FILE     serve rtsps with this certificate (PEM) ...
  --tls-key FILE      ... and key
  --allow-plain       key media on a plain channel even for onvif (reported)
  --user U:P          require this user (repeatable), with --auth digest (default) or basic
  --auth SCHEME       digest or basic
  --multicast G[:P]   offer multicast: one stream to group G (port P, default random even)
                      for every SETUP asking for it; clients fetch its key by GET_PARAMETER
  --ttl N             multicast TTL (default 1)
  --rekey-every N     re-key the multicast stream every N packets (new MKI, ROC kept)
  --seconds N         stop after N seconds
  -v, --verbose       log requests, key management and re-keys to stderr
  -h, --help          this text

${EXIT_HELP}`;

function int(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d{1,9}$/.test(v)) throw new UsageError(`${name} takes a number, not "${v}"`);
  return Number(v);
}

export async function rtspCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'probe': return await probeCommand(rest);
    case 'serve': return await serveCommand(rest);
    case 'profiles': return profilesCommand(rest);
    case '--help': case '-h': case 'help':
      console.log(RTSP_HELP);
      return EXIT.ok;
    case undefined: throw new UsageError('a subcommand: probe, serve or profiles');
    default: throw new UsageError(`unknown subcommand '${sub}'`);
  }
}

/** The command module's interface (main.ts's COMMANDS). */
export const help = RTSP_HELP;
export const run = rtspCommand;

async function probeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
      profile: { type: 'string' }, 'key-mgmt': { type: 'string' }, transport: { type: 'string' }, packets: { type: 'string' },
      'rekey-after': { type: 'string' }, 'get-key': { type: 'boolean' }, wait: { type: 'string' }, json: { type: 'boolean' },
      out: { type: 'string' }, ca: { type: 'string' }, insecure: { type: 'boolean' }, 'allow-plain': { type: 'boolean' },
  });
  if (values.help) {
    console.log(RTSP_PROBE_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('probe takes one URL');
  const profile = values.profile ?? 'onvif';
  if (!(RTSP_PROFILE_NAMES as string[]).includes(profile)) throw new UsageError(`unknown profile "${profile}" (${RTSP_PROFILE_NAMES.join(', ')})`);
  const km = values['key-mgmt'] ?? 'auto';
  if (!['auto', 'server', 'client'].includes(km)) throw new UsageError('--key-mgmt is auto, server or client');
  const transport = values.transport ?? 'udp';
  if (transport !== 'udp' && transport !== 'tcp' && transport !== 'multicast') throw new UsageError('--transport is udp, tcp or multicast');
  if (!/^rtsps?:\/\//.test(positionals[0]!)) throw new UsageError(`not an rtsp:// or rtsps:// URL: ${positionals[0]}`);
  const report = await probe(positionals[0]!, {
    profile: rtspProfile(profile), keyMgmt: km as 'auto', transport, packets: int('--packets', values.packets, 100),
    rekeyAfter: values['rekey-after'] === undefined ? undefined : int('--rekey-after', values['rekey-after'], 0),
    getKey: values['get-key'], waitMs: int('--wait', values.wait, 10) * 1000, capture: values.out !== undefined,
    insecure: values.insecure, allowPlain: values['allow-plain'], tls: values.ca ? { ca: readFileSync(values.ca, 'utf8') } : undefined,
  });
  if (values.out) writeFileSync(values.out, probeCapture(report));
  if (values.json) {
    const { records, ...rest } = report;
    console.log(JSON.stringify({ ...rest, captured: records.length }, null, 2));
  } else console.log(formatProbe(report));
  return report.ok ? 0 : 1;
}

function profilesCommand(argv: string[]): number {
  const { values } = parseCommand(argv, {}, { maxPositionals: 0 });
  if (values.help) {
    console.log('Usage: mikey rtsp profiles\n\nLists the vendor profiles: where each behaviour comes from, and what it does differently from ONVIF.');
    return 0;
  }
  for (const name of RTSP_PROFILE_NAMES) {
    const p = RTSP_PROFILES[name];
    console.log(`${name}: ${p.source}`);
    for (const d of profileDeviations(p)) console.log(`  - ${d}`);
  }
  return 0;
}

async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(argv, {
      profile: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, 'udp-port': { type: 'string' }, pcap: { type: 'string' },
      rtpmap: { type: 'string' }, 'payload-type': { type: 'string' }, media: { type: 'string' }, 'srtp-profile': { type: 'string' },
      'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'allow-plain': { type: 'boolean' }, user: { type: 'string', multiple: true },
      auth: { type: 'string' }, seconds: { type: 'string' }, verbose: { type: 'boolean', short: 'v' },
      multicast: { type: 'string' }, ttl: { type: 'string' }, 'rekey-every': { type: 'string' },
  }, { maxPositionals: 0 });
  if (values.help) {
    console.log(RTSP_SERVE_HELP);
    return 0;
  }
  const profile = rtspProfile(values.profile ?? 'onvif');
  const srtp = values['srtp-profile'] ?? 'AES_CM_128_HMAC_SHA1_80';
  if (!(srtp in SRTP_PROFILES)) throw new UsageError(`unknown SRTP profile ${srtp}`);
  if (!!values['tls-cert'] !== !!values['tls-key']) throw new UsageError('--tls-cert and --tls-key go together');
  if (profile.requireTls && !values['tls-cert'] && !values['allow-plain']) throw new UsageError(`profile ${profile.name} keys media only over TLS: give --tls-cert and --tls-key, or --allow-plain`);
  const media = values.media ?? 'audio';
  if (media !== 'audio' && media !== 'video') throw new UsageError('--media is audio or video');
  const info: RtpSourceInfo = { media, payloadType: int('--payload-type', values['payload-type'], 0), rtpmap: values.rtpmap ?? 'PCMU/8000' };
  let source: RtpSource;
  if (values['udp-port'] && values.pcap) throw new UsageError('--udp-port or --pcap, not both');
  if (values['udp-port']) source = await UdpRtpSource.open(info, int('--udp-port', values['udp-port'], 0), values.host ?? '127.0.0.1');
  else if (values.pcap) {
    try {
      source = new PcapRtpSource(info, values.pcap);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code) throw e;
      throw new DataError(`${values.pcap}: ${(e as Error).message}`);
    }
  }
  else source = new TestPatternSource();
  const users: Record<string, string> = {};
  for (const u of values.user ?? []) {
    const i = u.indexOf(':');
    if (i < 1) throw new UsageError('--user takes USER:PASSWORD');
    users[u.slice(0, i)] = u.slice(i + 1);
  }
  let multicast: RtspMulticastOptions | undefined;
  if (values.multicast) {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(values.multicast);
    const first = m ? Number(m[1]!.split('.')[0]) : 0;
    if (!m || first < 224 || first > 239) throw new UsageError('--multicast takes an IPv4 group (224.0.0.0 to 239.255.255.255) and an optional :PORT');
    const port = m[2] === undefined ? undefined : Number(m[2]);
    if (port !== undefined && (port % 2 !== 0 || port > 65534)) throw new UsageError('--multicast port must be even (RTCP goes to the next)');
    multicast = { group: m[1]!, port, ttl: int('--ttl', values.ttl, 1), rekeyEvery: values['rekey-every'] === undefined ? undefined : int('--rekey-every', values['rekey-every'], 0) };
  } else if (values.ttl || values['rekey-every']) throw new UsageError('--ttl and --rekey-every go with --multicast');
  const seconds = values.seconds === undefined ? undefined : int('--seconds', values.seconds, 0);
  const scheme = values.auth ?? 'digest';
  if (scheme !== 'digest' && scheme !== 'basic') throw new UsageError('--auth is digest or basic');
  const server = new RtspServer({
    source, profile, srtpProfile: srtp as SrtpProfileName, host: values.host, port: int('--port', values.port, 8554),
    tls: values['tls-cert'] ? { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']!) } : undefined,
    allowPlain: values['allow-plain'], auth: values.user ? { scheme, users } : undefined, multicast,
    onEvent: values.verbose ? (e) => console.error(`${new Date().toISOString()} ${e.type}${e.session ? ` [${e.session}]` : ''}: ${e.detail}`) : undefined,
  });
  await server.listen();
  console.log(`serving ${server.url()} (profile ${profile.name}, ${srtp}${multicast ? `, multicast ${multicast.group}` : ''})`);
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (seconds !== undefined) timer = setTimeout(resolve, seconds * 1000);
  });
  // a signal before --seconds ran out: the timer must not hold the process
  clearTimeout(timer);
  await server.close();
  await source.close();
  const s = server.stats;
  console.log(`stopped: ${s.sessions} sessions, ${s.rtpSent} SRTP packets sent, ${s.rekeys} re-keys, ${s.rtcpAuthenticated}/${s.rtcpReceived} SRTCP authenticated, ${s.refused} refused`);
  return 0;
}
