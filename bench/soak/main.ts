/**
 * The soak (`node bench/run.ts soak`): `soak.ts` against each store in turn, SQLite then
 * PostgreSQL (a fresh database on CREDITPOOL_TEST_DATABASE_URL's server, dropped afterwards), each
 * for `SOAK_SECONDS` (default 600), sampled every 10 s. `SOAK_STORES=sqlite` (or `postgres`) runs
 * one store only.
 *
 * What it shows is stability, not speed: each figure is compared with the same figure in the first
 * window after warm-up (the first minute), in the same run. Goals: resident memory at the end
 * within 10% of what it was after warm-up (no leak), throughput of the last minute at least 0.8 ×
 * the first after warm-up (no slow decay), no unexpected answer, the ledger exact afterwards.
 */
import type { BenchReport, BenchResult } from '../run.ts';
import { runSoak, type SoakResult } from './soak.ts';

const seconds = Number(process.env.SOAK_SECONDS ?? 600);
const stores = (process.env.SOAK_STORES ?? 'sqlite,postgres').split(',') as ('sqlite' | 'postgres')[];
const log = (line: string) => process.stderr.write(`  [soak] ${line}\n`);

function result(
  label: string,
  value: number,
  unit: string,
  baselineLabel: string,
  baselineValue: number,
  goal: string,
  met: boolean,
): BenchResult {
  return {
    label,
    value,
    unit,
    baseline_label: baselineLabel,
    baseline_value: baselineValue,
    ratio: baselineValue === 0 ? 0 : value / baselineValue,
    goal,
    met,
  };
}

/** Mean of a figure over the windows in [fromS, toS). */
function mean(
  r: SoakResult,
  pick: (w: SoakResult['windows'][number]) => number,
  fromS: number,
  toS: number,
): number {
  const ws = r.windows.filter((w) => w.atS > fromS && w.atS <= toS);
  return ws.length === 0 ? 0 : ws.reduce((s, w) => s + pick(w), 0) / ws.length;
}

const results: BenchResult[] = [];
const notes: string[] = [];
for (const store of stores) {
  const r = await runSoak({ store, seconds, log });
  const warm = r.windows.find((w) => w.atS > Math.min(60, seconds / 3))!.atS;
  const firstMinute = mean(r, (w) => w.requestsPerS, warm - 10, warm + 50);
  const lastMinute = mean(r, (w) => w.requestsPerS, seconds - 60, seconds);
  const firstP99 = mean(r, (w) => w.p99Ms, warm - 10, warm + 50);
  const lastP99 = mean(r, (w) => w.p99Ms, seconds - 60, seconds);
  const clean =
    r.counts.unexpected === 0 && r.check.problems.length === 0 && r.drainLeft === 0 && r.shutdown.code === 0;
  results.push(
    result(
      `${store}: resident memory at the end`,
      r.rssEndMiB,
      'MiB',
      'RSS after warm-up',
      r.rssAfterWarmupMiB,
      'end ≤ 1.1 × after warm-up',
      r.rssEndMiB <= 1.1 * r.rssAfterWarmupMiB,
    ),
    result(
      `${store}: acknowledged requests, last minute`,
      lastMinute,
      'req/s',
      'first minute after warm-up',
      firstMinute,
      '≥ 0.8 × first minute',
      lastMinute >= 0.8 * firstMinute,
    ),
    result(
      `${store}: p99 latency, last minute (mean of 10 s windows)`,
      lastP99,
      'ms',
      'first minute after warm-up',
      firstP99,
      'none (shown)',
      true,
    ),
    result(
      `${store}: unexpected answers; ledger problems`,
      r.counts.unexpected + r.check.problems.length,
      'count',
      'acknowledged records checked',
      r.check.acknowledgedRecords,
      '0, verify clean, SIGTERM exit 0',
      clean,
    ),
  );
  const sent = Object.values(r.counts.sent).reduce((s, n) => s + n, 0);
  notes.push(
    `${store}: ${seconds} s, ${r.windows.length} windows of 10 s; ${sent.toLocaleString('en-US')} requests (${Object.entries(
      r.counts.acknowledged,
    )
      .map(([k, n]) => `${k} ${n.toLocaleString('en-US')}`)
      .join(', ')}); mean ${r.requestsPerS} req/s after warm-up, p99 over the run ${r.p99Ms} ms; ` +
      `RSS after warm-up ${r.rssAfterWarmupMiB} MiB, max ${r.rssMaxMiB}, end ${r.rssEndMiB}, slope ${r.rssSlopeMiBPerMin} MiB/min; ` +
      `${r.jumps.length} test-clock jumps of 35 days (pause + sweep: ${r.jumps.map((j) => j.ms).join(', ')} ms); ` +
      `unexpected ${r.counts.unexpected}, 503 ${r.counts.unavailable503}, no answer ${r.counts.noAnswer}, refused ${r.counts.refused}; ` +
      `after SIGTERM (exit ${r.shutdown.code}): ${r.check.acknowledgedRecords.toLocaleString('en-US')} acknowledged records each booked once, ` +
      `verify ${r.check.verify.problems.length === 0 ? 'clean' : `${r.check.verify.problems.length} problems`} over ${r.check.verify.accounts} accounts and ${r.check.postings.toLocaleString('en-US')} postings.`,
  );
  const perMinute: string[] = [];
  for (let t = 60; t <= seconds; t += 60) {
    perMinute.push(
      `${t / 60}′ ${Math.round(mean(r, (w) => w.requestsPerS, t - 60, t))} req/s, p99 ${Math.round(mean(r, (w) => w.p99Ms, t - 60, t))} ms, RSS ${Math.round(mean(r, (w) => w.rssMiB, t - 60, t))} MiB`,
    );
  }
  notes.push(`${store}, per minute (means of the 10 s samples): ${perMinute.join('; ')}.`);
}
notes.push(
  "Setup per store: 200 max_20x accounts, claimed, usage credits on without a limit; 32 client workers (one request at a time each) in the bench process, server in its own process (`creditpool serve --test-clock`, SQLite WAL synchronous=FULL, or PostgreSQL on this machine), all sharing the machine's cores. Mix: 40% usage batches of 20 records, 35% authorize with a hold then settle (3 in 4) or void, 15% authorize without a hold, 10% reads (account, statement, entries). Every 60 s the clients pause and the test clock jumps 35 days (every cycle closes and a new one is granted).",
);

const report: BenchReport = {
  name: 'soak',
  title: 'a long mixed-load run per store: memory, throughput and p99 over time',
  command: 'npm run bench -- soak',
  results,
  notes,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
