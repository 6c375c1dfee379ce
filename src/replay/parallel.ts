/**
 * The replay's worker threads: a pool that first shares the transcript scan (each thread reads a
 * contiguous range of the files, `scanTranscriptPart`; the main thread merges the parts) and then
 * replays the plans, one engine per plan (`replayPlan`), so `--plan all` costs about
 * max(plans ÷ workers) engines of wall time instead of seven.
 *
 * The pool is started before anything is read, so that starting the threads and loading their
 * modules overlaps the main thread's own start. A thread loads only the scanner until it is given
 * records; the engine's modules load while the main thread merges the scan. The records are read
 * once and handed to every thread as one JSON string (a string crosses threads as one copy; a
 * structured clone of 100,000 small objects costs several times its JSON).
 *
 * A worker cannot receive the catalogues object (it holds compiled functions and caches), so it
 * builds its own from the same source: the defaults, with the price catalogue file the main
 * thread used (`CREDITPOOL_PRICES`) when there is one.
 */
import { getCompileCacheDir } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { ScanOptions, TranscriptScanPart } from '../adapters/ingest/claude-code/scan.ts';
import type { PlanReplay } from './engine.ts';
import type { ReplayRecord } from './inputs.ts';

export interface PlanRunOptions {
  plans: readonly string[];
  anchor: number;
  claimedAt: number;
  usageCredits: boolean;
  usageCreditLimitUnits: bigint | null;
  onProgress?: (plan: string, booked: number) => void;
}

export interface ParallelOptions extends PlanRunOptions {
  /** The price catalogue file (`CREDITPOOL_PRICES`); null = the default catalogue. */
  pricesFile: string | null;
  workers: number;
}

/** What a worker is given when it starts. */
export interface WorkerSetup {
  pricesFile: string | null;
  /** The main thread's compile cache (`node:module`), which threads do not inherit; null = none. */
  compileCacheDir: string | null;
}

export type WorkerRequest =
  | { type: 'scan'; files: readonly string[]; first: number; end: number; options: ScanOptions }
  | {
      type: 'records';
      recordsJson: string;
      anchor: number;
      claimedAt: number;
      usageCredits: boolean;
      /** A bigint does not survive JSON; it does survive structured clone, but requests stay plain. */
      usageCreditLimitUnits: string | null;
    }
  | { type: 'plan'; plan: string };

export type WorkerReply =
  | { type: 'scanning'; linesRead: number }
  /** The part as JSON: parsing it costs less than a structured clone of its objects. */
  | { type: 'scanned'; partJson: string }
  | { type: 'progress'; plan: string; booked: number }
  | { type: 'done'; plan: string; result: PlanReplay }
  | { type: 'failed'; message: string };

interface Task {
  request: WorkerRequest;
  onReply(reply: WorkerReply): 'finished' | 'pending';
  reject(error: Error): void;
}

/**
 * Worker threads, each doing one task at a time: a range of the scan, or a plan. A worker's error
 * (or exit) fails the task it was doing, and every later one: the pool is then unusable.
 *
 * @example
 * const pool = new ReplayPool(2, null);
 * try { … await pool.scanPart(files, 0, 10, {}) … await pool.replayPlans(records, options) }
 * finally { await pool.close(); }
 */
