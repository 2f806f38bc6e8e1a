// The IBAKE demo: key requests and the four-message exchange over UDP on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ibakeDemo } from '../../src/cli/demo-ibake.js';
import { sameKeys } from '../../src/cli/demo.js';

test('ibakeDemo: four messages over UDP, both ends hold the same SRTP keys', async () => {
  const r = await ibakeDemo();
  assert.equal(r.messages, 4);
  assert.match(r.method, /IBAKE/);
  assert.ok(r.bytes > 4 * 150, `${r.bytes} bytes`);
  assert.ok(sameKeys(r.a, r.b));
  assert.equal(r.a.sessions.length, 2);
  assert.notDeepEqual(r.a.sessions[0]!.keys[0]!.masterKey, r.a.sessions[1]!.keys[0]!.masterKey);
});
