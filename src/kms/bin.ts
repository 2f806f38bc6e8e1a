#!/usr/bin/env node
// `node dist/src/kms/bin.js CONFIG.json`: the key service described by a JSON file (see
// keyServiceConfigFromJson in open.ts), for process managers; logs are JSON lines on standard
// output; SIGTERM or SIGINT stops it. Administration is `mikey kms` (src/cli/kms.ts).
import { readFileSync } from 'node:fs';
import { jsonLogger } from './log.js';
import { keyServiceConfigFromJson, openKeyService } from './open.js';

const file = process.argv[2];
if (!file || file === '-h' || file === '--help') {
  process.stdout.write('Usage: node dist/src/kms/bin.js CONFIG.json (administration: mikey kms --help)\n');
  process.exitCode = file ? 0 : 2;
} else {
  try {
    const c = keyServiceConfigFromJson(readFileSync(file, 'utf8'));
    const log = jsonLogger(process.stdout, c.node ?? String(process.pid));
    const ks = await openKeyService({ ...c, node: c.node ?? String(process.pid), log });
    const r = ks.running;
    log.info('listening', { http: r?.httpUrl, udp: r?.udpPort === undefined ? undefined : `${c.listen?.udp?.host ?? '127.0.0.1'}:${r.udpPort}` });
    const sig = await new Promise<string>((resolve) => { process.once('SIGTERM', () => resolve('SIGTERM')); process.once('SIGINT', () => resolve('SIGINT')); });
    log.info('stopping', { signal: sig });
    await ks.close();
    log.info('stopped');
  } catch (e) {
    process.stderr.write(`mikey kms: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
