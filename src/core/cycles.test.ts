import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cycleAt, cycleByIndex, cycleIndexAbsMax, cycleStart } from './cycles.ts';
import { daysInMonth, formatInstant, parseInstant } from './time.ts';

const t = parseInstant;
const f = formatInstant;

/**
 * An independent reference: `Date` and `time.ts` instead of the integer calendar, and a linear
 * search instead of the arithmetic jump. Slow and obviously right, for anchors after 1970.
 */
function referenceStart(anchor: number, index: number): number {
  const d = new Date(anchor);
  const months = d.getUTCFullYear() * 12 + d.getUTCMonth() + index;
  const year = Math.floor(months / 12);
  const month0 = months - year * 12;
  const day = Math.min(d.getUTCDate(), daysInMonth(year, month0));
  const timeOfDay = anchor - Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return Date.UTC(year, month0, day) + timeOfDay;
}

/** Milliseconds since UTC midnight, also for instants before 1970 (`%` keeps the sign). */
function timeOfDay(instant: number): number {
  return ((instant % 86_400_000) + 86_400_000) % 86_400_000;
}

/** Fixed seeds (STYLE habit 10): printed in each test name, so a failure names its replay. */
const seeds = {
  membership: 4101,
  tiling: 4102,
  clamp: 4103,
  roundTrip: 4104,
  negative: 4105,
  reference: 4106,
};
const runs = 3000;

/** Anchors 1970–2400, with the 28th–31st over-represented (that is where clamping bites). */
const anchorArb = fc.oneof(
  fc.integer({ min: 0, max: Date.UTC(2400, 0, 1) }),
  fc
    .record({
      year: fc.integer({ min: 1970, max: 2400 }),
      month0: fc.integer({ min: 0, max: 11 }),
      day: fc.integer({ min: 28, max: 31 }),
      timeOfDay: fc.integer({ min: 0, max: 86_399_999 }),
    })
    .map(
      ({ year, month0, day, timeOfDay }) =>
        Date.UTC(year, month0, Math.min(day, daysInMonth(year, month0))) + timeOfDay,
    ),
);
const offsetArb = fc.integer({ min: -50 * 366 * 86_400_000, max: 50 * 366 * 86_400_000 });

