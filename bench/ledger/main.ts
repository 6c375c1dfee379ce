/**
 * bench/ledger: the ledger's throughput in process, on a durable SQLite file (WAL,
 * synchronous=FULL), each figure next to a baseline measured in the same run.
 *
 * - Records booked per second through `recordUsage` (batches of 100 and 1000, spread over 10,000
 *   accounts and on one hot account), `inFlight` batches at a time as a server with several
 *   gateway connections would see them. Baseline: the plain-insert ceiling of
 *   `../shared/bench-baselines/README.md` — the same number of journal rows inserted with the same
 *   schema and indexes (the unique idempotency key included), the same driver, journal mode,
 *   synchronous setting and transaction size, and nothing else.
 * - `authorize` without a hold, decisions per second. Baseline: empty store transactions through
 *   the same group-commit queue (the machinery's own ceiling).
 * - The statement of a cycle with 1,000,000 records, median latency. Baseline: one SQL sum over
 *   that cycle's journal rows (what recomputing a single figure on read would cost).
 *
 * Run: `npm run bench -- ledger` (or `node bench/ledger/main.ts` for the raw JSON line).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openSqliteStore, writerPragmas } from '../../src/adapters/storage/sqlite/index.ts';
import { migrations } from '../../src/adapters/storage/sqlite/migrations.ts';
import * as app from '../../src/app/index.ts';
import { type AppContext, defaultCatalogues, ManualClock } from '../../src/app/index.ts';
import { parseInstant } from '../../src/core/time.ts';
import type { BenchReport, BenchResult } from '../run.ts';

const quick = process.env.BENCH_QUICK === '1';
const accountsSpread = quick ? 1000 : 10_000;
const recordsPerRun = quick ? 20_000 : 200_000;
const statementRecords = quick ? 100_000 : 1_000_000;
const inFlight = 4;
const start = parseInstant('2026-07-03T10:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'creditpool-bench-ledger-'));
const log = (line: string) => process.stderr.write(`[ledger] ${line}\n`);

/** A usage record as the HTTP layer hands it over: parsed JSON. Mostly cache reads, as in life. */
function usage(id: string, account: string, at: string, i: number) {
  return {
    id,
    account_id: account,
    occurred_at: at,
    surface: i % 5 === 0 ? 'cli' : 'sdk-cli',
    app: i % 7 === 0 ? 'conductor' : null,
    model: i % 3 === 0 ? 'claude-sonnet-5-5' : 'claude-opus-5-5',
    usage: {
      input_tokens: 10 + (i % 50),
      cache_read_input_tokens: 2000 + (i % 997),
      output_tokens: 50 + (i % 200),
    },
  };
}

async function openLedger(name: string) {
  const store = await openSqliteStore({ path: join(dir, `${name}.db`), synchronous: 'FULL' });
  const clock = new ManualClock(start);
  const ctx: AppContext = { store, clock, catalogues: defaultCatalogues };
  return { store, clock, ctx };
}

async function createAccounts(ctx: AppContext, count: number, prefix: string) {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(6, '0')}`);
  for (let i = 0; i < ids.length; i += 500) {
    await Promise.all(
      ids.slice(i, i + 500).map(async (id) => {
        await app.createAccount(ctx, {
          id,
          kind: 'subscription',
          plan: 'max_20x',
          billing_anchor: '2026-07-03T10:00:00Z',
        });
        await app.claim(ctx, id);
        await app.setUsageCredits(ctx, id, { enabled: true, monthly_limit_usd: null });
      }),
    );
  }
  return ids;
}

/** Books `total` records in batches, `inFlight` batches at a time; returns records per second. */
async function bookRecords(ctx: AppContext, ids: string[], total: number, batch: number, tag: string) {
  const batches: Record<string, unknown>[][] = [];
  const at = '2026-07-04T10:00:00Z';
  for (let b = 0; b < total / batch; b++) {
    const records = [];
    for (let i = 0; i < batch; i++) {
      const n = b * batch + i;
      records.push(usage(`${tag}-${n}`, ids[n % ids.length]!, at, n));
    }
    batches.push(records);
  }
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < batches.length) {
      const results = await app.recordUsage(ctx, batches[next++]!);
      if (results[0]?.status !== 'recorded') throw new Error(`unexpected ${JSON.stringify(results[0])}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return total / ((performance.now() - t0) / 1000);
}

/**
 * The plain-insert ceiling: the same journal rows into the same schema, nothing else. Same
 * conditions as the run it is compared with: the store's own connection settings, and a journal
 * that already holds as many rows, spread over as many accounts (inserted untimed first). Inserts
 * into a journal of 400,000 rows cost about three times those into an empty file (scattered index
 * pages no longer fit the cache), so a fresh file would measure another thing.
 */
