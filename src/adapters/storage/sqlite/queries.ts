/**
 * The SQL of the SQLite store and its row mapping, prepared once per connection. No policy here:
 * the store (`sqlite-store.ts`) decides when each query runs, in which transaction, and what the
 * cache sees.
 *
 * Every statement reads integers as bigint (`setReadBigInts`): money columns must come back exact
 * up to int64, and a statement cannot read some columns one way and some the other. Columns that
 * the model keeps as JS numbers (numbers, seqs, indexes, instants) are converted with `Number`;
 * they are far below 2^53. Parameters: money as bigint, everything else as number; node:sqlite
 * refuses a bigint beyond int64 instead of wrapping it.
 */
import type { DatabaseSync, SQLInputValue, SQLOutputValue, StatementSync } from 'node:sqlite';
import {
  addAppSpend,
  addDimDelta,
  applyPosting,
  countInWindowFields,
  forEachDimDelta,
} from '../../../app/ledger.ts';
import type {
  AccountAggregate,
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
import type { DimFigure, PostingPage, TokenRole, TokenRow } from '../../../app/ports.ts';
import type { Instant } from '../../../core/time.ts';
import { OutboxQueries } from './outbox-queries.ts';

type Row = Record<string, SQLOutputValue>;

const orgColumns =
  'no, id, billing_anchor, created_at, uc_enabled, uc_monthly_limit_units, seat_tier_limits_units';
const accountColumns =
  'no, id, kind, plan, pending_plan, status, org_no, org_id, billing_anchor, created_at, claimed_at, ' +
  'claim_effective_at, uc_enabled, uc_monthly_limit_units, member_limit_units, granted_through_index, ' +
  'closed_through_index, session_start, session_used_units, week_start, week_used_units, last_activity_at, ' +
  'next_seq, next_roll_at';
const cycleColumns =
  'account_no, start, end, idx, closed, granted_units, credit_used_units, expired_units, credit_adjusted_units, ' +
  'uc_charged_units, written_off_units, subscription_units, payg_units, credit_held_units, uc_held_units, exhausted_at, ' +
  'alert_percent, expiring_at';
const postingColumns =
  'account_no, seq, at, cycle_start, kind, idem, hash, corrects, credit_units, uc_units, subscription_units, ' +
  'written_off_units, payg_units, cost_units, usage_class, surface, app, model, note, recorded_at';
const holdColumns =
  'account_no, id, cycle_start, created_at, expires_at, status, credit_units, uc_units, estimate_units, ' +
  'usage_class, source, surface, app, model, hash, settled_record_id';

function placeholders(columns: string): string {
  return columns
    .split(',')
    .map(() => '?')
    .join(', ');
}

/** `col = excluded.col` for every column but the key: the upsert form of "save this row". */
function excludedSet(columns: string, key: readonly string[]): string {
  return columns
    .split(',')
    .map((c) => c.trim())
    .filter((c) => !key.includes(c))
    .map((c) => `${c} = excluded.${c}`)
    .join(', ');
}

const num = (v: SQLOutputValue): number => Number(v);
const numOrNull = (v: SQLOutputValue): number | null => (v === null ? null : Number(v));
const big = (v: SQLOutputValue): bigint => v as bigint;
const bigOrNull = (v: SQLOutputValue): bigint | null => v as bigint | null;
const str = (v: SQLOutputValue): string => v as string;
const strOrNull = (v: SQLOutputValue): string | null => v as string | null;
const bool = (v: SQLOutputValue): boolean => v === 1n;
const flag = (b: boolean): number => (b ? 1 : 0);

function seatLimitsToJson(limits: Record<string, bigint>): string {
  const out: Record<string, string> = {};
  for (const [plan, units] of Object.entries(limits)) out[plan] = units.toString();
  return JSON.stringify(out);
}

function seatLimitsFromJson(text: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const [plan, units] of Object.entries(JSON.parse(text) as Record<string, string>))
    out[plan] = BigInt(units);
  return out;
}

function orgFromRow(r: Row): OrgRow {
  return {
    no: num(r.no!),
    id: str(r.id!),
    billingAnchor: num(r.billing_anchor!),
    createdAt: num(r.created_at!),
    ucEnabled: bool(r.uc_enabled!),
    ucMonthlyLimitUnits: bigOrNull(r.uc_monthly_limit_units!),
    seatTierLimitsUnits: seatLimitsFromJson(str(r.seat_tier_limits_units!)),
  };
}

