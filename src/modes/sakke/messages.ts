// MIKEY-SAKKE (RFC 6509): one signed message, no response.
//   I_MESSAGE = HDR, T, RAND, [IDRi], [IDRr], [IDRkmsi], [IDRkmsr], {SP}, SAKKE, {GenExt}, SIGN
// SAKKE (RFC 6508) carries the SSV to the responder's identifier; the SSV is the TGK (§3.1).
// SIGN is ECCSI (RFC 6507, S type 2) over the message up to and including the SIGN header.
// This file has the method itself (building, checking, both signature coverages) and the
// RFC 6509 §3.2 identifier scheme 1 ("YYYY-MM\0tel:+…\0", month from T); the 3GPP profile
// (identifier scheme 2) builds on the same core in src/profiles/mcx/.
import { CryptoError } from '../../crypto/errors.js';
import { ECCSI_N, ECCSI_SIGNATURE_LENGTH, EccsiVerifier, eccsiSign } from '../../crypto/eccsi.js';
import { SakkeKmsPublicKey, SakkeReceiver, sakkeEncapsulate, sakkeParamSet1 } from '../../crypto/sakke.js';
import type { MikeyPrf } from '../../crypto/prf.js';
import { tryDecodeMessage, type DecodedMessage, type DecodeOptions } from '../../wire/decode.js';
import { MikeyDecodeError } from '../../wire/errors.js';
import { DataType, ErrorNo, IdType, PayloadType, SakkeParams, SignType, TsType } from '../../wire/registry.js';
import type {
  CommonHeader, CsIdMap, GeneralExtPayload, IdrPayload, Message, Payload, SakkePayload, SignPayload, SpPayload, TPayload,
} from '../../wire/types.js';
import { MikeyProtocolError } from '../../session/errors.js';
import {
  any, checkFresh, checkLayout, encodeWithTrailingTag, header, one, payloadOf, payloadsOf, recordAuthenticated, type Endpoint,
  type ResolvedEndpoint,
} from '../kit/common.js';

/** A KMS's public keys (RFC 6509 §2.1.2): SAKKE KMS Public Key Z and ECCSI KPAK. */
export interface SakkeKmsPublicKeys {
  /** KMS Public Key Z_T (0x04 || x || y), or its precomputation. */
  zS: Uint8Array | SakkeKmsPublicKey;
  /** KMS Public Authentication Key (0x04 || x || y). */
  kpak: Uint8Array;
}

/** A user's keys for one key period, for the identifier `id` (RFC 6509 §2.1.2). */
export interface SakkeUserKeys {
  /** The identifier the KMS issued the keys for. */
  id: Uint8Array;
  /** Receiver Secret Key (RFC 6508 §2.2); needed to receive. */
  rsk?: Uint8Array;
  /** Secret Signing Key and Public Validation Token (RFC 6507 §4.2); needed to send. */
  ssk?: Uint8Array;
  pvt?: Uint8Array;
  /** HS stored with the SSK (RFC 6507 §5.1.2); recomputed when absent. */
  hs?: Uint8Array;
}

/**
 * Which bytes the ECCSI signature covers. RFC 3830 §5.2 / RFC 6509: the message up to and
 * including the SIGN payload's S type and length ('rfc'). Some deployed senders sign only the
 * bytes before the SIGN payload ('excluding-sign-header'), accepted only when asked.
 */
export type SakkeSignatureCoverage = 'rfc' | 'excluding-sign-header';

const enc = new TextEncoder();
export const dec = new TextDecoder();

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

/** "YYYY-MM" (UTC) of a time in ms. */
export function keyMonth(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** A "tel" URI constrained as RFC 6509 §3.2 asks: global notation, no separators, no parameters. */
export function checkTelUri(uri: string): void {
  if (!/^tel:\+[0-9]+$/.test(uri)) throw new TypeError(`not a constrained global "tel" URI (RFC 6509 §3.2): ${JSON.stringify(uri)}`);
}

/** RFC 6509 §3.2: "YYYY-MM\0" || "tel:+…\0", the month from `ms` (UTC) or given as "YYYY-MM". */
export function telUriIdentifier(uri: string, month: number | string): Uint8Array {
  checkTelUri(uri);
  const m = typeof month === 'number' ? keyMonth(month) : month;
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(m)) throw new TypeError(`not a "YYYY-MM" month: ${m}`);
  return enc.encode(`${m}\0${uri}\0`);
}

