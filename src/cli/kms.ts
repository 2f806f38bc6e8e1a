// `mikey kms`: the MIKEY-TICKET key management service (RFC 6043) and its administration.
import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { identity } from '../kms/memory.js';
import { DEFAULT_RULE, type PolicyRule } from '../kms/grant.js';
import { loadMasterKey, MasterKeyError, SecretBox } from '../kms/secrets.js';
import { openStore, type Backup, type Store } from '../kms/store.js';
import type { KeyServiceConfig } from '../kms/open.js';
import { MIKEY_PORT } from '../wire/registry.js';
import { DataError, EXIT, EXIT_HELP, UsageError, isSystemError, parseCommand, systemErrorText, type OptionSpecs } from './args.js';

// loaded by the commands that use them (start-up: see main.ts): the service with its identity-key
// issuers for 'serve', X.509 for certificate devices
const keyService = () => import('../kms/cluster.js');
const certificates = async () => ({ ...(await import('../session/certs.js')), ...(await import('../modes/kit/signature.js')) });

const COMMON = `Common options:
  --db PATH|URL            the store: a SQLite file (default $MIKEY_KMS_DB or ./mikey-kms.db) or a
                           postgres://user@host/db URL shared by several nodes. Only 'init'
                           creates a store; the other commands refuse one that does not exist
  --master-key-file FILE   the master key sealing secrets at rest (64 hex digits); default
                           $MIKEY_KMS_MASTER_KEY
  --db-password-file FILE  the PostgreSQL password (its first line); default $PGPASSWORD.
                           Never put it in the URL: ps shows the command line
  -h, --help               this text

${EXIT_HELP}`;

