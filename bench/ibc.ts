// Identity-based crypto: ECCSI (RFC 6507), SAKKE (RFC 6508, Parameter Set 1) and the pairing,
// timed against Debian's wolfSSL (test/interop/wolfssl/driver.c, serve mode) in alternating
// batches A B B A (bench/interleave.ts). Like-for-like rows first (one-shot beside one-shot,
// precomputed beside wolfSSL's precomputed API), on the native field core and on the pure
// TypeScript path; then, separately, what our precomputation buys (ours against ours).
// MIKEY_BENCH_ROWS=<substring> runs only the matching rows. Results: .build/bench-ibc.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchSection } from './harness.js';
import { type CompareResult, type Timed, compare, formatResult, timed } from './interleave.js';
import { WolfsslServer, wolfsslProblem } from '../test/interop/wolfssl-peer.js';
import { EccsiVerifier, eccsiKmsSetup, eccsiMakeSskPvt, eccsiSign, eccsiValidateSsk, eccsiVerify } from '../src/crypto/eccsi.js';
import {
  SakkeKmsPublicKey,
  SakkeReceiver,
  sakkeDecapsulate,
  sakkeEncapsulate,
  sakkeKmsSetup,
  sakkeMakeRsk,
  sakkeParamSet1,
  sakkeValidateRsk,
} from '../src/crypto/sakke.js';
import { SakkeLines, sakkePairing } from '../src/crypto/pairing/tate.js';
import { nativeStatus, setNativeEnabled } from '../src/crypto/native.js';

interface Row {
  label: string;
  ours: Timed;
  anchor: Timed;
  goal?: number;
  path: 'native' | 'ts' | 'p256';
}