/** The month of a key period after `month` ("YYYY-MM"). */
export function nextKeyMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${String(y + 1).padStart(4, '0')}-01` : `${String(y).padStart(4, '0')}-${String(m + 1).padStart(2, '0')}`;
}

export interface SakkeMessageParts {
  csbId: number;
  csIdMap: CsIdMap;
  prf: MikeyPrf;
  t: TPayload;
  rand: Uint8Array;
  /** IDRi, IDRr, IDRkmsi, IDRkmsr (or a profile's identity payloads), in order. */
  idrs: readonly IdrPayload[];
  sps: readonly SpPayload[];
  /** The SSV = TGK (default: n/8 random bytes). */
  ssv?: Uint8Array;
  /** The responder's SAKKE identifier b and its KMS Public Key. */
  recipient: { id: Uint8Array; zS: Uint8Array | SakkeKmsPublicKey };
  idScheme: number;
  /** General Extension payloads after SAKKE (inside the signature), built from the SSV. */
  extensions?: (ssv: Uint8Array) => GeneralExtPayload[];
  /** The signer's identifier and ECCSI keys, and its KMS's KPAK. */
  signer: { id: Uint8Array; ssk: Uint8Array; pvt: Uint8Array; hs?: Uint8Array; kpak: Uint8Array };
  random: (n: number) => Uint8Array;
  /** For tests of lenient receivers only: sign as some deployed senders do. */
  coverage?: SakkeSignatureCoverage;
}

/** The SAKKE payload (RFC 6509 §4.2) with the SSV encapsulated to `id` (RFC 6508 §6.2.1). */
export function sakkePayloadFor(id: Uint8Array, zS: Uint8Array | SakkeKmsPublicKey, idScheme: number, ssv: Uint8Array, random: (n: number) => Uint8Array): SakkePayload {
  const e = sakkeEncapsulate(sakkeParamSet1, zS, id, { ssv, random });
  return { type: PayloadType.Sakke, sakkeParams: SakkeParams.ParameterSet1, idScheme, data: e.encapsulatedData };
}

/** Build and sign an I_MESSAGE. Returns its bytes and the SSV. */
export function buildSakkeIMessage(p: SakkeMessageParts): { bytes: Uint8Array; ssv: Uint8Array } {
  const ssv = p.ssv ?? p.random(sakkeParamSet1.n / 8);
  // RFC 6509 §4.1: V = 0
  const hdr: CommonHeader = header(DataType.Sakke, p.csbId, p.prf, p.csIdMap, false);
  const sakke = sakkePayloadFor(p.recipient.id, p.recipient.zS, p.idScheme, ssv, p.random);
  const sign: SignPayload = { type: PayloadType.Sign, sType: SignType.Eccsi, signature: new Uint8Array(ECCSI_SIGNATURE_LENGTH) };
  const payloads: Payload[] = [p.t, { type: PayloadType.Rand, rand: p.rand }, ...p.idrs, ...p.sps, sakke, ...(p.extensions?.(ssv) ?? []), sign];
  const s = p.signer;
  const bytes = encodeWithTrailingTag({ header: hdr, payloads }, ECCSI_SIGNATURE_LENGTH, (covered) =>
    // RFC 3830 §5.2: everything but the signature, SIGN header included
    eccsiSign(s.kpak, s.id, s.ssk, s.pvt, p.coverage === 'excluding-sign-header' ? covered.subarray(0, covered.length - 2) : covered, { hs: s.hs, random: p.random }));
  return { bytes, ssv };
}

/** What a responder may accept beyond the RFCs, each only when asked. */
export interface SakkeLenience {
  /** Accept ECCSI signatures that leave the SIGN header out (some deployed senders). */
  signatureWithoutSignHeader?: boolean;
  /** Accept an SP payload with the Empty CS ID map (RFC 4563 §5 forbids it; some deployed senders). */
  spWithEmptyMap?: boolean;
  /** Accept General Extension payloads before the SAKKE payload (RFC 6509 §2.1 puts them after; some deployed senders). */
  generalExtensionBeforeSakke?: boolean;
}

/** A signer to try: its identifier and a verifier for its KMS's KPAK. */
export interface SakkeSignerCandidate<L = unknown> {
  id: Uint8Array;
  verifier: EccsiVerifier;
  /** The caller's label for the candidate, returned when it verifies. */
  label: L;
}

/** A key of ours to try on the SAKKE payload. */
export interface SakkeReceiverCandidate<L = unknown> {
  receiver: () => SakkeReceiver;
  /** Encapsulated data to open instead of the SAKKE payload's (e.g. SAKKE-to-self). */
  data?: Uint8Array;
  label: L;
}

export interface SakkeOpened<S, R> {
  msg: DecodedMessage;
  t: TPayload;
  rand: Uint8Array;
  ssv: Uint8Array;
  signer: S;
  receiver: R;
  coverage: SakkeSignatureCoverage;
  /** The leniencies this message needed (empty for a conforming message). */
  lenient: string[];
}

/** The payload order of RFC 6509 §2.1 (no CERT: RFC 6509 §2.2.1 forbids it with ECCSI), with the profiles' General Extensions. */
export const SAKKE_LAYOUT = [
  one(PayloadType.T), one(PayloadType.Rand), any(PayloadType.Idr), any(PayloadType.Sp), one(PayloadType.Sakke), any(PayloadType.GeneralExt), one(PayloadType.Sign),
];

/** SAKKE_LAYOUT with General Extensions before the SAKKE payload too (deployed senders). */
export const SAKKE_LAYOUT_EXT_FIRST = [
  one(PayloadType.T), one(PayloadType.Rand), any(PayloadType.Idr), any(PayloadType.Sp), any(PayloadType.GeneralExt), one(PayloadType.Sakke), any(PayloadType.GeneralExt), one(PayloadType.Sign),
];

/** RFC 6509 §2.1 payload order; with `generalExtensionBeforeSakke`, extensions before SAKKE too (reported). */
export function checkSakkeLayout(msg: Message, lenience: SakkeLenience, lenient: string[]): void {
  try {
    checkLayout(msg, SAKKE_LAYOUT, 'SAKKE I_MESSAGE');
  } catch (e) {
    if (!lenience.generalExtensionBeforeSakke) throw e;
    checkLayout(msg, SAKKE_LAYOUT_EXT_FIRST, 'SAKKE I_MESSAGE');
    lenient.push('general-extension-before-sakke');
  }
}

/**
 * Decode, turning codec errors into the Error a responder answers with. With `spWithEmptyMap`,
 * an SP payload beside the Empty map is read, and reported in `lenient`.
 */
export function decodeSakkeMessage(bytes: Uint8Array, lenience: SakkeLenience, lenient: string[], opts: DecodeOptions = {}): DecodedMessage {
  const m = tryDecodeMessage(bytes, { ...opts, allowSpWithEmptyMap: lenience.spWithEmptyMap === true });
  if (m instanceof MikeyDecodeError) throw new MikeyProtocolError(m.errorNo, m.message, { cause: m });
  if (m.spWithEmptyMap) lenient.push('sp-with-empty-map');
  return m;
}

/**
 * RFC 6509 §2.2.2 in order: data type and layout, T (type 0 or 1, fresh), the ECCSI signature
 * over the exact bytes, replay, then SAKKE. `signers` and `receivers` give the candidates the
 * caller derives from the message (identifier schemes differ); the first that works wins.
 */
export async function openSakkeIMessage<S, R>(
  msg: DecodedMessage,
  ep: ResolvedEndpoint,
  lenience: SakkeLenience,
  lenient: string[],
  idScheme: number,
  signers: (t: TPayload) => Array<SakkeSignerCandidate<S>>,
  receivers: (t: TPayload, signer: S) => Array<SakkeReceiverCandidate<R>>,
): Promise<SakkeOpened<S, R>> {
  if (msg.header.dataType !== DataType.Sakke) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType} is not a SAKKE message`);
  checkSakkeLayout(msg, lenience, lenient);
  const t = payloadOf(msg, PayloadType.T)!;
  // §2.2.1: TS type NTP-UTC or NTP, so that the identifiers can be determined
  if (t.tsType !== TsType.NtpUtc && t.tsType !== TsType.Ntp) throw new MikeyProtocolError(ErrorNo.InvalidTs, `TS type ${t.tsType} in a SAKKE message (NTP-UTC or NTP required)`);
  const fresh = checkFresh(t, ep, msg.header.csbId);
  const sakke = payloadOf(msg, PayloadType.Sakke)!;
  if (sakke.sakkeParams !== SakkeParams.ParameterSet1) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `SAKKE params ${sakke.sakkeParams} not supported`);
  if (sakke.idScheme !== idScheme) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `SAKKE ID scheme ${sakke.idScheme} (this responder uses ${idScheme})`);
  const sign = payloadOf(msg, PayloadType.Sign)!;
  if (sign.sType !== SignType.Eccsi) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `S type ${sign.sType} (only ECCSI is supported)`);
  if (sign.signature.length !== ECCSI_SIGNATURE_LENGTH) throw new MikeyProtocolError(ErrorNo.AuthFailure, `ECCSI signature of ${sign.signature.length} bytes`);
  // §2.2.2: the signature first (RFC 6507 §5.2.2)
  const rfc = msg.bytes.subarray(0, sign.span!.end - ECCSI_SIGNATURE_LENGTH);
  const bare = msg.bytes.subarray(0, sign.span!.start);
  const candidates = signers(t);
  const verify = (c: SakkeSignerCandidate<S>, m: Uint8Array): boolean => {
    try {
      return c.verifier.verify(c.id, m, sign.signature);
    } catch (e) {
      if (e instanceof CryptoError) return false; // a PVT off the curve
      throw e;
    }
  };
  let coverage: SakkeSignatureCoverage = 'rfc';
  let signer = candidates.find((c) => verify(c, rfc));
  if (!signer && lenience.signatureWithoutSignHeader) {
    signer = candidates.find((c) => verify(c, bare));
    coverage = 'excluding-sign-header';
  }
  if (!signer) throw new MikeyProtocolError(ErrorNo.AuthFailure, candidates.length ? 'ECCSI signature does not verify' : 'no signer identity to verify the signature with');
  if (coverage === 'excluding-sign-header') lenient.push('signature-without-sign-header');
  // the replay identity: the signed bytes and r, not s (RFC 6507: (r, s) and (r, q-s) both verify)
  await recordAuthenticated([rfc, sign.signature.subarray(0, ECCSI_N)], ep, fresh);
  // RFC 6508 §6.2.2 with each of our candidate keys
  let ssv: Uint8Array | undefined;
  let receiver: SakkeReceiverCandidate<R> | undefined;
  for (const c of receivers(t, signer.label)) {
    try {
      ssv = c.receiver().decapsulate(c.data ?? sakke.data);
      receiver = c;
      break;
    } catch (e) {
      if (!(e instanceof CryptoError)) throw e;
    }
  }
  if (!ssv || !receiver) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'the SAKKE data does not decapsulate with any key of ours');
  return { msg, t, rand: payloadOf(msg, PayloadType.Rand)!.rand, ssv, signer: signer.label, receiver: receiver.label, coverage, lenient };
}

