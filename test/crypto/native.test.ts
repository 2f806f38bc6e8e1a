// The optional native field core (native/ibc.c via src/crypto/native.ts): it must load when
// MIKEY_REQUIRE_NATIVE=1, give the TypeScript path's values on both of its backends, and the
// TypeScript path (MIKEY_NATIVE=0) must still pass the RFC 6508/5091 vector tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeIbc, nativeStatus, setNativeEnabled } from '../../src/crypto/native.js';
import { SakkeKmsPublicKey, SakkeReceiver, sakkeDecapsulate, sakkeEncapsulate, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1, sakkeValidateRsk } from '../../src/crypto/sakke.js';
import { SakkeLines, finalExpSakke, millerSakke } from '../../src/crypto/pairing/tate.js';
import { sqrtMod3 } from '../../src/crypto/pairing/field.js';
import { Curve, FixedBaseTable } from '../../src/crypto/pairing/curve.js';
import { p256 } from '@noble/curves/nist.js';
import { CryptoError } from '../../src/crypto/errors.js';
import { EccsiVerifier, eccsiComputeY, eccsiKmsSetup, eccsiMakeSskPvt, eccsiSign, eccsiValidateSsk, eccsiVerify } from '../../src/crypto/eccsi.js';
import { createHmac } from 'node:crypto';
import { seededRandom } from './hex.js';

const P1 = sakkeParamSet1;
const C = P1.curve;
const here = dirname(fileURLToPath(import.meta.url));

test('the native core loads when MIKEY_REQUIRE_NATIVE=1', () => {
  const s = nativeStatus();
  if (process.env.MIKEY_REQUIRE_NATIVE === '1') assert.equal(s.loaded, true, `native core required but not loaded: ${s.problem}`);
  if (process.env.MIKEY_NATIVE === '0') assert.equal(s.loaded, false);
});

/** Runs `fn` on the TypeScript path and on the native core (each backend), expecting one value. */
function bothPaths<T>(fn: () => T): T {
  setNativeEnabled(false);
  const ts = fn();
  const nat = nativeIbc();
  setNativeEnabled(true);
  const n = nativeIbc();
  if (n) {
    const was = n.backend();
    for (const b of ['c', 'openssl'] as const) {
      n.setBackend(b);
      assert.deepEqual(fn(), ts, `native (${n.backend()}) differs from TypeScript`);
    }
    n.setBackend(was);
  }
  assert.equal(nat, null);
  return ts;
}

test('native and TypeScript paths agree: pairing, cached lines, scalar multiplication, square roots', { skip: !nativeStatus().loaded && 'native core not built' }, () => {
  const rnd = seededRandom('native');
  const scalar = () => BigInt('0x' + Buffer.from(rnd(136)).toString('hex')) % C.q;
  const A = C.mulBase(scalar())!;
  const B = C.mulBase(scalar())!;
  const [k1, k2, k3] = [scalar(), scalar(), scalar()];
  bothPaths(() => C.mulBase(k1));
  bothPaths(() => C.mulVar(A, k2));
  bothPaths(() => C.mulSecret(B, k3));
  bothPaths(() => C.mulBase(0n));
  bothPaths(() => C.mulVar(A, C.q));
  bothPaths(() => millerSakke(C, A, B));
  bothPaths(() => finalExpSakke(C, millerSakke(C, A, B)));
  const lines = new SakkeLines(C, A);
  bothPaths(() => lines.miller(B));
  bothPaths(() => sqrtMod3(A.x, C.p));
  bothPaths(() => sqrtMod3(A.x + 1n, C.p));
  // a point not of order q: both reject it in the Miller loop
  let T = { x: 5n, y: 0n };
  for (let x = 5n; ; x++) {
    const y = sqrtMod3(x * x * x - 3n * x, C.p);
    if (y !== null && !C.isInSubgroup({ x, y })) {
      T = { x, y };
      break;
    }
  }
  for (const on of [false, true]) {
    setNativeEnabled(on);
    assert.throws(() => millerSakke(C, T, B), (e: unknown) => e instanceof CryptoError && e.code === 'invalid-point');
  }
  setNativeEnabled(true);
});

