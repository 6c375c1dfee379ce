/**
 * Plan and seat changes (R14). An upgrade (more credit) takes effect at once and grants the
 * difference for the current cycle if the credit is claimed; a downgrade or a cancellation takes
 * effect at the next cycle start. A member removed from its org loses the remaining credit at once
 * (an `expire` posting) and gets no further grants. The billing anchor never changes.
 */
import { cycleAt } from '../../core/cycles.ts';
import { isSeatPlan, planAt } from '../../core/plans.ts';
import type { Instant } from '../../core/time.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { time, usd } from '../events.ts';
import { type Book, nextRollAt, planCredit, releaseHold, remainingCredit } from '../ledger.ts';
import type { AccountRow, CycleRow } from '../model.ts';
import { lockOne, orgOf } from '../scope.ts';

export interface ChangeAccountInput {
  plan?: string;
  status?: 'canceled';
  /** `null` removes a member from its org. */
  org_id?: null;
}

export async function changeAccount(
  ctx: AppContext,
  accountId: string,
  input: ChangeAccountInput,
): Promise<AccountRow> {
  const changes = [input.plan !== undefined, input.status !== undefined, input.org_id !== undefined].filter(
    Boolean,
  ).length;
  if (changes !== 1)
    throw new AppError('invalid_request', 'give exactly one of plan, status: "canceled", org_id: null');
  if (input.status !== undefined && input.status !== 'canceled')
    throw new AppError('invalid_request', 'status can only be "canceled"');
  if (input.org_id !== undefined && input.org_id !== null)
    throw new AppError('invalid_request', 'org_id can only be set to null');
  return ctx.store.transaction(async (tx) => {
    const { scope, agg } = await lockOne(ctx, tx, accountId);
    const account = agg.account;
    const now = scope.now;
    const book = scope.book;
    if (account.kind === 'api') throw new AppError('invalid_request', 'an api account has no plan');
    if (account.status === 'canceled' || account.status === 'removed') {
      throw new AppError('invalid_request', `the account is ${account.status}`);
    }
    const cycle = agg.cycles.get(cycleAt(account.billingAnchor, now).start);
    if (!cycle) throw new Error('changeAccount: account not rolled');
    const was = planState(agg.account, agg.cycles.values(), cycle.grantedUnits);
    if (input.plan !== undefined) {
      const plan = input.plan;
      if (!planAt(plan, now, ctx.catalogues.plans)) throw new AppError('unknown_plan', `no plan ${plan}`);
      if (isSeatPlan(plan) !== (account.orgNo !== null)) {
        throw new AppError(
          'invalid_request',
          account.orgNo !== null ? 'an org member needs a seat plan' : `${plan} is an org seat`,
        );
      }
      const before = planCredit(account.plan, now, ctx.catalogues) ?? 0n;
      const after = planCredit(plan, now, ctx.catalogues) ?? 0n;
      if (after > before) {
        account.plan = plan;
        account.pendingPlan = null;
        if (
          account.grantedThroughIndex !== null &&
          account.grantedThroughIndex >= cycle.index &&
          !cycle.closed
        ) {
          book.post(agg, cycle, {
            at: now,
            kind: 'grant',
            creditUnits: after - before,
            note: `upgrade to ${plan}`,
          });
        }
      } else if (plan === account.plan) {
        account.pendingPlan = null;
      } else {
        account.pendingPlan = plan;
      }
      if (account.status === 'canceling') account.status = 'active';
    } else if (input.status === 'canceled') {
      account.status = 'canceling';
    } else {
      if (account.orgNo === null) throw new AppError('invalid_request', 'the account is not an org member');
      const org = orgOf(scope, agg);
      for (const hold of [...agg.holds.values()]) releaseHold(book, agg, hold, 'voided', org);
      for (const open of [...agg.cycles.values()].sort((a, b) => a.index - b.index)) {
        const remaining = remainingCredit(open);
        if (remaining > 0n)
          book.post(agg, open, { at: now, kind: 'expire', creditUnits: -remaining, note: 'member removed' });
      }
      account.status = 'removed';
    }
    emitPlanChanged(book, was, planState(account, agg.cycles.values(), cycle.grantedUnits), now, cycle.end);
    account.nextRollAt = nextRollAt(agg, ctx.catalogues);
    book.touchAccount(account);
    await book.flush(tx);
    return account;
  });
}

interface PlanState {
  account: AccountRow;
  plan: string | null;
  pendingPlan: string | null;
  status: AccountRow['status'];
  grantedUnits: bigint;
  remainingUnits: bigint;
}

function planState(account: AccountRow, cycles: Iterable<CycleRow>, grantedUnits: bigint): PlanState {
  let remainingUnits = 0n;
  for (const c of cycles) remainingUnits += remainingCredit(c);
  const { plan, pendingPlan, status } = account;
  return { account, plan, pendingPlan, status, grantedUnits, remainingUnits };
}

/**
 * `plan.changed` when the request changed anything: an upgrade (at once, with the difference
 * granted), a downgrade or a cancellation (scheduled for the next cycle start), a scheduled change
 * taken back (`restore`), or a member's removal (at once, remaining credit expired). Setting the
 * plan an account already has, with nothing scheduled, changes nothing and says nothing.
 */
function emitPlanChanged(
  book: Book,
  was: PlanState,
  is: PlanState,
  now: Instant,
  nextCycleStart: Instant,
): void {
  if (was.plan === is.plan && was.pendingPlan === is.pendingPlan && was.status === is.status) return;
  let change: 'upgrade' | 'downgrade' | 'cancel' | 'restore' | 'remove';
  if (is.status === 'removed') change = 'remove';
  else if (is.status === 'canceling') change = 'cancel';
  else if (is.plan !== was.plan) change = 'upgrade';
  else if (is.pendingPlan !== null) change = 'downgrade';
  else change = 'restore';
  const atOnce = change === 'upgrade' || change === 'remove' || change === 'restore';
  book.emit(is.account, 'plan.changed', {
    change,
    from_plan: was.plan,
    to_plan:
      change === 'downgrade' ? is.pendingPlan : change === 'cancel' || change === 'remove' ? null : is.plan,
    status: is.status,
    effective_at: time(atOnce ? now : nextCycleStart),
    granted_usd: usd(is.grantedUnits - was.grantedUnits),
    expired_usd: usd(change === 'remove' ? was.remainingUnits - is.remainingUnits : 0n),
  });
}
