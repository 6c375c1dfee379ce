/**
 * Creates an account (R2): a `subscription` account with a plan, an org member with a seat plan
 * (taking the org's anchor, R4), or an `api` account (pay-as-you-go only, never credit).
 */

import { cycleAt } from '../../core/cycles.ts';
import { isSeatPlan, planAt } from '../../core/plans.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { Book, rollAccount } from '../ledger.ts';
import { isResourceId } from '../limits.ts';
import type { AccountAggregate, AccountKind, AccountRow } from '../model.ts';
import { parseTime } from './create-org.ts';

export interface CreateAccountInput {
  id: string;
  kind: AccountKind;
  plan?: string | null;
  billing_anchor?: string | null;
  org_id?: string | null;
}

export async function createAccount(ctx: AppContext, input: CreateAccountInput): Promise<AccountRow> {
  if (!isResourceId(input.id))
    throw new AppError('invalid_request', 'id must match [A-Za-z0-9][A-Za-z0-9._:@-]{0,127}');
  if (input.kind !== 'subscription' && input.kind !== 'api') {
    throw new AppError('invalid_request', 'kind must be "subscription" or "api"');
  }
  const now = ctx.clock.now();
  const plan = input.plan ?? null;
  if (input.kind === 'api' && plan !== null)
    throw new AppError('invalid_request', 'an api account has no plan');
  if (input.kind === 'subscription') {
    if (plan === null) throw new AppError('invalid_request', 'a subscription account needs a plan');
    if (!planAt(plan, now, ctx.catalogues.plans)) throw new AppError('unknown_plan', `no plan ${plan}`);
    const seat = isSeatPlan(plan);
    if (seat && !input.org_id) throw new AppError('invalid_request', `${plan} is a seat: give org_id`);
    if (!seat && input.org_id)
      throw new AppError('invalid_request', `an org member's plan must be a seat plan, not ${plan}`);
  }
  return ctx.store.transaction(async (tx) => {
    if (await tx.getAccount(input.id)) throw new AppError('already_exists', `account ${input.id} exists`);
    let orgNo: number | null = null;
    let anchor: number;
    if (input.org_id) {
      const org = await tx.getOrg(input.org_id);
      if (!org) throw new AppError('not_found', `no org ${input.org_id}`);
      if (input.billing_anchor)
        throw new AppError('invalid_request', "an org member takes the org's billing anchor");
      orgNo = org.no;
      anchor = org.billingAnchor;
    } else {
      anchor = input.billing_anchor ? parseTime(input.billing_anchor, 'billing_anchor') : now;
    }
    const first = cycleAt(anchor, now);
    const row = await tx.insertAccount({
      id: input.id,
      kind: input.kind,
      plan,
      pendingPlan: null,
      status: 'active',
      orgNo,
      orgId: input.org_id ?? null,
      billingAnchor: anchor,
      createdAt: now,
      claimedAt: null,
      claimEffectiveAt: null,
      ucEnabled: false,
      ucMonthlyLimitUnits: null,
      memberLimitUnits: null,
      grantedThroughIndex: null,
      // Cycles before the account existed are closed by definition: records there are too old.
      closedThroughIndex: first.index - 1,
      sessionStart: null,
      sessionUsedUnits: 0n,
      weekStart: null,
      weekUsedUnits: 0n,
      lastActivityAt: null,
      nextSeq: 1,
      nextRollAt: null,
    });
    const agg = await tx.lockAccount(row.id);
    if (!agg) throw new Error('account vanished after insert');
    const book = new Book(now, ctx.alerts);
    rollAccount(book, agg as AccountAggregate, now, ctx.catalogues, null);
    await book.flush(tx);
    return agg.account;
  });
}