test('native and TypeScript paths agree on P-256 fixed-base tables (ECCSI KPAK)', { skip: !nativeStatus().loaded && 'native core not built' }, () => {
  const c = p256.Point.CURVE();
  const P256 = new Curve({ p: c.p, q: c.n, a: -3n, b: c.b, P: { x: c.Gx, y: c.Gy } });
  const rnd = seededRandom('p256');
  const B = P256.mulVar(P256.P, 0xC0FFEEn)!;
  const table = new FixedBaseTable(P256, B, 8);
  for (let i = 0; i < 4; i++) {
    const k = BigInt('0x' + Buffer.from(rnd(40)).toString('hex')) % c.n;
    const R = bothPaths(() => table.mul(k));
    const ref = p256.Point.fromAffine({ x: B.x, y: B.y }).multiply(k).toAffine();
    assert.deepEqual(R, { x: ref.x, y: ref.y });
  }
  assert.equal(bothPaths(() => table.mul(0n)), null);
  assert.equal(bothPaths(() => table.mul(c.n)), null);
});

test('P-256 natively (OpenSSL EC API) when MIKEY_REQUIRE_NATIVE=1: ECCSI agrees with the TypeScript path', { skip: !nativeStatus().loaded && 'native core not built' }, () => {
  if (process.env.MIKEY_REQUIRE_NATIVE === '1') assert.equal(nativeStatus().p256, true, 'P-256 functions of the native core not available');
  const rnd = seededRandom('native eccsi');
  const kms = bothPaths(() => eccsiKmsSetup(seededRandom('native eccsi kms')));
  const enc = new TextEncoder();
  const ids = ['2011-02\0tel:+447700900123\0', 'alice', ''].map((s) => enc.encode(s));
  const msg = rnd(77);
  for (const id of ids) {
    const seed = rnd(32);
    const uk = bothPaths(() => eccsiMakeSskPvt(kms, id, { random: seededRandom(Buffer.from(seed).toString('hex')) }));
    assert.deepEqual(bothPaths(() => eccsiValidateSsk(kms.kpak, id, uk.ssk, uk.pvt)), uk.hs);
    bothPaths(() => eccsiComputeY(kms.kpak, id, uk.pvt));
    const sig = bothPaths(() => eccsiSign(kms.kpak, id, uk.ssk, uk.pvt, msg, { random: seededRandom(Buffer.from(seed).toString('hex')) }));
    assert.equal(bothPaths(() => eccsiVerify(kms.kpak, id, msg, sig)), true);
    assert.equal(bothPaths(() => new EccsiVerifier(kms.kpak).verify(id, msg, sig)), true);
    // flips in r, s and the message: both paths say false
    for (const at of [0, 31, 32, 63]) {
      const bad = new Uint8Array(sig);
      bad[at]! ^= 1;
      assert.equal(bothPaths(() => eccsiVerify(kms.kpak, id, msg, bad)), false);
    }
    assert.equal(bothPaths(() => eccsiVerify(kms.kpak, id, rnd(5), sig)), false);
    // a wrong SSK and a PVT off the curve: the same typed errors
    const wrong = new Uint8Array(uk.ssk);
    wrong[31]! ^= 1;
    for (const on of [false, true]) {
      setNativeEnabled(on);
      assert.throws(() => eccsiValidateSsk(kms.kpak, id, wrong, uk.pvt), (e: unknown) => e instanceof CryptoError && e.code === 'invalid-key');
      const off = new Uint8Array(uk.pvt);
      off[64]! ^= 1;
      assert.throws(() => eccsiValidateSsk(kms.kpak, id, uk.ssk, off), (e: unknown) => e instanceof CryptoError && e.code === 'invalid-point');
      const badSig = new Uint8Array(sig);
      badSig[128]! ^= 1;
      assert.throws(() => eccsiVerify(kms.kpak, id, msg, badSig), (e: unknown) => e instanceof CryptoError && e.code === 'invalid-point');
      assert.throws(() => eccsiVerify(off, id, msg, sig), (e: unknown) => e instanceof CryptoError && e.code === 'invalid-point');
    }
    setNativeEnabled(true);
  }
  const n = nativeIbc();
  if (n && nativeStatus().p256) {
    // the helpers beneath: HMAC-SHA-256 and the modular inverse
    const key = rnd(32);
    const data = rnd(100);
    assert.deepEqual(Buffer.from(n.hmacSha256(key, data)), createHmac('sha256', key).update(data).digest());
    const q = p256.Point.CURVE().n;
    const a = 0x1234567890abcdefn;
    for (const m of [q, p256.Point.CURVE().p]) {
      const inv: bigint = BigInt('0x' + Buffer.from(n.fpInv(Buffer.from(m.toString(16), 'hex'), Buffer.from(a.toString(16).padStart(64, '0'), 'hex'))).toString('hex'));
      assert.equal((inv * a) % m, 1n);
      assert.equal(BigInt('0x' + Buffer.from(n.fpInv(Buffer.from(m.toString(16), 'hex'), new Uint8Array(32))).toString('hex')), 0n);
    }
    // [k]G and a linear combination against @noble/curves; infinity is null
    const G = p256.Point.BASE;
    const k = 0xC0FFEEn;
    const kb = Buffer.from(k.toString(16).padStart(64, '0'), 'hex');
    assert.deepEqual(Buffer.from(n.p256MulG(kb)!), Buffer.from(G.multiply(k).toBytes(false)));
    assert.equal(n.p256MulG(Buffer.from(q.toString(16), 'hex')), null);
    const A = G.multiply(77n).toBytes(false);
    const T = n.p256Table(G.multiply(99n).toBytes(false));
    const one = Buffer.alloc(32);
    one[31] = 1;
    const lin = n.p256Lin(kb, Buffer.concat([A, A]), Buffer.concat([kb, one]), T, kb)!;
    assert.deepEqual(Buffer.from(lin), Buffer.from(G.multiply(k).add(G.multiply(77n * k + 77n)).add(G.multiply(99n * k)).toBytes(false)));
    const minusA = G.multiply(77n).negate().toBytes(false);
    assert.equal(n.p256Lin(new Uint8Array(0), Buffer.concat([A, minusA]), Buffer.concat([one, one]), null, new Uint8Array(0)), null);
    const off = new Uint8Array(A);
    off[64]! ^= 1;
    assert.equal(n.p256Check(off), false);
    assert.equal(n.p256Check(A), true);
    assert.throws(() => n.p256Lin(kb, off, kb, null, new Uint8Array(0)), /bad point/);
    assert.throws(() => n.p256Table(off), /bad point/);
  }
});

