/**
 * The shared Store contract on PostgreSQL, plus what only a shared server can show: concurrent
 * openers migrating at once, several pools (processes) locking the same rows, collision retries,
 * and recovery after the server drops every connection.
 *
 * Every store gets its own throwaway database (`cp_test_<run>_<n>`), dropped afterwards. The
 * server comes from CREDITPOOL_TEST_DATABASE_URL (default: the local `test` database); if it
 * cannot be reached the tests fail, never skip: CI starts PostgreSQL, and a skip would hide a
 * broken setup.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import postgres from 'postgres';
import type { AccountAggregate } from '../../../app/model.ts';
import { isStoreError, StoreError } from '../../../app/store-error.ts';
import { outboxContract } from '../outbox.contract.ts';
import {
  accountFixture,
  cycleFixture,
  holdFixture,
  orgFixture,
  postingFixture,
  storeContract,
} from '../store.contract.ts';
import { transactionAttemptsMax } from './errors.ts';
import { migrations } from './migrations.ts';
import { openPostgresStore, type PostgresStore } from './postgres-store.ts';

const adminUrl = process.env.CREDITPOOL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const runId = randomBytes(4).toString('hex');
let admin: postgres.Sql;
let databaseCount = 0;
const created = new Set<string>();

function urlOf(database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

before(async () => {
  admin = postgres(adminUrl, { max: 2, onnotice: () => {}, connect_timeout: 5 });
  try {
    await admin`SELECT 1`;
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${adminUrl} (set CREDITPOOL_TEST_DATABASE_URL): ${String(error)}`,
    );
  }
});

after(async () => {
  // Drops whatever a failed test left behind, then checks nothing of this run survives.
  for (const name of created) await dropDatabase(name);
  const left = await admin`SELECT datname FROM pg_database WHERE datname LIKE ${`cp_test_${runId}_%`}`;
  await admin.end();
  assert.deepEqual([...left], [], 'databases of this run left behind');
});

async function createDatabase(): Promise<string> {
  const name = `cp_test_${runId}_${++databaseCount}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  created.add(name);
  return name;
}

async function dropDatabase(name: string): Promise<void> {
  await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  created.delete(name);
}

async function freshStore(options: { max?: number } = {}) {
  const database = await createDatabase();
  const store = await openPostgresStore({ url: urlOf(database), ...options });
  return {
    store,
    database,
    cleanup: async () => {
      await store.close();
      await dropDatabase(database);
    },
  };
}

storeContract('postgres', freshStore);
outboxContract('postgres', freshStore);

/** Runs `body` with a fresh database and always drops it. */
async function withDatabase(body: (database: string) => Promise<void>): Promise<void> {
  const database = await createDatabase();
  try {
    await body(database);
  } finally {
    await dropDatabase(database);
  }
}

