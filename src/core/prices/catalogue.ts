/**
 * The price catalogue: dated data in (`PriceCatalogueJson`, the shape of the default data and of an
 * operator's file), a compiled, validated `PriceCatalogue` out. Compiling does all the work that
 * does not depend on one usage record: decimal rates become integer units per token, every rate
 * is multiplied out under every modifier combination (and proven exact), and each model's history
 * is cut into segments during which the same rows are in force. Pricing a record is then a
 * segment lookup and five multiplications.
 */
import { formatUsd, parseUsd } from '../money.ts';
import { formatInstant, type Instant, parseInstant } from '../time.ts';

// ---------------------------------------------------------------------------------------------
// The data shape (JSON).

export interface PriceCatalogueJson {
  /** Always `creditpool.prices/1`: a file of another shape is refused, not half-read. */
  schema: 'creditpool.prices/1';
  /** Free text: where the figures come from. */
  source?: string;
  /** Catalogue-wide multipliers and fees, dated; the latest row starting at or before an instant applies. */
  modifiers: PriceModifiersJson[];
  models: PriceModelJson[];
}

export interface PriceModifiersJson {
  effective_from: string;
  /** Exact rational, e.g. `"1/2"`: applied to every token category when `service_tier == "batch"`. */
  batch_multiplier: string;
  /** Exact rational, e.g. `"11/10"`: every token category when `inference_geo == "us"` on an eligible model. */
  us_only_multiplier: string;
  /** Decimal USD per 1,000 web searches, never multiplied. */
  web_search_usd_per_thousand: string;
  note?: string;
}

export interface PriceModelJson {
  /** Canonical first-party id, e.g. `claude-haiku-4-5-20251001`. */
  id: string;
  /** Release instant: records before it are `unknown_model`. */
  effective_from: string;
  /** Extra names; a dated id's undated form (`claude-haiku-4-5`) is an alias without being listed. */
  aliases?: string[];
  /** Whether US-only inference (`inference_geo == "us"`) applies its multiplier (Claude 4.6 and later). */
  us_only_inference: boolean;
  note?: string;
  prices: PriceRowJson[];
}

/**
 * One dated row of five rates, exact decimal USD per million tokens. A row belongs to a slot:
 * its mode (`standard` by default, or `fast`) and its tier (base, or long-prompt when
 * `prompt_tokens_above` is set). In each slot, the row in force at an instant is the one with the
 * latest `effective_from` at or before it, unless that row's `effective_until` (exclusive) has
 * passed: then the slot is empty (a withdrawn surcharge).
 */
export interface PriceRowJson {
  /** Defaults to the model's `effective_from`. */
  effective_from?: string;
  /** Exclusive end; absent = until superseded. */
  effective_until?: string;
  mode?: 'standard' | 'fast';
  /** Makes this a long-prompt row: the whole request at these rates when the prompt is strictly above. */
  prompt_tokens_above?: number;
  input: string;
  cache_write_5m: string;
  cache_write_1h: string;
  cache_read: string;
  output: string;
  note?: string;
}

// ---------------------------------------------------------------------------------------------
// The compiled form.

/** Token categories in line order; their index is the offset in `RateTable.units`. */
export const tokenCategories = ['input', 'cache_write_5m', 'cache_write_1h', 'cache_read', 'output'] as const;
export type TokenCategory = (typeof tokenCategories)[number];

/**
 * Modifier combinations, the first index into `RateTable.units` (× 5): bit 1 = batch, bit 2 =
 * US-only. Precomputed so pricing never divides.
 */
export const variantBatch = 1;
export const variantUsOnly = 2;
const variantCount = 4;

export interface RateTable {
  readonly mode: 'standard' | 'fast';
  /** `Infinity` for a base row. */
  readonly promptTokensAbove: number;
  readonly effectiveFrom: Instant;
  /** Exclusive; `Infinity` when open. */
  readonly effectiveUntil: Instant;
  /** Units per token, `units[variant * 5 + categoryIndex]`. */
  readonly units: readonly bigint[];
}

