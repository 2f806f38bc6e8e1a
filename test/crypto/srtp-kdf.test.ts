// SRTP key derivation (RFC 3711 §4.3, RFC 6188, RFC 7714 §11 + erratum 4938).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import {
  SRTP_PROFILES, SrtpLabel, deriveProfileSessionKeys, deriveSrtcpKeys, deriveSrtpKeys, gcmKdfSalt, srtpKdf, srtpPrf,
} from '../../src/crypto/srtp-kdf.js';
import { aesCmKeystream } from '../../src/crypto/kemac.js';
import { MikeyCryptoError } from '../../src/crypto/errors.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isCode = (code: string) => (e: unknown) => e instanceof MikeyCryptoError && e.code === code;

test('RFC 3711 B.3: cipher key, cipher salt and the 94-octet auth key', () => {
  const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
  assert.equal(toHex(srtpKdf(mk, ms, SrtpLabel.RtpEncr, 16)), 'c61e7a93744f39ee10734afe3ff7a087');
  assert.equal(toHex(srtpKdf(mk, ms, SrtpLabel.RtpSalt, 14)), '30cbbc08863d8c85d49db34a9ae1');
  const auth = srtpKdf(mk, ms, SrtpLabel.RtpAuth, 94);
  assert.equal(toHex(auth).toUpperCase(),
    'CEBE321F6FF7716B6FD4AB49AF256A15' + '6D38BAA48F0A0ACF3C34E2359E6CDBCE' + 'E049646C43D9327AD175578EF7227098' +
    '6371C10C9A369AC2F94A8C5FBCDDDC25' + '6D6E919A48B610EF17C2041E47403576' + '6B68642C59BBFC2F34DB60DBDFB2');
  const keys = deriveSrtpKeys(mk, ms, { encrKeyLen: 16, authKeyLen: 20, saltLen: 14 });
  assert.equal(toHex(keys.authKey), toHex(auth.subarray(0, 20)));
  // the B.3 AES-CM input blocks: x * 2^16
  assert.equal(toHex(srtpPrf(mk, hex('0EC675AD498AFEEAB6960B3AABE6'), 20)), toHex(auth.subarray(0, 20)));
});

test('RFC 6188 §7.2: AES_256_CM_PRF', () => {
  const mk = hex('f0f04914b513f2763a1b1fa130f10e29 98f6f6e43e4309d1e622a0e332b9f1b6');
  const ms = hex('3b04803de51ee7c96423ab5b78d2');
  const k = deriveSrtpKeys(mk, ms, { encrKeyLen: 32, authKeyLen: 20, saltLen: 14 });
  assert.equal(toHex(k.encrKey), '5ba1064e30ec51613cad926c5a28ef73' + '1ec7fb397f70a960653caf06554cd8c4');
  assert.equal(toHex(k.saltKey), 'fa31791685ca444a9e07c6c64e93');
  assert.equal(toHex(k.authKey), 'fd9c32d39ed5fbb5a9dc96b30818454d1313dc05');
});

test('RFC 6188 §7.4: AES_192_CM_PRF', () => {
  const mk = hex('73edc66c4fa15776fb57f9505c171365 50ffda71f3e8e5f1');
  const ms = hex('c8522f3acd4ce86d5add78edbb11');
  const k = deriveSrtpKeys(mk, ms, { encrKeyLen: 24, authKeyLen: 20, saltLen: 14 });
  assert.equal(toHex(k.encrKey), '31874736a8f1143870c26e4857d8a5b2' + 'c4a354407faadabb');
  assert.equal(toHex(k.saltKey), '2372b82d639b6d8503a47adc0a6c');
  assert.equal(toHex(k.authKey), '355b10973cd95b9eacf4061c7e1a7151e7cfbfcb');
});

