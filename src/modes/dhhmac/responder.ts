// DH-HMAC method (RFC 4650): the responder (messages.ts has the layout and what both sides share).
import type { DhGroupName } from '../../crypto/dh.js';
import type { MikeyPrf } from '../../crypto/prf.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { DataType, ErrorNo, PayloadType } from '../../wire/registry.js';
import type { Payload } from '../../wire/types.js';
import { DEFAULT_DH_GROUPS, responderTgk } from '../kit/dh.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { srtpPolicyFromSp, type SrtpProfileName } from '../../session/policy.js';
import {
  any, checkFresh, checkLayout, checkSdpIds, idPayload, withoutGenExt, one, opt, payloadOf, payloadsOf, recordAuthenticated,
  resolveEndpoint, type Endpoint, type ResolvedEndpoint,
} from '../kit/common.js';
import { answerOrRefuse, type MacAuth } from '../kit/error-message.js';
import { idOf, sameIdentity, type Identity } from '../../session/identity.js';
import { credentialFingerprint, CsbTable, type CsbOwner } from '../kit/csb.js';
import type { Answered } from '../kit/offer.js';
import { checkBundlePolicy } from '../kit/policy.js';
import { type DhHmacMacAlg, authKeyOf, encodeWithKemacMac, checkKemac, verifyKemacMac } from './messages.js';

export interface DhHmacResponderOptions extends Endpoint {
  /** The pre-shared key, or a lookup by the identities in the I_MESSAGE (undefined: unknown peer). */
  psk: Uint8Array | ((idi: Identity | undefined, idr: Identity) => Uint8Array | undefined);
  /** Our identity: an I_MESSAGE naming another IDr is refused; sent as IDr in the R_MESSAGE. */
  idr?: Identity;
  /** The initiator's identity when its I_MESSAGE carries none ("by some other means", RFC 4650 §3). */
  idi?: Identity;
  /** Groups accepted (default OAKLEY-5 only: OAKLEY-1 and 2 are opt-in). */
  groups?: readonly DhGroupName[];
  /** MAC algorithms accepted (default both). */
  macAlgs?: readonly DhHmacMacAlg[];
  /** SRTP profiles accepted (default every policy the session layer can run). */
  profiles?: readonly SrtpProfileName[];
  /** The key-management protocol IDs seen in the SDP offer: the I_MESSAGE must carry the same list. */
  sdpIds?: readonly string[];
}

/** What the responder accepted: always `answered`, the R_MESSAGE being mandatory (RFC 4650 §3). */
export interface DhHmacAccepted extends Answered {
  bundle: CryptoSessionBundle;
  idi: Identity;
  update: boolean;
}

interface ResponderCsb {
  secret: Uint8Array;
  rand: Uint8Array;
  prf: MikeyPrf;
  tgk: Uint8Array;
  mki?: Uint8Array;
}

export class DhHmacResponder {
  private readonly ep: ResolvedEndpoint;
  private readonly csbs = new CsbTable<ResponderCsb>();

  constructor(private readonly opts: DhHmacResponderOptions) {
    this.ep = resolveEndpoint(opts);
  }

  /** Process an I_MESSAGE. Throws MikeyProtocolError with `response` set to the Error message. */
  async receive(bytes: Uint8Array): Promise<DhHmacAccepted> {
    // RFC 3830 §5.1.2: after an authentication failure the Error message is not authenticated
    return answerOrRefuse(bytes, this.ep.clock, (msg, authenticated) => this.process(msg, authenticated));
  }

