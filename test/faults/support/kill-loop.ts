/**
 * The kill -9 loop shared by the SQLite and PostgreSQL tests: a real `creditpool serve` under the
 * mixed load (`Workload`), killed with SIGKILL at a seeded random moment, restarted on the same
 * database, checked (`checkLedger`) while the clients wait, then the clients go on, re-sending
 * what was not acknowledged first. After the last cycle the clients stop, every request still
 * unacknowledged is sent until it is, the server gets SIGTERM (exit 0), and the ledger is checked
 * once more with everything acknowledged.
 */
import type { RunningServer } from '../../support/cli.ts';
import { type CheckResult, checkLedger, type Target } from './ledger-check.ts';
import { adminToken, kill9, setupAccounts, startServe } from './servers.ts';
import { prng, Workload } from './workload.ts';

export interface KillLoopOptions {
  target: Target;
  cycles: number;
  accounts: number;
  workers: number;
  batch: number;
  seed: number;
  /** Load before each kill, drawn uniformly from this range. */
  loadMs: [number, number];
  log?: (line: string) => void;
}

export interface CycleFigures {
  cycle: number;
  loadMs: number;
  /** Requests in flight (sent, not answered) when SIGKILL was sent. */
  inFlightAtKill: number;
  /** Requests the clients held unacknowledged once every worker had seen the failure. */
  unacknowledged: number;
  restartMs: number;
  check: Omit<CheckResult, 'verify' | 'problems'> & { problems: number };
}

export interface KillLoopResult {
  cycles: CycleFigures[];
  problems: string[];
  final: CheckResult;
  workload: Workload;
  shutdown: { code: number | null; signal: NodeJS.Signals | null };
  drainLeft: number;
  ms: number;
}

/** Bounds: a cycle that takes longer than this is stuck (restart, check, or drain). */
const restartTimeoutMs = 30_000;
const drainTimeoutMs = 30_000;

export async function runKillLoop(o: KillLoopOptions): Promise<KillLoopResult> {
  const started = Date.now();
  const log = o.log ?? (() => {});
  const random = prng(o.seed);
  const runId = `k${o.seed.toString(36)}`;
  const accounts = Array.from({ length: o.accounts }, (_, i) => `acct_${runId}_${i}`);
  let server: RunningServer = await startServe(o.target);
  const workload = new Workload(server.url, adminToken, {
    accounts,
    workers: o.workers,
    seed: o.seed,
    runId,
    batch: o.batch,
    occurredAt: () => new Date().toISOString(),
    retryDelayMs: 20,
  });
  const problems: string[] = [];
  const cycles: CycleFigures[] = [];
  try {
    await setupAccounts(workload.client, accounts);
    workload.start();
    for (let cycle = 1; cycle <= o.cycles; cycle++) {
      const loadMs = Math.round(o.loadMs[0] + random() * (o.loadMs[1] - o.loadMs[0]));
      await new Promise((resolve) => setTimeout(resolve, loadMs));
      const inFlightAtKill = workload.inFlight;
      await kill9(server);
      await workload.pause();
      const unacknowledged = workload.pendingOps().length;
      const restartStarted = Date.now();
      server = await withTimeout(startServe(o.target), restartTimeoutMs, 'restart');
      const restartMs = Date.now() - restartStarted;
      workload.client.base = server.url;
      workload.client.reset();
      const check = await checkLedger(o.target, workload, runId);
      for (const p of check.problems) problems.push(`cycle ${cycle}: ${p}`);
      const { verify: _verify, problems: found, ...figures } = check;
      cycles.push({
        cycle,
        loadMs,
        inFlightAtKill,
        unacknowledged,
        restartMs,
        check: { ...figures, problems: found.length },
      });
      log(
        `cycle ${cycle}: load ${loadMs} ms, in flight at kill ${inFlightAtKill}, unacknowledged ${unacknowledged}, ` +
          `restart ${restartMs} ms; acknowledged records ${check.acknowledgedRecords} booked once each, ` +
          `unacknowledged ${check.unacknowledgedRecords} (${check.unacknowledgedBooked} booked), ` +
          `${check.postings} postings, problems ${found.length}`,
      );
      workload.resume();
    }
    await workload.stop();
    const drainLeft = await workload.drain(drainTimeoutMs);
    const shutdown = await server.stop(10_000);
    const final = await checkLedger(o.target, workload, runId);
    for (const p of final.problems) problems.push(`final: ${p}`);
    return { cycles, problems, final, workload, shutdown, drainLeft, ms: Date.now() - started };
  } finally {
    await workload.stop();
    workload.client.close();
    await server.stop(2_000);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
