// Signed Diffie-Hellman method (RFC 3830 §3.3): the responder (messages.ts has the layout and what both sides share).
import type { DhGroupName } from '../../crypto/dh.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { DataType, ErrorNo, PayloadType } from '../../wire/registry.js';
import type { Payload } from '../../wire/types.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import {
  any, checkFresh, checkLayout, idPayload, one, opt, payloadOf, payloadsOf, recordAuthenticated, resolveEndpoint, splitIds,
  type Endpoint, type ResolvedEndpoint,
} from '../kit/common.js';
import { answerOrRefuse } from '../kit/error-message.js';
import type { Identity } from '../../session/identity.js';
import { credentialFingerprint, CsbTable, type CsbOwner } from '../kit/csb.js';
import type { Answered } from '../kit/offer.js';
import { checkBundlePolicy } from '../kit/policy.js';
import { DEFAULT_DH_GROUPS, responderTgk } from '../kit/dh.js';
import {
  certPayloads, encodeSigned, identityOfCertificate, ourIdentity, peerPublicKey, signedBytes, signPlaceholder, verifySigned, type PeerTrust,
  type SigningCredentials,
} from '../kit/signature.js';

export interface DhResponderOptions extends Endpoint, SigningCredentials, PeerTrust {
  idr?: Identity;
  /** Groups accepted (default OAKLEY-5 only: the 768 and 1024-bit OAKLEY-1 and 2 are opt-in). */
  groups?: readonly DhGroupName[];
}

/** What the responder accepted: always `answered`, the R_MESSAGE being mandatory in the DH method (RFC 3830 §3.3). */
export interface DhAccepted extends Answered {
  bundle: CryptoSessionBundle;
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
    // the Error message is not signed (nothing calls `authenticated`)
    return answerOrRefuse(bytes, this.ep.clock, (msg) => this.process(msg));
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
    return { answered: true, response, bundle, idi, update: !rand };
  }
}
