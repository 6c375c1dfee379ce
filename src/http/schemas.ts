/**
 * JSON schemas of every request and response (API.md). Fastify validates requests with them,
 * serializes responses with them, and `@fastify/swagger` builds `/openapi.json` from them, so the
 * document cannot drift from what the server does.
 *
 * Request bounds mirror `src/app/limits.ts` (the app layer checks again: the schemas are the first
 * fence, not the only one). Money is always a decimal string; its exactness is checked by
 * `parseUsd` in the app layer. Unknown request fields are ignored, as the API promises clients may
 * send more than it reads; responses may carry more fields than API.md shows.
 */
import {
  clientIdLengthMax,
  entriesPageMax,
  nameLengthMax,
  reasonLengthMax,
  resourceIdPattern,
  usageBatchMax,
} from '../app/limits.ts';
import { usdStringLengthMax } from '../core/money.ts';
import { policyBounds } from '../core/policy.ts';
import { tokenCountMax } from '../core/prices/index.ts';
import { problemSchema } from './errors.ts';

type Schema = Record<string, unknown>;

/** An object schema whose listed properties are all required unless named in `optional`. */
export function object(properties: Record<string, Schema>, optional: readonly string[] = []): Schema {
  return {
    type: 'object',
    required: Object.keys(properties).filter((k) => !optional.includes(k)),
    properties,
  };
}

function nullable(schema: Schema): Schema {
  const type = schema.type;
  if (typeof type === 'string') return { ...schema, type: [type, 'null'] };
  return { anyOf: [schema, { type: 'null' }] };
}

function arrayOf(items: Schema, extra: Schema = {}): Schema {
  return { type: 'array', items, ...extra };
}

/**
 * No control characters and no lone surrogate: half of a UTF-16 pair can be held by no UTF-8 text,
 * so the database stored U+FFFD instead and two different ids became one (a false
 * `idempotency_conflict`; test/faults/hostile-input.test.ts). Ajv compiles patterns with the `u`
 * flag, where a well-formed pair is one code point, outside the excluded range.
 */
const noControlCharacters = '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]+$';

// ----------------------------------------------------------------------------------------------
// Request pieces

/** A path parameter naming a resource: bounded; a malformed one is simply not found. */
export const pathId: Schema = { type: 'string', minLength: 1, maxLength: clientIdLengthMax };
export const accountId: Schema = { type: 'string', pattern: resourceIdPattern.source, maxLength: 128 };
export const clientId: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: clientIdLengthMax,
  pattern: noControlCharacters,
};
export const name: Schema = {
  type: 'string',
  minLength: 1,
  maxLength: nameLengthMax,
  pattern: noControlCharacters,
};
export const timestamp: Schema = { type: 'string', format: 'date-time', maxLength: 64 };
/** A non-negative amount in USD, as an exact decimal string. */
export const usdIn: Schema = {
  type: 'string',
  pattern: '^[0-9]+(\\.[0-9]+)?$',
  maxLength: usdStringLengthMax,
  examples: ['25', '0.35353'],
};
/** A signed amount (adjustments). */
export const signedUsdIn: Schema = { ...usdIn, pattern: '^-?[0-9]+(\\.[0-9]+)?$', examples: ['-5', '2.5'] };

const count: Schema = { type: 'integer', minimum: 0, maximum: tokenCountMax };
const countOrNull: Schema = nullable(count);

/**
 * The Messages API usage object, exactly as the API returns it. Known counts are bounded here;
 * other fields pass through (a new API field never refuses a record) and pricing validates the
 * enums it reads.
 */
export const usageObject: Schema = {
  type: 'object',
  required: ['input_tokens', 'output_tokens'],
  additionalProperties: true,
  properties: {
    input_tokens: count,
    output_tokens: count,
    cache_creation_input_tokens: countOrNull,
    cache_read_input_tokens: countOrNull,
    cache_creation: nullable({
      type: 'object',
      additionalProperties: true,
      properties: { ephemeral_5m_input_tokens: countOrNull, ephemeral_1h_input_tokens: countOrNull },
    }),
    server_tool_use: nullable({
      type: 'object',
      additionalProperties: true,
      properties: { web_search_requests: countOrNull, web_fetch_requests: countOrNull },
    }),
    service_tier: nullable({ type: 'string', maxLength: 64 }),
    inference_geo: nullable({ type: 'string', maxLength: 64 }),
    speed: nullable({ type: 'string', maxLength: 64 }),
  },
};

