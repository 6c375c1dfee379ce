/**
 * The ledger's persistent model: what a `Store` keeps, as plain data. Amounts are `bigint` units
 * (1e-12 USD), instants integer milliseconds (see `core/money.ts`, `core/time.ts`).
 *
 * Two nouns carry the money, as in TigerBeetle: an account's cycle figures (cumulative sums, a
 * cache of the journal) and journal postings (immutable). A posting is one event with up to five
 * signed legs, one per pool; the entry listing shows each non-zero leg as one entry. Holds are
 * reservations, not postings: they move no money, they only lower what is available.
 *
 * Every key begins with the account's number (or the org's, for the org's shared usage-credit
 * counter), so accounts can be sharded without changing the model.
 */
import type { Instant } from '../core/time.ts';

export type AccountKind = 'subscription' | 'api';
/**
 * `canceling`: canceled, effective at the next cycle start (R14); `canceled`: no more grants;
 * `removed`: taken out of its org, credit expired at once (R14).
 */
export type AccountStatus = 'active' | 'canceling' | 'canceled' | 'removed';
export type UsageClassName = 'programmatic' | 'interactive';

/** The pools a posting's legs move. `payg` is an API account's pay-as-you-go charge. */
export type Pool = 'sdk_credit' | 'usage_credits' | 'subscription' | 'written_off' | 'pay_as_you_go';
export const pools: readonly Pool[] = [
  'sdk_credit',
  'usage_credits',
  'subscription',
  'written_off',
  'pay_as_you_go',
];

export type PostingKind =
  | 'grant' // sdk_credit +: a cycle's grant, or an upgrade's difference (R5, R14)
  | 'usage' // a priced usage record: sdk_credit −, usage_credits +, subscription +, written_off +, payg +
  | 'expire' // sdk_credit −: the remaining credit at a cycle's close or a member's removal (R8, R14)
  | 'adjustment' // an admin correction on one pool (R15)
  | 'reversal' // the exact negation of a usage posting (R15)
  | 'reclassification'; // a usage re-booked under the other class (R15)

export interface OrgRow {
  no: number;
  id: string;
  billingAnchor: Instant;
  createdAt: Instant;
  ucEnabled: boolean;
  /** Shared by all members' pay-as-you-go spend per cycle; null = no org-wide limit. */
  ucMonthlyLimitUnits: bigint | null;
  /** Per seat plan: each member of that seat may spend at most this per cycle. */
  seatTierLimitsUnits: Record<string, bigint>;
}

/** The org's one shared figure (R7): members' usage-credit spend in one org cycle. */
export interface OrgCycleRow {
  orgNo: number;
  cycleStart: Instant;
  ucSpentUnits: bigint;
  ucHeldUnits: bigint;
}

export interface AccountRow {
  no: number;
  id: string;
  kind: AccountKind;
  /** Null for `api` accounts. For org members, the seat. */
  plan: string | null;
  /** A downgrade waiting for the next cycle start (R14). */
  pendingPlan: string | null;
  status: AccountStatus;
  orgNo: number | null;
  orgId: string | null;
  billingAnchor: Instant;
  createdAt: Instant;
  /** When the holder claimed (R5); null = unclaimed. */
  claimedAt: Instant | null;
  /** When the claim takes effect: the claim instant, or the policy's effective instant if later. */
  claimEffectiveAt: Instant | null;
  ucEnabled: boolean;
  ucMonthlyLimitUnits: bigint | null;
  /** Set by an org admin for this member; null = none. */
  memberLimitUnits: bigint | null;
  /** The last cycle index whose grant is booked; null = none yet. */
  grantedThroughIndex: number | null;
  /** Every cycle with an index at or below this is closed (expiry booked). */
  closedThroughIndex: number | null;
  /** R10 windows: open at the first counted request, last 5 h and 7 days. */
  sessionStart: Instant | null;
  sessionUsedUnits: bigint;
  weekStart: Instant | null;
  weekUsedUnits: bigint;
  lastActivityAt: Instant | null;
  /** The next journal sequence number of this account (postings are numbered per account). */
  nextSeq: number;
  /**
   * The earliest instant at which something is due without any request: a cycle to open or close,
   * a hold to expire. The sweep reads this one indexed column; `null` = nothing due.
   */
  nextRollAt: Instant | null;
}

