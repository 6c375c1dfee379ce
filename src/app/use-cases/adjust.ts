/**
 * Corrections (R15): the journal is append-only, so every correction is a new posting that names
 * what it corrects.
 * - `adjustment`: an admin's signed amount on one pool of the current cycle (credit may not go
 *   below zero).
 * - `reversal`: the exact negation of a usage posting. In its own cycle while that cycle is open;
 *   once it is closed the expired credit cannot come back, so only the other legs are reversed, in
 *   the current cycle.
 * - `reclassification`: a usage re-booked under the other class (interactive ↔ programmatic) in
 *   its own open cycle: its legs are undone and the cost allocated again by the new class's rules.
 * Each carries a client id (R12): the same id and content replays the first answer.
 */
import { allocateCharge } from '../../core/allocator.ts';
import { cycleAt } from '../../core/cycles.ts';
import { type MoneyError, parseUsd } from '../../core/money.ts';
import { usageIdem } from '../book-usage.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import {
  addOrgSpend,
  availableCredit,
  type NewPosting,
  remainingCredit,
  usageCreditHeadroom,
} from '../ledger.ts';
import { isClientId, reasonLengthMax } from '../limits.ts';
import type { Pool, PostingRow, UsageClassName } from '../model.ts';
import type { ReadTx } from '../ports.ts';
import { lockOne, orgOf } from '../scope.ts';
import { requestHash } from '../usage-record.ts';

export interface AdjustInput {
  id: string;
  kind?: 'adjustment' | 'reversal' | 'reclassification';
  pool?: Pool;
  amount_usd?: string;
  reason: string;
  /** The usage record a reversal or reclassification corrects. */
  record_id?: string;
  to_class?: UsageClassName;
}

export interface AdjustResult {
  id: string;
  kind: string;
  seq: number;
  corrects: number | null;
  replayed: boolean;
}

const adjustablePools: readonly Pool[] = [
  'sdk_credit',
  'usage_credits',
  'written_off',
  'subscription',
  'pay_as_you_go',
];