test('native and TypeScript paths agree on SAKKE end to end', { skip: !nativeStatus().loaded && 'native core not built' }, () => {
  const rnd = seededRandom('native sakke');
  const kms = sakkeKmsSetup(P1, rnd);
  const id = new TextEncoder().encode('2011-02\0tel:+447700900123\0');
  const rsk = sakkeMakeRsk(P1, kms.z, id, rnd);
  const pub = new SakkeKmsPublicKey(P1, kms.zS);
  const ssv = rnd(16);
  const enc = bothPaths(() => sakkeEncapsulate(P1, pub, id, { ssv }).encapsulatedData);
  bothPaths(() => sakkeDecapsulate(P1, pub, id, rsk, enc));
  bothPaths(() => sakkeValidateRsk(P1, pub, id, rsk));
  bothPaths(() => new SakkeReceiver(P1, pub, id, rsk).decapsulate(enc));
  assert.equal(sakkeValidateRsk(P1, pub, id, rsk), true);
  // one-shot KMS public key (no tables, nothing kept): the same values
  const once = new SakkeKmsPublicKey(P1, kms.zS, { tables: false });
  assert.deepEqual(bothPaths(() => sakkeEncapsulate(P1, once, id, { ssv }).encapsulatedData), enc);
  assert.deepEqual(bothPaths(() => sakkeDecapsulate(P1, once, id, rsk, enc)), ssv);
  assert.equal(bothPaths(() => sakkeValidateRsk(P1, once, id, rsk)), true);
  assert.equal(bothPaths(() => sakkeValidateRsk(P1, once, new TextEncoder().encode('someone else'), rsk)), false);
  // an RSK on the curve but not of order q is refused by the one-shot path too
  const bad = C.encodePoint(C.add(C.decodePoint(rsk), { x: 0n, y: 0n })!);
  assert.equal(C.isInSubgroup(C.decodePoint(bad)), false);
  assert.equal(bothPaths(() => sakkeValidateRsk(P1, once, id, bad)), false);
  assert.equal(bothPaths(() => sakkeValidateRsk(P1, pub, id, bad)), false);
});

