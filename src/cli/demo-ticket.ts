// The MIKEY-TICKET demo: an embedded KMS (SQLite in memory) on 127.0.0.1, Alice asks it for a
// ticket over HTTP, sends TRANSFER_INIT to Bob over UDP, Bob resolves the ticket with the KMS
// over UDP and answers with TRANSFER_RESP: six messages, and both ends hold the same SRTP keys.
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { identity } from '../kms/memory.js';
import { DEFAULT_RULE } from '../kms/grant.js';
import { SecretBox } from '../kms/secrets.js';
import { openStore } from '../kms/store.js';
import { KmsService } from '../kms/service.js';
import { httpTransport, serveKms, udpTransport } from '../kms/server.js';
import { TicketInitiator } from '../modes/ticket/initiator.js';
import { TicketResponder } from '../modes/ticket/responder.js';
import { MikeyProtocolError } from '../session/errors.js';
import type { CryptoSessionBundle } from '../session/bundle.js';
import { IdType } from '../wire/registry.js';

export async function ticketDemo(): Promise<{ method: string; messages: number; bytes: number; a: CryptoSessionBundle; b: CryptoSessionBundle }> {
  const store = await openStore(':memory:');
  const box = new SecretBox(randomBytes(32));
  await store.migrate();
  await store.metaOnce('master-key-check', box.checkValue());
  const alicePsk = randomBytes(16);
  const bobPsk = randomBytes(16);
  const now = Date.now();
  for (const [name, device, key] of [['sip:alice@example.org', 'alice-phone', alicePsk], ['sip:bob@example.org', 'bob-phone', bobPsk]] as const) {
    await store.addUser({ name, idType: IdType.Uri, createdAt: now });
    await store.addCredential({ name: device, user: name, kind: 'psk', pskId: Buffer.from(device), secret: box.seal(key, `credential:${device}`), createdAt: now });
  }
  await store.addRule({ initiator: 'sip:alice@example.org', responder: 'sip:bob@example.org', ...DEFAULT_RULE, forking: 'require' });
  const service = await KmsService.open({ store, box, identity: 'sip:kms@example.org', node: 'demo' });
  const kms = await serveKms(service, { http: { port: 0 }, udp: { port: 0 } });
  const toKms = udpTransport(kms.udpPort!);
  const bobSocket = createSocket('udp4');
  let bytes = 0;
  let messages = 0;
  const count = (b: Uint8Array) => { bytes += b.length; messages++; return b; };
  try {
    // Bob: TRANSFER_INIT in on his socket, RESOLVE_INIT/RESP with the KMS, TRANSFER_RESP back
    const bob = new TicketResponder({ identity: identity('sip:bob@example.org'), kms: identity('sip:kms@example.org'), psk: bobPsk, pskId: Buffer.from('bob-phone') });
    let bobBundle: CryptoSessionBundle | undefined;
    bobSocket.on('message', (m, from) => {
      bob.receiveTransfer(new Uint8Array(m), async (r) => count(await toKms(count(r)))).then((got) => {
        bobBundle = got.session.bundle;
        if (got.response) bobSocket.send(count(got.response), from.port, from.address);
      }, (e: unknown) => {
        if (e instanceof MikeyProtocolError && e.response) bobSocket.send(e.response, from.port, from.address);
      });
    });
    await new Promise<void>((ok) => bobSocket.bind(0, '127.0.0.1', ok));

    // Alice: a ticket from the KMS over HTTP, then TRANSFER_INIT to Bob over UDP
    const alice = new TicketInitiator({ identity: identity('sip:alice@example.org'), kms: identity('sip:kms@example.org'), psk: alicePsk, pskId: Buffer.from('alice-phone') });
    const req = alice.createRequest({ responders: [identity('sip:bob@example.org')], flags: { I: true } });
    const grant = req.receiveResponse(count(await httpTransport(kms.httpUrl!)(count(req.bytes))));
    const xfer = alice.createTransfer(grant, { sessions: [{ ssrc: 0x1234abcd, profiles: ['AES_CM_128_HMAC_SHA1_80'] }, { profiles: ['AEAD_AES_128_GCM'] }] });
    if (!xfer.expectsResponse) throw new Error('the granted policy asks for no TRANSFER_RESP (F = 0)');
    const toBob = udpTransport(bobSocket.address().port);
    const answer = await toBob(count(xfer.bytes));
    toBob.close();
    const a = xfer.receiveResponse(answer).bundle;
    if (!bobBundle) throw new Error('Bob holds no keys');
    return { method: 'MIKEY-TICKET (RFC 6043), forked, PSK legs', messages, bytes, a, b: bobBundle };
  } finally {
    bobSocket.close();
    toKms.close();
    await kms.close();
    await service.close();
  }
}
