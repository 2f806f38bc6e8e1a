// A corpus of MIKEY messages built from the typed model: at least one message of every data
// type, and together every payload type, key data type, KV type, TS type, CS ID map type and
// General Extension type. Contents are deterministic so the encodings can be bundled as
// samples (samples/*.hex) and compared with independent decoders.
import type { Message, Payload, KeyValidity, PayloadChain, TicketFlags } from '../../src/wire/types.js';
import { PskInitiator } from '../../src/modes/psk/index.js';
import { uriIdentity } from '../../src/session/identity.js';
import { decodeMessage } from '../../src/wire/decode.js';

/** Deterministic bytes: a simple LCG keyed by `seed`. */
export function fill(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const u32 = (v: number): Uint8Array => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v); return b; };

// NTP-UTC of 2026-11-27T12:00:00Z (seconds since 1900) with a fraction
const NTP = hex('ee b3 ef 40 80 00 00 00');
const t = (tsType = 0): Payload => ({ type: 5, tsType, value: tsType < 2 ? NTP : tsType === 2 ? u32(42) : NTP.subarray(0, 4) });
const rand = (seed: number): Payload => ({ type: 11, rand: fill(16, seed) });
const id = (s: string, idType = 1): Payload => ({ type: 6, idType, data: text(s) });
const idr = (role: number, s: string, idType = 1): Payload => ({ type: 14, role, idType, data: text(s) });
const NOKV: KeyValidity = { kv: 0 };
/** A real DER X.509v3 certificate (self-signed, P-256, CN=alice.example.org), so CERT payloads hold what they hold on the wire. */
export const CERT_DER = Uint8Array.from(Buffer.from(
  'MIIBeTCCASCgAwIBAgIBATAKBggqhkjOPQQDAjAcMRowGAYDVQQDDBFhbGljZS5leGFtcGxlLm9yZzAeFw0yNjExMjcxNzI2NTBa' +
  'Fw0zNjExMjQxNzI2NTBaMBwxGjAYBgNVBAMMEWFsaWNlLmV4YW1wbGUub3JnMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfnYN' +
  'aVQm3C+mXDSBlPFlD0GfZM9T1AR0TrCA3GkVJXbLTBngQo9psnTU3fsEVpK97gk8hR8Gy5P3+2QOWwvZQaNTMFEwHQYDVR0OBBYE' +
  'FCVLT07yqGPfO2xZeLDdWbxemCoLMB8GA1UdIwQYMBaAFCVLT07yqGPfO2xZeLDdWbxemCoLMA8GA1UdEwEB/wQFMAMBAf8wCgYI' +
  'KoZIzj0EAwIDRwAwRAIgQ2I5tV3fnsPDF4zFn8VI6vz8/ODITxO0m+lFa6hWNB4CIGa17IBbl35tO1OF9g7xWG5/MciZQQjCexs71wNZRJNK', 'base64'));

/** AES_CM_128_HMAC_SHA1_80 as an SRTP policy (RFC 3830 §6.10.1). */
export const SRTP_POLICY: Payload = {
  type: 10, policyNo: 0, protType: 0, params: [
    { type: 0, value: hex('01') }, { type: 1, value: hex('10') }, { type: 2, value: hex('01') },
    { type: 3, value: hex('14') }, { type: 4, value: hex('0e') }, { type: 5, value: hex('00') },
    { type: 6, value: hex('00') }, { type: 7, value: hex('01') }, { type: 8, value: hex('01') },
    { type: 9, value: hex('00') }, { type: 10, value: hex('01') }, { type: 11, value: hex('0a') },
    { type: 12, value: hex('00') },
  ],
};
/** 3GPP MC group-call default policy with RCC and AEAD parameters (RFC 4771, RFC 7714). */
const MC_POLICY: Payload = {
  type: 10, policyNo: 0, protType: 0, params: [
    { type: 0, value: hex('06') }, { type: 1, value: hex('10') }, { type: 2, value: hex('04') },
    { type: 4, value: hex('0c') }, { type: 5, value: hex('00') }, { type: 6, value: hex('00') },
    { type: 13, value: hex('0001') }, { type: 14, value: hex('04') }, { type: 15, value: hex('01') },
    { type: 16, value: hex('14') }, { type: 17, value: hex('14') }, { type: 18, value: hex('04') },
    { type: 19, value: hex('00') }, { type: 20, value: hex('10') },
  ],
};
/** TESLA policy (RFC 4442 §4.2). */
const TESLA_POLICY: Payload = {
  type: 10, policyNo: 1, protType: 1, params: [
    { type: 1, value: hex('00') }, { type: 2, value: hex('a0') }, { type: 3, value: hex('00') },
    { type: 4, value: hex('50') }, { type: 5, value: NTP }, { type: 6, value: hex('00000014') },
    { type: 7, value: hex('0002') }, { type: 8, value: hex('00001000') }, { type: 9, value: NTP },
  ],
};

