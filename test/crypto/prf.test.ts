// MIKEY PRFs (RFC 3830 §4.1, RFC 6043 §6.1): third-party PRF-HMAC-SHA-256 vectors, and MIKEY-1
// against a plain-HMAC transcription of the RFC formula written here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  PrfConstant, deriveFromTgk, deriveMessageKeys, deriveSrtpSalt, deriveTek, mikeyPrf, msgKeyLabel, prfP, tekLabel,
  type MikeyPrf,
} from '../../src/crypto/prf.js';
import { MikeyCryptoError } from '../../src/crypto/errors.js';
import type { KemacEncrAlg, MacAlg } from '../../src/crypto/kemac.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// ---- reference: RFC 3830 §4.1.2 written out with plain HMAC calls ----
function hmac(hash: string, key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return h.digest();
}
/** P(s, label, m) = HMAC(s, A_1 || label) || ... ; A_0 = label; A_i = HMAC(s, A_(i-1)) */
function refP(hash: string, s: Uint8Array, label: Uint8Array, m: number): Buffer {
  const out: Buffer[] = [];
  let a: Uint8Array = label;
  for (let i = 1; i <= m; i++) {
    a = hmac(hash, s, a);
    out.push(hmac(hash, s, a, label));
  }
  return Buffer.concat(out);
}
/** PRF(inkey, label): XOR of P(s_i, label, m) over the 256-bit chunks s_i, outkey_len MSBs */
function refPrf(hash: string, outBlockBits: number, inkey: Uint8Array, label: Uint8Array, outBits: number): Buffer {
  const n = Math.ceil((inkey.length * 8) / 256);
  const m = Math.ceil(outBits / outBlockBits);
  const acc = Buffer.alloc((m * outBlockBits) / 8);
  for (let i = 0; i < n; i++) {
    const s = inkey.subarray(i * 32, (i + 1) * 32); // the last chunk: what remains (a full 32 bytes if any)
    const p = refP(hash, s, label, m);
    for (let j = 0; j < acc.length; j++) acc[j] = acc[j]! ^ p[j]!;
  }
  return acc.subarray(0, outBits / 8);
}
const refMikey1 = (inkey: Uint8Array, label: Uint8Array, bits: number) => refPrf('sha1', 160, inkey, label, bits);
const refSha256 = (inkey: Uint8Array, label: Uint8Array, bits: number) => refPrf('sha256', 256, inkey, label, bits);

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 37 + seed * 101 + 11) & 0xff);

test('labels: RFC 3830 §4.1.3 and §4.1.4 byte layout', () => {
  const rand = hex('4339F62F55AAC86348846A482C893802');
  assert.equal(toHex(tekLabel(PrfConstant.Tek, 4, 0x0633f457, rand)), '2ad01c64' + '04' + '0633f457' + toHex(rand));
  assert.equal(toHex(msgKeyLabel(PrfConstant.MsgAuthKey, 0xdeadbeef, rand)), '2d22ac75' + 'ff' + 'deadbeef' + toHex(rand));
  assert.throws(() => tekLabel(PrfConstant.Tek, 256, 1, rand), MikeyCryptoError);
  assert.throws(() => tekLabel(PrfConstant.Tek, 1, 2 ** 32, rand), MikeyCryptoError);
  assert.throws(() => msgKeyLabel(PrfConstant.Tek, -1, rand), MikeyCryptoError);
});

test('PrfConstant: frozen, and each value is a consecutive 9-digit chunk of e (RFC 3830 §4.1.3)', () => {
  assert.ok(Object.isFrozen(PrfConstant));
  assert.throws(() => { (PrfConstant as { Tek: number }).Tek = 1; });
  // e to 120 decimals: sum of 10^130 / k!
  const scale = 10n ** 130n;
  let e = 0n;
  let f = 1n;
  for (let k = 0n; k < 120n; k++) { if (k > 0n) f *= k; e += scale / f; }
  const digits = e.toString().slice(1); // after the leading "2"
  const chunk = (i: number) => Number(digits.slice(9 * i, 9 * i + 9));
  const expectChunk: Array<[keyof typeof PrfConstant, number]> = [
    ['Tek', 0], ['AuthKey', 1], ['EncrKey', 2], ['MsgEncrKey', 3], ['MsgAuthKey', 4], ['MsgSaltKey', 5], ['SaltKey', 6],
    ['ForkMpkr', 7], ['ForkTgk', 8], ['TicketMpki', 9], ['TicketMpkr', 10], ['IbakeMpk', 9], ['IbakeTgk', 10],
  ];
  for (const [name, i] of expectChunk) assert.equal(PrfConstant[name], chunk(i), name);
  assert.equal(PrfConstant.Tek, 0x2ad01c64);
  assert.equal(PrfConstant.SaltKey, 0x39a2c14b);
  assert.equal(PrfConstant.MsgSaltKey, 0x29b88916);
  assert.equal(PrfConstant.ForkMpkr, 0x2b288856);
  assert.equal(PrfConstant.ForkTgk, 0x1512b54a);
});

