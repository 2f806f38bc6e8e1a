// RTSP KeyMgmt (RFC 4567 §3.2 with erratum 2247) and a=key-mgmt lines (§3.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildRtspKeyMgmt, findSdpKeyMgmt, isBase64, isKmpid, keyMgmtLine, KeyMgmtSyntaxError, parseKeyMgmtValue, parseRtspKeyMgmt,
  rtspKeyMgmtFailure,
} from '../../src/sdp/keymgmt.js';
import { buildRtspRequest, keyMgmtOf, keyMgmtOfParameters, parseRtspResponse, rekeyRequest, setupRequest } from '../../src/sdp/rtsp.js';

const B64 = 'AQAFgM0XflABAAAAAAAAAAAAAAsAyO';
const DATA = `${B64}==`.slice(0, 28); // 28 characters: valid base64

test('KMPID and base64 grammar', () => {
  assert.ok(isKmpid('mikey') && isKmpid('keyp1') && !isKmpid('mi-key') && !isKmpid(''));
  assert.ok(isBase64('AQID') && isBase64('AQI=') && isBase64('AQ==') && !isBase64('AQI') && !isBase64('A=QI') && !isBase64(''));
});

test('the shape of the RFC 4567 §5.3 SETUP example parses (erratum 2247: data), uri and data in either order', () => {
  const data = Buffer.from('01010580cd177e50010000000000000000000006', 'hex').toString('base64');
  const [s] = parseRtspKeyMgmt(`prot=mikey; uri="rtsp://movie.example.com/action"; data="${data}"`);
  assert.deepEqual(s, { prot: 'mikey', uri: 'rtsp://movie.example.com/action', data, where: 'rtsp' });
  const swapped = parseRtspKeyMgmt('prot=mikey;data="AQID";uri="rtsp://h/a"');
  assert.deepEqual(swapped[0], { prot: 'mikey', uri: 'rtsp://h/a', data: 'AQID', where: 'rtsp' });
  // strict: uri/data must be quoted, prot first
  assert.throws(() => parseRtspKeyMgmt('prot=mikey; data=AQID', { strict: true }), KeyMgmtSyntaxError);
  assert.throws(() => parseRtspKeyMgmt('data="AQID"; prot=mikey', { strict: true }), KeyMgmtSyntaxError);
  assert.equal(parseRtspKeyMgmt('data="AQID"; prot=mikey')[0]!.prot, 'mikey');
});

test('several specs; commas and semicolons inside quotes; escapes', () => {
  const specs = parseRtspKeyMgmt('prot=mikey; uri="rtsp://h/a;b,c"; data="AQID", prot=keyp1; data="BAUG"');
  assert.equal(specs.length, 2);
  assert.equal(specs[0]!.uri, 'rtsp://h/a;b,c');
  assert.deepEqual([specs[1]!.prot, specs[1]!.data, specs[1]!.uri], ['keyp1', 'BAUG', undefined]);
  assert.equal(parseRtspKeyMgmt('prot=mikey; uri="a\\"b"; data="AQID"')[0]!.uri, 'a"b');
  assert.throws(() => parseRtspKeyMgmt('prot=mikey; uri="open'), /unterminated/);
  assert.throws(() => parseRtspKeyMgmt('prot=mikey; data="AQ"'), /not base64/);
  assert.throws(() => parseRtspKeyMgmt('prot=mikey; prot=x; data="AQID"'), /twice/);
  assert.throws(() => parseRtspKeyMgmt('uri="x"; data="AQID"'), /without prot/);
  // a spec without data is skipped when reading leniently, refused strictly
  assert.deepEqual(parseRtspKeyMgmt('prot=mikey; uri="x"'), []);
  assert.throws(() => parseRtspKeyMgmt('prot=mikey; uri="x"', { strict: true }), /without data/);
});

