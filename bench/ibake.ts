// MIKEY-IBAKE: full four-message exchanges (both ends in one process) beside their crypto floor,
// the same IBE and EC-DH operations with no MIKEY around them, and K_SESSION beside OpenSSL's
// EC-DH; both sides in alternating batches (harness.ts compare()), CPU time.
import { createECDH, createHash, randomBytes } from 'node:crypto';
import { bfDecrypt, bfEncrypt, bfExtractPriv, bfGenerateCurve, bfSetup } from '../src/crypto/bfibe.js';
import { macCompute, macVerify } from '../src/crypto/kemac.js';
import { deriveMessageKeys, deriveSrtpSalt, deriveTek } from '../src/crypto/prf.js';
import { bigIntToBytes } from '../src/crypto/pairing/field.js';
import { uriIdentity } from '../src/session/identity.js';
import { IbakeInitiator, IbakeResponder } from '../src/modes/ibake/index.js';
import { IbakeKeyRing } from '../src/modes/ibake/keyring.js';
import { deriveFromSession, ecdhKeyPair, ecGroup, ibeIdentity, keyPeriodOf, sessionKey, staticDomain, type IbakeCurveName } from '../src/modes/ibake/profile.js';
import { compare, cpuTimed, cpuTimedAsync, forgetfulReplayCache, type BenchSection } from './harness.js';

const rand = (n: number) => new Uint8Array(randomBytes(n));


export const ibakeSection: BenchSection = {
  title: 'MIKEY-IBAKE: exchanges vs their crypto floor (IBE + EC-DH)',
  async run() {
    const { curve, hash } = bfGenerateCurve(1024);
    const { params, s } = bfSetup(curve, hash);
    const domain = staticDomain(params);
    const no = keyPeriodOf(Date.now(), domain.period);
    const alice = uriIdentity('sip:alice@example.org');
    const bob = uriIdentity('sip:bob@example.org');
    const ring = (id: typeof alice) => {
      const r = new IbakeKeyRing(domain);
      r.add(id, no, bfExtractPriv(params, s, ibeIdentity(id, no, domain.period)));
      return r;
    };
    const ringA = ring(alice);
    const ringB = ring(bob);
    const sessions = [{ ssrc: 0x1234 }];
    console.log(`BF-IBE system: n = 1024 (p ${curve.p.toString(2).length} bits, q ${curve.q.toString(2).length} bits, ${hash})`);
    const idA = ibeIdentity(alice, no, domain.period);
    const idB = ibeIdentity(bob, no, domain.period);
    const skA = ringA.get(alice, no)!.key;
    const skB = ringB.get(bob, no)!.key;

    for (const name of ['P-256', 'P-384', 'P-521'] as IbakeCurveName[]) {
      const ini = new IbakeInitiator({ idi: alice, keys: ringA, curve: name });
      const res = new IbakeResponder({ keys: ringB, replayCache: forgetfulReplayCache });
      const ex = cpuTimedAsync(`IBAKE exchange, ${name}`, async () => {
        const r1 = await res.receive(ini.createOffer({ idr: bob, sessions }).bytes);
        const r2 = await res.receive(ini.receiveResponse(r1.response).bytes);
        ini.receiveVerification(r2.response);
      });
      // the floor: 3 BFencrypt + 3 BFdecrypt of the same sizes, two EC-DH key pairs and two
      // shared points, MPK/TGK on both sides, the V key, MAC and check, TEK and salt, replay hashes
      const group = ecGroup(name);
      const plainLen = [120, 200, 160].map((x) => x + 2 * group.flen);
      const floor = cpuTimed(`IBAKE crypto floor, ${name}`, () => {
        const x = ecdhKeyPair(group, rand);
        const c1 = bfEncrypt(params, idB, rand(plainLen[0]!));
        bfDecrypt(params, skB, c1);
        const y = ecdhKeyPair(group, rand);
        const c2 = bfEncrypt(params, idA, rand(plainLen[1]!));
        bfDecrypt(params, skA, c2);
        const k1 = sessionKey(x, y.pub);
        const r = rand(16);
        deriveFromSession('PRF-HMAC-SHA-256', k1, r);
        const c3 = bfEncrypt(params, idB, rand(plainLen[2]!));
        bfDecrypt(params, skB, c3);
        const k2 = sessionKey(y, x.pub);
        const { mpk, tgk } = deriveFromSession('PRF-HMAC-SHA-256', k2, r);
        const msg = rand(200);
        for (let side = 0; side < 2; side++) {
          const ak = deriveMessageKeys(mpk, 1, r, 'PRF-HMAC-SHA-256', { encrAlg: 'NULL', macAlg: 'HMAC-SHA-256-256' }).authKey;
          const tag = macCompute('HMAC-SHA-256-256', ak, msg);
          if (side) macVerify('HMAC-SHA-256-256', ak, msg, tag);
          deriveTek(tgk, 1, 1, r, 'PRF-HMAC-SHA-256', 16);
          deriveSrtpSalt(tgk, 1, 1, r, 'PRF-HMAC-SHA-256', 14);
          createHash('sha256').update(msg).digest();
        }
      });
      await compare({ name: `IBAKE exchange, ${name} vs its crypto floor`, kind: 'floor', ours: ex, anchor: floor, goal: 1.2, rounds: 7, batchMs: 300 });
    }

    // K_SESSION (RFC 6267 §4): a constant-time multiplication of the peer's point, which the
    // floor above also uses; here beside OpenSSL's EC-DH on the same curve (x only)
    for (const name of ['P-256', 'P-384'] as IbakeCurveName[]) {
      const group = ecGroup(name);
      const peer = ecdhKeyPair(group, rand);
      const own = ecdhKeyPair(group, rand);
      const ossl = createECDH(group.openssl);
      ossl.setPrivateKey(Buffer.from(bigIntToBytes(own.secret, group.flen)));
      await compare({
        name: `K_SESSION ${name} (constant time) vs ECDH computeSecret (node:crypto)`, kind: 'like-for-like', goal: 1, rounds: 7, batchMs: 100,
        ours: cpuTimed('sessionKey', () => sessionKey(own, peer.pub)),
        anchor: cpuTimed('createECDH.computeSecret', () => ossl.computeSecret(peer.pub)),
      });
    }
  },
};
