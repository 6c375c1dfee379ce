/**
 * `authorize` (R11): allow or deny, with the reason and the source that will pay. With a hold, the
 * estimate is reserved in R6 order and expires after its TTL. Without a hold nothing is written
 * (unless the account is due a roll), which keeps the gate a read of cached state.
 */
import { cycleAt } from '../../core/cycles.ts';
import { type MoneyError, parseUsd } from '../../core/money.ts';
import { policyAt } from '../../core/policy.ts';
import { price } from '../../core/prices/index.ts';
import { classifySurface } from '../../core/surfaces.ts';
import { formatInstant, type Instant } from '../../core/time.ts';
import type { AppContext } from '../context.ts';
import { type Decision, type DenyReason, decide, type Source } from '../decide.ts';
import { AppError } from '../errors.ts';
import { addOrgSpend, needsRoll, nextRollAt, type OrgScope } from '../ledger.ts';
import { isClientId, isName, isResourceId } from '../limits.ts';
import type { AccountAggregate, HoldRow, OrgCycleRow, UsageClassName } from '../model.ts';
import type { ReadTx } from '../ports.ts';
import { lockOne } from '../scope.ts';
import { canonical, requestHash } from '../usage-record.ts';

export interface AuthorizeInput {
  account_id: string;
  surface: string;
  app?: string | null;
  model?: string | null;
  hold?: {
    id: string;
    estimate_usd?: string;
    estimate_usage?: Record<string, unknown>;
    ttl_seconds?: number;
  } | null;
}

export interface AuthorizeResult {
  decision: 'allow' | 'deny';
  reason: DenyReason | null;
  source: Source | null;
  hold: { id: string; amount_usd: bigint; expires_at: string } | null;
  retry_at: string | null;
  class: UsageClassName;
  replayed: boolean;
}

interface Checked {
  accountId: string;
  surface: string;
  app: string | null;
  model: string | null;
  usageClass: UsageClassName;
  hold: { id: string; estimateUnits: bigint; ttlMs: number; hash: string } | null;
}

function check(ctx: AppContext, input: AuthorizeInput, now: Instant): Checked {
  if (!isResourceId(input.account_id))
    throw new AppError('invalid_request', 'account_id must be an account id');
  if (!isName(input.surface))
    throw new AppError('invalid_request', 'surface must be a string of 1 to 128 characters');
  const app = input.app ?? null;
  if (app !== null && !isName(app)) throw new AppError('invalid_request', 'app must be null or a name');
  const model = input.model ?? null;
  if (model !== null && !isName(model))
    throw new AppError('invalid_request', 'model must be null or a model id');
  const classified = classifySurface(input.surface, app, now, ctx.catalogues.surfaces);
  if (!classified.ok) throw new AppError('unknown_surface', classified.detail);
  let hold: Checked['hold'] = null;
  if (input.hold) {
    const h = input.hold;
    if (!isClientId(h.id)) throw new AppError('invalid_request', 'hold.id must be a client id');
    const policy = policyAt(now, ctx.catalogues.policy);
    const ttlMs = h.ttl_seconds === undefined ? policy.holdTtlDefaultMs : h.ttl_seconds * 1000;
    if (!Number.isInteger(ttlMs) || ttlMs < 1000 || ttlMs > policy.holdTtlMaxMs) {
      throw new AppError(
        'invalid_request',
        `hold.ttl_seconds must be an integer from 1 to ${policy.holdTtlMaxMs / 1000}`,
      );
    }
    let estimateUnits = 0n;
    if (h.estimate_usd !== undefined && h.estimate_usage !== undefined) {
      throw new AppError('invalid_request', 'give hold.estimate_usd or hold.estimate_usage, not both');
    }
    if (h.estimate_usd !== undefined) {
      try {
        estimateUnits = parseUsd(h.estimate_usd);
      } catch (error) {
        throw new AppError('invalid_request', `hold.estimate_usd: ${(error as MoneyError).message}`);
      }
    } else if (h.estimate_usage !== undefined) {
      if (model === null) throw new AppError('invalid_request', 'hold.estimate_usage needs a model');
      const priced = price(model, h.estimate_usage, now, ctx.catalogues.prices);
      if (!priced.ok)
        throw new AppError(
          priced.code === 'unknown_model' ? 'unknown_model' : 'invalid_request',
          priced.detail,
        );
      estimateUnits = priced.totalUnits;
    }
    const hash = requestHash([
      input.account_id,
      input.surface,
      app,
      model,
      estimateUnits.toString(),
      ttlMs,
      canonical(h.estimate_usage ?? null),
    ]);
    hold = { id: h.id, estimateUnits, ttlMs, hash };
  }
  return {
    accountId: input.account_id,
    surface: input.surface,
    app,
    model,
    usageClass: classified.usageClass,
    hold,
  };
}

function answer(
  d: Pick<Decision, 'allow' | 'reason' | 'source' | 'retryAt'>,
  c: Checked,
  hold: AuthorizeResult['hold'],
  replayed: boolean,
): AuthorizeResult {
  return {
    decision: d.allow ? 'allow' : 'deny',
    reason: d.reason,
    source: d.source,
    hold,
    retry_at: d.retryAt === null ? null : formatInstant(d.retryAt),
    class: c.usageClass,
    replayed,
  };
}

