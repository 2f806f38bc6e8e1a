// Every IANA code point of the MIKEY family, once. Each table carries the RFC's own names,
// used by the code (as constants) and by the printers (as labels).

type Spec = Readonly<Record<string, readonly [value: number, label: string, ref: string]>>;

export interface RegistryInfo {
  readonly title: string;
  /** RFC label of a value, or undefined when the value is not registered. */
  label(value: number): string | undefined;
  has(value: number): boolean;
  ref(value: number): string | undefined;
  values(): readonly number[];
}

export type Registry<S extends Spec> = { readonly [K in keyof S]: S[K][0] };

const infos = new WeakMap<object, RegistryInfo>();

function registry<const S extends Spec>(title: string, spec: S): Registry<S> {
  const out: Record<string, number> = {};
  const labels = new Map<number, readonly [string, string]>();
  for (const [key, [value, label, ref]] of Object.entries(spec)) {
    out[key] = value;
    labels.set(value, [label, ref]);
  }
  const values = [...labels.keys()].sort((a, b) => a - b);
  const info: RegistryInfo = {
    title,
    label: (v) => labels.get(v)?.[0],
    has: (v) => labels.has(v),
    ref: (v) => labels.get(v)?.[1],
    values: () => values,
  };
  // a copy by spread has fast properties (the object filled key by key is a dictionary), so
  // hot code reading `PayloadType.Kemac` gets a constant, not a hash lookup
  const fast = Object.freeze({ ...out });
  infos.set(fast, info);
  return fast as Registry<S>;
}

/** The table behind a registry constant. */
export function registryInfo(reg: object): RegistryInfo {
  const info = infos.get(reg);
  if (!info) throw new TypeError('not a registry');
  return info;
}

/** "Label (value)" or "Unknown (value)". */
export function describe(reg: object, value: number): string {
  const l = registryInfo(reg).label(value);
  return `${l ?? 'Unknown'} (${value})`;
}

// RFC 3830 Table 6.1.a; RFC 4650 §4.1; RFC 4738 §3.9.1; RFC 6043 Table 6.1; RFC 6267 Table 2; RFC 6509 Table 1
export const DataType = registry('Data type', {
  PreShared: [0, 'Pre-shared', 'RFC 3830'],
  PskVerification: [1, 'PSK ver msg', 'RFC 3830'],
  PublicKey: [2, 'Public key', 'RFC 3830'],
  PkVerification: [3, 'PK ver msg', 'RFC 3830'],
  DhInit: [4, 'D-H init', 'RFC 3830'],
  DhResp: [5, 'D-H resp', 'RFC 3830'],
  Error: [6, 'Error', 'RFC 3830'],
  DhHmacInit: [7, 'DHHMAC init', 'RFC 4650'],
  DhHmacResp: [8, 'DHHMAC resp', 'RFC 4650'],
  RsaRInit: [9, 'RSA-R I_MSG', 'RFC 4738'],
  RsaRResp: [10, 'RSA-R R_MSG', 'RFC 4738'],
  RequestInitPsk: [11, 'REQUEST_INIT_PSK', 'RFC 6043'],
  RequestInitPk: [12, 'REQUEST_INIT_PK', 'RFC 6043'],
  RequestResp: [13, 'REQUEST_RESP', 'RFC 6043'],
  TransferInit: [14, 'TRANSFER_INIT', 'RFC 6043'],
  TransferResp: [15, 'TRANSFER_RESP', 'RFC 6043'],
  ResolveInitPsk: [16, 'RESOLVE_INIT_PSK', 'RFC 6043'],
  ResolveInitPk: [17, 'RESOLVE_INIT_PK', 'RFC 6043'],
  ResolveResp: [18, 'RESOLVE_RESP', 'RFC 6043'],
  RequestKeyPsk: [19, 'REQUEST_KEY_PSK', 'RFC 6267'],
  RequestKeyPke: [20, 'REQUEST_KEY_PKE', 'RFC 6267'],
  RequestKeyResp: [21, 'REQUEST_KEY_RESP', 'RFC 6267'],
  IMessage1: [22, 'I_MESSAGE_1', 'RFC 6267'],
  RMessage1: [23, 'R_MESSAGE_1', 'RFC 6267'],
  IMessage2: [24, 'I_MESSAGE_2', 'RFC 6267'],
  RMessage2: [25, 'R_MESSAGE_2', 'RFC 6267'],
  Sakke: [26, 'SAKKE msg', 'RFC 6509'],
});