test('postgres store: openers racing at start apply each migration once', async () => {
  await withDatabase(async (database) => {
    const stores = await Promise.all(
      Array.from({ length: 6 }, () => openPostgresStore({ url: urlOf(database), max: 2 })),
    );
    try {
      const db = postgres(urlOf(database), { max: 1, onnotice: () => {} });
      const rows = await db`SELECT version FROM schema_migrations ORDER BY version`;
      await db.end();
      assert.deepEqual(
        rows.map((r) => r.version),
        migrations.map((m) => m.version),
      );
      // A later open finds nothing to do.
      const again = await openPostgresStore({ url: urlOf(database) });
      await again.close();
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

test('postgres store: money is int8, instants stay exact JS numbers', async () => {
  const { store, database, cleanup } = await freshStore();
  try {
    const big = 9_007_199_254_740_993n; // 2^53 + 1
    const at = Date.UTC(2999, 11, 31, 23, 59, 59, 999);
    const a = await store.transaction((tx) =>
      tx.insertAccount(accountFixture('acct-a', { sessionUsedUnits: big, nextRollAt: at, createdAt: 1 })),
    );
    const db = postgres(urlOf(database), { max: 1, onnotice: () => {} });
    const [types] =
      await db`SELECT pg_typeof(session_used_units)::text AS money, pg_typeof(next_roll_at)::text AS at,
      session_used_units::text AS units FROM accounts WHERE no = ${a.no}`;
    await db.end();
    assert.deepEqual({ ...types }, { money: 'bigint', at: 'bigint', units: big.toString() });
    const read = await store.read((tx) => tx.getAccount('acct-a'));
    assert.equal(read?.account.sessionUsedUnits, big);
    assert.equal(read?.account.nextRollAt, at);
    assert.equal(typeof read?.account.no, 'number');
  } finally {
    await cleanup();
  }
});

test('postgres store: two pools (two processes) serialize on the account row lock', async () => {
  const { store: first, database, cleanup } = await freshStore({ max: 4 });
  const second = await openPostgresStore({ url: urlOf(database), max: 4 });
  try {
    const org = await first.transaction((tx) => tx.insertOrg(orgFixture('org-a')));
    const a = await first.transaction((tx) =>
      tx.insertAccount(accountFixture('acct-a', { orgNo: org.no, orgId: org.id })),
    );
    await first.transaction((tx) => tx.saveCycle(cycleFixture(a.no, a.billingAnchor, 0)));
    const perStore = 40;
    const bump = (store: PostgresStore, i: number) =>
      store.transaction(async (tx) => {
        // The documented order: the org's counter first, then the account.
        const counter = await tx.lockOrgCycle(org.no, a.billingAnchor);
        const agg = await tx.lockAccount('acct-a');
        assert.ok(agg);
        const cycle = agg.cycles.get(a.billingAnchor)!;
        cycle.creditUsedUnits += 1n;
        counter.ucSpentUnits += 2n;
        agg.account.nextSeq += 1;
        await tx.append([
          {
            accountNo: a.no,
            seq: agg.account.nextSeq - 1,
            at: a.billingAnchor + i,
            cycleStart: a.billingAnchor,
            kind: 'adjustment',
            idem: `a:${store === first ? 'p1' : 'p2'}-${i}`,
            hash: 'h',
            corrects: null,
            creditUnits: 1n,
            ucUnits: 0n,
            subscriptionUnits: 0n,
            writtenOffUnits: 0n,
            paygUnits: 0n,
            costUnits: 0n,
            usageClass: null,
            surface: null,
            app: null,
            model: null,
            note: null,
            recordedAt: 1,
          },
        ]);
        await tx.saveCycle(cycle);
        await tx.saveOrgCycle(counter);
        await tx.saveAccount(agg.account);
      });
    await Promise.all(Array.from({ length: perStore }, (_, i) => [bump(first, i), bump(second, i)]).flat());
    const total = BigInt(2 * perStore);
    assert.equal((await second.read((tx) => tx.getCycle(a.no, a.billingAnchor)))?.creditUsedUnits, total);
    assert.equal(
      (await first.read((tx) => tx.getOrgCycle(org.no, a.billingAnchor)))?.ucSpentUnits,
      2n * total,
    );
    const postings = await first.read((tx) => tx.listPostings(a.no, { limit: 1000 }));
    assert.deepEqual(
      postings.map((p) => p.seq),
      Array.from({ length: 2 * perStore }, (_, i) => i + 1),
    );
  } finally {
    await second.close();
    await cleanup();
  }
});

test('postgres store: a pipelined write that fails fails its transaction with its own error, and nothing of it stays', async () => {
  const { store, cleanup } = await freshStore();
  try {
    const a = await store.transaction((tx) => tx.insertAccount(accountFixture('acct-a')));
    await store.transaction((tx) => tx.append([postingFixture(a.no, 1, { idem: 'u:r1' })]));
    // The duplicate append returns at once; the read after it reports the duplicate, not the
    // "transaction is aborted" error PostgreSQL gives every statement after a failed one.
    await assert.rejects(
      store.transaction(async (tx) => {
        const agg = await tx.lockAccount('acct-a');
        agg!.account.nextSeq = 3;
        await tx.saveAccount(agg!.account);
        await tx.append([postingFixture(a.no, 2, { idem: 'u:r1' })]);
        await tx.getCycle(a.no, a.billingAnchor);
      }),
      (error: unknown) => isStoreError(error, 'duplicate'),
    );
    // A failing write that nothing reads after: the transaction rejects instead of committing
    // (PostgreSQL would answer that COMMIT with a silent ROLLBACK).
    let returned = false;
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.saveAccount({ ...a, no: a.no + 1000, id: 'acct-ghost' });
        await tx.append([postingFixture(a.no, 2, { idem: 'u:r2' })]);
        returned = true;
      }),
      (error: unknown) => isStoreError(error, 'not_found'),
    );
    assert.equal(returned, true, 'the writes returned before their answers came');
    const postings = await store.read((tx) => tx.listPostings(a.no, { limit: 10 }));
    assert.deepEqual(
      postings.map((p) => p.idem),
      ['u:r1'],
    );
    assert.equal((await store.read((tx) => tx.getAccount('acct-a')))?.account.nextSeq, a.nextSeq);
  } finally {
    await cleanup();
  }
});

test('postgres store: loads issued together answer exactly as one-by-one calls, and locks taken together never deadlock', async () => {
  const { store, database, cleanup } = await freshStore({ max: 4 });
  const second = await openPostgresStore({ url: urlOf(database), max: 4 });
  try {
    const ids = ['acct-c', 'acct-a', 'acct-b'];
    const rows = await store.transaction(async (tx) =>
      Promise.all(ids.map((id) => tx.insertAccount(accountFixture(id)))),
    );
    const anchor = rows[0]!.billingAnchor;
    await store.transaction(async (tx) => {
      for (const [i, a] of rows.entries()) {
        await tx.saveCycle(cycleFixture(a.no, anchor, 0, { creditUsedUnits: BigInt(i + 1) }));
        await tx.putHold(holdFixture(a.no, `h-${i}`, { cycleStart: anchor }));
        await tx.saveApp({ accountNo: a.no, app: `app-${i}`, cycleCapUnits: null, blocked: i === 1 });
        await tx.append([postingFixture(a.no, 1, { cycleStart: anchor, idem: `u:r-${i}` })]);
        await tx.addDims(a.no, anchor, [{ dim: 'app', key: `app-${i}`, costUnits: BigInt(10 * (i + 1)) }]);
      }
    });
    const wanted = [...ids, 'acct-missing'];
    const oneByOne = await store.transaction(async (tx) => {
      const out = [];
      for (const id of wanted) out.push(await tx.lockAccount(id));
      return out;
    });
    const together = await store.transaction((tx) => Promise.all(wanted.map((id) => tx.lockAccount(id))));
    assert.deepEqual(together, oneByOne);
    assert.equal(together[3], undefined);
    assert.deepEqual(await store.read((tx) => Promise.all(wanted.map((id) => tx.getAccount(id)))), oneByOne);
    // Idempotency lookups together, one account asked twice: each caller gets its own answer.
    const [a, b] = [rows[1]!, rows[2]!];
    const lookups: [number, string[]][] = [
      [a.no, ['u:r-1', 'u:none']],
      [b.no, ['u:r-2']],
      [a.no, ['u:r-1']],
      [b.no, ['u:r-1']],
    ];
    const separately = await store.read(async (tx) => {
      const out = [];
      for (const [no, idems] of lookups) out.push(await tx.findPostings(no, idems));
      return out;
    });
    const coalesced = await store.read((tx) =>
      Promise.all(lookups.map(([no, idems]) => tx.findPostings(no, idems))),
    );
    assert.deepEqual(coalesced, separately);
    assert.deepEqual([...coalesced[0]!.keys()], ['u:r-1']);
    assert.equal(coalesced[3]!.size, 0);
    // Two pools (two processes) locking the same accounts together, in opposite call orders: the
    // coalesced lock is taken in ascending id order, so they queue, never deadlock, and no update
    // is lost.
    const bump = (s: PostgresStore, order: string[]) =>
      s.transaction(async (tx) => {
        const aggs = await Promise.all(order.map((id) => tx.lockAccount(id)));
        for (const agg of aggs) {
          agg!.account.sessionUsedUnits += 1n;
          await tx.saveAccount(agg!.account);
        }
      });
    const rounds = 20;
    await Promise.all(
      Array.from({ length: rounds }, () => [bump(store, ids), bump(second, [...ids].reverse())]).flat(),
    );
    const after = await store.read((tx) => Promise.all(ids.map((id) => tx.getAccount(id))));
    for (const agg of after) assert.equal(agg?.account.sessionUsedUnits, BigInt(2 * rounds));
  } finally {
    await second.close();
    await cleanup();
  }
});

test('postgres store: peekAccount plans locks: the account row, and for org members their open cycles and active holds', async () => {
  const { store, cleanup } = await freshStore();
  try {
    const org = await store.transaction((tx) => tx.insertOrg(orgFixture('org-a')));
    const [member, solo] = await store.transaction((tx) =>
      Promise.all([
        tx.insertAccount(accountFixture('acct-m', { orgNo: org.no, orgId: org.id })),
        tx.insertAccount(accountFixture('acct-s')),
      ]),
    );
    await store.transaction(async (tx) => {
      for (const a of [member!, solo!]) {
        await tx.saveCycle(cycleFixture(a.no, a.billingAnchor, 0));
        await tx.putHold(holdFixture(a.no, 'h-1', { cycleStart: a.billingAnchor }));
      }
    });
    const [m, s, missing] = await store.read(async (tx) => {
      const peek = (tx as { peekAccount?(id: string): Promise<AccountAggregate | undefined> }).peekAccount!;
      return Promise.all(['acct-m', 'acct-s', 'acct-x'].map((id) => peek.call(tx, id)));
    });
    const full = await store.read((tx) => tx.getAccount('acct-m'));
    assert.deepEqual(m!.account, full!.account);
    assert.deepEqual(m!.cycles, full!.cycles);
    assert.deepEqual(m!.holds, full!.holds);
    assert.deepEqual(s!.account, (await store.read((tx) => tx.getAccount('acct-s')))!.account);
    assert.equal(s!.cycles.size + s!.holds.size, 0, 'outside an org there is nothing to plan');
    assert.equal(missing, undefined);
  } finally {
    await cleanup();
  }
});

test('postgres store: a deadlock (locks taken out of order) is retried and both transactions commit', async () => {
  const { store, cleanup } = await freshStore({ max: 4 });
  try {
    await store.transaction(async (tx) => {
      await tx.insertAccount(accountFixture('acct-a'));
      await tx.insertAccount(accountFixture('acct-b'));
    });
    let attempts = 0;
    let bothLockedFirst: () => void = () => {};
    const firstLocks = new Promise<void>((resolve) => {
      let n = 0;
      bothLockedFirst = () => {
        if (++n === 2) resolve();
      };
    });
    const crossed = (firstId: string, secondId: string) =>
      store.transaction(async (tx) => {
        attempts++;
        const one = await tx.lockAccount(firstId);
        bothLockedFirst();
        await firstLocks; // each holds one row and now asks for the other's: a deadlock
        const two = await tx.lockAccount(secondId);
        one!.account.sessionUsedUnits += 1n;
        two!.account.sessionUsedUnits += 1n;
        await tx.saveAccount(one!.account);
        await tx.saveAccount(two!.account);
      });
    await Promise.all([crossed('acct-a', 'acct-b'), crossed('acct-b', 'acct-a')]);
    assert.ok(attempts >= 3, `one transaction was re-run (attempts: ${attempts})`);
    const a = await store.read((tx) => tx.getAccount('acct-a'));
    const b = await store.read((tx) => tx.getAccount('acct-b'));
    assert.equal(a?.account.sessionUsedUnits, 2n);
    assert.equal(b?.account.sessionUsedUnits, 2n);
  } finally {
    await cleanup();
  }
});

test('postgres store: collisions that never stop end as conflict after the bounded attempts', async () => {
  const { store, cleanup } = await freshStore();
  try {
    let attempts = 0;
    await assert.rejects(
      store.transaction(async (tx) => {
        attempts++;
        await tx.insertOrg(orgFixture(`org-${attempts}`));
        throw Object.assign(new Error('could not serialize access'), { code: '40001' });
      }),
      (error: unknown) => isStoreError(error, 'conflict'),
    );
    assert.equal(attempts, transactionAttemptsMax);
    assert.equal(await store.read((tx) => tx.getOrg('org-1')), undefined);
  } finally {
    await cleanup();
  }
});

test('postgres store: after the server drops every connection, the pool recovers by itself', async () => {
  const { store, database, cleanup } = await freshStore({ max: 3 });
  const terminate = () =>
    admin`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE datname = ${database} AND pid <> pg_backend_pid()`;
  try {
    await store.transaction((tx) => tx.insertAccount(accountFixture('acct-a')));
    // Warm every pooled connection, then kill them all while idle.
    await Promise.all(Array.from({ length: 3 }, () => store.read((tx) => tx.listAccountIds(null, 1))));
    const [{ n }] = (await terminate()) as unknown as [{ n: number }];
    assert.ok(n >= 1);
    assert.equal(await store.ping(), true);
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        store.transaction((tx) => tx.insertAccount(accountFixture(`acct-r${i}`))),
      ),
    );

    // Killed in the middle of a transaction: `unavailable`, and nothing of it persists.
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.insertAccount(accountFixture('acct-half'));
        await terminate();
        await tx.insertAccount(accountFixture('acct-half-2'));
      }),
      (error: unknown) => {
        assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
        assert.equal(error.code, 'unavailable');
        return true;
      },
    );
    const ids = await store.read((tx) => tx.listAccountIds(null, 100));
    assert.equal(ids.includes('acct-half'), false);
    assert.equal(ids.length, 7);
  } finally {
    await cleanup();
  }
});

test('postgres store: an unreachable server is unavailable, and ping says false', async () => {
  const url = new URL(adminUrl);
  url.port = '1'; // nothing listens on tcpmux
  await assert.rejects(openPostgresStore({ url: url.toString() }), (error: unknown) =>
    isStoreError(error, 'unavailable'),
  );
  const { store, cleanup } = await freshStore();
  await store.close();
  assert.equal(await store.ping(), false);
  await assert.rejects(
    store.transaction(async () => 1),
    (error: unknown) => isStoreError(error, 'unavailable'),
  );
  await cleanup();
});
