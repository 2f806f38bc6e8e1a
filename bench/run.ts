// `npm run bench [words]`: the sections whose title contains the words (all without; several
// choices separated by commas, e.g. `npm run bench -- 'methods, history'`). Each row
// times ours beside its anchor in the same run (see harness.ts); the rows of the sections that
// ran are filed in bench/results/ (JSON and chart) and README.md's "Performance" table, unless
// MIKEY_BENCH_SAVE=0.
import { beginSection, resultsSoFar, type BenchSection } from './harness.js';
import { saveResults } from './report.js';
import { wireSection } from './wire.js';
import { symmetricSection } from './symmetric.js';
import { ibcSection } from './ibc.js';
import { methodsSection } from './methods.js';
import { dhhmacRsarSection } from './dhhmac-rsar.js';
import { sakkeSection } from './sakke.js';
import { ibakeSection } from './ibake.js';
import { ticketSection } from './ticket.js';
import { cliSection } from './cli.js';
import { kmsLoadSection } from './kms-load.js';
import { historySection } from './history.js';

const sections: BenchSection[] = [wireSection, symmetricSection, methodsSection, dhhmacRsarSection, ibcSection, sakkeSection, ibakeSection, ticketSection, kmsLoadSection, cliSection, historySection];
const only = process.argv.slice(2).join(' ').toLowerCase().split(',').map((w) => w.trim()).filter((w) => w);
const runs: Array<{ title: string; rows: ReturnType<typeof resultsSoFar>[number][] }> = [];
for (const s of sections) {
  if (only.length && !only.some((w) => s.title.toLowerCase().includes(w))) continue;
  console.log(`\n## ${s.title}`);
  beginSection(s.title);
  const before = resultsSoFar().length;
  await s.run();
  runs.push({ title: s.title, rows: resultsSoFar().slice(before) });
}
if (process.env['MIKEY_BENCH_SAVE'] !== '0') saveResults(runs);
