import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMessage } from '../../src/wire/index.js';
import { CORPUS } from '../wire/corpus.js';
import { PskInitiator } from '../../src/modes/psk/index.js';
import { PkInitiator } from '../../src/modes/pke/index.js';
import { srtpContexts } from '../../src/session/bundle.js';
import { EncrAlg, KeyDataType, registryInfo } from '../../src/wire/registry.js';
import { CLI, mikeyAll } from '../support/cli.js';

const run = (args: string[], input?: string | Buffer) => spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8' });
const psk = Buffer.from(encodeMessage(CORPUS.find((s) => s.name === 'psk-null')!.message));
const b64 = psk.toString('base64');

test('decode accepts hex, base64, SDP, a=key-mgmt lines, RTSP KeyMgmt headers, files and stdin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-cli-'));
  const bin = join(dir, 'msg.bin');
  writeFileSync(bin, psk);
  const sdp = `v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\na=key-mgmt:mikey ${b64}\r\nm=audio 5004 RTP/SAVP 0\r\na=key-mgmt:mikey ${b64}\r\n`;
  const inputs: Array<[string, string[], string | Buffer | undefined, number]> = [
    ['hex', [psk.toString('hex')], undefined, 1],
    ['hex with spaces and colons', [psk.toString('hex').replace(/(..)/g, '$1:')], undefined, 1],
    ['base64', [b64], undefined, 1],
    ['SDP body (session and media level)', [sdp], undefined, 2],
    ['a=key-mgmt line', [`a=key-mgmt:mikey ${b64}`], undefined, 1],
    ['RTSP header', [`KeyMgmt: prot=mikey; uri="rtsp://192.0.2.1/s"; data="${b64}"`], undefined, 1],
    ['raw file', [bin], undefined, 1],
    ['stdin', [], psk.toString('base64'), 1],
    ['stdin dash', ['-'], `a=key-mgmt:mikey ${b64}\n`, 1],
  ];
  const ran = await mikeyAll(inputs.map(([, args, input]) => [['decode', ...args], { input }]));
  for (const [i, [what, , , n]] of inputs.entries()) {
    const r = ran[i]!;
    assert.equal(r.status, 0, `${what}: ${r.stderr}`);
    assert.equal(r.stdout.match(/^MIKEY message \(137 bytes\)$/gm)?.length, n, what);
    assert.match(r.stdout, /Key data: a9a3b3b4af2c1f97ac52b1d5697764bb/, what);
  }
});

test('decode --json prints the decoded model', () => {
  const r = run(['decode', '--json', psk.toString('hex')]);
  assert.equal(r.status, 0);
  assert.equal(r.stdout.split('\n').length, 2, 'one line');
  const j = JSON.parse(r.stdout);
  assert.equal(j.dataType, 0);
  assert.equal(j.dataTypeName, 'Pre-shared');
  // hex, as the field tree shows it
  assert.equal(j.header.csbId, '0x0a0b0c0d');
  assert.match(run(['decode', psk.toString('hex')]).stdout, /CSB ID: 0x0a0b0c0d/);
  assert.equal(j.header.prfFuncName, 'MIKEY-1');
  const sp = j.payloads[2];
  assert.equal(sp.protTypeName, 'SRTP');
  assert.ok(sp.params.length > 0);
  for (const p of sp.params) assert.equal(typeof p.name, 'string');
  assert.equal(j.payloads[3].encrAlgName, registryInfo(EncrAlg).label(j.payloads[3].encrAlg));
  assert.equal(j.payloads[3].plaintext[0].keyTypeName, registryInfo(KeyDataType).label(j.payloads[3].plaintext[0].keyType));
  assert.deepEqual(j.payloads.map((p: { name: string }) => p.name), ['T', 'RAND', 'SP', 'KEMAC']);
  assert.equal(j.payloads[3].plaintext[0].keyData, 'a9a3b3b4af2c1f97ac52b1d5697764bb');
  assert.equal(j.payloads[3].offset, 91);
});

test('bad input: one line saying where and why, exit 1', async () => {
  const cases = [
    [['decode', '01000500'], /^mikey decode: hex: truncated common header: needs 10 byte\(s\), 4 left at byte 0 \(HDR\); answer with Unsupported message type \(13\)\n$/],
    [['decode', psk.toString('hex') + '00'], /1 byte\(s\) after the last payload at byte 137/],
    [['decode', 'not a message!'], /^mikey decode: input is neither hex, base64, SDP nor an RTSP KeyMgmt header\n$/],
    [['decode', 'a=key-mgmt:other AAAA'], /SDP has no a=key-mgmt:mikey line/],
    [['decode', 'abc'], /odd number of digits/],
  ] as Array<[string[], RegExp]>;
  const ran = await mikeyAll([...cases.map(([args]) => args), ['decode', '--lenient-trailing', psk.toString('hex') + '00']]);
  for (const [i, [args, re]] of cases.entries()) {
    const r = ran[i]!;
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  const lenient = ran.at(-1)!;
  assert.equal(lenient.status, 0);
  assert.match(lenient.stdout, /Trailing bytes \(accepted\): 1/);
});

test('--help for every command, and the main help', async () => {
  const all = [['--help'], ['help'], ['decode', '--help'], ['start', '--help'], ['demo', '--help'], ['samples', '--help'], ['help', 'decode'], ['kms', '--help'], ['rtsp', '--help'], ['srtp', '--help']];
  const ran = await mikeyAll([...all, ['frobnicate']]);
  for (const [i, args] of all.entries()) {
    const r = ran[i]!;
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /Usage: mikey/);
    assert.match(r.stdout, /Exit status: 0 success; 1 bad data .*; 2 usage/s, `${args.join(' ')} documents the exit statuses`);
  }
  assert.equal(ran.at(-1)!.status, 2);
});

