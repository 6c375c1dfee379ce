/**
 * The `Store` port on PostgreSQL, for several server processes sharing one database.
 *
 * Correctness across processes comes from row locks, not from caches: every transaction reads
 * what it needs afresh (nothing is cached between transactions, since another process may have
 * written since) and locks it with `SELECT … FOR UPDATE`.
 *
 * Lock order (deadlock avoidance): a use case locks the org's counters first (`lockOrgCycle`),
 * then its accounts (`lockAccount`) in ascending id order (byte order: ids are `COLLATE "C"`).
 * Two transactions that take locks in the same order can only wait for each other, never
 * deadlock; if a caller breaks the order anyway, PostgreSQL detects the deadlock (40P01) and the
 * transaction is retried (`errors.ts`).
 *
 * Transactions run at READ COMMITTED: each statement sees what was committed before it started,
 * and a statement that waited for a row lock sees the row as its holder committed it. That is
 * what makes "lock the account row, then read its cycles, holds and dims" correct without
 * SERIALIZABLE: every writer of those rows holds the account lock first.
 *
 * @example
 * const store = await openPostgresStore({ url: 'postgres://postgres@127.0.0.1:5432/creditpool', max: 20 });
 * await store.transaction(async (tx) => {
 *   const agg = await tx.lockAccount('acct-1');
 *   …
 * });
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import type { EventRow, StoredEvent } from '../../../app/events.ts';
import type {
  AccountAggregate,
  AccountRow,
  AppPolicyRow,
  CycleRow,
  HoldRow,
  OrgCycleRow,
  OrgRow,
  PostingRow,
} from '../../../app/model.ts';
import {
  attemptLogToJson,
  type ClaimedDelivery,
  type DeliveryRow,
  type NewDelivery,
  type WebhookRow,
  type WebhookScope,
  type WebhookWork,
} from '../../../app/outbox.ts';
import type { DimFigure, PostingPage, ReadTx, Store, TokenRow, Tx } from '../../../app/ports.ts';
import { StoreError } from '../../../app/store-error.ts';
import type { Instant } from '../../../core/time.ts';
import {
  isCollision,
  isConnectionLoss,
  isUnavailable,
  reconnectDelayMs,
  retryDelayMs,
  toStoreError,
  transactionAttemptsMax,
} from './errors.ts';
import { migrate } from './migrations.ts';
import { deliveryFromRow, eventFromRow, outboxText, webhookFromRow } from './outbox-rows.ts';
import {
  accountColumns,
  accountFromRow,
  appFromRow,
  boolArrayLiteral,
  cycleColumns,
  cycleFromRow,
  type DbRow,
  dimFromRow,
  holdColumns,
  holdFromRow,
  int8ArrayLiteral,
  num,
  numOrNull,
  orgColumns,
  orgCycleFromRow,
  orgFromRow,
  postingColumns,
  postingFromRow,
  seatTierLimitsJson,
  textArrayLiteral,
  tokenFromRow,
  units,
} from './rows.ts';

export interface PostgresStoreOptions {
  /** A `postgres://` connection URL. */
  url: string;
  /** Pool size: connections this process opens at most. */
  max?: number;
}

export interface PostgresStore extends Store {
  readonly kind: 'postgres';
}

/** Pool size by default: enough to overlap a few transactions per core without crowding the
 * server (PostgreSQL's own default is 100 connections for every process together). */
export const poolSizeDefault = 10;
/** How long a new connection may take before the operation is `unavailable`. */
export const connectTimeoutSeconds = 5;
/**
 * Seconds before the client's next connection attempt after a failed one: 50 ms, doubling, at
 * most 0.5 s. The driver's default grows to 20 s, and a query waits for it (it is queued, not
 * failed), so with the database down requests hung for tens of seconds instead of answering 503,
 * and after it came back the service lagged up to 20 s before reconnecting
 * (test/faults/pg-outage.test.ts). Capped this low, a request fails within the `beginAttemptsMax`
 * attempts (~2.5 s) while the database is down, and the pool reconnects within 0.5 s of its return.
 */
export function reconnectBackoffSeconds(failures: number): number {
  return Math.min(0.05 * 2 ** failures, 0.5);
}
/** How long `close` waits for running queries before cutting connections. */
export const closeTimeoutSeconds = 5;
/**
 * Attempts when a connection fails before the use case has run (at BEGIN): nothing was written,
 * so trying again on a fresh connection is safe, and it hides a pool whose connections the
 * server just dropped. Once the use case has run, a lost connection is `unavailable` at once.
 */
export const beginAttemptsMax = 5;
/** Postings per `append` call: one statement's arrays stay a few MB at most. */
export const postingsPerAppendMax = 10_000;
/** Dimension deltas per `addDims` call. */
export const dimsPerAddMax = 10_000;
/** Rows any listing returns at most, whatever `limit` a caller passes. */
export const pageLimitMax = 10_000;

const int64Min = -(2n ** 63n);

/** Opens the pool, applies pending migrations, and returns the store. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const max = options.max ?? poolSizeDefault;
  assert.ok(Number.isSafeInteger(max) && max > 0, 'pool size must be a positive integer');
  const sql = postgres(options.url, {
    max,
    // int8 as exact JS bigint: the default parses it as a string, and Number would round money.
    types: { bigint: postgres.BigInt },
    // Arrays go out as literals (rows.ts) and never come back, so the per-connection catalogue
    // query the client would run is wasted.
    fetch_types: false,
    connect_timeout: connectTimeoutSeconds,
    backoff: reconnectBackoffSeconds,
    onnotice: () => {},
    connection: { application_name: 'creditpool' },
  });
  try {
    await migrate(sql);
  } catch (error) {
    await sql.end({ timeout: 0 });
    throw toStoreError(error);
  }
  return new PgStore(sql);
}

type Types = { bigint: bigint };
/** A pool or one transaction's connection: every query below runs on either. */
type Q = postgres.ISql<Types>;
type Result = DbRow[] & { count: number };

class PgStore implements PostgresStore {
  readonly kind = 'postgres' as const;
  readonly #sql: postgres.Sql<Types>;
  #closed = false;

