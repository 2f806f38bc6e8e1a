// Group commit at the store: a batch stores each request as one commit would (a replayed request
// gets the stored answer, a second J = 0 claim is refused and writes nothing, a key twice in one
// batch is stored once), on SQLite and on PostgreSQL (where a J = 0 claim is one statement).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { needPeer } from '../support/peer.js';
import { openStore, type CommitInput, type Store } from '../../src/kms/store.js';
import { GroupCommit } from '../../src/kms/group-commit.js';
import { startPg } from './harness.js';

const now = Date.now();
function input(key: string, o: { issue?: string; resolve?: string; use?: { key: string; claim: string } } = {}): CommitInput {
  return {
    replay: { key, expiresAt: now + 60_000 }, response: Buffer.from(`answer ${key}`),
    issued: o.issue ? { id: o.issue, ticketType: 1, initiator: 'sip:alice@example.org', responders: ['sip:bob@example.org'], flags: 'I', issuedAt: now, digest: 'd', node: 'n' } : undefined,
    resolved: o.resolve ? { ticketId: o.resolve, resolver: 'sip:bob@example.org', reusable: !o.use, at: now, node: 'n', use: o.use } : undefined,
    audit: { at: now, node: 'n', event: o.issue ? 'ticket-issued' : 'ticket-resolved', actor: 'a', detail: { key } },
  };
}

async function checks(store: Store): Promise<void> {
  await store.migrate();
  assert.ok(store.commitBatch, 'the store commits in groups');
  const rs = await store.commitBatch!([
    input('k1', { issue: 't1' }), input('k2', { resolve: 't1' }), input('k1', { issue: 't1' }),
    input('k3', { resolve: 't2', use: { key: 't2', claim: 'vi-a' } }), input('k4', { resolve: 't2', use: { key: 't2', claim: 'vi-b' } }),
  ]);
  assert.deepEqual(rs.map((r) => r.status), ['stored', 'stored', 'replayed', 'stored', 'reuse']);
  assert.deepEqual(rs[2], { status: 'replayed', response: Buffer.from('answer k1') });
  const c = await store.counts();
  assert.deepEqual([c.tickets, c.resolutions, c.replay, c.audit], [1, 2, 3, 3]);
  // the claimed request again: its stored answer; another claim: refused, nothing written
  const again = await store.commit(input('k3', { resolve: 't2', use: { key: 't2', claim: 'vi-a' } }));
  assert.deepEqual(again, { status: 'replayed', response: Buffer.from('answer k3') });
  assert.equal((await store.commit(input('k5', { resolve: 't2', use: { key: 't2', claim: 'vi-c' } }))).status, 'reuse');
  assert.equal((await store.counts()).replay, 3);
  // through the service's batcher: requests given at once share a transaction, each gets its own result
  const g = new GroupCommit(store, { maxBatch: 3 });
  const out = await Promise.all(['k6', 'k7', 'k8', 'k9', 'k6'].map((k) => g.commit(input(k, { issue: `t-${k}` }))));
  assert.deepEqual(out.map((r) => r.status), ['stored', 'stored', 'stored', 'stored', 'replayed']);
  assert.equal((await store.counts()).tickets, 5);
}

test('SQLite: a batch in one transaction, each request as one commit would store it', async () => {
  const store = await openStore(':memory:');
  try { await checks(store); } finally { await store.close(); }
});

test('PostgreSQL: a batch in one statement, J = 0 claims in one statement each', async (t: TestContext) => {
  const pg = await startPg();
  if (!needPeer(t, 'PostgreSQL', typeof pg === 'string' ? pg : null) || typeof pg === 'string') return;
  try {
    const store = await openStore(await pg.createDb('groupcommit'));
    try { await checks(store); } finally { await store.close(); }
  } finally {
    await pg.stop();
  }
});
