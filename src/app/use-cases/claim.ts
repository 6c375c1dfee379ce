/**
 * `claim` (R5): once per account. Grants the full credit for the current cycle at once and a new
 * grant at every later cycle start. A second claim returns the first. A claim made before the
 * policy's effective instant takes effect then (its grant lands at that instant).
 */

import { cycleAt } from '../../core/cycles.ts';
import { policyAt, sdkCreditEffectiveFrom } from '../../core/policy.ts';
import { formatInstant } from '../../core/time.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { cycleData, usd } from '../events.ts';
import { planCredit, rollAccount } from '../ledger.ts';
import { lockOne, orgOf } from '../scope.ts';

export interface ClaimResult {
  status: 'claimed';
  claimed_at: string;
  effective_at: string;
  replayed: boolean;
}

export async function claim(ctx: AppContext, accountId: string): Promise<ClaimResult> {
  return ctx.store.transaction(async (tx) => {
    const { scope, agg } = await lockOne(ctx, tx, accountId);
    const account = agg.account;
    if (account.claimedAt !== null && account.claimEffectiveAt !== null) {
      await scope.book.flush(tx);
      return {
        status: 'claimed',
        claimed_at: formatInstant(account.claimedAt),
        effective_at: formatInstant(account.claimEffectiveAt),
        replayed: true,
      };
    }
    const now = scope.now;
    if (account.kind === 'api')
      throw new AppError('not_eligible', 'API-key accounts stay pay-as-you-go (R2)');
    if (account.status !== 'active') throw new AppError('not_eligible', `the account is ${account.status}`);
    if (planCredit(account.plan, now, ctx.catalogues) === null) {
      throw new AppError('not_eligible', `plan ${account.plan} has no Agent SDK credit (R2)`);
    }
    // The first version with the credit active, at or after now, is when the claim takes effect.
    const effectiveAt = policyAt(now, ctx.catalogues.policy).sdkCreditActive
      ? now
      : (ctx.catalogues.policy.find((v) => v.effectiveFrom > now && v.sdkCreditActive)?.effectiveFrom ??
        Math.max(now, sdkCreditEffectiveFrom));
    account.claimedAt = now;
    account.claimEffectiveAt = effectiveAt;
    scope.book.touchAccount(account);
    rollAccount(scope.book, agg, now, ctx.catalogues, orgOf(scope, agg));
    const cycle = agg.cycles.get(cycleAt(account.billingAnchor, now).start);
    scope.book.emit(account, 'credit.claimed', {
      plan: account.plan,
      claimed_at: formatInstant(now),
      effective_at: formatInstant(effectiveAt),
      cycle: cycle ? cycleData(cycle) : null,
      // Zero when the claim takes effect later (R5): the grant lands then.
      granted_usd: usd(cycle?.grantedUnits ?? 0n),
    });
    await scope.book.flush(tx);
    return {
      status: 'claimed',
      claimed_at: formatInstant(now),
      effective_at: formatInstant(effectiveAt),
      replayed: false,
    };
  });
}