export const usageRecord: Schema = object(
  {
    id: clientId,
    account_id: accountId,
    occurred_at: timestamp,
    surface: name,
    app: nullable(name),
    model: name,
    usage: usageObject,
  },
  ['app'],
);

// ----------------------------------------------------------------------------------------------
// Request bodies

export const tokenBody = object(
  {
    role: { type: 'string', enum: ['admin', 'meter', 'account', 'org_admin'] },
    account_id: nullable(accountId),
    org_id: nullable(accountId),
  },
  ['account_id', 'org_id'],
);

export const orgBody = object({ id: accountId, billing_anchor: timestamp });

export const accountBody = object(
  {
    id: accountId,
    kind: { type: 'string', enum: ['subscription', 'api'] },
    plan: nullable(name),
    billing_anchor: nullable(timestamp),
    org_id: nullable(accountId),
  },
  ['plan', 'billing_anchor', 'org_id'],
);

/** Exactly one change per request (the app layer says which combination is wrong). */
export const accountPatchBody = object(
  {
    plan: name,
    status: { type: 'string', enum: ['canceled'] },
    org_id: { type: 'null' },
  },
  ['plan', 'status', 'org_id'],
);

export const usageCreditsBody = object({ enabled: { type: 'boolean' }, monthly_limit_usd: nullable(usdIn) }, [
  'monthly_limit_usd',
]);

export const appPolicyBody = object({ cycle_cap_usd: nullable(usdIn), blocked: { type: 'boolean' } }, [
  'cycle_cap_usd',
  'blocked',
]);

/** Seat tiers and member ids as keys; bounded in number so a body cannot lock thousands of rows. */
const limitMap = (keyPattern: string, maxProperties: number): Schema => ({
  type: 'object',
  maxProperties,
  propertyNames: { pattern: keyPattern, maxLength: 128 },
  additionalProperties: nullable(usdIn),
});

export const orgUsageCreditsMembersMax = 1000;

export const orgUsageCreditsBody = object(
  {
    enabled: { type: 'boolean' },
    monthly_limit_usd: nullable(usdIn),
    seat_tier_limits_usd: limitMap('^[a-z0-9_]+$', 16),
    member_limits_usd: limitMap(resourceIdPattern.source, orgUsageCreditsMembersMax),
  },
  ['monthly_limit_usd', 'seat_tier_limits_usd', 'member_limits_usd'],
);

/** The widest hold TTL any policy version may allow; the version in force (R11: 24 h) is checked by the app. */
export const holdTtlSecondsMax = policyBounds.holdTtlSecondsMax;

export const authorizeBody = object(
  {
    account_id: accountId,
    surface: name,
    app: nullable(name),
    model: nullable(name),
    hold: nullable(
      object(
        {
          id: clientId,
          estimate_usd: usdIn,
          estimate_usage: usageObject,
          ttl_seconds: { type: 'integer', minimum: 1, maximum: holdTtlSecondsMax },
        },
        ['estimate_usd', 'estimate_usage', 'ttl_seconds'],
      ),
    ),
  },
  ['app', 'model', 'hold'],
);

export const settleBody = object({ record: usageRecord });

export const voidBody = nullable(object({ account_id: accountId }, ['account_id']));

export const usageBody = object({
  records: arrayOf(usageRecord, { minItems: 1, maxItems: usageBatchMax }),
});

export const quoteBody = object({ model: name, usage: usageObject, at: timestamp }, ['at']);

export const adjustmentBody = object(
  {
    id: clientId,
    kind: { type: 'string', enum: ['adjustment', 'reversal', 'reclassification'] },
    pool: {
      type: 'string',
      enum: ['sdk_credit', 'usage_credits', 'subscription', 'written_off', 'pay_as_you_go'],
    },
    amount_usd: signedUsdIn,
    reason: { type: 'string', minLength: 1, maxLength: reasonLengthMax },
    record_id: clientId,
    to_class: { type: 'string', enum: ['programmatic', 'interactive'] },
  },
  ['kind', 'pool', 'amount_usd', 'record_id', 'to_class'],
);

