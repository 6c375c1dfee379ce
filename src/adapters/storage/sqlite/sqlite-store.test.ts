/**
 * The SQLite store: the shared contract (in memory and on a file, with the cache checked against
 * the database on every hit), then what only SQLite has: migrations, the writer lock, durability
 * across reopen, group commit failures, the read connection.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { StoreError } from '../../../app/store-error.ts';
import { outboxContract } from '../outbox.contract.ts';
import { accountFixture, postingFixture, storeContract } from '../store.contract.ts';
import { migrations } from './migrations.ts';
import { openSqliteStore } from './sqlite-store.ts';

function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-sqlite-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

outboxContract('sqlite :memory:', async () => {
  const store = await openSqliteStore({ path: ':memory:', verifyCache: true });
  return { store, cleanup: () => store.close() };
});

outboxContract('sqlite file', async () => {
  const { dir, remove } = tempDir();
  const store = await openSqliteStore({ path: join(dir, 'outbox.db') });
  return {
    store,
    cleanup: async () => {
      await store.close();
      remove();
    },
  };
});

storeContract('sqlite :memory:', async () => {
  const store = await openSqliteStore({ path: ':memory:', verifyCache: true });
  return { store, cleanup: () => store.close() };
});

storeContract('sqlite file', async () => {
  const { dir, remove } = tempDir();
  const store = await openSqliteStore({ path: join(dir, 'nested', 'ledger.db'), verifyCache: true });
  return {
    store,
    cleanup: async () => {
      await store.close();
      remove();
    },
  };
});

test('sqlite: migrations apply once, are recorded, and a reopen changes nothing', async () => {
  const { dir, remove } = tempDir();
  try {
    const path = join(dir, 'ledger.db');
    const first = await openSqliteStore({ path });
    const account = await first.transaction((tx) => tx.insertAccount(accountFixture('acct-a')));
    await first.transaction((tx) => tx.append([postingFixture(account.no, 1)]));
    await first.close();
    const second = await openSqliteStore({ path });
    assert.equal((await second.read((tx) => tx.listPostings(account.no, { limit: 10 }))).length, 1);
    await second.close();
    const db = new DatabaseSync(path, { readOnly: true });
    const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    assert.deepEqual(
      rows.map((r) => [r.version, r.name]),
      migrations.map((m) => [m.version, m.name]),
    );
    assert.equal(db.prepare('PRAGMA journal_mode').get()?.journal_mode, 'wal');
    db.close();
  } finally {
    remove();
  }
});

test('sqlite: a file migrated by a newer build is refused', async () => {
  const { dir, remove } = tempDir();
  try {
    const path = join(dir, 'ledger.db');
    await (await openSqliteStore({ path })).close();
    const db = new DatabaseSync(path);
    db.exec("INSERT INTO schema_migrations VALUES (9999, 'from-the-future', 0)");
    db.close();
    await assert.rejects(openSqliteStore({ path }), /not one this build knows/);
  } finally {
    remove();
  }
});

test('sqlite: a second writer on the same file is refused until the first closes', async () => {
  const { dir, remove } = tempDir();
  try {
    const path = join(dir, 'ledger.db');
    const first = await openSqliteStore({ path });
    await assert.rejects(
      openSqliteStore({ path }),
      (e: unknown) => e instanceof StoreError && e.code === 'unavailable',
    );
    await first.close();
    await (await openSqliteStore({ path })).close();
  } finally {
    remove();
  }
});

test('sqlite: reads see committed data only, never a group in flight', async () => {
  const { dir, remove } = tempDir();
  const store = await openSqliteStore({ path: join(dir, 'ledger.db') });
  try {
    const account = await store.transaction((tx) => tx.insertAccount(accountFixture('acct-a')));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const writing = store.transaction(async (tx) => {
      await tx.append([postingFixture(account.no, 1)]);
      await gate;
    });
    // Let the group start and write its posting.
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal((await store.read((tx) => tx.listPostings(account.no, { limit: 10 }))).length, 0);
    release();
    await writing;
    assert.equal((await store.read((tx) => tx.listPostings(account.no, { limit: 10 }))).length, 1);
  } finally {
    await store.close();
    remove();
  }
});

test('sqlite: a Tx used after its function returned is refused', async () => {
  const store = await openSqliteStore({ path: ':memory:' });
  try {
    const leaked = await store.transaction(async (tx) => tx);
    await assert.rejects(leaked.getOrg('org-a'), /has finished/);
    await assert.rejects(leaked.insertAccount(accountFixture('acct-a')), /has finished/);
  } finally {
    await store.close();
  }
});

test('sqlite: an aggregate saved out of step is evicted, not trusted', async () => {
  const store = await openSqliteStore({ path: ':memory:', verifyCache: true });
  try {
    await store.transaction((tx) => tx.insertAccount(accountFixture('acct-a')));
    await store.transaction(async (tx) => {
      const agg = await tx.lockAccount('acct-a');
      assert.ok(agg);
      // Saves a copy instead of the aggregate's own row: the cache cannot vouch for itself.
      await tx.saveAccount({ ...agg.account, nextSeq: 9 });
    });
    assert.equal(store.cachedAggregates, 0);
    const agg = await store.transaction((tx) => tx.lockAccount('acct-a'));
    assert.equal(agg?.account.nextSeq, 9);
    assert.equal(store.cachedAggregates, 1);
  } finally {
    await store.close();
  }
});

test('sqlite: transactions on a closed store are unavailable', async () => {
  const store = await openSqliteStore({ path: ':memory:' });
  await store.close();
  await assert.rejects(
    store.transaction(async () => 1),
    (e: unknown) => e instanceof StoreError && e.code === 'unavailable',
  );
  assert.equal(await store.ping(), false);
});