// RFC 3830 Table 6.1.b; RFC 6043 Table 6.2; RFC 6267 Table 3; RFC 6509 Table 4
export const PayloadType = registry('Next payload', {
  Last: [0, 'Last payload', 'RFC 3830'],
  Kemac: [1, 'KEMAC', 'RFC 3830'],
  Pke: [2, 'PKE', 'RFC 3830'],
  Dh: [3, 'DH', 'RFC 3830'],
  Sign: [4, 'SIGN', 'RFC 3830'],
  T: [5, 'T', 'RFC 3830'],
  Id: [6, 'ID', 'RFC 3830'],
  Cert: [7, 'CERT', 'RFC 3830'],
  Chash: [8, 'CHASH', 'RFC 3830'],
  V: [9, 'V', 'RFC 3830'],
  Sp: [10, 'SP', 'RFC 3830'],
  Rand: [11, 'RAND', 'RFC 3830'],
  Err: [12, 'ERR', 'RFC 3830'],
  Tr: [13, 'TR', 'RFC 6043'],
  Idr: [14, 'IDR', 'RFC 6043'],
  Randr: [15, 'RANDR', 'RFC 6043'],
  Tp: [16, 'TP', 'RFC 6043'],
  Ticket: [17, 'TICKET', 'RFC 6043'],
  KeyData: [20, 'Key data', 'RFC 3830'],
  GeneralExt: [21, 'General Ext.', 'RFC 3830'],
  Ibake: [22, 'IBAKE', 'RFC 6267'],
  Esk: [23, 'ESK', 'RFC 6267'],
  Sk: [24, 'SK', 'RFC 6267'],
  Eccpt: [25, 'ECCPT', 'RFC 6267'],
  Sakke: [26, 'SAKKE', 'RFC 6509'],
});

/**
 * The Ticket Header (RFC 6043 App. A.3) has no code point: it is always the first element of
 * MIKEY base ticket data. This value is internal to this library and never written.
 */
export const THDR_PAYLOAD = 256 as const;

// RFC 3830 Table 6.1.c; RFC 6043 Table 6.3
export const PrfFunc = registry('PRF func', {
  Mikey1: [0, 'MIKEY-1', 'RFC 3830'],
  HmacSha256: [1, 'PRF-HMAC-SHA-256', 'RFC 6043'],
});

// RFC 3830 Table 6.1.d; RFC 4563 Table 3; RFC 6043 Table 6.4
export const CsIdMapType = registry('CS ID map type', {
  SrtpId: [0, 'SRTP-ID', 'RFC 3830'],
  Empty: [1, 'Empty map', 'RFC 4563'],
  GenericId: [2, 'GENERIC-ID', 'RFC 6043'],
});

// RFC 3830 Table 6.2.a; RFC 6043 Table 6.5
export const EncrAlg = registry('Encr alg', {
  Null: [0, 'NULL', 'RFC 3830'],
  AesCm128: [1, 'AES-CM-128', 'RFC 3830'],
  AesKw128: [2, 'AES-KW-128', 'RFC 3830'],
  AesCm256: [3, 'AES-CM-256', 'RFC 6043'],
});

// RFC 3830 Table 6.2.b; RFC 6043 Table 6.6. Also the V payload's Auth alg.
export const MacAlg = registry('MAC alg', {
  Null: [0, 'NULL', 'RFC 3830'],
  HmacSha1_160: [1, 'HMAC-SHA-1-160', 'RFC 3830'],
  HmacSha256_256: [2, 'HMAC-SHA-256-256', 'RFC 6043'],
});
/** MAC length in bytes, implied by the MAC alg (RFC 3830 §6.2, RFC 6043 §6.2). */
export const MAC_LENGTH: Readonly<Record<number, number>> = { 0: 0, 1: 20, 2: 32 };

// RFC 3830 §6.3
export const PkeCache = registry('PKE C', {
  NoCache: [0, 'No cache', 'RFC 3830'],
  Cache: [1, 'Cache', 'RFC 3830'],
  CacheForCsb: [2, 'Cache for CSB', 'RFC 3830'],
});

