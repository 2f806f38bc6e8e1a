// The conventions every command follows: exit statuses (0 success, 1 bad data, 2 usage), unknown
// options refused, --version, help COMMAND, NDJSON, what decode says about bad input, and a
// start-up that loads only the command that runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeMessage } from '../../src/wire/index.js';
import { CORPUS } from '../wire/corpus.js';
import { CLI as cli, mikey, mikeyAll, type Ran } from '../support/cli.js';

const root = process.cwd();
const run = (args: string[], input?: string | Buffer, nodeArgs: string[] = []): Promise<Ran> => mikey(args, { input, nodeArgs });
const msg = Buffer.from(encodeMessage(CORPUS.find((s) => s.name === 'psk-null')!.message));
const hex = msg.toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'mikey-conv-'));

test('exit statuses: 0 success, 1 bad data, 2 usage, the same in every command', async () => {
  const table: Array<[args: string[], status: number, stderr: RegExp | '']> = [
    [['--help'], 0, ''],
    [['help', 'decode'], 0, ''],
    [['version'], 0, ''],
    [['decode', hex], 0, ''],
    [['samples'], 0, ''],
    [['kms', 'keygen'], 0, ''],
    [[], 2, /^mikey: MIKEY/],
    [['frobnicate'], 2, /^mikey: unknown command 'frobnicate' \('mikey --help' lists the commands\)\n$/],
    [['--frob'], 2, /^mikey: unknown option '--frob'/],
    [['help', 'frobnicate'], 2, /^mikey help: unknown command 'frobnicate'/],
    [['version', 'x'], 2, /unexpected argument 'x'/],
    [['decode', '--bogus', hex], 2, /^mikey decode: unknown option --bogus \(see 'mikey decode --help'\)\n$/],
    [['decode', '--psk'], 2, /^mikey decode: option --psk needs a value/],
    [['decode', '--json=yes', hex], 2, /^mikey decode: option --json takes no value/],
    [['decode', hex, hex], 2, /^mikey decode: unexpected argument '/],
    [['decode', '--psk', 'zz', hex], 2, /--psk takes hex bytes/],
    [['demo', '--foo'], 2, /^mikey demo: unknown option --foo/],
    [['demo', 'extra'], 2, /^mikey demo: unexpected argument 'extra'/],
    [['start', '--foo'], 2, /^mikey start: unknown option --foo/],
    [['samples', 'extra'], 2, /^mikey samples: unexpected argument 'extra'/],
    [['kms'], 2, /^Usage: mikey kms/],
    [['kms', 'nope'], 2, /^mikey kms: unknown command 'nope'/],
    [['kms', 'user', 'list', '--bogus'], 2, /^mikey kms user: unknown option --bogus/],
    [['kms', 'user', 'frob'], 2, /user add\|remove\|list/],
    [['kms', 'tickets', 'extra'], 2, /unexpected argument 'extra'/],
    [['decode', hex.slice(0, 8)], 1, /^mikey decode: hex: truncated common header/],
    [['decode', join(dir, 'nothing-here.bin')], 1, /^mikey decode: \S+nothing-here\.bin: no such file\n$/],
    [['decode', dir], 1, /^mikey decode: \S+: is a directory, not a file\n$/],
    [['decode', '--key', join(dir, 'no.pem'), hex], 1, /no\.pem: no such file/],
    [['decode', 'nosuchfile'], 1, /^mikey decode: nosuchfile: no such file, and not a message \(base64: not valid base64\)\n$/],
    [['kms', 'user', 'list', '--db', join(dir, 'typo.db')], 1, /no store at \S+typo\.db: run 'mikey kms init/],
  ];
  const ran = await mikeyAll(table.map(([args]) => args));
  for (const [i, [args, status, stderr]] of table.entries()) {
    const r = ran[i]!;
    assert.equal(r.status, status, `mikey ${args.join(' ')}: ${r.stderr}`);
    if (stderr === '') assert.equal(r.stderr, '', args.join(' '));
    else assert.match(r.stderr, stderr, args.join(' '));
    if (status !== 0 && args.length) assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('--version, -V and version print the package version; help COMMAND prints that command\'s help', async () => {
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const versions = ['--version', '-V', 'version'];
  const commands = ['decode', 'demo', 'kms', 'rtsp', 'samples', 'srtp', 'start'];
  const ran = await mikeyAll([...versions.map((v) => [v]), ...commands.flatMap((c) => [['help', c], [c, '--help']])]);
  for (const [i, v] of versions.entries()) assert.equal(ran[i]!.stdout, `mikey ${version}\n`, v);
  for (const [i, c] of commands.entries()) {
    const [help, own] = [ran[versions.length + 2 * i]!, ran[versions.length + 2 * i + 1]!];
    assert.equal(help.status, 0, `help ${c}: ${help.stderr}`);
    assert.equal(own.status, 0, `${c} --help: ${own.stderr}`);
    assert.match(help.stdout, new RegExp(`^Usage: mikey ${c}`), c);
    assert.equal(help.stdout, own.stdout, c);
  }
});

test('the bin is executable and runs by its shebang', () => {
  assert.ok(statSync(cli).mode & 0o111, 'dist/src/cli/main.js is executable');
  const r = spawnSync(cli, ['--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^mikey \d+\.\d+\.\d+/);
});

test('--json is NDJSON: one message a line', async () => {
  const b64 = msg.toString('base64');
  const sdp = `v=0\r\ns=-\r\na=key-mgmt:mikey ${b64}\r\nm=audio 5004 RTP/SAVP 0\r\na=key-mgmt:mikey ${b64}\r\nm=video 5006 RTP/SAVP 96\r\na=key-mgmt:mikey ${b64}\r\n`;
  const r = await run(['decode', '--json', sdp]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 3);
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { source: string }).source), ['sdp session', 'sdp media 0', 'sdp media 1']);
});

test('decode: raw binary on standard input, as a file', async () => {
  const [r, dash] = await Promise.all([run(['decode'], msg), run(['decode', '-'], msg)]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^MIKEY message \(137 bytes\)$/m);
  assert.match(r.stdout, /Key data: a9a3b3b4af2c1f97ac52b1d5697764bb/);
  assert.equal(dash.stdout, r.stdout);
});

test('decode: an a=key-mgmt:mikey line whose data is not base64 says so', async () => {
  const r = await run(['decode', 'a=key-mgmt:mikey !!!']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, "mikey decode: a=key-mgmt:mikey line: data '!!!' is not base64\n");
});

test('decode: a capture cut short decodes the packets before the cut and warns', async () => {
  const full = readFileSync(join(root, 'samples', 'rtsp-camera.pcapng'));
  // cut inside the last packet block
  const cut = join(dir, 'cut.pcapng');
  writeFileSync(cut, full.subarray(0, full.length - 50));
  const [whole, r] = await Promise.all([run(['decode', join(root, 'samples', 'rtsp-camera.pcapng')]), run(['decode', cut])]);
  assert.equal(whole.status, 0, whole.stderr);
  const n = whole.stdout.match(/^MIKEY message/gm)!.length;
  assert.ok(n >= 2);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^mikey decode: warning: \S+cut\.pcapng: the capture appears to have been cut short \(pcapng: block at byte \d+ runs past the end of the file\); decoded the \d+ packet\(s\) before the cut\n$/);
  const got = r.stdout.match(/^MIKEY message/gm)?.length ?? 0;
  assert.ok(got >= 1 && got <= n, `${got} of ${n} messages before the cut`);
  assert.ok(whole.stdout.startsWith(r.stdout.slice(0, r.stdout.lastIndexOf('# message'))), 'the same messages as in the whole capture');
});

test('start-up loads only the command that runs (no pg, better-sqlite3, X.509, werift-rtp)', async () => {
  // a resolve hook that records every module loaded, to the file named by MIKEY_TEST_LOADED
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(hooks, `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(process.env.MIKEY_TEST_LOADED, r.url + '\\n'); return r; }\n`);
  const reg = join(dir, 'register.mjs');
  writeFileSync(reg, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const cases = [['--help'], ['--version'], ['decode', hex], ['kms', 'keygen']];
  const logs = cases.map((_, i) => join(dir, `loaded-${i}.txt`));
  for (const l of logs) writeFileSync(l, '');
  const ran = await mikeyAll(cases.map((args, i) => [args, { nodeArgs: ['--import', reg], env: { ...process.env, MIKEY_TEST_LOADED: logs[i] } }]));
  const loaded = cases.map((args, i) => {
    assert.equal(ran[i]!.status, 0, `mikey ${args.join(' ')}: ${ran[i]!.stderr}`);
    return readFileSync(logs[i]!, 'utf8').split('\n').filter(Boolean);
  });
  const heavy = /\/(pg|better-sqlite3|werift-rtp|@peculiar)\/|\/src\/(kms|rtsp)\/|\/src\/profiles\/handoff/;
  for (const [i, args] of cases.slice(0, 3).entries()) {
    const mods = loaded[i]!;
    assert.ok(mods.some((m) => m.endsWith('/cli/main.js')));
    assert.deepEqual(mods.filter((m) => heavy.test(m)), [], `mikey ${args.join(' ')} loads only what it needs`);
  }
  assert.ok(!loaded[0]!.some((m) => m.includes('/src/wire/')), '--help loads no codec');
  assert.ok(loaded[3]!.some((m) => m.includes('/src/kms/')), 'the hook sees what kms loads');
});
