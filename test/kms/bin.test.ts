// kms/bin.ts: the key service from a JSON configuration, composed by kms/open.ts like `mikey kms
// serve` (no CLI code): it starts on a provisioned store, issues a ticket over UDP, stops on
// SIGTERM; a configuration without a store, or a wrong master key, is refused with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild } from '../support/child.js';
import { openStore } from '../../src/kms/store.js';
import { SecretBox } from '../../src/kms/secrets.js';
import { identity } from '../../src/kms/memory.js';
import { udpTransport } from '../../src/kms/server.js';
import { TicketInitiator } from '../../src/modes/ticket/initiator.js';
import { ALICE, BOB, KMS_ID, MASTER, MASTER_HEX, provision, psk } from './harness.js';

const BIN = join(process.cwd(), 'dist', 'src', 'kms', 'bin.js');

test('kms/bin.js CONFIG.json: the service a configuration describes; refusals say why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mikey-kms-bin-'));
  try {
    const db = join(dir, 'kms.db');
    const store = await openStore(db);
    await provision(store, new SecretBox(MASTER));
    await store.close();
    writeFileSync(join(dir, 'master.key'), `${MASTER_HEX}\n`, { mode: 0o600 });
    const config = { store: db, masterKeyFile: join(dir, 'master.key'), identity: KMS_ID, node: 'bin', listen: { udp: { port: 0 } } };
    writeFileSync(join(dir, 'kms.json'), JSON.stringify(config));
    const k = await startChild('kms/bin', process.execPath, [BIN, join(dir, 'kms.json')], (l) => (/"event":"listening"/.test(l) ? (JSON.parse(l) as { udp: string }) : undefined));
    try {
      const t = udpTransport(Number(k.info.udp.split(':').at(-1)), '127.0.0.1', { timeoutMs: 2000 });
      const alice = new TicketInitiator({ identity: identity(ALICE), kms: identity(KMS_ID), psk: psk(1), pskId: Buffer.from('alice-phone') });
      const req = alice.createRequest({ responders: [identity(BOB)] });
      const grant = req.receiveResponse(await t(req.bytes));
      assert.ok(grant.ticket, 'a ticket was issued');
      t.close();
    } finally {
      await k.stop();
    }
    assert.ok(k.lines.some((l) => /"event":"stopped"/.test(l)), 'stopped on SIGTERM');
    writeFileSync(join(dir, 'none.json'), JSON.stringify({ masterKeyFile: join(dir, 'master.key') }));
    const none = spawnSync(process.execPath, [BIN, join(dir, 'none.json')], { encoding: 'utf8' });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /names its store/);
    writeFileSync(join(dir, 'other.key'), `${'77'.repeat(32)}\n`);
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ ...config, masterKeyFile: join(dir, 'other.key') }));
    const other = spawnSync(process.execPath, [BIN, join(dir, 'other.json')], { encoding: 'utf8' });
    assert.equal(other.status, 1);
    assert.match(other.stderr, /does not open/);
    assert.ok(!/from '\.\.\/cli\//.test(readFileSync(BIN, 'utf8')), 'bin does not import the CLI');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
