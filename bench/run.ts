// `npm run bench`: every section, each timing ours beside a native peer in the same run.
import type { BenchSection } from './harness.js';
import { wireSection } from './wire.js';
import { symmetricSection } from './symmetric.js';
import { ibcSection } from './ibc.js';
import { methodsSection } from './methods.js';
import { methods5Section } from './methods5.js';
import { sakkeSection } from './sakke.js';
import { ibakeSection } from './ibake.js';
import { ticketSection } from './ticket.js';

const sections: BenchSection[] = [wireSection, symmetricSection, methodsSection, methods5Section, ibcSection, sakkeSection, ibakeSection, ticketSection];
const only = process.argv[2];
for (const s of sections) {
  if (only && !s.title.toLowerCase().includes(only.toLowerCase())) continue;
  console.log(`\n## ${s.title}`);
  await s.run();
}
