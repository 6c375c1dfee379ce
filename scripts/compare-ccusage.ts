/**
 * Cross-checks creditpool's pricing of Claude Code transcripts against a peer, `ccusage daily
 * --offline --json` (devDependency, its cached price table, no network), per UTC day.
 *
 *   node scripts/compare-ccusage.ts [--config DIR | --generate N [--seed S] [--shape comparable|raw] | --differences] [--json]
 *
 * `--config DIR` compares an existing Claude configuration directory (holding `projects/`);
 * `--generate N` writes a corpus of about N lines with `scripts/gen-transcripts.ts` into a temp
 * directory (removed afterwards). `--shape comparable` (the default for generated corpora) rewrites
 * it so that only the rules both tools share are exercised: see `comparableCorpus` and
 * `docs/ccusage-comparison.md`. Exit 0 when every day agrees to the cent, 1 when one does not.
 *
 * creditpool's side is the transcript scanner (its deduplication rules) and `core/prices` at each
 * record's `occurred_at`: exact `bigint` sums, no engine, no plan. ccusage's side is its JSON.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTranscripts } from '../src/adapters/ingest/claude-code/scan.ts';
import { formatUsd, parseUsd, unitsPerCent } from '../src/core/money.ts';
import { defaultPriceCatalogue, type PriceCatalogue, price } from '../src/core/prices/index.ts';
import { parseInstant } from '../src/core/time.ts';
import { generateCorpus } from './gen-transcripts.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
/** The npm entry of ccusage (it starts its native binary); run with this Node, not the PATH's. */
export const ccusageCli = join(repoRoot, 'node_modules', 'ccusage', 'src', 'cli.js');
/** A ccusage run longer than this on a test corpus is stuck. */
export const ccusageTimeoutMs = 10 * 60_000;

/**
 * Models the generator writes that ccusage 20.0.24's offline table does not price (it reports
 * them `missingPricing` with cost 0), each mapped to a model it prices. Measured by pricing one
 * record per category of every catalogue model (docs/ccusage-comparison.md): ccusage knows every
 * model of `reference/prices.md` released before 2026-10 at the same rates, and none after.
 */
export const ccusageModelStandIns: Readonly<Record<string, string>> = {
  'claude-opus-5-5': 'claude-opus-4-8',
  'claude-sonnet-5-5': 'claude-sonnet-4-6',
};

/**
 * Rewrites a generated corpus (in place) so that both tools price every record: models ccusage
 * does not price are replaced by models it does (`ccusageModelStandIns`). Nothing else needs to
 * change: the generator writes none of the modifiers ccusage ignores (batch, US-only inference, web
 * search, Haiku 5.5's long-prompt tier: `service_tier: standard`, `inference_geo: not_available`, no
 * searches, no Haiku 5.5, prompts under 200,000 tokens), and its duplicate shapes (partial first
 * copies, sidechain replays, every line with a request id) are deduplicated alike by both tools.
 * Returns the files rewritten.
 */