const HELP: Record<string, string> = {
  kms: `Usage: mikey kms <command> [options]

The MIKEY-TICKET key management service (RFC 6043): issues tickets to initiators
(REQUEST_INIT -> REQUEST_RESP) and resolves them for responders (RESOLVE_INIT -> RESOLVE_RESP),
over HTTP (POST application/mikey) and UDP (port 2269).

Commands:
  serve                    run the service
  init                     create the store (and a master key file when missing)
  keygen                   print a new master key
  user add|remove|list     users and their device credentials (pre-shared keys, certificates)
  group add|remove|list    groups of users a ticket may name as responder
  policy add|remove|list   who may get tickets for whom, and what a ticket may allow
  tickets                  the tickets issued
  audit                    the audit log
  export                   a backup of the store (secrets stay sealed)
  import FILE              restore a backup

Run 'mikey kms <command> --help' for a command's options.

${EXIT_HELP}`,
  serve: `Usage: mikey kms serve [options]

Runs the KMS. Logs are JSON lines on standard output.

Options:
  --identity URI           our identity, IDRkms (default sip:kms@localhost)
  --http-port N            HTTP port (default 8269; 0 picks a free one)
  --http-host ADDR         HTTP address (default 127.0.0.1)
  --no-http                no HTTP listener
  --udp-port N             UDP port (default ${MIKEY_PORT}; 0 picks a free one)
  --udp-host ADDR          UDP address (default 127.0.0.1)
  --no-udp                 no UDP listener
  --tls-cert FILE          serve HTTPS with this certificate (PEM) ...
  --tls-key FILE           ... and key
  --key FILE               RSA key (PEM) for the public-key requests (REQUEST_INIT_PK, RESOLVE_INIT_PK)
  --cert FILE              its certificate (PEM), for CHASH
  --trust-anchor FILE      CA certificate for users who sign with a certificate chain (repeatable)
  --node NAME              this node's name in logs and records (default host:pid)
  --rate N                 requests per second per peer (default 200)
  --burst N                burst per peer (default 400)
  --max-request N          largest request in bytes (default 8192)
  --tpk-rotate SEC         a new ticket protection key after SEC seconds (default 86400)
  --cache-ttl MS           how long users and policies read from the store are reused (default 1000)
  --cache-entries N        most entries per cache (users, PSK IDs, names not found; default 10000)
  --max-connections N      HTTP connections open in all (default 512) ...
  --max-connections-per-address N  ... and per client address (default 64)
  --status-token-file FILE GET /health with 'Authorization: Bearer TOKEN' (the file's first line;
                           default $MIKEY_KMS_STATUS_TOKEN) gives counts and counters; without
                           it, liveness only
  --headers-timeout MS     HTTP request headers within this long, else the connection is closed;
                           also the limit for a silent connection (default 5000)
  --max-skew SEC           clock skew allowed (default 300)
  --workers N              serve from N processes sharing the listeners and the store (default 1;
                           PostgreSQL, or a SQLite file: one writer at a time); the per-peer rate,
                           burst and connections per address are shared out among them

Identity keys (master secrets sealed under a key derived from the master key, in the store):
  --ibake                  issue MIKEY-IBAKE private keys (REQUEST_KEY_PSK/PKE, RFC 6267 §4.2.1) on
                           the same HTTP and UDP listeners; GET /ibake/params gives the public
                           parameters. A Boneh-Franklin system is generated on first start.
  --ibake-bits N           its size, 1024 2048 3072 7680 or 15360 (RFC 5091 §5.1.2; default 1024)
  --ibake-period SEC       key period length (default 86400) ...
  --ibake-period-offset SEC  ... and offset from 1900-01-01 (default 0); fixed on first start
  --ibake-periods N        key periods issued per request (default 2)
  --mcx-kms-uri URI        serve the MIKEY-SAKKE KMS interface (TS 33.180 Annex D) at
                           /keymanagement/identity/v1/{init,keyprov}; needs --tls-cert. Users
                           authenticate with HTTP Basic: IDRpsk of a device and the hex of
                           HMAC-SHA-256(PSK, "mikey-kms mcx-kms password")
  --mcx-key-period SEC     UserKeyPeriod (default 2592000) ...
  --mcx-key-offset SEC     ... and UserKeyOffset (default 0); fixed on first start

${COMMON}`,
  init: `Usage: mikey kms init [--force] [options]

Creates the store and applies the schema migrations (on PostgreSQL the database must exist:
see docs/kms.md). With --master-key-file naming a file that does not exist, a new master key
is written there (mode 0600), once the store is ready: a failing init leaves no key file.
--force deletes an existing SQLite file first, and then writes a new master key to
--master-key-file as well; on PostgreSQL --force is refused (drop and create the database).

${COMMON}`,
  keygen: `Usage: mikey kms keygen

Prints a new random master key (32 bytes, hex) for --master-key-file or $MIKEY_KMS_MASTER_KEY.

${EXIT_HELP}`,
  user: `Usage: mikey kms user add NAME [--device D] [--psk HEX | --generate-psk] [--psk-id ID] [--cert FILE]
       mikey kms user remove NAME [--device D]
       mikey kms user list [--json]

NAME is the identity in IDRi/IDRr (sip:alice@example.org). A user has device credentials:
a pre-shared key (--psk, or --generate-psk, which prints it) named in IDRpsk by --psk-id
(default: the device name), or a certificate (--cert) whose signatures the KMS checks.
'add' on an existing user adds a device; 'remove --device' removes one device.

${COMMON}`,
  group: `Usage: mikey kms group add GROUP MEMBER...
       mikey kms group remove GROUP [MEMBER...]
       mikey kms group list

A group identity (sip:it-support@example.org) may be named as responder in a ticket; its
members may resolve such tickets (RFC 6043 §12.5).

${COMMON}`,
  policy: `Usage: mikey kms policy add --initiator WHO --responder WHO [options]
       mikey kms policy remove ID
       mikey kms policy list [--json]

WHO is an identity, group:GROUP (its members) or * (anyone). Without a rule, no ticket is
issued. The most specific rule for each (initiator, responder) applies.

Options of 'add':
  --max-validity SEC       longest validity granted (default ${DEFAULT_RULE.maxValiditySec})
  --forking MODE           allow (as requested), require, or forbid key forking (default allow)
  --no-reuse               tickets may not be reused (J = 0)
  --initiator-keys         the initiator may supply keys (L)
  --responder-keys         the responder may supply keys (M)
  --max-keys N             most session keys per ticket (default ${DEFAULT_RULE.maxKeys})
  --rekey SEC              rekeying interval imposed (TRr)

${COMMON}`,
  tickets: `Usage: mikey kms tickets [--json]

Lists the tickets issued: id, initiator, responders, flags, validity.

${COMMON}`,
  audit: `Usage: mikey kms audit [--tail N]

Prints the last N (default 20) audit records as JSON lines.

${COMMON}`,
  export: `Usage: mikey kms export [--out FILE]

Writes a backup (JSON) of users, credentials, groups, rules, ticket protection keys, tickets,
resolutions and the audit log. Secrets stay sealed under the master key: a restore needs it.

${COMMON}`,
  import: `Usage: mikey kms import FILE

Restores a backup made by 'mikey kms export' into the store (rows already present are kept).
The master key must be the one the backup was made under.

${COMMON}`,
};

