// SDP carriage (RFC 4567 §3.1, §4.1): levels and override, several protocols, offer/answer,
// bidding-down protection through MIKEY's SDP IDs General Extension (§4.1.4, §7), crypto
// sessions per m-line (§7.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allocateCryptoSessions, answerKeyMgmt, cryptoSessionsOfMedia, keyMgmtAttr, KeyMgmtOfferRejected, mikeyPerMedia, protocolList,
  readAnswer, readKeyMgmt, sessionsForSdp, setKeyMgmt,
} from '../../src/sdp/sdp.js';
import { PskInitiator, PskResponder } from '../../src/modes/psk/index.js';
import { DhHmacInitiator, DhHmacResponder } from '../../src/modes/dhhmac/index.js';
import { uriIdentity } from '../../src/session/identity.js';
import { srtpContexts } from '../../src/session/bundle.js';
import { MikeyProtocolError } from '../../src/session/errors.js';

const T0 = Date.UTC(2027, 2, 1, 9);
const clock = { now: () => T0 };
// RFC 4567 §4.1.4's example description, without its key-mgmt lines (c= before t=, RFC 4566 §5)
const BASE = [
  'v=0', 'o=alice 2891092738 2891092738 IN IP4 lost.example.com', 's=Secret discussion', 'c=IN IP4 lost.example.com', 't=0 0',
  'm=audio 39000 RTP/SAVP 98', 'a=rtpmap:98 AMR/8000', 'm=video 42000 RTP/SAVP 31', 'a=rtpmap:31 H261/90000', '',
].join('\r\n');

test('session and media level: media overrides session (§3.1); order kept; the rest of the SDP untouched', () => {
  const sdp = setKeyMgmt(BASE, {
    session: [keyMgmtAttr('mikey', Uint8Array.of(1)), keyMgmtAttr('keyp1', Uint8Array.of(2))],
    media: { 1: [keyMgmtAttr('mikey', Uint8Array.of(3))] },
  });
  assert.match(sdp, /t=0 0\r\na=key-mgmt:mikey AQ==\r\na=key-mgmt:keyp1 Ag==\r\nm=audio/);
  assert.match(sdp, /a=rtpmap:31 H261\/90000\r\na=key-mgmt:mikey Aw==\r\n$/);
  const k = readKeyMgmt(sdp);
  assert.deepEqual(protocolList(k.session), ['mikey', 'keyp1']);
  assert.deepEqual(k.media.map((m) => [m.level, m.effective.map((a) => a.data)]), [['session', ['AQ==', 'Ag==']], ['media', ['Aw==']]]);
  assert.deepEqual(mikeyPerMedia(sdp).map((m) => (m.level === 'none' ? m.level : `${m.level}:${Buffer.from(m.message).toString('hex')}`)), ['session:01', 'media:03']);
  // removing them gives the description back
  assert.equal(setKeyMgmt(sdp, { session: [], media: { 1: [] } }), BASE);
  assert.deepEqual(readKeyMgmt(BASE).media.map((m) => m.level), ['none', 'none']);
  assert.throws(() => keyMgmtAttr('mi-key', 'AQID'), /KMPID/);
  assert.throws(() => setKeyMgmt(BASE, { media: { 5: [] } }), /no m-line 5/);
});

test('crypto sessions per m-line: two consecutive CS IDs each (§7.1)', () => {
  assert.deepEqual(allocateCryptoSessions(BASE), [{ media: 0, csIds: [1, 2] }, { media: 1, csIds: [3, 4] }]);
  assert.deepEqual(allocateCryptoSessions(BASE, 'media'), [{ media: 0, csIds: [1, 2] }, { media: 1, csIds: [1, 2] }]);
  const sessions = sessionsForSdp(BASE, [{ initiator: 0xa1 }, { initiator: 0xb1, responder: 0xb2 }], 'AES_CM_128_HMAC_SHA1_80' as const);
  assert.deepEqual(sessions.map((s) => s.ssrc), [0xa1, 0, 0xb1, 0xb2]);
  const i = new PskInitiator({ psk: new Uint8Array(16).fill(5), clock });
  const offer = i.createOffer({ sessions });
  const video = cryptoSessionsOfMedia(offer.bundle.sessions, 1);
  assert.deepEqual(video.map((s) => [s.csId, s.ssrc]), [[3, 0xb1], [4, 0xb2]]);
  // each CS has its own TEK (RFC 3830 §4.1.3: the CS ID is in the derivation)
  const keys = srtpContexts(offer.bundle).map((c) => Buffer.from(c.masterKey).toString('hex'));
  assert.equal(new Set(keys).size, 4);
});

