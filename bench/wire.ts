// Wire codec beside GStreamer's C MIKEY code (libgstsdp), the same work on both sides, on
// several PSK I_MESSAGEs (the shapes GStreamer handles): decode, read every SP parameter and
// encode again; and encode alone (GStreamer: gst_mikey_message_to_bytes of parsed messages;
// ours: encodeMessage of built messages). Both encoders write every payload from its fields
// into bytes of their own (GStreamer: a GBytes; ours: a Uint8Array whose buffer is the message).
// Each row is repeated with encodeMessageInto, which writes into a send buffer the caller
// reuses: no allocation on our side, where GStreamer's API always allocates its GBytes.
// Then the same two operations beside the codec of an earlier commit (MIKEY_BENCH_CODEC_REV,
// default df901f9: one layout per function, output carved from a shared slab), built once in
// $TMPDIR (or MIKEY_BENCH_CODEC_BASE=DIR, a checkout with dist/ built), and encode beside
// the allocation of its output, the part of it no writer can avoid.
// Every row counts CPU time (ours: the process's, GC threads included; GStreamer: its driver's,
// one thread): on a machine shared with other work, elapsed time mostly measures the wait for
// a core, which swung the ratios by a factor of several from one round to the next.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MikeyDecodeError, PayloadType, encodeMessage, policyParams, tryDecodeMessage, type Message, type Payload, type PayloadOf } from '../src/wire/index.js';
import { CORPUS, SRTP_POLICY, fill } from '../test/wire/corpus.js';
import { GstBenchServer, gstProblem } from '../test/interop/gst.js';
import { compare, cpuTimed, type BenchSection } from './harness.js';
import { earlierBuild, repoRoot } from './report.js';
import * as ours from '../src/wire/index.js';

type Wire = typeof ours;

let sink = 0;

const BASE_REV = process.env['MIKEY_BENCH_CODEC_REV'] ?? 'df901f9';

/** The earlier commit's build: given, or made once. */
const baseRoot = (): string => earlierBuild(BASE_REV, process.env['MIKEY_BENCH_CODEC_BASE'], join('src', 'wire', 'index.js'));

/** decode, read every SP parameter, encode (into `target` when given): the work of GStreamer's `dse` */
function dse(w: Wire, encoded: Uint8Array[], target?: Uint8Array): () => void {
  let k = 0;
  return () => {
    const m = w.decodeMessage(encoded[k]!);
    if (++k === encoded.length) k = 0;
    for (const p of m.payloads) {
      if (p.type !== w.PayloadType.Sp) continue;
      sink += p.policyNo + p.protType;
      for (const q of w.policyParams(p)) sink += q.type + q.value.length + (q.value.length ? q.value[0]! : 0);
    }
    sink += target ? ours.encodeMessageInto(m, target) : w.encodeMessage(m).length;
  };
}
function enc(w: Wire, built: Message[]): () => void {
  let j = 0;
  return () => {
    sink += w.encodeMessage(built[j]!).length;
    if (++j === built.length) j = 0;
  };
}
function encInto(built: Message[], target: Uint8Array): () => void {
  let j = 0;
  return () => {
    sink += ours.encodeMessageInto(built[j]!, target);
    if (++j === built.length) j = 0;
  };
}

const corpus = (name: string): Message => CORPUS.find((s) => s.name === name)!.message;
const ntp = Uint8Array.of(0xee, 0xb3, 0xef, 0x40, 0x80, 0, 0, 0);
const keyData = (keyType: number, seed: number, validity: PayloadOf<typeof PayloadType.KeyData>['validity'] = { kv: 0 }): Payload => ({
  type: PayloadType.KeyData, keyType, keyData: fill(16, seed), validity, ...(keyType & 1 ? { salt: fill(14, seed + 1) } : {}),
});

