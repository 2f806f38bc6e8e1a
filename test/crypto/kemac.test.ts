// KEMAC transport encryption and MACs (RFC 3830 §4.2.3-§4.2.4, RFC 6043 §6.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHmac } from 'node:crypto';
import {
  aesCm, aesCmKeystream, aesKeyUnwrap, aesKeyWrap, kemacDecrypt, kemacEncrypt, kemacEncryptedLength, kemacIv, macCheck, macCompute,
  macVerify, rfc3394DefaultIv, timestamp64, KEMAC_ENCR_PARAMS, MAC_PARAMS, type KemacEncrAlg, type MacAlg,
} from '../../src/crypto/kemac.js';
import { deriveMessageKeys } from '../../src/crypto/prf.js';
import { MikeyCryptoError } from '../../src/crypto/errors.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isCode = (code: string) => (e: unknown) => e instanceof MikeyCryptoError && e.code === code;
const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 29 + seed * 71 + 5) & 0xff);

// ---- AES key wrap core: RFC 3394 §4.1-§4.6 (default IV A6A6...) ----
const KW_VECTORS: Array<[string, string, string, string]> = [
  ['4.1', '000102030405060708090A0B0C0D0E0F', '00112233445566778899AABBCCDDEEFF', '1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5'],
  ['4.2', '000102030405060708090A0B0C0D0E0F1011121314151617', '00112233445566778899AABBCCDDEEFF', '96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D'],
  ['4.3', '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F', '00112233445566778899AABBCCDDEEFF', '64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7'],
  ['4.4', '000102030405060708090A0B0C0D0E0F1011121314151617', '00112233445566778899AABBCCDDEEFF0001020304050607', '031D33264E15D332 68F24EC260743EDC E1C6C7DDEE725A93 6BA814915C6762D2'],
  ['4.5', '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F', '00112233445566778899AABBCCDDEEFF0001020304050607', 'A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1'],
  ['4.6', '000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F', '00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F', '28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21'],
];

for (const [sec, kek, data, ct] of KW_VECTORS) {
  test(`AES key wrap RFC 3394 §${sec}`, () => {
    assert.equal(toHex(aesKeyWrap(hex(kek), hex(data))), toHex(hex(ct)));
    assert.equal(toHex(aesKeyUnwrap(hex(kek), hex(ct))), toHex(hex(data)));
    assert.equal(toHex(aesKeyWrap(hex(kek), hex(data), rfc3394DefaultIv())), toHex(hex(ct)));
  });
}

/** RFC 3394 §2.2.1 wrap written out over single-block AES (reference for the salt-IV variant). */
function refWrap(kek: Uint8Array, p: Uint8Array, iv: Uint8Array): Uint8Array {
  const n = p.length / 8;
  const r: Uint8Array[] = [];
  for (let i = 0; i < n; i++) r.push(p.slice(8 * i, 8 * i + 8));
  let a = iv.slice();
  const alg = `aes-${kek.length * 8}-ecb`;
  for (let j = 0; j <= 5; j++) {
    for (let i = 1; i <= n; i++) {
      const c = createCipheriv(alg, kek, null).setAutoPadding(false);
      const b = Buffer.concat([c.update(Buffer.concat([a, r[i - 1]!])), c.final()]);
      const t = BigInt(n * j + i);
      a = b.subarray(0, 8);
      const msb = Buffer.alloc(8);
      msb.writeBigUInt64BE(t);
      a = Uint8Array.from(a, (x, k) => x ^ msb[k]!);
      r[i - 1] = b.subarray(8, 16);
    }
  }
  return Buffer.concat([a, ...r]);
}

test('reference wrap reproduces RFC 3394 §4.1 and §4.6 (checks the reference itself)', () => {
  assert.equal(toHex(refWrap(hex(KW_VECTORS[0]![1]), hex(KW_VECTORS[0]![2]), rfc3394DefaultIv())), toHex(hex(KW_VECTORS[0]![3])));
  assert.equal(toHex(refWrap(hex(KW_VECTORS[5]![1]), hex(KW_VECTORS[5]![2]), rfc3394DefaultIv())), toHex(hex(KW_VECTORS[5]![3])));
});

