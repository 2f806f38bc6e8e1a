// CLI start-up, side by side: `mikey decode HEX` beside `tshark -V` on one packet holding the same
// message (both start a process, load what decoding needs and print the tree), and `mikey --help`
// beside `node -e 0` (the floor: starting Node itself). Each operation is one process, run to exit.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage } from '../src/wire/index.js';
import { CORPUS } from '../test/wire/corpus.js';
import { compare, type BenchSection, type Side } from './harness.js';

const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

/** A process run to exit, `n` times in a row; fails loudly if it does not succeed. */
function proc(label: string, cmd: string, args: string[]): Side {
  return {
    label,
    batch(n) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        if (r.status !== 0) throw new Error(`${label}: status ${r.status}: ${r.stderr?.toString() ?? r.error}`);
      }
      return (performance.now() - t0) / 1000;
    },
  };
}

/** A pcap (LINKTYPE_RAW) with one IPv4/UDP packet to port 2269 carrying `msg` (RFC 3830 §10). */
function onePacketPcap(msg: Uint8Array): Buffer {
  const udpLen = 8 + msg.length;
  const ip = Buffer.alloc(20);
  ip.writeUInt8(0x45, 0); ip.writeUInt16BE(20 + udpLen, 2); ip.writeUInt8(64, 8); ip.writeUInt8(17, 9);
  Buffer.from([192, 0, 2, 1]).copy(ip, 12); Buffer.from([192, 0, 2, 2]).copy(ip, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(2269, 0); udp.writeUInt16BE(2269, 2); udp.writeUInt16BE(udpLen, 4);
  const pkt = Buffer.concat([ip, udp, Buffer.from(msg)]);
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0); gh.writeUInt16LE(2, 4); gh.writeUInt16LE(4, 6); gh.writeUInt32LE(65535, 16); gh.writeUInt32LE(101, 20);
  const rh = Buffer.alloc(16);
  rh.writeUInt32LE(pkt.length, 8); rh.writeUInt32LE(pkt.length, 12);
  return Buffer.concat([gh, rh, pkt]);
}

export const cliSection: BenchSection = {
  title: 'CLI start-up (mikey decode beside tshark)',
  async run() {
    const msg = encodeMessage(CORPUS.find((s) => s.name === 'psk-null')!.message);
    const hex = Buffer.from(msg).toString('hex');
    await compare({ name: 'mikey --help vs node -e 0 (start-up floor)', kind: 'floor', ours: proc('mikey --help', process.execPath, [CLI, '--help']), anchor: proc('node -e 0', process.execPath, ['-e', '0']), goal: 1.5, rounds: 7, batchMs: 300 });
    const t = spawnSync('tshark', ['-v'], { stdio: 'ignore' });
    if (t.status !== 0) {
      console.log('tshark not found: the decode row needs it (apt-get install -y tshark)');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'mikey-bench-cli-'));
    try {
      const pcap = join(dir, 'one.pcap');
      writeFileSync(pcap, onePacketPcap(msg));
      const check = spawnSync('tshark', ['-r', pcap, '-V', '-Y', 'mikey'], { encoding: 'utf8' });
      if (!/Multimedia Internet KEYing|MIKEY/i.test(check.stdout)) throw new Error(`tshark does not see MIKEY in the packet: ${check.stderr}`);
      await compare({ name: 'mikey decode HEX vs tshark -V (one packet)', kind: 'like-for-like', ours: proc('mikey decode HEX', process.execPath, [CLI, 'decode', hex]), anchor: proc('tshark -r one.pcap -V', 'tshark', ['-r', pcap, '-V']), goal: 1, rounds: 7, batchMs: 300 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
