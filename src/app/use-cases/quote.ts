/**
 * `quote`: prices one Messages API usage object at API rates, without recording anything (the
 * server twin of `creditpool quote`). Pure over the price catalogue: no store, only the clock for
 * a missing `at`.
 */
import type { PriceModifier } from '../../core/prices/index.ts';
import { price } from '../../core/prices/index.ts';
import { formatInstant, type Instant } from '../../core/time.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { isName } from '../limits.ts';
import { parseTime } from './create-org.ts';

export interface QuoteInput {
  model: string;
  usage: unknown;
  /** RFC 3339; default: now. */
  at?: string | null;
}

/** Money as `bigint` units, like every app result; the HTTP layer formats it. */
export interface QuoteResult {
  cost_usd: bigint;
  /** The catalogue id the requested model resolved to. */
  model: string;
  at: string;
  lines: { category: string; quantity: number; unit_price_usd: bigint; amount_usd: bigint }[];
  modifiers: PriceModifier[];
}

/**
 * @example
 * await quote(ctx, { model: 'claude-opus-5-5', usage: { input_tokens: 1000, output_tokens: 2000 } })
 * // { cost_usd: 44000000000n, model: 'claude-opus-5-5', … }
 */
export function quote(ctx: AppContext, input: QuoteInput): QuoteResult {
  if (!isName(input.model))
    throw new AppError('invalid_request', 'model must be a string of 1 to 128 characters');
  const at: Instant = input.at == null ? ctx.clock.now() : parseTime(input.at, 'at');
  const priced = price(input.model, input.usage, at, ctx.catalogues.prices);
  if (!priced.ok) {
    throw new AppError(priced.code === 'unknown_model' ? 'unknown_model' : 'invalid_request', priced.detail);
  }
  return {
    cost_usd: priced.totalUnits,
    model: priced.model,
    at: formatInstant(at),
    lines: priced.lines.map((line) => ({
      category: line.category,
      quantity: line.quantity,
      unit_price_usd: line.unitPriceUnits,
      amount_usd: line.units,
    })),
    modifiers: priced.modifiers,
  };
}
