// gst-rtsp-server as a live peer: test/interop/rtsp/gst-rtsp-server.py in a child process with a
// hard lifetime, its GStreamer log in a file the test reads afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function script(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'test', 'interop', 'rtsp', 'gst-rtsp-server.py');
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find test/interop/rtsp/gst-rtsp-server.py');
    dir = up;
  }
}

let problem: string | null | undefined;

/** null when python3-gi, GstRtspServer and the srtp plugin are usable, else why not. */
export function gstRtspProblem(): string | null {
  if (problem !== undefined) return problem;
  const r = spawnSync(PYTHON, ['-c', [
    'import gi',
    "gi.require_version('Gst','1.0'); gi.require_version('GstRtspServer','1.0')",
    'from gi.repository import Gst, GstRtspServer',
    'Gst.init(None)',
    "missing=[e for e in ('srtpenc','srtpdec','audiotestsrc','mulawenc','rtppcmupay','rtpbin') if Gst.ElementFactory.find(e) is None]",
    "print('missing: ' + ','.join(missing) if missing else 'ok')",
  ].join('\n')], { encoding: 'utf8', timeout: 15_000 });
  if (r.error) problem = `${PYTHON}: ${r.error.message}`;
  else if (r.status !== 0) problem = `python3-gi / gir1.2-gst-rtsp-server-1.0: ${r.stderr.trim().split('\n').pop()}`;
  else problem = r.stdout.trim() === 'ok' ? null : `GStreamer elements ${r.stdout.trim()}`;
  return problem;
}

export interface GstRtspServer {
  port: number;
  child: ChildProcess;
  logFile: string;
  log(): string;
  /** Stop the server (SIGTERM, then SIGKILL after 2 s). */
  stop(): Promise<void>;
  /** Remove the log. */
  dispose(): void;
}

/** Start the server with srtp-key = key ‖ salt; resolves once it listens. */
export function startGstRtspServer(o: { keySalt: Uint8Array; lifetimeS?: number; debug?: string; cipher?: string; auth?: string; wave?: string; tlsPem?: string; protocols?: 'udp' | 'tcp' }): Promise<GstRtspServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-gst-rtsp-'));
  const logFile = join(dir, 'gst.log');
  const lifetime = o.lifetimeS ?? 20;
  const child = spawn(PYTHON, [script(), '--key', Buffer.from(o.keySalt).toString('hex'), '--lifetime', String(lifetime),
    ...(o.cipher ? ['--cipher', o.cipher] : []), ...(o.auth ? ['--auth', o.auth] : []), ...(o.wave ? ['--wave', o.wave] : []),
    ...(o.tlsPem ? ['--tls', o.tlsPem] : []), ...(o.protocols ? ['--protocols', o.protocols] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GST_DEBUG: o.debug ?? 'rtpsession:6,srtpdec:6,rtspstream:5', GST_DEBUG_FILE: logFile, GST_DEBUG_NO_COLOR: '1' },
  });
  // the hard stop, whatever the test does
  const killer = setTimeout(() => child.kill('SIGKILL'), (lifetime + 5) * 1000);
  killer.unref();
  const exited = new Promise<void>((res) => child.once('exit', () => { clearTimeout(killer); res(); }));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { if (stderr.length < 4000) stderr += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`gst-rtsp-server did not start: ${stderr.slice(0, 500)}`)); }, 10_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({
          port: Number(m[1]), child, logFile,
          log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
          stop: async () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
            const hard = setTimeout(() => child.kill('SIGKILL'), 2000);
            await exited;
            clearTimeout(hard);
          },
          dispose: () => rmSync(dir, { recursive: true, force: true }),
        });
      }
    });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`gst-rtsp-server exited (${code}): ${stderr.slice(0, 500)}`)); });
  });
}
