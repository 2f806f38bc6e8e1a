// Wireshark's MIKEY dissector as an independent decoder of every DH-HMAC (RFC 4650) and RSA-R
// (RFC 4738) message our initiators and responders send: every field it shows must carry our
// value, it must cover every byte, and it must flag nothing malformed. Same comparison as
// tshark-codec.test.ts, on messages produced by the methods rather than the codec corpus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { DhHmacInitiator, DhHmacResponder } from '../../src/modes/dhhmac/index.js';
import { RsaRInitiator, RsaRResponder } from '../../src/modes/rsar/index.js';
import { uriIdentity } from '../../src/session/identity.js';
import { MikeyProtocolError } from '../../src/session/errors.js';
import { decodeMessage } from '../../src/wire/index.js';
import { needPeer } from '../support/peer.js';
import { dumpPacket, findFields, misplacedFields, tsharkDecode, tsharkProblem, uncoveredRanges } from './tshark.js';
import { NODE, compare, expected, headerExpected } from './tshark-expect.js';
import { pki } from '../support/pki.js';

const T0 = Date.UTC(2027, 0, 15, 12);

/**
 * Every message the two methods send, in every shape: initial and update messages, with and
 * without optional payloads, group mode, Error messages. Within tshark 4.0's reach: it knows
 * neither HMAC-SHA-256-256 nor DH key-validity data, and hands a certificate URL (CERT type 1)
 * to its X.509 decoder, so those variants are left to the codec tests.
 */
async function methodMessages(): Promise<Array<{ name: string; bytes: Uint8Array }>> {
  const out: Array<{ name: string; bytes: Uint8Array }> = [];
  const add = (name: string, bytes: Uint8Array) => out.push({ name, bytes });
  let now = T0;
  const clock = { now: () => now };
  const psk = new Uint8Array(20).fill(0x42);
  const alice = uriIdentity('sip:alice@example.org');
  const bob = uriIdentity('sip:bob@example.org');
  const sessions = [{ ssrc: 0x11223344, roc: 1 }, { ssrc: 0x55667788, profile: 'AEAD_AES_128_GCM' as const }];

  // ---- DH-HMAC
  for (const group of ['OAKLEY-5', 'OAKLEY-1', 'OAKLEY-2'] as const) {
    const ini = new DhHmacInitiator({ psk, idi: alice, idr: bob, clock, sdpIds: ['mikey', 'sdes'] });
    const res = new DhHmacResponder({ psk, idr: bob, clock, sdpIds: ['mikey', 'sdes'], groups: [group] });
    const i = ini.createOffer({ sessions, group });
    add(`DH-HMAC I_MESSAGE ${group}`, i.bytes);
    const r = await res.receive(i.bytes);
    add(`DH-HMAC R_MESSAGE ${group}`, r.response);
    ini.receiveResponse(r.response);
    now += 1000;
    const u = ini.createUpdate({ sessions: sessions.slice(0, 1), rekey: false });
    add(`DH-HMAC update I_MESSAGE without DHi ${group}`, u.bytes);
    const ur = await res.receive(u.bytes);
    add(`DH-HMAC update R_MESSAGE without DH ${group}`, ur.response);
    ini.receiveResponse(ur.response);
    now += 1000;
    const k = ini.createUpdate();
    add(`DH-HMAC update I_MESSAGE with DHi ${group}`, k.bytes);
    add(`DH-HMAC update R_MESSAGE with DHr, DHi ${group}`, (await res.receive(k.bytes)).response);
  }
  {
    const anon = new DhHmacInitiator({ psk, idr: bob, clock, prf: 'PRF-HMAC-SHA-256' });
    const i = anon.createOffer({ sessions: [], group: 'OAKLEY-1' });
    add('DH-HMAC I_MESSAGE without IDi, #CS = 0, PRF-HMAC-SHA-256', i.bytes);
    add('DH-HMAC R_MESSAGE without IDr', (await new DhHmacResponder({ psk, idi: alice, clock, groups: ['OAKLEY-1'] }).receive(i.bytes)).response);
    const errors = async (res: DhHmacResponder, bytes: Uint8Array, name: string) => {
      try {
        await res.receive(bytes);
        assert.fail(`${name}: accepted`);
      } catch (e) {
        assert.ok(e instanceof MikeyProtocolError && e.response);
        add(name, e.response);
      }
    };
    const i2 = new DhHmacInitiator({ psk, idi: alice, idr: bob, clock }).createOffer({ sessions, group: 'OAKLEY-1' });
    await errors(new DhHmacResponder({ psk: psk.map((b) => b ^ 1), clock }), i2.bytes, 'DH-HMAC Error (Auth failure, unauthenticated)');
    await errors(new DhHmacResponder({ psk, clock, groups: ['OAKLEY-5'] }), i2.bytes, 'DH-HMAC Error (Invalid DH, with V)');
  }

  // ---- RSA-R
  const a = { privateKey: pki('alice.key'), certificate: pki('alice.pem'), trustAnchors: [pki('ca.pem')], clock };
  const b = { privateKey: pki('bob.key'), certificate: pki('bob.pem'), trustAnchors: [pki('ca.pem')], clock };
  {
    const ini = new RsaRInitiator({ ...a, idr: bob, sdpIds: ['mikey'] });
    const res = new RsaRResponder({ ...b, sessions: [{ ssrc: 0x0b0b }] });
    const i = ini.createOffer({ sessions, policies: ['AES_256_CM_HMAC_SHA1_32'] });
    add('RSA-R I_MESSAGE with RAND, CERTi, IDr, SPs, SDP IDs', i.bytes);
    const r = await res.receive(i.bytes);
    add('RSA-R R_MESSAGE without RAND', r.response);
    await ini.receiveResponse(r.response);
    now += 1000;
    const u = ini.createUpdate();
    add('RSA-R update I_MESSAGE', u.bytes);
    add('RSA-R update R_MESSAGE', (await res.receive(u.bytes)).response);
  }
  {
    const ini = new RsaRInitiator({ ...a, idi: alice, sendIdi: true, scheme: 'pss' });
    const i = ini.createOffer({ rand: false });
    add('RSA-R I_MESSAGE without RAND, IDi and CERTi, #CS = 0, PSS', i.bytes);
    add('RSA-R R_MESSAGE with RAND, IDr and CERTr, PSS', (await new RsaRResponder({ ...b, sendIdr: true, scheme: 'pss' }).receive(i.bytes)).response);
    const dave = new RsaRInitiator({ privateKey: pki('mallory.key'), idi: uriIdentity('sip:dave@example.org'), clock });
    const di = dave.createOffer({ sessions: sessions.slice(0, 1) });
    add('RSA-R I_MESSAGE with IDi, no certificate', di.bytes);
    add('RSA-R R_MESSAGE without certificate', (await new RsaRResponder({ privateKey: pki('bob.key'), idr: bob, peerKey: () => createPublicKey(pki('mallory.key')), clock }).receive(di.bytes)).response);
  }
  {
    const res = new RsaRResponder({ ...b, group: { csbId: 0xfeed0001, sessions: [{ ssrc: 0x5e0d }, { ssrc: 0x5e0e, profile: 'AES_256_CM_HMAC_SHA1_80' }] } });
    const i = new RsaRInitiator(a).createOffer({ group: true });
    add('RSA-R group I_MESSAGE', i.bytes);
    add('RSA-R group R_MESSAGE with CSB_ID', (await res.receive(i.bytes)).response);
    try {
      await new RsaRResponder({ ...b, profiles: ['NULL_HMAC_SHA1_80'] }).receive(new RsaRInitiator(a).createOffer({ sessions }).bytes);
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof MikeyProtocolError && e.response);
      add('RSA-R Error (Invalid SPpar, with our SP)', e.response);
    }
  }
  return out;
}

