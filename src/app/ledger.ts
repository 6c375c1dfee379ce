/**
 * The ledger rules over one transaction's aggregates: how a posting changes the cached figures,
 * how an account rolls forward in time (grants, closes, hold expiry), what is available, and the
 * usage-credit limits. Use cases call these; nothing here does I/O except `Book.flush`.
 *
 * The one invariant everything rests on: a cycle's cached figures change only through
 * `applyPosting`, the same function `verify` folds over the journal, so a cached figure equals the
 * sum of its entries by construction, and the recomputation test checks it.
 */
import assert from 'node:assert/strict';
import { lowestHeadroom, type UsageCreditHeadroom, type UsageCreditLimit } from '../core/allocator.ts';
import { cycleAt, cycleByIndex } from '../core/cycles.ts';
import { minUnits } from '../core/money.ts';
import { planAt } from '../core/plans.ts';
import { policyAt } from '../core/policy.ts';
import { type Instant, msPerHour } from '../core/time.ts';
import type { Catalogues } from './context.ts';
import {
  type AlertSettings,
  cycleData,
  defaultAlertSettings,
  type EventData,
  type EventRow,
  type EventType,
  makeEvent,
  recordIdOf,
  thresholdsCrossed,
  time,
  usd,
} from './events.ts';
import type {
  AccountAggregate,
  AccountRow,
  CycleRow,
  HoldRow,
  OrgCycleRow,
  OrgRow,
  Pool,
  PostingKind,
  PostingRow,
  UsageClassName,
} from './model.ts';
import type { DimFigure, Tx } from './ports.ts';

/** R10: the session window lasts 5 hours from its first request. */
export const sessionWindowMs = 5 * msPerHour;
/** R10: the weekly window lasts 7 days from its first request (see `rollWindows`). */
export const weekWindowMs = 7 * 24 * msPerHour;

// ---------------------------------------------------------------------------------------------
// Figures

