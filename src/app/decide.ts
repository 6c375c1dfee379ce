/**
 * The gate (R5, R6, R7, R10, R11, R16): given an account rolled to `now`, may a request run, who
 * pays, and what a hold for its estimate would reserve. Pure over the aggregates; a deny is an
 * answer with a reason, never an error.
 */
import { cycleAt } from '../core/cycles.ts';
import { policyAt } from '../core/policy.ts';
import type { Instant } from '../core/time.ts';
import type { Catalogues } from './context.ts';
import {
  appCommitted,
  availableCredit,
  type OrgScope,
  planCredit,
  usageCreditHeadroom,
  windowHeadroom,
  windowsAt,
  windowsResetAt,
} from './ledger.ts';
import type { AccountAggregate, CycleRow, UsageClassName } from './model.ts';

export type DenyReason =
  | 'credit_not_claimed'
  | 'credit_exhausted'
  | 'not_eligible'
  | 'subscription_limit_reached'
  | 'app_blocked'
  | 'app_cap_reached'
  | 'org_level_disabled'
  | 'org_limit_reached'
  | 'seat_tier_limit_reached'
  | 'member_limit_reached'
  | 'usage_credits_disabled'
  | 'usage_credit_limit_reached';

export type Source = 'sdk_credit' | 'usage_credits' | 'subscription' | 'pay_as_you_go';

export interface Decision {
  allow: boolean;
  reason: DenyReason | null;
  source: Source | null;
  /** What a hold would reserve, in R6 order. */
  creditUnits: bigint;
  ucUnits: bigint;
  retryAt: Instant | null;
  cycle: CycleRow;
}

export interface DecideInput {
  usageClass: UsageClassName;
  app: string | null;
  /** The hold's estimate; null = no estimate (allow while anything is left). */
  estimateUnits: bigint | null;
}

export function decide(
  agg: AccountAggregate,
  org: OrgScope | null,
  input: DecideInput,
  now: Instant,
  catalogues: Catalogues,
): Decision {
  const account = agg.account;
  const cycle = agg.cycles.get(cycleAt(account.billingAnchor, now).start);
  if (!cycle) throw new Error('decide: the account was not rolled to now');
  const deny = (reason: DenyReason, retryAt: Instant | null = null): Decision => ({
    allow: false,
    reason,
    source: null,
    creditUnits: 0n,
    ucUnits: 0n,
    retryAt,
    cycle,
  });
  const allow = (source: Source, creditUnits = 0n, ucUnits = 0n): Decision => ({
    allow: true,
    reason: null,
    source,
    creditUnits,
    ucUnits,
    retryAt: null,
    cycle,
  });
  const estimate = input.estimateUnits ?? 0n;
  if (account.status === 'canceled' || account.status === 'removed') return deny('not_eligible');
  if (input.app !== null) {
    const policy = agg.apps.get(input.app);
    if (policy?.blocked) return deny('app_blocked');
    if (policy && policy.cycleCapUnits !== null) {
      const committed = appCommitted(agg, cycle.start, input.app);
      if (committed + estimate > policy.cycleCapUnits || committed >= policy.cycleCapUnits) {
        return deny('app_cap_reached', cycle.end);
      }
    }
  }
  if (account.kind === 'api') return allow('pay_as_you_go');

  /** Usage credits pay what nothing before them can (R6, R7); `need` 0 = any headroom at all. */
  const viaUsageCredits = (
    need: bigint,
    creditUnits: bigint,
    exhausted: DenyReason,
    retryAt: Instant | null,
  ) => {
    const headroom = usageCreditHeadroom(agg, cycle, org);
    const fits =
      headroom.headroomUnits === null ||
      (need > 0n ? headroom.headroomUnits >= need : headroom.headroomUnits > 0n);
    if (fits) return allow(creditUnits > 0n ? 'sdk_credit' : 'usage_credits', creditUnits, need);
    // With the account's own switch off the answer is the exhausted source itself (R6).
    if (headroom.limit === null || headroom.limit === 'usage_credits_disabled')
      return deny(exhausted, retryAt);
    return deny(headroom.limit, retryAt);
  };

  const drawsCredit = input.usageClass === 'programmatic' && policyAt(now, catalogues.policy).sdkCreditActive;
  if (drawsCredit) {
    const eligible = planCredit(account.plan, now, catalogues) !== null;
    if (!eligible) return viaUsageCredits(estimate, 0n, 'not_eligible', null);
    if (account.claimEffectiveAt === null || account.claimEffectiveAt > now)
      return deny('credit_not_claimed');
    const available = availableCredit(cycle);
    const retryAt = cycle.end;
    if (input.estimateUnits === null) {
      if (available > 0n) return allow('sdk_credit');
      return viaUsageCredits(0n, 0n, 'credit_exhausted', retryAt);
    }
    if (available >= estimate) return allow('sdk_credit', estimate, 0n);
    const fromCredit = available > 0n ? available : 0n;
    return viaUsageCredits(estimate - fromCredit, fromCredit, 'credit_exhausted', retryAt);
  }
  const windows = windowsAt(account, now, catalogues);
  if (windowHeadroom(windows) > 0n) return allow('subscription');
  return viaUsageCredits(estimate, 0n, 'subscription_limit_reached', windowsResetAt(windows));
}