const commonOptions = {
  db: { type: 'string' },
  'master-key-file': { type: 'string' },
  'db-password-file': { type: 'string' },
} as const;

function parse<O extends OptionSpecs>(argv: string[], options: O, maxPositionals?: number) {
  return parseCommand(argv, { ...commonOptions, ...options }, { maxPositionals });
}

const isPg = (db: string) => /^postgres(ql)?:\/\//.test(db);

function dbOf(v: { db?: string | boolean }): string {
  return (typeof v.db === 'string' ? v.db : undefined) ?? process.env['MIKEY_KMS_DB'] ?? 'mikey-kms.db';
}

/** The PostgreSQL password from --db-password-file (its first line), if given. */
function storeAuth(v: { 'db-password-file'?: string | boolean }): { password?: string } {
  const f = v['db-password-file'];
  return typeof f === 'string' ? { password: readFileSync(f, 'utf8').split(/\r?\n/)[0]! } : {};
}

/** The store, which must exist: only `init` creates one (a mistyped --db must not make a new store). */
async function openExisting(db: string, o: { emptyDatabase?: boolean; password?: string } = {}): Promise<Store> {
  const init = `run 'mikey kms init --db ${isPg(db) ? '<url>' : db}' to create it`;
  if (!isPg(db) && db !== ':memory:') {
    if (!existsSync(db)) throw new DataError(`no store at ${db}: ${init}`);
    // not opened unless it is a SQLite database (opening would write to it)
    const head = Buffer.alloc(16);
    const fd = openSync(db, 'r');
    const n = readSync(fd, head, 0, 16, 0);
    closeSync(fd);
    if (n === 0) throw new DataError(`${db} is not an initialised store (an empty file): ${init}`);
    if (head.toString('latin1') !== 'SQLite format 3\0') throw new DataError(`${db} is not a SQLite database`);
  }
  const store = await openStore(db, { password: o.password });
  // `serve` on an existing, empty PostgreSQL database: the nodes of a cluster migrate it (one at a time)
  if (!(o.emptyDatabase && isPg(db)) && (await store.schemaVersion().catch(() => 0)) === 0) {
    await store.close();
    throw new DataError(`${store.location} is not an initialised store: ${init}`);
  }
  return store;
}