test('tshark decodes every DH-HMAC and RSA-R message we send to our field values, covering every byte', async (t) => {
  if (!needPeer(t, 'tshark', tsharkProblem())) return;
  const samples = await methodMessages();
  const packets = await tsharkDecode(samples.map((s) => s.bytes));
  let fields = 0;
  const seen = new Set<string>();
  packets.forEach((pk, i) => {
    const { name, bytes } = samples[i]!;
    const m = decodeMessage(bytes);
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
      seen.add(`${m.header.dataType}:${p.type}`);
      const node = nodes[j + 1]!;
      assert.equal(node.pos, p.span!.start, `${name}: ${node.name} starts at our offset`);
      assert.equal(node.size, p.span!.end - p.span!.start, `${name}: ${node.name} has our length`);
      fields += compare(node, expected(p, m.payloads[j + 1]?.type ?? 0), `${name} ${node.name}`);
    });
    // every byte under a field; certificates count whole, and tshark 4.0 reads the CERT length one byte early
    const gaps: Array<[number, number]> = [
      ...findFields(pk, 'mikey.cert.data').map((f) => [f.pos, f.pos + f.size] as [number, number]),
      ...m.payloads.filter((p) => p.type === 7).map((p) => [p.span!.start + 3, p.span!.start + 4] as [number, number]),
    ];
    const left = uncoveredRanges(pk).flatMap(([x, y]) => {
      const o: Array<[number, number]> = [];
      for (let k = x; k < y; k++) if (!gaps.some(([g, h]) => k >= g && k < h)) o.push([k, k + 1]);
      return o;
    });
    assert.deepEqual(left, [], `${ctx}\nbytes tshark did not cover`);
  });
  // what this exercised: both data types of each method, the Error message, every payload they use
  for (const want of ['7:3', '7:1', '7:21', '7:11', '8:3', '8:1', '8:6', '9:7', '9:10', '9:4', '9:21', '10:21', '10:1', '10:2', '10:4', '10:7', '10:11', '6:12', '6:9', '6:10']) {
    assert.ok(seen.has(want), `data type:payload ${want} compared`);
  }
  assert.ok(samples.length >= 30 && fields > 800, `${samples.length} messages, ${fields} fields compared`);
});