test('AES-KW-128 with the 64-bit salt as IV (RFC 3830 §4.2.3): matches the reference, round trip, tamper detection', () => {
  const keys = deriveMessageKeys(bytes(16, 1), 0x01020304, bytes(16, 2), 'MIKEY-1', { encrAlg: 'AES-KW-128', macAlg: 'NULL' });
  assert.equal(keys.saltKey.length, 8);
  const iv = { csbId: 0x01020304, t: bytes(8, 3) };
  for (const n of [16, 24, 40, 64]) {
    const pt = bytes(n, n);
    const ct = kemacEncrypt('AES-KW-128', keys, pt, iv);
    assert.equal(ct.length, kemacEncryptedLength('AES-KW-128', n));
    assert.equal(toHex(ct), toHex(refWrap(keys.encrKey, pt, keys.saltKey)));
    assert.notEqual(toHex(ct), toHex(aesKeyWrap(keys.encrKey, pt)), 'the salt IV differs from the default IV');
    assert.equal(toHex(kemacDecrypt('AES-KW-128', keys, ct, iv)), toHex(pt));
    for (let i = 0; i < ct.length; i++) {
      const bad = ct.slice();
      bad[i]! ^= 0x01;
      assert.throws(() => kemacDecrypt('AES-KW-128', keys, bad, iv), isCode('unwrap-failed'), `flip at ${i}`);
    }
    const wrongSalt = { ...keys, saltKey: keys.saltKey.map((b) => b ^ 0x80) };
    assert.throws(() => kemacDecrypt('AES-KW-128', wrongSalt, ct, iv), isCode('unwrap-failed'));
    assert.throws(() => aesKeyUnwrap(keys.encrKey, ct), isCode('unwrap-failed'), 'default IV does not unwrap a salt-IV wrap');
  }
});

test('AES-KW input that is not n >= 2 64-bit blocks is refused with bad-length', () => {
  const kek = bytes(16, 4);
  for (const n of [0, 8, 15, 20, 17]) assert.throws(() => aesKeyWrap(kek, bytes(n, 1)), isCode('bad-length'), `n=${n}`);
  for (const n of [16, 23, 25]) assert.throws(() => aesKeyUnwrap(kek, bytes(n, 1)), isCode('bad-length'), `n=${n}`);
  assert.throws(() => aesKeyWrap(bytes(15, 1), bytes(16, 1)), isCode('bad-length'));
  assert.throws(() => aesKeyWrap(kek, bytes(16, 1), bytes(16, 1)), isCode('bad-length'));
});

// ---- AES-CM core: RFC 3711 Appendix B.2 ----
test('AES-CM keystream RFC 3711 B.2 (first three and last three of 65282 blocks)', () => {
  const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
  const iv = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
  const ks = aesCmKeystream(key, iv, 1044512);
  const block = (i: number) => toHex(ks.subarray(16 * i, 16 * i + 16)).toUpperCase();
  assert.equal(block(0), 'E03EAD0935C95E80E166B16DD92B4EB4');
  assert.equal(block(1), 'D23513162B02D0F72A43A2FE4A5F97AB');
  assert.equal(block(2), '41E95B3BB0A2E8DD477901E4FCA894C0');
  assert.equal(block(0xfeff), 'EC8CDF7398607CB0F2D21675EA9EA1E4');
  assert.equal(block(0xff00), '362B7C3C6773516318A077D7FC5073AE');
  assert.equal(block(0xff01), '6A2CC3787889374FBEB4C81B17BA6C44');
  assert.throws(() => aesCmKeystream(key, iv, (1 << 20) + 1), isCode('bad-length'));
});

test('KEMAC IV = (S XOR (0x0000 || CSB ID || T)) || 0x0000, hand-computed', () => {
  const s = hex('000102030405060708090A0B0C0D');
  const t = hex('1122334455667788');
  // 0000 AABBCCDD 1122334455667788 XOR 000102030405060708090A0B0C0D, then || 0000
  assert.equal(toHex(kemacIv(s, 0xaabbccdd, t)), '0001a8b8c8d817253b4d5f6d7b850000');
  assert.equal(toHex(kemacIv(new Uint8Array(14), 0, new Uint8Array(8))), '00'.repeat(16));
  assert.throws(() => kemacIv(new Uint8Array(12), 0, t), isCode('bad-length'));
  assert.throws(() => kemacIv(s, 0, new Uint8Array(4)), isCode('bad-length'));
  assert.throws(() => kemacIv(s, 2 ** 32, t), isCode('bad-parameter'));
});

