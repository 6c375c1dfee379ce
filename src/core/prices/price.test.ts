import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatUsd, parseUsd } from '../money.ts';
import { parseInstant } from '../time.ts';
import { type PriceLineCategory, type PriceResult, price } from './index.ts';

const now = parseInstant('2026-11-20T10:00:00Z');

type Ok = Extract<PriceResult, { ok: true }>;

function ok(result: PriceResult): Ok {
  if (!result.ok) assert.fail(`expected a price, got ${result.code}: ${result.detail}`);
  return result;
}

/** USD per million tokens of one line: the unit price × 1e6 tokens, as an exact decimal. */
function perMtok(result: Ok, category: PriceLineCategory): string | undefined {
  const line = result.lines.find((l) => l.category === category);
  return line && formatUsd(line.unitPriceUnits * 1_000_000n);
}

function rates(result: Ok): string[] {
  return (['input', 'cache_write_5m', 'cache_write_1h', 'cache_read', 'output'] as const).map(
    (c) => perMtok(result, c) ?? '-',
  );
}

/** Normalises a table's decimal ("12.50") to formatUsd's form ("12.5"). */
const usdText = (text: string) => formatUsd(parseUsd(text));

/** One of every token category, a prompt of 80 tokens: far below every long-prompt threshold. */
const everyCategory = {
  input_tokens: 10,
  cache_creation_input_tokens: 30,
  cache_creation: { ephemeral_5m_input_tokens: 10, ephemeral_1h_input_tokens: 20 },
  cache_read_input_tokens: 40,
  output_tokens: 50,
};

describe('price: every row of prices.md (base rates, USD per million tokens)', () => {
  // model, input, 5-minute write, 1-hour write, cache read, output: copied from prices.md, not
  // from the catalogue data, so a typo in either shows up here.
  const table: [string, string, string, string, string, string][] = [
    ['claude-fable-5-2', '8', '10', '16', '0.20', '40'],
    ['claude-mythos-5-2', '8', '10', '16', '0.20', '40'],
    ['claude-fable-5-1', '10', '12.50', '20', '0.25', '50'],
    ['claude-mythos-5-1', '10', '12.50', '20', '0.25', '50'],
    ['claude-fable-5', '10', '12.50', '20', '1', '50'],
    ['claude-mythos-5', '10', '12.50', '20', '1', '50'],
    ['claude-opus-5-5', '4', '5', '8', '0.20', '20'],
    ['claude-opus-5', '5', '6.25', '10', '0.50', '25'],
    ['claude-opus-4-8', '5', '6.25', '10', '0.50', '25'],
    ['claude-opus-4-7', '5', '6.25', '10', '0.50', '25'],
    ['claude-opus-4-6', '5', '6.25', '10', '0.50', '25'],
    ['claude-opus-4-5-20251101', '5', '6.25', '10', '0.50', '25'],
    ['claude-opus-4-1-20250805', '15', '18.75', '30', '1.50', '75'],
    ['claude-opus-4-20250514', '15', '18.75', '30', '1.50', '75'],
    ['claude-sonnet-5-5', '2', '2.50', '4', '0.10', '10'],
    ['claude-sonnet-5', '2', '2.50', '4', '0.20', '10'],
    ['claude-sonnet-4-6', '3', '3.75', '6', '0.30', '15'],
    ['claude-sonnet-4-5-20250929', '3', '3.75', '6', '0.30', '15'],
    ['claude-sonnet-4-20250514', '3', '3.75', '6', '0.30', '15'],
    ['claude-3-7-sonnet-20250219', '3', '3.75', '6', '0.30', '15'],
    ['claude-3-5-sonnet-20241022', '3', '3.75', '6', '0.30', '15'],
    ['claude-haiku-5-5', '0.10', '0.125', '0.20', '0.01', '0.50'],
    ['claude-haiku-4-5-20251001', '1', '1.25', '2', '0.10', '5'],
    ['claude-3-5-haiku-20241022', '0.80', '1', '1.60', '0.08', '4'],
    ['claude-3-haiku-20240307', '0.25', '0.30', '0.50', '0.03', '1.25'],
    ['claude-3-opus-20240229', '15', '18.75', '30', '1.50', '75'],
  ];
  for (const [model, ...expected] of table) {
    it(model, () => {
      const result = ok(price(model, everyCategory, now));
      assert.equal(result.model, model);
      assert.deepEqual(rates(result), expected.map(usdText));
      assert.deepEqual(result.modifiers, []);
      for (const line of result.lines) assert.equal(line.units, BigInt(line.quantity) * line.unitPriceUnits);
    });
  }
  it('claude-haiku-5-5 above 100,000 prompt tokens: the whole request at the long rates', () => {
    const usage = { ...everyCategory, input_tokens: 100_000 };
    const result = ok(price('claude-haiku-5-5', usage, now));
    assert.deepEqual(rates(result), ['0.50', '0.625', '1', '0.05', '2.50'].map(usdText));
    assert.deepEqual(result.modifiers, ['long_prompt']);
  });
});

