/**
 * The embedded `Store`: one SQLite file through `node:sqlite`, WAL, `synchronous=FULL`, one
 * writer process. See README.md in this folder for the guarantees and their limits.
 *
 * Three mechanisms carry the performance, each safe because this process is the file's only
 * writer:
 * - group commit: concurrent `transaction` calls share one database transaction and one fsync,
 *   each in its own savepoint, so a failing one rolls back alone;
 * - the aggregate cache: `lockAccount` answers from memory after the first load, so a decision
 *   reads no disk; whatever a failed operation touched is evicted;
 * - prepared statements, prepared once per connection (`queries.ts`).
 *
 * @example
 * const store = await openSqliteStore({ path: 'data/creditpool.db' });
 * const row = await store.transaction((tx) => tx.insertAccount(account));
 * await store.close();
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { isDeepStrictEqual } from 'node:util';
import type { EventRow, StoredEvent } from '../../../app/events.ts';
import { addDimDelta, applyPosting, forEachDimDelta } from '../../../app/ledger.ts';
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
import type {
  ClaimedDelivery,
  DeliveryRow,
  NewDelivery,
  WebhookRow,
  WebhookScope,
  WebhookWork,
} from '../../../app/outbox.ts';
import type { DimFigure, PostingPage, ReadTx, Store, TokenRow, Tx } from '../../../app/ports.ts';
import { StoreError } from '../../../app/store-error.ts';
import type { Instant } from '../../../core/time.ts';
import { migrate } from './migrations.ts';
import { foldIntoAccount, foldTail, Queries } from './queries.ts';

/**
 * At most this many operations share one database transaction: every operation of a group waits
 * for the group's last one and its commit, so the cap bounds latency; 512 already amortizes the
 * fsync to almost nothing per operation.
 */
export const groupOperationsMax = 512;
/**
 * Aggregates kept in memory, least recently used evicted first: a few KB each, so memory stays
 * near a few hundred MB however many accounts the file holds; the active accounts stay hot.
 */
export const aggregatesCachedMax = 100_000;
/**
 * Write-behind: an account's figures are written back at the latest once this many postings have
 * been booked since its last write-back, so every read folds at most about this many postings
 * (plus one batch) on top of the stored rows.
 */
export const tailPostingsMax = 256;
/** How long a statement waits for a lock held by a checkpoint or a reader before failing. */
export const busyTimeoutMs = 5_000;
/** The largest page any list query returns: callers page, they never take everything at once. */
export const pageLimitMax = 10_000;

export type SqliteSynchronous = 'FULL' | 'NORMAL';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for a private in-memory database (tests, replay). */
  path: string;
  /**
   * `FULL` (default): a transaction resolves only once its commit is on disk. `NORMAL` in WAL
   * mode may lose the last commits on power loss (never on a process crash); for replays and
   * benchmarks that say so.
   */
  synchronous?: SqliteSynchronous;
  /**
   * Checks every cache hit of `lockAccount` against a fresh load and throws on a difference. For
   * tests: it finds a use case that forgot to keep an aggregate in step with what it saved.
   */
  verifyCache?: boolean;
}

// SQLite primary result codes (the low byte of an extended code).
const sqliteBusy = 5;
const sqliteLocked = 6;
const sqliteReadonly = 8;
const sqliteIoerr = 10;
const sqliteCorrupt = 11;
const sqliteFull = 13;
const sqliteCantopen = 14;
const sqliteConstraintPrimaryKey = 1555;
const sqliteConstraintUnique = 2067;

/** Turns a driver error into a `StoreError` where one applies; anything else (a bug) passes through. */
export function storeErrorOf(error: unknown): unknown {
  if (error instanceof StoreError) return error;
  const e = error as { code?: unknown; errcode?: unknown; message?: unknown };
  if (e?.code !== 'ERR_SQLITE_ERROR' || typeof e.errcode !== 'number') return error;
  const message = String(e.message);
  if (e.errcode === sqliteConstraintPrimaryKey || e.errcode === sqliteConstraintUnique) {
    return new StoreError('duplicate', message, { cause: error });
  }
  switch (e.errcode & 0xff) {
    case sqliteBusy:
    case sqliteLocked:
    case sqliteReadonly:
    case sqliteIoerr:
    case sqliteCorrupt:
    case sqliteFull:
    case sqliteCantopen:
      return new StoreError('unavailable', message, { cause: error });
    default:
      return error;
  }
}

function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > pageLimitMax) {
    throw new RangeError(`limit must be an integer in 1..${pageLimitMax}, got ${limit}`);
  }
}

/** Runs async sections one at a time, in call order. */
class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(section);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