async function withStore<T>(v: { db?: string | boolean; 'db-password-file'?: string | boolean }, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await openExisting(dbOf(v), storeAuth(v));
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The master key, checked against the store (set there on first use). */
async function boxFor(store: Store, v: { 'master-key-file'?: string | boolean }): Promise<SecretBox> {
  const box = new SecretBox(loadMasterKey(typeof v['master-key-file'] === 'string' ? v['master-key-file'] : undefined));
  box.verifyCheckValue(await store.metaOnce('master-key-check', box.checkValue()));
  return box;
}

const out = (s: string) => process.stdout.write(`${s}\n`);

function ruleText(r: PolicyRule): string {
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  return `${r.initiator} -> ${r.responder}, validity <= ${r.maxValiditySec} s, forking ${r.forking}, reuse ${yn(r.reuse)}, initiator keys ${yn(r.initiatorKeys)}, responder keys ${yn(r.responderKeys)}, keys <= ${r.maxKeys}${r.rekeySec !== undefined ? `, rekey <= ${r.rekeySec} s` : ''}`;
}

function positiveInt(v: string | boolean | undefined, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${what} must be a non-negative integer`);
  return n;
}

async function userCommand(argv: string[]): Promise<number> {
  const { values: v, positionals: [sub, name, ...rest] } = parse(argv, {
    device: { type: 'string' }, psk: { type: 'string' }, 'generate-psk': { type: 'boolean' }, 'psk-id': { type: 'string' }, cert: { type: 'string' }, json: { type: 'boolean' },
  });
  if (v.help) { out(HELP['user']!); return 0; }
  if (rest.length) throw new UsageError(`unexpected ${rest.join(' ')}`);
  if (!['add', 'remove', 'list'].includes(sub ?? '')) throw new UsageError('user add|remove|list');
  if ((sub === 'add' || sub === 'remove') && !name) throw new UsageError(`user ${sub} needs a NAME`);
  // the command line is checked before the store is opened
  let psk: Uint8Array | undefined;
  if (v.psk !== undefined) {
    if (!/^([0-9a-fA-F]{2}){16,64}$/.test(v.psk)) throw new UsageError('--psk is 16 to 64 bytes in hex');
    psk = Buffer.from(v.psk, 'hex');
  } else if (v['generate-psk']) psk = randomBytes(16);
  if (psk && v.cert) throw new UsageError('a device has a pre-shared key or a certificate, not both');
  return withStore(v, async (store) => {
    const now = Date.now();
    switch (sub) {
      case 'add': {
        if (!name) throw new UsageError('user add needs a NAME');
        const box = await boxFor(store, v);
        const created = await store.addUser({ name, idType: identity(name).idType, createdAt: now });
        const device = v.device ?? (v.cert ? `${name}#cert` : name);
        if (psk) {
          const pskId = Buffer.from(v['psk-id'] ?? device, 'utf8');
          await store.addCredential({ name: device, user: name, kind: 'psk', pskId, secret: box.seal(psk, `credential:${device}`), createdAt: now });
          out(`added ${name} (device ${device}, pre-shared key, IDRpsk ${pskId.toString()})`);
          if (v['generate-psk']) out(`pre-shared key: ${Buffer.from(psk).toString('hex')}`);
        } else if (v.cert) {
          const pem = readFileSync(v.cert, 'utf8');
          const { parseCertificate, identityOfCertificate } = await certificates();
          const cert = parseCertificate(pem);
          const id = identityOfCertificate(cert);
          await store.addCredential({ name: device, user: name, kind: 'cert', cert: pem, createdAt: now });
          out(`added ${name} (device ${device}, certificate ${cert.subject.replace(/\n/g, ', ')}${id ? `, names ${new TextDecoder().decode(id.data)}` : ''})`);
        } else out(created ? `added ${name} (no credentials yet)` : `${name} exists`);
        return 0;
      }
      case 'remove': {
        if (!name) throw new UsageError('user remove needs a NAME');
        if (v.device) {
          const ok = await store.removeCredential(v.device);
          out(ok ? `removed device ${v.device} of ${name}` : `no device ${v.device}`);
          return ok ? 0 : 1;
        }
        const ok = await store.removeUser(name);
        out(ok ? `removed ${name}` : `no user ${name}`);
        return ok ? 0 : 1;
      }
      case 'list': {
        const users = await store.users();
        if (v.json) {
          out(JSON.stringify(users.map((u) => ({ name: u.name, devices: u.creds.map((c) => ({ name: c.name, kind: c.kind, pskId: c.pskId?.toString() })) }))));
          return 0;
        }
        if (!users.length) out('no users');
        const { parseCertificate } = users.some((u) => u.creds.some((c) => c.kind !== 'psk')) ? await certificates() : { parseCertificate: undefined };
        for (const u of users) {
          out(u.name);
          for (const c of u.creds) out(`  ${c.name}  ${c.kind === 'psk' ? `pre-shared key, IDRpsk ${c.pskId?.toString()}` : `certificate ${parseCertificate!(c.cert!).subject.replace(/\n/g, ', ')}`}`);
        }
        return 0;
      }
      default:
        throw new UsageError('user add|remove|list');
    }
  });
}