describe('price: dated rows', () => {
  it('Sonnet 5.5 cache read is 0.20 until 2026-10-06 and 0.10 from 2026-10-07T00:00:00Z', () => {
    const usage = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 1_000_000 };
    const before = ok(price('claude-sonnet-5-5', usage, parseInstant('2026-10-06T23:59:59.999Z')));
    const at = ok(price('claude-sonnet-5-5', usage, parseInstant('2026-10-07T00:00:00Z')));
    assert.equal(formatUsd(before.totalUnits), '0.2');
    assert.equal(formatUsd(at.totalUnits), '0.1');
    assert.equal(perMtok(before, 'cache_read'), '0.2');
    assert.equal(perMtok(at, 'cache_read'), '0.1');
  });

  // "Until 2026-03-13" is read as in force before 2026-03-13T00:00:00Z (default-catalogue.ts).
  const lastMs = parseInstant('2026-03-12T23:59:59.999Z');
  const ended = parseInstant('2026-03-13T00:00:00Z');
  const longUsage = { input_tokens: 150_000, cache_read_input_tokens: 50_001, output_tokens: 1000 };
  for (const model of ['claude-sonnet-4-6', 'claude-sonnet-4-5', 'claude-sonnet-4-20250514']) {
    it(`${model}: 1M-context surcharge above 200,000 prompt tokens before 2026-03-13 only`, () => {
      const old = ok(price(model, longUsage, lastMs));
      assert.deepEqual(rates(old), ['6', '-', '-', '0.6', '22.5']);
      assert.deepEqual(old.modifiers, ['long_prompt']);
      const after = ok(price(model, longUsage, ended));
      assert.deepEqual(rates(after), ['3', '-', '-', '0.3', '15']);
      assert.deepEqual(after.modifiers, []);
      // Exactly 200,000 is not above the threshold.
      const atThreshold = ok(price(model, { ...longUsage, cache_read_input_tokens: 50_000 }, lastMs));
      assert.deepEqual(rates(atThreshold), ['3', '-', '-', '0.3', '15']);
    });
  }
  it('Sonnet long-context cache writes were 7.50 and 12', () => {
    const usage = {
      input_tokens: 200_000,
      output_tokens: 0,
      cache_creation_input_tokens: 2,
      cache_creation: { ephemeral_5m_input_tokens: 1, ephemeral_1h_input_tokens: 1 },
    };
    const result = ok(price('claude-sonnet-4-6', usage, lastMs));
    assert.deepEqual(rates(result), ['6', '7.5', '12', '-', '-']);
  });
  it('Opus 4.6 1M-context surcharge: $10 input / $37.50 output, cache by the standard multipliers', () => {
    const usage = {
      input_tokens: 200_001,
      output_tokens: 1,
      cache_creation_input_tokens: 2,
      cache_creation: { ephemeral_1h_input_tokens: 1 },
      cache_read_input_tokens: 1,
    };
    assert.deepEqual(rates(ok(price('claude-opus-4-6', usage, lastMs))), ['10', '12.5', '20', '1', '37.5']);
    assert.deepEqual(rates(ok(price('claude-opus-4-6', usage, ended))), ['5', '6.25', '10', '0.5', '25']);
  });
  it('Opus 4.5 and Haiku 4.5 never had a long-context surcharge', () => {
    const usage = { input_tokens: 300_000, output_tokens: 1 };
    assert.deepEqual(ok(price('claude-opus-4-5', usage, lastMs)).modifiers, []);
    assert.deepEqual(ok(price('claude-haiku-4-5', usage, lastMs)).modifiers, []);
  });
  it('Haiku 5.5: exactly 100,000 prompt tokens is the base tier, 100,001 the long tier', () => {
    // The prompt counts uncached input, cache reads and cache writes.
    const base = {
      input_tokens: 40_000,
      cache_read_input_tokens: 50_000,
      cache_creation_input_tokens: 10_000,
      output_tokens: 1000,
    };
    const atThreshold = ok(price('claude-haiku-5-5', base, now));
    assert.deepEqual(rates(atThreshold), ['0.1', '0.125', '-', '0.01', '0.5']);
    assert.deepEqual(atThreshold.modifiers, []);
    // 40,000 × 0.10 + 10,000 × 0.125 + 50,000 × 0.01 + 1000 × 0.50 per MTok = 0.00625 USD
    assert.equal(formatUsd(atThreshold.totalUnits), '0.00625');
    const above = ok(price('claude-haiku-5-5', { ...base, input_tokens: 40_001 }, now));
    assert.deepEqual(rates(above), ['0.5', '0.625', '-', '0.05', '2.5']);
    assert.deepEqual(above.modifiers, ['long_prompt']);
  });
  it('a model before its release is unknown at that instant', () => {
    const usage = { input_tokens: 1, output_tokens: 1 };
    const result = price('claude-haiku-5-5', usage, parseInstant('2026-10-06T23:59:59Z'));
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.code, 'unknown_model');
    assert.ok(ok(price('claude-haiku-5-5', usage, parseInstant('2026-10-07T00:00:00Z'))));
    assert.equal(price('claude-fable-5-2', usage, parseInstant('2026-11-08T00:00:00Z')).ok, false);
  });
});

