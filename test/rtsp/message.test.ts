// The bounded RTSP parser and the authentication schemes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtspParser, RtspProtocolError, serializeRequest, serializeResponse, serializeInterleaved, parseTransport, formatTransport } from '../../src/rtsp/message.js';
import { authorize, parseChallenges, RtspAuthenticator } from '../../src/rtsp/auth.js';

test('requests, responses and interleaved frames, fed a byte at a time', () => {
  const wire = Buffer.concat([
    serializeRequest('SETUP', 'rtsp://cam/s=0', { CSeq: '3', Transport: 'RTP/SAVP/TCP;unicast;interleaved=0-1' }),
    serializeInterleaved(0, Uint8Array.of(0x80, 0, 1, 2)),
    serializeResponse(200, 'OK', { CSeq: '3', 'Content-Type': 'text/parameters' }, 'mikey: AAAA\r\n'),
  ]);
  const p = new RtspParser();
  const items = [];
  for (const b of wire) items.push(...p.push(Buffer.of(b)));
  assert.equal(items.length, 3);
  assert.equal(items[0]!.kind, 'request');
  if (items[0]!.kind === 'request') {
    assert.equal(items[0].method, 'SETUP');
    assert.equal(items[0].headers['transport'], 'RTP/SAVP/TCP;unicast;interleaved=0-1');
  }
  assert.deepEqual(items[1], { kind: 'interleaved', channel: 0, data: Buffer.of(0x80, 0, 1, 2) });
  if (items[2]!.kind === 'response') assert.equal(items[2].body.toString(), 'mikey: AAAA\r\n');
  assert.equal(p.buffered, 0);
});

test('limits: header bytes, header count, body size; malformed lines; the parser stays refused', () => {
  const refuse = (input: string, status: number, re: RegExp, limits = {}) => {
    const p = new RtspParser(limits);
    assert.throws(() => p.push(Buffer.from(input)), (e: unknown) => e instanceof RtspProtocolError && e.status === status && re.test(e.message));
    assert.throws(() => p.push(Buffer.from('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n')), RtspProtocolError);
    assert.equal(p.buffered, 0);
  };
  refuse(`OPTIONS * RTSP/1.0\r\nX: ${'a'.repeat(9000)}`, 431, /longer than 8192/);
  refuse(`OPTIONS * RTSP/1.0\r\n${'X: 1\r\n'.repeat(65)}\r\n`, 431, /65 RTSP header lines/);
  refuse('ANNOUNCE * RTSP/1.0\r\nContent-Length: 1000000000\r\n\r\n', 413, /limit 65536/);
  refuse('ANNOUNCE * RTSP/1.0\r\nContent-Length: -1\r\n\r\n', 400, /not a number/);
  refuse('GET / HTTP/1.1\r\nHost: x\r\n\r\n', 400, /not an RTSP start line/);
  refuse('OPTIONS * RTSP/1.0\r\nno colon here\r\n\r\n', 400, /malformed RTSP header line/);
  refuse('OPTIONS * RTSP/1.0\r\nX: 1\r\n\r\n', 431, /limit 10/, { maxHeaderBytes: 10 });
  // partial input is held, within the limit
  const p = new RtspParser();
  assert.deepEqual(p.push(Buffer.from('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n')), []);
  assert.equal(p.push(Buffer.from('\r\n')).length, 1);
});

test('serializers refuse header injection', () => {
  assert.throws(() => serializeRequest('OPTIONS', '*', { CSeq: '1\r\nX: y' }), /line break/);
  assert.throws(() => serializeRequest('OPTIONS', 'a b', {}), /bad request line/);
  assert.throws(() => serializeResponse(200, 'OK', { 'Bad Name': 'x' }), /not a header name/);
});

test('Transport header', () => {
  const t = parseTransport('RTP/SAVP;unicast;client_port=5000-5001;server_port=6000-6001;ssrc=0A0B0C0D');
  assert.deepEqual([t.profile, t.clientPort, t.serverPort, t.ssrc], ['RTP/SAVP', [5000, 5001], [6000, 6001], 0x0a0b0c0d]);
  assert.equal(formatTransport(t), 'RTP/SAVP;unicast;client_port=5000-5001;server_port=6000-6001;ssrc=0A0B0C0D');
  assert.deepEqual(parseTransport('RTP/SAVP/TCP;interleaved=2-3').interleaved, [2, 3]);
  assert.throws(() => parseTransport('RTP/SAVP;client_port=x'), (e: unknown) => e instanceof RtspProtocolError && e.status === 461);
  assert.throws(() => parseTransport('RTP/SAVP;ssrc=123456789'), /bad SSRC/);
});

test('Digest: the RFC 2617 §3.5 example; Basic; the server checks answers', () => {
  const ch = parseChallenges('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
  const a = authorize(ch, { username: 'Mufasa', password: 'Circle Of Life' }, 'GET', '/dir/index.html', 1, '0a4f113b');
  assert.match(a, /response="6629fae49393a05397450978507c4ef1"/);
  assert.match(a, /qop=auth, nc=00000001, cnonce="0a4f113b"/);
  assert.equal(authorize(parseChallenges('Basic realm="cam"'), { username: 'Aladdin', password: 'open sesame' }, 'DESCRIBE', '*'), 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');

  const digest = new RtspAuthenticator({ scheme: 'digest', users: { admin: 'secret' } });
  const c = parseChallenges(digest.challenge());
  assert.ok(digest.verify(authorize(c, { username: 'admin', password: 'secret' }, 'DESCRIBE', 'rtsp://x/'), 'DESCRIBE'));
  assert.ok(!digest.verify(authorize(c, { username: 'admin', password: 'wrong' }, 'DESCRIBE', 'rtsp://x/'), 'DESCRIBE'));
  assert.ok(!digest.verify(authorize(c, { username: 'admin', password: 'secret' }, 'DESCRIBE', 'rtsp://x/'), 'SETUP'), 'method bound');
  assert.ok(!digest.verify(authorize(parseChallenges('Digest realm="mikey", nonce="made-up", qop="auth"'), { username: 'admin', password: 'secret' }, 'DESCRIBE', 'rtsp://x/'), 'DESCRIBE'), 'unknown nonce');
  assert.ok(!digest.verify(undefined, 'DESCRIBE'));
  const basic = new RtspAuthenticator({ scheme: 'basic', users: { admin: 'secret' } });
  assert.ok(basic.verify(`Basic ${Buffer.from('admin:secret').toString('base64')}`, 'PLAY'));
  assert.ok(!basic.verify(`Basic ${Buffer.from('admin:secreT').toString('base64')}`, 'PLAY'));
  assert.ok(!basic.verify('Basic !!!', 'PLAY'));
});
