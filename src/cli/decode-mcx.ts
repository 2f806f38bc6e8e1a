// `mikey decode` for what deployed systems send: the SAKKE deviations (deviations.ts marks them),
// and MIKEY-SAKKE messages opened with MCX key material (TS 33.180 KMS XML documents or a JSON
// file) through the inspector, each step with its verdict.
import { readFileSync } from 'node:fs';
import type { DecodedMessage } from '../wire/decode.js';
import { MikeyProtocolError } from '../session/errors.js';
import { checkSakkeLayout } from '../modes/sakke/index.js';
import { checkMcxPrf } from '../profiles/mcx/mikey.js';
import { inspectSakkeMessage, type InspectKeys, type SakkeInspection } from '../profiles/mcx/inspect.js';
import type { McxKeySet } from '../profiles/mcx/mikey.js';
import type { McxKms } from '../profiles/mcx/uid.js';
import { parseKmsResponse } from '../idkms/mcx-xml.js';
import { kmsOfCertificate } from '../idkms/mcx-client.js';
import { InputError, type FoundMessage } from './input.js';
import { EXIT, UsageError, jsonLine } from './args.js';

/** SAKKE messages: the deviations deployed senders make (a hook of decodeTolerant, deviations.ts). */
export function sakkeDeviations(msg: DecodedMessage, deviations: string[]): void {
  for (const check of [
    (seen: string[]) => checkMcxPrf(msg, { unregisteredPrf: true }, seen),
    (seen: string[]) => checkSakkeLayout(msg, { generalExtensionBeforeSakke: true }, seen),
  ]) {
    try {
      check(deviations);
    } catch (e) {
      if (!(e instanceof MikeyProtocolError)) throw e;
    }
  }
}

// ---- MCX key material -------------------------------------------------------------------

interface JsonKeys {
  kms: { uri: string; pubEncKey: string; pubAuthKey: string; userKeyPeriod: number; userKeyOffset: number };
  peerKms?: JsonKeys['kms'][];
  keyPeriodNo?: number;
  users: Record<string, { uri: string; uid?: string; rsk: string; ssk: string; pvt: string; keyPeriodNo?: number }>;
}

const unhex = (s: unknown, what: string): Uint8Array => {
  if (typeof s !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(s)) throw new InputError(`${what}: not hex`);
  return new Uint8Array(Buffer.from(s, 'hex'));
};
const kmsOfJson = (k: JsonKeys['kms']): McxKms => {
  if (!k || typeof k.uri !== 'string' || !(k.userKeyPeriod > 0) || !(k.userKeyOffset >= 0)) throw new InputError('keys: kms needs uri, pubEncKey, pubAuthKey, userKeyPeriod, userKeyOffset');
  return { uri: k.uri, zS: unhex(k.pubEncKey, 'kms.pubEncKey'), kpak: unhex(k.pubAuthKey, 'kms.pubAuthKey'), keyPeriod: k.userKeyPeriod, keyPeriodOffset: k.userKeyOffset };
};

/** The recipient's keys from the files: KMS certificates and key sets, by user. */
export function loadMcxKeys(files: readonly string[], user: string | undefined): InspectKeys {
  const kmss: McxKms[] = [];
  const sets: Array<{ uri: string; kmsUri: string; set: McxKeySet }> = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      throw new InputError(`--keys ${f}: ${(e as Error).message}`);
    }
    try {
      if (text.trimStart().startsWith('{')) {
        const j = JSON.parse(text) as JsonKeys;
        const kms = kmsOfJson(j.kms);
        kmss.push(kms, ...(j.peerKms ?? []).map(kmsOfJson));
        for (const [name, u] of Object.entries(j.users ?? {})) {
          const no = u.keyPeriodNo ?? j.keyPeriodNo;
          if (typeof u.uri !== 'string' || no === undefined) throw new InputError(`user ${name}: needs uri and keyPeriodNo`);
          const set: McxKeySet = { keyPeriodNo: no, rsk: unhex(u.rsk, `${name}.rsk`), ssk: unhex(u.ssk, `${name}.ssk`), pvt: unhex(u.pvt, `${name}.pvt`) };
          if (u.uid !== undefined) set.uid = unhex(u.uid, `${name}.uid`);
          sets.push({ uri: u.uri, kmsUri: kms.uri, set });
        }
      } else {
        const doc = parseKmsResponse(text);
        if (doc.error) throw new InputError(`KmsError ${doc.error.code}: ${doc.error.message}`);
        if (doc.message?.kind === 'init') kmss.push(kmsOfCertificate(doc.message.certificate));
        else if (doc.message?.kind === 'keyprov') {
          for (const k of doc.message.keySets) sets.push({ uri: k.userUri, kmsUri: k.kmsUri, set: { keyPeriodNo: k.keyPeriodNo, uid: k.userId, rsk: k.userDecryptKey, ssk: k.userSigningKeySsk, pvt: k.userPubTokenPvt } });
        }
      }
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`--keys ${f}: ${e.message}`);
      throw new InputError(`--keys ${f}: ${(e as Error).message}`);
    }
  }
  const users = [...new Set(sets.map((s) => s.uri))];
  const uri = user ?? (users.length === 1 ? users[0] : undefined);
  if (uri === undefined) {
    if (users.length) throw new UsageError(`--user: one of ${users.join(', ')}`);
    throw new InputError('--keys: no user key sets');
  }
  const mine = sets.filter((s) => s.uri === uri);
  if (!mine.length) throw new InputError(`--keys: no key set for ${uri}`);
  const kms = kmss.find((k) => k.uri === mine[0]!.kmsUri);
  if (!kms) throw new InputError(`--keys: no KMS certificate for ${mine[0]!.kmsUri}`);
  return { uri, kms, keySets: mine.filter((s) => s.kmsUri === kms.uri).map((s) => s.set), peerKms: kmss.filter((k) => k !== kms) };
}

