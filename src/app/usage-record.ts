/**
 * A usage record from outside, checked, classified (R1, R3) and priced, before any account is
 * touched. Everything here is a function of the record and the catalogues; refusals are values.
 */
import { hash } from 'node:crypto';
import { policyAt } from '../core/policy.ts';
import { price } from '../core/prices/index.ts';
import { classifySurface } from '../core/surfaces.ts';
import { type Instant, parseInstant } from '../core/time.ts';
import type { Catalogues } from './context.ts';
import { isClientId, isName, isResourceId } from './limits.ts';
import type { Pool, PostingRow, UsageClassName } from './model.ts';

export type RecordRefusal =
  | 'invalid_request'
  | 'unknown_surface'
  | 'unknown_model'
  | 'event_in_future'
  | 'event_too_old'
  | 'not_found'
  | 'idempotency_conflict'
  | 'credit_not_claimed';

export interface PreparedRecord {
  id: string;
  accountId: string;
  occurredAt: Instant;
  surface: string;
  app: string | null;
  model: string;
  usageClass: UsageClassName;
  /** Draws on the Agent SDK credit: programmatic, under a policy version where the credit is active. */
  drawsCredit: boolean;
  costUnits: bigint;
  hash: string;
}

export interface Charge {
  source: Pool;
  amount_usd: bigint;
}

/** A record's result, shaped as the API's (money as `bigint`; the HTTP layer formats it). */
export interface UsageResult {
  id: string;
  status: 'recorded' | 'replayed' | 'rejected';
  error: { code: RecordRefusal; detail: string } | null;
  class: UsageClassName | null;
  cost_usd: bigint | null;
  charges: Charge[];
  written_off_usd: bigint;
}

export function rejected(
  id: string,
  code: RecordRefusal,
  detail: string,
  usageClass: UsageClassName | null = null,
) {
  const result: UsageResult = {
    id,
    status: 'rejected',
    error: { code, detail },
    class: usageClass,
    cost_usd: null,
    charges: [],
    written_off_usd: 0n,
  };
  return result;
}

/** The result of a booked usage posting, for the first answer and for every replay (R12). */
export function resultOfPosting(
  id: string,
  posting: PostingRow,
  status: 'recorded' | 'replayed',
): UsageResult {
  const charges: Charge[] = [];
  if (posting.creditUnits !== 0n) charges.push({ source: 'sdk_credit', amount_usd: -posting.creditUnits });
  if (posting.ucUnits !== 0n) charges.push({ source: 'usage_credits', amount_usd: posting.ucUnits });
  if (posting.subscriptionUnits !== 0n)
    charges.push({ source: 'subscription', amount_usd: posting.subscriptionUnits });
  if (posting.paygUnits !== 0n) charges.push({ source: 'pay_as_you_go', amount_usd: posting.paygUnits });
  return {
    id,
    status,
    error: null,
    class: posting.usageClass,
    cost_usd: posting.costUnits,
    charges,
    written_off_usd: posting.writtenOffUnits,
  };
}

export type Prepared = { ok: true; record: PreparedRecord } | { ok: false; result: UsageResult };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks one record, in precedence order: shape, time (R13: at most the future skew ahead),
 * surface (R1), price (unknown model, malformed usage). Account-dependent checks (claim, closed
 * cycle, idempotency) come later, under the account's lock.
 */
export function prepareRecord(raw: unknown, now: Instant, catalogues: Catalogues): Prepared {
  const id = isPlainObject(raw) && isClientId(raw.id) ? raw.id : null;
  const fail = (code: RecordRefusal, detail: string): Prepared => ({
    ok: false,
    result: rejected(id ?? String(isPlainObject(raw) ? (raw.id ?? '') : ''), code, detail),
  });
  if (!isPlainObject(raw)) return fail('invalid_request', 'a record must be an object');
  if (id === null)
    return fail('invalid_request', 'id must be a string of 1 to 256 characters without control characters');
  if (!isResourceId(raw.account_id)) return fail('invalid_request', 'account_id must be an account id');
  if (typeof raw.occurred_at !== 'string')
    return fail('invalid_request', 'occurred_at must be an RFC 3339 timestamp');
  let occurredAt: Instant;
  try {
    occurredAt = parseInstant(raw.occurred_at);
  } catch (error) {
    return fail('invalid_request', (error as Error).message);
  }
  if (!isName(raw.surface)) return fail('invalid_request', 'surface must be a string of 1 to 128 characters');
  const app = raw.app ?? null;
  if (app !== null && !isName(app))
    return fail('invalid_request', 'app must be null or a string of 1 to 128 characters');
  if (!isName(raw.model)) return fail('invalid_request', 'model must be a string of 1 to 128 characters');
  if (!isPlainObject(raw.usage)) return fail('invalid_request', 'usage must be a Messages API usage object');
  const policy = policyAt(now, catalogues.policy);
  if (occurredAt > now + policy.futureSkewMaxMs) {
    return fail(
      'event_in_future',
      `occurred_at is more than ${policy.futureSkewMaxMs / 1000} s ahead of the server clock`,
    );
  }
  const classified = classifySurface(raw.surface, app, occurredAt, catalogues.surfaces);
  if (!classified.ok) return fail('unknown_surface', classified.detail);
  const priced = price(raw.model, raw.usage, occurredAt, catalogues.prices);
  if (!priced.ok)
    return fail(priced.code === 'unknown_model' ? 'unknown_model' : 'invalid_request', priced.detail);
  const usageClass = classified.usageClass;
  return {
    ok: true,
    record: {
      id,
      accountId: raw.account_id,
      occurredAt,
      surface: raw.surface,
      app,
      model: raw.model,
      usageClass,
      drawsCredit: usageClass === 'programmatic' && policyAt(occurredAt, catalogues.policy).sdkCreditActive,
      costUnits: priced.totalUnits,
      hash: requestHash([raw.account_id, occurredAt, raw.surface, app, raw.model, canonical(raw.usage)]),
    },
  };
}

/**
 * Hash of a normalized request (R12): the same content under the same id is a replay, other
 * content a conflict. 128 bits of SHA-256, base64url: compact to store, collision-free in practice.
 */
export function requestHash(parts: unknown[]): string {
  // One-shot `hash` avoids a Hash object per record (measured: about half the cost per call).
  return hash('sha256', JSON.stringify(parts), 'base64url').slice(0, 22);
}

/** A JSON value with object keys sorted, so equal content hashes equally whatever the key order. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical(value[key]);
    return out;
  }
  return value;
}
