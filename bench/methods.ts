// The RFC 3830 methods: full exchanges per second (both ends in one process) beside their
// "crypto floor", the same primitive calls with no MIKEY around them, in alternating batches
// (harness.ts compare()), CPU time of this process on both sides.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { PskInitiator, PskResponder } from '../src/modes/psk/index.js';
import { PkInitiator, PkResponder } from '../src/modes/pke/index.js';
import { DhInitiator, DhResponder } from '../src/modes/dh/index.js';
import { uriIdentity } from '../src/session/identity.js';
import { deriveMessageKeys, deriveSrtpSalt, deriveTek } from '../src/crypto/prf.js';
import { kemacDecrypt, kemacEncrypt, macCompute, macVerify } from '../src/crypto/kemac.js';
import { rsaEnvelopeDecrypt, rsaEnvelopeEncrypt, rsaSign, rsaVerify } from '../src/crypto/rsa.js';
import { dhComputeSecret, dhGenerateKeyPair } from '../src/crypto/dh.js';
import { compare, cpuTimed, cpuTimedAsync, forgetfulReplayCache, type BenchSection } from './harness.js';

const rand = (n: number) => new Uint8Array(randomBytes(n));



export const methodsSection: BenchSection = {
  title: 'RFC 3830 methods: full exchanges vs their crypto floor',
  async run() {
    const sessions = [{ ssrc: 0x1234 }];
    const csbId = 0x01020304;
    const idA = uriIdentity('sip:alice@example.org');
    const idB = uriIdentity('sip:bob@example.org');

    // ---- PSK: I_MESSAGE with V, verification message
    const psk = rand(16);
    const pskIni = new PskInitiator({ psk, idi: idA, idr: idB });
    const pskRes = new PskResponder({ psk, idr: idB, replayCache: forgetfulReplayCache });
    const pskEx = cpuTimedAsync('PSK exchange (I_MESSAGE + V)', async () => {
      const o = pskIni.createOffer({ sessions, verify: true, csbId });
      const a = await pskRes.receive(o.bytes);
      pskIni.receiveResponse(a.response!);
    });
    // the same primitives on the same sizes: 3+3 message-key PRFs, KEMAC encrypt/decrypt of one
    // key data sub-payload, MAC and verify over the message, the replay hash, 2+2 TEK/salt
    // PRFs, V MAC and verify
    const iMsg = rand(120);
    const rMsg = rand(60);
    // the symmetric part of a KEMAC exchange with a verification message
    const kemacSymmetric = (secret: Uint8Array) => {
      const r = rand(16);
      const tgk = rand(16);
      const t = rand(8);
      const algs = { encrAlg: 'AES-CM-128', macAlg: 'HMAC-SHA-1-160' } as const;
      const mk = deriveMessageKeys(secret, csbId, r, 'MIKEY-1', algs);
      const enc = kemacEncrypt('AES-CM-128', mk, rand(20), { csbId, t });
      const mac = macCompute('HMAC-SHA-1-160', mk.authKey, iMsg);
      deriveTek(tgk, 1, csbId, r, 'MIKEY-1', 16); deriveSrtpSalt(tgk, 1, csbId, r, 'MIKEY-1', 14);
      const mk2 = deriveMessageKeys(secret, csbId, r, 'MIKEY-1', algs);
      macVerify('HMAC-SHA-1-160', mk2.authKey, iMsg, mac);
      createHash('sha256').update(iMsg).digest();
      kemacDecrypt('AES-CM-128', mk2, enc, { csbId, t });
      deriveTek(tgk, 1, csbId, r, 'MIKEY-1', 16); deriveSrtpSalt(tgk, 1, csbId, r, 'MIKEY-1', 14);
      const v = macCompute('HMAC-SHA-1-160', mk2.authKey, [rMsg, t]);
      macVerify('HMAC-SHA-1-160', mk.authKey, [rMsg, t], v);
    };
    const pskFloor = cpuTimed('PSK crypto floor', () => kemacSymmetric(psk));
    await compare({ name: 'PSK: exchange vs its crypto floor', kind: 'floor', ours: pskEx, anchor: pskFloor, goal: 2, batchMs: 100, rounds: 7 });

    // ---- public key: envelope, signature, KEMAC, verification message
    const alice = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const bob = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pkIni = new PkInitiator({ privateKey: alice.privateKey, idi: idA, responderKey: bob.publicKey });
    const pkRes = new PkResponder({ privateKey: bob.privateKey, peerKey: () => alice.publicKey, replayCache: forgetfulReplayCache });
    const pkEx = cpuTimedAsync('public-key exchange (I_MESSAGE + V)', async () => {
      const o = pkIni.createOffer({ sessions, verify: true, csbId });
      const a = await pkRes.receive(o.bytes);
      pkIni.receiveResponse(a.response!);
    });
    const msg = rand(400);
    const pkFloor = cpuTimed('public-key crypto floor', () => {
      const env = rand(16);
      const pke = rsaEnvelopeEncrypt(bob.publicKey, env);
      const sig = rsaSign(alice.privateKey, msg);
      rsaVerify(alice.publicKey, msg, sig);
      kemacSymmetric(rsaEnvelopeDecrypt(bob.privateKey, pke));
    });
    await compare({ name: 'public key: exchange vs its crypto floor', kind: 'floor', ours: pkEx, anchor: pkFloor, goal: 1.2, batchMs: 100, rounds: 7 });

    // ---- signed DH, OAKLEY 5
    const dhIni = new DhInitiator({ privateKey: alice.privateKey, idi: idA, peerKey: () => bob.publicKey });
    const dhRes = new DhResponder({ privateKey: bob.privateKey, idr: idB, peerKey: () => alice.publicKey, replayCache: forgetfulReplayCache });
    const dhEx = cpuTimedAsync('signed DH exchange, OAKLEY 5', async () => {
      const o = dhIni.createOffer({ sessions, csbId });
      const a = await dhRes.receive(o.bytes);
      dhIni.receiveResponse(a.response);
    });
    const dhFloor = cpuTimed('signed DH crypto floor', () => {
      const i = dhGenerateKeyPair('OAKLEY-5');
      const s1 = rsaSign(alice.privateKey, msg);
      rsaVerify(alice.publicKey, msg, s1);
      const r = dhGenerateKeyPair('OAKLEY-5');
      dhComputeSecret('OAKLEY-5', r.privateKey, i.publicKey);
      const s2 = rsaSign(bob.privateKey, msg);
      rsaVerify(bob.publicKey, msg, s2);
      const tgk = dhComputeSecret('OAKLEY-5', i.privateKey, r.publicKey);
      // TEK and salt on both sides, and the replay hash
      const rr = rand(16);
      for (let k = 0; k < 2; k++) { deriveTek(tgk, 1, csbId, rr, 'MIKEY-1', 16); deriveSrtpSalt(tgk, 1, csbId, rr, 'MIKEY-1', 14); }
      createHash('sha256').update(msg).digest();
    });
    await compare({ name: 'signed DH: exchange vs its crypto floor', kind: 'floor', ours: dhEx, anchor: dhFloor, goal: 1.2, batchMs: 100, rounds: 7 });
  },
};
