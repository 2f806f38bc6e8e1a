// The SRTP hand-off, end to end: after each RFC 3830 method, libsrtp protects RTP and RTCP with
// the initiator's keys and unprotects them with the responder's (and the other way round),
// for several profiles, with an MKI and a non-zero ROC.
import { test } from 'node:test';
import { PskInitiator, PskResponder } from '../../src/modes/psk/index.js';
import { PkInitiator, PkResponder } from '../../src/modes/pke/index.js';
import { DhInitiator, DhResponder } from '../../src/modes/dh/index.js';
import { needPeer } from '../support/peer.js';
import { SESSIONS, checkBothWays, SHORT_TAGS } from './handoff-support.js';
import { buildSrtpDriver, srtpProblem } from './srtp.js';
import { pki } from '../support/pki.js';

const T0 = Date.UTC(2027, 0, 15, 12);
const clock = { now: () => T0 };
test('SRTP hand-off through libsrtp after PSK, public-key and DH exchanges', async (t) => {
  if (!needPeer(t, 'libsrtp', srtpProblem())) return;
  await buildSrtpDriver();
  const psk = new Uint8Array(16).fill(3);
  const keys = [{ mki: Uint8Array.of(0, 0, 0, 7) }];
  const pi = new PskInitiator({ psk, clock });
  const po = pi.createOffer({ sessions: SESSIONS, keys });
  await checkBothWays(po.bundle, (await new PskResponder({ psk, clock, ...SHORT_TAGS }).receive(po.bytes)).bundle);

  const alice = { privateKey: pki('alice.key'), certificate: pki('alice.pem') };
  const bob = { privateKey: pki('bob.key'), certificate: pki('bob.pem') };
  const ki = new PkInitiator({ ...alice, responderKey: bob.certificate, clock });
  const ko = ki.createOffer({ sessions: SESSIONS, keys });
  await checkBothWays(ko.bundle, (await new PkResponder({ ...bob, trustAnchors: [pki('ca.pem')], clock, ...SHORT_TAGS }).receive(ko.bytes)).bundle);

  const di = new DhInitiator({ ...alice, trustAnchors: [pki('ca.pem')], clock });
  const got = await new DhResponder({ ...bob, trustAnchors: [pki('ca.pem')], clock, groups: ['OAKLEY-2'], ...SHORT_TAGS }).receive(di.createOffer({ sessions: SESSIONS, group: 'OAKLEY-2', mki: Uint8Array.of(9) }).bytes);
  await checkBothWays(di.receiveResponse(got.response), got.bundle);
});
