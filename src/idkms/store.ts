// Storage of an identity KMS: master secrets (sealed with AES-256-GCM under a master key given
// at start), one generation per rotation, and the keys issued from them (sealed too).
import { Sealer } from '../crypto/sealer.js';

/** 'ibe': the Boneh-Franklin master key s (RFC 5091, for IBAKE); 'mcx': SAKKE z and ECCSI KSAK (TS 33.180). */
export type SecretKind = 'ibe' | 'mcx';

export interface SealedSecretRecord {
  kind: SecretKind;
  /** 0, 1, 2, ...: one per rotation. */
  generation: number;
  /** First key period this generation issues keys for (until the next generation's). */
  fromPeriod: number;
  /** The public parameters (JSON), in clear; bound to the sealed secret as associated data. */
  publicData: string;
  /** Sealed by SecretVault (crypto/sealer.ts layout). */
  sealed: Uint8Array;
  createdAt: number;
}

export interface IssuedKeyRecord {
  kind: SecretKind;
  /** The identity the key is for (hex of the ID data, or the user URI). */
  subject: string;
  periodNo: number;
  generation: number;
  issuedAt: number;
  /** The issued private key material, sealed like the master secrets. */
  sealed: Uint8Array;
}

/**
 * What a persistent store implements. Secrets are append-only: `addSecret` must refuse a
 * (kind, generation) that exists (two KMS instances rotating at once must not both win), and
 * must be durable before it returns. `putIssuedKey` replaces the record of (kind, subject,
 * periodNo). Values are stored as given (they are sealed already).
 */
export interface IdKmsStore {
  listSecrets(kind: SecretKind): Promise<SealedSecretRecord[]>;
  addSecret(record: SealedSecretRecord): Promise<void>;
  putIssuedKey(record: IssuedKeyRecord): Promise<void>;
  getIssuedKey(kind: SecretKind, subject: string, periodNo: number): Promise<IssuedKeyRecord | undefined>;
}

export class DuplicateGenerationError extends Error {
  override readonly name = 'DuplicateGenerationError';
}

export class MemoryIdKmsStore implements IdKmsStore {
  private readonly secrets: SealedSecretRecord[] = [];
  private readonly issued = new Map<string, IssuedKeyRecord>();

  async listSecrets(kind: SecretKind): Promise<SealedSecretRecord[]> {
    return this.secrets.filter((s) => s.kind === kind).map((s) => ({ ...s, sealed: Uint8Array.from(s.sealed) }));
  }

  async addSecret(record: SealedSecretRecord): Promise<void> {
    if (this.secrets.some((s) => s.kind === record.kind && s.generation === record.generation)) {
      throw new DuplicateGenerationError(`${record.kind} generation ${record.generation} exists`);
    }
    this.secrets.push({ ...record, sealed: Uint8Array.from(record.sealed) });
  }

  async putIssuedKey(record: IssuedKeyRecord): Promise<void> {
    this.issued.set(`${record.kind}\0${record.subject}\0${record.periodNo}`, { ...record, sealed: Uint8Array.from(record.sealed) });
  }

  async getIssuedKey(kind: SecretKind, subject: string, periodNo: number): Promise<IssuedKeyRecord | undefined> {
    const r = this.issued.get(`${kind}\0${subject}\0${periodNo}`);
    return r && { ...r, sealed: Uint8Array.from(r.sealed) };
  }

  /** Everything stored, for tests that look for plaintext where only ciphertext should be. */
  dump(): { secrets: SealedSecretRecord[]; issued: IssuedKeyRecord[] } {
    return { secrets: [...this.secrets], issued: [...this.issued.values()] };
  }
}

/**
 * AES-256-GCM sealing under the KMS master key: the one sealer (crypto/sealer.ts), which also
 * opens records sealed in this vault's first, unversioned layout.
 */
export class SecretVault extends Sealer {
  constructor(masterKey: Uint8Array, random?: (n: number) => Uint8Array) {
    if (!(masterKey instanceof Uint8Array) || masterKey.length !== 32) throw new TypeError('the master key is 32 bytes (AES-256)');
    super(masterKey, { random, legacy: true });
  }
}

const secretAad = (r: Pick<SealedSecretRecord, 'kind' | 'generation' | 'fromPeriod' | 'publicData'>) => `secret\0${r.kind}\0${r.generation}\0${r.fromPeriod}\0${r.publicData}`;
const issuedAad = (r: Pick<IssuedKeyRecord, 'kind' | 'subject' | 'periodNo' | 'generation'>) => `issued\0${r.kind}\0${r.subject}\0${r.periodNo}\0${r.generation}`;

export interface Generation<T> {
  generation: number;
  fromPeriod: number;
  publicData: string;
  secret: T;
}

/**
 * The generations of one kind of master secret: the one for a key period is the latest
 * generation whose fromPeriod is not after it (rotation by key period).
 */
export class MasterSecrets<T> {
  private gens: Array<Generation<T>> = [];

  constructor(
    private readonly store: IdKmsStore,
    private readonly vault: SecretVault,
    private readonly kind: SecretKind,
    private readonly codec: { encode(secret: T): Uint8Array; decode(bytes: Uint8Array, publicData: string): T },
    private readonly clock: { now(): number },
  ) {}

  /** Load the stored generations (opening each: a wrong master key fails here). */
  async load(): Promise<void> {
    const recs = (await this.store.listSecrets(this.kind)).sort((a, b) => a.generation - b.generation);
    this.gens = recs.map((r) => ({ generation: r.generation, fromPeriod: r.fromPeriod, publicData: r.publicData, secret: this.codec.decode(this.vault.open(r.sealed, secretAad(r)), r.publicData) }));
  }

  get all(): ReadonlyArray<Generation<T>> {
    return this.gens;
  }

  forPeriod(periodNo: number): Generation<T> | undefined {
    let best: Generation<T> | undefined;
    for (const g of this.gens) if (g.fromPeriod <= periodNo && (!best || g.fromPeriod >= best.fromPeriod)) best = g;
    return best;
  }

  /** Add a generation effective from `fromPeriod` (later than every existing one). */
  async add(fromPeriod: number, secret: T, publicData: string): Promise<Generation<T>> {
    const last = this.gens.at(-1);
    if (last && fromPeriod <= last.fromPeriod) throw new RangeError(`a rotation must start after key period ${last.fromPeriod}`);
    const generation = last ? last.generation + 1 : 0;
    const rec: SealedSecretRecord = { kind: this.kind, generation, fromPeriod, publicData, sealed: new Uint8Array(0), createdAt: this.clock.now() };
    rec.sealed = this.vault.seal(this.codec.encode(secret), secretAad(rec));
    await this.store.addSecret(rec);
    const g = { generation, fromPeriod, publicData, secret };
    this.gens.push(g);
    return g;
  }

  async recordIssued(subject: string, periodNo: number, generation: number, key: Uint8Array): Promise<void> {
    const rec: IssuedKeyRecord = { kind: this.kind, subject, periodNo, generation, issuedAt: this.clock.now(), sealed: new Uint8Array(0) };
    rec.sealed = this.vault.seal(key, issuedAad(rec));
    await this.store.putIssuedKey(rec);
  }

  async findIssued(subject: string, periodNo: number, generation: number): Promise<Uint8Array | undefined> {
    const rec = await this.store.getIssuedKey(this.kind, subject, periodNo);
    if (!rec || rec.generation !== generation) return undefined;
    return this.vault.open(rec.sealed, issuedAad(rec));
  }
}