interface QueuedOperation {
  fn: (tx: Tx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** What one operation saved for one account, to check the cached aggregate against at its end. */
interface Saved {
  account: AccountRow | undefined;
  cycles: CycleRow[];
  holds: HoldRow[];
  apps: AppPolicyRow[];
}

/**
 * Write-behind state of one cached account. Its images are what a fresh load would return: the
 * stored rows with the journal's tail folded in (`queries.ts`, `foldTail`), kept up to date by
 * folding every posting as it is appended. An operation whose changes the images reproduce
 * exactly changed nothing but what the tail rebuilds, so its rows can wait; any other difference
 * is written at the operation's end. Derivability is thus checked, not assumed.
 */
interface Shadow {
  /** The account and its cycles as stored rows plus the folded tail would read. */
  account: AccountRow;
  cycles: Map<Instant, CycleRow>;
  /** Live cycle objects saved since the last write-back. */
  dirtyCycles: Set<CycleRow>;
  /** Breakdown deltas not yet added to the stored rows, as handed over (summed at write-back). */
  dims: { cycleStart: Instant; deltas: readonly DimFigure[] }[];
  /** Postings booked since the last write-back (the tail's length). */
  tail: number;
  /** The highest seq whose effects the rows will hold after the next write-back. */
  throughSeq: number;
  /** A change the journal cannot rebuild is pending: write back at the operation's end. */
  mustWrite: boolean;
  /** The account object saved in place of the cached one (the cache is then evicted); else null. */
  accountToWrite: AccountRow | null;
}

function pending(shadow: Shadow): boolean {
  return shadow.tail > 0 || shadow.mustWrite || shadow.dirtyCycles.size > 0 || shadow.dims.length > 0;
}

function sameAccount(a: AccountRow, b: AccountRow): boolean {
  return (
    a.no === b.no &&
    a.id === b.id &&
    a.kind === b.kind &&
    a.plan === b.plan &&
    a.pendingPlan === b.pendingPlan &&
    a.status === b.status &&
    a.orgNo === b.orgNo &&
    a.orgId === b.orgId &&
    a.billingAnchor === b.billingAnchor &&
    a.createdAt === b.createdAt &&
    a.claimedAt === b.claimedAt &&
    a.claimEffectiveAt === b.claimEffectiveAt &&
    a.ucEnabled === b.ucEnabled &&
    a.ucMonthlyLimitUnits === b.ucMonthlyLimitUnits &&
    a.memberLimitUnits === b.memberLimitUnits &&
    a.grantedThroughIndex === b.grantedThroughIndex &&
    a.closedThroughIndex === b.closedThroughIndex &&
    a.sessionStart === b.sessionStart &&
    a.sessionUsedUnits === b.sessionUsedUnits &&
    a.weekStart === b.weekStart &&
    a.weekUsedUnits === b.weekUsedUnits &&
    a.lastActivityAt === b.lastActivityAt &&
    a.nextSeq === b.nextSeq &&
    a.nextRollAt === b.nextRollAt
  );
}

function sameCycle(a: CycleRow, b: CycleRow): boolean {
  return (
    a.accountNo === b.accountNo &&
    a.start === b.start &&
    a.end === b.end &&
    a.index === b.index &&
    a.closed === b.closed &&
    a.grantedUnits === b.grantedUnits &&
    a.creditUsedUnits === b.creditUsedUnits &&
    a.expiredUnits === b.expiredUnits &&
    a.creditAdjustedUnits === b.creditAdjustedUnits &&
    a.ucChargedUnits === b.ucChargedUnits &&
    a.writtenOffUnits === b.writtenOffUnits &&
    a.subscriptionUnits === b.subscriptionUnits &&
    a.paygUnits === b.paygUnits &&
    a.creditHeldUnits === b.creditHeldUnits &&
    a.ucHeldUnits === b.ucHeldUnits &&
    a.exhaustedAt === b.exhaustedAt &&
    a.alertPercent === b.alertPercent &&
    a.expiringAt === b.expiringAt
  );
}

interface GroupState {
  /** BEGIN IMMEDIATE ran: a group that only read commits nothing and syncs nothing. */
  begun: boolean;
  /** Account numbers whose cached aggregates the group's operations locked or wrote. */
  touched: Set<number>;
}

interface OperationState {
  group: GroupState;
  finished: boolean;
  /** The operation's savepoint is open: taken at its first write, so pure reads cost no SQL. */
  savepoint: boolean;
  locked: Map<number, AccountAggregate>;
  saved: Map<number, Saved>;
  /** Accounts written back inside this operation: a rollback to its savepoint undoes that. */
  writtenBack: Set<number>;
}

interface PendingFind {
  accountNo: number;
  idems: readonly string[];
  resolve: (found: Map<string, PostingRow>) => void;
  reject: (error: unknown) => void;
}

function sectionFinished(): Error {
  return new Error('this transaction has finished: a Tx must not be used after its function returns');
}

/** Reads on one connection, for one `read` call or one operation. */
export class SqliteReadTx implements ReadTx {
  protected readonly q: Queries;
  protected done = false;

  constructor(q: Queries) {
    this.q = q;
  }

  finish(): void {
    this.done = true;
  }

  /** Every method goes through here: one place checks liveness and maps driver errors. */
  protected sql<T>(body: () => T): Promise<T> {
    if (this.done) return Promise.reject(sectionFinished());
    try {
      return Promise.resolve(body());
    } catch (error) {
      return Promise.reject(storeErrorOf(error));
    }
  }

  getOrg(id: string): Promise<OrgRow | undefined> {
    return this.sql(() => this.q.orgById(id));
  }
  getOrgByNo(no: number): Promise<OrgRow | undefined> {
    return this.sql(() => this.q.orgByNo(no));
  }
  getOrgCycle(orgNo: number, cycleStart: Instant): Promise<OrgCycleRow | undefined> {
    return this.sql(() => this.q.orgCycle(orgNo, cycleStart));
  }
  getAccount(id: string): Promise<AccountAggregate | undefined> {
    return this.sql(() => this.q.aggregate(id));
  }
  listOrgMembers(orgNo: number): Promise<AccountRow[]> {
    return this.sql(() => this.q.orgMembers(orgNo));
  }
  getCycle(accountNo: number, cycleStart: Instant): Promise<CycleRow | undefined> {
    return this.sql(() => this.q.cycle(accountNo, cycleStart));
  }
  listCycles(accountNo: number): Promise<CycleRow[]> {
    return this.sql(() => this.q.cycles(accountNo));
  }
  getDims(accountNo: number, cycleStart: Instant): Promise<DimFigure[]> {
    return this.sql(() => this.q.dims(accountNo, cycleStart));
  }
  listPostings(accountNo: number, page: PostingPage): Promise<PostingRow[]> {
    return this.sql(() => {
      checkLimit(page.limit);
      return this.q.postings(accountNo, page);
    });
  }
  findPostings(accountNo: number, idems: readonly string[]): Promise<Map<string, PostingRow>> {
    if (this.done) return Promise.reject(sectionFinished());
    // Lookups issued together (a batch's accounts, `Promise.all`) run as one statement.
    return new Promise((resolve, reject) => {
      this.#finds.push({ accountNo, idems, resolve, reject });
      if (this.#finds.length === 1) queueMicrotask(() => this.#runFinds());
    });
  }

  #finds: PendingFind[] = [];

  #runFinds(): void {
    const finds = this.#finds;
    this.#finds = [];
    if (this.done) {
      for (const f of finds) f.reject(sectionFinished());
      return;
    }
    try {
      if (finds.length === 1) {
        const f = finds[0]!;
        f.resolve(this.q.postingsByIdem(f.accountNo, f.idems));
        return;
      }
      const keys: [number, string][] = [];
      // Each caller gets its own map (a caller may add to it), even for a repeated account.
      const results = finds.map(() => new Map<string, PostingRow>());
      const byAccount = new Map<number, Map<string, PostingRow>[]>();
      for (const [i, f] of finds.entries()) {
        for (const idem of f.idems) keys.push([f.accountNo, idem]);
        const list = byAccount.get(f.accountNo);
        if (list) list.push(results[i]!);
        else byAccount.set(f.accountNo, [results[i]!]);
      }
      for (const p of this.q.postingsByKeys(keys)) {
        for (const found of byAccount.get(p.accountNo) ?? []) found.set(p.idem!, p);
      }
      for (const [i, f] of finds.entries()) f.resolve(results[i]!);
    } catch (error) {
      const mapped = storeErrorOf(error);
      for (const f of finds) f.reject(mapped);
    }
  }
  getHold(accountNo: number, holdId: string): Promise<HoldRow | undefined> {
    return this.sql(() => this.q.hold(accountNo, holdId));
  }
  findHoldAccounts(holdId: string, limit: number): Promise<string[]> {
    return this.sql(() => {
      checkLimit(limit);
      return this.q.holdAccounts(holdId, limit);
    });
  }
  findToken(hash: string): Promise<TokenRow | undefined> {
    return this.sql(() => this.q.token(hash));
  }
  listAccountIds(afterId: string | null, limit: number): Promise<string[]> {
    return this.sql(() => {
      checkLimit(limit);
      return this.q.accountIds(afterId, limit);
    });
  }
  listAccountsDue(now: Instant, limit: number): Promise<string[]> {
    return this.sql(() => {
      checkLimit(limit);
      return this.q.accountsDue(now, limit);
    });
  }

  // ── the outbox (outbox.ts) ──

  listEvents(afterSeq: number, limit: number): Promise<StoredEvent[]> {
    return this.sql(() => {
      checkLimit(limit);
      return this.q.outbox.events(afterSeq, limit);
    });
  }
  getWebhook(id: string): Promise<WebhookRow | undefined> {
    return this.sql(() => this.q.outbox.webhook(id));
  }
  listWebhooks(scope: WebhookScope, afterId: string | null, limit: number): Promise<WebhookRow[]> {
    return this.sql(() => {
      checkLimit(limit);
      return this.q.outbox.webhooks(scope, afterId, limit);
    });
  }
  countWebhooks(scope: WebhookScope): Promise<number> {
    return this.sql(() => this.q.outbox.countWebhooks(scope));
  }
  listWebhooksFor(accountId: string | null, orgId: string | null): Promise<WebhookRow[]> {
    return this.sql(() => this.q.outbox.webhooksFor(accountId, orgId));
  }
  getDelivery(id: string): Promise<DeliveryRow | undefined> {
    return this.sql(() => this.q.outbox.delivery(id));
  }
  listDeliveries(endpointId: string, beforeSeq: number | null, limit: number): Promise<DeliveryRow[]> {
    return this.sql(() => {
      checkLimit(limit);
      return this.q.outbox.deliveries(endpointId, beforeSeq, limit);
    });
  }
  webhookWork(_now: Instant): Promise<WebhookWork> {
    return this.sql(() => this.q.outbox.work());
  }
}

/** One operation of a group: reads see the group's writes; writes go straight to SQL (write-through). */
class SqliteTx extends SqliteReadTx implements Tx {
  readonly #store: SqliteStore;
  readonly #op: OperationState;

  constructor(store: SqliteStore, q: Queries, op: OperationState) {
    super(q);
    this.#store = store;
    this.#op = op;
  }

  /** A write: opens the group's transaction and this operation's savepoint on first use. */
  #write<T>(accountNo: number | null, body: () => T): Promise<T> {
    return this.sql(() => {
      this.#store.beginWrite(this.#op);
      if (accountNo !== null) this.#savedFor(accountNo);
      return body();
    });
  }

  #savedFor(accountNo: number): Saved {
    let saved = this.#op.saved.get(accountNo);
    if (!saved) {
      saved = { account: undefined, cycles: [], holds: [], apps: [] };
      this.#op.saved.set(accountNo, saved);
    }
    return saved;
  }

