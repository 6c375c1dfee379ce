/**
 * A read-only view of a SQLite ledger file, for the operator tools (`creditpool verify`, `backup`,
 * `restore`). It implements the `Store` port's reads (so `verifyLedger` runs on it unchanged) and
 * refuses every transaction.
 *
 * Why a separate opener: a running server holds the file's writer lock (`<path>.lock`, see
 * `takeWriterLock`), so `openSqliteStore` is refused while it runs. Readers need no lock: this one
 * opens its own read-only connection, and every `read` (and the integrity check, and a backup) runs
 * inside one read transaction, that is one WAL snapshot of committed data, while the server keeps
 * writing. It never creates the file, never migrates it, and writes nothing but SQLite's own
 * `-wal`/`-shm` bookkeeping (which a read-only connection may create when the server is not running).
 *
 * @example
 * const reader = await openSqliteReader('data/creditpool.db');
 * const report = await verifyLedger({ store: reader, clock: systemClock, catalogues: defaultCatalogues });
 * const integrity = await reader.integrityCheck(); // ['ok'] when the file is sound
 * await reader.close();
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { backup, DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import type { ReadTx, Store, Tx } from '../../../app/ports.ts';
import { StoreError } from '../../../app/store-error.ts';
import { migrations } from './migrations.ts';
import { Queries } from './queries.ts';
import { busyTimeoutMs, SqliteReadTx, storeErrorOf } from './sqlite-store.ts';

/**
 * Pages per step of `backupTo`: all of them at once. SQLite restarts a backup from the first page
 * whenever another connection writes the source between two steps, so under a busy server a
 * stepwise copy may never finish; one step copies one snapshot, inside one read transaction. In WAL
 * mode that blocks no writer (the WAL only grows until the copy ends). node:sqlite refuses a
 * negative rate (SQLite's "all pages"), so the largest int32 stands for it.
 */
export const backupPagesPerStep = 2_147_483_647;

/** Lines `PRAGMA integrity_check` reports at most: past this many the file is beyond reading anyway. */
export const integrityErrorsMax = 100;

export class SqliteReader implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #q: Queries;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** Use `openSqliteReader`. */
  constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
    this.#q = new Queries(db);
  }

  transaction<T>(_fn: (tx: Tx) => Promise<T>): Promise<T> {
    return Promise.reject(new StoreError('unavailable', `${this.path} is open read-only`));
  }

  /** One read transaction (one snapshot) per call; calls run one at a time. */
  read<T>(fn: (tx: ReadTx) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      const view = new SqliteReadTx(this.#q);
      this.#db.exec('BEGIN');
      try {
        return await fn(view);
      } finally {
        view.finish();
        this.#db.exec('COMMIT');
      }
    });
  }

  async ping(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      return this.#q.ping();
    } catch {
      return false;
    }
  }

  /**
   * `PRAGMA integrity_check`: every page, index and constraint of the file. Returns `['ok']` when
   * the file is sound, otherwise SQLite's own lines (at most `integrityErrorsMax`). Reads the whole
   * file: on a large database, seconds.
   */
  integrityCheck(): Promise<string[]> {
    return this.#exclusive(async () => {
      try {
        const rows = this.#db.prepare(`PRAGMA integrity_check(${integrityErrorsMax})`).all();
        return rows.map((row) => String(Object.values(row)[0]));
      } catch (error) {
        // A file too damaged to even check says so through the error.
        return [`integrity_check failed: ${(error as Error).message}`];
      }
    });
  }

  /**
   * Copies one consistent snapshot of the database to `target` with SQLite's online backup
   * (`node:sqlite` `backup()`): the server may keep writing meanwhile. Resolves with the number of
   * pages copied. `target` is written through SQLite (created if missing, replaced page by page if
   * not): callers that must not overwrite check first.
   */
  backupTo(target: string): Promise<number> {
    return this.#exclusive(() => backup(this.#db, target, { rate: backupPagesPerStep }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#tail;
    this.#db.close();
  }

  #exclusive<T>(section: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('unavailable', 'the reader is closed'));
    const result = this.#tail.then(section);
    this.#tail = result.catch(() => undefined);
    return result.catch((error: unknown) => {
      throw storeErrorOf(error);
    });
  }
}

/**
 * The schema versions applied to the file, checked against this build's migrations: a file from a
 * newer build, or one not yet migrated to this build's schema, is refused with what to do.
 */
function checkSchema(db: DatabaseSync, path: string): void {
  let applied: number[];
  try {
    applied = db
      .prepare('SELECT version FROM schema_migrations ORDER BY version')
      .all()
      .map((row) => Number(row.version));
  } catch (error) {
    if (/no such table/.test((error as Error).message)) {
      throw new Error(`${path} is not a creditpool database (no schema_migrations table)`, { cause: error });
    }
    throw error;
  }
  const known = migrations.map((m) => m.version).sort((a, b) => a - b);
  const unknown = applied.filter((v) => !known.includes(v));
  if (unknown.length > 0) {
    throw new Error(
      `${path} has schema migrations this build does not know (${unknown.join(', ')}): it was written by a newer creditpool`,
    );
  }
  const pending = known.filter((v) => !applied.includes(v));
  if (pending.length > 0) {
    throw new Error(
      `${path} is not migrated to this build's schema (pending: ${pending.join(', ')}); ` +
        'start `creditpool serve` on it once (it migrates at open), then run this again',
    );
  }
}

const sqliteCantopen = 14;

/**
 * A read-only connection. A WAL database needs its `-shm` file even to be read; on a read-only
 * file system (a read-only mount, a backup medium) SQLite cannot create it and refuses to open.
 * Then, if there is no `-wal` file with content (a cleanly closed database keeps none), nothing
 * can change the file and nothing is pending in a WAL, so it is opened `immutable` (no locks, no
 * `-shm`). With a non-empty `-wal` on such a file system the commits in it would be ignored, so
 * that case is refused with what to do.
 */
function openReadOnly(path: string): DatabaseSync {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly: true });
    // SQLite opens the file lazily: the first read is where a missing -shm shows.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch (error) {
    db?.close();
    if ((error as { errcode?: unknown }).errcode !== sqliteCantopen) throw error;
    const wal = `${path}-wal`;
    if (existsSync(wal) && statSync(wal).size > 0) {
      throw new Error(
        `${path} cannot be opened read-only here (read-only folder?) and its -wal file holds commits not yet in the database: copy the database with its -wal to a writable folder first`,
        { cause: error },
      );
    }
    const url = pathToFileURL(path);
    url.searchParams.set('immutable', '1');
    return new DatabaseSync(url, { readOnly: true });
  }
}

/**
 * Opens an existing SQLite ledger read-only. Throws when the file is missing, is not a creditpool
 * database, or its schema is not this build's.
 */
export async function openSqliteReader(path: string): Promise<SqliteReader> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new Error(`no database at ${absolute}`);
  let db: DatabaseSync | undefined;
  try {
    db = openReadOnly(absolute);
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    checkSchema(db, absolute);
    return new SqliteReader(absolute, db);
  } catch (error) {
    db?.close();
    throw storeErrorOf(error);
  }
}
