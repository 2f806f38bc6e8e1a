// Identity-key provisioning in the KMS service (RFC 6267 §4.2.1 for IBAKE; TS 33.180 Annex D for
// MIKEY-SAKKE): REQUEST_KEY_PSK/PKE answered from the service's users and credentials, the keys
// from master secrets sealed in the service's store; the 3GPP XML interface authenticated by
// HTTP Basic over TLS with a password derived from a device's pre-shared key.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { IbeKeyIssuer } from '../idkms/ibe-issuer.js';
import type { McxKeyIssuer } from '../idkms/mcx-issuer.js';
import { mcxKmsHandler, type RequestHandler } from '../idkms/mcx-server.js';
import { IbakeKeyResponder, type RequestCredential } from '../modes/ibake/keyrequest.js';
import { identityOf, ROLE_I, ROLE_PSK, ROLE_R } from '../modes/ibake/profile.js';
import { sameIdentity, type Identity, identityText as text } from '../session/identity.js';
import { identityOfCertificate } from '../modes/kit/signature.js';
import { parseCertificate } from '../session/certs.js';
import { MikeyProtocolError } from '../session/errors.js';
import { replayKey } from '../session/replay.js';
import { systemClock, type Clock } from '../session/time.js';
import { tryDecodeMessage } from '../wire/decode.js';
import { MikeyDecodeError } from '../wire/errors.js';
import { DataType, ErrorNo, PayloadType } from '../wire/registry.js';
import type { Logger } from './log.js';
import type { StoreDirectory } from './service.js';
import type { Store } from './store.js';

export interface IdentityKeyOptions {
  /** IBAKE: Boneh-Franklin keys (REQUEST_KEY_PSK / REQUEST_KEY_PKE). */
  ibe?: IbeKeyIssuer;
  /** Key periods issued per request, from the request's (default 2). */
  ibePeriods?: number;
  /** MIKEY-SAKKE: the 3GPP KMS interface (served over HTTPS only). */
  mcx?: McxKeyIssuer;
}

/** The HTTP Basic password of a device for the XML interface: hex of HMAC-SHA-256(PSK, label). */
export function mcxPassword(psk: Uint8Array): string {
  return createHmac('sha256', psk).update('mikey-kms mcx-kms password').digest('hex');
}


export interface IdentityAnswer {
  response: Uint8Array;
  errorNo?: number;
  retransmission?: boolean;
}

export class IdentityKeys {
  readonly mcxHandler?: RequestHandler;

  constructor(private readonly o: IdentityKeyOptions & {
    kms: Identity; store: Store; directory: StoreDirectory; node: string; log: Logger; clock?: Clock; maxSkewMs?: number;
    privateKey?: string; certificate?: string; trustAnchors?: string[];
  }) {
    if (o.mcx) {
      this.mcxHandler = mcxKmsHandler({
        issuer: o.mcx, clock: o.clock, authenticate: (req) => this.authenticate(req),
        onRefused: (status, reason) => o.log.info('mcx-refused', { status, reason }),
      });
    }
  }

  static isKeyRequest(bytes: Uint8Array): boolean {
    return bytes.length > 1 && (bytes[1] === DataType.RequestKeyPsk || bytes[1] === DataType.RequestKeyPke);
  }

  get servesIbake(): boolean {
    return this.o.ibe !== undefined;
  }

