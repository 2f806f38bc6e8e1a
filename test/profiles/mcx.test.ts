// The 3GPP MCX profile of MIKEY-SAKKE (TS 33.180): third-party vectors (UIDs, four deployed
// I_MESSAGEs, GUK-IDs, SRTP master keys and salts), round trips with keys from our own KMS
// functions, tampering, the lenient options, and the key parameters extension.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import {
  McxKeyManagement, McxGroupKey, KeyPurpose, McxCsId, GROUP_CALL_DEFAULT_POLICY, PRIVATE_CALL_DEFAULT_POLICY,
  mikeySakkeUid, uidFor, keyPeriodNumber, keyPeriodStart, gukId, gmkIdOf, userSalt, mcxSrtpMasterKey, newKeyId, keyPurposeOf,
  protectKeyParameters, openKeyParameters, encodeKeyParameters, decodeKeyParameters, UID_ROLE_INITIATOR, UID_ROLE_RESPONDER,
  type McxKms, type McxKeySet, type McxOptions, type McxReceived,
} from '../../src/profiles/mcx/index.js';
import { eccsiKmsSetup, eccsiMakeSskPvt } from '../../src/crypto/eccsi.js';
import { SakkeKmsPublicKey, sakkeKmsSetup, sakkeMakeRsk, sakkeParamSet1 } from '../../src/crypto/sakke.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { DataType, ErrorNo, IdRole, PayloadType } from '../../src/wire/registry.js';
import { MikeyProtocolError } from '../../src/session/errors.js';
import { srtpContexts, type CryptoSessionBundle } from '../../src/session/bundle.js';
import { ntpTimestamp, ntpToMs } from '../../src/session/time.js';
import { buildSakkeIMessage, idrPayload } from '../../src/modes/sakke/index.js';
import { sakkeDemo } from '../../src/cli/demo-sakke.js';
import type { Payload } from '../../src/wire/types.js';
import { rejects } from '../support/refusal.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const clockAt = (ms: number) => ({ now: () => ms });
const keysOf = (b: CryptoSessionBundle) => JSON.stringify(srtpContexts(b).map((c) => [c.csId, c.ssrc, c.profile, toHex(c.masterKey), toHex(c.masterSalt), c.mki && toHex(c.mki)]));

/** PRF-HMAC-SHA-256 for a 128-bit TGK and at most 256 output bits (RFC 6043 §6.1: n = m = 1), written out. */
function refPrf(tgk: Uint8Array, constant: number, csId: number, csbId: number, rand: Uint8Array, len: number): string {
  const label = Buffer.concat([Buffer.from([constant >>> 24, (constant >>> 16) & 255, (constant >>> 8) & 255, constant & 255, csId, csbId >>> 24, (csbId >>> 16) & 255, (csbId >>> 8) & 255, csbId & 255]), rand]);
  const a1 = createHmac('sha256', tgk).update(label).digest();
  return createHmac('sha256', tgk).update(a1).update(label).digest().subarray(0, len).toString('hex');
}

// ---- third-party vectors: shared/rfc/third-party/StreamwideTestVectors.md ------------------

const KMS_Z = hex(
    '046fc2cf00fd48467abe7c02f383002fc49b6632bf0f7071d958f1f128154e6fae1f69bb91691a191a358fe647a3e020d236' +
    '5d52f81fb3af4ea271654f1a880274c1ae228ac72cc15d535394321bd2143cea2619fb3b0c6ce7a5f72714d8ef4d11cb0c99' +
    '1c3376ca31b168b01e66021effdbf7920bd66615e6f0d6a1e61c06e72e61b4138738c11bc249a3849e9c4cff327a7d0d2769' +
    'c3d97a37f86adfb13baa257e628ce236f40360d3f7b8d95b0e3fcc19417602d7d6b8928b855eae9129be1f0b87d33e884906' +
    'dd95a04a8bd61240bad60f9dfada64806726f8f08b86343f54046416f5198116e9798c218bcf9ca07d0baa4be50062bfe54e' +
    '44495b6ed59cb6');
const KMS_KPAK = hex(
    '0448f9c2c48b50735f6bc70ec6691073243f1e0bd83cc73bb936d61ffcb2d6049a5b297e8205b29fbd8591cb582d6402add2' +
    '1451ce4beebeaaa7520e93b11cf28f');