// ---- PRF-HMAC-SHA-256: /work/shared/rfc/third-party/mcx-key-derivation-vectors.md ----
interface McxVector { name: string; tgk: string; rand: string; csId: number; csbId: number; key: string; salt: string; keyConst?: number }
const mcxVectors: McxVector[] = [
  { name: 'S01', tgk: 'fcfe65cd967c58d260b603ccb9a887a9', rand: '6819e679461120e10ac458cce67b8024', csId: 4, csbId: 0x01c8de7b, key: '64837d2b4d69a266e4489d3807353ad9', salt: '8b2f081ce8e8bdab1f8d9eb8' },
  { name: 'S02', tgk: 'fcfe65cd967c58d260b603ccb9a887a9', rand: '6819e679461120e10ac458cce67b8024', csId: 4, csbId: 0x0abe69d0, key: 'de81b70c4ae0ff3f79364df586c2e0ce', salt: '750ea7422b4d5a8ff475c6d5' },
  { name: 'S03', tgk: 'fcfe65cd967c58d260b603ccb9a887a9', rand: '6819e679461120e10ac458cce67b8024', csId: 4, csbId: 0x0c449727, key: 'f097ac3325f1f784bc8ba4112c5e5f88', salt: '97a154fb24efbfb353a265e2' },
  { name: 'SPK', tgk: '28ba74447f037dcc09ad7f2576dc2def', rand: '30333032343661303730646133333265', csId: 6, csbId: 0x1c5f7886, key: '185d08cb5a226d19d71679adf5e415be', salt: 'd1d648b2a0040633a3dd72e5' },
  { name: 'TGK->TEK', tgk: 'A27B7D578EEB9B1EE7705E385996D300', rand: '4339F62F55AAC86348846A482C893802', csId: 4, csbId: 0x0633f457, key: '59AAA49EBB54813602B7CC165961B4E8', salt: '745EB4DF7D155C473114A799' },
  { name: 'encr-key cs 4', tgk: 'A27B7D578EEB9B1EE7705E385996D300', rand: '4339F62F55AAC86348846A482C893802', csId: 4, csbId: 0x05a85c16, key: '3924935940c154ccbc3c2ad05c8f5181', salt: '1725869b80f370cc9f24e13b', keyConst: PrfConstant.EncrKey },
  { name: 'encr-key cs 0', tgk: 'A27B7D578EEB9B1EE7705E385996D300', rand: '4339F62F55AAC86348846A482C893802', csId: 0, csbId: 0x05a85c16, key: 'f17c80a8d2f9befa47cf712603d7229a', salt: 'c3b7b561a291a1d3abef482b', keyConst: PrfConstant.EncrKey },
];

for (const v of mcxVectors) {
  test(`PRF-HMAC-SHA-256 third-party vector ${v.name}`, () => {
    const tgk = hex(v.tgk);
    const rand = hex(v.rand);
    const key = v.keyConst === undefined
      ? deriveTek(tgk, v.csId, v.csbId, rand, 'PRF-HMAC-SHA-256', 16)
      : deriveFromTgk(tgk, v.keyConst, v.csId, v.csbId, rand, 'PRF-HMAC-SHA-256', 16);
    assert.equal(toHex(key), v.key.toLowerCase());
    assert.equal(toHex(deriveSrtpSalt(tgk, v.csId, v.csbId, rand, 'PRF-HMAC-SHA-256', 12)), v.salt.toLowerCase());
    // the same through the reference transcription
    const c = v.keyConst ?? PrfConstant.Tek;
    assert.equal(toHex(refSha256(tgk, tekLabel(c, v.csId, v.csbId, rand), 128)), v.key.toLowerCase());
  });
}

// ---- MIKEY-1 (no published vectors): against the RFC formula ----

