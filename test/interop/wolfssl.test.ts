// Interop with wolfSSL's ECCSI (RFC 6507) and SAKKE (RFC 6508): keys issued by either side's
// KMS used on the other, signatures and encapsulations made by one side accepted by the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { needPeer } from '../support/peer.js';
import { h, runDriver, unh, wolfsslProblem } from './wolfssl-peer.js';
import { eccsiKmsSetup, eccsiMakeSskPvt, eccsiSign, eccsiValidateSsk, eccsiVerify } from '../../src/crypto/eccsi.js';
import {
  SakkeKmsPublicKey,
  SakkeReceiver,
  sakkeEncapsulate,
  sakkeKmsKeysFromSecret,
  sakkeKmsSetup,
  sakkeMakeRsk,
  sakkeParamSet1,
  sakkeValidateRsk,
} from '../../src/crypto/sakke.js';
import { CryptoError } from '../../src/crypto/errors.js';

const P1 = sakkeParamSet1;
const enc = (s: string) => new TextEncoder().encode(s);
function randomId(): Uint8Array {
  const digits = Array.from(randomBytes(11), (b) => String(b % 10)).join('');
  return enc(`2026-${String(1 + (randomBytes(1)[0]! % 12)).padStart(2, '0')}\0tel:+${digits}\0`);
}

test('wolfSSL ECCSI: our KMS and signatures, verified by wolfSSL; wolfSSL signatures verified by us', (t) => {
  if (!needPeer(t, 'wolfSSL', wolfsslProblem())) return;
  for (let i = 0; i < 3; i++) {
    const kms = eccsiKmsSetup();
    const id = randomId();
    const uk = eccsiMakeSskPvt(kms, id);
    assert.deepEqual(runDriver(['eccsi-validate', h(kms.kpak), h(id), h(uk.ssk), h(uk.pvt)]).lines, ['valid']);
    const msg = randomBytes(20 + i * 40);
    const ours = eccsiSign(kms.kpak, id, uk.ssk, uk.pvt, msg);
    assert.equal(runDriver(['eccsi-verify', h(kms.kpak), h(id), h(msg), h(ours)]).status, 0);
    const bad = new Uint8Array(ours);
    bad[40]! ^= 1;
    assert.equal(runDriver(['eccsi-verify', h(kms.kpak), h(id), h(msg), h(bad)]).status, 1);
    const theirs = unh(runDriver(['eccsi-sign', h(kms.kpak), h(id), h(uk.ssk), h(uk.pvt), h(msg)]).lines[0]!);
    assert.equal(theirs.length, 129);
    assert.equal(eccsiVerify(kms.kpak, id, msg, theirs), true);
    assert.equal(eccsiVerify(kms.kpak, id, new Uint8Array([...msg, 0]), theirs), false);
  }
});

test('wolfSSL ECCSI: wolfSSL KMS issues (SSK, PVT); we validate, sign and verify with them', (t) => {
  if (!needPeer(t, 'wolfSSL', wolfsslProblem())) return;
  for (let i = 0; i < 2; i++) {
    const [ksakHex, kpakHex] = runDriver(['eccsi-kms']).lines;
    const kpak = unh(kpakHex!);
    const id = randomId();
    const [sskHex, pvtHex] = runDriver(['eccsi-issue', ksakHex!, kpakHex!, h(id)]).lines;
    const ssk = unh(sskHex!);
    const pvt = unh(pvtHex!);
    assert.equal(eccsiValidateSsk(kpak, id, ssk, pvt).length, 32);
    assert.throws(() => eccsiValidateSsk(kpak, randomId(), ssk, pvt), (e: unknown) => e instanceof CryptoError && e.code === 'invalid-key');
    const msg = randomBytes(64);
    const ours = eccsiSign(kpak, id, ssk, pvt, msg);
    assert.equal(runDriver(['eccsi-verify', kpakHex!, h(id), h(msg), h(ours)]).status, 0);
    const theirs = unh(runDriver(['eccsi-sign', kpakHex!, h(id), sskHex!, pvtHex!, h(msg)]).lines[0]!);
    assert.equal(eccsiVerify(kpak, id, msg, theirs), true);
  }
});

