import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  formatCents,
  formatUsd,
  MoneyError,
  parseUsd,
  roundHalfUpToCents,
  sumUnits,
  unitsPerCent,
  usdAbsMax,
} from './money.ts';

describe('money (R18)', () => {
  it('parses exact decimal strings into pico-dollar units', () => {
    const rows: [string, bigint][] = [
      ['20', 20_000_000_000_000n],
      ['0.35353', 353_530_000_000n],
      ['19.873450000000', 19_873_450_000_000n],
      ['0.000000000001', 1n],
      ['0', 0n],
      ['-0', 0n],
      ['1.0000000000000000', 1_000_000_000_000n],
    ];
    for (const [text, units] of rows) assert.equal(parseUsd(text), units, text);
    assert.equal(parseUsd('-2.5', { allowNegative: true }), -2_500_000_000_000n);
  });

  it('refuses inexact, malformed, negative and oversized amounts with a code', () => {
    const rows: [string, string][] = [
      ['0.0000000000001', 'amount_inexact'],
      ['1e3', 'invalid_amount'],
      [' 1', 'invalid_amount'],
      ['+1', 'invalid_amount'],
      ['1.', 'invalid_amount'],
      ['.5', 'invalid_amount'],
      ['', 'invalid_amount'],
      ['0x10', 'invalid_amount'],
      ['NaN', 'invalid_amount'],
      ['-1', 'amount_negative'],
      ['1000000.000000000001', 'amount_too_large'],
      ['9'.repeat(41), 'invalid_amount'],
    ];
    for (const [text, code] of rows) {
      assert.throws(
        () => parseUsd(text),
        (error: unknown) => error instanceof MoneyError && error.code === code,
        text,
      );
    }
  });

  it('formats the shortest exact form', () => {
    assert.equal(formatUsd(20_000_000_000_000n), '20');
    assert.equal(formatUsd(353_530_000_000n), '0.35353');
    assert.equal(formatUsd(1n), '0.000000000001');
    assert.equal(formatUsd(-5n), '-0.000000000005');
    assert.equal(formatUsd(0n), '0');
    assert.equal(formatCents(1_990_000_000_000n), '1.99');
    assert.equal(formatCents(0n), '0.00');
  });

  it('rounds half up to cents, as named', () => {
    const c = unitsPerCent;
    assert.equal(roundHalfUpToCents(c / 2n), c);
    assert.equal(roundHalfUpToCents(c / 2n - 1n), 0n);
    assert.equal(roundHalfUpToCents(-c / 2n), -c);
    assert.equal(roundHalfUpToCents(3n * c), 3n * c);
  });

  const amount = fc.bigInt({ min: -usdAbsMax, max: usdAbsMax });

  it('property: parse∘format is the identity', () => {
    fc.assert(
      fc.property(amount, (units) => parseUsd(formatUsd(units), { allowNegative: true }) === units),
      {
        seed: 42,
        numRuns: 2000,
      },
    );
  });

  it('property: sums are associative and order-free', () => {
    fc.assert(
      fc.property(fc.array(amount, { maxLength: 30 }), (values) => {
        const forward = sumUnits(values);
        const backward = sumUnits([...values].reverse());
        const split = values.length;
        const half = Math.floor(split / 2);
        const grouped = sumUnits(values.slice(0, half)) + sumUnits(values.slice(half));
        return forward === backward && forward === grouped;
      }),
      { seed: 43, numRuns: 1000 },
    );
  });

  it('property: rounding moves at most half a cent and lands on a cent', () => {
    fc.assert(
      fc.property(amount, (units) => {
        const rounded = roundHalfUpToCents(units);
        const moved = rounded > units ? rounded - units : units - rounded;
        return rounded % unitsPerCent === 0n && moved * 2n <= unitsPerCent;
      }),
      { seed: 44, numRuns: 2000 },
    );
  });
});
