/**
 * Events are generated exactly once, in the transaction of the change that causes them
 * (`events.ts`, `Book`): threshold crossings at their exact boundaries, exhaustion, expiry
 * warnings, renewals, hold expiry, plan changes, usage-credit and subscription limits, and nothing
 * at all from a transaction that rolls back. On the real use cases over SQLite in memory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Ledger, makeLedger, record, subscriber, usageRecord } from '../../test/support/ledger.ts';
import { parseInstant } from '../core/time.ts';
import {
  alertSettingsFromEnv,
  checkAlertSettings,
  defaultAlertSettings,
  type EventType,
  thresholdsCrossed,
} from './events.ts';
import * as app from './index.ts';
import { lockScope } from './scope.ts';

interface Delivered {
  type: EventType;
  id: string;
  created_at: string;
  // biome-ignore lint/suspicious/noExplicitAny: event data is checked field by field.
  data: any;
}

async function events(l: Ledger, type?: EventType): Promise<Delivered[]> {
  const rows = await l.store.read((tx) => tx.listEvents(0, 1000));
  const all = rows.map((r) => {
    const body = JSON.parse(r.payload) as Delivered;
    assert.equal(body.id, r.id);
    assert.equal(body.type, r.type);
    return body;
  });
  return type === undefined ? all : all.filter((e) => e.type === type);
}

const thresholds = async (l: Ledger) =>
  (await events(l, 'credit.threshold_reached')).map((e) => [e.data.threshold_percent, e.data.record_id]);

/** Opus at $4 per million input tokens: a record for exactly `c` cents, now. */
async function spend(l: Ledger, id: string, c: number, account = 'acct_1', surface = 'sdk-cli') {
  const r = await record(l, { id, account, at: '2026-11-20T10:00:00Z', cents: c, surface });
  assert.equal(r.status, 'recorded', JSON.stringify(r.error));
  return r;
}