describe('cycles (R4)', () => {
  it('R4: anchor on the 31st clamps to Feb 28, then back to the 31st', () => {
    const anchor = t('2026-01-31T10:00:00Z');
    const rows: [number, string][] = [
      [0, '2026-01-31T10:00:00Z'],
      [1, '2026-02-28T10:00:00Z'],
      [2, '2026-03-31T10:00:00Z'],
      [3, '2026-04-30T10:00:00Z'],
      [4, '2026-05-31T10:00:00Z'],
      [11, '2026-12-31T10:00:00Z'],
      [12, '2027-01-31T10:00:00Z'],
      [25, '2028-02-29T10:00:00Z'],
      [26, '2028-03-31T10:00:00Z'],
    ];
    for (const [index, expected] of rows)
      assert.equal(f(cycleStart(anchor, index)), expected, `index ${index}`);
  });

  it('R4: leap years — Feb 29 2028 for anchors on the 29th, 30th and 31st, Feb 28 otherwise', () => {
    const rows: [string, number, string][] = [
      ['2027-12-29T00:00:00Z', 2, '2028-02-29T00:00:00Z'],
      ['2027-12-30T00:00:00Z', 2, '2028-02-29T00:00:00Z'],
      ['2027-12-31T00:00:00Z', 2, '2028-02-29T00:00:00Z'],
      ['2027-12-31T00:00:00Z', 14, '2029-02-28T00:00:00Z'],
      ['2028-02-29T12:00:00Z', 12, '2029-02-28T12:00:00Z'],
      ['2028-02-29T12:00:00Z', 48, '2032-02-29T12:00:00Z'],
      ['2028-02-29T12:00:00Z', 1, '2028-03-29T12:00:00Z'],
      ['2099-12-31T00:00:00Z', 2, '2100-02-28T00:00:00Z'], // 2100 is not a leap year
      ['2399-12-31T00:00:00Z', 2, '2400-02-29T00:00:00Z'], // 2400 is
    ];
    for (const [anchor, index, expected] of rows) {
      assert.equal(f(cycleStart(t(anchor), index)), expected, `${anchor} + ${index}`);
    }
  });

  it('R4: negative indices reach back before the anchor, clamped the same way', () => {
    const anchor = t('2026-03-31T23:59:59.999Z');
    const rows: [number, string][] = [
      [-1, '2026-02-28T23:59:59.999Z'],
      [-2, '2026-01-31T23:59:59.999Z'],
      [-3, '2025-12-31T23:59:59.999Z'],
      [-13, '2025-02-28T23:59:59.999Z'],
      [-25, '2024-02-29T23:59:59.999Z'],
    ];
    for (const [index, expected] of rows)
      assert.equal(f(cycleStart(anchor, index)), expected, `index ${index}`);
  });

  it('R4: cycleAt finds the half-open cycle at its boundaries', () => {
    const anchor = t('2026-07-03T10:00:00Z');
    const rows: [string, number, string, string][] = [
      ['2026-07-03T10:00:00Z', 0, '2026-07-03T10:00:00Z', '2026-08-03T10:00:00Z'],
      ['2026-08-03T09:59:59.999Z', 0, '2026-07-03T10:00:00Z', '2026-08-03T10:00:00Z'],
      ['2026-08-03T10:00:00Z', 1, '2026-08-03T10:00:00Z', '2026-09-03T10:00:00Z'],
      ['2026-11-20T10:00:14Z', 4, '2026-11-03T10:00:00Z', '2026-12-03T10:00:00Z'],
      ['2026-07-03T09:59:59.999Z', -1, '2026-06-03T10:00:00Z', '2026-07-03T10:00:00Z'],
      ['2026-01-01T00:00:00Z', -7, '2025-12-03T10:00:00Z', '2026-01-03T10:00:00Z'],
    ];
    for (const [at, index, start, end] of rows) {
      const cycle = cycleAt(anchor, t(at));
      assert.deepEqual([cycle.index, f(cycle.start), f(cycle.end)], [index, start, end], at);
    }
  });

  it('R4: an instant on Mar 1–30 lies in the Feb-28 cycle of a 31st anchor (no early March cycle)', () => {
    const anchor = t('2026-01-31T00:00:00Z');
    for (const at of ['2026-03-01T00:00:00Z', '2026-03-30T23:59:59.999Z']) {
      const cycle = cycleAt(anchor, t(at));
      assert.deepEqual(
        [cycle.index, f(cycle.start), f(cycle.end)],
        [1, '2026-02-28T00:00:00Z', '2026-03-31T00:00:00Z'],
      );
    }
  });

  it('R4: refuses indices and instants that are not integers (a caller bug)', () => {
    assert.throws(() => cycleStart(0, 1.5), RangeError);
    assert.throws(() => cycleStart(0, cycleIndexAbsMax + 1), RangeError);
    assert.throws(() => cycleStart(Number.NaN, 0), RangeError);
    assert.throws(() => cycleAt(0, 0.5), RangeError);
  });

  it(`R4 property (seed ${seeds.membership}): every instant lies in exactly one cycle`, () => {
    fc.assert(
      fc.property(anchorArb, offsetArb, (anchor, offset) => {
        const at = anchor + offset;
        const c = cycleAt(anchor, at);
        // In this cycle, and in neither neighbour (so in exactly one: cycles are ordered).
        const before = cycleByIndex(anchor, c.index - 1);
        const after = cycleByIndex(anchor, c.index + 1);
        return c.start <= at && at < c.end && before.end <= at && after.start > at;
      }),
      { seed: seeds.membership, numRuns: runs },
    );
  });

  it(`R4 property (seed ${seeds.tiling}): consecutive cycles tile time with no gap or overlap`, () => {
    fc.assert(
      fc.property(anchorArb, fc.integer({ min: -600, max: 600 }), (anchor, index) => {
        const c = cycleByIndex(anchor, index);
        const next = cycleByIndex(anchor, index + 1);
        const length = c.end - c.start;
        // Every cycle runs 28 to 31 days, clamped ones included (Jan 31 → Feb 28 → Mar 31).
        return c.end === next.start && length >= 28 * 86_400_000 && length <= 31 * 86_400_000;
      }),
      { seed: seeds.tiling, numRuns: runs },
    );
  });

  it(`R4 property (seed ${seeds.clamp}): the day is the anchor's, clamped to the month's end; time of day kept`, () => {
    fc.assert(
      fc.property(anchorArb, fc.integer({ min: -600, max: 600 }), (anchor, index) => {
        const a = new Date(anchor);
        const s = new Date(cycleStart(anchor, index));
        const expectedDay = Math.min(a.getUTCDate(), daysInMonth(s.getUTCFullYear(), s.getUTCMonth()));
        const monthsApart =
          s.getUTCFullYear() * 12 + s.getUTCMonth() - (a.getUTCFullYear() * 12 + a.getUTCMonth());
        return (
          monthsApart === index &&
          s.getUTCDate() === expectedDay &&
          timeOfDay(anchor) === timeOfDay(cycleStart(anchor, index))
        );
      }),
      { seed: seeds.clamp, numRuns: runs },
    );
  });

  it(`R4 property (seed ${seeds.roundTrip}): index ↔ instant round trips`, () => {
    fc.assert(
      fc.property(anchorArb, fc.integer({ min: -600, max: 600 }), (anchor, index) => {
        const c = cycleByIndex(anchor, index);
        return (
          cycleAt(anchor, c.start).index === index &&
          cycleAt(anchor, c.end - 1).index === index &&
          cycleAt(anchor, c.end).index === index + 1 &&
          cycleAt(anchor, c.start - 1).index === index - 1
        );
      }),
      { seed: seeds.roundTrip, numRuns: runs },
    );
  });

  it(`R4 property (seed ${seeds.negative}): instants before the anchor get negative indices`, () => {
    fc.assert(
      fc.property(anchorArb, fc.integer({ min: 1, max: 50 * 366 * 86_400_000 }), (anchor, back) => {
        const c = cycleAt(anchor, anchor - back);
        return c.index < 0 && c.start <= anchor - back && c.end <= anchor;
      }),
      { seed: seeds.negative, numRuns: runs },
    );
  });

  it(`R4 property (seed ${seeds.reference}): agrees with a slow Date-based reference`, () => {
    fc.assert(
      fc.property(anchorArb, offsetArb, (anchor, offset) => {
        const at = anchor + offset;
        if (at < 0) return true; // the reference uses Date.UTC, which is fine here but keep to its range
        const c = cycleAt(anchor, at);
        let k = 0;
        while (referenceStart(anchor, k) > at) k--;
        while (referenceStart(anchor, k + 1) <= at) k++;
        return (
          c.index === k && c.start === referenceStart(anchor, k) && c.end === referenceStart(anchor, k + 1)
        );
      }),
      { seed: seeds.reference, numRuns: 500 },
    );
  });
});