describe('price: modifiers and their stacking', () => {
  const usage = {
    input_tokens: 1_000_000,
    cache_creation_input_tokens: 2_000_000,
    cache_creation: { ephemeral_5m_input_tokens: 1_000_000, ephemeral_1h_input_tokens: 1_000_000 },
    cache_read_input_tokens: 1_000_000,
    output_tokens: 1_000_000,
    server_tool_use: { web_search_requests: 1000, web_fetch_requests: 7 },
  };
  const cases: { name: string; model: string; extra: object; rates: string[]; modifiers: string[] }[] = [
    {
      name: 'standard',
      model: 'claude-opus-5-5',
      extra: {},
      rates: ['4', '5', '8', '0.2', '20'],
      modifiers: [],
    },
    {
      name: 'batch halves every token category',
      model: 'claude-opus-5-5',
      extra: { service_tier: 'batch' },
      rates: ['2', '2.5', '4', '0.1', '10'],
      modifiers: ['batch'],
    },
    {
      name: 'US-only × 1.1 on every token category',
      model: 'claude-opus-5-5',
      extra: { inference_geo: 'us' },
      rates: ['4.4', '5.5', '8.8', '0.22', '22'],
      modifiers: ['us_only'],
    },
    {
      name: 'batch and US-only stack',
      model: 'claude-opus-5-5',
      extra: { service_tier: 'batch', inference_geo: 'us' },
      rates: ['2.2', '2.75', '4.4', '0.11', '11'],
      modifiers: ['batch', 'us_only'],
    },
    {
      name: 'fast mode has its own rates',
      model: 'claude-opus-5-5',
      extra: { speed: 'fast' },
      rates: ['8', '10', '16', '0.4', '40'],
      modifiers: ['fast'],
    },
    {
      name: 'fast and US-only stack',
      model: 'claude-opus-5-5',
      extra: { speed: 'fast', inference_geo: 'us' },
      rates: ['8.8', '11', '17.6', '0.44', '44'],
      modifiers: ['us_only', 'fast'],
    },
    {
      name: 'fast: Opus 5',
      model: 'claude-opus-5',
      extra: { speed: 'fast' },
      rates: ['10', '12.5', '20', '1', '50'],
      modifiers: ['fast'],
    },
    {
      name: 'fast: Opus 4.8',
      model: 'claude-opus-4-8',
      extra: { speed: 'fast' },
      rates: ['10', '12.5', '20', '1', '50'],
      modifiers: ['fast'],
    },
    {
      name: 'fast: Opus 4.7 (historical)',
      model: 'claude-opus-4-7',
      extra: { speed: 'fast' },
      rates: ['30', '37.5', '60', '3', '150'],
      modifiers: ['fast'],
    },
    {
      name: 'fast: Opus 4.6 (historical), no long-prompt surcharge though the prompt is 4M',
      model: 'claude-opus-4-6',
      extra: { speed: 'fast' },
      rates: ['30', '37.5', '60', '3', '150'],
      modifiers: ['fast'],
    },
    {
      name: 'fast: Fable 5.2',
      model: 'claude-fable-5-2',
      extra: { speed: 'fast' },
      rates: ['16', '20', '32', '0.4', '80'],
      modifiers: ['fast'],
    },
    {
      name: 'fast: Mythos 5.2',
      model: 'claude-mythos-5-2',
      extra: { speed: 'fast' },
      rates: ['16', '20', '32', '0.4', '80'],
      modifiers: ['fast'],
    },
    {
      name: 'long prompt, batch and US-only stack (Haiku 5.5)',
      model: 'claude-haiku-5-5',
      extra: { service_tier: 'batch', inference_geo: 'us' },
      rates: ['0.275', '0.34375', '0.55', '0.0275', '1.375'],
      modifiers: ['batch', 'us_only', 'long_prompt'],
    },
    {
      name: 'US-only does not apply before Claude 4.6 (Haiku 4.5)',
      model: 'claude-haiku-4-5',
      extra: { inference_geo: 'us' },
      rates: ['1', '1.25', '2', '0.1', '5'],
      modifiers: [],
    },
    {
      name: 'priority tier is priced as standard; other geos carry no multiplier',
      model: 'claude-sonnet-4-6',
      extra: { service_tier: 'priority', inference_geo: 'global', speed: 'standard' },
      rates: ['3', '3.75', '6', '0.3', '15'],
      modifiers: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = ok(price(c.model, { ...usage, ...c.extra }, now));
      assert.deepEqual(rates(result), c.rates);
      assert.deepEqual(result.modifiers, c.modifiers);
      // Web search: $10 per 1,000, never multiplied; web fetch is tokens only.
      const search = result.lines.find((l) => l.category === 'web_search');
      assert.equal(search && formatUsd(search.units), '10');
      assert.equal(search?.quantity, 1000);
    });
  }
  it('the finest product: Haiku 5.5 5-minute write, batch, US-only = 68,750 units per token', () => {
    const result = ok(
      price(
        'claude-haiku-5-5',
        {
          input_tokens: 0,
          output_tokens: 0,
          cache_creation_input_tokens: 1,
          service_tier: 'batch',
          inference_geo: 'us',
        },
        now,
      ),
    );
    assert.deepEqual(result.lines, [
      { category: 'cache_write_5m', quantity: 1, unitPriceUnits: 68_750n, units: 68_750n },
    ]);
  });
  it('batch with fast mode is invalid_usage', () => {
    const result = price('claude-opus-5-5', { ...usage, service_tier: 'batch', speed: 'fast' }, now);
    assert.deepEqual(result, {
      ok: false,
      code: 'invalid_usage',
      detail: 'batch and fast mode never go together',
    });
  });
  it('fast mode on a model without fast rates is invalid_usage', () => {
    const result = price('claude-haiku-4-5', { ...usage, speed: 'fast' }, now);
    assert.equal(!result.ok && result.code, 'invalid_usage');
    assert.match(!result.ok ? result.detail : '', /no fast mode/);
  });
});

