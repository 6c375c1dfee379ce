/**
 * One plan's replay through the real engine: the app layer's use cases (createOrg, createAccount,
 * setUsageCredits, claim, recordUsage, getStatement) on a private in-memory SQLite store, with a
 * `ManualClock` that follows the records. Nothing here decides money: every charge, grant,
 * exhaustion and expiry is the engine's; this module only drives the clock, books in batches and
 * reads the statements back.
 *
 * Driving the clock (R8, R13): the engine refuses a record whose cycle is closed (`event_too_old`)
 * and one dated more than the skew ahead of its clock (`event_in_future`). Records are booked in
 * time order, in batches that never cross a billing cycle (nor the claim instant), with the clock
 * set to the batch's last record: every record of a batch is then at or before the clock, and its
 * cycle, the clock's own, is open. No record is lost to a closed cycle.
 */
import { openSqliteStore } from '../adapters/storage/sqlite/index.ts';
import {
  type AppContext,
  type Catalogues,
  claim,
  createAccount,
  createOrg,
  getStatement,
  ManualClock,
  recordUsage,
  setUsageCredits,
  type UsageResult,
} from '../app/index.ts';
import { usageBatchMax } from '../app/limits.ts';
import { cycleAt, cycleByIndex } from '../core/cycles.ts';
import { formatUsd } from '../core/money.ts';
import { isSeatPlan, planAt, sessionWindowMs, weeklyWindowMs } from '../core/plans.ts';
import { policyAt, usagePool } from '../core/policy.ts';
import { formatInstant, type Instant } from '../core/time.ts';
import { type ReplayRecord, replayAccountId } from './inputs.ts';

/** The org a seat plan's account belongs to (team and enterprise seats need one, R2). */
export const replayOrgId = 'replay-org';

export interface EngineOptions {
  plan: string;
  /** The billing anchor (R4): cycles are months from it. */
  anchor: Instant;
  /** When the credit is claimed (R5); a claim before the policy takes effect then. */
  claimedAt: Instant;
  usageCredits: boolean;
  /** The account's monthly usage-credit limit; null = unlimited. */
  usageCreditLimitUnits: bigint | null;
  catalogues: Catalogues;
  /** Called after each batch with the records booked so far. */
  onProgress?: (booked: number) => void;
}

/** A subscription window (R10) that turned records away: they went to usage credits or were written off. */
export interface WindowLimit {
  window: 'session' | 'week';
  start: Instant;
  end: Instant;
  /** occurred_at of the first record the window turned away. */
  limitedAt: Instant;
  /** Records turned away by it. */
  records: number;
  /** Their cost (paid by usage credits, or written off). */
  overUnits: bigint;
}

export interface CycleReplay {
  index: number;
  start: Instant;
  end: Instant;
  /** Records booked in the cycle (replays and refusals not included). */
  records: number;
  programmaticUnits: bigint;
  interactiveUnits: bigint;
  /** The engine's statement figures for the cycle (R17). */
  grantedUnits: bigint;
  creditUsedUnits: bigint;
  expiredUnits: bigint;
  exhaustedAt: string | null;
  usageCreditsUnits: bigint;
  usageCreditsBilledUnits: bigint;
  writtenOffUnits: bigint;
  subscriptionUnits: bigint;
  windowsLimited: WindowLimit[];
}

export interface PlanReplay {
  plan: string;
  cycles: CycleReplay[];
  booked: { programmatic: number; interactive: number };
  /** Records the engine answered as replays of an id already booked (R12). */
  replayed: number;
  /** Refusals by code (unknown_model, unknown_surface, credit_not_claimed, …). */
  rejected: Record<string, number>;
  /** The first refusals, for the report (record id, code, detail). */
  rejectedSamples: { id: string; code: string; detail: string }[];
}

/** Refusal samples kept per plan: enough to see what went wrong, bounded for huge histories. */
export const rejectedSamplesMax = 20;

interface CycleAccumulator {
  records: number;
  programmaticUnits: bigint;
  interactiveUnits: bigint;
}

/**
 * Mirrors the engine's R10 windows (`app/ledger.ts`: a window opens with the first counted request
 * and lasts 5 h / 7 days) only to *name* the windows that turned records away. Whether a record
 * was turned away is the engine's answer (its result has no `subscription` charge), never this.
 */
