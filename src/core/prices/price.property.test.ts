import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseInstant } from '../time.ts';
import { defaultPriceCatalogue, price } from './index.ts';

/** Seeded, and printed on failure by fast-check, so any failure replays exactly. */
const seed = Number(process.env.CREDITPOOL_TEST_SEED ?? 20261120);
const runs = { seed, numRuns: 2000 };

const models = defaultPriceCatalogue.models.map((m) => m.id);
const count = fc.integer({ min: 0, max: 2_000_000 });

/** A valid usage: a split that never exceeds its total; batch never with fast mode. */
const usageArb = fc
  .record({
    input_tokens: count,
    output_tokens: count,
    cache_read_input_tokens: count,
    write5m: count,
    write1h: count,
    unsplit: count,
    web_search_requests: fc.integer({ min: 0, max: 50 }),
    service_tier: fc.constantFrom('standard', 'batch', 'priority', null),
    inference_geo: fc.constantFrom('us', 'global', 'not_available', '', null),
    speed: fc.constantFrom('standard', 'fast', null),
  })
  .filter((u) => !(u.service_tier === 'batch' && u.speed === 'fast'));

const instantArb = fc.integer({
  min: parseInstant('2025-06-01T00:00:00Z'),
  max: parseInstant('2027-06-01T00:00:00Z'),
});

type Generated = typeof usageArb extends fc.Arbitrary<infer T> ? T : never;

function wire(u: Generated): Record<string, unknown> {
  return {
    input_tokens: u.input_tokens,
    output_tokens: u.output_tokens,
    cache_read_input_tokens: u.cache_read_input_tokens,
    cache_creation_input_tokens: u.write5m + u.write1h + u.unsplit,
    cache_creation: { ephemeral_5m_input_tokens: u.write5m, ephemeral_1h_input_tokens: u.write1h },
    server_tool_use: { web_search_requests: u.web_search_requests },
    service_tier: u.service_tier,
    inference_geo: u.inference_geo,
    speed: u.speed,
  };
}

describe('price: properties', () => {
  it('the total equals the sum of the lines, and every line is quantity × unit price', () => {
    fc.assert(
      fc.property(fc.constantFrom(...models), usageArb, instantArb, (model, u, at) => {
        const result = price(model, wire(u), at);
        if (!result.ok) return; // released later, or no fast mode: refusals are tested elsewhere
        let sum = 0n;
        for (const line of result.lines) {
          assert.ok(line.quantity > 0);
          assert.equal(line.units, BigInt(line.quantity) * line.unitPriceUnits);
          sum += line.units;
        }
        assert.equal(result.totalUnits, sum);
      }),
      runs,
    );
  });

  const fields = [
    'input_tokens',
    'output_tokens',
    'cache_read_input_tokens',
    'write5m',
    'write1h',
    'unsplit',
    'web_search_requests',
  ] as const;
  it('pricing is monotone in each count (long-prompt tiers included)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...models),
        usageArb,
        instantArb,
        fc.constantFrom(...fields),
        fc.integer({ min: 1, max: 300_000 }),
        (model, u, at, field, delta) => {
          const lower = price(model, wire(u), at);
          const higher = price(model, wire({ ...u, [field]: u[field] + delta }), at);
          assert.equal(lower.ok, higher.ok);
          if (lower.ok && higher.ok) assert.ok(higher.totalUnits >= lower.totalUnits, `${field} +${delta}`);
        },
      ),
      runs,
    );
  });
});