describe('price: counting rules', () => {
  it('the constructed example of usage-formats.md §1, on Opus 5.5: $0.1718', () => {
    // Fast mode (8 / 10 / 16 / 0.40 / 40 per MTok), US-only × 1.1, no long-prompt surcharge in
    // fast mode, 2 web searches at $10 per 1,000 not multiplied, web fetch tokens only:
    //   input        1,000 × 8.80 / 1e6 = 0.0088
    //   5-min write  3,000 × 11   / 1e6 = 0.033
    //   cache read  50,000 × 0.44 / 1e6 = 0.022
    //   output       2,000 × 44   / 1e6 = 0.088
    //   web search       2 × 0.01       = 0.02
    //   total                            0.1718 USD = 171,800,000,000 units
    const usage = {
      input_tokens: 1000,
      cache_creation_input_tokens: 3000,
      cache_read_input_tokens: 50000,
      cache_creation: { ephemeral_5m_input_tokens: 3000, ephemeral_1h_input_tokens: 0 },
      output_tokens: 2000,
      server_tool_use: { web_search_requests: 2, web_fetch_requests: 1 },
      service_tier: 'standard',
      inference_geo: 'us',
      speed: 'fast',
    };
    const result = ok(price('claude-opus-5-5', usage, now));
    assert.equal(result.totalUnits, 171_800_000_000n);
    assert.deepEqual(
      result.lines.map((l) => [l.category, l.quantity, formatUsd(l.units)]),
      [
        ['input', 1000, '0.0088'],
        ['cache_write_5m', 3000, '0.033'],
        ['cache_read', 50000, '0.022'],
        ['output', 2000, '0.088'],
        ['web_search', 2, '0.02'],
      ],
    );
    assert.deepEqual(result.modifiers, ['us_only', 'fast']);
  });
  it('unsplit cache writes are 5-minute writes', () => {
    const result = ok(
      price('claude-opus-5-5', { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 100 }, now),
    );
    assert.deepEqual(
      result.lines.map((l) => [l.category, l.quantity]),
      [['cache_write_5m', 100]],
    );
  });
  it('an under-split cache write: the remainder is priced as 5-minute writes', () => {
    const usage = {
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: 1000,
      cache_creation: { ephemeral_5m_input_tokens: 200, ephemeral_1h_input_tokens: 300 },
    };
    const result = ok(price('claude-opus-5-5', usage, now));
    assert.deepEqual(
      result.lines.map((l) => [l.category, l.quantity]),
      [
        ['cache_write_5m', 700],
        ['cache_write_1h', 300],
      ],
    );
  });
  it('a split without a total: the split is the total', () => {
    const usage = {
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: null,
      cache_creation: { ephemeral_5m_input_tokens: 2, ephemeral_1h_input_tokens: 3 },
    };
    const result = ok(price('claude-opus-5-5', usage, now));
    assert.deepEqual(
      result.lines.map((l) => [l.category, l.quantity]),
      [
        ['cache_write_5m', 2],
        ['cache_write_1h', 3],
      ],
    );
  });
  it('thinking tokens are inside output_tokens: never added', () => {
    const plain = ok(price('claude-opus-5-5', { input_tokens: 1, output_tokens: 500 }, now));
    const thinking = ok(
      price(
        'claude-opus-5-5',
        { input_tokens: 1, output_tokens: 500, output_tokens_details: { thinking_tokens: 400 } },
        now,
      ),
    );
    assert.equal(thinking.totalUnits, plain.totalUnits);
  });
  it('iterations[] is ignored: the top-level counts are authoritative', () => {
    const plain = ok(price('claude-opus-5-5', { input_tokens: 10, output_tokens: 20 }, now));
    const iterations = [
      { type: 'message', input_tokens: 10, output_tokens: 20 },
      { type: 'compaction', input_tokens: 90000, output_tokens: 3000 },
    ];
    const withIterations = ok(
      price('claude-opus-5-5', { input_tokens: 10, output_tokens: 20, iterations }, now),
    );
    assert.equal(withIterations.totalUnits, plain.totalUnits);
  });
  it('only non-zero lines, in category order, and they sum to the total', () => {
    const result = ok(
      price('claude-opus-5-5', { input_tokens: 0, output_tokens: 3, cache_read_input_tokens: 5 }, now),
    );
    assert.deepEqual(
      result.lines.map((l) => l.category),
      ['cache_read', 'output'],
    );
    assert.equal(
      result.lines.reduce((sum, l) => sum + l.units, 0n),
      result.totalUnits,
    );
    assert.deepEqual(ok(price('claude-opus-5-5', { input_tokens: 0, output_tokens: 0 }, now)).lines, []);
  });
  it('null optional fields and unknown extra fields are accepted', () => {
    const usage = {
      input_tokens: 1,
      output_tokens: 1,
      cache_creation_input_tokens: null,
      cache_read_input_tokens: null,
      cache_creation: null,
      server_tool_use: null,
      service_tier: null,
      inference_geo: null,
      speed: null,
      output_tokens_details: null,
      something_new: { nested: true },
    };
    assert.equal(formatUsd(ok(price('claude-opus-5-5', usage, now)).totalUnits), '0.000024');
  });
});

