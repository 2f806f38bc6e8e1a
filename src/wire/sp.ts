// Security policy parameters (RFC 3830 §6.10): Type(8) Length(8) Value TLVs.
import type { PolicyParam, SpPayload } from './types.js';

/** The parameters of an SP payload, in wire order (decoded from `paramBytes` when not given). */
export function policyParams(sp: SpPayload): PolicyParam[] {
  if (sp.params) return sp.params;
  const b = sp.paramBytes;
  if (!b) return [];
  const out: PolicyParam[] = [];
  const ab = b.buffer;
  const base = b.byteOffset;
  for (let o = 0; o < b.length; ) {
    const len = b[o + 1]!;
    out.push({ type: b[o]!, value: new Uint8Array(ab, base + o + 2, len) });
    o += 2 + len;
  }
  return out;
}

/** The value of parameter `type`, or undefined. */
export function policyParam(sp: SpPayload, type: number): Uint8Array | undefined {
  return policyParams(sp).find((p) => p.type === type)?.value;
}