async function groupCommand(argv: string[]): Promise<number> {
  const { values: v, positionals: [sub, group, ...members] } = parse(argv, {});
  if (v.help) { out(HELP['group']!); return 0; }
  if (!['add', 'remove', 'list'].includes(sub ?? '')) throw new UsageError('group add|remove|list');
  if (sub === 'add' && (!group || !members.length)) throw new UsageError('group add GROUP MEMBER...');
  if (sub === 'remove' && !group) throw new UsageError('group remove GROUP [MEMBER...]');
  return withStore(v, async (store) => {
    switch (sub) {
      case 'add':
        if (!group || !members.length) throw new UsageError('group add GROUP MEMBER...');
        for (const m of members) await store.addGroupMember(group, m);
        out(`${group}: added ${members.join(', ')}`);
        return 0;
      case 'remove': {
        if (!group) throw new UsageError('group remove GROUP [MEMBER...]');
        let n = 0;
        if (members.length) for (const m of members) n += await store.removeGroupMember(group, m);
        else n = await store.removeGroupMember(group);
        out(`${group}: removed ${n} member(s)`);
        return n ? 0 : 1;
      }
      case 'list': {
        const gs = await store.groups();
        const by = new Map<string, string[]>();
        for (const g of gs) by.set(g.group, [...(by.get(g.group) ?? []), g.member]);
        if (!by.size) out('no groups');
        for (const [g, ms] of by) out(`${g}: ${ms.join(', ')}`);
        return 0;
      }
      default:
        throw new UsageError('group add|remove|list');
    }
  });
}

async function policyCommand(argv: string[]): Promise<number> {
  const { values: v, positionals: [sub, id, ...rest] } = parse(argv, {
    initiator: { type: 'string' }, responder: { type: 'string' }, 'max-validity': { type: 'string' }, forking: { type: 'string' },
    'no-reuse': { type: 'boolean' }, 'initiator-keys': { type: 'boolean' }, 'responder-keys': { type: 'boolean' }, 'max-keys': { type: 'string' },
    rekey: { type: 'string' }, json: { type: 'boolean' },
  });
  if (v.help) { out(HELP['policy']!); return 0; }
  if (rest.length) throw new UsageError(`unexpected ${rest.join(' ')}`);
  if (!['add', 'remove', 'list'].includes(sub ?? '')) throw new UsageError('policy add|remove|list');
  // the command line is checked before the store is opened
  let rule: PolicyRule | undefined;
  if (sub === 'add') {
    if (!v.initiator || !v.responder) throw new UsageError('policy add needs --initiator and --responder');
    const forking = v.forking ?? 'allow';
    if (forking !== 'allow' && forking !== 'require' && forking !== 'forbid') throw new UsageError('--forking is allow, require or forbid');
    rule = {
      initiator: v.initiator, responder: v.responder, maxValiditySec: positiveInt(v['max-validity'], '--max-validity', DEFAULT_RULE.maxValiditySec),
      forking, reuse: !v['no-reuse'], initiatorKeys: !!v['initiator-keys'], responderKeys: !!v['responder-keys'],
      maxKeys: positiveInt(v['max-keys'], '--max-keys', DEFAULT_RULE.maxKeys),
    };
    if (v.rekey !== undefined) rule.rekeySec = positiveInt(v.rekey, '--rekey', 0);
  }
  if (sub === 'remove' && !Number.isInteger(Number(id))) throw new UsageError('policy remove ID');
  return withStore(v, async (store) => {
    switch (sub) {
      case 'add': {
        const n = await store.addRule(rule!);
        out(`added policy rule ${n}: ${ruleText(rule!)}`);
        return 0;
      }
      case 'remove': {
        const n = Number(id);
        if (!Number.isInteger(n)) throw new UsageError('policy remove ID');
        const ok = await store.removeRule(n);
        out(ok ? `removed policy rule ${n}` : `no policy rule ${n}`);
        return ok ? 0 : 1;
      }
      case 'list': {
        const rules = await store.rules();
        if (v.json) { out(JSON.stringify(rules)); return 0; }
        if (!rules.length) out('no policy rules: no ticket is issued');
        for (const r of rules) out(`${r.id}: ${ruleText(r)}`);
        return 0;
      }
      default:
        throw new UsageError('policy add|remove|list');
    }
  });
}