const keyData = (keyType: number, seed: number, validity: KeyValidity = NOKV, keyLen = 16): Payload => {
  const p: Payload = { type: 20, keyType, keyData: fill(keyLen, seed), validity };
  if (keyType === 1 || keyType === 3 || keyType === 5) p.salt = fill(14, seed + 1);
  return p;
};
const kemacNull = (plaintext: Payload[], macAlg = 0, macSeed = 9): Payload => ({
  type: 1, encrAlg: 0, encrData: new Uint8Array(0), plaintext, macAlg, mac: fill(macAlg === 0 ? 0 : macAlg === 1 ? 20 : 32, macSeed),
});
const kemacEnc = (encrAlg: number, len: number, macAlg: number, seed: number): Payload => ({
  type: 1, encrAlg, encrData: fill(len, seed), macAlg, mac: fill(macAlg === 0 ? 0 : macAlg === 1 ? 20 : 32, seed + 1),
});
const v = (authAlg: number, seed: number): Payload => ({ type: 9, authAlg, mac: fill(authAlg === 0 ? 0 : authAlg === 1 ? 20 : 32, seed) });
const sign = (sType: number, len: number, seed: number): Payload => ({ type: 4, sType, signature: fill(len, seed) });
const srtpMap = (...ssrcs: number[]) => ({ type: 0 as const, entries: ssrcs.map((ssrc, i) => ({ policyNo: 0, ssrc, roc: i })) });
const emptyMap = { type: 1 as const, csCount: 0 };
const hdr = (dataType: number, csIdMap: Message['header']['csIdMap'] = srtpMap(0x12345678), opts: { v?: boolean; prf?: number; csb?: number } = {}) => ({
  version: 1, dataType, v: opts.v ?? false, prfFunc: opts.prf ?? 0, csbId: opts.csb ?? 0xdeadbeef, csIdMap,
});

const flags = (on: string): TicketFlags => {
  const f = {} as TicketFlags;
  for (const k of ['D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O'] as const) f[k] = on.includes(k);
  return f;
};
const chain = (...payloads: Payload[]): PayloadChain => ({ payloads });

/** SAKKE encapsulated data shape for Parameter Set 1: 0x04 || Rx || Ry || H (273 bytes). */
const sakkeData = (seed: number): Uint8Array => { const d = fill(273, seed); d[0] = 4; return d; };

export interface Sample {
  name: string;
  description: string;
  message: Message;
}

/** The pre-shared key of the `psk-kemac` sample (`mikey decode --psk` opens it). */
export const SAMPLE_PSK = '000102030405060708090a0b0c0d0e0f';

/** A real PSK I_MESSAGE: AES-CM-128 KEMAC with HMAC-SHA-1-160, built by our initiator with a fixed clock and seeded randomness. */
function realPskMessage(): Message {
  let seed = 200;
  const offer = new PskInitiator({
    psk: Uint8Array.from(Buffer.from(SAMPLE_PSK, 'hex')), idi: uriIdentity('sip:alice@example.org'), idr: uriIdentity('sip:bob@example.org'),
    clock: { now: () => Date.UTC(2026, 10, 27, 12) }, random: (n) => fill(n, seed++),
  }).createOffer({ csbId: 0x2468ace0, sessions: [{ ssrc: 0xcafe0001 }, { ssrc: 0xcafe0002, profile: 'AES_CM_128_HMAC_SHA1_32' }], keys: [{ mki: Uint8Array.of(0, 0, 0, 1) }], verify: true });
  const m = decodeMessage(offer.bytes);
  return { header: { ...m.header, span: undefined }, payloads: m.payloads };
}