async function readOrgScope(tx: ReadTx, agg: AccountAggregate, now: Instant): Promise<OrgScope | null> {
  if (agg.account.orgNo === null) return null;
  const org = await tx.getOrgByNo(agg.account.orgNo);
  if (!org) return null;
  const counters = new Map<Instant, OrgCycleRow>();
  const start = cycleAt(org.billingAnchor, now).start;
  const counter = await tx.getOrgCycle(org.no, start);
  counters.set(start, counter ?? { orgNo: org.no, cycleStart: start, ucSpentUnits: 0n, ucHeldUnits: 0n });
  return { org, counters };
}

export async function authorize(ctx: AppContext, input: AuthorizeInput): Promise<AuthorizeResult> {
  const now = ctx.clock.now();
  const c = check(ctx, input, now);
  if (c.hold === null && ctx.store.kind === 'postgres') {
    // The gate without a hold writes nothing. On PostgreSQL a lock-free read keeps concurrent
    // gateways from queueing on the account's row lock. On SQLite the write-free transaction below
    // is the fast path: it answers from the single writer's cached aggregate without a lock scope,
    // commits nothing, and sees every acknowledged write (a read connection would load from disk).
    const fast = await ctx.store.read(async (tx) => {
      const agg = await tx.getAccount(c.accountId);
      if (!agg) throw new AppError('not_found', `no account ${c.accountId}`);
      if (needsRoll(agg, now)) return null;
      const org = await readOrgScope(tx, agg, now);
      return decide(
        agg,
        org,
        { usageClass: c.usageClass, app: c.app, estimateUnits: null },
        now,
        ctx.catalogues,
      );
    });
    if (fast) return answer(fast, c, null, false);
  }
  return ctx.store.transaction(async (tx) => {
    if (c.hold === null && ctx.store.kind === 'sqlite' && tx.peekAccount !== undefined) {
      // SQLite has one writer that runs its transactions one at a time: inside one, the cached
      // aggregate is the account's latest state, and nothing else can change it before this
      // transaction ends. A gate that writes nothing then needs no lock scope (its sets, maps and
      // book were most of the gate's cost and garbage): it decides from the aggregate as it stands,
      // at the transaction's own time as the locked path would, unless a roll is due, which the
      // locked path below books. The same rule as the PostgreSQL read above (`needsRoll`).
      const at = ctx.clock.now();
      const peeked = await tx.peekAccount(c.accountId);
      if (peeked && !needsRoll(peeked, at)) {
        const org = await readOrgScope(tx, peeked, at);
        const d = decide(
          peeked,
          org,
          { usageClass: c.usageClass, app: c.app, estimateUnits: null },
          at,
          ctx.catalogues,
        );
        return answer(d, c, null, false);
      }
    }
    const { scope, agg } = await lockOne(ctx, tx, c.accountId);
    const org = agg.account.orgNo === null ? null : (scope.orgs.get(agg.account.orgNo) ?? null);
    const at = scope.now;
    if (c.hold === null) {
      const d = decide(
        agg,
        org,
        { usageClass: c.usageClass, app: c.app, estimateUnits: null },
        at,
        ctx.catalogues,
      );
      await scope.book.flush(tx);
      return answer(d, c, null, false);
    }
    const h = c.hold;
    const existing = agg.holds.get(h.id) ?? (await tx.getHold(agg.account.no, h.id));
    if (existing) {
      if (existing.hash !== h.hash)
        throw new AppError('idempotency_conflict', `hold ${h.id} exists with other content`);
      await scope.book.flush(tx);
      const replay = { allow: true, reason: null, source: existing.source as Source, retryAt: null };
      return answer(
        replay,
        c,
        {
          id: existing.id,
          amount_usd: existing.estimateUnits,
          expires_at: formatInstant(existing.expiresAt),
        },
        true,
      );
    }
    const d = decide(
      agg,
      org,
      { usageClass: c.usageClass, app: c.app, estimateUnits: h.estimateUnits },
      at,
      ctx.catalogues,
    );
    if (!d.allow) {
      await scope.book.flush(tx);
      return answer(d, c, null, false);
    }
    const hold: HoldRow = {
      accountNo: agg.account.no,
      id: h.id,
      cycleStart: d.cycle.start,
      createdAt: at,
      expiresAt: Math.min(
        at + h.ttlMs,
        d.cycle.end + policyAt(d.cycle.end, ctx.catalogues.policy).lateGraceMs,
      ),
      status: 'active',
      creditUnits: d.creditUnits,
      ucUnits: d.ucUnits,
      estimateUnits: h.estimateUnits,
      usageClass: c.usageClass,
      source: d.source ?? 'sdk_credit',
      surface: c.surface,
      app: c.app,
      model: c.model,
      hash: h.hash,
      settledRecordId: null,
    };
    d.cycle.creditHeldUnits += d.creditUnits;
    d.cycle.ucHeldUnits += d.ucUnits;
    agg.holds.set(hold.id, hold);
    scope.book.touchCycle(d.cycle);
    scope.book.touchHold(hold);
    addOrgSpend(scope.book, org, d.cycle.start, 0n, d.ucUnits);
    agg.account.nextRollAt = nextRollAt(agg, ctx.catalogues);
    scope.book.touchAccount(agg.account);
    await scope.book.flush(tx);
    return answer(
      d,
      c,
      { id: hold.id, amount_usd: hold.estimateUnits, expires_at: formatInstant(hold.expiresAt) },
      false,
    );
  });
}
