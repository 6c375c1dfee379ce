/**
 * The write-behind (sqlite-store.ts): account, cycle and breakdown rows written behind the journal.
 * What must hold: most operations leave their rows to a later write-back; every read (the cache,
 * the read connection, a process that opens the file after a crash) sees exactly the journal's
 * figures; `verify` agrees; and a close leaves every row caught up.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import * as app from '../../../app/index.ts';
import { type AppContext, defaultCatalogues, ManualClock } from '../../../app/index.ts';
import { parseInstant } from '../../../core/time.ts';
import { openSqliteStore, type SqliteStore, tailPostingsMax } from './sqlite-store.ts';

const accounts = ['wb-a', 'wb-b', 'wb-c'];

function record(n: number) {
  const account = accounts[n % accounts.length]!;
  return {
    id: `r-${n}`,
    account_id: account,
    occurred_at: new Date(parseInstant('2026-07-04T10:00:00Z') + n * 1000).toISOString(),
    // Every fourth is interactive Claude Code (R10 windows), the rest programmatic.
    surface: n % 4 === 0 ? 'cli' : 'sdk-ts',
    app: n % 3 === 0 ? 'conductor' : null,
    model: n % 2 === 0 ? 'claude-opus-5-5' : 'claude-sonnet-5-5',
    usage: { input_tokens: 100 + n, cache_read_input_tokens: 1000 + (n % 97), output_tokens: 20 + (n % 13) },
  };
}

async function ledger(path: string): Promise<{ store: SqliteStore; ctx: AppContext; clock: ManualClock }> {
  const store = await openSqliteStore({ path, verifyCache: true });
  const clock = new ManualClock(parseInstant('2026-07-04T09:00:00Z'));
  return { store, clock, ctx: { store, clock, catalogues: defaultCatalogues } };
}

/** Everything a reader of this account sees, through the read connection. */
async function views(ctx: AppContext, id: string) {
  const account = await app.getAccountView(ctx, id);
  const statement = await app.getStatement(ctx, id, null);
  const cycles = await app.listCycles(ctx, id);
  return { account, statement, cycles };
}

function rawCheckpoints(path: string): { id: string; through: number; lastSeq: number }[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db
      .prepare(
        `SELECT a.id, a.figures_through_seq AS through, (SELECT max(seq) FROM postings p WHERE p.account_no = a.no) AS last_seq
         FROM accounts a ORDER BY a.id`,
      )
      .all()
      .map((r) => ({ id: String(r.id), through: Number(r.through), lastSeq: Number(r.last_seq) }));
  } finally {
    db.close();
  }
}

test('write-behind: rows wait, every reader sees the journal, a crash copy reopens exact, close catches up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-write-behind-'));
  const path = join(dir, 'ledger.db');
  const { store, ctx, clock } = await ledger(path);
  let closed = false;
  try {
    for (const id of accounts) {
      await app.createAccount(ctx, {
        id,
        kind: 'subscription',
        plan: 'pro',
        billing_anchor: '2026-07-03T10:00:00Z',
      });
      await app.claim(ctx, id);
      await app.setUsageCredits(ctx, id, { enabled: true, monthly_limit_usd: null });
    }
    const before = store.writeBacks;
    // Each account passes the tail bound once: one write-back each, at least.
    const total = accounts.length * tailPostingsMax + 61;
    let operations = 0;
    for (let n = 0; n < total; n += 7) {
      clock.set(parseInstant('2026-07-04T10:00:00Z') + (n + 7) * 1000);
      const batch = Array.from({ length: Math.min(7, total - n) }, (_, k) => record(n + k));
      const results = await app.recordUsage(ctx, batch);
      assert.deepEqual(
        results.map((r) => r.status),
        batch.map(() => 'recorded'),
      );
      operations += 1;
    }
    // A replay of an earlier batch books nothing and writes nothing back.
    const replay = await app.recordUsage(ctx, [record(3), record(4)]);
    assert.deepEqual(
      replay.map((r) => r.status),
      ['replayed', 'replayed'],
    );
    const writeBacks = store.writeBacks - before;
    // Each operation touches every account; without the write-behind each would write all three.
    // Here only the tail bound writes back (no credit threshold is crossed): about once per
    // account; interactive records (R10 windows) must not force a write-back either.
    assert.ok(
      writeBacks >= accounts.length && writeBacks <= 2 * accounts.length,
      `${writeBacks} write-backs for ${operations} operations`,
    );
    const behind = rawCheckpoints(path).filter((c) => c.through < c.lastSeq);
    assert.ok(behind.length > 0, 'some account has a tail the rows do not hold yet');

    // The read connection folds the tail: the views agree with the journal, verify finds nothing.
    const report = await app.verifyLedger(ctx);
    assert.deepEqual(report.problems, []);
    const seen = new Map<string, Awaited<ReturnType<typeof views>>>();
    for (const id of accounts) seen.set(id, await views(ctx, id));

    // A crash now: the file as committed (database and WAL, no close) opened by a new process.
    const crashDir = mkdtempSync(join(tmpdir(), 'creditpool-write-behind-crash-'));
    try {
      const copy = join(crashDir, 'ledger.db');
      copyFileSync(path, copy);
      if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
      const reopened = await ledger(copy);
      try {
        reopened.clock.set(clock.now());
        for (const id of accounts) assert.deepEqual(await views(reopened.ctx, id), seen.get(id), id);
        assert.deepEqual((await app.verifyLedger(reopened.ctx)).problems, []);
        // Booking goes on from the folded figures, and the next write-back lands them exactly.
        for (let n = total; n < total + 40; n += 5) {
          reopened.clock.set(parseInstant('2026-07-04T10:00:00Z') + (n + 5) * 1000);
          await app.recordUsage(
            reopened.ctx,
            Array.from({ length: 5 }, (_, k) => record(n + k)),
          );
        }
        assert.deepEqual((await app.verifyLedger(reopened.ctx)).problems, []);
      } finally {
        await reopened.store.close();
      }
      for (const c of rawCheckpoints(copy)) assert.equal(c.through, c.lastSeq, `${c.id} caught up at close`);
    } finally {
      rmSync(crashDir, { recursive: true, force: true });
    }

    await store.close();
    closed = true;
    for (const c of rawCheckpoints(path)) assert.equal(c.through, c.lastSeq, `${c.id} caught up at close`);
    const again = await ledger(path);
    try {
      for (const id of accounts) assert.deepEqual(await views(again.ctx, id), seen.get(id), id);
    } finally {
      await again.store.close();
    }
  } finally {
    if (!closed) await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