/**
 * The last guard of a receive entry point: anything but a protocol error (a bug, or key
 * material the checks above missed) becomes Unspecified error, marked `unexpected`, so that
 * no other exception type leaves a receiver and the peer still gets an Error message.
 */
export function asProtocolError(e: unknown): MikeyProtocolError {
  if (e instanceof MikeyProtocolError) return e;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new MikeyProtocolError(ErrorNo.Unspecified, `${UNEXPECTED} ${what}`, { cause: e });
}
/** Prefix of the reason of an error `asProtocolError` converted. */
export const UNEXPECTED = 'unexpected failure:';

/** Build a SakkeReceiver once per identifier (RSK validation and its Miller lines are the costly part). */
export class SakkeReceiverCache {
  private readonly cache = new Map<string, SakkeReceiver>();
  get(zS: Uint8Array | SakkeKmsPublicKey, id: Uint8Array, rsk: Uint8Array): SakkeReceiver {
    const key = Buffer.from(id).toString('base64');
    let r = this.cache.get(key);
    if (!r) {
      r = new SakkeReceiver(sakkeParamSet1, zS, id, rsk);
      this.cache.set(key, r);
    }
    return r;
  }
}

/** ECCSI verifiers per KPAK (each keeps KPAK's fixed-base table). */
export class EccsiVerifierCache {
  private readonly cache = new Map<string, EccsiVerifier>();
  get(kpak: Uint8Array): EccsiVerifier {
    const key = Buffer.from(kpak).toString('base64');
    let v = this.cache.get(key);
    if (!v) {
      v = new EccsiVerifier(kpak);
      this.cache.set(key, v);
    }
    return v;
  }
}

