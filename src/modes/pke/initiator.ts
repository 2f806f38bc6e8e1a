// Public-key (envelope) method (RFC 3830 §3.2): the initiator (messages.ts has the layout and what both sides share).
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { macCompute, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import { deriveMessageKeys, type MessageKeys, type MikeyPrf } from '../../crypto/prf.js';
import { rsaEnvelopeEncrypt } from '../../crypto/rsa.js';
import { encodePayloads, spanOf } from '../../wire/encode.js';
import { DataType, HashFunc, PayloadType } from '../../wire/registry.js';
import type { CommonHeader, KeyDataPayload, Payload, SpPayload, TPayload } from '../../wire/types.js';
import { deriveBundle, type CryptoSessionBundle } from '../../session/bundle.js';
import type { Identity } from '../../session/identity.js';
import {
  buildMapAndPolicies, header, idPayload, keyDataPayloads, random32, resolveEndpoint, newTimestamp, type Endpoint, type ResolvedEndpoint,
} from '../kit/common.js';
import { kemacOnly, sealKemac } from '../kit/kemac.js';
import { alignForKeyWrap, type Offer, type OfferOptions, type UpdateOptions } from '../kit/offer.js';
import { certPayloads, chashOf, encodeSigned, ourIdentity, signPlaceholder, toCert, type SigningCredentials } from '../kit/signature.js';
import { readVerification } from '../kit/verification.js';
import { type EnvelopeCache, CACHE_CODE } from './messages.js';

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
    this.idi = ourIdentity(opts);
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
