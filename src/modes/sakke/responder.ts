// MIKEY-SAKKE (RFC 6509) with identifier scheme 1: the responder (messages.ts has the layout and what both sides share).
import type { DecodedMessage } from '../../wire/decode.js';
import { CsIdMapType, ErrorNo, IdRole, PayloadType, SakkeIdScheme } from '../../wire/registry.js';
import { deriveBundle, type CryptoSessionBundle } from '../../session/bundle.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { ntpToMs } from '../../session/time.js';
import { payloadOf, payloadsOf, resolveEndpoint, type ResolvedEndpoint } from '../kit/common.js';
import { buildErrorMessage, withErrorResponse } from '../kit/error-message.js';
import type { Unanswered } from '../kit/offer.js';
import { checkBundlePolicy } from '../kit/policy.js';
import {
  type SakkeSignatureCoverage, sameBytes, checkTelUri, telUriIdentifier, type SakkeLenience, decodeSakkeMessage, openSakkeIMessage,
  asProtocolError, SakkeReceiverCache, EccsiVerifierCache, idrText, type SakkeEndpointOptions,
} from './messages.js';

export interface SakkeResponderOptions extends SakkeEndpointOptions {
  /** The initiator's URI when the message carries no IDRi (known from the signalling). */
  initiatorUri?: string;
  /** Local policy on the initiator (RFC 6509 §2.2.2); refusal is an Auth failure. */
  acceptInitiator?: (uri: string) => boolean;
  lenience?: SakkeLenience;
}

/** What the responder accepted: never `answered`, MIKEY-SAKKE being one message (RFC 6509 §2.2). */
export interface SakkeAccepted extends Unanswered {
  bundle: CryptoSessionBundle;
  /** The TGK (SSV). */
  tgk: Uint8Array;
  /** The initiator's URI and the identifier its signature verified with. */
  initiator: { uri: string; id: Uint8Array };
  /** Our identifier the SAKKE data was for. */
  responderId: Uint8Array;
  /** Which bytes the signature covered. */
  signatureCoverage: SakkeSignatureCoverage;
  lenient: string[];
}

/** RFC 6509 §2.2.2 receiver with identifier scheme 1. */
export class SakkeResponder {
  private readonly ep: ResolvedEndpoint;
  private readonly receivers = new SakkeReceiverCache();
  private readonly verifiers = new EccsiVerifierCache();
  constructor(private readonly opts: SakkeResponderOptions) {
    checkTelUri(opts.uri);
    this.ep = resolveEndpoint(opts);
  }

  /** Process an I_MESSAGE. Throws MikeyProtocolError with `response` (an unauthenticated Error message). */
  async receive(bytes: Uint8Array): Promise<SakkeAccepted> {
    const lenient: string[] = [];
    let msg: DecodedMessage | undefined;
    try {
      msg = decodeSakkeMessage(bytes, this.opts.lenience ?? {}, lenient);
      return await this.process(msg, lenient);
    } catch (e) {
      return withErrorResponse(asProtocolError(e), (err) => buildErrorMessage(msg?.header, msg && payloadOf(msg, PayloadType.T), [err.errorNo], this.ep.clock));
    }
  }

  private async process(msg: DecodedMessage, lenient: string[]): Promise<SakkeAccepted> {
    const o = this.opts;
    const idri = idrText(msg, IdRole.IDRi) ?? o.initiatorUri;
    const idrr = idrText(msg, IdRole.IDRr);
    const kmsi = o.peerKms?.(idrText(msg, IdRole.IDRkmsi)) ?? o.kms;
    const opened = await openSakkeIMessage(msg, this.ep, o.lenience ?? {}, lenient, SakkeIdScheme.TelUri,
      (t) => {
        if (!idri || !/^tel:\+[0-9]+$/.test(idri)) return [];
        return [{ id: telUriIdentifier(idri, ntpToMs(t.value)), verifier: this.verifiers.get(kmsi.kpak), label: idri }];
      },
      (t) => {
        // §3.2: our identifier of T's month; the IDRr, when sent, must name us
        if (idrr !== undefined && idrr !== o.uri) return [];
        const id = telUriIdentifier(o.uri, ntpToMs(t.value));
        const k = o.keys.find((x) => sameBytes(x.id, id) && x.rsk);
        return k ? [{ receiver: () => this.receivers.get(o.kms.zS, k.id, k.rsk!), label: k.id }] : [];
      });
    if (o.acceptInitiator && !o.acceptInitiator(opened.signer)) throw new MikeyProtocolError(ErrorNo.AuthFailure, `initiator ${opened.signer} refused by local policy`);
    if (msg.header.csIdMap.type !== CsIdMapType.SrtpId) throw new MikeyProtocolError(ErrorNo.UnsupportedMessageType, 'this responder reads the SRTP-ID crypto session map (the 3GPP profile reads GENERIC-ID and Empty maps)');
    const bundle = deriveBundle(msg.header, opened.rand, payloadsOf(msg, PayloadType.Sp), { kind: 'tgk', tgk: opened.ssv });
    checkBundlePolicy(bundle, this.ep.minimumPolicy);
    return {
      answered: false, bundle, tgk: opened.ssv,
      initiator: { uri: opened.signer, id: telUriIdentifier(opened.signer, ntpToMs(opened.t.value)) },
      responderId: opened.receiver, signatureCoverage: opened.coverage, lenient,
    };
  }
}