describe('events: thresholds', () => {
  it('is pure integer arithmetic on the boundaries', () => {
    assert.deepEqual(thresholdsCrossed([50, 80, 100], 0, 10n, 20n), [50]);
    assert.deepEqual(thresholdsCrossed([50, 80, 100], 0, 9_999n, 20_000n), []);
    assert.deepEqual(thresholdsCrossed([50, 80, 100], 0, 17n, 20n), [50, 80]);
    assert.deepEqual(thresholdsCrossed([50, 80, 100], 50, 17n, 20n), [80]);
    assert.deepEqual(thresholdsCrossed([50, 80, 100], 80, 20n, 20n), [100]);
    assert.deepEqual(thresholdsCrossed([50, 80, 100], 100, 25n, 20n), []);
    assert.deepEqual(thresholdsCrossed([50, 80, 100], 0, 5n, 0n), [], 'no credit, no threshold');
  });

  it('exactly half of the credit used reaches 50; one unit less reaches nothing', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await subscriber(l, 'acct_1'); // Pro: $20 of credit
      await spend(l, 'r1', 999);
      assert.deepEqual(await thresholds(l), []);
      await spend(l, 'r2', 1); // $10.00 of $20: exactly 50%
      assert.deepEqual(await thresholds(l), [[50, 'r2']]);
      const [reached] = await events(l, 'credit.threshold_reached');
      assert.deepEqual(reached!.data, {
        account_id: 'acct_1',
        org_id: null,
        threshold_percent: 50,
        cycle: { start: '2026-11-03T10:00:00Z', end: '2026-12-03T10:00:00Z' },
        credit_usd: '20',
        used_usd: '10',
        remaining_usd: '10',
        record_id: 'r2',
      });
      assert.equal(reached!.created_at, '2026-11-20T10:00:00Z');
      assert.match(reached!.id, /^evt_[0-9a-f]{28}$/);
    } finally {
      await l.close();
    }
  });

  it('a record that crosses 50 and 80 at once emits both, in order, each once per cycle', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await subscriber(l, 'acct_1');
      await spend(l, 'r1', 1700); // 85%
      assert.deepEqual(await thresholds(l), [
        [50, 'r1'],
        [80, 'r1'],
      ]);
      await spend(l, 'r2', 299); // 99.95%
      assert.deepEqual((await thresholds(l)).length, 2);
      assert.deepEqual(await events(l, 'credit.exhausted'), []);
      await spend(l, 'r3', 1); // exactly 100%
      assert.deepEqual((await thresholds(l)).at(-1), [100, 'r3']);
      const exhausted = await events(l, 'credit.exhausted');
      assert.equal(exhausted.length, 1);
      assert.equal(exhausted[0]!.data.remaining_usd, '0');
      assert.equal(exhausted[0]!.data.written_off_usd, '0');
      // Nothing more to cross: later records (written off) say nothing.
      await spend(l, 'r4', 50);
      assert.equal((await thresholds(l)).length, 3);
      assert.equal((await events(l, 'credit.exhausted')).length, 1);
    } finally {
      await l.close();
    }
  });

  it('a record that overshoots crosses every threshold left and exhausts, with the write-off named', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await subscriber(l, 'acct_1');
      await spend(l, 'r1', 2300); // $23 on $20: three thresholds at once, $3 written off
      assert.deepEqual(await thresholds(l), [
        [50, 'r1'],
        [80, 'r1'],
        [100, 'r1'],
      ]);
      const [exhausted] = await events(l, 'credit.exhausted');
      assert.equal(exhausted!.data.written_off_usd, '3');
      assert.equal(exhausted!.data.record_id, 'r1');
    } finally {
      await l.close();
    }
  });

  it('a reversal lowers the usage; climbing back past 50 does not fire 50 again (a high-water mark)', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await subscriber(l, 'acct_1');
      await spend(l, 'r1', 1200);
      await app.adjust(l.ctx, 'acct_1', { id: 'rev1', kind: 'reversal', record_id: 'r1', reason: 'test' });
      await spend(l, 'r2', 1200);
      assert.deepEqual(await thresholds(l), [[50, 'r1']]);
      await spend(l, 'r3', 400); // 80%
      assert.deepEqual((await thresholds(l)).at(-1), [80, 'r3']);
    } finally {
      await l.close();
    }
  });

  it('an upgrade grants more credit: percentages are of the new credit, nothing fires twice', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await subscriber(l, 'acct_1');
      await spend(l, 'r1', 1100); // 55% of $20
      await app.changeAccount(l.ctx, 'acct_1', { plan: 'max_5x' }); // now $100
      await spend(l, 'r2', 5000); // $61 of $100
      assert.deepEqual(await thresholds(l), [[50, 'r1']]);
      await spend(l, 'r3', 1900); // $80 of $100
      assert.deepEqual((await thresholds(l)).at(-1), [80, 'r3']);
    } finally {
      await l.close();
    }
  });

  it('operator thresholds replace the defaults; settings are checked', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    l.ctx.alerts = checkAlertSettings({ thresholdsPercent: [25, 90], expiringLeadMs: 0 });
    try {
      await subscriber(l, 'acct_1');
      await spend(l, 'r1', 1000);
      assert.deepEqual(await thresholds(l), [[25, 'r1']]);
    } finally {
      await l.close();
    }
    assert.throws(() => checkAlertSettings({ thresholdsPercent: [80, 50], expiringLeadMs: 0 }), /ascending/);
    assert.throws(() => checkAlertSettings({ thresholdsPercent: [0], expiringLeadMs: 0 }), /1\.\.100/);
    assert.throws(() => checkAlertSettings({ thresholdsPercent: [101], expiringLeadMs: 0 }), /1\.\.100/);
    assert.deepEqual(alertSettingsFromEnv({}), defaultAlertSettings);
    assert.deepEqual(
      alertSettingsFromEnv({ CREDITPOOL_ALERT_THRESHOLDS: '10, 90', CREDITPOOL_ALERT_EXPIRING_DAYS: '0.5' }),
      { thresholdsPercent: [10, 90], expiringLeadMs: 12 * 3600 * 1000 },
    );
    assert.deepEqual(alertSettingsFromEnv({ CREDITPOOL_ALERT_THRESHOLDS: '' }).thresholdsPercent, []);
    assert.throws(() => alertSettingsFromEnv({ CREDITPOOL_ALERT_THRESHOLDS: '50,x' }), /not a percentage/);
    assert.throws(() => alertSettingsFromEnv({ CREDITPOOL_ALERT_EXPIRING_DAYS: '-1' }), /number of days/);
  });
});

