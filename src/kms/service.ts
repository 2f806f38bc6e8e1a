// The key management service: the MIKEY-TICKET KMS (modes/ticket/kms.ts) over a store. A request
// is checked and answered in memory, then what it leaves behind (replay entry with the answer,
// the ticket issued or the resolution, an audit row) is stored in one transaction, and only
// then is the answer sent. Requests answered together share that transaction (group commit,
// group-commit.ts): none is answered before the transaction holding its rows has committed.
// A request that fails changes nothing stored: it is logged.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MikeyProtocolError } from '../session/errors.js';
import { parseCertificate, validateChain } from '../session/certs.js';
import { systemClock, type Clock } from '../session/time.js';
import { ErrorNo } from '../wire/registry.js';
import { MikeyDecodeError } from '../wire/errors.js';
import { replayKey } from '../session/replay.js';
import { type Identity, identityText as text } from '../session/identity.js';
import { identityOfCertificate } from '../modes/kit/signature.js';
import { TicketKms, ticketUse, type KmsDirectory, type KmsPrepared, type PskCandidate, type SignerCandidate, type Tpk } from '../modes/ticket/kms.js';
import type { ReadPolicy, TicketPolicy } from '../modes/ticket/policy.js';
import { grantPolicy, mayResolve, type PolicyRule } from './grant.js';
import { identity } from './memory.js';
import { SecretBox } from './secrets.js';
import { SCHEMA_VERSION, type Store, type TpkRow, type CredentialRow, type UserRow } from './store.js';
import { TokenBuckets } from './rate.js';
import { Lru } from './lru.js';
import { nullLogger, type Logger } from './log.js';
import { IdentityKeys, type IdentityKeyOptions } from './identity.js';
import { GroupCommit } from './group-commit.js';

export interface KmsServiceOptions {
  store: Store;
  box: SecretBox;
  /** Our identity (IDRkms), e.g. sip:kms@example.org. */
  identity: string;
  /** This node's name in logs and rows (default host:pid). */
  node?: string;
  /** RSA key and certificate for the PK variants (the envelope key is encrypted to it). */
  privateKey?: string;
  certificate?: string;
  /** Trust anchors for users who sign with a certificate chain instead of a registered certificate. */
  trustAnchors?: string[];
  clock?: Clock;
  maxSkewMs?: number;
  /** How long users, rules and groups read from the store are reused (default 1 s). */
  cacheTtlMs?: number;
  /** Most entries per cache (users, PSK IDs, names not found, unsealed keys, certificates; default 10,000). */
  cacheEntries?: number;
  /** A new ticket protection key after this long (default 1 day); old ones kept for `tpkKeepMs` more (default 2 days). */
  tpkRotateMs?: number;
  tpkKeepMs?: number;
  /** Per-peer token bucket (default 200 requests/s, bursts of 400; at most `peers` buckets, default 100,000). */
  rate?: { perSec: number; burst: number; peers?: number };
  /** Largest request accepted, bytes (default 8192). */
  maxRequestBytes?: number;
  log?: Logger;
  /** Identity-key provisioning (IBAKE key requests, the MIKEY-SAKKE XML interface). */
  identityKeys?: IdentityKeyOptions;
  /** Group commit: most requests per transaction (default 256) and transactions written at once (default 1 on SQLite, 4 on PostgreSQL). */
  commit?: { maxBatch?: number; maxInFlight?: number };
}

export type HandleResult =
  | { kind: 'answer'; response: Uint8Array; errorNo?: number; retransmission?: boolean }
  /** `undecodable` and `reflection`: datagrams only (an answer to a spoofable source would amplify). */
  | { kind: 'drop'; reason: 'too-large' | 'rate-limited' | 'unavailable' | 'undecodable' | 'reflection' };

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

interface Cached<T> { at: number; value: T }

/** The per-peer token bucket unless `rate` says otherwise. */
export const DEFAULT_RATE = Object.freeze({ perSec: 200, burst: 400 });

