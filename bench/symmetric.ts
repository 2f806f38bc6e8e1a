// The crypto floor of the RFC 3830 methods: PRF, KEMAC, AES-KW, RSA-2048 envelope and
// signatures, OAKLEY 5 Diffie-Hellman (and the SRTP KDF that follows every exchange).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { deriveMessageKeys, deriveTek } from '../src/crypto/prf.js';
import { aesKeyWrap, kemacEncrypt, macCompute, macVerify } from '../src/crypto/kemac.js';
import { rsaEnvelopeDecrypt, rsaEnvelopeEncrypt, rsaSign, rsaVerify } from '../src/crypto/rsa.js';
import { DH_GROUPS, dhComputeSecret, dhGenerateKeyPair } from '../src/crypto/dh.js';
import { deriveProfileSessionKeys } from '../src/crypto/srtp-kdf.js';
import { fmt, measure, type BenchSection } from './harness.js';

/** BigInt square-and-multiply, only to compare with OpenSSL's modexp. */
function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

export const symmetricSection: BenchSection = {
  title: 'RFC 3830 crypto floor (PRF, KEMAC, AES-KW, RSA-2048, OAKLEY 5)',
  async run() {
    const tgk = randomBytes(16);
    const rand = randomBytes(16);
    const csb = 0x12345678;
    const t = randomBytes(8);

    console.log(fmt(measure('PRF MIKEY-1 TEK (16 B) from 16-B TGK', () => deriveTek(tgk, 1, csb, rand, 'MIKEY-1', 16))));
    console.log(fmt(measure('PRF-HMAC-SHA-256 TEK (16 B) from 16-B TGK', () => deriveTek(tgk, 1, csb, rand, 'PRF-HMAC-SHA-256', 16))));
    const psk = randomBytes(20);
    console.log(fmt(measure('message keys AES-CM-128 + HMAC-SHA-1 (MIKEY-1)', () =>
      deriveMessageKeys(psk, csb, rand, 'MIKEY-1', { encrAlg: 'AES-CM-128', macAlg: 'HMAC-SHA-1-160' }))));

    const keys = deriveMessageKeys(psk, csb, rand, 'MIKEY-1', { encrAlg: 'AES-CM-128', macAlg: 'HMAC-SHA-1-160' });
    const keyData = Buffer.concat([Buffer.from([0, 0x10, 0, 16]), tgk]); // a TGK key data sub-payload
    const header = randomBytes(40);
    console.log(fmt(measure('KEMAC AES-CM-128 encrypt + HMAC-SHA-1 (16-B TGK)', () => {
      const enc = kemacEncrypt('AES-CM-128', keys, keyData, { csbId: csb, t });
      return macCompute('HMAC-SHA-1-160', keys.authKey, [header, enc]);
    })));
    const enc = kemacEncrypt('AES-CM-128', keys, keyData, { csbId: csb, t });
    const tag = macCompute('HMAC-SHA-1-160', keys.authKey, [header, enc]);
    console.log(fmt(measure('KEMAC HMAC-SHA-1 verify (constant time)', () => macVerify('HMAC-SHA-1-160', keys.authKey, [header, enc], tag))));
    const kek = randomBytes(16);
    const iv = randomBytes(8);
    const tgk24 = randomBytes(24);
    console.log(fmt(measure('AES-KW-128 wrap 24 B (salt IV)', () => aesKeyWrap(kek, tgk24, iv))));

    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const envKey = randomBytes(16);
    const pke = rsaEnvelopeEncrypt(rsa.publicKey, envKey);
    console.log(fmt(measure('RSA-2048 envelope encrypt PKCS#1 v1.5', () => rsaEnvelopeEncrypt(rsa.publicKey, envKey))));
    console.log(fmt(measure('RSA-2048 env. decrypt PKCS#1 v1.5 (impl. rej.)', () => rsaEnvelopeDecrypt(rsa.privateKey, pke, { expectedLength: 16 }))));
    const oaep = rsaEnvelopeEncrypt(rsa.publicKey, envKey, { padding: 'oaep' });
    console.log(fmt(measure('RSA-2048 envelope decrypt OAEP-SHA-1', () => rsaEnvelopeDecrypt(rsa.privateKey, oaep, { padding: 'oaep' }))));
    const msg = randomBytes(300);
    const s1 = rsaSign(rsa.privateKey, msg);
    const s2 = rsaSign(rsa.privateKey, msg, { scheme: 'pss' });
    console.log(fmt(measure('RSA-2048 sign PKCS#1 v1.5 SHA-256', () => rsaSign(rsa.privateKey, msg))));
    console.log(fmt(measure('RSA-2048 verify PKCS#1 v1.5 SHA-256', () => rsaVerify(rsa.publicKey, msg, s1))));
    console.log(fmt(measure('RSA-2048 sign PSS SHA-256', () => rsaSign(rsa.privateKey, msg, { scheme: 'pss' }))));
    console.log(fmt(measure('RSA-2048 verify PSS SHA-256', () => rsaVerify(rsa.publicKey, msg, s2, { scheme: 'pss' }))));

    const g = DH_GROUPS['OAKLEY-5'];
    const a = dhGenerateKeyPair(g);
    const b = dhGenerateKeyPair(g);
    console.log(fmt(measure('DH OAKLEY 5 keygen', () => dhGenerateKeyPair(g))));
    console.log(fmt(measure('DH OAKLEY 5 agree (incl. peer check)', () => dhComputeSecret(g, a.privateKey, b.publicKey))));
    const p = BigInt('0x' + g.primeHex);
    const x = BigInt('0x' + Buffer.from(a.privateKey).toString('hex'));
    const y = BigInt('0x' + Buffer.from(b.publicKey).toString('hex'));
    console.log(fmt(measure(`  (BigInt modPow, same ${a.privateKey.length * 8}-bit exponent)`, () => modPow(y, x, p), { batches: 7 })));

    const tek = randomBytes(16);
    const salt = randomBytes(14);
    console.log(fmt(measure('SRTP KDF AES_CM_128_HMAC_SHA1_80 (SRTP+SRTCP)', () => deriveProfileSessionKeys('AES_CM_128_HMAC_SHA1_80', tek, salt))));
  },
};