test('samples decodes every bundled sample', () => {
  const r = run(['samples']);
  assert.equal(r.status, 0, r.stdout);
  const n = CORPUS.length;
  assert.match(r.stdout, new RegExp(`${n} decoded, 0 failed`));
  for (const s of CORPUS) assert.match(r.stdout, new RegExp(`^${s.name}\\.hex `, 'm'));
});

test('start (what npm start runs) is the demo: every method over UDP, keys agree', () => {
  assert.match(JSON.parse(readFileSync('package.json', 'utf8')).scripts.start, /main\.js start/);
  const r = run(['start']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const m of ['pre-shared key \\(RFC 3830\\)', 'public-key envelope \\(RFC 3830\\)', 'signed Diffie-Hellman \\(RFC 3830\\)', 'DH-HMAC \\(RFC 4650\\)', 'RSA-R \\(RFC 4738\\)']) {
    assert.match(r.stdout, new RegExp(`^${m}\\s+2\\s+\\d+\\s+[\\d.]+\\s+yes\\s+50/50$`, 'm'));
  }
  assert.match(r.stdout, /^MIKEY-SAKKE \(RFC 6509, 3GPP MCX\)\s+1\s+\d+\s+[\d.]+\s+yes\s+50\/50$/m);
  assert.match(r.stdout, /^MIKEY-TICKET \(RFC 6043\), embedded KMS\s+6\s+\d+\s+[\d.]+\s+yes\s+50\/50$/m);
  assert.match(r.stdout, /^MIKEY-IBAKE \(RFC 6267\)\s+4\s+\d+\s+[\d.]+\s+yes\s+50\/50$/m);
  assert.equal(r.stdout.trim().split('\n').length, 2 + 8, 'all eight methods');
});

test('decode --psk opens a KEMAC: MAC verified, TGK, SRTP keys per crypto session; a wrong key says so', () => {
  const psk = '00112233445566778899aabbccddeeff';
  const ini = new PskInitiator({ psk: Uint8Array.from(Buffer.from(psk, 'hex')) });
  const offer = ini.createOffer({ sessions: [{ ssrc: 0xabcd }], keys: [{ key: new Uint8Array(16).fill(0x42), mki: Uint8Array.of(5) }] });
  const hex = Buffer.from(offer.bytes).toString('hex');
  const r = run(['decode', '--psk', psk, hex]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Opened KEMAC\n\s+MAC: verified/);
  assert.match(r.stdout, /Key: 42424242424242424242424242424242/);
  const ctx = srtpContexts(offer.bundle)[0]!;
  assert.match(r.stdout, new RegExp(`Master key: ${Buffer.from(ctx.masterKey).toString('hex')}`));
  assert.match(r.stdout, new RegExp(`Master salt: ${Buffer.from(ctx.masterSalt).toString('hex')}`));
  const j = JSON.parse(run(['decode', '--json', '--psk', psk, hex]).stdout);
  assert.equal(j.opened.srtp[0].masterKey, Buffer.from(ctx.masterKey).toString('hex'));
  const bad = run(['decode', '--psk', 'ff' + psk.slice(2), hex]);
  assert.equal(bad.status, 1);
  assert.match(bad.stdout, /MAC: DOES NOT VERIFY/);
});

test('decode --key opens the envelope of a public-key message with the responder\'s private key', () => {
  const fix = (f: string) => join(process.cwd(), 'test', 'fixtures', 'pki', f);
  const ini = new PkInitiator({ privateKey: readFileSync(fix('alice.key'), 'utf8'), certificate: readFileSync(fix('alice.pem'), 'utf8'), responderKey: readFileSync(fix('bob.pem'), 'utf8') });
  const offer = ini.createOffer({ sessions: [{ ssrc: 7 }] });
  const hex = Buffer.from(offer.bytes).toString('hex');
  const r = run(['decode', '--key', fix('bob.key'), hex]);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /MAC: verified/);
  assert.match(r.stdout, new RegExp(`Master key: ${Buffer.from(srtpContexts(offer.bundle)[0]!.masterKey).toString('hex')}`));
  const wrong = run(['decode', '--key', fix('alice.key'), hex]);
  assert.equal(wrong.status, 1);
});