test('MIKEY-1, 16-byte TGK: TEK is HMAC-SHA1(tgk, HMAC-SHA1(tgk, label) || label), first 128 bits', () => {
  const tgk = hex('000102030405060708090a0b0c0d0e0f');
  const rand = hex('f0e1d2c3b4a5968778695a4b3c2d1e0f');
  const label = tekLabel(PrfConstant.Tek, 1, 0x12345678, rand);
  const a1 = hmac('sha1', tgk, label);
  const expected = hmac('sha1', tgk, a1, label).subarray(0, 16);
  assert.equal(toHex(deriveTek(tgk, 1, 0x12345678, rand, 'MIKEY-1', 16)), toHex(expected));
  // 112-bit salt: the same first block, 14 bytes
  const saltLabel = tekLabel(PrfConstant.SaltKey, 1, 0x12345678, rand);
  const s1 = hmac('sha1', tgk, hmac('sha1', tgk, saltLabel), saltLabel).subarray(0, 14);
  assert.equal(toHex(deriveSrtpSalt(tgk, 1, 0x12345678, rand, 'MIKEY-1', 14)), toHex(s1));
});

test('MIKEY-1, 20-byte PSK, message keys: 256-bit output spans two P blocks (m = 2)', () => {
  const psk = bytes(20, 3);
  const rand = bytes(16, 4);
  const label = msgKeyLabel(PrfConstant.MsgEncrKey, 0xcafebabe, rand);
  const a1 = hmac('sha1', psk, label);
  const a2 = hmac('sha1', psk, a1);
  const expected = Buffer.concat([hmac('sha1', psk, a1, label), hmac('sha1', psk, a2, label)]).subarray(0, 32);
  assert.equal(toHex(mikeyPrf('MIKEY-1', psk, label, 256)), toHex(expected));
  assert.equal(toHex(prfP('MIKEY-1', psk, label, 2)), toHex(Buffer.concat([hmac('sha1', psk, a1, label), hmac('sha1', psk, a2, label)])));
});

test('inkey of exactly 32 bytes: one FULL chunk, PRF = P(inkey, label, m)', () => {
  for (const prf of ['MIKEY-1', 'PRF-HMAC-SHA-256'] as MikeyPrf[]) {
    const hash = prf === 'MIKEY-1' ? 'sha1' : 'sha256';
    const inkey = bytes(32, 5);
    const label = tekLabel(PrfConstant.Tek, 2, 7, bytes(16, 6));
    const a1 = hmac(hash, inkey, label);
    const expected = hmac(hash, inkey, a1, label).subarray(0, 16);
    assert.equal(toHex(mikeyPrf(prf, inkey, label, 128)), toHex(expected), prf);
    // an implementation taking the last chunk as inkey_len % 32 (= 0) bytes would differ
    const buggy = hmac(hash, new Uint8Array(0), hmac(hash, new Uint8Array(0), label), label).subarray(0, 16);
    assert.notEqual(toHex(mikeyPrf(prf, inkey, label, 128)), toHex(buggy));
  }
});

test('inkey of 64 bytes: XOR of two full-chunk P outputs', () => {
  for (const prf of ['MIKEY-1', 'PRF-HMAC-SHA-256'] as MikeyPrf[]) {
    const hash = prf === 'MIKEY-1' ? 'sha1' : 'sha256';
    const inkey = bytes(64, 8);
    const label = msgKeyLabel(PrfConstant.MsgAuthKey, 0x01020304, bytes(16, 9));
    const p1 = refP(hash, inkey.subarray(0, 32), label, 1);
    const p2 = refP(hash, inkey.subarray(32, 64), label, 1);
    const expected = Buffer.from(p1.map((b, i) => b ^ p2[i]!)).subarray(0, 20);
    assert.equal(toHex(mikeyPrf(prf, inkey, label, 160)), toHex(expected), prf);
    // differs from a 32 + 0-byte split and from the first chunk alone
    const lastEmpty = refP(hash, new Uint8Array(0), label, 1);
    const buggy = Buffer.from(p1.map((b, i) => b ^ lastEmpty[i]!)).subarray(0, 20);
    assert.notEqual(toHex(mikeyPrf(prf, inkey, label, 160)), toHex(buggy));
    assert.notEqual(toHex(mikeyPrf(prf, inkey, label, 160)), toHex(p1.subarray(0, 20)));
  }
});

test('inkey lengths 1..100 bytes and outkey 112/128/160/192/256/264/512 bits match the reference', () => {
  const label = tekLabel(PrfConstant.AuthKey, 9, 0xfeedface, bytes(20, 10));
  for (const n of [1, 16, 20, 31, 32, 33, 40, 63, 64, 65, 96, 100]) {
    const inkey = bytes(n, n);
    for (const bits of [112, 128, 160, 192, 256, 264, 512]) {
      assert.equal(toHex(mikeyPrf('MIKEY-1', inkey, label, bits)), toHex(refMikey1(inkey, label, bits)), `MIKEY-1 n=${n} bits=${bits}`);
      assert.equal(toHex(mikeyPrf('PRF-HMAC-SHA-256', inkey, label, bits)), toHex(refSha256(inkey, label, bits)), `SHA-256 n=${n} bits=${bits}`);
    }
  }
});

