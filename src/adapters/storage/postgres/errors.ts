/**
 * How PostgreSQL and client errors become `StoreError`s, and the retry policy for collisions.
 *
 * - 40001 (serialization failure) and 40P01 (deadlock detected) mean concurrent writers collided;
 *   the whole transaction is re-run, at most `transactionAttemptsMax` times, then `conflict`.
 * - 23505 (unique violation) is `duplicate`.
 * - Anything that says the server cannot be reached or cannot serve (refused, reset, admin
 *   shutdown, too many connections, disk full, a closed pool) is `unavailable`: the operation did
 *   not happen, or (a connection lost during COMMIT) its outcome is unknown; either way PostgreSQL
 *   never keeps half of a transaction, and the client retries with the same idempotency key.
 * - Everything else (a bug, an error thrown by the use case) passes through unchanged.
 */
import { StoreError } from '../../../app/store-error.ts';

/**
 * Attempts per transaction when writers collide. Rows are locked in a fixed order (org, then
 * accounts by ascending id), so collisions are rare; more than a few in a row means contention a
 * retry will not fix, and the caller should hear about it.
 */
export const transactionAttemptsMax = 5;

/** Backoff before attempt n+1: a random delay up to base × 2^n ms (full jitter), so colliding
 * transactions do not collide again in step. */
export const retryBackoffBaseMs = 2;

export function retryDelayMs(attempt: number): number {
  return Math.random() * retryBackoffBaseMs * 2 ** attempt;
}

/** Backoff before trying a lost connection's work again: the pool reconnects in the meantime. */
export const reconnectBackoffBaseMs = 10;

export function reconnectDelayMs(attempt: number): number {
  return Math.random() * reconnectBackoffBaseMs * 2 ** attempt;
}

const collisionCodes = new Set(['40001', '40P01']);

/** SQLSTATEs after which the server closes the session. */
const connectionLossSqlStates = new Set([
  '57P01', // admin_shutdown (pg_terminate_backend, fast shutdown)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '53300', // too_many_connections
]);

/** SQLSTATEs that mean "the server cannot write now" while the session lives on. */
const cannotServeCodes = new Set([
  'CONNECTION_ENDED', // the pool is closing (`close()`): no new work, its connections finish theirs
  '53100', // disk_full
  '53200', // out_of_memory
  '58030', // io_error
  '25006', // read_only_sql_transaction: a standby, or a primary being failed over
]);

/** Client-side codes from `postgres` and Node's net stack: the connection is gone. */
const connectionLossClientCodes = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

export function isCollision(error: unknown): boolean {
  return !(error instanceof StoreError) && collisionCodes.has(codeOf(error) ?? '');
}

/**
 * The connection this error came from is closed (or closing). The transaction on it is lost:
 * PostgreSQL rolls it back, and nothing more may be sent through its handle (see
 * `postgres-store.ts`, "Lost connections").
 */
export function isConnectionLoss(error: unknown): boolean {
  const code = codeOf(error);
  if (code === undefined || error instanceof StoreError) return false;
  // Class 08: connection exceptions.
  return connectionLossSqlStates.has(code) || connectionLossClientCodes.has(code) || code.startsWith('08');
}

export function isUnavailable(error: unknown): boolean {
  if (error instanceof StoreError) return error.code === 'unavailable';
  return isConnectionLoss(error) || cannotServeCodes.has(codeOf(error) ?? '');
}

/**
 * Maps a driver error to a `StoreError` where one applies; collisions stay raw so the transaction
 * loop can see and retry them; other errors are returned unchanged.
 */
export function toStoreError(error: unknown): unknown {
  if (error instanceof StoreError || isCollision(error)) return error;
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === '23505') return new StoreError('duplicate', message, { cause: error });
  if (isUnavailable(error)) {
    return new StoreError('unavailable', `PostgreSQL unavailable: ${message}`, { cause: error });
  }
  return error;
}
