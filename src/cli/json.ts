/**
 * The CLI's `--json` output: the use cases return money as `bigint` units; the API shape is an exact
 * decimal USD string (R18). One walk converts every bigint, and nothing else changes, so a command's
 * `--json` output is the object the HTTP API would answer.
 */
import { formatUsd } from '../core/money.ts';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * Converts a use case's result to its JSON shape: bigints become `formatUsd` strings (every bigint
 * the app layer returns is money in units), `undefined` properties are dropped.
 *
 * @example
 * toJson({ granted_usd: 20_000_000_000_000n, ids: ['a'] }) // { granted_usd: '20', ids: ['a'] }
 */
export function toJson(value: unknown): Json {
  if (typeof value === 'bigint') return formatUsd(value);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    // A non-finite number is a bug upstream; JSON would silently print it as null.
    if (!Number.isFinite(value)) throw new Error(`toJson: non-finite number ${value}`);
    return value;
  }
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = toJson(item);
    }
    return out;
  }
  throw new Error(`toJson: cannot convert a ${typeof value}`);
}