export const CORPUS: Sample[] = [
  {
    name: 'psk-kemac', description: `PSK I_MESSAGE with an AES-CM-128 KEMAC and HMAC-SHA-1-160 MAC, two crypto sessions, MKI (pre-shared key ${SAMPLE_PSK})`,
    message: realPskMessage(),
  },
  {
    name: 'psk-null', description: 'PSK I_MESSAGE, NULL encryption and NULL MAC (the RTSP camera shape), TEK+SALT with MKI',
    message: {
      header: hdr(0, srtpMap(0x11223344), { v: false, csb: 0x0a0b0c0d }),
      payloads: [t(0), rand(1), SRTP_POLICY, kemacNull([keyData(3, 2, { kv: 1, spi: hex('00000001') })])],
    },
  },
  {
    name: 'psk-aescm', description: 'PSK I_MESSAGE with AES-CM-128, HMAC-SHA-1-160, IDs, two crypto sessions',
    message: {
      header: hdr(0, srtpMap(0x11111111, 0x22222222), { v: true }),
      payloads: [t(0), rand(3), id('sip:alice@example.org'), id('sip:bob@example.org'), SRTP_POLICY, kemacEnc(1, 44, 1, 4)],
    },
  },
  {
    name: 'psk-keydata-all', description: 'PSK I_MESSAGE, NULL-encrypted KEMAC holding every key data type and KV type',
    message: {
      header: hdr(0, srtpMap(0x01020304)),
      payloads: [t(1), rand(5), kemacNull([
        keyData(0, 10), keyData(1, 11, { kv: 1, spi: hex('cafe') }), keyData(2, 12, { kv: 2, validFrom: hex('000000000000'), validTo: hex('0000ffffffff') }),
        keyData(3, 13), keyData(4, 14), keyData(5, 15), keyData(6, 16, NOKV, 32), keyData(7, 17, NOKV, 128),
      ], 2, 18)],
    },
  },
  {
    name: 'psk-verification', description: 'PSK verification message (V with HMAC-SHA-1-160)',
    message: { header: hdr(1), payloads: [t(0), id('sip:bob@example.org'), v(1, 20)] },
  },
  {
    name: 'pk-envelope', description: 'Public-key I_MESSAGE: CERT, AES-KW-128 KEMAC, CHASH, PKE, RSA PKCS#1 SIGN',
    message: {
      header: hdr(2, srtpMap(0x0badcafe), { v: true }),
      payloads: [t(0), rand(21), { type: 7, certType: 0, data: CERT_DER }, id('sip:bob@example.org'), SRTP_POLICY,
        kemacEnc(2, 48, 1, 23), { type: 8, hashFunc: 0, hash: fill(20, 24) }, { type: 2, c: 1, data: fill(256, 25) }, sign(0, 256, 26)],
    },
  },
  {
    name: 'pk-verification', description: 'PK verification message (V with HMAC-SHA-256-256)',
    message: { header: hdr(3), payloads: [t(0), v(2, 27)] },
  },
  {
    name: 'dh-init', description: 'Signed DH I_MESSAGE, OAKLEY 5, RSA/PSS SIGN',
    message: {
      header: hdr(4, srtpMap(0x55555555)),
      payloads: [t(0), rand(28), { type: 7, certType: 1, data: text('http://certs.example.org/alice.der') }, SRTP_POLICY,
        { type: 3, group: 0, value: fill(192, 29), reserved: 0, validity: NOKV }, sign(1, 256, 30)],
    },
  },
  {
    name: 'dh-resp', description: 'Signed DH R_MESSAGE: DHr with SPI, DHi with interval, MD5 and SHA-256 CHASH',
    message: {
      header: hdr(5, srtpMap(0x55555555)),
      payloads: [t(0), { type: 7, certType: 2, data: CERT_DER }, { type: 7, certType: 3, data: CERT_DER }, id('alice@example.org', 0),
        { type: 8, hashFunc: 1, hash: fill(16, 33) }, { type: 8, hashFunc: 2, hash: fill(32, 34) },
        { type: 3, group: 1, value: fill(96, 35), reserved: 0, validity: { kv: 1, spi: hex('01020304') } },
        { type: 3, group: 2, value: fill(128, 36), reserved: 0, validity: { kv: 2, validFrom: hex('00'), validTo: hex('ff') } },
        sign(0, 128, 37)],
    },
  },
  {
    name: 'error', description: 'Error message: ERR payloads and an unauthenticated reply',
    message: { header: hdr(6, emptyMap), payloads: [t(2), { type: 12, errorNo: 0, reserved: 0 }, { type: 12, errorNo: 13, reserved: 0 }, v(0, 0)] },
  },
  {
    name: 'dhhmac-init', description: 'DH-HMAC I_MESSAGE with SDP IDs extension and HMAC-only KEMAC',
    message: {
      header: hdr(7, srtpMap(0x66666666), { v: true }),
      payloads: [t(0), rand(38), id('alice@example.org', 0), id('bob@example.org', 0), SRTP_POLICY,
        { type: 21, extType: 1, data: new Uint8Array(0), sdpIds: ['mikey', 'sdescriptions'] },
        { type: 3, group: 0, value: fill(192, 39), reserved: 0, validity: NOKV }, kemacNull([], 1, 40)],
    },
  },
  {
    name: 'dhhmac-resp', description: 'DH-HMAC R_MESSAGE',
    message: {
      header: hdr(8, srtpMap(0x66666666)),
      payloads: [t(0), id('bob@example.org', 0), id('alice@example.org', 0),
        { type: 3, group: 0, value: fill(192, 41), reserved: 0, validity: NOKV }, { type: 3, group: 0, value: fill(192, 39), reserved: 0, validity: NOKV },
        kemacNull([], 1, 42)],
    },
  },
  {
    name: 'rsar-init', description: 'RSA-R I_MESSAGE with certificate and Vendor ID extension',
    message: {
      header: hdr(9, srtpMap(0x77777777), { v: true }),
      payloads: [t(0), rand(43), { type: 7, certType: 0, data: CERT_DER }, { type: 21, extType: 0, data: text('example vendor') }, SRTP_POLICY, sign(0, 128, 45)],
    },
  },
  {
    name: 'rsar-resp-group', description: 'RSA-R R_MESSAGE, group mode: CSB_ID extension, KEMAC with IDr first, PKE',
    message: {
      header: hdr(10, srtpMap(0x77777777)),
      payloads: [{ type: 21, extType: 4, data: new Uint8Array(0), csbId: 0x01020304 }, t(0), rand(46), id('sip:bob@example.org'), SRTP_POLICY,
        kemacNull([id('sip:bob@example.org'), keyData(0, 47)], 1, 48), { type: 2, c: 0, data: fill(128, 49) }, sign(0, 128, 50)],
    },
  },
  {
    name: 'ticket-request-psk', description: 'MIKEY-TICKET REQUEST_INIT_PSK with TP (every payload of TP data)',
    message: {
      header: hdr(11, emptyMap, { v: true, prf: 1 }),
      payloads: [t(3), { type: 15, role: 1, rand: fill(16, 51) }, idr(1, 'alice@example.org'), idr(3, 'kms.example.org'),
        { type: 16, ticketType: 1, subtype: 1, version: 1, prfFunc: 1, flags: flags('DEFHJLN O'), reserved: 0, tpData: chain(
          idr(3, 'kms.example.org'), idr(1, 'alice@example.org'), { type: 13, role: 2, tsType: 3, value: hex('ed105a40') },
          { type: 13, role: 3, tsType: 3, value: hex('ed1f9c80') }, { type: 13, role: 4, tsType: 3, value: hex('00000e10') },
          kemacNull([keyData(0, 0)]), idr(5, 'app.example'), idr(2, 'bob@example.org')) },
        idr(4, 'psk-1'), v(2, 52)],
    },
  },
  {
    name: 'ticket-request-pk', description: 'MIKEY-TICKET REQUEST_INIT_PK',
    message: {
      header: hdr(12, emptyMap, { v: true, prf: 1 }),
      payloads: [t(0), { type: 15, role: 1, rand: fill(16, 53) }, idr(1, 'alice@example.org'), { type: 7, certType: 0, data: CERT_DER },
        idr(3, 'kms.example.org'), { type: 16, ticketType: 1, subtype: 1, version: 1, prfFunc: 1, flags: flags('DEFH'), reserved: 0, tpData: chain(idr(2, 'bob@example.org')) },
        { type: 8, hashFunc: 2, hash: fill(32, 55) }, { type: 2, c: 0, data: fill(256, 56) }, sign(1, 256, 57)],
    },
  },
  {
    name: 'ticket-request-resp', description: 'MIKEY-TICKET REQUEST_RESP with a MIKEY base ticket (THDR, T, RAND, KEMAC, IDRpsk, V)',
    message: {
      header: hdr(13, emptyMap, { prf: 1 }),
      payloads: [t(0), idr(3, 'kms.example.org'),
        { type: 17, ticketType: 1, subtype: 1, version: 1, prfFunc: 1, flags: flags('DEFHN O'), reserved: 0, tpData: chain(idr(2, 'bob@example.org')),
          ticketData: new Uint8Array(0), baseTicket: [{ type: 256, data: fill(8, 58) }, t(0), rand(59), kemacEnc(3, 48, 0, 60), idr(4, 'tpk-7'), v(2, 61)],
          initiatorData: chain() },
        kemacEnc(3, 64, 0, 62), v(2, 63)],
    },
  },
  {
    name: 'ticket-transfer-init', description: 'MIKEY-TICKET TRANSFER_INIT with GENERIC-ID map, forking ticket with Initiator Data (Vi, Vr)',
    message: {
      header: hdr(14, { type: 2, entries: [
        { csId: 1, protType: 0, s: true, policies: [0], sessionData: new Uint8Array(0), srtp: { ssrc: 0x01010101, roc: 0, seq: 1000 }, spi: hex('00000001') },
        { csId: 2, protType: 0, s: false, policies: [], sessionData: new Uint8Array(0), spi: new Uint8Array(0) },
      ] }, { v: true, prf: 1, csb: 0x11111111 }),
      payloads: [t(0), { type: 15, role: 1, rand: fill(16, 64) }, idr(1, 'alice@example.org'), idr(2, 'bob@example.org'), SRTP_POLICY,
        { type: 17, ticketType: 61440, subtype: 7, version: 2, prfFunc: 1, flags: flags('DEFGHIJLMNO'), reserved: 0, tpData: chain(idr(2, 'bob@example.org')),
          ticketData: fill(40, 65), initiatorData: chain(v(2, 66), v(2, 67)) },
        kemacEnc(1, 24, 2, 68), v(2, 69)],
    },
  },
  {
    name: 'ticket-transfer-resp', description: 'MIKEY-TICKET TRANSFER_RESP',
    message: {
      header: hdr(15, { type: 2, entries: [{ csId: 1, protType: 0, s: false, policies: [0], sessionData: new Uint8Array(0), srtp: { ssrc: 0x02020202 }, spi: hex('01') }] }, { prf: 1, csb: 0x11111111 }),
      payloads: [t(0), { type: 15, role: 2, rand: fill(16, 70) }, idr(2, 'bob@example.org'), { type: 15, role: 3, rand: fill(16, 71) }, SRTP_POLICY, v(2, 72)],
    },
  },
  {
    name: 'ticket-resolve-psk', description: 'MIKEY-TICKET RESOLVE_INIT_PSK',
    message: {
      header: hdr(16, emptyMap, { v: true, prf: 1 }),
      payloads: [t(0), { type: 15, role: 2, rand: fill(16, 73) }, idr(2, 'bob@example.org'), idr(3, 'kms.example.org'),
        { type: 17, ticketType: 2, subtype: 1, version: 1, prfFunc: 0, flags: flags('DE'), reserved: 0, tpData: chain(), ticketData: fill(33, 74), initiatorData: chain() },
        idr(4, 'psk-bob'), v(2, 75)],
    },
  },
  {
    name: 'ticket-resolve-pk', description: 'MIKEY-TICKET RESOLVE_INIT_PK',
    message: {
      header: hdr(17, emptyMap, { v: true, prf: 1 }),
      payloads: [t(0), { type: 15, role: 2, rand: fill(16, 76) }, idr(2, 'bob@example.org'),
        { type: 17, ticketType: 2, subtype: 1, version: 1, prfFunc: 0, flags: flags('D'), reserved: 0, tpData: chain(), ticketData: fill(20, 77), initiatorData: chain() },
        { type: 2, c: 2, data: fill(128, 78) }, sign(0, 128, 79)],
    },
  },
  {
    name: 'ticket-resolve-resp', description: 'MIKEY-TICKET RESOLVE_RESP',
    message: {
      header: hdr(18, emptyMap, { prf: 1 }),
      payloads: [t(0), idr(3, 'kms.example.org'), kemacEnc(3, 48, 0, 80), idr(2, 'bob@example.org'), { type: 15, role: 3, rand: fill(16, 81) }, v(2, 82)],
    },
  },
  {
    name: 'ibake-request-key-psk', description: 'MIKEY-IBAKE REQUEST_KEY_PSK',
    message: {
      header: hdr(19, emptyMap, { v: true }),
      payloads: [t(0), rand(83), idr(1, 'alice@example.org'), idr(3, 'kms.example.org'), idr(4, 'psk-alice'), v(1, 84)],
    },
  },
  {
    name: 'ibake-request-key-pke', description: 'MIKEY-IBAKE REQUEST_KEY_PKE',
    message: {
      header: hdr(20, emptyMap, { v: true }),
      payloads: [t(0), rand(85), idr(1, 'alice@example.org'), { type: 7, certType: 0, data: CERT_DER }, idr(3, 'kms.example.org'),
        { type: 2, c: 0, data: fill(128, 87) }, sign(0, 128, 88)],
    },
  },
  {
    name: 'ibake-request-key-resp', description: 'MIKEY-IBAKE REQUEST_KEY_RESP with NULL-encrypted KEMAC: IDR then K_PR',
    message: {
      header: hdr(21, emptyMap),
      payloads: [t(0), idr(1, 'alice@example.org'), idr(3, 'kms.example.org'), kemacNull([idr(1, 'alice@example.org'), keyData(7, 89, NOKV, 129)]), v(1, 90)],
    },
  },
  {
    name: 'ibake-i1', description: 'MIKEY-IBAKE I_MESSAGE_1 with IBAKE and ESK',
    message: {
      header: hdr(22, srtpMap(0x88888888), { v: true }),
      payloads: [t(0), rand(91), idr(1, 'alice@example.org'), idr(2, 'bob@example.org'), { type: 22, encrData: fill(200, 92) }, { type: 23, encrData: fill(120, 93) }],
    },
  },
  {
    name: 'ibake-r1', description: 'MIKEY-IBAKE R_MESSAGE_1',
    message: { header: hdr(23, srtpMap(0x88888888), { v: true }), payloads: [t(0), idr(1, 'alice@example.org'), idr(2, 'bob@example.org'), { type: 22, encrData: fill(300, 94) }] },
  },
  {
    name: 'ibake-i2', description: 'MIKEY-IBAKE I_MESSAGE_2',
    message: { header: hdr(24, srtpMap(0x88888888), { v: true }), payloads: [t(0), rand(95), idr(1, 'alice@example.org'), idr(2, 'bob@example.org'), { type: 22, encrData: fill(300, 96) }] },
  },
  {
    name: 'ibake-r2', description: 'MIKEY-IBAKE R_MESSAGE_2',
    message: { header: hdr(25, srtpMap(0x88888888)), payloads: [t(0), idr(1, 'alice@example.org'), idr(2, 'bob@example.org'), { type: 22, encrData: fill(150, 97) }, v(1, 98)] },
  },
  {
    name: 'sakke-gmk', description: 'MIKEY-SAKKE I_MESSAGE shaped as a 3GPP GMK distribution: GENERIC-ID, SAKKE, SAKKE-to-self, key parameters, ECCSI SIGN',
    message: {
      header: hdr(26, { type: 2, entries: [{ csId: 4, protType: 0, s: false, policies: [0], sessionData: new Uint8Array(0), spi: hex('0df9bc3906a12aea') }] }, { prf: 1, csb: 0x06a12aea }),
      payloads: [t(0), rand(99), idr(1, 'sip:gms@example.org'), idr(2, 'sip:alice@example.org'), idr(6, 'kms.example.org'), idr(7, 'kms.example.org'),
        MC_POLICY, { type: 26, sakkeParams: 1, idScheme: 2, data: sakkeData(100) },
        { type: 21, extType: 6, data: new Uint8Array(0), sakke: { type: 26, sakkeParams: 1, idScheme: 2, data: sakkeData(101) } },
        { type: 21, extType: 7, data: fill(80, 102) }, sign(2, 129, 103)],
    },
  },
  {
    name: 'sakke-tel', description: 'MIKEY-SAKKE I_MESSAGE per RFC 6509 (tel URI scheme, SRTP-ID), with Key ID, OMA BCAST and TESLA extensions',
    message: {
      header: hdr(26, srtpMap(0x99999999)),
      payloads: [t(0), rand(104), idr(1, 'tel:+447700900123'), idr(2, 'tel:+447700900124'), SRTP_POLICY, TESLA_POLICY,
        { type: 21, extType: 3, data: new Uint8Array(0), keyIds: [{ keyIdType: 0, keyId: fill(4, 105) }, { keyIdType: 1, keyId: fill(4, 106) }, { keyIdType: 2, keyId: fill(4, 107) }] },
        { type: 21, extType: 5, data: new Uint8Array(0), omaBcast: { subtype: 2, data: fill(12, 108) } },
        { type: 21, extType: 2, data: fill(20, 109) },
        { type: 26, sakkeParams: 1, idScheme: 1, data: sakkeData(110) }, sign(2, 129, 111)],
    },
  },
];

