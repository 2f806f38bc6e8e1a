// A KMS directory held in memory: users with their device credentials (pre-shared keys or
// certificates), groups, policy rules and ticket protection keys with rotation. Used by tests,
// the demo and the embedded library use; the service keeps the same things in its store.
import { randomBytes, X509Certificate } from 'node:crypto';
import { parseCertificate, validateChain } from '../session/certs.js';
import { type Identity, identityText as text } from '../session/identity.js';
import { identityOfCertificate } from '../modes/kit/signature.js';
import type { KmsDirectory, PskCandidate, SignerCandidate, Tpk } from '../modes/ticket/kms.js';
import type { ReadPolicy, TicketPolicy } from '../modes/ticket/policy.js';
import { DEFAULT_RULE, grantPolicy, mayResolve, type PolicyRule } from './grant.js';

const enc = new TextEncoder();

/** An identity from its text: URIs (with a scheme) as URI (1), others as NAI (0). */
export function identity(name: string): Identity {
  return { idType: /^[a-z][a-z0-9+.-]*:/i.test(name) ? 1 : 0, data: enc.encode(name) };
}

export interface Credential {
  /** A name for the credential (a device); unique. */
  name: string;
  psk?: Uint8Array;
  /** IDRpsk that names this key (byte string); default: the credential name. */
  pskId?: Uint8Array;
  certificate?: X509Certificate;
}

export interface MemoryDirectoryOptions {
  rules?: PolicyRule[];
  /** Trust anchors for users who send a CERT chain instead of a registered certificate. */
  trustAnchors?: readonly (X509Certificate | string)[];
  /** A new TPK after this long (default 1 day); old ones are kept `tpkKeepMs` longer (default 2 days). */
  tpkRotateMs?: number;
  tpkKeepMs?: number;
}

export class MemoryDirectory implements KmsDirectory {
  readonly users = new Map<string, { id: Identity; creds: Credential[] }>();
  readonly groups = new Map<string, Set<string>>();
  rules: PolicyRule[];
  private readonly tpks: Array<Tpk & { createdAt: number }> = [];
  private readonly anchors: X509Certificate[];

  constructor(private readonly opts: MemoryDirectoryOptions = {}) {
    this.rules = opts.rules ?? [{ initiator: '*', responder: '*', ...DEFAULT_RULE }];
    this.anchors = (opts.trustAnchors ?? []).map((c) => (c instanceof X509Certificate ? c : parseCertificate(c)));
  }

  addUser(name: string, ...creds: Array<Omit<Credential, 'certificate'> & { certificate?: X509Certificate | string }>): this {
    const u = this.users.get(name) ?? { id: identity(name), creds: [] };
    for (const c of creds) {
      u.creds.push({ ...c, certificate: c.certificate === undefined ? undefined : c.certificate instanceof X509Certificate ? c.certificate : parseCertificate(c.certificate) });
    }
    this.users.set(name, u);
    return this;
  }

  addGroup(group: string, ...members: string[]): this {
    const g = this.groups.get(group) ?? new Set<string>();
    for (const m of members) g.add(m);
    this.groups.set(group, g);
    return this;
  }

  groupsOf = (name: string): string[] => [...this.groups].filter(([, m]) => m.has(name)).map(([g]) => g);

  pskCandidates(claimed: Identity | undefined, pskId: Uint8Array | undefined): PskCandidate[] {
    const out: PskCandidate[] = [];
    const users = claimed ? [this.users.get(text(claimed))].filter((u) => u !== undefined) : pskId ? [...this.users.values()] : [];
    for (const u of users) {
      for (const c of u!.creds) {
        if (!c.psk) continue;
        const cid = c.pskId ?? enc.encode(c.name);
        if (pskId && Buffer.compare(Buffer.from(cid), Buffer.from(pskId)) !== 0) continue;
        out.push({ user: u!.id, key: c.psk, credential: c.name });
      }
    }
    return out;
  }

  signer(claimed: Identity | undefined, certs: readonly Uint8Array[], now: number): SignerCandidate | undefined {
    const u = claimed ? this.users.get(text(claimed)) : undefined;
    const reg = u?.creds.find((c) => c.certificate);
    if (u && reg) return { user: u.id, key: reg.certificate!.publicKey, credential: reg.name };
    if (!certs.length || !this.anchors.length) return undefined;
    const [leaf, ...chain] = certs.map((c) => parseCertificate(c));
    const key = validateChain(leaf!, chain, { trustAnchors: this.anchors, at: now, usage: 'digitalSignature' });
    const id = identityOfCertificate(leaf!);
    const user = id && this.users.get(text(id));
    if (!user || (claimed && text(claimed) !== text(id!))) return undefined;
    return { user: user.id, key, credential: `certificate ${leaf!.serialNumber}` };
  }

  grant(requester: Identity, requested: ReadPolicy, now: number): TicketPolicy {
    return grantPolicy(this.rules, requester, requested, now, this.groupsOf);
  }

  authorizeResolve(resolver: Identity, policy: ReadPolicy): Identity | undefined {
    return mayResolve(text(resolver), policy.responders, this.groupsOf) ? resolver : undefined;
  }

  currentTpk(now: number): Tpk {
    const rotate = this.opts.tpkRotateMs ?? 86_400_000;
    const keep = this.opts.tpkKeepMs ?? 2 * 86_400_000;
    const cur = this.tpks.at(-1);
    if (cur && now - cur.createdAt < rotate) return cur;
    const t = { id: new Uint8Array(randomBytes(8)), key: new Uint8Array(randomBytes(32)), createdAt: now };
    this.tpks.push(t);
    while (this.tpks.length > 1 && now - this.tpks[0]!.createdAt > rotate + keep) this.tpks.shift();
    return t;
  }

  tpk(id: Uint8Array): Uint8Array | undefined {
    return this.tpks.find((t) => Buffer.compare(Buffer.from(t.id), Buffer.from(id)) === 0)?.key;
  }
}
