/**
 * `settle` (R11): replaces a hold with the priced usage. The hold's reservation is released first,
 * then the record is booked like any usage record, so the reservation is what pays first and an
 * actual cost above the estimate is the only overshoot. Settling again with the same record
 * replays the first result; a hold that already expired still books the usage (it happened).
 */

import { bookUsage, type HoldReservation, usageIdem } from '../book-usage.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { findHold } from '../find-hold.ts';
import { nextRollAt, releaseHold } from '../ledger.ts';
import { lockOne, orgOf } from '../scope.ts';
import { prepareRecord, type UsageResult } from '../usage-record.ts';

export async function settleHold(ctx: AppContext, holdId: string, record: unknown): Promise<UsageResult> {
  const now = ctx.clock.now();
  const prepared = prepareRecord(record, now, ctx.catalogues);
  if (!prepared.ok) return prepared.result;
  const rec = prepared.record;
  return ctx.store
    .transaction(async (tx) => {
      const { scope, agg } = await lockOne(ctx, tx, rec.accountId);
      const hold = await findHold(tx, agg, holdId);
      if (!hold) throw new AppError('not_found', `no hold ${holdId} on account ${rec.accountId}`);
      if (hold.status === 'settled' && hold.settledRecordId !== rec.id) {
        throw new AppError('hold_not_active', `hold ${holdId} was settled by record ${hold.settledRecordId}`);
      }
      if (hold.status === 'voided') throw new AppError('hold_not_active', `hold ${holdId} was voided`);
      const org = orgOf(scope, agg);
      let reserved: HoldReservation | null = null;
      if (hold.status === 'active') {
        reserved = { cycleStart: hold.cycleStart, source: hold.source, ucUnits: hold.ucUnits };
        releaseHold(scope.book, agg, hold, 'settled', org);
        hold.settledRecordId = rec.id;
      } else if (hold.status === 'expired') {
        // Expired, perhaps by this transaction's own roll: that copy of the row is written first at
        // flush, so this later write of the same hold is the one that stays.
        hold.status = 'settled';
        hold.settledRecordId = rec.id;
        scope.book.touchHold(hold);
      }
      const existing = (await tx.findPostings(agg.account.no, [usageIdem(rec.id)])).get(usageIdem(rec.id));
      const result = bookUsage(scope.book, agg, org, rec, existing, ctx.catalogues, reserved);
      if (result.status === 'rejected') {
        // Nothing of a refused settle may stick: not even the released hold.
        throw new RejectedSettle(result);
      }
      agg.account.nextRollAt = nextRollAt(agg, ctx.catalogues);
      scope.book.touchAccount(agg.account);
      await scope.book.flush(tx);
      return result;
    })
    .catch((error: unknown) => {
      if (error instanceof RejectedSettle) return error.result;
      throw error;
    });
}

/** Carries a refused record out of the transaction, rolling the transaction back. */
class RejectedSettle extends Error {
  readonly result: UsageResult;
  constructor(result: UsageResult) {
    super('settle refused');
    this.result = result;
  }
}
