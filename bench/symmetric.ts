// The crypto floor of the RFC 3830 methods (PRF, KEMAC, AES-KW, RSA-2048 envelope and
// signatures, OAKLEY 5 Diffie-Hellman, the SRTP KDF that follows every exchange), each beside
// its native anchor: the same OpenSSL calls made straight through node:crypto, with none of our
// checks, labels or copies around them. A ratio near 1 says the wrapper costs little; every
// primitive here is OpenSSL's on both sides. CPU time of this process on both sides.
import {
  constants, createCipheriv, createDiffieHellman, createHmac, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes, sign, timingSafeEqual, verify,
} from 'node:crypto';
import { deriveMessageKeys, deriveTek } from '../src/crypto/prf.js';
import { aesKeyWrap, kemacEncrypt, macCompute, macVerify } from '../src/crypto/kemac.js';
import { rsaEnvelopeDecrypt, rsaEnvelopeEncrypt, rsaSign, rsaVerify } from '../src/crypto/rsa.js';
import { DH_GROUPS, dhComputeSecret, dhGenerateKeyPair } from '../src/crypto/dh.js';
import { deriveProfileSessionKeys } from '../src/crypto/srtp-kdf.js';
import { compare, cpuTimed, type BenchSection, type RowKind, type Side } from './harness.js';

const GOAL = 1.1;
let sink = 0;

/** RFC 3830 §4.1.2 P(s, label, 1) with node:crypto alone: HMAC(s, HMAC(s, label) || label). */
function p1(hash: 'sha1' | 'sha256', s: Uint8Array, label: Buffer): Buffer {
  const a = createHmac(hash, s).update(label).digest();
  return createHmac(hash, s).update(a).update(label).digest();
}
/** RFC 3830 §4.1.3/§4.1.4 label: constant || cs_id || csb_id || RAND. */
function label(constant: number, csId: number, csbId: number, rand: Uint8Array): Buffer {
  const l = Buffer.allocUnsafe(9 + rand.length);
  l.writeUInt32BE(constant, 0);
  l[4] = csId;
  l.writeUInt32BE(csbId, 5);
  l.set(rand, 9);
  return l;
}

async function row(name: string, ours: Side, anchor: Side, kind: RowKind = 'like-for-like'): Promise<void> {
  await compare({ name, kind, ours, anchor, goal: GOAL, rounds: 7, batchMs: 50 });
}

