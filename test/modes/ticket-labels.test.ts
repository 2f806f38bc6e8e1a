// RFC 6043 §5.1 label layouts byte for byte, the TP flag dependencies of §6.10, and the base
// ticket's MAC coverage (App. A.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forkLabel, initiatorDataLabel, messageKeyLabel, mpkLabel, tgkLabel, tpkLabel, LabelForm, deriveMpks, forkKey, ticketTek } from '../../src/modes/ticket/labels.js';
import { checkFlags, completeFlags, flagViolation, readPolicy, tpPayload } from '../../src/modes/ticket/policy.js';
import { buildBaseTicket, openBaseTicket, ticketLayout } from '../../src/modes/ticket/base-ticket.js';
import { mikeyPrf, PrfConstant } from '../../src/crypto/prf.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { encodeMessage } from '../../src/wire/encode.js';
import { identity } from '../../src/kms/memory.js';
import { MikeyProtocolError } from '../../src/session/errors.js';
import type { TicketFlags } from '../../src/wire/types.js';

const h = (b: Uint8Array) => Buffer.from(b).toString('hex');
const r = (n: number, v: number) => new Uint8Array(n).fill(v);

test('§5.1.2 message-key labels: constant || 0xFF || CSB ID || 0x01/0x02 || len RANDRi || RANDRi || len RANDRr || RANDRr', () => {
  assert.equal(h(messageKeyLabel(0x150533e1, 0x01020304, LabelForm.Initial, r(2, 0xaa))), '150533e1' + 'ff' + '01020304' + '01' + '02aaaa' + '00');
  assert.equal(h(messageKeyLabel(0x2d22ac75, 0xdeadbeef, LabelForm.Response, r(1, 0xaa), r(3, 0xbb))), '2d22ac75ffdeadbeef02' + '01aa' + '03bbbbbb');
  assert.equal(h(messageKeyLabel(0x29b88916, 0, LabelForm.Response, undefined, r(1, 0xcc))), '29b88916ff0000000002' + '00' + '01cc', 'RANDRi absent: length 0');
});

test('§5.1.3 TGK label: constant || CS ID || 0xFFFFFFFF || 0x03 || RANDs', () => {
  assert.equal(h(tgkLabel(PrfConstant.Tek, 7, r(1, 1), undefined)), '2ad01c64' + '07' + 'ffffffff' + '03' + '0101' + '00');
});

test('§5.1.1 fork label: constant || 0xFF || 0xFFFFFFFF || 0x00 || len ID Data (16 bits) || ID Data || len RANDRkms (8 bits) || RANDRkms', () => {
  assert.equal(h(forkLabel(PrfConstant.ForkMpkr, new TextEncoder().encode('ab'), r(2, 0xee))), '2b288856ffffffffff00' + '0002' + '6162' + '02eeee');
  const tgk = r(16, 3);
  const f = forkKey('MIKEY-1', 'TGK', tgk, new TextEncoder().encode('ab'), r(2, 0xee));
  assert.equal(f.length, 16, 'outkey_len = inkey_len');
  assert.equal(h(f), h(mikeyPrf('MIKEY-1', tgk, forkLabel(0x1512b54a, new TextEncoder().encode('ab'), r(2, 0xee)), 128)));
});

test('§6.10 Vr label and App. A.2 TPK/MPK labels', () => {
  assert.equal(h(initiatorDataLabel(PrfConstant.MsgAuthKey)), '2d22ac75ffffffffff04');
  assert.equal(h(tpkLabel(PrfConstant.MsgEncrKey, r(2, 9))), '150533e1ffffffffff05' + '020909');
  assert.equal(h(mpkLabel(PrfConstant.TicketMpki, r(1, 9))), '220e99a2ffffffffff06' + '0109');
  const { mpki, mpkr } = deriveMpks('PRF-HMAC-SHA-256', r(32, 1), r(32, 2));
  assert.equal(mpki.length, 32);
  assert.notEqual(h(mpki), h(mpkr));
  assert.equal(h(mpkr), h(mikeyPrf('PRF-HMAC-SHA-256', r(32, 1), mpkLabel(0x1f4d675b, r(32, 2)), 256)));
  assert.equal(h(ticketTek('MIKEY-1', r(16, 1), 1, r(16, 2), undefined, 16)), h(mikeyPrf('MIKEY-1', r(16, 1), tgkLabel(0x2ad01c64, 1, r(16, 2)), 128)));
});

