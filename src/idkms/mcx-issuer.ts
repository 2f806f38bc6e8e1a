// The MIKEY-SAKKE side of an identity KMS (3GPP TS 33.180 Annex D): the KMS certificate (SAKKE
// public key Z, ECCSI KPAK, key periods) and user key sets (UID, RSK, SSK, PVT) from master
// secrets z (RFC 6508 §6.1) and KSAK (RFC 6507 §4.2) sealed in the store, rotated by key period.
import { eccsiKmsKeysFromSecret, eccsiKmsSetup, eccsiMakeSskPvt, type EccsiKmsKeys } from '../crypto/eccsi.js';
import { sakkeKmsKeysFromSecret, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1, type SakkeKmsKeys } from '../crypto/sakke.js';
import { defaultRandom } from '../crypto/pairing/field.js';
import { mikeySakkeUid, keyPeriodNumber, keyPeriodStart } from '../profiles/mcx/uid.js';
import { systemClock, type Clock } from '../session/time.js';
import { MasterSecrets, SecretVault, type IdKmsStore } from './store.js';
import type { KmsCertificateDoc, KmsKeySetDoc } from './mcx-xml.js';

export interface McxIssuerOptions {
  store: IdKmsStore;
  /** 32 bytes: seals the master secrets and issued keys (AES-256-GCM). */
  masterKey: Uint8Array;
  /** KmsUri, e.g. "kms.example.org". */
  kmsUri: string;
  /** UserKeyPeriod and UserKeyOffset in seconds (TS 33.180 D.3.2; default 30 days, 0). */
  keyPeriod?: number;
  keyPeriodOffset?: number;
  /** Refuse key sets for periods further than this ahead of now (default 2). */
  maxPeriodsAhead?: number;
  clock?: Clock;
  random?: (n: number) => Uint8Array;
}

interface McxPublic {
  kmsUri: string;
  keyPeriod: number;
  keyPeriodOffset: number;
  Z: string;
  KPAK: string;
}

interface McxSecret {
  sakke: SakkeKmsKeys;
  eccsi: EccsiKmsKeys;
}

const L = sakkeParamSet1.curve.L;

/** A user's key set, as a KmsKeySet carries it (TS 33.180 D.3.3). */
export interface McxUserKeySet {
  userUri: string;
  kmsUri: string;
  /** UID of TS 33.180 F.2.1 (32 bytes): the SAKKE and ECCSI identifier. */
  uid: Uint8Array;
  keyPeriodNo: number;
  /** RSK (RFC 6508 §6.1.1), 0x04 || x || y. */
  rsk: Uint8Array;
  /** SSK (RFC 6507 §5.1.1), 32 bytes. */
  ssk: Uint8Array;
  /** PVT, 0x04 || x || y. */
  pvt: Uint8Array;
}

export class McxKeyIssuer {
  private constructor(private readonly secrets: MasterSecrets<McxSecret>, private readonly opts: McxIssuerOptions, readonly kmsUri: string, readonly keyPeriod: number, readonly keyPeriodOffset: number) {}

  static async open(opts: McxIssuerOptions): Promise<McxKeyIssuer> {
    const vault = new SecretVault(opts.masterKey, opts.random);
    const secrets = new MasterSecrets<McxSecret>(opts.store, vault, 'mcx', {
      encode: (s) => Uint8Array.from([...s.sakke.z, ...s.eccsi.ksak]),
      decode: (b) => ({ sakke: sakkeKmsKeysFromSecret(sakkeParamSet1, b.subarray(0, L)), eccsi: eccsiKmsKeysFromSecret(b.subarray(L)) }),
    }, opts.clock ?? systemClock);
    await secrets.load();
    const first = secrets.all[0] && (JSON.parse(secrets.all[0].publicData) as McxPublic);
    if (first && first.kmsUri !== opts.kmsUri) throw new Error(`the store belongs to KMS ${first.kmsUri}`);
    const issuer = new McxKeyIssuer(secrets, opts, opts.kmsUri, first?.keyPeriod ?? opts.keyPeriod ?? 2_592_000, first?.keyPeriodOffset ?? opts.keyPeriodOffset ?? 0);
    if (!first) await issuer.rotate(0);
    return issuer;
  }

