// RFC 6508 SAKKE with RFC 6509 Parameter Set 1: App. A step by step, round trips, rejection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CryptoError } from '../../src/crypto/errors.js';
import {
  SakkeKmsPublicKey,
  SakkeReceiver,
  hashToIntegerRange,
  hashToIntegerRangeTrace,
  sakkeDecapsulate,
  sakkeEncapsulate,
  sakkeEncapsulatedDataLength,
  sakkeGPowR,
  sakkeKmsKeysFromSecret,
  sakkeKmsSetup,
  sakkeMakeRsk,
  sakkePair,
  sakkeParamSet1,
  sakkeValidateRsk,
} from '../../src/crypto/sakke.js';
import { bigIntToBytes } from '../../src/crypto/pairing/field.js';
import { Curve } from '../../src/crypto/pairing/curve.js';
import { big, hex, seededRandom, toHex } from './hex.js';

const P1 = sakkeParamSet1;
const C = P1.curve;
const L = C.L;

// RFC 6508 App. A
const V = {
  z: hex('AFF429D3 5F84B110 D094803B 3595A6E2 998BC99F'),
  Zx: big(`5958EF1B 1679BF09 9B3A030D F255AA6A 23C1D8F1 43D4D23F 753E69BD 27A832F3
           8CB4AD53 DDEF4260 B0FE8BB4 5C4C1FF5 10EFFE30 0367A37B 61F701D9 14AEF097
           24825FA0 707D61A6 DFF4FBD7 273566CD DE352A0B 04B7C16A 78309BE6 40697DE7
           47613A5F C195E8B9 F328852A 579DB8F9 9B1D0034 479EA9C5 595F47C4 B2F54FF2`),
  Zy: big(`1508D375 14DCF7A8 E143A605 8C09A6BF 2C9858CA 37C25806 5AE6BF75 32BC8B5B
           63383866 E0753C5A C0E72709 F8445F2E 6178E065 857E0EDA 10F68206 B63505ED
           87E534FB 2831FF95 7FB7DC61 9DAE6130 1EEACC2F DA3680EA 4999258A 833CEA8F
           C67C6D19 487FB449 059F26CC 8AAB655A B58B7CC7 96E24E9A 39409575 4F5F8BAE`),
  b: hex('3230 31312D30 32007465 6C3A2B34 34373730 30393030 31323300'),
  SSV: hex('12345678 9ABCDEF0 12345678 9ABCDEF0'),
  r: big(`13EE3E1B 8DAC5DB1 68B1CEB3 2F0566A4 C273693F 78BAFFA2 A2EE6A68 6E6BD90F
          8206CCAB 84E7F42E D39BD4FB 131012EC CA2ECD21 19414560 C17CAB46 B956A80F
          58A3302E B3E2C9A2 28FBA7ED 34D8ACA2 392DA1FF B0B17B23 20AE09AA EDFD0235
          F6FE0EB6 5337A63F 9CC97728 B8E5AD04 60FADE14 4369AA5B 21662132 47712096`),
  Rbx: big(`44E8AD44 AB8592A6 A5A3DDCA 5CF896C7 18043606 A01D650D EF37A01F 37C228C3
            32FC3173 54E2C274 D4DAF8AD 001054C7 6CE57971 C6F4486D 57230432 61C506EB
            F5BE438F 53DE04F0 67C776E0 DD3B71A6 29013328 3725A532 F21AF145 126DC1D7
            77ECC27B E50835BD 28098B8A 73D9F801 D893793A 41FF5C49 B87E79F2 BE4D56CE`),
  Rby: big(`557E134A D85BB1D4 B9CE4F8B E4B08A12 BABF55B1 D6F1D7A6 38019EA2 8E15AB1C
            9F76375F DD1210D4 F4351B9A 009486B7 F3ED46C9 65DED2D8 0DADE4F3 8C6721D5
            2C3AD103 A10EBD29 59248B4E F006836B F097448E 6107C9ED EE9FB704 823DF199
            F832C905 AE45F8A2 47A072D8 EF729EAB C5E27574 B07739B3 4BE74A53 2F747B86`),
  gr: big(`7D2A8438 E6291C64 9B6579EB 3B79EAE9 48B1DE9E 5F7D1F40 70A08F8D B6B3C515
           6F2201AF FBB5CB9D 82AA3EC0 D0398B89 ABC78A13 A760C0BF 3F77E63D 0DF3F1A3
           41A41B88 11DF197F D6CD0F00 3125606F 4F109F40 0F7292A1 0D255E3C 0EBCCB42
           53FB182C 68F09CF6 CD9C4A53 DA6C74AD 007AF36B 8BCA979D 5895E282 F483FCD6`),
  mask: big('9BD4EA1E 801D37E6 2AD2FAB0 D4F5BBF7'),
  H: hex('89E0BC66 1AA1E916 38E6ACC8 4E496507'),
  Kbx: big(`93AF67E5 007BA6E6 A80DA793 DA300FA4 B52D0A74 E25E6E7B 2B3D6EE9 D18A9B5C
            5023597B D82D8062 D3401956 3BA1D25C 0DC56B7B 979D74AA 50F29FBF 11CC2C93
            F5DFCA61 5E609279 F6175CEA DB00B58C 6BEE1E7A 2A47C4F0 C456F052 59A6FA94
            A634A40D AE1DF593 D4FECF68 8D5FC678 BE7EFC6D F3D68353 25B83B2C 6E69036B`),
  Kby: big(`155F0A27 241094B0 4BFB0BDF AC6C670A 65C325D3 9A069F03 659D44CA 27D3BE8D
            F311172B 55416018 1CBE94A2 A783320C ED590BC4 2644702C F371271E 496BF20F
            588B78A1 BC01ECBB 6559934B DD2FB65D 2884318A 33D1A42A DF5E33CC 5800280B
            28356497 F87135BA B9612A17 26042440 9AC15FEE 996B744C 33215123 5DECB0F5`),
  // HashToIntegerRange( M, q, SHA-256 ) example
  M: hex('12345678 9ABCDEF0 12345678 9ABCDEF0 32303131 2D303200 74656C3A 2B343437 37303039 30303132 3300'),
  A: hex('E04D4EF6 9DF86893 22B39AE3 80284617 4A93BEDB 1E3D2A2C 5F2C7EA0 05513EBA'),
  h: [
    hex('00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000'),
    hex('66687AAD F862BD77 6C8FC18B 8E9F8E20 08971485 6EE233B3 902A591D 0D5F2925'),
    hex('2B32DB6C 2C0A6235 FB1397E8 225EA85E 0F0E6E8C 7B126D00 16CCBDE0 E667151E'),
    hex('12771355 E46CD47C 71ED1721 FD5319B3 83CCA3A1 F9FCE3AA 1C8CD3BD 37AF20D7'),
    hex('FE15C0D3 EBE314FA D720A08B 839A004C 2E6386F5 AECC19EC 74807D19 20CB6AEB'),
  ],
  v: [
    hex('FA2656CA 1D2DBD79 015AE918 773DFEDC 24957C91 E3C9C335 40D6BF6D 7C3C0055'),
    hex('F016CD67 59620AD7 87669E3A DD887DF6 25895A91 0CEE1486 91A06735 B2F0A248'),
    hex('AC45C6F9 7F83BCE0 A2BBD0A1 4CF4D7F4 CB3590FB FAF93AE7 1C64E426 185710B5'),
    hex('E65D50BD 551A54EF 981F535E 072DE98D 2223ACAD 4621E026 3B0A61EA C56DB078'),
  ],
};

