/**
 * Row mapping between PostgreSQL and the model, and the array literals `append`/`addDims` send.
 *
 * The client parses every `int8` as a JS `bigint` (exact for money). Instants, sequence numbers
 * and row numbers are `int8` columns too but JS numbers in the model: `num` converts them and
 * asserts they are safe integers, so a conversion is exact or it crashes (only a bug or a corrupt
 * row can hold an instant beyond 2^53 ms).
 */
import assert from 'node:assert/strict';
import type {
  AccountKind,
  AccountRow,
  AccountStatus,
  AppPolicyRow,
  CycleRow,
  DimName,
  HoldRow,
  HoldStatus,
  OrgCycleRow,
  OrgRow,
  PostingKind,
  PostingRow,
  UsageClassName,
} from '../../../app/model.ts';
import type { DimFigure, TokenRole, TokenRow } from '../../../app/ports.ts';

export type DbRow = Record<string, unknown>;

export function units(value: unknown): bigint {
  assert.equal(typeof value, 'bigint', 'an int8 column must parse as bigint');
  return value as bigint;
}

export function unitsOrNull(value: unknown): bigint | null {
  return value === null ? null : units(value);
}

/** An int8 (instant, seq, row number) or int4 (cycle index) column as an exact JS number. */
export function num(value: unknown): number {
  const n = typeof value === 'bigint' ? Number(value) : value;
  assert.ok(typeof n === 'number' && Number.isSafeInteger(n), `not a safe integer: ${String(value)}`);
  return n;
}

export function numOrNull(value: unknown): number | null {
  return value === null ? null : num(value);
}

function text(value: unknown): string {
  assert.equal(typeof value, 'string');
  return value as string;
}

function textOrNull(value: unknown): string | null {
  return value === null ? null : text(value);
}

function bool(value: unknown): boolean {
  assert.equal(typeof value, 'boolean');
  return value as boolean;
}

// The select lists below name every column the mappers read, in one place per table.

export const orgColumns =
  'no, id, billing_anchor, created_at, uc_enabled, uc_monthly_limit_units, seat_tier_limits_units';

export function orgFromRow(r: DbRow): OrgRow {
  const tiers = r.seat_tier_limits_units as Record<string, string>;
  return {
    no: num(r.no),
    id: text(r.id),
    billingAnchor: num(r.billing_anchor),
    createdAt: num(r.created_at),
    ucEnabled: bool(r.uc_enabled),
    ucMonthlyLimitUnits: unitsOrNull(r.uc_monthly_limit_units),
    seatTierLimitsUnits: Object.fromEntries(Object.entries(tiers).map(([k, v]) => [k, BigInt(text(v))])),
  };
}

/** Seat limits as JSON with decimal-string values: JSON numbers would round above 2^53. */
export function seatTierLimitsJson(limits: Record<string, bigint>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, v.toString()])));
}

export function orgCycleFromRow(r: DbRow): OrgCycleRow {
  return {
    orgNo: num(r.org_no),
    cycleStart: num(r.cycle_start),
    ucSpentUnits: units(r.uc_spent_units),
    ucHeldUnits: units(r.uc_held_units),
  };
}

export const accountColumns = `no, id, kind, plan, pending_plan, status, org_no, org_id, billing_anchor, created_at,
  claimed_at, claim_effective_at, uc_enabled, uc_monthly_limit_units, member_limit_units, granted_through_index,
  closed_through_index, session_start, session_used_units, week_start, week_used_units, last_activity_at, next_seq,
  next_roll_at`;

export function accountFromRow(r: DbRow): AccountRow {
  return {
    no: num(r.no),
    id: text(r.id),
    kind: text(r.kind) as AccountKind,
    plan: textOrNull(r.plan),
    pendingPlan: textOrNull(r.pending_plan),
    status: text(r.status) as AccountStatus,
    orgNo: numOrNull(r.org_no),
    orgId: textOrNull(r.org_id),
    billingAnchor: num(r.billing_anchor),
    createdAt: num(r.created_at),
    claimedAt: numOrNull(r.claimed_at),
    claimEffectiveAt: numOrNull(r.claim_effective_at),
    ucEnabled: bool(r.uc_enabled),
    ucMonthlyLimitUnits: unitsOrNull(r.uc_monthly_limit_units),
    memberLimitUnits: unitsOrNull(r.member_limit_units),
    grantedThroughIndex: numOrNull(r.granted_through_index),
    closedThroughIndex: numOrNull(r.closed_through_index),
    sessionStart: numOrNull(r.session_start),
    sessionUsedUnits: units(r.session_used_units),
    weekStart: numOrNull(r.week_start),
    weekUsedUnits: units(r.week_used_units),
    lastActivityAt: numOrNull(r.last_activity_at),
    nextSeq: num(r.next_seq),
    nextRollAt: numOrNull(r.next_roll_at),
  };
}