  override getAccount(id: string): Promise<AccountAggregate | undefined> {
    // A copy: an unlocked read must not hand out the cached objects a use case could mutate.
    return this.sql(() => {
      const cached = this.#store.cached(id);
      return cached ? structuredClone(cached) : this.q.aggregate(id);
    });
  }

  /** The cached aggregate itself, uncopied: for lock planning only (see the port). */
  peekAccount(id: string): Promise<AccountAggregate | undefined> {
    return this.sql(() => this.#store.cached(id) ?? this.q.aggregate(id));
  }

  insertOrg(row: Omit<OrgRow, 'no'>): Promise<OrgRow> {
    return this.#write(null, () => this.q.insertOrg(row));
  }
  saveOrg(row: OrgRow): Promise<void> {
    return this.#write(null, () => {
      if (!this.q.updateOrg(row)) throw new StoreError('not_found', `no org ${row.id} with number ${row.no}`);
    });
  }
  lockOrgCycle(orgNo: number, cycleStart: Instant): Promise<OrgCycleRow> {
    return this.sql(() => {
      // A single writer needs no row lock: only a missing row costs a write.
      const row = this.q.orgCycle(orgNo, cycleStart);
      if (row) return row;
      this.#store.beginWrite(this.#op);
      this.q.createOrgCycle(orgNo, cycleStart);
      return this.q.orgCycle(orgNo, cycleStart)!;
    });
  }
  saveOrgCycle(row: OrgCycleRow): Promise<void> {
    return this.#write(null, () => {
      if (!this.q.updateOrgCycle(row)) {
        throw new StoreError('not_found', `no counter for org ${row.orgNo} at ${row.cycleStart}`);
      }
    });
  }
  insertAccount(row: Omit<AccountRow, 'no'>): Promise<AccountRow> {
    return this.#write(null, () => this.q.insertAccount(row));
  }
  lockAccount(id: string): Promise<AccountAggregate | undefined> {
    return this.sql(() => this.#store.lockAggregate(this.q, this.#op, id));
  }
  saveAccount(row: AccountRow): Promise<void> {
    return this.#write(row.no, () => {
      const shadow = this.#store.shadowFor(this.q, this.#op, row.no);
      if (shadow) {
        // Another object than the cached one: written at the end, and the cache evicted.
        if (this.#op.locked.get(row.no)!.account !== row) {
          shadow.accountToWrite = row;
          shadow.mustWrite = true;
        }
      } else if (!this.q.updateAccount(row)) {
        throw new StoreError('not_found', `no account ${row.id} with number ${row.no}`);
      }
      this.#savedFor(row.no).account = row;
    });
  }
  saveCycle(row: CycleRow): Promise<void> {
    return this.#write(row.accountNo, () => {
      const shadow = this.#store.shadowFor(this.q, this.#op, row.accountNo);
      if (shadow) {
        shadow.dirtyCycles.add(row);
      } else {
        this.q.upsertCycle(row);
      }
      this.#savedFor(row.accountNo).cycles.push(row);
    });
  }
  putHold(row: HoldRow): Promise<void> {
    return this.#write(row.accountNo, () => {
      this.q.upsertHold(row);
      this.#savedFor(row.accountNo).holds.push(row);
    });
  }
  saveApp(row: AppPolicyRow): Promise<void> {
    return this.#write(row.accountNo, () => {
      this.q.upsertApp(row);
      this.#savedFor(row.accountNo).apps.push(row);
    });
  }
  append(postings: readonly PostingRow[]): Promise<void> {
    if (postings.length === 0) return this.sql(() => undefined);
    return this.#write(null, () => {
      let written: Map<number, number> | undefined;
      for (const p of postings) {
        this.#savedFor(p.accountNo);
        const shadow = this.#store.shadowFor(this.q, this.#op, p.accountNo);
        if (shadow) {
          shadow.tail += 1;
          if (p.seq > shadow.throughSeq) shadow.throughSeq = p.seq;
          foldIntoAccount(shadow.account, p);
          const image = shadow.cycles.get(p.cycleStart);
          // A cycle without an image (new, or no longer open) is written at the end.
          if (image) applyPosting(image, p);
          else shadow.mustWrite = true;
        } else {
          written ??= new Map();
          written.set(p.accountNo, Math.max(written.get(p.accountNo) ?? 0, p.seq));
        }
      }
      this.q.insertPostings(postings);
      // Not deferred: whatever rows the writer saves for these postings are the whole truth.
      if (written) for (const [no, seq] of written) this.q.raiseCheckpoint(no, seq);
    });
  }
  addDims(accountNo: number, cycleStart: Instant, deltas: readonly DimFigure[]): Promise<void> {
    if (deltas.length === 0) return this.sql(() => undefined);
    return this.#write(accountNo, () => {
      const shadow = this.#store.shadowFor(this.q, this.#op, accountNo);
      if (shadow) {
        shadow.dims.push({ cycleStart, deltas });
        return;
      }
      // One upsert per distinct (dim, key): a batch repeats the same few surfaces, apps and models.
      const sums = new Map<string, DimFigure>();
      for (const d of deltas) addDimDelta(sums, d.dim, d.key, d.costUnits);
      for (const d of sums.values()) this.q.addDim(accountNo, cycleStart, d.dim, d.key, d.costUnits);
    });
  }
  insertToken(row: TokenRow): Promise<void> {
    return this.#write(null, () => this.q.insertToken(row));
  }

  // ── the outbox: no aggregate is cached for these rows; a single writer needs no row locks ──

  enqueueEvents(events: readonly EventRow[]): Promise<void> {
    if (events.length === 0) return this.sql(() => undefined);
    return this.#write(null, () => {
      for (const e of events) this.q.outbox.insertEvent(e);
    });
  }
  insertWebhook(row: WebhookRow): Promise<void> {
    return this.#write(null, () => this.q.outbox.insertWebhook(row));
  }
  deleteWebhook(id: string, at: Instant): Promise<boolean> {
    return this.#write(null, () => this.q.outbox.deleteWebhook(id, at));
  }
  takeEventsToFanOut(limit: number): Promise<StoredEvent[]> {
    return this.sql(() => {
      checkLimit(limit);
      return this.q.outbox.eventsToFanOut(limit);
    });
  }
  insertDeliveries(rows: readonly NewDelivery[]): Promise<void> {
    if (rows.length === 0) return this.sql(() => undefined);
    return this.#write(null, () => {
      for (const d of rows) this.q.outbox.insertDelivery(d);
    });
  }
  markEventsFannedOut(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return this.sql(() => undefined);
    return this.#write(null, () => {
      for (const seq of seqs) this.q.outbox.markFannedOut(seq);
    });
  }
  claimDeliveries(
    now: Instant,
    leaseUntil: Instant,
    leaseToken: string,
    attemptsMax: number,
    limit: number,
  ): Promise<ClaimedDelivery[]> {
    return this.sql(() => {
      checkLimit(limit);
      // Read first: an idle worker's poll then costs no write transaction and no fsync.
      const due = this.q.outbox.dueDeliveries(now, attemptsMax, limit);
      if (due.length === 0) return [];
      this.beginOutboxWrite();
      const claimed: ClaimedDelivery[] = [];
      for (const seq of due) {
        const c = this.q.outbox.lease(seq, leaseUntil, leaseToken);
        if (c) claimed.push(c);
      }
      return claimed;
    });
  }
  finishDelivery(row: DeliveryRow, leaseToken: string): Promise<boolean> {
    return this.#write(null, () => this.q.outbox.finish(row, leaseToken));
  }
  lockDelivery(id: string): Promise<DeliveryRow | undefined> {
    return this.sql(() => this.q.outbox.delivery(id));
  }
  takeStaleDeliveries(now: Instant, attemptsMax: number, limit: number): Promise<DeliveryRow[]> {
    return this.sql(() => {
      checkLimit(limit);
      return this.q.outbox.stale(now, attemptsMax, limit);
    });
  }
  saveDelivery(row: DeliveryRow): Promise<void> {
    return this.#write(null, () => this.q.outbox.save(row));
  }

  /** Opens the write transaction for an outbox write decided inside a read (`claimDeliveries`). */
  private beginOutboxWrite(): void {
    this.#store.beginWrite(this.#op);
  }
}