export interface PriceSegment {
  /** Inclusive start; the segment ends where the next one starts. */
  readonly from: Instant;
  readonly base: RateTable;
  readonly long: RateTable | null;
  readonly fast: RateTable | null;
  /** Units per web search request. */
  readonly webSearchUnits: bigint;
}

export interface PriceModel {
  readonly id: string;
  readonly effectiveFrom: Instant;
  readonly aliases: readonly string[];
  readonly usOnlyInference: boolean;
  /** Ascending by `from`; the first starts at `effectiveFrom`. */
  readonly segments: readonly PriceSegment[];
}

export interface PriceModifiers {
  readonly effectiveFrom: Instant;
  readonly batchMultiplier: string;
  readonly usOnlyMultiplier: string;
  readonly webSearchUnits: bigint;
}

export interface PriceCatalogue {
  readonly models: readonly PriceModel[];
  /** Canonical ids and aliases. */
  readonly byName: ReadonlyMap<string, PriceModel>;
  readonly modifiers: readonly PriceModifiers[];
  /** Raw model strings already resolved (see `model-ids.ts`); bounded. */
  readonly resolvedCache: Map<string, PriceModel>;
}

export class PriceCatalogueError extends Error {
  readonly code = 'invalid_price_catalogue';
  /** Where in the document, e.g. `models[3].prices[1].cache_read`. */
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'PriceCatalogueError';
    this.path = path;
  }
}

/** Models per catalogue: far above any real list, low enough that a broken file cannot exhaust memory. */
export const catalogueModelsMax = 1000;
/** Dated rows per model or modifiers list: a price history, not a log. */
export const catalogueRowsMax = 100;
/** Aliases per model. */
export const catalogueAliasesMax = 50;
/** Longest model id or alias: real ids are under 50 characters. */
export const modelIdLengthMax = 128;
/** Largest long-prompt threshold: beyond any context window. */
const promptTokensAboveMax = 1e9;

const unitsPerUsdPerMtokPerToken = 1_000_000n; // $1/MTok = 1e12 units / 1e6 tokens
const modelIdPattern = /^[a-z0-9][a-z0-9._-]*$/;
const ratePattern = /^\d{1,6}(?:\.\d{1,6})?$/;
const rationalPattern = /^([1-9]\d{0,5})(?:\/([1-9]\d{0,5}))?$/;

type Json = Record<string, unknown>;

/**
 * Validates and compiles a price catalogue document (the default data or an operator's file).
 * Throws `PriceCatalogueError` naming the offending path; never returns a partial catalogue.
 *
 * @example
 * const catalogue = parsePriceCatalogue(JSON.parse(readFileSync('prices.json', 'utf8')));
 * price('claude-opus-5-5', { input_tokens: 1, output_tokens: 1 }, at, catalogue);
 */