// RFC 3830 Table 6.4
export const DhGroup = registry('DH-Group', {
  Oakley5: [0, 'OAKLEY 5', 'RFC 3830'],
  Oakley1: [1, 'OAKLEY 1', 'RFC 3830'],
  Oakley2: [2, 'OAKLEY 2', 'RFC 3830'],
});
/** DH value length in bytes: the prime length of the group (RFC 2412). */
export const DH_VALUE_LENGTH: Readonly<Record<number, number>> = { 0: 192, 1: 96, 2: 128 };

// RFC 3830 Table 6.5; RFC 6509 Table 6
export const SignType = registry('S type', {
  RsaPkcs1: [0, 'RSA/PKCS#1/1.5', 'RFC 3830'],
  RsaPss: [1, 'RSA/PSS', 'RFC 3830'],
  Eccsi: [2, 'ECCSI', 'RFC 6509'],
});

// RFC 3830 Table 6.6; RFC 6043 Table 6.8
export const TsType = registry('TS type', {
  NtpUtc: [0, 'NTP-UTC', 'RFC 3830'],
  Ntp: [1, 'NTP', 'RFC 3830'],
  Counter: [2, 'COUNTER', 'RFC 3830'],
  NtpUtc32: [3, 'NTP-UTC-32', 'RFC 6043'],
});
/** TS value length in bytes, implied by the TS type. */
export const TS_LENGTH: Readonly<Record<number, number>> = { 0: 8, 1: 8, 2: 4, 3: 4 };

// RFC 6043 Table 6.9
export const TsRole = registry('TS Role', {
  TRi: [1, 'TRi (Time of issue)', 'RFC 6043'],
  TRs: [2, 'TRs (Start of validity period)', 'RFC 6043'],
  TRe: [3, 'TRe (End of validity period)', 'RFC 6043'],
  TRr: [4, 'TRr (Rekeying interval)', 'RFC 6043'],
});

// RFC 3830 Table 6.7.a; RFC 6043 Table 6.10
export const IdType = registry('ID Type', {
  Nai: [0, 'NAI', 'RFC 3830'],
  Uri: [1, 'URI', 'RFC 3830'],
  ByteString: [2, 'Byte string', 'RFC 6043'],
});

// RFC 3830 Table 6.7.b
export const CertType = registry('Cert Type', {
  X509v3: [0, 'X.509v3', 'RFC 3830'],
  X509v3Url: [1, 'X.509v3 URL', 'RFC 3830'],
  X509v3Sign: [2, 'X.509v3 Sign', 'RFC 3830'],
  X509v3Encr: [3, 'X.509v3 Encr', 'RFC 3830'],
});

// RFC 6043 Table 6.11; RFC 6509 Table 7
export const IdRole = registry('ID Role', {
  IDRi: [1, 'Initiator (IDRi)', 'RFC 6043'],
  IDRr: [2, 'Responder (IDRr)', 'RFC 6043'],
  IDRkms: [3, 'KMS (IDRkms)', 'RFC 6043'],
  IDRpsk: [4, 'Pre-Shared Key (IDRpsk)', 'RFC 6043'],
  IDRapp: [5, 'Application (IDRapp)', 'RFC 6043'],
  IDRkmsi: [6, "Initiator's KMS (IDRkmsi)", 'RFC 6509'],
  IDRkmsr: [7, "Responder's KMS (IDRkmsr)", 'RFC 6509'],
  // used by deployed 3GPP MCX senders for MIKEY-SAKKE UIDs; not in the IANA registry
  InitiatorUid: [8, 'Initiator UID (3GPP MCX, as deployed)', '3GPP TS 33.180'],
  ResponderUid: [9, 'Responder UID (3GPP MCX, as deployed)', '3GPP TS 33.180'],
});

// RFC 3830 Table 6.8; RFC 6043 Table 6.12
export const HashFunc = registry('Hash func', {
  Sha1: [0, 'SHA-1', 'RFC 3830'],
  Md5: [1, 'MD5', 'RFC 3830'],
  Sha256: [2, 'SHA-256', 'RFC 6043'],
});
/** Hash length in bytes, implied by the hash function. */
export const HASH_LENGTH: Readonly<Record<number, number>> = { 0: 20, 1: 16, 2: 32 };

