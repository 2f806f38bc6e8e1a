// Shared by the RTSP tests: a self-signed certificate for rtsps, and one client-server run
// (DESCRIBE, SETUP, PLAY, a re-key after some packets, TEARDOWN) that checks every payload
// against the test pattern.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { RtspServer, type RtspServerOptions } from '../../src/rtsp/server.js';
import { RtspClient, type RtspClientOptions } from '../../src/rtsp/client.js';
import { TestPatternSource, testPatternPayload } from '../../src/rtsp/source.js';
import type { MediaStats } from '../../src/rtsp/media.js';

let cert: { key: string; cert: string } | undefined;

/** A self-signed certificate for 127.0.0.1 / localhost (openssl). */
export function selfSigned(): { key: string; cert: string } {
  if (cert) return cert;
  const dir = mkdtempSync(join(tmpdir(), 'mikey-rtsp-tls-'));
  try {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
    cert = { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
    return cert;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Resolves when `cond()` holds (checked on every packet event and every 10 ms), rejects after `ms`. */
export function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const i = setInterval(() => {
      if (cond()) { clearInterval(i); resolve(); } else if (Date.now() - t0 > ms) { clearInterval(i); reject(new Error(`timeout waiting for ${what}`)); }
    }, 10);
  });
}

export interface RunResult {
  current?: { mki?: Uint8Array; roc: number; ssrc: number; added: boolean };
  stats: MediaStats;
  keyMode: string;
  notes: string[];
  quirks: string[];
  payloadsChecked: number;
  server: RtspServer;
  client: RtspClient;
}

/** One session: `packets` authenticated packets, a re-key after `rekeyAfter` (0: none). */
export async function run(serverOpts: Partial<RtspServerOptions>, clientOpts: RtspClientOptions, o: { packets?: number; rekeyAfter?: number; getKey?: boolean } = {}): Promise<RunResult> {
  const source = new TestPatternSource({ intervalMs: 2 });
  const server = new RtspServer({ source, seqStart: 65520, rtcpEvery: 10, ...serverOpts });
  await server.listen();
  let checked = 0;
  let wrong = 0;
  const client = new RtspClient(server.url(), {
    ...clientOpts,
    rtcpEvery: 10,
    onRtp: (_s, p) => {
      const ts = new DataView(p.buffer, p.byteOffset).getUint32(4);
      if (Buffer.compare(p.subarray(12), testPatternPayload(ts / 160)) === 0) checked++;
      else wrong++;
    },
  });
  try {
    await client.connect();
    await client.options();
    await client.describe();
    const st = await client.setup(0);
    await client.play();
    const want = o.packets ?? 40;
    const stats = st.receiver.stats;
    if (o.rekeyAfter) {
      await until(() => stats.rtp.authenticated >= o.rekeyAfter!, 8000, `${o.rekeyAfter} packets`);
      await client.rekey(0);
    }
    if (o.getKey) await until(() => stats.rtp.authenticated >= 20, 8000, '20 packets');
    const current = o.getKey ? await client.currentKey(0) : undefined;
    await until(() => stats.rtp.authenticated >= want, 8000, `${want} packets`);
    await client.teardown();
    assert.equal(wrong, 0, 'payloads that differ from the test pattern');
    return { current, stats, keyMode: st.keyMode, notes: client.notes, quirks: client.quirks.map((q) => q.quirk), payloadsChecked: checked, server, client };
  } finally {
    client.close();
    await server.close();
    await source.close();
  }
}