  /**
   * HTTP Basic (RFC 7617) over TLS: user-id = the device's IDRpsk, password = mcxPassword(PSK).
   * The authenticated user is the credential's owner (the request's UserUri must be that user).
   */
  async authenticate(req: IncomingMessage): Promise<string | undefined> {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) return undefined;
    const [cand] = await this.o.directory.pskCandidates(undefined, Buffer.from(decoded.slice(0, colon), 'utf8'));
    if (!cand) return undefined;
    const want = Buffer.from(mcxPassword(cand.key));
    const got = Buffer.from(decoded.slice(colon + 1));
    return got.length === want.length && timingSafeEqual(got, want) ? text(cand.user) : undefined;
  }

  /** REQUEST_KEY_PSK / REQUEST_KEY_PKE: the answer (REQUEST_KEY_RESP or an Error message). */
  async handleKeyRequest(bytes: Uint8Array, peer: string): Promise<IdentityAnswer> {
    const ibe = this.o.ibe!;
    const users: Identity[] = [];
    let pskId: Identity | undefined;
    // an undecodable request: no users, and the responder answers the decoding error
    const m = tryDecodeMessage(bytes);
    if (!(m instanceof MikeyDecodeError)) {
      for (const p of m.payloads) {
        if (p.type !== PayloadType.Idr) continue;
        if (p.role === ROLE_I || p.role === ROLE_R) users.push(identityOf(p));
        else if (p.role === ROLE_PSK) pskId = identityOf(p);
      }
    }
    // the service's credentials, read before the (synchronous) callbacks of the responder
    const psks = bytes[1] === DataType.RequestKeyPsk && users.length === 1 ? await this.o.directory.pskCandidates(users[0], pskId?.data) : [];
    const known = new Map<string, string | undefined>();
    for (const u of users) {
      const row = await this.o.directory.userEntry(text(u));
      if (row) known.set(row.name, row.creds.find((c) => c.kind === 'cert' && c.cert)?.cert);
    }
    const authorize = (us: readonly Identity[], c: RequestCredential) => {
      if (!us.every((u) => known.has(text(u)))) return false;
      if (c.method === 'psk') return us.length === 1;
      const id = c.certificate ? identityOfCertificate(c.certificate) : c.signer;
      return !!id && us.every((u) => sameIdentity(u, id));
    };
    const pke = this.o.privateKey ? {
      privateKey: this.o.privateKey, certificate: this.o.certificate, trustAnchors: this.o.trustAnchors,
      peerKey: (id: Identity | undefined) => { const pem = id && known.get(text(id)); return pem ? parseCertificate(pem) : undefined; },
    } : undefined;
    let last: MikeyProtocolError | undefined;
    // a user with several devices: the PSK whose MAC verifies (only then is anything recorded)
    for (let i = 0; i < Math.max(1, psks.length); i++) {
      const responder = new IbakeKeyResponder({
        kms: this.o.kms, domain: ibe.domain(), issue: ibe.issuer(), psk: () => psks[i]?.key, pke, authorize,
        periods: this.o.ibePeriods, clock: this.o.clock ?? systemClock, maxSkewMs: this.o.maxSkewMs,
        // replay: the store's replay cache below (a retransmission gets the stored answer, at any node)
        replayCache: { checkAndRecord: () => 'recorded' },
      });
      try {
        const served = await responder.receive(bytes);
        return await this.commit(bytes, served.response, text(served.users[0]!), {
          periods: [...new Set(served.issued.map((x) => x.periodNo))], users: served.users.map(text), credential: psks[i]?.credential ?? 'signature', peer,
        });
      } catch (e) {
        if (!(e instanceof MikeyProtocolError) || !e.response) throw e;
        last = e;
        if (e.errorNo !== ErrorNo.AuthFailure) break;
      }
    }
    this.o.log.info('rejected', { peer, code: last!.errorNo, reason: last!.reason, request: 'REQUEST_KEY' });
    return { response: last!.response!, errorNo: last!.errorNo };
  }

  private async commit(bytes: Uint8Array, response: Uint8Array, actor: string, detail: Record<string, unknown>): Promise<IdentityAnswer> {
    const now = (this.o.clock ?? systemClock).now();
    const r = await this.o.store.commit({
      replay: { key: `ibake:${replayKey(bytes)}`, expiresAt: now + 2 * (this.o.maxSkewMs ?? 300_000) }, response: Buffer.from(response),
      audit: { at: now, node: this.o.node, event: 'identity-keys-issued', actor, detail },
    });
    if (r.status === 'replayed' && r.response) return { response: new Uint8Array(r.response), retransmission: true };
    if (r.status !== 'stored') throw new Error(`unexpected commit result ${r.status}`);
    this.o.log.info('identity-keys-issued', { ...detail, user: actor });
    return { response };
  }
}
