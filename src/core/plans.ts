/**
 * Plans (R2) and their subscription limits (R10), as a dated catalogue.
 *
 * The Agent SDK credit per plan is published (policy.md F4): Pro $20, Max 5x $100, Max 20x $200,
 * Team Standard seat $20, Team Premium seat $100, Enterprise usage-based $20, Enterprise Premium
 * seat $200; Enterprise Standard seats and free accounts are not eligible (`sdkCreditUnits: null`).
 *
 * The subscription limits are NOT published (F12 gives only ratios: Max 5x = 5 × Pro, Max 20x =
 * 20 × Pro). The amounts below are ASSUMPTIONS, chosen so the ratios hold and Pro matches the
 * API.md example; an operator replaces them with their own catalogue (`parsePlanCatalogue`, a
 * later `effective_from`) without a release:
 *
 * | plan                | session (5 h) | weekly (7 days) | basis                       |
 * | ------------------- | ------------- | --------------- | --------------------------- |
 * | pro                 | $5            | $50             | API.md example              |
 * | max_5x              | $25           | $250            | 5 × Pro (F12)               |
 * | max_20x             | $100          | $1,000          | 20 × Pro (F12)              |
 * | team_standard       | $5            | $50             | = Pro (same price tier)     |
 * | team_premium        | $25           | $250            | = Max 5x (same credit)      |
 * | enterprise_usage    | $5            | $50             | = Pro (same credit)         |
 * | enterprise_premium  | $100          | $1,000          | = Max 20x (same credit)     |
 * | enterprise_standard | $5            | $50             | = Pro                       |
 * | free                | $1            | $5              | small; a fifth of Pro's     |
 *
 * Limits are measured in API-rate dollars (units, R18), like every other amount.
 *
 * @example
 * planAt('max_5x', at)?.sdkCreditUnits; // 100_000_000_000_000n ($100)
 * planAt('enterprise_standard', at)?.sdkCreditUnits; // null: not eligible
 * isSeatPlan('team_premium'); // true
 */
import {
  allowKeys,
  type DataErrorFactory,
  readArray,
  readInstant,
  readObject,
  readText,
  readUsd,
} from './data-fields.ts';
import { formatUsd, usd } from './money.ts';
import { formatInstant, type Instant, msPerDay, msPerHour } from './time.ts';

export type PlanId = string; // 'pro' | 'max_5x' | 'max_20x' | 'team_standard' | 'team_premium' | 'enterprise_usage' | 'enterprise_premium' | 'enterprise_standard' | 'free'

export type PlanTier = 'individual' | 'team' | 'enterprise' | 'free';

export interface Plan {
  id: PlanId;
  label: string;
  tier: PlanTier;
  /** An org seat (`team_*`, `enterprise_*`): its member belongs to an org. */
  seat: boolean;
  /** The monthly Agent SDK credit; null = not eligible (R2). */
  sdkCreditUnits: bigint | null;
  /** R10: API-rate dollars per 5-hour session window (an assumption; see the module comment). */
  sessionLimitUnits: bigint;
  /** R10: API-rate dollars per rolling 7-day window (an assumption; see the module comment). */
  weeklyLimitUnits: bigint;
}

export interface PlanCatalogue {
  version: string;
  effectiveFrom: Instant;
  plans: Plan[];
}

/** R10: the session window opens with the first counted request and lasts 5 hours. */
export const sessionWindowMs = 5 * msPerHour;
/** R10: the weekly window lasts 7 days. */
export const weeklyWindowMs = 7 * msPerDay;

/** Plans per catalogue: a price list, not a customer list. */
export const cataloguePlansMax = 100;
/** Catalogues per timeline. */
export const planCataloguesMax = 100;

const seatPrefixes = ['team_', 'enterprise_'] as const;

/**
 * Whether a plan id is an org seat. Decided by the id alone (`team_*`, `enterprise_*`), so it
 * needs no catalogue; `parsePlanCatalogue` refuses a plan whose tier disagrees with its id, so
 * an operator's new seat (`team_plus`) follows the same rule.
 *
 * @example
 * isSeatPlan('enterprise_standard'); // true
 * isSeatPlan('max_20x'); // false
 */
export function isSeatPlan(id: PlanId): boolean {
  return seatPrefixes.some((prefix) => id.startsWith(prefix));
}

function plan(
  id: PlanId,
  label: string,
  tier: PlanTier,
  creditUsd: bigint | null,
  sessionUsd: bigint,
  weeklyUsd: bigint,
): Plan {
  return Object.freeze({
    id,
    label,
    tier,
    seat: isSeatPlan(id),
    sdkCreditUnits: creditUsd === null ? null : usd(creditUsd),
    sessionLimitUnits: usd(sessionUsd),
    weeklyLimitUnits: usd(weeklyUsd),
  });
}

/**
 * The default catalogues, sorted by `effectiveFrom`. One so far, in force from the start: the
 * credit amounts only matter once the policy timeline activates the credit (R3), and the limits
 * apply before and after.
 */
