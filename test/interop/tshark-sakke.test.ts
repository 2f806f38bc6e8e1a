// Wireshark's MIKEY dissector reads the MIKEY-SAKKE messages our senders build (RFC 6509 and
// the 3GPP profile): data type 26, IDR, SP, SAKKE, General Extensions and SIGN (ECCSI) carry our
// values, cover every byte, and nothing is flagged malformed.
//
// tshark 4.0 predates RFC 6043's GENERIC-ID map: it reads any map other than SRTP-ID as having
// no map info, so a GENERIC-ID message would be dissected from the wrong offset. The 3GPP
// messages here therefore use the Empty map (#CS = 0), which the profile allows; the GENERIC-ID
// layout is checked against the deployed vectors in test/profiles/mcx.test.ts instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage } from '../../src/wire/index.js';
import { SakkeInitiator, telUriIdentifier } from '../../src/modes/sakke/index.js';
import { McxKeyManagement, keyPeriodNumber, uidFor, type McxKms } from '../../src/profiles/mcx/index.js';
import { eccsiKmsSetup, eccsiMakeSskPvt } from '../../src/crypto/eccsi.js';
import { SakkeKmsPublicKey, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../../src/crypto/sakke.js';
import { needPeer } from '../support/peer.js';
import { dumpPacket, misplacedFields, tsharkDecode, tsharkProblem, uncoveredRanges } from './tshark.js';
import { NODE, compare, expected, headerExpected } from './tshark-expect.js';

function messages(): Array<{ name: string; bytes: Uint8Array }> {
  const ekms = eccsiKmsSetup();
  const skms = sakkeKmsSetup(sakkeParamSet1);
  const T = Date.UTC(2027, 5, 1, 9);
  const clock = { now: () => T };
  // RFC 6509, identifier scheme 1, SRTP-ID map
  const telKeys = (uri: string) => {
    const id = telUriIdentifier(uri, T);
    return [{ id, ...eccsiMakeSskPvt(ekms, id) }];
  };
  const tel = new SakkeInitiator({ uri: 'tel:+447700900123', kms: { zS: skms.zS, kpak: ekms.kpak }, keys: telKeys('tel:+447700900123'), kmsUri: 'kms.example.org', clock });
  // TS 33.180, identifier scheme 2 (UIDs), Empty map
  const kms: McxKms = { uri: 'kms.example.org', zS: new SakkeKmsPublicKey(sakkeParamSet1, skms.zS), kpak: ekms.kpak, keyPeriod: 2592000, keyPeriodOffset: 0 };
  const p = keyPeriodNumber(T, kms.keyPeriod, kms.keyPeriodOffset);
  const mcx = (uri: string, identities: 'uri' | 'uid') => {
    const uid = uidFor(uri, kms, p);
    return new McxKeyManagement({ uri, kms, clock, identities, keySets: [{ keyPeriodNo: p, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, uid), ...eccsiMakeSskPvt(ekms, uid) }] });
  };
  const alice = mcx('sip:alice@example.org', 'uri');
  const gms = mcx('sip:gms@example.org', 'uid');
  return [
    { name: 'RFC 6509, two crypto sessions', bytes: tel.createOffer({ to: 'tel:+447700900456', sessions: [{ ssrc: 0x1234abcd }, { ssrc: 0x5678ef01, profile: 'AEAD_AES_128_GCM' }] }).bytes },
    { name: 'RFC 6509, no identities', bytes: tel.createOffer({ to: 'tel:+447700900456', sessions: [{ ssrc: 1 }], omitIdentities: true }).bytes },
    { name: 'MCX PCK, SAKKE-to-self, key parameters', bytes: alice.sendPck({ to: 'sip:bob@example.org', map: 'empty', toSelf: true }).bytes },
    { name: 'MCX CSK, no key parameters', bytes: alice.sendCsk({ to: 'sip:server@example.org', map: 'empty', keyParameters: false }).bytes },
    { name: 'MCX GMK, UIDs in IDR', bytes: gms.distributeGmk({ members: ['sip:alice@example.org'], map: 'empty', keyParameters: { text: 'group 1' } }).messages[0]!.bytes },
  ];
}

test('tshark decodes our MIKEY-SAKKE messages (data type 26, IDR, SAKKE, SIGN-ECCSI) to our field values, covering every byte', async (t) => {
  if (!needPeer(t, 'tshark', tsharkProblem())) return;
  const samples = messages();
  const packets = await tsharkDecode(samples.map((s) => s.bytes));
  let fields = 0;
  const seen = new Set<string>();
  packets.forEach((pk, i) => {
    const { name } = samples[i]!;
    const m = decodeMessage(samples[i]!.bytes);
    const ctx = `${name}\n${dumpPacket(pk)}`;
    assert.ok(pk.mikey, `${name}: tshark dissected MIKEY`);
    assert.equal(pk.malformed, false, `${ctx}\nexpert: ${JSON.stringify(pk.expert)}`);
    assert.equal(pk.complete, true, `${ctx}\ntshark stopped before the end of the payload chain`);
    assert.deepEqual(misplacedFields(pk).map((f) => f.name), [], ctx);
    const nodes = pk.fields;
    assert.equal(nodes[0]!.name, 'mikey.hdr', ctx);
    fields += compare(nodes[0]!, headerExpected(m), `${name} HDR`);
    assert.deepEqual(nodes.slice(1).map((f) => f.name), m.payloads.map((p) => NODE[p.type]), ctx);
    m.payloads.forEach((p, j) => {
      const node = nodes[j + 1]!;
      assert.equal(node.pos, p.span!.start, `${name}: ${node.name} starts at our offset`);
      assert.equal(node.size, p.span!.end - p.span!.start, `${name}: ${node.name} has our length`);
      fields += compare(node, expected(p, m.payloads[j + 1]?.type ?? 0), `${name} ${node.name}`);
      seen.add(p.type === 14 ? `IDR role ${p.role}` : p.type === 21 ? `GenExt ${p.extType}` : p.type === 4 ? `SIGN S type ${p.sType}` : node.name);
    });
    assert.deepEqual(uncoveredRanges(pk), [], `${ctx}\nbytes tshark did not cover`);
  });
  for (const s of ['mikey.t', 'mikey.rand', 'mikey.sp', 'mikey.sakke', 'SIGN S type 2', 'IDR role 1', 'IDR role 2', 'IDR role 6', 'IDR role 7', 'IDR role 8', 'IDR role 9', 'GenExt 6', 'GenExt 7']) {
    assert.ok(seen.has(s), `${s} compared`);
  }
  assert.ok(fields > 150, `${fields} fields compared`);
});
