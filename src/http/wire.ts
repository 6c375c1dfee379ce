/**
 * The JSON edge (R18): the app layer hands out money as `bigint` units; on the wire every amount is
 * an exact decimal USD string. `toWire` is the one conversion, run on every response payload by a
 * `preSerialization` hook, so no route formats money by hand and none can forget to.
 *
 * Requests come in through `parseJsonBody`: Fastify's own JSON parser (which refuses `__proto__`
 * and `constructor.prototype` keys) behind a nesting-depth bound, so a hostile body such as
 * 100,000 nested arrays is a 400 and never reaches code that recurses over values.
 */
import type { FastifyInstance } from 'fastify';
import { formatUsd } from '../core/money.ts';
import { HttpProblem } from './errors.ts';

/**
 * Replaces every `bigint` in a JSON-shaped value by its exact decimal USD string.
 *
 * @example
 * toWire({ cost_usd: 35353000000n, lines: [{ amount_usd: 20000000000000n }] })
 * // { cost_usd: '0.035353', lines: [{ amount_usd: '20' }] }
 */
export function toWire(value: unknown): unknown {
  if (typeof value === 'bigint') return formatUsd(value);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(toWire);
  // This runs on every response: a spread copies the object's shape at once, then only the values
  // that change are replaced (several times faster than rebuilding it key by key). A spread defines
  // own data properties, so even a key named `__proto__` stays data, and assigning to it then sets
  // that own property, never the prototype.
  const out: Record<string, unknown> = { ...value };
  for (const key of Object.keys(out)) {
    const v = out[key];
    if (typeof v === 'bigint') out[key] = formatUsd(v);
    else if (typeof v === 'object' && v !== null) out[key] = toWire(v);
  }
  return out;
}

/** Deepest JSON nesting accepted: a usage record is 4 levels deep; 32 leaves ample room. */
export const jsonDepthMax = 32;

/** The nesting depth of a JSON text, without parsing it (strings skipped, escapes honoured). */
export function jsonDepth(text: string, stopAbove = jsonDepthMax): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > stopAbove) return deepest;
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return deepest;
}

/**
 * Installs the JSON body parser: empty body = no body (so `POST …/claim` needs none), depth bound,
 * then Fastify's secure parser (prototype-poisoning keys are refused with a 400).
 */
export function installJsonParser(app: FastifyInstance): void {
  const secureParse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // JSON only: any other media type is a 415, never parsed into something the schema half-accepts.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (text.trim().length === 0) {
      done(null, undefined);
      return;
    }
    if (jsonDepth(text) > jsonDepthMax) {
      done(new HttpProblem('invalid_request', `JSON nested deeper than ${jsonDepthMax} levels`), undefined);
      return;
    }
    secureParse(request, text, done);
  });
}
