/**
 * Books one prepared usage record on its locked account: the account-dependent checks (R5, R12,
 * R13), the drains-first split (R6, R7), subscription windows (R10), then one usage posting.
 * Shared by `recordUsage` and `settleHold`.
 */
import { allocateCharge, type ChargeSplit, type UsageCreditHeadroom } from '../core/allocator.ts';
import { cycleAt } from '../core/cycles.ts';
import type { Instant } from '../core/time.ts';
import type { Catalogues } from './context.ts';
import { cycleData, time, usd } from './events.ts';
import {
  addOrgSpend,
  availableCredit,
  type Book,
  countInWindows,
  cycleRowFor,
  type OrgScope,
  openCycleAt,
  planCredit,
  remainingCredit,
  sessionWindowMs,
  usageCreditHeadroom,
  type WindowFigures,
  weekWindowMs,
  windowHeadroom,
  windowsAt,
} from './ledger.ts';
import type { AccountAggregate, CycleRow, PostingRow } from './model.ts';
import { type PreparedRecord, rejected, resultOfPosting, type UsageResult } from './usage-record.ts';

export function usageIdem(recordId: string): string {
  return `u:${recordId}`;
}

/**
 * What the hold a record settles had been granted, for `bookUsage` to honour (R11: holds count
 * against the available balance, so the only overshoot is actual cost above the estimate).
 */
export interface HoldReservation {
  cycleStart: Instant;
  /** The source `authorize` named: `subscription` means the R10 windows let the request through. */
  source: string;
  /** Reserved from usage credits, in the hold's cycle; released just before the record is booked. */
  ucUnits: bigint;
}

/**
 * The usage-credit headroom for a charge, at least what the settled hold had reserved in the same
 * cycle: the reservation was made under the switches and limits of its time, so turning usage
 * credits off (the account's or the org's switch) while it was outstanding does not write it off.
 * Under unchanged limits this passes none of them: the reservation was counted under each until now.
 */
function headroomFor(
  agg: AccountAggregate,
  cycle: CycleRow,
  org: OrgScope | null,
  reserved: HoldReservation | null,
): UsageCreditHeadroom {
  const headroom = usageCreditHeadroom(agg, cycle, org);
  if (reserved === null || reserved.cycleStart !== cycle.start || reserved.ucUnits === 0n) return headroom;
  if (headroom.headroomUnits === null || headroom.headroomUnits >= reserved.ucUnits) return headroom;
  return { headroomUnits: reserved.ucUnits, limit: headroom.limit };
}

/**
 * Books one record on its locked account. `reserved` is what the hold it settles had been granted
 * (`settleHold`), null for a plain usage record.
 */
export function bookUsage(
  book: Book,
  agg: AccountAggregate,
  org: OrgScope | null,
  rec: PreparedRecord,
  existing: PostingRow | undefined,
  catalogues: Catalogues,
  reserved: HoldReservation | null = null,
): UsageResult {
  if (existing) {
    if (existing.hash === rec.hash) return resultOfPosting(rec.id, existing, 'replayed');
    return rejected(rec.id, 'idempotency_conflict', 'this record id was already used with different content');
  }
  const account = agg.account;
  // The open cycle holding the record, found without calendar arithmetic in the usual case.
  const cycle =
    openCycleAt(agg, rec.occurredAt) ??
    cycleRowFor(book, agg, cycleAt(account.billingAnchor, rec.occurredAt).index, book.recordedAt, catalogues);
  if (!cycle || cycle.closed) {
    return rejected(
      rec.id,
      'event_too_old',
      'the billing cycle this record occurred in is closed',
      rec.usageClass,
    );
  }
  const cost = rec.costUnits;
  let split: ChargeSplit = { creditUnits: 0n, ucUnits: 0n, writtenOffUnits: 0n };
  let subscription = 0n;
  let payg = 0n;
  if (account.kind === 'api') {
    payg = cost;
  } else if (rec.drawsCredit) {
    const eligible = planCredit(account.plan, rec.occurredAt, catalogues) !== null;
    const claimed = account.claimEffectiveAt !== null && account.claimEffectiveAt <= rec.occurredAt;
    if (eligible && !claimed) {
      return rejected(
        rec.id,
        'credit_not_claimed',
        'claim the Agent SDK credit before programmatic use',
        rec.usageClass,
      );
    }
    split = allocateCharge(
      cost,
      eligible ? availableCredit(cycle) : 0n,
      headroomFor(agg, cycle, org, reserved),
    );
  } else {
    const windows = windowsAt(account, rec.occurredAt, catalogues);
    // A hold the window let through is counted in it at settle even if the window filled meanwhile.
    if (windowHeadroom(windows) > 0n || reserved?.source === 'subscription') {
      // The request that crosses a window's limit is counted whole: the window is a gate, not a pool.
      subscription = cost;
      countInWindows(book, account, rec.occurredAt, cost);
      windowAlerts(book, agg, rec, windows);
    } else {
      split = allocateCharge(cost, 0n, headroomFor(agg, cycle, org, reserved));
    }
  }
  const remainingBefore = remainingCredit(cycle);
  const posting = book.post(agg, cycle, {
    at: rec.occurredAt,
    kind: 'usage',
    idem: usageIdem(rec.id),
    hash: rec.hash,
    creditUnits: -split.creditUnits,
    ucUnits: split.ucUnits,
    writtenOffUnits: split.writtenOffUnits,
    subscriptionUnits: subscription,
    paygUnits: payg,
    costUnits: cost,
    usageClass: rec.usageClass,
    surface: rec.surface,
    app: rec.app,
    model: rec.model,
  });
  addOrgSpend(book, org, cycle.start, split.ucUnits, 0n);
  if (split.ucUnits > 0n) usageCreditAlert(book, agg, cycle, org, rec.id);
  if (remainingBefore > 0n && remainingCredit(cycle) === 0n) cycle.exhaustedAt = rec.occurredAt;
  if (account.lastActivityAt === null || rec.occurredAt > account.lastActivityAt)
    account.lastActivityAt = rec.occurredAt;
  return resultOfPosting(rec.id, posting, 'recorded');
}

