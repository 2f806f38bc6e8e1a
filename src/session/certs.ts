// Certificates (RFC 3830 §4.3.1): an X.509 chain from the peer's certificate to a configured
// trust anchor, checked for signatures, validity dates at the injected clock, CA flags and key
// usage. node:crypto parses and verifies; the KeyUsage extension is read with @peculiar/asn1-x509.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as AsnSchema from '@peculiar/asn1-schema';
import type * as AsnX509 from '@peculiar/asn1-x509';
import { ErrorNo } from '../wire/registry.js';
import { MikeyProtocolError } from './errors.js';

export type KeyUsageName = 'digitalSignature' | 'keyEncipherment' | 'keyCertSign';

const bad = (reason: string): never => {
  throw new MikeyProtocolError(ErrorNo.InvalidCert, reason);
};

export function parseCertificate(der: Uint8Array | string): X509Certificate {
  try {
    return new X509Certificate(typeof der === 'string' ? der : Buffer.from(der.buffer, der.byteOffset, der.length));
  } catch {
    return bad('not an X.509 certificate');
  }
}

// The ASN.1 reader loads on the first certificate it reads, not with every module that may
// verify a signature (start-up of commands that never see a certificate stays light).
let asn1: { schema: typeof AsnSchema; x509: typeof AsnX509 } | undefined;
function loadAsn1(): { schema: typeof AsnSchema; x509: typeof AsnX509 } {
  if (!asn1) {
    const require = createRequire(import.meta.url);
    asn1 = { schema: require('@peculiar/asn1-schema') as typeof AsnSchema, x509: require('@peculiar/asn1-x509') as typeof AsnX509 };
  }
  return asn1;
}

/** Key usage bits of a certificate, or undefined when it has no KeyUsage extension. */
export function keyUsageOf(cert: X509Certificate): Set<KeyUsageName> | undefined {
  const { schema: { AsnConvert }, x509: { Certificate, KeyUsage, KeyUsageFlags, id_ce_keyUsage } } = loadAsn1();
  let flags: number;
  try {
    const c = AsnConvert.parse(cert.raw, Certificate);
    const ext = c.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_keyUsage);
    if (!ext) return undefined;
    flags = AsnConvert.parse(ext.extnValue, KeyUsage).toNumber();
  } catch {
    return bad(`certificate "${cert.subject}" has a malformed extension`);
  }
  const out = new Set<KeyUsageName>();
  if (flags & KeyUsageFlags.digitalSignature) out.add('digitalSignature');
  if (flags & KeyUsageFlags.keyEncipherment) out.add('keyEncipherment');
  if (flags & KeyUsageFlags.keyCertSign) out.add('keyCertSign');
  return out;
}

export interface ChainCheck {
  /** Trust anchors (self-signed or not): a chain must end at one of them. */
  trustAnchors: readonly X509Certificate[];
  /** The time to check validity at (ms). */
  at: number;
  /** What the leaf key will be used for. */
  usage: KeyUsageName;
}

/**
 * Validate `leaf` (with optional intermediates, in any order) up to a trust anchor. Returns the
 * leaf's public key. Throws Invalid Cert with the reason.
 */
export function validateChain(leaf: X509Certificate, intermediates: readonly X509Certificate[], check: ChainCheck): KeyObject {
  const when = new Date(check.at);
  const inDate = (c: X509Certificate) => {
    if (when < new Date(c.validFrom) || when > new Date(c.validTo)) bad(`certificate "${c.subject}" is not valid at ${when.toISOString()} (${c.validFrom} to ${c.validTo})`);
  };
  const usage = keyUsageOf(leaf);
  if (usage && !usage.has(check.usage)) bad(`certificate "${leaf.subject}" does not allow ${check.usage}`);
  let cur = leaf;
  const pool = [...intermediates];
  for (let depth = 0; depth < 8; depth++) {
    inDate(cur);
    // a pinned certificate is its own anchor
    if (check.trustAnchors.some((a) => a.raw.equals(cur.raw))) return leaf.publicKey;
    const anchor = check.trustAnchors.find((a) => cur.checkIssued(a) && cur.verify(a.publicKey));
    if (anchor) {
      inDate(anchor);
      if (!anchor.ca && !anchor.checkIssued(anchor)) bad(`trust anchor "${anchor.subject}" is not a CA`);
      return leaf.publicKey;
    }
    const i = pool.findIndex((c) => cur.checkIssued(c) && cur.verify(c.publicKey));
    if (i < 0) bad(`no trusted issuer for "${cur.subject}"`);
    const issuer = pool.splice(i, 1)[0]!;
    if (!issuer.ca) bad(`issuer "${issuer.subject}" is not a CA`);
    const iu = keyUsageOf(issuer);
    if (iu && !iu.has('keyCertSign')) bad(`issuer "${issuer.subject}" may not sign certificates`);
    cur = issuer;
  }
  return bad('certificate chain too long');
}