export function kmsPublicKey(zS: Uint8Array | SakkeKmsPublicKey): SakkeKmsPublicKey {
  return zS instanceof SakkeKmsPublicKey ? zS : new SakkeKmsPublicKey(sakkeParamSet1, zS);
}

export function idrPayload(role: number, data: Uint8Array | string, idType: number = IdType.Uri): IdrPayload {
  return { type: PayloadType.Idr, role, idType, data: typeof data === 'string' ? enc.encode(data) : data };
}

export function idrText(msg: Message, role: number): string | undefined {
  const p = payloadsOf(msg, PayloadType.Idr).find((x) => x.role === role);
  return p ? dec.decode(p.data) : undefined;
}

export interface SakkeEndpointOptions extends Endpoint {
  /** Our constrained tel URI, e.g. "tel:+447700900123". */
  uri: string;
  /** Our KMS's public keys (the root of trust for our keys). */
  kms: SakkeKmsPublicKeys;
  /** Our keys, for the current and the next month (RFC 6509 §3.3: two periods at once). */
  keys: readonly SakkeUserKeys[];
  /** Our KMS's URI, sent in IDRkmsi / IDRkmsr when given. */
  kmsUri?: string;
  /** Other KMSs by URI (RFC 6509 §2.1: several KMSs); ours when absent or unnamed. */
  peerKms?: (kmsUri: string | undefined) => SakkeKmsPublicKeys | undefined;
}