// RFC 3830 Table 6.10; RFC 4442 §4.1
export const ProtType = registry('Prot type', {
  Srtp: [0, 'SRTP', 'RFC 3830'],
  Tesla: [1, 'TESLA', 'RFC 4442'],
});

// RFC 3830 Table 6.10.1.a; RFC 4771 Table 2; RFC 7714 §14.3
export const SrtpParam = registry('SRTP policy param', {
  EncrAlg: [0, 'Encryption algorithm', 'RFC 3830'],
  EncrKeyLength: [1, 'Session Encr. key length', 'RFC 3830'],
  AuthAlg: [2, 'Authentication algorithm', 'RFC 3830'],
  AuthKeyLength: [3, 'Session Auth. key length', 'RFC 3830'],
  SaltKeyLength: [4, 'Session Salt key length', 'RFC 3830'],
  Prf: [5, 'SRTP Pseudo Random Function', 'RFC 3830'],
  KeyDerivationRate: [6, 'Key derivation rate', 'RFC 3830'],
  SrtpEncryption: [7, 'SRTP encryption off/on', 'RFC 3830'],
  SrtcpEncryption: [8, 'SRTCP encryption off/on', 'RFC 3830'],
  FecOrder: [9, "Sender's FEC order", 'RFC 3830'],
  SrtpAuthentication: [10, 'SRTP authentication off/on', 'RFC 3830'],
  AuthTagLength: [11, 'Authentication tag length', 'RFC 3830'],
  PrefixLength: [12, 'SRTP prefix length', 'RFC 3830'],
  RocTransmissionRate: [13, 'ROC transmission rate', 'RFC 4771'],
  SrtpAuthAlg: [14, 'SRTP Auth. algorithm', 'RFC 4771'],
  SrtcpAuthAlg: [15, 'SRTCP Auth. algorithm', 'RFC 4771'],
  SrtpAuthKeyLength: [16, 'SRTP Session Auth. key length', 'RFC 4771'],
  SrtcpAuthKeyLength: [17, 'SRTCP Session Auth. key length', 'RFC 4771'],
  SrtpAuthTagLength: [18, 'SRTP Authentication tag length', 'RFC 4771'],
  SrtcpAuthTagLength: [19, 'SRTCP Authentication tag length', 'RFC 4771'],
  AeadAuthTagLength: [20, 'AEAD authentication tag length', 'RFC 7714'],
});

// RFC 3830 Table 6.10.1.b; RFC 5748; RFC 7714; RFC 8269
export const SrtpEncrAlg = registry('SRTP encr alg', {
  Null: [0, 'NULL', 'RFC 3830'],
  AesCm: [1, 'AES-CM', 'RFC 3830'],
  AesF8: [2, 'AES-F8', 'RFC 3830'],
  SeedCtr: [3, 'SEED-CTR', 'RFC 5748'],
  SeedCcm: [4, 'SEED-CCM', 'RFC 5748'],
  SeedGcm: [5, 'SEED-GCM', 'RFC 5748'],
  AesGcm: [6, 'AES-GCM', 'RFC 7714'],
  AriaCtr: [7, 'ARIA-CTR', 'RFC 8269'],
  AriaGcm: [8, 'ARIA-GCM', 'RFC 8269'],
});

// RFC 3830 Table 6.10.1.c; RFC 4771 Table 1
export const SrtpAuthAlg = registry('SRTP auth alg', {
  Null: [0, 'NULL', 'RFC 3830'],
  HmacSha1: [1, 'HMAC-SHA-1', 'RFC 3830'],
  RccM1: [2, 'RCCm1', 'RFC 4771'],
  RccM2: [3, 'RCCm2', 'RFC 4771'],
  RccM3: [4, 'RCCm3', 'RFC 4771'],
});

// RFC 3830 Table 6.10.1.d; RFC 5748; RFC 8269
export const SrtpPrf = registry('SRTP PRF', {
  AesCm: [0, 'AES-CM', 'RFC 3830'],
  SeedCtr: [1, 'SEED-CTR', 'RFC 5748'],
  AriaCtr: [2, 'ARIA-CTR', 'RFC 8269'],
});

// RFC 3830 Table 6.10.1.e
export const FecOrder = registry('FEC order', {
  FecSrtp: [0, 'FEC-SRTP', 'RFC 3830'],
});

