/** The PostgreSQL storage adapter: see README.md in this folder. */

export { migrations } from './migrations.ts';
export {
  openPostgresStore,
  type PostgresStore,
  type PostgresStoreOptions,
  poolSizeDefault,
} from './postgres-store.ts';
