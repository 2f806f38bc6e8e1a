// Private-key requests of MIKEY-IBAKE (RFC 6267 §4.2.1), our profile (profile.ts):
//   REQUEST_KEY_PSK  = HDR, T, RAND, (IDRi), IDRkms, [IDRpsk], V
//   REQUEST_KEY_PKE  = HDR, T, RAND, (IDRi), {CERT}, IDRkms, [CHASH], PKE, SIGN
//   REQUEST_KEY_RESP = HDR, T, [IDRkms], KEMAC, V       KEMAC = E(encr_key, (IDRi || {K_PR})), NULL MAC
// Keys from the pre-shared or envelope key (RFC 3830 §4.1.4); V covers the message, then the
// users' identities and the KMS's (RFC 6267 §5.4). #CS = 0, Empty map (§4.2.1.1).
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { kemacDecrypt, kemacEncrypt, macCompute, macVerify, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import { deriveMessageKeys, type MessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import { rsaEnvelopeDecrypt, rsaEnvelopeEncrypt } from '../../crypto/rsa.js';
import type { Point } from '../../crypto/pairing/curve.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { encodePayloads } from '../../wire/encode.js';
import { CsIdMapType, DataType, ErrorNo, HashFunc, KeyDataType, PayloadType } from '../../wire/registry.js';
import type { CommonHeader, KemacPayload, Payload, TPayload } from '../../wire/types.js';
import { prfOf } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { openKemac, sealKemac } from '../kit/kemac.js';
import { any, checkFresh, checkLayout, decodeOrReject, encodeWithTrailingTag, encrAlgCode, encrAlgOf, header, macAlgCode, macAlgOf, macLength, newTimestamp, one, opt, payloadOf, payloadsOf, random32, recordAuthenticated, resolveEndpoint, t64, type Endpoint, type ResolvedEndpoint } from '../kit/common.js';
import { answerOrRefuse, buildErrorMessage, rejectErrorMessage, withErrorResponse } from '../kit/error-message.js';
import { sameIdentity, type Identity } from '../../session/identity.js';
import {
  certPayloads, chashOf, encodeSigned, identityOfCertificate, peerPublicKey, signPlaceholder, toCert, verifySigned,
  type PeerTrust, type SigningCredentials,
} from '../kit/signature.js';
import { IbakeKeyRing } from './keyring.js';
import {
  bytesEq, decodePrivateKey, domainParams, encodePrivateKey, ibeIdentity, identityOf, idrPayload, periodOfTimestamp,
  periodOfValidity, periodValidity, privateKeyMatches, ROLE_I, ROLE_KMS, ROLE_PSK, ROLE_R, type IbeDomain,
} from './profile.js';

const EMPTY_MAP = { type: CsIdMapType.Empty, csCount: 0 } as const;

/** V MAC input: the message without the MAC, then the users' identities and the KMS's (RFC 6267 §5.4). */
function vParts(covered: Uint8Array, users: readonly Identity[], kms: Identity): Uint8Array[] {
  return [covered, ...users.map((u) => u.data), kms.data];
}

// ---- the user --------------------------------------------------------------------------------

interface RequesterBase extends Endpoint {
  /** Our identities (one IDRi each; RFC 6267 §4.2.1.1). */
  identities: readonly Identity[];
  /** The KMS (IDRkms) and its public parameters and key periods. */
  kms: Identity;
  domain: IbeDomain;
  prf?: MikeyPrf;
  /** MAC of the V payloads (default HMAC-SHA-256-256). */
  macAlg?: MacAlg;
}

export interface PskKeyRequestOptions extends RequesterBase {
  psk: Uint8Array;
  /** Names the pre-shared key (IDRpsk). */
  pskId?: Identity;
}

export interface PkeKeyRequestOptions extends RequesterBase, SigningCredentials {
  /** The KMS's RSA certificate or public key: the envelope key is encrypted to it. */
  kmsKey: X509Certificate | KeyObject | string;
  /** Add a CHASH naming the KMS certificate (RFC 6267 §4.2.1.1.2). */
  chash?: boolean;
  envelope?: { padding?: 'pkcs1-v1_5' | 'oaep'; oaepHash?: 'sha1' | 'sha256' };
}

export type KeyRequestOptions = PskKeyRequestOptions | PkeKeyRequestOptions;

export interface ReceivedPrivateKey {
  identity: Identity;
  periodNo: number;
  key: Point;
}

interface RequestState {
  csbId: number;
  rand: Uint8Array;
  t: TPayload;
  secret: Uint8Array;
  prf: MikeyPrf;
}

export class IbakeKeyRequester {
  private readonly ep: ResolvedEndpoint;
  private readonly prf: MikeyPrf;
  private readonly macAlg: MacAlg;
  private state?: RequestState;

  constructor(private readonly opts: KeyRequestOptions) {
    this.ep = resolveEndpoint(opts);
    this.prf = opts.prf ?? 'PRF-HMAC-SHA-256';
    this.macAlg = opts.macAlg ?? 'HMAC-SHA-256-256';
    if (!opts.identities.length) throw new TypeError('request keys for at least one identity');
    if (this.macAlg === 'NULL') throw new TypeError('the V payloads need a MAC');
  }

  /** REQUEST_KEY_PSK or REQUEST_KEY_PKE (RFC 6267 §4.2.1.1). */
  createRequest(): Uint8Array {
    const csbId = random32(this.ep.random);
    const rand = this.ep.random(16);
    const t = newTimestamp(this.ep);
    const ids = this.opts.identities.map((id) => idrPayload(ROLE_I, id));
    if ('psk' in this.opts) {
      const o = this.opts;
      const hdr = header(DataType.RequestKeyPsk, csbId, this.prf, EMPTY_MAP, true);
      const authKey = deriveMessageKeys(o.psk, csbId, rand, this.prf, { encrAlg: 'NULL', macAlg: this.macAlg }).authKey;
      const payloads: Payload[] = [t, { type: PayloadType.Rand, rand }, ...ids, idrPayload(ROLE_KMS, o.kms)];
      if (o.pskId) payloads.push(idrPayload(ROLE_PSK, o.pskId));
      const len = macLength(this.macAlg);
      payloads.push({ type: PayloadType.V, authAlg: macAlgCode(this.macAlg), mac: new Uint8Array(len) });
      this.state = { csbId, rand, t, secret: o.psk, prf: this.prf };
      return encodeWithTrailingTag({ header: hdr, payloads }, len, (covered) => macCompute(this.macAlg, authKey, vParts(covered, o.identities, o.kms)));
    }
    const o = this.opts;
    const hdr = header(DataType.RequestKeyPke, csbId, this.prf, EMPTY_MAP, true);
    const envKey = this.ep.random(16);
    const payloads: Payload[] = [t, { type: PayloadType.Rand, rand }, ...ids, ...certPayloads(o), idrPayload(ROLE_KMS, o.kms)];
    const kmsCert = o.kmsKey instanceof X509Certificate || (typeof o.kmsKey === 'string' && o.kmsKey.includes('CERTIFICATE')) ? toCert(o.kmsKey as X509Certificate | string) : undefined;
    const kmsKey = kmsCert ? kmsCert.publicKey : typeof o.kmsKey === 'string' ? createPublicKey(o.kmsKey) : o.kmsKey as KeyObject;
    if (o.chash && kmsCert) payloads.push(chashOf(kmsCert, HashFunc.Sha256));
    payloads.push({ type: PayloadType.Pke, c: 0, data: rsaEnvelopeEncrypt(kmsKey, envKey, { padding: o.envelope?.padding ?? 'oaep', oaepHash: o.envelope?.oaepHash ?? 'sha256' }) });
    payloads.push(signPlaceholder());
    this.state = { csbId, rand, t, secret: envKey, prf: this.prf };
    return encodeSigned({ header: hdr, payloads }, o);
  }

  /** Read REQUEST_KEY_RESP (§4.2.1.4): the K_PR keys, each checked against the KMS's parameters. */
  receiveResponse(bytes: Uint8Array): ReceivedPrivateKey[] {
    const s = this.state;
    if (!s) throw new Error('no request outstanding');
    const msg = decodeOrReject(bytes);
    const encrAlgKeys = (encrAlg: KemacEncrAlg) => deriveMessageKeys(s.secret, s.csbId, s.rand, s.prf, { encrAlg, macAlg: this.macAlg });
    if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg, { macAlg: this.macAlg, authKey: encrAlgKeys('NULL').authKey });
    if (msg.header.dataType !== DataType.RequestKeyResp) throw new MikeyProtocolError(ErrorNo.InvalidDt, `expected REQUEST_KEY_RESP, got data type ${msg.header.dataType}`);
    checkLayout(msg, [one(PayloadType.T), any(PayloadType.Idr), one(PayloadType.Kemac), one(PayloadType.V)], 'REQUEST_KEY_RESP');
    const h = msg.header;
    if (h.csbId !== s.csbId || h.prfFunc !== (s.prf === 'MIKEY-1' ? 0 : 1) || h.csIdMap.type !== 1 || h.csIdMap.csCount !== 0) {
      throw new MikeyProtocolError(ErrorNo.AuthFailure, 'REQUEST_KEY_RESP header does not match our request');
    }
    const t = payloadOf(msg, PayloadType.T)!;
    if (t.tsType !== s.t.tsType || !bytesEq(t.value, s.t.value)) throw new MikeyProtocolError(ErrorNo.InvalidTs, 'REQUEST_KEY_RESP does not echo our timestamp');
    for (const idr of payloadsOf(msg, PayloadType.Idr)) {
      const known = idr.role === ROLE_KMS ? sameIdentity(idr, this.opts.kms) : (idr.role === ROLE_I || idr.role === ROLE_R) && this.opts.identities.some((u) => sameIdentity(u, idr));
      if (!known) throw new MikeyProtocolError(ErrorNo.InvalidId, 'REQUEST_KEY_RESP names an identity we did not send');
    }
    const kemac = payloadOf(msg, PayloadType.Kemac)!;
    const v = payloadOf(msg, PayloadType.V)!;
    if (v.authAlg !== macAlgCode(this.macAlg)) throw new MikeyProtocolError(ErrorNo.InvalidMac, `V uses MAC algorithm ${v.authAlg}`);
    const encrAlg = encrAlgOf(kemac.encrAlg);
    if (encrAlg === 'NULL' || encrAlg === 'AES-KW-128') throw new MikeyProtocolError(ErrorNo.InvalidEa, `${encrAlg} does not protect private keys here`);
    const mk = encrAlgKeys(encrAlg);
    if (!macVerify(this.macAlg, mk.authKey, vParts(msg.bytes.subarray(0, v.span!.end - v.mac.length), this.opts.identities, this.opts.kms), v.mac)) {
      throw new MikeyProtocolError(ErrorNo.AuthFailure, 'REQUEST_KEY_RESP MAC does not verify');
    }
    const keys = openResponseKemac(kemac, encrAlg, mk, s.csbId, t, this.opts.domain);
    for (const k of keys) {
      if (!this.opts.identities.some((u) => sameIdentity(u, k.identity))) throw new MikeyProtocolError(ErrorNo.InvalidId, 'a key for an identity we did not ask for');
      const params = domainParams(this.opts.domain, k.periodNo, ErrorNo.Unspecified);
      if (!privateKeyMatches(params, ibeIdentity(k.identity, k.periodNo, this.opts.domain.period), k.key)) {
        throw new MikeyProtocolError(ErrorNo.Unspecified, 'a K_PR that is not the identity\'s key for its period');
      }
    }
    this.state = undefined;
    return keys;
  }

  /** Read the response into a key ring (validated there already). */
  receiveInto(bytes: Uint8Array, ring: IbakeKeyRing): ReceivedPrivateKey[] {
    const keys = this.receiveResponse(bytes);
    for (const k of keys) ring.add(k.identity, k.periodNo, k.key, { validate: false });
    return keys;
  }
}

/** KEMAC data: (IDR, {K_PR}) groups; every K_PR with its key period (KV Interval). */
function openResponseKemac(kemac: KemacPayload, encrAlg: KemacEncrAlg, mk: MessageKeys, csbId: number, t: TPayload, domain: IbeDomain): ReceivedPrivateKey[] {
  const subs = openKemac(kemac, encrAlg, mk, csbId, t, PayloadType.Idr);
  const out: ReceivedPrivateKey[] = [];
  let current: Identity | undefined;
  for (const p of subs) {
    if (p.type === PayloadType.Idr) current = identityOf(p);
    else if (p.type === PayloadType.KeyData && p.keyType === KeyDataType.KPr && current) {
      const periodNo = periodOfValidity(p.validity, domain.period);
      const params = domainParams(domain, periodNo, ErrorNo.Unspecified);
      let key: Point;
      try {
        key = decodePrivateKey(params, p.keyData);
      } catch (e) {
        throw new MikeyProtocolError(ErrorNo.Unspecified, 'K_PR is not a point of the KMS curve', { cause: e });
      }
      out.push({ identity: current, periodNo, key });
    } else throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'KEMAC data must be IDR || K_PR groups');
  }
  return out;
}