const point = (x: bigint, y: bigint) => C.encodePoint({ x, y });
const Z = point(V.Zx, V.Zy);
const Rb = point(V.Rbx, V.Rby);
const Kb = point(V.Kbx, V.Kby);
const ED = new Uint8Array([...Rb, ...V.H]);
const code = (c: string) => (e: unknown) => e instanceof CryptoError && e.code === c;

let kmsPub: SakkeKmsPublicKey | undefined;
const kms = () => (kmsPub ??= new SakkeKmsPublicKey(P1, Z));
let receiver: SakkeReceiver | undefined;
const recv = () => (receiver ??= new SakkeReceiver(P1, kms(), V.b, Kb));

test('RFC 6509 App. A: Parameter Set 1 is consistent (q | p+1, P of order q, g = <P,P>)', () => {
  assert.equal(C.p % 4n, 3n);
  assert.equal((C.p + 1n) % C.q, 0n);
  assert.equal(C.cofactor, 4n);
  assert.ok(C.q.toString(2).length > 2 * P1.n); // lg(q) > 2n (RFC 6508 §2.1)
  assert.ok(C.isInSubgroup(C.P));
  assert.equal(sakkePair(P1, C.encodePoint(C.P), C.encodePoint(C.P)), P1.g);
  assert.equal(sakkeEncapsulatedDataLength(P1), 273);
});