export function comparableCorpus(projectsDir: string): number {
  const files = (readdirSync(projectsDir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => join(projectsDir, f));
  for (const file of files) {
    let text = readFileSync(file, 'utf8');
    for (const [from, to] of Object.entries(ccusageModelStandIns)) {
      text = text.replaceAll(`"model":"${from}"`, `"model":"${to}"`);
    }
    writeFileSync(file, text);
  }
  return files.length;
}

/**
 * Where the two tools differ, one case per UTC day (docs/ccusage-comparison.md): a record (or two)
 * of a model both price, with the figure each tool gives. `compareDaily` on `differenceCorpus`
 * reproduces the table, so the document cannot drift from what the peer does.
 */
export interface DifferenceCase {
  day: string;
  what: string;
  model: string;
  usage: Record<string, unknown>;
  /** Lines written: 2 for the duplicate cases (same message id, no request id). */
  copies?: number;
  /** Writes the line with spaces after `:` and `,` (valid JSON; Claude Code writes it compact). */
  spaced?: boolean;
  noRequestId?: boolean;
  /** Extra top-level fields of the line (an old writer's `costUSD`). */
  lineExtra?: Record<string, unknown>;
  creditpoolUsd: string;
  ccusageUsd: string;
}

export const differenceCases: readonly DifferenceCase[] = [
  {
    day: '2026-02-06',
    what: 'long prompt (300k input, Sonnet 4, before the 1M surcharge ended 2026-03-13)',
    model: 'claude-sonnet-4-20250514',
    usage: { input_tokens: 300_000 },
    creditpoolUsd: '1.8',
    ccusageUsd: '1.2',
  },
  {
    day: '2026-09-01',
    what: 'baseline (1M input, Haiku 4.5)',
    model: 'claude-haiku-4-5-20251001',
    usage: { input_tokens: 1_000_000 },
    creditpoolUsd: '1',
    ccusageUsd: '1',
  },
  {
    day: '2026-09-02',
    what: 'batch (service_tier "batch")',
    model: 'claude-haiku-4-5-20251001',
    usage: { input_tokens: 1_000_000, service_tier: 'batch' },
    creditpoolUsd: '0.5',
    ccusageUsd: '1',
  },
  {
    day: '2026-09-03',
    what: 'US-only inference (inference_geo "us", Opus 4.6)',
    model: 'claude-opus-4-6',
    usage: { input_tokens: 1_000_000, inference_geo: 'us' },
    creditpoolUsd: '5.5',
    ccusageUsd: '5',
  },
  {
    day: '2026-09-04',
    what: 'web search (100 searches, no tokens)',
    model: 'claude-haiku-4-5-20251001',
    usage: { input_tokens: 0, server_tool_use: { web_search_requests: 100, web_fetch_requests: 0 } },
    creditpoolUsd: '1',
    ccusageUsd: '0',
  },
  {
    day: '2026-09-05',
    what: 'fast mode (speed "fast", Opus 4.6)',
    model: 'claude-opus-4-6',
    usage: { input_tokens: 1_000_000, speed: 'fast' },
    creditpoolUsd: '30',
    ccusageUsd: '30',
  },
  {
    day: '2026-09-07',
    what: 'long prompt after 2026-03-13 (300k input, Sonnet 4)',
    model: 'claude-sonnet-4-20250514',
    usage: { input_tokens: 300_000 },
    creditpoolUsd: '0.9',
    ccusageUsd: '1.2',
  },
  {
    day: '2026-09-08',
    what: 'cache write without a TTL split (priced as 5-minute)',
    model: 'claude-haiku-4-5-20251001',
    usage: { input_tokens: 0, cache_creation_input_tokens: 1_000_000 },
    creditpoolUsd: '1.25',
    ccusageUsd: '1.25',
  },
  {
    day: '2026-09-09',
    what: 'model id with the [1m] suffix',
    model: 'claude-opus-4-6[1m]',
    usage: { input_tokens: 1_000_000 },
    creditpoolUsd: '5',
    ccusageUsd: '5',
  },
  {
    day: '2026-09-10',
    what: 'Bedrock regional id us.anthropic.claude-opus-4-6-v1',
    model: 'us.anthropic.claude-opus-4-6-v1',
    usage: { input_tokens: 1_000_000 },
    creditpoolUsd: '5',
    ccusageUsd: '5.5',
  },
  {
    day: '2026-09-11',
    what: '1-hour cache write (1M) + 1M input, Opus 4.6',
    model: 'claude-opus-4-6',
    usage: {
      input_tokens: 1_000_000,
      cache_creation_input_tokens: 1_000_000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1_000_000 },
    },
    creditpoolUsd: '15',
    ccusageUsd: '15',
  },
  {
    day: '2026-09-12',
    what: 'two copies of a response without requestId (same message id)',
    model: 'claude-haiku-4-5-20251001',
    usage: { input_tokens: 1_000_000 },
    copies: 2,
    noRequestId: true,
    creditpoolUsd: '1',
    ccusageUsd: '2',
  },
  {
    day: '2026-09-13',
    what: 'a line written with spaces (valid JSON, not compact)',
    model: 'claude-haiku-4-5-20251001',
    usage: { input_tokens: 1_000_000 },
    spaced: true,
    creditpoolUsd: '1',
    ccusageUsd: '0',
  },
  {
    day: '2026-09-14',
    what: 'a model ccusage does not price (Opus 5.5, released after its table)',
    model: 'claude-opus-5-5',
    usage: { input_tokens: 1_000_000 },
    creditpoolUsd: '4',
    ccusageUsd: '0',
  },
  {
    day: '2026-09-15',
    what: "an old writer's line carrying costUSD 7.5 (the client's estimate)",
    model: 'claude-haiku-4-5-20251001',
    usage: { input_tokens: 1_000_000 },
    lineExtra: { costUSD: 7.5 },
    creditpoolUsd: '1',
    ccusageUsd: '7.5',
  },
];

