/**
 * `recordUsage`: a batch of up to 1000 usage records, each with its own result in the same order
 * (R12, R13: refused records are reported back, never dropped). The batch is one transaction:
 * every record is checked, priced and booked, and all are acknowledged together once durable.
 *
 * Idempotency (R12) is optimistic: a batch is first booked without looking its ids up, and the
 * journal's unique (account, id) index refuses a row whose id was booked before; the store then
 * rolls the whole batch back (`duplicate`) and it is booked again with every id looked up first,
 * so replays and conflicts get their answers. New records, nearly all of them, skip a lookup per
 * record; a batch holding a repeat pays one rolled-back attempt.
 */

import { bookUsage, usageIdem } from '../book-usage.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { usageBatchMax } from '../limits.ts';
import type { PostingRow } from '../model.ts';
import type { Tx } from '../ports.ts';
import { lockScope, orgOf } from '../scope.ts';
import { StoreError } from '../store-error.ts';
import { type PreparedRecord, prepareRecord, rejected, type UsageResult } from '../usage-record.ts';

export async function recordUsage(ctx: AppContext, records: readonly unknown[]): Promise<UsageResult[]> {
  if (records.length === 0) throw new AppError('invalid_request', 'records must hold at least one record');
  if (records.length > usageBatchMax) {
    throw new AppError(
      'batch_too_large',
      `at most ${usageBatchMax} records per batch, got ${records.length}`,
    );
  }
  try {
    return await ctx.store.transaction((tx) => bookBatch(ctx, tx, records, false));
  } catch (error) {
    if (!(error instanceof StoreError) || error.code !== 'duplicate') throw error;
    return ctx.store.transaction((tx) => bookBatch(ctx, tx, records, true));
  }
}

/** Books a batch in `tx`; `lookUp`: find earlier bookings of its ids first (else the index refuses them). */
async function bookBatch(
  ctx: AppContext,
  tx: Tx,
  records: readonly unknown[],
  lookUp: boolean,
): Promise<UsageResult[]> {
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
      if (!agg) return undefined;
      if (!lookUp) return new Map<string, PostingRow>();
      return tx.findPostings(
        agg.account.no,
        list.map(({ record }) => usageIdem(record.id)),
      );
    }),
  );
  /** Ids refused without a lookup, by account number. */
  const refused = new Map<number, string[]>();
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
      else if (!lookUp) {
        // Refused on its account's state: had the id been booked before, the answer would be
        // that booking's (R12), whatever the state now. Only these need looking up.
        let ids = refused.get(agg.account.no);
        if (!ids) {
          ids = [];
          refused.set(agg.account.no, ids);
        }
        ids.push(idem);
      }
      results[index] = result;
    }
  }
  if (refused.size > 0) {
    const found = await Promise.all([...refused].map(([no, idems]) => tx.findPostings(no, idems)));
    if (found.some((hits) => hits.size > 0)) {
      throw new StoreError(
        'duplicate',
        'a refused record of this batch was booked before: book it again looked up',
      );
    }
  }
  await scope.book.flush(tx);
  return results;
}
