/**
 * What `verify`, `backup` and `restore` do to a SQLite ledger file, apart from their command lines:
 *
 * - `checkSqliteFile`: `PRAGMA integrity_check` (every page and index of the file) and
 *   `verifyLedger` (every cached figure against the journal), through a read-only connection of
 *   its own, so it runs beside a serving server (one WAL snapshot; no writer lock taken);
 * - `backupSqlite`: SQLite's online backup (`node:sqlite` `backup()`) of one consistent snapshot,
 *   also through a read-only connection of its own (the server holds the writer lock and keeps
 *   writing meanwhile), into a temporary file that is made self-contained (rollback journal, no
 *   `-wal`), checked like `verify`, fsynced and only then renamed to its name;
 * - `restoreSqlite`: the reverse, refused while a server holds the target's writer lock: the
 *   backup is copied aside, migrated to this build's schema if it is older, checked, then copied
 *   into the target with the backup API (one transaction: a failed copy leaves the target as it
 *   was), and the restored target is checked again.
 *
 * Errors that are the operator's to fix (a missing file, an existing target, a server holding the
 * lock, a backup that fails its check) are `OperatorError`s with a message that says what to do.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { backup, DatabaseSync } from 'node:sqlite';
import { openSqliteStore } from '../adapters/storage/sqlite/index.ts';
import {
  backupPagesPerStep,
  openSqliteReader,
  type SqliteReader,
} from '../adapters/storage/sqlite/sqlite-reader.ts';
import { takeWriterLock } from '../adapters/storage/sqlite/sqlite-store.ts';
import { defaultCatalogues, systemClock, verifyLedger } from '../app/index.ts';
import type { Store } from '../app/ports.ts';

export class OperatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OperatorError';
  }
}

export interface FileCheck {
  /** `PRAGMA integrity_check`'s lines: `['ok']` when the file is sound; null when not applicable. */
  integrity: string[] | null;
  accounts: number;
  postings: number;
  /** Every difference `verifyLedger` found, readable. */
  problems: string[];
  ok: boolean;
}

/** Runs `verifyLedger` on a store; a ledger that cannot even be read is reported, not thrown. */
export async function checkLedgerOf(store: Store): Promise<Omit<FileCheck, 'integrity' | 'ok'>> {
  try {
    const report = await verifyLedger({ store, clock: systemClock, catalogues: defaultCatalogues });
    return { accounts: report.accounts, postings: report.postings, problems: report.problems };
  } catch (error) {
    return {
      accounts: 0,
      postings: 0,
      problems: [`the ledger could not be read: ${(error as Error).message}`],
    };
  }
}

/** The reader, with its refusals (no file, not a ledger, another schema) as `OperatorError`s. */
async function openReader(path: string): Promise<SqliteReader> {
  try {
    return await openSqliteReader(path);
  } catch (error) {
    throw new OperatorError((error as Error).message, { cause: error });
  }
}

/** What a failed check found, for a one-line refusal. */
function findings(check: FileCheck): string {
  const file = (check.integrity ?? []).filter((line) => line !== 'ok');
  return [...file, ...check.problems].slice(0, 5).join('; ');
}

/** `integrity_check`, then the ledger (skipped when the file itself is damaged: its answers would be noise). */
export async function checkSqliteFile(path: string): Promise<FileCheck> {
  const reader = await openReader(path);
  try {
    const integrity = await reader.integrityCheck();
    const sound = integrity.length === 1 && integrity[0] === 'ok';
    const ledger = sound
      ? await checkLedgerOf(reader)
      : { accounts: 0, postings: 0, problems: ['the ledger was not checked: the file itself is damaged'] };
    return { integrity, ...ledger, ok: sound && ledger.problems.length === 0 };
  } finally {
    await reader.close();
  }
}

function removeDatabaseFiles(path: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal', '.lock']) rmSync(`${path}${suffix}`, { force: true });
}