export const defaultPlanCatalogues: readonly PlanCatalogue[] = Object.freeze([
  Object.freeze({
    version: '2026-06-15.f4',
    effectiveFrom: 0,
    plans: Object.freeze([
      // id, label, tier, credit $, session $, weekly $ (whole USD as bigint; limits are assumptions).
      plan('pro', 'Pro', 'individual', 20n, 5n, 50n),
      plan('max_5x', 'Max 5x', 'individual', 100n, 25n, 250n),
      plan('max_20x', 'Max 20x', 'individual', 200n, 100n, 1000n),
      plan('team_standard', 'Team Standard seat', 'team', 20n, 5n, 50n),
      plan('team_premium', 'Team Premium seat', 'team', 100n, 25n, 250n),
      plan('enterprise_usage', 'Enterprise usage-based', 'enterprise', 20n, 5n, 50n),
      plan('enterprise_premium', 'Enterprise Premium seat', 'enterprise', 200n, 100n, 1000n),
      plan('enterprise_standard', 'Enterprise Standard seat', 'enterprise', null, 5n, 50n),
      plan('free', 'Free', 'free', null, 1n, 5n),
    ]) as Plan[],
  }),
]);

/**
 * The catalogue in force at `at`: the last with `effectiveFrom <= at`; an instant before the
 * first catalogue uses the first (there is no earlier list to fall back on).
 *
 * @example
 * planCatalogueAt(at).version; // '2026-06-15.f4'
 */
export function planCatalogueAt(
  at: Instant,
  catalogues: readonly PlanCatalogue[] = defaultPlanCatalogues,
): PlanCatalogue {
  const first = catalogues[0];
  if (first === undefined) throw new Error('planCatalogueAt: no plan catalogues');
  for (let i = catalogues.length - 1; i > 0; i--) {
    const catalogue = catalogues[i]!;
    if (catalogue.effectiveFrom <= at) return catalogue;
  }
  return first;
}

/** Plan lookups by id, built once per catalogue (catalogues are immutable once in use). */
const indexes = new WeakMap<PlanCatalogue, Map<PlanId, Plan>>();

/**
 * The plan `id` as the catalogue in force at `at` defines it; undefined when that catalogue has
 * no such plan (unknown, or withdrawn by a later catalogue).
 *
 * @example
 * planAt('pro', parseInstant('2026-11-20T10:00:14Z'))?.weeklyLimitUnits; // 50_000_000_000_000n
 * planAt('gold', at); // undefined
 */
export function planAt(
  id: PlanId,
  at: Instant,
  catalogues: readonly PlanCatalogue[] = defaultPlanCatalogues,
): Plan | undefined {
  const catalogue = planCatalogueAt(at, catalogues);
  let index = indexes.get(catalogue);
  if (!index) {
    index = new Map(catalogue.plans.map((p) => [p.id, p]));
    indexes.set(catalogue, index);
  }
  return index.get(id);
}

/**
 * Every plan of the catalogue in force at `at`, in catalogue order (a copy: callers may sort it).
 *
 * @example
 * plansAt(at).map((p) => p.id); // ['pro', 'max_5x', …, 'free']
 */
export function plansAt(at: Instant, catalogues: readonly PlanCatalogue[] = defaultPlanCatalogues): Plan[] {
  return [...planCatalogueAt(at, catalogues).plans];
}

// ---------------------------------------------------------------------------------------------
// Operator-supplied catalogues.

