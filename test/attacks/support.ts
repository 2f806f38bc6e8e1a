// What the attack tests share, written against the package by name only ('mikey', 'mikey/kms').
import { uriIdentity } from 'mikey';
import { DEFAULT_RULE, type SecretBox, type Store } from 'mikey/kms';

/** Awaits p and asserts that it was refused with a protocol error carrying errorNo. */
export { rejects as refused } from '../support/refusal.js';

// ---- a key service provisioned as README "MIKEY-TICKET and the key management service" does ----

export const MASTER = new Uint8Array(32).map((_, i) => i * 3 + 1);
export const psk = (n: number, len = 16) => new Uint8Array(len).map((_, i) => (i * 11 + n) & 0xff);
export const ALICE = 'sip:alice@example.org';
export const BOB = 'sip:bob@example.org';
export const CAROL = 'sip:carol@example.org';
export const KMS_ID = 'sip:kms@example.org';
export const identity = (name: string) => uriIdentity(name);

/** Alice (one device), Bob (two devices), Carol, and a rule letting anyone ask for anyone. */
export async function provision(store: Store, box: SecretBox, rule: Partial<typeof DEFAULT_RULE> = {}): Promise<void> {
  await store.migrate();
  const now = Date.now();
  const add = async (name: string, devices: Array<[string, Uint8Array]>) => {
    await store.addUser({ name, idType: 1, createdAt: now });
    for (const [d, k] of devices) await store.addCredential({ name: d, user: name, kind: 'psk', pskId: Buffer.from(d), secret: box.seal(k, `credential:${d}`), createdAt: now });
  };
  await add(ALICE, [['alice-phone', psk(1)]]);
  await add(BOB, [['bob-phone', psk(2)], ['bob-laptop', psk(3)]]);
  await add(CAROL, [['carol-desk', psk(4)]]);
  await store.addRule({ initiator: '*', responder: '*', ...DEFAULT_RULE, maxKeys: 4, ...rule });
}

/** CPU milliseconds of this process so far (a loaded machine stretches wall time unevenly; CPU time is the work done). */
export const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
