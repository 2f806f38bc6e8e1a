// Each method's full exchange in this build beside the same exchange in an earlier build
// (MIKEY_BENCH_HISTORY_REV, default 242efe6; built once in $TMPDIR, or MIKEY_BENCH_HISTORY_BASE=DIR,
// a checkout with dist/ built), both loaded in this process and timed in alternating batches
// (harness.ts compare()): the ratio now/before says whether a change made an exchange slower.
// Both ends of every exchange run here; each side drives its own build through that build's
// API (the adapters below), with the same keys, sessions and replay caches that remember
// nothing. Times are CPU seconds of this process (see harness.ts cpuTimedAsync). SAKKE and IBAKE
// run on each build's native field core when it is built there (node native/install.mjs in the
// earlier build's folder), else on its TypeScript path; their row names say which.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as index from '../src/index.js';
import * as cryptoEntry from '../src/entry/crypto.js';
import * as ibakeEntry from '../src/entry/ibake.js';
import * as kmsEntry from '../src/entry/kms.js';
import * as ticketEntry from '../src/entry/ticket.js';
import { compare, cpuTimedAsync, forgetfulReplayCache, type BenchSection } from './harness.js';
import { earlierBuild, repoRoot } from './report.js';

/** What the drivers use of a build (this build's names; an earlier build is loaded as if it had them). */
const thisBuild = { ...index, ...cryptoEntry, ...ibakeEntry, ...kmsEntry, ...ticketEntry };
type Lib = typeof thisBuild;

const BASE_REV = process.env['MIKEY_BENCH_HISTORY_REV'] ?? '242efe6';
const GOAL = 1.05;

/** The earlier build's public API: at 242efe6 the package root exported everything the drivers use. */
const earlierRoot = (): string => earlierBuild(BASE_REV, process.env['MIKEY_BENCH_HISTORY_BASE'], join('src', 'index.js'));

async function earlierLib(): Promise<Lib> {
  const root = earlierRoot();
  const mods = await Promise.all(['index.js', 'entry/crypto.js', 'entry/ibake.js', 'entry/kms.js', 'entry/ticket.js'].map(async (f) => {
    try {
      return (await import(pathToFileURL(join(root, 'dist', 'src', f)).href)) as object;
    } catch {
      return {}; // not in that build
    }
  }));
  return Object.assign({}, ...mods) as Lib;
}

/** Key material both builds use (plain bytes and node KeyObjects). */
interface Shared {
  psk: Uint8Array;
  alice: { privateKey: KeyObject; publicKey: KeyObject };
  bob: { privateKey: KeyObject; publicKey: KeyObject };
}

/** One full exchange, both ends, against build `L`; set up once (keys, precomputation), run many times. */
type Exchange = (L: Lib, k: Shared) => Promise<() => Promise<void>>;

// The adapters: what a method's calls return differs between builds (results tagged by kind, or
// not); each reads its answer the way its build gives it.
const bytesOf = (x: unknown): Uint8Array => (x instanceof Uint8Array ? x : (x as { bytes: Uint8Array }).bytes);
const responseOf = (x: unknown): Uint8Array => {
  const r = (x as { response?: unknown }).response;
  if (r === undefined) throw new Error('the exchange gave no response');
  return bytesOf(r);
};

/** The initiator's first call: `createOffer` in every method now; RSA-R's was `createRequest`. */
const firstCall = <I extends { createOffer: (...a: never[]) => unknown }>(ini: I, before: string): I['createOffer'] => {
  const f = (ini as unknown as Record<string, unknown>)['createOffer'] ?? (ini as unknown as Record<string, unknown>)[before];
  return (f as (...a: unknown[]) => unknown).bind(ini) as I['createOffer'];
};
/** A TICKET pending object's reader of the answer: `receiveResponse` now, `receive` before. */
const answerReader = <P extends object>(p: P): P extends { receiveResponse: infer R } ? R : never => {
  const q = p as unknown as { receiveResponse?: unknown; receive?: unknown };
  return ((q.receiveResponse ?? q.receive) as (b: Uint8Array) => unknown).bind(p) as never;
};

const sessions = [{ ssrc: 0x1234 }];
const csbId = 0x01020304;
const replayCache = forgetfulReplayCache;

