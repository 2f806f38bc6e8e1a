// Interop peers are real programs. When MIKEY_REQUIRE_INTEROP=1 (CI), a missing peer fails
// the test; otherwise the test is skipped with the reason.
import type { TestContext } from 'node:test';

export const interopRequired = process.env.MIKEY_REQUIRE_INTEROP === '1';

/** Returns true if the test should go on; marks it skipped (or throws under CI) otherwise. */
export function needPeer(t: TestContext, name: string, problem: string | null): boolean {
  if (problem === null) return true;
  if (interopRequired) throw new Error(`interop peer ${name} unavailable: ${problem}`);
  t.skip(`${name} unavailable: ${problem}`);
  return false;
}