test('build: quoting, several specs, and what a strict parser reads back', () => {
  const bytes = Uint8Array.of(1, 0, 5, 0, 0xff);
  const v = buildRtspKeyMgmt([{ prot: 'mikey', uri: 'rtsp://h/s?x=1,2', data: bytes }, { prot: 'keyp1', data: 'AQID' }]);
  assert.equal(v, `prot=mikey; uri="rtsp://h/s?x=1,2"; data="${Buffer.from(bytes).toString('base64')}", prot=keyp1; data="AQID"`);
  const back = parseRtspKeyMgmt(v, { strict: true });
  assert.deepEqual(back.map((s) => [s.prot, s.uri, s.data]), [['mikey', 'rtsp://h/s?x=1,2', 'AQAFAP8='], ['keyp1', undefined, 'AQID']]);
  assert.throws(() => buildRtspKeyMgmt([{ prot: 'mi key', data: 'AQID' }]), KeyMgmtSyntaxError);
  assert.throws(() => buildRtspKeyMgmt([{ prot: 'mikey', uri: 'a"b', data: 'AQID' }]), /not a URI/);
  assert.throws(() => buildRtspKeyMgmt([]), /at least one/);
});

test('463 Key management failure, with the key management error message', () => {
  const r = rtspKeyMgmtFailure(4, { session: '12345678', keyMgmt: [{ prot: 'mikey', data: Uint8Array.of(1, 6, 0) }] });
  assert.equal(r, 'RTSP/1.0 463 Key management failure\r\nCSeq: 4\r\nSession: 12345678\r\nKeyMgmt: prot=mikey; data="AQYA"\r\n\r\n');
  const parsed = parseRtspResponse(Buffer.from(r))!;
  assert.equal(parsed.response.status, 463);
  assert.deepEqual(keyMgmtOf(parsed.response.headers).map((s) => s.data), ['AQYA']);
});

test('a=key-mgmt lines: value grammar, levels, order kept', () => {
  assert.deepEqual(parseKeyMgmtValue(`mikey ${DATA}`), { prot: 'mikey', data: DATA });
  assert.deepEqual(parseKeyMgmtValue(` mikey ${DATA}`), { prot: 'mikey', data: DATA }, '0*1SP before prtcl-id');
  assert.throws(() => parseKeyMgmtValue('mikey'), KeyMgmtSyntaxError);
  assert.throws(() => parseKeyMgmtValue('mikey AQI'), KeyMgmtSyntaxError);
  assert.equal(keyMgmtLine('mikey', Uint8Array.of(1, 2, 3)), 'a=key-mgmt:mikey AQID');
  const sdp = ['v=0', 'a=key-mgmt:mikey AQID', 'a=key-mgmt:keyp1 BAUG', 'm=audio 4000 RTP/SAVP 0', 'm=video 4002 RTP/SAVP 31', 'a=key-mgmt:mikey BwgJ', ''].join('\r\n');
  assert.deepEqual(findSdpKeyMgmt(sdp).map((s) => `${s.where}:${s.prot}`), ['session:mikey', 'session:keyp1', 'media 1:mikey']);
});

test('RTSP requests: SETUP with KeyMgmt, SET_PARAMETER re-key, responses split and interleaved', () => {
  const setup = buildRtspRequest(setupRequest({ uri: 'rtsp://h/s/stream=0', cseq: 3, transport: 'RTP/SAVP;unicast;client_port=5000-5001', keyMgmt: [{ prot: 'mikey', uri: 'rtsp://h/s', data: 'AQID' }] }));
  assert.match(setup, /^SETUP rtsp:\/\/h\/s\/stream=0 RTSP\/1\.0\r\nCSeq: 3\r\nTransport: [^\r]+\r\nKeyMgmt: prot=mikey; uri="rtsp:\/\/h\/s"; data="AQID"\r\n\r\n$/);
  const rk = buildRtspRequest(rekeyRequest({ uri: 'rtsp://h/s', cseq: 9, session: 'abc', keyMgmt: [{ prot: 'mikey', data: 'BAUG' }] }));
  const body = rk.slice(rk.indexOf('\r\n\r\n') + 4);
  assert.match(rk, /Content-Type: text\/parameters\r\nContent-Length: (\d+)\r\n/);
  assert.equal(Number(/Content-Length: (\d+)/.exec(rk)![1]), Buffer.byteLength(body));
  assert.deepEqual(keyMgmtOfParameters(body).map((s) => s.data), ['BAUG']);
  const resp = Buffer.from('$\x00\x00\x02abRTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 5\r\n\r\nhello');
  assert.equal(parseRtspResponse(resp.subarray(0, resp.length - 1)), undefined, 'incomplete body');
  const got = parseRtspResponse(resp)!;
  assert.deepEqual([got.response.status, got.response.body, got.used], [200, 'hello', resp.length]);
});