function plainInsertCeiling(total: number, batch: number, accounts: number, priorRows: number): number {
  const path = join(dir, `baseline-${batch}-${accounts}.db`);
  const db = new DatabaseSync(path);
  db.exec(writerPragmas('FULL'));
  for (const m of migrations) db.exec(m.sql);
  const insert = db.prepare(
    `INSERT INTO postings (account_no, seq, at, cycle_start, kind, idem, hash, corrects, credit_units, uc_units,
       subscription_units, written_off_units, payg_units, cost_units, usage_class, surface, app, model, note, recorded_at)
     VALUES (?, ?, ?, ?, 'usage', ?, ?, NULL, ?, 0, 0, 0, 0, ?, 'programmatic', 'sdk-cli', NULL, 'claude-opus-5-5', NULL, ?)`,
  );
  const seqs = new Array(accounts).fill(0);
  const row = (n: number, tag: string) => {
    const acct = n % accounts;
    seqs[acct] += 1;
    insert.run(
      acct + 1,
      seqs[acct],
      start,
      start,
      `u:${tag}-${n}`,
      'h'.repeat(22),
      -1234567n,
      1234567n,
      start,
    );
  };
  for (let n = 0; n < priorRows; ) {
    db.exec('BEGIN IMMEDIATE');
    for (const end = Math.min(priorRows, n + 1000); n < end; n++) row(n, 'prior');
    db.exec('COMMIT');
  }
  const t0 = performance.now();
  for (let b = 0; b < total / batch; b++) {
    db.exec('BEGIN IMMEDIATE');
    for (let i = 0; i < batch; i++) row(b * batch + i, 'req');
    db.exec('COMMIT');
  }
  const rate = total / ((performance.now() - t0) / 1000);
  db.close();
  rmSync(path, { force: true });
  rmSync(`${path}-wal`, { force: true });
  rmSync(`${path}-shm`, { force: true });
  return rate;
}

/** Rows in a store's journal, read from its file (committed state). */
function journalRows(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number((db.prepare('SELECT count(*) AS n FROM postings').get() as { n: number }).n);
  } finally {
    db.close();
  }
}

function result(
  label: string,
  value: number,
  unit: string,
  baselineLabel: string,
  baseline: number,
  goal: string,
  met: boolean,
): BenchResult {
  return {
    label,
    value: Math.round(value),
    unit,
    baseline_label: baselineLabel,
    baseline_value: Math.round(baseline),
    ratio: Number((value / baseline).toFixed(3)),
    goal,
    met,
  };
}