test('RFC 6508 App. A: HashToIntegerRange(M, q, SHA-256) walk-through (§5.1)', () => {
  const t = hashToIntegerRangeTrace(V.M, C.q);
  assert.equal(toHex(t.A), toHex(V.A));
  assert.equal(t.h.length, 5); // l = Ceiling(lg(q)/256) = 4
  for (let i = 0; i < 5; i++) assert.equal(toHex(t.h[i]!), toHex(V.h[i]!), `h${i}`);
  for (let i = 0; i < 4; i++) assert.equal(toHex(t.v[i]!), toHex(V.v[i]!), `v${i + 1}`);
  assert.equal(t.result, V.r);
});

test('RFC 6508 App. A: the KMS generates Z = [z]P', () => {
  const k = sakkeKmsKeysFromSecret(P1, V.z);
  assert.equal(toHex(k.zS), toHex(Z));
  assert.equal(k.z.length, L);
});

test('RFC 6508 App. A: creating Encapsulated Data (§6.2.1 step by step)', () => {
  // 2) r = HashToIntegerRange(SSV || b, q, Hash)
  assert.equal(hashToIntegerRange(new Uint8Array([...V.SSV, ...V.b]), C.q), V.r);
  // 3) R_(b,S) = [r]([b]P + Z_S)
  const b = BigInt('0x' + Buffer.from(V.b).toString('hex'));
  const R = C.toAffine(kms().mulIdentityPoint(b, V.r));
  assert.deepEqual(R, { x: V.Rbx, y: V.Rby });
  const bPZ = C.add(C.mulVar(C.P, b), kms().Z)!;
  assert.deepEqual(C.mulVar(bPZ, V.r), { x: V.Rbx, y: V.Rby });
  // 4a) g^r in PF_p
  assert.equal(sakkeGPowR(P1, V.r), V.gr);
  // 4b) mask = HashToIntegerRange(g^r, 2^n, Hash); H = SSV XOR mask
  assert.equal(hashToIntegerRange(bigIntToBytes(V.gr, L), 1n << 128n), V.mask);
  const Hcalc = BigInt('0x' + Buffer.from(V.SSV).toString('hex')) ^ V.mask;
  assert.equal(toHex(bigIntToBytes(Hcalc, 16)), toHex(V.H));
  // 5) (R, H)
  const enc = sakkeEncapsulate(P1, kms(), V.b, { ssv: V.SSV });
  assert.equal(enc.encapsulatedData.length, 273);
  assert.equal(toHex(enc.encapsulatedData), toHex(ED));
  assert.equal(toHex(enc.ssv), toHex(V.SSV));
});

test('the first products of P and of [b]P + Z (one variable-base product each) and the later ones (fixed-base tables) agree', () => {
  // a curve and a KMS key of their own, so that this test sees both paths whatever ran before
  const curve = new Curve({ p: C.p, q: C.q, a: C.a, b: C.b, P: C.P });
  const rnd = seededRandom('first products');
  const scalar = (): bigint => BigInt('0x' + Buffer.from(rnd(20)).toString('hex')) % C.q;
  for (let i = 0; i < 10; i++) {
    const k = scalar();
    assert.deepEqual(curve.mulBase(k), C.mulVar(C.P, k), `[k]P, product ${i + 1}`);
  }
  const pub = new SakkeKmsPublicKey(P1, Z);
  for (let i = 0; i < 10; i++) {
    // a new identifier each time (a first contact), so no per-identifier comb table either
    const b = scalar();
    const r = scalar();
    const want = C.mulVar(C.add(C.mulVar(C.P, b), pub.Z)!, r);
    assert.deepEqual(C.toAffine(pub.mulIdentityPoint(b, r)), want, `[r]([b]P + Z), product ${i + 1}`);
  }
});

