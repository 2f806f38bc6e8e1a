// The KMS certificate cache of a key management client (TS 33.180 D.3.4, KmsCertCache): the
// certificates of the other KMSs a MIKEY-SAKKE message may name (IDRkmsi, IDRkmsr), fetched from
// the home KMS, kept within a bound, used only inside ValidFrom..ValidTo and unrevoked, and
// fetched again when one expires or an unknown KMS is named (at most once per `minRefreshMs`, so
// messages naming random KMSs cannot make us fetch for each).
import { systemClock, type Clock } from '../session/time.js';
import type { McxKms } from '../profiles/mcx/uid.js';
import { McxKmsError, kmsOfCertificate, type McxKmsClient } from './mcx-client.js';
import type { KmsCertificateDoc } from './mcx-xml.js';

export interface McxKmsCertCacheOptions {
  /** The home KMS's client: its `certCache()` fills the cache. */
  client: Pick<McxKmsClient, 'certCache'>;
  /** Certificates kept at most (default 64; the least recently used go first). */
  maxEntries?: number;
  /** Fetches at most this often (default 60 s), however many unknown KMSs are named. */
  minRefreshMs?: number;
  clock?: Clock;
}

/** Why a certificate cannot be used now, or undefined. */
export function certificateUnusable(c: KmsCertificateDoc, now: number): string | undefined {
  if (c.revoked) return 'revoked';
  if (c.validFrom && now < c.validFrom.getTime()) return `not valid before ${c.validFrom.toISOString()}`;
  if (c.validTo && now >= c.validTo.getTime()) return `expired ${c.validTo.toISOString()}`;
  return undefined;
}

export class McxKmsCertCache {
  private readonly entries = new Map<string, KmsCertificateDoc>();
  private lastFetch = -Infinity;
  private fetching: Promise<void> | undefined;
  private readonly clock: Clock;
  /** Fetches from the home KMS so far. */
  fetches = 0;
  /** The home KMS's CacheNum of the last fetch. */
  cacheNum: number | undefined;

  constructor(private readonly o: McxKmsCertCacheOptions) {
    this.clock = o.clock ?? systemClock;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The usable certificate of `kmsUri`, fetching the cache when it is unknown or expired. */
  async certificate(kmsUri: string): Promise<KmsCertificateDoc> {
    const now = this.clock.now();
    let c = this.entries.get(kmsUri);
    if (!c || certificateUnusable(c, now)) {
      await this.refresh();
      c = this.entries.get(kmsUri);
    }
    if (!c) throw new McxKmsError(`KMS ${kmsUri} is not in the home KMS's certificate cache`);
    const why = certificateUnusable(c, this.clock.now());
    if (why) throw new McxKmsError(`the certificate of KMS ${kmsUri} is ${why}`);
    // most recently used last
    this.entries.delete(kmsUri);
    this.entries.set(kmsUri, c);
    return c;
  }

  /** As the MIKEY-SAKKE profile takes a KMS; undefined when it cannot be had (for `peerKmsLookup`). */
  async lookup(kmsUri: string): Promise<McxKms | undefined> {
    try {
      return kmsOfCertificate(await this.certificate(kmsUri));
    } catch (e) {
      if (e instanceof McxKmsError) return undefined;
      throw e;
    }
  }

  /** Fetches the home KMS's cache now (once at a time; not more often than minRefreshMs). */
  async refresh(): Promise<void> {
    if (this.fetching) return this.fetching;
    if (this.clock.now() - this.lastFetch < (this.o.minRefreshMs ?? 60_000)) return;
    this.lastFetch = this.clock.now();
    this.fetching = (async () => {
      this.fetches++;
      const r = await this.o.client.certCache();
      this.cacheNum = r.cacheNum;
      const max = this.o.maxEntries ?? 64;
      for (const c of r.certificates.slice(0, max)) {
        this.entries.delete(c.kmsUri);
        this.entries.set(c.kmsUri, c);
      }
      while (this.entries.size > max) this.entries.delete(this.entries.keys().next().value!);
    })().finally(() => {
      this.fetching = undefined;
    });
    return this.fetching;
  }
}