// ---- the KMS ------------------------------------------------------------------------------

export interface IssuedPrivateKey {
  periodNo: number;
  key: Point;
}

/** Issues K_PR for an identity and key periods (the KMS's master secret lives behind it). */
export type PrivateKeyIssuer = (identity: Identity, periodNos: readonly number[]) => Promise<IssuedPrivateKey[]> | IssuedPrivateKey[];

/** How a request proved itself: by a pre-shared key, or by a signature (with the signer's certificate when sent). */
export type RequestCredential = { method: 'psk'; pskId?: Identity } | { method: 'pke'; certificate?: X509Certificate; signer?: Identity };

export interface KeyResponderOptions extends Endpoint {
  /** Our identity (IDRkms). */
  kms: Identity;
  domain: IbeDomain;
  issue: PrivateKeyIssuer;
  /** The pre-shared key of a user (undefined: unknown). */
  psk?: (users: readonly Identity[], pskId: Identity | undefined) => Uint8Array | undefined;
  /** REQUEST_KEY_PKE: our RSA key (opens envelopes) and whom we trust for signatures. */
  pke?: PeerTrust & { privateKey: KeyObject | string; certificate?: X509Certificate | string | Uint8Array; envelope?: { padding?: 'pkcs1-v1_5' | 'oaep'; oaepHash?: 'sha1' | 'sha256' } };
  /**
   * May these identities have keys? Default: with a PSK, whoever holds it; with a signature,
   * the identity of the signer's certificate (or the identity the known key was found by).
   */
  authorize?: (users: readonly Identity[], credential: RequestCredential) => boolean;
  /** Key periods issued per identity, from the one of the request's T (default 2). */
  periods?: number;
  /** KEMAC encryption of the response (default AES-CM-128). */
  encrAlg?: 'AES-CM-128' | 'AES-CM-256';
  /** V MAC of the response to a REQUEST_KEY_PKE (for PSK: the request's; default HMAC-SHA-256-256). */
  macAlg?: MacAlg;
}