export function parsePriceCatalogue(json: unknown): PriceCatalogue {
  const root = object(json, '$');
  allowKeys(root, '$', ['schema', 'source', 'modifiers', 'models']);
  if (root.schema !== 'creditpool.prices/1') {
    throw new PriceCatalogueError('$.schema', 'must be "creditpool.prices/1"');
  }
  if (root.source !== undefined && typeof root.source !== 'string') {
    throw new PriceCatalogueError('$.source', 'must be a string');
  }
  const modifiers = array(root.modifiers, '$.modifiers', 1, catalogueRowsMax).map((raw, i) =>
    parseModifiers(raw, `$.modifiers[${i}]`),
  );
  modifiers.sort((a, b) => a.effectiveFrom - b.effectiveFrom);
  for (let i = 1; i < modifiers.length; i++) {
    if (modifiers[i]!.effectiveFrom === modifiers[i - 1]!.effectiveFrom) {
      throw new PriceCatalogueError('$.modifiers', 'two rows start at the same instant');
    }
  }
  const models: PriceModel[] = [];
  const byName = new Map<string, PriceModel>();
  const rawModels = array(root.models, '$.models', 1, catalogueModelsMax);
  rawModels.forEach((raw, i) => {
    const path = `$.models[${i}]`;
    const model = parseModel(raw, path, modifiers);
    for (const name of [model.id, ...model.aliases]) {
      const other = byName.get(name);
      if (other) throw new PriceCatalogueError(path, `name ${name} is already used by ${other.id}`);
      byName.set(name, model);
    }
    models.push(model);
  });
  // Undated forms of dated ids, unless a model already owns that name (an explicit id wins).
  for (const model of models) {
    const undated = undatedForm(model.id);
    if (undated !== null && !byName.has(undated)) byName.set(undated, model);
  }
  return { models, byName, modifiers, resolvedCache: new Map() };
}

/**
 * The undated form of a dated id, which resolves to it as an alias; null when the id has no date.
 *
 * @example
 * undatedForm('claude-haiku-4-5-20251001') // 'claude-haiku-4-5'
 * undatedForm('claude-opus-5-5') // null
 */
export function undatedForm(id: string): string | null {
  const match = /^(.+)-\d{8}$/.exec(id);
  return match ? match[1]! : null;
}

function parseModifiers(raw: unknown, path: string): PriceModifiers {
  const o = object(raw, path);
  allowKeys(o, path, [
    'effective_from',
    'batch_multiplier',
    'us_only_multiplier',
    'web_search_usd_per_thousand',
    'note',
  ]);
  const batchMultiplier = rational(o.batch_multiplier, `${path}.batch_multiplier`);
  const usOnlyMultiplier = rational(o.us_only_multiplier, `${path}.us_only_multiplier`);
  const feePath = `${path}.web_search_usd_per_thousand`;
  const perThousand = rateUnits(o.web_search_usd_per_thousand, feePath) * unitsPerUsdPerMtokPerToken;
  if (perThousand % 1000n !== 0n)
    throw new PriceCatalogueError(feePath, 'not a whole number of units per search');
  return {
    effectiveFrom: instant(o.effective_from, `${path}.effective_from`),
    batchMultiplier: batchMultiplier.text,
    usOnlyMultiplier: usOnlyMultiplier.text,
    webSearchUnits: perThousand / 1000n,
  };
}

interface ParsedRow {
  mode: 'standard' | 'fast';
  promptTokensAbove: number;
  effectiveFrom: Instant;
  effectiveUntil: Instant;
  /** Units per token, no modifier. */
  rates: bigint[];
  path: string;
}

