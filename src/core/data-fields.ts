/**
 * Field readers for operator-supplied data documents (plan catalogues, policy timelines,
 * surface tables). Each reader names the JSON path it refuses and throws through the `fail`
 * function it is given, so every document keeps its own error class and code.
 *
 * @example
 * const fail = (path: string, message: string) => new PlanCatalogueError(path, message);
 * const root = readObject(json, '$', fail);
 * const from = readInstant(root.effective_from, '$.effective_from', fail);
 */
import { type MoneyError, parseUsd } from './money.ts';
import { type Instant, parseInstant } from './time.ts';

export type DataErrorFactory = (path: string, message: string) => Error;
export type JsonObject = Record<string, unknown>;

/** Longest free-text field (labels, notes, versions): text for people, not a payload. */
export const dataTextLengthMax = 500;

export function readObject(value: unknown, path: string, fail: DataErrorFactory): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw fail(path, 'must be an object');
  return value as JsonObject;
}

export function readArray(
  value: unknown,
  path: string,
  min: number,
  max: number,
  fail: DataErrorFactory,
): unknown[] {
  if (!Array.isArray(value)) throw fail(path, 'must be an array');
  if (value.length < min || value.length > max) throw fail(path, `must have ${min} to ${max} entries`);
  return value;
}

/** Unknown keys are refused: a typo (`sdk_credit_activ`) must not silently fall back to a default. */
export function allowKeys(
  o: JsonObject,
  path: string,
  keys: readonly string[],
  fail: DataErrorFactory,
): void {
  for (const key of Object.keys(o)) {
    if (!keys.includes(key)) throw fail(`${path}.${key}`, 'unknown field');
  }
}

export function readInstant(value: unknown, path: string, fail: DataErrorFactory): Instant {
  if (typeof value !== 'string') throw fail(path, 'must be an RFC 3339 string');
  try {
    return parseInstant(value);
  } catch (error) {
    throw fail(path, (error as Error).message);
  }
}

export function readText(value: unknown, path: string, fail: DataErrorFactory, pattern?: RegExp): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > dataTextLengthMax) {
    throw fail(path, `must be a string of 1 to ${dataTextLengthMax} characters`);
  }
  if (pattern && !pattern.test(value)) throw fail(path, `must match ${pattern.source}`);
  return value;
}

export function readBoolean(value: unknown, path: string, fail: DataErrorFactory): boolean {
  if (typeof value !== 'boolean') throw fail(path, 'must be true or false');
  return value;
}

/** A non-negative exact decimal USD string (R18) as units; numbers are refused (they are floats). */
export function readUsd(value: unknown, path: string, fail: DataErrorFactory): bigint {
  if (typeof value !== 'string') throw fail(path, 'must be an exact decimal USD string, e.g. "20" or "0.5"');
  try {
    return parseUsd(value);
  } catch (error) {
    throw fail(path, (error as MoneyError).message);
  }
}

/** A whole number of seconds in `[min, max]`, returned in milliseconds. */
export function readSecondsAsMs(
  value: unknown,
  path: string,
  min: number,
  max: number,
  fail: DataErrorFactory,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw fail(path, `must be a whole number of seconds from ${min} to ${max}`);
  }
  return value * 1000;
}
