/**
 * The one behavioural suite every `Store` adapter passes, written against the port only (no SQL).
 * An adapter's test file calls `storeContract(name, open)`; `open` returns a fresh, empty store
 * and a cleanup. Every test opens its own store, so tests share nothing.
 *
 * @example
 * storeContract('sqlite', async () => {
 *   const store = await openSqliteStore({ path: ':memory:' });
 *   return { store, cleanup: () => store.close() };
 * });
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type {
  AccountAggregate,
  AccountRow,
  AppPolicyRow,
  CycleRow,
  HoldRow,
  OrgRow,
  PostingRow,
} from '../../app/model.ts';
import type { DimFigure, Store, TokenRow } from '../../app/ports.ts';
import { StoreError, type StoreErrorCode } from '../../app/store-error.ts';

export type OpenStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/** int64 bounds: every money column holds the full signed 64-bit range. */
const int64Max = 9_223_372_036_854_775_807n;
const int64Min = -9_223_372_036_854_775_808n;

const anchor = Date.UTC(2026, 5, 3, 12, 0, 0);
const cycle0Start = anchor;
const cycle1Start = Date.UTC(2026, 6, 3, 12, 0, 0);
const cycle2Start = Date.UTC(2026, 7, 3, 12, 0, 0);

export function orgFixture(id: string, over: Partial<OrgRow> = {}): Omit<OrgRow, 'no'> {
  return {
    id,
    billingAnchor: anchor,
    createdAt: anchor - 1000,
    ucEnabled: true,
    ucMonthlyLimitUnits: 500_000_000_000_000n,
    seatTierLimitsUnits: { team_standard: 50_000_000_000_000n, team_premium: 9_000_000_000_000_000_001n },
    ...over,
  };
}

export function accountFixture(id: string, over: Partial<AccountRow> = {}): Omit<AccountRow, 'no'> {
  return {
    id,
    kind: 'subscription',
    plan: 'max_5x',
    pendingPlan: null,
    status: 'active',
    orgNo: null,
    orgId: null,
    billingAnchor: anchor,
    createdAt: anchor - 5000,
    claimedAt: null,
    claimEffectiveAt: null,
    ucEnabled: false,
    ucMonthlyLimitUnits: null,
    memberLimitUnits: null,
    grantedThroughIndex: null,
    closedThroughIndex: null,
    sessionStart: null,
    sessionUsedUnits: 0n,
    weekStart: null,
    weekUsedUnits: 0n,
    lastActivityAt: null,
    nextSeq: 1,
    nextRollAt: null,
    ...over,
  };
}

export function cycleFixture(
  accountNo: number,
  start: number,
  index: number,
  over: Partial<CycleRow> = {},
): CycleRow {
  return {
    accountNo,
    start,
    end: start + 30 * 86_400_000,
    index,
    closed: false,
    grantedUnits: 100_000_000_000_000n,
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
    ...over,
  };
}

export function postingFixture(accountNo: number, seq: number, over: Partial<PostingRow> = {}): PostingRow {
  return {
    accountNo,
    seq,
    at: cycle1Start + seq * 1000,
    cycleStart: cycle1Start,
    kind: 'usage',
    idem: `u:rec-${seq}`,
    hash: `hash-${seq}`,
    corrects: null,
    creditUnits: -1_500_000_000n,
    ucUnits: 0n,
    subscriptionUnits: 0n,
    writtenOffUnits: 0n,
    paygUnits: 0n,
    costUnits: 1_500_000_000n,
    usageClass: 'programmatic',
    surface: 'sdk-ts',
    app: null,
    model: 'claude-sonnet-4-5',
    note: null,
    recordedAt: cycle1Start + seq * 1000 + 7,
    ...over,
  };
}

export function holdFixture(accountNo: number, id: string, over: Partial<HoldRow> = {}): HoldRow {
  return {
    accountNo,
    id,
    cycleStart: cycle1Start,
    createdAt: cycle1Start + 60_000,
    expiresAt: cycle1Start + 660_000,
    status: 'active',
    creditUnits: 2_000_000_000_000n,
    ucUnits: 0n,
    estimateUnits: 2_000_000_000_000n,
    usageClass: 'programmatic',
    source: 'sdk_credit',
    surface: 'sdk-py',
    app: null,
    model: null,
    hash: `hold-hash-${id}`,
    settledRecordId: null,
    ...over,
  };
}