test('RFC 6188 §7.1/§7.3: AES-256-CM and AES-192-CM keystream (first and last blocks)', () => {
  const iv = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfd0000');
  const cases: Array<[string, string[]]> = [
    ['57f82fe3613fd170a85ec93c40b1f0922ec4cb0dc025b58272147cc438944a98',
      ['92bdd28a93c3f52511c677d08b5515a4', '9da71b2378a854f67050756ded165bac', '63c4868b7096d88421b563b8c94c9a31',
        'cea518c90fd91ced9cbb18c078a54711', '3dbc4814f4da5f00a08772b63c6a046d', '6eb246913062a16891433e97dd01a57f']],
    ['eab234764e517b2d3d160d587d8c86219740f65f99b6bcf7',
      ['35096cba4610028dc1b57503804ce37c', '5de986291dcce161d5165ec4568f5c9a', '474a40c77894bc17180202272a4c264d',
        'd108d1a31a00bad6367ec23eb044b415', 'c8f57129fdeb970b59f917b257662d4c', 'a5dab625811034e8cebdfeb6dc158dd3']],
  ];
  for (const [key, blocks] of cases) {
    const ks = aesCmKeystream(hex(key), iv, 1044512);
    const at = [0, 1, 2, 0xfeff, 0xff00, 0xff01];
    at.forEach((b, i) => assert.equal(toHex(ks.subarray(16 * b, 16 * b + 16)), blocks[i]));
  }
});

/** RFC 3711 §4.3.1 written out with integers: x = (label << 48 | index DIV kdr) XOR salt; AES(k, x*2^16 + i). */
function refKdf(mk: Uint8Array, salt: Uint8Array, label: number, n: number, index: bigint, kdr: bigint): string {
  const r = kdr === 0n ? 0n : index / kdr;
  const x = ((BigInt(label) << 48n) | r) ^ BigInt('0x' + toHex(salt));
  let out = '';
  for (let i = 0n; out.length < 2 * n; i++) {
    const block = Buffer.from(((x << 16n) + i).toString(16).padStart(32, '0'), 'hex');
    const c = createCipheriv(`aes-${mk.length * 8}-ecb`, mk, null).setAutoPadding(false);
    out += Buffer.concat([c.update(block), c.final()]).toString('hex');
  }
  return out.slice(0, 2 * n);
}

test('key derivation rate: r = index DIV kdr in the key_id, against an integer transcription of §4.3.1', () => {
  const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
  const cases: Array<[bigint, bigint]> = [[0n, 0n], [0x123456789an, 0n], [0x10000n, 0x10000n], [0x1ffffn, 0x10000n], [0xabcdef012345n, 1n], [0xabcdef012345n, 1n << 24n], [5n, 8n]];
  for (const [index, kdr] of cases) {
    for (let label = 0; label <= 5; label++) {
      assert.equal(toHex(srtpKdf(mk, ms, label, 30, { index, kdr })), refKdf(mk, ms, label, 30, index, kdr), `index ${index} kdr ${kdr} label ${label}`);
    }
  }
  // with kdr = 0 the index does not matter; with kdr > 0 it does at multiples of kdr
  assert.equal(toHex(srtpKdf(mk, ms, 0, 16, { index: 0x10000n, kdr: 0 })), 'c61e7a93744f39ee10734afe3ff7a087');
  assert.notEqual(toHex(srtpKdf(mk, ms, 0, 16, { index: 0x10000n, kdr: 0x10000 })), 'c61e7a93744f39ee10734afe3ff7a087');
  assert.equal(toHex(srtpKdf(mk, ms, 0, 16, { index: 0xffffn, kdr: 0x10000 })), 'c61e7a93744f39ee10734afe3ff7a087');
  for (const bad of [3, 6, (1 << 24) * 2, -1]) assert.throws(() => srtpKdf(mk, ms, 0, 16, { kdr: bad }), isCode('bad-parameter'), `kdr ${bad}`);
  assert.throws(() => srtpKdf(mk, ms, 0, 16, { index: 1n << 48n }), isCode('bad-parameter'));
  assert.throws(() => srtpKdf(mk, ms, 256, 16), isCode('bad-parameter'));
  assert.throws(() => srtpKdf(mk, hex('0EC675AD498AFEEBB6960B3A'), 0, 16), isCode('bad-length'));
  assert.throws(() => srtpKdf(hex('00'), ms, 0, 16), isCode('bad-length'));
});

test('SRTCP labels 3-5 (RFC 3711 §4.3.2) with the SRTCP index in the 48-bit field (erratum 3712)', () => {
  const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
  const k = deriveSrtcpKeys(mk, ms, { encrKeyLen: 16, authKeyLen: 20, saltLen: 14 });
  assert.equal(toHex(k.encrKey), refKdf(mk, ms, 3, 16, 0n, 0n));
  assert.equal(toHex(k.authKey), refKdf(mk, ms, 4, 20, 0n, 0n));
  assert.equal(toHex(k.saltKey), refKdf(mk, ms, 5, 14, 0n, 0n));
  const rtp = deriveSrtpKeys(mk, ms, { encrKeyLen: 16, authKeyLen: 20, saltLen: 14 });
  assert.notEqual(toHex(k.encrKey), toHex(rtp.encrKey));
});

