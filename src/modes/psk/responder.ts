// Pre-shared key method (RFC 3830 §3.1): the responder (messages.ts has the layout and what both sides share).
import { macVerify, type KemacEncrAlg, type MacAlg } from '../../crypto/kemac.js';
import { DataType, ErrorNo, PayloadType } from '../../wire/registry.js';
import type { DecodedMessage } from '../../wire/decode.js';
import { deriveBundle, prfOf, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { idOf, type Identity } from '../../session/identity.js';
import {
  any, checkFresh, checkLayout, checkSdpIds, encrAlgOf, macAlgOf, one, opt, payloadOf, payloadsOf, recordAuthenticated, requirePayload,
  resolveEndpoint, withoutGenExt, type Endpoint, type ResolvedEndpoint,
} from '../kit/common.js';
import { credentialFingerprint, CsbTable, type CsbOwner } from '../kit/csb.js';
import { answerOrRefuse } from '../kit/error-message.js';
import { keyDataOf, openKemac } from '../kit/kemac.js';
import { answer, type Answer } from '../kit/offer.js';
import { checkBundlePolicy } from '../kit/policy.js';
import { buildVerification } from '../kit/verification.js';
import { type CsbState, NULL_ALGS_REFUSED, messageKeys } from './messages.js';

export interface PskResponderOptions extends Endpoint {
  /** The pre-shared key, or a lookup by the identities in the message (undefined: unknown peer). */
  psk: Uint8Array | ((idi: Identity | undefined, idr: Identity | undefined) => Uint8Array | undefined);
  /** Our identity, sent as IDr in the verification message when given. */
  idr?: Identity;
  allowUnprotected?: boolean;
  /** KEMAC encryption algorithms accepted (default all but NULL). */
  encrAlgs?: readonly KemacEncrAlg[];
  /** MAC algorithms accepted (default all but NULL). */
  macAlgs?: readonly MacAlg[];
  /** In SDP: the protocol IDs seen there; the message must carry the same list (RFC 4567 §7.1). */
  sdpIds?: readonly string[];
}

/** What the responder accepted; `answered` when the initiator asked for a verification message (V). */
export type Accepted = {
  bundle: CryptoSessionBundle;
  /** The initiator's identity, as carried. */
  idi?: Identity;
  /** True for an update of an existing CSB. */
  update: boolean;
} & Answer;

export class PskResponder {
  private readonly ep: ResolvedEndpoint;
  private readonly csbs = new CsbTable<CsbState>();

  constructor(private readonly opts: PskResponderOptions) {
    this.ep = resolveEndpoint(opts);
  }

  /** Process an I_MESSAGE. Throws MikeyProtocolError, with `response` set to the Error message to send. */
  async receive(bytes: Uint8Array): Promise<Accepted> {
    return answerOrRefuse(bytes, this.ep.clock, (msg, authenticated) => this.process(msg, authenticated));
  }

  private async process(msg: DecodedMessage, authenticated: (a: { macAlg: MacAlg; authKey: Uint8Array }) => void): Promise<Accepted> {
    if (msg.header.dataType !== DataType.PreShared) {
      throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, `data type ${msg.header.dataType} is not a pre-shared key message`);
    }
    // General Extensions may stand anywhere (RFC 3830 §6.15); the KEMAC must be last (its MAC ends the message)
    if (msg.payloads.at(-1)?.type !== PayloadType.Kemac) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'PSK I_MESSAGE: the KEMAC must be the last payload');
    checkLayout(withoutGenExt(msg), [one(PayloadType.T), opt(PayloadType.Rand), opt(PayloadType.Id), opt(PayloadType.Id), any(PayloadType.Sp), one(PayloadType.Kemac)], 'PSK I_MESSAGE');
    const t = payloadOf(msg, PayloadType.T)!;
    const fresh = checkFresh(t, this.ep, msg.header.csbId);
    const prf = prfOf(msg.header.prfFunc);
    const ids = payloadsOf(msg, PayloadType.Id);
    const idi = idOf(ids[0]);
    const idr = idOf(ids[1]);
    const rand = payloadOf(msg, PayloadType.Rand)?.rand;
    // an update is checked with the RAND of the CSB it names; who holds that CSB is checked once the MAC verified
    const prior = rand ? undefined : this.csbs.peek(msg.header.csbId);
    if (!rand && !prior) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'no RAND and no CSB to update');
    const secret = typeof this.opts.psk === 'function' ? this.opts.psk(idi, idr) : this.opts.psk;
    if (!secret) throw new MikeyProtocolError(ErrorNo.InvalidId, 'no pre-shared key for this peer');
    const kemac = requirePayload(msg, PayloadType.Kemac, 'KEMAC');
    const encrAlg = encrAlgOf(kemac.encrAlg);
    const macAlg = macAlgOf(kemac.macAlg);
    this.checkAlgs(encrAlg, macAlg);
    const useRand = rand ?? prior!.rand;
    const mk = messageKeys(secret, msg.header.csbId, useRand, prf, encrAlg, macAlg);
    // §5.3: verify the MAC over everything but the MAC field before anything else
    if (!macVerify(macAlg, mk.authKey, msg.bytes.subarray(0, kemac.span!.end - kemac.mac.length), kemac.mac)) {
      throw new MikeyProtocolError(ErrorNo.AuthFailure, 'KEMAC MAC does not verify');
    }
    authenticated({ macAlg, authKey: mk.authKey });
    await recordAuthenticated(msg.bytes, this.ep, fresh);
    // the CSB belongs to the identity and the key that created it (RFC 3830 §4.5)
    const owner: CsbOwner = { id: idi, credential: credentialFingerprint('psk', secret) };
    this.csbs.held(msg.header.csbId, owner);
    checkSdpIds(msg, this.opts.sdpIds);
    const keys = keyDataOf(openKemac(kemac, encrAlg, mk, msg.header.csbId, t));
    if (rand && keys.length === 0) throw new MikeyProtocolError(ErrorNo.Unspecified, 'initial message without a TGK');
    const sps = payloadsOf(msg, PayloadType.Sp);
    const useKeys = keys.length ? keys : prior!.keys;
    const bundle = deriveBundle(msg.header, useRand, sps, { kind: 'keyData', keys: useKeys });
    checkBundlePolicy(bundle, this.ep.minimumPolicy);
    this.csbs.commit(msg.header.csbId, owner, { csbId: msg.header.csbId, rand: useRand, map: msg.header.csIdMap, sps, keys: useKeys, idi, idr, bundle });
    const response = msg.header.v ? buildVerification(DataType.PskVerification, msg.header, t, this.opts.idr, idi, idr, macAlg, mk.authKey) : undefined;
    return { bundle, idi, update: !rand, ...answer(response) };
  }

  private checkAlgs(encrAlg: KemacEncrAlg, macAlg: MacAlg): void {
    const unprotected = encrAlg === 'NULL' || macAlg === 'NULL';
    if (unprotected && !this.opts.allowUnprotected) throw new MikeyProtocolError(encrAlg === 'NULL' ? ErrorNo.InvalidEa : ErrorNo.InvalidMac, NULL_ALGS_REFUSED);
    if (this.opts.encrAlgs && !this.opts.encrAlgs.includes(encrAlg)) throw new MikeyProtocolError(ErrorNo.InvalidEa, `${encrAlg} not accepted`);
    if (this.opts.macAlgs && !this.opts.macAlgs.includes(macAlg)) throw new MikeyProtocolError(ErrorNo.InvalidMac, `${macAlg} not accepted`);
  }
}