/** Plaintext sub-payload chains that only appear after decryption (RFC 6267 §6.1.4, §6.1.5). */
export const IBAKE_PLAINTEXT: Payload[] = [
  idr(1, 'alice@example.org'),
  { type: 25, curve: 8, point: (() => { const p = fill(65, 112); p[0] = 4; return p; })(), padding: hex('00'), authAlg: 0, tgkLen: 0, reserved: 0, validity: NOKV },
  { type: 25, curve: 3, point: (() => { const p = fill(22, 116); p[0] = 3; return p; })(), padding: new Uint8Array(0), authAlg: 0, tgkLen: 0, reserved: 0, validity: NOKV },
  { type: 25, curve: 2, point: (() => { const p = fill(43, 117); p[0] = 4; return p; })(), padding: hex('000000'), authAlg: 0, tgkLen: 0, reserved: 0, validity: NOKV },
  idr(2, 'bob@example.org'),
  { type: 25, curve: 11, point: (() => { const p = fill(49, 113); p[0] = 2; return p; })(), padding: hex('00'), authAlg: 0, tgkLen: 16, reserved: 0, validity: { kv: 1, spi: hex('aa') } },
  { type: 25, curve: 14, point: (() => { const p = fill(133, 114); p[0] = 4; return p; })(), padding: hex('00'), authAlg: 0, tgkLen: 0, reserved: 0, validity: NOKV },
];
export const ESK_PLAINTEXT: Payload[] = [
  idr(1, 'alice@example.org'),
  { type: 24, skType: 1, keyData: fill(32, 115), validity: { kv: 2, validFrom: hex('0000'), validTo: hex('ffff') } },
];