export function emptyCycle(
  accountNo: number,
  cycle: { index: number; start: Instant; end: Instant },
): CycleRow {
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

/**
 * Adds one posting's legs to its cycle's figures. The only writer of those figures (besides the
 * hold caches), and the fold `verify` uses to recompute them from the journal.
 */
export function applyPosting(cycle: CycleRow, posting: PostingRow): void {
  switch (posting.kind) {
    case 'grant':
      cycle.grantedUnits += posting.creditUnits;
      break;
    case 'expire':
      cycle.expiredUnits -= posting.creditUnits;
      break;
    case 'adjustment':
      cycle.creditAdjustedUnits += posting.creditUnits;
      break;
    case 'usage':
    case 'reversal':
    case 'reclassification':
      cycle.creditUsedUnits -= posting.creditUnits;
      break;
    default:
      unreachableKind(posting.kind);
  }
  cycle.ucChargedUnits += posting.ucUnits;
  cycle.writtenOffUnits += posting.writtenOffUnits;
  cycle.subscriptionUnits += posting.subscriptionUnits;
  cycle.paygUnits += posting.paygUnits;
}

function unreachableKind(kind: never): never {
  throw new Error(`unknown posting kind ${String(kind)}`);
}

/** A posting's legs by pool, in the order the entry listing shows them. */
export function postingLegs(p: PostingRow): [Pool, bigint][] {
  return [
    ['sdk_credit', p.creditUnits],
    ['usage_credits', p.ucUnits],
    ['subscription', p.subscriptionUnits],
    ['written_off', p.writtenOffUnits],
    ['pay_as_you_go', p.paygUnits],
  ];
}

/**
 * The breakdown deltas (R17) one posting adds: its cost by surface, model and app (a reversal
 * takes its cost back, a reclassification moves no cost), and an adjustment's legs by pool. The
 * one definition `Book.post` books and a store that writes figures behind its journal replays
 * (storage/sqlite: write-behind), so both always agree.
 */
export function forEachDimDelta(
  posting: PostingRow,
  fn: (dim: DimFigure['dim'], key: string, cost: bigint) => void,
): void {
  if (posting.kind === 'adjustment') {
    for (const [pool, amount] of postingLegs(posting)) if (amount !== 0n) fn('adjustment', pool, amount);
  }
  if (posting.costUnits === 0n || posting.kind === 'reclassification') return;
  const cost = posting.kind === 'reversal' ? -posting.costUnits : posting.costUnits;
  if (posting.surface !== null) fn('surface', posting.surface, cost);
  if (posting.model !== null) fn('model', posting.model, cost);
  if (posting.app !== null) fn('app', posting.app, cost);
}

/** Adds `cost` to the (dim, key) delta of a breakdown map keyed `dim\0key`. */
export function addDimDelta(
  deltas: Map<string, DimFigure>,
  dim: DimFigure['dim'],
  key: string,
  cost: bigint,
): void {
  const dimKey = `${dim}\u0000${key}`;
  const existing = deltas.get(dimKey);
  if (existing) existing.costUnits += cost;
  else deltas.set(dimKey, { dim, key, costUnits: cost });
}

/** Keeps an aggregate's `appSpend` (R16 caps) in step with an app's cost in a cycle. */
export function addAppSpend(
  appSpend: Map<Instant, Map<string, bigint>>,
  cycleStart: Instant,
  app: string,
  cost: bigint,
): void {
  let spend = appSpend.get(cycleStart);
  if (!spend) {
    spend = new Map();
    appSpend.set(cycleStart, spend);
  }
  spend.set(app, (spend.get(app) ?? 0n) + cost);
}

/** Granted plus adjustments, less used and expired: what is left of the cycle's credit. */
export function remainingCredit(cycle: CycleRow): bigint {
  return cycle.grantedUnits + cycle.creditAdjustedUnits - cycle.creditUsedUnits - cycle.expiredUnits;
}

/** What a new charge or hold may take from the credit: the remainder less other holds. */
export function availableCredit(cycle: CycleRow): bigint {
  return cycle.closed ? 0n : remainingCredit(cycle) - cycle.creditHeldUnits;
}

// ---------------------------------------------------------------------------------------------
// Book: the changes of one operation, applied to the aggregates at once and written at flush.

export interface NewPosting {
  at: Instant;
  kind: PostingKind;
  idem?: string | null;
  hash?: string | null;
  corrects?: number | null;
  creditUnits?: bigint;
  ucUnits?: bigint;
  subscriptionUnits?: bigint;
  writtenOffUnits?: bigint;
  paygUnits?: bigint;
  costUnits?: bigint;
  usageClass?: UsageClassName | null;
  surface?: string | null;
  app?: string | null;
  model?: string | null;
  note?: string | null;
}

type DimDeltas = Record<DimFigure['dim'], Map<string, DimFigure>>;

export class Book {
  readonly postings: PostingRow[] = [];
  /** Breakdown deltas per cycle object (one per cycle in an operation), then per dim and key. */
  readonly #dims = new Map<CycleRow, { accountNo: number; cycleStart: Instant; byDim: DimDeltas }>();
  readonly #accounts = new Set<AccountRow>();
  readonly #cycles = new Set<CycleRow>();
  readonly #holds = new Set<HoldRow>();
  readonly #orgCycles = new Set<OrgCycleRow>();
  /** Notifications this operation causes (`events.ts`): written with the rest, or not at all. */
  readonly events: EventRow[] = [];
  readonly recordedAt: Instant;
  readonly alerts: AlertSettings;
  /** The thresholds as bigints, converted once per operation rather than once per record. */
  readonly #thresholdUnits: bigint[];

  constructor(recordedAt: Instant, alerts: AlertSettings = defaultAlertSettings) {
    this.recordedAt = recordedAt;
    this.alerts = alerts;
    this.#thresholdUnits = alerts.thresholdsPercent.map((p) => BigInt(p));
  }

  /** Adds an event about `account`, stamped with this operation's instant. */
  emit(account: AccountRow, type: EventType, data: EventData): void {
    this.events.push(makeEvent(type, this.recordedAt, { id: account.id, orgId: account.orgId }, data));
  }

  /** Books a posting on `cycle` of `agg`, updating the cached figures in the same step. */
  post(agg: AccountAggregate, cycle: CycleRow, entry: NewPosting): PostingRow {
    const account = agg.account;
    const posting: PostingRow = {
      accountNo: account.no,
      seq: account.nextSeq,
      at: entry.at,
      cycleStart: cycle.start,
      kind: entry.kind,
      idem: entry.idem ?? null,
      hash: entry.hash ?? null,
      corrects: entry.corrects ?? null,
      creditUnits: entry.creditUnits ?? 0n,
      ucUnits: entry.ucUnits ?? 0n,
      subscriptionUnits: entry.subscriptionUnits ?? 0n,
      writtenOffUnits: entry.writtenOffUnits ?? 0n,
      paygUnits: entry.paygUnits ?? 0n,
      costUnits: entry.costUnits ?? 0n,
      usageClass: entry.usageClass ?? null,
      surface: entry.surface ?? null,
      app: entry.app ?? null,
      model: entry.model ?? null,
      note: entry.note ?? null,
      recordedAt: this.recordedAt,
    };
    account.nextSeq += 1;
    applyPosting(cycle, posting);
    assert.ok(remainingCredit(cycle) >= 0n || posting.kind === 'adjustment', 'credit below zero');
    // `exhaustedAt` names the record that used the last of the credit: credit added back after it
    // (an upgrade's grant, an adjustment, a reversal) means the credit has not run out after all.
    if (cycle.exhaustedAt !== null && remainingCredit(cycle) > 0n) cycle.exhaustedAt = null;
    // Only a posting that takes credit (usage, a negative adjustment) can cross an alert; a close's
    // expiry takes the rest by definition and is no alert.
    if (posting.creditUnits < 0n && posting.kind !== 'expire') this.#creditAlerts(account, cycle, posting);
    this.postings.push(posting);
    this.#accounts.add(account);
    this.#cycles.add(cycle);
    const dims = this.#dimsOf(cycle);
    forEachDimDelta(posting, (dim, key, cost) => {
      const byKey = dims[dim];
      const existing = byKey.get(key);
      if (existing) existing.costUnits += cost;
      else byKey.set(key, { dim, key, costUnits: cost });
      if (dim === 'app') addAppSpend(agg.appSpend, cycle.start, key, cost);
    });
    return posting;
  }

  /**
   * `credit.threshold_reached` for every threshold this posting crossed (a record may cross 50 and
   * 80 at once: both fire, in order), each at most once per cycle (`alertPercent` is the
   * cycle's high-water mark), and `credit.exhausted` when it took the last unit of credit.
   * Percentages are of the cycle's credit: its grants plus adjustments.
   */
  #creditAlerts(account: AccountRow, cycle: CycleRow, posting: PostingRow): void {
    const credit = cycle.grantedUnits + cycle.creditAdjustedUnits;
    const remaining = remainingCredit(cycle);
    // remaining before this posting = remaining after it less its (negative) credit leg.
    const exhausts = remaining <= 0n && remaining - posting.creditUnits > 0n;
    // The hot path: most records cross nothing, and that costs one multiplication.
    if (!exhausts && !this.#crossesNextThreshold(cycle, credit)) return;
    const crossed = thresholdsCrossed(
      this.alerts.thresholdsPercent,
      cycle.alertPercent,
      cycle.creditUsedUnits,
      credit,
    );
    const figures = {
      cycle: cycleData(cycle),
      credit_usd: usd(credit),
      used_usd: usd(cycle.creditUsedUnits),
      remaining_usd: usd(remaining),
      record_id: recordIdOf(posting.idem),
    };
    for (const percent of crossed) {
      this.emit(account, 'credit.threshold_reached', { threshold_percent: percent, ...figures });
      cycle.alertPercent = percent;
    }
    if (exhausts) {
      this.emit(account, 'credit.exhausted', { ...figures, written_off_usd: usd(posting.writtenOffUnits) });
    }
  }

  /** Whether the first threshold above the cycle's mark is reached (`thresholdsCrossed`, the first step). */
  #crossesNextThreshold(cycle: CycleRow, credit: bigint): boolean {
    const thresholds = this.alerts.thresholdsPercent;
    for (let i = 0; i < thresholds.length; i++) {
      if (thresholds[i]! <= cycle.alertPercent) continue;
      return credit > 0n && cycle.creditUsedUnits * 100n >= this.#thresholdUnits[i]! * credit;
    }
    return false;
  }

  #dimsOf(cycle: CycleRow): DimDeltas {
    let entry = this.#dims.get(cycle);
    if (!entry) {
      entry = {
        accountNo: cycle.accountNo,
        cycleStart: cycle.start,
        byDim: { surface: new Map(), model: new Map(), app: new Map(), adjustment: new Map() },
      };
      this.#dims.set(cycle, entry);
    }
    return entry.byDim;
  }

  touchAccount(account: AccountRow): void {
    this.#accounts.add(account);
  }
  touchCycle(cycle: CycleRow): void {
    this.#cycles.add(cycle);
  }
  touchHold(hold: HoldRow): void {
    this.#holds.add(hold);
  }
  touchOrgCycle(row: OrgCycleRow): void {
    this.#orgCycles.add(row);
  }

  /** Writes everything this operation changed, in one pass, inside the caller's transaction. */
  async flush(tx: Tx): Promise<void> {
    for (const cycle of this.#cycles) await tx.saveCycle(cycle);
    if (this.postings.length > 0) await tx.append(this.postings);
    for (const { accountNo, cycleStart, byDim } of this.#dims.values()) {
      const deltas = [
        ...byDim.surface.values(),
        ...byDim.model.values(),
        ...byDim.app.values(),
        ...byDim.adjustment.values(),
      ];
      if (deltas.length > 0) await tx.addDims(accountNo, cycleStart, deltas);
    }
    for (const hold of this.#holds) await tx.putHold(hold);
    for (const row of this.#orgCycles) await tx.saveOrgCycle(row);
    for (const account of this.#accounts) await tx.saveAccount(account);
    // The outbox: in the same transaction as the changes that caused the events (events.ts).
    if (this.events.length > 0) await tx.enqueueEvents(this.events);
  }
}

// ---------------------------------------------------------------------------------------------
// Org scope: the org's shared usage-credit counters, locked before the account (org, then account).

export interface OrgScope {
  org: OrgRow;
  counters: Map<Instant, OrgCycleRow>;
}

/**
 * The org cycles an operation at `now` may charge: the current one, the previous one while its
 * grace lasts, and the next one when a record may be dated up to the future skew ahead.
 */
export function orgCycleStartsToLock(org: OrgRow, now: Instant, catalogues: Catalogues): Instant[] {
  const policy = policyAt(now, catalogues.policy);
  const starts = new Set<Instant>([
    cycleAt(org.billingAnchor, now - policy.lateGraceMs).start,
    cycleAt(org.billingAnchor, now).start,
    cycleAt(org.billingAnchor, now + policy.futureSkewMaxMs).start,
  ]);
  return [...starts].sort((a, b) => a - b);
}

export async function lockOrgScope(
  tx: Tx,
  org: OrgRow,
  now: Instant,
  catalogues: Catalogues,
  alsoStarts: Iterable<Instant> = [],
): Promise<OrgScope> {
  const counters = new Map<Instant, OrgCycleRow>();
  const starts = new Set([...orgCycleStartsToLock(org, now, catalogues), ...alsoStarts]);
  // Ascending order, like every other lock: two transactions never wait on each other in a cycle.
  for (const start of [...starts].sort((a, b) => a - b)) {
    counters.set(start, await tx.lockOrgCycle(org.no, start));
  }
  return { org, counters };
}

/** The locked counter of an org cycle; a bug if the use case did not lock it first. */
export function orgCounter(scope: OrgScope, cycleStart: Instant): OrgCycleRow {
  const counter = scope.counters.get(cycleStart);
  assert.ok(counter, `org cycle ${cycleStart} not locked`);
  return counter;
}

// ---------------------------------------------------------------------------------------------
// Rolling an account forward: cycles open and close, grants land, holds expire (R5, R8, R11, R14).

/** The cycle row for `index`, creating it (and the ones before it) when it is new. */
export function cycleRowFor(
  book: Book,
  agg: AccountAggregate,
  index: number,
  now: Instant,
  catalogues: Catalogues,
): CycleRow | undefined {
  const account = agg.account;
  const closedThrough = account.closedThroughIndex ?? Number.NEGATIVE_INFINITY;
  if (index <= closedThrough) return undefined;
  const start = cycleByIndex(account.billingAnchor, index).start;
  const existing = agg.cycles.get(start);
  if (existing) return existing;
  openCyclesThrough(book, agg, index, now, catalogues);
  return agg.cycles.get(start);
}

/**
 * The aggregate's cycle whose span holds `at`, if it is loaded: cycles tile time, so it is the
 * cycle `cycleAt` would name, and `cycleRowFor` would return this very object.
 */
export function openCycleAt(agg: AccountAggregate, at: Instant): CycleRow | undefined {
  for (const cycle of agg.cycles.values()) if (cycle.start <= at && at < cycle.end) return cycle;
  return undefined;
}

function lastOpenedIndex(agg: AccountAggregate): number {
  let last = agg.account.closedThroughIndex ?? Number.NEGATIVE_INFINITY;
  for (const cycle of agg.cycles.values()) if (cycle.index > last) last = cycle.index;
  return last;
}

/**
 * Opens every cycle up to `index` in order: applies a pending plan change or cancellation at the
 * cycle start (R14), then grants the credit if the claim is in effect (R5).
 */
function openCyclesThrough(
  book: Book,
  agg: AccountAggregate,
  index: number,
  now: Instant,
  catalogues: Catalogues,
) {
  const account = agg.account;
  const last = lastOpenedIndex(agg);
  const first = Number.isFinite(last) ? last + 1 : index;
  for (let k = first; k <= index; k++) {
    const cycle = emptyCycle(account.no, cycleByIndex(account.billingAnchor, k));
    agg.cycles.set(cycle.start, cycle);
    book.touchCycle(cycle);
    if (Number.isFinite(last)) {
      // A new cycle after an earlier one: the cycle start is when deferred changes take effect.
      if (account.pendingPlan !== null) {
        account.plan = account.pendingPlan;
        account.pendingPlan = null;
      }
      if (account.status === 'canceling') account.status = 'canceled';
      book.touchAccount(account);
    }
    grantIfDue(book, agg, cycle, now, catalogues);
    scheduleExpiring(book, account, cycle, catalogues);
    // An account's first cycle is its start, not a renewal; only a live subscription renews.
    if (cycle.start > account.createdAt && account.kind === 'subscription' && account.status === 'active') {
      book.emit(account, 'cycle.renewed', {
        cycle: cycleData(cycle),
        plan: account.plan,
        granted_usd: usd(cycle.grantedUnits),
      });
    }
  }
}

/**
 * Fixes when a new cycle's `credit.expiring` is due: the lead before its close, never before its
 * start. Fixed once, so `nextRollAt` can read it from the row; subscription accounts only.
 */
function scheduleExpiring(book: Book, account: AccountRow, cycle: CycleRow, catalogues: Catalogues): void {
  const lead = book.alerts.expiringLeadMs;
  if (account.kind !== 'subscription' || lead <= 0) return;
  cycle.expiringAt = Math.max(cycle.start, cycleCloseAt(cycle, catalogues) - lead);
}

/**
 * `credit.expiring` for each open cycle whose warning is due, if credit remains and the cycle is
 * not closing in this very roll (a late sweep warns of nothing). Handled once either way.
 */
function warnExpiring(book: Book, agg: AccountAggregate, now: Instant, catalogues: Catalogues): void {
  for (const cycle of agg.cycles.values()) {
    if (cycle.expiringAt === null || cycle.expiringAt > now) continue;
    const closeAt = cycleCloseAt(cycle, catalogues);
    const remaining = remainingCredit(cycle);
    if (closeAt > now && !cycle.closed && remaining > 0n) {
      book.emit(agg.account, 'credit.expiring', {
        cycle: cycleData(cycle),
        remaining_usd: usd(remaining),
        expires_at: time(closeAt),
      });
    }
    cycle.expiringAt = null;
    book.touchCycle(cycle);
  }
}

/** The credit a plan grants per cycle at an instant; null = not eligible (R2). */
export function planCredit(plan: string | null, at: Instant, catalogues: Catalogues): bigint | null {
  if (plan === null) return null;
  return planAt(plan, at, catalogues.plans)?.sdkCreditUnits ?? null;
}

/** Books the cycle's grant when the claim is in effect by `now` and the cycle has none yet. */
export function grantIfDue(
  book: Book,
  agg: AccountAggregate,
  cycle: CycleRow,
  now: Instant,
  catalogues: Catalogues,
) {
  const account = agg.account;
  if (account.kind !== 'subscription' || account.status !== 'active') return;
  if (account.claimEffectiveAt === null || account.claimEffectiveAt > now) return;
  if (account.claimEffectiveAt >= cycle.end || cycle.closed) return;
  if (account.grantedThroughIndex !== null && account.grantedThroughIndex >= cycle.index) return;
  const at = Math.max(cycle.start, account.claimEffectiveAt);
  const credit = planCredit(account.plan, at, catalogues);
  account.grantedThroughIndex = cycle.index;
  book.touchAccount(account);
  if (credit === null || credit === 0n) return;
  book.post(agg, cycle, { at, kind: 'grant', creditUnits: credit, note: `plan ${account.plan}` });
}

/** Releases a hold's reservations (settle, void, expiry). The hold row keeps what it reserved. */
export function releaseHold(
  book: Book,
  agg: AccountAggregate,
  hold: HoldRow,
  status: 'settled' | 'voided' | 'expired',
  org: OrgScope | null,
) {
  assert.equal(hold.status, 'active');
  const cycle = agg.cycles.get(hold.cycleStart);
  if (cycle) {
    cycle.creditHeldUnits -= hold.creditUnits;
    cycle.ucHeldUnits -= hold.ucUnits;
    assert.ok(cycle.creditHeldUnits >= 0n && cycle.ucHeldUnits >= 0n, 'negative held');
    book.touchCycle(cycle);
  }
  if (org && hold.ucUnits !== 0n) {
    const counter = orgCounter(org, hold.cycleStart);
    counter.ucHeldUnits -= hold.ucUnits;
    assert.ok(counter.ucHeldUnits >= 0n, 'negative org held');
    book.touchOrgCycle(counter);
  }
  hold.status = status;
  agg.holds.delete(hold.id);
  book.touchHold(hold);
  if (status === 'expired') {
    book.emit(agg.account, 'hold.expired', {
      hold_id: hold.id,
      amount_usd: usd(hold.estimateUnits),
      released_usd: usd(hold.creditUnits + hold.ucUnits),
      created_at: time(hold.createdAt),
      expires_at: time(hold.expiresAt),
      surface: hold.surface,
      app: hold.app,
    });
  }
}

/**
 * Brings an account up to `now`: expires due holds, opens cycles through the current one (with
 * their grants), and closes every cycle whose end plus grace has passed, booking the remaining
 * credit as expired (R8). Events are applied in time order, so a jump across several cycles
 * closes and grants each skipped cycle in turn.
 */
export function rollAccount(
  book: Book,
  agg: AccountAggregate,
  now: Instant,
  catalogues: Catalogues,
  org: OrgScope | null,
): void {
  const account = agg.account;
  for (const hold of [...agg.holds.values()]) {
    if (hold.expiresAt <= now) releaseHold(book, agg, hold, 'expired', org);
  }
  // The cycle holding `now` is usually open already: its row gives the index without calendar math.
  const current = openCycleAt(agg, now) ?? cycleAt(account.billingAnchor, now);
  // In time order across a jump of several cycles: a cycle opens (with its grant) at its start,
  // and the one before it closes later, at its end plus the grace. Opening every skipped cycle
  // first and closing them all afterwards booked grant, grant, grant, expiry, expiry: a journal
  // that, read in order, held several cycles' credit at once (test/faults/clock-edges.test.ts).
  while (lastOpenedIndex(agg) < current.index) {
    const last = lastOpenedIndex(agg);
    if (Number.isFinite(last))
      closeDueBy(book, agg, cycleByIndex(account.billingAnchor, last + 1).start, now, catalogues, org);
    openCyclesThrough(book, agg, Number.isFinite(last) ? last + 1 : current.index, now, catalogues);
  }
  // A claim that takes effect later than it was made (R5) lands in its cycle when its time comes.
  for (const cycle of [...agg.cycles.values()].sort((a, b) => a.index - b.index)) {
    grantIfDue(book, agg, cycle, now, catalogues);
  }
  warnExpiring(book, agg, now, catalogues);
  for (const cycle of [...agg.cycles.values()].sort((a, b) => a.index - b.index)) {
    const closeAt = cycleCloseAt(cycle, catalogues);
    if (closeAt > now) break;
    closeCycle(book, agg, cycle, closeAt, org);
  }
  // Only a change is written: a roll with nothing due must leave a read-only request write-free.
  const next = nextRollAt(agg, catalogues);
  if (next !== account.nextRollAt) {
    account.nextRollAt = next;
    book.touchAccount(account);
  }
}

/**
 * Closes, in order, every open cycle whose close is due by `by` (an instant not after `now`),
 * granting it first if its grant came due (a claim that took effect inside it).
 */
function closeDueBy(
  book: Book,
  agg: AccountAggregate,
  by: Instant,
  now: Instant,
  catalogues: Catalogues,
  org: OrgScope | null,
) {
  for (const cycle of [...agg.cycles.values()].sort((a, b) => a.index - b.index)) {
    const closeAt = cycleCloseAt(cycle, catalogues);
    if (closeAt > by) break;
    grantIfDue(book, agg, cycle, now, catalogues);
    closeCycle(book, agg, cycle, closeAt, org);
  }
}

/** When a cycle closes: its end plus the late-event grace in force at its end (R8). */
export function cycleCloseAt(cycle: { end: Instant }, catalogues: Catalogues): Instant {
  return cycle.end + policyAt(cycle.end, catalogues.policy).lateGraceMs;
}

function closeCycle(book: Book, agg: AccountAggregate, cycle: CycleRow, at: Instant, org: OrgScope | null) {
  for (const hold of [...agg.holds.values()]) {
    if (hold.cycleStart === cycle.start) releaseHold(book, agg, hold, 'expired', org);
  }
  const remaining = remainingCredit(cycle);
  if (remaining > 0n)
    book.post(agg, cycle, { at, kind: 'expire', creditUnits: -remaining, note: 'cycle closed' });
  cycle.closed = true;
  book.touchCycle(cycle);
  agg.cycles.delete(cycle.start);
  agg.appSpend.delete(cycle.start);
  const account = agg.account;
  account.closedThroughIndex = Math.max(account.closedThroughIndex ?? cycle.index, cycle.index);
  book.touchAccount(account);
}

/** The next instant something is due for this account without any request. */
export function nextRollAt(agg: AccountAggregate, catalogues: Catalogues): Instant | null {
  const account = agg.account;
  let next = Number.POSITIVE_INFINITY;
  const last = lastOpenedIndex(agg);
  if (Number.isFinite(last)) {
    // Cycles tile time: the next one starts where the last opened one ends, if its row is loaded.
    let lastRow: CycleRow | undefined;
    for (const cycle of agg.cycles.values()) if (cycle.index === last) lastRow = cycle;
    next = lastRow ? lastRow.end : cycleByIndex(account.billingAnchor, last + 1).start;
  }
  for (const cycle of agg.cycles.values()) {
    next = Math.min(next, cycleCloseAt(cycle, catalogues));
    if (cycle.expiringAt !== null) next = Math.min(next, cycle.expiringAt);
  }
  for (const hold of agg.holds.values()) next = Math.min(next, hold.expiresAt);
  if (account.claimEffectiveAt !== null && account.grantedThroughIndex === null) {
    next = Math.min(next, account.claimEffectiveAt);
  }
  return Number.isFinite(next) ? next : null;
}

/** True when the account needs a roll before a read-only decision can be trusted. */
export function needsRoll(agg: AccountAggregate, now: Instant): boolean {
  const at = agg.account.nextRollAt;
  return at !== null && at <= now;
}

// ---------------------------------------------------------------------------------------------
// Usage-credit limits (R7) and subscription windows (R10).

/**
 * The binding usage-credit headroom for a charge in `cycle`. Switches first (an org switch off
 * names the org), then limits, lowest headroom winning.
 */
export function usageCreditHeadroom(
  agg: AccountAggregate,
  cycle: CycleRow,
  org: OrgScope | null,
): UsageCreditHeadroom {
  const account = agg.account;
  if (org && !org.org.ucEnabled) return { headroomUnits: 0n, limit: 'org_level_disabled' };
  if (!account.ucEnabled) return { headroomUnits: 0n, limit: 'usage_credits_disabled' };
  const spent = cycle.ucChargedUnits + cycle.ucHeldUnits;
  const limits: UsageCreditLimit[] = [];
  if (org) {
    if (org.org.ucMonthlyLimitUnits !== null) {
      const counter = org.counters.get(cycle.start);
      const orgSpent = counter ? counter.ucSpentUnits + counter.ucHeldUnits : 0n;
      limits.push({ code: 'org_limit_reached', headroomUnits: org.org.ucMonthlyLimitUnits - orgSpent });
    }
    const seatLimit = account.plan === null ? undefined : org.org.seatTierLimitsUnits[account.plan];
    if (seatLimit !== undefined)
      limits.push({ code: 'seat_tier_limit_reached', headroomUnits: seatLimit - spent });
    if (account.memberLimitUnits !== null) {
      limits.push({ code: 'member_limit_reached', headroomUnits: account.memberLimitUnits - spent });
    }
  }
  if (account.ucMonthlyLimitUnits !== null) {
    limits.push({ code: 'usage_credit_limit_reached', headroomUnits: account.ucMonthlyLimitUnits - spent });
  }
  return lowestHeadroom(limits);
}

/** Adds a usage-credit charge (or reservation) to the org's shared counter. */
export function addOrgSpend(
  book: Book,
  org: OrgScope | null,
  cycleStart: Instant,
  spent: bigint,
  held: bigint,
) {
  if (!org || (spent === 0n && held === 0n)) return;
  const counter = orgCounter(org, cycleStart);
  counter.ucSpentUnits += spent;
  counter.ucHeldUnits += held;
  book.touchOrgCycle(counter);
}

export interface WindowFigures {
  sessionStart: Instant;
  sessionUsedUnits: bigint;
  sessionLimitUnits: bigint;
  weekStart: Instant;
  weekUsedUnits: bigint;
  weekLimitUnits: bigint;
}

/**
 * The R10 windows as they stand at `at`, without changing the account. A window opens with the
 * first counted request and lasts its length (5 h, 7 days); a request after it ends opens a new
 * one. A late record dated inside an older window counts in the current one: windows are a
 * gate for requests in real time, not a statement.
 */
export function windowsAt(account: AccountRow, at: Instant, catalogues: Catalogues): WindowFigures {
  const plan = account.plan === null ? undefined : planAt(account.plan, at, catalogues.plans);
  const sessionOpen = account.sessionStart !== null && at < account.sessionStart + sessionWindowMs;
  const weekOpen = account.weekStart !== null && at < account.weekStart + weekWindowMs;
  return {
    sessionStart: sessionOpen ? (account.sessionStart as Instant) : at,
    sessionUsedUnits: sessionOpen ? account.sessionUsedUnits : 0n,
    sessionLimitUnits: plan?.sessionLimitUnits ?? 0n,
    weekStart: weekOpen ? (account.weekStart as Instant) : at,
    weekUsedUnits: weekOpen ? account.weekUsedUnits : 0n,
    weekLimitUnits: plan?.weeklyLimitUnits ?? 0n,
  };
}

export function windowHeadroom(w: WindowFigures): bigint {
  return minUnits(w.sessionLimitUnits - w.sessionUsedUnits, w.weekLimitUnits - w.weekUsedUnits);
}

/** When the exhausted windows reset: the later reset among those with no headroom left. */
export function windowsResetAt(w: WindowFigures): Instant {
  let at = 0;
  if (w.sessionUsedUnits >= w.sessionLimitUnits) at = Math.max(at, w.sessionStart + sessionWindowMs);
  if (w.weekUsedUnits >= w.weekLimitUnits) at = Math.max(at, w.weekStart + weekWindowMs);
  return at;
}

/** Counts `units` into the windows as of `at` (R10). */
export function countInWindows(book: Book, account: AccountRow, at: Instant, units: bigint) {
  countInWindowFields(account, at, units);
  book.touchAccount(account);
}

/**
 * The window fields after counting `units` at `at`: the part of `countInWindows` that depends on
 * nothing but the account's own fields, so a store can replay it from a usage posting's
 * subscription leg (storage/sqlite: write-behind).
 */
export function countInWindowFields(account: AccountRow, at: Instant, units: bigint): void {
  const sessionOpen = account.sessionStart !== null && at < account.sessionStart + sessionWindowMs;
  const weekOpen = account.weekStart !== null && at < account.weekStart + weekWindowMs;
  // A late record (dated before the open window) must not move a window's start backwards.
  if (!sessionOpen) {
    account.sessionStart = at;
    account.sessionUsedUnits = 0n;
  }
  account.sessionUsedUnits += units;
  if (!weekOpen) {
    account.weekStart = at;
    account.weekUsedUnits = 0n;
  }
  account.weekUsedUnits += units;
}

/** Cost per app in a cycle, plus the estimates of its active holds (R16: a cap bounds spend from any source). */
export function appCommitted(agg: AccountAggregate, cycleStart: Instant, app: string): bigint {
  let total = agg.appSpend.get(cycleStart)?.get(app) ?? 0n;
  for (const hold of agg.holds.values()) {
    if (hold.app === app && hold.cycleStart === cycleStart) total += hold.estimateUnits;
  }
  return total;
}