const USERS = {
  gms: {
    uri: 'gms@streamwide.com',
    uid: '15a4d5b12856538d02d91fedbb766e6dd377b014c92e216666c8fb678608d20e',
    rsk:
    '043f591611206a0913ecb68ab28e086ac1148fbd5ce4a40bf00a186653ecf6f0055f4f1b5ef8a4b527d33dd28c731c7b2829' +
    'd6329283533d499b04c31e2d30437919f486ef76c8a6cbca2f279724539e52b3a1760077670fc35756a9417625d578767178' +
    '11bd3f1fb8fb473b547ba874a8f5d747cd63b2ebcdb150f5b454a46ec2512a86f0672439d3121a0eddf5995f18e1c77e3423' +
    'ea34427b62281977e3afb9b5c8766c5a32e1f9b29f0bb12d46a03f8f3ec7357e59f969473bcf4d4cdc3cdedb6e7982e64771' +
    '17a3c02d86165896485323c96f53a330e5e995ce83b23127542f2177916d5007a5aa116680093911d4bc587cd94e2bdec36d' +
    '7290ed4f2d3998',
    ssk: '2e7237faa18a874b88d955199dea974b7d0fefcbbae1946baf659b26a4d05a5e',
    pvt:
    '0468a24d49b184d7008d22f63a415debd38bfa9295f066fa6ada5951c2322d2eca1d6f1d994f22710daef776d9c54d9a338f' +
    '32395080d6f2bdffb6c7895f12cda2',
  },
  alice: {
    uri: 'sip:alice@streamwide.com',
    uid: 'b5c452309219da6a3d805615548d6c1b0f4de45a6b48fb13d9a24d857fc03dc4',
    rsk:
    '0428b44cd6dffd2e7fe73521a5c514738287df177c1ae841ba6f5d72601b9c6bc5509c3fd800ac1fee833dd81c74ab39d274' +
    '0a10fba25cd9b0debb25a3da958cf52e35e863d2db37ea22b318d23d9911d36f585eb110e430123f3cd84d2692a4013bc7f5' +
    '9533e5da2083d8e6e8b96764eb8e8be599dc2361e7428460b8490200417baa5bac10efaa5262301b3110f6da9e8bc9c4b628' +
    '27c3d4f4070a8e341346a326a23f219d2a99298036615956bb85a60cf303d15d469c1ee837c29cba5dccb28d74e4ba0d83da' +
    'c9400d72eecb1817cc60127203f1321e82b7a24f60c07f1804a9895cbb455a94694a5ef627b1c631760295dad53f0eed1714' +
    'ba52d5a932bddd',
    ssk: 'a1be54a56c7905c06abd2be177fc0c137a32278c9067550b0f0d93fb630d2428',
    pvt:
    '0426cd8b0a33af9b381ee53ebc6841aed5c1c98fb0d2beb9c7ff98d7c79808d1f566659f6b735016192dd9984df56e54f3f9' +
    '5c76ac4638c1f3d3228f3c752c8cc8',
  },
  iwf: {
    uri: 'sip:iwf_legacy_v1.1.x_format@streamwide.com',
    uid: 'edb3cd733168a81106e366c2ddc0e4bc323e9069d48edfe2b3b0f7033bae962a',
    rsk:
    '0424b74f88f8fb0cc7b1fa8b48ef1cd676ac776a3dc98d41c7e334308a7068906d44eb13ea49c472b8835685a4151a2705fb' +
    '78e0371ff351d7ed38de0977ca10ad23c91a569010718f0498daa45f46d8c57e40d96081b839d59c0a1ce06a5044f53ec9b3' +
    '79e730da0605cafcb922b018023c463478d63298bad759dbcae40e8120703f7badd9e5635a22e2a95d7fa94455225065d1d4' +
    '17b3eba279a77882d50425336ed8c5529c608e1777dbad5da9cb23d2fdc5ff0225b1c2237463ac107d9a9f3160e2e4b0e660' +
    '1fa7609fe28640d8b03cdda21411370a5610758436ab98793caef1391ff7eaa01ee15e4893d72c648eba206d17199cf416e5' +
    '6e09e7bca3ae3d',
    ssk: 'ed3162edf45f6e6f0f0939a02c84795c2ab78f714c91fe0254ca0f48eacf6a20',
    pvt:
    '0411d4c57e7b945588148a55f9e88bd1d62017f4fab600af6bf4dcdb05e6f75e9441e20f7a9e2371ebb34692b941270b5274' +
    '4d1699538b41a4cdf043101e23449d',
  },
  bob: {
    uri: 'sip:bob@streamwide.com',
    uid: '780851cda91a9c33f941cd3a2831697e2893264754e363f8a0cef827eb201a81',
    rsk:
    '04421d385f108bd51f66abbce40b899efe187dbb08085d9a535fca8766677db317812e48da407235d73399d4d2e2ed4f5a35' +
    'd7694b64595ce0599e4d3592f5b57ede83890fd798aec2cd96f333d6139d9f7ecfecbb79b769f5fbbc6825beeb25999acdf6' +
    'fb2edd369176f45db0caf5909aa81512e57064c46ae1c23df9284ffba55741cde0b7a8145fdbea76b4ee243d79bd70db4300' +
    'c55570f342ca0df98e8f3b410e1df4ccbdd279403d3da06cad4c5db8d4e078a191a7a0545391e8ca72e51c793448c4ba8be7' +
    '1fbac90a84ded3d6127c4d7438a3132f354b283d65da75a5070ecd96f02d694c505efcb05caf2290bf15ee45c15a0e652496' +
    'b88acbaf1d26a3',
    ssk: 'a36885736f21b6ceba48448093086f4ada1ce099bd77e3047c04529ac3f4d4eb',
    pvt:
    '049c203fda536ae9481eb7f3a1e4662d0adaa6a3b7d3fff0c2dfadd148a754af424d434253b62dcd08eb6aedb6cd091e09f8' +
    '539d41d3ef2d0ce07e8ead352f2dd9',
  },
};
const MESSAGES = {
  gmk:
    'ARoFAQahKuoBAgQAAQAAAAgN+bw5BqEq6gsA7ImNqAAAAAAOEMovXVH/CGY2LB2FpW+EZR4OCAEAIBWk1bEoVlONAtkf7bt2bm3T' +
    'd7AUyS4hZmbI+2eGCNIODgkBACC1xFIwkhnaaj2AVhVUjWwbD03kWmtI+xPZok2Ff8A9xA4GAQAYa21zLm15ZGV2LnN0cmVhbXdp' +
    'ZGUuY29tCgcBABhrbXMubXlkZXYuc3RyZWFtd2lkZS5jb20aAAAAGwABBgEBEAIBBAQBDAUBAAYBABIBBBMBABQBEBUBAgERBC3a' +
    'UP1jhkJ9H82+MG+m8UQpuYzjR5JCHxwWvskS8Mny2EqaxY3EcWJhrcq6qkW8/JHV13Ajl7ONGzddlw0JgInw5TgkvS8nxlQFtZTN' +
    'DAQNYfgHfB6mt2ngI7pK7TBSWLx6kWJtP9+GOsQBq8XF5sn8lU1oc5QYueVprQxfbvCAeNptCSm0d/8tTS1MRoZinm1ptcc56tfq' +
    'R7SDGaEf4qIwgi+z6OlimTqd4TfQakk+0SS1N6+FpyTVJaV+vHH+XhbdNEAqvEF4kkVa9uBVbz3oibD6qE5r1p5RPLhMdbFSt43k' +
    'D3m2W0bywQRLcd83h3ToKJjUVZmiJ1looeUhlmLDlOMS1o5aCogO1Y9BzxcIBAcAR0MAAAAAAQAAAAAAAShwT6Qcj+IPiBwbqw0y' +
    '2MoGoSrqAAAkTt3Dv4wqSl0/yYSEQBI+fQVNq0MI1QV1kgbMeJ0FpM4OSTZNIIEiJZ8Dj82CPpmzeAtvAA00Ld0hK6wK+/O6TLeV' +
    'fE6HxgAGWUHFH/27VKKiyKPa0tpfDhlEEnWzJiVzWOD/yzXdBGiiTUmxhNcAjSL2OkFd69OL+pKV8Gb6atpZUcIyLS7KHW8dmU8i' +
    'cQ2u93bZxU2aM48yOVCA1vK9/7bHiV8SzaI=',
  csk:
    'ARoFAS3dW/ABAgYAAQAAAAQt3VvwCwDsiY2oAAAAAA4QTRPEF5i4LeE7cBqWlzKO3Q4IAQAgtcRSMJIZ2mo9gFYVVI1sGw9N5Fpr' +
    'SPsT2aJNhX/APcQOCQEAIBWk1bEoVlONAtkf7bt2bm3Td7AUyS4hZmbI+2eGCNIODgYBABhrbXMubXlkZXYuc3RyZWFtd2lkZS5j' +
    'b20KBwEAGGttcy5teWRldi5zdHJlYW13aWRlLmNvbRoAAAAbAAEGAQEQAgEEBAEMBQEABgEAEgEEEwEAFAEQFQECAREEfQkdJ4BY' +
    'O/O2WHY5cZ8HZMAMm5n9MLxgvJCOAv+759hNMLBMPPvnEjivXxmb661AVDQ1haLXdN52IbHmBgLJTYeyPQX8CVon6WVshkoTQCMW' +
    'MRND0jdyGFRlw24VGkYfL2Z+JBvta/dAy4+GZYxTsqXzF7KOqH4f2P/aY5eVHAEvwF2zwUXUB0nOIs8Jtq/7dT+hwB5/mvoQiK+u' +
    'iFkdwEvltVw6ZCzpWiqO+ly/ulyhYXubtqqFOvKMWLe/dqdaEsOMmsP4ZFTsYYOCU5B9IbrQ02IZDNJlNasQNe/m5MrC5+WcZkTw' +
    '54G/ViwtQlxhuoi/E8J6XL0bY4n44uXDvmRNXMkLCsMC1y/iJVKWo9EEBwBEQwAAAAABAAAAAAABb37iYqxNp/XQanLehoFqvi3d' +
    'W/AAACG8cPNwhkxPqPeos5kqzBfSM1U4vqkNYBaZK2uYKuhgCPAggdf8YqSPHsId0HAlWI2c3FevHT8Yd84XlCTMbp/Y8UE/qNnq' +
    'yYDSyrpmrkj9okfl3jPsNoqzh8uddNZSTDzr5UAEJs2LCjOvmzge5T68aEGu1cHJj7DSvrnH/5jXx5gI0fVmZZ9rc1AWGS3ZmE31' +
    'blTz+Vx2rEY4wfPTIo88dSyMyA==',
  pck:
    'ARoFARaZJjgAAQsA7ImNqAAAAAAOEAKii92vmExeBWO8HOhX34MOCAEAILXEUjCSGdpqPYBWFVSNbBsPTeRaa0j7E9miTYV/wD3E' +
    'DgkBACB4CFHNqRqcM/lBzTooMWl+KJMmR1TjY/igzvgn6yAagQ4GAQAYa21zLm15ZGV2LnN0cmVhbXdpZGUuY29tCgcBABhrbXMu' +
    'bXlkZXYuc3RyZWFtd2lkZS5jb20aAAAAGwABBgEBEAIBBAQBDAUBAAYBABIBBBMBABQBEBUBAgERBF0yVtvyB49KhE+ao3Hj8W+g' +
    'NROh57Tk5/9BWa2jNv1YLxYpBxV7206wlv/WHWlzz+NgptVcWgECwaekKAGURuP4TA+dRQpkGvqW8wImX2EF8Zjy+a1pOZMZ3YFA' +
    'YRiYEAAGmOByWKdDDOT0TfgL2pPFXS1CvZ/bZtQL03Q8fL/JInBbnv4dSYiJ9/fkeeqg37yIRsjA3Xfds7k/2o4f0s4NisOs74F2' +
    'xjE12l3/764H+g1y2rAMAWkjaJbS9jbVfZNGDauoRhq8zuXEXH1c5ftqs4VEPeOPmWjAkW1rQe8KxkZbmtrygtNpBIXVeZZEyorz' +
    'D+MyQ2zL9xoGVs8cToze4NOxYt19SOInSpGO5Q0vBAcAREMAAAAAAQAAAAAAAfb0FW9YVClhy8qPsQ5m8WcWmSY4AAAhpTVAAi78' +
    'zLNoUFiVPGjByx4N9U9gccPiQl1eiCiFLm8BIIFAPW9oE9lYM5oS5nQS9bWbJzGv+vWNAh2uUWmyG/OTGMeFzAD0JFMB6zcf7ck7' +
    'GFns2OEPIGGx+7046le+CihyBCbNiwozr5s4HuU+vGhBrtXByY+w0r65x/+Y18eYCNH1ZmWfa3NQFhkt2ZhN9W5U8/lcdqxGOMHz' +
    '0yKPPHUsjMg=',
  legacy:
    'ARoFAQSCCacCAADK/rq+AAAAAAAAAAAAAAAAAAsA7ImNqAAAAAAOEM3U5xrZLMCQ86E8tmouyxgOCAEAIBWk1bEoVlONAtkf7bt2' +
    'bm3Td7AUyS4hZmbI+2eGCNIODgkBACDts81zMWioEQbjZsLdwOS8Mj6QadSO3+KzsPcDO66WKg4GAQAYa21zLm15ZGV2LnN0cmVh' +
    'bXdpZGUuY29tCgcBABhrbXMubXlkZXYuc3RyZWFtd2lkZS5jb20aAAAAGwABBgEBEAIBBAQBDAUBAAYBABIBBBMBABQBEBUBAgER' +
    'BF6WXZDP1xXQb6fqRvMIIWmyvxj3mWH7CM+1KiNnW67b1ZyKQfnNTTVd6qOmDw5gOl2AJsvvVT2hRmzZENyjyVRp0njGf1jT7kNE' +
    'lNm604PwuYPUrRZfEJkx8S+RlZ4Yzi3e5rQiT51qw2fs6B9Eeikz8G0ERl2OL9hK9Fuhei4VePlS0iDpxuDnUmHik4nTc8F+7Apx' +
    'agH0YP/6V3EgnLMoBnjW6qBK2F+2BTXNY8uZ3FBmk71ta8O2vg32fhQZpRqv5XE9tMkG0Xdkrk2IwX234rVLlgGudn7kNuQUS2zb' +
    'sh6FdUYXCEY8zzMIZMCAbEjHkm1CIMlJ+Qj2sTkW8YO4HjdsRwl5Ja6hNciqF54XBAcAEQEAAAABAAAAAAAAAAAAAAAAIIH/fqEk' +
    't5+oaoFcfKQ58KNfBa9wOmqCE6kGkoPOHu3amjBGJiTGbSZLzi5SElAtgAIY1zsJxcUoLV+65v9s8THsBGiiTUmxhNcAjSL2OkFd' +
    '69OL+pKV8Gb6atpZUcIyLS7KHW8dmU8icQ2u93bZxU2aM48yOVCA1vK9/7bHiV8SzaI=',
};