test('RFC 6508 App. A: the KMS issues Kb = [(b + z)^-1]P, and it validates (§6.1.1, §6.1.2)', () => {
  assert.equal(toHex(sakkeMakeRsk(P1, V.z, V.b)), toHex(Kb));
  assert.equal(sakkeValidateRsk(P1, kms(), V.b, Kb), true);
  assert.equal(sakkeValidateRsk(P1, Z, V.b, Kb), true);
});

test('RFC 6508 App. A: receiver processing (§6.2.2 step by step)', () => {
  // 2) w = <R_(b,S), K_(b,S)> = g^r
  assert.equal(sakkePair(P1, Rb, Kb), V.gr);
  // 3) SSV = H XOR HashToIntegerRange(w, 2^n, Hash)
  assert.equal(hashToIntegerRange(bigIntToBytes(V.gr, L), 1n << 128n), V.mask);
  // 4) r = HashToIntegerRange(SSV || b, q, Hash); 5) TEST = [r]([b]P + Z_S) == R_(b,S)
  const b = BigInt('0x' + Buffer.from(V.b).toString('hex'));
  assert.deepEqual(C.toAffine(kms().mulIdentityPoint(b, V.r)), { x: V.Rbx, y: V.Rby });
  // 6) SSV
  assert.equal(toHex(recv().decapsulate(ED)), toHex(V.SSV));
  assert.equal(toHex(sakkeDecapsulate(P1, Z, V.b, Kb, ED)), toHex(V.SSV));
});

test('SAKKE round trips with fresh KMS keys and identities', () => {
  const rnd = seededRandom('sakke round trip');
  const k = sakkeKmsSetup(P1, rnd);
  const pub = new SakkeKmsPublicKey(P1, k.zS);
  for (let i = 0; i < 2; i++) {
    const id = rnd(5 + 20 * i);
    const rsk = sakkeMakeRsk(P1, k.z, id, rnd);
    assert.equal(sakkeValidateRsk(P1, pub, id, rsk), true);
    const rx = new SakkeReceiver(P1, pub, id, rsk);
    for (let j = 0; j < 2; j++) {
      const enc = sakkeEncapsulate(P1, pub, id, { random: rnd });
      assert.equal(enc.encapsulatedData.length, 273);
      assert.deepEqual(rx.decapsulate(enc.encapsulatedData), enc.ssv);
    }
    // an RSK of another identity neither validates nor decapsulates
    const other = sakkeMakeRsk(P1, k.z, new Uint8Array([...id, 0]), rnd);
    assert.equal(sakkeValidateRsk(P1, pub, id, other), false);
    assert.throws(() => new SakkeReceiver(P1, pub, id, other), code('invalid-key'));
  }
});

test('SAKKE decapsulation rejects a tampered H or R, and hostile R', () => {
  const rx = recv();
  for (const pos of [273 - 16, 273 - 1]) {
    const bad = new Uint8Array(ED);
    bad[pos]! ^= 0x80;
    assert.throws(() => rx.decapsulate(bad), code('decapsulation-failed'), `H byte ${pos}`);
  }
  // R replaced by another point of the group: [2]R
  const R2 = C.encodePoint(C.mulVar({ x: V.Rbx, y: V.Rby }, 2n)!);
  assert.throws(() => rx.decapsulate(new Uint8Array([...R2, ...V.H])), code('decapsulation-failed'));
  // R with a flipped coordinate bit: off the curve
  for (const pos of [1, 100, 200, 256]) {
    const bad = new Uint8Array(ED);
    bad[pos]! ^= 0x01;
    assert.throws(() => rx.decapsulate(bad), code('decapsulation-failed'));
  }
  // R = -R_b (on the curve, in the group, wrong point)
  const neg = C.encodePoint(C.negate({ x: V.Rbx, y: V.Rby })!);
  assert.throws(() => rx.decapsulate(new Uint8Array([...neg, ...V.H])), code('decapsulation-failed'));
  // points outside the order-q subgroup: (0,0) of order 2
  assert.throws(() => rx.decapsulate(new Uint8Array([...C.encodePoint({ x: 0n, y: 0n }), ...V.H])), code('decapsulation-failed'));
  // non-uncompressed encodings and wrong lengths
  const comp = new Uint8Array(ED);
  comp[0] = 2;
  assert.throws(() => rx.decapsulate(comp), code('decapsulation-failed'));
  assert.throws(() => rx.decapsulate(ED.subarray(0, 272)), code('invalid-length'));
  assert.throws(() => rx.decapsulate(new Uint8Array(274)), code('invalid-length'));
  assert.throws(() => rx.decapsulate(new Uint8Array(273)), code('decapsulation-failed'));
});

