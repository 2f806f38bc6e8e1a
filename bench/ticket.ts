// MIKEY-TICKET and the KMS service: tickets issued and resolved (one request after the other) on
// SQLite and on PostgreSQL, beside the floor of each request: the same primitive calls with no
// MIKEY and no service around them plus one store commit like the request's own (captured from
// the service, written again with fresh keys), in alternating batches (harness.ts compare()),
// elapsed time (the store's work is partly another process's). The goal: less than half of each
// request goes to anything but cryptography and that one round trip.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { kemacDecrypt, kemacEncrypt, macCompute, macVerify } from '../src/crypto/kemac.js';
import { deriveMessageKeys, mikeyPrf } from '../src/crypto/prf.js';
import { identity } from '../src/kms/memory.js';
import { SecretBox } from '../src/kms/secrets.js';
import { KmsService } from '../src/kms/service.js';
import { openStore, type CommitInput, type Store } from '../src/kms/store.js';
import { TicketInitiator } from '../src/modes/ticket/initiator.js';
import { buildTicketKmsRequest } from '../src/modes/ticket/kms-exchange.js';
import { TicketResponder } from '../src/modes/ticket/responder.js';
import { tpkLabel } from '../src/modes/ticket/labels.js';
import { compare, type BenchSection, type Side } from './harness.js';
import { MASTER, provision, psk, startPg, ALICE, BOB, KMS_ID } from '../test/kms/harness.js';

const rand = (n: number) => new Uint8Array(randomBytes(n));

/** The symmetric crypto a KMS does for one REQUEST_INIT_PSK (MIKEY-1, AES-CM-128, HMAC-SHA-1-160): see kms.ts request(). */
function requestFloor(): void {
  const key = rand(16);
  const msg = rand(110);
  const r = rand(16);
  const algs = { encrAlg: 'AES-CM-128', macAlg: 'HMAC-SHA-1-160' } as const;
  const t = rand(8);
  const auth = mikeyPrf('MIKEY-1', key, tpkLabel(0x2d22ac75, r), 160); // the request's auth_key
  macVerify('HMAC-SHA-1-160', auth, [msg, rand(21), rand(19)], rand(20));
  const tpk = deriveMessageKeys(rand(32), 0xffffffff, rand(32), 'MIKEY-1', algs); // ticket keys (3 PRFs)
  const enc = kemacEncrypt('AES-CM-128', tpk, rand(48), { csbId: 0xffffffff, t });
  macCompute('HMAC-SHA-1-160', tpk.authKey, rand(150));
  mikeyPrf('MIKEY-1', rand(16), tpkLabel(0x220e99a2, r), 128); mikeyPrf('MIKEY-1', rand(16), tpkLabel(0x1f4d675b, r), 128); // MPKi, MPKr
  const mk = deriveMessageKeys(key, 1, r, 'MIKEY-1', algs); // response keys (3 PRFs)
  kemacEncrypt('AES-CM-128', mk, rand(44), { csbId: 1, t });
  macCompute('HMAC-SHA-1-160', mk.authKey, [rand(300), msg]);
  createHash('sha256').update(msg).digest();
  void enc;
}

/** The same for one RESOLVE_INIT_PSK of a forked ticket. */
function resolveFloor(): void {
  const key = rand(16);
  const msg = rand(330);
  const r = rand(16);
  const algs = { encrAlg: 'AES-CM-128', macAlg: 'HMAC-SHA-1-160' } as const;
  const t = rand(8);
  const auth = mikeyPrf('MIKEY-1', key, tpkLabel(0x2d22ac75, r), 160);
  macVerify('HMAC-SHA-1-160', auth, [msg, rand(19), rand(19)], rand(20));
  const tpk = deriveMessageKeys(rand(32), 0xffffffff, rand(32), 'MIKEY-1', algs);
  macVerify('HMAC-SHA-1-160', tpk.authKey, rand(150), rand(20));
  kemacDecrypt('AES-CM-128', tpk, rand(48), { csbId: 0xffffffff, t });
  for (let i = 0; i < 5; i++) mikeyPrf('MIKEY-1', rand(16), tpkLabel(0x220e99a2, r), 128); // MPKi, MPKr, Vr key, MPKr', TGK'
  macVerify('HMAC-SHA-1-160', rand(20), rand(60), rand(20)); // Vr
  const mk = deriveMessageKeys(key, 1, r, 'MIKEY-1', algs);
  kemacEncrypt('AES-CM-128', mk, rand(44), { csbId: 1, t });
  macCompute('HMAC-SHA-1-160', mk.authKey, [rand(120), msg]);
  createHash('sha256').update(msg).digest();
}