test('§6.10 flag dependencies: each rule refused on its own', () => {
  const ok = completeFlags();
  assert.equal(flagViolation(ok), undefined);
  const cases: Array<[Partial<TicketFlags>, RegExp]> = [
    [{ D: false, L: false }, /NOT D requires L/],
    [{ G: true, F: false, M: false }, /G requires F/],
    [{ G: false, H: false }, /NOT G requires H/],
    [{ I: true, E: false }, /I requires E/],
    [{ K: true, D: false, L: true }, /K requires D/],
    [{ M: true, F: false, G: false }, /M requires F/],
  ];
  for (const [f, re] of cases) assert.match(flagViolation({ ...ok, ...f }) ?? '', re, JSON.stringify(f));
  assert.match(flagViolation({ ...ok, I: true, F: false, G: false }, true) ?? '', /I with a TGK/);
  assert.equal(flagViolation({ ...ok, I: true, F: false, G: false }, false), undefined, 'I without a TGK may go without F');
  // completing fills the dependencies in their direction
  const c = completeFlags({ I: true, E: false, G: false, H: false, D: false });
  assert.deepEqual([c.E, c.H, c.L, c.F], [true, true, true, true]);
  assert.throws(() => checkFlags({ ...ok, G: true, F: false }), (e: unknown) => e instanceof MikeyProtocolError && e.errorNo === 15);
});

test('TP payload round trip: TRs, TRe, TRr (NTP-UTC-32), requested keys, IDRapp, IDRr', () => {
  const from = Date.UTC(2027, 0, 1);
  const tp = tpPayload({
    responders: [identity('sip:bob@example.org'), identity('sip:carol@example.org')], apps: [identity('app:1')], validFrom: from, validTo: from + 3600_000,
    rekeyIntervalSec: 300, keys: [{ kind: 'TGK', length: 32 }, { kind: 'TEK', length: 16, saltLength: 14 }], kms: identity('sip:kms@example.org'),
  });
  const bytes = encodeMessage({ header: { version: 1, dataType: 11, v: true, prfFunc: 0, csbId: 1, csIdMap: { type: 1, csCount: 0 } }, payloads: [{ type: 5, tsType: 0, value: new Uint8Array(8) }, tp] });
  const back = decodeMessage(bytes).payloads[1]!;
  assert.ok(back.type === 16);
  const p = readPolicy(back);
  assert.deepEqual([p.validFrom, p.validTo, p.rekeyIntervalSec, p.responders.length, p.apps.length], [from, from + 3600_000, 300, 2, 1]);
  assert.deepEqual(p.keys.map((k) => [k.kind, k.length, k.saltLength]), [['TGK', 32, undefined], ['TEK', 16, 14]]);
});

test('App. A.1 base ticket: the MAC excludes the Next Payload byte and the Initiator Data; anything else changed breaks it', () => {
  const tpk = r(32, 5);
  const t = { type: 5 as const, tsType: 0, value: r(8, 1) };
  const ticket = buildBaseTicket({ policy: { responders: [identity('sip:bob@example.org')] }, tpk, tpkId: r(8, 1), thdr: r(16, 2), t, rand: r(32, 3), mpk: r(16, 4), keys: [{ type: 20, keyType: 0, keyData: r(16, 6), validity: { kv: 1, spi: r(4, 7) } }] });
  const carry = (initiatorData: typeof ticket.initiatorData, first = true) => encodeMessage({
    header: { version: 1, dataType: 16, v: true, prfFunc: 0, csbId: 1, csIdMap: { type: 1, csCount: 0 } },
    payloads: first ? [t, { ...ticket, initiatorData }] : [t, { ...ticket, initiatorData }, { type: 11, rand: r(16, 1) }],
  });
  for (const b of [carry({ payloads: [] }), carry({ payloads: [{ type: 9, authAlg: 1, mac: r(20, 9) }] }, false)]) {
    const m = decodeMessage(b);
    const tk = m.payloads[1]!;
    assert.ok(tk.type === 17);
    const opened = openBaseTicket(tk, m.bytes, tpk, 'MIKEY-1');
    assert.equal(h(opened.mpk), h(r(16, 4)));
    assert.equal(h(opened.keys[0]!.keyData), h(r(16, 6)));
    const lay = ticketLayout(tk, tk.span!);
    for (const at of [lay.start + 2, lay.tpDataStart + 1, lay.tdStart + 4, lay.tdEnd - 21, lay.tdEnd - 1]) {
      const c = Uint8Array.from(m.bytes);
      c[at]! ^= 0x80;
      let code: number | undefined;
      try {
        const mm = decodeMessage(c);
        openBaseTicket(mm.payloads[1] as never, mm.bytes, tpk, 'MIKEY-1');
      } catch (e) {
        code = e instanceof MikeyProtocolError ? e.errorNo : (e as { errorNo?: number }).errorNo;
      }
      assert.ok(code === 14 || code === 15 || code === 13, `byte ${at - lay.start}: ${code}`);
    }
  }
  const m = decodeMessage(carry({ payloads: [] }));
  assert.throws(() => openBaseTicket(m.payloads[1] as never, m.bytes, r(32, 6), 'MIKEY-1'), (e: unknown) => e instanceof MikeyProtocolError && e.errorNo === 14, 'another TPK');
});