/** One account's figures for one cycle: every field is a sum of journal legs, except the holds. */
export interface CycleRow {
  accountNo: number;
  start: Instant;
  end: Instant;
  index: number;
  closed: boolean;
  grantedUnits: bigint;
  creditUsedUnits: bigint;
  expiredUnits: bigint;
  creditAdjustedUnits: bigint;
  ucChargedUnits: bigint;
  writtenOffUnits: bigint;
  subscriptionUnits: bigint;
  paygUnits: bigint;
  /** Outstanding holds: a cache of the active holds of this cycle. */
  creditHeldUnits: bigint;
  ucHeldUnits: bigint;
  /** The `occurred_at` of the record that used the cycle's last credit unit. */
  exhaustedAt: Instant | null;
  /**
   * The highest `credit.threshold_reached` percentage already emitted in this cycle (0 = none):
   * a high-water mark, so each threshold fires at most once per cycle even if a reversal lowers
   * the usage and it climbs again.
   */
  alertPercent: number;
  /** When `credit.expiring` is due (before the close); null = not scheduled, or already handled. */
  expiringAt: Instant | null;
}

/**
 * Cost by surface, app and model, per cycle: the statement's breakdowns (R17). `adjustment` keys
 * the sum of adjustment legs by pool, so a statement never scans the journal for them.
 */
export type DimName = 'surface' | 'app' | 'model' | 'adjustment';

export interface PostingRow {
  accountNo: number;
  seq: number;
  /** The logical instant: a usage's occurred_at, a grant's cycle start, an expiry's close. */
  at: Instant;
  cycleStart: Instant;
  kind: PostingKind;
  /** Client id with a kind prefix (`u:` usage, `a:` adjustment) for idempotency (R12); else null. */
  idem: string | null;
  /** Hash of the normalized request that carried `idem`. */
  hash: string | null;
  /** The seq of the posting this one corrects (R15). */
  corrects: number | null;
  creditUnits: bigint;
  ucUnits: bigint;
  subscriptionUnits: bigint;
  writtenOffUnits: bigint;
  paygUnits: bigint;
  /** The priced cost of a usage (sum of its legs, credit leg negated); 0 otherwise. */
  costUnits: bigint;
  usageClass: UsageClassName | null;
  surface: string | null;
  app: string | null;
  model: string | null;
  /** A short reason for adjustments and corrections. */
  note: string | null;
  recordedAt: Instant;
}

export type HoldStatus = 'active' | 'settled' | 'voided' | 'expired';

export interface HoldRow {
  accountNo: number;
  id: string;
  cycleStart: Instant;
  createdAt: Instant;
  expiresAt: Instant;
  status: HoldStatus;
  /** Reserved from the credit and from usage credits, in R6 order. */
  creditUnits: bigint;
  ucUnits: bigint;
  estimateUnits: bigint;
  usageClass: UsageClassName;
  source: string;
  surface: string;
  app: string | null;
  model: string | null;
  hash: string;
  /** The usage record that settled it. */
  settledRecordId: string | null;
}

export interface AppPolicyRow {
  accountNo: number;
  app: string;
  cycleCapUnits: bigint | null;
  blocked: boolean;
}

/**
 * Everything a use case needs to decide for one account, loaded (and, on PostgreSQL, locked) at
 * once. The SQLite store keeps these in memory between transactions (one process owns the file),
 * so `authorize` reads no disk; a failed operation evicts what it touched.
 */
export interface AccountAggregate {
  account: AccountRow;
  /** Open cycles and any cycle touched by this transaction, by start. */
  cycles: Map<Instant, CycleRow>;
  /** Active holds by id. */
  holds: Map<string, HoldRow>;
  apps: Map<string, AppPolicyRow>;
  /** Cost per app in each loaded cycle (for app caps, R16), by cycle start then app. */
  appSpend: Map<Instant, Map<string, bigint>>;
}
