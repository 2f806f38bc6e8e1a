// Public-key (envelope) method (RFC 3830 §3.2): the responder (messages.ts has the layout and what both sides share).
import { X509Certificate, type KeyObject } from 'node:crypto';
import { macVerify, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import { deriveMessageKeys } from '../../crypto/prf.js';
import { rsaEnvelopeDecrypt } from '../../crypto/rsa.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { DataType, ErrorNo, HashFunc, PayloadType, PkeCache } from '../../wire/registry.js';
import type { KeyDataPayload } from '../../wire/types.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { sameIdentity, type Identity } from '../../session/identity.js';
import {
  any, checkFresh, checkLayout, encrAlgOf, macAlgOf, one, opt, payloadOf, payloadsOf, recordAuthenticated, resolveEndpoint, splitIds,
  type Endpoint, type ResolvedEndpoint,
} from '../kit/common.js';
import { credentialFingerprint, CsbTable, type CsbOwner } from '../kit/csb.js';
import { answerOrRefuse } from '../kit/error-message.js';
import { kemacOnly, openKemacWithId } from '../kit/kemac.js';
import { answer, type Answer } from '../kit/offer.js';
import { checkBundlePolicy } from '../kit/policy.js';
import { chashOf, identityOfCertificate, peerPublicKey, signedBytes, toCert, verifySigned, type PeerTrust } from '../kit/signature.js';
import { buildVerification } from '../kit/verification.js';

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

/** What the responder accepted; `answered` when the initiator asked for a verification message (V). */
export type PkAccepted = {
  bundle: CryptoSessionBundle;
  /** The initiator's identity, as authenticated. */
  idi?: Identity;
  /** The envelope key, when the initiator asked for it to be cached (C = 1 or 2). */
  cachedEnvelopeKey?: Uint8Array;
  update: boolean;
} & Answer;

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
    const out: PkAccepted = { bundle, idi, update: !rand, ...answer(response) };
    if (pke.c === PkeCache.Cache || pke.c === PkeCache.CacheForCsb) out.cachedEnvelopeKey = envKey;
    return out;
  }
}
