// The key service composed: the store migrated, the master key checked against it (set on first
// start), identity-key issuers opened (their master secrets made and stored on first start; two
// nodes starting at once on an empty store: one generation wins, the other reloads it), the
// service opened and its listeners started. `mikey kms serve` and kms/bin.ts both run this.
import { readFileSync } from 'node:fs';
import { BF_SECURITY, bfGenerateCurve } from '../crypto/bfibe.js';
import { IbeKeyIssuer } from '../idkms/ibe-issuer.js';
import { McxKeyIssuer } from '../idkms/mcx-issuer.js';
import { DuplicateGenerationError } from '../idkms/store.js';
import type { IdentityKeyOptions } from './identity.js';
import { nullLogger, type Logger } from './log.js';
import { loadMasterKey, SecretBox } from './secrets.js';
import { serveKms, type RunningKms, type ServeOptions } from './server.js';
import { KmsService, type KmsServiceOptions } from './service.js';
import { openStore, type Store } from './store.js';

export interface KeyServiceConfig extends Omit<KmsServiceOptions, 'store' | 'box' | 'identityKeys' | 'log'> {
  /** An open store, or where one is (SQLite path or postgres:// URL). */
  store: Store | string;
  /** The PostgreSQL password when `store` is a URL (else $PGPASSWORD). */
  storePassword?: string;
  masterKey: Uint8Array;
  log?: Logger;
  /** MIKEY-IBAKE private keys (RFC 6267): `bits` is n of RFC 5091 §5.1.2 (default 1024). */
  ibake?: { bits?: number; periodSeconds?: number; offsetSeconds?: number; periods?: number };
  /** The MIKEY-SAKKE KMS interface (TS 33.180 Annex D). */
  mcx?: { kmsUri: string; keyPeriod?: number; keyPeriodOffset?: number };
  /** Listeners (none: the service only, e.g. for a caller with its own transport). */
  listen?: ServeOptions;
}

export interface KeyService {
  service: KmsService;
  running?: RunningKms;
  close(): Promise<void>;
}

/** The issuers of identity keys asked for; on first start their master secrets are made and stored. */
async function identityIssuers(store: Store, box: SecretBox, c: KeyServiceConfig, log: Logger): Promise<IdentityKeyOptions | undefined> {
  if (!c.ibake && !c.mcx) return undefined;
  const masterKey = box.deriveKey('identity keys');
  const o: IdentityKeyOptions = {};
  const retry = async <T>(open: () => Promise<T>) => open().catch((e: unknown) => { if (e instanceof DuplicateGenerationError) return open(); throw e; });
  if (c.ibake) {
    const period = { periodSeconds: c.ibake.periodSeconds ?? 86_400, offsetSeconds: c.ibake.offsetSeconds ?? 0 };
    if (period.periodSeconds <= 0) throw new RangeError('the IBAKE key period must be positive');
    const fresh = (await store.listSecrets('ibe')).length === 0;
    const sys = fresh ? bfGenerateCurve(c.ibake.bits ?? 1024) : undefined;
    o.ibe = await retry(() => IbeKeyIssuer.open({ store, masterKey, curve: sys?.curve, hash: sys?.hash, period }));
    o.ibePeriods = c.ibake.periods || 2;
    // `bits` is the size n as RFC 5091 §5.1.2 gives it, not the bits of p
    const pBits = o.ibe.paramsFor(0)?.curve.p.toString(2).length;
    const n = Object.entries(BF_SECURITY).find(([, s]) => s.np === pBits)?.[0];
    log.info('ibake-keys', { created: fresh, bits: n === undefined ? undefined : Number(n), pBits, period: o.ibe.period });
  }
  if (c.mcx) {
    const { kmsUri } = c.mcx;
    o.mcx = await retry(() => McxKeyIssuer.open({ store, masterKey, kmsUri, keyPeriod: c.mcx!.keyPeriod || 2_592_000, keyPeriodOffset: c.mcx!.keyPeriodOffset ?? 0 }));
    log.info('mcx-kms-interface', { kmsUri, keyPeriod: o.mcx.keyPeriod, path: '/keymanagement/identity/v1' });
  }
  return o;
}

/** Open the key service (and its listeners when `listen` is given). On failure nothing is left open. */
export async function openKeyService(c: KeyServiceConfig): Promise<KeyService> {
  const store = typeof c.store === 'string' ? await openStore(c.store, { password: c.storePassword }) : c.store;
  const log = c.log ?? nullLogger;
  let service: KmsService | undefined;
  try {
    await store.migrate();
    const box = new SecretBox(c.masterKey);
    box.verifyCheckValue(await store.metaOnce('master-key-check', box.checkValue()));
    const { store: _s, storePassword: _p, masterKey: _m, ibake: _i, mcx: _x, listen, ...options } = c;
    const identityKeys = await identityIssuers(store, box, c, log);
    service = await KmsService.open({ ...options, store, box, log, identityKeys });
    if (!(await store.rules()).length) log.warn('no-policy-rules', { hint: 'no ticket is issued until a rule is added: mikey kms policy add' });
    const running = listen ? await serveKms(service, listen, c.maxRequestBytes ?? 8192) : undefined;
    const s = service;
    return { service: s, running, close: async () => { await running?.close(); await s.close(); } };
  } catch (e) {
    if (service) await service.close().catch(() => undefined);
    else await store.close().catch(() => undefined);
    throw e;
  }
}

/**
 * The JSON file kms/bin.ts reads: the options of KeyServiceConfig, with files for what is
 * secret or PEM (`masterKeyFile`, else $MIKEY_KMS_MASTER_KEY; `storePasswordFile`; `privateKeyFile`,
 * `certificateFile`, `trustAnchorFiles`; `listen.http.tls.certFile`/`keyFile`; `listen.http.statusTokenFile`).
 */
export function keyServiceConfigFromJson(json: string, env: NodeJS.ProcessEnv = process.env): KeyServiceConfig {
  const j = JSON.parse(json) as Record<string, unknown> & {
    store?: string; masterKeyFile?: string; storePasswordFile?: string; privateKeyFile?: string; certificateFile?: string; trustAnchorFiles?: string[];
    listen?: { http?: Record<string, unknown> & { port: number; tls?: { certFile: string; keyFile: string }; statusTokenFile?: string }; udp?: { port?: number; host?: string } };
  };
  if (typeof j.store !== 'string') throw new TypeError('the configuration names its store: "store": "<SQLite path or postgres:// URL>"');
  const read = (f: string) => readFileSync(f, 'utf8');
  const first = (f: string) => read(f).split(/\r?\n/)[0]!;
  const { masterKeyFile, storePasswordFile, privateKeyFile, certificateFile, trustAnchorFiles, listen, ...rest } = j;
  let http: ServeOptions['http'];
  if (listen?.http) {
    const { tls, statusTokenFile, ...h } = listen.http;
    http = { ...(h as { port: number }), tls: tls ? { cert: read(tls.certFile), key: read(tls.keyFile) } : undefined, statusToken: statusTokenFile ? first(statusTokenFile) : undefined };
  }
  return {
    ...(rest as unknown as Omit<KeyServiceConfig, 'store' | 'masterKey'>),
    store: j.store,
    masterKey: loadMasterKey(masterKeyFile, env),
    storePassword: storePasswordFile ? first(storePasswordFile) : undefined,
    privateKey: privateKeyFile ? read(privateKeyFile) : undefined,
    certificate: certificateFile ? read(certificateFile) : undefined,
    trustAnchors: trustAnchorFiles?.map(read),
    listen: listen ? { http, udp: listen.udp } : undefined,
  };
}