test('64-bit T: COUNTER pads on the left (3830 §6.6), NTP-UTC-32 pads the fraction (6043 §6.3)', () => {
  assert.equal(toHex(timestamp64('COUNTER', hex('01020304'))), '0000000001020304');
  assert.equal(toHex(timestamp64('NTP-UTC-32', hex('01020304'))), '0102030400000000');
  assert.equal(toHex(timestamp64('NTP-UTC', hex('e8a1b2c3d4e5f607'))), 'e8a1b2c3d4e5f607');
  assert.equal(toHex(timestamp64('NTP', hex('e8a1b2c3d4e5f607'))), 'e8a1b2c3d4e5f607');
  assert.throws(() => timestamp64('COUNTER', hex('0102030405060708')), isCode('bad-length'));
  assert.throws(() => timestamp64('NTP-UTC', hex('01020304')), isCode('bad-length'));
});

/** AES-CM per RFC 3711 §4.1.1 written with single-block ECB: E(k, IV + i) XOR data. */
function refAesCm(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  const ctr = BigInt('0x' + toHex(iv));
  for (let i = 0; i * 16 < data.length; i++) {
    const block = Buffer.from(((ctr + BigInt(i)) % (1n << 128n)).toString(16).padStart(32, '0'), 'hex');
    const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false);
    const ks = Buffer.concat([c.update(block), c.final()]);
    for (let j = 0; j < 16 && i * 16 + j < data.length; j++) out[i * 16 + j] = data[i * 16 + j]! ^ ks[j]!;
  }
  return out;
}

test('AES-CM-128 and AES-CM-256 KEMAC: ciphertext equals the reference keystream XOR, round trip', () => {
  for (const alg of ['AES-CM-128', 'AES-CM-256'] as KemacEncrAlg[]) {
    const keys = deriveMessageKeys(bytes(32, 7), 0xdeadbeef, bytes(16, 8), 'PRF-HMAC-SHA-256', { encrAlg: alg, macAlg: 'HMAC-SHA-256-256' });
    const t = timestamp64('COUNTER', hex('00000102'));
    const iv = { csbId: 0xdeadbeef, t };
    for (const n of [0, 1, 16, 20, 33, 300]) {
      const pt = bytes(n, n + 1);
      const ct = kemacEncrypt(alg, keys, pt, iv);
      assert.equal(ct.length, n);
      assert.equal(toHex(ct), toHex(refAesCm(keys.encrKey, kemacIv(keys.saltKey, 0xdeadbeef, t), pt)), `${alg} n=${n}`);
      assert.equal(toHex(kemacDecrypt(alg, keys, ct, iv)), toHex(pt));
      if (n > 0) {
        assert.notEqual(toHex(kemacDecrypt(alg, keys, ct, { csbId: 0xdeadbeee, t })), toHex(pt), 'CSB ID is in the IV');
        assert.notEqual(toHex(kemacDecrypt(alg, keys, ct, { csbId: 0xdeadbeef, t: timestamp64('COUNTER', hex('00000103')) })), toHex(pt), 'T is in the IV');
      }
    }
    assert.equal(toHex(aesCm(keys.encrKey, new Uint8Array(16), new Uint8Array(16))), toHex(refAesCm(keys.encrKey, new Uint8Array(16), new Uint8Array(16))));
  }
});

test('NULL encryption copies; key/salt lengths are enforced per algorithm', () => {
  const pt = bytes(20, 9);
  const none = { encrKey: new Uint8Array(0), saltKey: new Uint8Array(0) };
  const iv = { csbId: 1, t: new Uint8Array(8) };
  const ct = kemacEncrypt('NULL', none, pt, iv);
  assert.equal(toHex(ct), toHex(pt));
  assert.notEqual(ct, pt, 'a copy, not the same buffer');
  assert.equal(toHex(kemacDecrypt('NULL', none, ct, iv)), toHex(pt));
  assert.throws(() => kemacEncrypt('AES-CM-128', { encrKey: bytes(32, 1), saltKey: bytes(14, 1) }, pt, iv), isCode('bad-length'));
  assert.throws(() => kemacEncrypt('AES-CM-256', { encrKey: bytes(16, 1), saltKey: bytes(14, 1) }, pt, iv), isCode('bad-length'));
  assert.throws(() => kemacEncrypt('AES-KW-128', { encrKey: bytes(16, 1), saltKey: bytes(14, 1) }, bytes(16, 1), iv), isCode('bad-length'));
  assert.throws(() => kemacEncrypt('RC4' as KemacEncrAlg, none, pt, iv), isCode('unsupported-algorithm'));
  assert.deepEqual(KEMAC_ENCR_PARAMS['AES-KW-128'], { keyLen: 16, saltLen: 8 });
  assert.deepEqual(KEMAC_ENCR_PARAMS['AES-CM-128'], { keyLen: 16, saltLen: 14 });
});