const VKMS: McxKms = { uri: 'kms.mydev.streamwide.com', zS: KMS_Z, kpak: KMS_KPAK, keyPeriod: 16777215, keyPeriodOffset: 0 };
/** T of all four messages: ec898da800000000 (2025-10-02T23:47:52Z), key period 236. */
const VT = ntpToMs(hex('ec898da800000000'));
type VUser = (typeof USERS)[keyof typeof USERS];
const vUser = (u: VUser, extra: Partial<McxOptions> = {}) => new McxKeyManagement({
  uri: u.uri, kms: VKMS, clock: clockAt(VT + 1500),
  keySets: [{ keyPeriodNo: 236, uid: hex(u.uid), rsk: hex(u.rsk), ssk: hex(u.ssk), pvt: hex(u.pvt) }], ...extra,
});

test('MIKEY-SAKKE UID (TS 33.180 F.2.1): the five vectors', () => {
  const cases: Array<[number, number, number, string]> = [
    [2592000, 0, 1, '74e2af803ab5d72841bbced0ce319ffe64f6fe23c88a2d258aabcf6ac5658ef4'],
    [10, 0, 10, '94fb1a697c15d7e9d6b7062066affebda2d9e346e0090d67525c0c3ce666eafa'],
    [25920000, 100, 1, '3c0ad8828cfae1ad1d08b27cc7b61258c6cfcd405081b68cd778f1e1c7f562a7'],
    [25920000, 100, 2048, 'c88b3fa5e36a08985d10f7b31a631b0265e8249f0312435e4984dbc3765c7f0c'],
    [25920000, 45920000, 20393844, '8dc05540167345538475101514f4eabd384abd6ba665782abb312ecaf05934e1'],
  ];
  for (const [keyPeriod, keyPeriodOffset, keyPeriodNo, uid] of cases) {
    assert.equal(toHex(mikeySakkeUid({ uri: 'sip:user@example.org', kmsUri: 'kms.example.org', keyPeriod, keyPeriodOffset, keyPeriodNo })), uid);
  }
});

