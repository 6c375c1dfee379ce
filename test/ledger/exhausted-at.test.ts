/**
 * A cycle's `exhausted_at` (issue 6): the `occurred_at` of the record that used the last of the
 * cycle's credit, and null while any credit is left. Pro, $20 credit, claude-opus-5-5 at $20 per
 * million output tokens (so 100,000 output tokens cost $2), usage credits off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/adapters/storage/sqlite/index.ts';
import {
  type AppContext,
  adjust,
  changeAccount,
  claim,
  createAccount,
  defaultCatalogues,
  getStatement,
  ManualClock,
  recordUsage,
} from '../../src/app/index.ts';
import type { Store } from '../../src/app/ports.ts';
import { parseInstant } from '../../src/core/time.ts';

let store: Store;
let clock: ManualClock;
let ctx: AppContext;

/** A programmatic record of `dollars` (output tokens only), booked with the clock at its time. */
async function spend(account: string, id: string, at: string, dollars: number) {
  clock.set(parseInstant(at));
  const [result] = await recordUsage(ctx, [
    {
      id,
      account_id: account,
      occurred_at: at,
      surface: 'sdk-cli',
      model: 'claude-opus-5-5',
      usage: { input_tokens: 0, output_tokens: dollars * 50_000 },
    },
  ]);
  assert.equal(result?.status, 'recorded', JSON.stringify(result?.error));
  return result!;
}

async function exhaustedAt(account: string) {
  const s = await getStatement(ctx, account, null);
  return [s.sdk_credit.remaining_usd, s.sdk_credit.exhausted_at];
}

describe('ledger: exhausted_at is the occurred_at of the record that used the last credit', () => {
  before(async () => {
    store = await openSqliteStore({ path: ':memory:' });
    clock = new ManualClock(parseInstant('2026-07-01T00:00:00Z'));
    ctx = { store, clock, catalogues: defaultCatalogues };
    for (const id of ['exact', 'over', 'upgrade', 'adjusted']) {
      await createAccount(ctx, {
        id,
        kind: 'subscription',
        plan: 'pro',
        billing_anchor: '2026-07-01T00:00:00Z',
      });
      await claim(ctx, id);
    }
  });
  after(() => store.close());

  it('a record that takes exactly the rest; later records do not move it', async () => {
    await spend('exact', 'e1', '2026-07-02T10:00:00Z', 12);
    assert.deepEqual(await exhaustedAt('exact'), [8_000_000_000_000n, null]);
    await spend('exact', 'e2', '2026-07-03T10:00:00Z', 8);
    assert.deepEqual(await exhaustedAt('exact'), [0n, '2026-07-03T10:00:00Z']);
    const late = await spend('exact', 'e3', '2026-07-04T10:00:00Z', 1);
    assert.equal(late.written_off_usd, 1_000_000_000_000n);
    assert.deepEqual(await exhaustedAt('exact'), [0n, '2026-07-03T10:00:00Z']);
  });

  it('a record that overshoots: it takes the last unit, the rest is written off', async () => {
    const r = await spend('over', 'o1', '2026-07-05T10:00:00Z', 26);
    assert.deepEqual(
      [r.charges, r.written_off_usd],
      [[{ source: 'sdk_credit', amount_usd: 20_000_000_000_000n }], 6_000_000_000_000n],
    );
    assert.deepEqual(await exhaustedAt('over'), [0n, '2026-07-05T10:00:00Z']);
  });

  it('credit added back (an upgrade grant) clears it; the record that uses the new last unit sets it', async () => {
    await spend('upgrade', 'u1', '2026-07-06T10:00:00Z', 20);
    assert.deepEqual(await exhaustedAt('upgrade'), [0n, '2026-07-06T10:00:00Z']);
    await changeAccount(ctx, 'upgrade', { plan: 'max_5x' });
    // R14: the upgrade grants the difference ($80) at once: the credit has not run out.
    assert.deepEqual(await exhaustedAt('upgrade'), [80_000_000_000_000n, null]);
    await spend('upgrade', 'u2', '2026-07-07T10:00:00Z', 80);
    assert.deepEqual(await exhaustedAt('upgrade'), [0n, '2026-07-07T10:00:00Z']);
  });

  it('an adjustment that gives credit back clears it', async () => {
    await spend('adjusted', 'a1', '2026-07-08T10:00:00Z', 20);
    assert.deepEqual(await exhaustedAt('adjusted'), [0n, '2026-07-08T10:00:00Z']);
    await adjust(ctx, 'adjusted', {
      id: 'goodwill',
      pool: 'sdk_credit',
      amount_usd: '5',
      reason: 'goodwill',
    });
    assert.deepEqual(await exhaustedAt('adjusted'), [5_000_000_000_000n, null]);
  });
});
