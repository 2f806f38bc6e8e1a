// The SRTP hand-off after DH-HMAC (RFC 4650) and RSA-R (RFC 4738), end to end: libsrtp protects
// RTP and RTCP with one side's keys and unprotects them with the other's (and the other way
// round), for several profiles, with an MKI and non-zero ROCs; RSA-R in unicast and group mode.
import { test } from 'node:test';
import { DhHmacInitiator, DhHmacResponder } from '../../src/modes/dhhmac/index.js';
import { RsaRInitiator, RsaRResponder } from '../../src/modes/rsar/index.js';
import { uriIdentity } from '../../src/session/identity.js';
import { needPeer } from '../support/peer.js';
import { SESSIONS, checkBothWays, SHORT_TAGS } from './handoff-support.js';
import { buildSrtpDriver, srtpProblem } from './srtp.js';
import { pki } from '../support/pki.js';

const T0 = Date.UTC(2027, 0, 15, 12);
const clock = { now: () => T0 };
test('SRTP hand-off through libsrtp after DH-HMAC (initial and re-keyed) and RSA-R (unicast, update, group)', async (t) => {
  if (!needPeer(t, 'libsrtp', srtpProblem())) return;
  await buildSrtpDriver();
  const psk = new Uint8Array(16).fill(0x3c);
  const alice = uriIdentity('sip:alice@example.org');
  const bob = uriIdentity('sip:bob@example.org');
  const di = new DhHmacInitiator({ psk, idi: alice, idr: bob, clock });
  const dr = new DhHmacResponder({ psk, idr: bob, clock, groups: ['OAKLEY-2'], ...SHORT_TAGS });
  const got = await dr.receive(di.createOffer({ sessions: SESSIONS, group: 'OAKLEY-2', mki: Uint8Array.of(0, 0, 0, 9) }).bytes);
  await checkBothWays(di.receiveResponse(got.response), got.bundle, 5);
  const again = await dr.receive(di.createUpdate({ mki: Uint8Array.of(0, 0, 0, 10) }).bytes);
  await checkBothWays(di.receiveResponse(again.response), again.bundle, 5);

  const a = { privateKey: pki('alice.key'), certificate: pki('alice.pem'), trustAnchors: [pki('ca.pem')], clock };
  const b = { privateKey: pki('bob.key'), certificate: pki('bob.pem'), trustAnchors: [pki('ca.pem')], clock };
  const ri = new RsaRInitiator(a);
  const rr = new RsaRResponder({ ...b, keys: [{ mki: Uint8Array.of(0, 0, 0, 7) }], ...SHORT_TAGS });
  const ans = await rr.receive(ri.createOffer({ sessions: SESSIONS }).bytes);
  await checkBothWays((await ri.receiveResponse(ans.response)).bundle, ans.bundle, 5);
  const up = await rr.receive(ri.createUpdate().bytes);
  await checkBothWays((await ri.receiveResponse(up.response)).bundle, up.bundle, 5);

  const server = new RsaRResponder({ ...b, group: { sessions: SESSIONS.slice(0, 4), keys: [{ mki: Uint8Array.of(0, 0, 0, 1) }] }, ...SHORT_TAGS });
  for (const member of [new RsaRInitiator(a), new RsaRInitiator({ ...a, scheme: 'pss' })]) {
    const g = await server.receive(member.createOffer({ group: true }).bytes);
    await checkBothWays((await member.receiveResponse(g.response)).bundle, server.groupBundle!, 4);
  }
});
