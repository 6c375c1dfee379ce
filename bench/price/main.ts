/**
 * Pricing throughput on one core, against `JSON.parse` of the same records measured in the same
 * process. Goal: pricing a parsed record costs less than half of parsing it (ratio < 0.5), so
 * pricing never dominates ingest.
 *
 * The records are native usage records (`{id, occurred_at, surface, app, model, usage}`),
 * generated with a seeded PRNG in a realistic mix: Opus, Sonnet, Haiku and Fable, model ids in
 * every form (aliases, `[1m]`, cloud ids), cache reads dominant, some cache writes with a TTL split,
 * some batch, US-only, fast mode, web search, and long-prompt Haiku 5.5.
 *
 * Timed: `price(record.model, record.usage, at)` over every parsed record, `at` parsed beforehand
 * (booking parses `occurred_at` anyway, for R13). Baseline: `JSON.parse` of every record's string.
 * Warm-up, then alternating rounds; medians reported.
 *
 * Run: `npm run bench -- price` (or `node bench/price/main.ts [records] [rounds]` for one JSON line).
 */
import { price } from '../../src/core/prices/index.ts';
import { type Instant, parseInstant } from '../../src/core/time.ts';

const recordCount = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 9);
const seed = 0x5eed_2026;

/** mulberry32: small, fast, seeded; the same seed gives the same records on every machine. */
function prng(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(seed);
const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
/** Skewed toward the low end, like token counts. */
const skewed = (min: number, max: number) => Math.floor(min + (max - min) * random() ** 3);
const pick = <T>(items: readonly (readonly [T, number])[]): T => {
  let r = random() * items.reduce((sum, [, w]) => sum + w, 0);
  for (const [item, weight] of items) {
    r -= weight;
    if (r < 0) return item;
  }
  return items[items.length - 1]![0];
};

const models = [
  ['claude-opus-5-5', 24],
  ['claude-sonnet-5-5', 20],
  ['claude-haiku-5-5', 14],
  ['claude-fable-5-2', 6],
  ['claude-fable-5-1', 4],
  ['claude-haiku-4-5-20251001', 6],
  ['claude-haiku-4-5', 4],
  ['claude-sonnet-4-5', 4],
  ['claude-opus-4-6[1m]', 4],
  ['claude-opus-4-6', 4],
  ['us.anthropic.claude-opus-4-6-v1', 3],
  ['anthropic.claude-3-5-sonnet-20241022-v2:0', 1],
  ['claude-opus-4-7', 3],
  ['claude-opus-4-8', 3],
] as const;
const fastModels = new Set(['claude-opus-5-5', 'claude-fable-5-2', 'claude-opus-4-6', 'claude-opus-4-8']);
const surfaces = [
  ['cli', 40],
  ['sdk-cli', 25],
  ['sdk-ts', 15],
  ['sdk-py', 10],
  ['claude-vscode', 10],
] as const;
const from = parseInstant('2026-11-10T00:00:00Z');
const to = parseInstant('2026-11-24T00:00:00Z');

interface Mix {
  batch: number;
  usOnly: number;
  fast: number;
  webSearch: number;
  longHaiku: number;
  cacheWrites: number;
}

function generate(count: number): { lines: string[]; mix: Mix } {
  const mix: Mix = { batch: 0, usOnly: 0, fast: 0, webSearch: 0, longHaiku: 0, cacheWrites: 0 };
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const model = pick(models);
    const longHaiku = model === 'claude-haiku-5-5' && random() < 0.2;
    const batch = random() < 0.06;
    const fast = !batch && fastModels.has(model) && random() < 0.1;
    const usOnly = random() < 0.12;
    const search = random() < 0.04;
    const write = random() < 0.3;
    const cacheRead = longHaiku ? int(100_001, 400_000) : skewed(2_000, 180_000);
    const write5m = write ? skewed(100, 30_000) : 0;
    const write1h = write && random() < 0.25 ? skewed(100, 20_000) : 0;
    const usage: Record<string, unknown> = {
      input_tokens: skewed(1, 4_000),
      cache_creation_input_tokens: write5m + write1h,
      cache_read_input_tokens: cacheRead,
      output_tokens: skewed(20, 12_000),
      server_tool_use: {
        web_search_requests: search ? int(1, 6) : 0,
        web_fetch_requests: random() < 0.03 ? 1 : 0,
      },
      service_tier: batch ? 'batch' : 'standard',
      cache_creation: { ephemeral_1h_input_tokens: write1h, ephemeral_5m_input_tokens: write5m },
      inference_geo: usOnly ? 'us' : random() < 0.5 ? 'not_available' : 'global',
      speed: fast ? 'fast' : 'standard',
    };
    if (random() < 0.2) usage.output_tokens_details = { thinking_tokens: skewed(0, 2_000) };
    const record = {
      id: `req_${i.toString(36).padStart(8, '0')}${int(0, 2 ** 30).toString(36)}`,
      occurred_at: new Date(int(from, to)).toISOString(),
      surface: pick(surfaces),
      app: null,
      model,
      usage,
    };
    lines.push(JSON.stringify(record));
    mix.batch += Number(batch);
    mix.usOnly += Number(usOnly);
    mix.fast += Number(fast);
    mix.webSearch += Number(search);
    mix.longHaiku += Number(longHaiku);
    mix.cacheWrites += Number(write);
  }
  return { lines, mix };
}