// ---- MACs ----
test('MACs: HMAC-SHA-1-160 and HMAC-SHA-256-256 values, verify, tamper, wrong length, NULL', () => {
  const data = bytes(100, 10);
  for (const alg of ['HMAC-SHA-1-160', 'HMAC-SHA-256-256'] as MacAlg[]) {
    const p = MAC_PARAMS[alg];
    const key = bytes(p.keyLen, 11);
    const tag = macCompute(alg, key, data);
    assert.equal(tag.length, p.tagLen);
    assert.equal(toHex(tag), createHmac(alg === 'HMAC-SHA-1-160' ? 'sha1' : 'sha256', key).update(data).digest('hex'));
    assert.equal(toHex(macCompute(alg, key, [data.subarray(0, 7), data.subarray(7, 60), data.subarray(60)])), toHex(tag));
    assert.equal(macVerify(alg, key, data, tag), true);
    for (let i = 0; i < tag.length; i++) {
      const bad = tag.slice();
      bad[i]! ^= 0x40;
      assert.equal(macVerify(alg, key, data, bad), false);
    }
    const badData = data.slice();
    badData[50]! ^= 1;
    assert.equal(macVerify(alg, key, badData, tag), false);
    assert.equal(macVerify(alg, key, data, tag.subarray(0, tag.length - 1)), false);
    assert.equal(macVerify(alg, key, data, new Uint8Array(0)), false);
    assert.doesNotThrow(() => macCheck(alg, key, data, tag));
    assert.throws(() => macCheck(alg, key, badData, tag), isCode('mac-mismatch'));
    assert.throws(() => macCompute(alg, bytes(p.keyLen + 1, 1), data), isCode('bad-length'));
  }
  assert.equal(macCompute('NULL', new Uint8Array(0), data).length, 0);
  assert.equal(macVerify('NULL', new Uint8Array(0), data, new Uint8Array(0)), true);
  assert.equal(macVerify('NULL', new Uint8Array(0), data, new Uint8Array(1)), false);
});

test('KEMAC end to end: encrypt the TGK, MAC the payload, verify and decrypt with keys from the same PSK', () => {
  const psk = bytes(20, 12);
  const rand = bytes(16, 13);
  const csb = 0x0badcafe;
  const t = hex('e8a1b2c3d4e5f607');
  for (const encrAlg of ['NULL', 'AES-CM-128', 'AES-CM-256', 'AES-KW-128'] as KemacEncrAlg[]) {
    for (const macAlg of ['HMAC-SHA-1-160', 'HMAC-SHA-256-256'] as MacAlg[]) {
      const k = deriveMessageKeys(psk, csb, rand, 'MIKEY-1', { encrAlg, macAlg });
      const tgkSub = bytes(24, 14); // a multiple of 8 so that AES-KW applies
      const enc = kemacEncrypt(encrAlg, k, tgkSub, { csbId: csb, t });
      const msg = Buffer.concat([bytes(30, 15), enc]);
      const tag = macCompute(macAlg, k.authKey, msg);
      const r = deriveMessageKeys(psk, csb, rand, 'MIKEY-1', { encrAlg, macAlg });
      assert.equal(macVerify(macAlg, r.authKey, msg, tag), true);
      assert.equal(toHex(kemacDecrypt(encrAlg, r, enc, { csbId: csb, t })), toHex(tgkSub));
      const wrong = deriveMessageKeys(bytes(20, 99), csb, rand, 'MIKEY-1', { encrAlg, macAlg });
      assert.equal(macVerify(macAlg, wrong.authKey, msg, tag), false, `${encrAlg}/${macAlg}: wrong PSK`);
    }
  }
});

test('NULL encryption and timestamp64 return copies, also for Buffer inputs', () => {
  const none = { encrKey: new Uint8Array(0), saltKey: new Uint8Array(0) };
  const pt = Buffer.from('00112233', 'hex');
  const ct = kemacEncrypt('NULL', none, pt, { csbId: 0, t: new Uint8Array(8) });
  ct[0] = 0xff;
  assert.equal(pt[0], 0x00);
  const t = Buffer.from('0102030405060708', 'hex');
  const t64 = timestamp64('NTP', t);
  t64[0] = 0xff;
  assert.equal(t[0], 0x01);
});