/** Does the cached aggregate hold exactly the objects this operation saved? */
function inStep(agg: AccountAggregate, saved: Saved): boolean {
  if (saved.account !== undefined && agg.account !== saved.account) return false;
  for (const c of saved.cycles) {
    const held = agg.cycles.get(c.start);
    if (c.closed ? held !== undefined && held !== c : held !== c) return false;
  }
  for (const h of saved.holds) {
    const held = agg.holds.get(h.id);
    if (h.status === 'active' ? held !== h : held !== undefined && held !== h) return false;
  }
  for (const a of saved.apps) if (agg.apps.get(a.app) !== a) return false;
  return true;
}

/** Makes a cached aggregate what a fresh load would return: closed cycles and ended holds go. */
function normalize(agg: AccountAggregate): void {
  for (const [start, cycle] of agg.cycles) if (cycle.closed) agg.cycles.delete(start);
  for (const [start, spend] of agg.appSpend) {
    if (!agg.cycles.has(start) || spend.size === 0) agg.appSpend.delete(start);
  }
  for (const [id, hold] of agg.holds) if (hold.status !== 'active') agg.holds.delete(id);
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #q: Queries;
  /** The read connection (files only); null for ':memory:', whose reads run between groups. */
  readonly #readDb: DatabaseSync | null;
  readonly #readQ: Queries;
  readonly #lock: DatabaseSync | null;
  readonly #verifyCache: boolean;
  readonly #writeLane = new Mutex();
  readonly #readLane = new Mutex();
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #rollback: StatementSync;
  readonly #savepoint: StatementSync;
  readonly #release: StatementSync;
  readonly #rollbackTo: StatementSync;
  readonly #readBegin: StatementSync | null;
  readonly #readEnd: StatementSync | null;
  #queue: QueuedOperation[] = [];
  #flushScheduled = false;
  #flushing = false;
  #closed = false;
  /** Aggregates by account id, least recently used first (Map keeps insertion order). */
  readonly #cache = new Map<string, AccountAggregate>();
  readonly #cacheIdByNo = new Map<number, string>();
  /** The write-behind state of every cached aggregate, by account number. */
  readonly #shadows = new Map<number, Shadow>();
  #writeBackCount = 0;

  /** Use `openSqliteStore`. */
  constructor(
    path: string,
    db: DatabaseSync,
    readDb: DatabaseSync | null,
    lock: DatabaseSync | null,
    verifyCache: boolean,
  ) {
    this.path = path;
    this.#db = db;
    this.#readDb = readDb;
    this.#lock = lock;
    this.#verifyCache = verifyCache;
    this.#q = new Queries(db);
    this.#readQ = readDb ? new Queries(readDb) : this.#q;
    this.#begin = db.prepare('BEGIN IMMEDIATE');
    this.#commit = db.prepare('COMMIT');
    this.#rollback = db.prepare('ROLLBACK');
    this.#savepoint = db.prepare('SAVEPOINT operation');
    this.#release = db.prepare('RELEASE operation');
    this.#rollbackTo = db.prepare('ROLLBACK TO operation');
    this.#readBegin = readDb ? readDb.prepare('BEGIN') : null;
    this.#readEnd = readDb ? readDb.prepare('COMMIT') : null;
  }

  /** Accounts written back since open (for tests and metrics: how much the write-behind saves). */
  get writeBacks(): number {
    return this.#writeBackCount;
  }

  /** Aggregates currently cached (for tests and metrics). */
  get cachedAggregates(): number {
    return this.#cache.size;
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('unavailable', 'the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      this.#scheduleFlush();
    });
  }

  /**
   * Reads committed data only. On a file: on the read connection, in its own read transaction
   * (one snapshot for the whole `fn`), never blocked by a group in flight. In memory there is one
   * connection, so reads wait for the group in flight and run between groups.
   */
  read<T>(fn: (tx: ReadTx) => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('unavailable', 'the store is closed'));
    const lane = this.#readDb ? this.#readLane : this.#writeLane;
    return lane.run(async () => {
      const view = new SqliteReadTx(this.#readQ);
      this.#readBegin?.run();
      try {
        return await fn(view);
      } finally {
        view.finish();
        this.#readEnd?.run();
      }
    });
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      return this.#readQ.ping();
    } catch {
      return false;
    }
  }

  /** Lets every queued transaction finish, then closes the connections and the writer lock. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#queue.length > 0 || this.#flushScheduled || this.#flushing) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.#writeLane.run(async () => {
      try {
        this.#writeBackAll();
      } catch {
        // A full disk at close: the journal already holds everything, the next open folds it.
      }
    });
    await this.#readLane.run(async () => undefined);
    this.#readDb?.close();
    this.#db.close();
    this.#lock?.close();
    this.#cache.clear();
    this.#cacheIdByNo.clear();
    this.#shadows.clear();
  }

  // ── group commit ──

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#flushing) return;
    this.#flushScheduled = true;
    // setImmediate, not a microtask: every transaction called in this turn of the event loop
    // (a burst of requests) joins the group before it starts.
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flushing = true;
      const group = this.#queue.splice(0, groupOperationsMax);
      void this.#writeLane
        .run(() => this.#runGroup(group))
        .finally(() => {
          this.#flushing = false;
          if (this.#queue.length > 0) this.#scheduleFlush();
        });
    });
  }

  async #runGroup(group: QueuedOperation[]): Promise<void> {
    const state: GroupState = { begun: false, touched: new Set() };
    const succeeded: { op: QueuedOperation; value: unknown }[] = [];
    /** Set when the database transaction itself is lost: nothing of this group can commit. */
    let broken: unknown;
    for (const queued of group) {
      if (broken !== undefined) {
        queued.reject(broken);
        continue;
      }
      const op: OperationState = {
        group: state,
        finished: false,
        savepoint: false,
        locked: new Map(),
        saved: new Map(),
        writtenBack: new Set(),
      };
      const tx = new SqliteTx(this, this.#q, op);
      try {
        const value = await queued.fn(tx);
        this.#writeBackDue(op);
        tx.finish();
        op.finished = true;
        if (op.savepoint) this.#release.run();
        this.#settleCache(op);
        succeeded.push({ op: queued, value });
      } catch (error) {
        tx.finish();
        op.finished = true;
        this.#evictOperation(op);
        try {
          if (op.savepoint) {
            this.#rollbackTo.run();
            this.#release.run();
          }
        } catch (rollbackError) {
          broken = storeErrorOf(rollbackError);
        }
        // SQLite rolls the whole transaction back by itself on some errors (disk full, I/O).
        if (state.begun && !this.#db.isTransaction)
          broken ??= new StoreError('unavailable', 'the transaction was lost', { cause: error });
        queued.reject(error);
      }
    }
    if (broken === undefined && state.begun) {
      try {
        this.#commit.run();
      } catch (error) {
        broken = storeErrorOf(error);
      }
    }
    if (broken !== undefined) {
      if (this.#db.isTransaction) {
        try {
          this.#rollback.run();
        } catch {
          // The connection is unusable; the next BEGIN reports it.
        }
      }
      for (const no of state.touched) this.#evict(no);
      for (const { op } of succeeded) op.reject(broken);
      return;
    }
    for (const { op, value } of succeeded) op.resolve(value);
    this.#trimCache();
  }

  /** Called by a Tx before its first write: BEGIN for the group, SAVEPOINT for the operation. */
  beginWrite(op: OperationState): void {
    if (op.finished) throw sectionFinished();
    if (!op.group.begun) {
      this.#begin.run();
      op.group.begun = true;
    }
    if (!op.savepoint) {
      this.#savepoint.run();
      op.savepoint = true;
    }
  }

  // ── the aggregate cache ──

  cached(id: string): AccountAggregate | undefined {
    return this.#cache.get(id);
  }

  lockAggregate(q: Queries, op: OperationState, id: string): AccountAggregate | undefined {
    let agg = this.#cache.get(id);
    if (agg) {
      // Move to the most recently used end.
      this.#cache.delete(id);
      this.#cache.set(id, agg);
      if (this.#verifyCache) {
        const fresh = q.aggregate(id);
        if (!isDeepStrictEqual(fresh, agg)) {
          throw new Error(
            `cached aggregate of account ${id} differs from the database: a use case did not keep it in step`,
          );
        }
      }
    } else {
      agg = this.#load(q, id);
      if (!agg) return undefined;
    }
    op.locked.set(agg.account.no, agg);
    return agg;
  }

  /**
   * After an operation succeeded: keep each aggregate it locked and saved in step (normalized to
   * what a fresh load returns); evict any that was written without being locked, or whose saved
   * rows are not the objects the aggregate holds. Eviction costs a reload, never a wrong answer.
   */
  #settleCache(op: OperationState): void {
    for (const no of op.writtenBack) op.group.touched.add(no);
    for (const [no, saved] of op.saved) {
      op.group.touched.add(no);
      const id = this.#cacheIdByNo.get(no);
      const agg = id === undefined ? undefined : this.#cache.get(id);
      if (agg && (op.locked.get(no) !== agg || !inStep(agg, saved))) this.#evict(no);
    }
    for (const [no, agg] of op.locked) {
      op.group.touched.add(no);
      if (this.#cache.get(this.#cacheIdByNo.get(no) ?? '') === agg) normalize(agg);
    }
  }

  /** After an operation failed: whatever it locked (and may have mutated) or wrote is forgotten. */
  #evictOperation(op: OperationState): void {
    for (const no of op.locked.keys()) this.#evict(no);
    for (const no of op.saved.keys()) this.#evict(no);
    // Their shadows say "written", but the rollback to the savepoint undid the writing.
    for (const no of op.writtenBack) this.#evict(no);
  }

  /**
   * Forgets a cached aggregate and its write-behind state. Safe whatever is pending: the rows
   * plus the journal's tail are the truth, and the next load folds the tail again.
   */
  #evict(no: number): void {
    this.#shadows.delete(no);
    const id = this.#cacheIdByNo.get(no);
    if (id === undefined) return;
    this.#cacheIdByNo.delete(no);
    this.#cache.delete(id);
  }

  // ── write-behind ──
  //
  // Postings, holds, apps and the outbox are written at once. An account's own row, its cycle
  // rows and its breakdowns are written behind: an operation that changed only what the journal's
  // tail rebuilds (the sequence, the last activity, the `applyPosting` sums, the breakdowns)
  // leaves them to a later write-back; any other change is written back at the operation's end,
  // inside its savepoint. A write-back writes the whole account at once (its row with `next_seq`,
  // its dirty cycles, its pending breakdowns), so the stored rows always hold exactly the postings
  // before the stored `next_seq` and every read folds the rest (`queries.ts`). Nothing
  // acknowledged depends on the write-behind: the postings are in the same commit as always.

  /** Loads an aggregate into the cache: its stored rows, their images, and the folded tail. */
  #load(q: Queries, id: string): AccountAggregate | undefined {
    const agg = q.storedAggregate(id);
    if (!agg) return undefined;
    const no = agg.account.no;
    const shadow: Shadow = {
      account: agg.account,
      cycles: agg.cycles,
      dirtyCycles: new Set(),
      dims: [],
      tail: 0,
      throughSeq: q.checkpoint(no) ?? 0,
      mustWrite: false,
      accountToWrite: null,
    };
    const tail = q.tail(no, shadow.throughSeq);
    foldTail(agg, tail);
    shadow.tail = tail.length;
    if (tail.length > 0) shadow.throughSeq = tail[tail.length - 1]!.seq;
    // The images: the aggregate as loaded, before anything mutates it.
    shadow.account = { ...agg.account };
    shadow.cycles = new Map([...agg.cycles].map(([start, c]) => [start, { ...c }]));
    // What the tail adds is pending again: its cycles and breakdowns go with the next write-back.
    for (const p of tail) {
      // A tail posting's cycle was open when it was booked, and a close is written back at once
      // (the images tell it apart), which empties the tail: its cycle is among the open ones.
      const cycle = agg.cycles.get(p.cycleStart);
      if (!cycle) {
        throw new Error(
          `account ${id}: tail posting ${p.seq} is on cycle ${p.cycleStart}, which is not open`,
        );
      }
      shadow.dirtyCycles.add(cycle);
      const deltas: DimFigure[] = [];
      forEachDimDelta(p, (dim, key, costUnits) => deltas.push({ dim, key, costUnits }));
      if (deltas.length > 0) shadow.dims.push({ cycleStart: p.cycleStart, deltas });
    }
    this.#cache.set(id, agg);
    this.#cacheIdByNo.set(no, id);
    this.#shadows.set(no, shadow);
    return agg;
  }

  /**
   * The write-behind state of an account this operation locked, for a save to defer to; undefined
   * for any other account, whose save then writes at once. Such a write must not land on top of
   * pending figures (the stored rows would then count part of the tail twice), so a cached
   * account's pending state is written back first: its cache is as the last successful operation
   * left it, since this operation did not lock it.
   */
  shadowFor(q: Queries, op: OperationState, no: number): Shadow | undefined {
    const shadow = this.#shadows.get(no);
    if (!shadow) return undefined;
    if (op.locked.has(no)) return shadow;
    if (pending(shadow)) this.#writeBack(q, op, no);
    return undefined;
  }

  /** At an operation's end: the accounts it locked whose changes must not wait, or whose tail is long. */
  #writeBackDue(op: OperationState): void {
    for (const [no, agg] of op.locked) {
      const shadow = this.#shadows.get(no);
      if (!shadow) continue;
      if (shadow.mustWrite || shadow.tail >= tailPostingsMax || !this.#reproduced(shadow, agg)) {
        this.#writeBack(this.#q, op, no);
      }
    }
  }

  /** Do the images (stored rows plus folded tail) read exactly what the aggregate holds? */
  #reproduced(shadow: Shadow, agg: AccountAggregate): boolean {
    if (!sameAccount(agg.account, shadow.account)) return false;
    for (const c of shadow.dirtyCycles) {
      const image = shadow.cycles.get(c.start);
      if (!image || !sameCycle(c, image)) return false;
    }
    return true;
  }

  #writeBack(q: Queries, op: OperationState, no: number): void {
    this.beginWrite(op);
    op.writtenBack.add(no);
    this.#writeRows(q, no);
  }

  /** Writes an account's pending rows and makes its images what is now stored. */
  #writeRows(q: Queries, no: number): void {
    const shadow = this.#shadows.get(no)!;
    const agg = this.#cache.get(this.#cacheIdByNo.get(no)!)!;
    this.#writeBackCount += 1;
    const account = shadow.accountToWrite ?? agg.account;
    if (!q.writeBackAccount(account, shadow.throughSeq))
      throw new StoreError('not_found', `no account ${account.id} with number ${no}`);
    for (const c of shadow.dirtyCycles) q.upsertCycle(c);
    const sums = new Map<Instant, Map<string, DimFigure>>();
    for (const { cycleStart, deltas } of shadow.dims) {
      let cycleSums = sums.get(cycleStart);
      if (!cycleSums) {
        cycleSums = new Map();
        sums.set(cycleStart, cycleSums);
      }
      for (const d of deltas) addDimDelta(cycleSums, d.dim, d.key, d.costUnits);
    }
    for (const [start, cycleSums] of sums) {
      for (const d of cycleSums.values()) q.addDim(no, start, d.dim, d.key, d.costUnits);
    }
    shadow.account = { ...account };
    // Closed cycles leave the images as they leave the aggregate: a later posting on one (a
    // correction) then finds no image and is written at once.
    for (const c of shadow.dirtyCycles) {
      if (c.closed) shadow.cycles.delete(c.start);
      else shadow.cycles.set(c.start, { ...c });
    }
    shadow.dirtyCycles.clear();
    shadow.dims = [];
    shadow.tail = 0;
    shadow.mustWrite = false;
    shadow.accountToWrite = null;
  }

  /** At close: everything pending written back, so the file alone holds compact rows. */
  #writeBackAll(): void {
    const due = [...this.#shadows].filter(([, shadow]) => pending(shadow));
    if (due.length === 0) return;
    this.#begin.run();
    try {
      for (const [no] of due) this.#writeRows(this.#q, no);
      this.#commit.run();
    } catch (error) {
      // Nothing is lost: the postings are committed and the next open folds them.
      if (this.#db.isTransaction) this.#rollback.run();
      throw storeErrorOf(error);
    }
  }

  /** Between groups only: an aggregate in use by an operation is never dropped under it. */
  #trimCache(): void {
    for (const [id, agg] of this.#cache) {
      if (this.#cache.size <= aggregatesCachedMax) break;
      this.#evict(agg.account.no);
      this.#cache.delete(id);
    }
  }
}

