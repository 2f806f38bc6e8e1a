// Group commit: the requests answered while a transaction is being written are stored together in
// the next one, so one transaction (one WAL append, one fsync where the store syncs) carries many
// requests. Durability is unchanged: each caller's promise settles only after the transaction
// holding its rows has committed, and the service sends an answer only then.
import type { CommitInput, CommitResult, Store } from './store.js';

interface Waiting { c: CommitInput; ok: (r: CommitResult) => void; fail: (e: unknown) => void }

export class GroupCommit {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;

  /** `maxBatch`: most requests per transaction; `maxInFlight`: transactions written at once. */
  constructor(private readonly store: Store, private readonly o: { maxBatch?: number; maxInFlight?: number } = {}) {}

  commit(c: CommitInput): Promise<CommitResult> {
    if (!this.store.commitBatch) return this.store.commit(c);
    return new Promise((ok, fail) => {
      this.queue.push({ c, ok, fail });
      this.kick();
    });
  }

  /** Requests waiting for a transaction now. */
  get pending(): number {
    return this.queue.length;
  }

  private kick(): void {
    if (this.scheduled || !this.queue.length || this.inFlight >= (this.o.maxInFlight ?? 1)) return;
    this.scheduled = true;
    // after the I/O callbacks of this turn: the datagrams that arrived together commit together
    setImmediate(() => { this.scheduled = false; this.flush(); });
  }

  private flush(): void {
    if (!this.queue.length || this.inFlight >= (this.o.maxInFlight ?? 1)) return;
    const batch = this.queue.splice(0, this.o.maxBatch ?? 256);
    this.inFlight++;
    this.store.commitBatch!(batch.map((w) => w.c)).then(
      (rs) => batch.forEach((w, i) => w.ok(rs[i]!)),
      (e: unknown) => batch.forEach((w) => w.fail(e)),
    ).finally(() => {
      this.inFlight--;
      this.kick();
    });
    this.kick();
  }
}
