// Signed Diffie-Hellman method (RFC 3830 §3.3) and its updates (§4.5).
//   I_MESSAGE = HDR, T, RAND, [IDi|CERTi], [IDr], {SP}, DHi, SIGNi
//   R_MESSAGE = HDR, T, [IDr|CERTr], IDi, DHr, DHi, SIGNr        (always sent)
// TGK = g^(xi*xr), as a big-endian number of the group's prime length.
import { DH_GROUPS, dhGenerateKeyPair, dhGroupByMikeyId, type DhGroup, type DhGroupName } from '../../crypto/dh.js';
import { MikeyCryptoError } from '../../crypto/errors.js';
import type { MikeyPrf } from '../../crypto/prf.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { DataType, ErrorNo, PayloadType } from '../../wire/registry.js';
import type { CommonHeader, KeyValidity, Payload, SpPayload, TPayload } from '../../wire/types.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { any, buildMapAndPolicies, checkFresh, checkLayout, decodeOrReject, header, idPayload, one, opt, payloadOf, payloadsOf, recordAuthenticated, resolveEndpoint, newTimestamp, random32, splitIds, type Endpoint, type ResolvedEndpoint, type SessionOffer } from '../kit/common.js';
import { buildErrorMessage, rejectErrorMessage, withErrorResponse } from '../kit/error-message.js';
import { sameIdentity, type Identity } from '../../session/identity.js';
import { credentialFingerprint, CsbTable, type CsbOwner } from '../kit/csb.js';
import { checkBundlePolicy } from '../kit/policy.js';
import { answerDhi, DEFAULT_DH_GROUPS, responderTgk, initiatorTgk } from '../kit/dh.js';
import {
  certPayloads, encodeSigned, identityOfCertificate, peerPublicKey, signedBytes, signPlaceholder, toCert, verifySigned,
  type PeerTrust, type SigningCredentials,
} from '../kit/signature.js';

export interface DhOfferOptions {
  sessions: readonly SessionOffer[];
  csbId?: number;
  rand?: Uint8Array;
  /** OAKLEY group (default OAKLEY-5, the mandatory one). */
  group?: DhGroupName;
  /** MKI for the resulting TGK (KV = SPI of DHi). */
  mki?: Uint8Array;
}

export interface DhInitiatorOptions extends Endpoint, SigningCredentials, PeerTrust {
  idi?: Identity;
  idr?: Identity;
  prf?: MikeyPrf;
}

interface DhState {
  csbId: number;
  rand: Uint8Array;
  map: CommonHeader['csIdMap'];
  sps: SpPayload[];
  t: TPayload;
  group: DhGroup;
  /** Our exponent and DH value of the outstanding offer (absent: an update without DHi). */
  x?: Uint8Array;
  dhi?: Uint8Array;
  mki?: Uint8Array;
  idi?: Identity;
  /** The TGK once established. */
  tgk?: Uint8Array;
  bundle?: CryptoSessionBundle;
}

const validity = (mki?: Uint8Array): KeyValidity => (mki ? { kv: 1, spi: mki } : { kv: 0 });

function ourIdentity(o: { idi?: Identity; certificate?: SigningCredentials['certificate'] }): Identity | undefined {
  return o.idi ?? (o.certificate ? identityOfCertificate(toCert(o.certificate)) : undefined);
}

export class DhInitiator {
  private readonly ep: ResolvedEndpoint;
  private readonly prf: MikeyPrf;
  private state?: DhState;

  constructor(private readonly opts: DhInitiatorOptions) {
    this.ep = resolveEndpoint(opts);
    this.prf = opts.prf ?? 'MIKEY-1';
  }

  createOffer(o: DhOfferOptions): Uint8Array {
    const csbId = o.csbId ?? random32(this.ep.random);
    const rand = o.rand ?? this.ep.random(16);
    const { map, sps } = buildMapAndPolicies(o.sessions);
    return this.send({ csbId, rand, map, sps, group: DH_GROUPS[o.group ?? 'OAKLEY-5'], mki: o.mki }, true, true);
  }

