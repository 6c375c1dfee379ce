import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addIssue,
  emptyStats,
  floatToDecimalString,
  issuesMax,
  usageProblem,
  usageTokenTotal,
} from './record.ts';

describe('floatToDecimalString', () => {
  it('writes the shortest round-trip decimal, without exponent', () => {
    const cases: [unknown, string | null][] = [
      [0.0057465, '0.0057465'],
      [0.000942, '0.000942'],
      [1e-7, '0.0000001'],
      [1.2e-7, '0.00000012'],
      [1.5e21, '1500000000000000000000'],
      [0.1 + 0.2, '0.30000000000000004'],
      [0, '0'],
      [12, '12'],
      [-1, null],
      [Number.NaN, null],
      ['0.1', null],
    ];
    for (const [value, text] of cases) assert.equal(floatToDecimalString(value), text, String(value));
  });
});

describe('usage checks', () => {
  it('accepts null optional fields and refuses bad counts', () => {
    assert.equal(usageProblem({ input_tokens: 1, output_tokens: 2, cache_read_input_tokens: null }), null);
    assert.equal(usageProblem({ input_tokens: 1.5 }), 'input_tokens is not a non-negative integer');
    assert.equal(
      usageProblem({ cache_creation: { ephemeral_5m_input_tokens: -1 } }),
      'cache_creation.ephemeral_5m_input_tokens is not a non-negative integer',
    );
    assert.equal(usageProblem([]), 'usage is not an object');
    assert.equal(
      usageTokenTotal({
        input_tokens: 1,
        output_tokens: 2,
        cache_creation_input_tokens: 3,
        cache_read_input_tokens: 4,
      }),
      10,
    );
  });
});

describe('addIssue', () => {
  it('keeps at most issuesMax and counts the rest', () => {
    const stats = emptyStats();
    for (let i = 0; i < issuesMax + 5; i += 1)
      addIssue(stats, { code: 'unparseable_line', detail: String(i) });
    assert.equal(stats.issues.length, issuesMax);
    assert.equal(stats.issuesDropped, 5);
  });
});