export const testClockBody = object({ now: timestamp });

export const entriesQuery = object(
  {
    cycle_start: timestamp,
    // Query strings are strings: the server does not coerce types, so the bound is a pattern.
    limit: { type: 'string', pattern: `^[1-9][0-9]{0,${String(entriesPageMax).length - 1}}$` },
    cursor: { type: 'string', pattern: '^[0-9]{1,15}$' },
  },
  ['cycle_start', 'limit', 'cursor'],
);

// ----------------------------------------------------------------------------------------------
// Response pieces

const usd: Schema = { type: 'string', description: 'exact decimal USD', examples: ['19.87345'] };
const time: Schema = { type: 'string', format: 'date-time' };
const str: Schema = { type: 'string' };
const bool: Schema = { type: 'boolean' };
const int: Schema = { type: 'integer' };

const cycle = object({ start: time, end: time });

export const accountView = object({
  id: str,
  kind: { type: 'string', enum: ['subscription', 'api'] },
  plan: nullable(str),
  pending_plan: nullable(str),
  status: str,
  org_id: nullable(str),
  billing_anchor: time,
  cycle,
  sdk_credit: object({
    status: { type: 'string', enum: ['not_eligible', 'unclaimed', 'claimed'] },
    claimed_at: nullable(time),
    granted_usd: usd,
    used_usd: usd,
    held_usd: usd,
    remaining_usd: usd,
    expires_at: time,
    exhausted_at: nullable(time),
  }),
  usage_credits: object({
    enabled: bool,
    monthly_limit_usd: nullable(usd),
    member_limit_usd: nullable(usd),
    spent_usd: usd,
    held_usd: usd,
  }),
  subscription_limits: nullable(
    object({
      session: object({ used_usd: usd, limit_usd: usd, resets_at: nullable(time) }),
      weekly: object({ used_usd: usd, limit_usd: usd, resets_at: nullable(time) }),
    }),
  ),
  apps: arrayOf(object({ app: str, cycle_cap_usd: nullable(usd), blocked: bool })),
  last_activity_at: nullable(time),
});

export const orgView = object({
  id: str,
  billing_anchor: time,
  created_at: time,
  usage_credits: object({
    enabled: bool,
    monthly_limit_usd: nullable(usd),
    seat_tier_limits_usd: { type: 'object', additionalProperties: usd },
  }),
});

export const tokenResponse = object({
  token: { type: 'string', description: 'shown once; only its hash is stored' },
  role: str,
  account_id: nullable(str),
  org_id: nullable(str),
});

export const claimResponse = object({
  status: { type: 'string', enum: ['claimed'] },
  claimed_at: time,
  effective_at: time,
  replayed: bool,
});

export const appPolicyResponse = object({
  account_id: str,
  app: str,
  cycle_cap_usd: nullable(usd),
  blocked: bool,
});

export const membersResponse = object({ members: arrayOf(accountView) });

export const authorizeResponse = object({
  decision: { type: 'string', enum: ['allow', 'deny'] },
  reason: nullable(str),
  source: nullable({
    type: 'string',
    enum: ['sdk_credit', 'usage_credits', 'subscription', 'pay_as_you_go'],
  }),
  hold: nullable(object({ id: str, amount_usd: usd, expires_at: time })),
  retry_at: nullable(time),
  class: { type: 'string', enum: ['programmatic', 'interactive'] },
  replayed: bool,
});

export const usageResult = object({
  id: str,
  status: { type: 'string', enum: ['recorded', 'replayed', 'rejected'] },
  error: nullable(object({ code: str, detail: str })),
  class: nullable({ type: 'string', enum: ['programmatic', 'interactive'] }),
  cost_usd: nullable(usd),
  charges: arrayOf(object({ source: str, amount_usd: usd })),
  written_off_usd: usd,
});

export const usageResponse = object({ results: arrayOf(usageResult) });

export const voidResponse = object({
  id: str,
  account_id: str,
  status: { type: 'string', enum: ['active', 'settled', 'voided', 'expired'] },
  released_usd: usd,
  expires_at: time,
});