// ---- the inspector's output --------------------------------------------------------------

export async function inspectForCli(bytes: Uint8Array, keys: InspectKeys, o: { strict?: boolean; initiator?: string; now?: string }): Promise<{ inspection: SakkeInspection; ok: boolean }> {
  let now: number | undefined;
  if (o.now !== undefined) {
    now = Date.parse(o.now);
    if (Number.isNaN(now)) throw new UsageError(`--now: not a time: ${o.now}`);
  }
  const inspection = await inspectSakkeMessage(bytes, keys, {
    ...(o.initiator !== undefined ? { initiator: o.initiator } : {}), ...(now !== undefined ? { now } : {}), lenience: o.strict ? {} : 'deployed',
  });
  return { inspection, ok: inspection.received !== undefined && !(o.strict && inspection.deviations.length) };
}

const MARK = { ok: 'ok', deviation: 'DEVIATION', fail: 'FAIL', skipped: 'skipped' } as const;

export function renderInspection(r: SakkeInspection): string[] {
  const lines = ['MIKEY-SAKKE inspection (TS 33.180):'];
  for (const s of r.steps) {
    lines.push(`  [${MARK[s.verdict]}] ${s.step}: ${s.reason}`);
    for (const [k, v] of Object.entries(s.details ?? {})) {
      if (v === undefined) continue;
      if (k === 'sessions' && Array.isArray(v)) {
        for (const c of v as Array<Record<string, unknown>>) {
          lines.push(`      crypto session ${c['csId']}: ${c['profile'] ?? 'no named profile'}, master key ${c['masterKey']}, salt ${c['masterSalt']}${c['mki'] ? `, MKI ${c['mki']}` : ''}`);
        }
      } else lines.push(`      ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
    }
  }
  const rc = r.received;
  if (rc) {
    lines.push(`Opened: ${rc.purposeName ?? rc.purpose} ${Buffer.from(rc.key).toString('hex')}, key ID ${rc.keyId.toString(16).padStart(8, '0')}${rc.gukId !== undefined ? `, GUK-ID ${rc.gukId.toString(16).padStart(8, '0')}` : ''}`);
  } else lines.push(`Not opened: ${r.error}`);
  lines.push(`Deviations: ${r.deviations.length ? r.deviations.join(', ') : 'none'}`);
  return lines;
}

export function inspectionJson(r: SakkeInspection): unknown {
  const rc = r.received;
  return {
    steps: r.steps, deviations: r.deviations, error: r.error,
    opened: rc && { purpose: rc.purposeName ?? rc.purpose, key: Buffer.from(rc.key).toString('hex'), keyId: rc.keyId, gukId: rc.gukId, lenient: rc.lenient },
  };
}

/** `mikey decode --keys ...`: each message through the inspector; 0 when every key opens (with --strict: without deviation). */
export async function decodeMcx(found: readonly FoundMessage[], v: { keys?: string[]; user?: string; initiator?: string; now?: string; strict?: boolean; json?: boolean }): Promise<number> {
  const keys = loadMcxKeys(v.keys ?? [], v.user);
  let status: number = EXIT.ok;
  for (const [i, m] of found.entries()) {
    const { inspection, ok } = await inspectForCli(m.bytes, keys, { strict: v.strict === true, ...(v.initiator !== undefined ? { initiator: v.initiator } : {}), ...(v.now !== undefined ? { now: v.now } : {}) });
    if (v.json) jsonLine({ source: m.source, ...(inspectionJson(inspection) as object) });
    else console.log([...(found.length > 1 ? [`# message ${i + 1} (${m.source})`] : []), ...renderInspection(inspection)].join('\n'));
    if (!ok) status = EXIT.data;
  }
  return status;
}