/**
 * Takes the writer lock: a sidecar SQLite file held in EXCLUSIVE locking mode for the life of the
 * store. The OS releases it when the process dies (kill -9 included), so a crash leaves no stale
 * lock; a second writer, in this process or another, is refused at open.
 */
export function takeWriterLock(path: string): DatabaseSync {
  let lock: DatabaseSync | undefined;
  try {
    lock = new DatabaseSync(`${path}.lock`);
    lock.exec(
      'PRAGMA locking_mode = EXCLUSIVE; PRAGMA busy_timeout = 0; BEGIN EXCLUSIVE; ' +
        'CREATE TABLE IF NOT EXISTS writer (note TEXT); COMMIT',
    );
    return lock;
  } catch (error) {
    lock?.close();
    // Busy or locked: another writer holds it. Anything else is the file system (a read-only
    // folder or file, a full disk): saying "another writer" then sends the operator the wrong way.
    const code = ((error as { errcode?: unknown }).errcode as number | undefined) ?? 0;
    const held = (code & 0xff) === sqliteBusy || (code & 0xff) === sqliteLocked;
    throw new StoreError(
      'unavailable',
      held
        ? `${path} is already open for writing (one writer per SQLite file; several servers need PostgreSQL)`
        : `cannot take the writer lock ${path}.lock: ${(error as Error).message} (is the folder read-only, or the disk full?)`,
      { cause: error },
    );
  }
}