export const quoteResponse = object({
  cost_usd: usd,
  model: str,
  at: time,
  lines: arrayOf(object({ category: str, quantity: int, unit_price_usd: usd, amount_usd: usd })),
  modifiers: arrayOf(str),
});

const costBy = (key: string) => arrayOf(object({ [key]: str, cost_usd: usd }));

export const statementResponse = object({
  account_id: str,
  cycle: object({ start: time, end: time, index: int }),
  closed: bool,
  sdk_credit: object({
    granted_usd: usd,
    used_usd: usd,
    adjusted_usd: usd,
    expired_usd: usd,
    held_usd: usd,
    remaining_usd: usd,
    exhausted_at: nullable(time),
  }),
  usage_credits: object({
    charged_usd: usd,
    billed_usd: { type: 'string', description: 'charged_usd rounded to the cent, half up (R17)' },
    held_usd: usd,
  }),
  subscription_usd: usd,
  pay_as_you_go_usd: usd,
  written_off_usd: usd,
  adjustments_usd: usd,
  by_surface: costBy('surface'),
  by_app: costBy('app'),
  by_model: costBy('model'),
});

export const entriesResponse = object({
  entries: arrayOf(
    object({
      id: str,
      seq: int,
      at: time,
      kind: str,
      pool: str,
      amount_usd: usd,
      ref: nullable(str),
      corrects: nullable(int),
      cycle_start: time,
      surface: nullable(str),
      app: nullable(str),
      model: nullable(str),
      note: nullable(str),
    }),
  ),
  next_cursor: nullable(str),
});

export const cyclesResponse = object({
  cycles: arrayOf(object({ start: time, end: time, index: int, closed: bool })),
});

export const adjustmentResponse = object({
  id: str,
  kind: str,
  seq: int,
  corrects: nullable(int),
  replayed: bool,
});

export const pricesResponse = object({
  at: time,
  rows: arrayOf(
    object({
      model: str,
      aliases: arrayOf(str),
      mode: { type: 'string', enum: ['standard', 'fast'] },
      prompt_tokens_above: nullable(int),
      effective_from: time,
      effective_until: nullable(time),
      us_only_inference: bool,
      input_usd_per_mtok: usd,
      cache_write_5m_usd_per_mtok: usd,
      cache_write_1h_usd_per_mtok: usd,
      cache_read_usd_per_mtok: usd,
      output_usd_per_mtok: usd,
    }),
  ),
  modifiers: nullable(
    object({
      effective_from: time,
      batch_multiplier: str,
      us_only_multiplier: str,
      web_search_usd_per_thousand: usd,
    }),
  ),
});

export const plansResponse = object({
  at: time,
  schema: str,
  version: str,
  effective_from: time,
  plans: arrayOf(
    object({
      id: str,
      label: str,
      tier: { type: 'string', enum: ['individual', 'team', 'enterprise', 'free'] },
      seat: bool,
      credit_usd: { ...nullable(usd), description: 'the monthly Agent SDK credit; null = not eligible (R2)' },
      session_limit_usd: usd,
      weekly_limit_usd: usd,
    }),
  ),
});

export const surfacesResponse = object({
  at: time,
  schema: str,
  version: str,
  effective_from: time,
  rules: arrayOf(
    object({
      pattern: { type: 'string', description: 'an exact surface, or a prefix ending in *' },
      class: { type: 'string', enum: ['programmatic', 'interactive'] },
      label: str,
    }),
  ),
});

export const meResponse = object({
  role: { type: 'string', enum: ['admin', 'meter', 'account', 'org_admin'] },
  account_id: nullable(str),
  org_id: nullable(str),
  now: { ...time, description: "the server's clock (a test clock when the server runs one)" },
});

export const healthResponse = object({ status: { type: 'string', enum: ['ok'] } });

export const testClockResponse = object({ now: time });

/** Every route's error answers, documented once. */
export const problemResponses = {
  '4xx': { ...problemSchema, description: 'problem details (RFC 9457)' },
  '5xx': { ...problemSchema, description: 'problem details (RFC 9457)' },
};

/** A route's `response` schema: its success answers plus the problem answers. */
export function responses(success: Record<number, Schema>): Record<string, Schema> {
  return { ...success, ...problemResponses };
}