export class PlanCatalogueError extends Error {
  readonly code = 'invalid_plan_catalogue';
  /** Where in the document, e.g. `$.plans[2].weekly_limit_usd`. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'PlanCatalogueError';
    this.path = path;
  }
}

const fail: DataErrorFactory = (path, message) => new PlanCatalogueError(path, message);
const planIdShape = /^[a-z][a-z0-9_]{0,63}$/;
const versionShape = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
const tiers: readonly PlanTier[] = ['individual', 'team', 'enterprise', 'free'];
const planKeys = [
  'id',
  'label',
  'tier',
  'seat',
  'credit_usd',
  'session_limit_usd',
  'weekly_limit_usd',
] as const;

/**
 * Reads an operator's plan catalogue (amounts are exact decimal USD strings, R18):
 * ```json
 * {"schema": "creditpool.plans/1", "version": "2027-01", "effective_from": "2027-01-01T00:00:00Z",
 *  "plans": [{"id": "pro", "label": "Pro", "tier": "individual", "credit_usd": "20",
 *             "session_limit_usd": "6.5", "weekly_limit_usd": "65"}, …]}
 * ```
 * `credit_usd` is null for a plan that is not eligible, else a positive amount. `seat` may be
 * given but is derived from the id (`team_*`, `enterprise_*`), and the tier must agree with it
 * (`team_*` → `team`, `enterprise_*` → `enterprise`, any other id → `individual` or `free`). The
 * session limit may not exceed the weekly one (the week contains the session). Throws
 * `PlanCatalogueError` naming the path; returns a frozen catalogue.
 *
 * @example
 * const catalogues = withPlanCatalogue(defaultPlanCatalogues, parsePlanCatalogue(JSON.parse(text)));
 * planAt('pro', at, catalogues)?.sessionLimitUnits;
 */
export function parsePlanCatalogue(json: unknown): PlanCatalogue {
  const root = readObject(json, '$', fail);
  allowKeys(root, '$', ['schema', 'version', 'effective_from', 'plans'], fail);
  if (root.schema !== 'creditpool.plans/1') throw fail('$.schema', 'must be "creditpool.plans/1"');
  const version = readText(root.version, '$.version', fail, versionShape);
  const effectiveFrom = readInstant(root.effective_from, '$.effective_from', fail);
  const ids = new Set<PlanId>();
  const plans = readArray(root.plans, '$.plans', 1, cataloguePlansMax, fail).map((raw, i) => {
    const p = parsePlan(raw, `$.plans[${i}]`);
    if (ids.has(p.id)) throw fail(`$.plans[${i}].id`, `${p.id} appears twice`);
    ids.add(p.id);
    return p;
  });
  return Object.freeze({ version, effectiveFrom, plans: Object.freeze(plans) as Plan[] });
}

function parsePlan(raw: unknown, path: string): Plan {
  const o = readObject(raw, path, fail);
  allowKeys(o, path, planKeys, fail);
  const id = readText(o.id, `${path}.id`, fail, planIdShape);
  const label = readText(o.label, `${path}.label`, fail);
  const tier = o.tier as PlanTier;
  if (!tiers.includes(tier)) throw fail(`${path}.tier`, `must be one of ${tiers.join(', ')}`);
  const seat = isSeatPlan(id);
  const expectedTiers: readonly PlanTier[] = seat
    ? [id.startsWith('team_') ? 'team' : 'enterprise']
    : ['individual', 'free'];
  if (!expectedTiers.includes(tier)) {
    throw fail(`${path}.tier`, `plan ${id} must have tier ${expectedTiers.join(' or ')}`);
  }
  if (o.seat !== undefined && o.seat !== seat) {
    throw fail(`${path}.seat`, `must be ${seat}: seats are the team_* and enterprise_* plans`);
  }
  let sdkCreditUnits: bigint | null = null;
  if (o.credit_usd !== null) {
    sdkCreditUnits = readUsd(o.credit_usd, `${path}.credit_usd`, fail);
    if (sdkCreditUnits === 0n)
      throw fail(`${path}.credit_usd`, 'must be positive, or null for a plan that is not eligible');
  }
  const sessionLimitUnits = readUsd(o.session_limit_usd, `${path}.session_limit_usd`, fail);
  const weeklyLimitUnits = readUsd(o.weekly_limit_usd, `${path}.weekly_limit_usd`, fail);
  if (sessionLimitUnits > weeklyLimitUnits) {
    throw fail(
      `${path}.session_limit_usd`,
      'must not exceed weekly_limit_usd (the week contains the session)',
    );
  }
  return Object.freeze({ id, label, tier, seat, sdkCreditUnits, sessionLimitUnits, weeklyLimitUnits });
}

/**
 * The JSON form of a catalogue (the inverse of `parsePlanCatalogue`), for `GET /v1/plans`.
 *
 * @example
 * planCatalogueToJson(planCatalogueAt(at)).plans[0]; // { id: 'pro', …, credit_usd: '20', session_limit_usd: '5', … }
 */
export function planCatalogueToJson(catalogue: PlanCatalogue) {
  return {
    schema: 'creditpool.plans/1' as const,
    version: catalogue.version,
    effective_from: formatInstant(catalogue.effectiveFrom),
    plans: catalogue.plans.map((p) => ({
      id: p.id,
      label: p.label,
      tier: p.tier,
      seat: p.seat,
      credit_usd: p.sdkCreditUnits === null ? null : formatUsd(p.sdkCreditUnits),
      session_limit_usd: formatUsd(p.sessionLimitUnits),
      weekly_limit_usd: formatUsd(p.weeklyLimitUnits),
    })),
  };
}

/**
 * A timeline with `catalogue` added in date order. Refuses a catalogue at an instant or with a
 * version the timeline already has: which one applies must not depend on load order.
 *
 * @example
 * const catalogues = withPlanCatalogue(defaultPlanCatalogues, parsePlanCatalogue(json));
 */
export function withPlanCatalogue(
  catalogues: readonly PlanCatalogue[],
  catalogue: PlanCatalogue,
): readonly PlanCatalogue[] {
  for (const c of catalogues) {
    if (c.effectiveFrom === catalogue.effectiveFrom) {
      throw new PlanCatalogueError('$.effective_from', `catalogue ${c.version} already starts then`);
    }
    if (c.version === catalogue.version)
      throw new PlanCatalogueError('$.version', `${c.version} already exists`);
  }
  if (catalogues.length + 1 > planCataloguesMax) {
    throw new PlanCatalogueError('$', `at most ${planCataloguesMax} catalogues`);
  }
  return Object.freeze([...catalogues, catalogue].sort((a, b) => a.effectiveFrom - b.effectiveFrom));
}
