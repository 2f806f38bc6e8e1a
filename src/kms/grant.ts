// The KMS's own policies (RFC 6043 §12.1): who may get a ticket for whom, and what a granted
// Ticket Policy may hold. A requested policy is narrowed to what the rules allow (the KMS sets
// K when it changed anything, §6.10); what cannot be narrowed is refused with Invalid TPpar.
import { MikeyProtocolError } from '../session/errors.js';
import { ErrorNo } from '../wire/registry.js';
import { type Identity, identityText as text } from '../session/identity.js';
import { completeFlags, type KeyRequest, type ReadPolicy, type TicketPolicy } from '../modes/ticket/policy.js';

/** One rule: `initiator` may get tickets for `responder`. Names are identities, group names ('group:NAME') or '*'. */
export interface PolicyRule {
  id?: number;
  initiator: string;
  responder: string;
  /** Longest validity granted, seconds (TRe - now at most). */
  maxValiditySec: number;
  /** Key forking (I flag): allowed as asked, required, or refused. */
  forking: 'allow' | 'require' | 'forbid';
  /** Ticket reuse (J flag) may be granted. */
  reuse: boolean;
  /** Initiator-supplied keys (L flag) may be granted. */
  initiatorKeys: boolean;
  /** Responder-supplied keys (M flag) may be granted. */
  responderKeys: boolean;
  /** Most session keys per ticket. */
  maxKeys: number;
  /** TRr imposed (seconds), if any. */
  rekeySec?: number;
}

export const DEFAULT_RULE: Omit<PolicyRule, 'initiator' | 'responder'> = {
  maxValiditySec: 86_400, forking: 'allow', reuse: true, initiatorKeys: false, responderKeys: false, maxKeys: 4,
};

const refuse = (reason: string): never => {
  throw new MikeyProtocolError(ErrorNo.InvalidTpPar, reason);
};

/** How specific a rule's side is for a name: exact 3, group 2, any 1, no match 0. */
function matchLevel(pattern: string, name: string, groupsOf: (name: string) => readonly string[]): number {
  if (pattern === name) return 3;
  if (pattern.startsWith('group:') && groupsOf(name).includes(pattern.slice(6))) return 2;
  if (pattern === '*') return 1;
  return 0;
}

/** The most specific rule for (initiator, responder), or undefined. */
export function ruleFor(rules: readonly PolicyRule[], initiator: string, responder: string, groupsOf: (name: string) => readonly string[]): PolicyRule | undefined {
  let best: PolicyRule | undefined;
  let bestScore = 0;
  for (const r of rules) {
    const a = matchLevel(r.initiator, initiator, groupsOf);
    // a responder may be named by the group itself ("it-support") as well as by a member
    const b = Math.max(matchLevel(r.responder, responder, groupsOf), r.responder === `group:${responder}` ? 3 : 0);
    if (!a || !b) continue;
    const score = a * 4 + b;
    if (score > bestScore) { best = r; bestScore = score; }
  }
  return best;
}

/**
 * Narrow `requested` to the rules: responders with no rule are dropped (all dropped: refused);
 * the validity is cut to the shortest allowed; forking, reuse and supplied keys as the
 * strictest rule says; at most `maxKeys` keys of 16 to 64 bytes.
 */
export function grantPolicy(rules: readonly PolicyRule[], requester: Identity, requested: ReadPolicy, now: number, groupsOf: (name: string) => readonly string[]): TicketPolicy {
  const who = text(requester);
  const matched: Array<{ id: Identity; rule: PolicyRule }> = [];
  for (const r of requested.responders) {
    const rule = ruleFor(rules, who, text(r), groupsOf);
    if (rule) matched.push({ id: r, rule });
  }
  if (!matched.length) refuse(`${who} may not get tickets for ${requested.responders.map(text).join(', ')}`);
  const rs = matched.map((m) => m.rule);
  const f = { ...requested.flags };
  const requireFork = rs.some((r) => r.forking === 'require');
  const forbidFork = rs.some((r) => r.forking === 'forbid');
  if (requireFork && forbidFork) refuse('the responders\' rules disagree on key forking');
  if (requireFork) f.I = true;
  if (forbidFork) f.I = false;
  if (!rs.every((r) => r.reuse)) f.J = false;
  if (!rs.every((r) => r.initiatorKeys)) f.L = false;
  if (!rs.every((r) => r.responderKeys)) f.M = false;
  f.D = true;
  const flags = completeFlags({ ...f, K: false, F: f.F || f.I || f.G || f.M });
  const maxValidity = Math.min(...rs.map((r) => r.maxValiditySec)) * 1000;
  const from = requested.validFrom ?? now;
  if (from > now + maxValidity) refuse('the validity period starts too late');
  const to = Math.min(requested.validTo ?? Infinity, now + maxValidity);
  if (to < from) refuse('the validity period ends before it starts');
  const rekeys = rs.map((r) => r.rekeySec).filter((x): x is number => x !== undefined);
  const rekey = [requested.rekeyIntervalSec, ...rekeys].filter((x): x is number => x !== undefined);
  const maxKeys = Math.min(...rs.map((r) => r.maxKeys));
  const keys: KeyRequest[] = (requested.keys.length ? requested.keys : [{ kind: 'TGK' as const, length: 16 }]).slice(0, Math.max(1, maxKeys))
    .map((k) => ({ ...k, length: Math.min(64, Math.max(16, k.length ?? 16)) }));
  return {
    ticketType: requested.ticketType, subtype: requested.subtype, version: requested.version, prf: requested.prf, flags,
    validFrom: Math.floor(from / 1000) * 1000, validTo: Math.floor(to / 1000) * 1000,
    rekeyIntervalSec: rekey.length ? Math.min(...rekey) : undefined,
    keys, apps: requested.apps, responders: matched.map((m) => m.id),
  };
}

/** May `resolver` resolve a ticket naming `responders`? By identity, or by membership of a group named there (§12.5). */
export function mayResolve(resolver: string, responders: readonly Identity[], groupsOf: (name: string) => readonly string[]): boolean {
  const groups = groupsOf(resolver);
  return responders.some((r) => {
    const n = text(r);
    return n === resolver || groups.includes(n);
  });
}