/** Default bound of every directory cache. */
export const DEFAULT_CACHE_ENTRIES = 10_000;

type UserEntry = UserRow & { creds: CredentialRow[] };

/** A fixed-size key for a negative answer: whatever the sender named, 16 bytes of its hash. */
const missKey = (kind: string, v: string | Uint8Array) => createHash('sha256').update(kind).update(v).digest().subarray(0, 16).toString('base64');

/**
 * The KMS directory over the store, with short-lived caches so the hot path reads nothing.
 * Every cache is bounded (`cacheEntries`, least recently used evicted); names the store does not
 * know are remembered only as a 16-byte hash, so a flood of made-up identities costs a fixed
 * amount of memory.
 */
export class StoreDirectory implements KmsDirectory {
  private readonly users: Lru<string, UserEntry>;
  private readonly byPskId: Lru<string, { user: UserRow; cred: CredentialRow }>;
  private readonly missing: Lru<string, true>;
  private readonly unsealed: Lru<string, Uint8Array>;
  private rulesC?: Cached<PolicyRule[]>;
  private groupsC?: Cached<Map<string, string[]>>;
  private current?: Cached<{ row: TpkRow; key: Uint8Array }>;
  private readonly tpkCache: Lru<string, { row: TpkRow; key: Uint8Array }>;
  private readonly anchors: X509Certificate[];
  private readonly certs: Lru<string, X509Certificate>;

  constructor(private readonly store: Store, private readonly box: SecretBox, private readonly o: { ttl: number; rotateMs: number; keepMs: number; trustAnchors?: string[]; clock: Clock; cacheEntries?: number }) {
    this.anchors = (o.trustAnchors ?? []).map((c) => parseCertificate(c));
    const n = o.cacheEntries ?? DEFAULT_CACHE_ENTRIES;
    const ttl = o.ttl > 0 ? o.ttl : 0;
    this.users = new Lru(n, ttl);
    this.byPskId = new Lru(n, ttl);
    this.missing = new Lru(n, ttl);
    this.unsealed = new Lru(n);
    this.tpkCache = new Lru(Math.min(n, 1024));
    this.certs = new Lru(n);
  }

  /** Entries held per cache (for tests and health). */
  cacheSizes(): Record<string, number> {
    return { users: this.users.size, pskIds: this.byPskId.size, missing: this.missing.size, unsealed: this.unsealed.size, tpks: this.tpkCache.size, certificates: this.certs.size };
  }

  private fresh<T>(c: Cached<T> | undefined, now: number): c is Cached<T> {
    return c !== undefined && now - c.at < this.o.ttl;
  }

  private async user(name: string, now: number): Promise<UserEntry | undefined> {
    const hit = this.users.get(name, now);
    if (hit) return hit;
    const miss = missKey('user', name);
    if (this.missing.get(miss, now)) return undefined;
    const value = await this.store.user(name);
    if (value) this.users.set(name, value, now); else this.missing.set(miss, true, now);
    return value;
  }

  private psk(cred: CredentialRow): Uint8Array {
    const k = `${cred.name}:${hex(cred.secret!)}`;
    let v = this.unsealed.get(k);
    if (!v) {
      v = this.box.open(cred.secret!, `credential:${cred.name}`);
      this.unsealed.set(k, v);
    }
    return v;
  }

  private async credential(pskId: Uint8Array, now: number): Promise<{ user: UserRow; cred: CredentialRow } | undefined> {
    const key = hex(pskId);
    const hit = this.byPskId.get(key, now);
    if (hit) return hit;
    const miss = missKey('psk-id', pskId);
    if (this.missing.get(miss, now)) return undefined;
    const value = await this.store.credentialByPskId(Buffer.from(pskId));
    if (value) this.byPskId.set(key, value, now); else this.missing.set(miss, true, now);
    return value;
  }