  constructor(sql: postgres.Sql<Types>) {
    this.#sql = sql;
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    let collisions = 0;
    let failedBegins = 0;
    for (;;) {
      let tx: PgTx | undefined;
      try {
        return await guarded(
          this.#sql.begin('isolation level read committed', (q) => {
            const work = new PgTx(q);
            tx = work;
            // Every write answered before `begin` sends COMMIT (see "Pipelined writes").
            return settleUnlessLost(
              fn(work).then(async (value) => {
                await work.writesAnswered();
                return value;
              }),
              work,
            );
          }),
          () => tx,
        );
      } catch (error) {
        // A collision rolled the whole transaction back: re-running `fn` from scratch is safe,
        // since it reads (and locks) everything again.
        if (isCollision(error)) {
          collisions++;
          if (collisions >= transactionAttemptsMax) {
            throw new StoreError(
              'conflict',
              `transaction collided ${collisions} times (serialization failure or deadlock)`,
              { cause: error },
            );
          }
          await sleep(retryDelayMs(collisions));
          continue;
        }
        if (tx === undefined && !this.#closed && isUnavailable(error) && ++failedBegins < beginAttemptsMax) {
          await sleep(reconnectDelayMs(failedBegins));
          continue;
        }
        throw this.#closed && isUnavailable(error)
          ? new StoreError('unavailable', 'the store is closed', { cause: error })
          : toStoreError(error);
      }
    }
  }

  /**
   * A read-only REPEATABLE READ transaction: one snapshot for everything `fn` reads (an aggregate
   * is several queries), and no locks taken or waited for. It can be retried on a lost
   * connection at any point, since it writes nothing.
   */
  async read<T>(fn: (tx: ReadTx) => Promise<T>): Promise<T> {
    let failedAttempts = 0;
    for (;;) {
      let tx: PgRead | undefined;
      try {
        return await guarded(
          this.#sql.begin('read only isolation level repeatable read', (q) => {
            tx = new PgRead(q);
            return settleUnlessLost(fn(tx), tx);
          }),
          () => tx,
        );
      } catch (error) {
        if (!this.#closed && isUnavailable(error) && ++failedAttempts < beginAttemptsMax) {
          await sleep(reconnectDelayMs(failedAttempts));
          continue;
        }
        throw toStoreError(error);
      }
    }
  }

  /** Tries a fresh connection when a pooled one turns out dead, like `read`. */
  async ping(): Promise<boolean> {
    for (let attempt = 1; attempt <= beginAttemptsMax && !this.#closed; attempt++) {
      try {
        await this.#sql`SELECT 1`;
        return true;
      } catch (error) {
        if (!isUnavailable(error)) return false;
      }
    }
    return false;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#sql.end({ timeout: closeTimeoutSeconds });
  }
}

/**
 * Lost connections. When a transaction's connection dies, `postgres` (3.4.x) rejects `begin` at
 * once but lets the callback run on; whatever the callback sends next, and the ROLLBACK or COMMIT
 * `begin` sends when the callback settles, goes to that connection object, which by then is
 * either socketless (the write throws from a timer and kills the process: porsager/postgres
 * #1208) or reconnected for another caller (the statements would run outside any transaction,
 * or inside someone else's: #1155, #1216). So once a transaction's connection is lost:
 * - its `PgRead.run` sends nothing more (it throws `unavailable`), and
 * - the callback's promise is never settled (`settleUnlessLost`), so `begin` sends neither
 *   ROLLBACK nor COMMIT. PostgreSQL has already rolled the transaction back with the session.
 * The caller hears `unavailable` from `begin`'s own rejection.
 */
function settleUnlessLost<T>(work: Promise<T>, tx: PgRead): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    work.then(
      (value) => {
        if (!tx.lost) resolve(value);
      },
      (error: unknown) => {
        if (isConnectionLoss(error)) tx.lose();
        if (!tx.lost) reject(error);
      },
    );
  });
}

/** Marks the transaction lost as soon as `begin` rejects (its connection closed, or BEGIN failed). */
function guarded<T>(attempt: Promise<unknown>, tx: () => PgRead | undefined): Promise<T> {
  attempt.catch(() => tx()?.lose());
  return attempt as Promise<T>;
}

function checkLimit(limit: number): number {
  assert.ok(Number.isSafeInteger(limit) && limit > 0, `limit must be a positive integer, got ${limit}`);
  return Math.min(limit, pageLimitMax);
}

/** The account number behind `$1` (an account id), for queries issued before the lock returns. */
const accountNoOfId = '(SELECT no FROM accounts WHERE id = $1)';
/** Column types, in column order, for the one-statement-per-table writes (`unnestOf`). */
type ColumnType = 'int8' | 'int4' | 'bool' | 'text';
const cycleTypes: readonly ColumnType[] = [
  ...(['int8', 'int8', 'int8', 'int4', 'bool'] as const),
  ...Array<ColumnType>(11).fill('int8'), // granted … uc_held, exhausted_at
  'int4', // alert_percent
  'int8', // expiring_at
];
const holdTypes: readonly ColumnType[] = [
  ...(['int8', 'text', 'int8', 'int8', 'int8', 'text', 'int8', 'int8', 'int8'] as const),
  ...Array<ColumnType>(7).fill('text'), // usage_class … settled_record_id
];
const accountTypes: readonly ColumnType[] = [
  ...(['int8', 'text', 'text', 'text', 'text', 'text', 'int8', 'text'] as const), // no … org_id
  ...(['int8', 'int8', 'int8', 'int8', 'bool', 'int8', 'int8', 'int4', 'int4'] as const), // … closed_through_index
  ...Array<ColumnType>(7).fill('int8'), // session_start … next_roll_at
];

/** `unnest($1::t1[], $2::t2[], …)`: rows sent as one array per column. */
function unnestOf(types: readonly ColumnType[]): string {
  return `unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})`;
}

/** `column = excluded.column` for every column but the key. */
function setFromExcluded(columns: string, key: readonly string[]): string {
  return columnNames(columns)
    .filter((c) => !key.includes(c))
    .map((c) => `${c} = excluded.${c}`)
    .join(', ');
}

function columnNames(columns: string): string[] {
  return columns.split(',').map((c) => c.trim());
}

const cycleUpsertSet = setFromExcluded(cycleColumns, ['account_no', 'start']);
const holdUpsertSet = setFromExcluded(holdColumns, ['account_no', 'id']);
const accountUpdateSet = columnNames(accountColumns)
  .filter((c) => c !== 'no' && c !== 'id')
  .map((c) => `${c} = u.${c}`)
  .join(', ');

/** The account numbers behind `$1` (account ids), likewise. */
const accountNosOfIds = 'SELECT no FROM accounts WHERE id = ANY($1::text[])';

/** The posting columns, qualified by a table alias. */
function postingColumnsOf(alias: string): string {
  return postingColumns
    .split(',')
    .map((c) => `${alias}.${c.trim()}`)
    .join(', ');
}