export const symmetricSection: BenchSection = {
  title: 'RFC 3830 crypto floor (PRF, KEMAC, AES-KW, RSA-2048, OAKLEY 5, SRTP KDF) vs node:crypto',
  async run() {
    const tgk = new Uint8Array(randomBytes(16));
    const rand = new Uint8Array(randomBytes(16));
    const csb = 0x12345678;
    const t = new Uint8Array(randomBytes(8));
    const anchor = (what: string, fn: () => unknown) => cpuTimed(`node:crypto: ${what}`, fn);

    await row('PRF MIKEY-1 TEK 16 B vs 2 HMAC-SHA-1 (node:crypto)',
      cpuTimed('deriveTek', () => deriveTek(tgk, 1, csb, rand, 'MIKEY-1', 16)),
      anchor('2 HMAC-SHA-1', () => p1('sha1', tgk, label(0x2ad01c64, 1, csb, rand)).subarray(0, 16)));
    await row('PRF-HMAC-SHA-256 TEK 16 B vs 2 HMAC-SHA-256 (node:crypto)',
      cpuTimed('deriveTek', () => deriveTek(tgk, 1, csb, rand, 'PRF-HMAC-SHA-256', 16)),
      anchor('2 HMAC-SHA-256', () => p1('sha256', tgk, label(0x2ad01c64, 1, csb, rand)).subarray(0, 16)));
    const psk = new Uint8Array(randomBytes(20));
    const algs = { encrAlg: 'AES-CM-128', macAlg: 'HMAC-SHA-1-160' } as const;
    await row('message keys, AES-CM-128 + HMAC-SHA-1 vs 6 HMAC-SHA-1 (node:crypto)',
      cpuTimed('deriveMessageKeys', () => deriveMessageKeys(psk, csb, rand, 'MIKEY-1', algs)),
      anchor('6 HMAC-SHA-1', () => {
        sink += p1('sha1', psk, label(0x150533e1, 0xff, csb, rand)).subarray(0, 16).length;
        sink += p1('sha1', psk, label(0x2d22ac75, 0xff, csb, rand)).subarray(0, 20).length;
        sink += p1('sha1', psk, label(0x29b88916, 0xff, csb, rand)).subarray(0, 14).length;
      }));

    const keys = deriveMessageKeys(psk, csb, rand, 'MIKEY-1', algs);
    const keyData = Buffer.concat([Buffer.from([0, 0x10, 0, 16]), tgk]); // a TGK key data sub-payload
    const header = randomBytes(40);
    const iv = Buffer.alloc(16);
    await row('KEMAC AES-CM-128 + HMAC-SHA-1 (16-B TGK) vs aes-128-ctr + HMAC (node:crypto)',
      cpuTimed('kemacEncrypt + macCompute', () => macCompute('HMAC-SHA-1-160', keys.authKey, [header, kemacEncrypt('AES-CM-128', keys, keyData, { csbId: csb, t })])),
      anchor('aes-128-ctr + HMAC-SHA-1', () => {
        // IV = (S XOR (0x0000 || CSB ID || T)) || 0x0000 (RFC 3830 §4.2.3)
        iv.fill(0);
        iv.writeUInt32BE(csb, 2);
        iv.set(t, 6);
        for (let i = 0; i < 14; i++) iv[i]! ^= keys.saltKey[i]!;
        const c = createCipheriv('aes-128-ctr', keys.encrKey, iv);
        const enc = Buffer.concat([c.update(keyData), c.final()]);
        return createHmac('sha1', keys.authKey).update(header).update(enc).digest();
      }));
    const enc = kemacEncrypt('AES-CM-128', keys, keyData, { csbId: csb, t });
    const tag = macCompute('HMAC-SHA-1-160', keys.authKey, [header, enc]);
    await row('KEMAC HMAC-SHA-1 verify vs HMAC + timingSafeEqual (node:crypto)',
      cpuTimed('macVerify', () => macVerify('HMAC-SHA-1-160', keys.authKey, [header, enc], tag)),
      anchor('HMAC + timingSafeEqual', () => timingSafeEqual(createHmac('sha1', keys.authKey).update(header).update(enc).digest(), tag)));
    const kek = randomBytes(16);
    const kwIv = randomBytes(8);
    const tgk24 = randomBytes(24);
    await row('AES-KW-128 wrap 24 B vs id-aes128-wrap (node:crypto)',
      cpuTimed('aesKeyWrap', () => aesKeyWrap(kek, tgk24, kwIv)),
      anchor('id-aes128-wrap', () => { const c = createCipheriv('id-aes128-wrap', kek, kwIv); return Buffer.concat([c.update(tgk24), c.final()]); }));

    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const envKey = randomBytes(16);
    const pke = rsaEnvelopeEncrypt(rsa.publicKey, envKey);
    await row('RSA-2048 envelope encrypt PKCS#1 v1.5 vs publicEncrypt (node:crypto)',
      cpuTimed('rsaEnvelopeEncrypt', () => rsaEnvelopeEncrypt(rsa.publicKey, envKey)),
      anchor('publicEncrypt', () => publicEncrypt({ key: rsa.publicKey, padding: constants.RSA_PKCS1_PADDING }, envKey)));
    // OpenSSL in Node 20 has no implicit rejection: ours unpads in constant time after the raw
    // private-key operation, so the anchor is that operation (the floor of any PKCS#1 decrypt)
    await row('RSA-2048 env. decrypt PKCS#1 v1.5 (impl. rej.) vs raw RSA decrypt (node:crypto)',
      cpuTimed('rsaEnvelopeDecrypt', () => rsaEnvelopeDecrypt(rsa.privateKey, pke, { expectedLength: 16 })),
      anchor('privateDecrypt, no padding', () => privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_NO_PADDING }, pke)), 'floor');
    const oaep = rsaEnvelopeEncrypt(rsa.publicKey, envKey, { padding: 'oaep' });
    await row('RSA-2048 envelope decrypt OAEP-SHA-1 vs privateDecrypt (node:crypto)',
      cpuTimed('rsaEnvelopeDecrypt OAEP', () => rsaEnvelopeDecrypt(rsa.privateKey, oaep, { padding: 'oaep' })),
      anchor('privateDecrypt OAEP', () => privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, oaep)));
    const msg = randomBytes(300);
    const s1 = rsaSign(rsa.privateKey, msg);
    const s2 = rsaSign(rsa.privateKey, msg, { scheme: 'pss' });
    const pss = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
    await row('RSA-2048 sign PKCS#1 v1.5 SHA-256 vs sign (node:crypto)',
      cpuTimed('rsaSign', () => rsaSign(rsa.privateKey, msg)),
      anchor('sign', () => sign('sha256', msg, rsa.privateKey)));
    await row('RSA-2048 verify PKCS#1 v1.5 SHA-256 vs verify (node:crypto)',
      cpuTimed('rsaVerify', () => rsaVerify(rsa.publicKey, msg, s1)),
      anchor('verify', () => verify('sha256', msg, rsa.publicKey, s1)));
    await row('RSA-2048 sign PSS SHA-256 vs sign (node:crypto)',
      cpuTimed('rsaSign PSS', () => rsaSign(rsa.privateKey, msg, { scheme: 'pss' })),
      anchor('sign PSS', () => sign('sha256', msg, { key: rsa.privateKey, ...pss })));
    await row('RSA-2048 verify PSS SHA-256 vs verify (node:crypto)',
      cpuTimed('rsaVerify PSS', () => rsaVerify(rsa.publicKey, msg, s2, { scheme: 'pss' })),
      anchor('verify PSS', () => verify('sha256', msg, { key: rsa.publicKey, ...pss }, s2)));

    const g = DH_GROUPS['OAKLEY-5'];
    const prime = Buffer.from(g.primeHex, 'hex');
    const a = dhGenerateKeyPair(g);
    const b = dhGenerateKeyPair(g);
    await row('DH OAKLEY 5 keygen vs createDiffieHellman + generateKeys (node:crypto)',
      cpuTimed('dhGenerateKeyPair', () => dhGenerateKeyPair(g)),
      anchor('generateKeys', () => createDiffieHellman(prime, g.generator).generateKeys()));
    await row('DH OAKLEY 5 agree (with peer check) vs computeSecret (node:crypto)',
      cpuTimed('dhComputeSecret', () => dhComputeSecret(g, a.privateKey, b.publicKey)),
      anchor('computeSecret', () => { const d = createDiffieHellman(prime, g.generator); d.setPrivateKey(Buffer.from(a.privateKey)); return d.computeSecret(Buffer.from(b.publicKey)); }));

    const tek = randomBytes(16);
    const salt = randomBytes(14);
    const x = Buffer.alloc(16);
    await row('SRTP KDF AES_CM_128_HMAC_SHA1_80 (6 keys) vs 6 aes-128-ctr (node:crypto)',
      cpuTimed('deriveProfileSessionKeys', () => deriveProfileSessionKeys('AES_CM_128_HMAC_SHA1_80', tek, salt)),
      anchor('6 aes-128-ctr keystreams', () => {
        // RFC 3711 §4.3.1: x = label || index DIV kdr XOR master salt, IV = x * 2^16
        for (const [lbl, n] of [[0, 16], [1, 20], [2, 14], [3, 16], [4, 20], [5, 14]] as const) {
          x.fill(0);
          x.set(salt, 0);
          x[7]! ^= lbl;
          const c = createCipheriv('aes-128-ctr', tek, x);
          sink += Buffer.concat([c.update(Buffer.alloc(n)), c.final()]).length;
        }
      }));
    if (sink < 0) console.log(sink);
  },
};
