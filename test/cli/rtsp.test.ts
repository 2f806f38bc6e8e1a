// `mikey rtsp serve` and `mikey rtsp probe` as a user runs them: two processes, the probe's
// report (JSON), its decrypted capture read back, the exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../../src/rtsp/pcap.js';
import { testPatternPayload } from '../../src/rtsp/source.js';

const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

function mikey(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    c.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('mikey rtsp serve + mikey rtsp probe --rekey-after --json --out', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-rtsp-cli-'));
  const server = spawn(process.execPath, [cli, 'rtsp', 'serve', '--profile', 'axis', '--port', '0', '--seconds', '15', '-v'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  server.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      server.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const m = /serving (rtsp:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      server.once('exit', (c) => reject(new Error(`serve exited ${c}: ${err}`)));
    });
    const pcap = join(dir, 'out.pcap');
    const r = await mikey(['rtsp', 'probe', url, '--profile', 'axis', '--packets', '60', '--rekey-after', '20', '--json', '--out', pcap]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.ok, true);
    const s = rep.streams[0];
    assert.equal(s.codec, 'PCMU/8000');
    assert.equal(s.keyManagement, 'client');
    assert.equal(s.srtp.failed, 0);
    assert.ok(s.srtp.authenticated >= 60);
    assert.equal(s.mkis.length, 2);
    assert.equal(s.rekeys, 1);
    assert.equal(s.missing, 0);
    assert.ok(rep.notes.some((n: string) => n.startsWith('plain channel')));
    // the decrypted capture: the test pattern, in order
    const pkts = readCapture(new Uint8Array(readFileSync(pcap))).filter((p) => p.payload[1] === 0);
    assert.ok(pkts.length >= 60);
    for (const p of pkts) {
      const ts = new DataView(p.payload.buffer, p.payload.byteOffset).getUint32(4);
      assert.deepEqual(p.payload.subarray(12), testPatternPayload(ts / 160));
    }
    // text report
    const t = await mikey(['rtsp', 'probe', url, '--profile', 'axis', '--packets', '10', '--transport', 'tcp']);
    assert.equal(t.code, 0, t.stdout + t.stderr);
    assert.match(t.stdout, /stream 0: audio PCMU\/8000, SSRC [0-9a-f]{8}, client-managed keys\n {4}SRTP {3}received \d+, authenticated \d+, failed 0/);
    assert.match(t.stdout, /result: SRTP works/);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
  assert.match(out, /stopped: 2 sessions, \d+ SRTP packets sent, 1 re-keys/);
  assert.match(err, /rekey \[[0-9a-f]+\]: new key MKI [0-9a-f]{8}, ROC \d+ kept/);
});

test('usage errors exit 2, --help exits 0', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  for (const args of [['rtsp', 'probe', '--nope', 'rtsp://x/'], ['rtsp', 'probe', 'http://x/'], ['rtsp', 'serve']]) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^mikey rtsp/);
  }
  for (const args of [['rtsp', 'probe', '--help'], ['rtsp', 'serve', '--help']]) {
    const r = run(args);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: mikey rtsp/);
  }
});
