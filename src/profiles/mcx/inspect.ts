// Why a MIKEY-SAKKE message (TS 33.180 Annex E over RFC 6509) opens or not: every step of the
// receiver run on its own, each with a verdict and a reason, so that the first failure does
// not hide the others. The steps are the receiver's (McxKeyManagement): its decoding, PRF and
// layout checks, its signer and key-set candidates, the key-parameters reader, the key IDs and
// the bundle; the last step is the receiver itself.
import { CryptoError } from '../../crypto/errors.js';
import { ECCSI_SIGNATURE_LENGTH } from '../../crypto/eccsi.js';
import { decodeMessage, type DecodedMessage } from '../../wire/decode.js';
import { CsIdMapType, DataType, ErrorNo, IdRole, PayloadType, PrfFunc, SakkeIdScheme, SignType, TsType, describe } from '../../wire/registry.js';
import { MikeyProtocolError } from '../../session/errors.js';
import { ntpToMs } from '../../session/time.js';
import { payloadOf, payloadsOf } from '../../modes/kit/common.js';
import { checkSakkeLayout, idrText, type SakkeSignatureCoverage } from '../../modes/sakke/index.js';
import { csIdsFor, defaultPolicyFor, deriveMcxBundle, keyPurposeName } from './keys.js';
import { DEPLOYED_LENIENCE, MCX_TOLERANCES, resolveMcxLenience, type McxLenience } from './lenience.js';
import { McxKeyManagement, checkMcxPrf, mcxKeyIds, readKeyParameters, type McxKeySet, type McxReceived } from './mikey.js';
import { uidFor, type McxKms } from './uid.js';

export type Verdict = 'ok' | 'deviation' | 'fail' | 'skipped';

export interface InspectStep {
  step: string;
  verdict: Verdict;
  reason: string;
  /** Values found by the step (hex for bytes). */
  details?: Record<string, unknown>;
}

/** The recipient's key material, as McxKeyManagement takes it. */
export interface InspectKeys {
  /** The recipient's MC service ID. */
  uri: string;
  kms: McxKms;
  keySets: readonly McxKeySet[];
  peerKms?: readonly McxKms[];
}

export interface InspectOptions {
  /** The initiator's MC service ID as the signalling names it (names the signer of UID-only messages). */
  initiator?: string;
  /** Tolerances for the final receive (default 'deployed': the steps say which were needed). */
  lenience?: McxLenience | 'deployed';
  /** Time to judge T against (ms); default: T itself (captured messages are old), with the skew reported. */
  now?: number;
}

