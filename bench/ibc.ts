// Identity-based crypto: ECCSI (RFC 6507), SAKKE (RFC 6508, Parameter Set 1), the pairing and
// RFC 5091 BF-IBE, timed beside wolfSSL (test/interop/wolfssl/driver.c, bench mode) in the same run.
import { spawnSync } from 'node:child_process';
import { type BenchSection, type Measurement, fmt, measure, ratioLine } from './harness.js';
import { driverBinary, wolfsslProblem } from '../test/interop/wolfssl-peer.js';
import { EccsiVerifier, eccsiKmsSetup, eccsiMakeSskPvt, eccsiSign, eccsiVerify } from '../src/crypto/eccsi.js';
import {
  SakkeKmsPublicKey,
  SakkeReceiver,
  sakkeEncapsulate,
  sakkeKmsSetup,
  sakkeMakeRsk,
  sakkeParamSet1,
  sakkeValidateRsk,
} from '../src/crypto/sakke.js';
import { SakkeLines, sakkePairing } from '../src/crypto/pairing/tate.js';
import { bfDecrypt, bfEncrypt, bfExtractPriv, bfGenerateCurve, bfSetup, type1Curve } from '../src/crypto/bfibe.js';

/** One run of the driver's bench mode: median ns per operation. */
function wolfsslRun(): Map<string, Measurement> | string {
  const problem = wolfsslProblem();
  if (problem !== null) return problem;
  const r = spawnSync(driverBinary(), ['bench', '60', '11'], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return `driver bench failed: ${r.stderr}`;
  const out = new Map<string, Measurement>();
  for (const line of r.stdout.split('\n')) {
    const [name, ns] = line.trim().split(/\s+/);
    if (!name || !ns || !/^\d+$/.test(ns)) continue;
    const medianSec = Number(ns) / 1e9;
    out.set(name, { name: `wolfSSL ${name}`, medianSec, opsPerSec: 1 / medianSec });
  }
  return out;
}

/** The faster of two driver runs (one before, one after ours), so load on the machine never flatters us. */
function fasterOf(a: Map<string, Measurement> | string, b: Map<string, Measurement> | string): Map<string, Measurement> | string {
  if (typeof a === 'string') return a;
  if (typeof b === 'string') return b;
  const out = new Map<string, Measurement>();
  for (const [k, m] of a) {
    const n = b.get(k);
    out.set(k, n && n.medianSec < m.medianSec ? n : m);
  }
  return out;
}

export const ibcSection: BenchSection = {
  title: 'Identity-based crypto (ECCSI, SAKKE, Tate pairing, BF-IBE) vs wolfSSL',
  async run() {
    const before = wolfsslRun();
    const enc = (s: string) => new TextEncoder().encode(s);
    const id = enc('2011-02\0tel:+447700900123\0');
    const msg = new Uint8Array(100).map((_, i) => i);
    const slow = { batches: 7, batchMs: 300 };

    // ECCSI
    const ekms = eccsiKmsSetup();
    const uk = eccsiMakeSskPvt(ekms, id);
    const sig = eccsiSign(ekms.kpak, id, uk.ssk, uk.pvt, msg, { hs: uk.hs });
    const verifier = new EccsiVerifier(ekms.kpak); // KPAK's fixed-base table, built once
    const ours = new Map<string, Measurement>();
    ours.set('eccsi-sign', measure('ECCSI sign', () => eccsiSign(ekms.kpak, id, uk.ssk, uk.pvt, msg, { hs: uk.hs })));
    ours.set('eccsi-verify', measure('ECCSI verify (signer not seen before)', () => eccsiVerify(ekms.kpak, id, msg, sig)));
    const cached = measure('ECCSI verify (known signer, cached HS and Q)', () => verifier.verify(id, msg, sig));

    // SAKKE: KMS public key, sender and receiver precomputation built once (not timed)
    const P1 = sakkeParamSet1;
    const C = P1.curve;
    const skms = sakkeKmsSetup(P1);
    const pub = new SakkeKmsPublicKey(P1, skms.zS);
    const rsk = sakkeMakeRsk(P1, skms.z, id);
    let t0 = performance.now();
    const receiver = new SakkeReceiver(P1, pub, id, rsk);
    const receiverBuild = performance.now() - t0;
    const e0 = sakkeEncapsulate(P1, pub, id);
    sakkeValidateRsk(P1, pub, id, rsk); // builds the cached lines of P and Z_S
    ours.set('sakke-encap', measure('SAKKE encapsulate (cached Z_S table)', () => sakkeEncapsulate(P1, pub, id), slow));
    ours.set('sakke-decap', measure('SAKKE decapsulate (SakkeReceiver)', () => receiver.decapsulate(e0.encapsulatedData), slow));
    ours.set('sakke-validate-rsk', measure('SAKKE RSK validation <[b]P+Z,K> = g', () => sakkeValidateRsk(P1, pub, id, rsk), slow));
    const K = C.decodePoint(rsk);
    const R = C.decodePoint(e0.encapsulatedData.subarray(0, 257));
    const oneShot = measure('Tate pairing <R,K>, one-shot Miller loop', () => sakkePairing(C, R, K), slow);
    const lines = new SakkeLines(C, K);
    const cachedPair = measure('Tate pairing <K,R>, cached lines of K', () => lines.pairing(R), slow);
    t0 = performance.now();
    new SakkeLines(C, K);
    const linesBuild = performance.now() - t0;

    // BF-IBE on the RFC 5091 §7.4 curve (p 192 bits, q 136 bits, SHA-1)
    const bfCurve = type1Curve(
      0xa6a0ffd016103ffffffffff595f002fe9ef195f002fe9efbn,
      0xffffffffffffffffffffffeffffffffffffn,
      { x: 0x6924c354256acf5a0ff7f61be4f0495b54540a5bf6395b3dn, y: 0x024fd8e2eb7c09104bca116f41c035219955237c0eac19abn },
    );
    const { params: bf, s } = bfSetup(bfCurve, 'sha1');
    const Sid = bfExtractPriv(bf, s, enc('Bob'));
    const m = enc('a 16-octet key!!');
    const ct = bfEncrypt(bf, enc('Bob'), m);
    const bfE = measure('BF-IBE encrypt (RFC 5091 §7.4 curve)', () => bfEncrypt(bf, enc('Bob'), m));
    const bfD = measure('BF-IBE decrypt (RFC 5091 §7.4 curve)', () => bfDecrypt(bf, Sid, ct));
    // and on a BFsetup1 curve for n = 1024 (p 512 bits, q 160 bits, SHA-1)
    const gen = bfGenerateCurve(1024);
    const { params: bf1, s: s1 } = bfSetup(gen.curve, gen.hash);
    const Sid1 = bfExtractPriv(bf1, s1, enc('Bob'));
    const ct1 = bfEncrypt(bf1, enc('Bob'), m);
    const bfE1 = measure('BF-IBE encrypt (BFsetup1, n = 1024)', () => bfEncrypt(bf1, enc('Bob'), m));
    const bfD1 = measure('BF-IBE decrypt (BFsetup1, n = 1024)', () => bfDecrypt(bf1, Sid1, ct1));

    const peer = fasterOf(before, wolfsslRun());
    const rows: Array<[string, string]> = [
      ['eccsi-sign', 'eccsi-sign'],
      ['eccsi-verify', 'eccsi-verify'],
      ['sakke-encap', 'sakke-encap'],
      ['sakke-decap', 'sakke-decap'],
      ['sakke-validate-rsk', 'sakke-validate-rsk'],
    ];
    for (const [key, wkey] of rows) {
      const o = ours.get(key)!;
      console.log(fmt(o));
      if (typeof peer !== 'string') {
        const w = peer.get(wkey);
        if (w) {
          console.log(fmt(w));
          console.log(ratioLine(`  ${key}`, o, w));
        }
      }
    }
    console.log(fmt(cached));
    if (typeof peer !== 'string' && peer.get('eccsi-verify')) console.log(ratioLine('  eccsi-verify (cached signer)', cached, peer.get('eccsi-verify')!));
    console.log(fmt(oneShot));
    console.log(fmt(cachedPair));
    console.log(fmt(bfE));
    console.log(fmt(bfD));
    console.log(fmt(bfE1));
    console.log(fmt(bfD1));
    if (typeof peer !== 'string') {
      for (const k of ['sakke-encap-table', 'sakke-decap-table']) if (peer.get(k)) console.log(fmt(peer.get(k)!));
    } else console.log(`wolfSSL not measured: ${peer}`);
    console.log(`one-time setup (not in the rows above): SakkeReceiver ${receiverBuild.toFixed(0)} ms, Miller lines of one point ${linesBuild.toFixed(0)} ms`);
  },
};