function orgCycleFromRow(r: Row): OrgCycleRow {
  return {
    orgNo: num(r.org_no!),
    cycleStart: num(r.cycle_start!),
    ucSpentUnits: big(r.uc_spent_units!),
    ucHeldUnits: big(r.uc_held_units!),
  };
}

function accountFromRow(r: Row): AccountRow {
  return {
    no: num(r.no!),
    id: str(r.id!),
    kind: str(r.kind!) as AccountKind,
    plan: strOrNull(r.plan!),
    pendingPlan: strOrNull(r.pending_plan!),
    status: str(r.status!) as AccountStatus,
    orgNo: numOrNull(r.org_no!),
    orgId: strOrNull(r.org_id!),
    billingAnchor: num(r.billing_anchor!),
    createdAt: num(r.created_at!),
    claimedAt: numOrNull(r.claimed_at!),
    claimEffectiveAt: numOrNull(r.claim_effective_at!),
    ucEnabled: bool(r.uc_enabled!),
    ucMonthlyLimitUnits: bigOrNull(r.uc_monthly_limit_units!),
    memberLimitUnits: bigOrNull(r.member_limit_units!),
    grantedThroughIndex: numOrNull(r.granted_through_index!),
    closedThroughIndex: numOrNull(r.closed_through_index!),
    sessionStart: numOrNull(r.session_start!),
    sessionUsedUnits: big(r.session_used_units!),
    weekStart: numOrNull(r.week_start!),
    weekUsedUnits: big(r.week_used_units!),
    lastActivityAt: numOrNull(r.last_activity_at!),
    nextSeq: num(r.next_seq!),
    nextRollAt: numOrNull(r.next_roll_at!),
  };
}

function cycleFromRow(r: Row): CycleRow {
  return {
    accountNo: num(r.account_no!),
    start: num(r.start!),
    end: num(r.end!),
    index: num(r.idx!),
    closed: bool(r.closed!),
    grantedUnits: big(r.granted_units!),
    creditUsedUnits: big(r.credit_used_units!),
    expiredUnits: big(r.expired_units!),
    creditAdjustedUnits: big(r.credit_adjusted_units!),
    ucChargedUnits: big(r.uc_charged_units!),
    writtenOffUnits: big(r.written_off_units!),
    subscriptionUnits: big(r.subscription_units!),
    paygUnits: big(r.payg_units!),
    creditHeldUnits: big(r.credit_held_units!),
    ucHeldUnits: big(r.uc_held_units!),
    exhaustedAt: numOrNull(r.exhausted_at!),
    alertPercent: num(r.alert_percent!),
    expiringAt: numOrNull(r.expiring_at!),
  };
}

function postingFromRow(r: Row): PostingRow {
  return {
    accountNo: num(r.account_no!),
    seq: num(r.seq!),
    at: num(r.at!),
    cycleStart: num(r.cycle_start!),
    kind: str(r.kind!) as PostingKind,
    idem: strOrNull(r.idem!),
    hash: strOrNull(r.hash!),
    corrects: numOrNull(r.corrects!),
    creditUnits: big(r.credit_units!),
    ucUnits: big(r.uc_units!),
    subscriptionUnits: big(r.subscription_units!),
    writtenOffUnits: big(r.written_off_units!),
    paygUnits: big(r.payg_units!),
    costUnits: big(r.cost_units!),
    usageClass: strOrNull(r.usage_class!) as UsageClassName | null,
    surface: strOrNull(r.surface!),
    app: strOrNull(r.app!),
    model: strOrNull(r.model!),
    note: strOrNull(r.note!),
    recordedAt: num(r.recorded_at!),
  };
}

function holdFromRow(r: Row): HoldRow {
  return {
    accountNo: num(r.account_no!),
    id: str(r.id!),
    cycleStart: num(r.cycle_start!),
    createdAt: num(r.created_at!),
    expiresAt: num(r.expires_at!),
    status: str(r.status!) as HoldStatus,
    creditUnits: big(r.credit_units!),
    ucUnits: big(r.uc_units!),
    estimateUnits: big(r.estimate_units!),
    usageClass: str(r.usage_class!) as UsageClassName,
    source: str(r.source!),
    surface: str(r.surface!),
    app: strOrNull(r.app!),
    model: strOrNull(r.model!),
    hash: str(r.hash!),
    settledRecordId: strOrNull(r.settled_record_id!),
  };
}

