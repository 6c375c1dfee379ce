/**
 * `recordUsage`: a batch of up to 1000 usage records, each with its own result in the same order
 * (R12, R13: refused records are reported back, never dropped). The batch is one transaction:
 * every record is checked, priced and booked, and all are acknowledged together once durable.
 */

import { bookUsage, usageIdem } from '../book-usage.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { usageBatchMax } from '../limits.ts';
import { lockScope, orgOf } from '../scope.ts';
import { type PreparedRecord, prepareRecord, rejected, type UsageResult } from '../usage-record.ts';

export async function recordUsage(ctx: AppContext, records: readonly unknown[]): Promise<UsageResult[]> {
  if (records.length === 0) throw new AppError('invalid_request', 'records must hold at least one record');
  if (records.length > usageBatchMax) {
    throw new AppError(
      'batch_too_large',
      `at most ${usageBatchMax} records per batch, got ${records.length}`,
    );
  }
  return ctx.store.transaction(async (tx) => {
    const now = ctx.clock.now();
    const results: UsageResult[] = new Array(records.length);
    const byAccount = new Map<string, { index: number; record: PreparedRecord }[]>();
    for (let i = 0; i < records.length; i++) {
      const prepared = prepareRecord(records[i], now, ctx.catalogues);
      if (!prepared.ok) {
        results[i] = prepared.result;
        continue;
      }
      const list = byAccount.get(prepared.record.accountId);
      if (list) list.push({ index: i, record: prepared.record });
      else byAccount.set(prepared.record.accountId, [{ index: i, record: prepared.record }]);
    }
    const scope = await lockScope(ctx, tx, byAccount.keys());
    // Earlier bookings under these ids (R12), looked up for every account at once (one round trip
    // on PostgreSQL, where the adapter coalesces concurrent lookups).
    const found = await Promise.all(
      [...byAccount].map(([accountId, list]) => {
        const agg = scope.accounts.get(accountId);
        return agg
          ? tx.findPostings(
              agg.account.no,
              list.map(({ record }) => usageIdem(record.id)),
            )
          : undefined;
      }),
    );
    for (const [k, [accountId, list]] of [...byAccount].entries()) {
      const agg = scope.accounts.get(accountId);
      const existing = found[k];
      if (!agg || !existing) {
        for (const { index, record } of list)
          results[index] = rejected(record.id, 'not_found', `no account ${accountId}`);
        continue;
      }
      const org = orgOf(scope, agg);
      for (const { index, record } of list) {
        const idem = usageIdem(record.id);
        const result = bookUsage(scope.book, agg, org, record, existing.get(idem), ctx.catalogues);
        // A record repeated inside the batch replays the copy booked a moment ago.
        if (result.status === 'recorded')
          existing.set(idem, scope.book.postings[scope.book.postings.length - 1]!);
        results[index] = result;
      }
    }
    await scope.book.flush(tx);
    return results;
  });
}
