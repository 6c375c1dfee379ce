/**
 * `creditpool replay [PATH…]`: runs a usage history (Claude Code transcripts, Agent SDK output)
 * through the real engine for each plan, on a private in-memory store (never the operator's
 * database), and says what the Agent SDK credit means for it: per plan and cycle, the
 * programmatic cost, the credit used and when it ran out, usage-credit charges, written-off
 * amounts, interactive cost and the subscription windows that hit their limit; then the cheapest
 * plan and why. The work is in `src/replay/`; this file parses flags and prints.
 */
import { availableParallelism, homedir } from 'node:os';
import { defaultTranscriptRoots } from '../../adapters/ingest/claude-code/scan.ts';
import type { Catalogues } from '../../app/index.ts';
import { type MoneyError, parseUsd } from '../../core/money.ts';
import { type Instant, parseInstant } from '../../core/time.ts';
import { isReplayPlan, replayPlans } from '../../replay/plan-prices.ts';
import { type ReplayProgress, runReplay } from '../../replay/replay.ts';
import { renderReport } from '../../replay/report.ts';
import { parseFlags } from '../args.ts';
import { type CliCommand, type CliIo, exitOk, exitRefused, exitUsage } from '../io.ts';
import { toJson } from '../json.ts';
import { cataloguesFromEnv } from '../ledger-command.ts';

const usage = `Usage: creditpool replay [PATH…] [options]

Replays your usage history through the real engine (on a private in-memory store, never a
database of yours) for each plan, under the policy timeline: programmatic usage counts against the
subscription limits before 2026-06-15T00:00:00Z and draws on the Agent SDK credit from then on.
Prints per plan and billing cycle the programmatic cost, the credit used and when it ran out,
usage-credit charges, written-off amounts, interactive cost and the subscription windows that hit
their limit; then the cheapest plan for this history and why.

PATH is a transcript folder or file, or an Agent SDK output file (claude -p --output-format
json or stream-json), told apart by content. Without PATH: the Claude Code transcript roots
(~/.claude/projects and ~/.config/claude/projects, or CLAUDE_CONFIG_DIR's list).

Options:
  --plan <plan>              pro, max_5x, max_20x, team_standard, team_premium,
                             enterprise_usage, enterprise_premium, or all (default all)
  --usage-credits on|off     pay beyond the credit and limits at API rates (default on)
  --usage-credit-limit <USD> monthly usage-credit limit (default: none)
  --anchor <T>               billing anchor (default: midnight UTC of the first record's day)
  --claimed-at <T>           when the credit was claimed (default 2026-06-15T00:00:00Z, when the
                             policy took effect)
  --since <T>                only records at or after T
  --until <T>                only records before T
  --json                     one JSON object (money as exact decimal strings)
  --workers <n>              threads that share reading the transcripts, then replay one plan
                             each at a time (default: one per core, at most one per plan when
                             there are several; 1 = all in this thread)
  -h, --help                 show this help

T is an RFC 3339 timestamp (2026-07-01T09:00:00Z) or a date (2026-07-01, midnight UTC).
Plan prices are assumptions (monthly list prices): Pro $20, Max 5x $100, Max 20x $200, Team
Standard $25 and Team Premium $150 per seat; Enterprise prices are not published (not ranked).
The environment's CREDITPOOL_PRICES price catalogue is used when set.

Exit codes: 0 done, 1 nothing to replay (no usage records found), 2 wrong command line.
`;

/** Worker threads at most: more than the seven plans buys nothing. */
export const workersMax = 16;

