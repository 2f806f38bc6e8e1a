// GStreamer's rtspsrc as the client of our RtspServer (gstreamer profile: the server's key in
// DESCRIBE, rtspsrc's own in SETUP for its SRTCP): its pipeline receives the frames, decrypted
// by its srtpdec, and every payload's checksum is one of the test pattern's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RtspServer } from '../../src/rtsp/server.js';
import { TestPatternSource, testPatternPayload } from '../../src/rtsp/source.js';
import { needPeer } from '../support/peer.js';

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function script(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'test', 'interop', 'rtsp', 'gst-rtspsrc.py');
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find test/interop/rtsp/gst-rtspsrc.py');
    dir = up;
  }
}

function problem(): string | null {
  const r = spawnSync(PYTHON, ['-c', "import gi\ngi.require_version('Gst','1.0')\nfrom gi.repository import Gst\nGst.init(None)\nm=[e for e in ('rtspsrc','srtpdec','appsink') if Gst.ElementFactory.find(e) is None]\nprint('missing: '+','.join(m) if m else 'ok')"], { encoding: 'utf8', timeout: 15_000 });
  if (r.error) return `${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return `python3-gi: ${r.stderr.trim().split('\n').pop()}`;
  return r.stdout.trim() === 'ok' ? null : `GStreamer elements ${r.stdout.trim()}`;
}

for (const protocols of ['udp', 'tcp'] as const) {
  test(`rtspsrc against our server over ${protocols}: every frame decrypted, checksums of the source's`, { timeout: 30_000 }, async (t) => {
    if (!needPeer(t, 'GStreamer rtspsrc', problem())) return;
    const source = new TestPatternSource({ intervalMs: 10 });
    const server = new RtspServer({ source, profile: 'gstreamer' });
    await server.listen();
    try {
      const child = spawn(PYTHON, [script(), '--url', server.url(), '--protocols', protocols, '--packets', '30', '--lifetime', '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
      child.stderr.setEncoding('utf8').on('data', (d: string) => { if (err.length < 4000) err += d; });
      await new Promise((r) => child.once('exit', r));
      clearTimeout(killer);
      const got = [...out.matchAll(/^PAYLOAD ([0-9a-f]{64})$/gm)].map((m) => m[1]!);
      assert.ok(got.length >= 30, `rtspsrc received ${got.length} frames\n${err}`);
      const pattern = new Set(Array.from({ length: source.count + 10 }, (_, n) => createHash('sha256').update(testPatternPayload(n)).digest('hex')));
      for (const h of got) assert.ok(pattern.has(h), 'a payload of the test pattern');
      assert.equal(new Set(got).size, got.length, 'no frame twice');
    } finally {
      await server.close();
      await source.close();
    }
  });
}