function parseModel(raw: unknown, path: string, modifiers: readonly PriceModifiers[]): PriceModel {
  const o = object(raw, path);
  allowKeys(o, path, ['id', 'effective_from', 'aliases', 'us_only_inference', 'note', 'prices']);
  const id = modelName(o.id, `${path}.id`);
  const effectiveFrom = instant(o.effective_from, `${path}.effective_from`);
  const aliases =
    o.aliases === undefined
      ? []
      : array(o.aliases, `${path}.aliases`, 0, catalogueAliasesMax).map((a, i) =>
          modelName(a, `${path}.aliases[${i}]`),
        );
  if (typeof o.us_only_inference !== 'boolean') {
    throw new PriceCatalogueError(`${path}.us_only_inference`, 'must be true or false');
  }
  const rows = array(o.prices, `${path}.prices`, 1, catalogueRowsMax).map((r, i) =>
    parseRow(r, `${path}.prices[${i}]`, effectiveFrom),
  );
  const slots = new Map<string, ParsedRow[]>();
  for (const row of rows) {
    const key = `${row.mode}/${row.promptTokensAbove === Number.POSITIVE_INFINITY ? 'base' : 'long'}`;
    const slot = slots.get(key) ?? [];
    if (slot.some((other) => other.effectiveFrom === row.effectiveFrom)) {
      throw new PriceCatalogueError(row.path, `another ${key} row starts at the same instant`);
    }
    slot.push(row);
    slots.set(key, slot);
  }
  const boundaries = new Set<Instant>([effectiveFrom]);
  for (const row of rows) {
    boundaries.add(row.effectiveFrom);
    if (row.effectiveUntil !== Number.POSITIVE_INFINITY) boundaries.add(row.effectiveUntil);
  }
  for (const m of modifiers) if (m.effectiveFrom > effectiveFrom) boundaries.add(m.effectiveFrom);
  const starts = [...boundaries].sort((a, b) => a - b);
  // One rate table per (row, modifiers row): segments share them, so they are built once.
  const tables = new Map<ParsedRow, Map<PriceModifiers, RateTable>>();
  const table = (row: ParsedRow, m: PriceModifiers): RateTable => {
    let byModifiers = tables.get(row);
    if (!byModifiers) {
      byModifiers = new Map();
      tables.set(row, byModifiers);
    }
    let t = byModifiers.get(m);
    if (!t) {
      t = compileRow(row, m);
      byModifiers.set(m, t);
    }
    return t;
  };
  const segments: PriceSegment[] = [];
  for (const from of starts) {
    const m = inForce(modifiers, from);
    if (m === null) {
      throw new PriceCatalogueError(
        '$.modifiers',
        `no row in force at ${formatInstant(from)} (needed by ${id})`,
      );
    }
    const base = slotAt(slots.get('standard/base'), from);
    if (base === null) {
      throw new PriceCatalogueError(
        `${path}.prices`,
        `no standard base row in force at ${formatInstant(from)}`,
      );
    }
    const long = slotAt(slots.get('standard/long'), from);
    const fast = slotAt(slots.get('fast/base'), from);
    segments.push({
      from,
      base: table(base, m),
      long: long && table(long, m),
      fast: fast && table(fast, m),
      webSearchUnits: m.webSearchUnits,
    });
  }
  return { id, effectiveFrom, aliases, usOnlyInference: o.us_only_inference, segments };
}

function parseRow(raw: unknown, path: string, modelFrom: Instant): ParsedRow {
  const o = object(raw, path);
  allowKeys(o, path, [
    'effective_from',
    'effective_until',
    'mode',
    'prompt_tokens_above',
    'note',
    ...tokenCategories,
  ]);
  const effectiveFrom =
    o.effective_from === undefined ? modelFrom : instant(o.effective_from, `${path}.effective_from`);
  if (effectiveFrom < modelFrom) {
    throw new PriceCatalogueError(`${path}.effective_from`, "must not be before the model's effective_from");
  }
  const effectiveUntil =
    o.effective_until === undefined
      ? Number.POSITIVE_INFINITY
      : instant(o.effective_until, `${path}.effective_until`);
  if (effectiveUntil <= effectiveFrom) {
    throw new PriceCatalogueError(`${path}.effective_until`, 'must be after effective_from');
  }
  const mode = o.mode ?? 'standard';
  if (mode !== 'standard' && mode !== 'fast') {
    throw new PriceCatalogueError(`${path}.mode`, 'must be "standard" or "fast"');
  }
  let promptTokensAbove = Number.POSITIVE_INFINITY;
  if (o.prompt_tokens_above !== undefined) {
    const n = o.prompt_tokens_above;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > promptTokensAboveMax) {
      throw new PriceCatalogueError(
        `${path}.prompt_tokens_above`,
        `must be an integer from 0 to ${promptTokensAboveMax}`,
      );
    }
    // Fast mode has its own rates and no long-prompt surcharge (prices.md).
    if (mode === 'fast') throw new PriceCatalogueError(path, 'fast mode has no long-prompt tier');
    promptTokensAbove = n;
  }
  const rates = tokenCategories.map((c) => rateUnits(o[c], `${path}.${c}`));
  return { mode, promptTokensAbove, effectiveFrom, effectiveUntil, rates, path };
}