/** An RFC 3339 instant, or a bare date as midnight UTC. */
export function parseWhen(text: string): Instant {
  return parseInstant(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
}

/** Redraws one stderr line at most every 100 ms; only used when stderr is a terminal. */
function terminalProgress(io: CliIo, plans: number): ReplayProgress {
  let last = 0;
  let shown = false;
  const draw = (text: string, force = false) => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    shown = true;
    io.stderr(`\r\x1b[K${text}`);
  };
  const bar = (done: number, total: number) => {
    const width = 30;
    const filled = total === 0 ? width : Math.round((done / total) * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
  };
  // Plans may run in parallel: the bar shows records booked over every plan.
  const booked = new Map<string, number>();
  return {
    reading: (lines, files) => draw(`reading ${files} file(s): ${lines} lines`),
    booking: (plan, count, total) => {
      booked.set(plan, count);
      let done = 0;
      for (const n of booked.values()) done += n;
      draw(`replaying ${plans} plan(s) ${bar(done, total * plans)}`, done === total * plans);
    },
    done: () => {
      if (shown) io.stderr('\r\x1b[K');
    },
  };
}

export const replay: CliCommand = {
  name: 'replay',
  summary: 'replay your usage history through the engine, per plan; the cheapest plan and why',
  usage,
  async run(argv, io) {
    const fail = (message: string) => {
      io.stderr(`creditpool replay: ${message}\nRun 'creditpool replay --help' for usage.\n`);
      return exitUsage;
    };
    const args = parseFlags(argv, {
      plan: { type: 'string' },
      'usage-credits': { type: 'string' },
      'usage-credit-limit': { type: 'string' },
      anchor: { type: 'string' },
      'claimed-at': { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      json: { type: 'boolean' },
      workers: { type: 'string' },
    });
    if (!args.ok) return fail(args.message);
    const v = args.values;
    if (v.help) {
      io.stdout(usage);
      return exitOk;
    }
    const planFlag = typeof v.plan === 'string' ? v.plan : 'all';
    if (planFlag !== 'all' && !isReplayPlan(planFlag)) {
      return fail(`--plan must be one of ${replayPlans.join(', ')} or all, not ${JSON.stringify(planFlag)}`);
    }
    const ucFlag = typeof v['usage-credits'] === 'string' ? v['usage-credits'] : 'on';
    if (ucFlag !== 'on' && ucFlag !== 'off') return fail('--usage-credits must be on or off');
    let limit: bigint | null = null;
    if (typeof v['usage-credit-limit'] === 'string') {
      if (ucFlag === 'off') return fail('--usage-credit-limit needs --usage-credits on');
      try {
        limit = parseUsd(v['usage-credit-limit']);
      } catch (error) {
        return fail(`--usage-credit-limit: ${(error as MoneyError).message}`);
      }
    }
    const when: Record<'anchor' | 'claimed-at' | 'since' | 'until', Instant | null> = {
      anchor: null,
      'claimed-at': null,
      since: null,
      until: null,
    };
    for (const name of Object.keys(when) as (keyof typeof when)[]) {
      const text = v[name];
      if (typeof text !== 'string') continue;
      try {
        when[name] = parseWhen(text);
      } catch (error) {
        return fail(`--${name}: ${(error as Error).message}`);
      }
    }
    if (when.since !== null && when.until !== null && when.until <= when.since) {
      return fail('--until must be after --since');
    }
    let catalogues: Catalogues;
    try {
      catalogues = cataloguesFromEnv(io.env);
    } catch (error) {
      io.stderr(`creditpool replay: CREDITPOOL_PRICES: ${(error as Error).message}\n`);
      return exitRefused;
    }
    const paths = args.positionals.length > 0 ? args.positionals : defaultTranscriptRoots(io.env, homedir());
    const plans = planFlag === 'all' ? replayPlans : [planFlag];
    // One plan: the threads only share the scan, one per core. Several: one per core, at most one
    // per plan (measured: 4 threads for 7 plans on 2 cores cost a third more CPU, in copies of the
    // records and collection, than the idle tail they fill).
    let workers = plans.length > 1 ? Math.min(availableParallelism(), plans.length) : availableParallelism();
    if (typeof v.workers === 'string') {
      workers = Number(v.workers);
      if (!Number.isSafeInteger(workers) || workers < 1 || workers > workersMax) {
        return fail(`--workers must be an integer from 1 to ${workersMax}`);
      }
    }
    const { report } = await runReplay(paths, {
      plans,
      usageCredits: ucFlag === 'on',
      usageCreditLimitUnits: limit,
      anchor: when.anchor,
      claimedAt: when['claimed-at'],
      since: when.since,
      until: when.until,
      catalogues,
      ...(process.stderr.isTTY ? { progress: terminalProgress(io, plans.length) } : {}),
      parallel: { workers, pricesFile: io.env.CREDITPOOL_PRICES || null },
    });
    const booked = report.records.programmatic + report.records.interactive + report.records.rejected;
    if (booked === 0) {
      const issues = report.issues.map((i) => `  ${i.code}: ${i.detail}`).join('\n');
      io.stderr(
        `creditpool replay: no usage records found in ${paths.join(', ')}` +
          (report.records.filtered > 0 ? ` (${report.records.filtered} outside --since/--until)` : '') +
          `\n${issues}${issues ? '\n' : ''}`,
      );
      return exitRefused;
    }
    io.stdout(v.json ? `${JSON.stringify(toJson(report))}\n` : renderReport(report));
    return exitOk;
  },
};
