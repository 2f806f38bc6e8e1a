// The demo's media leg: SRTP over UDP on loopback with the handed-off keys of both ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mediaLeg } from '../../src/cli/media-leg.js';
import { PskInitiator, PskResponder } from '../../src/modes/psk/index.js';
import { DhInitiator, DhResponder } from '../../src/modes/dh/index.js';
import { RtspNullInitiator, RtspNullResponder } from '../../src/profiles/rtsp-null.js';
import { NO_MINIMUM_POLICY } from '../../src/modes/kit/policy.js';
import { pki } from '../support/pki.js';

const SESSIONS = [
  { ssrc: 0x11, profile: 'AES_CM_128_HMAC_SHA1_80' as const },
  { ssrc: 0x22, roc: 7, profile: 'AES_CM_128_HMAC_SHA1_32' as const },
  { ssrc: 0, profile: 'AEAD_AES_256_GCM' as const },
  { ssrc: 0x44, profile: 'AES_192_CM_HMAC_SHA1_80' as const },
  { ssrc: 0x55, profile: 'NULL_HMAC_SHA1_80' as const },
];

test('PSK: every packet sent authenticates, for every profile, with MKI and SSRC 0', async () => {
  const psk = new Uint8Array(16).fill(2);
  const i = new PskInitiator({ psk });
  const o = i.createOffer({ sessions: SESSIONS, keys: [{ mki: Uint8Array.of(9, 9) }] });
  // every profile, the weak ones too: opted in below the default minimum policy
  const got = await new PskResponder({ psk, minimumPolicy: NO_MINIMUM_POLICY }).receive(o.bytes);
  assert.deepEqual(await mediaLeg(o.bundle, got.bundle), { sent: 50, authenticated: 50 });
  assert.deepEqual(await mediaLeg(got.bundle, o.bundle, 7), { sent: 7, authenticated: 7 });
  // keys that do not match: nothing authenticates
  const other = i.createOffer({ sessions: SESSIONS, keys: [{ mki: Uint8Array.of(9, 9) }] });
  assert.deepEqual(await mediaLeg(other.bundle, got.bundle), { sent: 50, authenticated: 0 });
});

test('DH and the RTSP camera profile', async () => {
  const alice = { privateKey: pki('alice.key'), certificate: pki('alice.pem') };
  const bob = { privateKey: pki('bob.key'), certificate: pki('bob.pem') };
  const di = new DhInitiator({ ...alice, trustAnchors: [pki('ca.pem')] });
  const got = await new DhResponder({ ...bob, trustAnchors: [pki('ca.pem')], groups: ['OAKLEY-2'], minimumPolicy: { minTagLength: 4 } }).receive(di.createOffer({ sessions: SESSIONS.slice(0, 2), group: 'OAKLEY-2' }).bytes);
  assert.deepEqual(await mediaLeg(di.receiveResponse(got.response), got.bundle, 20), { sent: 20, authenticated: 20 });
  const m = new RtspNullInitiator().createMessage();
  const a = await new RtspNullResponder().receive(m.bytes);
  assert.deepEqual(await mediaLeg(m.bundle, a.bundle, 10), { sent: 10, authenticated: 10 });
});