// RFC 4442 §4.2
export const TeslaParam = registry('TESLA policy param', {
  PrfId: [1, 'PRF identifier for f and f\'', 'RFC 4442'],
  PrfOutputLength: [2, "Length of f' output", 'RFC 4442'],
  MacId: [3, 'TESLA MAC identifier', 'RFC 4442'],
  MacOutputLength: [4, 'TESLA MAC output length', 'RFC 4442'],
  SessionStart: [5, 'Start of session', 'RFC 4442'],
  IntervalDuration: [6, 'Interval duration', 'RFC 4442'],
  KeyDisclosureDelay: [7, 'Key disclosure delay', 'RFC 4442'],
  KeyChainLength: [8, 'Key chain length', 'RFC 4442'],
  ReceiverTimestamp: [9, 'Local timestamp of media receiver', 'RFC 4442'],
});

// RFC 3830 Table 6.12; RFC 4738 §5; RFC 6043 Table 6.14
export const ErrorNo = registry('Error no', {
  AuthFailure: [0, 'Auth failure', 'RFC 3830'],
  InvalidTs: [1, 'Invalid TS', 'RFC 3830'],
  InvalidPrf: [2, 'Invalid PRF', 'RFC 3830'],
  InvalidMac: [3, 'Invalid MAC', 'RFC 3830'],
  InvalidEa: [4, 'Invalid EA', 'RFC 3830'],
  InvalidHa: [5, 'Invalid HA', 'RFC 3830'],
  InvalidDh: [6, 'Invalid DH', 'RFC 3830'],
  InvalidId: [7, 'Invalid ID', 'RFC 3830'],
  InvalidCert: [8, 'Invalid Cert', 'RFC 3830'],
  InvalidSp: [9, 'Invalid SP', 'RFC 3830'],
  InvalidSpPar: [10, 'Invalid SPpar', 'RFC 3830'],
  InvalidDt: [11, 'Invalid DT', 'RFC 3830'],
  Unspecified: [12, 'Unspecified error', 'RFC 3830'],
  UnsupportedMessageType: [13, 'Unsupported message type', 'RFC 4738'],
  InvalidTicket: [14, 'Invalid TICKET', 'RFC 6043'],
  InvalidTpPar: [15, 'Invalid TPpar', 'RFC 6043'],
});

// RFC 3830 Table 6.13.a; RFC 6043 Table 6.7; RFC 6267 Table 4
export const KeyDataType = registry('Key data type', {
  Tgk: [0, 'TGK', 'RFC 3830'],
  TgkSalt: [1, 'TGK+SALT', 'RFC 3830'],
  Tek: [2, 'TEK', 'RFC 3830'],
  TekSalt: [3, 'TEK+SALT', 'RFC 3830'],
  Gtgk: [4, 'GTGK', 'RFC 6043'],
  GtgkSalt: [5, 'GTGK+SALT', 'RFC 6043'],
  Mpk: [6, 'MPK', 'RFC 6043'],
  KPr: [7, 'K_PR', 'RFC 6267'],
});
/** Key data types that carry a salt after the key (the "+SALT" types). */
export function keyTypeHasSalt(t: number): boolean {
  return t === 1 || t === 3 || t === 5;
}

// RFC 3830 Table 6.13.b
export const KvType = registry('KV', {
  Null: [0, 'Null', 'RFC 3830'],
  Spi: [1, 'SPI/MKI', 'RFC 3830'],
  Interval: [2, 'Interval', 'RFC 3830'],
});

// RFC 3830 Table 6.15; RFC 4442; RFC 4563; RFC 4738; RFC 5410; 3GPP TS 33.180 E.5/E.6
export const GeneralExtType = registry('General Ext. type', {
  VendorId: [0, 'Vendor ID', 'RFC 3830'],
  SdpIds: [1, 'SDP IDs', 'RFC 3830'],
  TeslaIKey: [2, 'TESLA I-Key', 'RFC 4442'],
  KeyId: [3, 'Key ID', 'RFC 4563'],
  CsbId: [4, 'CSB_ID', 'RFC 4738'],
  OmaBcast: [5, 'OMA BCAST', 'RFC 5410'],
  SakkeToSelf: [6, 'SAKKE-to-self', '3GPP TS 33.180'],
  KeyParameters3gpp: [7, '3GPP key parameters', '3GPP TS 33.180'],
});