test('SAKKE rejects keys and points not in the group, and wrong lengths', () => {
  const order2 = C.encodePoint({ x: 0n, y: 0n });
  assert.throws(() => new SakkeKmsPublicKey(P1, order2), code('invalid-point'));
  // a point of order 4q: P + T where T has order 4 is not in E[q]
  const offGroup = findPointOutsideSubgroup();
  assert.throws(() => new SakkeKmsPublicKey(P1, C.encodePoint(offGroup)), code('invalid-point'));
  assert.equal(sakkeValidateRsk(P1, kms(), V.b, C.encodePoint(offGroup)), false);
  assert.throws(() => new SakkeReceiver(P1, kms(), V.b, C.encodePoint(offGroup)), code('invalid-point'));
  const offCurve = new Uint8Array(Z);
  offCurve[5]! ^= 1;
  assert.throws(() => new SakkeKmsPublicKey(P1, offCurve), code('invalid-point'));
  assert.throws(() => new SakkeKmsPublicKey(P1, Z.subarray(1)), code('invalid-length'));
  assert.throws(() => sakkeEncapsulate(P1, kms(), V.b, { ssv: new Uint8Array(15) }), code('invalid-length'));
  assert.throws(() => sakkeEncapsulate(P1, kms(), new Uint8Array(0), { ssv: V.SSV }), code('invalid-length'));
  assert.throws(() => sakkeMakeRsk(P1, new Uint8Array(L + 1), V.b), code('invalid-length'));
  assert.throws(() => sakkeMakeRsk(P1, new Uint8Array([1]), V.b), code('invalid-key'));
  assert.equal(sakkeValidateRsk(P1, kms(), V.b, Kb.subarray(2)), false);
});

function findPointOutsideSubgroup() {
  // x = 1, 2, ...: the first point of the curve whose order is not q
  for (let x = 1n; ; x++) {
    const rhs = (((x * x - 3n) * x) % C.p + C.p) % C.p;
    const y = powMod(rhs, (C.p + 1n) / 4n, C.p);
    if ((y * y) % C.p !== rhs) continue;
    const pt = { x, y };
    if (!C.isInSubgroup(pt)) return pt;
  }
}

function powMod(a: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  a %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * a) % m;
    a = (a * a) % m;
    e >>= 1n;
  }
  return r;
}

test('SAKKE decapsulation of random octet strings fails with a typed error only', () => {
  const rnd = seededRandom('sakke fuzz');
  const rx = recv();
  for (let i = 0; i < 40; i++) {
    const len = i % 4 === 0 ? (rnd(1)[0]! % 2 === 0 ? 272 : 274) : 273;
    const ed = rnd(len);
    if (i % 3 === 0) ed[0] = 4;
    assert.throws(() => rx.decapsulate(ed), (e: unknown) => e instanceof CryptoError && ['invalid-length', 'decapsulation-failed'].includes(e.code));
  }
  // a valid point of the group with a random H: passes the curve check, fails TEST
  const R = C.encodePoint(C.mulBase(123456789n)!);
  for (let i = 0; i < 3; i++) {
    assert.throws(() => rx.decapsulate(new Uint8Array([...R, ...rnd(16)])), code('decapsulation-failed'));
  }
});
