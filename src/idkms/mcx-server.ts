// The KMS side of the 3GPP KMS interface (TS 33.180 Annex D) as a request handler for
// node:http / node:https servers: POST <base>/init answers the KMS certificate, POST
// <base>/keyprov the user's key sets. Who the user is comes from `authenticate` (an access token,
// a TLS client certificate: the application's choice); the KmsRequest must name that user and us.
import type { KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { systemClock, type Clock } from '../session/time.js';
import type { McxKeyIssuer } from './mcx-issuer.js';
import { buildKmsResponse, parseKmsRequest, type KmsCertificateDoc, type KmsProtection, type KmsRequestDoc, type KmsResponseDoc, type KmsSharedKey } from './mcx-xml.js';
import { XmlSignatureError } from './xmldsig.js';
import { buildKrr, parseKrr } from './mcx-krr.js';

export interface McxKmsHandlerOptions {
  issuer: McxKeyIssuer;
  /** The authenticated user's URI, or undefined (401). */
  authenticate: (req: IncomingMessage) => string | undefined | Promise<string | undefined>;
  /** Default /keymanagement/identity/v1. */
  basePath?: string;
  kmsId?: string;
  /** Key sets per keyprov: the current period and this many following ones (default 1). */
  periodsAhead?: number;
  /** Allowed skew of the request Time (default 5 minutes). */
  maxSkewMs?: number;
  maxBodyBytes?: number;
  clock?: Clock;
  /**
   * KMS Redirect Responses (D.4): the KMS URIs a user is sent to instead of being served here
   * (undefined or empty: served). A request that arrived by a redirect carries the previous KRR,
   * which the new one nests.
   */
  redirect?: (userUri: string, request: KmsRequestDoc) => string[] | undefined | Promise<string[] | undefined>;
  /** Signs the KRRs (D.4.2: ECDSA P-256 / SHA-256, the X.509 certificate in KeyInfo). */
  krrSigner?: { privateKey: KeyObject | string; certificate: string };
  /**
   * The security extension (D.1) per user: the shared InK and TrK. A signed request is verified
   * (403 when it fails) and answered signed with the key that signed it, key material wrapped
   * under the TrK; `required` refuses unsigned requests.
   */
  security?: (userUri: string) => { ink?: KmsSharedKey; trk?: KmsSharedKey; required?: boolean } | undefined;
  /** KMS CertCache (D.3.4): the certificates of other KMSs given to users (none: 404 for certcache). */
  certCache?: () => { cacheNum?: number; certificates: KmsCertificateDoc[] } | Promise<{ cacheNum?: number; certificates: KmsCertificateDoc[] }>;
  /** Told about every refused request (status, reason); nothing secret is in it. */
  onRefused?: (status: number, reason: string) => void;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

class Refusal extends Error {
  constructor(readonly status: number, readonly code: number, message: string) {
    super(message);
  }
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new Refusal(413, 413, 'request too large'));
        req.resume();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function mcxKmsHandler(o: McxKmsHandlerOptions): RequestHandler {
  const base = (o.basePath ?? '/keymanagement/identity/v1').replace(/\/+$/, '');
  const clock = o.clock ?? systemClock;
  const send = (res: ServerResponse, status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/xml; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'https://kms.invalid').pathname;
    const op = path === `${base}/init` ? 'init' : path === `${base}/keyprov` ? 'keyprov' : path === `${base}/certcache` && o.certCache ? 'certcache' : undefined;
    if (!op) throw new Refusal(404, 404, 'no such resource');
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      throw new Refusal(405, 405, 'POST only');
    }
    const user = await o.authenticate(req);
    if (!user) throw new Refusal(401, 401, 'not authenticated');
    const sec = o.security?.(user);
    const shared = [sec?.ink, sec?.trk].filter((k): k is KmsSharedKey => !!k);
    let doc: KmsRequestDoc;
    try {
      doc = parseKmsRequest(await readBody(req, o.maxBodyBytes ?? 64 * 1024), { signatureKey: (n) => shared.find((k) => k.id === n)?.key });
    } catch (e) {
      if (e instanceof Refusal) throw e;
      if (e instanceof XmlSignatureError) throw new Refusal(403, 403, `request signature: ${e.message}`);
      throw new Refusal(400, 400, `not a KmsRequest: ${(e as Error).message}`);
    }
    if (sec?.required && doc.signedWith === undefined) throw new Refusal(403, 403, 'unsigned request: the security extension is required');
    // D.1: answered under the key that signed the request, key material wrapped under the TrK
    const protection: KmsProtection = doc.signedWith !== undefined || sec?.required
      ? { signer: shared.find((k) => k.id === doc.signedWith) ?? shared[0], trk: sec?.trk }
      : {};
    const reply = (status: number, r: Omit<KmsResponseDoc, 'userUri' | 'kmsUri' | 'time' | 'clientReqUrl' | 'kmsId'>) =>
      send(res, status, buildKmsResponse({ userUri: doc.userUri, kmsUri: o.issuer.kmsUri, time: new Date(clock.now()), kmsId: o.kmsId, clientReqUrl: doc.clientReqUrl, ...r }, protection));
    try {
      // D.2.2: the request names the authenticated user, this KMS and this resource, and is recent
      if (doc.userUri !== user) throw new Refusal(403, 403, 'UserUri is not the authenticated user');
      if (doc.kmsUri !== o.issuer.kmsUri) throw new Refusal(400, 400, 'KmsUri is not this KMS');
      let reqPath: string;
      try {
        reqPath = new URL(doc.clientReqUrl).pathname;
      } catch {
        throw new Refusal(400, 400, 'ClientReqUrl is not a URL');
      }
      if (reqPath !== path) throw new Refusal(400, 400, 'ClientReqUrl is not the resource requested');
      if (Math.abs(doc.time.getTime() - clock.now()) > (o.maxSkewMs ?? 300_000)) throw new Refusal(400, 400, 'Time is outside the allowed skew');
      const elsewhere = await o.redirect?.(user, doc);
      if (elsewhere?.length) {
        if (!o.krrSigner) throw new Error('redirect configured without krrSigner');
        const krr = buildKrr({ initiatorUri: user, processorUri: o.issuer.kmsUri, time: new Date(clock.now()), initiatorKmsUris: elsewhere, receiverKmsUris: [] },
          { kind: 'ecdsa', ...o.krrSigner }, doc.krrList);
        reply(200, { error: { code: 307, message: `use KMS ${elsewhere.join(', ')}`, redirect: parseKrr(krr) } });
        return;
      }
      if (op === 'init') {
        reply(200, { message: { kind: 'init', version: '1.0.0', certificate: o.issuer.certificate() } });
        return;
      }
      if (op === 'certcache') {
        const c = await o.certCache!();
        reply(200, { message: { kind: 'certcache', version: '1.0.0', ...(c.cacheNum === undefined ? {} : { cacheNum: c.cacheNum }), certificates: c.certificates } });
        return;
      }
      // key sets of the current period and the next ones under the same KMS certificate (after a
      // rotation the user fetches the new certificate first, with init)
      const now = o.issuer.currentPeriod();
      const certUri = o.issuer.certificate(now).certUri;
      const keySets = [];
      for (let i = 0; i <= (o.periodsAhead ?? 1); i++) {
        if (o.issuer.certificate(now + i).certUri !== certUri) break;
        keySets.push(await o.issuer.keySetDoc(user, now + i));
      }
      reply(200, { message: { kind: 'keyprov', version: '1.0.0', keySets } });
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      o.onRefused?.(e.status, e.message);
      reply(e.status, { error: { code: e.code, message: e.message } });
    }
  };
  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      const r = e instanceof Refusal ? e : new Refusal(500, 500, 'internal error');
      o.onRefused?.(r.status, r.message);
      if (!res.headersSent) {
        // answer once the request body is in (discarded): closing on unread data resets the
        // connection before the client reads the status
        const answer = () => {
          res.writeHead(r.status, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(`${r.message}\n`);
        };
        if (req.readableEnded || r.status === 413) answer();
        else req.on('end', answer).on('error', () => res.destroy()).resume();
      } else res.destroy();
    });
  };
}