test('the KMS key sets of the vectors: UserID = UID(UserUri, KMS, period 236), the period of T', () => {
  assert.equal(keyPeriodNumber(VT, VKMS.keyPeriod, VKMS.keyPeriodOffset), 236);
  assert.ok(keyPeriodStart(236, VKMS.keyPeriod, 0) <= VT && VT < keyPeriodStart(237, VKMS.keyPeriod, 0));
  for (const u of Object.values(USERS)) assert.equal(toHex(uidFor(u.uri, VKMS, 236)), u.uid, u.uri);
});

function checkSession(r: McxReceived, i: number, csId: number, mki: string | undefined, csbId: number) {
  const s = r.bundle.sessions[i]!;
  assert.equal(s.csId, csId);
  const k = s.keys[0]!;
  assert.equal(toHex(k.masterKey), refPrf(r.key, 0x2ad01c64, csId, csbId, r.rand, 16), 'master key');
  assert.equal(toHex(k.masterSalt), refPrf(r.key, 0x39a2c14b, csId, csbId, r.rand, 12), 'master salt');
  assert.equal(k.mki && toHex(k.mki), mki);
}

test('vector GMK (GMS -> Alice): signature, SAKKE, GUK-ID as CSB ID, GMK-ID, key parameters, group SRTP keys', async () => {
  const r = await vUser(USERS.alice).receive(b64(MESSAGES.gmk), { initiator: USERS.gms.uri });
  assert.equal(r.purposeName, 'GMK');
  assert.equal(toHex(r.key), '07d1a1677ac36d8e81620484689b3c2d');
  assert.equal(r.keyId, 0x0df9bc39);
  assert.equal(r.gukId, 0x06a12aea);
  assert.equal(r.csbId, gukId(0x0df9bc39, r.key, USERS.alice.uri));
  assert.equal(toHex(r.rand), 'ca2f5d51ff0866362c1d85a56f84651e');
  assert.deepEqual({ uid: toHex(r.initiator.uid), kms: r.initiator.kmsUri, uri: r.initiator.uri }, { uid: USERS.gms.uid, kms: VKMS.uri, uri: USERS.gms.uri });
  assert.equal(r.signatureCoverage, 'rfc');
  assert.deepEqual(r.lenient, []);
  assert.equal(r.keyPeriodNo, 236);
  assert.equal(r.toSelf, false);
  assert.deepEqual(r.keyParameters, { keyType: KeyPurpose.GMK, status: 1, activationTime: 0, expiryTime: 0, text: '', groupIds: [], format: 'protected' });
  // GENERIC-ID: CS ID 4, SPI = GMK-ID || GUK-ID; SP: AES-GCM with RCCm3 (the E.2-1 values)
  assert.equal(r.bundle.sessions.length, 1);
  checkSession(r, 0, McxCsId.McpttGroup, '0df9bc3906a12aea', 0x06a12aea);
  const pol = r.bundle.sessions[0]!.policy;
  assert.deepEqual([pol.encrAlg, pol.encrKeyLength, pol.saltKeyLength, pol.authTagLength, pol.rcc?.mode, pol.rcc?.srtpTagLength], [6, 16, 12, 16, 4, 4]);
  // media from another member: its own GUK-ID as CSB ID
  const gms = r.group!.senderKey(gukId(0x0df9bc39, r.key, USERS.bob.uri));
  assert.equal(toHex(gms.mki!), `0df9bc39${gukId(0x0df9bc39, r.key, USERS.bob.uri).toString(16).padStart(8, '0')}`);
  assert.deepEqual(r.group!.senderKeyForMki(r.bundle.sessions[0]!.keys[0]!.mki!), r.bundle.sessions[0]!.keys[0]);
});

