// The IBAKE side of an identity KMS: issues Boneh-Franklin private keys (RFC 5091 §5.3) for
// K_PUB = H1(ID || date) (RFC 6267 §4.1), one per identity and key period, from a master
// secret sealed in the store and rotated by key period.
import { bfExtractPriv, bfSetup, type BfPublicParams, type HashName } from '../crypto/bfibe.js';
import { Curve, type Point } from '../crypto/pairing/curve.js';
import { bigIntToBytes, bytesToBigInt, defaultRandom } from '../crypto/pairing/field.js';
import { systemClock, type Clock } from '../session/time.js';
import type { Identity } from '../session/identity.js';
import type { IssuedPrivateKey, PrivateKeyIssuer } from '../modes/ibake/keyrequest.js';
import { DEFAULT_KEY_PERIOD, ibeIdentity, keyPeriodOf, type IbeDomain, type KeyPeriodPolicy } from '../modes/ibake/profile.js';
import { MasterSecrets, SecretVault, type IdKmsStore } from './store.js';

export interface IbeIssuerOptions {
  store: IdKmsStore;
  /** 32 bytes: seals the master secrets and issued keys (AES-256-GCM). */
  masterKey: Uint8Array;
  /** The type-1 curve and hash of the system (RFC 5091 §5.1.2): needed when the store is empty. */
  curve?: Curve;
  hash?: HashName;
  period?: KeyPeriodPolicy;
  /** Refuse keys for periods further than this ahead of now (default 62). */
  maxPeriodsAhead?: number;
  clock?: Clock;
  random?: (n: number) => Uint8Array;
}

interface IbePublic {
  p: string; q: string; Px: string; Py: string; hash: HashName; Ppub: string;
  period: KeyPeriodPolicy;
}

const hex = (n: bigint) => n.toString(16);

function paramsOf(pub: IbePublic): BfPublicParams {
  const curve = new Curve({ p: BigInt(`0x${pub.p}`), q: BigInt(`0x${pub.q}`), a: 0n, b: 1n, P: { x: BigInt(`0x${pub.Px}`), y: BigInt(`0x${pub.Py}`) } });
  return { version: 2, curve, Ppub: curve.decodePoint(Buffer.from(pub.Ppub, 'hex')), hash: pub.hash };
}

export class IbeKeyIssuer {
  private readonly params = new Map<number, BfPublicParams>();

  private constructor(
    private readonly secrets: MasterSecrets<bigint>,
    private readonly opts: IbeIssuerOptions,
    readonly period: KeyPeriodPolicy,
  ) {}

  /** Open the store: load the generations, or create the first one (from key period 0). */
  static async open(opts: IbeIssuerOptions): Promise<IbeKeyIssuer> {
    const vault = new SecretVault(opts.masterKey, opts.random);
    const secrets = new MasterSecrets<bigint>(opts.store, vault, 'ibe', {
      encode: (s) => bigIntToBytes(s, Math.ceil(s.toString(16).length / 2) + 1),
      decode: (b) => bytesToBigInt(b),
    }, opts.clock ?? systemClock);
    await secrets.load();
    const first = secrets.all[0];
    const period = first ? (JSON.parse(first.publicData) as IbePublic).period : opts.period ?? DEFAULT_KEY_PERIOD;
    const issuer = new IbeKeyIssuer(secrets, opts, period);
    for (const g of secrets.all) issuer.params.set(g.generation, paramsOf(JSON.parse(g.publicData) as IbePublic));
    if (!first) await issuer.newGeneration(0);
    return issuer;
  }

  private async newGeneration(fromPeriod: number): Promise<number> {
    const base = this.secrets.all[0] ? this.params.get(this.secrets.all[0].generation)! : undefined;
    const curve = base?.curve ?? this.opts.curve;
    const hash = base?.hash ?? this.opts.hash;
    if (!curve || !hash) throw new TypeError('an empty store needs the system curve and hash (curve, hash)');
    const { params, s } = bfSetup(curve, hash, this.opts.random ?? defaultRandom);
    const pub: IbePublic = {
      p: hex(curve.p), q: hex(curve.q), Px: hex(curve.P.x), Py: hex(curve.P.y), hash,
      Ppub: Buffer.from(curve.encodePoint(params.Ppub)).toString('hex'), period: this.period,
    };
    const g = await this.secrets.add(fromPeriod, s, JSON.stringify(pub));
    this.params.set(g.generation, params);
    return g.generation;
  }

  /** A new master secret for key periods from `fromPeriod` on; earlier periods keep theirs. */
  async rotate(fromPeriod: number): Promise<number> {
    return this.newGeneration(fromPeriod);
  }

  /** The public side users need: parameters per key period, the key periods. */
  domain(): IbeDomain {
    return { period: this.period, paramsFor: (no) => this.paramsFor(no) };
  }

  paramsFor(periodNo: number): BfPublicParams | undefined {
    const g = this.secrets.forPeriod(periodNo);
    return g && this.params.get(g.generation);
  }

  /** K_PR for `identity` in each key period (issued once per period, then returned from the store). */
  async issue(identity: Identity, periodNos: readonly number[]): Promise<IssuedPrivateKey[]> {
    const now = keyPeriodOf((this.opts.clock ?? systemClock).now(), this.period);
    const subject = `${identity.idType}:${Buffer.from(identity.data).toString('hex')}`;
    const out: IssuedPrivateKey[] = [];
    for (const no of periodNos) {
      if (no > now + (this.opts.maxPeriodsAhead ?? 62)) throw new RangeError(`key period ${no} is too far ahead`);
      const g = this.secrets.forPeriod(no);
      if (!g) throw new RangeError(`no master secret for key period ${no}`);
      const params = this.params.get(g.generation)!;
      const stored = await this.secrets.findIssued(subject, no, g.generation);
      let key: Point;
      if (stored) key = params.curve.decodePoint(stored);
      else {
        key = bfExtractPriv(params, g.secret, ibeIdentity(identity, no, this.period));
        await this.secrets.recordIssued(subject, no, g.generation, params.curve.encodePoint(key));
      }
      out.push({ periodNo: no, key });
    }
    return out;
  }

  /** The public side of every generation (what `ibeDomainOf` takes). */
  publicInfo(): IbePublicInfo {
    return { period: this.period, generations: this.secrets.all.map((g) => ({ generation: g.generation, fromPeriod: g.fromPeriod, publicData: g.publicData })) };
  }

  /** The issuing function a key responder takes. */
  issuer(): PrivateKeyIssuer {
    return (id, nos) => this.issue(id, nos);
  }
}

export interface IbePublicInfo {
  period: KeyPeriodPolicy;
  generations: Array<{ generation: number; fromPeriod: number; publicData: string }>;
}

/** A user's view of the KMS from its public information: the parameters in force per key period. */
export function ibeDomainOf(info: IbePublicInfo): IbeDomain {
  const gens = [...info.generations].sort((a, b) => a.fromPeriod - b.fromPeriod).map((g) => ({ fromPeriod: g.fromPeriod, params: paramsOf(JSON.parse(g.publicData) as IbePublic) }));
  return { period: info.period, paramsFor: (no) => gens.filter((g) => g.fromPeriod <= no).at(-1)?.params };
}
