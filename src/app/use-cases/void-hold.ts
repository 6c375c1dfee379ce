/**
 * `void` (R11): releases a hold's reservation. Voiding a voided or expired hold again answers the
 * same; voiding a settled hold is refused (its usage is booked; correct it with a reversal).
 */
import { formatInstant } from '../../core/time.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { findHold } from '../find-hold.ts';
import { nextRollAt, releaseHold } from '../ledger.ts';
import type { HoldStatus } from '../model.ts';
import { lockOne, orgOf } from '../scope.ts';

export interface VoidResult {
  id: string;
  account_id: string;
  status: HoldStatus;
  released_usd: bigint;
  expires_at: string;
}

export async function voidHold(ctx: AppContext, holdId: string, accountId?: string): Promise<VoidResult> {
  let owner = accountId;
  if (owner === undefined) {
    const owners = await ctx.store.read((tx) => tx.findHoldAccounts(holdId, 2));
    if (owners.length === 0) throw new AppError('not_found', `no hold ${holdId}`);
    if (owners.length > 1)
      throw new AppError('hold_ambiguous', `hold id ${holdId} is used by several accounts; pass account_id`);
    owner = owners[0]!;
  }
  const accountIdOfHold = owner;
  return ctx.store.transaction(async (tx) => {
    const { scope, agg } = await lockOne(ctx, tx, accountIdOfHold);
    const hold = await findHold(tx, agg, holdId);
    if (!hold) throw new AppError('not_found', `no hold ${holdId} on account ${accountIdOfHold}`);
    if (hold.status === 'settled') throw new AppError('hold_not_active', `hold ${holdId} was settled`);
    const released = hold.status === 'active' ? hold.creditUnits + hold.ucUnits : 0n;
    if (hold.status === 'active') releaseHold(scope.book, agg, hold, 'voided', orgOf(scope, agg));
    agg.account.nextRollAt = nextRollAt(agg, ctx.catalogues);
    scope.book.touchAccount(agg.account);
    await scope.book.flush(tx);
    return {
      id: hold.id,
      account_id: accountIdOfHold,
      status: hold.status,
      released_usd: released,
      expires_at: formatInstant(hold.expiresAt),
    };
  });
}
