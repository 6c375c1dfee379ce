/**
 * Books one prepared usage record on its locked account: the account-dependent checks (R5, R12,
 * R13), the drains-first split (R6, R7), subscription windows (R10), then one usage posting.
 * Shared by `recordUsage` and `settleHold`.
 */
import { allocateCharge, type ChargeSplit, type UsageCreditHeadroom } from '../core/allocator.ts';
import { cycleAt } from '../core/cycles.ts';
import type { Instant } from '../core/time.ts';
import type { Catalogues } from './context.ts';
import {
  addOrgSpend,
  availableCredit,
  type Book,
  countInWindows,
  cycleRowFor,
  type OrgScope,
  planCredit,
  remainingCredit,
  usageCreditHeadroom,
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
  const index = cycleAt(account.billingAnchor, rec.occurredAt).index;
  const cycle = cycleRowFor(book, agg, index, book.recordedAt, catalogues);
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
      countInWindows(book, account, rec.occurredAt, cost, catalogues);
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
  if (remainingBefore > 0n && remainingCredit(cycle) === 0n) cycle.exhaustedAt = rec.occurredAt;
  if (account.lastActivityAt === null || rec.occurredAt > account.lastActivityAt)
    account.lastActivityAt = rec.occurredAt;
  return resultOfPosting(rec.id, posting, 'recorded');
}