/** Multiplies a row out under every modifier combination, refusing any inexact product. */
function compileRow(row: ParsedRow, m: PriceModifiers): RateTable {
  const batch = rational(m.batchMultiplier, '$.modifiers.batch_multiplier');
  const us = rational(m.usOnlyMultiplier, '$.modifiers.us_only_multiplier');
  const units: bigint[] = [];
  for (let variant = 0; variant < variantCount; variant++) {
    const num = (variant & variantBatch ? batch.num : 1n) * (variant & variantUsOnly ? us.num : 1n);
    const den = (variant & variantBatch ? batch.den : 1n) * (variant & variantUsOnly ? us.den : 1n);
    row.rates.forEach((rate, i) => {
      if ((rate * num) % den !== 0n) {
        throw new PriceCatalogueError(
          `${row.path}.${tokenCategories[i]}`,
          `rate × ${num}/${den} is not a whole number of units (1e-12 USD) per token`,
        );
      }
      units.push((rate * num) / den);
    });
  }
  return {
    mode: row.mode,
    promptTokensAbove: row.promptTokensAbove,
    effectiveFrom: row.effectiveFrom,
    effectiveUntil: row.effectiveUntil,
    units,
  };
}

function slotAt(slot: readonly ParsedRow[] | undefined, at: Instant): ParsedRow | null {
  let best: ParsedRow | null = null;
  for (const row of slot ?? []) {
    if (row.effectiveFrom <= at && (best === null || row.effectiveFrom > best.effectiveFrom)) best = row;
  }
  return best !== null && best.effectiveUntil > at ? best : null;
}

function inForce(modifiers: readonly PriceModifiers[], at: Instant): PriceModifiers | null {
  let best: PriceModifiers | null = null;
  for (const m of modifiers) if (m.effectiveFrom <= at) best = m; // sorted ascending
  return best;
}

// ---------------------------------------------------------------------------------------------
// Reading the catalogue.

/**
 * The model's rates in force at `at`, or null before its release. Segments are few (one per date
 * at which anything changes): a backward scan beats a binary search here.
 *
 * @example
 * segmentAt(model, parseInstant('2026-10-07T00:00:00Z'))?.base.units[3] // Sonnet 5.5 cache read: 100000n
 */
export function segmentAt(model: PriceModel, at: Instant): PriceSegment | null {
  const segments = model.segments;
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i]!;
    if (at >= segment.from) return segment;
  }
  return null;
}

export interface PriceListingRow {
  model: string;
  aliases: string[];
  mode: 'standard' | 'fast';
  /** Set on a long-prompt row: its rates apply when the prompt is strictly above this. */
  prompt_tokens_above: number | null;
  effective_from: string;
  effective_until: string | null;
  us_only_inference: boolean;
  input_usd_per_mtok: string;
  cache_write_5m_usd_per_mtok: string;
  cache_write_1h_usd_per_mtok: string;
  cache_read_usd_per_mtok: string;
  output_usd_per_mtok: string;
}

export interface PriceListing {
  at: string;
  rows: PriceListingRow[];
  modifiers: {
    effective_from: string;
    batch_multiplier: string;
    us_only_multiplier: string;
    web_search_usd_per_thousand: string;
  } | null;
}

/**
 * The rows in force at an instant (for `GET /v1/prices?at=`), rates as exact decimal USD per
 * million tokens, before any modifier. Models not yet released at `at` are left out.
 *
 * @example
 * listPricesAt(parseInstant('2026-10-07T00:00:00Z'), defaultPriceCatalogue).rows
 *   .find((r) => r.model === 'claude-sonnet-5-5')?.cache_read_usd_per_mtok // '0.1'
 */