async function rejectsWithCode(promise: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

function sortDims(dims: DimFigure[]): DimFigure[] {
  return [...dims].sort((a, b) => (a.dim + '\0' + a.key < b.dim + '\0' + b.key ? -1 : 1));
}

/** A plain copy of an aggregate's maps, for comparisons that ignore Map insertion order. */
function aggregateView(agg: AccountAggregate) {
  const byKey = <V>(map: Map<string | number, V>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    account: agg.account,
    cycles: byKey(agg.cycles),
    holds: byKey(agg.holds),
    apps: byKey(agg.apps),
    appSpend: byKey(agg.appSpend).map(([start, spend]) => [start, byKey(spend)]),
  };
}

class Boom extends Error {}

export function storeContract(name: string, open: OpenStore): void {
  /** Runs `body` against a fresh store and always cleans up. */
  function it(title: string, body: (store: Store) => Promise<void>): void {
    test(`${name} store: ${title}`, async () => {
      const { store, cleanup } = await open();
      try {
        await body(store);
      } finally {
        await cleanup();
      }
    });
  }

  async function insertAccount(
    store: Store,
    id: string,
    over: Partial<AccountRow> = {},
  ): Promise<AccountRow> {
    return store.transaction((tx) => tx.insertAccount(accountFixture(id, over)));
  }

  it('answers ping', async (store) => {
    assert.equal(await store.ping(), true);
  });

  it('inserts, reads and saves orgs; a taken org id is a duplicate', async (store) => {
    const org = await store.transaction((tx) => tx.insertOrg(orgFixture('org-a')));
    assert.equal(typeof org.no, 'number');
    assert.deepEqual(org, { no: org.no, ...orgFixture('org-a') });
    assert.deepEqual(await store.read((tx) => tx.getOrg('org-a')), org);
    assert.deepEqual(await store.read((tx) => tx.getOrgByNo(org.no)), org);
    assert.equal(await store.read((tx) => tx.getOrg('org-missing')), undefined);
    await rejectsWithCode(
      store.transaction((tx) => tx.insertOrg(orgFixture('org-a'))),
      'duplicate',
    );
    const changed: OrgRow = { ...org, ucEnabled: false, ucMonthlyLimitUnits: null, seatTierLimitsUnits: {} };
    await store.transaction((tx) => tx.saveOrg(changed));
    assert.deepEqual(await store.read((tx) => tx.getOrg('org-a')), changed);
  });

  it('inserts and reads accounts; a taken account id is a duplicate; members list by org', async (store) => {
    const org = await store.transaction((tx) => tx.insertOrg(orgFixture('org-m')));
    const a = await insertAccount(store, 'acct-a');
    const m2 = await insertAccount(store, 'acct-m2', { orgNo: org.no, orgId: 'org-m', plan: 'team_premium' });
    const m1 = await insertAccount(store, 'acct-m1', {
      orgNo: org.no,
      orgId: 'org-m',
      plan: 'team_standard',
    });
    assert.notEqual(a.no, m1.no);
    assert.deepEqual(a, { no: a.no, ...accountFixture('acct-a') });
    const agg = await store.read((tx) => tx.getAccount('acct-a'));
    assert.ok(agg);
    assert.deepEqual(aggregateView(agg), { account: a, cycles: [], holds: [], apps: [], appSpend: [] });
    assert.equal(await store.read((tx) => tx.getAccount('acct-missing')), undefined);
    assert.equal(await store.transaction((tx) => tx.lockAccount('acct-missing')), undefined);
    await rejectsWithCode(insertAccount(store, 'acct-a'), 'duplicate');
    const members = await store.read((tx) => tx.listOrgMembers(org.no));
    assert.deepEqual(
      members.sort((x, y) => (x.id < y.id ? -1 : 1)),
      [m1, m2],
    );
  });

  it('saving a row that does not exist is not_found', async (store) => {
    const a = await insertAccount(store, 'acct-a');
    await rejectsWithCode(
      store.transaction((tx) => tx.saveAccount({ ...a, no: a.no + 1000, id: 'acct-ghost' })),
      'not_found',
    );
    await rejectsWithCode(
      store.transaction((tx) => tx.saveOrg({ no: 4242, ...orgFixture('org-ghost') })),
      'not_found',
    );
  });

  it('lockAccount returns open cycles, active holds, apps and app spend exactly as saved', async (store) => {
    const a = await insertAccount(store, 'acct-a', { claimedAt: anchor + 10, claimEffectiveAt: anchor + 10 });
    const closed = cycleFixture(a.no, cycle0Start, 0, { closed: true, expiredUnits: 7n });
    const open1 = cycleFixture(a.no, cycle1Start, 1, {
      creditUsedUnits: 12_345n,
      exhaustedAt: cycle1Start + 99,
    });
    const active = holdFixture(a.no, 'h-active', { app: 'cursor', model: 'claude-opus-4-1' });
    const settled = holdFixture(a.no, 'h-settled', { status: 'settled', settledRecordId: 'rec-9' });
    const app: AppPolicyRow = {
      accountNo: a.no,
      app: 'cursor',
      cycleCapUnits: 10_000_000_000_000n,
      blocked: false,
    };
    const blocked: AppPolicyRow = { accountNo: a.no, app: 'cline', cycleCapUnits: null, blocked: true };
    await store.transaction(async (tx) => {
      await tx.saveCycle(closed);
      await tx.saveCycle(open1);
      await tx.putHold(active);
      await tx.putHold(settled);
      await tx.saveApp(app);
      await tx.saveApp(blocked);
      await tx.addDims(a.no, cycle0Start, [{ dim: 'app', key: 'cursor', costUnits: 1n }]);
      await tx.addDims(a.no, cycle1Start, [
        { dim: 'app', key: 'cursor', costUnits: 300n },
        { dim: 'surface', key: 'sdk-ts', costUnits: 300n },
        { dim: 'model', key: 'claude-opus-4-1', costUnits: 300n },
        { dim: 'app', key: 'cline', costUnits: 5n },
      ]);
    });
    const expected = {
      account: a,
      cycles: [[cycle1Start, open1]],
      holds: [['h-active', active]],
      apps: [
        ['cline', blocked],
        ['cursor', app],
      ],
      appSpend: [
        [
          cycle1Start,
          [
            ['cline', 5n],
            ['cursor', 300n],
          ],
        ],
      ],
    };
    const locked = await store.transaction(async (tx) => tx.lockAccount('acct-a'));
    assert.ok(locked);
    assert.deepEqual(aggregateView(locked), expected);
    const read = await store.read((tx) => tx.getAccount('acct-a'));
    assert.ok(read);
    assert.deepEqual(aggregateView(read), expected);
    assert.deepEqual(await store.read((tx) => tx.getHold(a.no, 'h-settled')), settled);
    assert.equal(await store.read((tx) => tx.getHold(a.no, 'h-none')), undefined);
    assert.deepEqual(await store.read((tx) => tx.listCycles(a.no)), [closed, open1]);
    assert.deepEqual(await store.read((tx) => tx.getCycle(a.no, cycle0Start)), closed);
    assert.equal(await store.read((tx) => tx.getCycle(a.no, cycle2Start)), undefined);
  });

  it('an aggregate kept in step by its callers reads back the same across transactions', async (store) => {
    const a = await insertAccount(store, 'acct-a');
    await store.transaction((tx) => tx.saveCycle(cycleFixture(a.no, cycle1Start, 1)));
    for (let round = 0; round < 3; round++) {
      await store.transaction(async (tx) => {
        const agg = await tx.lockAccount('acct-a');
        assert.ok(agg);
        const cycle = agg.cycles.get(cycle1Start);
        assert.ok(cycle);
        cycle.creditUsedUnits += 10n;
        agg.account.nextSeq += 1;
        agg.account.nextRollAt = cycle1Start + round;
        const hold = holdFixture(a.no, `h-${round}`);
        agg.holds.set(hold.id, hold);
        const previous = agg.holds.get(`h-${round - 1}`);
        if (previous) {
          previous.status = 'voided';
          agg.holds.delete(previous.id);
          await tx.putHold(previous);
        }
        const spend = agg.appSpend.get(cycle1Start) ?? new Map<string, bigint>();
        spend.set('cursor', (spend.get('cursor') ?? 0n) + 4n);
        agg.appSpend.set(cycle1Start, spend);
        await tx.saveCycle(cycle);
        await tx.putHold(hold);
        await tx.addDims(a.no, cycle1Start, [{ dim: 'app', key: 'cursor', costUnits: 4n }]);
        await tx.saveAccount(agg.account);
      });
    }
    const locked = await store.transaction(async (tx) => tx.lockAccount('acct-a'));
    const read = await store.read((tx) => tx.getAccount('acct-a'));
    assert.ok(locked && read);
    assert.deepEqual(aggregateView(locked), aggregateView(read));
    assert.equal(read.cycles.get(cycle1Start)?.creditUsedUnits, 30n);
    assert.equal(read.account.nextSeq, 4);
    assert.deepEqual([...read.holds.keys()], ['h-2']);
    assert.equal(read.appSpend.get(cycle1Start)?.get('cursor'), 12n);
  });

  it('bigint amounts round-trip exactly, including int64 extremes and negatives', async (store) => {
    const org = await store.transaction((tx) =>
      tx.insertOrg(
        orgFixture('org-big', {
          ucMonthlyLimitUnits: int64Max,
          seatTierLimitsUnits: { a: int64Max, b: int64Min, c: 0n, d: -1n },
        }),
      ),
    );
    assert.deepEqual(await store.read((tx) => tx.getOrg('org-big')), org);
    const a = await insertAccount(store, 'acct-big', {
      ucMonthlyLimitUnits: 9_000_000_000_000_000_001n,
      memberLimitUnits: -9_000_000_000_000_000_001n,
      sessionUsedUnits: int64Max,
      weekUsedUnits: int64Min,
    });
    const cycle = cycleFixture(a.no, cycle1Start, 1, {
      grantedUnits: int64Max,
      creditUsedUnits: int64Min,
      expiredUnits: -1n,
      creditAdjustedUnits: 9_007_199_254_740_993n, // 2^53 + 1: not representable as a double
      ucChargedUnits: -9_007_199_254_740_993n,
      writtenOffUnits: 1n,
      subscriptionUnits: 8_999_999_999_999_999_999n,
      paygUnits: -8_999_999_999_999_999_999n,
      creditHeldUnits: int64Max - 1n,
      ucHeldUnits: int64Min + 1n,
    });
    const posting = postingFixture(a.no, 1, {
      creditUnits: int64Min,
      ucUnits: int64Max,
      subscriptionUnits: -9_007_199_254_740_993n,
      writtenOffUnits: 9_007_199_254_740_993n,
      paygUnits: -1n,
      costUnits: 9_000_000_000_000_000_000n,
    });
    const hold = holdFixture(a.no, 'h-big', { creditUnits: int64Max, ucUnits: int64Min, estimateUnits: -5n });
    const app: AppPolicyRow = { accountNo: a.no, app: 'x', cycleCapUnits: int64Max, blocked: false };
    await store.transaction(async (tx) => {
      await tx.saveCycle(cycle);
      await tx.append([posting]);
      await tx.putHold(hold);
      await tx.saveApp(app);
      await tx.addDims(a.no, cycle1Start, [
        { dim: 'app', key: 'x', costUnits: int64Max },
        { dim: 'model', key: 'm', costUnits: int64Min },
      ]);
      const orgCycle = await tx.lockOrgCycle(org.no, cycle1Start);
      await tx.saveOrgCycle({ ...orgCycle, ucSpentUnits: int64Max, ucHeldUnits: int64Min });
    });
    assert.deepEqual(await store.read((tx) => tx.getAccount('acct-big').then((g) => g?.account)), a);
    assert.deepEqual(await store.read((tx) => tx.getCycle(a.no, cycle1Start)), cycle);
    assert.deepEqual(await store.read((tx) => tx.listPostings(a.no, { limit: 10 })), [posting]);
    assert.deepEqual(await store.read((tx) => tx.getHold(a.no, 'h-big')), hold);
    assert.deepEqual(sortDims(await store.read((tx) => tx.getDims(a.no, cycle1Start))), [
      { dim: 'app', key: 'x', costUnits: int64Max },
      { dim: 'model', key: 'm', costUnits: int64Min },
    ]);
    assert.deepEqual(await store.read((tx) => tx.getOrgCycle(org.no, cycle1Start)), {
      orgNo: org.no,
      cycleStart: cycle1Start,
      ucSpentUnits: int64Max,
      ucHeldUnits: int64Min,
    });
    const locked = await store.transaction((tx) => tx.lockAccount('acct-big'));
    assert.deepEqual(locked?.appSpend.get(cycle1Start)?.get('x'), int64Max);
    assert.deepEqual(locked?.apps.get('x'), app);
  });

  it('appends postings and lists them by seq and by cycle, in pages', async (store) => {
    const a = await insertAccount(store, 'acct-a');
    const b = await insertAccount(store, 'acct-b');
    const postings: PostingRow[] = [];
    for (let seq = 1; seq <= 25; seq++) {
      postings.push(
        postingFixture(a.no, seq, {
          cycleStart: seq % 3 === 0 ? cycle2Start : cycle1Start,
          idem: seq % 5 === 0 ? null : `u:rec-${seq}`,
          hash: seq % 5 === 0 ? null : `hash-${seq}`,
          kind: seq % 5 === 0 ? 'grant' : 'usage',
          corrects: seq === 24 ? 3 : null,
          note: seq === 24 ? 'reverses 3' : null,
          app: seq % 2 === 0 ? 'cursor' : null,
          usageClass: seq % 5 === 0 ? null : 'programmatic',
        }),
      );
    }
    await store.transaction((tx) => tx.append(postings.slice(0, 10)));
    await store.transaction(async (tx) => {
      await tx.append(postings.slice(10));
      await tx.append([postingFixture(b.no, 1)]);
    });
    const all = await store.read((tx) => tx.listPostings(a.no, { limit: 100 }));
    assert.deepEqual(all, postings);
    const pages: PostingRow[][] = [];
    let afterSeq: number | undefined;
    for (;;) {
      const after = afterSeq;
      const page = await store.read((tx) =>
        tx.listPostings(a.no, after === undefined ? { limit: 10 } : { afterSeq: after, limit: 10 }),
      );
      if (page.length === 0) break;
      pages.push(page);
      afterSeq = page[page.length - 1]!.seq;
    }
    assert.deepEqual(
      pages.map((p) => p.length),
      [10, 10, 5],
    );
    assert.deepEqual(pages.flat(), postings);
    const inCycle2 = postings.filter((p) => p.cycleStart === cycle2Start);
    assert.deepEqual(
      await store.read((tx) => tx.listPostings(a.no, { cycleStart: cycle2Start, limit: 100 })),
      inCycle2,
    );
    assert.deepEqual(
      await store.read((tx) => tx.listPostings(a.no, { cycleStart: cycle2Start, afterSeq: 9, limit: 3 })),
      inCycle2.filter((p) => p.seq > 9).slice(0, 3),
    );
    assert.deepEqual(await store.read((tx) => tx.listPostings(b.no, { limit: 10 })), [
      postingFixture(b.no, 1),
    ]);
    const found = await store.read((tx) =>
      tx.findPostings(a.no, ['u:rec-4', 'u:rec-5', 'u:rec-nope', 'u:rec-21']),
    );
    assert.deepEqual([...found.keys()].sort(), ['u:rec-21', 'u:rec-4']);
    assert.deepEqual(found.get('u:rec-4'), postings[3]);
    assert.equal((await store.read((tx) => tx.findPostings(b.no, ['u:rec-4']))).size, 0);
    assert.equal((await store.read((tx) => tx.findPostings(a.no, []))).size, 0);
    // Inside a transaction, reads see the transaction's own appends.
    await store.transaction(async (tx) => {
      await tx.append([postingFixture(a.no, 26, { idem: 'u:rec-26' })]);
      assert.equal((await tx.findPostings(a.no, ['u:rec-26'])).size, 1);
      assert.equal((await tx.listPostings(a.no, { afterSeq: 25, limit: 5 })).length, 1);
    });
  });

  it('(account, seq) and (account, idem) are unique; the failing transaction leaves nothing', async (store) => {
    const a = await insertAccount(store, 'acct-a');
    const b = await insertAccount(store, 'acct-b');
    await store.transaction((tx) => tx.append([postingFixture(a.no, 1), postingFixture(a.no, 2)]));
    await rejectsWithCode(
      store.transaction((tx) =>
        tx.append([postingFixture(a.no, 3), postingFixture(a.no, 2, { idem: 'u:other' })]),
      ),
      'duplicate',
    );
    await rejectsWithCode(
      store.transaction((tx) => tx.append([postingFixture(a.no, 3, { idem: 'u:rec-1' })])),
      'duplicate',
    );
    // Same seq and idem on another account, and many postings without idem, are fine.
    await store.transaction((tx) =>
      tx.append([
        postingFixture(b.no, 1),
        postingFixture(b.no, 2, { idem: null, hash: null, kind: 'grant' }),
        postingFixture(b.no, 3, { idem: null, hash: null, kind: 'expire' }),
      ]),
    );
    const listed = await store.read((tx) => tx.listPostings(a.no, { limit: 10 }));
    assert.deepEqual(
      listed.map((p) => p.seq),
      [1, 2],
    );
    assert.equal((await store.read((tx) => tx.listPostings(b.no, { limit: 10 }))).length, 3);
  });

  it('a rejected transaction leaves nothing, and the next lockAccount sees the state before it', async (store) => {
    const a = await insertAccount(store, 'acct-a', { ucEnabled: true });
    const open1 = cycleFixture(a.no, cycle1Start, 1);
    await store.transaction(async (tx) => {
      const agg = await tx.lockAccount('acct-a');
      assert.ok(agg);
      agg.cycles.set(open1.start, open1);
      await tx.saveCycle(open1);
    });
    const before = await store.transaction(async (tx) => {
      const agg = await tx.lockAccount('acct-a');
      assert.ok(agg);
      return structuredClone(aggregateView(agg));
    });
    const boom = new Boom('use case failed after writing');
    await assert.rejects(
      store.transaction(async (tx) => {
        const agg = await tx.lockAccount('acct-a');
        assert.ok(agg);
        const cycle = agg.cycles.get(cycle1Start)!;
        cycle.creditUsedUnits += 1_000n;
        agg.account.nextSeq = 2;
        agg.account.ucEnabled = false;
        const hold = holdFixture(a.no, 'h-1');
        agg.holds.set(hold.id, hold);
        agg.apps.set('cursor', { accountNo: a.no, app: 'cursor', cycleCapUnits: 1n, blocked: true });
        agg.appSpend.set(cycle1Start, new Map([['cursor', 1_000n]]));
        agg.cycles.set(cycle2Start, cycleFixture(a.no, cycle2Start, 2));
        await tx.saveCycle(cycle);
        await tx.saveCycle(agg.cycles.get(cycle2Start)!);
        await tx.putHold(hold);
        await tx.saveApp(agg.apps.get('cursor')!);
        await tx.append([postingFixture(a.no, 1, { app: 'cursor' })]);
        await tx.addDims(a.no, cycle1Start, [{ dim: 'app', key: 'cursor', costUnits: 1_000n }]);
        await tx.saveAccount(agg.account);
        await tx.insertToken({
          hash: 'tok-1',
          role: 'account',
          accountId: 'acct-a',
          orgId: null,
          createdAt: 1,
        });
        await tx.insertAccount(accountFixture('acct-new'));
        await tx.insertOrg(orgFixture('org-new'));
        throw boom;
      }),
      (error) => error === boom,
    );
    const after = await store.transaction(async (tx) => {
      const agg = await tx.lockAccount('acct-a');
      assert.ok(agg);
      return structuredClone(aggregateView(agg));
    });
    assert.deepEqual(after, before);
    const read = await store.read((tx) => tx.getAccount('acct-a'));
    assert.ok(read);
    assert.deepEqual(aggregateView(read), before);
    assert.deepEqual(await store.read((tx) => tx.listPostings(a.no, { limit: 10 })), []);
    assert.deepEqual(await store.read((tx) => tx.getDims(a.no, cycle1Start)), []);
    assert.equal(await store.read((tx) => tx.getCycle(a.no, cycle2Start)), undefined);
    assert.equal(await store.read((tx) => tx.findToken('tok-1')), undefined);
    assert.equal(await store.read((tx) => tx.getAccount('acct-new')), undefined);
    assert.equal(await store.read((tx) => tx.getOrg('org-new')), undefined);
    // The id the failed transaction took is free again.
    await store.transaction((tx) => tx.insertAccount(accountFixture('acct-new')));
  });

  it('50 concurrent transactions where every 7th throws: exactly the others persist', async (store) => {
    const a = await insertAccount(store, 'acct-a');
    const count = 50;
    const outcomes = await Promise.allSettled(
      Array.from({ length: count }, (_, i) =>
        store.transaction(async (tx) => {
          const agg = await tx.lockAccount('acct-a');
          assert.ok(agg);
          // A counter every transaction bumps: a failed one must not leave its bump in any cache.
          agg.account.sessionUsedUnits += 1n;
          await tx.saveAccount(agg.account);
          await tx.append([postingFixture(a.no, i + 1, { idem: `u:c-${i}` })]);
          await tx.addDims(a.no, cycle1Start, [{ dim: 'surface', key: 'sdk-ts', costUnits: 1n }]);
          if (i % 7 === 0) throw new Boom(`tx ${i}`);
          return i;
        }),
      ),
    );
    const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
    assert.deepEqual(failed, [0, 7, 14, 21, 28, 35, 42, 49]);
    for (const [i, o] of outcomes.entries()) {
      if (o.status === 'fulfilled') assert.equal(o.value, i);
      else assert.ok(o.reason instanceof Boom);
    }
    const succeeded = count - failed.length;
    const postings = await store.read((tx) => tx.listPostings(a.no, { limit: 100 }));
    assert.deepEqual(
      postings.map((p) => p.seq),
      Array.from({ length: count }, (_, i) => i + 1).filter((seq) => (seq - 1) % 7 !== 0),
    );
    assert.deepEqual(await store.read((tx) => tx.getDims(a.no, cycle1Start)), [
      { dim: 'surface', key: 'sdk-ts', costUnits: BigInt(succeeded) },
    ]);
    const locked = await store.transaction((tx) => tx.lockAccount('acct-a'));
    assert.equal(locked?.account.sessionUsedUnits, BigInt(succeeded));
    const read = await store.read((tx) => tx.getAccount('acct-a'));
    assert.equal(read?.account.sessionUsedUnits, BigInt(succeeded));
  });

  it('dims accumulate per (cycle, dim, key)', async (store) => {
    const a = await insertAccount(store, 'acct-a');
    await store.transaction((tx) =>
      tx.addDims(a.no, cycle1Start, [
        { dim: 'surface', key: 'sdk-ts', costUnits: 5n },
        { dim: 'surface', key: 'sdk-ts', costUnits: 6n },
        { dim: 'model', key: 'claude-haiku-4-5', costUnits: 1n },
      ]),
    );
    await store.transaction(async (tx) => {
      await tx.addDims(a.no, cycle1Start, [
        { dim: 'surface', key: 'sdk-ts', costUnits: -2n },
        { dim: 'app', key: 'cursor', costUnits: 4n },
      ]);
      await tx.addDims(a.no, cycle2Start, [{ dim: 'surface', key: 'sdk-ts', costUnits: 100n }]);
      await tx.addDims(a.no, cycle2Start, []);
    });
    assert.deepEqual(sortDims(await store.read((tx) => tx.getDims(a.no, cycle1Start))), [
      { dim: 'app', key: 'cursor', costUnits: 4n },
      { dim: 'model', key: 'claude-haiku-4-5', costUnits: 1n },
      { dim: 'surface', key: 'sdk-ts', costUnits: 9n },
    ]);
    assert.deepEqual(await store.read((tx) => tx.getDims(a.no, cycle2Start)), [
      { dim: 'surface', key: 'sdk-ts', costUnits: 100n },
    ]);
    assert.deepEqual(await store.read((tx) => tx.getDims(a.no, cycle0Start)), []);
  });

  it('org cycle counters: lock creates at zero, save, lock again', async (store) => {
    const org = await store.transaction((tx) => tx.insertOrg(orgFixture('org-a')));
    assert.equal(await store.read((tx) => tx.getOrgCycle(org.no, cycle1Start)), undefined);
    const created = await store.transaction((tx) => tx.lockOrgCycle(org.no, cycle1Start));
    assert.deepEqual(created, { orgNo: org.no, cycleStart: cycle1Start, ucSpentUnits: 0n, ucHeldUnits: 0n });
    await store.transaction(async (tx) => {
      const row = await tx.lockOrgCycle(org.no, cycle1Start);
      row.ucSpentUnits += 70n;
      row.ucHeldUnits += 3n;
      await tx.saveOrgCycle(row);
    });
    await assert.rejects(
      store.transaction(async (tx) => {
        const row = await tx.lockOrgCycle(org.no, cycle1Start);
        row.ucSpentUnits += 1_000n;
        await tx.saveOrgCycle(row);
        throw new Boom('after saving');
      }),
      Boom,
    );
    const saved = { orgNo: org.no, cycleStart: cycle1Start, ucSpentUnits: 70n, ucHeldUnits: 3n };
    assert.deepEqual(await store.transaction((tx) => tx.lockOrgCycle(org.no, cycle1Start)), saved);
    assert.deepEqual(await store.read((tx) => tx.getOrgCycle(org.no, cycle1Start)), saved);
    assert.equal(await store.read((tx) => tx.getOrgCycle(org.no, cycle2Start)), undefined);
  });

  it('tokens: insert, find, a taken hash is a duplicate', async (store) => {
    const admin: TokenRow = {
      hash: 'a'.repeat(64),
      role: 'admin',
      accountId: null,
      orgId: null,
      createdAt: anchor,
    };
    const member: TokenRow = {
      hash: 'b'.repeat(64),
      role: 'account',
      accountId: 'acct-a',
      orgId: 'org-a',
      createdAt: anchor + 1,
    };
    await store.transaction(async (tx) => {
      await tx.insertToken(admin);
      await tx.insertToken(member);
    });
    assert.deepEqual(await store.read((tx) => tx.findToken(admin.hash)), admin);
    assert.deepEqual(await store.read((tx) => tx.findToken(member.hash)), member);
    assert.equal(await store.read((tx) => tx.findToken('c'.repeat(64))), undefined);
    await rejectsWithCode(
      store.transaction((tx) => tx.insertToken({ ...admin, role: 'meter' })),
      'duplicate',
    );
  });

  it('listAccountsDue returns the accounts whose nextRollAt has come, at most limit', async (store) => {
    const now = cycle1Start;
    await insertAccount(store, 'acct-none');
    await insertAccount(store, 'acct-past', { nextRollAt: now - 10 });
    await insertAccount(store, 'acct-now', { nextRollAt: now });
    await insertAccount(store, 'acct-future', { nextRollAt: now + 1 });
    const later = await insertAccount(store, 'acct-later');
    assert.deepEqual((await store.read((tx) => tx.listAccountsDue(now, 10))).sort(), [
      'acct-now',
      'acct-past',
    ]);
    assert.equal((await store.read((tx) => tx.listAccountsDue(now, 1))).length, 1);
    await store.transaction(async (tx) => {
      const agg = await tx.lockAccount('acct-later');
      assert.ok(agg);
      agg.account.nextRollAt = now - 100;
      await tx.saveAccount(agg.account);
    });
    assert.equal(later.nextRollAt, null);
    assert.deepEqual((await store.read((tx) => tx.listAccountsDue(now, 10))).sort(), [
      'acct-later',
      'acct-now',
      'acct-past',
    ]);
    assert.deepEqual(await store.read((tx) => tx.listAccountsDue(now - 1000, 10)), []);
  });

  it('findHoldAccounts lists the accounts holding a hold id, ascending, at most limit', async (store) => {
    const a = await insertAccount(store, 'acct-a');
    const b = await insertAccount(store, 'acct-b');
    const c = await insertAccount(store, 'acct-c');
    await store.transaction(async (tx) => {
      await tx.putHold(holdFixture(c.no, 'h-shared'));
      await tx.putHold(holdFixture(a.no, 'h-shared', { status: 'settled' }));
      await tx.putHold(holdFixture(b.no, 'h-own'));
    });
    assert.deepEqual(await store.read((tx) => tx.findHoldAccounts('h-shared', 10)), ['acct-a', 'acct-c']);
    assert.deepEqual(await store.read((tx) => tx.findHoldAccounts('h-shared', 1)), ['acct-a']);
    assert.deepEqual(await store.read((tx) => tx.findHoldAccounts('h-own', 10)), ['acct-b']);
    assert.deepEqual(await store.read((tx) => tx.findHoldAccounts('h-none', 10)), []);
    // putHold updates in place.
    const updated = holdFixture(b.no, 'h-own', { status: 'settled', settledRecordId: 'rec-1', ucUnits: 5n });
    await store.transaction((tx) => tx.putHold(updated));
    assert.deepEqual(await store.read((tx) => tx.getHold(b.no, 'h-own')), updated);
  });

  it('listAccountIds pages in ascending id order', async (store) => {
    const ids = Array.from({ length: 23 }, (_, i) => `acct-${String(i).padStart(3, '0')}`);
    for (const id of [...ids].reverse()) await insertAccount(store, id);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const from: string | null = after;
      const page: string[] = await store.read((tx) => tx.listAccountIds(from, 10));
      if (page.length === 0) break;
      assert.ok(page.length <= 10);
      seen.push(...page);
      after = page[page.length - 1]!;
    }
    assert.deepEqual(seen, ids);
    assert.deepEqual(await store.read((tx) => tx.listAccountIds('acct-020', 10)), ['acct-021', 'acct-022']);
  });

  it('a transaction resolves with its value; a read passes errors through', async (store) => {
    assert.equal(await store.transaction(async () => 42), 42);
    await assert.rejects(
      store.read(async () => {
        throw new Boom('read failed');
      }),
      Boom,
    );
    assert.equal(await store.read(async (tx) => (await tx.listAccountIds(null, 5)).length), 0);
  });
}
