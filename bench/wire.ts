// Wire codec: decode and encode medians for three message sizes, beside GStreamer's C parser.
import { decodeMessage, encodeMessage, policyParams } from '../src/wire/index.js';
import { CORPUS } from '../test/wire/corpus.js';
import { buildGstDriver, gstBench, gstProblem } from '../test/interop/gst.js';
import { fmt, measure, type BenchSection, type Measurement } from './harness.js';

const sample = (name: string) => encodeMessage(CORPUS.find((s) => s.name === name)!.message);

export const wireSection: BenchSection = {
  title: 'Wire codec (decode + encode) vs GStreamer C',
  async run() {
    const messages: Array<[string, Uint8Array]> = [
      ['PSK I_MESSAGE', sample('psk-null')],
      ['signed DH I_MESSAGE', sample('dh-init')],
      ['MIKEY-SAKKE I_MESSAGE', sample('sakke-gmk')],
    ];
    let pskBoth: Measurement | undefined;
    for (const [name, bytes] of messages) {
      const msg = decodeMessage(bytes);
      const dec = measure(`decode ${name} (${bytes.length} B)`, () => decodeMessage(bytes), { bytesPerOp: bytes.length });
      const enc = measure(`encode ${name}`, () => encodeMessage(msg), { bytesPerOp: bytes.length });
      const both = measure(`decode+encode ${name}`, () => encodeMessage(decodeMessage(bytes)), { bytesPerOp: bytes.length });
      // the same with every security-policy parameter read as well (policyParams decodes them on demand)
      const read = measure(`decode+policyParams+encode ${name}`, () => {
        const m = decodeMessage(bytes);
        for (const p of m.payloads) if (p.type === 10) policyParams(p);
        return encodeMessage(m);
      }, { bytesPerOp: bytes.length });
      for (const m of [dec, enc, both, read]) console.log(fmt(m));
      if (!pskBoth) pskBoth = both;
    }
    const problem = gstProblem();
    if (problem) {
      console.log(`GStreamer C: unavailable (${problem})`);
      return;
    }
    await buildGstDriver();
    const psk = messages[0]![1];
    const g = await gstBench(Buffer.from(psk).toString('hex'), 200_000);
    const gstBoth: Measurement = { name: 'GStreamer C parse+to_bytes PSK I_MESSAGE', medianSec: g.parseEncodeNs / 1e9, opsPerSec: 1e9 / g.parseEncodeNs, bytesPerOp: psk.length };
    console.log(fmt(gstBoth));
    if (g.parseNs) console.log(fmt({ name: 'GStreamer C parse PSK I_MESSAGE', medianSec: g.parseNs / 1e9, opsPerSec: 1e9 / g.parseNs, bytesPerOp: psk.length }));
    const ratio = pskBoth!.opsPerSec / gstBoth.opsPerSec;
    console.log(`PSK decode+encode speed ours/GStreamer C: ${ratio.toFixed(2)} (goal >= 1.0)`);
  },
};