async function backend(label: string, store: Store): Promise<void> {
  const box = new SecretBox(MASTER);
  await provision(store, box);
  const service = await KmsService.open({ store, box, identity: KMS_ID, node: 'bench', cacheTtlMs: 60_000, rate: { perSec: 1e9, burst: 1e9 } });
  const kms = identity(KMS_ID);
  const alice = new TicketInitiator({ identity: identity(ALICE), kms, psk: psk(1), pskId: Buffer.from('alice-phone') });
  const bob = new TicketResponder({ identity: identity(BOB), kms, psk: psk(2), pskId: Buffer.from('bob-phone') });
  const requests = (n: number) => Array.from({ length: n }, () => alice.createRequest({ responders: [identity(BOB)], flags: { I: true } }).bytes);
  // a forked ticket to resolve, and RESOLVE_INITs for it (as the Responder would send them)
  const req = alice.createRequest({ responders: [identity(BOB)], flags: { I: true } });
  const r0 = await service.handle(req.bytes, 'bench');
  if (r0.kind !== 'answer' || r0.errorNo !== undefined) throw new Error('the KMS refused the bench request');
  const grant = req.receiveResponse(r0.response);
  const xfer = alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
  const { decodeMessage } = await import('../src/wire/decode.js');
  const ticket = decodeMessage(xfer.bytes).payloads.find((p) => p.type === 17)!;
  const resolves = (n: number) => Array.from({ length: n }, () => buildTicketKmsRequest(bob.opts, bob.ep, 'resolve', ticket, new DataView(rand(4).buffer).getUint32(0)).bytes);
  // the store round trip as the requests make it: the commits of real requests, kept to be
  // written again (fresh keys) by the anchor
  const seen: CommitInput[] = [];
  const commit = store.commit.bind(store);
  store.commit = async (c) => { seen.push(c); return commit(c); };
  const commitBatch = store.commitBatch?.bind(store);
  if (commitBatch) store.commitBatch = async (cs) => { seen.push(...cs); return commitBatch(cs); };
  const handle = async (b: Uint8Array) => {
    const r = await service.handle(b, 'bench');
    if (r.kind !== 'answer' || r.errorNo !== undefined) throw new Error('refused');
  };
  const captured = async (b: Uint8Array): Promise<CommitInput> => {
    seen.length = 0;
    await handle(b);
    if (seen.length !== 1) throw new Error(`a request made ${seen.length} store commits, the anchor assumes one`);
    return seen[0]!;
  };
  const issueCommit = await captured(requests(1)[0]!);
  const resolveCommit = await captured(resolves(1)[0]!);
  // and the store as it was, so that the timed requests keep nothing the anchor's commits do not
  store.commit = commit;
  if (commitBatch) store.commitBatch = commitBatch;
  let k = 0;
  const fresh = (c: CommitInput): CommitInput => {
    k++;
    return {
      ...c,
      replay: { ...c.replay, key: `${c.replay.key}/bench${k}` },
      ...(c.issued ? { issued: { ...c.issued, id: `${c.issued.id}/bench${k}` } } : {}),
      ...(c.resolved ? { resolved: { ...c.resolved, ...(c.resolved.use ? { use: { ...c.resolved.use, key: `${c.resolved.use.key}/bench${k}` } } : {}) } } : {}),
    };
  };
  /** `n` requests of `make`, built before the clock starts, answered one after the other. */
  const served = (label: string, make: (n: number) => Uint8Array[]): Side => ({
    label,
    async batch(n) {
      const xs = make(n);
      const t0 = performance.now();
      for (const b of xs) await handle(b);
      return (performance.now() - t0) / 1000;
    },
  });
  /** The floor of one request: its cryptography and one store commit like its own. */
  const floor = (label: string, crypto: () => void, c: CommitInput): Side => ({
    label,
    async batch(n) {
      const cs = Array.from({ length: n }, () => fresh(c));
      const t0 = performance.now();
      for (const x of cs) {
        crypto();
        const r = await commit(x);
        if (r.status !== 'stored') throw new Error(`the anchor's commit was ${r.status}`);
      }
      return (performance.now() - t0) / 1000;
    },
  });
  // the goal: less than half of a request goes to anything but its cryptography and its one
  // store round trip, i.e. request / (crypto + commit) <= 2
  const spec = { kind: 'floor' as const, goal: 2, rounds: 7, batchMs: 300 };
  await compare({ name: `${label}: ticket issued vs crypto floor + 1 commit`, ...spec, ours: served('REQUEST_INIT_PSK, forking', requests), anchor: floor('crypto floor + store commit', requestFloor, issueCommit) });
  await compare({ name: `${label}: ticket resolved vs crypto floor + 1 commit`, ...spec, ours: served('RESOLVE_INIT_PSK, forked', resolves), anchor: floor('crypto floor + store commit', resolveFloor, resolveCommit) });
  await service.close();
}

export const ticketSection: BenchSection = {
  title: 'MIKEY-TICKET KMS: tickets issued and resolved per second, SQLite and PostgreSQL, vs the crypto floor',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'mikey-bench-kms-'));
    try {
      await backend('SQLite', await openStore(join(dir, 'kms.db')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const pg = await startPg({ durable: true });
    if (typeof pg === 'string') {
      console.log(`PostgreSQL: skipped (${pg})`);
      return;
    }
    try {
      await backend('PostgreSQL', await openStore(await pg.createDb('bench')));
    } finally {
      await pg.stop();
    }
  },
};