  async pskCandidates(claimed: Identity | undefined, pskId: Uint8Array | undefined): Promise<PskCandidate[]> {
    const now = this.o.clock.now();
    if (pskId) {
      const v = await this.credential(pskId, now);
      if (!v || v.cred.kind !== 'psk' || (claimed && text(claimed) !== v.user.name)) return [];
      return [{ user: identity(v.user.name), key: this.psk(v.cred), credential: v.cred.name }];
    }
    if (!claimed) return [];
    const u = await this.user(text(claimed), now);
    if (!u) return [];
    return u.creds.filter((c) => c.kind === 'psk' && c.secret).map((c) => ({ user: identity(u.name), key: this.psk(c), credential: c.name }));
  }

  /** The user and credentials named (cached like the PSK lookups); undefined for names the store does not know. */
  async userEntry(name: string): Promise<UserEntry | undefined> {
    return this.user(name, this.o.clock.now());
  }

  private cert(pem: string): X509Certificate {
    let c = this.certs.get(pem);
    if (!c) { c = parseCertificate(pem); this.certs.set(pem, c); }
    return c;
  }

  async signer(claimed: Identity | undefined, certs: readonly Uint8Array[], now: number): Promise<SignerCandidate | undefined> {
    const u = claimed ? await this.user(text(claimed), this.o.clock.now()) : undefined;
    const reg = u?.creds.find((c) => c.kind === 'cert' && c.cert);
    if (u && reg) return { user: identity(u.name), key: this.cert(reg.cert!).publicKey, credential: reg.name };
    if (!certs.length || !this.anchors.length) return undefined;
    const [leaf, ...chain] = certs.map((c) => parseCertificate(c));
    const key = validateChain(leaf!, chain, { trustAnchors: this.anchors, at: now, usage: 'digitalSignature' });
    const id = identityOfCertificate(leaf!);
    if (!id || (claimed && text(claimed) !== text(id))) return undefined;
    const user = await this.user(text(id), this.o.clock.now());
    return user ? { user: identity(user.name), key, credential: `certificate ${leaf!.serialNumber}` } : undefined;
  }

  private async rules(now: number): Promise<PolicyRule[]> {
    if (!this.fresh(this.rulesC, now)) this.rulesC = { at: now, value: await this.store.rules() };
    return this.rulesC.value;
  }
  private async groups(now: number): Promise<Map<string, string[]>> {
    if (!this.fresh(this.groupsC, now)) {
      const m = new Map<string, string[]>();
      for (const g of await this.store.groups()) m.set(g.member, [...(m.get(g.member) ?? []), g.group]);
      this.groupsC = { at: now, value: m };
    }
    return this.groupsC.value;
  }

  async grant(requester: Identity, requested: ReadPolicy, now: number): Promise<TicketPolicy> {
    const [rules, groups] = await Promise.all([this.rules(this.o.clock.now()), this.groups(this.o.clock.now())]);
    return grantPolicy(rules, requester, requested, now, (n) => groups.get(n) ?? []);
  }

  async authorizeResolve(resolver: Identity, policy: ReadPolicy): Promise<Identity | undefined> {
    const groups = await this.groups(this.o.clock.now());
    return mayResolve(text(resolver), policy.responders, (n) => groups.get(n) ?? []) ? resolver : undefined;
  }

  async currentTpk(now: number): Promise<Tpk> {
    const c = this.current;
    // look again at most every minute, and whenever the key in hand is due for rotation
    if (c && this.o.clock.now() - c.at < Math.min(60_000, this.o.rotateMs) && now - c.value.row.createdAt < this.o.rotateMs) return { id: c.value.row.id, key: c.value.key };
    const row = await this.store.rotateTpk(now, this.o.rotateMs, () => {
      const id = randomBytes(8);
      return { id, secret: this.box.seal(randomBytes(32), `tpk:${hex(id)}`), createdAt: now };
    });
    const key = this.box.open(row.secret, `tpk:${hex(row.id)}`);
    this.current = { at: this.o.clock.now(), value: { row, key } };
    this.tpkCache.set(hex(row.id), { row, key });
    return { id: row.id, key };
  }

