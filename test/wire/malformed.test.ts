import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, MikeyDecodeError, policyParams } from '../../src/wire/index.js';
import { ErrorNo } from '../../src/wire/registry.js';
import type { Payload, Message } from '../../src/wire/types.js';
import { CORPUS } from './corpus.js';

const SAMPLES = CORPUS.map((s) => ({ name: s.name, bytes: encodeMessage(s.message) }));

function decodeError(bytes: Uint8Array): MikeyDecodeError {
  try {
    decodeMessage(bytes);
  } catch (e) {
    assert.ok(e instanceof MikeyDecodeError, `expected MikeyDecodeError, got ${(e as Error)?.stack}`);
    return e;
  }
  assert.fail('decoded without error');
}

/** Decoding either fails with MikeyDecodeError or yields a message that re-encodes to the same bytes. */
function consistent(bytes: Uint8Array): 'error' | 'ok' {
  let m: Message;
  try {
    m = decodeMessage(bytes);
  } catch (e) {
    assert.ok(e instanceof MikeyDecodeError, `unexpected ${(e as Error)?.stack}`);
    return 'error';
  }
  assert.deepEqual(encodeMessage(m), bytes, 'an accepted message must re-encode to its own bytes');
  return 'ok';
}

interface LengthField { at: number; width: 1 | 2; mask: number; what: string }

/** Offsets of every length/count field of a decoded message, found from its spans. */
function lengthFields(m: Message, bytes: Uint8Array): LengthField[] {
  const out: LengthField[] = m.header.csIdMap.type === 1 ? [] : [{ at: 8, width: 1, mask: 0xff, what: '#CS' }];
  const u16 = (o: number) => (bytes[o]! << 8) | bytes[o + 1]!;
  if (m.header.csIdMap.type === 2) {
    let o = 10;
    for (const e of m.header.csIdMap.entries) {
      out.push({ at: o + 2, width: 1, mask: 0x7f, what: '#P' });
      o += 3 + e.policies.length;
      out.push({ at: o, width: 2, mask: 0xffff, what: 'Session data length' });
      o += 2 + u16(o);
      out.push({ at: o, width: 1, mask: 0xff, what: 'SPI length' });
      o += 1 + e.spi.length;
    }
  }
  const visit = (ps: Payload[]) => {
    for (const p of ps) {
      const s = p.span!.start;
      const add = (rel: number, width: 1 | 2, what: string, mask = width === 1 ? 0xff : 0xffff) => out.push({ at: s + rel, width, mask, what: `${what} of payload ${p.type}@${s}` });
      const kv = (after: number, v: { kv: number }) => {
        if (v.kv === 1) add(after, 1, 'SPI length');
        if (v.kv === 2) add(after, 1, 'VF length');
      };
      switch (p.type) {
        case 1: add(2, 2, 'Encr data len'); if (p.plaintext) visit(p.plaintext); break;
        case 2: add(1, 2, 'PKE data len', 0x3fff); break;
        case 4: add(0, 2, 'Signature len', 0x0fff); break;
        case 6: case 7: add(2, 2, 'ID len'); break;
        case 10: {
          add(3, 2, 'Policy param length');
          let o = 5;
          for (const q of policyParams(p)) { add(o + 1, 1, `param ${q.type} length`); o += 2 + q.value.length; }
          break;
        }
        case 11: add(1, 1, 'RAND len'); break;
        case 14: add(3, 2, 'IDR len'); break;
        case 15: add(2, 1, 'RANDR len'); break;
        case 16: case 17: {
          add(8, 2, 'TP data length');
          visit(p.tpData.payloads);
          if (p.type === 17) {
            const td = 10 + u16(s + 8);
            add(td, 2, 'Ticket data length');
            add(td + 2 + u16(s + td), 2, 'Initiator data length');
            if (p.baseTicket) visit(p.baseTicket);
            visit(p.initiatorData.payloads);
          }
          break;
        }
        case 20: {
          add(2, 2, 'Key data len');
          let o = 4 + p.keyData.length;
          if (p.salt) { add(o, 2, 'Salt len'); o += 2 + p.salt.length; }
          kv(o, p.validity);
          break;
        }
        case 3: kv(2 + p.value.length + 1, p.validity); break;
        case 21: add(2, 2, 'General Ext. length'); break;
        case 22: case 23: add(1, 2, 'Encr data len'); break;
        case 26: add(3, 2, 'SAKKE data len'); break;
        case 256: add(1, 2, 'THDR data length'); break;
      }
    }
  };
  visit(m.payloads);
  return out;
}

