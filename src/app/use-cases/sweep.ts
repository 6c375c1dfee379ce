/**
 * The periodic sweep: rolls every account with something due (a cycle to open or close, a hold to
 * expire), so closes happen even for accounts nobody touches. Reads also roll lazily, so a missed
 * sweep changes nothing but timing. Safe to run from several processes at once: each account is
 * rolled under its lock, and a second roll of the same account at the same instant books nothing.
 */
import type { AppContext } from '../context.ts';
import { lockScope } from '../scope.ts';

/** Accounts rolled per transaction: small enough to keep each transaction short. */
export const sweepBatchSize = 100;

export async function sweepDue(ctx: AppContext, maxAccounts = 10_000): Promise<number> {
  let rolled = 0;
  while (rolled < maxAccounts) {
    const now = ctx.clock.now();
    const due = await ctx.store.read((tx) =>
      tx.listAccountsDue(now, Math.min(sweepBatchSize, maxAccounts - rolled)),
    );
    if (due.length === 0) break;
    await ctx.store.transaction(async (tx) => {
      const scope = await lockScope(ctx, tx, due);
      await scope.book.flush(tx);
    });
    rolled += due.length;
    if (due.length < sweepBatchSize) break;
  }
  return rolled;
}
