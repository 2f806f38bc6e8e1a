// MIKEY-SAKKE: receiving an I_MESSAGE (decode, T, ECCSI verify, replay, SAKKE decapsulate, key
// parameters, TEK/salt derivation) beside its floor, the ECCSI verification and the SAKKE
// decapsulation alone, in the same run. Goal: the message adds under 10%.
import { EccsiVerifier, eccsiKmsSetup, eccsiMakeSskPvt, eccsiSign } from '../src/crypto/eccsi.js';
import { SakkeKmsPublicKey, SakkeReceiver, sakkeEncapsulate, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../src/crypto/sakke.js';
import { decodeMessage } from '../src/wire/decode.js';
import { SakkeInitiator, SakkeResponder, telUriIdentifier } from '../src/modes/sakke/index.js';
import { McxKeyManagement, keyPeriodNumber, uidFor, type McxKeySet, type McxKms } from '../src/profiles/mcx/index.js';
import { fmt, measure, measureAsync as measureAsyncBase, forgetfulReplayCache, type BenchSection, type Measurement } from './harness.js';


const measureAsync = (name: string, fn: () => Promise<unknown>, batches = 9, n = 10) => measureAsyncBase(name, fn, batches, n);

function overhead(label: string, m: Measurement, floor: Measurement): void {
  const pct = (m.medianSec / floor.medianSec - 1) * 100;
  console.log(`${label.padEnd(48)} overhead over the crypto ${pct.toFixed(1)}% (goal < 10%)`);
}

export const sakkeSection: BenchSection = {
  title: 'MIKEY-SAKKE (RFC 6509, TS 33.180): receiving an I_MESSAGE vs ECCSI verify + SAKKE decapsulate',
  async run() {
    const ekms = eccsiKmsSetup();
    const skms = sakkeKmsSetup(sakkeParamSet1);
    const zS = new SakkeKmsPublicKey(sakkeParamSet1, skms.zS);
    const T = Date.UTC(2027, 0, 15, 12);
    const clock = { now: () => T };
    const slow = { batches: 9, batchMs: 300 };

    // ---- 3GPP profile: a PCK with key parameters, GENERIC-ID map, two crypto sessions
    const kms: McxKms = { uri: 'kms.example.org', zS, kpak: ekms.kpak, keyPeriod: 2592000, keyPeriodOffset: 0 };
    const period = keyPeriodNumber(T, kms.keyPeriod, 0);
    const issue = (uri: string): McxKeySet[] => {
      const uid = uidFor(uri, kms, period);
      return [{ keyPeriodNo: period, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, uid), ...eccsiMakeSskPvt(ekms, uid) }];
    };
    const alice = new McxKeyManagement({ uri: 'sip:alice@example.org', kms, keySets: issue('sip:alice@example.org'), clock });
    const bob = new McxKeyManagement({ uri: 'sip:bob@example.org', kms, keySets: issue('sip:bob@example.org'), clock, replayCache: forgetfulReplayCache });
    const pck = alice.sendPck({ to: 'sip:bob@example.org' });
    await bob.receive(pck.bytes); // builds the receiver (RSK validation, Miller lines) once

    // the floor: the same two operations on the same message, with the same precomputation
    const msg = decodeMessage(pck.bytes);
    const sign = msg.payloads.at(-1)!;
    const sakke = msg.payloads.find((p) => p.type === 26)!;
    if (sign.type !== 4 || sakke.type !== 26) throw new Error('unexpected layout');
    const covered = pck.bytes.subarray(0, pck.bytes.length - 129);
    const aliceUid = uidFor('sip:alice@example.org', kms, period);
    const bobUid = uidFor('sip:bob@example.org', kms, period);
    const verifier = new EccsiVerifier(ekms.kpak);
    const receiver = new SakkeReceiver(sakkeParamSet1, zS, bobUid, issue('sip:bob@example.org')[0]!.rsk);
    const floor = measure('ECCSI verify + SAKKE decapsulate (floor)', () => {
      if (!verifier.verify(aliceUid, covered, sign.signature)) throw new Error('bad signature');
      receiver.decapsulate(sakke.data);
    }, slow);
    const mcxRecv = await measureAsync('TS 33.180 receive (PCK I_MESSAGE)', () => bob.receive(pck.bytes));
    console.log(fmt(floor));
    console.log(fmt(mcxRecv));
    overhead('  TS 33.180 receive', mcxRecv, floor);

    // ---- RFC 6509, identifier scheme 1, SRTP-ID map
    const month = telUriIdentifier('tel:+447700900123', T);
    const bobId = telUriIdentifier('tel:+447700900456', T);
    const ini = new SakkeInitiator({ uri: 'tel:+447700900123', kms: { zS, kpak: ekms.kpak }, keys: [{ id: month, ...eccsiMakeSskPvt(ekms, month) }], clock });
    const res = new SakkeResponder({ uri: 'tel:+447700900456', kms: { zS, kpak: ekms.kpak }, keys: [{ id: bobId, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, bobId) }], clock, replayCache: forgetfulReplayCache });
    const offer = ini.createOffer({ to: 'tel:+447700900456', sessions: [{ ssrc: 1 }, { ssrc: 2, profile: 'AEAD_AES_128_GCM' }] });
    await res.receive(offer.bytes);
    const rfcRecv = await measureAsync('RFC 6509 receive (two SRTP-ID sessions)', () => res.receive(offer.bytes));
    console.log(fmt(rfcRecv));
    overhead('  RFC 6509 receive', rfcRecv, floor);

    // ---- sending: build + encapsulate + sign beside encapsulate + sign alone
    const aliceKeys = issue('sip:alice@example.org')[0]!;
    const sendFloor = measure('SAKKE encapsulate + ECCSI sign (floor)', () => {
      sakkeEncapsulate(sakkeParamSet1, zS, bobUid);
      eccsiSign(ekms.kpak, aliceUid, aliceKeys.ssk, aliceKeys.pvt, covered, { hs: aliceKeys.hs });
    }, slow);
    const send = measure('TS 33.180 send (PCK I_MESSAGE)', () => alice.sendPck({ to: 'sip:bob@example.org' }), slow);
    console.log(fmt(sendFloor));
    console.log(fmt(send));
    overhead('  TS 33.180 send', send, sendFloor);
  },
};
