// A camera probe: one RtspClient run (OPTIONS, DESCRIBE, SETUP of every SRTP stream, PLAY, an
// optional re-key, TEARDOWN) that reports per stream what was received, authenticated and
// refused, the MKIs and ROC, how the keys were managed, and every quirk and deviation met; and
// the decrypted RTP/RTCP with their arrival times for a capture.
import { RtspClient, type RtspClientOptions, type ClientStream } from './client.js';
import { profileDeviations } from './profiles.js';
import type { MediaCounters } from './media.js';
import { writeUdpPcap, type PcapRecord } from './pcap.js';
import type { QuirkReport } from '../profiles/rtsp-null.js';

export interface ProbeOptions extends Omit<RtspClientOptions, 'onRtp' | 'onRtcp'> {
  /** Stop after this many SRTP packets on every stream (default 100). */
  packets?: number;
  /** Re-key (SET_PARAMETER) once after this many authenticated packets on a stream. */
  rekeyAfter?: number;
  /** Ask for the current key by GET_PARAMETER after PLAY (ONVIF multicast). */
  getKey?: boolean;
  /** Give up on packets after this long (default 10 s). */
  waitMs?: number;
  /** Keep the decrypted packets for a capture. */
  capture?: boolean;
}

export interface ProbeStream {
  index: number;
  media: string;
  codec: string;
  uri: string;
  ssrc: string;
  keyManagement: 'server' | 'client';
  srtp: MediaCounters;
  srtcp: MediaCounters;
  mkis: string[];
  roc: number;
  missing: number;
  rekeys: number;
  /** group:port of a multicast stream, and how often its key was fetched by GET_PARAMETER. */
  multicast?: { group: string; keyFetches: number };
  firstError?: string;
}

export interface ProbeReport {
  url: string;
  profile: string;
  tls: boolean;
  server?: string;
  methods?: string;
  streams: ProbeStream[];
  quirks: QuirkReport[];
  notes: string[];
  deviations: string[];
  problems: string[];
  /** Every stream received packets and every one authenticated. */
  ok: boolean;
  /** Decrypted packets (capture: true). */
  records: PcapRecord[];
}

function streamReport(st: ClientStream): ProbeStream {
  const s = st.receiver.stats;
  return {
    index: st.index, media: st.media.media, codec: st.media.rtpmap ?? `payload type ${st.media.payloadType}`, uri: st.uri,
    ssrc: (st.receiver.ssrc || st.ssrc).toString(16).padStart(8, '0'), keyManagement: st.keyMode,
    srtp: s.rtp, srtcp: s.rtcp, mkis: s.mkis, roc: s.roc, missing: s.missing, rekeys: st.rekeys, firstError: s.firstError,
    ...(st.multicast ? { multicast: { group: `${st.multicast.group}:${st.multicast.port}`, keyFetches: st.multicast.fetches } } : {}),
  };
}

