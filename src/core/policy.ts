/**
 * The policy timeline (R3, with the constants of R8, R11 and R13): policy versions as data, each
 * with the instant it takes effect. A record is judged by the version in force at its
 * `occurred_at`; an authorization by the version in force now.
 *
 * Why data and not code: the policy itself moves. On 2026-06-15, the day the Agent SDK credit was
 * to start, Anthropic's help center announced "We're pausing the changes" (policy.md F13), and
 * later reports say it went live. A pause, a resumption or a new constant is one more version in
 * an operator's timeline file (`parsePolicyTimeline`), in force from its instant, with no
 * release. The defaults below follow the announcement as written (F1): before
 * 2026-06-15T00:00:00Z programmatic usage counts against subscription limits like interactive
 * usage; from then on it draws on the Agent SDK credit.
 *
 * An instant before the first version's `effectiveFrom` is judged by the first version: there is
 * no earlier policy to fall back on, and refusing old records outright would be worse. (The
 * default timeline starts at the epoch, so this only matters for operator timelines.)
 *
 * @example
 * policyAt(parseInstant('2026-06-14T23:59:59Z')).sdkCreditActive; // false
 * policyAt(parseInstant('2026-06-15T00:00:00Z')).sdkCreditActive; // true
 */
import {
  allowKeys,
  type DataErrorFactory,
  readArray,
  readBoolean,
  readInstant,
  readObject,
  readSecondsAsMs,
  readText,
} from './data-fields.ts';
import type { UsageClass } from './surfaces.ts';
import { formatInstant, type Instant, msPerHour, msPerMinute, parseInstant } from './time.ts';

export interface PolicyVersion {
  id: string;
  effectiveFrom: Instant;
  /** false: programmatic usage counts against subscription limits like interactive usage (R3). */
  sdkCreditActive: boolean;
  /** R8: a cycle closes this long after its end; late records inside it still draw on it. */
  lateGraceMs: number;
  /** R11: a hold's TTL when the request names none. */
  holdTtlDefaultMs: number;
  /** R11: the longest TTL a hold may ask for. */
  holdTtlMaxMs: number;
  /** R13: how far in the future a record's `occurred_at` may be. */
  futureSkewMaxMs: number;
  note: string;
}

/** F1: the instant the Agent SDK credit takes effect. */
export const sdkCreditEffectiveFrom: Instant = parseInstant('2026-06-15T00:00:00Z');

/** R8's default late-event grace. */
export const lateGraceDefaultMs = 24 * msPerHour;
/** R11's default hold TTL. */
export const holdTtlDefaultMs = 10 * msPerMinute;
/** R11's hold TTL ceiling. */
export const holdTtlMaxMs = 24 * msPerHour;
/** R13's future skew allowance. */
export const futureSkewMaxMs = 5 * msPerMinute;

/**
 * Bounds an operator's timeline may set, each with its reason. Late grace: a cycle must close
 * within a week or statements never settle. Hold TTL: a reservation longer than a week is a
 * leak, not a request. Future skew: more than an hour is a broken clock, not skew.
 */
export const policyBounds = Object.freeze({
  lateGraceSecondsMax: 7 * 24 * 3600,
  holdTtlSecondsMin: 1,
  holdTtlSecondsMax: 7 * 24 * 3600,
  futureSkewSecondsMax: 3600,
  versionsMax: 100,
});

const constants = {
  lateGraceMs: lateGraceDefaultMs,
  holdTtlDefaultMs,
  holdTtlMaxMs,
  futureSkewMaxMs,
} as const;

export const defaultPolicyTimeline: readonly PolicyVersion[] = Object.freeze([
  Object.freeze({
    id: 'subscription-limits-only',
    effectiveFrom: 0,
    sdkCreditActive: false,
    ...constants,
    note: 'Before the Agent SDK credit: programmatic usage counts against subscription limits like interactive usage.',
  }),
  Object.freeze({
    id: 'agent-sdk-credit',
    effectiveFrom: sdkCreditEffectiveFrom,
    sdkCreditActive: true,
    ...constants,
    note:
      'F1: Agent SDK, claude -p, GitHub Actions and third-party app usage draws on the monthly Agent SDK credit. ' +
      'F13: Anthropic announced a pause on this date; an operator records a pause as a later version.',
  }),
]);

/**
 * The version in force at `at`: the last with `effectiveFrom <= at`, or the first version for an
 * instant before it (see the module comment).
 *
 * @example
 * policyAt(Date.UTC(2026, 10, 20)).lateGraceMs; // 86_400_000
 */
