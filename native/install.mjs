// Builds the optional native field core (native/ibc.c) with node-gyp. Never fails the install:
// without the addon, src/crypto/native.ts finds nothing and the pure TypeScript path is used.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (process.env.MIKEY_NATIVE === '0') {
  console.log('mikey: MIKEY_NATIVE=0, native field core not built');
  process.exit(0);
}
// node-gyp as bundled with npm, else one on the PATH
const candidates = [];
if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
const gyp = candidates.find((c) => existsSync(c));
// build against the headers of the running node when they are installed beside it (no download)
const prefix = join(dirname(process.execPath), '..');
const args = ['rebuild'];
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { cwd: here, stdio: 'inherit' })
  : spawnSync('node-gyp', args, { cwd: here, stdio: 'inherit' });
if (r.status !== 0 || !existsSync(join(here, 'build', 'Release', 'mikey_ibc.node'))) {
  console.warn('mikey: native field core not built (the pure TypeScript path will be used)');
}
process.exit(0);
