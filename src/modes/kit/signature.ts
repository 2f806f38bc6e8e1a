// RSA signatures and certificates of the public-key and DH methods (RFC 3830 §4.2.6, §4.3,
// §6.5, §6.7): signing a message over its exact bytes, finding and checking the peer's key.
import { createHash, X509Certificate, type KeyObject, createPublicKey } from 'node:crypto';
import { rsaModulusBytes, rsaSign, rsaVerify, type RsaHash } from '../../crypto/rsa.js';
import { CertType, ErrorNo, HashFunc, IdType, PayloadType, SignType } from '../../wire/registry.js';
import type { CertPayload, ChashPayload, Message, SignPayload } from '../../wire/types.js';
import { encodeMessageWithSpans, type EncodedMessage } from '../../wire/encode.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { parseCertificate, validateChain, type KeyUsageName } from '../../session/certs.js';
import { encodeWithTrailingTag, payloadsOf } from './common.js';
import { type Identity } from '../../session/identity.js';

/** Our signing credentials. */
export interface SigningCredentials {
  /** RSA private key (KeyObject or PEM). */
  privateKey: KeyObject | string;
  /** Our certificate (PEM, DER or parsed), sent in a CERT payload when given. */
  certificate?: X509Certificate | string | Uint8Array;
  /** Intermediate certificates to send after ours. */
  chain?: ReadonlyArray<X509Certificate | string | Uint8Array>;
  /** RSA/PKCS#1/1.5 (S type 0, default) or RSA/PSS (S type 1). */
  scheme?: 'pkcs1-v1_5' | 'pss';
  /** Hash of the signature (default SHA-256). */
  hash?: RsaHash;
}

/** How we decide whom to trust. */
export interface PeerTrust {
  /** Trust anchors: a peer certificate must chain to one (or be one). */
  trustAnchors?: ReadonlyArray<X509Certificate | string | Uint8Array>;
  /** The peer's key when it sends no certificate, by the identity it claims. */
  peerKey?: (id: Identity | undefined) => KeyObject | string | X509Certificate | undefined;
  /** Signature hashes accepted (default ['sha256']). */
  acceptHashes?: readonly RsaHash[];
}

export function toCert(c: X509Certificate | string | Uint8Array): X509Certificate {
  return c instanceof X509Certificate ? c : parseCertificate(c);
}

/** CERT payloads for our certificate and chain (RFC 3830 §6.7: X.509v3, DER). */
export function certPayloads(cred: SigningCredentials): CertPayload[] {
  if (!cred.certificate) return [];
  return [cred.certificate, ...(cred.chain ?? [])].map((c) => ({ type: PayloadType.Cert, certType: CertType.X509v3, data: new Uint8Array(toCert(c).raw) }));
}

/** The identity a certificate stands for: its first URI subject alternative name, else its CN as an NAI. */
export function identityOfCertificate(cert: X509Certificate): Identity | undefined {
  const uri = /URI:([^,\s]+)/.exec(cert.subjectAltName ?? '')?.[1];
  if (uri) return { idType: IdType.Uri, data: new TextEncoder().encode(uri) };
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn ? { idType: IdType.Nai, data: new TextEncoder().encode(cn) } : undefined;
}

/** Our identity: the one configured, else our certificate's. */
export function ourIdentity(o: { idi?: Identity; certificate?: SigningCredentials['certificate'] }): Identity | undefined {
  return o.idi ?? (o.certificate ? identityOfCertificate(toCert(o.certificate)) : undefined);
}

/** The SIGN payload (last) with a zeroed signature of the key's length and our scheme; returns that length. */
function placeSignature(msg: Message, cred: SigningCredentials): number {
  const len = rsaModulusBytes(cred.privateKey);
  const sign = msg.payloads.at(-1) as SignPayload;
  sign.signature = new Uint8Array(len);
  sign.sType = cred.scheme === 'pss' ? SignType.RsaPss : SignType.RsaPkcs1;
  return len;
}

function rsaSignature(cred: SigningCredentials, covered: Uint8Array, extra: readonly Uint8Array[]): Uint8Array {
  return rsaSign(cred.privateKey, extra.length ? [covered, ...extra] : covered, { scheme: cred.scheme ?? 'pkcs1-v1_5', hash: cred.hash ?? 'sha256' });
}

/**
 * Encode `msg`, whose last payload is a SIGN with a placeholder signature, and sign every byte
 * before the signature, then `extra` (RFC 3830 §5.2; RFC 4738 §3.6 SIGNr adds IDi || IDr || T,
 * RFC 6043 §5.5 adds identities). `beforeSigning` may fill other tags first (the KEMAC MAC).
 */