function appFromRow(r: Row): AppPolicyRow {
  return {
    accountNo: num(r.account_no!),
    app: str(r.app!),
    cycleCapUnits: bigOrNull(r.cycle_cap_units!),
    blocked: bool(r.blocked!),
  };
}

function tokenFromRow(r: Row): TokenRow {
  return {
    hash: str(r.hash!),
    role: str(r.role!) as TokenRole,
    accountId: strOrNull(r.account_id!),
    orgId: strOrNull(r.org_id!),
    createdAt: num(r.created_at!),
  };
}

function orgParams(row: Omit<OrgRow, 'no'>): SQLInputValue[] {
  return [
    row.id,
    row.billingAnchor,
    row.createdAt,
    flag(row.ucEnabled),
    row.ucMonthlyLimitUnits,
    seatLimitsToJson(row.seatTierLimitsUnits),
  ];
}

function accountParams(row: Omit<AccountRow, 'no'>): SQLInputValue[] {
  return [
    row.id,
    row.kind,
    row.plan,
    row.pendingPlan,
    row.status,
    row.orgNo,
    row.orgId,
    row.billingAnchor,
    row.createdAt,
    row.claimedAt,
    row.claimEffectiveAt,
    flag(row.ucEnabled),
    row.ucMonthlyLimitUnits,
    row.memberLimitUnits,
    row.grantedThroughIndex,
    row.closedThroughIndex,
    row.sessionStart,
    row.sessionUsedUnits,
    row.weekStart,
    row.weekUsedUnits,
    row.lastActivityAt,
    row.nextSeq,
    row.nextRollAt,
  ];
}

/**
 * Every statement of the store on one connection. Prepared once: preparing costs more than most
 * of these statements take to run.
 */
