/**
 * The soak: a long mixed-load run against the real server (`creditpool serve --test-clock`),
 * sampled every window (10 s): acknowledged requests per second, p99 latency of every answer in
 * the window, and the server's resident memory (VmRSS from /proc/<pid>/status). Every
 * `jumpEveryS` the clients pause and the test clock jumps 35 days ahead (every account's cycle
 * closes, expires, and a new one is granted, by the sweep the jump runs), then the load resumes.
 *
 * The load is `Workload` (test/faults/support): authorize with and without holds, settle, void,
 * usage batches with client-chosen ids, account/statement/entry reads. At the end the clients
 * stop, anything unacknowledged is sent again, the server gets SIGTERM (exit 0), and the ledger
 * is checked: every acknowledged record booked exactly once, and `verifyLedger` clean.
 *
 * Used by `bench/soak/main.ts` (600 s per store, BENCHMARKS.md) and `test/faults/soak.test.ts`
 * (60 s, SQLite, in CI).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CheckResult, checkLedger, type Target } from '../../test/faults/support/ledger-check.ts';
import { createDatabase } from '../../test/faults/support/pg.ts';
import { adminToken, setupAccounts, startServe } from '../../test/faults/support/servers.ts';
import { type OpKind, Workload, type WorkloadCounts } from '../../test/faults/support/workload.ts';
import type { RunningServer } from '../../test/support/cli.ts';

export interface SoakOptions {
  store: 'sqlite' | 'postgres';
  seconds: number;
  windowS?: number;
  /** Windows before this are warm-up: memory growth is measured from the first window after it. */
  warmupS?: number;
  jumpEveryS?: number;
  accounts?: number;
  workers?: number;
  batch?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface SoakWindow {
  /** Seconds since the load started, at the end of the window. */
  atS: number;
  requestsPerS: number;
  /** Records booked per second (usage batches and settles). */
  recordsPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  rssMiB: number;
  /** The machine's 1-minute load average at the sample: a shared machine's noise, made visible. */
  loadAvg1: number;
  /** Answers that were neither acknowledgements nor 503/no answer. */
  unexpected: number;
  unacknowledged: number;
  jumps: number;
}

export interface SoakResult {
  store: 'sqlite' | 'postgres';
  seconds: number;
  windows: SoakWindow[];
  jumps: { atS: number; ms: number; to: string }[];
  counts: WorkloadCounts;
  check: CheckResult;
  shutdown: { code: number | null; signal: NodeJS.Signals | null };
  drainLeft: number;
  /** Mean over the windows after warm-up. */
  requestsPerS: number;
  /** p99 of every answer after warm-up. */
  p99Ms: number;
  rssAfterWarmupMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  /** Least-squares slope of RSS over the windows after warm-up. */
  rssSlopeMiBPerMin: number;
  setupMs: number;
}