/** Writes `differenceCases` as one transcript under `<configDir>/projects`. */
export function differenceCorpus(configDir: string): void {
  const dir = join(configDir, 'projects', '-home-dev-differences');
  mkdirSync(dir, { recursive: true });
  const lines: string[] = [];
  differenceCases.forEach((c, i) => {
    for (let copy = 0; copy < (c.copies ?? 1); copy += 1) {
      const line: Record<string, unknown> = {
        parentUuid: null,
        isSidechain: false,
        userType: 'external',
        entrypoint: 'cli',
        cwd: '/home/dev/differences',
        sessionId: '0b98dffc-d185-41ed-aada-1acdb51e98b6',
        version: '2.1.331',
        message: {
          model: c.model,
          id: `msg_diff_${i}`,
          type: 'message',
          role: 'assistant',
          content: [{ type: 'text', text: c.what }],
          usage: {
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            service_tier: 'standard',
            ...c.usage,
          },
        },
        type: 'assistant',
        uuid: `0b98dffc-0000-4000-8000-${String(i * 10 + copy).padStart(12, '0')}`,
        timestamp: `${c.day}T10:00:0${copy}.000Z`,
      };
      if (!c.noRequestId) line.requestId = `req_diff_${i}`;
      Object.assign(line, c.lineExtra ?? {});
      lines.push(
        c.spaced
          ? JSON.stringify(line).replaceAll('":', '": ').replaceAll(',"', ', "')
          : JSON.stringify(line),
      );
    }
  });
  writeFileSync(join(dir, '0b98dffc-d185-41ed-aada-1acdb51e98b6.jsonl'), `${lines.join('\n')}\n`);
}

export interface CcusageDay {
  period: string;
  totalCost: number;
  modelBreakdowns: { modelName: string; cost: number; missingPricing?: boolean }[];
}

/** Runs `ccusage daily --offline --json` on a configuration directory, UTC days, isolated HOME. */
export function runCcusage(configDir: string, home: string): { days: CcusageDay[]; seconds: number } {
  const started = performance.now();
  const r = spawnSync(process.execPath, [ccusageCli, 'daily', '--offline', '--json', '--timezone', 'UTC'], {
    env: { PATH: process.env.PATH ?? '', HOME: home, CLAUDE_CONFIG_DIR: configDir, TZ: 'UTC', NO_COLOR: '1' },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: ccusageTimeoutMs,
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`ccusage exited ${r.status ?? r.signal}: ${r.stderr}`);
  return { days: (JSON.parse(r.stdout) as { daily: CcusageDay[] }).daily, seconds };
}

export interface DayComparison {
  day: string;
  creditpoolUsd: string;
  ccusageUsd: string;
  /** creditpool − ccusage, in USD (ccusage's figure is a float: shown to 1e-9). */
  differenceUsd: string;
  agrees: boolean;
}

export interface Comparison {
  days: DayComparison[];
  daysAgreeing: number;
  records: number;
  /** Models creditpool priced that ccusage reported as `missingPricing` (records per model). */
  ccusageMissing: Record<string, number>;
  /** Models creditpool refused (`unknown_model`), records per model. */
  creditpoolUnknown: Record<string, number>;
  maxDifferenceUsd: string;
  ccusageSeconds: number;
}

/** A float USD amount as units, through its shortest decimal string (exact for what it prints). */
function floatUnits(value: number): bigint {
  const text = value.toFixed(9);
  return parseUsd(text.startsWith('-') ? text.slice(1) : text) * (text.startsWith('-') ? -1n : 1n);
}

/**
 * Per-day totals of both tools. A day agrees when both round to the same cent, or differ by less
 * than a millionth of a dollar (a float sum can sit on a rounding boundary). Records of models
 * ccusage does not price are left out of creditpool's side (ccusage counts them as 0) and listed.
 */
export async function compareDaily(
  configDir: string,
  options: {
    home?: string;
    catalogue?: PriceCatalogue;
    /** Leave out records of models ccusage does not price (it counts them as 0); default true. */
    leaveOutMissing?: boolean;
  } = {},
): Promise<Comparison> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'creditpool-ccusage-home-'));
  try {
    const peer = runCcusage(configDir, home);
    const missing = new Set<string>();
    for (const d of peer.days)
      for (const b of d.modelBreakdowns) if (b.missingPricing) missing.add(b.modelName);
    const { records } = await readTranscripts([join(configDir, 'projects')]);
    const ours = new Map<string, bigint>();
    const ccusageMissing: Record<string, number> = {};
    const creditpoolUnknown: Record<string, number> = {};
    for (const r of records) {
      if (missing.has(r.model) && options.leaveOutMissing !== false) {
        ccusageMissing[r.model] = (ccusageMissing[r.model] ?? 0) + 1;
        continue;
      }
      const priced = price(
        r.model,
        r.usage,
        parseInstant(r.occurred_at),
        options.catalogue ?? defaultPriceCatalogue,
      );
      if (!priced.ok) {
        creditpoolUnknown[r.model] = (creditpoolUnknown[r.model] ?? 0) + 1;
        continue;
      }
      const day = r.occurred_at.slice(0, 10);
      ours.set(day, (ours.get(day) ?? 0n) + priced.totalUnits);
    }
    const theirs = new Map(peer.days.map((d) => [d.period, floatUnits(d.totalCost)]));
    const days = [...new Set([...ours.keys(), ...theirs.keys()])].sort();
    let maxDifference = 0n;
    const rows: DayComparison[] = days.map((day) => {
      const a = ours.get(day) ?? 0n;
      const b = theirs.get(day) ?? 0n;
      const difference = a - b;
      const magnitude = difference < 0n ? -difference : difference;
      if (magnitude > maxDifference) maxDifference = magnitude;
      const cents = (u: bigint) => (u + unitsPerCent / 2n) / unitsPerCent;
      const agrees = cents(a) === cents(b) || magnitude < 1_000_000n;
      return {
        day,
        creditpoolUsd: formatUsd(a),
        ccusageUsd: formatUsd(b),
        differenceUsd: formatUsd(difference),
        agrees,
      };
    });
    return {
      days: rows,
      daysAgreeing: rows.filter((r) => r.agrees).length,
      records: records.length,
      ccusageMissing,
      creditpoolUnknown,
      maxDifferenceUsd: formatUsd(maxDifference),
      ccusageSeconds: peer.seconds,
    };
  } finally {
    if (options.home === undefined) rmSync(home, { recursive: true, force: true });
  }
}

