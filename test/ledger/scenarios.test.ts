/**
 * The rules as scenarios: each `describe` names its rule, each row an operation and what it must
 * book. Costs are in cents on the scenario model (see `test/support/ledger.ts`). After every
 * scenario the ledger is verified: every cached figure equals its recomputation from the journal.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { formatUsd } from '../../src/core/money.ts';
import {
  app,
  assertLedgerConsistent,
  cents,
  dollars,
  type Ledger,
  makeLedger,
  record,
  snapshot,
  subscriber,
  usageRecord,
} from '../support/ledger.ts';

let l: Ledger;
beforeEach(async () => {
  l = await makeLedger();
});
afterEach(async () => {
  await assertLedgerConsistent(l);
  await l.close();
});

const charge = (source: string, amount: bigint) => ({ source, amount_usd: amount });

describe('R1 surfaces', () => {
  it('classifies programmatic and interactive surfaces and rejects unknown ones', async () => {
    await subscriber(l, 'a1');
    const rows: [string, string | null, string, string | null][] = [
      // surface, app, expected class, expected refusal
      ['sdk-cli', null, 'programmatic', null],
      ['sdk-ts', null, 'programmatic', null],
      ['sdk-py', null, 'programmatic', null],
      ['claude-code-github-action', null, 'programmatic', null],
      ['cli', null, 'interactive', null],
      ['claude-vscode', null, 'interactive', null],
      ['claude-coworker-terminal', null, 'interactive', null],
      ['remote_mobile', null, 'interactive', null],
      ['claude-ai-web', null, 'interactive', null],
      ['sdk-ts', 'conductor', 'programmatic', null],
      ['mcp', null, '', 'unknown_surface'],
      ['claude-in-slack', null, '', 'unknown_surface'],
    ];
    let n = 0;
    for (const [surface, appName, usageClass, refusal] of rows) {
      const r = await record(l, {
        id: `r${n++}`,
        account: 'a1',
        at: '2026-07-04T00:00:00Z',
        surface,
        app: appName,
        cents: 1,
      });
      if (refusal) {
        assert.equal(r.status, 'rejected', surface);
        assert.equal(r.error?.code, refusal, surface);
      } else {
        assert.equal(r.status, 'recorded', surface);
        assert.equal(r.class, usageClass, surface);
        assert.deepEqual(
          r.charges,
          [charge(usageClass === 'programmatic' ? 'sdk_credit' : 'subscription', cents(1))],
          surface,
        );
      }
    }
  });
});

describe('R2 plans and eligibility', () => {
  it('grants each eligible plan its credit and refuses the others', async () => {
    const rows: [string, bigint | null][] = [
      ['pro', dollars(20)],
      ['max_5x', dollars(100)],
      ['max_20x', dollars(200)],
    ];
    for (const [plan, credit] of rows) {
      await subscriber(l, `p-${plan}`, plan);
      const view = await app.getAccountView(l.ctx, `p-${plan}`);
      assert.equal(view.sdk_credit.granted_usd, credit, plan);
    }
    await app.createOrg(l.ctx, { id: 'org1', billing_anchor: '2026-07-01T00:00:00Z' });
    const seats: [string, bigint | null][] = [
      ['team_standard', dollars(20)],
      ['team_premium', dollars(100)],
      ['enterprise_usage', dollars(20)],
      ['enterprise_premium', dollars(200)],
      ['enterprise_standard', null],
    ];
    for (const [seat, credit] of seats) {
      await app.createAccount(l.ctx, { id: `m-${seat}`, kind: 'subscription', plan: seat, org_id: 'org1' });
      if (credit === null) {
        await assert.rejects(app.claim(l.ctx, `m-${seat}`), { code: 'not_eligible' });
        assert.equal((await app.getAccountView(l.ctx, `m-${seat}`)).sdk_credit.status, 'not_eligible');
      } else {
        await app.claim(l.ctx, `m-${seat}`);
        assert.equal((await app.getAccountView(l.ctx, `m-${seat}`)).sdk_credit.granted_usd, credit, seat);
      }
    }
  });

  it('keeps API-key accounts on pay-as-you-go: no claim, every request paid as it goes', async () => {
    await app.createAccount(l.ctx, { id: 'api1', kind: 'api', billing_anchor: '2026-07-03T10:00:00Z' });
    await assert.rejects(app.claim(l.ctx, 'api1'), { code: 'not_eligible' });
    const r = await record(l, { id: 'x', account: 'api1', at: '2026-07-04T00:00:00Z', cents: 250 });
    assert.deepEqual(r.charges, [charge('pay_as_you_go', cents(250))]);
    const d = await app.authorize(l.ctx, { account_id: 'api1', surface: 'sdk-cli' });
    assert.deepEqual([d.decision, d.source], ['allow', 'pay_as_you_go']);
  });
});

describe('R3 policy timeline', () => {
  it('counts programmatic usage against subscription limits before 2026-06-15 and on the credit after', async () => {
    await l.close();
    l = await makeLedger('2026-06-14T10:00:00Z');
    await subscriber(l, 'a1', 'pro', '2026-06-03T10:00:00Z', false);
    const claimed = await app.claim(l.ctx, 'a1');
    assert.equal(
      claimed.effective_at,
      '2026-06-15T00:00:00Z',
      'a claim before the policy takes effect then (R5)',
    );
    const before = await record(l, { id: 'b', account: 'a1', at: '2026-06-14T10:00:00Z', cents: 100 });
    assert.deepEqual(before.charges, [charge('subscription', cents(100))]);
    assert.equal((await app.getAccountView(l.ctx, 'a1')).sdk_credit.granted_usd, 0n);
    l.at('2026-06-15T00:00:01Z');
    const after = await record(l, { id: 'c', account: 'a1', at: '2026-06-15T00:00:00Z', cents: 100 });
    assert.deepEqual(after.charges, [charge('sdk_credit', cents(100))]);
    const entries = await app.listEntries(l.ctx, 'a1', {});
    const grant = entries.entries.find((e) => e.kind === 'grant');
    assert.equal(grant?.at, '2026-06-15T00:00:00Z');
    assert.equal(grant?.amount_usd, dollars(20));
  });
});

describe('R4 billing cycles', () => {
  it('clamps an anchor on the 31st to the month end and returns to the 31st', async () => {
    l.at('2027-01-31T12:00:00Z');
    await subscriber(l, 'a31', 'pro', '2026-10-31T09:00:00Z');
    let view = await app.getAccountView(l.ctx, 'a31');
    assert.deepEqual(view.cycle, { start: '2027-01-31T09:00:00Z', end: '2027-02-28T09:00:00Z' });
    l.at('2027-03-01T00:00:00Z');
    view = await app.getAccountView(l.ctx, 'a31');
    assert.deepEqual(view.cycle, { start: '2027-02-28T09:00:00Z', end: '2027-03-31T09:00:00Z' });
  });
});

describe('R5 claim', () => {
  it('claims once; a second claim returns the first; unclaimed programmatic use is refused', async () => {
    await subscriber(l, 'a1', 'pro', '2026-07-03T10:00:00Z', false);
    const d = await app.authorize(l.ctx, { account_id: 'a1', surface: 'sdk-py' });
    assert.deepEqual([d.decision, d.reason], ['deny', 'credit_not_claimed']);
    const r = await record(l, { id: 'u1', account: 'a1', at: '2026-07-03T10:00:00Z', cents: 1 });
    assert.equal(r.error?.code, 'credit_not_claimed');
    l.at('2026-07-10T00:00:00Z');
    const first = await app.claim(l.ctx, 'a1');
    l.at('2026-07-11T00:00:00Z');
    const second = await app.claim(l.ctx, 'a1');
    assert.equal(first.replayed, false);
    assert.equal(second.replayed, true);
    assert.equal(second.claimed_at, first.claimed_at);
    const view = await app.getAccountView(l.ctx, 'a1');
    assert.equal(view.sdk_credit.granted_usd, dollars(20), 'the full credit for the current cycle at once');
  });

  it('grants again at every later cycle start', async () => {
    await subscriber(l, 'a1');
    l.at('2026-10-04T00:00:00Z');
    await app.sweepDue(l.ctx);
    const entries = await app.listEntries(l.ctx, 'a1', { limit: 100 });
    const grants = entries.entries.filter((e) => e.kind === 'grant').map((e) => e.at);
    assert.deepEqual(grants, [
      '2026-07-03T10:00:00Z',
      '2026-08-03T10:00:00Z',
      '2026-09-03T10:00:00Z',
      '2026-10-03T10:00:00Z',
    ]);
    const expiries = entries.entries.filter((e) => e.kind === 'expire').map((e) => [e.at, e.amount_usd]);
    assert.deepEqual(expiries, [
      ['2026-08-04T10:00:00Z', -dollars(20)],
      ['2026-09-04T10:00:00Z', -dollars(20)],
    ]);
  });
});

describe('R6 drains first', () => {
  it('pays from the credit, then usage credits, then writes off the overshoot', async () => {
    await subscriber(l, 'a1');
    const rows: [number, boolean, [string, bigint][], bigint][] = [
      // cost in cents, usage credits on, charges, written off
      [1500, false, [['sdk_credit', cents(1500)]], 0n],
      [1000, false, [['sdk_credit', cents(500)]], cents(500)],
      [300, true, [['usage_credits', cents(300)]], 0n],
    ];
    let n = 0;
    for (const [cost, uc, charges, writtenOff] of rows) {
      await app.setUsageCredits(l.ctx, 'a1', { enabled: uc, monthly_limit_usd: null });
      const r = await record(l, { id: `r${n++}`, account: 'a1', at: '2026-07-04T00:00:00Z', cents: cost });
      assert.deepEqual(
        r.charges,
        charges.map(([s, a]) => charge(s, a)),
      );
      assert.equal(r.written_off_usd, writtenOff);
    }
    const statement = await app.getStatement(l.ctx, 'a1', null);
    assert.equal(statement.written_off_usd, cents(500));
    assert.equal(statement.usage_credits.charged_usd, cents(300));
  });

  it('refuses with credit_exhausted when usage credits are off', async () => {
    await subscriber(l, 'a1');
    await record(l, { id: 'all', account: 'a1', at: '2026-07-04T00:00:00Z', cents: 2000 });
    const d = await app.authorize(l.ctx, { account_id: 'a1', surface: 'sdk-cli' });
    assert.deepEqual(
      [d.decision, d.reason, d.retry_at],
      ['deny', 'credit_exhausted', '2026-08-03T10:00:00Z'],
    );
    await app.setUsageCredits(l.ctx, 'a1', { enabled: true });
    const e = await app.authorize(l.ctx, { account_id: 'a1', surface: 'sdk-cli' });
    assert.deepEqual([e.decision, e.source], ['allow', 'usage_credits']);
  });

  it('does not carry a written-off amount into the next cycle', async () => {
    await subscriber(l, 'a1');
    await record(l, { id: 'big', account: 'a1', at: '2026-07-04T00:00:00Z', cents: 2500 });
    l.at('2026-08-05T00:00:00Z');
    const next = await app.getStatement(l.ctx, 'a1', null);
    assert.equal(next.written_off_usd, 0n);
    assert.equal(next.sdk_credit.remaining_usd, dollars(20));
  });
});

describe('R7 usage credits and their limits', () => {
  async function org(seatLimit: string | null, orgLimit: string | null) {
    await app.createOrg(l.ctx, { id: 'o', billing_anchor: '2026-07-03T10:00:00Z' });
    for (const id of ['m1', 'm2']) {
      await app.createAccount(l.ctx, { id, kind: 'subscription', plan: 'team_standard', org_id: 'o' });
      await app.claim(l.ctx, id);
      await app.setUsageCredits(l.ctx, id, { enabled: true, monthly_limit_usd: null });
      await record(l, { id: `drain-${id}`, account: id, at: '2026-07-04T00:00:00Z', cents: 2000 });
    }
    await app.setOrgUsageCredits(l.ctx, 'o', {
      enabled: true,
      monthly_limit_usd: orgLimit,
      seat_tier_limits_usd: seatLimit === null ? {} : { team_standard: seatLimit },
    });
  }

  it('names the org switch when the org turns usage credits off', async () => {
    await org(null, null);
    await app.setOrgUsageCredits(l.ctx, 'o', { enabled: false });
    const d = await app.authorize(l.ctx, { account_id: 'm1', surface: 'sdk-cli' });
    assert.deepEqual([d.decision, d.reason], ['deny', 'org_level_disabled']);
  });

  it('shares the org limit between members and names the lowest headroom', async () => {
    await org('3', '5');
    // m1 spends 3 (seat tier cap), m2 then has 2 left under the org's 5 though its seat allows 3.
    const a = await record(l, { id: 'a', account: 'm1', at: '2026-07-05T00:00:00Z', cents: 400 });
    assert.deepEqual(a.charges, [charge('usage_credits', cents(300))]);
    assert.equal(a.written_off_usd, cents(100));
    const d1 = await app.authorize(l.ctx, { account_id: 'm1', surface: 'sdk-cli' });
    assert.deepEqual([d1.decision, d1.reason], ['deny', 'seat_tier_limit_reached']);
    const d2 = await app.authorize(l.ctx, {
      account_id: 'm2',
      surface: 'sdk-cli',
      hold: { id: 'h', estimate_usd: '2.5' },
    });
    assert.deepEqual([d2.decision, d2.reason], ['deny', 'org_limit_reached']);
    const d3 = await app.authorize(l.ctx, {
      account_id: 'm2',
      surface: 'sdk-cli',
      hold: { id: 'h2', estimate_usd: '2' },
    });
    assert.deepEqual([d3.decision, d3.source], ['allow', 'usage_credits']);
  });

  it('applies the member limit and the account limit', async () => {
    await org(null, null);
    await app.setOrgUsageCredits(l.ctx, 'o', { enabled: true, member_limits_usd: { m1: '1' } });
    await app.setUsageCredits(l.ctx, 'm2', { enabled: true, monthly_limit_usd: '0.5' });
    await record(l, { id: 'x1', account: 'm1', at: '2026-07-05T00:00:00Z', cents: 100 });
    await record(l, { id: 'x2', account: 'm2', at: '2026-07-05T00:00:00Z', cents: 50 });
    const d1 = await app.authorize(l.ctx, { account_id: 'm1', surface: 'sdk-cli' });
    const d2 = await app.authorize(l.ctx, { account_id: 'm2', surface: 'sdk-cli' });
    assert.equal(d1.reason, 'member_limit_reached');
    assert.equal(d2.reason, 'usage_credit_limit_reached');
  });

  it('pays interactive usage beyond the subscription limits', async () => {
    await subscriber(l, 'a1');
    await app.setUsageCredits(l.ctx, 'a1', { enabled: true });
    await record(l, { id: 'i1', account: 'a1', at: '2026-07-04T00:00:00Z', surface: 'cli', cents: 600 });
    const r = await record(l, {
      id: 'i2',
      account: 'a1',
      at: '2026-07-04T00:10:00Z',
      surface: 'cli',
      cents: 100,
    });
    assert.deepEqual(r.charges, [charge('usage_credits', cents(100))]);
  });
});

describe('R8 no rollover', () => {
  it('expires the remainder at end plus grace; late records inside the grace draw on the old cycle', async () => {
    await subscriber(l, 'a1');
    await record(l, { id: 'early', account: 'a1', at: '2026-07-10T00:00:00Z', cents: 500 });
    l.at('2026-08-04T09:59:59.999Z');
    const late = await record(l, { id: 'late', account: 'a1', at: '2026-08-03T09:59:59Z', cents: 100 });
    assert.deepEqual(late.charges, [charge('sdk_credit', cents(100))]);
    const current = await app.getAccountView(l.ctx, 'a1');
    assert.equal(current.cycle.start, '2026-08-03T10:00:00Z');
    assert.equal(
      current.sdk_credit.remaining_usd,
      dollars(20),
      'the late record did not touch the new cycle',
    );
    l.at('2026-08-04T10:00:00Z');
    const tooLate = await record(l, { id: 'later', account: 'a1', at: '2026-08-03T09:59:59Z', cents: 100 });
    assert.equal(tooLate.error?.code, 'event_too_old');
    const closed = await app.getStatement(l.ctx, 'a1', Date.parse('2026-07-03T10:00:00Z'));
    assert.equal(closed.closed, true);
    assert.equal(closed.sdk_credit.expired_usd, cents(1400));
    assert.equal(closed.sdk_credit.remaining_usd, 0n);
  });
});

describe('R9 per user, never pooled', () => {
  it("one member's exhaustion leaves another's credit untouched; org figures are sums", async () => {
    await app.createOrg(l.ctx, { id: 'o', billing_anchor: '2026-07-03T10:00:00Z' });
    for (const id of ['m1', 'm2']) {
      await app.createAccount(l.ctx, { id, kind: 'subscription', plan: 'team_standard', org_id: 'o' });
      await app.claim(l.ctx, id);
    }
    const r = await record(l, { id: 'x', account: 'm1', at: '2026-07-04T00:00:00Z', cents: 3000 });
    assert.equal(r.written_off_usd, cents(1000), 'm2 credit never pays for m1');
    const members = await app.listOrgMembers(l.ctx, 'o');
    assert.deepEqual(
      members.map((m) => [m.id, m.sdk_credit.remaining_usd]),
      [
        ['m1', 0n],
        ['m2', dollars(20)],
      ],
    );
  });
});

describe('R10 subscription limits', () => {
  it('opens a 5-hour session with the first request and refuses beyond it with the reset time', async () => {
    await subscriber(l, 'a1');
    l.at('2026-07-06T00:00:00Z');
    await record(l, { id: 'i1', account: 'a1', at: '2026-07-06T00:00:00Z', surface: 'cli', cents: 300 });
    l.at('2026-07-06T00:30:00Z');
    const crossing = await record(l, {
      id: 'i2',
      account: 'a1',
      at: '2026-07-06T00:30:00Z',
      surface: 'cli',
      cents: 300,
    });
    assert.deepEqual(
      crossing.charges,
      [charge('subscription', cents(300))],
      'the crossing request counts whole',
    );
    l.at('2026-07-06T01:00:00Z');
    const d = await app.authorize(l.ctx, { account_id: 'a1', surface: 'cli' });
    assert.deepEqual(
      [d.decision, d.reason, d.retry_at],
      ['deny', 'subscription_limit_reached', '2026-07-06T05:00:00Z'],
    );
    const over = await record(l, {
      id: 'i3',
      account: 'a1',
      at: '2026-07-06T01:00:00Z',
      surface: 'cli',
      cents: 100,
    });
    assert.equal(over.written_off_usd, cents(100));
    l.at('2026-07-06T05:00:00Z');
    const e = await app.authorize(l.ctx, { account_id: 'a1', surface: 'cli' });
    assert.deepEqual([e.decision, e.source], ['allow', 'subscription']);
    const view = await app.getAccountView(l.ctx, 'a1');
    assert.equal(view.subscription_limits?.weekly.used_usd, cents(600));
  });
});

describe('R11 authorize, hold, settle', () => {
  it('holds reserve the credit so concurrent requests cannot spend the same dollar twice', async () => {
    await subscriber(l, 'a1');
    const holds = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        app.authorize(l.ctx, {
          account_id: 'a1',
          surface: 'sdk-cli',
          hold: { id: `h${i}`, estimate_usd: '1' },
        }),
      ),
    );
    assert.equal(holds.filter((h) => h.decision === 'allow').length, 20);
    assert.equal(holds.filter((h) => h.reason === 'credit_exhausted').length, 10);
    const view = await app.getAccountView(l.ctx, 'a1');
    assert.equal(view.sdk_credit.held_usd, dollars(20));
    assert.equal(view.sdk_credit.remaining_usd, 0n);
  });

  it('settle replaces the hold with the priced usage; void and expiry release it', async () => {
    await subscriber(l, 'a1');
    const h = await app.authorize(l.ctx, {
      account_id: 'a1',
      surface: 'sdk-cli',
      hold: { id: 'h1', estimate_usd: '5', ttl_seconds: 60 },
    });
    assert.equal(h.hold?.amount_usd, dollars(5));
    assert.equal(h.hold?.expires_at, '2026-07-03T10:01:00Z');
    const settled = await app.settleHold(
      l.ctx,
      'h1',
      usageRecord({ id: 'r1', account: 'a1', at: '2026-07-03T10:00:00Z', cents: 700 }),
    );
    assert.deepEqual(
      settled.charges,
      [charge('sdk_credit', cents(700))],
      'actual cost above the estimate is the overshoot',
    );
    await app.authorize(l.ctx, {
      account_id: 'a1',
      surface: 'sdk-cli',
      hold: { id: 'h2', estimate_usd: '3' },
    });
    const voided = await app.voidHold(l.ctx, 'h2');
    assert.equal(voided.released_usd, dollars(3));
    await app.authorize(l.ctx, {
      account_id: 'a1',
      surface: 'sdk-cli',
      hold: { id: 'h3', estimate_usd: '4', ttl_seconds: 60 },
    });
    assert.equal((await app.getAccountView(l.ctx, 'a1')).sdk_credit.held_usd, dollars(4));
    l.at('2026-07-03T10:01:00Z');
    assert.equal((await app.getAccountView(l.ctx, 'a1')).sdk_credit.held_usd, 0n, 'expired at its TTL');
    assert.equal((await app.getAccountView(l.ctx, 'a1')).sdk_credit.remaining_usd, cents(1300));
  });

  it('refuses a TTL above 24 hours', async () => {
    await subscriber(l, 'a1');
    await assert.rejects(
      app.authorize(l.ctx, {
        account_id: 'a1',
        surface: 'sdk-cli',
        hold: { id: 'h', estimate_usd: '1', ttl_seconds: 86401 },
      }),
      { code: 'invalid_request' },
    );
  });
});

describe('R12 idempotency', () => {
  it('answers repeats mixed into a batch of new records, and a repeat refused on state now gets its first answer', async () => {
    await subscriber(l, 'a1');
    const spec = { id: 'req_1', account: 'a1', at: '2026-07-04T00:00:00Z', cents: 100 };
    const first = await record(l, spec);
    assert.equal(first.status, 'recorded');
    // New records first booked without a lookup: the repeats among them make the store refuse
    // the batch, and it is booked again looked up, each record exactly once.
    const mixed = await app.recordUsage(l.ctx, [
      usageRecord({ ...spec, id: 'new_1' }),
      usageRecord(spec),
      usageRecord({ ...spec, cents: 101 }),
      usageRecord({ ...spec, id: 'new_2' }),
    ]);
    assert.deepEqual(
      mixed.map((r) => (r.status === 'rejected' ? r.error?.code : r.status)),
      ['recorded', 'replayed', 'idempotency_conflict', 'recorded'],
    );
    assert.deepEqual({ ...mixed[1], status: 'recorded' }, first);
    let statement = await app.getStatement(l.ctx, 'a1', null);
    assert.equal(statement.sdk_credit.used_usd, cents(300), 'req_1, new_1, new_2: nothing counted twice');
    // Its cycle closed since (R8): a new record dated in it is refused as too old, but a repeat
    // of one booked there still replays its booking rather than taking the refusal of the state now.
    l.at('2026-08-20T00:00:00Z');
    const repeat = await app.recordUsage(l.ctx, [usageRecord(spec), usageRecord({ ...spec, id: 'late' })]);
    assert.deepEqual(
      repeat.map((r) => (r.status === 'rejected' ? r.error?.code : r.status)),
      ['replayed', 'event_too_old'],
    );
    assert.deepEqual({ ...repeat[0], status: 'recorded' }, first);
    statement = await app.getStatement(l.ctx, 'a1', Date.parse('2026-07-03T10:00:00Z'));
    assert.equal(statement.sdk_credit.used_usd, cents(300), 'the closed cycle as it was');
    await assertLedgerConsistent(l);
  });

  it('replays the same id with the same content and refuses other content', async () => {
    await subscriber(l, 'a1');
    const spec = { id: 'req_1', account: 'a1', at: '2026-07-04T00:00:00Z', cents: 100 };
    const first = await record(l, spec);
    const again = await record(l, spec);
    assert.equal(again.status, 'replayed');
    assert.deepEqual({ ...again, status: 'recorded' }, first);
    const other = await record(l, { ...spec, cents: 101 });
    assert.equal(other.error?.code, 'idempotency_conflict');
    const inBatch = await app.recordUsage(l.ctx, [
      usageRecord({ ...spec, id: 'dup' }),
      usageRecord({ ...spec, id: 'dup' }),
    ]);
    assert.deepEqual(
      inBatch.map((r) => r.status),
      ['recorded', 'replayed'],
    );
    const statement = await app.getStatement(l.ctx, 'a1', null);
    assert.equal(statement.sdk_credit.used_usd, cents(200), 'nothing counted twice');
    const h1 = await app.authorize(l.ctx, {
      account_id: 'a1',
      surface: 'sdk-cli',
      hold: { id: 'h', estimate_usd: '1' },
    });
    const h2 = await app.authorize(l.ctx, {
      account_id: 'a1',
      surface: 'sdk-cli',
      hold: { id: 'h', estimate_usd: '1' },
    });
    assert.equal(h2.replayed, true);
    assert.deepEqual(h2.hold, h1.hold);
    await assert.rejects(
      app.authorize(l.ctx, { account_id: 'a1', surface: 'sdk-cli', hold: { id: 'h', estimate_usd: '2' } }),
      { code: 'idempotency_conflict' },
    );
  });
});

describe('R13 time', () => {
  it('accepts up to 5 minutes ahead, refuses further, and refuses closed cycles', async () => {
    await subscriber(l, 'a1');
    // Sent directly (not through `record`, which would move the clock to the record's time).
    const [edge, future] = await app.recordUsage(l.ctx, [
      usageRecord({ id: 'f1', account: 'a1', at: '2026-07-03T10:05:00Z', cents: 1 }),
      usageRecord({ id: 'f2', account: 'a1', at: '2026-07-03T10:05:00.001Z', cents: 1 }),
    ]);
    assert.equal(edge?.status, 'recorded');
    assert.equal(future?.error?.code, 'event_in_future');
    const beforeAccount = await record(l, { id: 'old', account: 'a1', at: '2026-07-03T09:59:59Z', cents: 1 });
    assert.equal(beforeAccount.error?.code, 'event_too_old');
  });
});

describe('R14 plan and seat changes', () => {
  it('grants the difference of an upgrade at once and defers a downgrade to the next cycle', async () => {
    await subscriber(l, 'a1');
    l.at('2026-07-10T00:00:00Z');
    await app.changeAccount(l.ctx, 'a1', { plan: 'max_5x' });
    assert.equal((await app.getAccountView(l.ctx, 'a1')).sdk_credit.granted_usd, dollars(100));
    await app.changeAccount(l.ctx, 'a1', { plan: 'pro' });
    const view = await app.getAccountView(l.ctx, 'a1');
    assert.deepEqual(
      [view.plan, view.pending_plan, view.sdk_credit.granted_usd],
      ['max_5x', 'pro', dollars(100)],
    );
    l.at('2026-08-03T10:00:00Z');
    const next = await app.getAccountView(l.ctx, 'a1');
    assert.deepEqual(
      [next.plan, next.sdk_credit.granted_usd, next.billing_anchor],
      ['pro', dollars(20), '2026-07-03T10:00:00Z'],
    );
  });

  it('cancels at the cycle end and expires a removed member at once', async () => {
    await subscriber(l, 'a1');
    await app.changeAccount(l.ctx, 'a1', { status: 'canceled' });
    l.at('2026-08-03T10:00:00Z');
    const view = await app.getAccountView(l.ctx, 'a1');
    assert.deepEqual([view.status, view.sdk_credit.granted_usd], ['canceled', 0n]);
    await app.createOrg(l.ctx, { id: 'o', billing_anchor: '2026-07-03T10:00:00Z' });
    await app.createAccount(l.ctx, { id: 'm', kind: 'subscription', plan: 'team_premium', org_id: 'o' });
    await app.claim(l.ctx, 'm');
    await app.changeAccount(l.ctx, 'm', { org_id: null });
    const removed = await app.getStatement(l.ctx, 'm', null);
    assert.equal(removed.sdk_credit.expired_usd, dollars(100));
    assert.equal(removed.sdk_credit.remaining_usd, 0n);
  });
});

describe('R15 corrections', () => {
  it('corrects with new entries that name what they correct', async () => {
    await subscriber(l, 'a1');
    await record(l, { id: 'u1', account: 'a1', at: '2026-07-04T00:00:00Z', cents: 500 });
    await record(l, { id: 'u2', account: 'a1', at: '2026-07-04T00:00:00Z', cents: 300 });
    const rev = await app.adjust(l.ctx, 'a1', {
      id: 'adj1',
      kind: 'reversal',
      record_id: 'u1',
      reason: 'duplicate billing',
    });
    const again = await app.adjust(l.ctx, 'a1', {
      id: 'adj1',
      kind: 'reversal',
      record_id: 'u1',
      reason: 'duplicate billing',
    });
    assert.equal(again.replayed, true);
    await app.adjust(l.ctx, 'a1', {
      id: 'adj2',
      kind: 'reclassification',
      record_id: 'u2',
      to_class: 'interactive',
      reason: 'was cli',
    });
    await app.adjust(l.ctx, 'a1', { id: 'adj3', pool: 'sdk_credit', amount_usd: '1.5', reason: 'goodwill' });
    await assert.rejects(
      app.adjust(l.ctx, 'a1', { id: 'adj4', pool: 'sdk_credit', amount_usd: '-100', reason: 'x' }),
      {
        code: 'insufficient_credit',
      },
    );
    const s = await app.getStatement(l.ctx, 'a1', null);
    assert.equal(s.sdk_credit.used_usd, 0n);
    assert.equal(s.subscription_usd, cents(300));
    assert.equal(s.adjustments_usd, cents(150));
    assert.equal(s.sdk_credit.remaining_usd, cents(2150));
    const entries = (await app.listEntries(l.ctx, 'a1', {})).entries;
    const reversal = entries.find((e) => e.kind === 'reversal');
    assert.equal(reversal?.corrects, 2, 'names the usage posting it reverses (seq 1 is the grant)');
    assert.equal(rev.corrects, 2);
  });
});

describe('R16 third-party apps', () => {
  it('caps an app per cycle and blocks it', async () => {
    await subscriber(l, 'a1');
    await app.setAppPolicy(l.ctx, 'a1', 'openclaw', { cycle_cap_usd: '2' });
    await record(l, {
      id: 'o1',
      account: 'a1',
      at: '2026-07-04T00:00:00Z',
      surface: 'sdk-ts',
      app: 'openclaw',
      cents: 150,
    });
    const ok = await app.authorize(l.ctx, {
      account_id: 'a1',
      surface: 'sdk-ts',
      app: 'openclaw',
      hold: { id: 'h', estimate_usd: '0.5' },
    });
    assert.equal(ok.decision, 'allow');
    const capped = await app.authorize(l.ctx, {
      account_id: 'a1',
      surface: 'sdk-ts',
      app: 'openclaw',
      hold: { id: 'h2', estimate_usd: '0.01' },
    });
    assert.equal(capped.reason, 'app_cap_reached');
    await app.setAppPolicy(l.ctx, 'a1', 'conductor', { blocked: true });
    const blocked = await app.authorize(l.ctx, { account_id: 'a1', surface: 'sdk-ts', app: 'conductor' });
    assert.equal(blocked.reason, 'app_blocked');
    const s = await app.getStatement(l.ctx, 'a1', null);
    assert.deepEqual(s.by_app, [{ app: 'openclaw', cost_usd: cents(150) }]);
  });
});

describe('R17 statements', () => {
  it('every figure equals the sum of its entries; billed usage credits round half up once', async () => {
    await subscriber(l, 'a1');
    await app.setUsageCredits(l.ctx, 'a1', { enabled: true });
    await record(l, { id: 'x', account: 'a1', at: '2026-07-04T00:00:00Z', cents: 2000 });
    // 0.005 USD of usage credits: a half cent, billed as one cent.
    const r = await app.recordUsage(l.ctx, [
      {
        id: 'half',
        account_id: 'a1',
        occurred_at: '2026-07-04T00:00:00Z',
        surface: 'sdk-cli',
        model: 'claude-opus-5-5',
        usage: { input_tokens: 1250, output_tokens: 0 },
      },
    ]);
    assert.equal(formatUsd(r[0]!.cost_usd!), '0.005');
    const s = await app.getStatement(l.ctx, 'a1', null);
    assert.equal(s.usage_credits.charged_usd, cents(1) / 2n);
    assert.equal(s.usage_credits.billed_usd, cents(1));
    const entries = (await app.listEntries(l.ctx, 'a1', { limit: 1000 })).entries;
    const sum = (pool: string, kind?: string) =>
      entries
        .filter((e) => e.pool === pool && (!kind || e.kind === kind))
        .reduce((t, e) => t + e.amount_usd, 0n);
    assert.equal(s.sdk_credit.granted_usd, sum('sdk_credit', 'grant'));
    assert.equal(s.sdk_credit.used_usd, -sum('sdk_credit', 'usage'));
    assert.equal(s.usage_credits.charged_usd, sum('usage_credits'));
    assert.equal(
      s.by_surface.reduce((t, d) => t + d.cost_usd, 0n),
      cents(2000) + cents(1) / 2n,
    );
  });
});

describe('refusals change nothing', () => {
  it('a refused operation leaves the ledger exactly as it was', async () => {
    await subscriber(l, 'a1');
    await record(l, { id: 'base', account: 'a1', at: '2026-07-04T00:00:00Z', cents: 100 });
    const before = await snapshot(l);
    await assert.rejects(
      app.adjust(l.ctx, 'a1', { id: 'neg', pool: 'sdk_credit', amount_usd: '-50', reason: 'x' }),
    );
    await assert.rejects(app.changeAccount(l.ctx, 'a1', { plan: 'no_such_plan' }));
    await assert.rejects(
      app.setUsageCredits(l.ctx, 'a1', { enabled: true, monthly_limit_usd: '1.0000000000001' }),
    );
    await assert.rejects(
      app.settleHold(
        l.ctx,
        'nohold',
        usageRecord({ id: 'z', account: 'a1', at: '2026-07-04T00:00:00Z', cents: 1 }),
      ),
    );
    const bad = await app.recordUsage(l.ctx, [{ id: 'bad', account_id: 'a1' }]);
    assert.equal(bad[0]!.status, 'rejected');
    assert.equal(await snapshot(l), before);
  });
});
