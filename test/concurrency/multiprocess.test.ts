/**
 * Issue 5's proof under load: three `creditpool serve --test-clock` processes on different
 * loopback ports against one fresh PostgreSQL database, driven by concurrent seeded clients
 * (`scenario.ts`); then the database is checked against the ledger's invariants and everything
 * the clients were told. The same scenario runs against SQLite with one process.
 *
 * PostgreSQL comes from CREDITPOOL_TEST_DATABASE_URL (default: the local `test` database); the
 * test creates `cp_mp_<random>` and drops it WITH (FORCE) at the end. If the server cannot be
 * reached the test fails, never skips (CI starts PostgreSQL). `MP_SEED=<n>` replays one seed;
 * `MP_OPS=<n>` sets the operations per worker; `MP_KEEP_DB=1` keeps the database for inspection
 * (its name is printed; drop it by hand).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import postgres from 'postgres';
import { openPostgresStore } from '../../src/adapters/storage/postgres/index.ts';
import { openSqliteStore } from '../../src/adapters/storage/sqlite/index.ts';
import type { Store } from '../../src/app/ports.ts';
import { formatUsd } from '../../src/core/money.ts';
import { type RunningServer, startServer, tempDir } from '../support/cli.ts';
import {
  type CheckReport,
  checkScenario,
  driveScenario,
  type Journal,
  type ScenarioOptions,
} from './scenario.ts';

const adminUrl = process.env.CREDITPOOL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const token = `cp_mp_admin_${randomBytes(12).toString('hex')}`;
const seed = Number(process.env.MP_SEED ?? 20261125);
const options: ScenarioOptions = {
  seed,
  workers: 20,
  opsPerWorker: Number(process.env.MP_OPS ?? 60),
  // A hard cap on the load phase; setup and checks come on top (each bounded by its own timeouts).
  timeCapMs: 60_000,
};

const servers: RunningServer[] = [];
const dir = tempDir('creditpool-mp-');
after(async () => {
  // Only the processes this file started.
  for (const server of servers) await server.stop(2_000);
  dir.remove();
});

async function startServers(n: number, databaseArgs: string[]): Promise<RunningServer[]> {
  const started = await Promise.all(
    Array.from({ length: n }, () =>
      startServer(['--host', '127.0.0.1', '--port', '0', ...databaseArgs, '--test-clock'], {
        env: { CREDITPOOL_ADMIN_TOKEN: token },
      }),
    ),
  );
  servers.push(...started);
  return started;
}

async function stopAll(running: RunningServer[]): Promise<void> {
  const exits = await Promise.all(running.map((s) => s.stop(10_000)));
  exits.forEach((exit, i) => {
    assert.equal(
      exit.code,
      0,
      `server ${i} exit ${JSON.stringify(exit)}; stderr: ${running[i]!.stderr().slice(-2000)}`,
    );
  });
}

function summary(label: string, journal: Journal, report: CheckReport): string {
  const counts = Object.entries(journal.counts)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return [
    `${label} seed ${seed}: ${report.postings} postings; ${report.recordsAcknowledged} records acknowledged, ${report.recordsOnlyRefused} only refused;`,
    `holds bound-checked ${report.holdsBoundChecked}: written off ${formatUsd(report.overshootUnits)} ≤ bound ${formatUsd(report.overshootBoundUnits)} USD;`,
    `unknown requests ${journal.unknownRequests}; clock moves ${journal.clockMoves.join(' → ')}`,
    counts,
  ].join('\n  ');
}

/** The scenario exercised what it claims to (each of these is certain by construction, given the seed). */
function assertCoverage(journal: Journal): void {
  const c = journal.counts;
  for (const key of [
    'holds_placed',
    'holds_voided',
    'settle_recorded',
    'usage_recorded',
    'usage_replayed',
    'uc_switches',
  ]) {
    assert.ok((c[key] ?? 0) > 0, `the scenario never got ${key}: ${JSON.stringify(c)}`);
  }
  assert.ok((c.usage_rejected_idempotency_conflict ?? 0) > 0, 'no conflicting duplicate was refused');
  assert.equal(journal.clockMoves.length, 3, 'the clocks moved to T0, T1, T2');
}

/**
 * Drives the scenario against running servers, stops them (each must exit 0), then checks the
 * database through a store opened on it. A failure while driving carries the end of every
 * server's log (a 500's cause is only there).
 */
async function runScenario(
  label: string,
  running: RunningServer[],
  openStore: () => Promise<Store>,
  t: { diagnostic(message: string): void },
): Promise<void> {
  let journal: Journal;
  try {
    journal = await driveScenario(
      running.map((s) => s.url),
      token,
      options,
    );
  } catch (error) {
    const logs = running.map(
      (s, i) => `--- server ${i} ---\n${s.stdout().slice(-3000)}${s.stderr().slice(-3000)}`,
    );
    throw new Error(`${(error as Error).message}\n${logs.join('\n')}`, { cause: error });
  }
  await stopAll(running);
  const store = await openStore();
  let report: CheckReport;
  try {
    report = await checkScenario(store, journal);
  } finally {
    await store.close();
  }
  t.diagnostic(summary(label, journal, report));
  assertCoverage(journal);
}

describe('several server processes on one database', () => {
  it('PostgreSQL, 3 processes: nothing lost, nothing twice, no limit passed', async (t) => {
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    const database = `cp_mp_${randomBytes(6).toString('hex')}`;
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    let running: RunningServer[] = [];
    try {
      await admin`SELECT 1`.catch((error: unknown) => {
        throw new Error(
          `PostgreSQL is not reachable at ${adminUrl} (set CREDITPOOL_TEST_DATABASE_URL): ${String(error)}`,
        );
      });
      await admin.unsafe(`CREATE DATABASE ${database}`);
      running = await startServers(3, ['--database-url', url.toString()]);
      await runScenario('postgres ×3', running, () => openPostgresStore({ url: url.toString(), max: 2 }), t);
    } finally {
      // Servers first: a server left running would keep reconnecting to a dropped database.
      await Promise.all(running.map((s) => s.stop(2_000)));
      if (process.env.MP_KEEP_DB) t.diagnostic(`kept ${database}`);
      else await admin.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('SQLite, 1 process: the same scenario', async (t) => {
    const path = join(dir.path, 'mp.db');
    const running = await startServers(1, ['--db', path]);
    await runScenario('sqlite ×1', running, () => openSqliteStore({ path }), t);
  });
});
