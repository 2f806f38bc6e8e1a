// The MCX profile's messages for the tamper matrix (TS 33.180 Annex E over RFC 6509,
// McxKeyManagement): the I_MESSAGE of each key the profile sends, a PCK (E.3), a CSK with the
// Empty map (E.4), a GMK for a group member (E.2) and a PCK read back by its sender through
// SAKKE-to-self (E.5), each with a receiver of its own. Each refusal costs a pairing or an
// ECCSI verification: long fields one bit per byte unless MIKEY_LONG=1.
import { eccsiKmsSetup, eccsiMakeSskPvt, SakkeKmsPublicKey, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../../../src/entry/crypto.js';
import { McxKeyManagement, keyPeriodNumber, uidFor, type McxKms, type McxKeySet, type McxSent } from '../../../src/entry/mcx.js';
import type { Scenario } from '../receivers.js';
import type { ClassifyContext } from '../tamper-support.js';

const ekms = eccsiKmsSetup();
const skms = sakkeKmsSetup(sakkeParamSet1);
const KMS: McxKms = { uri: 'kms.example.org', zS: new SakkeKmsPublicKey(sakkeParamSet1, skms.zS), kpak: ekms.kpak, keyPeriod: 30 * 86400, keyPeriodOffset: 0 };
const T0 = Date.UTC(2027, 0, 15, 12);
const ALICE = 'sip:alice@example.org';
const BOB = 'sip:bob@example.org';
function keySets(uri: string): McxKeySet[] {
  return [keyPeriodNumber(T0, KMS.keyPeriod, KMS.keyPeriodOffset)].map((keyPeriodNo) => {
    const uid = uidFor(uri, KMS, keyPeriodNo);
    const e = eccsiMakeSskPvt(ekms, uid);
    return { keyPeriodNo, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, uid), ssk: e.ssk, pvt: e.pvt, hs: e.hs };
  });
}
const sets = new Map([ALICE, BOB].map((u) => [u, keySets(u)]));
const node = (uri: string) => new McxKeyManagement({ uri, kms: KMS, keySets: sets.get(uri)!, clock: { now: () => T0 } });
// the header's PRF func is PRF-HMAC-SHA-256 (E.1.1); the ECCSI signature covers everything before it
const CTX: ClassifyContext = { now: T0, maxSkewMs: 5 * 60_000, signed: true, prfs: [1] };

function scenario(message: string, sent: McxSent, receiver: McxKeyManagement, initiator: string): Scenario {
  const receive = async (b: Uint8Array) => ({ keyed: (await receiver.receive(b, { initiator })).key.length > 0 });
  return {
    method: 'MCX', message, original: sent.bytes, receive, ctx: CTX, expensive: true,
    accept: async () => {
      const got = await receiver.receive(sent.bytes, { initiator });
      if (Buffer.compare(Buffer.from(got.key), Buffer.from(sent.key)) !== 0) throw new Error(`${message}: the original gave another key`);
    },
  };
}

/** The MCX messages with their receivers (for the tamper files). */
export const MCX = async (): Promise<Scenario[]> => {
  const alice = node(ALICE);
  const gmk = alice.distributeGmk({ members: [BOB], keyParameters: { text: 'crew' } }).messages[0]!;
  return [
    scenario('PCK I_MESSAGE (E.3)', alice.sendPck({ to: BOB }), node(BOB), ALICE),
    scenario('CSK I_MESSAGE, Empty map (E.4)', alice.sendCsk({ to: BOB, map: 'empty' }), node(BOB), ALICE),
    scenario('GMK I_MESSAGE (E.2)', gmk, node(BOB), ALICE),
    scenario('PCK I_MESSAGE read back by its sender (SAKKE-to-self, E.5)', alice.sendPck({ to: BOB, toSelf: true }), node(ALICE), ALICE),
  ];
};