test('offer/answer: the first supported protocol is chosen and processed with its level\'s list (§4.1.2)', async () => {
  const psk = new Uint8Array(16).fill(9);
  const i = new PskInitiator({ psk, clock });
  const offerMsg = i.createOffer({ sessions: sessionsForSdp(BASE, [{ initiator: 1 }, { initiator: 2 }]), verify: true });
  const offer = setKeyMgmt(BASE, { session: [keyMgmtAttr('keyp2', 'AAAA'), keyMgmtAttr('mikey', offerMsg.bytes), keyMgmtAttr('keyp1', 'AAAA')] });
  const seen: string[][] = [];
  const r = new PskResponder({ psk, clock });
  const { answer, chosen } = await answerKeyMgmt(offer, {
    mikey: async (msg, ctx) => {
      seen.push(ctx.protocolList);
      return (await r.receive(msg)).response;
    },
  });
  assert.deepEqual(chosen, [{ level: 'session', media: undefined, prot: 'mikey' }]);
  assert.deepEqual(seen, [['keyp2', 'mikey', 'keyp1']]);
  const answerSdp = setKeyMgmt(BASE, answer);
  const back = readAnswer(offer, answerSdp);
  assert.equal(back.length, 1);
  assert.deepEqual(srtpContexts(i.receiveResponse(back[0]!.message)), srtpContexts(offerMsg.bundle));
  // an answer in a protocol that was not offered
  assert.throws(() => readAnswer(offer, setKeyMgmt(BASE, { session: [keyMgmtAttr('keyp9', 'AAAA')] })), KeyMgmtOfferRejected);
});

test('offer/answer: nothing supported, or a failing key management, rejects the whole offer with 488', async () => {
  const offer = setKeyMgmt(BASE, { session: [keyMgmtAttr('keyp1', 'AAAA')] });
  await assert.rejects(answerKeyMgmt(offer, { mikey: () => undefined }), (e: unknown) => e instanceof KeyMgmtOfferRejected && e.sipStatus === 488 && e.warning === 306);
  // media level fails after the session level succeeded: still the whole session (§4.1.2)
  const both = setKeyMgmt(BASE, { session: [keyMgmtAttr('mikey', 'AQID')], media: { 0: [keyMgmtAttr('mikey', 'BAUG')] } });
  const calls: string[] = [];
  await assert.rejects(answerKeyMgmt(both, {
    mikey: (m, ctx) => {
      calls.push(`${ctx.level}${ctx.media ?? ''}`);
      if (ctx.level === 'media') throw new MikeyProtocolError(0, 'bad MAC');
      return undefined;
    },
  }), (e: unknown) => e instanceof KeyMgmtOfferRejected && e.warning === 399 && e.level === 'media' && e.media === 0 && /bad MAC/.test(e.message));
  assert.deepEqual(calls, ['session', 'media0']);
});

test('bidding-down protection: the SDP IDs General Extension must match the offer\'s list (§4.1.4, §7)', async () => {
  const psk = new Uint8Array(16).fill(4);
  const idr = uriIdentity('sip:bob@example.org');
  const list = ['mikey', 'keyp1'];
  const i = new DhHmacInitiator({ psk, idi: uriIdentity('sip:alice@example.org'), idr, clock, sdpIds: list });
  const msg = i.createOffer({ sessions: sessionsForSdp(BASE, [{ initiator: 7 }, { initiator: 8 }]), group: 'OAKLEY-1' });
  const offer = setKeyMgmt(BASE, { session: [keyMgmtAttr('mikey', msg.bytes), keyMgmtAttr('keyp1', 'AAAA')] });
  const handler = { mikey: async (m: Uint8Array, ctx: { protocolList: string[] }) => (await new DhHmacResponder({ psk, idr, clock, sdpIds: ctx.protocolList, groups: ['OAKLEY-1'] }).receive(m)).response };
  const ok = await answerKeyMgmt(offer, handler);
  assert.equal(ok.chosen[0]!.prot, 'mikey');
  // a man in the middle peels off the other protocol: the list MIKEY authenticated no longer matches
  const peeled = setKeyMgmt(BASE, { session: [keyMgmtAttr('mikey', msg.bytes)] });
  await assert.rejects(answerKeyMgmt(peeled, handler), (e: unknown) => e instanceof KeyMgmtOfferRejected && /bidding-down/.test(e.message));
});