/** The bench's PSK I_MESSAGEs: the RTSP camera shape, three sessions with two policies and a MAC, a re-key with three keys. */
export function benchMessages(): Message[] {
  const three: Message = {
    header: { version: 1, dataType: 0, v: false, prfFunc: 0, csbId: 0x1badcafe, csIdMap: { type: 0, entries: [1, 2, 3].map((i) => ({ policyNo: i === 3 ? 1 : 0, ssrc: 0x5000 + i, roc: 0 })) } },
    payloads: [
      { type: PayloadType.T, tsType: 0, value: ntp },
      { type: PayloadType.Rand, rand: fill(16, 31) },
      SRTP_POLICY,
      { ...(SRTP_POLICY as PayloadOf<typeof PayloadType.Sp>), policyNo: 1 },
      { type: PayloadType.Kemac, encrAlg: 0, encrData: new Uint8Array(0), macAlg: 1, mac: fill(20, 32), plaintext: [
        keyData(0, 33), keyData(3, 35, { kv: 1, spi: Uint8Array.of(0, 0, 0, 7) }),
      ] },
    ],
  };
  const interval: Message = {
    header: { version: 1, dataType: 0, v: false, prfFunc: 0, csbId: 0x0c0ffee0, csIdMap: { type: 0, entries: [{ policyNo: 0, ssrc: 0xabcdef01, roc: 0 }] } },
    payloads: [
      { type: PayloadType.T, tsType: 0, value: ntp },
      { type: PayloadType.Rand, rand: fill(32, 41) },
      SRTP_POLICY,
      { type: PayloadType.Kemac, encrAlg: 0, encrData: new Uint8Array(0), macAlg: 0, mac: new Uint8Array(0), plaintext: [
        keyData(3, 43, { kv: 2, validFrom: fill(6, 44), validTo: fill(6, 45) }),
      ] },
    ],
  };
  const rekey: Message = {
    header: { version: 1, dataType: 0, v: false, prfFunc: 0, csbId: 0x600dd00d, csIdMap: { type: 0, entries: [{ policyNo: 0, ssrc: 0x77, roc: 5 }, { policyNo: 0, ssrc: 0x78, roc: 9 }] } },
    payloads: [
      { type: PayloadType.T, tsType: 1, value: ntp },
      { type: PayloadType.Rand, rand: fill(16, 51) },
      SRTP_POLICY,
      { type: PayloadType.Kemac, encrAlg: 0, encrData: new Uint8Array(0), macAlg: 1, mac: fill(20, 52), plaintext: [
        keyData(3, 53, { kv: 1, spi: Uint8Array.of(0, 1) }), keyData(3, 55, { kv: 1, spi: Uint8Array.of(0, 2) }), keyData(2, 57),
      ] },
    ],
  };
  return [corpus('psk-null'), three, interval, rekey];
}


