// Public-key (envelope) method (RFC 3830 §3.2) and its updates (§4.5).
//   I_MESSAGE = HDR, T, RAND, [IDi|CERTi], [IDr], {SP}, KEMAC, [CHASH], PKE, SIGNi
//   KEMAC = E(encr_key, IDi || {TGK}) || MAC, the MAC over the KEMAC payload alone (Next payload
//   set to zero); PKE = E(PKr, env_key); SIGNi over the whole message but the signature.
//   R_MESSAGE = HDR, T, [IDr], V   (as for PSK, auth_key from env_key)
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { macCompute, macVerify, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import { deriveMessageKeys, type MessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import { rsaEnvelopeDecrypt, rsaEnvelopeEncrypt } from '../../crypto/rsa.js';
import { type DecodedMessage } from '../../wire/decode.js';
import { encodePayloads, spanOf } from '../../wire/encode.js';
import { DataType, ErrorNo, HashFunc, PayloadType } from '../../wire/registry.js';
import type { CommonHeader, KeyDataPayload, Payload, SpPayload, TPayload } from '../../wire/types.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { sameIdentity, type Identity } from '../../session/identity.js';
import {
  any, buildMapAndPolicies, checkFresh, checkLayout, decodeOrReject, encrAlgOf, header, idPayload, keyDataPayloads, macAlgOf, one, opt, payloadOf, payloadsOf,
  random32, recordAuthenticated, resolveEndpoint, newTimestamp, splitIds, type Endpoint, type ResolvedEndpoint,
} from '../kit/common.js';
import { credentialFingerprint, CsbTable, type CsbOwner } from '../kit/csb.js';
import { answerOrRefuse, buildErrorMessage, withErrorResponse } from '../kit/error-message.js';
import { kemacOnly, openKemacWithId, sealKemac } from '../kit/kemac.js';
import { alignForKeyWrap, type Offer, type OfferOptions, type UpdateOptions } from '../kit/offer.js';
import { checkBundlePolicy } from '../kit/policy.js';
import {
  certPayloads, chashOf, encodeSigned, identityOfCertificate, peerPublicKey, signedBytes, signPlaceholder, toCert, verifySigned,
  type PeerTrust, type SigningCredentials,
} from '../kit/signature.js';
import { buildVerification, readVerification } from '../kit/verification.js';

/** PKE C field (RFC 3830 §6.3): whether the envelope key is cached as a pre-shared key. */
export type EnvelopeCache = 'none' | 'cache' | 'csb';
const CACHE_CODE: Record<EnvelopeCache, number> = { none: 0, cache: 1, csb: 2 };

export interface PkInitiatorOptions extends Endpoint, SigningCredentials {
  /** Our identity (default: from our certificate), carried encrypted in the KEMAC. */
  idi?: Identity;
  /** Send IDi in clear too (default: only when no certificate is sent). */
  sendIdi?: boolean;
  idr?: Identity;
  /** The responder's certificate or public key: the envelope key is encrypted to it. */
  responderKey: X509Certificate | KeyObject | string;
  /** Add a CHASH of the responder's certificate (RFC 3830 §6.8). */
  chash?: boolean;
  envelope?: { padding?: 'pkcs1-v1_5' | 'oaep'; oaepHash?: 'sha1' | 'sha256'; keyLength?: number };
  cache?: EnvelopeCache;
  prf?: MikeyPrf;
  /** KEMAC encryption (default AES-CM-128; AES-KW-128 with the NULL MAC is the RFC's other suggestion). */
  encrAlg?: KemacEncrAlg;
  macAlg?: MacAlg;
}

interface PkState {
  csbId: number;
  rand: Uint8Array;
  map: CommonHeader['csIdMap'];
  sps: SpPayload[];
  keys: KeyDataPayload[];
  envKey: Uint8Array;
  mk: MessageKeys;
  t: TPayload;
  idi?: Identity;
  idr?: Identity;
  bundle: CryptoSessionBundle;
}

export class PkInitiator {
  private readonly ep: ResolvedEndpoint;
  private readonly encrAlg: KemacEncrAlg;
  private readonly macAlg: MacAlg;
  private readonly prf: MikeyPrf;
  private readonly responderKey: KeyObject;
  private readonly responderCert?: X509Certificate;
  private readonly idi: Identity | undefined;
  private state?: PkState;

  constructor(private readonly opts: PkInitiatorOptions) {
    this.ep = resolveEndpoint(opts);
    this.encrAlg = opts.encrAlg ?? 'AES-CM-128';
    this.macAlg = opts.macAlg ?? 'HMAC-SHA-1-160';
    this.prf = opts.prf ?? 'MIKEY-1';
    const rk = opts.responderKey;
    if (rk instanceof X509Certificate || (typeof rk === 'string' && rk.includes('CERTIFICATE'))) {
      this.responderCert = toCert(rk as X509Certificate | string);
      this.responderKey = this.responderCert.publicKey;
    } else this.responderKey = typeof rk === 'string' ? createPublicKey(rk) : rk as KeyObject;
    this.idi = opts.idi ?? (opts.certificate ? identityOfCertificate(toCert(opts.certificate)) : undefined);
    if (!this.idi) throw new TypeError('the public-key method carries IDi in the KEMAC: give idi or a certificate');
  }

  createOffer(o: OfferOptions): Offer {
    const csbId = o.csbId ?? random32(this.ep.random);
    const rand = o.rand ?? this.ep.random(16);
    const { map, sps } = buildMapAndPolicies(o.sessions);
    // IDi goes in front of the keys in the KEMAC
    const keys = keyDataPayloads(alignForKeyWrap(o.keys ?? [{}], this.encrAlg, 4 + this.idi!.data.length), this.ep.random);
    return this.send(csbId, rand, map, sps, keys, o.verify ?? false, true, true);
  }

  /** An update: a new envelope key (RFC 3830 §4.5), new keys optional. */
  createUpdate(o: UpdateOptions = {}): Offer {
    const s = this.state;
    if (!s) throw new Error('no CSB to update: create an offer first');
    const { map, sps } = o.sessions ? buildMapAndPolicies(o.sessions) : { map: s.map, sps: s.sps };
    const keys = o.keys ? keyDataPayloads(alignForKeyWrap(o.keys, this.encrAlg, 4 + this.idi!.data.length), this.ep.random) : s.keys;
    return this.send(s.csbId, s.rand, map, sps, keys, o.verify ?? false, false, o.keys !== undefined);
  }

  private send(csbId: number, rand: Uint8Array, map: CommonHeader['csIdMap'], sps: SpPayload[], keys: KeyDataPayload[], v: boolean, initial: boolean, newKeys: boolean): Offer {
    const hdr = header(DataType.PublicKey, csbId, this.prf, map, v);
    const t = newTimestamp(this.ep);
    const envKey = this.ep.random(this.opts.envelope?.keyLength ?? 16);
    const mk = deriveMessageKeys(envKey, csbId, rand, this.prf, { encrAlg: this.encrAlg, macAlg: this.macAlg });
    const payloads: Payload[] = [t];
    if (initial) payloads.push({ type: PayloadType.Rand, rand });
    const certs = certPayloads(this.opts);
    if (certs.length) payloads.push(...certs);
    if (!certs.length || this.opts.sendIdi) payloads.splice(certs.length ? payloads.length - certs.length : payloads.length, 0, idPayload(this.idi!));
    if (this.opts.idr) payloads.push(idPayload(this.opts.idr));
    payloads.push(...sps);
    // KEMAC = E(encr_key, IDi || {TGK}) || MAC
    const plain = encodePayloads([idPayload(this.idi!), ...(newKeys ? keys : [])]);
    const kemac = sealKemac(this.encrAlg, this.macAlg, mk, plain, csbId, t);
    const macLen = kemac.mac.length;
    payloads.push(kemac);
    if (this.opts.chash && this.responderCert) payloads.push(chashOf(this.responderCert, HashFunc.Sha256));
    const pke = rsaEnvelopeEncrypt(this.responderKey, envKey, { padding: this.opts.envelope?.padding ?? 'pkcs1-v1_5', oaepHash: this.opts.envelope?.oaepHash });
    payloads.push({ type: PayloadType.Pke, c: CACHE_CODE[this.opts.cache ?? 'none'], data: pke }, signPlaceholder());
    // the KEMAC MAC is over the KEMAC alone: it is filled in first, then the signature covers it
    const bytes = encodeSigned({ header: hdr, payloads }, this.opts, (draft, encoded) => {
      const span = spanOf(encoded, kemac);
      draft.set(macCompute(this.macAlg, mk.authKey, kemacOnly(draft, { ...kemac, span })), span.end - macLen);
    });
    const bundle = deriveBundle(hdr, rand, sps, { kind: 'keyData', keys });
    this.state = { csbId, rand, map, sps, keys, envKey, mk, t, idi: this.idi, idr: this.opts.idr, bundle };
    return { bytes, bundle };
  }

  receiveResponse(bytes: Uint8Array): CryptoSessionBundle {
    if (!this.state) throw new Error('no offer outstanding');
    return readVerification(bytes, DataType.PkVerification, this.state, this.macAlg, this.state.mk.authKey);
  }

  /** The envelope key, for use as a pre-shared key when it is cached (RFC 3830 §3.2). */
  get envelopeKey(): Uint8Array | undefined {
    return this.state?.envKey;
  }

  get bundle(): CryptoSessionBundle | undefined {
    return this.state?.bundle;
  }
}

// ---- responder -----------------------------------------------------------------------------

export interface PkResponderOptions extends Endpoint, PeerTrust {
  /** Our RSA private key: decrypts the envelope key. */
  privateKey: KeyObject | string;
  /** Our certificate, to check a CHASH against. */
  certificate?: X509Certificate | string | Uint8Array;
  idr?: Identity;
  encrAlgs?: readonly KemacEncrAlg[];
  macAlgs?: readonly MacAlg[];
  envelope?: { padding?: 'pkcs1-v1_5' | 'oaep'; oaepHash?: 'sha1' | 'sha256'; keyLength?: number };
}

export interface PkAccepted {
  bundle: CryptoSessionBundle;
  response?: Uint8Array;
  /** The initiator's identity, as authenticated. */
  idi?: Identity;
  /** The envelope key, when the initiator asked for it to be cached (C = 1 or 2). */
  cachedEnvelopeKey?: Uint8Array;
  update: boolean;
}

interface PkCsb {
  rand: Uint8Array;
  keys: KeyDataPayload[];
}

export class PkResponder {
  private readonly ep: ResolvedEndpoint;
  private readonly csbs = new CsbTable<PkCsb>();
  private readonly ourCert?: X509Certificate;

  constructor(private readonly opts: PkResponderOptions) {
    this.ep = resolveEndpoint(opts);
    if (opts.certificate) this.ourCert = toCert(opts.certificate);
  }

  async receive(bytes: Uint8Array): Promise<PkAccepted> {
    return answerOrRefuse(bytes, this.ep.clock, (msg, authenticated) => this.process(msg, authenticated));
  }

  private async process(msg: DecodedMessage, authenticated: (a: { macAlg: MacAlg; authKey: Uint8Array }) => void): Promise<PkAccepted> {
    if (msg.header.dataType !== DataType.PublicKey) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType} is not a public-key message`);
    checkLayout(msg, [one(PayloadType.T), opt(PayloadType.Rand), opt(PayloadType.Id), any(PayloadType.Cert), opt(PayloadType.Id), any(PayloadType.Sp),
      opt(PayloadType.Kemac), opt(PayloadType.Chash), one(PayloadType.Pke), one(PayloadType.Sign)], 'public-key I_MESSAGE');
    const t = payloadOf(msg, PayloadType.T)!;
    const fresh = checkFresh(t, this.ep, msg.header.csbId);
    const prf = prfOf(msg.header.prfFunc);
    const { idi: clearIdi, idr: clearIdr } = splitIds(msg);
    // who signed: its certificate chain (or known key), then the signature over the whole message
    const { key, cert } = peerPublicKey(msg, this.opts, clearIdi, this.ep.clock.now(), 'digitalSignature');
    verifySigned(msg, key, this.opts);
    const idi = clearIdi ?? (cert ? identityOfCertificate(cert) : undefined);
    await recordAuthenticated(signedBytes(msg), this.ep, fresh);
    const chash = payloadOf(msg, PayloadType.Chash);
    if (chash) {
      if (!this.ourCert) throw new MikeyProtocolError(ErrorNo.InvalidCert, 'CHASH names a certificate and we have none configured');
      const mine = chashOf(this.ourCert, chash.hashFunc);
      if (chash.hashFunc > HashFunc.Sha256 || Buffer.compare(Buffer.from(mine.hash), Buffer.from(chash.hash)) !== 0) {
        throw new MikeyProtocolError(chash.hashFunc > HashFunc.Sha256 ? ErrorNo.InvalidHa : ErrorNo.InvalidCert, 'CHASH does not name our certificate');
      }
    }
    const rand = payloadOf(msg, PayloadType.Rand)?.rand;
    // the signature verified: the CSB ID must be free or held by this signer (RFC 3830 §4.5)
    const owner: CsbOwner = { id: idi, credential: credentialFingerprint('public-key', key) };
    const held = this.csbs.held(msg.header.csbId, owner);
    const prior = rand ? undefined : held;
    if (!rand && !prior) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'no RAND and no CSB to update');
    const useRand = rand ?? prior!.rand;
    const pke = payloadOf(msg, PayloadType.Pke)!;
    let envKey: Uint8Array;
    try {
      envKey = rsaEnvelopeDecrypt(this.opts.privateKey, pke.data, {
        padding: this.opts.envelope?.padding ?? 'pkcs1-v1_5', oaepHash: this.opts.envelope?.oaepHash, expectedLength: this.opts.envelope?.keyLength,
      });
    } catch (e) {
      // only public properties fail here (length, c >= n, OAEP decoding); bad PKCS#1 v1.5 padding does not
      throw new MikeyProtocolError(ErrorNo.AuthFailure, 'the envelope does not decrypt with our key', { cause: e });
    }
    let keys: KeyDataPayload[] = [];
    let response: Uint8Array | undefined;
    const kemac = payloadOf(msg, PayloadType.Kemac);
    if (kemac) {
      const encrAlg = encrAlgOf(kemac.encrAlg);
      const macAlg = macAlgOf(kemac.macAlg);
      if (this.opts.encrAlgs && !this.opts.encrAlgs.includes(encrAlg)) throw new MikeyProtocolError(ErrorNo.InvalidEa, `${encrAlg} not accepted`);
      if (this.opts.macAlgs && !this.opts.macAlgs.includes(macAlg)) throw new MikeyProtocolError(ErrorNo.InvalidMac, `${macAlg} not accepted`);
      if (encrAlg === 'NULL') throw new MikeyProtocolError(ErrorNo.InvalidEa, 'NULL encryption of the KEMAC in the public-key method');
      if (macAlg === 'NULL' && encrAlg !== 'AES-KW-128') throw new MikeyProtocolError(ErrorNo.InvalidMac, 'NULL MAC without key wrap');
      const mk = deriveMessageKeys(envKey, msg.header.csbId, useRand, prf, { encrAlg, macAlg });
      // a wrong envelope key (implicit rejection) fails here, as a MAC or unwrap failure
      if (!macVerify(macAlg, mk.authKey, kemacOnly(msg.bytes, kemac), kemac.mac)) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'KEMAC MAC does not verify');
      const { id, keys: keyData } = openKemacWithId(kemac, encrAlg, mk, msg.header.csbId, t, 'IDi');
      // §3.2: the encrypted IDi MUST equal the expected IDi
      if (!idi || !sameIdentity(id, idi)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'the IDi inside the KEMAC is not the sender\'s identity');
      keys = keyData;
      authenticated({ macAlg, authKey: mk.authKey });
      if (msg.header.v) response = buildVerification(DataType.PkVerification, msg.header, t, this.opts.idr, idi, clearIdr, macAlg, mk.authKey);
    } else if (rand) throw new MikeyProtocolError(ErrorNo.Unspecified, 'initial public-key message without a KEMAC');
    if (rand && keys.length === 0) throw new MikeyProtocolError(ErrorNo.Unspecified, 'initial message without a TGK');
    const useKeys = keys.length ? keys : prior!.keys;
    const bundle = deriveBundle(msg.header, useRand, payloadsOf(msg, PayloadType.Sp), { kind: 'keyData', keys: useKeys });
    checkBundlePolicy(bundle, this.ep.minimumPolicy);
    this.csbs.commit(msg.header.csbId, owner, { rand: useRand, keys: useKeys });
    const out: PkAccepted = { bundle, idi, update: !rand };
    if (response) out.response = response;
    if (pke.c === 1 || pke.c === 2) out.cachedEnvelopeKey = envKey;
    return out;
  }
}