/** Whether the build at `root` has its optional native field core built (SAKKE and IBAKE use it when there). */
const nativeBuilt = (root: string): boolean => existsSync(join(root, 'native', 'build', 'Release', 'mikey_ibc.node'));

const EXCHANGES: Array<{ name: string; ex: Exchange; ibc?: boolean }> = [
  {
    name: 'PSK (I_MESSAGE + V)',
    ex: async (L, k) => {
      const idi = L.uriIdentity('sip:alice@example.org');
      const idr = L.uriIdentity('sip:bob@example.org');
      const ini = new L.PskInitiator({ psk: k.psk, idi, idr });
      const res = new L.PskResponder({ psk: k.psk, idr, replayCache });
      return async () => {
        const o = ini.createOffer({ sessions, verify: true, csbId });
        ini.receiveResponse(responseOf(await res.receive(bytesOf(o))));
      };
    },
  },
  {
    name: 'PK, RSA-2048 (I_MESSAGE + V)',
    ex: async (L, k) => {
      const ini = new L.PkInitiator({ privateKey: k.alice.privateKey, idi: L.uriIdentity('sip:alice@example.org'), responderKey: k.bob.publicKey });
      const res = new L.PkResponder({ privateKey: k.bob.privateKey, peerKey: () => k.alice.publicKey, replayCache });
      return async () => {
        const o = ini.createOffer({ sessions, verify: true, csbId });
        ini.receiveResponse(responseOf(await res.receive(bytesOf(o))));
      };
    },
  },
  {
    name: 'DH, OAKLEY 5, RSA-2048',
    ex: async (L, k) => {
      const ini = new L.DhInitiator({ privateKey: k.alice.privateKey, idi: L.uriIdentity('sip:alice@example.org'), peerKey: () => k.bob.publicKey });
      const res = new L.DhResponder({ privateKey: k.bob.privateKey, idr: L.uriIdentity('sip:bob@example.org'), peerKey: () => k.alice.publicKey, replayCache });
      return async () => {
        const o = ini.createOffer({ sessions, csbId });
        ini.receiveResponse(responseOf(await res.receive(bytesOf(o))));
      };
    },
  },
  {
    name: 'DH-HMAC, OAKLEY 5',
    ex: async (L, k) => {
      const idi = L.uriIdentity('sip:alice@example.org');
      const idr = L.uriIdentity('sip:bob@example.org');
      const ini = new L.DhHmacInitiator({ psk: k.psk, idi, idr });
      const res = new L.DhHmacResponder({ psk: k.psk, idr, replayCache });
      return async () => {
        const o = ini.createOffer({ sessions, csbId });
        ini.receiveResponse(responseOf(await res.receive(bytesOf(o))));
      };
    },
  },
  {
    name: 'RSA-R, RSA-2048',
    ex: async (L, k) => {
      const ini = new L.RsaRInitiator({ privateKey: k.alice.privateKey, idi: L.uriIdentity('sip:alice@example.org'), peerKey: () => k.bob.publicKey });
      const res = new L.RsaRResponder({ privateKey: k.bob.privateKey, idr: L.uriIdentity('sip:bob@example.org'), peerKey: () => k.alice.publicKey, replayCache });
      return async () => {
        const req = firstCall(ini, 'createRequest')({ sessions, csbId });
        await ini.receiveResponse(responseOf(await res.receive(bytesOf(req))));
      };
    },
  },
  {
    name: 'TICKET, in-memory KMS (6 messages)',
    ex: async (L, k) => {
      const kmsId = L.uriIdentity('sip:kms@example.org');
      const bobId = L.uriIdentity('sip:bob@example.org');
      const dir = new L.MemoryDirectory();
      dir.addUser('sip:alice@example.org', { name: 'alice-phone', psk: k.psk });
      dir.addUser('sip:bob@example.org', { name: 'bob-phone', psk: k.psk.map((b) => b ^ 0x5a) });
      const kms = new L.TicketKms({ identity: kmsId, directory: dir, replayCache });
      const alice = new L.TicketInitiator({ identity: L.uriIdentity('sip:alice@example.org'), kms: kmsId, psk: k.psk, replayCache });
      const bob = new L.TicketResponder({ identity: bobId, kms: kmsId, psk: k.psk.map((b) => b ^ 0x5a), pskId: new TextEncoder().encode('bob-phone'), replayCache });
      const resolve = async (b: Uint8Array) => responseOf(await kms.receive(b));
      return async () => {
        const req = alice.createRequest({ responders: [bobId] });
        const grant = answerReader(req)(responseOf(await kms.receive(req.bytes)));
        const xfer = alice.createTransfer(grant, { sessions });
        answerReader(xfer)(responseOf(await bob.receiveTransfer(xfer.bytes, resolve)));
      };
    },
  },
  {
    name: 'SAKKE, RFC 6509 (I_MESSAGE, two sessions)',
    ibc: true,
    ex: async (L) => {
      const ekms = L.eccsiKmsSetup();
      const skms = L.sakkeKmsSetup(L.sakkeParamSet1);
      const kms = { zS: new L.SakkeKmsPublicKey(L.sakkeParamSet1, skms.zS), kpak: ekms.kpak };
      const T = Date.UTC(2027, 0, 15, 12);
      const clock = { now: () => T };
      const aliceId = L.telUriIdentifier('tel:+447700900123', T);
      const bobId = L.telUriIdentifier('tel:+447700900456', T);
      const ini = new L.SakkeInitiator({ uri: 'tel:+447700900123', kms, keys: [{ id: aliceId, ...L.eccsiMakeSskPvt(ekms, aliceId) }], clock });
      const res = new L.SakkeResponder({ uri: 'tel:+447700900456', kms, keys: [{ id: bobId, rsk: L.sakkeMakeRsk(L.sakkeParamSet1, skms.z, bobId) }], clock, replayCache });
      const two = [{ ssrc: 1 }, { ssrc: 2, profile: 'AEAD_AES_128_GCM' as const }];
      return async () => {
        await res.receive(bytesOf(ini.createOffer({ to: 'tel:+447700900456', sessions: two })));
      };
    },
  },
  {
    name: 'IBAKE, P-256, BF n = 1024 (4 messages)',
    ibc: true,
    ex: async (L) => {
      const { curve, hash } = L.bfGenerateCurve(1024);
      const { params, s } = L.bfSetup(curve, hash);
      const domain = L.staticDomain(params);
      const no = L.keyPeriodOf(Date.now(), domain.period);
      const alice = L.uriIdentity('sip:alice@example.org');
      const bob = L.uriIdentity('sip:bob@example.org');
      const ring = (id: ReturnType<Lib['uriIdentity']>) => {
        const r = new L.IbakeKeyRing(domain);
        r.add(id, no, L.bfExtractPriv(params, s, L.ibeIdentity(id, no, domain.period)));
        return r;
      };
      const ini = new L.IbakeInitiator({ idi: alice, keys: ring(alice), curve: 'P-256' });
      const res = new L.IbakeResponder({ keys: ring(bob), replayCache });
      return async () => {
        const r1 = await res.receive(bytesOf(ini.createOffer({ idr: bob, sessions })));
        const r2 = await res.receive(bytesOf(ini.receiveResponse(responseOf(r1))));
        ini.receiveVerification(responseOf(r2));
      };
    },
  },
];