// RFC 4563 Table 2
export const KeyIdType = registry('Key ID Type', {
  MbmsKeyDomainId: [0, 'MBMS Key Domain ID', 'RFC 4563'],
  MbmsServiceKeyId: [1, 'MBMS Service Key ID', 'RFC 4563'],
  MbmsTrafficKeyId: [2, 'MBMS Traffic Key ID', 'RFC 4563'],
});

// RFC 5410 §3
export const OmaBcastSubtype = registry('OMA BCAST Data Subtype', {
  Ltkm: [1, 'LTKM', 'RFC 5410'],
  Stkm: [2, 'STKM', 'RFC 5410'],
  LtkmReporting: [3, 'LTKM Reporting', 'RFC 5410'],
  ParentalControl: [4, 'Parental Control', 'RFC 5410'],
});

// RFC 6043 Table 6.13
export const RandRole = registry('RAND Role', {
  RANDRi: [1, 'Initiator (RANDRi)', 'RFC 6043'],
  RANDRr: [2, 'Responder (RANDRr)', 'RFC 6043'],
  RANDRkms: [3, 'KMS (RANDRkms)', 'RFC 6043'],
});

// RFC 6043 Table 6.15
export const TicketType = registry('Ticket Type', {
  MikeyBaseTicket: [1, 'MIKEY Base Ticket', 'RFC 6043'],
  ThreeGppBaseTicket: [2, '3GPP Base Ticket', 'RFC 6043'],
});

// RFC 6267 Table 5
export const EccCurve = registry('ECC Curve', {
  P192: [1, 'P-192 (secp192r1)', 'RFC 6267'],
  B163: [2, 'B-163 (sect163r2)', 'RFC 6267'],
  K163: [3, 'K-163 (sect163k1)', 'RFC 6267'],
  Sect163r1: [4, 'sect163r1', 'RFC 6267'],
  P224: [5, 'P-224 (secp224r1)', 'RFC 6267'],
  B233: [6, 'B-233 (sect233r1)', 'RFC 6267'],
  K233: [7, 'K-233 (sect233k1)', 'RFC 6267'],
  P256: [8, 'P-256 (secp256r1)', 'RFC 6267'],
  B283: [9, 'B-283 (sect283r1)', 'RFC 6267'],
  K283: [10, 'K-283 (sect283k1)', 'RFC 6267'],
  P384: [11, 'P-384 (secp384r1)', 'RFC 6267'],
  B409: [12, 'B-409 (sect409r1)', 'RFC 6267'],
  K409: [13, 'K-409 (sect409k1)', 'RFC 6267'],
  P521: [14, 'P-521 (secp521r1)', 'RFC 6267'],
  B571: [15, 'B-571 (sect571r1)', 'RFC 6267'],
  K571: [16, 'K-571 (sect571k1)', 'RFC 6267'],
});
/** Field element length in bytes of each ECC curve (SEC 1 octet-string encoding). */
export const ECC_FIELD_LENGTH: Readonly<Record<number, number>> = {
  1: 24, 2: 21, 3: 21, 4: 21, 5: 28, 6: 30, 7: 30, 8: 32, 9: 36, 10: 36, 11: 48, 12: 52, 13: 52, 14: 66, 15: 72, 16: 72,
};

// RFC 6267 Table 6
export const SkType = registry('SK Type', {
  Sk: [1, 'SK', 'RFC 6267'],
});

// RFC 6509 Table 2
export const SakkeParams = registry('SAKKE params', {
  ParameterSet1: [1, 'Parameter Set 1', 'RFC 6509'],
});

// RFC 6509 Table 3; 3GPP TS 33.180 F.2.1
export const SakkeIdScheme = registry('ID scheme', {
  TelUri: [1, 'tel URI with monthly keys', 'RFC 6509'],
  McxHashedUid: [2, '3GPP MCX hashed UID', '3GPP TS 33.180'],
});

/** MIME type of a MIKEY message (RFC 3830 §10.1). */
export const MIKEY_MEDIA_TYPE = 'application/mikey';
/** UDP/TCP port registered for MIKEY (RFC 3830 §10.1). */
export const MIKEY_PORT = 2269;
/** The only MIKEY version (RFC 3830 §6.1). */
export const MIKEY_VERSION = 1;
