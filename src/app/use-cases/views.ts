/**
 * Read models (R17): the account view, statements and the entry listing. Every figure is read
 * from the cached cycle figures and breakdowns, which change only through `applyPosting`, so each
 * equals the sum of its journal entries to the unit (the verify test recomputes them). An account
 * due a roll is rolled first, so a read after a cycle's close shows the closed state (R8).
 */
import { cycleAt } from '../../core/cycles.ts';
import { roundHalfUpToCents } from '../../core/money.ts';
import { formatInstant, type Instant } from '../../core/time.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import {
  cycleCloseAt,
  needsRoll,
  planCredit,
  postingLegs,
  remainingCredit,
  sessionWindowMs,
  weekWindowMs,
  windowsAt,
} from '../ledger.ts';
import { entriesPageDefault, entriesPageMax } from '../limits.ts';
import type { AccountAggregate, CycleRow, OrgRow, Pool, PostingRow } from '../model.ts';
import type { ReadTx } from '../ports.ts';
import { lockOne } from '../scope.ts';

/** Reads an account, rolling it first in a transaction when something is due. */
export async function readAccount<T>(
  ctx: AppContext,
  accountId: string,
  fn: (tx: ReadTx, agg: AccountAggregate) => Promise<T>,
): Promise<T> {
  const now = ctx.clock.now();
  const due = await ctx.store.read(async (tx) => {
    const agg = await tx.getAccount(accountId);
    if (!agg) throw new AppError('not_found', `no account ${accountId}`);
    return needsRoll(agg, now);
  });
  if (due) {
    await ctx.store.transaction(async (tx) => {
      const { scope } = await lockOne(ctx, tx, accountId);
      await scope.book.flush(tx);
    });
  }
  return ctx.store.read(async (tx) => {
    const agg = await tx.getAccount(accountId);
    if (!agg) throw new AppError('not_found', `no account ${accountId}`);
    return fn(tx, agg);
  });
}

export interface AccountView {
  id: string;
  kind: string;
  plan: string | null;
  pending_plan: string | null;
  status: string;
  org_id: string | null;
  billing_anchor: string;
  cycle: { start: string; end: string };
  sdk_credit: {
    status: 'not_eligible' | 'unclaimed' | 'claimed';
    claimed_at: string | null;
    granted_usd: bigint;
    used_usd: bigint;
    held_usd: bigint;
    remaining_usd: bigint;
    expires_at: string;
    exhausted_at: string | null;
  };
  usage_credits: {
    enabled: boolean;
    monthly_limit_usd: bigint | null;
    member_limit_usd: bigint | null;
    spent_usd: bigint;
    held_usd: bigint;
  };
  subscription_limits: {
    session: { used_usd: bigint; limit_usd: bigint; resets_at: string | null };
    weekly: { used_usd: bigint; limit_usd: bigint; resets_at: string | null };
  } | null;
  /** The holder's third-party app policies (R16), by app name: what the dashboard's app table edits. */
  apps: { app: string; cycle_cap_usd: bigint | null; blocked: boolean }[];
  last_activity_at: string | null;
}

export function accountView(agg: AccountAggregate, now: Instant, ctx: AppContext): AccountView {
  const a = agg.account;
  const current = cycleAt(a.billingAnchor, now);
  const cycle = agg.cycles.get(current.start);
  const granted = cycle ? cycle.grantedUnits + cycle.creditAdjustedUnits : 0n;
  const held = cycle?.creditHeldUnits ?? 0n;
  const eligible = a.kind === 'subscription' && planCredit(a.plan, now, ctx.catalogues) !== null;
  const w = a.kind === 'subscription' ? windowsAt(a, now, ctx.catalogues) : null;
  const sessionOpen = a.sessionStart !== null && now < a.sessionStart + sessionWindowMs;
  const weekOpen = a.weekStart !== null && now < a.weekStart + weekWindowMs;
  return {
    id: a.id,
    kind: a.kind,
    plan: a.plan,
    pending_plan: a.pendingPlan,
    status: a.status,
    org_id: a.orgId,
    billing_anchor: formatInstant(a.billingAnchor),
    cycle: { start: formatInstant(current.start), end: formatInstant(current.end) },
    sdk_credit: {
      status:
        !eligible && a.claimedAt === null ? 'not_eligible' : a.claimedAt === null ? 'unclaimed' : 'claimed',
      claimed_at: a.claimedAt === null ? null : formatInstant(a.claimedAt),
      granted_usd: granted,
      used_usd: cycle?.creditUsedUnits ?? 0n,
      held_usd: held,
      remaining_usd: cycle ? remainingCredit(cycle) - held : 0n,
      expires_at: formatInstant(cycleCloseAt(current, ctx.catalogues)),
      exhausted_at: cycle?.exhaustedAt ? formatInstant(cycle.exhaustedAt) : null,
    },
    usage_credits: {
      enabled: a.ucEnabled,
      monthly_limit_usd: a.ucMonthlyLimitUnits,
      member_limit_usd: a.memberLimitUnits,
      spent_usd: cycle?.ucChargedUnits ?? 0n,
      held_usd: cycle?.ucHeldUnits ?? 0n,
    },
    subscription_limits: w
      ? {
          session: {
            used_usd: w.sessionUsedUnits,
            limit_usd: w.sessionLimitUnits,
            resets_at: sessionOpen ? formatInstant(w.sessionStart + sessionWindowMs) : null,
          },
          weekly: {
            used_usd: w.weekUsedUnits,
            limit_usd: w.weekLimitUnits,
            resets_at: weekOpen ? formatInstant(w.weekStart + weekWindowMs) : null,
          },
        }
      : null,
    apps: [...agg.apps.values()]
      .sort((x, y) => (x.app < y.app ? -1 : x.app > y.app ? 1 : 0))
      .map((p) => ({ app: p.app, cycle_cap_usd: p.cycleCapUnits, blocked: p.blocked })),
    last_activity_at: a.lastActivityAt === null ? null : formatInstant(a.lastActivityAt),
  };
}

