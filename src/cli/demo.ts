// `mikey demo`: each method over UDP on loopback between an initiator socket and a responder
// socket, with a table of what it took and whether both ends hold the same SRTP keys.
import { createSocket, type Socket } from 'node:dgram';
import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PskInitiator, PskResponder } from '../modes/psk/index.js';
import { PkInitiator, PkResponder } from '../modes/pke/index.js';
import { DhInitiator, DhResponder } from '../modes/dh/index.js';
import { uriIdentity } from '../session/identity.js';
import { srtpContexts, type CryptoSessionBundle } from '../session/bundle.js';
import { MikeyProtocolError } from '../session/errors.js';
import { dhHmacDemo, rsaRDemo } from './demo-dhhmac-rsar.js';
import { sakkeDemo } from './demo-sakke.js';
import { ibakeDemo } from './demo-ibake.js';
import { ticketDemo } from './demo-ticket.js';
import { mediaLeg } from './media-leg.js';
import { EXIT, EXIT_HELP, parseCommand } from './args.js';

export interface DemoRow {
  method: string;
  messages: number;
  bytes: number;
  ms: number;
  agree: boolean;
  /** The media leg: SRTP packets sent with one side's keys and authenticated with the other's. */
  media?: { sent: number; authenticated: number };
  detail?: string;
}

/** Both bundles give the same SRTP contexts (SSRC, ROC, keys, salts, MKIs, profiles). */
export function sameKeys(a: CryptoSessionBundle, b: CryptoSessionBundle): boolean {
  const show = (x: CryptoSessionBundle) => JSON.stringify(srtpContexts(x).map((c) => [c.ssrc, c.roc, c.profile, Buffer.from(c.masterKey).toString('hex'), Buffer.from(c.masterSalt).toString('hex'), c.mki && Buffer.from(c.mki).toString('hex')]));
  return show(a) === show(b);
}

/** A responder on its own UDP socket: answers each datagram with the method's response (if any). */
export async function serve(handle: (msg: Uint8Array) => Promise<{ response?: Uint8Array; bundle?: CryptoSessionBundle }>): Promise<{ socket: Socket; port: number; bundles: CryptoSessionBundle[] }> {
  const socket = createSocket('udp4');
  const bundles: CryptoSessionBundle[] = [];
  socket.on('message', (msg, rinfo) => {
    handle(new Uint8Array(msg)).then((r) => {
      if (r.bundle) bundles.push(r.bundle);
      if (r.response) socket.send(r.response, rinfo.port, rinfo.address);
    }, (e) => {
      if (e instanceof MikeyProtocolError && e.response) socket.send(e.response, rinfo.port, rinfo.address);
    });
  });
  await new Promise<void>((ok) => socket.bind(0, '127.0.0.1', ok));
  return { socket, port: socket.address().port, bundles };
}

/** Send a datagram and wait for the answer (or for `quiet` ms of silence when none is expected). */
export function exchange(client: Socket, port: number, bytes: Uint8Array, expectAnswer: boolean, timeoutMs = 2000): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMsg);
      if (expectAnswer) reject(new Error('no answer')); else resolve(undefined);
    }, expectAnswer ? timeoutMs : 50);
    const onMsg = (m: Buffer) => {
      clearTimeout(timer);
      client.off('message', onMsg);
      resolve(new Uint8Array(m));
    };
    client.on('message', onMsg);
    client.send(bytes, port, '127.0.0.1');
  });
}

const SESSIONS = [{ ssrc: 0x1234abcd }, { ssrc: 0x5678ef01, profile: 'AEAD_AES_128_GCM' as const }];