describe('price: model id forms', () => {
  const forms: [string, string][] = [
    ['claude-opus-4-5-20251101', 'claude-opus-4-5-20251101'],
    ['claude-opus-4-5', 'claude-opus-4-5-20251101'],
    ['claude-haiku-4-5', 'claude-haiku-4-5-20251001'],
    ['claude-sonnet-4-5', 'claude-sonnet-4-5-20250929'],
    ['claude-3-5-sonnet', 'claude-3-5-sonnet-20241022'],
    ['claude-3-5-sonnet-latest', 'claude-3-5-sonnet-20241022'],
    ['claude-sonnet-4-0', 'claude-sonnet-4-20250514'],
    ['claude-sonnet-4', 'claude-sonnet-4-20250514'],
    ['claude-opus-4-6[1m]', 'claude-opus-4-6'],
    ['claude-sonnet-4-5[1m]', 'claude-sonnet-4-5-20250929'],
    ['us.anthropic.claude-opus-4-6-v1', 'claude-opus-4-6'],
    ['anthropic.claude-3-5-sonnet-20241022-v2:0', 'claude-3-5-sonnet-20241022'],
    ['global.anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5-20250929'],
    ['eu.anthropic.claude-haiku-4-5-20251001-v1:0', 'claude-haiku-4-5-20251001'],
    ['anthropic.claude-opus-5-5', 'claude-opus-5-5'],
    ['claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet-20241022'],
    ['claude-sonnet-4@20250514', 'claude-sonnet-4-20250514'],
    ['claude-opus-4-6@20250514', 'claude-opus-4-6'],
  ];
  for (const [raw, canonical] of forms) {
    it(`${raw} → ${canonical}`, () => {
      // Twice: the second answer comes from the resolution cache.
      assert.equal(ok(price(raw, { input_tokens: 1, output_tokens: 1 }, now)).model, canonical);
      assert.equal(ok(price(raw, { input_tokens: 1, output_tokens: 1 }, now)).model, canonical);
    });
  }
  const unknown = [
    'gpt-5',
    '',
    'claude-opus',
    'claude-opus-4-6-20990101',
    'claude-3-5-sonnet@20240620',
    'Claude-Opus-4-6',
    'claude-opus-4-6[2m]',
    'x'.repeat(200),
  ];
  for (const raw of unknown) {
    it(`${JSON.stringify(raw.slice(0, 40))} is unknown_model, never a guess`, () => {
      const result = price(raw, { input_tokens: 1, output_tokens: 1 }, now);
      assert.equal(!result.ok && result.code, 'unknown_model');
    });
  }
});