/**
 * `subscription_limit.reached` for each R10 window this record filled: counted whole, it took the
 * window from under its limit to at or over it. A full window sends later records elsewhere
 * (usage credits or a refusal), so each window fires once. `w` is the windows as they stood
 * before the record was counted (`countInWindows` adds the cost to exactly these figures).
 */
function windowAlerts(book: Book, agg: AccountAggregate, rec: PreparedRecord, w: WindowFigures): void {
  // The hot path: a record that fills neither window costs two comparisons.
  const cost = rec.costUnits;
  if (w.sessionUsedUnits + cost < w.sessionLimitUnits && w.weekUsedUnits + cost < w.weekLimitUnits) return;
  const windows = [
    {
      window: 'session',
      used: w.sessionUsedUnits,
      limit: w.sessionLimitUnits,
      resetsAt: w.sessionStart + sessionWindowMs,
    },
    {
      window: 'weekly',
      used: w.weekUsedUnits,
      limit: w.weekLimitUnits,
      resetsAt: w.weekStart + weekWindowMs,
    },
  ];
  for (const { window, used, limit, resetsAt } of windows) {
    if (used >= limit || used + cost < limit) continue;
    book.emit(agg.account, 'subscription_limit.reached', {
      window,
      used_usd: usd(used + cost),
      limit_usd: usd(limit),
      resets_at: time(resetsAt),
      record_id: rec.id,
    });
  }
}

/**
 * `usage_credits.limit_reached` when a usage-credit charge leaves no headroom under the binding
 * limit (R7), naming it. Once reached, usage credits pay nothing more until the limit is raised or
 * the cycle ends, so a limit fires once per level.
 */
function usageCreditAlert(
  book: Book,
  agg: AccountAggregate,
  cycle: CycleRow,
  org: OrgScope | null,
  recordId: string,
): void {
  const headroom = usageCreditHeadroom(agg, cycle, org);
  if (headroom.limit === null || headroom.headroomUnits === null || headroom.headroomUnits > 0n) return;
  const account = agg.account;
  let limitUnits: bigint | null | undefined = null;
  let spentUnits = cycle.ucChargedUnits;
  switch (headroom.limit) {
    case 'usage_credit_limit_reached':
      limitUnits = account.ucMonthlyLimitUnits;
      break;
    case 'member_limit_reached':
      limitUnits = account.memberLimitUnits;
      break;
    case 'seat_tier_limit_reached':
      limitUnits = account.plan === null ? null : org?.org.seatTierLimitsUnits[account.plan];
      break;
    case 'org_limit_reached':
      limitUnits = org?.org.ucMonthlyLimitUnits;
      spentUnits = org?.counters.get(cycle.start)?.ucSpentUnits ?? spentUnits;
      break;
    default:
      // A switch that is off takes no charge: nothing was charged to reach it.
      return;
  }
  book.emit(account, 'usage_credits.limit_reached', {
    limit: headroom.limit,
    limit_usd: limitUnits == null ? null : usd(limitUnits),
    spent_usd: usd(spentUnits),
    held_usd: usd(cycle.ucHeldUnits),
    cycle: cycleData(cycle),
    record_id: recordId,
  });
}
