/**
 * What a fault test checks after each restart, against what the clients saw (`Workload`):
 *
 * - every record acknowledged as booked is in the journal exactly once (its posting `u:<id>`,
 *   counted in the database itself, on the account the record named);
 * - a record sent but never acknowledged is there at most once; a refused one not at all;
 * - no posting of this run's id space that no client sent (nothing invented);
 * - holds: an acknowledged hold exists, an acknowledged settle left it settled by its record, an
 *   acknowledged void left it voided, a denied one does not exist;
 * - `verifyLedger`: every cached figure equals its recomputation from the journal.
 *
 * The database is read directly (SQLite: a read-only connection beside the running server;
 * PostgreSQL: a client), never through the server under test.
 */
import { DatabaseSync } from 'node:sqlite';
import postgres from 'postgres';
import { openPostgresStore } from '../../../src/adapters/storage/postgres/index.ts';
import { openSqliteReader } from '../../../src/adapters/storage/sqlite/sqlite-reader.ts';
import { defaultCatalogues, systemClock, type VerifyReport, verifyLedger } from '../../../src/app/index.ts';
import type { Store } from '../../../src/app/ports.ts';
import type { Workload } from './workload.ts';

export type Target = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

interface BookedRow {
  account: string;
  idem: string;
  n: number;
}

interface HoldRowSeen {
  account: string;
  id: string;
  status: string;
  settled: string | null;
}

const bookedSql = (p: string) =>
  `SELECT a.id AS account, p.idem AS idem, count(*) AS n FROM postings p JOIN accounts a ON a.no = p.account_no
   WHERE p.idem LIKE ${p} GROUP BY a.id, p.idem`;
const holdsSql = (p: string) =>
  `SELECT a.id AS account, h.id AS id, h.status AS status, h.settled_record_id AS settled
   FROM holds h JOIN accounts a ON a.no = h.account_no WHERE h.id LIKE ${p}`;

async function readRows(
  target: Target,
  runId: string,
): Promise<{ booked: BookedRow[]; holds: HoldRowSeen[] }> {
  const usagePrefix = `u:${runId}-%`;
  const holdPrefix = `${runId}-%`;
  if (target.kind === 'sqlite') {
    const db = new DatabaseSync(target.path, { readOnly: true });
    try {
      db.exec('PRAGMA busy_timeout = 5000; BEGIN');
      const booked = db
        .prepare(bookedSql('?'))
        .all(usagePrefix)
        .map((r) => ({ account: String(r.account), idem: String(r.idem), n: Number(r.n) }));
      const holds = db
        .prepare(holdsSql('?'))
        .all(holdPrefix)
        .map((r) => ({
          account: String(r.account),
          id: String(r.id),
          status: String(r.status),
          settled: r.settled === null ? null : String(r.settled),
        }));
      db.exec('COMMIT');
      return { booked, holds };
    } finally {
      db.close();
    }
  }
  const sql = postgres(target.url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    return await sql.begin('ISOLATION LEVEL REPEATABLE READ READ ONLY', async (tx) => {
      const booked = (await tx.unsafe(bookedSql('$1'), [usagePrefix])).map((r) => ({
        account: String(r.account),
        idem: String(r.idem),
        n: Number(r.n),
      }));
      const holds = (await tx.unsafe(holdsSql('$1'), [holdPrefix])).map((r) => ({
        account: String(r.account),
        id: String(r.id),
        status: String(r.status),
        settled: r.settled === null ? null : String(r.settled),
      }));
      return { booked, holds };
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export interface CheckResult {
  problems: string[];
  /** Records acknowledged as booked, all found exactly once. */
  acknowledgedRecords: number;
  /** Records sent but not (yet) acknowledged, and how many of them the journal holds (≤ 1 each). */
  unacknowledgedRecords: number;
  unacknowledgedBooked: number;
  postings: number;
  holdsChecked: number;
  verify: VerifyReport;
}

/** Compares the database with what the workload's clients saw; see the file comment. */
export async function checkLedger(target: Target, workload: Workload, runId: string): Promise<CheckResult> {
  const { booked, holds } = await readRows(target, runId);
  const problems: string[] = [];
  const byRecord = new Map<string, BookedRow>();
  for (const row of booked) {
    const id = row.idem.slice(2);
    byRecord.set(id, row);
    if (row.n !== 1) problems.push(`record ${id} booked ${row.n} times`);
    const fate = workload.records.get(id);
    if (!fate) problems.push(`record ${id} is in the journal but no client sent it`);
    else if (fate.accountId !== row.account)
      problems.push(`record ${id} booked on ${row.account}, sent for ${fate.accountId}`);
  }
  let acknowledgedRecords = 0;
  let unacknowledgedRecords = 0;
  let unacknowledgedBooked = 0;
  for (const [id, fate] of workload.records) {
    const row = byRecord.get(id);
    if (fate.state === 'booked') {
      acknowledgedRecords += 1;
      if (!row) problems.push(`record ${id} was acknowledged (${fate.answer}) but is not in the journal`);
    } else if (fate.state === 'rejected') {
      if (row) problems.push(`record ${id} was refused but is in the journal`);
    } else {
      unacknowledgedRecords += 1;
      if (row) unacknowledgedBooked += 1;
    }
  }
  const holdsById = new Map(holds.map((h) => [h.id, h]));
  let holdsChecked = 0;
  for (const [id, fate] of workload.holds) {
    const row = holdsById.get(id);
    switch (fate.state) {
      case 'sent':
        break;
      case 'denied':
        if (row) problems.push(`hold ${id} was denied but exists (${row.status})`);
        break;
      case 'active':
        holdsChecked += 1;
        if (!row) problems.push(`hold ${id} was acknowledged but does not exist`);
        break;
      case 'settled':
        holdsChecked += 1;
        if (row?.status !== 'settled' || row.settled !== fate.settleRecordId)
          problems.push(
            `hold ${id} was settled by ${fate.settleRecordId}, the database says ${JSON.stringify(row)}`,
          );
        break;
      case 'voided':
      case 'expired':
        holdsChecked += 1;
        if (row?.status !== fate.state)
          problems.push(`hold ${id} was ${fate.state}, the database says ${JSON.stringify(row)}`);
        break;
    }
    if (row && row.account !== fate.accountId)
      problems.push(`hold ${id} on ${row.account}, sent for ${fate.accountId}`);
  }
  for (const row of holds)
    if (!workload.holds.has(row.id)) problems.push(`hold ${row.id} exists but no client sent it`);
  const verify = await verifyTarget(target);
  for (const p of verify.problems) problems.push(`verify: ${p}`);
  return {
    problems,
    acknowledgedRecords,
    unacknowledgedRecords,
    unacknowledgedBooked,
    postings: verify.postings,
    holdsChecked,
    verify,
  };
}

/** Opens the target for reading only (SQLite beside a running server) and runs `verifyLedger`. */
export async function verifyTarget(target: Target): Promise<VerifyReport> {
  const store: Store =
    target.kind === 'sqlite'
      ? await openSqliteReader(target.path)
      : await openPostgresStore({ url: target.url, max: 2 });
  try {
    return await verifyLedger({ store, clock: systemClock, catalogues: defaultCatalogues });
  } finally {
    await store.close();
  }
}

/** `PRAGMA integrity_check` through a read-only connection: `['ok']` when the file is sound. */
export async function integrityCheck(path: string): Promise<string[]> {
  const reader = await openSqliteReader(path);
  try {
    return await reader.integrityCheck();
  } finally {
    await reader.close();
  }
}
