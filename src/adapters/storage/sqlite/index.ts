/** The SQLite store's public surface; see README.md in this folder. */
export { type Migration, migrations } from './migrations.ts';
export {
  aggregatesCachedMax,
  busyTimeoutMs,
  groupOperationsMax,
  openSqliteStore,
  pageLimitMax,
  type SqliteStore,
  type SqliteStoreOptions,
  type SqliteSynchronous,
  writerPragmas,
} from './sqlite-store.ts';
