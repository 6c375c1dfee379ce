/**
 * Pricing one usage record: pure, exact, and cheap (the hot path of ingest and booking).
 *
 * Rules (prices.md), in the order they are applied:
 * 1. The model resolves (`model-ids.ts`) and was released at `at`, else `unknown_model`.
 * 2. The usage validates (`usage.ts`), else `invalid_usage`. Batch with fast mode is
 *    `invalid_usage` (the API never runs both), as is fast mode on a model without fast rates.
 * 3. The rate row: fast mode's own rates; else the long-prompt row when one is in force and
 *    `input + cache_read + cache_creation` is strictly above its threshold (whole request, output
 *    too); else the base row. Fast mode has no long-prompt surcharge.
 * 4. Batch (× 1/2) and US-only inference (× 11/10, eligible models only) multiply every token
 *    category; they were multiplied into the rate tables when the catalogue was compiled.
 * 5. Cache writes: the 1-hour split at 1-hour rates, everything else of
 *    `cache_creation_input_tokens` (the 5-minute split and any unsplit remainder) at 5-minute rates.
 * 6. Web search: a flat fee per request, never multiplied. Web fetch: tokens only.
 *
 * `service_tier: "priority"` is priced like standard: the sources give it no rates of its own.
 * `inference_geo: "us"` on a model before Claude 4.6 carries no multiplier and no `us_only` tag.
 */
import { formatInstant, type Instant } from '../time.ts';
import { type PriceCatalogue, type RateTable, segmentAt, variantBatch, variantUsOnly } from './catalogue.ts';
import { defaultPriceCatalogue } from './default-catalogue.ts';
import { resolveModel } from './model-ids.ts';
import { validateUsage } from './usage.ts';

export type PriceLineCategory =
  | 'input'
  | 'cache_write_5m'
  | 'cache_write_1h'
  | 'cache_read'
  | 'output'
  | 'web_search';

export interface PriceLine {
  category: PriceLineCategory;
  /** Tokens, or searches for `web_search`. */
  quantity: number;
  /** Units (1e-12 USD) per token, or per search, after every modifier. */
  unitPriceUnits: bigint;
  /** `quantity × unitPriceUnits`, exactly. */
  units: bigint;
}

export type PriceModifier = 'batch' | 'us_only' | 'long_prompt' | 'fast';

export type PriceResult =
  | {
      ok: true;
      /** The canonical catalogue id the raw model string resolved to. */
      model: string;
      /** The sum of every line's `units`, exactly. */
      totalUnits: bigint;
      /** Only lines with a non-zero quantity, in category order. */
      lines: PriceLine[];
      modifiers: PriceModifier[];
    }
  | { ok: false; code: 'unknown_model' | 'invalid_usage'; detail: string };

/**
 * Prices one Messages API usage object for a model at an instant (the record's `occurred_at`).
 * Never throws for bad input: refusals are values with a stable code.
 *
 * @example
 * const at = parseInstant('2026-11-20T10:00:00Z');
 * const r = price('claude-opus-5-5', { input_tokens: 1000, output_tokens: 2000 }, at);
 * // r.ok && formatUsd(r.totalUnits) === '0.044'  (1000 × $4/MTok + 2000 × $20/MTok)
 */
export function price(
  model: string,
  usage: unknown,
  at: Instant,
  catalogue: PriceCatalogue = defaultPriceCatalogue,
): PriceResult {
  const resolved = resolveModel(catalogue, model);
  if (resolved === null) {
    return { ok: false, code: 'unknown_model', detail: `unknown model: ${JSON.stringify(model)}` };
  }
  const validation = validateUsage(usage);
  if (!validation.ok) return validation;
  const u = validation.usage;
  const segment = segmentAt(resolved, at);
  if (segment === null) {
    return {
      ok: false,
      code: 'unknown_model',
      detail: `${resolved.id} has no price before ${formatInstant(resolved.effectiveFrom)}`,
    };
  }
  const fast = u.speed === 'fast';
  const batch = u.serviceTier === 'batch';
  const modifiers: PriceModifier[] = [];
  let table: RateTable = segment.base;
  if (fast) {
    if (batch) return { ok: false, code: 'invalid_usage', detail: 'batch and fast mode never go together' };
    if (segment.fast === null) {
      return {
        ok: false,
        code: 'invalid_usage',
        detail: `${resolved.id} has no fast mode at ${formatInstant(at)}`,
      };
    }
    table = segment.fast;
  } else if (segment.long !== null) {
    const prompt = u.inputTokens + u.cacheReadInputTokens + u.cacheCreationInputTokens;
    if (prompt > segment.long.promptTokensAbove) table = segment.long;
  }
  let variant = 0;
  if (batch) {
    variant |= variantBatch;
    modifiers.push('batch');
  }
  if (u.inferenceGeo === 'us' && resolved.usOnlyInference) {
    variant |= variantUsOnly;
    modifiers.push('us_only');
  }
  if (table !== segment.base && !fast) modifiers.push('long_prompt');
  if (fast) modifiers.push('fast');

  const units = table.units;
  const offset = variant * 5;
  const lines: PriceLine[] = [];
  let total = 0n;
  total += line(lines, 'input', u.inputTokens, units[offset]!);
  const write1h = u.cacheCreation1hInputTokens;
  total += line(lines, 'cache_write_5m', u.cacheCreationInputTokens - write1h, units[offset + 1]!);
  total += line(lines, 'cache_write_1h', write1h, units[offset + 2]!);
  total += line(lines, 'cache_read', u.cacheReadInputTokens, units[offset + 3]!);
  total += line(lines, 'output', u.outputTokens, units[offset + 4]!);
  total += line(lines, 'web_search', u.webSearchRequests, segment.webSearchUnits);
  return { ok: true, model: resolved.id, totalUnits: total, lines, modifiers };
}

function line(
  lines: PriceLine[],
  category: PriceLineCategory,
  quantity: number,
  unitPriceUnits: bigint,
): bigint {
  if (quantity === 0) return 0n;
  const units = BigInt(quantity) * unitPriceUnits;
  lines.push({ category, quantity, unitPriceUnits, units });
  return units;
}