function parseArgs(argv: string[]) {
  const value = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const generate = value('generate');
  return {
    differences: argv.includes('--differences'),
    config: value('config'),
    generate: generate === undefined ? undefined : Number(generate),
    seed: Number(value('seed') ?? 1),
    shape: (value('shape') ?? 'comparable') as 'comparable' | 'raw',
    json: argv.includes('--json'),
  };
}

if (import.meta.main) {
  const args = parseArgs(process.argv.slice(2));
  let config = args.config;
  let temp: string | null = null;
  if (args.differences) {
    temp = mkdtempSync(join(tmpdir(), 'creditpool-ccusage-differences-'));
    config = temp;
    differenceCorpus(temp);
  } else if (config === undefined) {
    if (args.generate === undefined || !Number.isSafeInteger(args.generate) || args.generate <= 0) {
      console.error(
        'usage: compare-ccusage.ts --config DIR | --generate LINES [--seed S] [--shape comparable|raw] [--json]',
      );
      process.exit(2);
    }
    temp = mkdtempSync(join(tmpdir(), 'creditpool-ccusage-corpus-'));
    config = temp;
    generateCorpus({ out: join(temp, 'projects'), lines: args.generate, seed: args.seed });
    if (args.shape === 'comparable') comparableCorpus(join(temp, 'projects'));
  }
  try {
    const c = await compareDaily(config, { leaveOutMissing: !args.differences });
    if (args.json) console.log(JSON.stringify(c, null, 2));
    else if (args.differences) {
      for (const d of c.days) {
        const known = differenceCases.find((x) => x.day === d.day);
        console.log(`| ${d.day} | ${known?.what ?? ''} | ${d.creditpoolUsd} | ${d.ccusageUsd} |`);
      }
    } else {
      for (const d of c.days.filter((x) => !x.agrees)) {
        console.log(
          `${d.day}  creditpool ${d.creditpoolUsd}  ccusage ${d.ccusageUsd}  difference ${d.differenceUsd}`,
        );
      }
      console.log(
        `${c.daysAgreeing} of ${c.days.length} days agree to the cent (${c.records} records; largest difference $${c.maxDifferenceUsd}; ccusage ${c.ccusageSeconds.toFixed(2)} s)`,
      );
      if (Object.keys(c.ccusageMissing).length > 0)
        console.log('not priced by ccusage (left out):', c.ccusageMissing);
      if (Object.keys(c.creditpoolUnknown).length > 0)
        console.log('unknown to creditpool:', c.creditpoolUnknown);
    }
    process.exitCode = c.daysAgreeing === c.days.length ? 0 : 1;
  } finally {
    if (temp !== null) rmSync(temp, { recursive: true, force: true });
  }
}