class WindowWatch {
  sessionStart: Instant | null = null;
  sessionUsed = 0n;
  weekStart: Instant | null = null;
  weekUsed = 0n;
  readonly limited = new Map<string, WindowLimit>();

  observe(at: Instant, cost: bigint, counted: boolean, plan: string, catalogues: Catalogues): WindowLimit[] {
    const sessionOpen = this.sessionStart !== null && at < this.sessionStart + sessionWindowMs;
    const weekOpen = this.weekStart !== null && at < this.weekStart + weeklyWindowMs;
    if (counted) {
      if (!sessionOpen) {
        this.sessionStart = at;
        this.sessionUsed = 0n;
      }
      if (!weekOpen) {
        this.weekStart = at;
        this.weekUsed = 0n;
      }
      this.sessionUsed += cost;
      this.weekUsed += cost;
      return [];
    }
    const limits = planAt(plan, at, catalogues.plans);
    const hit: WindowLimit[] = [];
    const note = (window: 'session' | 'week', start: Instant, length: number) => {
      const key = `${window}:${start}`;
      let entry = this.limited.get(key);
      if (!entry) {
        entry = { window, start, end: start + length, limitedAt: at, records: 0, overUnits: 0n };
        this.limited.set(key, entry);
        hit.push(entry);
      }
      entry.records += 1;
      entry.overUnits += cost;
    };
    if (sessionOpen && limits && this.sessionUsed >= limits.sessionLimitUnits)
      note('session', this.sessionStart as Instant, sessionWindowMs);
    if (weekOpen && limits && this.weekUsed >= limits.weeklyLimitUnits)
      note('week', this.weekStart as Instant, weeklyWindowMs);
    return hit;
  }

  /** Whether the engine would count a zero-cost record (it counts while any headroom is left). */
  hasHeadroom(at: Instant, plan: string, catalogues: Catalogues): boolean {
    const limits = planAt(plan, at, catalogues.plans);
    if (!limits) return false;
    const session =
      this.sessionStart !== null && at < this.sessionStart + sessionWindowMs ? this.sessionUsed : 0n;
    const week = this.weekStart !== null && at < this.weekStart + weeklyWindowMs ? this.weekUsed : 0n;
    return session < limits.sessionLimitUnits && week < limits.weeklyLimitUnits;
  }
}

/**
 * Replays `records` (in replay order: see `inputs.ts`) for one plan and returns the engine's
 * figures per billing cycle, from the first record's cycle to the last's (empty months included:
 * their credit is granted and expires). The last cycle is closed (its end plus the late grace) so
 * that every figure is final.
 */