test('vector CSK (Alice -> GMS): CSK-ID as CSB ID, CS ID 6', async () => {
  const r = await vUser(USERS.gms).receive(b64(MESSAGES.csk));
  assert.equal(r.purposeName, 'CSK');
  assert.equal(toHex(r.key), 'e06e65106183547342d3e8a6ce2540a8');
  assert.equal(r.keyId, 0x2ddd5bf0);
  assert.equal(keyPurposeOf(r.keyId), KeyPurpose.CSK);
  assert.equal(toHex(r.rand), '4d13c41798b82de13b701a9697328edd');
  assert.equal(toHex(r.initiator.uid), USERS.alice.uid);
  assert.equal(r.initiator.uri, undefined, 'a UID alone does not name the user');
  assert.deepEqual(r.keyParameters, { keyType: KeyPurpose.CSK, status: 1, activationTime: 0, expiryTime: 0, text: '', format: 'protected' });
  checkSession(r, 0, McxCsId.CskMcptt, '2ddd5bf0', 0x2ddd5bf0);
});

test('vector PCK (Alice -> Bob): an SP beside the Empty map is refused, accepted when asked, and reported', async () => {
  await rejects(vUser(USERS.bob).receive(b64(MESSAGES.pck)), ErrorNo.InvalidSp);
  const r = await vUser(USERS.bob, { lenience: { spWithEmptyMap: true } }).receive(b64(MESSAGES.pck), { initiator: USERS.alice.uri });
  assert.deepEqual(r.lenient, ['sp-with-empty-map']);
  assert.equal(r.purposeName, 'PCK');
  assert.equal(toHex(r.key), 'b4c96b703acd5c1bf7d4cc45068d9965');
  assert.equal(r.keyId, 0x16992638);
  assert.equal(toHex(r.rand), '02a28bddaf984c5e0563bc1ce857df83');
  assert.equal(r.initiator.uri, USERS.alice.uri);
  assert.equal(r.keyParameters?.keyType, KeyPurpose.PCK);
  // Empty map: both directions of the private call (CS 0 initiator, CS 1 receiver), MKI = PCK-ID
  assert.equal(r.bundle.sessions.length, 2);
  checkSession(r, 0, McxCsId.McpttPrivateInitiator, '16992638', 0x16992638);
  checkSession(r, 1, McxCsId.McpttPrivateReceiver, '16992638', 0x16992638);
  assert.equal(r.bundle.sessions[0]!.policy.rcc?.mode, 4, 'the policy sent, not the E.3-1 default');
});

test('vector legacy GMK (GMS -> IWF): SRTP-ID map, unprotected key parameters', async () => {
  const r = await vUser(USERS.iwf).receive(b64(MESSAGES.legacy));
  assert.equal(toHex(r.key), '07d1a1677ac36d8e81620484689b3c2d');
  assert.equal(r.keyId, 0x0df9bc39);
  assert.equal(r.gukId, 0x048209a7);
  assert.equal(toHex(r.rand), 'cdd4e71ad92cc090f3a13cb66a2ecb18');
  assert.equal(r.keyParameters?.format, 'plain');
  assert.equal(r.keyParameters?.status, 1);
  assert.deepEqual(r.bundle.sessions.map((s) => [s.csId, s.ssrc]), [[1, 0xcafebabe], [2, 0]]);
  checkSession(r, 0, 1, undefined, 0x048209a7);
});

test('vector messages: another user\'s keys, a wrong claimed initiator, the wrong time: no key', async () => {
  await rejects(vUser(USERS.bob).receive(b64(MESSAGES.gmk)), ErrorNo.AuthFailure);
  await rejects(vUser(USERS.alice).receive(b64(MESSAGES.gmk), { initiator: 'sip:mallory@streamwide.com' }), ErrorNo.AuthFailure);
  const late = vUser(USERS.alice, { clock: clockAt(VT + 3_600_000) });
  const e = await rejects(late.receive(b64(MESSAGES.gmk)), ErrorNo.InvalidTs);
  const err = decodeMessage(e.response!);
  assert.equal(err.header.dataType, DataType.Error);
  assert.deepEqual(err.payloads.filter((p) => p.type === PayloadType.Err).map((p) => p.type === 12 && p.errorNo), [ErrorNo.InvalidTs]);
});

// ---- shared/rfc/third-party/mcx-key-derivation-vectors.md ---------------------------------

test('GUK-ID (TS 33.180 F.1.3): third-party vectors', () => {
  const gmk = hex('fcfe65cd967c58d260b603ccb9a887a9');
  for (const [uri, guk] of [['sip:p25user01@etherstack.com', 0x01c8de7b], ['sip:p25user02@etherstack.co.jp', 0x0abe69d0], ['sip:92100002447@att.com', 0x0c449727]] as const) {
    assert.equal(gukId(0x09bf9d37, gmk, uri), guk, uri);
    assert.equal(gmkIdOf(guk, gmk, uri), 0x09bf9d37);
  }
  assert.equal(gukId(0x03f3453d, hex('52079f77690731437e407a5b4845aab3'), 'sip:P25SU-00003002000531@server-dev43-ws.streamwideus.com'), 0x0e0e03f2);
  assert.equal(userSalt(gmk, 'sip:p25user01@etherstack.com'), (0x09bf9d37 ^ 0x01c8de7b) & 0x0fffffff);
});

