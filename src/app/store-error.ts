/**
 * The one error class storage adapters raise for expected storage failures, so use cases and the
 * HTTP layer can tell them apart from bugs without knowing the database. Every adapter maps its
 * driver's errors to these codes; the shared contract suite (`store.contract.ts`) checks them.
 *
 * - `duplicate`: a unique key is taken (an org or account id, a posting's (account, seq) or
 *   (account, idem), a token hash).
 * - `not_found`: a `save…` names a row that does not exist.
 * - `conflict`: concurrent writers collided and the bounded retries ran out (PostgreSQL).
 * - `unavailable`: the database cannot be reached or cannot write (busy, disk full, I/O error,
 *   closed store); the operation may be retried later.
 *
 * @example
 * try { await store.transaction((tx) => tx.insertAccount(row)); }
 * catch (e) { if (e instanceof StoreError && e.code === 'duplicate') … }
 */
export type StoreErrorCode = 'duplicate' | 'not_found' | 'conflict' | 'unavailable';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export function isStoreError(error: unknown, code?: StoreErrorCode): error is StoreError {
  return error instanceof StoreError && (code === undefined || error.code === code);
}