export async function replayPlan(
  records: readonly ReplayRecord[],
  options: EngineOptions,
): Promise<PlanReplay> {
  const { plan, anchor, claimedAt, catalogues } = options;
  const result: PlanReplay = {
    plan,
    cycles: [],
    booked: { programmatic: 0, interactive: 0 },
    replayed: 0,
    rejected: {},
    rejectedSamples: [],
  };
  const first = records[0];
  const last = records[records.length - 1];
  if (first === undefined || last === undefined) return result;

  const store = await openSqliteStore({ path: ':memory:' });
  try {
    const clock = new ManualClock(Math.min(first.at, claimedAt));
    const ctx: AppContext = { store, clock, catalogues };
    const seat = isSeatPlan(plan);
    if (seat) await createOrg(ctx, { id: replayOrgId, billing_anchor: formatInstant(anchor) });
    await createAccount(ctx, {
      id: replayAccountId,
      kind: 'subscription',
      plan,
      billing_anchor: seat ? null : formatInstant(anchor),
      org_id: seat ? replayOrgId : null,
    });
    await setUsageCredits(ctx, replayAccountId, {
      enabled: options.usageCredits,
      monthly_limit_usd:
        options.usageCreditLimitUnits === null ? null : formatUsd(options.usageCreditLimitUnits),
    });

    const accumulators = new Map<number, CycleAccumulator>();
    const windows = new WindowWatch();
    const windowsByCycle = new Map<number, WindowLimit[]>();
    let claimed = false;
    let booked = 0;
    let i = 0;
    while (i < records.length) {
      const head = records[i]!;
      if (!claimed && head.at >= claimedAt) {
        clock.set(claimedAt);
        await claim(ctx, replayAccountId);
        claimed = true;
      }
      const cycle = cycleAt(anchor, head.at);
      // A batch stays inside one cycle, and before the claim until the claim is made.
      const stopAt = claimed ? cycle.end : Math.min(cycle.end, claimedAt);
      let j = i + 1;
      while (j < records.length && j - i < usageBatchMax && records[j]!.at < stopAt) j += 1;
      const batch = records.slice(i, j);
      const moved = clock.set(batch[batch.length - 1]!.at);
      if (!moved) throw new Error('replay: records out of order (the clock would move backwards)');
      const results = await recordUsage(
        ctx,
        batch.map((r) => r.raw),
      );
      let acc = accumulators.get(cycle.index);
      if (!acc) {
        acc = { records: 0, programmaticUnits: 0n, interactiveUnits: 0n };
        accumulators.set(cycle.index, acc);
      }
      for (let k = 0; k < results.length; k += 1) {
        const hits = tally(result, acc, windows, batch[k]!, results[k]!, plan, catalogues);
        if (hits.length > 0) {
          const list = windowsByCycle.get(cycle.index) ?? [];
          list.push(...hits);
          windowsByCycle.set(cycle.index, list);
        }
      }
      booked += batch.length;
      options.onProgress?.(booked);
      i = j;
    }

    // Close the last cycle so that its expiry is booked and every statement is final (R8).
    const firstCycle = cycleAt(anchor, first.at);
    const lastCycle = cycleAt(anchor, last.at);
    clock.set(lastCycle.end + policyAt(lastCycle.end, catalogues.policy).lateGraceMs);
    for (let index = firstCycle.index; index <= lastCycle.index; index += 1) {
      const { start, end } = cycleByIndex(anchor, index);
      const s = await getStatement(ctx, replayAccountId, start);
      const acc = accumulators.get(index);
      result.cycles.push({
        index,
        start,
        end,
        records: acc?.records ?? 0,
        programmaticUnits: acc?.programmaticUnits ?? 0n,
        interactiveUnits: acc?.interactiveUnits ?? 0n,
        grantedUnits: s.sdk_credit.granted_usd,
        creditUsedUnits: s.sdk_credit.used_usd,
        expiredUnits: s.sdk_credit.expired_usd,
        exhaustedAt: s.sdk_credit.exhausted_at,
        usageCreditsUnits: s.usage_credits.charged_usd,
        usageCreditsBilledUnits: s.usage_credits.billed_usd,
        writtenOffUnits: s.written_off_usd,
        subscriptionUnits: s.subscription_usd,
        windowsLimited: windowsByCycle.get(index) ?? [],
      });
    }
    return result;
  } finally {
    await store.close();
  }
}

/** Adds one record's result to the plan's counts; returns windows that turned it away for the first time. */
function tally(
  plan: PlanReplay,
  acc: CycleAccumulator,
  windows: WindowWatch,
  record: ReplayRecord,
  r: UsageResult,
  planId: string,
  catalogues: Catalogues,
): WindowLimit[] {
  if (r.status === 'replayed') {
    plan.replayed += 1;
    return [];
  }
  if (r.status === 'rejected') {
    const code = r.error?.code ?? 'unknown';
    plan.rejected[code] = (plan.rejected[code] ?? 0) + 1;
    if (plan.rejectedSamples.length < rejectedSamplesMax) {
      plan.rejectedSamples.push({ id: r.id, code, detail: r.error?.detail ?? '' });
    }
    return [];
  }
  const cost = r.cost_usd ?? 0n;
  acc.records += 1;
  const usageClass = r.class ?? 'interactive';
  if (usageClass === 'programmatic') {
    plan.booked.programmatic += 1;
    acc.programmaticUnits += cost;
  } else {
    plan.booked.interactive += 1;
    acc.interactiveUnits += cost;
  }
  if (usagePool(usageClass, policyAt(record.at, catalogues.policy)) !== 'subscription_limits') return [];
  const counted =
    cost === 0n
      ? windows.hasHeadroom(record.at, planId, catalogues)
      : r.charges.some((c) => c.source === 'subscription');
  return windows.observe(record.at, cost, counted, planId, catalogues);
}
