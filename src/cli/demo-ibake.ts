// MIKEY-IBAKE over UDP on loopback: an in-process identity KMS (Boneh-Franklin, n = 1024) issues
// alice's and bob's private keys through REQUEST_KEY_PSK over UDP, then the four-message
// exchange runs between an initiator socket and a responder socket.
import { createSocket } from 'node:dgram';
import { bfGenerateCurve } from '../crypto/bfibe.js';
import { uriIdentity, type Identity } from '../session/identity.js';
import { IbakeInitiator, IbakeResponder } from '../modes/ibake/index.js';
import { IbakeKeyRequester, IbakeKeyResponder } from '../modes/ibake/keyrequest.js';
import { IbakeKeyRing } from '../modes/ibake/keyring.js';
import { IbeKeyIssuer } from '../idkms/ibe-issuer.js';
import { MemoryIdKmsStore } from '../idkms/store.js';
import type { CryptoSessionBundle } from '../session/bundle.js';
import { exchange, serve } from './demo.js';
import { randomBytes } from 'node:crypto';

const SESSIONS = [{ ssrc: 0x1234abcd }, { ssrc: 0x5678ef01, profile: 'AEAD_AES_128_GCM' as const }];

export async function ibakeDemo(): Promise<{ method: string; messages: number; bytes: number; a: CryptoSessionBundle; b: CryptoSessionBundle }> {
  const client = createSocket('udp4');
  await new Promise<void>((ok) => client.bind(0, '127.0.0.1', ok));
  const sockets = [client];
  try {
    // the KMS: a fresh system curve, the master secret sealed in memory under a random master key
    const { curve, hash } = bfGenerateCurve(1024);
    const issuer = await IbeKeyIssuer.open({ store: new MemoryIdKmsStore(), masterKey: new Uint8Array(randomBytes(32)), curve, hash });
    const kmsId = uriIdentity('kms.example.org');
    const alice = uriIdentity('sip:alice@example.org');
    const bob = uriIdentity('sip:bob@example.org');
    const psks = new Map<string, Uint8Array>([alice, bob].map((id) => [Buffer.from(id.data).toString(), new Uint8Array(randomBytes(16))]));
    const kms = new IbakeKeyResponder({
      kms: kmsId, domain: issuer.domain(), issue: issuer.issuer(),
      psk: (users) => (users.length === 1 ? psks.get(Buffer.from(users[0]!.data).toString()) : undefined),
    });
    const kmsSrv = await serve((m) => kms.receive(m));
    sockets.push(kmsSrv.socket);
    const ringOf = async (id: Identity): Promise<IbakeKeyRing> => {
      const ring = new IbakeKeyRing(issuer.domain());
      const req = new IbakeKeyRequester({ identities: [id], kms: kmsId, domain: issuer.domain(), psk: psks.get(Buffer.from(id.data).toString())! });
      req.receiveInto((await exchange(client, kmsSrv.port, req.createRequest(), true))!, ring);
      return ring;
    };
    const ringA = await ringOf(alice);
    const ringB = await ringOf(bob);

    // the exchange: I_MESSAGE_1, R_MESSAGE_1, I_MESSAGE_2, R_MESSAGE_2
    const responder = new IbakeResponder({ keys: ringB });
    const srv = await serve((m) => responder.receive(m));
    sockets.push(srv.socket);
    const initiator = new IbakeInitiator({ idi: alice, keys: ringA });
    const m1 = initiator.createOffer({ idr: bob, sessions: SESSIONS });
    const r1 = (await exchange(client, srv.port, m1.bytes, true))!;
    const m2 = initiator.receiveResponse(r1);
    const r2 = (await exchange(client, srv.port, m2.bytes, true))!;
    const a = initiator.receiveVerification(r2);
    const b = srv.bundles[0];
    if (!b) throw new Error('the responder derived no keys');
    return { method: 'MIKEY-IBAKE (RFC 6267), P-256 + BF-IBE n=1024', messages: 4, bytes: m1.bytes.length + r1.length + m2.bytes.length + r2.length, a, b };
  } finally {
    for (const s of sockets) s.close();
  }
}
