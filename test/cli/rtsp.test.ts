// `mikey rtsp serve` and `mikey rtsp probe` as a user runs them: two processes, the probe's
// report (JSON), its decrypted capture read back, the exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../../src/rtsp/pcap.js';
import { testPatternPayload } from '../../src/rtsp/source.js';
import { CLI as cli, mikey, mikeyAll } from '../support/cli.js';
import { scaled, startChild } from '../support/child.js';

test('mikey rtsp serve + mikey rtsp probe --rekey-after --json --out', { timeout: scaled(60_000) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-rtsp-cli-'));
  // --seconds far beyond the test: the server must still stop at once on SIGTERM
  const server = await startChild('mikey rtsp serve', process.execPath, [cli, 'rtsp', 'serve', '--profile', 'axis', '--port', '0', '--seconds', '600', '-v'], (l) => /serving (rtsp:\/\/\S+)/.exec(l)?.[1]);
  const url = server.info;
  try {
    const pcap = join(dir, 'out.pcap');
    // two clients at once: the JSON report with a re-key over UDP, the text report over TCP
    const [r, t] = await Promise.all([
      mikey(['rtsp', 'probe', url, '--profile', 'axis', '--packets', '60', '--rekey-after', '20', '--json', '--out', pcap]),
      mikey(['rtsp', 'probe', url, '--profile', 'axis', '--packets', '10', '--transport', 'tcp']),
    ]);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}; server: ${server.stderr()}`);
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
    assert.equal(t.status, 0, `${t.stdout}${t.stderr}; server: ${server.stderr()}`);
    assert.match(t.stdout, /stream 0: audio PCMU\/8000, SSRC [0-9a-f]{8}, client-managed keys\n {4}SRTP {3}received \d+, authenticated \d+, failed 0/);
    assert.match(t.stdout, /result: SRTP works/);
  } finally {
    const t0 = Date.now();
    await server.stop();
    assert.ok(Date.now() - t0 < scaled(5000), `serve stopped ${Date.now() - t0} ms after SIGTERM`);
    if (!server.child.stdout!.closed) await once(server.child.stdout!, 'close');
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(server.child.exitCode, 0, server.stderr());
  assert.match(server.lines.join('\n'), /stopped: 2 sessions, \d+ SRTP packets sent, 1 re-keys/);
  assert.match(server.stderr(), /rekey \[[0-9a-f]+\]: new key MKI [0-9a-f]{8}, ROC \d+ kept/);
});

test('usage errors exit 2, --help exits 0', async () => {
  const usage = [['rtsp', 'probe', '--nope', 'rtsp://x/'], ['rtsp', 'probe', 'http://x/'], ['rtsp', 'serve'], ['rtsp', 'serve', '--seconds', 'x']];
  const help = [['rtsp', 'probe', '--help'], ['rtsp', 'serve', '--help']];
  const ran = await mikeyAll([...usage, ...help]);
  for (const [i, args] of usage.entries()) {
    const r = ran[i]!;
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^mikey rtsp/);
  }
  for (const [i, args] of help.entries()) {
    const r = ran[usage.length + i]!;
    assert.equal(r.status, 0, args.join(' '));
    assert.match(r.stdout, /^Usage: mikey rtsp/);
  }
});
