// MIKEY-TICKET and the KMS service: tickets issued and resolved per second on SQLite and on
// PostgreSQL, beside the crypto floor of each request (the same primitive calls with no MIKEY
// and no service around them) and one store round trip, in the same run. The goal: less than
// half of each request goes to anything but cryptography and that one round trip.
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
import { openStore, type Store } from '../src/kms/store.js';
import { TicketInitiator } from '../src/modes/ticket/initiator.js';
import { buildTicketKmsRequest } from '../src/modes/ticket/kms-exchange.js';
import { TicketResponder } from '../src/modes/ticket/responder.js';
import { tpkLabel } from '../src/modes/ticket/labels.js';
import { fmt, measure, type BenchSection, type Measurement } from './harness.js';
import { MASTER, provision, psk, startPg, ALICE, BOB, KMS_ID } from '../test/kms/harness.js';

const rand = (n: number) => new Uint8Array(randomBytes(n));

/** Median per-op time of `fn` over pre-built inputs, `batches` batches of `n`. */
async function timeEach<T>(name: string, inputs: () => T[], fn: (x: T) => Promise<unknown>, batches = 7): Promise<Measurement & { meanSec: number }> {
  const per: number[] = [];
  for (let b = 0; b < batches; b++) {
    const xs = inputs();
    const t0 = performance.now();
    for (const x of xs) await fn(x);
    per.push((performance.now() - t0) / 1000 / xs.length);
  }
  const meanSec = per.reduce((a, b) => a + b, 0) / per.length;
  per.sort((a, b) => a - b);
  const medianSec = per[per.length >> 1]!;
  return { name, medianSec, opsPerSec: 1 / medianSec, meanSec };
}

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
  const N = 200;
  const requests = () => Array.from({ length: N }, () => alice.createRequest({ responders: [identity(BOB)], flags: { I: true } }).bytes);
  // a forked ticket to resolve, and RESOLVE_INITs for it (as the Responder would send them)
  const req = alice.createRequest({ responders: [identity(BOB)], flags: { I: true } });
  const r0 = await service.handle(req.bytes, 'bench');
  if (r0.kind !== 'answer' || r0.errorNo !== undefined) throw new Error('the KMS refused the bench request');
  const grant = req.receive(r0.response);
  const xfer = alice.createTransfer(grant, { sessions: [{ ssrc: 1 }] });
  const { decodeMessage } = await import('../src/wire/decode.js');
  const ticket = decodeMessage(xfer.bytes).payloads.find((p) => p.type === 17)!;
  const resolves = () => Array.from({ length: N }, () => buildTicketKmsRequest(bob.opts, bob.ep, 'resolve', ticket, new DataView(rand(4).buffer).getUint32(0)).bytes);
  // the store round trip as the requests incur it: its own clock around the commit
  let inCommit = 0;
  const commit = store.commit.bind(store);
  store.commit = async (c) => {
    const t0 = performance.now();
    try { return await commit(c); } finally { inCommit += performance.now() - t0; }
  };
  const commitBatch = store.commitBatch?.bind(store);
  if (commitBatch) {
    store.commitBatch = async (cs) => {
      const t0 = performance.now();
      try { return await commitBatch(cs); } finally { inCommit += performance.now() - t0; }
    };
  }
  const handle = async (b: Uint8Array) => {
    const r = await service.handle(b, 'bench');
    if (r.kind !== 'answer' || r.errorNo !== undefined) throw new Error('refused');
  };
  const rounds = 7;
  // warm up both paths (JIT, caches) before anything is timed
  for (let w = 0; w < 3; w++) {
    for (const b of requests()) await handle(b);
    for (const b of resolves()) await handle(b);
  }
  measure('warm-up', requestFloor, { batches: 3 });
  measure('warm-up', resolveFloor, { batches: 3 });
  inCommit = 0;
  const issue = await timeEach(`${label}: ticket issued (REQUEST_INIT_PSK, forking)`, requests, handle, rounds);
  const issueCommit = inCommit / 1000 / (rounds * N);
  inCommit = 0;
  const resolve = await timeEach(`${label}: ticket resolved (RESOLVE_INIT_PSK, forked)`, resolves, handle, rounds);
  const resolveCommit = inCommit / 1000 / (rounds * N);
  const fReq = measure(`${label}: request crypto floor`, requestFloor, { batches: 11 });
  const fRes = measure(`${label}: resolve crypto floor`, resolveFloor, { batches: 11 });
  for (const m of [issue, resolve, fReq, fRes]) console.log(fmt(m));
  const pair = issue.medianSec + resolve.medianSec;
  console.log(`${label}: tickets issued+resolved per second, one client, one after the other: ${Math.round(1 / pair)}`);
  for (const [what, m, floor, db] of [['issue', issue, fReq, issueCommit], ['resolve', resolve, fRes, resolveCommit]] as const) {
    // means over the same requests: the store's clock ran inside them
    const other = m.meanSec - floor.medianSec - db;
    console.log(`${label}: ${what}: mean ${(m.meanSec * 1e6).toFixed(0)} µs = crypto floor ${(floor.medianSec * 1e6).toFixed(0)} + store round trip ${(db * 1e6).toFixed(0)} + other ${(other * 1e6).toFixed(0)} µs: other is ${(100 * other / m.meanSec).toFixed(0)}% (goal < 50%)`);
  }
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
