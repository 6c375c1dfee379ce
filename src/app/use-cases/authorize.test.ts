/**
 * The gate without a hold on SQLite decides from the single writer's cached aggregate, without a
 * lock scope. It must see every acknowledged write at once, write nothing itself, and leave a due
 * roll (a cycle start, an expiry) to the locked path, which books it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  app,
  assertLedgerConsistent,
  makeLedger,
  record,
  snapshot,
  subscriber,
} from '../../../test/support/ledger.ts';

const start = '2026-07-03T10:00:00Z';
const gate = { account_id: 'a', surface: 'sdk-cli' };

describe('authorize without a hold (SQLite)', () => {
  it('answers from the account as it stands, writes nothing, and books a due roll', async () => {
    const l = await makeLedger(start);
    try {
      await subscriber(l, 'a');
      let d = await app.authorize(l.ctx, gate);
      assert.deepEqual([d.decision, d.source], ['allow', 'sdk_credit']);

      // The whole $20 credit spent: the next gate sees it, with nothing written in between.
      await record(l, { id: 'r1', account: 'a', at: start, cents: 2000 });
      const before = await snapshot(l);
      d = await app.authorize(l.ctx, gate);
      assert.deepEqual(
        [d.decision, d.reason, d.retry_at],
        ['deny', 'credit_exhausted', '2026-08-03T10:00:00Z'],
      );
      assert.equal(await snapshot(l), before);

      // A new cycle has started: its grant is due, booked by the gate, which answers from it.
      l.at('2026-08-03T10:00:01Z');
      d = await app.authorize(l.ctx, gate);
      assert.deepEqual([d.decision, d.source], ['allow', 'sdk_credit']);
      assert.notEqual(await snapshot(l), before);
      const view = await app.getAccountView(l.ctx, 'a');
      assert.equal(view.cycle.start, '2026-08-03T10:00:00Z');
      assert.equal(view.sdk_credit?.used_usd, 0n);
      await assertLedgerConsistent(l);
    } finally {
      await l.close();
    }
  });

  it('an unknown account is not_found', async () => {
    const l = await makeLedger(start);
    try {
      await assert.rejects(app.authorize(l.ctx, gate), { code: 'not_found' });
    } finally {
      await l.close();
    }
  });
});
