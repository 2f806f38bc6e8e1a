// MIKEY-SAKKE: receiving an I_MESSAGE (decode, T, ECCSI verify, replay, SAKKE decapsulate, key
// parameters, TEK/salt derivation) beside its floor, the ECCSI verification and the SAKKE
// decapsulation of the same message alone, with the same precomputation (a kept verifier and
// receiver); and sending (build, encapsulate, sign) beside encapsulate + sign alone. Both sides
// in alternating batches (harness.ts compare()), CPU time. Goal: the message adds under 10%.
import { EccsiVerifier, eccsiKmsSetup, eccsiMakeSskPvt, eccsiSign } from '../src/crypto/eccsi.js';
import { SakkeKmsPublicKey, SakkeReceiver, sakkeEncapsulate, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../src/crypto/sakke.js';
import { decodeMessage } from '../src/wire/decode.js';
import { SakkeInitiator, SakkeResponder, telUriIdentifier } from '../src/modes/sakke/index.js';
import { McxKeyManagement, keyPeriodNumber, uidFor, type McxKeySet, type McxKms } from '../src/profiles/mcx/index.js';
import { compare, cpuTimed, cpuTimedAsync, forgetfulReplayCache, type BenchSection, type Side } from './harness.js';

const GOAL = 1.1;

/** ECCSI verify + SAKKE decapsulate of `bytes` (a SAKKE I_MESSAGE signed last), with kept state. */
function receiveFloor(label: string, bytes: Uint8Array, verifier: EccsiVerifier, signerId: Uint8Array, receiver: SakkeReceiver): Side {
  const msg = decodeMessage(bytes);
  const sign = msg.payloads.at(-1)!;
  const sakke = msg.payloads.find((p) => p.type === 26)!;
  if (sign.type !== 4 || sakke.type !== 26) throw new Error('unexpected layout');
  const covered = bytes.subarray(0, bytes.length - sign.signature.length);
  if (!verifier.verify(signerId, covered, sign.signature)) throw new Error('the floor does not verify the message');
  return cpuTimed(label, () => {
    if (!verifier.verify(signerId, covered, sign.signature)) throw new Error('bad signature');
    receiver.decapsulate(sakke.data);
  });
}

export const sakkeSection: BenchSection = {
  title: 'MIKEY-SAKKE (RFC 6509, TS 33.180): receiving and sending an I_MESSAGE vs ECCSI + SAKKE alone',
  async run() {
    const ekms = eccsiKmsSetup();
    const skms = sakkeKmsSetup(sakkeParamSet1);
    const zS = new SakkeKmsPublicKey(sakkeParamSet1, skms.zS);
    const T = Date.UTC(2027, 0, 15, 12);
    const clock = { now: () => T };
    const slow = { rounds: 7, batchMs: 300 };

    // ---- 3GPP profile: a PCK with key parameters, GENERIC-ID map
    const kms: McxKms = { uri: 'kms.example.org', zS, kpak: ekms.kpak, keyPeriod: 2592000, keyPeriodOffset: 0 };
    const period = keyPeriodNumber(T, kms.keyPeriod, 0);
    const issue = (uri: string): McxKeySet[] => {
      const uid = uidFor(uri, kms, period);
      return [{ keyPeriodNo: period, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, uid), ...eccsiMakeSskPvt(ekms, uid) }];
    };
    const aliceKeys = issue('sip:alice@example.org');
    const bobKeys = issue('sip:bob@example.org');
    const alice = new McxKeyManagement({ uri: 'sip:alice@example.org', kms, keySets: aliceKeys, clock });
    const bob = new McxKeyManagement({ uri: 'sip:bob@example.org', kms, keySets: bobKeys, clock, replayCache: forgetfulReplayCache });
    const pck = alice.sendPck({ to: 'sip:bob@example.org' });
    await bob.receive(pck.bytes); // builds the receiver (RSK validation, Miller lines) once
    const aliceUid = uidFor('sip:alice@example.org', kms, period);
    const bobUid = uidFor('sip:bob@example.org', kms, period);
    const verifier = new EccsiVerifier(ekms.kpak);
    const bobReceiver = new SakkeReceiver(sakkeParamSet1, zS, bobUid, bobKeys[0]!.rsk);
    await compare({
      name: 'TS 33.180 receive (PCK) vs ECCSI verify + SAKKE decapsulate', kind: 'floor', goal: GOAL, ...slow,
      ours: cpuTimedAsync('McxKeyManagement.receive', () => bob.receive(pck.bytes)),
      anchor: receiveFloor('verify + decapsulate', pck.bytes, verifier, aliceUid, bobReceiver),
    });

    // ---- RFC 6509, identifier scheme 1, SRTP-ID map, two sessions
    const aliceId = telUriIdentifier('tel:+447700900123', T);
    const bobId = telUriIdentifier('tel:+447700900456', T);
    const bobRsk = sakkeMakeRsk(sakkeParamSet1, skms.z, bobId);
    const ini = new SakkeInitiator({ uri: 'tel:+447700900123', kms: { zS, kpak: ekms.kpak }, keys: [{ id: aliceId, ...eccsiMakeSskPvt(ekms, aliceId) }], clock });
    const res = new SakkeResponder({ uri: 'tel:+447700900456', kms: { zS, kpak: ekms.kpak }, keys: [{ id: bobId, rsk: bobRsk }], clock, replayCache: forgetfulReplayCache });
    const offer = ini.createOffer({ to: 'tel:+447700900456', sessions: [{ ssrc: 1 }, { ssrc: 2, profile: 'AEAD_AES_128_GCM' }] });
    await res.receive(offer.bytes);
    await compare({
      name: 'RFC 6509 receive (2 sessions) vs ECCSI verify + SAKKE decapsulate', kind: 'floor', goal: GOAL, ...slow,
      ours: cpuTimedAsync('SakkeResponder.receive', () => res.receive(offer.bytes)),
      anchor: receiveFloor('verify + decapsulate', offer.bytes, verifier, aliceId, new SakkeReceiver(sakkeParamSet1, zS, bobId, bobRsk)),
    });

    // ---- sending: build + encapsulate + sign beside encapsulate + sign alone
    const k = aliceKeys[0]!;
    const covered = pck.bytes.subarray(0, pck.bytes.length - 129);
    await compare({
      name: 'TS 33.180 send (PCK) vs SAKKE encapsulate + ECCSI sign', kind: 'floor', goal: GOAL, ...slow,
      ours: cpuTimed('McxKeyManagement.sendPck', () => alice.sendPck({ to: 'sip:bob@example.org' })),
      anchor: cpuTimed('encapsulate + sign', () => {
        sakkeEncapsulate(sakkeParamSet1, zS, bobUid);
        eccsiSign(ekms.kpak, aliceUid, k.ssk, k.pvt, covered, { hs: k.hs });
      }),
    });
  },
};
