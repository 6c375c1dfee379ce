import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatInstant, parseInstant, TimeError } from './time.ts';

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
