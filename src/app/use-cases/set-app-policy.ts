/** Third-party app policy (R16): a per-cycle spend cap and a block switch, per account and app. */
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { isName } from '../limits.ts';
import type { AppPolicyRow } from '../model.ts';
import { lockOne } from '../scope.ts';
import { parseLimit } from './set-usage-credits.ts';

export interface AppPolicyInput {
  cycle_cap_usd?: string | null;
  blocked?: boolean;
}

export async function setAppPolicy(
  ctx: AppContext,
  accountId: string,
  app: string,
  input: AppPolicyInput,
): Promise<AppPolicyRow> {
  if (!isName(app)) throw new AppError('invalid_request', 'app must be a name of 1 to 128 characters');
  if (input.blocked !== undefined && typeof input.blocked !== 'boolean') {
    throw new AppError('invalid_request', 'blocked must be a boolean');
  }
  const cap =
    input.cycle_cap_usd === undefined ? undefined : parseLimit(input.cycle_cap_usd, 'cycle_cap_usd');
  return ctx.store.transaction(async (tx) => {
    const { scope, agg } = await lockOne(ctx, tx, accountId);
    const row = agg.apps.get(app) ?? { accountNo: agg.account.no, app, cycleCapUnits: null, blocked: false };
    if (cap !== undefined) row.cycleCapUnits = cap;
    if (input.blocked !== undefined) row.blocked = input.blocked;
    agg.apps.set(app, row);
    await tx.saveApp(row);
    await scope.book.flush(tx);
    return row;
  });
}