test('a recipient comb table (native, from the second use of an identifier) gives the two shared tables\' values, and is kept for 8 identifiers', { skip: !nativeStatus().loaded && 'native core not built' }, () => {
  const n = nativeIbc()!;
  const rnd = seededRandom('native comb');
  const kms = sakkeKmsSetup(P1, rnd);
  const once = new SakkeKmsPublicKey(P1, kms.zS, { tables: false });
  const I = once.identityPoint(0x1234567890n);
  // [k]I by the comb against the variable-base multiplication, edge scalars included
  const scalars = [0n, 1n, 2n, 3n, C.q - 1n, C.q - 2n, (1n << 1020n) + 1n, (1n << 1021n) - 1n];
  for (let i = 0; i < 4; i++) scalars.push(BigInt('0x' + Buffer.from(rnd(136)).toString('hex')) % C.q);
  for (const s of [1, 2, 4]) {
    const table = C.nativeCombTable(n, I, s)!;
    assert.equal(table.length, s * 255 * 2 * 128);
    for (const k of scalars) {
      for (const b of ['c', 'openssl'] as const) {
        n.setBackend(b);
        assert.deepEqual(C.toAffine(C.nativeCombMulJac(n, table, k, s)), C.mulVar(I, k), `s = ${s}, k = ${k.toString(16)}`);
      }
    }
    // a scalar longer than the table covers, a table of another size: refused
    const L = C.L;
    const long = new Uint8Array(L + 1);
    long[0] = 1;
    assert.throws(() => n.ecCombMul(Buffer.from(C.p.toString(16), 'hex'), table, 1022, s, long), /scalar too long/);
    assert.throws(() => n.ecCombMul(Buffer.from(C.p.toString(16), 'hex'), table.subarray(0, table.length - 8), 1022, s, new Uint8Array(L)), /bad table/);
  }
  n.setBackend('openssl');
  // end to end: the third encapsulation to an identifier runs on its comb table; the values are
  // those of the TypeScript path (the shared tables of P and Z_S) and of the one-shot key
  const pub = new SakkeKmsPublicKey(P1, kms.zS);
  const enc = new TextEncoder();
  const ids = Array.from({ length: 10 }, (_, i) => enc.encode(`2011-02\0tel:+44770090${String(i).padStart(4, '0')}\0`));
  for (const id of ids.slice(0, 2)) {
    const rsk = sakkeMakeRsk(P1, kms.z, id, rnd);
    const ssv = rnd(16);
    setNativeEnabled(false);
    const ts = sakkeEncapsulate(P1, pub, id, { ssv }).encapsulatedData;
    setNativeEnabled(true);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(sakkeEncapsulate(P1, pub, id, { ssv }).encapsulatedData, ts);
      assert.deepEqual(sakkeDecapsulate(P1, pub, id, rsk, ts), ssv);
    }
    assert.deepEqual(sakkeEncapsulate(P1, once, id, { ssv }).encapsulatedData, ts);
    // a tampered R is still refused on the comb path
    const bad = new Uint8Array(ts);
    bad[bad.length - 1]! ^= 1;
    assert.throws(() => sakkeDecapsulate(P1, pub, id, rsk, bad), (e: unknown) => e instanceof CryptoError && e.code === 'decapsulation-failed');
  }
  // bounded: ten identifiers used twice each leave the last eight (and their tables)
  for (const id of ids) for (let i = 0; i < 2; i++) sakkeEncapsulate(P1, pub, id);
  const kept = (pub as unknown as { identities: Map<bigint, { comb?: Uint8Array | null }> }).identities;
  assert.equal(kept.size, 8);
  assert.ok([...kept.values()].every((e) => e.comb instanceof Uint8Array));
  // the TypeScript path with tables already built natively still gives the same values
  setNativeEnabled(false);
  const ssv = rnd(16);
  const ts = sakkeEncapsulate(P1, pub, ids[9]!, { ssv }).encapsulatedData;
  setNativeEnabled(true);
  assert.deepEqual(sakkeEncapsulate(P1, pub, ids[9]!, { ssv }).encapsulatedData, ts);
});

test('the TypeScript path alone (MIKEY_NATIVE=0) passes the SAKKE, pairing and ECCSI vector tests', { skip: (!nativeStatus().loaded || process.env.MIKEY_NATIVE === '0') && 'runs only beside a loaded native core' }, () => {
  const files = ['sakke.test.js', 'pairing.test.js', 'eccsi.test.js', 'nonce.test.js', 'native.test.js'].map((f) => join(here, f));
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], {
    env: { ...process.env, MIKEY_NATIVE: '0', MIKEY_REQUIRE_NATIVE: '0' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  assert.equal(r.status, 0, `TypeScript path failed:\n${r.stdout.slice(-4000)}\n${r.stderr}`);
});
