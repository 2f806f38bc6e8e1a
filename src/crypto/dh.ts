// Diffie-Hellman over the OAKLEY MODP groups for MIKEY (RFC 3830 §4.2.7, Table 6.4):
// DH-Group 0 = OAKLEY 5 (RFC 3526 §2, 1536 bits, mandatory), 1 = OAKLEY 1 (RFC 2409 §6.1,
// 768 bits), 2 = OAKLEY 2 (RFC 2409 §6.2, 1024 bits); generator 2 for all.
import { createDiffieHellman, type DiffieHellman } from 'node:crypto';
import { MikeyCryptoError } from './errors.js';

export type DhGroupName = 'OAKLEY-5' | 'OAKLEY-1' | 'OAKLEY-2';

export interface DhGroup {
  readonly name: DhGroupName;
  /** the MIKEY DH-Group code point (RFC 3830 Table 6.4) */
  readonly mikeyId: 0 | 1 | 2;
  readonly bits: number;
  /** prime and DH value length in bytes (RFC 3830 §6.4: value length implied by the group) */
  readonly byteLength: number;
  readonly generator: 2;
  /** p = 2^b - 2^(b-64) - 1 + 2^64 * ([2^(b-130) pi] + c), big-endian hex */
  readonly primeHex: string;
}

// RFC 2409 §6.1: 2^768 - 2^704 - 1 + 2^64 * { [2^638 pi] + 149686 }
const OAKLEY1_HEX =
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74' +
  '020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437' +
  '4FE1356D6D51C245E485B576625E7EC6F44C42E9A63A3620FFFFFFFFFFFFFFFF';

// RFC 2409 §6.2: 2^1024 - 2^960 - 1 + 2^64 * { [2^894 pi] + 129093 }
const OAKLEY2_HEX =
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74' +
  '020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437' +
  '4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED' +
  'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF';

// RFC 3526 §2: 2^1536 - 2^1472 - 1 + 2^64 * { [2^1406 pi] + 741804 }
const OAKLEY5_HEX =
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74' +
  '020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437' +
  '4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED' +
  'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05' +
  '98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB' +
  '9ED529077096966D670C354E4ABC9804F1746C08CA237327FFFFFFFFFFFFFFFF';

function group(name: DhGroupName, mikeyId: 0 | 1 | 2, primeHex: string): DhGroup {
  return Object.freeze({ name, mikeyId, bits: primeHex.length * 4, byteLength: primeHex.length / 2, generator: 2, primeHex });
}

export const DH_GROUPS: Readonly<Record<DhGroupName, DhGroup>> = Object.freeze({
  'OAKLEY-5': group('OAKLEY-5', 0, OAKLEY5_HEX),
  'OAKLEY-1': group('OAKLEY-1', 1, OAKLEY1_HEX),
  'OAKLEY-2': group('OAKLEY-2', 2, OAKLEY2_HEX),
});

/** DH-Group code point -> group (RFC 3830 Table 6.4); unknown -> 'unsupported-algorithm'. */
export function dhGroupByMikeyId(id: number): DhGroup {
  for (const g of Object.values(DH_GROUPS)) if (g.mikeyId === id) return g;
  throw new MikeyCryptoError('unsupported-algorithm', `unknown MIKEY DH-Group ${id}`);
}

function resolve(g: DhGroup | DhGroupName): DhGroup {
  const r = typeof g === 'string' ? (DH_GROUPS as Record<string, DhGroup | undefined>)[g] : g;
  if (!r) throw new MikeyCryptoError('unsupported-algorithm', `unknown DH group ${String(g)}`);
  return r;
}

const primeCache = new Map<DhGroupName, { buf: Buffer; big: bigint }>();

function prime(g: DhGroup): { buf: Buffer; big: bigint } {
  let p = primeCache.get(g.name);
  if (!p) {
    p = { buf: Buffer.from(g.primeHex, 'hex'), big: BigInt('0x' + g.primeHex) };
    primeCache.set(g.name, p);
  }
  return p;
}

function engine(g: DhGroup): DiffieHellman {
  return createDiffieHellman(prime(g).buf, g.generator);
}

function toBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex'));
}

/** Left-pad to the prime length: DH values and secrets are fixed-length big-endian. */
function fixed(b: Uint8Array, len: number): Uint8Array {
  if (b.length > len) throw new MikeyCryptoError('bad-length', 'DH value longer than the prime');
  const out = new Uint8Array(len);
  out.set(b, len - b.length);
  return out;
}

export interface DhKeyPair {
  /** the secret exponent x, big-endian (length as generated) */
  privateKey: Uint8Array;
  /** g^x mod p, exactly byteLength bytes (the DH payload "DH-value") */
  publicKey: Uint8Array;
}

/**
 * New key pair. The exponent comes from OpenSSL unless `privateKey` is given (deterministic
 * tests); OpenSSL uses a short exponent for the 1536-bit safe-prime group (as RFC 3526 §8
 * allows: at least twice the group's security strength) and a full-length one for groups 1, 2.
 */
export function dhGenerateKeyPair(g: DhGroup | DhGroupName, opts: { privateKey?: Uint8Array } = {}): DhKeyPair {
  const grp = resolve(g);
  const dh = engine(grp);
  if (opts.privateKey) {
    const x = toBig(opts.privateKey);
    if (x <= 1n || x >= prime(grp).big - 1n) throw new MikeyCryptoError('bad-parameter', 'DH private exponent must satisfy 1 < x < p-1');
    dh.setPrivateKey(Buffer.from(opts.privateKey));
  }
  dh.generateKeys();
  return { privateKey: new Uint8Array(dh.getPrivateKey()), publicKey: fixed(dh.getPublicKey(), grp.byteLength) };
}

/**
 * Peer value check: exactly byteLength bytes and 1 < y < p-1 (rejects 0, 1, p-1 -- the
 * values that confine the secret to {1, p-1} -- and anything >= p). Throws 'dh-out-of-range'.
 */
export function dhCheckPeerValue(g: DhGroup | DhGroupName, y: Uint8Array): void {
  const grp = resolve(g);
  if (y.length !== grp.byteLength) {
    throw new MikeyCryptoError('dh-out-of-range', `${grp.name} DH value must be ${grp.byteLength} bytes, got ${y.length}`);
  }
  const v = toBig(y);
  if (v <= 1n || v >= prime(grp).big - 1n) throw new MikeyCryptoError('dh-out-of-range', `${grp.name} DH value not in 1 < y < p-1`);
}

/** Shared secret y^x mod p as byteLength big-endian bytes (the DH TGK, RFC 3830 §3.3). */
export function dhComputeSecret(g: DhGroup | DhGroupName, privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  const grp = resolve(g);
  dhCheckPeerValue(grp, peerPublic);
  const x = toBig(privateKey);
  if (x <= 1n || x >= prime(grp).big - 1n) throw new MikeyCryptoError('bad-parameter', 'DH private exponent must satisfy 1 < x < p-1');
  const dh = engine(grp);
  dh.setPrivateKey(Buffer.from(privateKey));
  let s: Buffer;
  try {
    s = dh.computeSecret(Buffer.from(peerPublic));
  } catch {
    throw new MikeyCryptoError('dh-out-of-range', `${grp.name} DH value rejected`);
  }
  const out = fixed(s, grp.byteLength);
  s.fill(0);
  return out;
}
