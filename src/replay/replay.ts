/**
 * `runReplay`: reads the inputs once, replays them through one engine per plan, and builds the
 * report. The CLI (`src/cli/commands/replay.ts`) parses flags and prints; this is the whole job.
 */
import type { Catalogues } from '../app/index.ts';
import { sdkCreditEffectiveFrom } from '../core/policy.ts';
import { type Instant, msPerDay } from '../core/time.ts';
import { type PlanReplay, replayPlan } from './engine.ts';
import { type ReplayInput, type ReplayRecord, readReplayInputs } from './inputs.ts';
import { ReplayPool } from './parallel.ts';
import { buildReport, type ReplayReport } from './report.ts';

export interface ReplayOptions {
  plans: readonly string[];
  usageCredits: boolean;
  usageCreditLimitUnits: bigint | null;
  /** Default: midnight UTC of the first record's day. */
  anchor: Instant | null;
  /** Default: the policy's effective instant (2026-06-15T00:00:00Z). */
  claimedAt: Instant | null;
  since: Instant | null;
  until: Instant | null;
  catalogues: Catalogues;
  progress?: ReplayProgress;
  /**
   * Reads transcripts and replays plans in worker threads (`parallel.ts`), `workers` at a time.
   * The workers build their catalogues from the defaults and `pricesFile`, which must be where
   * `catalogues` came from. One plan is replayed in this thread, on `catalogues`, after a shared
   * scan. Absent (or one worker): everything runs in this thread.
   */
  parallel?: { workers: number; pricesFile: string | null };
}

/** What a progress display is told; every call is cheap and optional. */
export interface ReplayProgress {
  reading(linesRead: number, files: number): void;
  booking(plan: string, booked: number, total: number): void;
  done(): void;
}

/**
 * The anchor when none is given: midnight UTC of the first record's day, so the first cycle starts
 * with the history. A real subscription's anchor is its purchase date; `--anchor` sets it.
 */
export function defaultAnchor(records: readonly ReplayRecord[], fallback: Instant): Instant {
  const first = records[0];
  const at = first === undefined ? fallback : first.at;
  return at - (at % msPerDay);
}

/** Replays already-read records for each plan, one engine after another, in this thread. */
export async function replayPlans(
  records: readonly ReplayRecord[],
  options: ReplayOptions & { anchor: Instant; claimedAt: Instant },
): Promise<PlanReplay[]> {
  const results: PlanReplay[] = [];
  for (const plan of options.plans) {
    results.push(
      await replayPlan(records, {
        plan,
        anchor: options.anchor,
        claimedAt: options.claimedAt,
        usageCredits: options.usageCredits,
        usageCreditLimitUnits: options.usageCreditLimitUnits,
        catalogues: options.catalogues,
        onProgress: (booked) => options.progress?.booking(plan, booked, records.length),
      }),
    );
  }
  return results;
}

export interface ReplayRun {
  input: ReplayInput;
  plans: PlanReplay[];
  report: ReplayReport;
}

/**
 * Reads `paths` and replays them for every plan in `options.plans`.
 *
 * @example
 * const { report } = await runReplay(['~/.claude/projects'], { plans: ['pro'], usageCredits: true, … });
 */
export async function runReplay(paths: readonly string[], options: ReplayOptions): Promise<ReplayRun> {
  const parallel = options.parallel;
  // Started first: the threads load their modules while this one lists the files.
  const pool =
    parallel !== undefined && parallel.workers > 1
      ? new ReplayPool(
          // Threads read the scan's ranges, then replay at most one plan each.
          options.plans.length > 1 ? Math.min(parallel.workers, options.plans.length) : parallel.workers,
          parallel.pricesFile,
        )
      : null;
  try {
    const input = await readReplayInputs(paths, {
      since: options.since,
      until: options.until,
      onLines: (lines, files) => options.progress?.reading(lines, files),
      ...(pool === null
        ? {}
        : {
            parallelScan: {
              parts: pool.size,
              scan: (files, first, end, onLines) => pool.scanPart(files, first, end, {}, onLines),
            },
          }),
    });
    const claimedAt = options.claimedAt ?? sdkCreditEffectiveFrom;
    const anchor = options.anchor ?? defaultAnchor(input.records, claimedAt);
    let plans: PlanReplay[];
    if (pool !== null && options.plans.length > 1 && input.records.length > 0) {
      plans = await pool.replayPlans(input.records, {
        plans: options.plans,
        anchor,
        claimedAt,
        usageCredits: options.usageCredits,
        usageCreditLimitUnits: options.usageCreditLimitUnits,
        onProgress: (plan, booked) => options.progress?.booking(plan, booked, input.records.length),
      });
    } else {
      // One plan: booked here, where the engine is loaded already (no copy of the records).
      void pool?.close();
      plans = await replayPlans(input.records, { ...options, anchor, claimedAt });
    }
    options.progress?.done();
    const report = buildReport(input, plans, {
      anchor,
      claimedAt,
      usageCredits: options.usageCredits,
      usageCreditLimitUnits: options.usageCreditLimitUnits,
      since: options.since,
      until: options.until,
      catalogues: options.catalogues,
    });
    return { input, plans, report };
  } finally {
    await pool?.close();
  }
}
