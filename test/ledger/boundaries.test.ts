/**
 * Boundary instants (issue 3): a claim, a record and a cycle start at the same instant; a hold
 * that expires exactly at the cycle end; a record one unit of time before and after the grace; and
 * an org member's usage-credit hold released by a close far after a clock jump.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  app,
  assertLedgerConsistent,
  cents,
  dollars,
  type Ledger,
  makeLedger,
  record,
  subscriber,
  usageRecord,
} from '../support/ledger.ts';

let l: Ledger;
afterEach(async () => {
  await assertLedgerConsistent(l);
  await l.close();
});

describe('boundary instants', () => {
  it('R4 R5: a claim, a record and a cycle start at the same instant draw on the new cycle', async () => {
    l = await makeLedger('2026-07-03T10:00:00Z');
    await subscriber(l, 'a1', 'pro', '2026-07-03T10:00:00Z', false);
    l.at('2026-08-03T10:00:00Z');
    await app.claim(l.ctx, 'a1');
    const r = await record(l, { id: 'r', account: 'a1', at: '2026-08-03T10:00:00Z', cents: 100 });
    assert.deepEqual(r.charges, [{ source: 'sdk_credit', amount_usd: cents(100) }]);
    const s = await app.getStatement(l.ctx, 'a1', Date.parse('2026-08-03T10:00:00Z'));
    assert.deepEqual([s.sdk_credit.granted_usd, s.sdk_credit.used_usd], [dollars(20), cents(100)]);
    const previous = await app.getStatement(l.ctx, 'a1', Date.parse('2026-07-03T10:00:00Z'));
    assert.equal(
      previous.sdk_credit.granted_usd,
      0n,
      'a claim at the start instant belongs to the new cycle only',
    );
  });

  it('R11: a hold that expires exactly at the cycle end is released then, and its late settle still books in its cycle', async () => {
    l = await makeLedger('2026-08-03T09:50:00Z');
    await subscriber(l, 'a1', 'pro', '2026-07-03T10:00:00Z');
    const h = await app.authorize(l.ctx, {
      account_id: 'a1',
      surface: 'sdk-cli',
      hold: { id: 'h', estimate_usd: '2', ttl_seconds: 600 },
    });
    assert.equal(h.hold?.expires_at, '2026-08-03T10:00:00Z');
    l.at('2026-08-03T09:59:59.999Z');
    const july = Date.parse('2026-07-03T10:00:00Z');
    assert.equal((await app.getStatement(l.ctx, 'a1', july)).sdk_credit.held_usd, dollars(2));
    l.at('2026-08-03T10:00:00Z');
    assert.equal(
      (await app.getStatement(l.ctx, 'a1', july)).sdk_credit.held_usd,
      0n,
      'expired at the end instant',
    );
    const settled = await app.settleHold(
      l.ctx,
      'h',
      usageRecord({ id: 'r', account: 'a1', at: '2026-08-03T09:59:00Z', cents: 150 }),
    );
    assert.deepEqual(settled.charges, [{ source: 'sdk_credit', amount_usd: cents(150) }]);
    const s = await app.getStatement(l.ctx, 'a1', july);
    assert.deepEqual([s.closed, s.sdk_credit.used_usd], [false, cents(150)]);
  });

  it('R8 R13: a record one millisecond before the grace ends is booked; at the grace end it is too old', async () => {
    l = await makeLedger('2026-07-03T10:00:00Z');
    await subscriber(l, 'a1');
    l.at('2026-08-04T09:59:59.999Z');
    const [inside] = await app.recordUsage(l.ctx, [
      usageRecord({ id: 'in', account: 'a1', at: '2026-08-03T09:59:59.999Z', cents: 1 }),
    ]);
    assert.equal(inside?.status, 'recorded');
    l.at('2026-08-04T10:00:00Z');
    const [after] = await app.recordUsage(l.ctx, [
      usageRecord({ id: 'out', account: 'a1', at: '2026-08-03T09:59:59.999Z', cents: 1 }),
    ]);
    assert.equal(after?.error?.code, 'event_too_old');
  });

  it("R7 R11: an org member's usage-credit hold is released from the org counter by a close long after", async () => {
    l = await makeLedger('2026-07-03T10:00:00Z');
    await app.createOrg(l.ctx, { id: 'o', billing_anchor: '2026-07-03T10:00:00Z' });
    await app.createAccount(l.ctx, { id: 'm', kind: 'subscription', plan: 'team_standard', org_id: 'o' });
    await app.claim(l.ctx, 'm');
    await app.setUsageCredits(l.ctx, 'm', { enabled: true });
    await app.setOrgUsageCredits(l.ctx, 'o', { enabled: true, monthly_limit_usd: '10' });
    const h = await app.authorize(l.ctx, {
      account_id: 'm',
      surface: 'sdk-cli',
      hold: { id: 'h', estimate_usd: '23', ttl_seconds: 86400 },
    });
    assert.deepEqual([h.decision, h.source], ['allow', 'sdk_credit']);
    l.at('2026-10-20T00:00:00Z');
    await app.sweepDue(l.ctx);
    // verify (afterEach) checks the org counter equals its members' holds: the $3 reservation is gone.
  });
});