/** Makes a file's content and its name durable: fsync the file, then its folder. */
function syncFileAndFolder(path: string): void {
  for (const target of [path, dirname(path)]) {
    const fd = openSync(target, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

export interface BackupResult {
  path: string;
  pages: number;
  check: FileCheck;
  ms: number;
}

/**
 * Copies the database at `source` to `target` (which must not exist) and checks the copy. The
 * copy is one rollback-journal file: nothing beside it is needed to restore it.
 */
export async function backupSqlite(source: string, target: string): Promise<BackupResult> {
  const started = Date.now();
  const from = resolve(source);
  const to = resolve(target);
  if (from === to) throw new OperatorError('the backup must go to another file than the database');
  if (existsSync(to)) throw new OperatorError(`${to} exists: choose a new name (a backup never overwrites)`);
  if (!existsSync(dirname(to))) throw new OperatorError(`the folder ${dirname(to)} does not exist`);
  const partial = `${to}.partial`;
  removeDatabaseFiles(partial);
  try {
    const reader = await openReader(from);
    let pages: number;
    try {
      pages = await reader.backupTo(partial);
    } finally {
      await reader.close();
    }
    // One self-contained file: the rollback journal instead of WAL, so a copy of the backup file
    // alone is complete (restore and the server switch back to WAL).
    const db = new DatabaseSync(partial);
    try {
      db.exec('PRAGMA journal_mode = DELETE');
    } finally {
      db.close();
    }
    const check = await checkSqliteFile(partial);
    if (!check.ok) {
      throw new OperatorError(`the copy failed its check, so it was not kept: ${findings(check)}`);
    }
    syncFileAndFolder(partial);
    renameSync(partial, to);
    syncFileAndFolder(to);
    return { path: to, pages, check, ms: Date.now() - started };
  } finally {
    removeDatabaseFiles(partial);
  }
}

export interface RestoreResult {
  path: string;
  /** Schema migrations applied to the backup's copy before it was restored (an older backup). */
  migrated: boolean;
  check: FileCheck;
  ms: number;
}

/** The schema versions a file has applied; throws when it is not a creditpool database. */
function appliedVersions(db: DatabaseSync, path: string): number[] {
  try {
    return db
      .prepare('SELECT version FROM schema_migrations ORDER BY version')
      .all()
      .map((row) => Number(row.version));
  } catch (error) {
    throw new OperatorError(`${path} is not a creditpool database: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * Replaces the database at `target` by the backup at `source`; see the file comment. `force` is
 * needed when `target` exists.
 */
export async function restoreSqlite(source: string, target: string, force: boolean): Promise<RestoreResult> {
  const started = Date.now();
  const from = resolve(source);
  const to = resolve(target);
  if (from === to) throw new OperatorError('the backup and the database are the same file');
  if (!existsSync(from)) throw new OperatorError(`no backup at ${from}`);
  if (existsSync(to) && !force) {
    throw new OperatorError(`${to} exists: restoring replaces it; add --force if that is what you want`);
  }
  mkdirSync(dirname(to), { recursive: true });
  let lock: DatabaseSync;
  try {
    lock = takeWriterLock(to);
  } catch (error) {
    throw new OperatorError(
      `${(error as Error).message}: a running server holds it; stop the server, then restore`,
      { cause: error },
    );
  }
  const staging = `${to}.restoring`;
  removeDatabaseFiles(staging);
  try {
    // 1. The backup, copied aside (never opened for writing: it stays as it was).
    const src = new DatabaseSync(from, { readOnly: true });
    let before: number[];
    try {
      before = appliedVersions(src, from);
      await backup(src, staging, { rate: backupPagesPerStep });
    } finally {
      src.close();
    }
    // 2. Brought to this build's schema (an older backup), or refused (a newer one), as `serve` would.
    try {
      const store = await openSqliteStore({ path: staging });
      await store.close();
    } catch (error) {
      throw new OperatorError(
        `the backup cannot be brought to this build's schema: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const staged = new DatabaseSync(staging, { readOnly: true });
    const after = appliedVersions(staged, staging);
    staged.close();
    // 3. Checked before it replaces anything.
    const check = await checkSqliteFile(staging);
    if (!check.ok) {
      throw new OperatorError(`the backup failed its check, nothing was restored: ${findings(check)}`);
    }
    // 4. Into the target through SQLite: one transaction on the target, readers see old or new.
    const staged2 = new DatabaseSync(staging, { readOnly: true });
    try {
      await backup(staged2, to, { rate: backupPagesPerStep });
    } finally {
      staged2.close();
    }
    const restored = await checkSqliteFile(to);
    if (!restored.ok) {
      throw new OperatorError(`the restored database failed its check: ${findings(restored)}`);
    }
    return { path: to, migrated: after.length > before.length, check: restored, ms: Date.now() - started };
  } finally {
    removeDatabaseFiles(staging);
    lock.close();
  }
}