/** The writer connection's settings (also what bench/ledger gives its plain-insert baseline). */
export function writerPragmas(synchronous: SqliteSynchronous): string {
  return [
    'PRAGMA journal_mode = WAL',
    `PRAGMA synchronous = ${synchronous}`,
    `PRAGMA busy_timeout = ${busyTimeoutMs}`,
    // Integrity is the app's; unchecked writes stay cheap.
    'PRAGMA foreign_keys = OFF',
    // NORMAL: the read connection must be able to read while the writer is open.
    'PRAGMA locking_mode = NORMAL',
    // 64 MiB of page cache: the journal's right edge and the hot accounts stay in memory.
    'PRAGMA cache_size = -65536',
    // Savepoint sub-journals (one per operation of a group) in memory, not in temporary files.
    'PRAGMA temp_store = MEMORY',
  ].join('; ');
}

function configure(db: DatabaseSync, synchronous: SqliteSynchronous): void {
  db.exec(writerPragmas(synchronous));
}

/**
 * Opens (creating if missing, with its folder) and migrates a SQLite store.
 *
 * @example
 * const store = await openSqliteStore({ path: ':memory:' });
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  const synchronous = options.synchronous ?? 'FULL';
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL')
    throw new RangeError(`synchronous: ${String(synchronous)}`);
  const inMemory = options.path === ':memory:';
  const path = inMemory ? options.path : resolve(options.path);
  if (!inMemory) mkdirSync(dirname(path), { recursive: true });
  const lock = inMemory ? null : takeWriterLock(path);
  let db: DatabaseSync | undefined;
  let readDb: DatabaseSync | null = null;
  try {
    db = new DatabaseSync(path);
    configure(db, synchronous);
    migrate(db);
    probeWritable(db);
    if (!inMemory) {
      readDb = new DatabaseSync(path, { readOnly: true });
      readDb.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}; PRAGMA cache_size = -16384`);
    }
    return new SqliteStore(path, db, readDb, lock, options.verifyCache ?? false);
  } catch (error) {
    readDb?.close();
    db?.close();
    lock?.close();
    throw openError(path, error);
  }
}

/**
 * Fails at open, not at the first write, when the file cannot be written: SQLite opens a
 * read-only file (permissions, a read-only mount) read-only without a word, and the server would
 * start and answer every write with 503 (test/faults/sqlite-disk.test.ts). The probe's insert is
 * rolled back: nothing is written.
 */
function probeWritable(db: DatabaseSync): void {
  db.exec(
    "BEGIN IMMEDIATE; INSERT INTO schema_migrations (version, name, applied_at) VALUES (-1, 'write probe', 0); ROLLBACK",
  );
}

/**
 * A failure to open the database, with its path and the likely cause: SQLite's own message
 * ("unable to open database file") names neither. A refusal by the writer lock passes as it is.
 */
function openError(path: string, error: unknown): unknown {
  const mapped = storeErrorOf(error);
  if (!(mapped instanceof StoreError) || mapped === error) return mapped;
  const code = (((error as { errcode?: unknown }).errcode as number | undefined) ?? 0) & 0xff;
  const likely =
    code === sqliteReadonly || code === sqliteCantopen
      ? ' (is the file or its folder read-only?)'
      : code === sqliteFull
        ? ' (the disk is full)'
        : '';
  return new StoreError(mapped.code, `cannot open ${path} for writing: ${mapped.message}${likely}`, {
    cause: error,
  });
}