test('group SRTP master keys and salts (TS 33.180 §7.4.2) and the SPK case: third-party vectors', () => {
  const gmk = hex('fcfe65cd967c58d260b603ccb9a887a9');
  const rand = hex('6819e679461120e10ac458cce67b8024');
  const group = new McxGroupKey(gmk, 0x09bf9d37, rand);
  const cases: Array<[string, string, string]> = [
    ['sip:p25user01@etherstack.com', '64837d2b4d69a266e4489d3807353ad9', '8b2f081ce8e8bdab1f8d9eb8'],
    ['sip:p25user02@etherstack.co.jp', 'de81b70c4ae0ff3f79364df586c2e0ce', '750ea7422b4d5a8ff475c6d5'],
    ['sip:92100002447@att.com', 'f097ac3325f1f784bc8ba4112c5e5f88', '97a154fb24efbfb353a265e2'],
  ];
  for (const [uri, key, salt] of cases) {
    const k = group.senderKey(group.gukIdOf(uri));
    assert.deepEqual([toHex(k.masterKey), toHex(k.masterSalt)], [key, salt], uri);
    assert.equal(toHex(k.mki!).slice(0, 8), '09bf9d37');
  }
  const spk = mcxSrtpMasterKey(hex('28ba74447f037dcc09ad7f2576dc2def'), McxCsId.CskMcptt, 0x1c5f7886, hex('30333032343661303730646133333265'));
  assert.deepEqual([toHex(spk.masterKey), toHex(spk.masterSalt)], ['185d08cb5a226d19d71679adf5e415be', 'd1d648b2a0040633a3dd72e5']);
  const tek = mcxSrtpMasterKey(hex('A27B7D578EEB9B1EE7705E385996D300'), 4, 0x0633f457, hex('4339F62F55AAC86348846A482C893802'));
  assert.equal(toHex(tek.masterKey) + toHex(tek.masterSalt), '59aaa49ebb54813602b7cc165961b4e8745eb4df7d155c473114a799');
});

// ---- round trips with keys from our own KMS functions -------------------------------------

const ekms = eccsiKmsSetup();
const skms = sakkeKmsSetup(sakkeParamSet1);
const KMS: McxKms = { uri: 'kms.example.org', zS: new SakkeKmsPublicKey(sakkeParamSet1, skms.zS), kpak: ekms.kpak, keyPeriod: 2592000, keyPeriodOffset: 0 };
const T0 = Date.UTC(2027, 0, 15, 12);
const P0 = keyPeriodNumber(T0, KMS.keyPeriod, KMS.keyPeriodOffset);
function issue(uri: string, keyPeriodNo: number): McxKeySet {
  const uid = uidFor(uri, KMS, keyPeriodNo);
  const e = eccsiMakeSskPvt(ekms, uid);
  return { keyPeriodNo, rsk: sakkeMakeRsk(sakkeParamSet1, skms.z, uid), ssk: e.ssk, pvt: e.pvt, hs: e.hs };
}
const GMS = 'sip:gms@example.org', ALICE = 'sip:alice@example.org', BOB = 'sip:bob@example.org', SERVER = 'sip:mcptt-server@example.org';
const keySets = new Map([GMS, ALICE, BOB, SERVER].map((u) => [u, [issue(u, P0), issue(u, P0 + 1)]]));
const node = (uri: string, extra: Partial<McxOptions> = {}) => new McxKeyManagement({ uri, kms: KMS, keySets: keySets.get(uri)!, clock: clockAt(T0), ...extra });
const alice = node(ALICE);
const bob = node(BOB);

test('GMK distribution: each member gets its GUK-ID as CSB ID; all derive the same media keys per sender', async () => {
  const gms = node(GMS);
  const d = gms.distributeGmk({ members: [ALICE, BOB], keyParameters: { text: 'fire crew 7', groupIds: [{ iei: 0x0f, value: new TextEncoder().encode('sip:crew7@example.org') }] } });
  assert.equal(keyPurposeOf(d.group.gmkId), KeyPurpose.GMK);
  const [ma, mb] = d.messages;
  const ra = await alice.receive(ma!.bytes, { initiator: GMS });
  const rb = await bob.receive(mb!.bytes, { initiator: GMS });
  for (const [m, r, uri] of [[ma!, ra, ALICE], [mb!, rb, BOB]] as const) {
    assert.equal(r.csbId, d.group.gukIdOf(uri));
    assert.equal(r.gukId, m.gukId);
    assert.equal(r.keyId, d.group.gmkId);
    assert.equal(keysOf(r.bundle), keysOf(m.bundle));
    assert.equal(r.initiator.uri, GMS);
    assert.equal(r.keyParameters?.text, 'fire crew 7');
    assert.equal(new TextDecoder().decode(r.keyParameters!.groupIds![0]!.value), 'sip:crew7@example.org');
    const msg = decodeMessage(m.bytes);
    assert.deepEqual(msg.payloads.map((p) => p.type), [5, 11, 14, 14, 14, 14, 26, 21, 4]);
    assert.equal(msg.header.prfFunc, 1);
    assert.equal(msg.header.csIdMap.type, 2);
  }
  // a member's own media key is what the others derive from its GUK-ID (found in the MKI)
  assert.equal(keysOf({ ...rb.bundle, sessions: [{ ...rb.bundle.sessions[0]!, keys: [ra.group!.senderKey(rb.gukId!)] }] }), keysOf(rb.bundle));
  assert.deepEqual(rb.group!.senderKeyForMki(ra.bundle.sessions[0]!.keys[0]!.mki!), ra.bundle.sessions[0]!.keys[0]);
  // no SP sent: the E.2-1 defaults
  assert.equal(ra.bundle.sessions[0]!.policy.rcc?.mode, 4);
  assert.deepEqual(ra.bundle.sessions[0]!.params.map((p) => p.type), GROUP_CALL_DEFAULT_POLICY.map((p) => p.type));
});