  /** An update (no RAND): a new DH exchange, or (`rekey: false`) new sessions under the same TGK (§4.5). */
  createUpdate(o: { sessions?: readonly SessionOffer[]; rekey?: boolean; mki?: Uint8Array } = {}): Uint8Array {
    const s = this.state;
    if (!s?.tgk) throw new Error('no established CSB to update');
    const { map, sps } = o.sessions ? buildMapAndPolicies(o.sessions) : { map: s.map, sps: s.sps };
    return this.send({ csbId: s.csbId, rand: s.rand, map, sps, group: s.group, mki: o.mki ?? s.mki, tgk: s.tgk }, false, o.rekey ?? true);
  }

  private send(base: Omit<DhState, 't' | 'x' | 'dhi' | 'idi'>, initial: boolean, withDh: boolean): Uint8Array {
    const hdr = header(DataType.DhInit, base.csbId, this.prf, base.map, true);
    const t = newTimestamp(this.ep);
    const kp = withDh ? dhGenerateKeyPair(base.group) : undefined;
    const payloads: Payload[] = [t];
    if (initial) payloads.push({ type: PayloadType.Rand, rand: base.rand });
    const certs = certPayloads(this.opts);
    const idi = ourIdentity(this.opts);
    if (certs.length) payloads.push(...certs);
    else if (idi) payloads.push(idPayload(idi));
    if (this.opts.idr) payloads.push(idPayload(this.opts.idr));
    payloads.push(...base.sps);
    if (kp) payloads.push({ type: PayloadType.Dh, group: base.group.mikeyId, value: kp.publicKey, reserved: 0, validity: validity(base.mki) });
    payloads.push(signPlaceholder());
    const bytes = encodeSigned({ header: hdr, payloads }, this.opts);
    this.state = { ...base, t, x: kp?.privateKey, dhi: kp?.publicKey, idi };
    return bytes;
  }

  /** Process R_MESSAGE: verify SIGNr, the echoed T and DHi, then derive the TGK and keys. */
  receiveResponse(bytes: Uint8Array): CryptoSessionBundle {
    const s = this.state;
    if (!s) throw new Error('no offer outstanding');
    const msg = decodeOrReject(bytes);
    if (msg.header.dataType === DataType.Error) rejectErrorMessage(msg);
    if (msg.header.dataType !== DataType.DhResp) throw new MikeyProtocolError(ErrorNo.InvalidDt, `expected a DH response, got data type ${msg.header.dataType}`);
    checkLayout(msg, [one(PayloadType.T), opt(PayloadType.Id), any(PayloadType.Cert), one(PayloadType.Id), { type: PayloadType.Dh, min: 0, max: 2 }, one(PayloadType.Sign)], 'DH R_MESSAGE');
    if (msg.header.csbId !== s.csbId) throw new MikeyProtocolError(ErrorNo.AuthFailure, 'response for another CSB');
    const t = payloadOf(msg, PayloadType.T)!;
    if (Buffer.compare(Buffer.from(t.value), Buffer.from(s.t.value)) !== 0) throw new MikeyProtocolError(ErrorNo.InvalidTs, 'response does not echo our timestamp');
    // HDR, T, [IDr|CERTr], IDi: the last ID is IDi, a first one of two is IDr
    const ids = payloadsOf(msg, PayloadType.Id);
    const echoedIdi = ids.at(-1)!;
    const idr = ids.length === 2 ? { idType: ids[0]!.idType, data: ids[0]!.data } : this.opts.idr;
    const { key } = peerPublicKey(msg, this.opts, idr, this.ep.clock.now(), 'digitalSignature');
    verifySigned(msg, key, this.opts);
    if (s.idi && !sameIdentity({ idType: echoedIdi.idType, data: echoedIdi.data }, s.idi)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'the response names another initiator');
    const dhs = payloadsOf(msg, PayloadType.Dh);
    const tgk = initiatorTgk(dhs, s);
    const bundle = deriveBundle(header(DataType.DhInit, s.csbId, this.prf, s.map), s.rand, s.sps, { kind: 'tgk', tgk, mki: s.mki });
    s.tgk = tgk;
    s.bundle = bundle;
    return bundle;
  }

  get bundle(): CryptoSessionBundle | undefined {
    return this.state?.bundle;
  }
}

// ---- responder -----------------------------------------------------------------------------

