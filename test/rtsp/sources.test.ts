// `mikey rtsp serve --pcap FILE`: the RTP of a capture replayed with its timing; our client
// decrypts every packet and each payload is the capture's with the same RTP timestamp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeUdpPcap } from '../../src/rtsp/pcap.js';
import { RtspClient } from '../../src/rtsp/client.js';
import { until } from './helpers.js';

const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('mikey rtsp serve --pcap: the capture\'s RTP replayed, decrypted by the client, payloads equal', { timeout: 30_000 }, async () => {
  // 100 PCMU-sized packets, 5 ms apart, random payloads; other traffic in the capture is ignored
  const records = [];
  const byTs = new Map<number, string>();
  for (let i = 0; i < 100; i++) {
    const p = Buffer.alloc(12 + 160);
    p[0] = 0x80;
    p.writeUInt16BE(i, 2);
    p.writeUInt32BE(1000 + i * 160, 4);
    p.writeUInt32BE(0x11223344, 8);
    for (let j = 12; j < p.length; j++) p[j] = createHash('sha256').update(`${i}/${j >> 5}`).digest()[j & 31]!;
    byTs.set(1000 + i * 160, sha(p.subarray(12)));
    records.push({ time: 1_700_000_000 + i * 0.005, srcPort: 7000, dstPort: 7002, payload: new Uint8Array(p) });
    if (i % 10 === 0) records.push({ time: 1_700_000_000 + i * 0.005, srcPort: 53, dstPort: 5353, payload: new Uint8Array(Buffer.from('not rtp')) });
  }
  const dir = mkdtempSync(join(tmpdir(), 'mikey-serve-pcap-'));
  const file = join(dir, 'in.pcap');
  writeFileSync(file, writeUdpPcap(records));
  const server = spawn(process.execPath, [cli, 'rtsp', 'serve', '--profile', 'genetec', '--port', '0', '--pcap', file, '--seconds', '25'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  server.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  let client: RtspClient | undefined;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      server.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /serving (rtsp:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      server.once('exit', (c) => reject(new Error(`serve exited ${c}: ${err}`)));
    });
    const got: Array<[number, string]> = [];
    client = new RtspClient(url, { profile: 'genetec', onRtp: (_s, p) => got.push([new DataView(p.buffer, p.byteOffset).getUint32(4), sha(p.subarray(12))]) });
    await client.connect();
    await client.describe();
    const st = await client.setup(0);
    await client.play();
    // more than the capture holds: the replay loops
    await until(() => st.receiver.stats.rtp.authenticated >= 150, 20_000, '150 packets');
    await client.teardown();
    assert.equal(st.receiver.stats.rtp.failed, 0);
    for (const [ts, h] of got) assert.equal(h, byTs.get(ts), `RTP timestamp ${ts}: not the capture's payload`);
    assert.equal(new Set(got.map(([ts]) => ts)).size, 100, 'every packet of the capture served');
  } finally {
    client?.close();
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
  assert.match(out, /stopped: 1 sessions, \d+ SRTP packets sent/);
});