async function serveCommand(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, {
    identity: { type: 'string' }, 'http-port': { type: 'string' }, 'http-host': { type: 'string' }, 'no-http': { type: 'boolean' },
    'udp-port': { type: 'string' }, 'udp-host': { type: 'string' }, 'no-udp': { type: 'boolean' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' },
    key: { type: 'string' }, cert: { type: 'string' }, 'trust-anchor': { type: 'string', multiple: true }, node: { type: 'string' },
    rate: { type: 'string' }, burst: { type: 'string' }, 'max-request': { type: 'string' }, 'tpk-rotate': { type: 'string' }, 'cache-ttl': { type: 'string' },
    'cache-entries': { type: 'string' }, 'max-connections': { type: 'string' }, 'max-connections-per-address': { type: 'string' }, 'headers-timeout': { type: 'string' },
    'status-token-file': { type: 'string' },
    'max-skew': { type: 'string' }, ibake: { type: 'boolean' }, 'ibake-bits': { type: 'string' }, 'ibake-period': { type: 'string' },
    'ibake-period-offset': { type: 'string' }, 'ibake-periods': { type: 'string' }, 'mcx-kms-uri': { type: 'string' }, 'mcx-key-period': { type: 'string' },
    'mcx-key-offset': { type: 'string' }, workers: { type: 'string' },
  });
  if (v.help) { out(HELP['serve']!); return 0; }
  if (v['mcx-kms-uri'] && !v['tls-cert']) throw new UsageError('--mcx-kms-uri needs HTTPS (--tls-cert, --tls-key): TS 33.180 D.1');
  if (positionals.length) throw new UsageError(`unexpected ${positionals.join(' ')}`);
  if (!!v['tls-cert'] !== !!v['tls-key']) throw new UsageError('--tls-cert and --tls-key go together');
  const store = await openExisting(dbOf(v), { emptyDatabase: true, ...storeAuth(v) });
  const node = v.node ?? `${process.pid}`;
  const { runKeyService, workersRefused } = await keyService();
  let config: KeyServiceConfig;
  let workers: number;
  try {
    workers = positiveInt(v.workers, '--workers', 1);
    if (workers < 1 || workers > 64) throw new UsageError('--workers is 1 to 64');
    const masterKey = loadMasterKey(typeof v['master-key-file'] === 'string' ? v['master-key-file'] : undefined);
    const maxRequest = positiveInt(v['max-request'], '--max-request', 8192);
    const ibakePeriod = positiveInt(v['ibake-period'], '--ibake-period', 86_400);
    if (v.ibake && ibakePeriod === 0) throw new UsageError('--ibake-period must be positive');
    // the composition (migration, master key check, identity-key issuers, listeners) is kms/open.ts,
    // run in one process or in `workers` (kms/cluster.ts)
    config = {
      store, masterKey, identity: v.identity ?? 'sip:kms@localhost', node,
      privateKey: v.key ? readFileSync(v.key, 'utf8') : undefined, certificate: v.cert ? readFileSync(v.cert, 'utf8') : undefined,
      trustAnchors: (v['trust-anchor'] ?? []).map((f) => readFileSync(f, 'utf8')),
      rate: { perSec: positiveInt(v.rate, '--rate', 200), burst: positiveInt(v.burst, '--burst', 400) }, maxRequestBytes: maxRequest,
      tpkRotateMs: positiveInt(v['tpk-rotate'], '--tpk-rotate', 86_400) * 1000, cacheTtlMs: positiveInt(v['cache-ttl'], '--cache-ttl', 1000),
      maxSkewMs: positiveInt(v['max-skew'], '--max-skew', 300) * 1000,
      cacheEntries: positiveInt(v['cache-entries'], '--cache-entries', 10_000) || 1,
      ibake: v.ibake ? {
        bits: positiveInt(v['ibake-bits'], '--ibake-bits', 1024), periodSeconds: ibakePeriod,
        offsetSeconds: positiveInt(v['ibake-period-offset'], '--ibake-period-offset', 0), periods: positiveInt(v['ibake-periods'], '--ibake-periods', 2) || 1,
      } : undefined,
      mcx: typeof v['mcx-kms-uri'] === 'string' ? {
        kmsUri: v['mcx-kms-uri'], keyPeriod: positiveInt(v['mcx-key-period'], '--mcx-key-period', 2_592_000) || 2_592_000,
        keyPeriodOffset: positiveInt(v['mcx-key-offset'], '--mcx-key-offset', 0),
      } : undefined,
      listen: {
        http: v['no-http'] ? undefined : {
          port: positiveInt(v['http-port'], '--http-port', 8269), host: v['http-host'],
          maxConnections: positiveInt(v['max-connections'], '--max-connections', 512) || 1,
          maxConnectionsPerAddress: positiveInt(v['max-connections-per-address'], '--max-connections-per-address', 64) || 1,
          headersTimeoutMs: positiveInt(v['headers-timeout'], '--headers-timeout', 5000) || 1,
          statusToken: (v['status-token-file'] ? readFileSync(v['status-token-file'], 'utf8').split(/\r?\n/)[0] : process.env['MIKEY_KMS_STATUS_TOKEN']) || undefined,
          tls: v['tls-cert'] ? { cert: readFileSync(v['tls-cert'], 'utf8'), key: readFileSync(v['tls-key']!, 'utf8') } : undefined,
        },
        udp: v['no-udp'] ? undefined : { port: positiveInt(v['udp-port'], '--udp-port', MIKEY_PORT), host: v['udp-host'] },
      },
    };
    const refused = workersRefused(config, workers);
    if (refused) throw new UsageError(refused);
  } catch (e) {
    // a refused option: nothing left open
    await store.close().catch(() => undefined);
    throw e;
  }
  return runKeyService(config, { workers });
}

