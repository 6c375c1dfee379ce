/**
 * Locking for a use case: orgs first (their shared usage-credit counters), then accounts in
 * ascending id order, so concurrent transactions on PostgreSQL never wait on each other in a cycle.
 * Every locked account is rolled forward to `now` (lazy close, R8) before anything else happens.
 */
import type { AppContext } from './context.ts';
import { AppError } from './errors.ts';
import { Book, lockOrgScope, type OrgScope, rollAccount } from './ledger.ts';
import type { AccountAggregate } from './model.ts';
import type { Tx } from './ports.ts';

export interface Scope {
  accounts: Map<string, AccountAggregate>;
  orgs: Map<number, OrgScope>;
  book: Book;
  now: number;
}

/** The org scope of an account, or null for accounts outside any org. */
export function orgOf(scope: Scope, agg: AccountAggregate): OrgScope | null {
  return agg.account.orgNo === null ? null : (scope.orgs.get(agg.account.orgNo) ?? null);
}

export async function lockScope(ctx: AppContext, tx: Tx, accountIds: Iterable<string>): Promise<Scope> {
  const now = ctx.clock.now();
  const ids = [...new Set(accountIds)].sort();
  // Membership read without a lock tells which orgs to lock first; re-checked under the lock.
  // The org cycles to lock include every open cycle and active hold of those accounts: a roll may
  // close an old cycle (after a clock jump) and release holds whose usage credits sit in its counter.
  const orgCycles = new Map<number, Set<number>>();
  // Issued together: the PostgreSQL adapter sends concurrent loads as one statement set.
  const peeks = await Promise.all(ids.map((id) => (tx.peekAccount ? tx.peekAccount(id) : tx.getAccount(id))));
  for (const peek of peeks) {
    const orgNo = peek?.account.orgNo;
    if (peek === undefined || orgNo == null) continue;
    let starts = orgCycles.get(orgNo);
    if (!starts) {
      starts = new Set();
      orgCycles.set(orgNo, starts);
    }
    for (const start of peek.cycles.keys()) starts.add(start);
    for (const hold of peek.holds.values()) starts.add(hold.cycleStart);
  }
  const orgs = new Map<number, OrgScope>();
  for (const orgNo of [...orgCycles.keys()].sort((a, b) => a - b)) {
    const org = await tx.getOrgByNo(orgNo);
    if (org) orgs.set(orgNo, await lockOrgScope(tx, org, now, ctx.catalogues, orgCycles.get(orgNo)));
  }
  const book = new Book(now, ctx.alerts);
  const accounts = new Map<string, AccountAggregate>();
  // In ascending id order, issued together: PostgreSQL runs one connection's statements in order
  // (and the adapter locks a coalesced set in ascending id order), so the lock order holds.
  const locked = await Promise.all(ids.map((id) => tx.lockAccount(id)));
  for (const [i, id] of ids.entries()) {
    const agg = locked[i];
    if (!agg) continue;
    if (agg.account.orgNo !== null && !orgs.has(agg.account.orgNo)) {
      throw new AppError('unavailable', 'account membership changed during the request; retry');
    }
    rollAccount(
      book,
      agg,
      now,
      ctx.catalogues,
      agg.account.orgNo === null ? null : (orgs.get(agg.account.orgNo) ?? null),
    );
    accounts.set(id, agg);
  }
  return { accounts, orgs, book, now };
}

/** Locks one account (and its org), or throws `not_found`. */
export async function lockOne(
  ctx: AppContext,
  tx: Tx,
  accountId: string,
): Promise<{ scope: Scope; agg: AccountAggregate }> {
  const scope = await lockScope(ctx, tx, [accountId]);
  const agg = scope.accounts.get(accountId);
  if (!agg) throw new AppError('not_found', `no account ${accountId}`);
  return { scope, agg };
}
