// Identity-based crypto: ECCSI (RFC 6507), SAKKE (RFC 6508, Parameter Set 1) and the pairing,
// timed against Debian's wolfSSL (test/interop/wolfssl/driver.c, serve mode) in alternating
// batches A B B A (bench/harness.ts compare). Like-for-like rows first (one-shot beside one-shot,
// cached beside wolfSSL's FP_ECC cache, precomputed beside its table API), on the native core and the pure
// TypeScript path; then, separately, what our precomputation buys (ours against ours).
// MIKEY_BENCH_ROWS=<substring> runs only the matching rows.
import { type BenchSection, type RowKind, type Side, compare, timed } from './harness.js';
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
  ours: Side;
  anchor: Side;
  goal: number;
  kind: RowKind;
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
    const wolf = (op: string): Side => ({ label: `wolfSSL ${op}`, batch: (n) => w.time(op, n) });
    const filter = process.env.MIKEY_BENCH_ROWS;
    const enc = (s: string) => new TextEncoder().encode(s);
    const id = enc('2011-02\0tel:+447700900123\0');
    const msg = new Uint8Array(100).map((_, i) => i);

    // ECCSI on P-256: KPAK known to the verifier (its table built once, as wolfSSL imports KPAK)
    const ekms = eccsiKmsSetup();
    const uk = eccsiMakeSskPvt(ekms, id);
    const sig = eccsiSign(ekms.kpak, id, uk.ssk, uk.pvt, msg, { hs: uk.hs });
    const verifier = new EccsiVerifier(ekms.kpak);
    // first contact: a new signer (identifier, SSK, PVT) on every call, 32 in turn on both sides
    // (more than wolfSSL's fixed-point cache holds, FP_ECC with 15 entries in Debian's build)
    const cycle = Array.from({ length: 32 }, (_, i) => {
      const cid = enc(`2011-02\0tel:+4477009${String(i).padStart(5, '0')}\0`);
      const k = eccsiMakeSskPvt(ekms, cid);
      return { id: cid, ...k, sig: eccsiSign(ekms.kpak, cid, k.ssk, k.pvt, msg, { hs: k.hs }) };
    });
    let next = 0;
    const nextSigner = () => cycle[next++ % cycle.length]!;

    // SAKKE: one KMS; a one-shot public key (nothing kept between calls) and one with tables
    const P1 = sakkeParamSet1;
    const C = P1.curve;
    const skms = sakkeKmsSetup(P1);
    const once = new SakkeKmsPublicKey(P1, skms.zS, { tables: false });
    const pub = new SakkeKmsPublicKey(P1, skms.zS);
    const rsk = sakkeMakeRsk(P1, skms.z, id);
    const e0 = sakkeEncapsulate(P1, pub, id);
    // first contact on the receiving side: 32 receivers in turn, as wolfSSL's driver
    const rcycle = cycle.map((c) => {
      const r = sakkeMakeRsk(P1, skms.z, c.id);
      return { id: c.id, rsk: r, ed: sakkeEncapsulate(P1, once, c.id).encapsulatedData };
    });
    let nextR = 0;
    const nextReceiver = () => rcycle[nextR++ % rcycle.length]!;
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
    const wolfPairing: Side = {
      label: 'wolfSSL sakke-validate-rsk - sakke-point-i',
      batch: async (n) => Math.max(1e-9, (await w.time('sakke-validate-rsk', n)) - (await w.time('sakke-point-i', n))),
    };

    const status = nativeStatus();
    const withPath = (nat: boolean, label: string, fn: () => unknown): Side => {
      const t = timed(`${label} [${nat ? `native/${status.backend}` : 'TypeScript'}]`, fn);
      return {
        label: t.label,
        batch: (n) => {
          setNativeEnabled(nat);
          try {
            return t.batch(n);
          } finally {
            setNativeEnabled(true);
          }
        },
      };
    };

    const L = 'like-for-like' as const;
    const rows: Row[] = [];
    const ecPaths: boolean[] = status.loaded ? [true, false] : [false];
    for (const nat of ecPaths) {
      const tag = nat ? 'native' : 'TS';
      rows.push(
        { label: `ECCSI sign [${tag}]`, ours: withPath(nat, 'eccsiSign', () => eccsiSign(ekms.kpak, id, uk.ssk, uk.pvt, msg, { hs: uk.hs })), anchor: wolf('eccsi-sign'), goal: 1, kind: L },
        { label: `ECCSI verify, first contact: a new signer each call [${tag}]`, ours: withPath(nat, 'eccsiVerify, 32 signers in turn', () => { const c = nextSigner(); return eccsiVerify(ekms.kpak, c.id, msg, c.sig); }), anchor: wolf('eccsi-verify-first'), goal: 1, kind: L },
        { label: `ECCSI verify, the same signer again, state kept on both sides [${tag}]`, ours: withPath(nat, 'EccsiVerifier.verify, cached signer', () => verifier.verify(id, msg, sig)), anchor: wolf('eccsi-verify'), goal: 1, kind: L },
        { label: `ECCSI SSK validation, a new SSK each call [${tag}]`, ours: withPath(nat, 'eccsiValidateSsk, 32 SSKs in turn', () => { const c = nextSigner(); return eccsiValidateSsk(ekms.kpak, c.id, c.ssk, c.pvt); }), anchor: wolf('eccsi-validate-ssk-first'), goal: 1, kind: L },
        // wolfSSL's FP_ECC cache keeps a table for a point met twice (this PVT); ours keeps nothing
        { label: `ECCSI SSK validation, the same SSK again: wolfSSL's cache warm, ours one-shot [${tag}]`, ours: withPath(nat, 'eccsiValidateSsk', () => eccsiValidateSsk(ekms.kpak, id, uk.ssk, uk.pvt)), anchor: wolf('eccsi-validate-ssk'), goal: 1, kind: 'precomputation' },
      );
    }
    const paths: boolean[] = status.loaded ? [true, false] : [false];
    for (const nat of paths) {
      const tag = nat ? 'native' : 'TS';
      rows.push(
        { label: `SAKKE encapsulate, one-shot, a new identifier each call [${tag}]`, ours: withPath(nat, 'sakkeEncapsulate, tables: false, 32 identifiers in turn', () => sakkeEncapsulate(P1, once, nextSigner().id)), anchor: wolf('sakke-encap-first'), goal: 1, kind: L },
        // the same identifier again, state kept on both sides: wolfSSL's key keeps I = [b]P + Z and
        // its FP_ECC cache a table of I; ours (native) a comb table of I from the second use
        { label: `SAKKE encapsulate, the same identifier again, cached on both sides [${tag}]`, ours: withPath(nat, 'sakkeEncapsulate, KMS key with tables', () => sakkeEncapsulate(P1, pub, id)), anchor: wolf('sakke-encap'), goal: 1, kind: L },
        { label: `SAKKE encapsulate, the same identifier again: wolfSSL's cache warm, ours one-shot [${tag}]`, ours: withPath(nat, 'sakkeEncapsulate, tables: false', () => sakkeEncapsulate(P1, once, id)), anchor: wolf('sakke-encap'), goal: 1, kind: 'precomputation' },
        { label: `SAKKE decapsulate, one-shot, a new receiver each call [${tag}]`, ours: withPath(nat, 'sakkeDecapsulate, tables: false, 32 receivers in turn', () => { const c = nextReceiver(); return sakkeDecapsulate(P1, once, c.id, c.rsk, c.ed); }), anchor: wolf('sakke-decap-first'), goal: 1, kind: L },
        { label: `SAKKE decapsulate, the same receiver again, cached on both sides [${tag}]`, ours: withPath(nat, 'sakkeDecapsulate, KMS key with tables', () => sakkeDecapsulate(P1, pub, id, rsk, e0.encapsulatedData)), anchor: wolf('sakke-decap'), goal: 1, kind: L },
        { label: `SAKKE decapsulate, the same receiver again: wolfSSL's cache warm, ours one-shot [${tag}]`, ours: withPath(nat, 'sakkeDecapsulate, tables: false', () => sakkeDecapsulate(P1, once, id, rsk, e0.encapsulatedData)), anchor: wolf('sakke-decap'), goal: 1, kind: 'precomputation' },
        { label: `SAKKE RSK validation, one-shot [${tag}]`, ours: withPath(nat, 'sakkeValidateRsk, tables: false', () => sakkeValidateRsk(P1, once, id, rsk)), anchor: wolf('sakke-validate-rsk'), goal: 1, kind: L },
        { label: `Tate pairing, one-shot [${tag}]`, ours: withPath(nat, 'sakkePairing', () => sakkePairing(C, R, K)), anchor: wolfPairing, goal: 1, kind: L },
        // wolfSSL's table API builds no table in Debian's build (no SP 1024-bit code): our
        // precomputation against its best available, filed as what precomputation buys
        { label: `SAKKE encap, tables vs wolfSSL table API [${tag}]`, ours: withPath(nat, 'sakkeEncapsulate, tables', () => sakkeEncapsulate(P1, pub, id)), anchor: wolf('sakke-encap-table'), goal: 1, kind: 'precomputation' },
        { label: `SAKKE decap, receiver vs wolfSSL table API [${tag}]`, ours: withPath(nat, 'SakkeReceiver.decapsulate', () => receiver(nat).rc.decapsulate(e0.encapsulatedData)), anchor: wolf('sakke-decap-table'), goal: 1, kind: 'precomputation' },
      );
    }
    // what precomputation buys: ours precomputed (A) against ours one-shot (B), goal: faster
    const nat0 = status.loaded;
    const tag0 = nat0 ? 'native' : 'TS';
    const P = 'precomputation' as const;
    const buys: Row[] = [
      { label: `ECCSI verify: known signer / first [${tag0}]`, ours: withPath(nat0, 'EccsiVerifier.verify, cached signer', () => verifier.verify(id, msg, sig)), anchor: withPath(nat0, 'eccsiVerify, 32 signers in turn', () => { const c = nextSigner(); return eccsiVerify(ekms.kpak, c.id, msg, c.sig); }), goal: 1, kind: P },
      { label: `SAKKE encap: tables / one-shot [${tag0}]`, ours: withPath(nat0, 'sakkeEncapsulate, tables', () => sakkeEncapsulate(P1, pub, id)), anchor: withPath(nat0, 'sakkeEncapsulate, tables: false', () => sakkeEncapsulate(P1, once, id)), goal: 1, kind: P },
      { label: `SAKKE decap: receiver / one-shot [${tag0}]`, ours: withPath(nat0, 'SakkeReceiver.decapsulate', () => receiver(nat0).rc.decapsulate(e0.encapsulatedData)), anchor: withPath(nat0, 'sakkeDecapsulate, tables: false', () => sakkeDecapsulate(P1, once, id, rsk, e0.encapsulatedData)), goal: 1, kind: P },
      { label: `RSK validation: lines / one-shot [${tag0}]`, ours: withPath(nat0, 'sakkeValidateRsk, cached lines', () => sakkeValidateRsk(P1, pub, id, rsk)), anchor: withPath(nat0, 'sakkeValidateRsk, tables: false', () => sakkeValidateRsk(P1, once, id, rsk)), goal: 1, kind: P },
      { label: `pairing: lines of K / one-shot [${tag0}]`, ours: withPath(nat0, 'SakkeLines.pairing', () => receiver(nat0).lines.pairing(R)), anchor: withPath(nat0, 'sakkePairing', () => sakkePairing(C, R, K)), goal: 1, kind: P },
    ];
    if (status.loaded) {
      buys.push({ label: 'pairing one-shot: native / TS', ours: withPath(true, 'sakkePairing', () => sakkePairing(C, R, K)), anchor: withPath(false, 'sakkePairing', () => sakkePairing(C, R, K)), goal: 1, kind: L });
    }
    console.log(`native field core: ${status.loaded ? `loaded (${status.backend})` : `not loaded: ${status.problem}`}`);
    const selected = [...rows, ...buys].filter((r) => !filter || r.label.toLowerCase().includes(filter.toLowerCase()));
    // warm every side first (JIT, lazily packed tables), so the first rows are not the coldest
    for (const r of selected) {
      await r.ours.batch(2);
      await r.anchor.batch(2);
    }
    for (const r of selected) {
      await compare({ name: r.label, kind: r.kind, ours: r.ours, anchor: r.anchor, goal: r.goal, rounds: 7, batchMs: 100 });
    }
    w.close();
  },
};