export async function adjust(ctx: AppContext, accountId: string, input: AdjustInput): Promise<AdjustResult> {
  if (!isClientId(input.id)) throw new AppError('invalid_request', 'id must be a client id');
  if (
    typeof input.reason !== 'string' ||
    input.reason.length === 0 ||
    input.reason.length > reasonLengthMax
  ) {
    throw new AppError('invalid_request', `reason must be 1 to ${reasonLengthMax} characters`);
  }
  const kind = input.kind ?? 'adjustment';
  let amount = 0n;
  if (kind === 'adjustment') {
    if (!input.pool || !adjustablePools.includes(input.pool)) {
      throw new AppError('invalid_request', `pool must be one of ${adjustablePools.join(', ')}`);
    }
    try {
      amount = parseUsd(String(input.amount_usd), { allowNegative: true });
    } catch (error) {
      throw new AppError('invalid_request', `amount_usd: ${(error as MoneyError).message}`);
    }
    if (amount === 0n) throw new AppError('invalid_request', 'amount_usd must not be zero');
  } else if (kind === 'reversal' || kind === 'reclassification') {
    if (!isClientId(input.record_id))
      throw new AppError('invalid_request', 'record_id names the usage record to correct');
    if (
      kind === 'reclassification' &&
      input.to_class !== 'programmatic' &&
      input.to_class !== 'interactive'
    ) {
      throw new AppError('invalid_request', 'to_class must be "programmatic" or "interactive"');
    }
  } else {
    throw new AppError('invalid_request', 'kind must be adjustment, reversal or reclassification');
  }
  const idem = `a:${input.id}`;
  const hash = requestHash([
    accountId,
    kind,
    input.pool ?? null,
    amount.toString(),
    input.reason,
    input.record_id ?? null,
    input.to_class ?? null,
  ]);
  return ctx.store.transaction(async (tx) => {
    const { scope, agg } = await lockOne(ctx, tx, accountId);
    const book = scope.book;
    const account = agg.account;
    const prior = (await tx.findPostings(account.no, [idem])).get(idem);
    if (prior) {
      if (prior.hash !== hash)
        throw new AppError('idempotency_conflict', `adjustment ${input.id} exists with other content`);
      await book.flush(tx);
      return { id: input.id, kind: prior.kind, seq: prior.seq, corrects: prior.corrects, replayed: true };
    }
    const org = orgOf(scope, agg);
    const current = agg.cycles.get(cycleAt(account.billingAnchor, scope.now).start);
    if (!current) throw new Error('adjust: account not rolled');
    let posting: PostingRow;
    if (kind === 'adjustment') {
      const legs: NewPosting = { at: scope.now, kind: 'adjustment', idem, hash, note: input.reason };
      if (input.pool === 'sdk_credit') {
        if (remainingCredit(current) - current.creditHeldUnits + amount < 0n) {
          throw new AppError('insufficient_credit', 'the adjustment would take the credit below zero');
        }
        legs.creditUnits = amount;
      } else if (input.pool === 'usage_credits') legs.ucUnits = amount;
      else if (input.pool === 'written_off') legs.writtenOffUnits = amount;
      else if (input.pool === 'subscription') legs.subscriptionUnits = amount;
      else legs.paygUnits = amount;
      posting = book.post(agg, current, legs);
      addOrgSpend(book, org, current.start, posting.ucUnits, 0n);
    } else {
      const recordId = input.record_id as string;
      const original = (await tx.findPostings(account.no, [usageIdem(recordId)])).get(usageIdem(recordId));
      if (!original) throw new AppError('not_found', `no usage record ${recordId}`);
      if (await isCorrected(tx, account.no, original.seq)) {
        throw new AppError('invalid_request', `record ${recordId} was already corrected`);
      }
      const own = agg.cycles.get(original.cycleStart);
      if (kind === 'reclassification' && !own) {
        throw new AppError('event_too_old', 'the cycle of that record is closed; reverse it instead');
      }
      const target = own ?? current;
      const undo: NewPosting = {
        at: scope.now,
        kind,
        idem,
        hash,
        corrects: original.seq,
        note: input.reason,
        creditUnits: own ? -original.creditUnits : 0n,
        ucUnits: -original.ucUnits,
        writtenOffUnits: -original.writtenOffUnits,
        subscriptionUnits: -original.subscriptionUnits,
        paygUnits: -original.paygUnits,
        costUnits: kind === 'reversal' ? original.costUnits : 0n,
        usageClass: kind === 'reclassification' ? (input.to_class as UsageClassName) : original.usageClass,
        surface: original.surface,
        app: original.app,
        model: original.model,
      };
      if (kind === 'reclassification') {
        // Undo the old legs in place, then split the cost again under the new class.
        target.creditUsedUnits += original.creditUnits;
        target.ucChargedUnits -= original.ucUnits;
        let again = { creditUnits: 0n, ucUnits: 0n, writtenOffUnits: 0n };
        let subscription = 0n;
        if (input.to_class === 'programmatic' && account.claimEffectiveAt !== null) {
          again = allocateCharge(
            original.costUnits,
            availableCredit(target),
            usageCreditHeadroom(agg, target, org),
          );
        } else {
          subscription = original.costUnits;
        }
        target.creditUsedUnits -= original.creditUnits;
        target.ucChargedUnits += original.ucUnits;
        undo.creditUnits = (undo.creditUnits ?? 0n) - again.creditUnits;
        undo.ucUnits = (undo.ucUnits ?? 0n) + again.ucUnits;
        undo.writtenOffUnits = (undo.writtenOffUnits ?? 0n) + again.writtenOffUnits;
        undo.subscriptionUnits = (undo.subscriptionUnits ?? 0n) + subscription;
      }
      posting = book.post(agg, target, undo);
      addOrgSpend(book, org, target.start, posting.ucUnits, 0n);
    }
    await book.flush(tx);
    return { id: input.id, kind, seq: posting.seq, corrects: posting.corrects, replayed: false };
  });
}

/** Stores page postings at most 10,000 at a time (`pageLimitMax`); a correction is looked for page by page. */
const correctionScanPage = 5000;

async function isCorrected(tx: ReadTx, accountNo: number, seq: number): Promise<boolean> {
  let afterSeq = seq;
  for (;;) {
    const page = await tx.listPostings(accountNo, { afterSeq, limit: correctionScanPage });
    if (page.some((p) => p.corrects === seq)) return true;
    if (page.length < correctionScanPage) return false;
    afterSeq = page[page.length - 1]!.seq;
  }
}