export class ReplayPool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Task>();
  private readonly queue: Task[] = [];
  private failure: Error | null = null;
  private closing: Promise<void> | null = null;

  constructor(size: number, pricesFile: string | null) {
    this.size = Math.max(1, size);
    const setup: WorkerSetup = { pricesFile, compileCacheDir: getCompileCacheDir() ?? null };
    for (let i = 0; i < this.size; i += 1) {
      const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: setup });
      this.workers.push(worker);
      this.idle.push(worker);
      worker.on('message', (reply: WorkerReply) => this.onReply(worker, reply));
      worker.on('error', (error) => this.fail(error));
      worker.on('exit', (code) => {
        if (code !== 0) this.fail(new Error(`a replay worker exited with code ${code}`));
      });
    }
  }

  /** Reads `files[first..end)` on a free thread (`scanTranscriptPart`). */
  scanPart(
    files: readonly string[],
    first: number,
    end: number,
    options: ScanOptions,
    onLines?: (linesRead: number) => void,
  ): Promise<TranscriptScanPart> {
    return new Promise((resolve, reject) => {
      this.run({
        request: { type: 'scan', files, first, end, options },
        onReply: (reply) => {
          if (reply.type === 'scanning') {
            onLines?.(reply.linesRead);
            return 'pending';
          }
          if (reply.type !== 'scanned') throw new Error(`replay worker: unexpected ${reply.type}`);
          resolve(JSON.parse(reply.partJson) as TranscriptScanPart);
          return 'finished';
        },
        reject,
      });
    });
  }

  /**
   * Replays every plan of `options.plans` on the pool; results come back in the order of
   * `options.plans`. Every thread is given the records first (one JSON string for all).
   */
  async replayPlans(records: readonly ReplayRecord[], options: PlanRunOptions): Promise<PlanReplay[]> {
    if (this.failure) throw this.failure;
    const recordsRequest: Extract<WorkerRequest, { type: 'records' }> = {
      type: 'records',
      recordsJson: JSON.stringify(records),
      anchor: options.anchor,
      claimedAt: options.claimedAt,
      usageCredits: options.usageCredits,
      usageCreditLimitUnits:
        options.usageCreditLimitUnits === null ? null : String(options.usageCreditLimitUnits),
    };
    // Messages to one thread arrive in order: each has the records before its first plan.
    for (const worker of this.workers) worker.postMessage(recordsRequest);
    // Each thread has its copy: this one need not hold the text through the replay.
    recordsRequest.recordsJson = '';
    return Promise.all(
      options.plans.map(
        (plan) =>
          new Promise<PlanReplay>((resolve, reject) => {
            this.run({
              request: { type: 'plan', plan },
              onReply: (reply) => {
                if (reply.type === 'progress') {
                  options.onProgress?.(reply.plan, reply.booked);
                  return 'pending';
                }
                if (reply.type !== 'done') throw new Error(`replay worker: unexpected ${reply.type}`);
                resolve(reply.result);
                return 'finished';
              },
              reject,
            });
          }),
      ),
    );
  }

  /** Stops every thread; safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= Promise.all(this.workers.map((w) => w.terminate())).then(() => undefined);
    return this.closing;
  }

  private run(task: Task): void {
    if (this.failure) {
      task.reject(this.failure);
      return;
    }
    this.queue.push(task);
    this.dispatch();
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.shift()!;
      const task = this.queue.shift()!;
      this.busy.set(worker, task);
      worker.postMessage(task.request);
    }
  }

  private onReply(worker: Worker, reply: WorkerReply): void {
    const task = this.busy.get(worker);
    if (!task) return;
    if (reply.type === 'failed') {
      this.fail(new Error(`replay worker failed: ${reply.message}`));
      return;
    }
    let state: 'finished' | 'pending';
    try {
      state = task.onReply(reply);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (state === 'finished') {
      this.busy.delete(worker);
      this.idle.push(worker);
      this.dispatch();
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const task of this.busy.values()) task.reject(error);
    for (const task of this.queue) task.reject(error);
    this.busy.clear();
    this.queue.length = 0;
  }
}

/**
 * Replays every plan of `options.plans` on a pool of `options.workers` threads (at most one per
 * plan); results come back in the order of `options.plans`. A worker's error rejects the whole run.
 */
export async function replayPlansInWorkers(
  records: readonly ReplayRecord[],
  options: ParallelOptions,
): Promise<PlanReplay[]> {
  const pool = new ReplayPool(Math.min(options.workers, options.plans.length), options.pricesFile);
  try {
    return await pool.replayPlans(records, options);
  } finally {
    await pool.close();
  }
}