/** Runs every method; `onRow` sees each row as soon as its method finishes. */
export async function runDemo(onRow?: (row: DemoRow) => void): Promise<DemoRow[]> {
  const rows: DemoRow[] = [];
  const client = createSocket('udp4');
  await new Promise<void>((ok) => client.bind(0, '127.0.0.1', ok));
  const alice = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const bob = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const idA = uriIdentity('sip:alice@example.org');
  const idB = uriIdentity('sip:bob@example.org');
  const peerKey = (id?: { data: Uint8Array }) => (id && Buffer.from(id.data).toString() === 'sip:alice@example.org' ? alice.publicKey : undefined);
  const run = async (method: string, go: () => Promise<{ messages: number; bytes: number; a: CryptoSessionBundle; b?: CryptoSessionBundle }>) => {
    const t0 = performance.now();
    try {
      const r = await go();
      const ms = performance.now() - t0;
      const agree = !!r.b && sameKeys(r.a, r.b);
      rows.push({ method, messages: r.messages, bytes: r.bytes, ms, agree, media: agree ? await mediaLeg(r.a, r.b!) : undefined });
    } catch (e) {
      rows.push({ method, messages: 0, bytes: 0, ms: performance.now() - t0, agree: false, detail: (e as Error).message });
    }
    onRow?.(rows[rows.length - 1]!);
  };
  try {
    const psk = new Uint8Array(16).map((_, i) => i * 17);
    {
      const res = new PskResponder({ psk, idr: idB });
      const srv = await serve((m) => res.receive(m));
      await run('pre-shared key (RFC 3830)', async () => {
        const ini = new PskInitiator({ psk, idi: idA, idr: idB });
        const offer = ini.createOffer({ sessions: SESSIONS, verify: true });
        const answer = await exchange(client, srv.port, offer.bytes, true);
        return { messages: 2, bytes: offer.bytes.length + answer!.length, a: ini.receiveResponse(answer!), b: srv.bundles[0] };
      });
      srv.socket.close();
    }
    {
      const res = new PkResponder({ privateKey: bob.privateKey, peerKey, idr: idB });
      const srv = await serve((m) => res.receive(m));
      await run('public-key envelope (RFC 3830)', async () => {
        const ini = new PkInitiator({ privateKey: alice.privateKey, idi: idA, responderKey: bob.publicKey });
        const offer = ini.createOffer({ sessions: SESSIONS, verify: true });
        const answer = await exchange(client, srv.port, offer.bytes, true);
        return { messages: 2, bytes: offer.bytes.length + answer!.length, a: ini.receiveResponse(answer!), b: srv.bundles[0] };
      });
      srv.socket.close();
    }
    {
      const bobPeer = (id?: { data: Uint8Array }) => (id && Buffer.from(id.data).toString() === 'sip:bob@example.org' ? bob.publicKey : undefined);
      const res = new DhResponder({ privateKey: bob.privateKey, peerKey, idr: idB });
      const srv = await serve((m) => res.receive(m));
      await run('signed Diffie-Hellman (RFC 3830)', async () => {
        const ini = new DhInitiator({ privateKey: alice.privateKey, idi: idA, idr: idB, peerKey: bobPeer });
        const offer = ini.createOffer({ sessions: SESSIONS });
        const answer = await exchange(client, srv.port, offer.bytes, true);
        return { messages: 2, bytes: offer.bytes.length + answer!.length, a: ini.receiveResponse(answer!), b: srv.bundles[0] };
      });
      srv.socket.close();
    }
    // the methods that bring their own sockets
    for (const [method, go] of [['DH-HMAC (RFC 4650)', dhHmacDemo], ['RSA-R (RFC 4738)', () => rsaRDemo({ alice, bob })], ['MIKEY-SAKKE (RFC 6509, 3GPP MCX)', sakkeDemo], ['MIKEY-TICKET (RFC 6043), embedded KMS', ticketDemo], ['MIKEY-IBAKE (RFC 6267)', ibakeDemo]] as const) {
      await run(method, async () => {
        const r = await go();
        return { messages: r.messages, bytes: r.bytes, a: r.a, b: r.b };
      });
    }
  } finally {
    client.close();
  }
  return rows;
}

const HEAD = ['method', 'messages', 'bytes', 'ms', 'keys agree', 'SRTP sent/authenticated'];
/** Column widths: wide enough for every method's name, so rows can be printed as they come. */
const WIDTHS = [38, 8, 5, 7, 10, 23];

function cells(r: DemoRow): string[] {
  return [r.method, String(r.messages), String(r.bytes), r.ms.toFixed(1), r.agree ? 'yes' : `NO${r.detail ? ` (${r.detail})` : ''}`, r.media ? `${r.media.sent}/${r.media.authenticated}` : '-'];
}

function line(c: string[]): string {
  return c.map((x, i) => (i === 0 || i === 4 ? x.padEnd(WIDTHS[i]!) : x.padStart(WIDTHS[i]!))).join('  ').trimEnd();
}

/** The table's head: its titles and a rule. */
export function demoHead(): string {
  return [line(HEAD), WIDTHS.map((n) => '-'.repeat(n)).join('  ')].join('\n');
}

/** One row of the table. */
export function demoRowLine(r: DemoRow): string {
  return line(cells(r));
}

export function renderDemo(rows: readonly DemoRow[]): string {
  return [demoHead(), ...rows.map(demoRowLine)].join('\n');
}

export const help = `Usage: mikey demo

Runs each implemented key-exchange method between an initiator and a responder, each on its
own UDP socket on 127.0.0.1, with fresh keys, then a media leg: one side sends SRTP over UDP
with its keys and the other authenticates and decrypts it with its own. Prints a table, a row
as each method finishes: method, messages, bytes, milliseconds (key set-up included), whether
both ends hold the same SRTP keys, and SRTP packets sent/authenticated.

${EXIT_HELP}
Status 1 also when any method's keys or media disagree.`;

export async function run(argv: string[], helpText = help): Promise<number> {
  const { values } = parseCommand(argv, {}, { maxPositionals: 0 });
  if (values.help) {
    console.log(helpText);
    return EXIT.ok;
  }
  console.log(demoHead());
  const rows = await runDemo((r) => console.log(demoRowLine(r)));
  return rows.every((r) => r.agree && r.media && r.media.authenticated === r.media.sent) ? EXIT.ok : EXIT.data;
}
