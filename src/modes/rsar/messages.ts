// RSA-R, the reverse public-key method (RFC 4738 §3), unicast and group mode, and updates
// (RFC 3830 §4.5).
//   I_MESSAGE = HDR, T, [RAND], [IDi|CERTi], [IDr], {SP}, SIGNi                     (V = 1)
//   R_MESSAGE = HDR, [GenExt(CSB_ID)], T, [RAND], [IDr|CERTr], [SP], KEMAC, PKE, SIGNr
// The responder picks the envelope key and the TGK: KEMAC = E(encr_key, IDr || {TGK}) || MAC,
// the MAC over the KEMAC alone with its Next payload zeroed (RFC 3830 §5.2, the public-key
// rule; RFC 4738 §3.6 "calculated over the KEMAC payload"); PKE = E(PKi, env_key);
// SIGNr over R_MESSAGE up to the signature field || IDi || IDr || T (RFC 4738 §3.6 with the
// RFC 3830 §5.2 procedure it defers to in §3.3).
// RAND: the I_MESSAGE's when it has one, else the R_MESSAGE's (§3.5, §3.6); in group mode
// always the responder's. CSB ID for every key derivation: the HDR's, or in group mode the
// General Extension CSB_ID (§3.6: "MUST use that value in key material computation").
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { DecodedMessage } from '../../wire/decode.js';
import { CertType, ErrorNo, PayloadType } from '../../wire/registry.js';
import { policyParams } from '../../wire/sp.js';
import type { CertPayload, Message, SpPayload, TPayload } from '../../wire/types.js';
import { keyUsageOf, parseCertificate, validateChain, type KeyUsageName } from '../../session/certs.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { payloadsOf, splitIds } from '../kit/common.js';
import type { Identity } from '../../session/identity.js';
import { peerPublicKey, toCert, type PeerTrust, type SigningCredentials } from '../kit/signature.js';

/**
 * Fetches a certificate named by URL (CERT type X.509v3 URL, RFC 4738 §3.8: HTTP, DER as
 * application/pkix-cert). The application does the network I/O; the library never does.
 */
export type CertificateResolver = (url: string) => Promise<Uint8Array | string>;

/** How the envelope key travels (RFC 3830 §4.2.5). Both sides must agree. */
export interface EnvelopeOptions {
  padding?: 'pkcs1-v1_5' | 'oaep';
  oaepHash?: 'sha1' | 'sha256';
  /** Envelope key length in bytes (default 16). */
  keyLength?: number;
}

export interface Credentials extends SigningCredentials, PeerTrust {
  /** Send our certificate as a URL (CERT type 1) instead of by value. */
  certificateUrl?: string;
  /** Fetches the peer's certificate when it is sent by URL. */
  certificateResolver?: CertificateResolver;
}

export const hexOf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const spKey = (sp: SpPayload) => `${sp.protType}|${policyParams(sp).map((p) => `${p.type}:${hexOf(p.value)}`).join(',')}`;

export function privateKeyOf(k: KeyObject | string): KeyObject {
  return typeof k === 'string' ? createPrivateKey(k) : k;
}

/** CERT payloads: ours by value (X.509v3, DER) or by URL (RFC 4738 §3.8), then the chain by value. */
export function certPayloadsOf(c: Credentials): CertPayload[] {
  const chain = (c.chain ?? []).map((x): CertPayload => ({ type: PayloadType.Cert, certType: CertType.X509v3, data: new Uint8Array(toCert(x).raw) }));
  if (c.certificateUrl) return [{ type: PayloadType.Cert, certType: CertType.X509v3Url, data: new TextEncoder().encode(c.certificateUrl) }, ...chain];
  if (c.certificate) return [{ type: PayloadType.Cert, certType: CertType.X509v3, data: new Uint8Array(toCert(c.certificate).raw) }, ...chain];
  return [];
}

/**
 * The peer's public key from its CERT payloads (by value, or by URL through the resolver),
 * validated to a trust anchor at `at` for every usage asked; or, without certificates, from
 * `peerKey` by identity. `verify` checks the message signature with the leaf's key before the
 * chain is validated, so a forged message costs one RSA verification, not a chain validation.
 * Throws Invalid Cert or Auth failure.
 */
export async function peerKeyOf(msg: Message, c: Credentials, anchors: readonly X509Certificate[], id: Identity | undefined, at: number, usages: readonly KeyUsageName[], verify: (key: KeyObject) => void): Promise<{ key: KeyObject; cert?: X509Certificate }> {
  const certs = payloadsOf(msg, PayloadType.Cert);
  if (!certs.length) {
    const found = peerPublicKey(msg, c, id, at, usages[0]!);
    verify(found.key);
    return found;
  }
  const parsed: X509Certificate[] = [];
  for (const p of certs) {
    if (p.certType === CertType.X509v3Url) {
      if (!c.certificateResolver) throw new MikeyProtocolError(ErrorNo.InvalidCert, 'certificate sent by URL and no resolver configured');
      const url = Buffer.from(p.data).toString('latin1');
      if (!/^[\x21-\x7e]+$/.test(url)) throw new MikeyProtocolError(ErrorNo.InvalidCert, 'certificate URL is not printable ASCII');
      let fetched: Uint8Array | string;
      try {
        fetched = await c.certificateResolver(url);
      } catch (e) {
        throw new MikeyProtocolError(ErrorNo.InvalidCert, `certificate ${url} could not be fetched`, { cause: e });
      }
      parsed.push(parseCertificate(fetched));
    } else if (p.certType === CertType.X509v3 || p.certType === CertType.X509v3Sign || p.certType === CertType.X509v3Encr) {
      parsed.push(parseCertificate(p.data));
    } else throw new MikeyProtocolError(ErrorNo.InvalidCert, `certificate type ${p.certType} is not supported`);
  }
  if (!anchors.length) throw new MikeyProtocolError(ErrorNo.InvalidCert, 'no trust anchors configured');
  const [leaf, ...chain] = parsed as [X509Certificate, ...X509Certificate[]];
  let leafKey: KeyObject;
  try {
    leafKey = leaf.publicKey;
  } catch (e) {
    throw new MikeyProtocolError(ErrorNo.InvalidCert, 'certificate with an unreadable public key', { cause: e });
  }
  verify(leafKey);
  const key = validateChain(leaf, chain, { trustAnchors: anchors, at, usage: usages[0]! });
  const ku = keyUsageOf(leaf);
  for (const u of usages.slice(1)) if (ku && !ku.has(u)) throw new MikeyProtocolError(ErrorNo.InvalidCert, `certificate "${leaf.subject}" does not allow ${u}`);
  return { key, cert: leaf };
}

/** SIGNr input after the message bytes (RFC 4738 §3.6): IDi || IDr || T, as carried in ID and T payloads. */
export function signrExtra(idi: Identity | undefined, idr: Identity | undefined, t: TPayload): Uint8Array[] {
  return [idi?.data ?? new Uint8Array(0), idr?.data ?? new Uint8Array(0), t.value];
}

/**
 * The identities SIGNr appends: IDi as carried in the I_MESSAGE's ID payload, IDr as carried in
 * the R_MESSAGE's clear ID payload, else in the I_MESSAGE's (empty when not carried).
 */
export function signedIdentities(iMsg: Message, rClearIdr: Identity | undefined): { idi?: Identity; idr?: Identity } {
  const { idi, idr } = splitIds(iMsg as DecodedMessage);
  return { idi, idr: rClearIdr ?? idr };
}

export const sameSp = (a: SpPayload, b: SpPayload) => spKey(a) === spKey(b);
