/**
 * Books one prepared usage record on its locked account: the account-dependent checks (R5, R12,
 * R13), the drains-first split (R6, R7), subscription windows (R10), then one usage posting.
 * Shared by `recordUsage` and `settleHold`.
 */
import { allocateCharge, type ChargeSplit } from '../core/allocator.ts';
import { cycleAt } from '../core/cycles.ts';
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
import type { AccountAggregate, PostingRow } from './model.ts';
import { type PreparedRecord, rejected, resultOfPosting, type UsageResult } from './usage-record.ts';

export function usageIdem(recordId: string): string {
  return `u:${recordId}`;
}

export function bookUsage(
  book: Book,
  agg: AccountAggregate,
  org: OrgScope | null,
  rec: PreparedRecord,
  existing: PostingRow | undefined,
  catalogues: Catalogues,
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
      usageCreditHeadroom(agg, cycle, org),
    );
  } else {
    const windows = windowsAt(account, rec.occurredAt, catalogues);
    if (windowHeadroom(windows) > 0n) {
      // The request that crosses a window's limit is counted whole: the window is a gate, not a pool.
      subscription = cost;
      countInWindows(book, account, rec.occurredAt, cost, catalogues);
    } else {
      split = allocateCharge(cost, 0n, usageCreditHeadroom(agg, cycle, org));
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
