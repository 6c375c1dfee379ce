/**
 * Chooses the storage adapter from configuration: PostgreSQL when a database URL is given
 * (`databaseUrl`, else the `DATABASE_URL` environment variable), else the embedded SQLite file.
 * The one place the CLI and the server decide, so both read the same settings the same way.
 *
 * @example
 * const store = await openStore({ db: './data/creditpool.db' });          // SQLite
 * const store = await openStore({ databaseUrl: 'postgres://…/creditpool' }); // PostgreSQL
 */
import type { Store } from '../../app/ports.ts';
import { openPostgresStore } from './postgres/index.ts';
import { openSqliteStore } from './sqlite/index.ts';

/** Where the embedded database lives unless told otherwise. */
export const sqlitePathDefault = './data/creditpool.db';

export interface OpenStoreOptions {
  /** SQLite file path (or ':memory:'); used only when no database URL is given. */
  db?: string;
  /** A `postgres://` URL; wins over `db`. */
  databaseUrl?: string;
}

export function openStore(
  options: OpenStoreOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Store> {
  // An empty DATABASE_URL (a blank line in an env file) means "not set", not "connect to ''".
  const url = options.databaseUrl || env.DATABASE_URL || undefined;
  if (url !== undefined) return openPostgresStore({ url });
  return openSqliteStore({ path: options.db ?? sqlitePathDefault });
}
