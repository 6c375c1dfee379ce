/**
 * Replay through the real engine, on hand-made transcripts and the ingest adapters' fixtures,
 * against figures worked out by hand below (prices.md: claude-opus-5-5 is $4 input and $20 output
 * per million tokens; Pro has a $20 credit, a $5 session and a $50 weekly limit; Max 5x $100,
 * $25, $250; the policy takes effect 2026-06-15T00:00:00Z).
 *
 * `fixtures/projects/-home-dev-advisor` (billing anchor 2026-07-01, so cycles are calendar months):
 *
 * | rec | occurred_at          | surface | tokens (opus 5.5)         | cost | Pro, usage credits on                        |
 * | --- | -------------------- | ------- | ------------------------- | ---- | -------------------------------------------- |
 * | r0  | 2026-06-10T12:00:00Z | sdk-cli | 100,000 out               | $2   | before the policy: subscription (session)    |
 * | r1  | 2026-07-02T10:00:01Z | sdk-cli | 400,000 out (2 lines: the partial first line is dropped, the kept copy's time is the record's) | $8 | credit 8 (12 left) |
 * | r2  | 2026-07-03T10:00:00Z | sdk-cli | 400,000 out               | $8   | credit 8 (4 left)                            |
 * |     | 2026-07-03T10:05:00Z | sdk-cli | `<synthetic>`             | -    | never billed                                 |
 * | r3  | 2026-07-04T10:00:00Z | sdk-cli | 300,000 out               | $6   | credit 4 (the last of it), usage credits 2   |
 * | r4  | 2026-07-05T09:00:00Z | cli     | 500,000 in + 100,000 out  | $4   | subscription: session opens, 4 of 5 used     |
 * | r5  | 2026-07-05T10:00:00Z | cli     | 250,000 in + 50,000 out   | $2   | subscription: 1 left, counted whole (6 of 5) |
 * | r6  | 2026-07-05T11:00:00Z | cli     | 125,000 in + 25,000 out   | $1   | session full: usage credits 1                |
 * | r7  | 2026-08-10T12:00:00Z | sdk-ts  | 50,000 out                | $1   | August credit 1                              |
 *
 * So on Pro: June (2026-06-01..07-01) grants 20 at the claim (06-15), uses 0, expires 20, and
 * counts r0's $2 against the subscription; July uses the whole 20 and runs out at r3's
 * occurred_at, 2026-07-04T10:00:00Z, with $3 of usage credits (r3's 2 + r6's 1), $22
 * programmatic, $7 interactive of which $6 within the limits, and one session window
 * (09:00..14:00) limited at 11:00; August uses 1 and expires 19. Total: $20 × 3 cycles + $3.00.
 * With usage credits off the same $3 is written off instead.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateCorpus } from '../../scripts/gen-transcripts.ts';
import { defaultCatalogues } from '../app/index.ts';
import { toJson } from '../cli/json.ts';
import { parseUsd } from '../core/money.ts';
import { parseInstant } from '../core/time.ts';
import { replayPlans } from './plan-prices.ts';
import { type ReplayOptions, runReplay } from './replay.ts';

const fixtures = join(import.meta.dirname, 'fixtures', 'projects');
const ingestFixtures = join(import.meta.dirname, '..', 'adapters', 'ingest');

function options(overrides: Partial<ReplayOptions> = {}): ReplayOptions {
  return {
    plans: ['pro'],
    usageCredits: true,
    usageCreditLimitUnits: null,
    anchor: parseInstant('2026-07-01T00:00:00Z'),
    claimedAt: null,
    since: null,
    until: null,
    catalogues: defaultCatalogues,
    ...overrides,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: report objects are compared field by field.
async function report(paths: string[], overrides: Partial<ReplayOptions> = {}): Promise<any> {
  return toJson((await runReplay(paths, options(overrides))).report);
}

describe('replay: hand-made transcripts, Pro', () => {
  it('books every record in its cycle; credit runs out at r3; usage credits pay r3 and r6', async () => {
    const r = await report([fixtures]);
    assert.deepEqual(r.records, {
      read: 10,
      duplicates: 1,
      programmatic: 5,
      interactive: 3,
      rejected: 0,
      synthetic: 1,
      invalid: 0,
      missing_entrypoint: 0,
      filtered: 0,
    });
    const [pro] = r.plans;
    assert.equal(pro.plan, 'pro');
    assert.deepEqual(pro.cycles, [
      {
        start: '2026-06-01T00:00:00Z',
        end: '2026-07-01T00:00:00Z',
        records: 1,
        programmatic_usd: '2',
        sdk_credit_granted_usd: '20',
        sdk_credit_used_usd: '0',
        sdk_credit_expired_usd: '20',
        exhausted_at: null,
        usage_credits_usd: '0',
        usage_credits_billed_usd: '0',
        written_off_usd: '0',
        interactive_usd: '0',
        subscription_usd: '2',
        windows_limited: [],
      },
      {
        start: '2026-07-01T00:00:00Z',
        end: '2026-08-01T00:00:00Z',
        records: 6,
        programmatic_usd: '22',
        sdk_credit_granted_usd: '20',
        sdk_credit_used_usd: '20',
        sdk_credit_expired_usd: '0',
        exhausted_at: '2026-07-04T10:00:00Z',
        usage_credits_usd: '3',
        usage_credits_billed_usd: '3',
        written_off_usd: '0',
        interactive_usd: '7',
        subscription_usd: '6',
        windows_limited: [
          {
            window: 'session',
            start: '2026-07-05T09:00:00Z',
            end: '2026-07-05T14:00:00Z',
            limited_at: '2026-07-05T11:00:00Z',
            records: 1,
            over_usd: '1',
          },
        ],
      },
      {
        start: '2026-08-01T00:00:00Z',
        end: '2026-09-01T00:00:00Z',
        records: 1,
        programmatic_usd: '1',
        sdk_credit_granted_usd: '20',
        sdk_credit_used_usd: '1',
        sdk_credit_expired_usd: '19',
        exhausted_at: null,
        usage_credits_usd: '0',
        usage_credits_billed_usd: '0',
        written_off_usd: '0',
        interactive_usd: '0',
        subscription_usd: '0',
        windows_limited: [],
      },
    ]);
    assert.equal(pro.subscription_price_usd, '60');
    assert.equal(pro.total_usd, '63');
    assert.deepEqual(r.cheapest, {
      plan: 'pro',
      total_usd: '63',
      covers_all: true,
      reason: 'Pro costs $20.00 × 3 cycles + $3.00 usage credits = $63.00',
    });
  });

  it('with usage credits off, what no source covers is written off (R6), never carried over', async () => {
    const r = await report([fixtures], { usageCredits: false });
    const july = r.plans[0].cycles[1];
    assert.deepEqual(
      [july.sdk_credit_used_usd, july.exhausted_at, july.usage_credits_usd, july.written_off_usd],
      ['20', '2026-07-04T10:00:00Z', '0', '3'],
    );
    assert.equal(r.plans[0].cycles[2].written_off_usd, '0');
    assert.equal(r.plans[0].total_usd, '60');
  });

  it('--usage-credit-limit caps usage credits: r6 gets the last $0.50, the rest is written off', async () => {
    const r = await report([fixtures], { usageCreditLimitUnits: parseUsd('2.5') });
    const july = r.plans[0].cycles[1];
    assert.deepEqual(
      [july.usage_credits_usd, july.usage_credits_billed_usd, july.written_off_usd],
      ['2.5', '2.5', '0.5'],
    );
    assert.equal(r.assumptions.usage_credit_limit_usd, '2.5');
  });

  it('--claimed-at after r2: r1 and r2 are refused (credit_not_claimed); June has no grant', async () => {
    const r = await report([fixtures], { claimedAt: parseInstant('2026-07-03T12:00:00Z') });
    const [pro] = r.plans;
    assert.equal(r.records.rejected, 2);
    assert.deepEqual(pro.rejected.by_code, { credit_not_claimed: 2 });
    assert.deepEqual(
      pro.rejected.samples.map((s: { id: string }) => s.id),
      ['req_01R1', 'req_01R2'],
    );
    const [june, july] = pro.cycles;
    assert.deepEqual([june.sdk_credit_granted_usd, june.subscription_usd], ['0', '2']);
    // July: the claim grants 20 at 07-03T12:00; r3 uses 6 of it; r6 still goes to usage credits.
    assert.deepEqual(
      [
        july.records,
        july.programmatic_usd,
        july.sdk_credit_used_usd,
        july.exhausted_at,
        july.usage_credits_usd,
      ],
      [4, '6', '6', null, '1'],
    );
  });

  it('--since drops r0 (counted as filtered); the default anchor is midnight UTC of the first record', async () => {
    const r = await report([fixtures], { since: parseInstant('2026-07-01T00:00:00Z'), anchor: null });
    assert.equal(r.records.filtered, 1);
    assert.equal(r.assumptions.anchor, '2026-07-02T00:00:00Z');
    assert.deepEqual(
      r.plans[0].cycles.map((c: { start: string }) => c.start),
      ['2026-07-02T00:00:00Z', '2026-08-02T00:00:00Z'],
    );
  });
});

describe('replay: every plan', () => {
  it('Max 5x and Team Premium never exhaust; Team Standard is Pro with a seat in an org', async () => {
    const r = await report([fixtures], { plans: replayPlans });
    assert.deepEqual(
      r.plans.map((p: { plan: string }) => p.plan),
      [...replayPlans],
    );
    const byPlan = Object.fromEntries(r.plans.map((p: { plan: string }) => [p.plan, p]));
    // Pro's figures again, on an org seat ($25 a month).
    assert.deepEqual(byPlan.team_standard.cycles, byPlan.pro.cycles);
    assert.equal(byPlan.team_standard.total_usd, '78');
    // Max 5x: $22 of July's $100 used, $6 within the $25 session limit and r6's $1 too.
    const july = byPlan.max_5x.cycles[1];
    assert.deepEqual(
      [
        july.sdk_credit_used_usd,
        july.exhausted_at,
        july.usage_credits_usd,
        july.subscription_usd,
        july.windows_limited,
      ],
      ['22', null, '0', '7', []],
    );
    assert.equal(byPlan.max_5x.total_usd, '300');
    assert.equal(byPlan.max_20x.total_usd, '600');
    assert.equal(byPlan.team_premium.total_usd, '450');
    assert.equal(byPlan.enterprise_usage.total_usd, null);
    assert.equal(byPlan.enterprise_premium.monthly_price_usd, null);
    assert.deepEqual(byPlan.enterprise_usage.cycles, byPlan.pro.cycles);
    assert.equal(r.cheapest.plan, 'pro');
    assert.equal(
      r.cheapest.reason,
      'Pro costs $20.00 × 3 cycles + $3.00 usage credits = $63.00; the next cheapest, Team Standard seat, costs $78.00',
    );
  });

  it('worker threads give the same report as one thread (one engine per plan either way)', async () => {
    const one = await report([fixtures], { plans: replayPlans });
    const pool = await report([fixtures], { plans: replayPlans, parallel: { workers: 3, pricesFile: null } });
    assert.deepEqual(pool, one);
  });

  it('a worker that cannot start fails the run, naming why', async () => {
    await assert.rejects(
      report([fixtures], {
        plans: replayPlans,
        parallel: { workers: 2, pricesFile: join(fixtures, 'missing.json') },
      }),
      /missing\.json/,
    );
  });

  it('with usage credits off, the cheapest plan is the cheapest that writes nothing off', async () => {
    const r = await report([fixtures], { plans: replayPlans, usageCredits: false });
    assert.deepEqual(r.cheapest, {
      plan: 'max_5x',
      total_usd: '300',
      covers_all: true,
      reason:
        'Max 5x is the cheapest plan whose credit and subscription limits cover the whole history without usage credits: $100.00 × 3 cycles = $300.00; Pro would leave $3.00 unserved, Team Standard seat would leave $3.00 unserved',
    });
  });
});

describe('replay: no record is lost to a closed cycle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-replay-cycles-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('records on both sides of a cycle boundary, months apart, each land in its own cycle', async () => {
    // Native usage records (detected by content): $1 each (50,000 output tokens of opus 5.5).
    const at = [
      '2026-07-31T23:59:59.999Z',
      '2026-08-01T00:00:00Z',
      '2026-08-01T00:00:00.001Z',
      '2027-01-15T08:00:00Z',
    ];
    const file = join(dir, 'records.jsonl');
    writeFileSync(
      file,
      at
        .map((occurred_at, i) =>
          JSON.stringify({
            id: `rec_${i}`,
            occurred_at,
            surface: 'sdk-py',
            model: 'claude-opus-5-5',
            usage: { input_tokens: 0, output_tokens: 50_000 },
          }),
        )
        .join('\n'),
    );
    const r = await report([file]);
    assert.equal(r.files.messages_api, 1);
    assert.equal(r.records.rejected, 0);
    const cycles = r.plans[0].cycles;
    assert.deepEqual(
      cycles.map((c: { start: string; records: number; sdk_credit_used_usd: string }) => [
        c.start.slice(0, 7),
        c.records,
        c.sdk_credit_used_usd,
      ]),
      [
        ['2026-07', 1, '1'],
        ['2026-08', 2, '2'],
        ['2026-09', 0, '0'],
        ['2026-10', 0, '0'],
        ['2026-11', 0, '0'],
        ['2026-12', 0, '0'],
        ['2027-01', 1, '1'],
      ],
    );
  });

  it('a generated corpus (May to November) books every response, on every plan', async () => {
    const manifest = generateCorpus({ out: join(dir, 'projects'), lines: 3000, seed: 5 });
    const r = await report([join(dir, 'projects')], { plans: ['pro', 'team_premium'], anchor: null });
    assert.equal(r.records.programmatic + r.records.interactive, manifest.records);
    assert.equal(r.records.rejected, 0);
    for (const plan of r.plans) {
      assert.equal(
        plan.cycles.reduce((n: number, c: { records: number }) => n + c.records, 0),
        manifest.records,
      );
    }
  });
});

describe('replay: the ingest adapters fixtures', () => {
  /**
   * `claude-code/fixtures/projects`, after deduplication (6 records, 11 usage lines):
   * - May (old session, no entrypoint → cli): req_01OLD, sonnet 4: 4 × $3 + 2,500 5-minute
   *   writes × $3.75 + 7 × $15 per million = $0.009492; msg_01OLD2: 1 × $3 = $0.000003.
   * - 2026-11-20, sdk-cli: req_01A (the 420-output copy; opus 5.5) 1,000 × $4 + 3,000 × $5 +
   *   50,000 × $0.20 + 420 × $20 = $0.0374; req_011CeXE7jFvq92cXT1kLYChE (its sidechain replay
   *   and its copy in another file dropped) $0.069; req_01SUB (haiku 4.5, subagent)
   *   897 × $1 + 9 × $5 = $0.000942. Programmatic: $0.107342, from November's credit.
   * - 2026-11-21, claude-vscode: req_01C, sonnet 5.5 after its 2026-10-07 cache-read cut:
   *   5 × $2 + 80 × $10 + 60,000 × $0.10 = $0.00681, interactive.
   * Default anchor 2026-05-02T00:00:00Z: seven cycles, May..November; Pro costs $140.
   */
  it('prices the transcript fixtures exactly, in their cycles', async () => {
    const r = await report([join(ingestFixtures, 'claude-code', 'fixtures', 'projects')], { anchor: null });
    assert.deepEqual(
      [
        r.records.read,
        r.records.duplicates,
        r.records.synthetic,
        r.records.invalid,
        r.records.missing_entrypoint,
      ],
      [11, 4, 1, 2, 2],
    );
    assert.deepEqual([r.records.programmatic, r.records.interactive], [3, 3]);
    const cycles = r.plans[0].cycles;
    assert.equal(cycles.length, 7);
    assert.deepEqual(
      [
        cycles[0].start,
        cycles[0].interactive_usd,
        cycles[0].subscription_usd,
        cycles[0].sdk_credit_granted_usd,
      ],
      ['2026-05-02T00:00:00Z', '0.009495', '0.009495', '0'],
    );
    const november = cycles[6];
    assert.deepEqual(
      [
        november.start,
        november.programmatic_usd,
        november.sdk_credit_used_usd,
        november.interactive_usd,
        november.exhausted_at,
      ],
      ['2026-11-02T00:00:00Z', '0.107342', '0.107342', '0.00681', null],
    );
    assert.equal(r.plans[0].total_usd, '140');
  });

  describe('an Agent SDK result (claude -p --output-format json), detected by content', () => {
    const dir = mkdtempSync(join(tmpdir(), 'creditpool-replay-sdk-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    /**
     * The captured result has no timestamp: the file's modification time is the run's. Its
     * `modelUsage` (the complete totals): haiku 4.5 897 × $1 + 9 × $5 = $0.000942; fable 5.1
     * 2 × $10 + 4 × $50 + 18,338 cache reads × $0.25 per million = $0.0048045; $0.0057465 in all
     * (equal, here, to the client's own total_cost_usd), programmatic (sdk-cli).
     */
    it('books the modelUsage totals at the file time', async () => {
      const file = join(dir, 'run.json');
      copyFileSync(join(ingestFixtures, 'agent-sdk', 'fixtures', 'claude-p.json.out'), file);
      const at = new Date('2026-07-10T08:00:00Z');
      utimesSync(file, at, at);
      const r = await report([file]);
      assert.deepEqual(r.files, { transcripts: 0, agent_sdk: 1, messages_api: 0 });
      assert.deepEqual([r.records.programmatic, r.records.interactive], [2, 0]);
      const july = r.plans[0].cycles[0];
      assert.deepEqual(
        [july.start, july.programmatic_usd, july.sdk_credit_used_usd],
        ['2026-07-01T00:00:00Z', '0.0057465', '0.0057465'],
      );
    });
  });
});