async function initCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, { force: { type: 'boolean' } }, 0);
  if (v.help) { out(HELP['init']!); return 0; }
  const db = dbOf(v);
  const isFile = !isPg(db) && db !== ':memory:';
  if (v.force && isPg(db)) throw new UsageError('--force deletes a SQLite file; on PostgreSQL drop and create the database instead (docs/kms.md)');
  if (v.force && isFile) for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  const keyFile = v['master-key-file'];
  // a fresh SQLite file gets a fresh master key too; the key file appears only once the store
  // has it (its check value), so a failing init (no such database, ...) leaves nothing behind
  const newKey = keyFile && (!existsSync(keyFile) || (v.force && isFile)) ? randomBytes(32) : undefined;
  const store = await openStore(db, storeAuth(v));
  try {
    await store.migrate();
    if (newKey) {
      new SecretBox(newKey).verifyCheckValue(await store.metaOnce('master-key-check', new SecretBox(newKey).checkValue()));
      const tmp = `${keyFile}.${process.pid}.tmp`;
      writeFileSync(tmp, `${newKey.toString('hex')}\n`, { mode: 0o600 });
      renameSync(tmp, keyFile!);
      out(`new master key written to ${keyFile}`);
    } else if (keyFile || process.env['MIKEY_KMS_MASTER_KEY']) await boxFor(store, v);
    out(`store ${store.location} ready (schema version ${await store.schemaVersion()})`);
    return 0;
  } finally {
    await store.close();
  }
}

async function ticketsCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, { json: { type: 'boolean' } }, 0);
  if (v.help) { out(HELP['tickets']!); return 0; }
  return withStore(v, async (store) => {
    const ts = await store.tickets();
    if (v.json) { out(JSON.stringify(ts)); return 0; }
    if (!ts.length) out('no tickets');
    for (const t of ts) out(`${t.id}  ${t.initiator} -> ${t.responders.join(', ')}  flags ${t.flags}  until ${t.validTo ? new Date(t.validTo).toISOString() : '-'}  node ${t.node}`);
    return 0;
  });
}

