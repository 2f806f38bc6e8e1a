// MIKEY-SAKKE as the 3GPP mission-critical services use it (TS 33.180 Annex E, F.2.1):
//   I_MESSAGE = HDR, T, RAND, IDRi, IDRr, IDRkmsi, IDRkmsr, [SP], SAKKE, [GenExt], SIGN
// HDR: PRF-HMAC-SHA-256, CSB ID = GUK-ID (GMK) or the key's ID (PCK, CSK, ...), a GENERIC-ID
// map (or the Empty map and the default policies). SAKKE ID scheme 2: identifiers are UIDs
// (F.2.1), which name the key period. General Extensions: SAKKE-to-self (E.5), key parameters
// (E.6). The receiver picks its key set from the UID the message names for it, else from the
// period of T and its neighbours (clocks and key periods of deployed senders disagree).
import { CsIdMapType, DataType, ErrorNo, GeneralExtType, IdRole, MIKEY_VERSION, PayloadType, PrfFunc, ProtType, SakkeIdScheme, registryInfo } from '../../wire/registry.js';
import type { DecodedMessage } from '../../wire/decode.js';
import type { CommonHeader, CsIdMap, GeneralExtPayload, IdrPayload, PolicyParam, SpPayload } from '../../wire/types.js';
import type { CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { CryptoError } from '../../crypto/errors.js';
import { ntpToMs } from '../../session/time.js';
import { buildErrorMessage, withErrorResponse } from '../../modes/kit/error-message.js';
import { newTimestamp, payloadOf, payloadsOf, resolveEndpoint, type Endpoint, type ResolvedEndpoint } from '../../modes/kit/common.js';
import { checkBundlePolicy } from '../../modes/kit/policy.js';
import {
  EccsiVerifierCache, SakkeReceiverCache, asProtocolError, buildSakkeIMessage, decodeSakkeMessage, idrPayload, idrText, openSakkeIMessage, sakkePayloadFor,
  sakkeSameBytes as same, type SakkeLenience, type SakkeReceiverCandidate, type SakkeSignatureCoverage, type SakkeSignerCandidate,
} from '../../modes/sakke/index.js';
import {
  KeyPurpose, McxGroupKey, csIdsFor, defaultPolicyFor, deriveMcxBundle, gmkIdOf, gukId, keyPurposeName, keyPurposeOf, mcxMki, newKeyId, u32Of,
  type KeyPurposeName, type McxService,
} from './keys.js';
import { KeyStatus, openKeyParameters, protectKeyParameters, type McxKeyParameters, type OpenedKeyParameters } from './key-parameters.js';
import { keyPeriodNumber, uidFor, type McxKms } from './uid.js';
import { keyParametersLenience, normaliseKeySet, normaliseKms, resolveMcxLenience, type McxLenience } from './lenience.js';

/** ID roles some deployed senders use for the UIDs of initiator and responder (not IANA-registered). */
export const UID_ROLE_INITIATOR = 8;
export const UID_ROLE_RESPONDER = 9;

/** A user's keys for one key period (KmsKeySet, TS 33.180 D.3.3). */
export interface McxKeySet {
  keyPeriodNo: number;
  /** UserID: the UID of the keys (computed from the URI and KMS when absent). */
  uid?: Uint8Array;
  /** UserDecryptKey (SAKKE RSK), UserSigningKeySSK, UserPubTokenPVT; HS when stored. */
  rsk: Uint8Array;
  ssk: Uint8Array;
  pvt: Uint8Array;
  hs?: Uint8Array;
}

export interface McxOptions extends Endpoint {
  /** Our MC service ID, e.g. "sip:alice@example.org". */
  uri: string;
  /** Our KMS. */
  kms: McxKms;
  /** Our key sets: at least the current period's (the next one too, near a period change). */
  keySets: readonly McxKeySet[];
  /** Other KMSs our peers may belong to (by their URI). */
  peerKms?: readonly McxKms[];
  /**
   * KMSs neither ours nor in `peerKms`, looked up when a message names them (IDRkmsi, IDRkmsr),
   * e.g. `McxKmsCertCache.lookup` (TS 33.180 D.3.4); undefined or a failure: unknown.
   */
  peerKmsLookup?: (kmsUri: string) => Promise<McxKms | undefined>;
  /** MCPTT (default) or MCVideo: the crypto session IDs of Table E.1.3-1. */
  service?: McxService;
  /**
   * How we name identities: 'uri' (default), IDRi/IDRr with the MC service IDs as the TS text
   * says; 'uid', the 32-byte UIDs in ID roles 8 and 9 as some deployed senders do.
   */
  identities?: 'uri' | 'uid';
  /**
   * Deviations of deployed senders to accept (each reported in `lenient` when used);
   * 'deployed' for all of them (DEPLOYED_LENIENCE).
   */
  lenience?: McxLenience | 'deployed';
}

export interface McxSendOptions {
  /** The responder's MC service ID. */
  to: string;
  /** The responder's KMS URI (default ours). */
  toKms?: string;
  purpose: number;
  /** The key (default 16 random bytes) and its ID (default random with the purpose tag). */
  key?: Uint8Array;
  keyId?: number;
  rand?: Uint8Array;
  /** GENERIC-ID map (default; E.3 "shall be GENERIC-ID") or the Empty map (#CS = 0). */
  map?: 'generic-id' | 'empty';
  /** SRTP policy to send in an SP payload (default none: the receiver applies E.2-1/E.3-1). */
  params?: readonly PolicyParam[];
  /** Key parameters (E.6): fields to set, or false to send none (default: status not revoked). */
  keyParameters?: Partial<McxKeyParameters> | false;
  /** Add SAKKE-to-self (E.5): the key encapsulated to our own UID too. */
  toSelf?: boolean;
  /** Crypto session IDs (default by purpose and service, Table E.1.3-1). */
  csIds?: readonly number[];
  /** Sign as some deployed senders do, leaving the SIGN header out (to test receivers; default 'rfc'). */
  signatureCoverage?: SakkeSignatureCoverage;
}

export interface McxSent {
  bytes: Uint8Array;
  key: Uint8Array;
  keyId: number;
  csbId: number;
  rand: Uint8Array;
  /** The bundle as the receiver will derive it. */
  bundle: CryptoSessionBundle;
}

export interface McxReceived {
  purpose: number;
  purposeName: KeyPurposeName | undefined;
  /** The key (GMK, PCK, CSK, ...) = the TGK. */
  key: Uint8Array;
  /** GMK-ID for a group key, else the CSB ID. */
  keyId: number;
  csbId: number;
  /** Our GUK-ID (group keys). */
  gukId?: number;
  rand: Uint8Array;
  bundle: CryptoSessionBundle;
  /** Group keys: media keys of the other members, by their GUK-ID. */
  group?: McxGroupKey;
  initiator: { uid: Uint8Array; kmsUri: string; /** when the message or the caller named it and the UID matched */ uri?: string };
  /** Our key set the SAKKE data was for. */
  keyPeriodNo: number;
  /** Key parameters (E.6), when sent. */
  keyParameters?: OpenedKeyParameters;
  /** Why the key parameters could not be read (only with the 'key-parameters-unreadable' tolerance). */
  keyParametersError?: string;
  /** The key came from the SAKKE-to-self payload (we sent this message). */
  toSelf: boolean;
  signatureCoverage: SakkeSignatureCoverage;
  /** Deviations from the RFCs this message needed (see McxOptions.lenience). */
  lenient: string[];
}

interface SignerLabel { uid: Uint8Array; kms: McxKms; uri?: string }
interface ReceiverLabel { set: McxKeySet; self: boolean }

/** Sender and receiver of MIKEY-SAKKE I_MESSAGEs under TS 33.180. */
export class McxKeyManagement {
  private readonly ep: ResolvedEndpoint;
  private readonly receivers = new SakkeReceiverCache();
  private readonly verifiers = new EccsiVerifierCache();
  private readonly uids = new Map<McxKeySet, Uint8Array>();
  private readonly opts: McxOptions;
  private readonly lenience: McxLenience;
  /** Key sets and KMSs whose key material the 'key-material-leading-zeros' tolerance changed. */
  private readonly normalised = new Set<object>();

  constructor(opts: McxOptions) {
    this.ep = resolveEndpoint(opts);
    this.lenience = resolveMcxLenience(opts.lenience);
    if (this.lenience.keyMaterialLeadingZeros) {
      const kms = (k: McxKms) => {
        const n = normaliseKms(k);
        if (n.changed) this.normalised.add(n.kms);
        return n.kms;
      };
      const keySets = opts.keySets.map((s) => {
        const n = normaliseKeySet(s);
        if (n.changed) this.normalised.add(n.set);
        return n.set;
      });
      opts = { ...opts, kms: kms(opts.kms), keySets, ...(opts.peerKms ? { peerKms: opts.peerKms.map(kms) } : {}) };
    }
    this.opts = opts;
  }

  /** @internal The options after the tolerances (normalised key material). */
  get options(): McxOptions {
    return this.opts;
  }
  /** @internal */
  get tolerances(): McxLenience {
    return this.lenience;
  }

  /** @internal */
  kmsByUri(uri: string | undefined): McxKms | undefined {
    if (uri === undefined || uri === this.opts.kms.uri) return this.opts.kms;
    return this.opts.peerKms?.find((k) => k.uri === uri) ?? this.looked.get(uri);
  }

  /** KMSs found by `peerKmsLookup`, the last 64 kept. */
  private readonly looked = new Map<string, McxKms>();

  /** Looks up the KMSs a message names that we do not know yet (peerKmsLookup). */
  private async lookUpKms(msg: DecodedMessage): Promise<void> {
    const lookup = this.opts.peerKmsLookup;
    if (!lookup) return;
    for (const role of [IdRole.IDRkmsi, IdRole.IDRkmsr]) {
      const uri = idrText(msg, role);
      if (uri === undefined || this.kmsByUri(uri)) continue;
      let k: McxKms | undefined;
      try {
        k = await lookup(uri);
      } catch {
        k = undefined;
      }
      if (k?.uri !== uri) continue;
      this.looked.delete(uri);
      this.looked.set(uri, k);
      if (this.looked.size > 64) this.looked.delete(this.looked.keys().next().value!);
    }
  }

  /** @internal */
  uidOf(s: McxKeySet): Uint8Array {
    let u = this.uids.get(s);
    if (!u) {
      u = s.uid ?? uidFor(this.opts.uri, this.opts.kms, s.keyPeriodNo);
      this.uids.set(s, u);
    }
    return u;
  }

  /** The ECCSI verifier of a KMS; a KPAK that is not a point refuses the message, not the process. */
  private verifierOf(kms: McxKms) {
    try {
      return this.verifiers.get(kms.kpak);
    } catch (e) {
      if (!(e instanceof CryptoError)) throw e;
      throw new MikeyProtocolError(ErrorNo.AuthFailure, `KPAK of ${kms.uri} is unusable: ${e.message}`, { cause: e });
    }
  }

  /** @internal */
  period(kms: McxKms, ms: number): number {
    return keyPeriodNumber(ms, kms.keyPeriod, kms.keyPeriodOffset);
  }

  // ---- sending (TS 33.180 E.2–E.6) ----

  send(o: McxSendOptions): McxSent {
    const rand = o.rand ?? this.ep.random(16);
    const key = o.key ?? this.ep.random(16);
    const keyId = o.keyId ?? newKeyId(o.purpose, this.ep.random);
    if (keyPurposeOf(keyId) !== o.purpose) throw new RangeError(`key ID ${keyId.toString(16)} does not carry purpose tag ${o.purpose}`);
    // E.2: the CSB ID of a GMK message is the receiving member's GUK-ID
    const group = o.purpose === KeyPurpose.GMK;
    const csbId = group ? gukId(keyId, key, o.to) : keyId;
    return this.sendKey(o, key, keyId, csbId, rand);
  }

  /** A GMK for every member of a group (E.2): one message each, with that member's GUK-ID. */
  distributeGmk(o: Omit<McxSendOptions, 'to' | 'purpose'> & { members: readonly string[]; memberKms?: (uri: string) => string | undefined }): { group: McxGroupKey; messages: Array<McxSent & { member: string; gukId: number }> } {
    const gmk = o.key ?? this.ep.random(16);
    const gmkId = o.keyId ?? newKeyId(KeyPurpose.GMK, this.ep.random);
    const rand = o.rand ?? this.ep.random(16);
    const csIds = o.csIds ?? csIdsFor(KeyPurpose.GMK, this.opts.service);
    const group = new McxGroupKey(gmk, gmkId, rand, csIds[0], o.params ?? defaultPolicyFor(KeyPurpose.GMK));
    const messages = o.members.map((member) => {
      const g = group.gukIdOf(member);
      const sent = this.sendKey({ ...o, to: member, toKms: o.memberKms?.(member) ?? o.toKms, purpose: KeyPurpose.GMK, csIds }, gmk, gmkId, g, rand);
      return { ...sent, member, gukId: g };
    });
    return { group, messages };
  }

  /** A private call key to the called user (E.3). */
  sendPck(o: Omit<McxSendOptions, 'purpose'>): McxSent {
    return this.send({ ...o, purpose: KeyPurpose.PCK });
  }

  /** A client-server key to an MC server (E.4). */
  sendCsk(o: Omit<McxSendOptions, 'purpose'>): McxSent {
    return this.send({ ...o, purpose: KeyPurpose.CSK });
  }

  private sendKey(o: McxSendOptions, key: Uint8Array, keyId: number, csbId: number, rand: Uint8Array): McxSent {
    const me = this.opts;
    const toKms = this.kmsByUri(o.toKms);
    if (!toKms) throw new Error(`unknown KMS ${o.toKms}`);
    const t = newTimestamp({ ...this.ep, timestamp: 'NTP-UTC' });
    const now = ntpToMs(t.value);
    const myPeriod = this.period(me.kms, now);
    const mine = me.keySets.find((s) => s.keyPeriodNo === myPeriod);
    if (!mine) throw new Error(`no key set for key period ${myPeriod} of ${me.kms.uri}`);
    const myUid = this.uidOf(mine);
    const theirUid = uidFor(o.to, toKms, this.period(toKms, now));
    const group = o.purpose === KeyPurpose.GMK;
    // §7.4: MKI = GMK-ID || GUK-ID for group media, the key's ID otherwise
    const mki = group ? mcxMki(keyId, csbId) : mcxMki(keyId);
    const csIds = o.csIds ?? csIdsFor(o.purpose, me.service);
    const sps: SpPayload[] = o.params ? [{ type: PayloadType.Sp, policyNo: 0, protType: ProtType.Srtp, params: [...o.params] }] : [];
    let map: CsIdMap;
    if (o.map === 'empty') {
      // RFC 4563 §5: no SP with the Empty map; the receiver applies the default policies
      if (o.params) throw new TypeError('an SP payload cannot go with the Empty map (RFC 4563 §5)');
      map = { type: CsIdMapType.Empty, csCount: 0 };
    } else {
      map = { type: CsIdMapType.GenericId, entries: csIds.map((csId) => ({ csId, protType: ProtType.Srtp, s: false, policies: o.params ? [0] : [], sessionData: new Uint8Array(0), spi: mki })) };
    }
    const idrs: IdrPayload[] = me.identities === 'uid'
      ? [idrPayload(UID_ROLE_INITIATOR, myUid), idrPayload(UID_ROLE_RESPONDER, theirUid)]
      : [idrPayload(IdRole.IDRi, me.uri), idrPayload(IdRole.IDRr, o.to)];
    idrs.push(idrPayload(IdRole.IDRkmsi, me.kms.uri), idrPayload(IdRole.IDRkmsr, toKms.uri));
    const extensions = (ssv: Uint8Array): GeneralExtPayload[] => {
      const out: GeneralExtPayload[] = [];
      // E.5: the same key to our own UID, so that we can read our message back
      if (o.toSelf) out.push({ type: PayloadType.GeneralExt, extType: GeneralExtType.SakkeToSelf, data: new Uint8Array(0), sakke: sakkePayloadFor(myUid, me.kms.zS, SakkeIdScheme.McxHashedUid, ssv, this.ep.random) });
      if (o.keyParameters !== false) {
        const k: McxKeyParameters = {
          keyType: o.purpose, status: KeyStatus.NotRevoked, activationTime: 0, expiryTime: 0, text: '',
          ...(group ? { groupIds: [] } : {}), ...(o.keyParameters ?? {}),
        };
        out.push({ type: PayloadType.GeneralExt, extType: GeneralExtType.KeyParameters3gpp, data: protectKeyParameters(k, { dppk: ssv, dppkId: csbId, iv: this.ep.random(16) }) });
      }
      return out;
    };
    const { bytes } = buildSakkeIMessage({
      csbId, csIdMap: map, prf: 'PRF-HMAC-SHA-256', t, rand, idrs, sps, ssv: key,
      recipient: { id: theirUid, zS: toKms.zS }, idScheme: SakkeIdScheme.McxHashedUid, extensions,
      signer: { id: myUid, ssk: mine.ssk, pvt: mine.pvt, hs: mine.hs, kpak: me.kms.kpak }, random: this.ep.random, coverage: o.signatureCoverage,
    });
    const hdr = { version: MIKEY_VERSION, dataType: DataType.Sakke, v: false, prfFunc: PrfFunc.HmacSha256, csbId, csIdMap: map };
    const bundle = deriveMcxBundle(hdr, rand, sps, key, { defaultParams: defaultPolicyFor(o.purpose), implied: csIds.map((csId) => ({ csId, mki })) });
    return { bytes, key, keyId, csbId, rand, bundle };
  }

  // ---- receiving (RFC 6509 §2.2.2 with TS 33.180 E.1) ----

  /**
   * Process an I_MESSAGE. `initiator`: the MC service ID the signalling says sent it; the
   * signer's UID must then be that user's. Throws MikeyProtocolError with `response` set.
   */
  async receive(bytes: Uint8Array, o: { initiator?: string } = {}): Promise<McxReceived> {
    const lenient: string[] = [];
    let msg: DecodedMessage | undefined;
    try {
      msg = decodeSakkeMessage(bytes, this.lenience, lenient);
      await this.lookUpKms(msg);
      return await this.process(msg, lenient, o.initiator);
    } catch (e) {
      return withErrorResponse(asProtocolError(e), (err) => buildErrorMessage(msg?.header, msg && payloadOf(msg, PayloadType.T), [err.errorNo], this.ep.clock));
    }
  }

  /** @internal The signers to try: from IDRi or the UID in role 8, with the period of T and its neighbours. */
  signerCandidates(msg: DecodedMessage, ms: number, expected: string | undefined): Array<SakkeSignerCandidate<SignerLabel>> {
    const kmsUri = idrText(msg, IdRole.IDRkmsi);
    const kms = this.kmsByUri(kmsUri);
    if (!kms) return [];
    const verifier = this.verifierOf(kms);
    const uri = idrText(msg, IdRole.IDRi) ?? expected;
    if (expected !== undefined && uri !== expected) return [];
    const p = this.period(kms, ms);
    // the period of T and its neighbours; period 0 has no predecessor (long key periods)
    const uidsOf = (u: string) => [p, p - 1, p + 1].filter((n) => n >= 0).map((n) => uidFor(u, kms, n));
    const named = payloadsOf(msg, PayloadType.Idr).find((x) => x.role === UID_ROLE_INITIATOR)?.data;
    if (named) {
      // the UID names the period; a URI, when known, must be the one it was made from
      if (uri !== undefined && !uidsOf(uri).some((u) => same(u, named))) return [];
      return [{ id: named, verifier, label: { uid: named, kms, uri } }];
    }
    if (uri === undefined) return [];
    return uidsOf(uri).map((uid) => ({ id: uid, verifier, label: { uid, kms, uri } }));
  }

  /** @internal Our key sets to try, in order: SAKKE-to-self, the UID in role 9, the period of T and its neighbours. */
  receiverCandidates(msg: DecodedMessage, ms: number, signer: SignerLabel): Array<SakkeReceiverCandidate<ReceiverLabel>> {
    const me = this.opts;
    const cand = (set: McxKeySet, self: boolean, data?: Uint8Array): SakkeReceiverCandidate<ReceiverLabel> => ({
      receiver: () => this.receivers.get(me.kms.zS, this.uidOf(set), set.rsk), data, label: { set, self },
    });
    // E.5: our own message back, with the key encapsulated to our UID in SAKKE-to-self
    const mine = me.keySets.find((s) => same(this.uidOf(s), signer.uid));
    if (mine) {
      const self = payloadsOf(msg, PayloadType.GeneralExt).find((g) => g.extType === GeneralExtType.SakkeToSelf)?.sakke;
      return self && self.idScheme === SakkeIdScheme.McxHashedUid ? [cand(mine, true, self.data)] : [];
    }
    const named = payloadsOf(msg, PayloadType.Idr).find((x) => x.role === UID_ROLE_RESPONDER)?.data;
    if (named) return me.keySets.filter((s) => same(this.uidOf(s), named)).map((s) => cand(s, false));
    const idrr = idrText(msg, IdRole.IDRr);
    if (idrr !== undefined && idrr !== me.uri) return [];
    // the period of T first, then its neighbours, then any other key set we hold
    const p = this.period(me.kms, ms);
    const order = [p, p - 1, p + 1];
    const sets = [...me.keySets].sort((a, b) => rank(order, a.keyPeriodNo) - rank(order, b.keyPeriodNo));
    return sets.map((s) => cand(s, false));
  }

  private async process(msg: DecodedMessage, lenient: string[], expected: string | undefined): Promise<McxReceived> {
    const me = this.opts;
    const l = this.lenience;
    const header = checkMcxPrf(msg, l, lenient);
    const opened = await openSakkeIMessage(msg, this.ep, l, lenient, SakkeIdScheme.McxHashedUid,
      (t) => this.signerCandidates(msg, ntpToMs(t.value), expected),
      (t, signer) => this.receiverCandidates(msg, ntpToMs(t.value), signer));
    const key = opened.ssv;
    const csbId = msg.header.csbId;
    const memberUri = opened.receiver.self ? idrText(msg, IdRole.IDRr) : me.uri;
    const { purpose, keyId, gukId: guk, mki } = mcxKeyIds(msg, key, memberUri);
    if ([opened.receiver.set, opened.signer.kms, me.kms].some((x) => this.normalised.has(x))) lenient.push('key-material-leading-zeros');
    const kp = readKeyParameters(msg, key, csbId, l, lenient);
    const csIds = csIdsFor(purpose, me.service);
    const sps = payloadsOf(msg, PayloadType.Sp);
    const defaults = defaultPolicyFor(purpose);
    const bundle = deriveMcxBundle(header, opened.rand, sps, key, { defaultParams: defaults, implied: csIds.map((csId) => ({ csId, mki })) });
    checkBundlePolicy(bundle, this.ep.minimumPolicy);
    const out: McxReceived = {
      purpose, purposeName: keyPurposeName(purpose), key, keyId, csbId, rand: opened.rand, bundle,
      initiator: { uid: opened.signer.uid, kmsUri: opened.signer.kms.uri, ...(opened.signer.uri !== undefined ? { uri: opened.signer.uri } : {}) },
      keyPeriodNo: opened.receiver.set.keyPeriodNo, toSelf: opened.receiver.self,
      signatureCoverage: opened.coverage, lenient,
    };
    if (guk !== undefined) {
      out.gukId = guk;
      const csId = bundle.sessions[0]?.csId ?? csIds[0]!;
      out.group = new McxGroupKey(key, keyId, opened.rand, csId, bundle.sessions[0]?.params ?? defaults);
    }
    if (kp.keyParameters) out.keyParameters = kp.keyParameters;
    if (kp.error !== undefined) out.keyParametersError = kp.error;
    return out;
  }
}

/**
 * The key's identifiers (E.2, F.1.3, §7.4): the purpose tag of the CSB ID; for a GMK the CSB ID
 * is the member's GUK-ID, from which the GMK-ID follows (the sender of our own message, read
 * back with SAKKE-to-self, computed it for the responder); the MKI. An SPI that names another
 * GMK-ID || GUK-ID is an Auth failure.
 */
export function mcxKeyIds(msg: DecodedMessage, key: Uint8Array, memberUri: string | undefined): { purpose: number; keyId: number; gukId?: number; mki: Uint8Array } {
  const csbId = msg.header.csbId;
  const purpose = keyPurposeOf(csbId);
  if (purpose !== KeyPurpose.GMK || memberUri === undefined) return { purpose, keyId: csbId, mki: mcxMki(csbId) };
  const keyId = gmkIdOf(csbId, key, memberUri);
  const spi = msg.header.csIdMap.type === CsIdMapType.GenericId ? msg.header.csIdMap.entries[0]?.spi : undefined;
  if (spi && spi.length === 8 && (u32Of(spi) !== keyId || u32Of(spi, 4) !== csbId)) {
    throw new MikeyProtocolError(ErrorNo.AuthFailure, 'the CSB ID is not our GUK-ID for this GMK');
  }
  return { purpose, keyId, gukId: csbId, mki: mcxMki(keyId, csbId) };
}

/**
 * E.1 (TS 36.579-1 5.5.9.1): PRF-HMAC-SHA-256. With 'unregistered-prf', a value the registry
 * does not know is read as that (the header returned is the one to derive keys with).
 */
export function checkMcxPrf(msg: DecodedMessage, l: McxLenience, lenient: string[]): CommonHeader {
  const h = msg.header;
  if (h.dataType !== DataType.Sakke || h.prfFunc === PrfFunc.HmacSha256) return h;
  const registered = registryInfo(PrfFunc).has(h.prfFunc);
  if (registered || !l.unregisteredPrf) throw new MikeyProtocolError(ErrorNo.InvalidPrf, `PRF func ${h.prfFunc} (the profile uses PRF-HMAC-SHA-256)`);
  lenient.push('unregistered-prf');
  return { ...h, prfFunc: PrfFunc.HmacSha256 };
}

/**
 * The key-parameters extension (E.6) with the tolerances asked for. It is informative: with
 * 'key-parameters-unreadable', one that cannot be read is reported in `error`, not refused.
 */
export function readKeyParameters(msg: DecodedMessage, key: Uint8Array, csbId: number, l: McxLenience, lenient: string[]): { keyParameters?: OpenedKeyParameters; error?: string } {
  const ext = payloadsOf(msg, PayloadType.GeneralExt).find((g) => g.extType === GeneralExtType.KeyParameters3gpp);
  if (!ext) return {};
  const seen: string[] = [];
  try {
    const keyParameters = openKeyParameters(ext.data, key, csbId, keyParametersLenience(l), seen);
    lenient.push(...seen);
    return { keyParameters };
  } catch (e) {
    if (!(e instanceof MikeyProtocolError) || !l.keyParametersUnreadable) throw e;
    lenient.push('key-parameters-unreadable');
    return { error: e.message };
  }
}

function rank(order: number[], n: number): number {
  const i = order.indexOf(n);
  return i < 0 ? order.length : i;
}
