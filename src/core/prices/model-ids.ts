/**
 * Model id resolution: the forms a model string arrives in (prices.md, usage-formats.md) mapped to
 * one catalogue model, or null. Never a guess: every form strips only decoration that names no
 * other model (a context-window flag, a cloud prefix, a cloud revision).
 */
import { modelIdLengthMax, type PriceCatalogue, type PriceModel } from './catalogue.ts';

/**
 * Distinct raw model strings remembered per catalogue: real traffic carries a few dozen; the bound
 * keeps arbitrary strings from growing the map without end (the map is cleared when full).
 */
export const resolvedModelCacheMax = 10_000;

/** Bedrock: `[region.]anthropic.<id>[-vN[:M]]` (`us.`, `eu.`, `apac.`, `global.`, …). */
const bedrockPattern = /^(?:[a-z]{2,8}\.)?anthropic\.(.+?)(?:-v\d+(?::\d+)?)?$/;
/** Vertex AI: `<id>[-vN]@YYYYMMDD`. */
const vertexPattern = /^(.+?)(?:-v\d+)?@(\d{8})$/;
/** Claude Code's context-window flag: `claude-opus-4-6[1m]`. */
const contextSuffix = '[1m]';

/**
 * Resolves a raw model string to its catalogue model: the canonical id, an alias (a dated id
 * without its date, or one the catalogue lists), with `[1m]` stripped, or a cloud id. Results are
 * cached in the catalogue, so the common case is one Map lookup.
 *
 * @example
 * resolveModel(defaultPriceCatalogue, 'us.anthropic.claude-opus-4-6-v1')?.id // 'claude-opus-4-6'
 * resolveModel(defaultPriceCatalogue, 'claude-haiku-4-5')?.id // 'claude-haiku-4-5-20251001'
 * resolveModel(defaultPriceCatalogue, 'gpt-5') // null
 */
export function resolveModel(catalogue: PriceCatalogue, raw: string): PriceModel | null {
  const cache = catalogue.resolvedCache;
  const cached = cache.get(raw);
  if (cached !== undefined) return cached;
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > modelIdLengthMax) return null;
  const model = lookup(catalogue, raw);
  if (model !== null) {
    if (cache.size >= resolvedModelCacheMax) cache.clear();
    cache.set(raw, model);
  }
  return model;
}

function lookup(catalogue: PriceCatalogue, raw: string): PriceModel | null {
  let name = raw.endsWith(contextSuffix) ? raw.slice(0, -contextSuffix.length) : raw;
  const direct = catalogue.byName.get(name);
  if (direct) return direct;
  const bedrock = bedrockPattern.exec(name);
  if (bedrock) {
    name = bedrock[1]!;
    const model = catalogue.byName.get(name);
    if (model) return model;
  }
  const vertex = vertexPattern.exec(name);
  if (vertex) {
    const dated = catalogue.byName.get(`${vertex[1]}-${vertex[2]}`);
    if (dated) return dated;
    // A model released without a date in its id has one model under its name: the date is the
    // cloud's revision tag. A dated model with another date is another model: refused.
    const undated = catalogue.byName.get(vertex[1]!);
    if (undated && !/-\d{8}$/.test(undated.id)) return undated;
  }
  return null;
}
