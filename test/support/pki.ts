// The test PKI in test/fixtures/pki: a CA, and keys and certificates it issued (alice, bob,
// mallory, the key service).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A file of the test PKI, as text. */
export const pki = (f: string): string => readFileSync(join(process.cwd(), 'test', 'fixtures', 'pki', f), 'utf8');
export const CA = pki('ca.pem');
/** A peer's key and certificate, with the CA as its trust anchor. */
export const credentials = (name: string): { privateKey: string; certificate: string; trustAnchors: string[] } => ({
  privateKey: pki(`${name}.key`), certificate: pki(`${name}.pem`), trustAnchors: [CA],
});
