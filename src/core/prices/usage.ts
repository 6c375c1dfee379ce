/**
 * The Messages API `usage` object (usage-formats.md §1), validated. Only what pricing reads is
 * checked and kept; unknown fields are ignored, so a new API field never refuses a record.
 *
 * Deliberately ignored:
 * - `output_tokens_details.thinking_tokens`: already inside `output_tokens`; adding it would
 *   count thinking twice (its type is still checked).
 * - `iterations[]`: the top-level counts are authoritative (they already sum the billed
 *   iterations, and a `compaction` entry is not billed in them), so pricing never reads it.
 */

/**
 * The largest token or request count accepted: a thousand times the largest context window
 * (1M tokens), so no real response comes near it, and count × rate stays far inside int64 units.
 */
export const tokenCountMax = 1_000_000_000;

export type ServiceTier = 'standard' | 'priority' | 'batch';
export type Speed = 'standard' | 'fast';
/** The values the API documents; another value could carry another price, so it is refused. */
export type InferenceGeo = 'us' | 'global' | 'not_available' | '';

/** A validated usage object; missing or null optional counts are 0, missing enums null. */
export interface Usage {
  /** Uncached input only. */
  inputTokens: number;
  /** Includes thinking. */
  outputTokens: number;
  /** All cache writes; at least the 5-minute and 1-hour split below. */
  cacheCreationInputTokens: number;
  cacheReadInputTokens: number;
  /** As given in `cache_creation`; the unsplit remainder is priced as 5-minute writes. */
  cacheCreation5mInputTokens: number;
  cacheCreation1hInputTokens: number;
  webSearchRequests: number;
  /** Web fetch is priced by its tokens only; kept for reports. */
  webFetchRequests: number;
  serviceTier: ServiceTier | null;
  inferenceGeo: InferenceGeo | null;
  speed: Speed | null;
}

export type UsageValidation =
  | { ok: true; usage: Usage }
  | { ok: false; code: 'invalid_usage'; detail: string };

/**
 * Validates a Messages API usage object. `input_tokens` and `output_tokens` are required (the API
 * always sends them); every other field may be missing or null. Wrong types are refused with a
 * detail naming the field.
 *
 * @example
 * validateUsage({ input_tokens: 10, output_tokens: 5, cache_read_input_tokens: null })
 * // { ok: true, usage: { inputTokens: 10, outputTokens: 5, cacheReadInputTokens: 0, … } }
 * validateUsage({ input_tokens: -1, output_tokens: 5 })
 * // { ok: false, code: 'invalid_usage', detail: 'usage.input_tokens must be an integer from 0 to 1000000000' }
 */
export function validateUsage(usage: unknown): UsageValidation {
  if (typeof usage !== 'object' || usage === null || Array.isArray(usage)) {
    return invalid('usage must be an object');
  }
  const u = usage as Record<string, unknown>;
  const inputTokens = u.input_tokens;
  if (!isCount(inputTokens)) return invalidCount('input_tokens');
  const outputTokens = u.output_tokens;
  if (!isCount(outputTokens)) return invalidCount('output_tokens');
  const cacheRead = u.cache_read_input_tokens ?? 0;
  if (!isCount(cacheRead)) return invalidCount('cache_read_input_tokens');
  const cacheCreationTotal = u.cache_creation_input_tokens;
  if (cacheCreationTotal != null && !isCount(cacheCreationTotal)) {
    return invalidCount('cache_creation_input_tokens');
  }

  let write5m = 0;
  let write1h = 0;
  const split = u.cache_creation;
  if (split != null) {
    if (!isObject(split)) return invalid('usage.cache_creation must be an object or null');
    const s5 = split.ephemeral_5m_input_tokens ?? 0;
    if (!isCount(s5)) return invalidCount('cache_creation.ephemeral_5m_input_tokens');
    const s1 = split.ephemeral_1h_input_tokens ?? 0;
    if (!isCount(s1)) return invalidCount('cache_creation.ephemeral_1h_input_tokens');
    write5m = s5;
    write1h = s1;
  }
  // The top-level total is authoritative; with no total, the split is the whole of it.
  const cacheCreation = cacheCreationTotal ?? write5m + write1h;
  if (write5m + write1h > cacheCreation) {
    return invalid('usage.cache_creation splits more tokens than cache_creation_input_tokens');
  }

  let webSearch = 0;
  let webFetch = 0;
  const tools = u.server_tool_use;
  if (tools != null) {
    if (!isObject(tools)) return invalid('usage.server_tool_use must be an object or null');
    const ws = tools.web_search_requests ?? 0;
    if (!isCount(ws)) return invalidCount('server_tool_use.web_search_requests');
    const wf = tools.web_fetch_requests ?? 0;
    if (!isCount(wf)) return invalidCount('server_tool_use.web_fetch_requests');
    webSearch = ws;
    webFetch = wf;
  }

  const details = u.output_tokens_details;
  if (details != null) {
    if (!isObject(details)) return invalid('usage.output_tokens_details must be an object or null');
    const thinking = details.thinking_tokens;
    if (thinking != null && !isCount(thinking)) return invalidCount('output_tokens_details.thinking_tokens');
  }

  const serviceTier = u.service_tier ?? null;
  if (
    serviceTier !== null &&
    serviceTier !== 'standard' &&
    serviceTier !== 'batch' &&
    serviceTier !== 'priority'
  ) {
    return invalid('usage.service_tier must be "standard", "priority", "batch" or null');
  }
  const inferenceGeo = u.inference_geo ?? null;
  if (
    inferenceGeo !== null &&
    inferenceGeo !== 'us' &&
    inferenceGeo !== 'not_available' &&
    inferenceGeo !== 'global' &&
    inferenceGeo !== ''
  ) {
    return invalid('usage.inference_geo must be "us", "global", "not_available", "" or null');
  }
  const speed = u.speed ?? null;
  if (speed !== null && speed !== 'standard' && speed !== 'fast') {
    return invalid('usage.speed must be "standard", "fast" or null');
  }
  return {
    ok: true,
    usage: {
      inputTokens,
      outputTokens,
      cacheCreationInputTokens: cacheCreation,
      cacheReadInputTokens: cacheRead,
      cacheCreation5mInputTokens: write5m,
      cacheCreation1hInputTokens: write1h,
      webSearchRequests: webSearch,
      webFetchRequests: webFetch,
      serviceTier,
      inferenceGeo,
      speed,
    },
  };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= tokenCountMax;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(detail: string): UsageValidation {
  return { ok: false, code: 'invalid_usage', detail };
}

function invalidCount(field: string): UsageValidation {
  return invalid(`usage.${field} must be an integer from 0 to ${tokenCountMax}`);
}