describe('events: the life of an account', () => {
  it('claim, expiry warning (once, when due, through the sweep), renewal; nothing from the close', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await app.createAccount(l.ctx, {
        id: 'acct_1',
        kind: 'subscription',
        plan: 'pro',
        billing_anchor: '2026-07-03T10:00:00Z',
      });
      assert.deepEqual(await events(l), [], 'an account opening its first cycle is no renewal');
      await app.claim(l.ctx, 'acct_1');
      await app.claim(l.ctx, 'acct_1'); // a replay says nothing
      const claimed = await events(l, 'credit.claimed');
      assert.equal(claimed.length, 1);
      assert.deepEqual(claimed[0]!.data, {
        account_id: 'acct_1',
        org_id: null,
        plan: 'pro',
        claimed_at: '2026-11-20T10:00:00Z',
        effective_at: '2026-11-20T10:00:00Z',
        cycle: { start: '2026-11-03T10:00:00Z', end: '2026-12-03T10:00:00Z' },
        granted_usd: '20',
      });
      await spend(l, 'r1', 150);
      // The cycle closes 2026-12-04T10:00 (end + 24 h grace); the warning is due 3 days before.
      const account = await l.store.read((tx) => tx.getAccount('acct_1'));
      assert.equal(account!.account.nextRollAt, parseInstant('2026-12-01T10:00:00Z'));
      l.at('2026-12-01T09:59:59.999Z');
      await app.sweepDue(l.ctx);
      assert.deepEqual(await events(l, 'credit.expiring'), []);
      l.at('2026-12-01T10:00:00Z');
      await app.sweepDue(l.ctx);
      await app.sweepDue(l.ctx);
      await app.getAccountView(l.ctx, 'acct_1');
      const expiring = await events(l, 'credit.expiring');
      assert.equal(expiring.length, 1);
      assert.deepEqual(expiring[0]!.data, {
        account_id: 'acct_1',
        org_id: null,
        cycle: { start: '2026-11-03T10:00:00Z', end: '2026-12-03T10:00:00Z' },
        remaining_usd: '18.5',
        expires_at: '2026-12-04T10:00:00Z',
      });
      l.at('2026-12-03T10:00:00Z');
      await app.sweepDue(l.ctx);
      const renewed = await events(l, 'cycle.renewed');
      assert.equal(renewed.length, 1);
      assert.deepEqual(renewed[0]!.data, {
        account_id: 'acct_1',
        org_id: null,
        cycle: { start: '2026-12-03T10:00:00Z', end: '2027-01-03T10:00:00Z' },
        plan: 'pro',
        granted_usd: '20',
      });
      l.at('2026-12-04T10:00:00Z');
      await app.sweepDue(l.ctx);
      // A jump over a whole cycle: one renewal per cycle opened; the skipped cycle closed without a
      // warning (too late), the one still in its grace period is warned of (a day left).
      l.at('2027-02-03T10:00:00Z');
      await app.sweepDue(l.ctx);
      const types = (await events(l)).map((e) => `${e.type} ${e.data.cycle?.start ?? ''}`);
      assert.deepEqual(types, [
        'credit.claimed 2026-11-03T10:00:00Z',
        'credit.expiring 2026-11-03T10:00:00Z',
        'cycle.renewed 2026-12-03T10:00:00Z',
        'cycle.renewed 2027-01-03T10:00:00Z',
        'cycle.renewed 2027-02-03T10:00:00Z',
        'credit.expiring 2027-01-03T10:00:00Z',
      ]);
    } finally {
      await l.close();
    }
  });

  it('no expiry warning without credit left, and none with the lead set to 0', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await subscriber(l, 'acct_1');
      await spend(l, 'r1', 2000);
      l.at('2026-12-02T00:00:00Z');
      await app.sweepDue(l.ctx);
      assert.deepEqual(await events(l, 'credit.expiring'), []);
    } finally {
      await l.close();
    }
    const m = await makeLedger('2026-11-20T10:00:00Z');
    m.ctx.alerts = { ...defaultAlertSettings, expiringLeadMs: 0 };
    try {
      await subscriber(m, 'acct_1');
      m.at('2026-12-02T00:00:00Z');
      await app.sweepDue(m.ctx);
      assert.deepEqual(await events(m, 'credit.expiring'), []);
    } finally {
      await m.close();
    }
  });

  it('hold.expired from the sweep, once; a settled or voided hold says nothing', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await subscriber(l, 'acct_1');
      const hold = (id: string) =>
        app.authorize(l.ctx, {
          account_id: 'acct_1',
          surface: 'sdk-cli',
          hold: { id, estimate_usd: '1.5', ttl_seconds: 60 },
        });
      await hold('h1');
      await hold('h2');
      await hold('h3');
      await app.voidHold(l.ctx, 'h2');
      await app.settleHold(
        l.ctx,
        'h3',
        usageRecord({ id: 'r3', account: 'acct_1', at: '2026-11-20T10:00:00Z', cents: 100 }),
      );
      l.at('2026-11-20T10:01:00Z');
      await app.sweepDue(l.ctx);
      await app.sweepDue(l.ctx);
      const expired = await events(l, 'hold.expired');
      assert.equal(expired.length, 1);
      assert.deepEqual(expired[0]!.data, {
        account_id: 'acct_1',
        org_id: null,
        hold_id: 'h1',
        amount_usd: '1.5',
        released_usd: '1.5',
        created_at: '2026-11-20T10:00:00Z',
        expires_at: '2026-11-20T10:01:00Z',
        surface: 'sdk-cli',
        app: null,
      });
    } finally {
      await l.close();
    }
  });

  it('plan.changed: upgrade at once with the difference, downgrade and cancel scheduled, restore; a no-op says nothing', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await subscriber(l, 'acct_1');
      await app.changeAccount(l.ctx, 'acct_1', { plan: 'pro' });
      assert.deepEqual(await events(l, 'plan.changed'), []);
      await app.changeAccount(l.ctx, 'acct_1', { plan: 'max_5x' });
      await app.changeAccount(l.ctx, 'acct_1', { plan: 'pro' });
      await app.changeAccount(l.ctx, 'acct_1', { status: 'canceled' });
      await app.changeAccount(l.ctx, 'acct_1', { status: 'canceled' });
      await app.changeAccount(l.ctx, 'acct_1', { plan: 'max_5x' });
      const changes = (await events(l, 'plan.changed')).map((e) => {
        const { account_id: _a, org_id: _o, ...rest } = e.data;
        return rest;
      });
      const now = '2026-11-20T10:00:00Z';
      const next = '2026-12-03T10:00:00Z';
      assert.deepEqual(changes, [
        {
          change: 'upgrade',
          from_plan: 'pro',
          to_plan: 'max_5x',
          status: 'active',
          effective_at: now,
          granted_usd: '80',
          expired_usd: '0',
        },
        {
          change: 'downgrade',
          from_plan: 'max_5x',
          to_plan: 'pro',
          status: 'active',
          effective_at: next,
          granted_usd: '0',
          expired_usd: '0',
        },
        {
          change: 'cancel',
          from_plan: 'max_5x',
          to_plan: null,
          status: 'canceling',
          effective_at: next,
          granted_usd: '0',
          expired_usd: '0',
        },
        {
          change: 'restore',
          from_plan: 'max_5x',
          to_plan: 'max_5x',
          status: 'active',
          effective_at: now,
          granted_usd: '0',
          expired_usd: '0',
        },
      ]);
    } finally {
      await l.close();
    }
  });

  it('a member removed from its org: plan.changed names the expired credit', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await app.createOrg(l.ctx, { id: 'org_1', billing_anchor: '2026-07-03T10:00:00Z' });
      await app.createAccount(l.ctx, {
        id: 'acct_m',
        kind: 'subscription',
        plan: 'team_standard',
        org_id: 'org_1',
      });
      await app.claim(l.ctx, 'acct_m');
      await spend(l, 'r1', 500, 'acct_m');
      await app.changeAccount(l.ctx, 'acct_m', { org_id: null });
      const [removed] = await events(l, 'plan.changed');
      assert.equal(removed!.data.change, 'remove');
      assert.equal(removed!.data.org_id, 'org_1');
      assert.equal(removed!.data.expired_usd, '15');
      assert.equal(removed!.data.to_plan, null);
    } finally {
      await l.close();
    }
  });

  it('usage_credits.limit_reached names the binding limit, once', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await subscriber(l, 'acct_1');
      await app.setUsageCredits(l.ctx, 'acct_1', { enabled: true, monthly_limit_usd: '5' });
      await spend(l, 'r1', 2000); // the credit
      await spend(l, 'r2', 300); // $3 of usage credits
      assert.deepEqual(await events(l, 'usage_credits.limit_reached'), []);
      await spend(l, 'r3', 300); // $2 more reaches the $5 limit, $1 written off
      await spend(l, 'r4', 300); // nothing left to charge: no second event
      const reached = await events(l, 'usage_credits.limit_reached');
      assert.equal(reached.length, 1);
      const { cycle: _c, ...data } = reached[0]!.data;
      assert.deepEqual(data, {
        account_id: 'acct_1',
        org_id: null,
        limit: 'usage_credit_limit_reached',
        limit_usd: '5',
        spent_usd: '5',
        held_usd: '0',
        record_id: 'r3',
      });
    } finally {
      await l.close();
    }
  });

  it("usage_credits.limit_reached for an org's shared limit names the org limit and its spend", async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await app.createOrg(l.ctx, { id: 'org_1', billing_anchor: '2026-07-03T10:00:00Z' });
      for (const id of ['acct_m1', 'acct_m2']) {
        await app.createAccount(l.ctx, { id, kind: 'subscription', plan: 'team_standard', org_id: 'org_1' });
        await app.claim(l.ctx, id);
        await app.setUsageCredits(l.ctx, id, { enabled: true });
      }
      await app.setOrgUsageCredits(l.ctx, 'org_1', { enabled: true, monthly_limit_usd: '4' });
      await spend(l, 'r1', 2300, 'acct_m1'); // $3 of the org's $4
      await spend(l, 'r2', 2200, 'acct_m2'); // $2 more: the org limit is reached by m2
      const [reached] = await events(l, 'usage_credits.limit_reached');
      assert.equal(reached!.data.account_id, 'acct_m2');
      assert.equal(reached!.data.org_id, 'org_1');
      assert.equal(reached!.data.limit, 'org_limit_reached');
      assert.equal(reached!.data.limit_usd, '4');
      assert.equal(reached!.data.spent_usd, '4');
    } finally {
      await l.close();
    }
  });

  it('subscription_limit.reached names the window, once', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await subscriber(l, 'acct_1'); // Pro: $5 per session, $50 per week
      await spend(l, 'i1', 300, 'acct_1', 'cli');
      assert.deepEqual(await events(l, 'subscription_limit.reached'), []);
      await spend(l, 'i2', 300, 'acct_1', 'cli'); // $6: the session is full
      await spend(l, 'i3', 300, 'acct_1', 'cli'); // refused by the window: nothing more
      const reached = await events(l, 'subscription_limit.reached');
      assert.equal(reached.length, 1);
      assert.deepEqual(reached[0]!.data, {
        account_id: 'acct_1',
        org_id: null,
        window: 'session',
        used_usd: '6',
        limit_usd: '5',
        resets_at: '2026-11-20T15:00:00Z',
        record_id: 'i2',
      });
    } finally {
      await l.close();
    }
  });
});

