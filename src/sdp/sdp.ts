// RFC 4567 carriage in an SDP description: reading and writing `a=key-mgmt` at session and media
// level (media overrides session, §3.1), the offer/answer rules (§4.1.1, §4.1.2), the protocol
// list for bidding-down protection (§4.1.4, §7: MIKEY's "SDP IDs" General Extension) and the
// allocation of crypto sessions to m-lines (§7.1). The rest of the SDP is sdp-transform's.
import sdpTransform from 'sdp-transform';
import type { SessionDescription, MediaDescription } from 'sdp-transform';
import { isBase64, isKmpid, KeyMgmtSyntaxError, parseKeyMgmtValue, toBase64, KMPID_MIKEY } from './keymgmt.js';

/** One `a=key-mgmt` attribute. */
export interface KeyMgmtAttr {
  prot: string;
  /** base64 of the key management message. */
  data: string;
}

export interface MediaKeyMgmt {
  /** m-line index (0-based). */
  index: number;
  type: string;
  protocol: string;
  /** a=control of the m-line (RTSP), when present. */
  control?: string;
  /** The attributes written at this m-line. */
  own: KeyMgmtAttr[];
  /** What applies: the m-line's own when it has any, the session's otherwise (§3.1). */
  effective: KeyMgmtAttr[];
  level: 'media' | 'session' | 'none';
}

export interface SdpKeyMgmt {
  session: KeyMgmtAttr[];
  media: MediaKeyMgmt[];
  /** a=control at session level (RTSP aggregate control), when present. */
  control?: string;
}

type WithInvalid = { invalid?: Array<{ value: string }> };

function parse(sdp: string | SessionDescription): SessionDescription {
  return typeof sdp === 'string' ? sdpTransform.parse(sdp) : sdp;
}

function attrsOf(level: WithInvalid): KeyMgmtAttr[] {
  const out: KeyMgmtAttr[] = [];
  for (const a of level.invalid ?? []) {
    if (!a.value.startsWith('key-mgmt:')) continue;
    out.push(parseKeyMgmtValue(a.value.slice('key-mgmt:'.length)));
  }
  return out;
}

/** The key-mgmt attributes of a description, per level, in the order written (= preference, §4.1.2). */
export function readKeyMgmt(sdp: string | SessionDescription): SdpKeyMgmt {
  const d = parse(sdp);
  const session = attrsOf(d as WithInvalid);
  const media = (d.media ?? []).map((m, index): MediaKeyMgmt => {
    const own = attrsOf(m as WithInvalid);
    const level = own.length ? 'media' : session.length ? 'session' : 'none';
    return { index, type: m.type, protocol: m.protocol, control: m.control, own, effective: own.length ? own : session, level };
  });
  return { session, media, control: (d as { control?: string }).control };
}

/**
 * The protocol list of one level (RFC 4567 §4.1.4): its KMPIDs joined by ";" in SDP order. It is
 * what each key management protocol authenticates (MIKEY: the SDP IDs General Extension, §7).
 */
export function protocolList(attrs: readonly KeyMgmtAttr[]): string[] {
  return attrs.map((a) => a.prot);
}

/** An attribute for a message. */
export function keyMgmtAttr(prot: string, message: Uint8Array | string): KeyMgmtAttr {
  if (!isKmpid(prot)) throw new KeyMgmtSyntaxError(`"${prot}" is not a KMPID`);
  const data = toBase64(message);
  if (!isBase64(data)) throw new KeyMgmtSyntaxError('key management data is not base64');
  return { prot, data };
}

export interface SetKeyMgmt {
  /** Replace the session-level attributes (an empty array removes them). */
  session?: readonly KeyMgmtAttr[];
  /** Replace the attributes of these m-lines. */
  media?: Readonly<Record<number, readonly KeyMgmtAttr[]>>;
}

function setLevel(level: WithInvalid, attrs: readonly KeyMgmtAttr[]): void {
  const others = (level.invalid ?? []).filter((a) => !a.value.startsWith('key-mgmt:'));
  const mine = attrs.map((a) => {
    keyMgmtAttr(a.prot, a.data);
    return { value: `key-mgmt:${a.prot} ${a.data}` };
  });
  level.invalid = [...mine, ...others];
  if (!level.invalid.length) delete level.invalid;
}