  private async process(msg: DecodedMessage, authenticated: (a: MacAuth) => void): Promise<DhHmacAccepted> {
    if (msg.header.dataType !== DataType.DhHmacInit) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType} is not a DH-HMAC I_MESSAGE`);
    // RFC 4650 §4.1: only KEMAC, DH, T, ID, SP, RAND, ERR and General Ext.; KEMAC last (§4.2)
    checkLayout(withoutGenExt(msg), [one(PayloadType.T), opt(PayloadType.Rand), { type: PayloadType.Id, min: 1, max: 2 }, any(PayloadType.Sp), opt(PayloadType.Dh), one(PayloadType.Kemac)], 'DH-HMAC I_MESSAGE');
    const kemac = msg.payloads.at(-1)!;
    if (kemac.type !== PayloadType.Kemac) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'DH-HMAC I_MESSAGE: KEMAC must be the last payload');
    const t = payloadOf(msg, PayloadType.T)!;
    const fresh = checkFresh(t, this.ep, msg.header.csbId);
    const prf = prfOf(msg.header.prfFunc);
    // [IDi], IDr: one ID is IDr, two are IDi and IDr
    const ids = payloadsOf(msg, PayloadType.Id);
    const idr = idOf(ids.at(-1))!;
    const idi = ids.length === 2 ? idOf(ids[0]) : this.opts.idi;
    const macAlg = checkKemac(kemac, this.opts.macAlgs ?? ['HMAC-SHA-1-160', 'HMAC-SHA-256-256']);
    const rand = payloadOf(msg, PayloadType.Rand)?.rand;
    const prior = rand ? undefined : this.csbs.peek(msg.header.csbId);
    if (!rand && !prior) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'no RAND and no CSB to update');
    // an update is authenticated with the key of the CSB it updates
    const secret = prior ? prior.secret : typeof this.opts.psk === 'function' ? this.opts.psk(idi, idr) : this.opts.psk;
    if (!secret) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no pre-shared key for this peer');
    const useRand = rand ?? prior!.rand;
    const authKey = authKeyOf(secret, msg.header.csbId, useRand, prf, macAlg);
    verifyKemacMac(msg, kemac, macAlg, authKey);
    authenticated({ macAlg, authKey });
    await recordAuthenticated(msg.bytes, this.ep, fresh);
    if (this.opts.idr && !sameIdentity(idr, this.opts.idr)) throw new MikeyProtocolError(ErrorNo.InvalidId, 'the I_MESSAGE is for another responder');
    // RFC 4650 §3: the responder always names the initiator
    if (!idi) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no IDi in the I_MESSAGE and none known');
    // the CSB belongs to the identity and the key that created it (RFC 3830 §4.5)
    const owner: CsbOwner = { id: idi, credential: credentialFingerprint('psk', secret) };
    this.csbs.held(msg.header.csbId, owner);
    checkSdpIds(msg, this.opts.sdpIds);
    const sps = payloadsOf(msg, PayloadType.Sp);
    if (this.opts.profiles) {
      for (const sp of sps) {
        const profile = srtpPolicyFromSp(sp).profile;
        if (!profile || !this.opts.profiles.includes(profile)) throw new MikeyProtocolError(ErrorNo.InvalidSpPar, `policy ${sp.policyNo} (${profile ?? 'no named profile'}) not accepted`);
      }
    }
    const dhi = payloadOf(msg, PayloadType.Dh);
    const { tgk, mki, dhr } = responderTgk(dhi, rand !== undefined, prior, this.opts.groups ?? DEFAULT_DH_GROUPS, 'DH-HMAC');
    const bundle = deriveBundle(msg.header, useRand, sps, { kind: 'tgk', tgk, mki });
    checkBundlePolicy(bundle, this.ep.minimumPolicy);
    this.csbs.commit(msg.header.csbId, owner, { secret, rand: useRand, prf, tgk, mki });
    // R_MESSAGE = HDR, T, [IDr], IDi, [DHr, DHi], KEMAC
    const payloads: Payload[] = [t];
    if (this.opts.idr) payloads.push(idPayload(this.opts.idr));
    payloads.push(idPayload(idi));
    if (dhi && dhr) payloads.push(dhr, { ...dhi, span: undefined });
    const response = encodeWithKemacMac({ ...msg.header, dataType: DataType.DhHmacResp, v: false, span: undefined }, payloads, macAlg, authKey);
    return { answered: true, response, bundle, idi, update: !rand };
  }
}
