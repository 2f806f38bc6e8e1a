// RTSP authentication (RFC 2326 §D.2 uses HTTP's): Basic (RFC 7617) and Digest (RFC 2617,
// MD5, qop=auth or none; RFC 7616 SHA-256). The client answers a challenge; the server issues
// challenges and checks answers in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: 'Basic' | 'Digest';
  params: Record<string, string>;
}

/** Parse `WWW-Authenticate` values (several challenges may be joined by ", "). */
export function parseChallenges(value: string): Challenge[] {
  const out: Challenge[] = [];
  const re = /(Basic|Digest)\s+((?:[A-Za-z0-9_-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s,"]+)\s*,?\s*)*)/gi;
  for (const m of value.matchAll(re)) {
    const params: Record<string, string> = {};
    for (const p of m[2]!.matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/g)) {
      params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    }
    out.push({ scheme: m[1]!.toLowerCase() === 'basic' ? 'Basic' : 'Digest', params });
  }
  return out;
}

function h(alg: string, s: string): string {
  return createHash(alg === 'SHA-256' ? 'sha256' : 'md5').update(s).digest('hex');
}

/** The Authorization header answering the strongest challenge we know (Digest over Basic). */
export function authorize(challenges: readonly Challenge[], cred: Credentials, method: string, uri: string, nc = 1, cnonce?: string): string {
  const digest = challenges.find((c) => c.scheme === 'Digest' && (c.params['algorithm'] ?? 'MD5').toUpperCase() === 'SHA-256')
    ?? challenges.find((c) => c.scheme === 'Digest' && (c.params['algorithm'] ?? 'MD5').toUpperCase() === 'MD5');
  if (digest) {
    const p = digest.params;
    const alg = (p['algorithm'] ?? 'MD5').toUpperCase();
    const realm = p['realm'] ?? '';
    const nonce = p['nonce'] ?? '';
    const ha1 = h(alg, `${cred.username}:${realm}:${cred.password}`);
    const ha2 = h(alg, `${method}:${uri}`);
    const qop = p['qop']?.split(',').map((s) => s.trim()).includes('auth') ? 'auth' : undefined;
    const ncs = nc.toString(16).padStart(8, '0');
    const cn = cnonce ?? randomBytes(8).toString('hex');
    const response = qop ? h(alg, `${ha1}:${nonce}:${ncs}:${cn}:${qop}:${ha2}`) : h(alg, `${ha1}:${nonce}:${ha2}`);
    const parts = [`username="${cred.username}"`, `realm="${realm}"`, `nonce="${nonce}"`, `uri="${uri}"`, `response="${response}"`];
    if (p['algorithm']) parts.push(`algorithm=${alg}`);
    if (p['opaque'] !== undefined) parts.push(`opaque="${p['opaque']}"`);
    if (qop) parts.push(`qop=${qop}`, `nc=${ncs}`, `cnonce="${cn}"`);
    return `Digest ${parts.join(', ')}`;
  }
  if (challenges.some((c) => c.scheme === 'Basic')) return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
  throw new TypeError('no Basic or Digest challenge to answer');
}

export interface ServerAuthOptions {
  scheme: 'basic' | 'digest';
  realm?: string;
  users: Record<string, string>;
}

function eq(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The server side: challenges and verification of Authorization headers. */
export class RtspAuthenticator {
  private readonly realm: string;
  private readonly nonces = new Set<string>();

  constructor(private readonly opts: ServerAuthOptions) {
    this.realm = opts.realm ?? 'mikey';
  }

  challenge(): string {
    if (this.opts.scheme === 'basic') return `Basic realm="${this.realm}"`;
    const nonce = randomBytes(16).toString('hex');
    if (this.nonces.size >= 256) this.nonces.delete(this.nonces.values().next().value!);
    this.nonces.add(nonce);
    return `Digest realm="${this.realm}", nonce="${nonce}", algorithm=MD5, qop="auth"`;
  }

  /** True when `authorization` proves a known user's password for this request. */
  verify(authorization: string | undefined, method: string): boolean {
    if (!authorization) return false;
    if (this.opts.scheme === 'basic') {
      const m = /^Basic\s+([A-Za-z0-9+/=]{1,1024})$/i.exec(authorization.trim());
      if (!m) return false;
      const s = Buffer.from(m[1]!, 'base64').toString('utf8');
      const c = s.indexOf(':');
      if (c < 0) return false;
      const pw = this.opts.users[s.slice(0, c)];
      return pw !== undefined && eq(pw, s.slice(c + 1));
    }
    const [ch] = parseChallenges(authorization);
    if (!ch || ch.scheme !== 'Digest') return false;
    const p = ch.params;
    const user = p['username'] ?? '';
    const pw = Object.hasOwn(this.opts.users, user) ? this.opts.users[user] : undefined;
    if (pw === undefined || !p['nonce'] || !this.nonces.has(p['nonce']) || p['realm'] !== this.realm || !p['uri'] || !p['response']) return false;
    const ha1 = h('MD5', `${user}:${this.realm}:${pw}`);
    const ha2 = h('MD5', `${method}:${p['uri']}`);
    const want = p['qop'] === 'auth' ? h('MD5', `${ha1}:${p['nonce']}:${p['nc'] ?? ''}:${p['cnonce'] ?? ''}:auth:${ha2}`) : h('MD5', `${ha1}:${p['nonce']}:${ha2}`);
    return eq(want, p['response'].toLowerCase());
  }
}