test('AES-GCM: 96-bit master salt times 2^16 before the KDF (RFC 7714 erratum 4938); no auth key', () => {
  const salt12 = hex('517569642070726f2071756f');
  assert.equal(toHex(gcmKdfSalt(salt12)), '517569642070726f2071756f0000');
  assert.throws(() => gcmKdfSalt(new Uint8Array(14)), isCode('bad-length'));
  const mk = hex('000102030405060708090a0b0c0d0e0f');
  const r = deriveProfileSessionKeys('AEAD_AES_128_GCM', mk, salt12);
  assert.equal(r.srtp.encrKey.length, 16);
  assert.equal(r.srtp.saltKey.length, 12);
  assert.equal(r.srtp.authKey.length, 0);
  assert.equal(toHex(r.srtp.encrKey), refKdf(mk, hex('517569642070726f2071756f0000'), 0, 16, 0n, 0n));
  assert.equal(toHex(r.srtp.saltKey), refKdf(mk, hex('517569642070726f2071756f0000'), 2, 12, 0n, 0n));
  assert.equal(toHex(r.srtcp.saltKey), refKdf(mk, hex('517569642070726f2071756f0000'), 5, 12, 0n, 0n));
  const mk256 = new Uint8Array(32).fill(7);
  const r256 = deriveProfileSessionKeys('AEAD_AES_256_GCM', mk256, salt12);
  assert.equal(r256.srtp.encrKey.length, 32);
  assert.equal(toHex(r256.srtp.encrKey), refKdf(mk256, gcmKdfSalt(salt12), 0, 32, 0n, 0n));
});

test('profile table and lengths', () => {
  assert.ok(Object.isFrozen(SRTP_PROFILES));
  const mk = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
  const ms = hex('0EC675AD498AFEEBB6960B3AABE6');
  const r = deriveProfileSessionKeys('AES_CM_128_HMAC_SHA1_80', mk, ms);
  assert.equal(toHex(r.srtp.encrKey), 'c61e7a93744f39ee10734afe3ff7a087');
  assert.equal(toHex(r.srtp.saltKey), '30cbbc08863d8c85d49db34a9ae1');
  assert.equal(toHex(r.srtp.authKey).toUpperCase(), 'CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
  assert.equal(SRTP_PROFILES.AES_CM_128_HMAC_SHA1_32.rtpTagLen, 4);
  assert.equal(SRTP_PROFILES.AES_CM_128_HMAC_SHA1_32.rtcpTagLen, 10);
  const n = deriveProfileSessionKeys('NULL_HMAC_SHA1_80', mk, ms);
  assert.equal(n.srtp.encrKey.length, 0);
  assert.equal(toHex(n.srtp.authKey), toHex(r.srtp.authKey));
  assert.throws(() => deriveProfileSessionKeys('AES_CM_128_HMAC_SHA1_80', mk, hex('00')), isCode('bad-length'));
  assert.throws(() => deriveProfileSessionKeys('AES_256_CM_HMAC_SHA1_80', mk, ms), isCode('bad-length'));
  assert.throws(() => deriveProfileSessionKeys('ROT13' as 'AEAD_AES_128_GCM', mk, ms), isCode('unsupported-algorithm'));
});

test('Buffer inputs are not modified (Buffer#slice would be a view)', () => {
  const mk = Buffer.from('E1F97A0D3E018BE0D64FA32C06DE4139', 'hex');
  const ms = Buffer.from('0EC675AD498AFEEBB6960B3AABE6', 'hex');
  const before = ms.toString('hex');
  for (let label = 0; label <= 5; label++) srtpKdf(mk, ms, label, 16, { index: 0x123456n, kdr: 1 });
  assert.equal(ms.toString('hex'), before);
  assert.equal(toHex(srtpKdf(mk, ms, SrtpLabel.RtpSalt, 14)), '30cbbc08863d8c85d49db34a9ae1');
});