async function auditCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, { tail: { type: 'string' } }, 0);
  if (v.help) { out(HELP['audit']!); return 0; }
  return withStore(v, async (store) => {
    for (const a of await store.auditTail(positiveInt(v.tail, '--tail', 20))) out(JSON.stringify({ ...a, at: new Date(a.at).toISOString() }));
    return 0;
  });
}

async function exportCommand(argv: string[]): Promise<number> {
  const { values: v } = parse(argv, { out: { type: 'string' } }, 0);
  if (v.help) { out(HELP['export']!); return 0; }
  return withStore(v, async (store) => {
    const box = await boxFor(store, v);
    const b = await store.dump(box.fingerprint());
    const text = `${JSON.stringify(b, null, 1)}\n`;
    if (v.out) {
      writeFileSync(v.out, text, { mode: 0o600 });
      const n = Object.values(b.tables).reduce((a, t) => a + t.length, 0);
      out(`exported ${n} rows to ${v.out}`);
    } else process.stdout.write(text);
    return 0;
  });
}

async function importCommand(argv: string[]): Promise<number> {
  const { values: v, positionals: [file] } = parse(argv, {}, 1);
  if (v.help) { out(HELP['import']!); return 0; }
  if (!file) throw new UsageError('import FILE');
  const b = JSON.parse(readFileSync(file, 'utf8')) as Backup;
  if (b.format !== 'mikey-kms-backup' || b.version !== 1) throw new UsageError(`${file} is not a mikey kms backup`);
  return withStore(v, async (store) => {
    const box = new SecretBox(loadMasterKey(typeof v['master-key-file'] === 'string' ? v['master-key-file'] : undefined));
    if (b.masterKeyFingerprint !== box.fingerprint()) throw new MasterKeyError('the backup was made under another master key');
    const check = b.tables['meta']?.find((r) => r['key'] === 'master-key-check');
    if (check) box.verifyCheckValue(String(check['value']));
    const mine = await store.meta('master-key-check');
    if (mine) box.verifyCheckValue(mine);
    await store.restore(b);
    const n = Object.values(b.tables).reduce((a, t) => a + t.length, 0);
    out(`imported ${n} rows from ${file}`);
    return 0;
  });
}

export const help = HELP['kms']!;

/** `mikey kms ...`: the exit status. */
export async function kmsCommand(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'serve': return await serveCommand(rest);
      case 'init': return await initCommand(rest);
      case 'keygen': {
        const { values } = parseCommand(rest, {}, { maxPositionals: 0 });
        if (values.help) { out(HELP['keygen']!); return EXIT.ok; }
        out(randomBytes(32).toString('hex'));
        return EXIT.ok;
      }
      case 'user': return await userCommand(rest);
      case 'group': return await groupCommand(rest);
      case 'policy': return await policyCommand(rest);
      case 'tickets': return await ticketsCommand(rest);
      case 'audit': return await auditCommand(rest);
      case 'export': return await exportCommand(rest);
      case 'import': return await importCommand(rest);
      case 'help': case '--help': case '-h':
        if (rest[0] && HELP[rest[0]] && rest[0] !== 'kms') { out(HELP[rest[0]]!); return EXIT.ok; }
        out(HELP['kms']!);
        return EXIT.ok;
      case undefined:
        process.stderr.write(`${HELP['kms']}\n`);
        return EXIT.usage;
      default:
        process.stderr.write(`mikey kms: unknown command '${cmd}' (see 'mikey kms --help')\n`);
        return EXIT.usage;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`mikey kms ${cmd}: ${e.message} (see 'mikey kms ${cmd} --help')\n`);
      return EXIT.usage;
    }
    process.stderr.write(`mikey kms ${cmd}: ${isSystemError(e) ? systemErrorText(e) : (e as Error).message}\n`);
    return EXIT.data;
  }
}

export const run = kmsCommand;