export function encodeSigned(msg: Message, cred: SigningCredentials, beforeSigning?: (bytes: Uint8Array, encoded: EncodedMessage) => void, extra: readonly Uint8Array[] = []): Uint8Array {
  const len = placeSignature(msg, cred);
  return encodeWithTrailingTag(msg, len, (covered, bytes, encoded) => {
    if (beforeSigning) beforeSigning(bytes, encoded!);
    return rsaSignature(cred, covered, extra);
  }, beforeSigning !== undefined);
}

/** `encodeSigned`, keeping the span of every payload (for a method that reads its own message later). */
export function encodeSignedWithSpans(msg: Message, cred: SigningCredentials, beforeSigning?: (bytes: Uint8Array, encoded: EncodedMessage) => void, extra: readonly Uint8Array[] = []): EncodedMessage {
  const len = placeSignature(msg, cred);
  const encoded = encodeMessageWithSpans(msg);
  const bytes = encoded.bytes;
  if (beforeSigning) beforeSigning(bytes, encoded);
  bytes.set(rsaSignature(cred, bytes.subarray(0, bytes.length - len), extra), bytes.length - len);
  return encoded;
}

export function signPlaceholder(): SignPayload {
  return { type: PayloadType.Sign, sType: SignType.RsaPkcs1, signature: new Uint8Array(0) };
}

/**
 * The peer's verified public key: from its CERT payloads, checked up to a trust anchor at the
 * given time, or from `peerKey` by its identity. Throws Invalid Cert / Auth failure.
 */
export function peerPublicKey(msg: Message, trust: PeerTrust, id: Identity | undefined, at: number, usage: KeyUsageName): { key: KeyObject; cert?: X509Certificate } {
  const certs = payloadsOf(msg, PayloadType.Cert);
  if (certs.length) {
    for (const c of certs) if (c.certType !== CertType.X509v3 && c.certType !== CertType.X509v3Sign) {
      throw new MikeyProtocolError(ErrorNo.InvalidCert, `certificate type ${c.certType} is not supported here (X.509v3 by value)`);
    }
    const [leaf, ...chain] = certs.map((c) => parseCertificate(c.data));
    const anchors = (trust.trustAnchors ?? []).map(toCert);
    if (!anchors.length) throw new MikeyProtocolError(ErrorNo.InvalidCert, 'no trust anchors configured');
    return { key: validateChain(leaf!, chain, { trustAnchors: anchors, at, usage }), cert: leaf };
  }
  const k = trust.peerKey?.(id);
  if (!k) throw new MikeyProtocolError(ErrorNo.InvalidCert, 'no certificate sent and no key known for this peer');
  if (k instanceof X509Certificate) return { key: k.publicKey, cert: k };
  return { key: typeof k === 'string' ? createPublicKey(k) : k };
}

/** The bytes a SIGN payload (last) covers: every byte before its signature; the replay identity of the message. */
export function signedBytes(msg: Message & { bytes: Uint8Array }): Uint8Array {
  const sign = msg.payloads.at(-1) as SignPayload;
  return msg.bytes.subarray(0, sign.span!.end - sign.signature.length);
}

/** Verify the SIGN payload (last) over every byte before its signature. Throws Auth failure. */
export function verifySigned(msg: Message & { bytes: Uint8Array }, key: KeyObject, trust: PeerTrust, extra: readonly Uint8Array[] = []): void {
  verifySignature(msg, key, trust.acceptHashes ?? ['sha256'], extra);
}

/** Verify the RSA signature of the SIGN payload (last) over every byte before it, then `extra`, with one of `hashes`. */
export function verifySignature(msg: Message & { bytes: Uint8Array }, key: KeyObject, hashes: readonly RsaHash[], extra: readonly Uint8Array[] = []): void {
  const sign = msg.payloads.at(-1);
  if (!sign || sign.type !== PayloadType.Sign) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'no SIGN payload');
  if (sign.sType !== SignType.RsaPkcs1 && sign.sType !== SignType.RsaPss) {
    throw new MikeyProtocolError(ErrorNo.AuthFailure, `signature type ${sign.sType} is not RSA`);
  }
  const covered = msg.bytes.subarray(0, sign.span!.end - sign.signature.length);
  const scheme = sign.sType === SignType.RsaPss ? 'pss' : 'pkcs1-v1_5';
  const data = extra.length ? [covered, ...extra] : covered;
  if (!hashes.some((hash) => rsaVerify(key, data, sign.signature, { scheme, hash }))) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'signature does not verify');
}

/** CHASH of a certificate (RFC 3830 §6.8). */
export function chashOf(cert: X509Certificate, hashFunc: number = HashFunc.Sha256): ChashPayload {
  const alg = hashFunc === HashFunc.Sha1 ? 'sha1' : hashFunc === HashFunc.Md5 ? 'md5' : 'sha256';
  return { type: PayloadType.Chash, hashFunc, hash: new Uint8Array(createHash(alg).update(cert.raw).digest()) };
}
