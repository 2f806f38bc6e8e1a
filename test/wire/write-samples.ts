// Writes samples/<name>.hex from the corpus: `node dist/test/wire/write-samples.js`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeMessage } from '../../src/wire/encode.js';
import { CORPUS } from './corpus.js';

const dir = join(process.cwd(), 'samples');
for (const s of CORPUS) {
  const hex = Buffer.from(encodeMessage(s.message)).toString('hex');
  writeFileSync(join(dir, `${s.name}.hex`), `${hex.replace(/(.{64})/g, '$1\n').trim()}\n`);
}
writeFileSync(join(dir, 'README.md'), `# Sample MIKEY messages\n\nOne hex-encoded message per file, generated from test/wire/corpus.ts\n(\`node dist/test/wire/write-samples.js\`); a test keeps them equal to the corpus.\n\n| file | message |\n|---|---|\n${CORPUS.map((s) => `| ${s.name}.hex | ${s.description} |`).join('\n')}\n`);
