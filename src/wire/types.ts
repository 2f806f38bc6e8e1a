// The typed model of a MIKEY message. Field names follow the RFCs. Decoded values are views
// into the input buffer (no copies); every payload records its byte span so MACs and
// signatures can be computed over the exact bytes received.
import type { CsIdMapType, KvType, PayloadType, THDR_PAYLOAD } from './registry.js';

/** [start, end) byte offsets within the message. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

// ---- Common header (RFC 3830 §6.1, RFC 6043 §6.1) -------------------------------------------

/** SRTP-ID map entry (RFC 3830 §6.1.1). CS ID = 1-based position in the map. */
export interface SrtpIdEntry {
  policyNo: number;
  ssrc: number;
  roc: number;
}

/** GENERIC-ID map entry (RFC 6043 §6.1.1). */
export interface GenericIdEntry {
  csId: number;
  protType: number;
  /** S flag: SRTP session data carries ROC and SEQ. */
  s: boolean;
  /** Policy numbers (#P = policies.length). */
  policies: number[];
  /** Raw session data; for SRTP see `srtp`. */
  sessionData: Uint8Array;
  /** SRTP session data decoded (Prot type SRTP with 4 or 10 bytes of session data). */
  srtp?: { ssrc: number; roc?: number; seq?: number };
  spi: Uint8Array;
}

export type CsIdMap =
  | { type: typeof CsIdMapType.SrtpId; entries: SrtpIdEntry[] }
  | { type: typeof CsIdMapType.Empty; /** #CS as sent; the map itself carries no info (RFC 4563 §5). */ csCount: number }
  | { type: typeof CsIdMapType.GenericId; entries: GenericIdEntry[] };

export interface CommonHeader {
  version: number;
  dataType: number;
  /** V flag: a verification message is expected. */
  v: boolean;
  prfFunc: number;
  csbId: number;
  csIdMap: CsIdMap;
  span?: Span;
}

// ---- Shared sub-structures ------------------------------------------------------------------

/** Key validity data (RFC 3830 §6.14): NULL, SPI/MKI, or interval. */
export type KeyValidity =
  | { kv: typeof KvType.Null }
  | { kv: typeof KvType.Spi; spi: Uint8Array }
  | { kv: typeof KvType.Interval; validFrom: Uint8Array; validTo: Uint8Array };

// ---- Payloads ------------------------------------------------------------------------------

interface Base {
  /** Byte span of the whole payload in the decoded buffer (absent on built payloads). */
  span?: Span;
}

/** Key data sub-payload (RFC 3830 §6.13); lives inside KEMAC encrypted data. */
export interface KeyDataPayload extends Base {
  type: typeof PayloadType.KeyData;
  keyType: number;
  keyData: Uint8Array;
  /** Present iff the key type is a "+SALT" type. */
  salt?: Uint8Array;
  validity: KeyValidity;
}

/** KEMAC (RFC 3830 §6.2). `encrData` is the truth on the wire. */
export interface KemacPayload extends Base {
  type: typeof PayloadType.Kemac;
  encrAlg: number;
  encrData: Uint8Array;
  macAlg: number;
  mac: Uint8Array;
  /** Decoded plaintext sub-payloads, when encrAlg is NULL (read-only view). */
  plaintext?: Payload[];
}

export interface PkePayload extends Base {
  type: typeof PayloadType.Pke;
  /** C: envelope key cache indicator (2 bits). */
  c: number;
  data: Uint8Array;
}

export interface DhPayload extends Base {
  type: typeof PayloadType.Dh;
  group: number;
  value: Uint8Array;
  /** The 4 reserved bits, kept for byte-exact re-encoding. */
  reserved: number;
  validity: KeyValidity;
}

/** SIGN (RFC 3830 §6.5): no next-payload byte; always last. */
export interface SignPayload extends Base {
  type: typeof PayloadType.Sign;
  sType: number;
  signature: Uint8Array;
}

export interface TPayload extends Base {
  type: typeof PayloadType.T;
  tsType: number;
  /** 8 bytes (NTP-UTC, NTP) or 4 bytes (COUNTER, NTP-UTC-32). */
  value: Uint8Array;
}

export interface IdPayload extends Base {
  type: typeof PayloadType.Id;
  idType: number;
  data: Uint8Array;
}

export interface CertPayload extends Base {
  type: typeof PayloadType.Cert;
  certType: number;
  data: Uint8Array;
}

export interface ChashPayload extends Base {
  type: typeof PayloadType.Chash;
  hashFunc: number;
  hash: Uint8Array;
}

export interface VPayload extends Base {
  type: typeof PayloadType.V;
  authAlg: number;
  mac: Uint8Array;
}

export interface PolicyParam {
  type: number;
  value: Uint8Array;
}

/**
 * SP (RFC 3830 §6.10). A decoded SP carries its parameters as `params` (every Type/Length/Value
 * checked to fit the block); a builder may give the block as `paramBytes` instead. The encoder
 * writes `params` when present; `policyParams(sp)` lists them either way.
 */
export interface SpPayload extends Base {
  type: typeof PayloadType.Sp;
  policyNo: number;
  protType: number;
  params?: PolicyParam[];
  paramBytes?: Uint8Array;
}

export interface RandPayload extends Base {
  type: typeof PayloadType.Rand;
  rand: Uint8Array;
}

