/**
 * One error class for every refusal the app layer raises as an error (a deny from `authorize` and a
 * rejected usage record are answers, not errors). `code` is stable and machine-readable; the HTTP
 * layer maps codes to statuses in one place (`src/http/errors.ts`).
 */
export type AppErrorCode =
  | 'invalid_request'
  | 'not_found'
  | 'already_exists'
  | 'forbidden'
  | 'idempotency_conflict'
  | 'unknown_model'
  | 'unknown_surface'
  | 'unknown_plan'
  | 'not_eligible'
  | 'event_too_old'
  | 'event_in_future'
  | 'batch_too_large'
  | 'hold_not_active'
  | 'hold_ambiguous'
  | 'insufficient_credit'
  | 'clock_backwards'
  | 'unavailable';

export class AppError extends Error {
  readonly code: AppErrorCode;
  constructor(code: AppErrorCode, message: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
  }
}

/** For `switch` statements over closed unions: a bug if reached. */
export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