export const historySection: BenchSection = {
  title: `History: each method's exchange, this build vs ${BASE_REV}`,
  async run() {
    const before = await earlierLib();
    const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keys: Shared = { psk: new Uint8Array(randomBytes(16)), alice: rsa(), bob: rsa() };
    const only = (process.env['MIKEY_BENCH_HISTORY'] ?? '').toLowerCase();
    // the identity-based rows say which field arithmetic each side ran
    const nowNative = nativeBuilt(repoRoot());
    const thenNative = nativeBuilt(earlierRoot());
    const path = nowNative === thenNative ? (nowNative ? ' [native core]' : ' [TypeScript]') : ` [${nowNative ? 'native' : 'TypeScript'} vs ${thenNative ? 'native' : 'TypeScript'}]`;
    for (const { name, ex, ibc } of EXCHANGES) {
      if (only && !name.toLowerCase().includes(only)) continue;
      const now = await ex(thisBuild, keys);
      const then = await ex(before, keys);
      // both must complete an exchange before anything is timed
      await now();
      await then();
      await compare({
        name: `${name}${ibc ? path : ''}: now vs ${BASE_REV}`,
        kind: 'earlier-build',
        ours: cpuTimedAsync('this build', now),
        anchor: cpuTimedAsync(BASE_REV, then),
        goal: GOAL,
        rounds: 15,
        batchMs: 200,
      });
    }
  },
};