const results: BenchResult[] = [];
const notes: string[] = [];
try {
  // ── records booked per second ──
  const spread = await openLedger('spread');
  spread.clock.set(parseInstant('2026-07-04T10:00:00Z'));
  log(`creating ${accountsSpread} accounts`);
  const spreadIds = await createAccounts(spread.ctx, accountsSpread, 's');
  const hot = await openLedger('hot');
  hot.clock.set(parseInstant('2026-07-04T10:00:00Z'));
  const hotIds = await createAccounts(hot.ctx, 1, 'h');
  for (const batch of [100, 1000]) {
    for (const [name, ledger, ids] of [
      ['spread over 10,000 accounts', spread, spreadIds],
      ['one hot account', hot, hotIds],
    ] as const) {
      await bookRecords(ledger.ctx, ids, Math.min(recordsPerRun / 10, 20_000), batch, `warm-${batch}`); // warm-up
      const priorRows = journalRows(ledger.store.path);
      const writeBacksBefore = ledger.store.writeBacks;
      const rate = await bookRecords(ledger.ctx, ids, recordsPerRun, batch, `run-${batch}`);
      const ceiling = plainInsertCeiling(recordsPerRun, batch, ids.length, priorRows);
      // For the record, not the ratio: the same inserts into an empty file.
      const emptyFileCeiling = plainInsertCeiling(recordsPerRun, batch, ids.length, 0);
      log(`batch ${batch}, ${name}: ${Math.round(rate)} records/s, ceiling ${Math.round(ceiling)}`);
      notes.push(
        `batches of ${batch}, ${name}: the journal held ${priorRows.toLocaleString('en-US')} rows before the run (the ceiling's file too; into an empty file the same inserts ran at ${Math.round(emptyFileCeiling).toLocaleString('en-US')} rows/s, ${(rate / emptyFileCeiling).toFixed(3)} of that); ${ledger.store.writeBacks - writeBacksBefore} account write-backs for ${recordsPerRun.toLocaleString('en-US')} records (the rest of the account, cycle and breakdown rows left to the journal's tail).`,
      );
      results.push(
        result(
          `recordUsage, batches of ${batch}, ${name}, ${inFlight} in flight`,
          rate,
          'records/s',
          'plain inserts of the same journal rows, into a journal as full',
          ceiling,
          '≥ 100,000 records/s (stretch 200,000) and ≥ 0.5 × the plain-insert ceiling',
          rate >= 100_000 && rate >= ceiling * 0.5,
        ),
      );
    }
  }
  const report = await app.verifyLedger(hot.ctx);
  if (report.problems.length > 0)
    throw new Error(`verify after the hot run: ${report.problems.slice(0, 3).join('; ')}`);
  notes.push(`verifyLedger after the hot-account runs: ${report.postings} postings, no problems.`);

  // ── authorize without a hold ──
  const decisions = quick ? 50_000 : 400_000;
  const wave = 512;
  const runAuthorize = async () => {
    const t0 = performance.now();
    for (let i = 0; i < decisions; i += wave) {
      const calls = [];
      for (let j = 0; j < wave; j++) {
        calls.push(
          app.authorize(spread.ctx, {
            account_id: spreadIds[(i + j) % spreadIds.length]!,
            surface: 'sdk-cli',
          }),
        );
      }
      const answers = await Promise.all(calls);
      if (answers[0]?.decision !== 'allow') throw new Error(`unexpected ${JSON.stringify(answers[0])}`);
    }
    return decisions / ((performance.now() - t0) / 1000);
  };
  const runEmpty = async () => {
    const t0 = performance.now();
    for (let i = 0; i < decisions; i += wave) {
      const calls = [];
      for (let j = 0; j < wave; j++) calls.push(spread.store.transaction(async () => 0));
      await Promise.all(calls);
    }
    return decisions / ((performance.now() - t0) / 1000);
  };
  await runAuthorize();
  const authRates = [];
  const emptyRates = [];
  for (let round = 0; round < 3; round++) {
    authRates.push(await runAuthorize());
    emptyRates.push(await runEmpty());
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const authRate = median(authRates);
  log(
    `authorize: ${Math.round(authRate)} decisions/s, empty transactions ${Math.round(median(emptyRates))}/s`,
  );
  results.push(
    result(
      'authorize without a hold, in process (512 concurrent calls per wave, 10,000 accounts)',
      authRate,
      'decisions/s',
      'empty store transactions through the same queue',
      median(emptyRates),
      '≥ 200,000 decisions/s',
      authRate >= 200_000,
    ),
  );
  await spread.store.close();

  // ── statement of a cycle with 1,000,000 records ──
  log(`booking ${statementRecords} records on one account for the statement`);
  await bookRecords(hot.ctx, hotIds, statementRecords, 1000, 'stmt');
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t0 = performance.now();
    const s = await app.getStatement(hot.ctx, hotIds[0]!, null);
    times.push(performance.now() - t0);
    if (s.by_model.length === 0) throw new Error('empty statement');
  }
  const statementMs = median(times);
  await hot.store.close();
  const raw = new DatabaseSync(join(dir, 'hot.db'), { readOnly: true });
  const sumTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    raw.prepare('SELECT sum(cost_units) FROM postings WHERE account_no = 1 AND cycle_start = ?').get(start);
    sumTimes.push(performance.now() - t0);
  }
  raw.close();
  const sumMs = median(sumTimes);
  log(`statement: ${statementMs.toFixed(3)} ms, one SQL sum over the cycle ${sumMs.toFixed(1)} ms`);
  results.push(
    result(
      `statement of a cycle with ${statementRecords.toLocaleString('en-US')} records (median of 21)`,
      statementMs * 1000,
      'µs',
      'one SQL sum over the same cycle’s journal rows (µs)',
      sumMs * 1000,
      'under 50 ms',
      statementMs < 50,
    ),
  );
  notes.push(
    'Durable throughout: WAL with synchronous=FULL; a batch is acknowledged only after its group commit is on disk.',
    `Records are realistic Messages API usage objects (cache reads, two models, a third-party app on 1 in 7, interactive on 1 in 5), booked ${inFlight} batches in flight so group commit can share an fsync, as with concurrent gateway connections.`,
    'The plain-insert ceiling writes only the journal rows (with constant columns as literals); recordUsage also validates, prices and hashes each record, allocates it, keeps the cycle figures and breakdowns (written behind the journal: storage/sqlite/README.md, write-behind) and checks idempotency (optimistically: the unique index refuses a repeat, and the batch is booked again looked up).',
    'Where the spread runs lose against the ceiling (CPU profiles, bench conditions): the COMMIT of a group touching thousands of accounts is 26% (batches of 100) to 36% (batches of 1000) of the time against a smaller share in the ceiling, and per-account work in JavaScript (locking, rolling, booking, the write-behind comparison, cache upkeep) about 45%; with one hot account that work is paid once per batch.',
  );
  const out: BenchReport = {
    name: 'ledger',
    title: 'Ledger in process (SQLite file, durable)',
    command: 'npm run bench -- ledger',
    results,
    notes,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
