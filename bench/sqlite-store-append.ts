/**
 * Micro-benchmark of the SQLite store's booking path, against the plain-insert ceiling measured in
 * the same run (bench-baselines/README.md, SQLite section): N usage postings in transactions of
 * B, synchronous=FULL, each transaction also upserting the batch's dims and saving each touched
 * account and cycle once, as `recordUsage` does. Run: `node bench/sqlite-store-append.ts [N] [B]
 * [accounts] [concurrent]`; with `concurrent` > 1 that many transactions are in flight at once,
 * so group commit shares their fsync.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openSqliteStore } from '../src/adapters/storage/sqlite/index.ts';
import { migrations } from '../src/adapters/storage/sqlite/migrations.ts';
import { accountFixture, cycleFixture, postingFixture } from '../src/adapters/storage/store.contract.ts';
import type { PostingRow } from '../src/app/model.ts';

const total = Number(process.argv[2] ?? 100_000);
const batch = Number(process.argv[3] ?? 1000);
const accountCount = Number(process.argv[4] ?? 100);
const concurrent = Number(process.argv[5] ?? 1);
const cycleStart = Date.UTC(2026, 6, 3, 12);
const surfaces = ['sdk-ts', 'sdk-py', 'cli'];
const models = ['claude-sonnet-4-5', 'claude-opus-4-1', 'claude-haiku-4-5'];

const dir = mkdtempSync(join(tmpdir(), 'creditpool-bench-'));
try {
  const baseline = plainInsertCeiling(join(dir, 'baseline.db'));
  const store = await openSqliteStore({ path: join(dir, 'store.db'), synchronous: 'FULL' });
  const ids = Array.from({ length: accountCount }, (_, i) => `acct-${String(i).padStart(6, '0')}`);
  await store.transaction(async (tx) => {
    for (const id of ids) {
      const account = await tx.insertAccount(accountFixture(id));
      await tx.saveCycle(cycleFixture(account.no, cycleStart, 1));
    }
  });
  let record = 0;
  /** One recordUsage-shaped transaction: records spread over accounts, one posting each. */
  const book = (size: number) =>
    store.transaction(async (tx) => {
      const byAccount = new Map<string, number>();
      for (let i = 0; i < size; i++) {
        const id = ids[(record + i) % ids.length]!;
        byAccount.set(id, (byAccount.get(id) ?? 0) + 1);
      }
      for (const [id, count] of byAccount) {
        const agg = (await tx.lockAccount(id))!;
        const cycle = agg.cycles.get(cycleStart)!;
        const postings: PostingRow[] = [];
        const dims = [];
        for (let k = 0; k < count; k++) {
          const n = record++;
          const p = postingFixture(agg.account.no, agg.account.nextSeq++, {
            idem: `u:${n.toString(36)}-${(n * 2654435761) % 4294967296}`,
            cycleStart,
            surface: surfaces[n % 3]!,
            model: models[n % 3]!,
            app: n % 5 === 0 ? 'cursor' : null,
          });
          postings.push(p);
          cycle.creditUsedUnits += p.costUnits;
          dims.push({ dim: 'surface' as const, key: p.surface!, costUnits: p.costUnits });
          dims.push({ dim: 'model' as const, key: p.model!, costUnits: p.costUnits });
          if (p.app) dims.push({ dim: 'app' as const, key: p.app, costUnits: p.costUnits });
        }
        await tx.append(postings);
        await tx.addDims(agg.account.no, cycleStart, dims);
        await tx.saveCycle(cycle);
        await tx.saveAccount(agg.account);
      }
    });
  const started = performance.now();
  for (let done = 0; done < total; done += batch * concurrent) {
    await Promise.all(Array.from({ length: concurrent }, () => book(batch)));
  }
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  const perSecond = Math.round(record / seconds);
  console.log(
    JSON.stringify({
      records: record,
      batch,
      accounts: accountCount,
      concurrent,
      synchronous: 'FULL',
      recordsPerSecond: perSecond,
      plainInsertsPerSecond: baseline,
      ratio: Number((perSecond / baseline).toFixed(2)),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** The ceiling: the same rows, indexes and transaction size, inserted by bare SQL, nothing else. */
function plainInsertCeiling(path: string): number {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL');
  for (const m of migrations) db.exec(m.sql);
  const insert = db.prepare(
    'INSERT INTO postings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const started = performance.now();
  for (let n = 0; n < total; ) {
    db.exec('BEGIN');
    for (let i = 0; i < batch; i++, n++) {
      const p = postingFixture((n % accountCount) + 1, Math.floor(n / accountCount) + 1, {
        idem: `u:${n.toString(36)}-${(n * 2654435761) % 4294967296}`,
      });
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
    db.exec('COMMIT');
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return Math.round(total / seconds);
}