export async function probe(url: string, o: ProbeOptions = {}): Promise<ProbeReport> {
  const records: PcapRecord[] = [];
  const record = (st: ClientStream, p: Uint8Array, rtcp: boolean) => {
    if (!o.capture) return;
    const sp = st.transport.serverPort ?? [5000 + 2 * st.index, 5001 + 2 * st.index];
    const cp = st.transport.clientPort ?? (st.udp ? [st.udp.port, st.udp.port + 1] : [6000 + 2 * st.index, 6001 + 2 * st.index]);
    records.push({ time: Date.now() / 1000, srcPort: sp[rtcp ? 1 : 0], dstPort: cp[rtcp ? 1 : 0], payload: p });
  };
  const client = new RtspClient(url, { ...o, onRtp: (st, p) => record(st, p, false), onRtcp: (st, p) => record(st, p, true) });
  const problems: string[] = [];
  const want = o.packets ?? 100;
  try {
    await client.connect();
    await client.options().catch((e: Error) => problems.push(`OPTIONS: ${e.message}`));
    const media = await client.describe();
    for (let i = 0; i < media.length; i++) {
      try {
        await client.setup(i);
      } catch (e) {
        problems.push(`stream ${i}: ${(e as Error).message}`);
      }
    }
    if (client.streams.length) {
      await client.play();
      if (o.getKey) {
        const k = await client.currentKey(0).catch((e: Error) => { problems.push(`GET_PARAMETER: ${e.message}`); return undefined; });
        if (k) client.notes.push(`GET_PARAMETER: current key MKI ${k.mki ? Buffer.from(k.mki).toString('hex') : 'none'}, ROC ${k.roc}`);
      }
      const deadline = Date.now() + (o.waitMs ?? 10_000);
      const rekeyed = new Set<number>();
      await new Promise<void>((resolve) => {
        const tick = async () => {
          const all = client.streams.every((st) => st.receiver.stats.rtp.received >= want);
          if (all || Date.now() > deadline) return resolve();
          for (const st of client.streams) {
            if (o.rekeyAfter && !rekeyed.has(st.index) && st.receiver.stats.rtp.authenticated >= o.rekeyAfter) {
              rekeyed.add(st.index);
              await client.rekey(st.index).catch((e: Error) => problems.push(`re-key of stream ${st.index}: ${e.message}`));
            }
          }
          setTimeout(() => void tick(), 10);
        };
        void tick();
      });
      for (const st of client.streams) {
        if (st.receiver.stats.rtp.received < want) problems.push(`stream ${st.index}: ${st.receiver.stats.rtp.received} of ${want} SRTP packets within ${(o.waitMs ?? 10_000) / 1000} s`);
      }
      await client.teardown();
    }
  } catch (e) {
    problems.push((e as Error).message);
  } finally {
    client.close();
  }
  const streams = client.streams.map(streamReport);
  for (const s of streams) {
    if (s.srtp.failed) problems.push(`stream ${s.index}: ${s.srtp.failed} SRTP packets refused (${Object.entries(s.srtp.failures).map(([k, v]) => `${k} ${v}`).join(', ')}): ${s.firstError}`);
    if (s.srtcp.failed) problems.push(`stream ${s.index}: ${s.srtcp.failed} SRTCP packets refused`);
  }
  const ok = streams.length > 0 && problems.length === 0 && streams.every((s) => s.srtp.authenticated > 0 && s.srtp.failed === 0);
  return {
    url: client.requestUrl, profile: client.profile.name, tls: client.tls, server: client.server, methods: client.methods, streams,
    quirks: client.quirks, notes: client.notes, deviations: profileDeviations(client.profile), problems, ok, records,
  };
}

/** The report as text, a line per fact. */
export function formatProbe(r: ProbeReport): string {
  const out = [`${r.url}  profile ${r.profile}${r.tls ? ', RTSP over TLS' : ''}`];
  if (r.server) out.push(`  server: ${r.server}`);
  if (r.methods) out.push(`  methods: ${r.methods}`);
  for (const s of r.streams) {
    out.push(`  stream ${s.index}: ${s.media} ${s.codec}, SSRC ${s.ssrc}, ${s.keyManagement}-managed keys${s.multicast ? `, multicast ${s.multicast.group} (key fetched ${s.multicast.keyFetches} time(s) by GET_PARAMETER)` : ''}`);
    out.push(`    SRTP   received ${s.srtp.received}, authenticated ${s.srtp.authenticated}, failed ${s.srtp.failed}${s.missing ? `, ${s.missing} missing` : ''}`);
    out.push(`    SRTCP  received ${s.srtcp.received}, authenticated ${s.srtcp.authenticated}, failed ${s.srtcp.failed}`);
    out.push(`    MKIs   ${s.mkis.length ? s.mkis.join(', ') : 'none'}`);
    out.push(`    ROC    ${s.roc}`);
    out.push(`    re-keys ${s.rekeys}`);
  }
  out.push(`  quirks:${r.quirks.length ? '' : ' none'}`);
  for (const q of r.quirks) out.push(`    ${q.quirk}: ${q.detail}${q.accepted ? ' (accepted)' : ' (refused)'}`);
  for (const n of r.notes) out.push(`  note: ${n}`);
  for (const d of r.deviations) out.push(`  profile deviation: ${d}`);
  for (const p of r.problems) out.push(`  problem: ${p}`);
  const srtpOk = r.streams.length > 0 && r.streams.every((s) => s.srtp.authenticated > 0 && s.srtp.failed === 0);
  out.push(r.ok ? 'result: SRTP works: every packet authenticated and decrypted'
    : srtpOk ? 'result: SRTP works, but not everything asked for (see the problems above)' : 'result: SRTP does NOT work (see the problems above)');
  return out.join('\n');
}

/** The decrypted packets as a pcap. */
export function probeCapture(r: ProbeReport): Buffer {
  return writeUdpPcap(r.records);
}