  async tpk(id: Uint8Array): Promise<Uint8Array | undefined> {
    const k = hex(id);
    let e = this.tpkCache.get(k);
    if (!e) {
      const row = await this.store.tpk(Buffer.from(id));
      if (!row) return undefined;
      e = { row, key: this.box.open(row.secret, `tpk:${k}`) };
      this.tpkCache.set(k, e);
    }
    // a key past its keeping time protects no ticket that is still valid
    if (this.o.clock.now() - e.row.createdAt > this.o.rotateMs + this.o.keepMs) return undefined;
    return e.key;
  }

  /** Forget what was read (after an administrative change in this process). */
  invalidate(): void {
    this.users.clear(); this.byPskId.clear(); this.missing.clear(); this.rulesC = undefined; this.groupsC = undefined;
  }
}

/** Random bytes from a pool refilled 4 KiB at a time (one system call for many small keys and RANDs). */
export function pooledRandom(): (n: number) => Uint8Array {
  let pool = randomBytes(4096);
  let used = 0;
  return (n) => {
    if (n > 1024) return new Uint8Array(randomBytes(n));
    if (used + n > pool.length) { pool = randomBytes(4096); used = 0; }
    const out = new Uint8Array(pool.subarray(used, used + n));
    pool.fill(0, used, used + n);
    used += n;
    return out;
  };
}

export class KmsService {
  readonly kms: TicketKms;
  readonly directory: StoreDirectory;
  readonly node: string;
  readonly identity?: IdentityKeys;
  private readonly log: Logger;
  private readonly rate: TokenBuckets;
  private readonly maxBytes: number;
  private readonly clock: Clock;
  private readonly startedAt: number;
  private timer?: NodeJS.Timeout;
  private readonly committer: GroupCommit;
  /** Who got each recent answer (request hash -> address): a retransmission over UDP is answered only there. */
  private readonly answeredTo: Lru<string, string>;
  readonly stats = { answered: 0, issued: 0, resolved: 0, rejected: 0, retransmissions: 0, dropped: 0 };