export const ibcSection: BenchSection = {
  title: 'Identity-based crypto (ECCSI, SAKKE, Tate pairing) vs wolfSSL, interleaved',
  async run() {
    const problem = wolfsslProblem();
    if (problem !== null) {
      console.log(`wolfSSL not available: ${problem}`);
      return;
    }
    const w = await WolfsslServer.start();
    const wolf = (op: string): Timed => (n) => w.time(op, n);
    const filter = process.env.MIKEY_BENCH_ROWS;
    const enc = (s: string) => new TextEncoder().encode(s);
    const id = enc('2011-02\0tel:+447700900123\0');
    const msg = new Uint8Array(100).map((_, i) => i);

    // ECCSI on P-256: KPAK known to the verifier (its table built once, as wolfSSL imports KPAK)
    const ekms = eccsiKmsSetup();
    const uk = eccsiMakeSskPvt(ekms, id);
    const sig = eccsiSign(ekms.kpak, id, uk.ssk, uk.pvt, msg, { hs: uk.hs });
    const verifier = new EccsiVerifier(ekms.kpak);

    // SAKKE: one KMS; a one-shot public key (nothing kept between calls) and one with tables
    const P1 = sakkeParamSet1;
    const C = P1.curve;
    const skms = sakkeKmsSetup(P1);
    const once = new SakkeKmsPublicKey(P1, skms.zS, { tables: false });
    const pub = new SakkeKmsPublicKey(P1, skms.zS);
    const rsk = sakkeMakeRsk(P1, skms.z, id);
    const e0 = sakkeEncapsulate(P1, pub, id);
    const K = C.decodePoint(rsk);
    const R = C.decodePoint(e0.encapsulatedData.subarray(0, 2 * C.L + 1));
    const receivers = new Map<boolean, { rc: SakkeReceiver; lines: SakkeLines }>();
    const receiver = (nat: boolean) => {
      let r = receivers.get(nat);
      if (!r) {
        r = { rc: new SakkeReceiver(P1, pub, id, rsk), lines: new SakkeLines(C, K) };
        receivers.set(nat, r);
      }
      return r;
    };
    // wolfSSL exports no pairing: its pairing is RSK validation less the point I = [a]P + Z
    const wolfPairing: Timed = async (n) => Math.max(1e-9, (await w.time('sakke-validate-rsk', n)) - (await w.time('sakke-point-i', n)));

    const withPath = (nat: boolean, fn: () => unknown): Timed => {
      const t = timed(fn);
      return (n) => {
        setNativeEnabled(nat);
        try {
          return t(n);
        } finally {
          setNativeEnabled(true);
        }
      };
    };

    const rows: Row[] = [
      { label: 'ECCSI sign', ours: timed(() => eccsiSign(ekms.kpak, id, uk.ssk, uk.pvt, msg, { hs: uk.hs })), anchor: wolf('eccsi-sign'), goal: 1, path: 'p256' },
      { label: 'ECCSI verify, first contact', ours: timed(() => eccsiVerify(ekms.kpak, id, msg, sig)), anchor: wolf('eccsi-verify'), goal: 1, path: 'p256' },
      { label: 'ECCSI SSK validation', ours: timed(() => eccsiValidateSsk(ekms.kpak, id, uk.ssk, uk.pvt)), anchor: wolf('eccsi-validate-ssk'), goal: 1, path: 'p256' },
    ];
    const status = nativeStatus();
    const paths: boolean[] = status.loaded ? [true, false] : [false];
    for (const nat of paths) {
      const tag = nat ? `native/${status.backend}` : 'TypeScript';
      const path = nat ? 'native' : 'ts';
      rows.push(
        { label: `SAKKE encapsulate, one-shot [${tag}]`, ours: withPath(nat, () => sakkeEncapsulate(P1, once, id)), anchor: wolf('sakke-encap'), goal: 1, path },
        { label: `SAKKE decapsulate, one-shot [${tag}]`, ours: withPath(nat, () => sakkeDecapsulate(P1, once, id, rsk, e0.encapsulatedData)), anchor: wolf('sakke-decap'), goal: 1, path },
        { label: `SAKKE RSK validation, one-shot [${tag}]`, ours: withPath(nat, () => sakkeValidateRsk(P1, once, id, rsk)), anchor: wolf('sakke-validate-rsk'), goal: 1, path },
        { label: `Tate pairing, one-shot [${tag}] (wolfSSL derived)`, ours: withPath(nat, () => sakkePairing(C, R, K)), anchor: wolfPairing, goal: 1, path },
        { label: `SAKKE encapsulate, precomputed [${tag}]`, ours: withPath(nat, () => sakkeEncapsulate(P1, pub, id)), anchor: wolf('sakke-encap-table'), path },
        { label: `SAKKE decapsulate, precomputed [${tag}]`, ours: withPath(nat, () => receiver(nat).rc.decapsulate(e0.encapsulatedData)), anchor: wolf('sakke-decap-table'), path },
      );
    }
    // what precomputation buys: ours precomputed (A) against ours one-shot (B)
    const nat0 = status.loaded;
    const tag0 = nat0 ? 'native' : 'TypeScript';
    const buys: Row[] = [
      { label: 'buys: ECCSI verify, known signer / first contact', ours: timed(() => verifier.verify(id, msg, sig)), anchor: timed(() => eccsiVerify(ekms.kpak, id, msg, sig)), path: 'p256' },
      { label: `buys: SAKKE encapsulate, tables / one-shot [${tag0}]`, ours: withPath(nat0, () => sakkeEncapsulate(P1, pub, id)), anchor: withPath(nat0, () => sakkeEncapsulate(P1, once, id)), path: 'native' },
      { label: `buys: SAKKE decapsulate, receiver / one-shot [${tag0}]`, ours: withPath(nat0, () => receiver(nat0).rc.decapsulate(e0.encapsulatedData)), anchor: withPath(nat0, () => sakkeDecapsulate(P1, once, id, rsk, e0.encapsulatedData)), path: 'native' },
      { label: `buys: RSK validation, cached lines / one-shot [${tag0}]`, ours: withPath(nat0, () => sakkeValidateRsk(P1, pub, id, rsk)), anchor: withPath(nat0, () => sakkeValidateRsk(P1, once, id, rsk)), path: 'native' },
      { label: `buys: pairing, cached lines of K / one-shot [${tag0}]`, ours: withPath(nat0, () => receiver(nat0).lines.pairing(R)), anchor: withPath(nat0, () => sakkePairing(C, R, K)), path: 'native' },
    ];
    if (status.loaded) {
      buys.push({ label: 'native / TypeScript: Tate pairing, one-shot', ours: withPath(true, () => sakkePairing(C, R, K)), anchor: withPath(false, () => sakkePairing(C, R, K)), path: 'native' });
    }
    console.log(`native field core: ${status.loaded ? `loaded (${status.backend})` : `not loaded: ${status.problem}`}`);
    console.log('ratio = time ours / time anchor, median of 7 rounds of A B B A [25th-75th percentile]');
    const results: CompareResult[] = [];
    for (const r of [...rows, ...buys]) {
      if (filter && !r.label.toLowerCase().includes(filter.toLowerCase())) continue;
      const res = await compare({ label: r.label, ours: r.ours, anchor: r.anchor, goal: r.goal, rounds: 7, batchMs: 100 });
      results.push(res);
      console.log(formatResult(res));
    }
    w.close();
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    mkdirSync(join(root, '.build'), { recursive: true });
    writeFileSync(join(root, '.build', 'bench-ibc.json'), JSON.stringify({ native: status, results }, null, 2));
  },
};
