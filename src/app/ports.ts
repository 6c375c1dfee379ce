/**
 * The ports the use cases run on: a `Store` with a unit of work, a `Clock` and an `Ids` source.
 * Adapters (`src/adapters/storage/{sqlite,postgres}`) implement `Store`; one contract suite
 * (`src/adapters/storage/store.contract.ts`) runs unchanged against each.
 *
 * Rules every adapter keeps:
 * - `transaction(fn)` is all or nothing: if `fn` rejects, nothing it wrote persists, and the
 *   rejection reaches the caller. It resolves only after the commit is durable.
 * - SQLite groups concurrent transactions into one database transaction (group commit), each in
 *   its own savepoint: a failing operation rolls back alone and never sinks the others.
 * - PostgreSQL locks rows with `SELECT … FOR UPDATE`, always org before account and accounts in
 *   ascending id order (`lockOrgCycle`, `lockAccount` callers keep that order), and retries
 *   serialization failures and deadlocks a bounded number of times.
 * - Objects returned by a `Tx` belong to the transaction: the use case mutates them and hands them
 *   back through the `save…`/`put…` methods. An adapter may cache them across transactions only if
 *   it is the database's single writer, and must evict what a failed transaction touched.
 */
import type { Instant } from '../core/time.ts';
import type {
  AccountAggregate,
  AccountRow,
  AppPolicyRow,
  CycleRow,
  DimName,
  HoldRow,
  OrgCycleRow,
  OrgRow,
  PostingRow,
} from './model.ts';
import type { OutboxReads, OutboxWrites } from './outbox.ts';

export interface Clock {
  now(): Instant;
}

export interface DimFigure {
  dim: DimName;
  key: string;
  costUnits: bigint;
}

export type TokenRole = 'admin' | 'meter' | 'account' | 'org_admin';

export interface TokenRow {
  /** sha256 of the token, hex: tokens are never stored in clear. */
  hash: string;
  role: TokenRole;
  accountId: string | null;
  orgId: string | null;
  createdAt: Instant;
}

export interface PostingPage {
  cycleStart?: Instant;
  /** Return postings with seq strictly greater than this. */
  afterSeq?: number;
  limit: number;
}

/** Reads that need no lock. On PostgreSQL they see committed data; in a `Tx`, the transaction's own. */
export interface ReadTx extends OutboxReads {
  getOrg(id: string): Promise<OrgRow | undefined>;
  getOrgByNo(no: number): Promise<OrgRow | undefined>;
  getOrgCycle(orgNo: number, cycleStart: Instant): Promise<OrgCycleRow | undefined>;
  /** The account with its open cycles, active holds, app policies and app spend; unlocked. */
  getAccount(id: string): Promise<AccountAggregate | undefined>;
  /**
   * Optional: the account as it stands, for planning which locks to take (its org, its open cycles
   * and holds). May return a shared cached object: callers only read it, and must lock the account
   * before relying on anything. Adapters without a cheaper way leave it out (`getAccount` is used).
   * One exception: a single-writer store (SQLite) whose cache is the account's latest state inside
   * a write transaction lets `authorize` decide from a peek without a hold (it writes nothing;
   * see authorize.ts and its test).
   */
  peekAccount?(id: string): Promise<AccountAggregate | undefined>;
  listOrgMembers(orgNo: number): Promise<AccountRow[]>;
  getCycle(accountNo: number, cycleStart: Instant): Promise<CycleRow | undefined>;
  /** Every cycle row of the account, oldest first. */
  listCycles(accountNo: number): Promise<CycleRow[]>;
  getDims(accountNo: number, cycleStart: Instant): Promise<DimFigure[]>;
  listPostings(accountNo: number, page: PostingPage): Promise<PostingRow[]>;
  /** Postings by idempotency key (`idem`), for replays (R12). */
  findPostings(accountNo: number, idems: readonly string[]): Promise<Map<string, PostingRow>>;
  getHold(accountNo: number, holdId: string): Promise<HoldRow | undefined>;
  /** The accounts (by id) that have a hold with this id, at most `limit`. */
  findHoldAccounts(holdId: string, limit: number): Promise<string[]>;
  findToken(hash: string): Promise<TokenRow | undefined>;
  /** Account ids in ascending order after `afterId`, for sweeps and `verify`. */
  listAccountIds(afterId: string | null, limit: number): Promise<string[]>;
  /** Accounts whose `nextRollAt` is at or before `now` (a cycle to open or close, a hold to expire). */
  listAccountsDue(now: Instant, limit: number): Promise<string[]>;
}

export interface Tx extends ReadTx, OutboxWrites {
  insertOrg(row: Omit<OrgRow, 'no'>): Promise<OrgRow>;
  saveOrg(row: OrgRow): Promise<void>;
  /** Locks (creating it at zero if missing) the org's counter for one org cycle. Lock orgs first. */
  lockOrgCycle(orgNo: number, cycleStart: Instant): Promise<OrgCycleRow>;
  saveOrgCycle(row: OrgCycleRow): Promise<void>;
  insertAccount(row: Omit<AccountRow, 'no'>): Promise<AccountRow>;
  /** Loads and locks the account aggregate; undefined if no such account. */
  lockAccount(id: string): Promise<AccountAggregate | undefined>;
  saveAccount(row: AccountRow): Promise<void>;
  /** Inserts or updates a cycle row (also adds it to nothing: callers keep the aggregate in step). */
  saveCycle(row: CycleRow): Promise<void>;
  /** Inserts or updates a hold (by account and id). */
  putHold(row: HoldRow): Promise<void>;
  saveApp(row: AppPolicyRow): Promise<void>;
  /** Appends postings; (accountNo, seq) and (accountNo, idem) are unique. */
  append(postings: readonly PostingRow[]): Promise<void>;
  /** Adds cost deltas to a cycle's breakdowns. */
  addDims(accountNo: number, cycleStart: Instant, deltas: readonly DimFigure[]): Promise<void>;
  insertToken(row: TokenRow): Promise<void>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  read<T>(fn: (tx: ReadTx) => Promise<T>): Promise<T>;
  /** True when the database answers (for `/healthz`). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