test('PCK with SAKKE-to-self: the callee derives both directions; the caller can read its own message back', async () => {
  const pck = alice.sendPck({ to: BOB, toSelf: true });
  assert.equal(keyPurposeOf(pck.keyId), KeyPurpose.PCK);
  assert.equal(pck.csbId, pck.keyId);
  const r = await bob.receive(pck.bytes, { initiator: ALICE });
  assert.equal(keysOf(r.bundle), keysOf(pck.bundle));
  assert.deepEqual(r.bundle.sessions.map((s) => [s.csId, s.profile]), [[0, 'AEAD_AES_128_GCM'], [1, 'AEAD_AES_128_GCM']], 'E.3-1 defaults');
  assert.equal(toHex(r.key), toHex(pck.key));
  const self = await node(ALICE).receive(pck.bytes);
  assert.equal(self.toSelf, true);
  assert.equal(keysOf(self.bundle), keysOf(pck.bundle));
  // without SAKKE-to-self the caller has no key of its own message
  const plain = alice.sendPck({ to: BOB });
  await rejects(node(ALICE).receive(plain.bytes), ErrorNo.AuthFailure);
});

test('CSK with an explicit SP, and with the Empty map (defaults): the server derives the same keys', async () => {
  const server = node(SERVER);
  const a = alice.sendCsk({ to: SERVER, params: GROUP_CALL_DEFAULT_POLICY });
  const ra = await server.receive(a.bytes);
  assert.equal(keysOf(ra.bundle), keysOf(a.bundle));
  assert.equal(decodeMessage(a.bytes).payloads.filter((p) => p.type === PayloadType.Sp).length, 1);
  assert.equal(ra.bundle.sessions[0]!.csId, McxCsId.CskMcptt);
  const b = alice.sendCsk({ to: SERVER, map: 'empty' });
  const rb = await server.receive(b.bytes);
  assert.equal(keysOf(rb.bundle), keysOf(b.bundle));
  assert.equal(decodeMessage(b.bytes).header.csIdMap.type, 1);
  assert.deepEqual(rb.bundle.sessions[0]!.params.map((p) => p.type), PRIVATE_CALL_DEFAULT_POLICY.map((p) => p.type));
  assert.deepEqual(rb.lenient, []);
  assert.throws(() => alice.sendCsk({ to: SERVER, map: 'empty', params: GROUP_CALL_DEFAULT_POLICY }), /RFC 4563/);
});

test('UIDs in ID roles 8/9 (as deployed): the receiver takes the key set the UID names', async () => {
  const sender = node(ALICE, { identities: 'uid' });
  const m = sender.sendPck({ to: BOB });
  const idrs = decodeMessage(m.bytes).payloads.filter((p): p is Extract<Payload, { type: 14 }> => p.type === 14);
  assert.deepEqual(idrs.map((p) => p.role), [UID_ROLE_INITIATOR, UID_ROLE_RESPONDER, IdRole.IDRkmsi, IdRole.IDRkmsr]);
  assert.equal(toHex(idrs[1]!.data), toHex(uidFor(BOB, KMS, P0)));
  const r = await bob.receive(m.bytes, { initiator: ALICE });
  assert.equal(r.keyPeriodNo, P0);
  assert.equal(r.initiator.uri, ALICE);
  assert.equal(keysOf(r.bundle), keysOf(m.bundle));
});

test('clocks and key periods that disagree: the neighbours of T\'s period are tried', async () => {
  const boundary = keyPeriodStart(P0 + 1, KMS.keyPeriod, KMS.keyPeriodOffset);
  // a deployed sender whose clock is past the boundary but which still uses the old period's
  // UIDs (its own and ours): T says P0 + 1, the keys are P0's
  const t = boundary + 60_000;
  const a = keySets.get(ALICE)![0]!;
  const { bytes, ssv } = buildSakkeIMessage({
    csbId: 0x1abcdef0, csIdMap: { type: 1, csCount: 0 }, prf: 'PRF-HMAC-SHA-256', t: { type: 5, tsType: 0, value: ntpTimestamp(t) },
    rand: new Uint8Array(16).fill(9), idrs: [idrPayload(IdRole.IDRi, ALICE), idrPayload(IdRole.IDRr, BOB), idrPayload(IdRole.IDRkmsi, KMS.uri), idrPayload(IdRole.IDRkmsr, KMS.uri)],
    sps: [], recipient: { id: uidFor(BOB, KMS, P0), zS: KMS.zS }, idScheme: 2,
    signer: { id: uidFor(ALICE, KMS, P0), ssk: a.ssk, pvt: a.pvt, kpak: KMS.kpak }, random: (n) => new Uint8Array(randomBytes(n)),
  });
  const r = await node(BOB, { clock: clockAt(t) }).receive(bytes, { initiator: ALICE });
  assert.equal(r.keyPeriodNo, P0, 'T says P0 + 1; the previous period\'s key opened it');
  assert.equal(toHex(r.initiator.uid), toHex(uidFor(ALICE, KMS, P0)));
  assert.equal(toHex(r.key), toHex(ssv));
  // a clock ahead across the boundary: T in P0 + 1 with keys of P0 + 1, read by a clock still in P0
  const early = node(ALICE, { clock: clockAt(boundary + 1000) }).sendPck({ to: BOB });
  assert.equal((await node(BOB, { clock: clockAt(boundary - 60_000) }).receive(early.bytes)).keyPeriodNo, P0 + 1);
});

test('tampering anywhere: never a key; Auth failure for every bit of identity, RAND, SAKKE, extension and signature data', async () => {
  const m = alice.sendPck({ to: BOB, toSelf: true, params: PRIVATE_CALL_DEFAULT_POLICY });
  const msg = decodeMessage(m.bytes);
  const data: Array<[number, number]> = [];
  for (const p of msg.payloads) {
    const { start, end } = p.span!;
    if (p.type === 14) data.push([start + 5, end]);
    if (p.type === 11) data.push([start + 2, end]);
    if (p.type === 26) data.push([start + 5, end]);
    // a SAKKE-to-self extension holds a SAKKE payload whose header the codec reads
    if (p.type === 21) data.push([start + 4 + (p.extType === 6 ? 5 : 0), end]);
    if (p.type === 4) data.push([start + 2, end]);
  }
  const receiver = node(BOB);
  let auth = 0;
  for (let at = 0; at < m.bytes.length; at++) {
    const b = Uint8Array.from(m.bytes);
    b[at]! ^= 1 << (at % 8);
    let err: unknown;
    try {
      await receiver.receive(b);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof MikeyProtocolError, `byte ${at} flipped: ${String(err ?? 'accepted')}`);
    if (data.some(([s, e]) => at >= s && at < e)) assert.equal(err.errorNo, ErrorNo.AuthFailure, `byte ${at}: ${err.message}`);
    if (err.errorNo === ErrorNo.AuthFailure) auth++;
  }
  assert.ok(auth > 0.9 * m.bytes.length, `${auth} of ${m.bytes.length} flips are Auth failures`);
  // the original still goes through (nothing was remembered from the forgeries)
  assert.equal(keysOf((await receiver.receive(m.bytes)).bundle), keysOf(m.bundle));
});

