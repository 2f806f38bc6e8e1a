// `mikey demo` rows for DH-HMAC (RFC 4650) and RSA-R (RFC 4738): each exchange over UDP on
// loopback between an initiator socket and a responder socket, as in demo.ts.
import { createSocket } from 'node:dgram';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { DhHmacInitiator, DhHmacResponder } from '../modes/dhhmac/index.js';
import { RsaRInitiator, RsaRResponder } from '../modes/rsar/index.js';
import { uriIdentity, type Identity } from '../session/identity.js';
import type { CryptoSessionBundle } from '../session/bundle.js';
import { exchange, serve } from './demo.js';

export interface MethodDemo {
  method: string;
  messages: number;
  bytes: number;
  /** The initiator's keys. */
  a: CryptoSessionBundle;
  /** The responder's keys. */
  b: CryptoSessionBundle;
}

const SESSIONS = [{ ssrc: 0x1234abcd }, { ssrc: 0x5678ef01, profile: 'AEAD_AES_128_GCM' as const }];
const idA = uriIdentity('sip:alice@example.org');
const idB = uriIdentity('sip:bob@example.org');

/** One request/answer over UDP on 127.0.0.1 between a fresh client socket and the responder's socket. */
async function overUdp(
  handle: (m: Uint8Array) => Promise<{ response?: Uint8Array; bundle?: CryptoSessionBundle }>,
  request: Uint8Array,
  finish: (answer: Uint8Array) => Promise<CryptoSessionBundle> | CryptoSessionBundle,
): Promise<{ bytes: number; a: CryptoSessionBundle; b: CryptoSessionBundle }> {
  const srv = await serve(handle);
  const client = createSocket('udp4');
  try {
    await new Promise<void>((ok) => client.bind(0, '127.0.0.1', ok));
    const answer = await exchange(client, srv.port, request, true);
    const a = await finish(answer!);
    const b = srv.bundles[0];
    if (!b) throw new Error('the responder kept no keys');
    return { bytes: request.length + answer!.length, a, b };
  } finally {
    client.close();
    srv.socket.close();
  }
}

/** DH-HMAC with OAKLEY 5, a pre-shared key and the SDP IDs extension. */
export async function dhHmacDemo(): Promise<MethodDemo> {
  const psk = new Uint8Array(20).map((_, i) => i * 13);
  const res = new DhHmacResponder({ psk, idr: idB, sdpIds: ['mikey'] });
  const ini = new DhHmacInitiator({ psk, idi: idA, idr: idB, sdpIds: ['mikey'] });
  const r = await overUdp((m) => res.receive(m), ini.createOffer({ sessions: SESSIONS }).bytes, (answer) => ini.receiveResponse(answer));
  return { method: 'HMAC-authenticated DH (RFC 4650)', messages: 2, ...r };
}

type KeyPair = { publicKey: KeyObject; privateKey: KeyObject };

/**
 * RSA-R unicast: the initiator asks, the responder chooses the TGK and encrypts it to the
 * initiator's key. The demo passes the key pairs its other RSA rows use: a row times the
 * exchange, not key generation.
 */
export async function rsaRDemo(keys?: { alice: KeyPair; bob: KeyPair }): Promise<MethodDemo> {
  const alice = keys?.alice ?? generateKeyPairSync('rsa', { modulusLength: 2048 });
  const bob = keys?.bob ?? generateKeyPairSync('rsa', { modulusLength: 2048 });
  const known = (uri: string, key: KeyObject) => (id: Identity | undefined) => (id && Buffer.from(id.data).toString() === uri ? key : undefined);
  const res = new RsaRResponder({ privateKey: bob.privateKey, idr: idB, peerKey: known('sip:alice@example.org', alice.publicKey) });
  const ini = new RsaRInitiator({ privateKey: alice.privateKey, idi: idA, idr: idB, peerKey: known('sip:bob@example.org', bob.publicKey) });
  const r = await overUdp((m) => res.receive(m), ini.createOffer({ sessions: SESSIONS }).bytes, async (answer) => (await ini.receiveResponse(answer)).bundle);
  return { method: 'reverse public key, RSA-R (RFC 4738)', messages: 2, ...r };
}