export const cycleColumns = `account_no, start, "end", idx, closed, granted_units, credit_used_units, expired_units,
  credit_adjusted_units, uc_charged_units, written_off_units, subscription_units, payg_units, credit_held_units,
  uc_held_units, exhausted_at, alert_percent, expiring_at`;

export function cycleFromRow(r: DbRow): CycleRow {
  return {
    accountNo: num(r.account_no),
    start: num(r.start),
    end: num(r.end),
    index: num(r.idx),
    closed: bool(r.closed),
    grantedUnits: units(r.granted_units),
    creditUsedUnits: units(r.credit_used_units),
    expiredUnits: units(r.expired_units),
    creditAdjustedUnits: units(r.credit_adjusted_units),
    ucChargedUnits: units(r.uc_charged_units),
    writtenOffUnits: units(r.written_off_units),
    subscriptionUnits: units(r.subscription_units),
    paygUnits: units(r.payg_units),
    creditHeldUnits: units(r.credit_held_units),
    ucHeldUnits: units(r.uc_held_units),
    exhaustedAt: numOrNull(r.exhausted_at),
    alertPercent: num(r.alert_percent),
    expiringAt: numOrNull(r.expiring_at),
  };
}

export const postingColumns = `account_no, seq, at, cycle_start, kind, idem, hash, corrects, credit_units, uc_units,
  subscription_units, written_off_units, payg_units, cost_units, usage_class, surface, app, model, note, recorded_at`;

export function postingFromRow(r: DbRow): PostingRow {
  return {
    accountNo: num(r.account_no),
    seq: num(r.seq),
    at: num(r.at),
    cycleStart: num(r.cycle_start),
    kind: text(r.kind) as PostingKind,
    idem: textOrNull(r.idem),
    hash: textOrNull(r.hash),
    corrects: numOrNull(r.corrects),
    creditUnits: units(r.credit_units),
    ucUnits: units(r.uc_units),
    subscriptionUnits: units(r.subscription_units),
    writtenOffUnits: units(r.written_off_units),
    paygUnits: units(r.payg_units),
    costUnits: units(r.cost_units),
    usageClass: textOrNull(r.usage_class) as UsageClassName | null,
    surface: textOrNull(r.surface),
    app: textOrNull(r.app),
    model: textOrNull(r.model),
    note: textOrNull(r.note),
    recordedAt: num(r.recorded_at),
  };
}

export const holdColumns = `account_no, id, cycle_start, created_at, expires_at, status, credit_units, uc_units,
  estimate_units, usage_class, source, surface, app, model, hash, settled_record_id`;

export function holdFromRow(r: DbRow): HoldRow {
  return {
    accountNo: num(r.account_no),
    id: text(r.id),
    cycleStart: num(r.cycle_start),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    status: text(r.status) as HoldStatus,
    creditUnits: units(r.credit_units),
    ucUnits: units(r.uc_units),
    estimateUnits: units(r.estimate_units),
    usageClass: text(r.usage_class) as UsageClassName,
    source: text(r.source),
    surface: text(r.surface),
    app: textOrNull(r.app),
    model: textOrNull(r.model),
    hash: text(r.hash),
    settledRecordId: textOrNull(r.settled_record_id),
  };
}

export function appFromRow(r: DbRow): AppPolicyRow {
  return {
    accountNo: num(r.account_no),
    app: text(r.app),
    cycleCapUnits: unitsOrNull(r.cycle_cap_units),
    blocked: bool(r.blocked),
  };
}

export function dimFromRow(r: DbRow): DimFigure {
  return { dim: text(r.dim) as DimName, key: text(r.key), costUnits: units(r.cost_units) };
}

export function tokenFromRow(r: DbRow): TokenRow {
  return {
    hash: text(r.hash),
    role: text(r.role) as TokenRole,
    accountId: textOrNull(r.account_id),
    orgId: textOrNull(r.org_id),
    createdAt: num(r.created_at),
  };
}

/**
 * An `int8[]` literal (`{1,NULL,-5}`), sent as one text parameter and cast in SQL. The client's
 * own array serialization needs the server's type catalogue fetched first; a literal is exact
 * and needs nothing.
 */
export function int8ArrayLiteral(values: readonly (bigint | number | null)[]): string {
  return `{${values
    .map((v) => {
      if (v === null) return 'NULL';
      assert.ok(typeof v === 'bigint' || Number.isSafeInteger(v), `not an integer: ${String(v)}`);
      return v.toString();
    })
    .join(',')}}`;
}

/** A `bool[]` literal (`{t,f,NULL}`). */
export function boolArrayLiteral(values: readonly (boolean | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : v ? 't' : 'f')).join(',')}}`;
}

/** A `text[]` literal: every element quoted (so the string "NULL" stays a string), `\` and `"` escaped. */
export function textArrayLiteral(values: readonly (string | null)[]): string {
  return `{${values
    .map((v) => (v === null ? 'NULL' : `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`))
    .join(',')}}`;
}
