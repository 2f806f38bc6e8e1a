// DH-HMAC (RFC 4650) and RSA-R (RFC 4738): full exchanges per second (both ends in one
// process) beside their crypto floor, the same primitive calls with no MIKEY around them, in
// alternating batches (harness.ts compare()), CPU time of this process on both sides.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { DhHmacInitiator, DhHmacResponder } from '../src/modes/dhhmac/index.js';
import { RsaRInitiator, RsaRResponder } from '../src/modes/rsar/index.js';
import { uriIdentity } from '../src/session/identity.js';
import { deriveMessageKeys, deriveSrtpSalt, deriveTek } from '../src/crypto/prf.js';
import { kemacDecrypt, kemacEncrypt, macCompute, macVerify } from '../src/crypto/kemac.js';
import { rsaEnvelopeDecrypt, rsaEnvelopeEncrypt, rsaSign, rsaVerify } from '../src/crypto/rsa.js';
import { dhComputeSecret, dhGenerateKeyPair } from '../src/crypto/dh.js';
import { compare, cpuTimed, cpuTimedAsync, forgetfulReplayCache, type BenchSection } from './harness.js';

const rand = (n: number) => new Uint8Array(randomBytes(n));



export const dhhmacRsarSection: BenchSection = {
  title: 'DH-HMAC and RSA-R: full exchanges vs their crypto floor',
  async run() {
    const sessions = [{ ssrc: 0x1234 }];
    const csbId = 0x01020304;
    const idA = uriIdentity('sip:alice@example.org');
    const idB = uriIdentity('sip:bob@example.org');
    const iMsg = rand(260);
    const rMsg = rand(240);

    // ---- DH-HMAC, OAKLEY 5: I_MESSAGE with DHi, R_MESSAGE with DHr, DHi
    const psk = rand(16);
    const dhIni = new DhHmacInitiator({ psk, idi: idA, idr: idB });
    const dhRes = new DhHmacResponder({ psk, idr: idB, replayCache: forgetfulReplayCache });
    const dhEx = cpuTimedAsync('DH-HMAC exchange, OAKLEY 5', async () => {
      const o = dhIni.createOffer({ sessions, csbId });
      const a = await dhRes.receive(o.bytes);
      dhIni.receiveResponse(a.response);
    });
    // the same primitives: 2 keygens, 2 agreements, auth_key on each side, the MAC of each
    // message made and checked, the replay hash, TEK and salt on each side
    const dhFloor = cpuTimed('DH-HMAC crypto floor', () => {
      const r = rand(16);
      const i = dhGenerateKeyPair('OAKLEY-5');
      const k1 = deriveMessageKeys(psk, csbId, r, 'MIKEY-1', { encrAlg: 'NULL', macAlg: 'HMAC-SHA-1-160' });
      const m1 = macCompute('HMAC-SHA-1-160', k1.authKey, iMsg);
      const k2 = deriveMessageKeys(psk, csbId, r, 'MIKEY-1', { encrAlg: 'NULL', macAlg: 'HMAC-SHA-1-160' });
      macVerify('HMAC-SHA-1-160', k2.authKey, iMsg, m1);
      createHash('sha256').update(iMsg).digest();
      const x = dhGenerateKeyPair('OAKLEY-5');
      const tgk = dhComputeSecret('OAKLEY-5', x.privateKey, i.publicKey);
      deriveTek(tgk, 1, csbId, r, 'MIKEY-1', 16); deriveSrtpSalt(tgk, 1, csbId, r, 'MIKEY-1', 14);
      const m2 = macCompute('HMAC-SHA-1-160', k2.authKey, rMsg);
      macVerify('HMAC-SHA-1-160', k1.authKey, rMsg, m2);
      const tgk2 = dhComputeSecret('OAKLEY-5', i.privateKey, x.publicKey);
      deriveTek(tgk2, 1, csbId, r, 'MIKEY-1', 16); deriveSrtpSalt(tgk2, 1, csbId, r, 'MIKEY-1', 14);
    });
    await compare({ name: 'DH-HMAC: exchange vs its crypto floor', kind: 'floor', ours: dhEx, anchor: dhFloor, goal: 1.2, batchMs: 100, rounds: 7 });

    // ---- RSA-R unicast, RSA-2048: SIGNi; envelope, KEMAC and SIGNr back
    const alice = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const bob = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rIni = new RsaRInitiator({ privateKey: alice.privateKey, idi: idA, peerKey: () => bob.publicKey });
    const rRes = new RsaRResponder({ privateKey: bob.privateKey, idr: idB, peerKey: () => alice.publicKey, replayCache: forgetfulReplayCache });
    const rEx = cpuTimedAsync('RSA-R exchange, RSA-2048', async () => {
      const req = rIni.createOffer({ sessions, csbId });
      const a = await rRes.receive(req.bytes);
      await rIni.receiveResponse(a.response);
    });
    const rsaMsg = rand(400);
    const algs = { encrAlg: 'AES-CM-128', macAlg: 'HMAC-SHA-1-160' } as const;
    // SIGNi made and checked, the replay hash, the envelope key sealed and opened, message keys on
    // each side, the KEMAC encrypted, MACed, checked and decrypted, SIGNr made and checked, TEK and salt on each side
    const rFloor = cpuTimed('RSA-R crypto floor', () => {
      const r = rand(16);
      const t = rand(8);
      const s1 = rsaSign(alice.privateKey, rsaMsg);
      rsaVerify(alice.publicKey, rsaMsg, s1);
      createHash('sha256').update(rsaMsg).digest();
      const env = rand(16);
      const tgk = rand(16);
      const mk = deriveMessageKeys(env, csbId, r, 'MIKEY-1', algs);
      const enc = kemacEncrypt('AES-CM-128', mk, rand(48), { csbId, t });
      const mac = macCompute('HMAC-SHA-1-160', mk.authKey, enc);
      const pke = rsaEnvelopeEncrypt(alice.publicKey, env);
      deriveTek(tgk, 1, csbId, r, 'MIKEY-1', 16); deriveSrtpSalt(tgk, 1, csbId, r, 'MIKEY-1', 14);
      const s2 = rsaSign(bob.privateKey, rsaMsg);
      rsaVerify(bob.publicKey, rsaMsg, s2);
      const env2 = rsaEnvelopeDecrypt(alice.privateKey, pke, { expectedLength: 16 });
      const mk2 = deriveMessageKeys(env2, csbId, r, 'MIKEY-1', algs);
      macVerify('HMAC-SHA-1-160', mk2.authKey, enc, mac);
      kemacDecrypt('AES-CM-128', mk2, enc, { csbId, t });
      deriveTek(tgk, 1, csbId, r, 'MIKEY-1', 16); deriveSrtpSalt(tgk, 1, csbId, r, 'MIKEY-1', 14);
    });
    await compare({ name: 'RSA-R: exchange vs its crypto floor', kind: 'floor', ours: rEx, anchor: rFloor, goal: 1.2, batchMs: 100, rounds: 7 });
  },
};
