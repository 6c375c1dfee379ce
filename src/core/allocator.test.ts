import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { allocateCharge, lowestHeadroom, usageCreditsUnlimited } from './allocator.ts';

describe('allocator (R6, R7)', () => {
  it('R6: drains the credit first, then usage credits, then writes off', () => {
    const rows: [bigint, bigint, bigint | null, [bigint, bigint, bigint]][] = [
      // cost, credit available, uc headroom (null = unlimited), expected [credit, uc, written off]
      [5n, 10n, 0n, [5n, 0n, 0n]],
      [5n, 3n, 0n, [3n, 0n, 2n]],
      [5n, 3n, 1n, [3n, 1n, 1n]],
      [5n, 3n, null, [3n, 2n, 0n]],
      [5n, 0n, 10n, [0n, 5n, 0n]],
      [5n, -4n, 10n, [0n, 5n, 0n]],
      [0n, 0n, 0n, [0n, 0n, 0n]],
    ];
    for (const [cost, credit, headroom, [c, u, w]] of rows) {
      const uc = headroom === null ? usageCreditsUnlimited : { headroomUnits: headroom, limit: null };
      assert.deepEqual(allocateCharge(cost, credit, uc), { creditUnits: c, ucUnits: u, writtenOffUnits: w });
    }
  });

  it('R7: the lowest headroom wins and is named; ties go to the earlier limit', () => {
    assert.deepEqual(
      lowestHeadroom([
        { code: 'org_limit_reached', headroomUnits: 7n },
        { code: 'seat_tier_limit_reached', headroomUnits: 3n },
        { code: 'member_limit_reached', headroomUnits: 3n },
      ]),
      { headroomUnits: 3n, limit: 'seat_tier_limit_reached' },
    );
    assert.deepEqual(lowestHeadroom([{ code: 'usage_credits_disabled', headroomUnits: 0n }]), {
      headroomUnits: 0n,
      limit: 'usage_credits_disabled',
    });
    assert.deepEqual(lowestHeadroom([{ code: 'org_limit_reached', headroomUnits: -5n }]), {
      headroomUnits: 0n,
      limit: 'org_limit_reached',
    });
    assert.deepEqual(lowestHeadroom([]), usageCreditsUnlimited);
  });

  it('property: the split conserves the cost and respects every bound', () => {
    const units = fc.bigInt({ min: 0n, max: 10n ** 15n });
    fc.assert(
      fc.property(
        units,
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.option(units),
        (cost, credit, head) => {
          const split = allocateCharge(cost, credit, { headroomUnits: head, limit: null });
          return (
            split.creditUnits + split.ucUnits + split.writtenOffUnits === cost &&
            split.creditUnits >= 0n &&
            split.ucUnits >= 0n &&
            split.writtenOffUnits >= 0n &&
            split.creditUnits <= (credit > 0n ? credit : 0n) &&
            (head === null || split.ucUnits <= head)
          );
        },
      ),
      { seed: 6, numRuns: 2000 },
    );
  });
});
