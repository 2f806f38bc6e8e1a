// One sealer for secrets at rest (crypto/sealer.ts): the KMS's SecretBox and the identity-key
// SecretVault write one versioned layout, and what was stored before still opens: SecretBox
// blobs of version 1 and vault records of the first, unversioned layout (IV || ciphertext || tag).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { MasterKeyError, Sealer } from '../../src/crypto/sealer.js';
import { SecretBox } from '../../src/kms/secrets.js';
import { SecretVault } from '../../src/idkms/store.js';

const key = new Uint8Array(32).map((_, i) => i + 1);
const plain = Buffer.from('a ticket protection key, 32 byte');

/** A record as the vault sealed it before the version byte: IV || ciphertext || tag. */
function unversioned(iv: Buffer, aad: string): Buffer {
  const c = createCipheriv('aes-256-gcm', Buffer.from(key), iv);
  c.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, ct, c.getAuthTag()]);
}

test('the vault opens records of its unversioned layout, also one whose IV starts with the version byte', () => {
  const v = new SecretVault(key);
  for (const first of [0x00, 0x01, 0xa7]) {
    const iv = Buffer.alloc(12, 0x5c);
    iv[0] = first;
    assert.deepEqual(Buffer.from(v.open(unversioned(iv, 'secret\0ibe\0' + first), 'secret\0ibe\0' + first)), plain);
  }
  // bound to its label and key, in the old layout too
  assert.throws(() => v.open(unversioned(Buffer.alloc(12, 1), 'a'), 'b'), (e: Error) => e instanceof MasterKeyError && /does not open/.test(e.message));
});

test('a version 1 blob written by SecretBox before (fixed IV) opens with SecretBox and with the vault; new blobs are version 1', () => {
  // version 1 || IV || tag || ciphertext, as SecretBox has always written it
  const iv = Buffer.alloc(12, 9);
  const c = createCipheriv('aes-256-gcm', Buffer.from(key), iv);
  c.setAAD(Buffer.from('credential:alice-phone'));
  const ct = Buffer.concat([c.update(plain), c.final()]);
  const old = Buffer.concat([Buffer.of(1), iv, c.getAuthTag(), ct]);
  assert.deepEqual(Buffer.from(new SecretBox(key).open(old, 'credential:alice-phone')), plain);
  assert.deepEqual(Buffer.from(new SecretVault(key).open(old, 'credential:alice-phone')), plain);
  const sealed = new SecretVault(key, (n) => new Uint8Array(n).fill(3)).seal(plain, 'x');
  assert.equal(sealed[0], 1);
  assert.equal(sealed.length, 1 + 12 + 16 + plain.length);
  assert.deepEqual(Buffer.from(new SecretBox(key).open(sealed, 'x')), plain);
});

test('SecretBox refuses the unversioned layout, altered blobs, other keys and wrong key sizes with MasterKeyError', () => {
  const box = new SecretBox(key);
  assert.throws(() => box.open(unversioned(Buffer.alloc(12, 0x22), 'a'), 'a'), MasterKeyError);
  const sealed = box.seal(plain, 'a');
  for (const i of [0, 5, 20, sealed.length - 1]) {
    const bad = Buffer.from(sealed);
    bad[i]! ^= 0x40;
    assert.throws(() => box.open(bad, 'a'), MasterKeyError);
  }
  assert.throws(() => new SecretBox(new Uint8Array(32).fill(7)).open(sealed, 'a'), /does not open/);
  assert.throws(() => box.open(sealed.subarray(0, 28), 'a'), MasterKeyError);
  assert.throws(() => new Sealer(new Uint8Array(16)), MasterKeyError);
  assert.throws(() => new SecretVault(new Uint8Array(16)), TypeError);
});
