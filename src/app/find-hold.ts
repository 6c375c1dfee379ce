/**
 * A hold as the transaction that locked (and rolled) its account sees it, for `settle` and `void`.
 */
import type { AccountAggregate, HoldRow } from './model.ts';
import type { ReadTx } from './ports.ts';

/**
 * The hold `holdId` of a locked, rolled account. `lockAccount` loads every active hold, so a row
 * still `active` in the database but missing from the aggregate was expired by this transaction's
 * own roll (a clock that moved past its expiry), whose new status is written only at flush: it is
 * answered as expired, and never released a second time (that would take its reservation off the
 * cycle's held figures twice).
 */
export async function findHold(
  tx: ReadTx,
  agg: AccountAggregate,
  holdId: string,
): Promise<HoldRow | undefined> {
  const active = agg.holds.get(holdId);
  if (active) return active;
  const stored = await tx.getHold(agg.account.no, holdId);
  return stored?.status === 'active' ? { ...stored, status: 'expired' } : stored;
}