describe('events: exactly once, with the transaction', () => {
  it('a transaction that rolls back leaves no event; the next one generates it once', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await subscriber(l, 'acct_1');
      await app.authorize(l.ctx, {
        account_id: 'acct_1',
        surface: 'sdk-cli',
        hold: { id: 'h1', estimate_usd: '1', ttl_seconds: 60 },
      });
      l.at('2026-11-20T10:05:00Z');
      await assert.rejects(
        l.store.transaction(async (tx) => {
          const scope = await lockScope(l.ctx, tx, ['acct_1']);
          assert.equal(scope.book.events.length, 1, 'the roll expired the hold');
          await scope.book.flush(tx);
          throw new Error('rolled back after the flush');
        }),
        /rolled back/,
      );
      assert.deepEqual(await events(l, 'hold.expired'), []);
      await app.sweepDue(l.ctx);
      await app.sweepDue(l.ctx);
      assert.equal((await events(l, 'hold.expired')).length, 1);
    } finally {
      await l.close();
    }
  });

  it('a batch books each record once and its crossings once, replays included', async () => {
    const l = await makeLedger('2026-11-20T10:00:00Z');
    try {
      await subscriber(l, 'acct_1');
      const batch = [600, 600, 600, 600].map((c, i) =>
        usageRecord({ id: `b${i}`, account: 'acct_1', at: '2026-11-20T10:00:00Z', cents: c }),
      );
      await app.recordUsage(l.ctx, batch);
      await app.recordUsage(l.ctx, batch); // replays
      assert.deepEqual(await thresholds(l), [
        [50, 'b1'],
        [80, 'b2'],
        [100, 'b3'],
      ]);
      assert.equal((await events(l, 'credit.exhausted')).length, 1);
    } finally {
      await l.close();
    }
  });
});