export const wireSection: BenchSection = {
  title: 'Wire codec vs GStreamer C (PSK I_MESSAGEs)',
  async run() {
    const built = benchMessages();
    const encoded = built.map((m) => encodeMessage(m).slice());
    const problem = gstProblem();
    if (problem) {
      console.log(`GStreamer C: unavailable (${problem}); no rows`);
      return;
    }
    const gst = await GstBenchServer.start(encoded.map((b) => Buffer.from(b).toString('hex')));
    try {
      const bytes = encoded.reduce((n, b) => n + b.length, 0);
      console.log(`${encoded.length} messages, ${encoded.map((b) => b.length).join(' + ')} = ${bytes} bytes`);
      await compare({
        name: 'codec: decode + SP parameters + encode',
        kind: 'like-for-like',
        rounds: 15,
        goal: 1.0,
        ours: cpuTimed('ours', dse(ours, encoded)),
        anchor: { label: 'GStreamer C', batch: (n) => gst.run('dse', n, 'cpu') },
      });
      const send = new Uint8Array(2048);
      await compare({
        name: 'codec: decode + SP parameters + encodeMessageInto',
        kind: 'like-for-like',
        rounds: 15,
        goal: 1.0,
        ours: cpuTimed('ours, into a send buffer', dse(ours, encoded, send)),
        anchor: { label: 'GStreamer C', batch: (n) => gst.run('dse', n, 'cpu') },
      });
      await compare({
        name: 'codec: encode',
        kind: 'like-for-like',
        rounds: 15,
        goal: 1.0,
        ours: cpuTimed('ours', enc(ours, built)),
        anchor: { label: 'GStreamer C', batch: (n) => gst.run('enc', n, 'cpu') },
      });
      await compare({
        name: 'codec: encodeMessageInto',
        kind: 'like-for-like',
        rounds: 15,
        goal: 1.0,
        ours: cpuTimed('ours, into a send buffer', encInto(built, send)),
        anchor: { label: 'GStreamer C', batch: (n) => gst.run('enc', n, 'cpu') },
      });
    } finally {
      gst.close();
    }
    const sizes = built.map((m) => ours.encodedSize(m));
    let a0 = 0;
    await compare({
      name: 'codec: encode vs allocating its output (floor)',
      kind: 'floor',
      rounds: 15,
      goal: 2.0,
      ours: cpuTimed('encode', enc(ours, built)),
      anchor: cpuTimed('new Uint8Array(size)', () => {
        sink += new Uint8Array(sizes[a0]!).length;
        if (++a0 === sizes.length) a0 = 0;
      }),
    });
    let base: Wire | undefined;
    try {
      base = (await import(pathToFileURL(join(baseRoot(), 'dist', 'src', 'wire', 'index.js')).href)) as Wire;
    } catch (e) {
      console.log(`codec of ${BASE_REV}: unavailable (${(e as Error).message.split('\n')[0]}); no rows`);
    }
    if (base) {
      await compare({
        name: `codec: decode + SP parameters + encode vs ${BASE_REV}`,
        kind: 'like-for-like',
        rounds: 15,
        goal: 1.0,
        ours: cpuTimed('ours', dse(ours, encoded)),
        anchor: cpuTimed(BASE_REV, dse(base, encoded)),
      });
      await compare({
        name: `codec: encode vs ${BASE_REV}`,
        kind: 'like-for-like',
        rounds: 15,
        goal: 1.0,
        ours: cpuTimed('ours', enc(ours, built)),
        anchor: cpuTimed(BASE_REV, enc(base, built)),
      });
    }
    // hostile input must not cost more to reject than a good message costs to accept
    // (tryDecodeMessage, the form for hostile input: decodeMessage adds one throw). The dearest
    // case: each message cut one byte short, so its error is found at its last payload.
    const cut = encoded.map((b) => b.subarray(0, b.length - 1));
    // and every way to break one: each message cut at every byte, and each byte changed
    // (the accepting side decodes, for each, the message it was broken from)
    const broken: Uint8Array[] = [];
    const sources: Uint8Array[] = [];
    for (const b of encoded) {
      for (let n = 0; n < b.length; n++) broken.push(b.subarray(0, n));
      for (let i = 0; i < b.length; i++) {
        const x = Uint8Array.from(b);
        x[i] = x[i]! ^ 0xff;
        if (tryDecodeMessage(x) instanceof MikeyDecodeError) broken.push(x);
      }
      while (sources.length < broken.length) sources.push(b);
    }
    const refusing = (set: Uint8Array[]): (() => void) => {
      let k = 0;
      return () => {
        const e = tryDecodeMessage(set[k]!);
        if (!(e instanceof MikeyDecodeError)) throw new Error('a broken message was accepted');
        sink += e.offset;
        if (++k === set.length) k = 0;
      };
    };
    const accepting = (set: Uint8Array[]): (() => void) => {
      let a = 0;
      return () => {
        const m = tryDecodeMessage(set[a]!);
        if (m instanceof MikeyDecodeError) throw m;
        sink += m.payloads.length;
        if (++a === set.length) a = 0;
      };
    };
    for (const [what, set, from] of [['a message cut in its last byte', cut, encoded], ['messages broken anywhere (every cut, every byte)', broken, sources]] as const) {
      await compare({
        name: `codec: rejecting ${what} vs accepting it`,
        kind: 'like-for-like',
        rounds: 15,
        goal: 1.0,
        ours: cpuTimed('rejecting', refusing(set)),
        anchor: cpuTimed('accepting', accepting(from)),
      });
    }
    if (sink === 0.5) console.log(sink);
  },
};