test('wolfSSL SAKKE: our KMS and RSKs; encapsulations made by either side decapsulate on the other', (t) => {
  if (!needPeer(t, 'wolfSSL', wolfsslProblem())) return;
  const kms = sakkeKmsSetup(P1);
  const pub = new SakkeKmsPublicKey(P1, kms.zS);
  for (let i = 0; i < 2; i++) {
    const id = randomId();
    const rsk = sakkeMakeRsk(P1, kms.z, id);
    assert.deepEqual(runDriver(['sakke-validate', h(kms.zS), h(id), h(rsk)]).lines, ['valid']);
    const receiver = new SakkeReceiver(P1, pub, id, rsk);
    // wolfSSL -> us
    const ssv = randomBytes(16);
    const edTheirs = unh(runDriver(['sakke-encap', h(kms.zS), h(id), h(ssv)]).lines[0]!);
    assert.equal(edTheirs.length, 273);
    assert.equal(h(receiver.decapsulate(edTheirs)), h(ssv));
    const tampered = new Uint8Array(edTheirs);
    tampered[272]! ^= 1;
    assert.throws(() => receiver.decapsulate(tampered), (e: unknown) => e instanceof CryptoError && e.code === 'decapsulation-failed');
    // us -> wolfSSL
    const ours = sakkeEncapsulate(P1, pub, id);
    const back = runDriver(['sakke-decap', h(kms.zS), h(id), h(rsk), h(ours.encapsulatedData)]);
    assert.equal(back.status, 0);
    assert.equal(back.lines[0], h(ours.ssv));
    const bad = new Uint8Array(ours.encapsulatedData);
    bad[260]! ^= 1;
    assert.equal(runDriver(['sakke-decap', h(kms.zS), h(id), h(rsk), h(bad)]).status, 1);
    // the same SSV gives the same Encapsulated Data on both sides (r is derived from SSV || b)
    assert.equal(h(sakkeEncapsulate(P1, pub, id, { ssv }).encapsulatedData), h(edTheirs));
  }
});

test('wolfSSL SAKKE: wolfSSL KMS issues RSKs; we validate and use them', (t) => {
  if (!needPeer(t, 'wolfSSL', wolfsslProblem())) return;
  const [zHex, zSHex] = runDriver(['sakke-kms']).lines;
  const zS = unh(zSHex!);
  // the exported master secret gives the same KMS Public Key here
  assert.equal(h(sakkeKmsKeysFromSecret(P1, unh(zHex!)).zS), zSHex);
  const pub = new SakkeKmsPublicKey(P1, zS);
  const id = randomId();
  const rsk = unh(runDriver(['sakke-issue', zHex!, h(id)]).lines[0]!);
  assert.equal(h(rsk), h(sakkeMakeRsk(P1, unh(zHex!), id)));
  assert.equal(sakkeValidateRsk(P1, pub, id, rsk), true);
  assert.equal(sakkeValidateRsk(P1, pub, randomId(), rsk), false);
  const receiver = new SakkeReceiver(P1, pub, id, rsk);
  const ssv = randomBytes(16);
  const ed = unh(runDriver(['sakke-encap', zSHex!, h(id), h(ssv)]).lines[0]!);
  assert.equal(h(receiver.decapsulate(ed)), h(ssv));
  const ours = sakkeEncapsulate(P1, pub, id);
  assert.equal(runDriver(['sakke-decap', zSHex!, h(id), h(rsk), h(ours.encapsulatedData)]).lines[0], h(ours.ssv));
  // an RSK of another identity is refused by wolfSSL too
  assert.equal(runDriver(['sakke-validate', zSHex!, h(randomId()), h(rsk)]).status, 1);
});
