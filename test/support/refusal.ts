import assert from 'node:assert/strict';
import { MikeyProtocolError } from 'mikey';

/** Awaits p and asserts that it was refused with a protocol error carrying errorNo. */
export async function rejects(p: Promise<unknown>, errorNo: number): Promise<MikeyProtocolError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof MikeyProtocolError, String(e));
    assert.equal(e.errorNo, errorNo, e.message);
    return e;
  }
  assert.fail('accepted');
}