test('outputs are prefixes of one another (outkey_len most significant bits)', () => {
  const inkey = bytes(16, 12);
  const label = tekLabel(PrfConstant.Tek, 1, 1, bytes(16, 13));
  const long = mikeyPrf('MIKEY-1', inkey, label, 480);
  for (const bits of [112, 160, 256]) assert.equal(toHex(mikeyPrf('MIKEY-1', inkey, label, bits)), toHex(long.subarray(0, bits / 8)));
});

test('PRF argument checks', () => {
  const label = new Uint8Array(9);
  assert.throws(() => mikeyPrf('MIKEY-1', new Uint8Array(0), label, 128), (e: unknown) => e instanceof MikeyCryptoError && e.code === 'bad-length');
  assert.throws(() => mikeyPrf('MIKEY-1', new Uint8Array(16), label, 100), (e: unknown) => e instanceof MikeyCryptoError && e.code === 'bad-length');
  assert.throws(() => mikeyPrf('MIKEY-1', new Uint8Array(16), label, 0), MikeyCryptoError);
  assert.throws(() => mikeyPrf('NOPE' as MikeyPrf, new Uint8Array(16), label, 128), (e: unknown) => e instanceof MikeyCryptoError && e.code === 'unsupported-algorithm');
  assert.throws(() => prfP('MIKEY-1', new Uint8Array(16), label, 0), MikeyCryptoError);
});

test('deriveMessageKeys: lengths per algorithm and values from the §4.1.4 labels', () => {
  const psk = bytes(16, 20);
  const rand = bytes(16, 21);
  const csb = 0x11223344;
  const cases: Array<[KemacEncrAlg, MacAlg, number, number, number]> = [
    ['AES-CM-128', 'HMAC-SHA-1-160', 16, 14, 20],
    ['AES-CM-256', 'HMAC-SHA-256-256', 32, 14, 32],
    ['AES-KW-128', 'HMAC-SHA-1-160', 16, 8, 20],
    ['AES-KW-128', 'NULL', 16, 8, 0],
    ['NULL', 'HMAC-SHA-1-160', 0, 0, 20],
    ['NULL', 'NULL', 0, 0, 0],
  ];
  for (const prf of ['MIKEY-1', 'PRF-HMAC-SHA-256'] as MikeyPrf[]) {
    const ref = prf === 'MIKEY-1' ? refMikey1 : refSha256;
    for (const [encrAlg, macAlg, ek, sk, ak] of cases) {
      const k = deriveMessageKeys(psk, csb, rand, prf, { encrAlg, macAlg });
      assert.equal(k.encrKey.length, ek);
      assert.equal(k.saltKey.length, sk);
      assert.equal(k.authKey.length, ak);
      if (ek) assert.equal(toHex(k.encrKey), toHex(ref(psk, msgKeyLabel(0x150533e1, csb, rand), ek * 8)));
      if (sk) assert.equal(toHex(k.saltKey), toHex(ref(psk, msgKeyLabel(0x29b88916, csb, rand), sk * 8)));
      if (ak) assert.equal(toHex(k.authKey), toHex(ref(psk, msgKeyLabel(0x2d22ac75, csb, rand), ak * 8)));
    }
  }
  assert.throws(() => deriveMessageKeys(psk, csb, rand, 'MIKEY-1', { encrAlg: 'DES' as KemacEncrAlg, macAlg: 'NULL' }), MikeyCryptoError);
});

test('TEK derivation depends on every label field', () => {
  const tgk = bytes(16, 30);
  const rand = bytes(16, 31);
  const base = toHex(deriveTek(tgk, 1, 5, rand, 'MIKEY-1', 16));
  assert.notEqual(toHex(deriveTek(tgk, 2, 5, rand, 'MIKEY-1', 16)), base);
  assert.notEqual(toHex(deriveTek(tgk, 1, 6, rand, 'MIKEY-1', 16)), base);
  assert.notEqual(toHex(deriveTek(tgk, 1, 5, bytes(16, 32), 'MIKEY-1', 16)), base);
  assert.notEqual(toHex(deriveTek(tgk, 1, 5, rand, 'PRF-HMAC-SHA-256', 16)), base);
  assert.notEqual(toHex(deriveSrtpSalt(tgk, 1, 5, rand, 'MIKEY-1', 16)), base);
});
