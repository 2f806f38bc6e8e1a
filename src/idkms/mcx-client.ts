// A MIKEY-SAKKE user fetching its KMS certificate and key sets over HTTPS (TS 33.180 Annex D:
// POST <base>/init and <base>/keyprov with a KmsRequest), from our KMS or another vendor's. Every
// key set is checked before use: the UID (F.2.1), the RSK (RFC 6508 §6.1.2) and the SSK/PVT
// (RFC 6507 §5.1.2).
import { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { eccsiValidateSsk } from '../crypto/eccsi.js';
import { sakkeParamSet1, sakkeValidateRsk, SakkeKmsPublicKey } from '../crypto/sakke.js';
import { mikeySakkeUid, type McxKms } from '../profiles/mcx/uid.js';
import { systemClock, type Clock } from '../session/time.js';
import { buildKmsRequest, parseKmsResponse, type KmsCertificateDoc, type KmsKeySetDoc, type KmsResponseDoc, type KmsSharedKey } from './mcx-xml.js';
import { KrrError, krrChain, verifyKrr, type KrrDoc } from './mcx-krr.js';

export interface HttpReply {
  status: number;
  body: string;
}
/** POST an XML body; the default uses node:https with certificate verification. */
export type KmsFetch = (url: string, init: { method: 'POST'; headers: Record<string, string>; body: string }) => Promise<HttpReply>;

export class McxKmsError extends Error {
  override readonly name = 'McxKmsError';
  constructor(message: string, readonly status?: number, readonly kmsErrorCode?: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** node:https POST; TLS verification is always on (`ca` adds trust anchors, e.g. a private CA). */
export function httpsFetch(opts: { ca?: string | Buffer | Array<string | Buffer>; timeoutMs?: number; maxBytes?: number } = {}): KmsFetch {
  const once = (url: string, init: Parameters<KmsFetch>[1], retry: boolean): Promise<HttpReply> => new Promise((resolve, reject) => {
    const u = new URL(url);
    if (u.protocol !== 'https:') {
      reject(new McxKmsError(`the KMS interface runs over HTTPS (TS 33.180 D.1), not ${u.protocol}`));
      return;
    }
    const req = httpsRequest(u, { method: init.method, headers: { ...init.headers, 'content-length': Buffer.byteLength(init.body) }, ca: opts.ca, rejectUnauthorized: true, timeout: opts.timeoutMs ?? 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > (opts.maxBytes ?? 1 << 20)) req.destroy(new McxKmsError('KMS response too large'));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new McxKmsError('KMS request timed out')));
    // a kept-alive connection the server closed while idle: once more on a new one (the KMS
    // requests are safe to repeat)
    req.on('error', (e: NodeJS.ErrnoException) => (retry && req.reusedSocket && e.code === 'ECONNRESET' ? once(url, init, false).then(resolve, reject) : reject(e)));
    req.end(init.body);
  });
  return (url, init) => once(url, init, true);
}

export interface McxKmsClientOptions {
  /** e.g. https://kms.example.org/keymanagement/identity/v1 */
  baseUrl: string;
  userUri: string;
  kmsUri: string;
  /** Extra headers, e.g. Authorization: Bearer <access token> (TS 33.180 D.1). */
  headers?: Record<string, string>;
  clientId?: string;
  deviceId?: string;
  fetch?: KmsFetch;
  /** Trust anchors for the default fetch. */
  ca?: string | Buffer | Array<string | Buffer>;
  clock?: Clock;
  /** Follow KMS Redirect Responses (D.4) to another KMS; without this option they are refused. */
  redirects?: McxKmsRedirectOptions;
  /** The security extension (D.1): requests signed, responses verified, key material unwrapped. */
  security?: McxKmsSecurity;
}

export interface McxKmsSecurity {
  /** The integrity key InK: signs requests (HMAC-SHA256) when given. */
  ink?: KmsSharedKey;
  /** The transport key TrK: unwraps key material; signs requests when there is no InK. */
  trk?: KmsSharedKey;
  /** Refuse unsigned responses and key material in the clear (default true). */
  required?: boolean;
}

export interface McxKmsRedirectOptions {
  /**
   * The certificates (PEM) trusted to sign KRRs, by the URI of the KMS that signs them
   * (D.4.2 leaves certificate verification to the deployment: here they are pinned).
   */
  signers: Record<string, string | string[]>;
  /** Redirects followed for one request at most (default 2). */
  maxHops?: number;
  /** The KMS URIs a redirect may send us to (default: any, over HTTPS). */
  allowedKmsUris?: string[];
  /** The interface's base URL of a KMS (default https://<KMS URI>/keymanagement/identity/v1); only https URLs are followed. */
  baseUrlOf?: (kmsUri: string) => string;
  /** Allowed age of a KRR's Time (default 5 minutes). */
  maxSkewMs?: number;
}

/** A validated key set, ready for MIKEY-SAKKE. */
export interface McxUserKeys {
  userUri: string;
  kmsUri: string;
  keyPeriodNo: number;
  uid: Uint8Array;
  rsk: Uint8Array;
  ssk: Uint8Array;
  pvt: Uint8Array;
  /** HS of RFC 6507 §5.1.2, to store with the SSK. */
  hs: Uint8Array;
}

/** The KMS as the MIKEY-SAKKE profile takes it (src/profiles/mcx). */
export function kmsOfCertificate(c: KmsCertificateDoc): McxKms {
  return { uri: c.kmsUri, zS: c.pubEncKey, kpak: c.pubAuthKey, keyPeriod: c.userKeyPeriod, keyPeriodOffset: c.userKeyOffset };
}

/** Checks a KMS certificate we can use: hashed UIDs, Parameter Set 1, Z and KPAK points of their curves. */
export function checkCertificate(c: KmsCertificateDoc, kmsUri?: string): KmsCertificateDoc {
  if (kmsUri !== undefined && c.kmsUri !== kmsUri) throw new McxKmsError(`certificate of KMS ${c.kmsUri}, not ${kmsUri}`);
  if (c.userIdFormat !== '2') throw new McxKmsError(`UserIdFormat ${c.userIdFormat}: only 2 (hashed UID, TS 33.180 F.2.1) is supported`);
  if (c.parameterSet !== undefined && c.parameterSet !== 1) throw new McxKmsError(`SAKKE parameter set ${c.parameterSet} is not supported`);
  if (c.revoked) throw new McxKmsError('the KMS certificate is revoked');
  try {
    new SakkeKmsPublicKey(sakkeParamSet1, c.pubEncKey);
  } catch (e) {
    throw new McxKmsError('PubEncKey is not a SAKKE public key of Parameter Set 1', undefined, undefined, { cause: e });
  }
  if (c.pubAuthKey.length !== 65 || c.pubAuthKey[0] !== 4) throw new McxKmsError('PubAuthKey is not an uncompressed P-256 point');
  return c;
}

/** Validates a key set against the certificate: UID, RSK and SSK/PVT (TS 33.180 D.3.3 / §7 notes). */
export function validateKeySet(cert: KmsCertificateDoc, k: KmsKeySetDoc, userUri: string): McxUserKeys {
  if (k.certUri !== undefined && cert.certUri !== undefined && k.certUri !== cert.certUri) throw new McxKmsError(`key set under certificate ${k.certUri}, not ${cert.certUri}: fetch that certificate first`);
  if (k.userUri !== userUri) throw new McxKmsError(`key set for ${k.userUri}, not ${userUri}`);
  if (k.kmsUri !== cert.kmsUri) throw new McxKmsError(`key set of KMS ${k.kmsUri}, certificate of ${cert.kmsUri}`);
  if (k.revoked) throw new McxKmsError(`key set of period ${k.keyPeriodNo} is revoked`);
  const uid = mikeySakkeUid({ uri: userUri, kmsUri: cert.kmsUri, keyPeriod: cert.userKeyPeriod, keyPeriodOffset: cert.userKeyOffset, keyPeriodNo: k.keyPeriodNo });
  if (Buffer.compare(Buffer.from(uid), Buffer.from(k.userId)) !== 0) throw new McxKmsError('UserID is not the UID of this user, KMS and key period');
  let rskOk = false;
  try {
    rskOk = sakkeValidateRsk(sakkeParamSet1, cert.pubEncKey, uid, k.userDecryptKey);
  } catch (e) {
    throw new McxKmsError('UserDecryptKey (RSK) is not a valid point', undefined, undefined, { cause: e });
  }
  if (!rskOk) throw new McxKmsError('UserDecryptKey (RSK) does not validate (RFC 6508 §6.1.2)');
  let hs: Uint8Array;
  try {
    hs = eccsiValidateSsk(cert.pubAuthKey, uid, k.userSigningKeySsk, k.userPubTokenPvt);
  } catch (e) {
    throw new McxKmsError('UserSigningKeySSK/UserPubTokenPVT do not validate (RFC 6507 §5.1.2)', undefined, undefined, { cause: e });
  }
  return { userUri, kmsUri: cert.kmsUri, keyPeriodNo: k.keyPeriodNo, uid, rsk: k.userDecryptKey, ssk: k.userSigningKeySsk, pvt: k.userPubTokenPvt, hs };
}

export class McxKmsClient {
  private readonly fetch: KmsFetch;
  private readonly clock: Clock;
  private kms: { uri: string; baseUrl: string };
  private krr: KrrDoc | undefined;

  constructor(private readonly opts: McxKmsClientOptions) {
    this.fetch = opts.fetch ?? httpsFetch({ ca: opts.ca });
    this.clock = opts.clock ?? systemClock;
    this.kms = { uri: opts.kmsUri, baseUrl: opts.baseUrl };
  }

  /** The KMS this client talks to: the one configured, or where redirects sent it. */
  get kmsUri(): string {
    return this.kms.uri;
  }

  /** The last KMS Redirect Response followed (sent along as KrrList, D.2.2). */
  get redirect(): KrrDoc | undefined {
    return this.krr;
  }

  private async call(path: 'init' | 'keyprov' | 'certcache'): Promise<KmsResponseDoc> {
    const visited = new Set([this.kms.uri]);
    for (let hop = 0; ; hop++) {
      const doc = await this.callOnce(path);
      const krr = doc.error?.redirect;
      if (!krr) {
        if (doc.error) throw new McxKmsError(`KMS error ${doc.error.code}: ${doc.error.message}`, undefined, doc.error.code);
        return doc;
      }
      this.follow(krr, hop, visited);
    }
  }

  /** D.4: checks a KRR and moves to the first KMS it proposes that we have not asked yet. */
  private follow(krr: KrrDoc, hop: number, visited: Set<string>): void {
    const r = this.opts.redirects;
    const at = this.kms.uri;
    if (!r) throw new McxKmsError(`KMS ${at} redirects to ${krr.info.initiatorKmsUris.join(', ') || '(none)'}: redirects are not followed (no redirects option)`);
    const maxHops = r.maxHops ?? 2;
    if (hop >= maxHops) throw new McxKmsError(`KMS redirect depth exceeded: more than ${maxHops} redirects`);
    if (krrChain(krr).length > maxHops) throw new McxKmsError(`KMS redirect depth exceeded: ${krrChain(krr).length} nested KRRs`);
    if (krr.info.processorUri !== at) throw new McxKmsError(`KRR from processor ${krr.info.processorUri}, not from KMS ${at} that answered`);
    if (krr.info.initiatorUri !== this.opts.userUri) throw new McxKmsError(`KRR for ${krr.info.initiatorUri}, not ${this.opts.userUri}`);
    if (Math.abs(krr.info.time.getTime() - this.clock.now()) > (r.maxSkewMs ?? 300_000)) throw new McxKmsError('KRR Time is outside the allowed skew');
    try {
      verifyKrr(krr, (processor, cert) => {
        const pins = r.signers[processor];
        return (Array.isArray(pins) ? pins : pins === undefined ? [] : [pins]).some((p) => new X509Certificate(p).raw.equals(cert.raw));
      });
    } catch (e) {
      if (e instanceof KrrError) throw new McxKmsError(`KMS redirect refused: ${e.message}`, undefined, undefined, { cause: e });
      throw e;
    }
    const next = krr.info.initiatorKmsUris.find((u) => !visited.has(u));
    if (next === undefined) throw new McxKmsError(`KMS redirect loop: ${krr.info.initiatorKmsUris.join(', ') || 'no KMS'} already asked`);
    if (r.allowedKmsUris && !r.allowedKmsUris.includes(next)) throw new McxKmsError(`KMS redirect to ${next}, which is not allowed`);
    const baseUrl = r.baseUrlOf ? r.baseUrlOf(next) : `https://${next}/keymanagement/identity/v1`;
    let proto: string;
    try {
      proto = new URL(baseUrl).protocol;
    } catch {
      throw new McxKmsError(`KMS redirect to ${next}: ${baseUrl} is not a URL`);
    }
    if (proto !== 'https:') throw new McxKmsError(`KMS redirect to ${baseUrl}: only https is followed`);
    visited.add(next);
    this.kms = { uri: next, baseUrl };
    this.krr = krr;
  }

  private async callOnce(path: 'init' | 'keyprov' | 'certcache'): Promise<KmsResponseDoc> {
    const url = `${this.kms.baseUrl.replace(/\/+$/, '')}/${path}`;
    const sec = this.opts.security;
    const body = buildKmsRequest({ userUri: this.opts.userUri, kmsUri: this.kms.uri, time: new Date(this.clock.now()), clientId: this.opts.clientId, deviceId: this.opts.deviceId, clientReqUrl: url, krrList: this.krr }, sec?.ink ?? sec?.trk);
    const reply = await this.fetch(url, { method: 'POST', headers: { 'content-type': 'application/xml; charset=utf-8', accept: 'application/xml', ...this.opts.headers }, body });
    let doc: KmsResponseDoc | undefined;
    try {
      doc = parseKmsResponse(reply.body, {
        signatureKey: (n) => [sec?.ink, sec?.trk].find((k) => k?.id === n)?.key,
        transportKey: (n) => (sec?.trk?.id === n ? sec.trk.key : undefined),
      });
    } catch (e) {
      if (reply.status !== 200) throw new McxKmsError(`KMS answered HTTP ${reply.status}`, reply.status);
      throw new McxKmsError(`KMS response is not a valid KmsResponse: ${(e as Error).message}`, reply.status, undefined, { cause: e });
    }
    if (doc.error && !doc.error.redirect) throw new McxKmsError(`KMS error ${doc.error.code}: ${doc.error.message}`, reply.status, doc.error.code);
    if (sec && sec.required !== false) {
      if (doc.signedWith === undefined) throw new McxKmsError('unsigned KmsResponse refused: the security extension is required (D.1)', reply.status);
      if (doc.message?.kind === 'keyprov' && doc.message.keySets.some((k) => k.encryptedWith === undefined)) throw new McxKmsError('key material in the clear refused: the security extension is required (D.1)', reply.status);
    }
    if (reply.status !== 200) throw new McxKmsError(`KMS answered HTTP ${reply.status}`, reply.status);
    if (doc.userUri !== this.opts.userUri || doc.kmsUri !== this.kms.uri) throw new McxKmsError('KmsResponse for another user or KMS');
    if (doc.clientReqUrl !== url) throw new McxKmsError('KmsResponse answers another request URL');
    return doc;
  }

  /** KMS initialisation (D.3.2): the KMS certificate, checked. */
  async init(): Promise<KmsCertificateDoc> {
    const doc = await this.call('init');
    if (doc.message?.kind !== 'init') throw new McxKmsError('KmsResponse to init without KmsInit');
    return checkCertificate(doc.message.certificate, this.kms.uri);
  }

  /**
   * KMS CertCache (D.3.4): the certificates of the other KMSs this KMS vouches for, each
   * checked as `init` checks ours (a certificate that fails is left out and reported).
   */
  async certCache(): Promise<{ cacheNum?: number; certificates: KmsCertificateDoc[]; refused: Array<{ kmsUri: string; reason: string }> }> {
    const doc = await this.call('certcache');
    if (doc.message?.kind !== 'certcache') throw new McxKmsError('KmsResponse to certcache without KmsCertCache');
    const certificates: KmsCertificateDoc[] = [];
    const refused: Array<{ kmsUri: string; reason: string }> = [];
    for (const c of doc.message.certificates) {
      try {
        certificates.push(checkCertificate(c));
      } catch (e) {
        if (!(e instanceof McxKmsError)) throw e;
        refused.push({ kmsUri: c.kmsUri, reason: e.message });
      }
    }
    return { ...(doc.message.cacheNum === undefined ? {} : { cacheNum: doc.message.cacheNum }), certificates, refused };
  }

  /** Key provisioning (D.3.3): every key set validated against the certificate (fetched when not given). */
  async keyProvision(cert?: KmsCertificateDoc): Promise<McxUserKeys[]> {
    const c = cert ?? (await this.init());
    const doc = await this.call('keyprov');
    if (doc.message?.kind !== 'keyprov') throw new McxKmsError('KmsResponse to keyprov without KmsKeyProv');
    return doc.message.keySets.map((k) => validateKeySet(c, k, this.opts.userUri));
  }
}
