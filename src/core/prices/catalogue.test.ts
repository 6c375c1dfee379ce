import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatUsd } from '../money.ts';
import { parseInstant } from '../time.ts';
import {
  defaultPriceCatalogue,
  defaultPriceCatalogueJson,
  listPricesAt,
  PriceCatalogueError,
  type PriceCatalogueJson,
  parsePriceCatalogue,
  price,
} from './index.ts';

const now = parseInstant('2026-11-20T10:00:00Z');

/** A fresh deep copy of the default data, to edit in a test. */
function defaultCopy(): PriceCatalogueJson {
  return structuredClone(defaultPriceCatalogueJson);
}

function refused(json: unknown, path: string, message: RegExp): void {
  assert.throws(
    () => parsePriceCatalogue(json),
    (error: unknown) => {
      assert.ok(error instanceof PriceCatalogueError, String(error));
      assert.equal(error.path, path);
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('parsePriceCatalogue', () => {
  it('compiles the default data: every model of prices.md, each priced at the present', () => {
    assert.equal(defaultPriceCatalogue.models.length, 26);
    for (const model of defaultPriceCatalogue.models) {
      assert.ok(price(model.id, { input_tokens: 1, output_tokens: 1 }, now).ok, model.id);
    }
  });

  it('an operator adds a model without a release', () => {
    const json = defaultCopy();
    json.models.push({
      id: 'claude-nova-6',
      effective_from: '2026-12-01T00:00:00Z',
      aliases: ['claude-nova'],
      us_only_inference: true,
      prices: [{ input: '3', cache_write_5m: '3.75', cache_write_1h: '6', cache_read: '0.3', output: '15' }],
    });
    const catalogue = parsePriceCatalogue(json);
    const at = parseInstant('2026-12-02T00:00:00Z');
    const result = price('claude-nova', { input_tokens: 1_000_000, output_tokens: 0 }, at, catalogue);
    assert.ok(result.ok);
    assert.equal(result.model, 'claude-nova-6');
    assert.equal(formatUsd(result.totalUnits), '3');
    assert.equal(price('claude-nova-6', { input_tokens: 1, output_tokens: 0 }, now, catalogue).ok, false);
    assert.equal(
      price('claude-nova-6', { input_tokens: 1, output_tokens: 0 }, at).ok,
      false,
      'default unchanged',
    );
  });

  it('an operator adds a dated price: old records keep the old rate', () => {
    const json = defaultCopy();
    const opus = json.models.find((m) => m.id === 'claude-opus-5-5')!;
    opus.prices.push({
      effective_from: '2027-01-01T00:00:00Z',
      input: '3',
      cache_write_5m: '3.75',
      cache_write_1h: '6',
      cache_read: '0.15',
      output: '15',
    });
    const catalogue = parsePriceCatalogue(json);
    const usage = { input_tokens: 1_000_000, output_tokens: 0 };
    const before = price('claude-opus-5-5', usage, parseInstant('2026-12-31T23:59:59.999Z'), catalogue);
    const after = price('claude-opus-5-5', usage, parseInstant('2027-01-01T00:00:00Z'), catalogue);
    assert.ok(before.ok && after.ok);
    assert.equal(formatUsd(before.totalUnits), '4');
    assert.equal(formatUsd(after.totalUnits), '3');
  });

  it('a dated modifiers row changes the multipliers from its instant', () => {
    const json = defaultCopy();
    json.modifiers.push({
      effective_from: '2027-01-01T00:00:00Z',
      batch_multiplier: '2/5',
      us_only_multiplier: '6/5',
      web_search_usd_per_thousand: '8',
    });
    const catalogue = parsePriceCatalogue(json);
    const usage = {
      input_tokens: 1_000_000,
      output_tokens: 0,
      service_tier: 'batch',
      inference_geo: 'us',
      server_tool_use: { web_search_requests: 1000 },
    };
    const before = price('claude-opus-5-5', usage, now, catalogue);
    const after = price('claude-opus-5-5', usage, parseInstant('2027-01-01T00:00:00Z'), catalogue);
    assert.ok(before.ok && after.ok);
    assert.equal(formatUsd(before.totalUnits), '12.2'); // 4 × 1/2 × 11/10 + 10
    assert.equal(formatUsd(after.totalUnits), '9.92'); // 4 × 2/5 × 6/5 + 8
  });

  it('refuses what is not a catalogue, naming the path', () => {
    refused(null, '$', /must be an object/);
    refused({ ...defaultCopy(), schema: 'v2' }, '$.schema', /creditpool\.prices\/1/);
    refused({ ...defaultCopy(), extra: 1 }, '$.extra', /unknown field/);
    refused({ ...defaultCopy(), models: [] }, '$.models', /1 to 1000 entries/);
    refused({ ...defaultCopy(), modifiers: {} }, '$.modifiers', /must be an array/);

    const typo = defaultCopy();
    (typo.models[0]!.prices[0] as unknown as Record<string, unknown>).cache_reed = '1';
    refused(typo, '$.models[0].prices[0].cache_reed', /unknown field/);

    const missing = defaultCopy();
    delete (missing.models[2]!.prices[0] as unknown as Partial<Record<string, unknown>>).output;
    refused(missing, '$.models[2].prices[0].output', /decimal string/);

    const float = defaultCopy();
    (float.models[0]!.prices[0] as unknown as Record<string, unknown>).input = 8;
    refused(float, '$.models[0].prices[0].input', /decimal string/);

    const tooFine = defaultCopy();
    tooFine.models[0]!.prices[0]!.input = '0.0000001';
    refused(tooFine, '$.models[0].prices[0].input', /at most 6 decimals/);

    const badDate = defaultCopy();
    badDate.models[0]!.effective_from = '2026-11-09';
    refused(badDate, '$.models[0].effective_from', /RFC 3339/);

    const badId = defaultCopy();
    badId.models[0]!.id = 'Claude Fable';
    refused(badId, '$.models[0].id', /model id/);

    const geo = defaultCopy();
    (geo.models[0] as unknown as Record<string, unknown>).us_only_inference = 'yes';
    refused(geo, '$.models[0].us_only_inference', /true or false/);
  });

  it('refuses conflicting names and rows', () => {
    const dupName = defaultCopy();
    dupName.models[1]!.aliases = ['claude-fable-5-2'];
    refused(dupName, '$.models[1]', /already used by claude-fable-5-2/);

    const dupRow = defaultCopy();
    dupRow.models[0]!.prices.push({ ...dupRow.models[0]!.prices[0]! });
    refused(dupRow, '$.models[0].prices[2]', /same instant/);

    const early = defaultCopy();
    early.models[0]!.prices[0]!.effective_from = '2026-01-01T00:00:00Z';
    refused(early, '$.models[0].prices[0].effective_from', /before the model/);

    const backwards = defaultCopy();
    backwards.models[0]!.prices[0]!.effective_until = '2026-11-09T00:00:00Z';
    refused(backwards, '$.models[0].prices[0].effective_until', /after effective_from/);

    const gap = defaultCopy();
    gap.models[0]!.prices[0]!.effective_until = '2026-12-01T00:00:00Z';
    refused(gap, '$.models[0].prices', /no standard base row in force at 2026-12-01T00:00:00Z/);

    const fastLong = defaultCopy();
    fastLong.models[0]!.prices[1]!.prompt_tokens_above = 1000;
    refused(fastLong, '$.models[0].prices[1]', /fast mode has no long-prompt tier/);

    const threshold = defaultCopy();
    threshold.models[0]!.prices[0]!.prompt_tokens_above = -1;
    refused(threshold, '$.models[0].prices[0].prompt_tokens_above', /integer/);

    const mode = defaultCopy();
    (mode.models[0]!.prices[0] as unknown as Record<string, unknown>).mode = 'slow';
    refused(mode, '$.models[0].prices[0].mode', /"standard" or "fast"/);
  });

  it('refuses modifiers that are not exact rationals or whose products are not whole units', () => {
    const notRational = defaultCopy();
    notRational.modifiers[0]!.batch_multiplier = '0.5';
    refused(notRational, '$.modifiers[0].batch_multiplier', /rational/);

    // 0.01 $/MTok = 10,000 units per token; × 1/3 is not a whole number.
    const inexact = defaultCopy();
    inexact.modifiers[0]!.batch_multiplier = '1/3';
    refused(inexact, '$.models[0].prices[0].input', /not a whole number of units/);

    const late = defaultCopy();
    late.modifiers[0]!.effective_from = '2025-01-01T00:00:00Z';
    refused(late, '$.modifiers', /no row in force at 2024-01-01T00:00:00Z/);

    const fee = defaultCopy();
    fee.modifiers[0]!.web_search_usd_per_thousand = 'ten';
    refused(fee, '$.modifiers[0].web_search_usd_per_thousand', /decimal string/);
  });
});

describe('listPricesAt', () => {
  it('lists the rows in force, rates as exact decimal USD per million tokens', () => {
    const listing = listPricesAt(parseInstant('2026-10-07T00:00:00Z'), defaultPriceCatalogue);
    assert.equal(listing.at, '2026-10-07T00:00:00Z');
    const sonnet = listing.rows.filter((r) => r.model === 'claude-sonnet-5-5');
    assert.deepEqual(sonnet, [
      {
        model: 'claude-sonnet-5-5',
        aliases: [],
        mode: 'standard',
        prompt_tokens_above: null,
        effective_from: '2026-10-07T00:00:00Z',
        effective_until: null,
        us_only_inference: true,
        input_usd_per_mtok: '2',
        cache_write_5m_usd_per_mtok: '2.5',
        cache_write_1h_usd_per_mtok: '4',
        cache_read_usd_per_mtok: '0.1',
        output_usd_per_mtok: '10',
      },
    ]);
    assert.deepEqual(listing.modifiers, {
      effective_from: '2024-01-01T00:00:00Z',
      batch_multiplier: '1/2',
      us_only_multiplier: '11/10',
      web_search_usd_per_thousand: '10',
    });
    assert.ok(listing.rows.some((r) => r.model === 'claude-haiku-5-5' && r.prompt_tokens_above === 100000));
    assert.ok(!listing.rows.some((r) => r.model === 'claude-fable-5-2'), 'not released yet');
  });
  it('the day before: the old Sonnet 5.5 row, and the historical long-context rows before 2026-03-13', () => {
    const oct = listPricesAt(parseInstant('2026-10-06T23:59:59Z'), defaultPriceCatalogue);
    assert.equal(oct.rows.find((r) => r.model === 'claude-sonnet-5-5')?.cache_read_usd_per_mtok, '0.2');
    const march = listPricesAt(parseInstant('2026-03-12T12:00:00Z'), defaultPriceCatalogue);
    const long = march.rows.filter((r) => r.prompt_tokens_above === 200000).map((r) => r.model);
    assert.deepEqual(long, [
      'claude-opus-4-6',
      'claude-sonnet-4-6',
      'claude-sonnet-4-5-20250929',
      'claude-sonnet-4-20250514',
    ]);
    const later = listPricesAt(parseInstant('2026-03-13T00:00:00Z'), defaultPriceCatalogue);
    assert.ok(!later.rows.some((r) => r.prompt_tokens_above === 200000));
  });
  it('before anything is released: no rows, no modifiers', () => {
    const listing = listPricesAt(parseInstant('2023-01-01T00:00:00Z'), defaultPriceCatalogue);
    assert.deepEqual(listing.rows, []);
    assert.equal(listing.modifiers, null);
  });
});
