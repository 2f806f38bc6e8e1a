// The documents cite files of the repository by path (src/…, test/…, docs/…); each must exist, so
// a document never sends a reader to a file that was moved or never written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const documents = ['README.md', 'ARCHITECTURE.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), 'src/crypto/README.md'];

test('every file a document cites exists', () => {
  const missing: string[] = [];
  for (const doc of documents.filter((d) => existsSync(join(root, d)))) {
    const text = readFileSync(join(root, doc), 'utf8');
    for (const m of text.matchAll(/\b((?:src|test|bench|native|samples|docs)\/[A-Za-z0-9_./-]+\.(?:ts|md|c|gyp|mjs|hex|pcap|pcapng|b64|xml|json))\b/g)) {
      if (!existsSync(join(root, m[1]!))) missing.push(`${doc}: ${m[1]}`);
    }
  }
  assert.deepEqual(missing, []);
});