test('signature over the message without the SIGN header: refused, or accepted when asked and reported', async () => {
  const m = alice.sendPck({ to: BOB, signatureCoverage: 'excluding-sign-header' });
  await rejects(node(BOB).receive(m.bytes), ErrorNo.AuthFailure);
  const r = await node(BOB, { lenience: { signatureWithoutSignHeader: true } }).receive(m.bytes);
  assert.equal(r.signatureCoverage, 'excluding-sign-header');
  assert.deepEqual(r.lenient, ['signature-without-sign-header']);
  assert.equal(keysOf(r.bundle), keysOf(m.bundle));
  // the lenient receiver still prefers, and reports, the RFC coverage
  const ok = await node(BOB, { lenience: { signatureWithoutSignHeader: true } }).receive(alice.sendPck({ to: BOB }).bytes);
  assert.equal(ok.signatureCoverage, 'rfc');
});

test('replays, stale timestamps, another PRF: Invalid TS / Invalid PRF with an Error message', async () => {
  const receiver = node(BOB);
  const m = alice.sendPck({ to: BOB });
  await receiver.receive(m.bytes);
  const e = await rejects(receiver.receive(m.bytes), ErrorNo.InvalidTs);
  assert.match(e.message, /replayed/);
  assert.equal(decodeMessage(e.response!).header.dataType, DataType.Error);
  await rejects(node(BOB, { clock: clockAt(T0 + 600_000) }).receive(alice.sendPck({ to: BOB }).bytes), ErrorNo.InvalidTs);
  const other = Uint8Array.from(alice.sendPck({ to: BOB }).bytes);
  other[3] = 0; // PRF MIKEY-1
  await rejects(node(BOB).receive(other), ErrorNo.InvalidPrf);
});

test('key IDs carry their purpose tag; the GUK-ID keeps the GMK\'s', () => {
  let i = 0;
  const random = (n: number) => new Uint8Array(n).fill(0xff - i++);
  for (const purpose of Object.values(KeyPurpose)) {
    const id = newKeyId(purpose, random);
    assert.equal(keyPurposeOf(id), purpose);
  }
  const gmkId = newKeyId(KeyPurpose.GMK, random);
  assert.equal(keyPurposeOf(gukId(gmkId, hex('00112233445566778899aabbccddeeff'), ALICE)), KeyPurpose.GMK);
});

test('key parameters (E.6): protected payload round trip; another key, another DPPK-ID or a flipped bit is an Auth failure', () => {
  const k = { keyType: KeyPurpose.GMK, status: 3, activationTime: 0x0102030405, expiryTime: 2 ** 40 - 1, text: 'crew', groupIds: [{ iei: 1, value: hex('aabb') }, { iei: 2, value: new Uint8Array(0) }] };
  assert.deepEqual(decodeKeyParameters(encodeKeyParameters(k)), k);
  const key = hex('000102030405060708090a0b0c0d0e0f');
  const data = protectKeyParameters(k, { dppk: key, dppkId: 0x01234567, iv: new Uint8Array(16).fill(7), dateTime: 5 });
  assert.deepEqual(openKeyParameters(data, key, 0x01234567), { ...k, format: 'protected' });
  assert.throws(() => openKeyParameters(data, hex('ff0102030405060708090a0b0c0d0e0f'), 0x01234567), (e: unknown) => e instanceof MikeyProtocolError && e.errorNo === ErrorNo.AuthFailure);
  assert.throws(() => openKeyParameters(data, key, 0x01234568), (e: unknown) => e instanceof MikeyProtocolError && e.errorNo === ErrorNo.AuthFailure);
  for (const at of [1, 12, 40, data.length - 1]) {
    const b = Uint8Array.from(data);
    b[at]! ^= 0x10;
    assert.throws(() => openKeyParameters(b, key, 0x01234567), (e: unknown) => e instanceof MikeyProtocolError && e.errorNo === ErrorNo.AuthFailure, `byte ${at}`);
  }
});

test('the demo: a PCK over a UDP socket pair on 127.0.0.1, both ends with the same SRTP keys', async () => {
  const r = await sakkeDemo();
  assert.equal(r.messages, 1);
  assert.equal(r.bytes > 500, true);
  assert.match(r.method, /SAKKE/);
  assert.equal(keysOf(r.a), keysOf(r.b));
  assert.equal(r.a.sessions.length, 2);
});

test('ECCSI malleability through the MCX profile: a PCK replayed with s -> q-s still verifies, and is refused as a replay', async () => {
  const q = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n; // P-256 order (RFC 6507 §5.1)
  const pck = alice.sendPck({ to: BOB });
  const receiver = node(BOB);
  const first = await receiver.receive(pck.bytes, { initiator: ALICE });
  // SIGN payload last: ECCSI signature = r (32) || s (32) || PVT (65) (RFC 6507 §3.3)
  const copy = Uint8Array.from(pck.bytes);
  const sig = copy.subarray(copy.length - 129);
  const s = BigInt('0x' + toHex(sig.subarray(32, 64)));
  sig.set(hex((q - s).toString(16).padStart(64, '0')), 32);
  assert.notEqual(toHex(copy), toHex(pck.bytes));
  // a receiver that has not seen the original takes the altered copy: (r, q-s) verifies ...
  const fresh = await node(BOB).receive(copy, { initiator: ALICE });
  assert.equal(keysOf(fresh.bundle), keysOf(first.bundle));
  // ... so only the replay key stops it at the receiver that has
  await rejects(receiver.receive(copy, { initiator: ALICE }), ErrorNo.InvalidTs);
  await rejects(receiver.receive(pck.bytes, { initiator: ALICE }), ErrorNo.InvalidTs);
});
