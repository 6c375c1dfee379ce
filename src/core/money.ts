/**
 * Money (R18): every amount is a `bigint` count of units, 1 unit = 1e-12 USD (a pico-dollar).
 *
 * Why this scale: the finest price × modifier product in the catalogue (Haiku 5.5's 5-minute
 * cache write, batch, US-only) is 6.875e-8 USD per token = 68,750 units: every price and every
 * modifier is an exact integer here (`../shared/reference/prices.md`). Decimal strings exist only
 * at the edges (HTTP, CLI, files); nothing in a money path ever touches a float.
 *
 * @example
 * parseUsd('19.87345') // 19873450000000n
 * formatUsd(19873450000000n) // '19.87345'
 */

/** Units per US dollar. */
export const unitsPerUsd = 1_000_000_000_000n;
/** Decimal places of one unit. */
export const usdScaleDigits = 12;
/** Units per cent, the granularity of billed usage-credit lines (R17). */
export const unitsPerCent = 10_000_000_000n;
/**
 * The largest magnitude accepted from outside: 1,000,000 USD = 1e18 units. Storage columns are
 * signed 64-bit integers (max about 9.2e18 units = 9.2 million USD), so one amount from outside
 * can never overflow a column, and a cycle's sums stay far inside it.
 */
export const usdAbsMax = 1_000_000n * unitsPerUsd;
/** Longest decimal string accepted: a limit on input, not on meaning. */
export const usdStringLengthMax = 40;

export type MoneyErrorCode = 'invalid_amount' | 'amount_inexact' | 'amount_negative' | 'amount_too_large';

export class MoneyError extends Error {
  readonly code: MoneyErrorCode;
  constructor(code: MoneyErrorCode, message: string) {
    super(message);
    this.name = 'MoneyError';
    this.code = code;
  }
}

const usdPattern = /^(-)?(\d+)(?:\.(\d+))?$/;

export interface ParseUsdOptions {
  /** Accept a leading minus sign (adjustments); amounts default to non-negative. */
  allowNegative?: boolean;
}

/**
 * Parses an exact decimal USD string ("20", "0.35353", "19.873450000000") into units.
 * Refuses anything that is not exactly representable: more than 12 significant decimals,
 * exponents, signs other than a leading minus when allowed, whitespace, or a magnitude above
 * `usdAbsMax`. Trailing zeros beyond the 12th decimal are accepted (they change nothing).
 */
export function parseUsd(text: string, options: ParseUsdOptions = {}): bigint {
  if (typeof text !== 'string') throw new MoneyError('invalid_amount', 'amount must be a decimal string');
  if (text.length === 0 || text.length > usdStringLengthMax) {
    throw new MoneyError('invalid_amount', `amount must be 1 to ${usdStringLengthMax} characters`);
  }
  const match = usdPattern.exec(text);
  if (!match) throw new MoneyError('invalid_amount', `not an exact decimal amount: ${JSON.stringify(text)}`);
  const negative = match[1] === '-';
  const whole = match[2] ?? '0';
  let fraction = match[3] ?? '';
  if (fraction.length > usdScaleDigits) {
    const extra = fraction.slice(usdScaleDigits);
    if (/[^0]/.test(extra)) {
      throw new MoneyError('amount_inexact', `more than ${usdScaleDigits} decimal places: ${text}`);
    }
    fraction = fraction.slice(0, usdScaleDigits);
  }
  const units = BigInt(whole) * unitsPerUsd + BigInt(fraction.padEnd(usdScaleDigits, '0'));
  if (units > usdAbsMax)
    throw new MoneyError('amount_too_large', `amount above ${formatUsd(usdAbsMax)}: ${text}`);
  if (negative && units !== 0n) {
    if (!options.allowNegative)
      throw new MoneyError('amount_negative', `amount must not be negative: ${text}`);
    return -units;
  }
  return units;
}

/**
 * Formats units as the shortest exact decimal USD string: no trailing zeros, no exponent.
 * `formatUsd(20_000_000_000_000n) === '20'`, `formatUsd(-5n) === '-0.000000000005'`.
 */
export function formatUsd(units: bigint): string {
  const negative = units < 0n;
  const magnitude = negative ? -units : units;
  const whole = magnitude / unitsPerUsd;
  const fraction = (magnitude % unitsPerUsd).toString().padStart(usdScaleDigits, '0').replace(/0+$/, '');
  const body = fraction.length > 0 ? `${whole}.${fraction}` : `${whole}`;
  return negative ? `-${body}` : body;
}

/** Formats units with exactly two decimals; only for amounts already rounded to the cent. */
export function formatCents(units: bigint): string {
  if (units % unitsPerCent !== 0n) throw new Error(`formatCents: ${units} is not a whole number of cents`);
  const negative = units < 0n;
  const cents = (negative ? -units : units) / unitsPerCent;
  const body = `${cents / 100n}.${(cents % 100n).toString().padStart(2, '0')}`;
  return negative ? `-${body}` : body;
}

/**
 * Rounds to the nearest cent, ties away from zero ("half up" on magnitudes), as R17 asks of
 * billed usage-credit lines. The result is within half a cent of the input.
 */
export function roundHalfUpToCents(units: bigint): bigint {
  const negative = units < 0n;
  const magnitude = negative ? -units : units;
  const rounded = ((magnitude + unitsPerCent / 2n) / unitsPerCent) * unitsPerCent;
  return negative ? -rounded : rounded;
}

/** Sum of amounts; `bigint` addition is exact and associative, so order never matters. */
export function sumUnits(amounts: Iterable<bigint>): bigint {
  let total = 0n;
  for (const amount of amounts) total += amount;
  return total;
}

export function minUnits(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

export function maxUnits(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/** Whole USD as units: `usd(20) === 20_000_000_000_000n`. For catalogues and tests. */
export function usd(whole: number | bigint): bigint {
  return BigInt(whole) * unitsPerUsd;
}