export interface KeyRequestServed {
  response: Uint8Array;
  users: Identity[];
  issued: Array<{ identity: Identity; periodNo: number }>;
}

export class IbakeKeyResponder {
  private readonly ep: ResolvedEndpoint;

  constructor(private readonly opts: KeyResponderOptions) {
    this.ep = resolveEndpoint(opts);
  }

  async receive(bytes: Uint8Array): Promise<KeyRequestServed> {
    return answerOrRefuse(bytes, this.ep.clock, (msg, authenticated) => this.process(msg, authenticated));
  }

  private async process(msg: DecodedMessage, authenticated: (a: { macAlg: MacAlg; authKey: Uint8Array }) => void): Promise<KeyRequestServed> {
    const h = msg.header;
    const psk = h.dataType === DataType.RequestKeyPsk;
    if (!psk && h.dataType !== DataType.RequestKeyPke) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${h.dataType} is not a key request`);
    if (psk) checkLayout(msg, [one(PayloadType.T), one(PayloadType.Rand), any(PayloadType.Idr), opt(PayloadType.Kemac), one(PayloadType.V)], 'REQUEST_KEY_PSK');
    // RFC 6267 §4.2.1: (IDRi/r), {CERT}, IDRkms — with no CERT the IDRs run together (roles tell them apart)
    else checkLayout(msg, [one(PayloadType.T), one(PayloadType.Rand), { type: PayloadType.Idr, min: 1, max: 255 }, any(PayloadType.Cert), any(PayloadType.Idr), opt(PayloadType.Kemac), opt(PayloadType.Chash), one(PayloadType.Pke), one(PayloadType.Sign)], 'REQUEST_KEY_PKE');
    // §4.2.1.1: no crypto sessions, the Empty map
    if (h.csIdMap.type !== 1 || h.csIdMap.csCount !== 0) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'a key request handles no crypto sessions (#CS 0, Empty map)');
    const t = payloadOf(msg, PayloadType.T)!;
    const fresh = checkFresh(t, this.ep, h.csbId);
    const prf = prfOf(h.prfFunc);
    const rand = payloadOf(msg, PayloadType.Rand)!.rand;
    const idrs = payloadsOf(msg, PayloadType.Idr);
    const users = idrs.filter((p) => p.role === ROLE_I || p.role === ROLE_R).map(identityOf);
    const kmsIds = idrs.filter((p) => p.role === ROLE_KMS);
    const pskIds = idrs.filter((p) => p.role === ROLE_PSK);
    if (!users.length) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no identity to issue keys for');
    if (kmsIds.length !== 1 || !sameIdentity(kmsIds[0], this.opts.kms)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'IDRkms missing or not ours');
    if (idrs.length !== users.length + 1 + pskIds.length || pskIds.length > 1 || (!psk && pskIds.length)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'unexpected ID roles');
    let secret: Uint8Array;
    let macAlg: MacAlg;
    let credential: RequestCredential;
    if (psk) {
      const pskId = pskIds[0] && identityOf(pskIds[0]);
      const key = this.opts.psk?.(users, pskId);
      // answered like a wrong key: an unauthenticated sender learns nothing of who is registered
      if (!key) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'no pre-shared key for this user');
      const v = payloadOf(msg, PayloadType.V)!;
      macAlg = macAlgOf(v.authAlg);
      if (macAlg === 'NULL') throw new MikeyProtocolError(ErrorNo.InvalidMac, 'NULL MAC refused');
      const authKey = deriveMessageKeys(key, h.csbId, rand, prf, { encrAlg: 'NULL', macAlg }).authKey;
      if (!macVerify(macAlg, authKey, vParts(msg.bytes.subarray(0, v.span!.end - v.mac.length), users, this.opts.kms), v.mac)) {
        throw new MikeyProtocolError(ErrorNo.AuthFailure, 'REQUEST_KEY_PSK MAC does not verify');
      }
      secret = key;
      credential = pskId ? { method: 'psk', pskId } : { method: 'psk' };
    } else {
      const pke = this.opts.pke;
      if (!pke) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'REQUEST_KEY_PKE is not served here');
      const { key, cert } = peerPublicKey(msg, pke, users[0], this.ep.clock.now(), 'digitalSignature');
      verifySigned(msg, key, pke);
      const chash = payloadOf(msg, PayloadType.Chash);
      if (chash) {
        if (!pke.certificate) throw new MikeyProtocolError(ErrorNo.InvalidCert, 'CHASH names a certificate and we have none configured');
        const mine = chashOf(toCert(pke.certificate), chash.hashFunc);
        if (chash.hashFunc > HashFunc.Sha256 || !bytesEq(mine.hash, chash.hash)) throw new MikeyProtocolError(chash.hashFunc > HashFunc.Sha256 ? ErrorNo.InvalidHa : ErrorNo.InvalidCert, 'CHASH does not name our certificate');
      }
      try {
        secret = rsaEnvelopeDecrypt(pke.privateKey, payloadOf(msg, PayloadType.Pke)!.data, { padding: pke.envelope?.padding ?? 'oaep', oaepHash: pke.envelope?.oaepHash ?? 'sha256' });
      } catch (e) {
        throw new MikeyProtocolError(ErrorNo.AuthFailure, 'the envelope does not decrypt with our key', { cause: e });
      }
      macAlg = this.opts.macAlg ?? 'HMAC-SHA-256-256';
      credential = cert ? { method: 'pke', certificate: cert } : { method: 'pke', signer: users[0]! };
    }
    const encrAlg = this.opts.encrAlg ?? 'AES-CM-128';
    const mk = deriveMessageKeys(secret, h.csbId, rand, prf, { encrAlg, macAlg });
    authenticated({ macAlg, authKey: mk.authKey });
    await recordAuthenticated(msg.bytes, this.ep, fresh);
    if (!this.authorized(users, credential)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'not authorized for these identities');
    // the key periods: the one of T and the following ones (RFC 6267 leaves the dates open)
    const first = periodOfTimestamp(t, this.opts.domain.period);
    const nos = Array.from({ length: this.opts.periods ?? 2 }, (_, i) => first + i);
    const chain: Payload[] = [];
    const issued: KeyRequestServed['issued'] = [];
    for (const u of users) {
      chain.push(idrPayload(ROLE_I, u));
      for (const k of await this.opts.issue(u, nos)) {
        const params = domainParams(this.opts.domain, k.periodNo, ErrorNo.Unspecified);
        chain.push({ type: PayloadType.KeyData, keyType: KeyDataType.KPr, keyData: encodePrivateKey(params, k.key), validity: periodValidity(k.periodNo, this.opts.domain.period) });
        issued.push({ identity: u, periodNo: k.periodNo });
      }
    }
    // REQUEST_KEY_RESP (§4.2.1.3): HDR as the request with V = 0, T echoed, IDRkms, KEMAC (NULL MAC), V
    const hdr: CommonHeader = { ...h, dataType: DataType.RequestKeyResp, v: false, span: undefined };
    const kemac = sealKemac(encrAlg, 'NULL', mk, chain, h.csbId, t);
    const len = macLength(macAlg);
    const payloads: Payload[] = [t, idrPayload(ROLE_KMS, this.opts.kms), kemac, { type: PayloadType.V, authAlg: macAlgCode(macAlg), mac: new Uint8Array(len) }];
    const response = encodeWithTrailingTag({ header: hdr, payloads }, len, (covered) => macCompute(macAlg, mk.authKey, vParts(covered, users, this.opts.kms)));
    return { response, users, issued };
  }

  private authorized(users: readonly Identity[], c: RequestCredential): boolean {
    if (this.opts.authorize) return this.opts.authorize(users, c);
    if (c.method === 'psk') return true;
    const id = c.certificate ? identityOfCertificate(c.certificate) : c.signer;
    return !!id && users.every((u) => sameIdentity(u, id));
  }
}