/** Write key-mgmt attributes into a description; everything else is kept as sdp-transform reads it. */
export function setKeyMgmt(sdp: string | SessionDescription, set: SetKeyMgmt): string {
  const d = structuredClone(parse(sdp));
  if (set.session) setLevel(d as WithInvalid, set.session);
  for (const [i, attrs] of Object.entries(set.media ?? {})) {
    const m = d.media?.[Number(i)];
    if (!m) throw new RangeError(`no m-line ${i}`);
    setLevel(m as WithInvalid, attrs);
  }
  return sdpTransform.write(d);
}

// ---- crypto sessions per m-line (RFC 4567 §7.1) ----------------------------------------------

export interface MediaCryptoSessions {
  /** m-line index. */
  media: number;
  /** Two consecutive CS IDs (1-based), one per direction of the stream (§7.1). */
  csIds: [number, number];
}

/**
 * RFC 4567 §7.1: "MIKEY SHALL allocate two consecutive numbers for the related Crypto Session
 * indexes (as each stream can be bi-directional)". At session level the m-lines share one CSB
 * (1-2 for the first m-line, 3-4 for the second, ...); at media level each m-line has its own
 * message and CSB, with CS IDs 1 and 2.
 */
export function allocateCryptoSessions(sdp: string | SessionDescription, level: 'session' | 'media' = 'session'): MediaCryptoSessions[] {
  const d = parse(sdp);
  return (d.media ?? []).map((_, i) => ({ media: i, csIds: level === 'session' ? [2 * i + 1, 2 * i + 2] : [1, 2] }));
}

/** The SRTP streams of one m-line: SSRCs of its two directions (0: filled in by the responder). */
export interface MediaStreams {
  /** SSRC sent by the offerer (MIKEY initiator) on this m-line. */
  initiator?: number;
  /** SSRC sent by the answerer. */
  responder?: number;
}

/**
 * The crypto sessions of a MIKEY message at session level, in CS ID order: for each m-line its
 * initiator's stream then its responder's (§7.1), with the given profile. Pass the result as
 * `sessions` to an initiator's createOffer.
 */
export function sessionsForSdp<P>(sdp: string | SessionDescription, streams: ReadonlyArray<MediaStreams | undefined>, profile?: P): Array<{ ssrc: number; profile?: P }> {
  return allocateCryptoSessions(sdp, 'session').flatMap(({ media }) => {
    const s = streams[media] ?? {};
    return [{ ssrc: s.initiator ?? 0, profile }, { ssrc: s.responder ?? 0, profile }];
  });
}

/** The two crypto sessions of m-line `media` in a bundle whose CSB covers the whole description. */
export function cryptoSessionsOfMedia<S extends { csId: number }>(sessions: readonly S[], media: number): S[] {
  return sessions.filter((s) => s.csId === 2 * media + 1 || s.csId === 2 * media + 2);
}

// ---- offer / answer (RFC 4567 §4.1.1, §4.1.2) -----------------------------------------------

/** What the application knows when it hands a received message to a key management protocol. */
export interface KeyMgmtContext {
  level: 'session' | 'media';
  /** m-line index for media level. */
  media?: number;
  /** The protocol list of this level, to check against what the message authenticates (§4.1.4). */
  protocolList: string[];
}

/** A key management protocol as the SDP application sees it: message in, answer message (or none) out. */
export type KeyMgmtHandler = (message: Uint8Array, ctx: KeyMgmtContext) => Promise<Uint8Array | undefined> | Uint8Array | undefined;