export function policyAt(
  at: Instant,
  timeline: readonly PolicyVersion[] = defaultPolicyTimeline,
): PolicyVersion {
  const first = timeline[0];
  if (first === undefined) throw new Error('policyAt: empty policy timeline');
  for (let i = timeline.length - 1; i > 0; i--) {
    const version = timeline[i]!;
    if (version.effectiveFrom <= at) return version;
  }
  return first;
}

/** What a usage class counts against under a policy version (R3, R6, R10). */
export type UsagePool = 'sdk_credit' | 'subscription_limits';

/**
 * Where usage of a class goes under `version`: programmatic usage draws on the Agent SDK credit
 * only while the credit is active; otherwise, and for all interactive usage, it counts against
 * the subscription limits (R10).
 *
 * @example
 * usagePool('programmatic', policyAt(parseInstant('2026-06-01T00:00:00Z'))); // 'subscription_limits'
 * usagePool('programmatic', policyAt(parseInstant('2026-07-01T00:00:00Z'))); // 'sdk_credit'
 */
export function usagePool(usageClass: UsageClass, version: PolicyVersion): UsagePool {
  return usageClass === 'programmatic' && version.sdkCreditActive ? 'sdk_credit' : 'subscription_limits';
}

// ---------------------------------------------------------------------------------------------
// Operator-supplied timelines.