/** The SQL, one place: each text is prepared once per connection. */
const text = {
  orgById: `SELECT ${orgColumns} FROM orgs WHERE id = $1`,
  orgByNo: `SELECT ${orgColumns} FROM orgs WHERE no = $1`,
  orgInsert: `INSERT INTO orgs (id, billing_anchor, created_at, uc_enabled, uc_monthly_limit_units,
    seat_tier_limits_units) VALUES ($1, $2, $3, $4, $5, $6::text::jsonb) RETURNING no`,
  orgUpdate: `UPDATE orgs SET billing_anchor = $3, created_at = $4, uc_enabled = $5, uc_monthly_limit_units = $6,
    seat_tier_limits_units = $7::text::jsonb WHERE no = $1 AND id = $2`,
  orgCycleGet: 'SELECT * FROM org_cycles WHERE org_no = $1 AND cycle_start = $2',
  orgCycleCreate: `INSERT INTO org_cycles (org_no, cycle_start, uc_spent_units, uc_held_units)
    VALUES ($1, $2, 0, 0) ON CONFLICT DO NOTHING`,
  orgCycleLock: 'SELECT * FROM org_cycles WHERE org_no = $1 AND cycle_start = $2 FOR UPDATE',
  orgCycleUpdate:
    'UPDATE org_cycles SET uc_spent_units = $3, uc_held_units = $4 WHERE org_no = $1 AND cycle_start = $2',
  accountById: `SELECT ${accountColumns} FROM accounts WHERE id = $1`,
  accountLock: `SELECT ${accountColumns} FROM accounts WHERE id = $1 FOR UPDATE`,
  accountInsert: `INSERT INTO accounts (id, kind, plan, pending_plan, status, org_no, org_id, billing_anchor,
    created_at, claimed_at, claim_effective_at, uc_enabled, uc_monthly_limit_units, member_limit_units,
    granted_through_index, closed_through_index, session_start, session_used_units, week_start, week_used_units,
    last_activity_at, next_seq, next_roll_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
    RETURNING no`,
  accountUpdate: `UPDATE accounts SET kind = $3, plan = $4, pending_plan = $5, status = $6, org_no = $7,
    org_id = $8, billing_anchor = $9, created_at = $10, claimed_at = $11, claim_effective_at = $12,
    uc_enabled = $13, uc_monthly_limit_units = $14, member_limit_units = $15, granted_through_index = $16,
    closed_through_index = $17, session_start = $18, session_used_units = $19, week_start = $20,
    week_used_units = $21, last_activity_at = $22, next_seq = $23, next_roll_at = $24
    WHERE no = $1 AND id = $2`,
  orgMembers: `SELECT ${accountColumns} FROM accounts WHERE org_no = $1 ORDER BY id`,
  openCycles: `SELECT ${cycleColumns} FROM cycles WHERE account_no = ${accountNoOfId} AND NOT closed ORDER BY start`,
  activeHolds: `SELECT ${holdColumns} FROM holds WHERE account_no = ${accountNoOfId} AND status = 'active' ORDER BY id`,
  apps: `SELECT account_no, app, cycle_cap_units, blocked FROM apps WHERE account_no = ${accountNoOfId} ORDER BY app`,
  openAppSpend: `SELECT d.cycle_start, d.key, d.cost_units FROM dims d
    JOIN cycles c ON c.account_no = d.account_no AND c.start = d.cycle_start
    WHERE d.account_no = ${accountNoOfId} AND d.dim = 'app' AND NOT c.closed ORDER BY d.cycle_start, d.key`,
  // Coalesced loads ("Coalesced loads" below): several accounts in one statement each.
  accountsByIds: `SELECT ${accountColumns} FROM accounts WHERE id = ANY($1::text[])`,
  // ORDER BY before FOR UPDATE: the rows are locked as they come out of the sort, in ascending id
  // order, like one-by-one calls in that order.
  accountsLockByIds: `SELECT ${accountColumns} FROM accounts WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
  openCyclesOfIds: `SELECT ${cycleColumns} FROM cycles WHERE account_no IN (${accountNosOfIds}) AND NOT closed
    ORDER BY account_no, start`,
  activeHoldsOfIds: `SELECT ${holdColumns} FROM holds WHERE account_no IN (${accountNosOfIds}) AND status = 'active'
    ORDER BY account_no, id`,
  appsOfIds: `SELECT account_no, app, cycle_cap_units, blocked FROM apps WHERE account_no IN (${accountNosOfIds})
    ORDER BY account_no, app`,
  openAppSpendOfIds: `SELECT d.account_no, d.cycle_start, d.key, d.cost_units FROM dims d
    JOIN cycles c ON c.account_no = d.account_no AND c.start = d.cycle_start
    WHERE d.account_no IN (${accountNosOfIds}) AND d.dim = 'app' AND NOT c.closed
    ORDER BY d.account_no, d.cycle_start, d.key`,
  postingsByAccountIdems: `SELECT ${postingColumnsOf('p')} FROM unnest($1::int8[], $2::text[]) AS k(account_no, idem)
    JOIN postings p ON p.account_no = k.account_no AND p.idem = k.idem`,
  cycleGet: `SELECT ${cycleColumns} FROM cycles WHERE account_no = $1 AND start = $2`,
  cycleList: `SELECT ${cycleColumns} FROM cycles WHERE account_no = $1 ORDER BY start`,
  cycleUpsert: `INSERT INTO cycles (${cycleColumns})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
    ON CONFLICT (account_no, start) DO UPDATE SET ${cycleUpsertSet}`,
  cyclesUpsert: `INSERT INTO cycles (${cycleColumns}) SELECT * FROM ${unnestOf(cycleTypes)}
    ON CONFLICT (account_no, start) DO UPDATE SET ${cycleUpsertSet}`,
  holdUpsert: `INSERT INTO holds (${holdColumns})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
    ON CONFLICT (account_no, id) DO UPDATE SET ${holdUpsertSet}`,
  holdsUpsert: `INSERT INTO holds (${holdColumns}) SELECT * FROM ${unnestOf(holdTypes)}
    ON CONFLICT (account_no, id) DO UPDATE SET ${holdUpsertSet}`,
  accountsUpdate: `UPDATE accounts a SET ${accountUpdateSet} FROM ${unnestOf(accountTypes)} AS u(${accountColumns})
    WHERE a.no = u.no AND a.id = u.id RETURNING a.no`,
  // Deltas arrive summed per row: ON CONFLICT may touch each row once per statement.
  dimsAddMany: `INSERT INTO dims (account_no, cycle_start, dim, key, cost_units)
    SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::text[], $5::int8[])
    ON CONFLICT (account_no, cycle_start, dim, key) DO UPDATE SET cost_units = dims.cost_units + excluded.cost_units`,
  holdGet: `SELECT ${holdColumns} FROM holds WHERE account_no = $1 AND id = $2`,
  holdAccounts: `SELECT a.id FROM holds h JOIN accounts a ON a.no = h.account_no WHERE h.id = $1
    ORDER BY a.id LIMIT $2`,
  appUpsert: `INSERT INTO apps (account_no, app, cycle_cap_units, blocked) VALUES ($1, $2, $3, $4)
    ON CONFLICT (account_no, app) DO UPDATE SET cycle_cap_units = excluded.cycle_cap_units,
    blocked = excluded.blocked`,
  // One statement for the whole batch: arrays unnested in step, one element per posting.
  postingsInsert: `INSERT INTO postings (${postingColumns})
    SELECT * FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::text[], $6::text[], $7::text[],
      $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[], $13::int8[], $14::int8[], $15::text[],
      $16::text[], $17::text[], $18::text[], $19::text[], $20::int8[])`,
  postingsList: `SELECT ${postingColumns} FROM postings WHERE account_no = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
  postingsListInCycle: `SELECT ${postingColumns} FROM postings
    WHERE account_no = $1 AND cycle_start = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
  postingsByIdem: `SELECT ${postingColumns} FROM postings WHERE account_no = $1 AND idem = ANY($2::text[])`,
  dimsGet:
    'SELECT dim, key, cost_units FROM dims WHERE account_no = $1 AND cycle_start = $2 ORDER BY dim, key',
  tokenGet: 'SELECT hash, role, account_id, org_id, created_at FROM tokens WHERE hash = $1',
  tokenInsert: 'INSERT INTO tokens (hash, role, account_id, org_id, created_at) VALUES ($1, $2, $3, $4, $5)',
  accountIdsFirst: 'SELECT id FROM accounts ORDER BY id LIMIT $1',
  accountIdsAfter: 'SELECT id FROM accounts WHERE id > $1 ORDER BY id LIMIT $2',
  accountsDue: 'SELECT id FROM accounts WHERE next_roll_at <= $1 ORDER BY next_roll_at LIMIT $2',
};

type Param = string | number | bigint | boolean | null;

/** What a buffered write returns: it is answered when the buffer goes out ("Pipelined writes"). */
const written: Promise<void> = Promise.resolve();

/** Rows as one array literal per column, for `unnestOf`. */
function columnArrays(rows: readonly Param[][], types: readonly ColumnType[]): string[] {
  return types.map((type, c) => {
    const column = rows.map((r) => r[c] ?? null);
    if (type === 'text') return textArrayLiteral(column as (string | null)[]);
    if (type === 'bool') return boolArrayLiteral(column as (boolean | null)[]);
    return int8ArrayLiteral(column as (bigint | number | null)[]);
  });
}

/** Calls waiting to go out together (see `coalesced`). */
interface Coalescing<K, V> {
  items: K[];
  waiters: { resolve: (value: V) => void; reject: (error: unknown) => void }[];
}

class PgRead implements ReadTx {
  protected readonly q: Q;
  #lost = false;

  constructor(q: Q) {
    this.q = q;
  }

  /** The connection under this transaction is gone: see "Lost connections" above. */
  get lost(): boolean {
    return this.#lost;
  }

  lose(): void {
    this.#lost = true;
  }

  /** Runs one prepared statement; driver errors become `StoreError`s where one applies. */
  protected async run(sqlText: string, params: readonly Param[]): Promise<Result> {
    if (this.#lost) throw new StoreError('unavailable', 'the connection under this transaction was lost');
    try {
      return (await this.q.unsafe(sqlText, params as Param[], { prepare: true })) as unknown as Result;
    } catch (error) {
      if (isConnectionLoss(error)) this.#lost = true;
      throw toStoreError(error);
    }
  }

  async getOrg(id: string): Promise<OrgRow | undefined> {
    const [row] = await this.run(text.orgById, [id]);
    return row && orgFromRow(row);
  }

  async getOrgByNo(no: number): Promise<OrgRow | undefined> {
    const [row] = await this.run(text.orgByNo, [no]);
    return row && orgFromRow(row);
  }

  async getOrgCycle(orgNo: number, cycleStart: Instant): Promise<OrgCycleRow | undefined> {
    const [row] = await this.run(text.orgCycleGet, [orgNo, cycleStart]);
    return row && orgCycleFromRow(row);
  }

  getAccount(id: string): Promise<AccountAggregate | undefined> {
    return this.coalesced(this.#gets, id, (ids) =>
      ids.length === 1
        ? this.loadAggregate(ids[0]!, text.accountById).then((a) => [a])
        : this.loadAggregates(ids, false),
    );
  }

  readonly #gets: Coalescing<string, AccountAggregate | undefined> = { items: [], waiters: [] };
  readonly #peeks: Coalescing<string, AccountAggregate | undefined> = { items: [], waiters: [] };

  /**
   * The account for lock planning (the port's optional `peekAccount`): what `lockScope` reads to
   * know which org counters to lock first. The account row alone for accounts outside any org
   * (there is nothing to plan: one statement instead of `getAccount`'s five); org members also
   * with their open cycles and active holds (a second round trip), whose cycles' counters may
   * need locking. App policies and spend are never loaded here. Unlocked, like `getAccount`.
   */
  peekAccount(id: string): Promise<AccountAggregate | undefined> {
    return this.coalesced(this.#peeks, id, (ids) => this.peekAccounts(ids));
  }

  private async peekAccounts(ids: string[]): Promise<(AccountAggregate | undefined)[]> {
    const byId = new Map<string, AccountAggregate>();
    const byNo = new Map<number, AccountAggregate>();
    for (const r of await this.run(text.accountsByIds, [textArrayLiteral(ids)])) {
      const account = accountFromRow(r);
      const aggregate = {
        account,
        cycles: new Map(),
        holds: new Map(),
        apps: new Map(),
        appSpend: new Map(),
      };
      byId.set(account.id, aggregate);
      if (account.orgNo !== null) byNo.set(account.no, aggregate);
    }
    if (byNo.size > 0) {
      const members = textArrayLiteral([...byNo.values()].map((a) => a.account.id));
      const [cycles, holds] = await Promise.all([
        this.run(text.openCyclesOfIds, [members]),
        this.run(text.activeHoldsOfIds, [members]),
      ]);
      for (const r of cycles) byNo.get(num(r.account_no))?.cycles.set(num(r.start), cycleFromRow(r));
      for (const r of holds) byNo.get(num(r.account_no))?.holds.set(r.id as string, holdFromRow(r));
    }
    return ids.map((id) => byId.get(id));
  }
  readonly #postingLookups: Coalescing<
    { accountNo: number; idems: readonly string[] },
    Map<string, PostingRow>
  > = {
    items: [],
    waiters: [],
  };

  /**
   * Coalesced loads. Calls made in the same tick (a use case's `Promise.all` over a batch's
   * accounts) wait for the end of the tick and go out as one set of statements for all of them,
   * instead of a round trip (and five statements) per account; a lone call goes out alone, as
   * before. `run` answers each caller with its own item's result, in the order the items came.
   */
  protected coalesced<K, V>(batch: Coalescing<K, V>, item: K, run: (items: K[]) => Promise<V[]>): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      batch.items.push(item);
      batch.waiters.push({ resolve, reject });
      if (batch.items.length > 1) return;
      queueMicrotask(() => {
        const items = batch.items.splice(0);
        const waiters = batch.waiters.splice(0);
        run(items).then(
          (values) => {
            for (const [i, w] of waiters.entries()) w.resolve(values[i]!);
          },
          (error: unknown) => {
            for (const w of waiters) w.reject(error);
          },
        );
      });
    });
  }

  /** Several aggregates in five statements, pipelined; `lock` locks the accounts in ascending id order first. */
  protected async loadAggregates(ids: string[], lock: boolean): Promise<(AccountAggregate | undefined)[]> {
    const idList = textArrayLiteral(ids);
    const [accounts, cycles, holds, apps, spend] = await Promise.all([
      this.run(lock ? text.accountsLockByIds : text.accountsByIds, [idList]),
      this.run(text.openCyclesOfIds, [idList]),
      this.run(text.activeHoldsOfIds, [idList]),
      this.run(text.appsOfIds, [idList]),
      this.run(text.openAppSpendOfIds, [idList]),
    ]);
    const byNo = new Map<number, AccountAggregate>();
    const byId = new Map<string, AccountAggregate>();
    for (const r of accounts) {
      const aggregate: AccountAggregate = {
        account: accountFromRow(r),
        cycles: new Map(),
        holds: new Map(),
        apps: new Map(),
        appSpend: new Map(),
      };
      byNo.set(aggregate.account.no, aggregate);
      byId.set(aggregate.account.id, aggregate);
    }
    for (const r of cycles) byNo.get(num(r.account_no))?.cycles.set(num(r.start), cycleFromRow(r));
    for (const r of holds) byNo.get(num(r.account_no))?.holds.set(r.id as string, holdFromRow(r));
    for (const r of apps) byNo.get(num(r.account_no))?.apps.set(r.app as string, appFromRow(r));
    for (const r of spend) {
      const aggregate = byNo.get(num(r.account_no));
      if (aggregate === undefined) continue;
      const start = num(r.cycle_start);
      let byApp = aggregate.appSpend.get(start);
      if (byApp === undefined) {
        byApp = new Map();
        aggregate.appSpend.set(start, byApp);
      }
      byApp.set(r.key as string, units(r.cost_units));
    }
    return ids.map((id) => byId.get(id));
  }

  /**
   * The five queries go out together, pipelined on one connection: one round trip. The server
   * runs them in order, so when the first one locks the account row, the other four (each with
   * its own READ COMMITTED snapshot) see everything its previous holder committed.
   */
  protected async loadAggregate(id: string, accountQuery: string): Promise<AccountAggregate | undefined> {
    const [accounts, cycles, holds, apps, spend] = await Promise.all([
      this.run(accountQuery, [id]),
      this.run(text.openCycles, [id]),
      this.run(text.activeHolds, [id]),
      this.run(text.apps, [id]),
      this.run(text.openAppSpend, [id]),
    ]);
    const [accountRow] = accounts;
    if (accountRow === undefined) return undefined;
    const aggregate: AccountAggregate = {
      account: accountFromRow(accountRow),
      cycles: new Map(cycles.map((r) => [num(r.start), cycleFromRow(r)])),
      holds: new Map(holds.map((r) => [r.id as string, holdFromRow(r)])),
      apps: new Map(apps.map((r) => [r.app as string, appFromRow(r)])),
      appSpend: new Map(),
    };
    for (const r of spend) {
      const start = num(r.cycle_start);
      let byApp = aggregate.appSpend.get(start);
      if (byApp === undefined) {
        byApp = new Map();
        aggregate.appSpend.set(start, byApp);
      }
      byApp.set(r.key as string, units(r.cost_units));
    }
    return aggregate;
  }

  async listOrgMembers(orgNo: number): Promise<AccountRow[]> {
    return (await this.run(text.orgMembers, [orgNo])).map(accountFromRow);
  }

  async getCycle(accountNo: number, cycleStart: Instant): Promise<CycleRow | undefined> {
    const [row] = await this.run(text.cycleGet, [accountNo, cycleStart]);
    return row && cycleFromRow(row);
  }

  async listCycles(accountNo: number): Promise<CycleRow[]> {
    return (await this.run(text.cycleList, [accountNo])).map(cycleFromRow);
  }

  async getDims(accountNo: number, cycleStart: Instant): Promise<DimFigure[]> {
    return (await this.run(text.dimsGet, [accountNo, cycleStart])).map(dimFromRow);
  }

  async listPostings(accountNo: number, page: PostingPage): Promise<PostingRow[]> {
    const afterSeq = page.afterSeq ?? int64Min;
    const limit = checkLimit(page.limit);
    const rows =
      page.cycleStart === undefined
        ? await this.run(text.postingsList, [accountNo, afterSeq, limit])
        : await this.run(text.postingsListInCycle, [accountNo, page.cycleStart, afterSeq, limit]);
    return rows.map(postingFromRow);
  }

  async findPostings(accountNo: number, idems: readonly string[]): Promise<Map<string, PostingRow>> {
    if (idems.length === 0) return new Map();
    return this.coalesced(this.#postingLookups, { accountNo, idems }, (lookups) =>
      lookups.length === 1 ? this.findPostingsOf(lookups[0]!) : this.findPostingsOfMany(lookups),
    );
  }

  private async findPostingsOf({ accountNo, idems }: { accountNo: number; idems: readonly string[] }) {
    const found = new Map<string, PostingRow>();
    for (const row of await this.run(text.postingsByIdem, [accountNo, textArrayLiteral(idems)])) {
      const posting = postingFromRow(row);
      found.set(posting.idem!, posting);
    }
    return [found];
  }

  /** Several accounts' lookups in one statement: (account, idem) pairs joined with the unique index. */
  private async findPostingsOfMany(lookups: { accountNo: number; idems: readonly string[] }[]) {
    const nos: number[] = [];
    const idems: string[] = [];
    for (const l of lookups) {
      for (const idem of l.idems) {
        nos.push(l.accountNo);
        idems.push(idem);
      }
    }
    const byAccount = new Map<number, Map<string, PostingRow>>(lookups.map((l) => [l.accountNo, new Map()]));
    for (const row of await this.run(text.postingsByAccountIdems, [
      int8ArrayLiteral(nos),
      textArrayLiteral(idems),
    ])) {
      const posting = postingFromRow(row);
      byAccount.get(posting.accountNo)!.set(posting.idem!, posting);
    }
    // Each caller gets a map of its own (callers add to theirs), with only the idems it asked for.
    return lookups.map((l) => {
      const found = byAccount.get(l.accountNo)!;
      const own = new Map<string, PostingRow>();
      for (const idem of l.idems) {
        const posting = found.get(idem);
        if (posting) own.set(idem, posting);
      }
      return own;
    });
  }

  async getHold(accountNo: number, holdId: string): Promise<HoldRow | undefined> {
    const [row] = await this.run(text.holdGet, [accountNo, holdId]);
    return row && holdFromRow(row);
  }

  async findHoldAccounts(holdId: string, limit: number): Promise<string[]> {
    return (await this.run(text.holdAccounts, [holdId, checkLimit(limit)])).map((r) => r.id as string);
  }

  async findToken(hash: string): Promise<TokenRow | undefined> {
    const [row] = await this.run(text.tokenGet, [hash]);
    return row && tokenFromRow(row);
  }

  async listAccountIds(afterId: string | null, limit: number): Promise<string[]> {
    const rows =
      afterId === null
        ? await this.run(text.accountIdsFirst, [checkLimit(limit)])
        : await this.run(text.accountIdsAfter, [afterId, checkLimit(limit)]);
    return rows.map((r) => r.id as string);
  }

  async listAccountsDue(now: Instant, limit: number): Promise<string[]> {
    return (await this.run(text.accountsDue, [now, checkLimit(limit)])).map((r) => r.id as string);
  }

  // ── the outbox (outbox.ts, outbox-rows.ts) ──

  async listEvents(afterSeq: number, limit: number): Promise<StoredEvent[]> {
    return (await this.run(outboxText.eventsAfter, [afterSeq, checkLimit(limit)])).map(eventFromRow);
  }

  async getWebhook(id: string): Promise<WebhookRow | undefined> {
    const [row] = await this.run(outboxText.webhookGet, [id]);
    return row && webhookFromRow(row);
  }

  async listWebhooks(scope: WebhookScope, afterId: string | null, limit: number): Promise<WebhookRow[]> {
    const after = afterId ?? '';
    const rows =
      'accountId' in scope
        ? await this.run(outboxText.webhooksOfAccount, [scope.accountId, after, checkLimit(limit)])
        : 'orgId' in scope
          ? await this.run(outboxText.webhooksOfOrg, [scope.orgId, after, checkLimit(limit)])
          : await this.run(outboxText.webhooksAll, [after, checkLimit(limit)]);
    return rows.map(webhookFromRow);
  }

  async countWebhooks(scope: WebhookScope): Promise<number> {
    const [row] =
      'accountId' in scope
        ? await this.run(outboxText.webhooksCountAccount, [scope.accountId])
        : 'orgId' in scope
          ? await this.run(outboxText.webhooksCountOrg, [scope.orgId])
          : await this.run(outboxText.webhooksCountGlobal, []);
    return num(row?.n);
  }

  async listWebhooksFor(accountId: string | null, orgId: string | null): Promise<WebhookRow[]> {
    return (await this.run(outboxText.webhooksFor, [accountId, orgId])).map(webhookFromRow);
  }

  async getDelivery(id: string): Promise<DeliveryRow | undefined> {
    const [row] = await this.run(outboxText.deliveryGet, [id]);
    return row && deliveryFromRow(row);
  }

  async listDeliveries(endpointId: string, beforeSeq: number | null, limit: number): Promise<DeliveryRow[]> {
    const before = beforeSeq ?? Number.MAX_SAFE_INTEGER;
    return (await this.run(outboxText.deliveriesLog, [endpointId, before, checkLimit(limit)])).map(
      deliveryFromRow,
    );
  }

  async webhookWork(_now: Instant): Promise<WebhookWork> {
    const [row] = await this.run(outboxText.work, []);
    return { eventsWaiting: row?.waiting === true, nextAttemptAt: numOrNull(row?.next_at ?? null) };
  }
}

/**
 * Pipelined writes. `Book.flush` saves an operation's rows one call after another (cycles,
 * postings, dims, holds, org counters, accounts, events); awaiting each answer would cost a round
 * trip per row, with the account locks held all along. So the row writes below are sent at once
 * and return without waiting: PostgreSQL runs one connection's statements in order, so anything
 * this transaction sends later (a read, COMMIT) sees them. Their answers are checked as they
 * arrive, and `transaction` waits for all of them (`writesAnswered`) before it lets `begin` send
 * COMMIT: a failed write must fail the transaction, never turn the COMMIT into a silent ROLLBACK
 * (which is what PostgreSQL answers to a COMMIT after an error, and the driver resolves it). A
 * write's error (a duplicate, a row not found, a collision to retry) therefore surfaces at the
 * next read or at the end of the transaction rather than at the call: the transaction rejects
 * with it either way, and nothing of it is kept.
 */
class PgTx extends PgRead implements Tx {
  /** Writes sent whose answers have not been checked yet. */
  readonly #writes: Promise<void>[] = [];
  /** The first write that failed: every later statement fails with 25P02, which says less. */
  #writeError: unknown;

  /** Sends a write and returns at once; `check` looks at its answer when it arrives. */
  #send(sqlText: string, params: readonly Param[], check?: (result: Result) => void): Promise<void> {
    this.#writes.push(
      super
        .run(sqlText, params)
        .then((result) => check?.(result))
        .catch((error: unknown) => {
          this.#writeError ??= error;
        }),
    );
    return Promise.resolve();
  }

  /** Full-row writes waiting to go out as one statement per table, the last save of a row winning. */
  readonly #cycleRows = new Map<string, Param[]>();
  readonly #holdRows = new Map<string, Param[]>();
  readonly #accountRows = new Map<number, Param[]>();
  /** Dims deltas waiting to go out, summed per row. */
  readonly #dimDeltas = new Map<string, DimFigure & { accountNo: number; cycleStart: Instant }>();

  /**
   * Sends the buffered row writes: one statement per table (a single row keeps its one-row
   * statement). Called before anything else goes out (`run`) and before COMMIT, so every statement
   * this transaction sends later sees them, as if each had gone out at its call.
   */
  #sendBuffered(): void {
    const rows = (buffer: Map<unknown, Param[]>) => {
      const list = [...buffer.values()];
      buffer.clear();
      return list;
    };
    if (this.#cycleRows.size > 0) {
      const list = rows(this.#cycleRows);
      if (list.length === 1) this.#send(text.cycleUpsert, list[0]!);
      else this.#send(text.cyclesUpsert, columnArrays(list, cycleTypes));
    }
    if (this.#holdRows.size > 0) {
      const list = rows(this.#holdRows);
      if (list.length === 1) this.#send(text.holdUpsert, list[0]!);
      else this.#send(text.holdsUpsert, columnArrays(list, holdTypes));
    }
    if (this.#accountRows.size > 0) {
      const list = rows(this.#accountRows);
      const notFound = (no: unknown) =>
        new StoreError(
          'not_found',
          `no account ${String(no)} (${String(list.find((r) => r[0] === no)?.[1])})`,
        );
      if (list.length === 1) {
        this.#send(text.accountUpdate, list[0]!, (result) => {
          if (result.count === 0) throw notFound(list[0]![0]);
        });
      } else {
        this.#send(text.accountsUpdate, columnArrays(list, accountTypes), (result) => {
          const updated = new Set(result.map((r) => num(r.no)));
          const missing = list.find((r) => !updated.has(r[0] as number));
          if (missing) throw notFound(missing[0]);
        });
      }
    }
    if (this.#dimDeltas.size > 0) {
      // Sorted, so two transactions upserting the same rows would lock them in the same order.
      const figures = [...this.#dimDeltas.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, f]) => f);
      this.#dimDeltas.clear();
      this.#send(text.dimsAddMany, [
        int8ArrayLiteral(figures.map((f) => f.accountNo)),
        int8ArrayLiteral(figures.map((f) => f.cycleStart)),
        textArrayLiteral(figures.map((f) => f.dim)),
        textArrayLiteral(figures.map((f) => f.key)),
        int8ArrayLiteral(figures.map((f) => f.costUnits)),
      ]);
    }
  }

  /** Waits for the answer to every write sent so far; rejects with the first failure. */
  async writesAnswered(): Promise<void> {
    this.#sendBuffered();
    while (this.#writes.length > 0) await Promise.all(this.#writes.splice(0));
    if (this.#writeError !== undefined) throw this.#writeError;
  }

  /** Reads (and awaited writes): after a pipelined write failed, its error is the one to report. */
  protected override async run(sqlText: string, params: readonly Param[]): Promise<Result> {
    this.#sendBuffered();
    try {
      return await super.run(sqlText, params);
    } catch (error) {
      throw await this.writesAnswered().then(
        () => error,
        (writeError: unknown) => writeError,
      );
    }
  }

  async insertOrg(row: Omit<OrgRow, 'no'>): Promise<OrgRow> {
    const [inserted] = await this.run(text.orgInsert, [
      row.id,
      row.billingAnchor,
      row.createdAt,
      row.ucEnabled,
      row.ucMonthlyLimitUnits,
      seatTierLimitsJson(row.seatTierLimitsUnits),
    ]);
    return { no: num(inserted!.no), ...row };
  }

  async saveOrg(row: OrgRow): Promise<void> {
    const result = await this.run(text.orgUpdate, [
      row.no,
      row.id,
      row.billingAnchor,
      row.createdAt,
      row.ucEnabled,
      row.ucMonthlyLimitUnits,
      seatTierLimitsJson(row.seatTierLimitsUnits),
    ]);
    if (result.count === 0) throw new StoreError('not_found', `no org ${row.no} (${row.id})`);
  }

  /** Creates the counter at zero if missing, then locks it; both statements in one round trip. */
  async lockOrgCycle(orgNo: number, cycleStart: Instant): Promise<OrgCycleRow> {
    const [, rows] = await Promise.all([
      this.run(text.orgCycleCreate, [orgNo, cycleStart]),
      this.run(text.orgCycleLock, [orgNo, cycleStart]),
    ]);
    const [row] = rows;
    assert.ok(row, 'the org cycle row exists after its insert');
    return orgCycleFromRow(row);
  }

  saveOrgCycle(row: OrgCycleRow): Promise<void> {
    return this.#send(
      text.orgCycleUpdate,
      [row.orgNo, row.cycleStart, row.ucSpentUnits, row.ucHeldUnits],
      (result) => {
        if (result.count === 0) {
          throw new StoreError('not_found', `no org cycle (${row.orgNo}, ${row.cycleStart})`);
        }
      },
    );
  }

  async insertAccount(row: Omit<AccountRow, 'no'>): Promise<AccountRow> {
    const [inserted] = await this.run(text.accountInsert, [
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
      row.ucEnabled,
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
    ]);
    return { no: num(inserted!.no), ...row };
  }

  lockAccount(id: string): Promise<AccountAggregate | undefined> {
    return this.coalesced(this.#locks, id, (ids) =>
      ids.length === 1
        ? this.loadAggregate(ids[0]!, text.accountLock).then((a) => [a])
        : this.loadAggregates(ids, true),
    );
  }

  readonly #locks: Coalescing<string, AccountAggregate | undefined> = { items: [], waiters: [] };

  saveAccount(row: AccountRow): Promise<void> {
    this.#accountRows.set(row.no, [
      row.no,
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
      row.ucEnabled,
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
    ]);
    return written;
  }

  saveCycle(row: CycleRow): Promise<void> {
    this.#cycleRows.set(`${row.accountNo}:${row.start}`, [
      row.accountNo,
      row.start,
      row.end,
      row.index,
      row.closed,
      row.grantedUnits,
      row.creditUsedUnits,
      row.expiredUnits,
      row.creditAdjustedUnits,
      row.ucChargedUnits,
      row.writtenOffUnits,
      row.subscriptionUnits,
      row.paygUnits,
      row.creditHeldUnits,
      row.ucHeldUnits,
      row.exhaustedAt,
      row.alertPercent,
      row.expiringAt,
    ]);
    return written;
  }

  putHold(row: HoldRow): Promise<void> {
    this.#holdRows.set(`${row.accountNo}\0${row.id}`, [
      row.accountNo,
      row.id,
      row.cycleStart,
      row.createdAt,
      row.expiresAt,
      row.status,
      row.creditUnits,
      row.ucUnits,
      row.estimateUnits,
      row.usageClass,
      row.source,
      row.surface,
      row.app,
      row.model,
      row.hash,
      row.settledRecordId,
    ]);
    return written;
  }

  saveApp(row: AppPolicyRow): Promise<void> {
    return this.#send(text.appUpsert, [row.accountNo, row.app, row.cycleCapUnits, row.blocked]);
  }

  async append(postings: readonly PostingRow[]): Promise<void> {
    if (postings.length === 0) return;
    if (postings.length > postingsPerAppendMax) {
      throw new RangeError(`append takes at most ${postingsPerAppendMax} postings, got ${postings.length}`);
    }
    const ints = (f: (p: PostingRow) => bigint | number | null) => int8ArrayLiteral(postings.map(f));
    const texts = (f: (p: PostingRow) => string | null) => textArrayLiteral(postings.map(f));
    await this.#send(text.postingsInsert, [
      ints((p) => p.accountNo),
      ints((p) => p.seq),
      ints((p) => p.at),
      ints((p) => p.cycleStart),
      texts((p) => p.kind),
      texts((p) => p.idem),
      texts((p) => p.hash),
      ints((p) => p.corrects),
      ints((p) => p.creditUnits),
      ints((p) => p.ucUnits),
      ints((p) => p.subscriptionUnits),
      ints((p) => p.writtenOffUnits),
      ints((p) => p.paygUnits),
      ints((p) => p.costUnits),
      texts((p) => p.usageClass),
      texts((p) => p.surface),
      texts((p) => p.app),
      texts((p) => p.model),
      texts((p) => p.note),
      ints((p) => p.recordedAt),
    ]);
  }

  async addDims(accountNo: number, cycleStart: Instant, deltas: readonly DimFigure[]): Promise<void> {
    if (deltas.length === 0) return;
    if (deltas.length > dimsPerAddMax) {
      throw new RangeError(`addDims takes at most ${dimsPerAddMax} deltas, got ${deltas.length}`);
    }
    for (const d of deltas) {
      const k = `${accountNo}\0${cycleStart}\0${d.dim}\0${d.key}`;
      const sum = this.#dimDeltas.get(k);
      if (sum) sum.costUnits += d.costUnits;
      else this.#dimDeltas.set(k, { ...d, accountNo, cycleStart });
    }
  }

  async insertToken(row: TokenRow): Promise<void> {
    await this.run(text.tokenInsert, [row.hash, row.role, row.accountId, row.orgId, row.createdAt]);
  }

  // ── the outbox ──

  /** All of one operation's events in one statement (they are few: crossings, not records). */
  async enqueueEvents(events: readonly EventRow[]): Promise<void> {
    if (events.length === 0) return;
    await this.#send(outboxText.eventsInsert, [
      textArrayLiteral(events.map((e) => e.id)),
      textArrayLiteral(events.map((e) => e.type)),
      textArrayLiteral(events.map((e) => e.accountId)),
      textArrayLiteral(events.map((e) => e.orgId)),
      int8ArrayLiteral(events.map((e) => e.createdAt)),
      textArrayLiteral(events.map((e) => e.payload)),
    ]);
  }

  async insertWebhook(row: WebhookRow): Promise<void> {
    await this.run(outboxText.webhookInsert, [
      row.id,
      row.url,
      row.secret,
      JSON.stringify(row.eventTypes),
      row.accountId,
      row.orgId,
      row.createdAt,
      row.deletedAt,
    ]);
  }

  async deleteWebhook(id: string, at: Instant): Promise<boolean> {
    const result = await this.run(outboxText.webhookDelete, [id, at]);
    if (result.count === 0) return false;
    await this.run(outboxText.deliveriesCancel, [id]);
    return true;
  }

  async takeEventsToFanOut(limit: number): Promise<StoredEvent[]> {
    return (await this.run(outboxText.eventsToFanOut, [checkLimit(limit)])).map(eventFromRow);
  }

  async insertDeliveries(rows: readonly NewDelivery[]): Promise<void> {
    if (rows.length === 0) return;
    const texts = (f: (r: NewDelivery) => string | null) => textArrayLiteral(rows.map(f));
    const ints = (f: (r: NewDelivery) => number | null) => int8ArrayLiteral(rows.map(f));
    await this.run(outboxText.deliveriesInsert, [
      texts((r) => r.id),
      texts((r) => r.endpointId),
      ints((r) => r.eventSeq),
      texts((r) => r.eventId),
      texts((r) => r.eventType),
      ints((r) => r.createdAt),
      texts((r) => r.status),
      ints((r) => r.attempts),
      ints((r) => r.nextAttemptAt),
      ints((r) => r.leasedUntil),
      texts((r) => r.leaseToken),
      ints((r) => r.lastAttemptAt),
      ints((r) => r.deliveredAt),
      texts((r) => attemptLogToJson(r.log)),
    ]);
  }

  async markEventsFannedOut(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.run(outboxText.eventsFannedOut, [int8ArrayLiteral(seqs)]);
  }

  async claimDeliveries(
    now: Instant,
    leaseUntil: Instant,
    leaseToken: string,
    attemptsMax: number,
    limit: number,
  ): Promise<ClaimedDelivery[]> {
    const rows = await this.run(outboxText.deliveriesClaim, [
      now,
      leaseUntil,
      leaseToken,
      attemptsMax,
      checkLimit(limit),
    ]);
    return rows.map((r) => ({
      delivery: deliveryFromRow(r),
      url: r.url as string,
      secret: r.secret as string,
      payload: r.payload as string,
    }));
  }

  async finishDelivery(row: DeliveryRow, leaseToken: string): Promise<boolean> {
    const result = await this.run(outboxText.deliveryFinish, [row.id, leaseToken, ...deliveryState(row)]);
    return result.count > 0;
  }

  async lockDelivery(id: string): Promise<DeliveryRow | undefined> {
    const [row] = await this.run(outboxText.deliveryLock, [id]);
    return row && deliveryFromRow(row);
  }

  async takeStaleDeliveries(now: Instant, attemptsMax: number, limit: number): Promise<DeliveryRow[]> {
    return (await this.run(outboxText.deliveriesStale, [now, attemptsMax, checkLimit(limit)])).map(
      deliveryFromRow,
    );
  }

  async saveDelivery(row: DeliveryRow): Promise<void> {
    await this.run(outboxText.deliverySave, [row.id, ...deliveryState(row)]);
  }
}

/** The mutable columns of a delivery, in the order `deliveryFinish` and `deliverySave` take them. */
function deliveryState(row: DeliveryRow): Param[] {
  return [
    row.status,
    row.attempts,
    row.nextAttemptAt,
    row.leasedUntil,
    row.leaseToken,
    row.lastAttemptAt,
    row.deliveredAt,
    attemptLogToJson(row.log),
  ];
}