export class Queries {
  readonly #db: DatabaseSync;
  readonly #orgInsert: StatementSync;
  readonly #orgUpdate: StatementSync;
  readonly #orgById: StatementSync;
  readonly #orgByNo: StatementSync;
  readonly #orgCycleGet: StatementSync;
  readonly #orgCycleCreate: StatementSync;
  readonly #orgCycleUpdate: StatementSync;
  readonly #accountInsert: StatementSync;
  readonly #accountUpdate: StatementSync;
  readonly #accountWriteBack: StatementSync;
  readonly #accountById: StatementSync;
  readonly #accountsByOrg: StatementSync;
  readonly #accountIdsFirst: StatementSync;
  readonly #accountIdsAfter: StatementSync;
  readonly #accountsDue: StatementSync;
  readonly #cycleUpsert: StatementSync;
  readonly #cycleGet: StatementSync;
  readonly #cyclesAll: StatementSync;
  readonly #cyclesOpen: StatementSync;
  readonly #holdUpsert: StatementSync;
  readonly #holdGet: StatementSync;
  readonly #holdsActive: StatementSync;
  readonly #holdAccounts: StatementSync;
  readonly #appUpsert: StatementSync;
  readonly #appsAll: StatementSync;
  readonly #dimAdd: StatementSync;
  readonly #dimsGet: StatementSync;
  readonly #appSpendOpen: StatementSync;
  readonly #postingInsert: StatementSync;
  readonly #usagePostingInsert: StatementSync;
  readonly #postingsAfter: StatementSync;
  readonly #postingsInCycleAfter: StatementSync;
  readonly #postingByIdem: StatementSync;
  readonly #postingsByIdems: StatementSync;
  readonly #postingsByAccountIdems: StatementSync;
  readonly #tail: StatementSync;
  readonly #checkpointOf: StatementSync;
  readonly #checkpointRaise: StatementSync;
  readonly #tokenInsert: StatementSync;
  readonly #tokenGet: StatementSync;
  readonly #ping: StatementSync;
  /** The outbox's statements (events, webhooks, deliveries), on the same connection. */
  readonly outbox: OutboxQueries;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.outbox = new OutboxQueries(db);
    const p = (sql: string) => this.#prepare(sql);
    const orgInsertColumns = orgColumns.replace('no, ', '');
    const accountInsertColumns = accountColumns.replace('no, ', '');
    this.#orgInsert = p(
      `INSERT INTO orgs (${orgInsertColumns}) VALUES (${placeholders(orgInsertColumns)}) RETURNING no`,
    );
    // Ids never change: an id that does not match the number is a missing row, not a rename.
    this.#orgUpdate = p(
      `UPDATE orgs SET billing_anchor = ?2, created_at = ?3, uc_enabled = ?4, uc_monthly_limit_units = ?5,
       seat_tier_limits_units = ?6 WHERE id = ?1 AND no = ?7`,
    );
    this.#orgById = p(`SELECT ${orgColumns} FROM orgs WHERE id = ?`);
    this.#orgByNo = p(`SELECT ${orgColumns} FROM orgs WHERE no = ?`);
    this.#orgCycleGet = p(
      'SELECT org_no, cycle_start, uc_spent_units, uc_held_units FROM org_cycles WHERE org_no = ? AND cycle_start = ?',
    );
    this.#orgCycleCreate = p(
      'INSERT INTO org_cycles (org_no, cycle_start, uc_spent_units, uc_held_units) VALUES (?, ?, 0, 0) ON CONFLICT DO NOTHING',
    );
    this.#orgCycleUpdate = p(
      'UPDATE org_cycles SET uc_spent_units = ?, uc_held_units = ? WHERE org_no = ? AND cycle_start = ?',
    );
    this.#accountInsert = p(
      `INSERT INTO accounts (${accountInsertColumns}) VALUES (${placeholders(accountInsertColumns)}) RETURNING no`,
    );
    const accountSet = accountInsertColumns
      .split(',')
      .map((c, i) => `${c.trim()} = ?${i + 1}`)
      .filter((c) => !c.startsWith('id ='))
      .join(', ');
    this.#accountUpdate = p(`UPDATE accounts SET ${accountSet} WHERE id = ?1 AND no = ?24`);
    // A write-back: the row and its checkpoint in one statement.
    this.#accountWriteBack = p(
      `UPDATE accounts SET ${accountSet}, figures_through_seq = ?25 WHERE id = ?1 AND no = ?24`,
    );
    this.#accountById = p(`SELECT ${accountColumns} FROM accounts WHERE id = ?`);
    this.#accountsByOrg = p(`SELECT ${accountColumns} FROM accounts WHERE org_no = ? ORDER BY id`);
    this.#accountIdsFirst = p('SELECT id FROM accounts ORDER BY id LIMIT ?');
    this.#accountIdsAfter = p('SELECT id FROM accounts WHERE id > ? ORDER BY id LIMIT ?');
    this.#accountsDue = p(
      'SELECT id FROM accounts WHERE next_roll_at IS NOT NULL AND next_roll_at <= ? ORDER BY next_roll_at LIMIT ?',
    );
    this.#cycleUpsert = p(
      `INSERT INTO cycles (${cycleColumns}) VALUES (${placeholders(cycleColumns)})
       ON CONFLICT (account_no, start) DO UPDATE SET ${excludedSet(cycleColumns, ['account_no', 'start'])}`,
    );
    this.#cycleGet = p(`SELECT ${cycleColumns} FROM cycles WHERE account_no = ? AND start = ?`);
    this.#cyclesAll = p(`SELECT ${cycleColumns} FROM cycles WHERE account_no = ? ORDER BY start`);
    this.#cyclesOpen = p(
      `SELECT ${cycleColumns} FROM cycles WHERE account_no = ? AND closed = 0 ORDER BY start`,
    );
    this.#holdUpsert = p(
      `INSERT INTO holds (${holdColumns}) VALUES (${placeholders(holdColumns)})
       ON CONFLICT (account_no, id) DO UPDATE SET ${excludedSet(holdColumns, ['account_no', 'id'])}`,
    );
    this.#holdGet = p(`SELECT ${holdColumns} FROM holds WHERE account_no = ? AND id = ?`);
    this.#holdsActive = p(`SELECT ${holdColumns} FROM holds WHERE account_no = ? AND status = 'active'`);
    this.#holdAccounts = p(
      'SELECT a.id FROM holds h JOIN accounts a ON a.no = h.account_no WHERE h.id = ? ORDER BY a.id LIMIT ?',
    );
    this.#appUpsert = p(
      `INSERT INTO apps (account_no, app, cycle_cap_units, blocked) VALUES (?, ?, ?, ?)
       ON CONFLICT (account_no, app) DO UPDATE SET cycle_cap_units = excluded.cycle_cap_units, blocked = excluded.blocked`,
    );
    this.#appsAll = p('SELECT account_no, app, cycle_cap_units, blocked FROM apps WHERE account_no = ?');
    this.#dimAdd = p(
      `INSERT INTO dims (account_no, cycle_start, dim, key, cost_units) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (account_no, cycle_start, dim, key) DO UPDATE SET cost_units = cost_units + excluded.cost_units`,
    );
    this.#dimsGet = p(
      'SELECT dim, key, cost_units FROM dims WHERE account_no = ? AND cycle_start = ? ORDER BY dim, key',
    );
    this.#appSpendOpen = p(
      `SELECT d.cycle_start, d.key, d.cost_units FROM dims d
       JOIN cycles c ON c.account_no = d.account_no AND c.start = d.cycle_start
       WHERE d.account_no = ? AND d.dim = 'app' AND c.closed = 0`,
    );
    this.#postingInsert = p(
      `INSERT INTO postings (${postingColumns}) VALUES (${placeholders(postingColumns)})`,
    );
    // The usage posting, the one booked per record: its constant columns as literals, three
    // parameters fewer to bind on the hottest statement.
    this.#usagePostingInsert = p(
      `INSERT INTO postings (${postingColumns}) VALUES (?, ?, ?, ?, 'usage', ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
    );
    this.#postingsAfter = p(
      `SELECT ${postingColumns} FROM postings WHERE account_no = ? AND seq > ? ORDER BY seq LIMIT ?`,
    );
    this.#postingsInCycleAfter = p(
      `SELECT ${postingColumns} FROM postings WHERE account_no = ? AND cycle_start = ? AND seq > ? ORDER BY seq LIMIT ?`,
    );
    this.#postingByIdem = p(`SELECT ${postingColumns} FROM postings WHERE account_no = ? AND idem = ?`);
    // A whole batch's ids in one statement: one call into SQLite instead of one per record, each
    // id still one probe of the unique (account_no, idem) index. One account's ids, then pairs.
    this.#postingsByAccountIdems = p(
      `SELECT ${postingColumns} FROM postings WHERE account_no = ? AND idem IN (SELECT value FROM json_each(?))`,
    );
    this.#postingsByIdems = p(
      `SELECT ${postingColumns.replace(/(^|, )/g, '$1p.')} FROM json_each(?) AS j CROSS JOIN postings AS p
       ON p.account_no = j.value ->> 0 AND p.idem = j.value ->> 1`,
    );
    this.#tail = p(`SELECT ${postingColumns} FROM postings WHERE account_no = ? AND seq > ? ORDER BY seq`);
    this.#checkpointOf = p('SELECT figures_through_seq FROM accounts WHERE no = ?');
    this.#checkpointRaise = p(
      'UPDATE accounts SET figures_through_seq = max(figures_through_seq, ?) WHERE no = ?',
    );
    this.#tokenInsert = p(
      'INSERT INTO tokens (hash, role, account_id, org_id, created_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.#tokenGet = p('SELECT hash, role, account_id, org_id, created_at FROM tokens WHERE hash = ?');
    this.#ping = p('SELECT 1 AS one');
  }

  #prepare(sql: string): StatementSync {
    const statement = this.#db.prepare(sql);
    statement.setReadBigInts(true);
    return statement;
  }

  // ── orgs ──

  insertOrg(row: Omit<OrgRow, 'no'>): OrgRow {
    const r = this.#orgInsert.get(...orgParams(row)) as Row;
    return { ...row, no: num(r.no!) };
  }

  /** False when no org has this number and id. */
  updateOrg(row: OrgRow): boolean {
    return Number(this.#orgUpdate.run(...orgParams(row), row.no).changes) > 0;
  }

  orgById(id: string): OrgRow | undefined {
    const r = this.#orgById.get(id) as Row | undefined;
    return r && orgFromRow(r);
  }

  orgByNo(no: number): OrgRow | undefined {
    const r = this.#orgByNo.get(no) as Row | undefined;
    return r && orgFromRow(r);
  }

  orgCycle(orgNo: number, cycleStart: Instant): OrgCycleRow | undefined {
    const r = this.#orgCycleGet.get(orgNo, cycleStart) as Row | undefined;
    return r && orgCycleFromRow(r);
  }

  createOrgCycle(orgNo: number, cycleStart: Instant): void {
    this.#orgCycleCreate.run(orgNo, cycleStart);
  }

  updateOrgCycle(row: OrgCycleRow): boolean {
    return (
      Number(this.#orgCycleUpdate.run(row.ucSpentUnits, row.ucHeldUnits, row.orgNo, row.cycleStart).changes) >
      0
    );
  }

  // ── accounts ──

  insertAccount(row: Omit<AccountRow, 'no'>): AccountRow {
    const r = this.#accountInsert.get(...accountParams(row)) as Row;
    return { ...row, no: num(r.no!) };
  }

  /** False when no account has this number and id. */
  updateAccount(row: AccountRow): boolean {
    return Number(this.#accountUpdate.run(...accountParams(row), row.no).changes) > 0;
  }

  /** The account row and `figures_through_seq` at once (a write-back); false if no such account. */
  writeBackAccount(row: AccountRow, throughSeq: number): boolean {
    return Number(this.#accountWriteBack.run(...accountParams(row), row.no, throughSeq).changes) > 0;
  }

  account(id: string): AccountRow | undefined {
    const r = this.#accountById.get(id) as Row | undefined;
    if (!r) return undefined;
    const account = accountFromRow(r);
    for (const p of this.#tailOf(account.no)) foldIntoAccount(account, p);
    return account;
  }

  orgMembers(orgNo: number): AccountRow[] {
    const members = (this.#accountsByOrg.all(orgNo) as Row[]).map(accountFromRow);
    for (const m of members) for (const p of this.#tailOf(m.no)) foldIntoAccount(m, p);
    return members;
  }

  /**
   * The journal's tail: the account's postings after `afterSeq`, its stored `figures_through_seq`.
   * The store writes account, cycle and breakdown rows behind the journal (`sqlite-store.ts`,
   * write-behind): the stored rows hold the effects of the postings up to that seq, and every
   * read adds the later ones with the same folds the ledger applied when it booked them.
   */
  tail(accountNo: number, afterSeq: number): PostingRow[] {
    return (this.#tail.all(accountNo, afterSeq) as Row[]).map(postingFromRow);
  }

  /** Up to which seq an account's stored rows hold its postings' effects; undefined if no account. */
  checkpoint(accountNo: number): number | undefined {
    const r = this.#checkpointOf.get(accountNo) as Row | undefined;
    return r && num(r.figures_through_seq!);
  }

  /** After postings written through (not deferred): the rows are as their writer left them. */
  raiseCheckpoint(accountNo: number, seq: number): void {
    this.#checkpointRaise.run(seq, accountNo);
  }

  #tailOf(accountNo: number): PostingRow[] {
    const after = this.checkpoint(accountNo);
    return after === undefined ? [] : this.tail(accountNo, after);
  }

  accountIds(afterId: string | null, limit: number): string[] {
    const rows = (
      afterId === null ? this.#accountIdsFirst.all(limit) : this.#accountIdsAfter.all(afterId, limit)
    ) as Row[];
    return rows.map((r) => str(r.id!));
  }

  accountsDue(now: Instant, limit: number): string[] {
    return (this.#accountsDue.all(now, limit) as Row[]).map((r) => str(r.id!));
  }

  /**
   * The aggregate as a fresh load defines it: open cycles, active holds, apps, open cycles' app
   * spend, with the journal's tail folded in (see `tail`).
   */
  aggregate(id: string): AccountAggregate | undefined {
    const stored = this.storedAggregate(id);
    if (stored) foldTail(stored, this.#tailOf(stored.account.no));
    return stored;
  }

  /** The aggregate exactly as its rows are stored, without the tail: the write-behind's images. */
  storedAggregate(id: string): AccountAggregate | undefined {
    const r = this.#accountById.get(id) as Row | undefined;
    const account = r && accountFromRow(r);
    if (!account) return undefined;
    const cycles = new Map<Instant, CycleRow>();
    for (const r of this.#cyclesOpen.all(account.no) as Row[]) {
      const cycle = cycleFromRow(r);
      cycles.set(cycle.start, cycle);
    }
    const holds = new Map<string, HoldRow>();
    for (const r of this.#holdsActive.all(account.no) as Row[]) {
      const hold = holdFromRow(r);
      holds.set(hold.id, hold);
    }
    const apps = new Map<string, AppPolicyRow>();
    for (const r of this.#appsAll.all(account.no) as Row[]) {
      const app = appFromRow(r);
      apps.set(app.app, app);
    }
    const appSpend = new Map<Instant, Map<string, bigint>>();
    for (const r of this.#appSpendOpen.all(account.no) as Row[]) {
      const start = num(r.cycle_start!);
      let spend = appSpend.get(start);
      if (!spend) {
        spend = new Map();
        appSpend.set(start, spend);
      }
      spend.set(str(r.key!), big(r.cost_units!));
    }
    return { account, cycles, holds, apps, appSpend };
  }

  // ── cycles, holds, apps, dims ──

  upsertCycle(c: CycleRow): void {
    this.#cycleUpsert.run(
      c.accountNo,
      c.start,
      c.end,
      c.index,
      flag(c.closed),
      c.grantedUnits,
      c.creditUsedUnits,
      c.expiredUnits,
      c.creditAdjustedUnits,
      c.ucChargedUnits,
      c.writtenOffUnits,
      c.subscriptionUnits,
      c.paygUnits,
      c.creditHeldUnits,
      c.ucHeldUnits,
      c.exhaustedAt,
      c.alertPercent,
      c.expiringAt,
    );
  }

  cycle(accountNo: number, start: Instant): CycleRow | undefined {
    const r = this.#cycleGet.get(accountNo, start) as Row | undefined;
    if (!r) return undefined;
    const cycle = cycleFromRow(r);
    for (const p of this.#tailOf(accountNo)) if (p.cycleStart === start) applyPosting(cycle, p);
    return cycle;
  }

  cycles(accountNo: number): CycleRow[] {
    const cycles = (this.#cyclesAll.all(accountNo) as Row[]).map(cycleFromRow);
    const tail = this.#tailOf(accountNo);
    if (tail.length > 0) {
      const byStart = new Map(cycles.map((c) => [c.start, c]));
      for (const p of tail) {
        const cycle = byStart.get(p.cycleStart);
        if (cycle) applyPosting(cycle, p);
      }
    }
    return cycles;
  }

  upsertHold(h: HoldRow): void {
    this.#holdUpsert.run(
      h.accountNo,
      h.id,
      h.cycleStart,
      h.createdAt,
      h.expiresAt,
      h.status,
      h.creditUnits,
      h.ucUnits,
      h.estimateUnits,
      h.usageClass,
      h.source,
      h.surface,
      h.app,
      h.model,
      h.hash,
      h.settledRecordId,
    );
  }

  hold(accountNo: number, id: string): HoldRow | undefined {
    const r = this.#holdGet.get(accountNo, id) as Row | undefined;
    return r && holdFromRow(r);
  }

  holdAccounts(holdId: string, limit: number): string[] {
    return (this.#holdAccounts.all(holdId, limit) as Row[]).map((r) => str(r.id!));
  }

  upsertApp(a: AppPolicyRow): void {
    this.#appUpsert.run(a.accountNo, a.app, a.cycleCapUnits, flag(a.blocked));
  }

  addDim(accountNo: number, cycleStart: Instant, dim: DimName, key: string, costUnits: bigint): void {
    this.#dimAdd.run(accountNo, cycleStart, dim, key, costUnits);
  }

  dims(accountNo: number, cycleStart: Instant): DimFigure[] {
    const dims: DimFigure[] = (this.#dimsGet.all(accountNo, cycleStart) as Row[]).map((r) => ({
      dim: str(r.dim!) as DimName,
      key: str(r.key!),
      costUnits: big(r.cost_units!),
    }));
    const tail = this.#tailOf(accountNo);
    if (tail.length === 0) return dims;
    const byKey = new Map<string, DimFigure>();
    for (const d of dims) addDimDelta(byKey, d.dim, d.key, d.costUnits);
    for (const p of tail) {
      if (p.cycleStart === cycleStart)
        forEachDimDelta(p, (dim, key, cost) => addDimDelta(byKey, dim, key, cost));
    }
    // The stored order: by dim, then key.
    return [...byKey.values()].sort((a, b) =>
      a.dim === b.dim ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.dim < b.dim ? -1 : 1,
    );
  }

  // ── postings ──

  /** The hot path of usage booking: one prepared statement, positional parameters, no allocation per column. */
  insertPostings(postings: readonly PostingRow[]): void {
    const insert = this.#postingInsert;
    const usage = this.#usagePostingInsert;
    for (const p of postings) {
      if (p.kind === 'usage' && p.corrects === null && p.note === null) {
        usage.run(
          p.accountNo,
          p.seq,
          p.at,
          p.cycleStart,
          p.idem,
          p.hash,
          p.creditUnits,
          p.ucUnits,
          p.subscriptionUnits,
          p.writtenOffUnits,
          p.paygUnits,
          p.costUnits,
          p.usageClass,
          p.surface,
          p.app,
          p.model,
          p.recordedAt,
        );
        continue;
      }
      insert.run(
        p.accountNo,
        p.seq,
        p.at,
        p.cycleStart,
        p.kind,
        p.idem,
        p.hash,
        p.corrects,
        p.creditUnits,
        p.ucUnits,
        p.subscriptionUnits,
        p.writtenOffUnits,
        p.paygUnits,
        p.costUnits,
        p.usageClass,
        p.surface,
        p.app,
        p.model,
        p.note,
        p.recordedAt,
      );
    }
  }

  postings(accountNo: number, page: PostingPage): PostingRow[] {
    const after = page.afterSeq ?? -1;
    const rows = (
      page.cycleStart === undefined
        ? this.#postingsAfter.all(accountNo, after, page.limit)
        : this.#postingsInCycleAfter.all(accountNo, page.cycleStart, after, page.limit)
    ) as Row[];
    return rows.map(postingFromRow);
  }

  postingsByIdem(accountNo: number, idems: readonly string[]): Map<string, PostingRow> {
    const found = new Map<string, PostingRow>();
    if (idems.length <= 2) {
      for (const idem of idems) {
        const r = this.#postingByIdem.get(accountNo, idem) as Row | undefined;
        if (r) found.set(idem, postingFromRow(r));
      }
      return found;
    }
    for (const r of this.#postingsByAccountIdems.all(accountNo, JSON.stringify(idems)) as Row[]) {
      const posting = postingFromRow(r);
      found.set(posting.idem!, posting);
    }
    return found;
  }

  /**
   * Postings by (account number, idempotency key) pairs, for many accounts in one statement: one
   * call into SQLite for a whole batch, each pair still one probe of the unique index.
   */
  postingsByKeys(keys: readonly (readonly [number, string])[]): PostingRow[] {
    return (this.#postingsByIdems.all(JSON.stringify(keys)) as Row[]).map(postingFromRow);
  }

  // ── tokens ──

  insertToken(t: TokenRow): void {
    this.#tokenInsert.run(t.hash, t.role, t.accountId, t.orgId, t.createdAt);
  }

  token(hash: string): TokenRow | undefined {
    const r = this.#tokenGet.get(hash) as Row | undefined;
    return r && tokenFromRow(r);
  }

  ping(): boolean {
    return (this.#ping.get() as Row | undefined)?.one === 1n;
  }
}

// ── write-behind: folding the journal's tail into stored rows ──

/**
 * What booking a posting did to its account's own row, as far as the posting tells: the sequence,
 * the last activity (bookUsage sets it from every usage it books, settled holds included) and the
 * R10 windows (a usage counted in them carries its whole cost on the subscription leg). Where the
 * posting does not tell (a zero-cost record opening a window), the write-behind sees the
 * difference at the operation's end and writes the row at once.
 */
export function foldIntoAccount(account: AccountRow, p: PostingRow): void {
  account.nextSeq = p.seq + 1;
  if (p.kind !== 'usage') return;
  if (account.lastActivityAt === null || p.at > account.lastActivityAt) account.lastActivityAt = p.at;
  if (p.subscriptionUnits > 0n) countInWindowFields(account, p.at, p.subscriptionUnits);
}

/**
 * Folds tail postings into a stored aggregate: the account row, the open cycles' figures
 * (`applyPosting`, the ledger's own fold) and their app spend (`forEachDimDelta`, the ledger's own
 * breakdown rule). Everything else an operation changes is written at its end, never left behind.
 */
export function foldTail(agg: AccountAggregate, tail: readonly PostingRow[]): void {
  for (const p of tail) {
    foldIntoAccount(agg.account, p);
    const cycle = agg.cycles.get(p.cycleStart);
    if (!cycle) continue;
    applyPosting(cycle, p);
    forEachDimDelta(p, (dim, key, cost) => {
      if (dim === 'app') addAppSpend(agg.appSpend, p.cycleStart, key, cost);
    });
  }
}
