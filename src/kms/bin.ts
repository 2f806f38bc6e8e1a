#!/usr/bin/env node
// `node dist/src/kms/bin.js CONFIG.json`: the key service described by a JSON file (see
// keyServiceConfigFromJson in open.ts; `"workers": N` serves from N processes, cluster.ts), for
// process managers; logs are JSON lines on standard output; SIGTERM or SIGINT stops it.
// Administration is `mikey kms` (src/cli/kms.ts).
import { readFileSync } from 'node:fs';
import { runKeyService } from './cluster.js';
import { keyServiceConfigFromJson } from './open.js';

const file = process.argv[2];
if (!file || file === '-h' || file === '--help') {
  process.stdout.write('Usage: node dist/src/kms/bin.js CONFIG.json (administration: mikey kms --help)\n');
  process.exitCode = file ? 0 : 2;
} else {
  try {
    const json = readFileSync(file, 'utf8');
    const { workers } = JSON.parse(json) as { workers?: unknown };
    if (workers !== undefined && !(Number.isInteger(workers) && (workers as number) >= 1 && (workers as number) <= 64)) throw new RangeError('"workers" is an integer from 1 to 64');
    const c = keyServiceConfigFromJson(json);
    const { workers: _w, ...config } = c as typeof c & { workers?: number };
    process.exitCode = await runKeyService(config, { workers: workers as number | undefined });
  } catch (e) {
    process.stderr.write(`mikey kms: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
