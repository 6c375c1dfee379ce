import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultPolicyTimeline,
  PolicyTimelineError,
  type PolicyVersion,
  parsePolicyTimeline,
  policyAt,
  policyTimelineToJson,
  sdkCreditEffectiveFrom,
  usagePool,
  withPolicyVersions,
} from './policy.ts';
import { classifySurface } from './surfaces.ts';
import { parseInstant } from './time.ts';

const t = parseInstant;

/** Where a record with this surface and app, at this instant, counts (R1 then R3). */
function poolOf(surface: string, app: string | null, at: number, timeline: readonly PolicyVersion[]): string {
  const c = classifySurface(surface, app, at);
  return c.ok ? usagePool(c.usageClass, policyAt(at, timeline)) : c.code;
}

describe('policy (R3, R8, R11, R13)', () => {
  it('R3: the Agent SDK credit is active from 2026-06-15T00:00:00Z, not a millisecond before', () => {
    assert.equal(sdkCreditEffectiveFrom, Date.UTC(2026, 5, 15));
    const rows: [at: string, active: boolean, id: string][] = [
      ['2025-01-01T00:00:00Z', false, 'subscription-limits-only'],
      ['2026-06-14T23:59:59.999Z', false, 'subscription-limits-only'],
      ['2026-06-15T00:00:00Z', true, 'agent-sdk-credit'],
      ['2026-11-20T10:00:14Z', true, 'agent-sdk-credit'],
    ];
    for (const [at, active, id] of rows) {
      const v = policyAt(t(at));
      assert.deepEqual([v.sdkCreditActive, v.id], [active, id], at);
    }
  });

  it('R3: programmatic usage counts against subscription limits before the date, the credit after', () => {
    const rows: [surface: string, app: string | null, at: string, pool: string][] = [
      ['sdk-cli', null, '2026-06-14T23:59:59Z', 'subscription_limits'],
      ['sdk-cli', null, '2026-06-15T00:00:00Z', 'sdk_credit'],
      ['sdk-ts', 'conductor', '2026-07-01T00:00:00Z', 'sdk_credit'],
      ['cli', null, '2026-07-01T00:00:00Z', 'subscription_limits'],
      ['cli', 'conductor', '2026-07-01T00:00:00Z', 'sdk_credit'],
      ['claude-ai-web', null, '2026-07-01T00:00:00Z', 'subscription_limits'],
      ['mcp', null, '2026-07-01T00:00:00Z', 'unknown_surface'],
    ];
    for (const [surface, app, at, pool] of rows) {
      assert.equal(poolOf(surface, app, t(at), defaultPolicyTimeline), pool, `${surface} ${app} ${at}`);
    }
  });

  it('R8, R11, R13: the default constants — 24 h grace, 10 min / 24 h hold TTL, 5 min skew', () => {
    for (const v of defaultPolicyTimeline) {
      assert.equal(v.lateGraceMs, 24 * 3_600_000);
      assert.equal(v.holdTtlDefaultMs, 10 * 60_000);
      assert.equal(v.holdTtlMaxMs, 24 * 3_600_000);
      assert.equal(v.futureSkewMaxMs, 5 * 60_000);
    }
  });

  it('R3, F13: an operator-added pause moves programmatic usage back to subscription limits, no code change', () => {
    const operatorFile = {
      schema: 'creditpool.policy/1',
      versions: [
        { id: 'paused', effective_from: '2026-06-15T00:00:01Z', sdk_credit_active: false, note: 'F13 pause' },
        { id: 'resumed', effective_from: '2026-08-01T00:00:00Z', sdk_credit_active: true },
      ],
    };
    const timeline = withPolicyVersions(defaultPolicyTimeline, parsePolicyTimeline(operatorFile));
    assert.deepEqual(
      timeline.map((v) => v.id),
      ['subscription-limits-only', 'agent-sdk-credit', 'paused', 'resumed'],
    );
    const rows: [at: string, pool: string][] = [
      ['2026-06-14T23:59:59Z', 'subscription_limits'],
      ['2026-06-15T00:00:00Z', 'sdk_credit'], // the one second before the pause
      ['2026-06-15T00:00:01Z', 'subscription_limits'],
      ['2026-07-31T23:59:59.999Z', 'subscription_limits'],
      ['2026-08-01T00:00:00Z', 'sdk_credit'],
    ];
    for (const [at, pool] of rows) assert.equal(poolOf('sdk-py', null, t(at), timeline), pool, at);
    // The pause inherited the constants of the version before it.
    assert.equal(policyAt(t('2026-07-01T00:00:00Z'), timeline).holdTtlMaxMs, 24 * 3_600_000);
    // The defaults are untouched.
    assert.equal(poolOf('sdk-py', null, t('2026-07-01T00:00:00Z'), defaultPolicyTimeline), 'sdk_credit');
  });

  it('R3: an instant before the first version is judged by the first version', () => {
    const [only] = parsePolicyTimeline({
      schema: 'creditpool.policy/1',
      versions: [{ id: 'v1', effective_from: '2026-01-01T00:00:00Z', sdk_credit_active: true }],
    });
    assert.equal(policyAt(t('2020-01-01T00:00:00Z'), [only!]).id, 'v1');
    assert.equal(policyAt(-1).id, 'subscription-limits-only');
    assert.throws(() => policyAt(0, []));
  });

  it('R8, R11, R13: new constants from an instant, and the whole default timeline round-trips', () => {
    const timeline = parsePolicyTimeline({
      schema: 'creditpool.policy/1',
      versions: [
        // Out of order on purpose: versions are sorted before inheriting.
        {
          id: 'b',
          effective_from: '2027-01-01T00:00:00Z',
          late_grace_seconds: 172800,
          hold_ttl_max_seconds: 3600,
        },
        {
          id: 'a',
          effective_from: '2026-01-01T00:00:00Z',
          sdk_credit_active: true,
          future_skew_max_seconds: 60,
        },
      ],
    });
    const [a, b] = timeline;
    assert.deepEqual(
      [a!.id, a!.lateGraceMs, a!.futureSkewMaxMs, a!.holdTtlMaxMs],
      ['a', 86_400_000, 60_000, 86_400_000],
    );
    assert.deepEqual(
      [b!.id, b!.sdkCreditActive, b!.lateGraceMs, b!.futureSkewMaxMs, b!.holdTtlMaxMs, b!.holdTtlDefaultMs],
      ['b', true, 172_800_000, 60_000, 3_600_000, 600_000],
    );
    assert.deepEqual(parsePolicyTimeline(policyTimelineToJson(defaultPolicyTimeline)), defaultPolicyTimeline);
  });

  it('R3: operator timelines are validated, naming the path', () => {
    const v = { id: 'v1', effective_from: '2026-01-01T00:00:00Z', sdk_credit_active: true };
    const doc = (...versions: unknown[]) => ({ schema: 'creditpool.policy/1', versions });
    const rows: [doc: unknown, path: string][] = [
      [[], '$'],
      [{ schema: 'creditpool.policy/2', versions: [v] }, '$.schema'],
      [doc(), '$.versions'],
      [doc({ ...v, sdk_credit_active: undefined }), '$.versions[0].sdk_credit_active'],
      [doc({ ...v, sdk_credit_active: 'yes' }), '$.versions[0].sdk_credit_active'],
      [doc({ ...v, effective_from: 'June 15' }), '$.versions[0].effective_from'],
      [doc({ ...v, id: 'Has Spaces' }), '$.versions[0].id'],
      [doc({ ...v, late_grace_second: 5 }), '$.versions[0].late_grace_second'],
      [doc({ ...v, late_grace_seconds: 1.5 }), '$.versions[0].late_grace_seconds'],
      [doc({ ...v, late_grace_seconds: 8 * 24 * 3600 }), '$.versions[0].late_grace_seconds'],
      [doc({ ...v, hold_ttl_max_seconds: 0 }), '$.versions[0].hold_ttl_max_seconds'],
      [doc({ ...v, future_skew_max_seconds: -1 }), '$.versions[0].future_skew_max_seconds'],
      [
        doc({ ...v, hold_ttl_default_seconds: 7200, hold_ttl_max_seconds: 3600 }),
        '$.versions[0].hold_ttl_default_seconds',
      ],
      [doc(v, { ...v, effective_from: '2026-02-01T00:00:00Z' }), '$.versions[1].id'],
      [doc(v, { ...v, id: 'v2' }), '$.versions[1].effective_from'],
    ];
    for (const [document, path] of rows) {
      assert.throws(
        () => parsePolicyTimeline(document),
        (e: unknown) =>
          e instanceof PolicyTimelineError && e.path === path && e.code === 'invalid_policy_timeline',
        path,
      );
    }
    const clash = parsePolicyTimeline(doc({ ...v, effective_from: '2026-06-15T00:00:00Z' }));
    assert.throws(() => withPolicyVersions(defaultPolicyTimeline, clash), PolicyTimelineError);
  });
});