interface ParsedRecord {
  model: string;
  usage: unknown;
}

/** Parses every line; returns a checksum so the work cannot be optimised away. */
function parseAll(lines: readonly string[]): number {
  let sink = 0;
  for (let i = 0; i < lines.length; i++)
    sink += (JSON.parse(lines[i]!) as { usage: { output_tokens: number } }).usage.output_tokens;
  return sink;
}

function priceAll(records: readonly ParsedRecord[], instants: readonly Instant[]): bigint {
  let sink = 0n;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const result = price(record.model, record.usage, instants[i]!);
    if (!result.ok) throw new Error(`record ${i}: ${result.code}: ${result.detail}`);
    sink += result.totalUnits;
  }
  return sink;
}

function timeMs(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const { lines, mix } = generate(recordCount);
const records = lines.map((line) => JSON.parse(line) as ParsedRecord & { occurred_at: string });
const instants = records.map((record) => parseInstant(record.occurred_at));
const bytes = lines.reduce((sum, line) => sum + line.length, 0);

// Warm-up: both paths reach their optimised tiers before anything is timed.
for (let i = 0; i < 3; i++) {
  parseAll(lines);
  priceAll(records, instants);
}
const parseMs: number[] = [];
const priceMs: number[] = [];
const ratios: number[] = [];
for (let round = 0; round < rounds; round++) {
  // Alternate the order so drift (thermal, neighbours) hits both sides alike.
  let p: number;
  let q: number;
  if (round % 2 === 0) {
    p = timeMs(() => parseAll(lines));
    q = timeMs(() => priceAll(records, instants));
  } else {
    q = timeMs(() => priceAll(records, instants));
    p = timeMs(() => parseAll(lines));
  }
  parseMs.push(p);
  priceMs.push(q);
  ratios.push(q / p);
  process.stderr.write(
    `  round ${round + 1}/${rounds}: parse ${p.toFixed(1)} ms, price ${q.toFixed(1)} ms\n`,
  );
}

const priceRate = recordCount / (median(priceMs) / 1000);
const parseRate = recordCount / (median(parseMs) / 1000);
const ratio = median(ratios);
const percent = (n: number) => `${((100 * n) / recordCount).toFixed(1)}%`;

const report = {
  name: 'price',
  title: 'pricing usage records against JSON.parse of the same records',
  command: 'npm run bench -- price',
  results: [
    {
      label: 'price() of a parsed record',
      value: priceRate,
      unit: 'records/s',
      baseline_label: 'JSON.parse of the same record',
      baseline_value: parseRate,
      ratio,
      goal: 'time to price / time to parse < 0.5',
      met: ratio < 0.5,
    },
  ],
  notes: [
    `${recordCount.toLocaleString('en-US')} records (seed 0x${seed.toString(16)}), ${Math.round(bytes / recordCount)} bytes of JSON each on average; one core, one process.`,
    `Mix: 14 model-id forms (Opus, Sonnet, Haiku, Fable; aliases, [1m], Bedrock ids); cache reads in every record; cache writes ${percent(mix.cacheWrites)}, batch ${percent(mix.batch)}, US-only ${percent(mix.usOnly)}, fast ${percent(mix.fast)}, web search ${percent(mix.webSearch)}, long-prompt Haiku 5.5 ${percent(mix.longHaiku)}.`,
    `3 warm-up passes, then ${rounds} alternating rounds; rates are medians of the round times, the ratio is the median of the per-round ratios.`,
    'Timed: `price(model, usage, at)` with `at` parsed beforehand (booking parses `occurred_at` anyway); the result (lines, total, modifiers) is built in full.',
  ],
};
process.stdout.write(`${JSON.stringify(report)}\n`);