export function listPricesAt(at: Instant, catalogue: PriceCatalogue): PriceListing {
  const rows: PriceListingRow[] = [];
  for (const model of catalogue.models) {
    const segment = segmentAt(model, at);
    if (segment === null) continue;
    for (const t of [segment.base, segment.long, segment.fast]) {
      if (t === null) continue;
      const row = t; // variant 0 (no modifier) is the row as written
      const usdPerMtok = (i: number) => formatUsd(row.units[i]! * unitsPerUsdPerMtokPerToken);
      rows.push({
        model: model.id,
        aliases: [...model.aliases],
        mode: row.mode,
        prompt_tokens_above:
          row.promptTokensAbove === Number.POSITIVE_INFINITY ? null : row.promptTokensAbove,
        effective_from: formatInstant(row.effectiveFrom),
        effective_until:
          row.effectiveUntil === Number.POSITIVE_INFINITY ? null : formatInstant(row.effectiveUntil),
        us_only_inference: model.usOnlyInference,
        input_usd_per_mtok: usdPerMtok(0),
        cache_write_5m_usd_per_mtok: usdPerMtok(1),
        cache_write_1h_usd_per_mtok: usdPerMtok(2),
        cache_read_usd_per_mtok: usdPerMtok(3),
        output_usd_per_mtok: usdPerMtok(4),
      });
    }
  }
  const m = inForce(catalogue.modifiers, at);
  return {
    at: formatInstant(at),
    rows,
    modifiers:
      m === null
        ? null
        : {
            effective_from: formatInstant(m.effectiveFrom),
            batch_multiplier: m.batchMultiplier,
            us_only_multiplier: m.usOnlyMultiplier,
            web_search_usd_per_thousand: formatUsd(m.webSearchUnits * 1000n),
          },
  };
}

// ---------------------------------------------------------------------------------------------
// Field readers: each names the path it refuses.

function object(value: unknown, path: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PriceCatalogueError(path, 'must be an object');
  }
  return value as Json;
}

function array(value: unknown, path: string, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) throw new PriceCatalogueError(path, 'must be an array');
  if (value.length < min || value.length > max) {
    throw new PriceCatalogueError(path, `must have ${min} to ${max} entries`);
  }
  return value;
}

/** Unknown keys are refused: in a price file a typo (`cache_reed`) must not silently price at zero. */
function allowKeys(o: Json, path: string, keys: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!keys.includes(key)) throw new PriceCatalogueError(`${path}.${key}`, 'unknown field');
  }
}

function instant(value: unknown, path: string): Instant {
  if (typeof value !== 'string') throw new PriceCatalogueError(path, 'must be an RFC 3339 string');
  try {
    return parseInstant(value);
  } catch (error) {
    throw new PriceCatalogueError(path, (error as Error).message);
  }
}

function modelName(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length > modelIdLengthMax || !modelIdPattern.test(value)) {
    throw new PriceCatalogueError(
      path,
      `must be a lowercase model id of at most ${modelIdLengthMax} characters`,
    );
  }
  return value;
}

/** Decimal USD per million tokens → integer units per token (exact: at most 6 decimals). */
function rateUnits(value: unknown, path: string): bigint {
  if (typeof value !== 'string' || !ratePattern.test(value)) {
    throw new PriceCatalogueError(path, 'must be a decimal string with at most 6 decimals, e.g. "0.125"');
  }
  return parseUsd(value) / unitsPerUsdPerMtokPerToken;
}

function rational(value: unknown, path: string): { num: bigint; den: bigint; text: string } {
  const match = typeof value === 'string' ? rationalPattern.exec(value) : null;
  if (!match) throw new PriceCatalogueError(path, 'must be a positive rational such as "1/2" or "11/10"');
  return { num: BigInt(match[1]!), den: BigInt(match[2] ?? '1'), text: value as string };
}