  private constructor(readonly o: KmsServiceOptions) {
    this.node = o.node ?? `${hostname()}:${process.pid}`;
    this.log = o.log ?? nullLogger;
    this.clock = o.clock ?? systemClock;
    this.startedAt = this.clock.now();
    const rotateMs = o.tpkRotateMs ?? 86_400_000;
    this.directory = new StoreDirectory(o.store, o.box, { ttl: o.cacheTtlMs ?? 1000, rotateMs, keepMs: o.tpkKeepMs ?? 2 * rotateMs, trustAnchors: o.trustAnchors, clock: this.clock, cacheEntries: o.cacheEntries });
    this.kms = new TicketKms({
      identity: identity(o.identity), directory: this.directory, clock: o.clock ?? systemClock, maxSkewMs: o.maxSkewMs,
      privateKey: o.privateKey, certificate: o.certificate, random: pooledRandom(),
    });
    if (o.identityKeys) {
      this.identity = new IdentityKeys({
        ...o.identityKeys, kms: identity(o.identity), store: o.store, directory: this.directory, node: this.node, log: this.log, clock: o.clock,
        maxSkewMs: o.maxSkewMs, privateKey: o.privateKey, certificate: o.certificate, trustAnchors: o.trustAnchors,
      });
    }
    this.rate = new TokenBuckets(o.rate?.perSec ?? DEFAULT_RATE.perSec, o.rate?.burst ?? DEFAULT_RATE.burst, () => this.clock.now(), o.rate?.peers);
    this.maxBytes = o.maxRequestBytes ?? 8192;
    this.answeredTo = new Lru(o.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
    this.committer = new GroupCommit(o.store, { maxBatch: o.commit?.maxBatch, maxInFlight: o.commit?.maxInFlight ?? (o.store.backend === 'postgres' ? 4 : 1) });
  }

  /** Migrate the store, check the master key against it (set on first start), start the housekeeping timer. */
  static async open(o: KmsServiceOptions): Promise<KmsService> {
    const version = await o.store.migrate();
    if (version !== SCHEMA_VERSION) throw new Error(`store schema version ${version}, this build knows ${SCHEMA_VERSION}`);
    o.box.verifyCheckValue(await o.store.metaOnce('master-key-check', o.box.checkValue()));
    const s = new KmsService(o);
    await s.housekeeping();
    s.timer = setInterval(() => { s.housekeeping().catch((e: unknown) => s.log.error('housekeeping-failed', { reason: String(e) })); }, 30_000);
    s.timer.unref();
    s.log.info('started', { backend: o.store.backend, store: o.store.location, schema: version, identity: o.identity, masterKey: o.box.fingerprint() });
    return s;
  }

  /** Expired replay entries and ticket protection keys past their keeping time go. */
  async housekeeping(): Promise<void> {
    const now = (this.o.clock ?? systemClock).now();
    const rotate = this.o.tpkRotateMs ?? 86_400_000;
    await this.o.store.pruneReplay(now);
    await this.o.store.pruneTpks(now - rotate - (this.o.tpkKeepMs ?? 2 * rotate));
    await this.directory.currentTpk(now);
  }

  /**
   * One request from `peer` (an address, for the rate limit and the logs). A `datagram` comes
   * from a source anyone can spoof: it is answered only when that cannot reflect more bytes at
   * someone else than were sent (RFC 3830 §10.1 transport, finding of the security review):
   * empty and undecodable ones are dropped, an Error message longer than the request is not
   * sent, and a retransmission gets the stored answer only at the address that got it first
   * (or when the answer is no longer than the request).
   */
  async handle(bytes: Uint8Array, peer: string, o: { datagram?: boolean } = {}): Promise<HandleResult> {
    const r = await this.answer(bytes, peer, o.datagram === true);
    if (!o.datagram || r.kind !== 'answer' || r.response.length <= bytes.length) return r;
    if (r.errorNo !== undefined) return this.dropReflection(peer, bytes, r, 'error');
    if (r.retransmission && this.answeredTo.get(replayKey(bytes)) !== peer) return this.dropReflection(peer, bytes, r, 'retransmission');
    return r;
  }

  private dropReflection(peer: string, bytes: Uint8Array, r: { response: Uint8Array }, what: string): HandleResult {
    this.stats.dropped++;
    this.log.info('reflection-dropped', { peer, what, bytes: bytes.length, answer: r.response.length });
    return { kind: 'drop', reason: 'reflection' };
  }

  private async answer(bytes: Uint8Array, peer: string, datagram: boolean): Promise<HandleResult> {
    const t0 = performance.now();
    if (datagram && bytes.length < 10) {
      this.stats.dropped++;
      return { kind: 'drop', reason: 'undecodable' };
    }
    if (bytes.length > this.maxBytes) {
      this.stats.dropped++;
      this.log.warn('request-too-large', { peer, bytes: bytes.length });
      return { kind: 'drop', reason: 'too-large' };
    }
    if (!this.rate.take(peer)) {
      this.stats.dropped++;
      this.log.warn('rate-limited', { peer });
      return { kind: 'drop', reason: 'rate-limited' };
    }
    if (this.identity?.servesIbake && IdentityKeys.isKeyRequest(bytes)) {
      try {
        const a = await this.identity.handleKeyRequest(bytes, peer);
        if (a.errorNo === undefined && !a.retransmission) this.answeredTo.set(replayKey(bytes), peer);
        if (a.errorNo !== undefined) this.stats.rejected++; else if (a.retransmission) this.stats.retransmissions++; else this.stats.answered++;
        return { kind: 'answer', ...a };
      } catch (e) {
        this.log.error('internal-error', { peer, reason: String(e) });
        return { kind: 'drop', reason: 'unavailable' };
      }
    }
    let p: KmsPrepared;
    try {
      p = await this.kms.prepare(bytes);
    } catch (e) {
      if (datagram && e instanceof MikeyProtocolError && e.cause instanceof MikeyDecodeError) {
        this.stats.dropped++;
        this.log.info('undecodable-dropped', { peer, bytes: bytes.length });
        return { kind: 'drop', reason: 'undecodable' };
      }
      if (e instanceof MikeyProtocolError && e.response) {
        this.stats.rejected++;
        this.log.info('rejected', { peer, code: e.errorNo, reason: e.reason, ms: +(performance.now() - t0).toFixed(2) });
        return { kind: 'answer', response: e.response, errorNo: e.errorNo };
      }
      this.log.error('internal-error', { peer, reason: String(e) });
      return { kind: 'drop', reason: 'unavailable' };
    }
    const now = (this.o.clock ?? systemClock).now();
    const event = p.kind === 'request' ? 'ticket-issued' : 'ticket-resolved';
    const detail: Record<string, unknown> = p.issued
      ? { ticket: p.issued.id, responders: p.issued.responders, flags: p.issued.flags, validTo: p.issued.validTo, credential: p.credential, peer }
      : { ticket: p.resolved!.ticketId, credential: p.credential, peer };
    let r;
    try {
      r = await this.committer.commit({
        replay: p.replay, response: Buffer.from(p.response.buffer, p.response.byteOffset, p.response.length),
        issued: p.issued ? { ...p.issued, node: this.node } : undefined,
        resolved: p.resolved ? { ...p.resolved, at: now, node: this.node, use: ticketUse(p.resolved, p.replay.key) } : undefined,
        audit: { at: now, node: this.node, event, actor: p.user, detail },
      });
    } catch (e) {
      this.log.error('store-unavailable', { peer, reason: String(e) });
      return { kind: 'drop', reason: 'unavailable' };
    }
    const ms = +(performance.now() - t0).toFixed(2);
    if (r.status === 'stored') {
      this.stats.answered++;
      if (p.issued) this.stats.issued++; else this.stats.resolved++;
      // p.replay.key is replayKey(bytes), as prepare computed it
      this.answeredTo.set(p.replay.key, peer);
      this.log.info(event, { ...detail, user: p.user, ms });
      return { kind: 'answer', response: p.response };
    }
    if (r.status === 'replayed' && r.response) {
      // the same request again (a retransmission, here or at another node): the same answer
      this.stats.retransmissions++;
      this.log.info('retransmission', { peer, user: p.user, ms });
      return { kind: 'answer', response: new Uint8Array(r.response), retransmission: true };
    }
    const code = r.status === 'reuse' ? ErrorNo.InvalidTicket : ErrorNo.InvalidTs;
    this.stats.rejected++;
    this.log.info('rejected', { peer, user: p.user, code, reason: r.status === 'reuse' ? 'ticket reuse forbidden (J = 0)' : 'replayed message', ms });
    return { kind: 'answer', response: this.kms.errorFor(p, code), errorNo: code };
  }

  /** Peers with a rate-limit bucket now. */
  rateBuckets(): number {
    return this.rate.size;
  }

  /** Liveness: the store answers. What anyone may learn (no names, counts or uptime). */
  async alive(): Promise<{ status: 'ok' }> {
    await this.o.store.schemaVersion();
    return { status: 'ok' };
  }

  /** The details: for authenticated callers only (the operator's status token, see serveKms). */
  async health(): Promise<Record<string, unknown>> {
    const c = await this.o.store.counts();
    return {
      status: 'ok', node: this.node, backend: this.o.store.backend, schema: await this.o.store.schemaVersion(), identity: this.o.identity,
      uptimeSec: Math.round((this.clock.now() - this.startedAt) / 1000), users: c.users, tickets: c.tickets, resolutions: c.resolutions, tpks: c.tpks, stats: this.stats,
    };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.o.store.close();
  }
}