export interface ErrPayload extends Base {
  type: typeof PayloadType.Err;
  errorNo: number;
  /** The 16 reserved bits, kept for byte-exact re-encoding. */
  reserved: number;
}

export interface TrPayload extends Base {
  type: typeof PayloadType.Tr;
  role: number;
  tsType: number;
  value: Uint8Array;
}

export interface IdrPayload extends Base {
  type: typeof PayloadType.Idr;
  role: number;
  idType: number;
  data: Uint8Array;
}

export interface RandrPayload extends Base {
  type: typeof PayloadType.Randr;
  role: number;
  rand: Uint8Array;
}

/** TP flags D..O (RFC 6043 §6.10), in wire order. */
export interface TicketFlags {
  D: boolean; E: boolean; F: boolean; G: boolean; H: boolean; I: boolean;
  J: boolean; K: boolean; L: boolean; M: boolean; N: boolean; O: boolean;
}
export const TICKET_FLAG_NAMES = ['D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O'] as const;

/** A chain of payloads preceded by a "First Payload" byte (TP Data, Initiator Data). */
export interface PayloadChain {
  payloads: Payload[];
  /** Set when the data was a lone First Payload byte of 0 (an explicit empty chain). */
  emptyMarker?: boolean;
}

interface TicketPolicyFields extends Base {
  ticketType: number;
  subtype: number;
  version: number;
  prfFunc: number;
  flags: TicketFlags;
  /** The 5 reserved bits. */
  reserved: number;
  tpData: PayloadChain;
}

export interface TpPayload extends TicketPolicyFields {
  type: typeof PayloadType.Tp;
}

export interface TicketPayload extends TicketPolicyFields {
  type: typeof PayloadType.Ticket;
  ticketData: Uint8Array;
  /** MIKEY base ticket (type 1, subtype 1, version 1) decoded: THDR, T, RAND, KEMAC, [IDRpsk], V. */
  baseTicket?: Payload[];
  initiatorData: PayloadChain;
}

/** Ticket header (RFC 6043 App. A.3); no code point of its own. */
export interface ThdrPayload extends Base {
  type: typeof THDR_PAYLOAD;
  data: Uint8Array;
}

export interface KeyIdEntry {
  keyIdType: number;
  keyId: Uint8Array;
}

/** General Extension (RFC 3830 §6.15) with the inner structures defined by its updates. */
export interface GeneralExtPayload extends Base {
  type: typeof PayloadType.GeneralExt;
  extType: number;
  data: Uint8Array;
  /** Type 1: SDP key-management protocol IDs, ";"-separated (RFC 4567 §4.1.4). */
  sdpIds?: string[];
  /** Type 3: Key ID sub-payloads (RFC 4563 §4). */
  keyIds?: KeyIdEntry[];
  /** Type 4: responder-set CSB ID (RFC 4738 §3.9.3). */
  csbId?: number;
  /** Type 5: OMA BCAST subtype and its data (RFC 5410 §3). */
  omaBcast?: { subtype: number; data: Uint8Array };
  /** Type 6: SAKKE-to-self, a complete SAKKE payload (3GPP TS 33.180 E.5). */
  sakke?: SakkePayload;
}

/** IBAKE (RFC 6267 §6.1.1): IBE-encrypted chain of IDR and ECCPT sub-payloads. */
export interface IbakePayload extends Base {
  type: typeof PayloadType.Ibake;
  encrData: Uint8Array;
}

/** ESK (RFC 6267 §6.1.2): IBE-encrypted SK sub-payload and its identity. */
export interface EskPayload extends Base {
  type: typeof PayloadType.Esk;
  encrData: Uint8Array;
}

/** SK sub-payload (RFC 6267 §6.1.5), only inside decrypted ESK data. */
export interface SkPayload extends Base {
  type: typeof PayloadType.Sk;
  skType: number;
  keyData: Uint8Array;
  validity: KeyValidity;
}

/** ECCPT sub-payload (RFC 6267 §6.1.4), only inside decrypted IBAKE data. */
export interface EccptPayload extends Base {
  type: typeof PayloadType.Eccpt;
  curve: number;
  /** SEC 1 octet-string point (without the padding). */
  point: Uint8Array;
  /** Padding bytes after the point up to a 32-bit boundary. */
  padding: Uint8Array;
  authAlg: number;
  tgkLen: number;
  reserved: number;
  validity: KeyValidity;
}

/** SAKKE (RFC 6509 §4.2). */
export interface SakkePayload extends Base {
  type: typeof PayloadType.Sakke;
  sakkeParams: number;
  idScheme: number;
  data: Uint8Array;
}

export type Payload =
  | KemacPayload | PkePayload | DhPayload | SignPayload | TPayload | IdPayload | CertPayload
  | ChashPayload | VPayload | SpPayload | RandPayload | ErrPayload | TrPayload | IdrPayload
  | RandrPayload | TpPayload | TicketPayload | KeyDataPayload | GeneralExtPayload
  | IbakePayload | EskPayload | SkPayload | EccptPayload | SakkePayload | ThdrPayload;

export type PayloadOf<T extends Payload['type']> = Extract<Payload, { type: T }>;

export interface Message {
  header: CommonHeader;
  payloads: Payload[];
  /** The decoded bytes (a view of the input), absent on built messages. */
  bytes?: Uint8Array;
}