test('truncation at every byte offset of every sample gives MikeyDecodeError', () => {
  let n = 0;
  for (const s of SAMPLES) {
    for (let len = 0; len < s.bytes.length; len++) {
      const e = decodeError(s.bytes.subarray(0, len));
      assert.ok(e.offset <= len, `${s.name}/${len}: offset ${e.offset} inside the input`);
      assert.ok(e.path.length > 0 || len < 10, `${s.name}/${len}: a payload path is given`);
      n++;
    }
  }
  assert.ok(n > 10000);
});

test('trailing bytes are rejected, or accepted and reported when asked', () => {
  for (const s of SAMPLES) {
    for (const extra of [[0], [1, 2, 3]]) {
      const b = new Uint8Array([...s.bytes, ...extra]);
      const e = decodeError(b);
      assert.equal(e.offset, s.bytes.length);
      assert.match(e.reason, /after (the last payload|the SIGN payload)/);
      if (!/SIGN/.test(e.reason)) assert.equal(decodeMessage(b, { allowTrailingBytes: true }).trailingBytes, extra.length);
    }
  }
});

test('every length field set to its maximum, one more, and one less', () => {
  let fields = 0, rejected = 0, accepted = 0;
  for (const s of SAMPLES) {
    const m = decodeMessage(s.bytes);
    for (const f of lengthFields(m, s.bytes)) {
      fields++;
      const read = (b: Uint8Array) => (f.width === 1 ? b[f.at]! : (b[f.at]! << 8) | b[f.at + 1]!);
      const cur = read(s.bytes) & f.mask;
      const write = (v: number) => {
        const b = new Uint8Array(s.bytes);
        const w = (read(s.bytes) & ~f.mask) | (v & f.mask);
        if (f.width === 1) b[f.at] = w; else { b[f.at] = w >>> 8; b[f.at + 1] = w & 0xff; }
        return b;
      };
      // an overrun can never be accepted
      const maxed = write(f.mask);
      assert.throws(() => decodeMessage(maxed), MikeyDecodeError, `${s.name}: ${f.what} at ${f.at} set to its maximum`);
      const max = decodeError(maxed);
      assert.ok(max.offset >= 0 && max.offset <= s.bytes.length, `${s.name} ${f.what}`);
      for (const v of [cur + 1, cur - 1]) {
        if (v < 0 || v > f.mask) continue;
        const outcome = consistent(write(v));
        // Policy TLVs of 1-byte values re-align into other well-formed TLVs when one length is off
        // by one: syntax cannot tell; the policy check (Invalid SPpar) does. Count the rest.
        if (f.what.startsWith('param ')) continue;
        if (outcome === 'error') rejected++; else accepted++;
      }
    }
  }
  assert.ok(fields > 300, `${fields} length fields`);
  // one-off lengths shift every later field; nearly all are caught, and what is accepted is self-consistent
  assert.ok(rejected / (rejected + accepted) > 0.97, `${rejected} rejected, ${accepted} accepted`);
});