/** The offer cannot be answered: the session SHALL be aborted (§4.1.1), SIP answers 488 (§4.1.2). */
export class KeyMgmtOfferRejected extends Error {
  override readonly name = 'KeyMgmtOfferRejected';
  /** SIP status (488 Not Acceptable Here) and Warning code: 306 attribute not understood, 399 other. */
  readonly sipStatus = 488;
  constructor(message: string, readonly warning: 306 | 399, readonly level: 'session' | 'media', readonly media?: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface AnswerResult {
  /** The answer's key-mgmt attributes, to write with setKeyMgmt. */
  answer: SetKeyMgmt;
  /** Which protocol was chosen where. */
  chosen: Array<{ level: 'session' | 'media'; media?: number; prot: string }>;
}

/**
 * Process the key-mgmt attributes of a received offer. At each level that has them, the first
 * protocol (in the offerer's order of preference) that `handlers` supports is chosen and only it
 * is processed (§4.1.2), with the complete protocol list of that level (§4.1.2, §4.1.4). Any
 * failure, or a level with no supported protocol, rejects the whole offer (§4.1.2).
 */
export async function answerKeyMgmt(offer: string | SessionDescription, handlers: Readonly<Record<string, KeyMgmtHandler>>): Promise<AnswerResult> {
  const k = readKeyMgmt(offer);
  const answer: { session?: KeyMgmtAttr[]; media: Record<number, KeyMgmtAttr[]> } = { media: {} };
  const chosen: AnswerResult['chosen'] = [];
  const run = async (attrs: KeyMgmtAttr[], level: 'session' | 'media', media?: number): Promise<KeyMgmtAttr[]> => {
    const pick = attrs.find((a) => Object.hasOwn(handlers, a.prot));
    const where = level === 'session' ? 'session level' : `m-line ${media}`;
    if (!pick) throw new KeyMgmtOfferRejected(`no supported key management protocol at ${where} (offered: ${protocolList(attrs).join(';')})`, 306, level, media);
    let out: Uint8Array | undefined;
    try {
      out = await handlers[pick.prot]!(new Uint8Array(Buffer.from(pick.data, 'base64')), { level, media, protocolList: protocolList(attrs) });
    } catch (e) {
      throw new KeyMgmtOfferRejected(`${pick.prot} at ${where}: ${(e as Error).message}`, 399, level, media, { cause: e });
    }
    chosen.push({ level, media, prot: pick.prot });
    return out ? [keyMgmtAttr(pick.prot, out)] : [];
  };
  if (k.session.length) answer.session = await run(k.session, 'session');
  for (const m of k.media) if (m.own.length) answer.media[m.index] = await run(m.own, 'media', m.index);
  return { answer, chosen };
}

/**
 * The offerer's side of an answer: the answer's attributes per level, each for the protocol
 * the offer carried there (a protocol the offer did not offer is refused).
 */
export function readAnswer(offer: string | SessionDescription, answer: string | SessionDescription): Array<{ level: 'session' | 'media'; media?: number; prot: string; message: Uint8Array }> {
  const o = readKeyMgmt(offer);
  const a = readKeyMgmt(answer);
  const out: Array<{ level: 'session' | 'media'; media?: number; prot: string; message: Uint8Array }> = [];
  const take = (offered: KeyMgmtAttr[], got: KeyMgmtAttr[], level: 'session' | 'media', media?: number) => {
    for (const g of got) {
      if (!offered.some((x) => x.prot === g.prot)) throw new KeyMgmtOfferRejected(`answer uses ${g.prot}, which was not offered at ${level === 'session' ? 'session level' : `m-line ${media}`}`, 306, level, media);
      out.push({ level, media, prot: g.prot, message: new Uint8Array(Buffer.from(g.data, 'base64')) });
    }
  };
  take(o.session, a.session, 'session');
  a.media.forEach((m) => take(o.media[m.index]?.own.length ? o.media[m.index]!.own : o.session, m.own, 'media', m.index));
  return out;
}

/** The MIKEY messages that apply to each m-line of a description (media overrides session, §3.1). */
export function mikeyPerMedia(sdp: string | SessionDescription): Array<{ media: number; level: 'session' | 'media'; message: Uint8Array } | { media: number; level: 'none' }> {
  return readKeyMgmt(sdp).media.map((m) => {
    const a = m.effective.find((x) => x.prot === KMPID_MIKEY);
    return a && m.level !== 'none' ? { media: m.index, level: m.level, message: new Uint8Array(Buffer.from(a.data, 'base64')) } : { media: m.index, level: 'none' as const };
  });
}

export type { SessionDescription, MediaDescription };
