// The package as published: `npm pack`, then a fresh strict TypeScript consumer (skipLibCheck off)
// type-checks and runs against the tarball, offline: the tarball is unpacked into the consumer's
// node_modules beside the project's installed dependencies, without the optional peers (pg,
// better-sqlite3, werift-rtp) and without any dev-only types. What the tarball holds is checked too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = process.cwd();
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; peerDependencies?: Record<string, string>; devDependencies: Record<string, string> };
const dir = mkdtempSync(join(tmpdir(), 'mikey-pack-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function walk(d: string, base = d): string[] {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name), base) : [join(d, e.name).slice(base.length + 1)]));
}

let unpacked: string | undefined;
function packed(): string {
  if (unpacked) return unpacked;
  // dist/ is built by pretest; no scripts, no network
  const r = spawnSync('npm', ['pack', '--ignore-scripts', '--offline', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const file = (JSON.parse(r.stdout) as Array<{ filename: string }>)[0]!.filename;
  const consumer = join(dir, 'consumer');
  const target = join(consumer, 'node_modules', 'mikey');
  mkdirSync(target, { recursive: true });
  const x = spawnSync('tar', ['-xzf', join(dir, file), '-C', target, '--strip-components=1'], { encoding: 'utf8' });
  assert.equal(x.status, 0, x.stderr);
  unpacked = target;
  return target;
}

test('the tarball holds LICENSE, docs/ and ARCHITECTURE.md, and no source map pointing at a file it does not ship', () => {
  const t = packed();
  const files = new Set(walk(t));
  for (const f of ['LICENSE', 'README.md', 'ARCHITECTURE.md', 'package.json', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js']) assert.ok(files.has(f), `${f} shipped`);
  assert.ok([...files].some((f) => f.startsWith('docs/')), 'docs/ shipped');
  assert.match(readFileSync(join(t, 'LICENSE'), 'utf8'), /MIT License/);
  assert.ok(![...files].some((f) => f.startsWith('dist/test/') || f.startsWith('dist/bench/')), 'no tests or bench in the package');
  // every document the shipped README links to is in the package
  for (const m of readFileSync(join(t, 'README.md'), 'utf8').matchAll(/\]\((?!https?:|#)([^)#\s]+\.md)/g)) assert.ok(existsSync(join(t, m[1]!)), `README links ${m[1]}`);
  let maps = 0;
  for (const f of files) {
    if (!f.endsWith('.map')) continue;
    maps++;
    const map = JSON.parse(readFileSync(join(t, f), 'utf8')) as { sources: string[] };
    for (const s of map.sources) assert.ok(files.has(resolve('/', dirname(f), s).slice(1)), `${f} points at ${s}, which is not shipped`);
  }
  assert.ok(maps > 0);
});

test('a fresh strict TypeScript consumer type-checks and runs against the tarball, without the optional peers', () => {
  const t = packed();
  const consumer = resolve(t, '..', '..');
  const nm = join(consumer, 'node_modules');
  // the project's installed packages, except the optional peers and every dev-only type package
  const leaveOut = new Set([...Object.keys(pkg.peerDependencies ?? {}), ...Object.keys(pkg.devDependencies).filter((d) => d.startsWith('@types/') && d !== '@types/node')]);
  const installed = join(root, 'node_modules');
  for (const e of readdirSync(installed)) {
    if (e.startsWith('.') || e === 'mikey') continue;
    const names = e.startsWith('@') ? readdirSync(join(installed, e)).map((s) => `${e}/${s}`) : [e];
    for (const n of names) {
      if (leaveOut.has(n) || /^pg-|^pg$|^pgpass$/.test(n)) continue;
      mkdirSync(dirname(join(nm, n)), { recursive: true });
      symlinkSync(join(installed, n), join(nm, n), 'dir');
    }
  }
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: false, outDir: 'out', types: ['node'], preserveSymlinks: true },
    include: ['main.ts'],
  }));
  writeFileSync(join(consumer, 'main.ts'), `import { decodeMessage, encodeMessage, PskInitiator, PskResponder, openStore, MissingPackageError, PayloadType, srtpContexts, WeriftSrtp } from 'mikey';
const psk = new Uint8Array(16).fill(7);
const offer = new PskInitiator({ psk }).createOffer({ sessions: [{ ssrc: 1 }] });
const msg = decodeMessage(offer.bytes);
const again: Uint8Array = encodeMessage(msg);
const kinds: number[] = msg.payloads.map((p) => p.type);
if (!kinds.includes(PayloadType.Kemac) || again.length !== offer.bytes.length) throw new Error('round trip');
const accepted = await new PskResponder({ psk }).receive(offer.bytes);
void accepted;
try {
  await openStore('consumer.db');
  throw new Error('better-sqlite3 is not installed here');
} catch (e) {
  if (!(e instanceof MissingPackageError) || e.packageName !== 'better-sqlite3') throw e;
  console.log(e.message);
}
const [context] = srtpContexts(accepted.bundle);
if (!context) throw new Error('no SRTP context');
try {
  new WeriftSrtp(context, context);
  throw new Error('werift-rtp is not installed here');
} catch (e) {
  if (!(e instanceof MissingPackageError) || e.packageName !== 'werift-rtp') throw e;
  console.log(e.message);
}
// a subpath entry point
const { decodeKeyDataChain } = await import('mikey/wire');
if (typeof decodeKeyDataChain !== 'function') throw new Error('mikey/wire');
`);
  const tsc = spawnSync(process.execPath, [join(installed, 'typescript', 'bin', 'tsc'), '-p', consumer], { cwd: consumer, encoding: 'utf8' });
  assert.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);
  const r = spawnSync(process.execPath, ['--preserve-symlinks', join(consumer, 'out', 'main.js')], { cwd: consumer, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "A SQLite store needs the package 'better-sqlite3', which is not installed: npm install better-sqlite3\n"
    + "The werift-rtp SRTP hand-off needs the package 'werift-rtp', which is not installed: npm install werift-rtp\n");
});
