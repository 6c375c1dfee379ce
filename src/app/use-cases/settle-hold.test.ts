/**
 * R11 at settle: what a hold was granted is what pays, whatever changed while it was outstanding,
 * and a hold the settle's own roll expires is settled (or voided) once. Found by the multi-process
 * scenario (`test/concurrency/`); each case here is the smallest sequence that showed it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  app,
  assertLedgerConsistent,
  cents,
  type Ledger,
  makeLedger,
  record,
  subscriber,
  usageRecord,
} from '../../../test/support/ledger.ts';
import { formatUsd, unitsPerCent } from '../../core/money.ts';
import { formatInstant, msPerMinute } from '../../core/time.ts';

const start = '2026-07-03T10:00:00Z';

async function hold(l: Ledger, id: string, estimateCents: number, surface = 'sdk-cli') {
  const answer = await app.authorize(l.ctx, {
    account_id: 'a',
    surface,
    model: 'claude-opus-5-5',
    hold: { id, estimate_usd: formatUsd(BigInt(estimateCents) * unitsPerCent) },
  });
  assert.equal(answer.decision, 'allow', `denied: ${answer.reason}`);
  return answer;
}

function settle(
  l: Ledger,
  holdId: string,
  recordId: string,
  costCents: number,
  at: string,
  surface = 'sdk-cli',
) {
  return app.settleHold(
    l.ctx,
    holdId,
    usageRecord({ id: recordId, account: 'a', at, cents: costCents, surface }),
  );
}

describe('settleHold and voidHold', () => {
  it('a settle whose own roll expires the hold books the usage once (no second release)', async () => {
    const l = await makeLedger(start);
    await subscriber(l, 'a');
    await hold(l, 'h1', 100);
    // The clock passes the hold's 10-minute TTL; nothing has expired it yet (no sweep ran).
    l.clock.advance(11 * msPerMinute);
    const result = await settle(l, 'h1', 'r1', 80, start);
    assert.equal(result.status, 'recorded');
    assert.deepEqual(result.charges, [{ source: 'sdk_credit', amount_usd: cents(80) }]);
    const view = await app.getAccountView(l.ctx, 'a');
    assert.equal(view.sdk_credit?.held_usd, 0n);
    // Settled, not expired: a replay of the same record answers the first result.
    const again = await settle(l, 'h1', 'r1', 80, start);
    assert.equal(again.status, 'replayed');
    await assertLedgerConsistent(l);
    await l.close();
  });

  it('a void whose own roll expires the hold answers expired and releases nothing', async () => {
    const l = await makeLedger(start);
    await subscriber(l, 'a');
    await hold(l, 'h1', 100);
    l.clock.advance(11 * msPerMinute);
    const voided = await app.voidHold(l.ctx, 'h1', 'a');
    assert.equal(voided.status, 'expired');
    assert.equal(voided.released_usd, 0n);
    await assertLedgerConsistent(l);
    await l.close();
  });

  it('usage credits reserved by a hold pay at settle even after the switch was turned off', async () => {
    const l = await makeLedger(start);
    await subscriber(l, 'a');
    await record(l, { id: 'all', account: 'a', at: start, cents: 2000 });
    await app.setUsageCredits(l.ctx, 'a', { enabled: true, monthly_limit_usd: null });
    const answer = await hold(l, 'h1', 100);
    assert.equal(answer.source, 'usage_credits');
    await app.setUsageCredits(l.ctx, 'a', { enabled: false, monthly_limit_usd: null });
    // The reserved dollar pays; only the cost above the estimate is written off.
    const result = await settle(l, 'h1', 'r1', 150, start);
    assert.deepEqual(result.charges, [{ source: 'usage_credits', amount_usd: cents(100) }]);
    assert.equal(result.written_off_usd, cents(50));
    // New requests see the switch off.
    const gate = await app.authorize(l.ctx, {
      account_id: 'a',
      surface: 'sdk-cli',
      model: 'claude-opus-5-5',
    });
    assert.equal(gate.decision, 'deny');
    await assertLedgerConsistent(l);
    await l.close();
  });

  it('a hold the subscription window let through is counted in it at settle, even once the window is full', async () => {
    const l = await makeLedger(start);
    await subscriber(l, 'a');
    const answer = await hold(l, 'h1', 100, 'cli');
    assert.equal(answer.source, 'subscription');
    // Pro's 5-hour session window is $5 (an assumption in core/plans.ts): this record fills it.
    await record(l, { id: 'fill', account: 'a', at: start, cents: 500, surface: 'cli' });
    const gate = await app.authorize(l.ctx, { account_id: 'a', surface: 'cli', model: 'claude-opus-5-5' });
    assert.equal(gate.reason, 'subscription_limit_reached');
    const result = await settle(l, 'h1', 'r1', 90, formatInstant(l.clock.now()), 'cli');
    assert.deepEqual(result.charges, [{ source: 'subscription', amount_usd: cents(90) }]);
    assert.equal(result.written_off_usd, 0n);
    await assertLedgerConsistent(l);
    await l.close();
  });
});