export interface DhResponderOptions extends Endpoint, SigningCredentials, PeerTrust {
  idr?: Identity;
  /** Groups accepted (default OAKLEY-5 only: the 768 and 1024-bit OAKLEY-1 and 2 are opt-in). */
  groups?: readonly DhGroupName[];
}

export interface DhAccepted {
  bundle: CryptoSessionBundle;
  /** R_MESSAGE: always sent in the DH method. */
  response: Uint8Array;
  idi?: Identity;
  update: boolean;
}

export class DhResponder {
  private readonly ep: ResolvedEndpoint;
  private readonly csbs = new CsbTable<{ rand: Uint8Array; tgk: Uint8Array; mki?: Uint8Array }>();

  constructor(private readonly opts: DhResponderOptions) {
    this.ep = resolveEndpoint(opts);
  }

  async receive(bytes: Uint8Array): Promise<DhAccepted> {
    let msg: DecodedMessage | undefined;
    try {
      msg = decodeOrReject(bytes);
      return await this.process(msg);
    } catch (e) {
      return withErrorResponse(e, (err) => buildErrorMessage(msg?.header, msg && payloadOf(msg, PayloadType.T), [err.errorNo], this.ep.clock));
    }
  }

  private async process(msg: DecodedMessage): Promise<DhAccepted> {
    if (msg.header.dataType !== DataType.DhInit) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType} is not a DH message`);
    checkLayout(msg, [one(PayloadType.T), opt(PayloadType.Rand), opt(PayloadType.Id), any(PayloadType.Cert), opt(PayloadType.Id), any(PayloadType.Sp), opt(PayloadType.Dh), one(PayloadType.Sign)], 'DH I_MESSAGE');
    const t = payloadOf(msg, PayloadType.T)!;
    const fresh = checkFresh(t, this.ep, msg.header.csbId);
    prfOf(msg.header.prfFunc);
    const { idi: clearIdi, idr: clearIdr } = splitIds(msg);
    const { key, cert } = peerPublicKey(msg, this.opts, clearIdi, this.ep.clock.now(), 'digitalSignature');
    verifySigned(msg, key, this.opts);
    await recordAuthenticated(signedBytes(msg), this.ep, fresh);
    const idi = clearIdi ?? (cert ? identityOfCertificate(cert) : undefined);
    const rand = payloadOf(msg, PayloadType.Rand)?.rand;
    // the CSB ID must be free or held by this signer (RFC 3830 §4.5); nothing is written before the response is built
    const owner: CsbOwner = { id: idi, credential: credentialFingerprint('public-key', key) };
    const held = this.csbs.held(msg.header.csbId, owner);
    const prior = rand ? undefined : held;
    if (!rand && !prior) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'no RAND and no CSB to update');
    if (!idi) throw new MikeyProtocolError(ErrorNo.InvalidId, 'the initiator has no identity to name in the response');
    const dhi = payloadOf(msg, PayloadType.Dh);
    const { tgk, mki, dhr } = responderTgk(dhi, rand !== undefined, prior, this.opts.groups ?? DEFAULT_DH_GROUPS, 'DH');
    const useRand = rand ?? prior!.rand;
    const bundle = deriveBundle(msg.header, useRand, payloadsOf(msg, PayloadType.Sp), { kind: 'tgk', tgk, mki });
    checkBundlePolicy(bundle, this.ep.minimumPolicy);
    // R_MESSAGE = HDR, T, [IDr|CERTr], IDi, DHr, DHi, SIGNr
    const payloads: Payload[] = [t];
    const certs = certPayloads(this.opts);
    const idr = this.opts.idr ?? clearIdr ?? ourIdentity(this.opts);
    if (certs.length) payloads.push(...certs);
    else if (idr) payloads.push(idPayload(idr));
    payloads.push(idPayload(idi));
    if (dhi && dhr) payloads.push(dhr, { ...dhi, span: undefined });
    payloads.push(signPlaceholder());
    const response = encodeSigned({ header: { ...msg.header, dataType: DataType.DhResp, v: false }, payloads }, this.opts);
    this.csbs.commit(msg.header.csbId, owner, { rand: useRand, tgk, mki });
    return { bundle, response, idi, update: !rand };
  }
}

export { DEFAULT_DH_GROUPS };