test('unknown and out-of-range values give the Error payload code a responder would send', () => {
  const psk = SAMPLES.find((s) => s.name === 'psk-null')!.bytes;
  const mod = (b: Uint8Array, at: number, v: number) => { const c = new Uint8Array(b); c[at] = v; return c; };
  // HDR
  assert.equal(decodeError(mod(psk, 0, 2)).errorNo, ErrorNo.UnsupportedMessageType);
  let e = decodeError(mod(psk, 1, 27));
  assert.equal(e.errorNo, ErrorNo.InvalidDt);
  assert.equal(e.offset, 1);
  assert.equal(decodeError(mod(psk, 9, 3)).errorNo, ErrorNo.UnsupportedMessageType);
  // payload types that do not exist, or that are sub-payloads only
  for (const t of [18, 19, 27, 255, 20, 24, 25]) {
    e = decodeError(mod(psk, 2, t));
    assert.equal(e.errorNo, ErrorNo.UnsupportedMessageType);
    assert.equal(e.offset, 19);
  }
  // T payload at 19: TS type 4
  e = decodeError(mod(psk, 20, 4));
  assert.equal(e.errorNo, ErrorNo.InvalidTs);
  assert.match(e.path, /^T\[0\]@19/);
  // KEMAC at 91: MAC alg byte is the last one
  e = decodeError(mod(psk, psk.length - 1, 3));
  assert.equal(e.errorNo, ErrorNo.InvalidMac);
  // key data type 8 and KV 3 inside KEMAC (key data at 95)
  e = decodeError(mod(psk, 96, 0x81));
  assert.match(e.path, /KEMAC\[3\]@91 > Encr data > Key data\[0\]@95/);
  assert.match(e.reason, /key data type 8/);
  assert.match(decodeError(mod(psk, 96, 0x33)).reason, /KV type 3/);
  // DH group, hash function, SIGN not last
  const dh = SAMPLES.find((s) => s.name === 'dh-init')!;
  const dhm = decodeMessage(dh.bytes);
  const dhp = dhm.payloads.find((p) => p.type === 3)!;
  assert.equal(decodeError(mod(dh.bytes, dhp.span!.start + 1, 3)).errorNo, ErrorNo.InvalidDh);
  const pk = SAMPLES.find((s) => s.name === 'pk-envelope')!;
  const ch = decodeMessage(pk.bytes).payloads.find((p) => p.type === 8)!;
  assert.equal(decodeError(mod(pk.bytes, ch.span!.start + 1, 9)).errorNo, ErrorNo.InvalidHa);
  const sig = dhm.payloads.at(-1)!;
  const shorter = new Uint8Array(dh.bytes);
  const w = ((shorter[sig.span!.start]! << 8) | shorter[sig.span!.start + 1]!) - 4; // signature 4 bytes shorter
  shorter[sig.span!.start] = w >>> 8;
  shorter[sig.span!.start + 1] = w & 0xff;
  assert.match(decodeError(shorter).reason, /after the SIGN payload \(SIGN must be last\)/);
  // an SP payload with the Empty map (RFC 4563 §5)
  const err = CORPUS.find((s) => s.name === 'error')!.message;
  const withSp = encodeMessage({ header: err.header, payloads: [...err.payloads.slice(0, 1), { type: 10, policyNo: 0, protType: 0, params: [] }] });
  assert.equal(decodeError(withSp).errorNo, ErrorNo.InvalidSp);
  // a broken MIKEY base ticket
  const rr = SAMPLES.find((s) => s.name === 'ticket-request-resp')!;
  const tk = decodeMessage(rr.bytes).payloads.find((p) => p.type === 17)!;
  assert.ok(tk.type === 17 && tk.baseTicket);
  const thdrAt = tk.baseTicket[0]!.span!.start;
  e = decodeError(mod(rr.bytes, thdrAt, 18));
  assert.equal(e.errorNo, ErrorNo.InvalidTicket);
  assert.match(e.path, /^TICKET\[2\]@\d+ > Ticket data$/);
  assert.match(e.reason, /MIKEY base ticket: unknown payload type 18/);
});

test('errors never reveal more than an offset, a path and a reason', () => {
  const e = decodeError(new Uint8Array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
  assert.equal(e.name, 'MikeyDecodeError');
  assert.ok(Number.isInteger(e.offset) && typeof e.path === 'string' && typeof e.reason === 'string');
  assert.match(e.message, /answer with/);
});
