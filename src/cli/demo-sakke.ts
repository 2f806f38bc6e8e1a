// MIKEY-SAKKE over UDP on loopback: a KMS issues keys (ECCSI and SAKKE) to two MC users; Alice
// sends Bob a private call key (TS 33.180 E.3) in one signed I_MESSAGE; no answer is sent
// (RFC 6509 §2.1). Both ends then hold the same SRTP keys.
import { createSocket } from 'node:dgram';
import { eccsiKmsSetup, eccsiMakeSskPvt } from '../crypto/eccsi.js';
import { SakkeKmsPublicKey, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../crypto/sakke.js';
import type { CryptoSessionBundle } from '../session/bundle.js';
import { McxKeyManagement, keyPeriodNumber, uidFor, type McxKeySet, type McxKms } from '../profiles/mcx/index.js';
import { exchange, serve } from './demo.js';

export async function sakkeDemo(): Promise<{ method: string; messages: number; bytes: number; a: CryptoSessionBundle; b: CryptoSessionBundle }> {
  // the KMS and its public keys (TS 33.180 D.3.2), with monthly key periods
  const ekms = eccsiKmsSetup();
  const skms = sakkeKmsSetup(sakkeParamSet1);
  const kms: McxKms = { uri: 'kms.example.org', zS: new SakkeKmsPublicKey(sakkeParamSet1, skms.zS), kpak: ekms.kpak, keyPeriod: 2592000, keyPeriodOffset: 0 };
  const period = keyPeriodNumber(Date.now(), kms.keyPeriod, kms.keyPeriodOffset);
  const issue = (uri: string): McxKeySet[] => [period, period + 1].map((n) => {
    const uid = uidFor(uri, kms, n);
    const e = eccsiMakeSskPvt(ekms, uid);
    return { keyPeriodNo: n, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, uid), ssk: e.ssk, pvt: e.pvt, hs: e.hs };
  });
  const alice = new McxKeyManagement({ uri: 'sip:alice@example.org', kms, keySets: issue('sip:alice@example.org') });
  const bob = new McxKeyManagement({ uri: 'sip:bob@example.org', kms, keySets: issue('sip:bob@example.org') });

  let received!: (b: CryptoSessionBundle) => void;
  let failed!: (e: unknown) => void;
  const done = new Promise<CryptoSessionBundle>((ok, no) => { received = ok; failed = no; });
  const srv = await serve(async (m) => {
    try {
      const r = await bob.receive(m, { initiator: 'sip:alice@example.org' });
      received(r.bundle);
      return { bundle: r.bundle };
    } catch (e) {
      failed(e);
      throw e;
    }
  });
  const client = createSocket('udp4');
  await new Promise<void>((ok) => client.bind(0, '127.0.0.1', ok));
  try {
    const pck = alice.sendPck({ to: 'sip:bob@example.org' });
    await exchange(client, srv.port, pck.bytes, false);
    const timeout = new Promise<never>((_, no) => setTimeout(() => no(new Error('the I_MESSAGE was not processed')), 5000).unref());
    const b = await Promise.race([done, timeout]);
    return { method: 'MIKEY-SAKKE (RFC 6509, TS 33.180 private call key)', messages: 1, bytes: pck.bytes.length, a: pck.bundle, b };
  } finally {
    client.close();
    srv.socket.close();
  }
}