/** The server process's resident set, from /proc (Linux). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1] ?? Number.NaN);
  return kib / 1024;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function slope(points: readonly [number, number][]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? (() => {});
  const windowS = o.windowS ?? 10;
  const warmupS = o.warmupS ?? Math.min(60, o.seconds / 3);
  const jumpEveryS = o.jumpEveryS ?? 60;
  const accountCount = o.accounts ?? 200;
  const seed = o.seed ?? 0x50a4;
  const runId = `soak${seed.toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), 'creditpool-soak-'));
  const database = o.store === 'postgres' ? await createDatabase('cp_soak') : null;
  const target: Target =
    o.store === 'sqlite'
      ? { kind: 'sqlite', path: join(dir, 'soak.db') }
      : { kind: 'postgres', url: database!.url };
  let server: RunningServer | null = null;
  let workload: Workload | null = null;
  try {
    server = await startServe(target, ['--test-clock']);
    const pid = server.child.pid!;
    let clock = '';
    const accounts = Array.from({ length: accountCount }, (_, i) => `acct_${runId}_${i}`);
    // Latencies and counts of the current window, swapped out at each sample.
    let latencies: number[] = [];
    const all: number[] = [];
    let acknowledged = 0;
    let records = 0;
    let unexpected = 0;
    let unacknowledged = 0;
    let measuring = false;
    const onAnswer = (kind: OpKind, answer: { ms: number; status: number }, ok: boolean) => {
      latencies.push(answer.ms);
      if (measuring) all.push(answer.ms);
      if (ok) {
        acknowledged += 1;
        if (kind === 'usage') records += o.batch ?? 20;
        if (kind === 'settle') records += 1;
      } else if (answer.status === 0 || answer.status === 503) {
        unacknowledged += 1;
      } else {
        unexpected += 1;
      }
    };
    workload = new Workload(server.url, adminToken, {
      accounts,
      workers: o.workers ?? 32,
      seed,
      runId,
      batch: o.batch ?? 20,
      occurredAt: () => clock,
      onAnswer,
    });
    const clockAnswer = await workload.client.call('GET', '/v1/test-clock');
    clock = clockAnswer.json.now;
    const setupStarted = Date.now();
    await setupAccounts(workload.client, accounts);
    const setupMs = Date.now() - setupStarted;
    log(`${o.store}: ${accountCount} accounts set up in ${setupMs} ms; load for ${o.seconds} s`);

    const windows: SoakWindow[] = [];
    const jumps: SoakResult['jumps'] = [];
    const started = Date.now();
    const elapsedS = () => (Date.now() - started) / 1000;
    workload.start();
    let nextJumpS = jumpEveryS;
    let windowJumps = 0;
    for (let w = 1; w * windowS <= o.seconds; w++) {
      // Jumps fall inside windows; the window's figures include the pause and the sweep.
      while (elapsedS() < w * windowS) {
        const wait = Math.min(w * windowS, nextJumpS) - elapsedS();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait * 1000));
        if (elapsedS() >= nextJumpS && nextJumpS < o.seconds) {
          const jumpStarted = Date.now();
          await workload.pause();
          const to = new Date(Date.parse(clock) + 35 * 86_400_000).toISOString();
          const answer = await workload.client.call('POST', '/v1/test-clock', { now: to });
          if (answer.status !== 200) throw new Error(`test-clock jump: ${answer.status} ${answer.text}`);
          clock = answer.json.now;
          workload.resume();
          jumps.push({ atS: round(elapsedS()), ms: Date.now() - jumpStarted, to: clock });
          windowJumps += 1;
          nextJumpS += jumpEveryS;
        }
      }
      measuring = w * windowS > warmupS;
      const sorted = latencies.sort((a, b) => a - b);
      const sample: SoakWindow = {
        atS: w * windowS,
        requestsPerS: round(acknowledged / windowS),
        recordsPerS: round(records / windowS),
        p50Ms: round(percentile(sorted, 50)),
        p99Ms: round(percentile(sorted, 99)),
        maxMs: round(sorted[sorted.length - 1] ?? 0),
        rssMiB: round(rssMiB(pid)),
        loadAvg1: round(loadavg()[0] ?? 0),
        unexpected,
        unacknowledged,
        jumps: windowJumps,
      };
      windows.push(sample);
      log(
        `${o.store} t=${sample.atS}s: ${sample.requestsPerS} req/s, ${sample.recordsPerS} records/s, ` +
          `p50 ${sample.p50Ms} p99 ${sample.p99Ms} max ${sample.maxMs} ms, RSS ${sample.rssMiB} MiB, load ${sample.loadAvg1}` +
          `${windowJumps ? `, ${windowJumps} clock jump(s)` : ''}${unexpected ? `, ${unexpected} unexpected` : ''}`,
      );
      latencies = [];
      acknowledged = 0;
      records = 0;
      unexpected = 0;
      unacknowledged = 0;
      windowJumps = 0;
    }
    await workload.stop();
    const drainLeft = await workload.drain(30_000);
    const shutdown = await server.stop(10_000);
    const check = await checkLedger(target, workload, runId);
    const after = windows.filter((w) => w.atS > warmupS);
    const allSorted = all.sort((a, b) => a - b);
    return {
      store: o.store,
      seconds: o.seconds,
      windows,
      jumps,
      counts: workload.counts,
      check,
      shutdown,
      drainLeft,
      requestsPerS: round(after.reduce((s, w) => s + w.requestsPerS, 0) / Math.max(1, after.length)),
      p99Ms: round(percentile(allSorted, 99)),
      rssAfterWarmupMiB: after[0]?.rssMiB ?? Number.NaN,
      rssEndMiB: windows[windows.length - 1]?.rssMiB ?? Number.NaN,
      rssMaxMiB: Math.max(...after.map((w) => w.rssMiB)),
      rssSlopeMiBPerMin: round(slope(after.map((w) => [w.atS / 60, w.rssMiB])), 2),
      setupMs,
    };
  } finally {
    await workload?.stop();
    workload?.client.close();
    await server?.stop(2_000);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
