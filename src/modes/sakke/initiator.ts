// MIKEY-SAKKE (RFC 6509) with identifier scheme 1: the initiator (messages.ts has the layout and what both sides share).
import type { MikeyPrf } from '../../crypto/prf.js';
import { DataType, IdRole, SakkeIdScheme } from '../../wire/registry.js';
import { deriveBundle, type CryptoSessionBundle } from '../../session/bundle.js';
import { ntpToMs } from '../../session/time.js';
import { buildMapAndPolicies, header, newTimestamp, random32, resolveEndpoint, type ResolvedEndpoint, type SessionOffer } from '../kit/common.js';
import {
  type SakkeKmsPublicKeys, dec, sameBytes, keyMonth, checkTelUri, telUriIdentifier, buildSakkeIMessage, idrPayload, type SakkeEndpointOptions,
} from './messages.js';

export interface SakkeOfferOptions {
  /** The responder's tel URI. */
  to: string;
  /** The responder's KMS, when not ours, and its URI for IDRkmsr. */
  toKms?: SakkeKmsPublicKeys;
  toKmsUri?: string;
  sessions: readonly SessionOffer[];
  csbId?: number;
  rand?: Uint8Array;
  /** The TGK (SSV), random by default. */
  tgk?: Uint8Array;
  /** Leave IDRi/IDRr/IDRkmsi/IDRkmsr out (RFC 6509 §2.2.1: OPTIONAL when known by other means). */
  omitIdentities?: boolean;
}

export interface SakkeOffer {
  bytes: Uint8Array;
  /** The TGK (SSV) and the keys it gives. */
  tgk: Uint8Array;
  bundle: CryptoSessionBundle;
}

export interface SakkeInitiatorOptions extends SakkeEndpointOptions {
  /** PRF of the header (default PRF-HMAC-SHA-256, RFC 6043 §6.1). */
  prf?: MikeyPrf;
}

/** RFC 6509 §2.2.1 sender: SAKKE to the responder's identifier of the month, ECCSI-signed with ours. */
export class SakkeInitiator {
  private readonly ep: ResolvedEndpoint;
  constructor(private readonly opts: SakkeInitiatorOptions) {
    checkTelUri(opts.uri);
    this.ep = resolveEndpoint(opts);
  }

  createOffer(o: SakkeOfferOptions): SakkeOffer {
    checkTelUri(o.to);
    const t = newTimestamp(this.ep);
    // §3.2: the month of the identifiers is that of T
    const month = keyMonth(ntpToMs(t.value));
    const myId = telUriIdentifier(this.opts.uri, month);
    const mine = this.opts.keys.find((k) => sameBytes(k.id, myId));
    if (!mine?.ssk || !mine.pvt) throw new Error(`no signing key for ${dec.decode(myId).replace(/\0/g, '\\0')}`);
    const csbId = o.csbId ?? random32(this.ep.random);
    const rand = o.rand ?? this.ep.random(16);
    const { map, sps } = buildMapAndPolicies(o.sessions);
    // §2.2.1: IDRi/IDRr carry the URIs of the identifiers; IDRkmsi/IDRkmsr the KMSs' URIs
    const kmsr = o.toKmsUri ?? (o.toKms ? undefined : this.opts.kmsUri);
    const idrs = o.omitIdentities ? [] : [idrPayload(IdRole.IDRi, this.opts.uri), idrPayload(IdRole.IDRr, o.to)];
    if (!o.omitIdentities && this.opts.kmsUri) idrs.push(idrPayload(IdRole.IDRkmsi, this.opts.kmsUri));
    if (!o.omitIdentities && kmsr) idrs.push(idrPayload(IdRole.IDRkmsr, kmsr));
    const prf = this.opts.prf ?? 'PRF-HMAC-SHA-256';
    const { bytes, ssv } = buildSakkeIMessage({
      csbId, csIdMap: map, prf, t, rand, idrs, sps, ssv: o.tgk,
      recipient: { id: telUriIdentifier(o.to, month), zS: (o.toKms ?? this.opts.kms).zS }, idScheme: SakkeIdScheme.TelUri,
      signer: { id: myId, ssk: mine.ssk, pvt: mine.pvt, hs: mine.hs, kpak: this.opts.kms.kpak }, random: this.ep.random,
    });
    const bundle = deriveBundle(header(DataType.Sakke, csbId, prf, map), rand, sps, { kind: 'tgk', tgk: ssv });
    return { bytes, tgk: ssv, bundle };
  }
}