  /** New master secrets (z, KSAK) for key periods from `fromPeriod` on: a new KMS certificate. */
  async rotate(fromPeriod: number): Promise<number> {
    const random = this.opts.random ?? defaultRandom;
    const s: McxSecret = { sakke: sakkeKmsSetup(sakkeParamSet1, random), eccsi: eccsiKmsSetup(random) };
    const pub: McxPublic = { kmsUri: this.kmsUri, keyPeriod: this.keyPeriod, keyPeriodOffset: this.keyPeriodOffset, Z: Buffer.from(s.sakke.zS).toString('hex'), KPAK: Buffer.from(s.eccsi.kpak).toString('hex') };
    return (await this.secrets.add(fromPeriod, s, JSON.stringify(pub))).generation;
  }

  currentPeriod(): number {
    return keyPeriodNumber((this.opts.clock ?? systemClock).now(), this.keyPeriod, this.keyPeriodOffset);
  }

  private generation(periodNo: number) {
    const g = this.secrets.forPeriod(periodNo);
    if (!g) throw new RangeError(`no master secret for key period ${periodNo}`);
    return g;
  }

  /** The KmsCertificate in force for a key period (default the current one). */
  certificate(periodNo: number = this.currentPeriod()): KmsCertificateDoc {
    const g = this.generation(periodNo);
    const next = this.secrets.all.find((x) => x.fromPeriod > g.fromPeriod);
    const cert: KmsCertificateDoc = {
      version: '1.1.0', role: 'Root', certUri: `${this.kmsUri}/cert/${g.generation}`, kmsUri: this.kmsUri, issuer: this.kmsUri,
      validFrom: new Date(Math.max(0, keyPeriodStart(g.fromPeriod, this.keyPeriod, this.keyPeriodOffset))),
      userIdFormat: '2', userKeyPeriod: this.keyPeriod, userKeyOffset: this.keyPeriodOffset,
      pubEncKey: g.secret.sakke.zS, pubAuthKey: g.secret.eccsi.kpak, parameterSet: 1,
    };
    if (next) cert.validTo = new Date(keyPeriodStart(next.fromPeriod, this.keyPeriod, this.keyPeriodOffset));
    return cert;
  }

  /** The key set of `userUri` for a key period (issued once, then returned from the store). */
  async keySet(userUri: string, periodNo: number = this.currentPeriod()): Promise<McxUserKeySet> {
    if (periodNo > this.currentPeriod() + (this.opts.maxPeriodsAhead ?? 2)) throw new RangeError(`key period ${periodNo} is too far ahead`);
    const g = this.generation(periodNo);
    const uid = mikeySakkeUid({ uri: userUri, kmsUri: this.kmsUri, keyPeriod: this.keyPeriod, keyPeriodOffset: this.keyPeriodOffset, keyPeriodNo: periodNo });
    const stored = await this.secrets.findIssued(userUri, periodNo, g.generation);
    let rsk: Uint8Array;
    let ssk: Uint8Array;
    let pvt: Uint8Array;
    const rl = 2 * L + 1;
    if (stored) {
      rsk = stored.subarray(0, rl);
      ssk = stored.subarray(rl, rl + 32);
      pvt = stored.subarray(rl + 32);
    } else {
      const random = this.opts.random ?? defaultRandom;
      rsk = sakkeMakeRsk(sakkeParamSet1, g.secret.sakke.z, uid, random);
      ({ ssk, pvt } = eccsiMakeSskPvt(g.secret.eccsi, uid, { random }));
      await this.secrets.recordIssued(userUri, periodNo, g.generation, Uint8Array.from([...rsk, ...ssk, ...pvt]));
    }
    return { userUri, kmsUri: this.kmsUri, uid, keyPeriodNo: periodNo, rsk, ssk, pvt };
  }

  /** As a KmsKeySet document. */
  async keySetDoc(userUri: string, periodNo?: number): Promise<KmsKeySetDoc> {
    const k = await this.keySet(userUri, periodNo);
    const start = keyPeriodStart(k.keyPeriodNo, this.keyPeriod, this.keyPeriodOffset);
    return {
      version: '1.1.0', kmsUri: k.kmsUri, certUri: this.certificate(k.keyPeriodNo).certUri, issuer: this.kmsUri, userUri: k.userUri, userId: k.uid,
      validFrom: new Date(start), validTo: new Date(start + this.keyPeriod * 1000), keyPeriodNo: k.keyPeriodNo, revoked: false,
      userDecryptKey: k.rsk, userSigningKeySsk: k.ssk, userPubTokenPvt: k.pvt,
    };
  }
}