export interface SakkeInspection {
  steps: InspectStep[];
  /** The receiver's result with the tolerances asked for, when the message opened. */
  received?: McxReceived;
  /** The receiver's error otherwise. */
  error?: string;
  /** Deviations seen (tolerance names). */
  deviations: string[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const h32 = (v: number) => v.toString(16).padStart(8, '0');
const reasonOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Inspect a MIKEY-SAKKE I_MESSAGE with the recipient's keys. Never throws for the message's sake. */
export async function inspectSakkeMessage(bytes: Uint8Array, keys: InspectKeys, options: InspectOptions = {}): Promise<SakkeInspection> {
  const steps: InspectStep[] = [];
  const deviations: string[] = [];
  const add = (step: string, verdict: Verdict, reason: string, details?: Record<string, unknown>) => {
    steps.push(details ? { step, verdict, reason, details } : { step, verdict, reason });
  };
  const lenience = resolveMcxLenience(options.lenience ?? 'deployed');

  // ---- decode: strictly, then with each decoding tolerance --------------------------------
  let msg: DecodedMessage | undefined;
  try {
    msg = decodeMessage(bytes);
    add('decode', 'ok', `${bytes.length} bytes, ${msg.payloads.length} payloads`);
  } catch (e) {
    add('decode', 'fail', `strict: ${reasonOf(e)}`);
    for (const [name, opts] of [['sp-with-empty-map', { allowSpWithEmptyMap: true }], ['trailing-bytes', { allowTrailingBytes: true }], ['sp-with-empty-map+trailing-bytes', { allowSpWithEmptyMap: true, allowTrailingBytes: true }]] as const) {
      try {
        msg = decodeMessage(bytes, opts);
        add(`decode with ${name}`, 'deviation', `decodes with ${name}`);
        for (const n of name.split('+')) deviations.push(n);
        break;
      } catch (e2) {
        add(`decode with ${name}`, 'fail', reasonOf(e2));
      }
    }
  }
  if (!msg) return { steps, deviations, error: 'the message does not decode' };

  // ---- header, layout, T -------------------------------------------------------------------
  const hdr = msg.header;
  const header = { dataType: describe(DataType, hdr.dataType), prf: describe(PrfFunc, hdr.prfFunc), csbId: h32(hdr.csbId), map: describe(CsIdMapType, hdr.csIdMap.type) };
  if (hdr.dataType !== DataType.Sakke) add('header', 'fail', `data type ${header.dataType} is not SAKKE`, header);
  else {
    const seen: string[] = [];
    try {
      checkMcxPrf(msg, { unregisteredPrf: true }, seen);
      if (seen.length) deviations.push(...seen);
      add('header', seen.length ? 'deviation' : 'ok', seen.length ? `PRF func ${hdr.prfFunc} is unregistered (unregistered-prf reads it as PRF-HMAC-SHA-256)` : 'SAKKE, PRF-HMAC-SHA-256', header);
    } catch (e) {
      add('header', 'fail', reasonOf(e), header);
    }
  }
  const layout = msg.payloads.map((p) => describe(PayloadType, p.type).replace(/ \(\d+\)$/, ''));
  {
    const seen: string[] = [];
    try {
      checkSakkeLayout(msg, { generalExtensionBeforeSakke: true }, seen);
      deviations.push(...seen);
      add('layout', seen.length ? 'deviation' : 'ok', seen.length ? 'General Extension before SAKKE (general-extension-before-sakke)' : 'RFC 6509 §2.1 order', { payloads: layout });
    } catch (e) {
      add('layout', 'fail', reasonOf(e), { payloads: layout });
    }
  }
  const t = payloadOf(msg, PayloadType.T);
  const sign = payloadOf(msg, PayloadType.Sign);
  const sakke = payloadOf(msg, PayloadType.Sakke);
  const tMs = t && (t.tsType === TsType.NtpUtc || t.tsType === TsType.Ntp) ? ntpToMs(t.value) : undefined;
  const now = options.now ?? tMs ?? Date.now();
  const rcv = new McxKeyManagement({ uri: keys.uri, kms: keys.kms, keySets: keys.keySets, ...(keys.peerKms ? { peerKms: keys.peerKms } : {}), clock: { now: () => now }, lenience });
  const me = rcv.options;
  if (tMs === undefined) add('T', 'fail', t ? `TS type ${t.tsType} (NTP-UTC or NTP required, RFC 6509 §2.2.1)` : 'no T payload');
  else {
    const d = { time: new Date(tMs).toISOString(), skewMs: now - tMs, keyPeriodNo: safe(() => rcv.period(me.kms, tMs)), kms: me.kms.uri };
    const kmsi = rcv.kmsByUri(idrText(msg, IdRole.IDRkmsi));
    if (kmsi && kmsi !== me.kms) Object.assign(d, { initiatorKms: kmsi.uri, initiatorKeyPeriodNo: safe(() => rcv.period(kmsi, tMs)) });
    add('T', options.now === undefined ? 'ok' : Math.abs(now - tMs) <= 60_000 ? 'ok' : 'fail', options.now === undefined ? 'judged at T (no time given)' : `skew ${now - tMs} ms`, d);
  }

  // ---- signer and signature under each coverage ---------------------------------------------
  let signerLabel: ReturnType<McxKeyManagement['signerCandidates']>[number]['label'] | undefined;
  if (!sign || !t || tMs === undefined) add('signature', 'skipped', 'no SIGN or no usable T');
  else if (sign.sType !== SignType.Eccsi) add('signature', 'fail', `S type ${sign.sType}: only ECCSI (RFC 6507) is supported`);
  else if (sign.signature.length !== ECCSI_SIGNATURE_LENGTH) add('signature', 'fail', `ECCSI signature of ${sign.signature.length} bytes`);
  else {
    let cands: ReturnType<McxKeyManagement['signerCandidates']> = [];
    try {
      cands = rcv.signerCandidates(msg, tMs, options.initiator);
    } catch (e) {
      add('signer', 'fail', reasonOf(e));
    }
    const idri = idrText(msg, IdRole.IDRi);
    add('signer', cands.length ? 'ok' : 'fail', cands.length
      ? `${cands.length} candidate UID(s) from ${idri !== undefined ? `IDRi ${idri}` : options.initiator !== undefined ? `the initiator ${options.initiator}` : 'the UID in ID role 8'}`
      : 'no signer identity: no IDRi or UID (role 8) of a known KMS, or it is not the claimed initiator', { idri, kmsi: idrText(msg, IdRole.IDRkmsi), candidates: cands.map((c) => hex(c.id)) });
    const covered: Record<SakkeSignatureCoverage, Uint8Array> = {
      rfc: msg.bytes.subarray(0, sign.span!.end - ECCSI_SIGNATURE_LENGTH),
      'excluding-sign-header': msg.bytes.subarray(0, sign.span!.start),
    };
    for (const cov of ['rfc', 'excluding-sign-header'] as const) {
      const hit = cands.find((c) => {
        try {
          return c.verifier.verify(c.id, covered[cov], sign.signature);
        } catch (e) {
          if (e instanceof CryptoError) return false;
          throw e;
        }
      });
      if (hit) signerLabel ??= hit.label;
      const dev = cov !== 'rfc';
      if (hit && dev) deviations.push('signature-without-sign-header');
      const needless = !hit && dev && signerLabel !== undefined;
      add(`signature (${cov})`, hit ? (dev ? 'deviation' : 'ok') : needless ? 'skipped' : 'fail',
        hit ? `ECCSI verifies with UID ${hex(hit.id)}${hit.label.uri ? ` (${hit.label.uri})` : ''}` : `ECCSI does not verify with any candidate${needless ? ' (not needed: the RFC coverage verifies)' : ''}`,
        hit ? { uid: hex(hit.id), kms: hit.label.kms.uri, uri: hit.label.uri, keyPeriodNo: periodOfUid(rcv, hit.label, tMs) } : undefined);
    }
  }

  // ---- the key set (from the recipient UID) and SAKKE decapsulation with the RFC 6508 check ----
  let ssv: Uint8Array | undefined;
  let self = false;
  if (!sakke || tMs === undefined) add('SAKKE', 'skipped', 'no SAKKE payload or no usable T');
  else if (sakke.idScheme !== SakkeIdScheme.McxHashedUid) add('SAKKE', 'fail', `SAKKE ID scheme ${sakke.idScheme} (the profile uses 2, the hashed UID)`);
  else if (!signerLabel) add('key set', 'skipped', 'chosen after the signer (SAKKE-to-self needs it): no signature verified');
  else {
    let rc: ReturnType<McxKeyManagement['receiverCandidates']> = [];
    try {
      rc = rcv.receiverCandidates(msg, tMs, signerLabel);
    } catch (e) {
      add('key set', 'fail', reasonOf(e));
    }
    const named = payloadsOf(msg, PayloadType.Idr).find((x) => x.role === IdRole.ResponderUid)?.data;
    const idrr = idrText(msg, IdRole.IDRr);
    const why = me.keySets.some((s) => safe(() => hex(rcv.uidOf(s))) === hex(signerLabel!.uid))
      ? 'the signer is us: SAKKE-to-self (E.5)'
      : named ? `the UID in ID role 9 (${hex(named)})` : idrr !== undefined ? `IDRr ${idrr}, the key period of T first, then its neighbours` : 'no recipient named: the key period of T first, then its neighbours';
    add('key set', rc.length ? 'ok' : 'fail', rc.length ? `${rc.length} candidate(s) from ${why}` : `no key set of ours matches (${why})`,
      { candidates: rc.map((c) => ({ keyPeriodNo: c.label.set.keyPeriodNo, uid: hex(rcv.uidOf(c.label.set)), self: c.label.self })) });
    for (const c of rc) {
      try {
        ssv = c.receiver().decapsulate(c.data ?? sakke.data);
        self = c.label.self;
        add('SAKKE', 'ok', `decapsulates with the key set of period ${c.label.set.keyPeriodNo}; RFC 6508 §6.2.2 check of r holds`, { keyPeriodNo: c.label.set.keyPeriodNo, toSelf: c.label.self });
        break;
      } catch (e) {
        add('SAKKE', 'fail', `key set of period ${c.label.set.keyPeriodNo}: ${reasonOf(e)}`);
      }
    }
  }

  // ---- key IDs, key parameters, SRTP ----------------------------------------------------------
  if (ssv) {
    const memberUri = self ? idrText(msg, IdRole.IDRr) : me.uri;
    let ids: ReturnType<typeof mcxKeyIds> | undefined;
    try {
      ids = mcxKeyIds(msg, ssv, memberUri);
      const name = keyPurposeName(ids.purpose) ?? `purpose ${ids.purpose}`;
      add('key IDs', 'ok', `${name}${ids.gukId !== undefined ? `: GMK-ID ${h32(ids.keyId)} from GUK-ID ${h32(ids.gukId)}` : `-ID ${h32(ids.keyId)}`}`,
        { purpose: name, purposeTag: ids.purpose, keyId: h32(ids.keyId), ...(ids.gukId !== undefined ? { gukId: h32(ids.gukId) } : {}), mki: hex(ids.mki) });
    } catch (e) {
      add('key IDs', 'fail', reasonOf(e));
    }
    const strictSeen: string[] = [];
    try {
      const kp = readKeyParameters(msg, ssv, msg.header.csbId, {}, strictSeen);
      add('key parameters', kp.keyParameters ? 'ok' : 'skipped', kp.keyParameters ? `read (${kp.keyParameters.format})` : 'none sent', kp.keyParameters ? kpDetails(kp.keyParameters) : undefined);
    } catch (e) {
      add('key parameters', 'fail', `strict: ${reasonOf(e)}`);
      for (const [name, opt] of Object.entries(MCX_TOLERANCES).filter(([n]) => n.startsWith('key-parameters-') && n !== 'key-parameters-unreadable')) {
        const seen: string[] = [];
        try {
          const kp = readKeyParameters(msg, ssv, msg.header.csbId, { [opt]: true }, seen);
          deviations.push(...seen);
          add(`key parameters with ${name}`, 'deviation', `read (${kp.keyParameters!.format})`, kpDetails(kp.keyParameters!));
        } catch (e2) {
          add(`key parameters with ${name}`, 'fail', reasonOf(e2));
        }
      }
      const seen: string[] = [];
      try {
        const kp = readKeyParameters(msg, ssv, msg.header.csbId, { ...DEPLOYED_LENIENCE, keyParametersUnreadable: false }, seen);
        if (!steps.some((s) => s.step.startsWith('key parameters with') && s.verdict === 'deviation')) {
          deviations.push(...seen);
          add('key parameters with every form tolerance', 'deviation', `read (${kp.keyParameters!.format}) with ${seen.join(', ')}`, kpDetails(kp.keyParameters!));
        }
      } catch {
        deviations.push('key-parameters-unreadable');
        add('key parameters', 'deviation', 'unreadable in every form: informative, the key is kept with key-parameters-unreadable');
      }
    }
    if (ids) {
      try {
        const h = checkMcxPrf(msg, { unregisteredPrf: true }, []);
        const csIds = csIdsFor(ids.purpose, me.service);
        const bundle = deriveMcxBundle(h, payloadOf(msg, PayloadType.Rand)!.rand, payloadsOf(msg, PayloadType.Sp), ssv, { defaultParams: defaultPolicyFor(ids.purpose), implied: csIds.map((csId) => ({ csId, mki: ids!.mki })) });
        add('SRTP', 'ok', `${bundle.sessions.length} crypto session(s)`, {
          sessions: bundle.sessions.map((s) => ({ csId: s.csId, profile: s.profile, ssrc: s.ssrc, masterKey: hex(s.keys[0]!.masterKey), masterSalt: hex(s.keys[0]!.masterSalt), mki: s.keys[0]!.mki ? hex(s.keys[0]!.mki) : undefined })),
        });
      } catch (e) {
        add('SRTP', 'fail', reasonOf(e));
      }
    }
  }

  // ---- the receiver itself, with the tolerances asked for --------------------------------------
  const uniq = [...new Set(deviations)];
  try {
    const received = await rcv.receive(bytes, options.initiator !== undefined ? { initiator: options.initiator } : {});
    add('receive', received.lenient.length ? 'deviation' : 'ok', received.lenient.length ? `key opened with ${received.lenient.join(', ')}` : 'key opened, no deviation', { key: hex(received.key) });
    return { steps, received, deviations: uniq };
  } catch (e) {
    const tol = options.lenience === undefined ? "'deployed'" : 'the tolerances asked for';
    add('receive', 'fail', `with ${tol}: ${reasonOf(e)}`, e instanceof MikeyProtocolError ? { errorNo: e.errorNo } : undefined);
    return { steps, deviations: uniq, error: reasonOf(e) };
  }
}

function kpDetails(k: { keyType: number; status: number; activationTime: number; expiryTime: number; text: string; groupIds?: Array<{ iei: number; value: Uint8Array }>; format: string }) {
  return {
    format: k.format, keyType: keyPurposeName(k.keyType) ?? k.keyType, status: k.status, activationTime: k.activationTime, expiryTime: k.expiryTime, text: k.text,
    ...(k.groupIds ? { groupIds: k.groupIds.map((g) => ({ iei: g.iei, value: Buffer.from(g.value).toString('utf8') })) } : {}),
  };
}

function safe<T>(f: () => T): T | string {
  try {
    return f();
  } catch (e) {
    return reasonOf(e);
  }
}

function periodOfUid(rcv: McxKeyManagement, l: { uid: Uint8Array; kms: McxKms; uri?: string }, tMs: number): number | undefined {
  if (l.uri === undefined) return undefined;
  const p = rcv.period(l.kms, tMs);
  for (const n of [p, p - 1, p + 1]) {
    if (n >= 0 && hex(uidFor(l.uri, l.kms, n)) === hex(l.uid)) return n;
  }
  return undefined;
}
