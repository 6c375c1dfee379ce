import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatUsd, parseUsd } from './money.ts';
import {
  defaultPlanCatalogues,
  isSeatPlan,
  PlanCatalogueError,
  parsePlanCatalogue,
  planAt,
  planCatalogueToJson,
  plansAt,
  sessionWindowMs,
  weeklyWindowMs,
  withPlanCatalogue,
} from './plans.ts';
import { parseInstant } from './time.ts';

const at = parseInstant('2026-11-20T10:00:14Z');
const usdOrNull = (units: bigint | null | undefined) =>
  units === null || units === undefined ? null : formatUsd(units);

describe('plans (R2, R10)', () => {
  it('R2: the Agent SDK credit per plan (F4); Enterprise Standard and free are not eligible', () => {
    const rows: [id: string, credit: string | null, seat: boolean, tier: string][] = [
      ['pro', '20', false, 'individual'],
      ['max_5x', '100', false, 'individual'],
      ['max_20x', '200', false, 'individual'],
      ['team_standard', '20', true, 'team'],
      ['team_premium', '100', true, 'team'],
      ['enterprise_usage', '20', true, 'enterprise'],
      ['enterprise_premium', '200', true, 'enterprise'],
      ['enterprise_standard', null, true, 'enterprise'],
      ['free', null, false, 'free'],
    ];
    for (const [id, credit, seat, tier] of rows) {
      const plan = planAt(id, at);
      assert.ok(plan, id);
      assert.deepEqual(
        [usdOrNull(plan.sdkCreditUnits), plan.seat, isSeatPlan(id), plan.tier],
        [credit, seat, seat, tier],
        id,
      );
    }
    assert.equal(plansAt(at).length, rows.length);
    assert.equal(planAt('gold', at), undefined);
    assert.equal(planAt('api', at), undefined); // API accounts have no plan (R2)
  });

  it('R10: default limits (assumptions) keep the published ratios — Max 5x = 5 × Pro, Max 20x = 20 × Pro', () => {
    const rows: [id: string, session: string, weekly: string][] = [
      ['pro', '5', '50'], // API.md's example account
      ['max_5x', '25', '250'],
      ['max_20x', '100', '1000'],
      ['team_standard', '5', '50'],
      ['team_premium', '25', '250'],
      ['enterprise_usage', '5', '50'],
      ['enterprise_premium', '100', '1000'],
      ['enterprise_standard', '5', '50'],
      ['free', '1', '5'],
    ];
    for (const [id, session, weekly] of rows) {
      const plan = planAt(id, at)!;
      assert.deepEqual(
        [formatUsd(plan.sessionLimitUnits), formatUsd(plan.weeklyLimitUnits)],
        [session, weekly],
        id,
      );
    }
    const pro = planAt('pro', at)!;
    assert.equal(planAt('max_5x', at)!.weeklyLimitUnits, 5n * pro.weeklyLimitUnits);
    assert.equal(planAt('max_20x', at)!.sessionLimitUnits, 20n * pro.sessionLimitUnits);
    assert.equal(sessionWindowMs, 5 * 3_600_000);
    assert.equal(weeklyWindowMs, 7 * 86_400_000);
  });

  it('R2, R10: an operator catalogue overrides the limits from its instant, without a release', () => {
    const json = planCatalogueToJson(defaultPlanCatalogues[0]!);
    const overridden = parsePlanCatalogue({
      ...json,
      version: '2027-01.measured',
      effective_from: '2027-01-01T00:00:00Z',
      plans: json.plans.map((p) =>
        p.id === 'pro' ? { ...p, session_limit_usd: '6.125', weekly_limit_usd: '61.25' } : p,
      ),
    });
    const catalogues = withPlanCatalogue(defaultPlanCatalogues, overridden);
    const before = parseInstant('2026-12-31T23:59:59.999Z');
    const after = parseInstant('2027-01-01T00:00:00Z');
    assert.equal(formatUsd(planAt('pro', before, catalogues)!.sessionLimitUnits), '5');
    assert.equal(planAt('pro', after, catalogues)!.sessionLimitUnits, parseUsd('6.125'));
    assert.equal(planAt('pro', after, catalogues)!.weeklyLimitUnits, 61_250_000_000_000n);
    // An instant before the first catalogue uses the first one.
    assert.equal(formatUsd(planAt('pro', -1, catalogues)!.sessionLimitUnits), '5');
  });

  it('R2: a later catalogue can add and withdraw plans', () => {
    const later = parsePlanCatalogue({
      schema: 'creditpool.plans/1',
      version: 'v2',
      effective_from: '2027-06-01T00:00:00Z',
      plans: [
        {
          id: 'pro',
          label: 'Pro',
          tier: 'individual',
          credit_usd: '25',
          session_limit_usd: '5',
          weekly_limit_usd: '50',
        },
        {
          id: 'team_plus',
          label: 'Team Plus seat',
          tier: 'team',
          seat: true,
          credit_usd: '50',
          session_limit_usd: '10',
          weekly_limit_usd: '100',
        },
      ],
    });
    const catalogues = withPlanCatalogue(defaultPlanCatalogues, later);
    const after = parseInstant('2027-06-01T00:00:00Z');
    assert.equal(usdOrNull(planAt('pro', after, catalogues)?.sdkCreditUnits), '25');
    assert.equal(planAt('team_plus', after, catalogues)?.seat, true);
    assert.equal(isSeatPlan('team_plus'), true);
    assert.equal(planAt('max_5x', after, catalogues), undefined);
    assert.equal(planAt('max_5x', at, catalogues)?.id, 'max_5x');
    assert.deepEqual(
      plansAt(after, catalogues).map((p) => p.id),
      ['pro', 'team_plus'],
    );
  });

  it('R2, R18: plan catalogues from outside are validated, naming the path', () => {
    const pro = {
      id: 'pro',
      label: 'Pro',
      tier: 'individual',
      credit_usd: '20',
      session_limit_usd: '5',
      weekly_limit_usd: '50',
    };
    const doc = (...plans: unknown[]) => ({
      schema: 'creditpool.plans/1',
      version: 'v',
      effective_from: '2027-01-01T00:00:00Z',
      plans,
    });
    const rows: [doc: unknown, path: string][] = [
      ['[]', '$'],
      [{ ...doc(pro), schema: 'creditpool.plans/0' }, '$.schema'],
      [{ ...doc(pro), version: '' }, '$.version'],
      [{ ...doc(pro), effective_from: '2027-01-01' }, '$.effective_from'],
      [doc(), '$.plans'],
      [doc({ ...pro, id: 'Pro Plan' }), '$.plans[0].id'],
      [doc({ ...pro, tier: 'gold' }), '$.plans[0].tier'],
      [doc({ ...pro, tier: 'team' }), '$.plans[0].tier'], // not a team_* id
      [doc({ ...pro, id: 'team_x', tier: 'individual' }), '$.plans[0].tier'],
      [doc({ ...pro, id: 'enterprise_x', tier: 'team' }), '$.plans[0].tier'],
      [doc({ ...pro, seat: true }), '$.plans[0].seat'],
      [doc({ ...pro, credit_usd: 20 }), '$.plans[0].credit_usd'], // a number is a float: refused
      [doc({ ...pro, credit_usd: '0' }), '$.plans[0].credit_usd'],
      [doc({ ...pro, credit_usd: '-20' }), '$.plans[0].credit_usd'],
      [doc({ ...pro, credit_usd: '20.0000000000001' }), '$.plans[0].credit_usd'], // finer than a unit
      [doc({ ...pro, credit_usd: undefined }), '$.plans[0].credit_usd'],
      [doc({ ...pro, session_limit_usd: '1e3' }), '$.plans[0].session_limit_usd'],
      [doc({ ...pro, session_limit_usd: '51' }), '$.plans[0].session_limit_usd'],
      [doc({ ...pro, weekly_limit_usd: null }), '$.plans[0].weekly_limit_usd'],
      [doc({ ...pro, credits_usd: '20' }), '$.plans[0].credits_usd'],
      [doc(pro, pro), '$.plans[1].id'],
    ];
    for (const [document, path] of rows) {
      assert.throws(
        () => parsePlanCatalogue(document),
        (e: unknown) =>
          e instanceof PlanCatalogueError && e.path === path && e.code === 'invalid_plan_catalogue',
        path,
      );
    }
    const free = parsePlanCatalogue(doc({ ...pro, id: 'free', tier: 'free', credit_usd: null }));
    assert.equal(free.plans[0]!.sdkCreditUnits, null);
    assert.throws(
      () => withPlanCatalogue(defaultPlanCatalogues, { ...free, effectiveFrom: 0 }),
      PlanCatalogueError,
    );
  });

  it('R2: the default catalogue round-trips through its JSON form, and is frozen', () => {
    const catalogue = defaultPlanCatalogues[0]!;
    assert.deepEqual(parsePlanCatalogue(planCatalogueToJson(catalogue)), catalogue);
    assert.equal(planCatalogueToJson(catalogue).plans[0]!.credit_usd, '20');
    assert.ok(
      Object.isFrozen(catalogue) && Object.isFrozen(catalogue.plans) && Object.isFrozen(catalogue.plans[0]),
    );
  });
});