describe('price: invalid usage names the field', () => {
  const base = { input_tokens: 1, output_tokens: 1 };
  const cases: [unknown, RegExp][] = [
    [null, /usage must be an object/],
    [[1, 2], /usage must be an object/],
    ['{}', /usage must be an object/],
    [{ output_tokens: 1 }, /usage\.input_tokens/],
    [{ input_tokens: 1 }, /usage\.output_tokens/],
    [{ input_tokens: null, output_tokens: 1 }, /usage\.input_tokens/],
    [{ ...base, input_tokens: -1 }, /usage\.input_tokens must be an integer from 0 to 1000000000/],
    [{ ...base, output_tokens: 1.5 }, /usage\.output_tokens/],
    [{ ...base, output_tokens: '12' }, /usage\.output_tokens/],
    [{ ...base, input_tokens: 1_000_000_001 }, /usage\.input_tokens/],
    [{ ...base, input_tokens: Number.NaN }, /usage\.input_tokens/],
    [{ ...base, cache_read_input_tokens: -5 }, /usage\.cache_read_input_tokens/],
    [{ ...base, cache_creation_input_tokens: '3' }, /usage\.cache_creation_input_tokens/],
    [{ ...base, cache_creation: 5 }, /usage\.cache_creation must be an object/],
    [
      { ...base, cache_creation: { ephemeral_5m_input_tokens: -1 } },
      /usage\.cache_creation\.ephemeral_5m_input_tokens/,
    ],
    [
      { ...base, cache_creation: { ephemeral_1h_input_tokens: true } },
      /usage\.cache_creation\.ephemeral_1h_input_tokens/,
    ],
    [
      {
        ...base,
        cache_creation_input_tokens: 10,
        cache_creation: { ephemeral_5m_input_tokens: 6, ephemeral_1h_input_tokens: 5 },
      },
      /splits more tokens than cache_creation_input_tokens/,
    ],
    [{ ...base, server_tool_use: [] }, /usage\.server_tool_use must be an object/],
    [
      { ...base, server_tool_use: { web_search_requests: -1 } },
      /usage\.server_tool_use\.web_search_requests/,
    ],
    [{ ...base, server_tool_use: { web_fetch_requests: 0.5 } }, /usage\.server_tool_use\.web_fetch_requests/],
    [{ ...base, output_tokens_details: 'x' }, /usage\.output_tokens_details/],
    [
      { ...base, output_tokens_details: { thinking_tokens: -2 } },
      /usage\.output_tokens_details\.thinking_tokens/,
    ],
    [{ ...base, service_tier: 'flex' }, /usage\.service_tier/],
    [{ ...base, service_tier: 1 }, /usage\.service_tier/],
    [{ ...base, inference_geo: 'eu' }, /usage\.inference_geo/],
    [{ ...base, speed: 'turbo' }, /usage\.speed/],
  ];
  for (const [usage, detail] of cases) {
    it(`${JSON.stringify(usage)?.slice(0, 90)}`, () => {
      const result = price('claude-opus-5-5', usage, now);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.code, 'invalid_usage');
      assert.match(!result.ok ? result.detail : '', detail);
    });
  }
  it('an unknown model is reported before a bad usage', () => {
    const result = price('gpt-5', null, now);
    assert.equal(!result.ok && result.code, 'unknown_model');
  });
});
