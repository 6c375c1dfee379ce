/**
 * Plans replayed in parallel: one engine per plan, each plan in a worker thread (a pool of up to
 * one worker per core), so `--plan all` costs about max(plans ÷ workers) engines of wall time
 * instead of seven. Each plan's engine is exactly the in-process one (`replayPlan`); the records
 * are read once, in the main thread, and handed to every worker as one JSON string.
 *
 * A worker cannot receive the catalogues object (it holds compiled functions and caches), so it
 * builds its own from the same source: the defaults, with the price catalogue file the main
 * thread used (`CREDITPOOL_PRICES`) when there is one.
 */
import { Worker } from 'node:worker_threads';
import type { PlanReplay } from './engine.ts';
import type { ReplayRecord } from './inputs.ts';

export interface ParallelOptions {
  plans: readonly string[];
  anchor: number;
  claimedAt: number;
  usageCredits: boolean;
  usageCreditLimitUnits: bigint | null;
  /** The price catalogue file (`CREDITPOOL_PRICES`); null = the default catalogue. */
  pricesFile: string | null;
  workers: number;
  onProgress?: (plan: string, booked: number) => void;
}

/** What the main thread sends a worker once: everything but the plan. */
export interface WorkerSetup {
  recordsJson: string;
  anchor: number;
  claimedAt: number;
  usageCredits: boolean;
  /** A bigint does not survive JSON; it does survive structured clone, but the setup stays plain. */
  usageCreditLimitUnits: string | null;
  pricesFile: string | null;
}

export type WorkerRequest = { type: 'plan'; plan: string } | { type: 'stop' };
export type WorkerReply =
  | { type: 'progress'; plan: string; booked: number }
  | { type: 'done'; plan: string; result: PlanReplay }
  | { type: 'failed'; plan: string; message: string };

/**
 * Replays every plan of `options.plans` on a pool of `options.workers` threads; results come back
 * in the order of `options.plans`. A worker's error rejects the whole run (and stops the pool).
 */
export async function replayPlansInWorkers(
  records: readonly ReplayRecord[],
  options: ParallelOptions,
): Promise<PlanReplay[]> {
  const setup: WorkerSetup = {
    recordsJson: JSON.stringify(records),
    anchor: options.anchor,
    claimedAt: options.claimedAt,
    usageCredits: options.usageCredits,
    usageCreditLimitUnits:
      options.usageCreditLimitUnits === null ? null : String(options.usageCreditLimitUnits),
    pricesFile: options.pricesFile,
  };
  const results = new Map<string, PlanReplay>();
  const queue = [...options.plans];
  const poolSize = Math.max(1, Math.min(options.workers, queue.length));
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let running = 0;
      let failed = false;
      const fail = (error: Error) => {
        if (failed) return;
        failed = true;
        reject(error);
      };
      const next = (worker: Worker) => {
        const plan = queue.shift();
        if (plan === undefined) {
          worker.postMessage({ type: 'stop' } satisfies WorkerRequest);
          running -= 1;
          if (running === 0 && !failed) resolve();
          return;
        }
        worker.postMessage({ type: 'plan', plan } satisfies WorkerRequest);
      };
      for (let i = 0; i < poolSize; i += 1) {
        const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: setup });
        workers.push(worker);
        running += 1;
        worker.on('message', (reply: WorkerReply) => {
          if (reply.type === 'progress') options.onProgress?.(reply.plan, reply.booked);
          else if (reply.type === 'failed')
            fail(new Error(`replay of ${reply.plan} failed: ${reply.message}`));
          else {
            results.set(reply.plan, reply.result);
            next(worker);
          }
        });
        worker.on('error', fail);
        worker.on('exit', (code) => {
          if (code !== 0) fail(new Error(`a replay worker exited with code ${code}`));
        });
        next(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return options.plans.map((plan) => {
    const result = results.get(plan);
    if (!result) throw new Error(`replay: no result for ${plan}`);
    return result;
  });
}