export class PolicyTimelineError extends Error {
  readonly code = 'invalid_policy_timeline';
  /** Where in the document, e.g. `$.versions[2].hold_ttl_max_seconds`. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'PolicyTimelineError';
    this.path = path;
  }
}

const fail: DataErrorFactory = (path, message) => new PolicyTimelineError(path, message);
const idShape = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const versionKeys = [
  'id',
  'effective_from',
  'sdk_credit_active',
  'late_grace_seconds',
  'hold_ttl_default_seconds',
  'hold_ttl_max_seconds',
  'future_skew_max_seconds',
  'note',
] as const;

/**
 * Reads an operator's policy timeline:
 * ```json
 * {"schema": "creditpool.policy/1", "versions": [
 *   {"id": "pause", "effective_from": "2026-06-15T00:00:00Z", "sdk_credit_active": false, "note": "F13"}]}
 * ```
 * Each version may omit the constants (`late_grace_seconds`, `hold_ttl_default_seconds`,
 * `hold_ttl_max_seconds`, `future_skew_max_seconds`, `sdk_credit_active`): an omitted one keeps
 * the value of the version before it (the first version inherits the default constants but must
 * state `sdk_credit_active`), so a pause is one short entry. Versions come back sorted by `effective_from`; two at the same instant, a repeated
 * id, a default TTL above the maximum or a value out of `policyBounds` are refused with a
 * `PolicyTimelineError` naming the path.
 *
 * The result is a whole timeline; to add versions to the defaults, pass the defaults' entries
 * too, or use `withPolicyVersions(defaultPolicyTimeline, parsePolicyTimeline(json))`.
 *
 * @example
 * const timeline = withPolicyVersions(defaultPolicyTimeline, parsePolicyTimeline(json));
 * policyAt(parseInstant('2026-06-20T00:00:00Z'), timeline).sdkCreditActive; // false during the pause
 */
export function parsePolicyTimeline(json: unknown): PolicyVersion[] {
  const root = readObject(json, '$', fail);
  allowKeys(root, '$', ['schema', 'versions'], fail);
  if (root.schema !== 'creditpool.policy/1') throw fail('$.schema', 'must be "creditpool.policy/1"');
  const raw = readArray(root.versions, '$.versions', 1, policyBounds.versionsMax, fail).map((value, i) => {
    const path = `$.versions[${i}]`;
    const o = readObject(value, path, fail);
    allowKeys(o, path, versionKeys, fail);
    return { o, path, effectiveFrom: readInstant(o.effective_from, `${path}.effective_from`, fail) };
  });
  // Sorted first, so each version inherits from the one in force just before it, whatever the file order.
  raw.sort((a, b) => a.effectiveFrom - b.effectiveFrom);
  const ids = new Set<string>();
  const versions: PolicyVersion[] = [];
  // The first version inherits the default constants, but must say whether the credit is active:
  // there is no neutral default for that.
  let previous: Omit<PolicyVersion, 'id' | 'effectiveFrom' | 'note'> | null = null;
  for (const { o, path, effectiveFrom } of raw) {
    const id = readText(o.id, `${path}.id`, fail, idShape);
    if (ids.has(id)) throw fail(`${path}.id`, `${id} appears twice`);
    ids.add(id);
    const last = versions[versions.length - 1];
    if (last && last.effectiveFrom === effectiveFrom) {
      throw fail(
        `${path}.effective_from`,
        `version ${last.id} already starts at ${formatInstant(effectiveFrom)}`,
      );
    }
    const b = policyBounds;
    const base = previous ?? constants;
    const version: PolicyVersion = {
      id,
      effectiveFrom,
      sdkCreditActive:
        o.sdk_credit_active === undefined && previous !== null
          ? previous.sdkCreditActive
          : readBoolean(o.sdk_credit_active, `${path}.sdk_credit_active`, fail),
      lateGraceMs: optionalSeconds(
        o.late_grace_seconds,
        `${path}.late_grace_seconds`,
        0,
        b.lateGraceSecondsMax,
        base.lateGraceMs,
      ),
      holdTtlDefaultMs: optionalSeconds(
        o.hold_ttl_default_seconds,
        `${path}.hold_ttl_default_seconds`,
        b.holdTtlSecondsMin,
        b.holdTtlSecondsMax,
        base.holdTtlDefaultMs,
      ),
      holdTtlMaxMs: optionalSeconds(
        o.hold_ttl_max_seconds,
        `${path}.hold_ttl_max_seconds`,
        b.holdTtlSecondsMin,
        b.holdTtlSecondsMax,
        base.holdTtlMaxMs,
      ),
      futureSkewMaxMs: optionalSeconds(
        o.future_skew_max_seconds,
        `${path}.future_skew_max_seconds`,
        0,
        b.futureSkewSecondsMax,
        base.futureSkewMaxMs,
      ),
      note: o.note === undefined ? '' : readText(o.note, `${path}.note`, fail),
    };
    if (version.holdTtlDefaultMs > version.holdTtlMaxMs) {
      throw fail(`${path}.hold_ttl_default_seconds`, 'must not exceed hold_ttl_max_seconds');
    }
    versions.push(Object.freeze(version));
    previous = version;
  }
  return versions;
}

function optionalSeconds(value: unknown, path: string, min: number, max: number, inherited: number): number {
  return value === undefined ? inherited : readSecondsAsMs(value, path, min, max, fail);
}

/**
 * A timeline with `added` versions merged in date order. Refuses a version at an instant or with
 * an id the timeline already has: which one applies must not depend on load order.
 *
 * @example
 * const pause = parsePolicyTimeline({ schema: 'creditpool.policy/1', versions: [
 *   { id: 'pause', effective_from: '2026-06-15T00:00:00.001Z', sdk_credit_active: false }] });
 * const timeline = withPolicyVersions(defaultPolicyTimeline, pause);
 */
export function withPolicyVersions(
  timeline: readonly PolicyVersion[],
  added: readonly PolicyVersion[],
): readonly PolicyVersion[] {
  const merged = [...timeline];
  for (const version of added) {
    for (const v of merged) {
      if (v.id === version.id) throw new PolicyTimelineError('$.versions', `id ${v.id} already exists`);
      if (v.effectiveFrom === version.effectiveFrom) {
        throw new PolicyTimelineError(
          '$.versions',
          `${v.id} already starts at ${formatInstant(v.effectiveFrom)}`,
        );
      }
    }
    merged.push(version);
  }
  if (merged.length > policyBounds.versionsMax) {
    throw new PolicyTimelineError('$.versions', `at most ${policyBounds.versionsMax} versions`);
  }
  return Object.freeze(merged.sort((a, b) => a.effectiveFrom - b.effectiveFrom));
}

/**
 * The JSON form of a timeline (the inverse of `parsePolicyTimeline`), for the API and the CLI.
 *
 * @example
 * policyTimelineToJson(defaultPolicyTimeline).versions[1].effective_from; // '2026-06-15T00:00:00Z'
 */
export function policyTimelineToJson(timeline: readonly PolicyVersion[]) {
  return {
    schema: 'creditpool.policy/1' as const,
    versions: timeline.map((v) => ({
      id: v.id,
      effective_from: formatInstant(v.effectiveFrom),
      sdk_credit_active: v.sdkCreditActive,
      late_grace_seconds: v.lateGraceMs / 1000,
      hold_ttl_default_seconds: v.holdTtlDefaultMs / 1000,
      hold_ttl_max_seconds: v.holdTtlMaxMs / 1000,
      future_skew_max_seconds: v.futureSkewMaxMs / 1000,
      ...(v.note === '' ? {} : { note: v.note }),
    })),
  };
}