export async function getAccountView(ctx: AppContext, accountId: string): Promise<AccountView> {
  return readAccount(ctx, accountId, async (_tx, agg) => accountView(agg, ctx.clock.now(), ctx));
}

export interface Statement {
  account_id: string;
  cycle: { start: string; end: string; index: number };
  closed: boolean;
  sdk_credit: {
    granted_usd: bigint;
    used_usd: bigint;
    adjusted_usd: bigint;
    expired_usd: bigint;
    held_usd: bigint;
    remaining_usd: bigint;
    exhausted_at: string | null;
  };
  usage_credits: { charged_usd: bigint; billed_usd: bigint; held_usd: bigint };
  subscription_usd: bigint;
  pay_as_you_go_usd: bigint;
  written_off_usd: bigint;
  adjustments_usd: bigint;
  by_surface: { surface: string; cost_usd: bigint }[];
  by_app: { app: string; cost_usd: bigint }[];
  by_model: { model: string; cost_usd: bigint }[];
}

/** `cycleStart` null = the current cycle. */
export async function getStatement(
  ctx: AppContext,
  accountId: string,
  cycleStart: Instant | null,
): Promise<Statement> {
  return readAccount(ctx, accountId, async (tx, agg) => {
    const a = agg.account;
    const now = ctx.clock.now();
    const wanted = cycleStart === null ? cycleAt(a.billingAnchor, now) : cycleAt(a.billingAnchor, cycleStart);
    if (cycleStart !== null && wanted.start !== cycleStart) {
      throw new AppError('not_found', `no cycle of ${accountId} starts at ${formatInstant(cycleStart)}`);
    }
    const row = agg.cycles.get(wanted.start) ?? (await tx.getCycle(a.no, wanted.start));
    if (!row && cycleStart !== null)
      throw new AppError('not_found', `no statement for the cycle starting ${formatInstant(cycleStart)}`);
    const c: CycleRow = row ?? { ...emptyFigures(a.no, wanted), closed: false };
    const dims = row ? await tx.getDims(a.no, wanted.start) : [];
    const adjustments = dims.filter((d) => d.dim === 'adjustment').reduce((t, d) => t + d.costUnits, 0n);
    const byDim = (dim: 'surface' | 'app' | 'model') =>
      dims.filter((d) => d.dim === dim && d.costUnits !== 0n).sort((x, y) => (x.key < y.key ? -1 : 1));
    return {
      account_id: a.id,
      cycle: { start: formatInstant(c.start), end: formatInstant(c.end), index: c.index },
      closed: c.closed,
      sdk_credit: {
        granted_usd: c.grantedUnits,
        used_usd: c.creditUsedUnits,
        adjusted_usd: c.creditAdjustedUnits,
        expired_usd: c.expiredUnits,
        held_usd: c.creditHeldUnits,
        remaining_usd: remainingCredit(c),
        exhausted_at: c.exhaustedAt === null ? null : formatInstant(c.exhaustedAt),
      },
      usage_credits: {
        charged_usd: c.ucChargedUnits,
        billed_usd: roundHalfUpToCents(c.ucChargedUnits),
        held_usd: c.ucHeldUnits,
      },
      subscription_usd: c.subscriptionUnits,
      pay_as_you_go_usd: c.paygUnits,
      written_off_usd: c.writtenOffUnits,
      adjustments_usd: adjustments,
      by_surface: byDim('surface').map((d) => ({ surface: d.key, cost_usd: d.costUnits })),
      by_app: byDim('app').map((d) => ({ app: d.key, cost_usd: d.costUnits })),
      by_model: byDim('model').map((d) => ({ model: d.key, cost_usd: d.costUnits })),
    };
  });
}

