/**
 * The default price catalogue: the whole table of `reference/prices.md` (collected 2026-11-25) as
 * dated data. JSON-shaped on purpose: an operator's file (`CREDITPOOL_PRICES`) has exactly this
 * shape and goes through the same `parsePriceCatalogue`.
 *
 * Dates: a model's `effective_from` is its release date where the sources give one (Haiku 5.5,
 * Fable 5.2) or the date in its id; where the sources give none it is the catalogue floor
 * `2024-01-01T00:00:00Z` ("priced at any instant a record can carry"), because refusing a real
 * record is worse than pricing a record dated before a release nobody documented.
 *
 * "Until 2026-03-13" (the historical long-context surcharge) is read as "in force before
 * 2026-03-13T00:00:00Z": the date names the day the surcharge ended (the 1M context window went
 * to standard pricing that day), so `effective_until` is that instant, exclusive.
 *
 * Rates are exact decimal USD per million tokens, copied as the table writes them.
 */
import { type PriceCatalogue, type PriceCatalogueJson, parsePriceCatalogue } from './catalogue.ts';

const floor = '2024-01-01T00:00:00Z';
/** End of the historical 1M-context surcharge (exclusive): see the module comment. */
const longContextEnd = '2026-03-13T00:00:00Z';

export const defaultPriceCatalogueJson: PriceCatalogueJson = {
  schema: 'creditpool.prices/1',
  source: 'reference/prices.md, collected 2026-11-25',
  modifiers: [
    {
      effective_from: floor,
      batch_multiplier: '1/2',
      us_only_multiplier: '11/10',
      web_search_usd_per_thousand: '10',
    },
  ],
  models: [
    {
      id: 'claude-fable-5-2',
      effective_from: '2026-11-09T00:00:00Z',
      us_only_inference: true,
      note: 'rates from the Claude Code catalogue only',
      prices: [
        { input: '8', cache_write_5m: '10', cache_write_1h: '16', cache_read: '0.20', output: '40' },
        {
          mode: 'fast',
          input: '16',
          cache_write_5m: '20',
          cache_write_1h: '32',
          cache_read: '0.40',
          output: '80',
        },
      ],
    },
    {
      id: 'claude-mythos-5-2',
      effective_from: floor,
      us_only_inference: true,
      note: 'limited availability; rates from the Claude Code catalogue only',
      prices: [
        { input: '8', cache_write_5m: '10', cache_write_1h: '16', cache_read: '0.20', output: '40' },
        {
          mode: 'fast',
          input: '16',
          cache_write_5m: '20',
          cache_write_1h: '32',
          cache_read: '0.40',
          output: '80',
        },
      ],
    },
    {
      id: 'claude-fable-5-1',
      effective_from: floor,
      us_only_inference: true,
      prices: [
        { input: '10', cache_write_5m: '12.50', cache_write_1h: '20', cache_read: '0.25', output: '50' },
      ],
    },
    {
      id: 'claude-mythos-5-1',
      effective_from: floor,
      us_only_inference: true,
      prices: [
        { input: '10', cache_write_5m: '12.50', cache_write_1h: '20', cache_read: '0.25', output: '50' },
      ],
    },
    {
      id: 'claude-fable-5',
      effective_from: floor,
      us_only_inference: true,
      note: 'legacy',
      prices: [{ input: '10', cache_write_5m: '12.50', cache_write_1h: '20', cache_read: '1', output: '50' }],
    },
    {
      id: 'claude-mythos-5',
      effective_from: floor,
      us_only_inference: true,
      prices: [{ input: '10', cache_write_5m: '12.50', cache_write_1h: '20', cache_read: '1', output: '50' }],
    },
    {
      id: 'claude-opus-5-5',
      effective_from: floor,
      us_only_inference: true,
      prices: [
        { input: '4', cache_write_5m: '5', cache_write_1h: '8', cache_read: '0.20', output: '20' },
        {
          mode: 'fast',
          input: '8',
          cache_write_5m: '10',
          cache_write_1h: '16',
          cache_read: '0.40',
          output: '40',
        },
      ],
    },
    {
      id: 'claude-opus-5',
      effective_from: floor,
      us_only_inference: true,
      note: 'legacy',
      prices: [
        { input: '5', cache_write_5m: '6.25', cache_write_1h: '10', cache_read: '0.50', output: '25' },
        {
          mode: 'fast',
          input: '10',
          cache_write_5m: '12.5',
          cache_write_1h: '20',
          cache_read: '1',
          output: '50',
        },
      ],
    },
    {
      id: 'claude-opus-4-8',
      effective_from: floor,
      us_only_inference: true,
      prices: [
        { input: '5', cache_write_5m: '6.25', cache_write_1h: '10', cache_read: '0.50', output: '25' },
        {
          mode: 'fast',
          input: '10',
          cache_write_5m: '12.5',
          cache_write_1h: '20',
          cache_read: '1',
          output: '50',
        },
      ],
    },
    {
      id: 'claude-opus-4-7',
      effective_from: floor,
      us_only_inference: true,
      prices: [
        { input: '5', cache_write_5m: '6.25', cache_write_1h: '10', cache_read: '0.50', output: '25' },
        {
          mode: 'fast',
          note: 'historical; no end date published',
          input: '30',
          cache_write_5m: '37.5',
          cache_write_1h: '60',
          cache_read: '3',
          output: '150',
        },
      ],
    },
    {
      id: 'claude-opus-4-6',
      effective_from: floor,
      us_only_inference: true,
      prices: [
        { input: '5', cache_write_5m: '6.25', cache_write_1h: '10', cache_read: '0.50', output: '25' },
        {
          note: '1M-context beta surcharge; cache rates by the standard multipliers of $10 input',
          effective_until: longContextEnd,
          prompt_tokens_above: 200000,
          input: '10',
          cache_write_5m: '12.50',
          cache_write_1h: '20',
          cache_read: '1',
          output: '37.50',
        },
        {
          mode: 'fast',
          note: 'historical; no end date published',
          input: '30',
          cache_write_5m: '37.5',
          cache_write_1h: '60',
          cache_read: '3',
          output: '150',
        },
      ],
    },
    {
      id: 'claude-opus-4-5-20251101',
      effective_from: '2025-11-01T00:00:00Z',
      us_only_inference: false,
      prices: [
        { input: '5', cache_write_5m: '6.25', cache_write_1h: '10', cache_read: '0.50', output: '25' },
      ],
    },
    {
      id: 'claude-opus-4-1-20250805',
      effective_from: '2025-08-05T00:00:00Z',
      us_only_inference: false,
      note: 'retired on the first-party API',
      prices: [
        { input: '15', cache_write_5m: '18.75', cache_write_1h: '30', cache_read: '1.50', output: '75' },
      ],
    },
    {
      id: 'claude-opus-4-20250514',
      effective_from: '2025-05-14T00:00:00Z',
      aliases: ['claude-opus-4-0'],
      us_only_inference: false,
      note: 'retired on the first-party API',
      prices: [
        { input: '15', cache_write_5m: '18.75', cache_write_1h: '30', cache_read: '1.50', output: '75' },
      ],
    },
    {
      id: 'claude-sonnet-5-5',
      effective_from: floor,
      us_only_inference: true,
      prices: [
        { input: '2', cache_write_5m: '2.50', cache_write_1h: '4', cache_read: '0.20', output: '10' },
        {
          note: 'dated price change: cache read 0.20 until 2026-10-06, 0.10 from 2026-10-07',
          effective_from: '2026-10-07T00:00:00Z',
          input: '2',
          cache_write_5m: '2.50',
          cache_write_1h: '4',
          cache_read: '0.10',
          output: '10',
        },
      ],
    },
    {
      id: 'claude-sonnet-5',
      effective_from: floor,
      us_only_inference: true,
      note: 'legacy',
      prices: [{ input: '2', cache_write_5m: '2.50', cache_write_1h: '4', cache_read: '0.20', output: '10' }],
    },
    {
      id: 'claude-sonnet-4-6',
      effective_from: floor,
      us_only_inference: true,
      prices: [
        { input: '3', cache_write_5m: '3.75', cache_write_1h: '6', cache_read: '0.30', output: '15' },
        {
          note: '1M-context beta surcharge',
          effective_until: longContextEnd,
          prompt_tokens_above: 200000,
          input: '6',
          cache_write_5m: '7.50',
          cache_write_1h: '12',
          cache_read: '0.60',
          output: '22.50',
        },
      ],
    },
    {
      id: 'claude-sonnet-4-5-20250929',
      effective_from: '2025-09-29T00:00:00Z',
      us_only_inference: false,
      prices: [
        { input: '3', cache_write_5m: '3.75', cache_write_1h: '6', cache_read: '0.30', output: '15' },
        {
          note: '1M-context beta surcharge',
          effective_until: longContextEnd,
          prompt_tokens_above: 200000,
          input: '6',
          cache_write_5m: '7.50',
          cache_write_1h: '12',
          cache_read: '0.60',
          output: '22.50',
        },
      ],
    },
    {
      id: 'claude-sonnet-4-20250514',
      effective_from: '2025-05-14T00:00:00Z',
      aliases: ['claude-sonnet-4-0'],
      us_only_inference: false,
      prices: [
        { input: '3', cache_write_5m: '3.75', cache_write_1h: '6', cache_read: '0.30', output: '15' },
        {
          note: '1M-context beta surcharge',
          effective_until: longContextEnd,
          prompt_tokens_above: 200000,
          input: '6',
          cache_write_5m: '7.50',
          cache_write_1h: '12',
          cache_read: '0.60',
          output: '22.50',
        },
      ],
    },
    {
      id: 'claude-3-7-sonnet-20250219',
      effective_from: '2025-02-19T00:00:00Z',
      aliases: ['claude-3-7-sonnet-latest'],
      us_only_inference: false,
      note: 'historical',
      prices: [{ input: '3', cache_write_5m: '3.75', cache_write_1h: '6', cache_read: '0.30', output: '15' }],
    },
    {
      id: 'claude-3-5-sonnet-20241022',
      effective_from: '2024-10-22T00:00:00Z',
      aliases: ['claude-3-5-sonnet-latest'],
      us_only_inference: false,
      note: 'historical',
      prices: [{ input: '3', cache_write_5m: '3.75', cache_write_1h: '6', cache_read: '0.30', output: '15' }],
    },
    {
      id: 'claude-haiku-5-5',
      effective_from: '2026-10-07T00:00:00Z',
      us_only_inference: true,
      prices: [
        {
          input: '0.10',
          cache_write_5m: '0.125',
          cache_write_1h: '0.20',
          cache_read: '0.01',
          output: '0.50',
        },
        {
          note: 'whole request at these rates when the prompt is above 100,000 tokens',
          prompt_tokens_above: 100000,
          input: '0.50',
          cache_write_5m: '0.625',
          cache_write_1h: '1',
          cache_read: '0.05',
          output: '2.50',
        },
      ],
    },
    {
      id: 'claude-haiku-4-5-20251001',
      effective_from: '2025-10-01T00:00:00Z',
      us_only_inference: false,
      prices: [{ input: '1', cache_write_5m: '1.25', cache_write_1h: '2', cache_read: '0.10', output: '5' }],
    },
    {
      id: 'claude-3-5-haiku-20241022',
      effective_from: '2024-10-22T00:00:00Z',
      aliases: ['claude-3-5-haiku-latest'],
      us_only_inference: false,
      prices: [
        { input: '0.80', cache_write_5m: '1', cache_write_1h: '1.60', cache_read: '0.08', output: '4' },
      ],
    },
    {
      id: 'claude-3-haiku-20240307',
      effective_from: '2024-03-07T00:00:00Z',
      us_only_inference: false,
      note: 'historical',
      prices: [
        { input: '0.25', cache_write_5m: '0.30', cache_write_1h: '0.50', cache_read: '0.03', output: '1.25' },
      ],
    },
    {
      id: 'claude-3-opus-20240229',
      effective_from: '2024-02-29T00:00:00Z',
      aliases: ['claude-3-opus-latest'],
      us_only_inference: false,
      note: 'historical',
      prices: [
        { input: '15', cache_write_5m: '18.75', cache_write_1h: '30', cache_read: '1.50', output: '75' },
      ],
    },
  ],
};

/**
 * The default catalogue, compiled once at load. A bug in the data above fails here, at startup,
 * with the path of the bad field.
 *
 * @example
 * price('claude-haiku-4-5', usage, at, defaultPriceCatalogue);
 */
export const defaultPriceCatalogue: PriceCatalogue = parsePriceCatalogue(defaultPriceCatalogueJson);
