import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import fc from 'fast-check';
import { formatInstant, parseInstant, parseInstantGeneral, TimeError } from './time.ts';

describe('time', () => {
  it('parses RFC 3339 in UTC and with offsets', () => {
    assert.equal(parseInstant('2026-11-20T10:00:14Z'), Date.UTC(2026, 10, 20, 10, 0, 14));
    assert.equal(parseInstant('2026-11-20T10:00:14.123456Z'), Date.UTC(2026, 10, 20, 10, 0, 14, 123));
    assert.equal(parseInstant('2026-11-20T12:00:14+02:00'), Date.UTC(2026, 10, 20, 10, 0, 14));
    assert.equal(parseInstant('2028-02-29T00:00:00Z'), Date.UTC(2028, 1, 29));
  });
  it('refuses what is not an instant', () => {
    for (const text of [
      '2026-11-20',
      '2026-02-30T00:00:00Z',
      '2026-11-20T24:00:00Z',
      '2026-11-20 10:00:00',
      'now',
      '',
    ]) {
      assert.throws(() => parseInstant(text), TimeError, text);
    }
  });
  it('formats without zero milliseconds', () => {
    assert.equal(formatInstant(Date.UTC(2026, 6, 3, 10)), '2026-07-03T10:00:00Z');
    assert.equal(formatInstant(Date.UTC(2026, 6, 3, 10, 0, 0, 5)), '2026-07-03T10:00:00.005Z');
  });
});

test('parseInstant: the fast UTC path agrees with the general parser on every form, valid or not', () => {
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  const stamp = fc
    .record({
      year: fc.integer({ min: 0, max: 9999 }),
      month: fc.integer({ min: 0, max: 13 }),
      day: fc.integer({ min: 0, max: 32 }),
      hour: fc.integer({ min: 0, max: 25 }),
      minute: fc.integer({ min: 0, max: 61 }),
      second: fc.integer({ min: 0, max: 61 }),
      fraction: fc.option(fc.stringMatching(/^[0-9]{0,11}$/), { nil: undefined }),
      t: fc.constantFrom('T', 't', ' '),
      zone: fc.constantFrom('Z', 'z', '+00:00', '-05:30', '', 'ZZ'),
      junk: fc.option(fc.constantFrom('x', '٣', '-', '0'), { nil: undefined }),
      junkAt: fc.nat(),
    })
    .map((r) => {
      let s = `${pad(r.year, 4)}-${pad(r.month, 2)}-${pad(r.day, 2)}${r.t}${pad(r.hour, 2)}:${pad(r.minute, 2)}:${pad(r.second, 2)}`;
      if (r.fraction !== undefined) s += `.${r.fraction}`;
      s += r.zone;
      if (r.junk !== undefined) {
        const at = r.junkAt % (s.length + 1);
        s = s.slice(0, at) + r.junk + s.slice(at + 1);
      }
      return s;
    });
  const outcome = (f: () => number) => {
    try {
      return f();
    } catch (error) {
      return (error as Error).message;
    }
  };
  fc.assert(
    fc.property(stamp, (s) => {
      assert.equal(
        outcome(() => parseInstant(s)),
        outcome(() => parseInstantGeneral(s)),
      );
    }),
    { numRuns: 20_000 },
  );
  // The corners the generator may miss: leap days, the first instant, fraction widths.
  for (const s of [
    '2024-02-29T23:59:59.999Z',
    '2100-02-29T00:00:00Z',
    '2000-02-29T00:00:00z',
    '1970-01-01T00:00:00Z',
    '1969-12-31T23:59:59Z',
    '0099-06-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999Z',
    '2026-11-25T10:00:00.5Z',
    '2026-11-25T10:00:00.05Z',
    '2026-11-25T10:00:00.Z',
  ]) {
    assert.equal(
      outcome(() => parseInstant(s)),
      outcome(() => parseInstantGeneral(s)),
      s,
    );
  }
  assert.throws(() => parseInstant('0099-06-01T00:00:00Z'), /out of range/);
});