function emptyFigures(accountNo: number, cycle: { index: number; start: Instant; end: Instant }): CycleRow {
  return {
    accountNo,
    index: cycle.index,
    start: cycle.start,
    end: cycle.end,
    closed: false,
    grantedUnits: 0n,
    creditUsedUnits: 0n,
    expiredUnits: 0n,
    creditAdjustedUnits: 0n,
    ucChargedUnits: 0n,
    writtenOffUnits: 0n,
    subscriptionUnits: 0n,
    paygUnits: 0n,
    creditHeldUnits: 0n,
    ucHeldUnits: 0n,
    exhaustedAt: null,
    alertPercent: 0,
    expiringAt: null,
  };
}

export interface Entry {
  id: string;
  seq: number;
  at: string;
  kind: string;
  pool: Pool;
  amount_usd: bigint;
  ref: string | null;
  corrects: number | null;
  cycle_start: string;
  surface: string | null;
  app: string | null;
  model: string | null;
  note: string | null;
}

/** One entry per non-zero leg of a posting; ids are `<seq>.<pool>` so they are stable. */
export function entriesOf(p: PostingRow): Entry[] {
  const legs = postingLegs(p);
  const ref = p.idem === null ? null : p.idem.slice(2);
  return legs
    .filter(([, amount]) => amount !== 0n)
    .map(([pool, amount]) => ({
      id: `${p.seq}.${pool}`,
      seq: p.seq,
      at: formatInstant(p.at),
      kind: p.kind,
      pool,
      amount_usd: amount,
      ref,
      corrects: p.corrects,
      cycle_start: formatInstant(p.cycleStart),
      surface: p.surface,
      app: p.app,
      model: p.model,
      note: p.note,
    }));
}

export interface EntriesPage {
  entries: Entry[];
  next_cursor: string | null;
}

/** The cursor is the last seq returned: opaque to clients, stable under appends. */
export async function listEntries(
  ctx: AppContext,
  accountId: string,
  options: { cycleStart?: Instant; limit?: number; cursor?: string | null },
): Promise<EntriesPage> {
  const limit = options.limit ?? entriesPageDefault;
  if (!Number.isInteger(limit) || limit < 1 || limit > entriesPageMax) {
    throw new AppError('invalid_request', `limit must be 1 to ${entriesPageMax}`);
  }
  let afterSeq = 0;
  if (options.cursor) {
    if (!/^\d{1,15}$/.test(options.cursor)) throw new AppError('invalid_request', 'cursor is not valid');
    afterSeq = Number(options.cursor);
  }
  return readAccount(ctx, accountId, async (tx, agg) => {
    const postings = await tx.listPostings(agg.account.no, {
      cycleStart: options.cycleStart,
      afterSeq,
      limit,
    });
    return {
      entries: postings.flatMap(entriesOf),
      next_cursor: postings.length === limit ? String(postings[postings.length - 1]!.seq) : null,
    };
  });
}

export async function listCycles(
  ctx: AppContext,
  accountId: string,
): Promise<{ start: string; end: string; index: number; closed: boolean }[]> {
  return readAccount(ctx, accountId, async (tx, agg) => {
    const rows = await tx.listCycles(agg.account.no);
    return rows.map((c) => ({
      start: formatInstant(c.start),
      end: formatInstant(c.end),
      index: c.index,
      closed: c.closed,
    }));
  });
}

/** An org's row (its anchor and usage-credit policy), for `GET /v1/orgs/{id}`. */
export async function getOrg(ctx: AppContext, orgId: string): Promise<OrgRow> {
  const org = await ctx.store.read((tx) => tx.getOrg(orgId));
  if (!org) throw new AppError('not_found', `no org ${orgId}`);
  return org;
}

export async function listOrgMembers(ctx: AppContext, orgId: string): Promise<AccountView[]> {
  const org = await ctx.store.read((tx) => tx.getOrg(orgId));
  if (!org) throw new AppError('not_found', `no org ${orgId}`);
  const members = await ctx.store.read((tx) => tx.listOrgMembers(org.no));
  const views: AccountView[] = [];
  for (const member of members) views.push(await getAccountView(ctx, member.id));
  return views;
}
