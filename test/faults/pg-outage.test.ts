/**
 * PostgreSQL stopped and restarted under load, twice: a fast shutdown (sessions terminated, 57P01)
 * and an immediate one (a crash: PostgreSQL replays its WAL at the next start). While it is down,
 * every request the server answers is a 200 (a read or decision that needed no database) or a 503
 * `unavailable` with `Retry-After`: never a 500, never a dropped connection, never a hang; `/healthz`
 * answers 503. When it is back, the server resumes by itself (no restart): `/healthz` 200 and
 * writes go through. The clients re-send what was not acknowledged (same ids) and afterwards every
 * acknowledged record is booked exactly once, and `verifyLedger` is clean: nothing half-written.
 *
 * The PostgreSQL here is a private cluster (`startPrivateCluster`): the shared one serves the other
 * test files CI runs at the same time, and stopping it would fail them. It is always destroyed in
 * `finally`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunningServer } from '../support/cli.ts';
import type { HttpAnswer } from './support/http.ts';
import { checkLedger } from './support/ledger-check.ts';
import { type PrivateCluster, startPrivateCluster } from './support/pg.ts';
import { adminToken, setupAccounts, startServe, waitHealthy } from './support/servers.ts';
import { Workload } from './support/workload.ts';

/** How long the database stays down in each outage: short, but long enough for many requests. */
const outageMs = 3_000;
/** The server must be healthy again this soon after PostgreSQL accepts connections. */
const recoveryBoundMs = 15_000;
/** No answer may take longer than this while the database is down (connect timeouts included). */
const answerBoundMs = 8_000;

type Phase = 'before' | 'down' | 'recovering' | 'after';

interface PhaseFigures {
  answers: number;
  byStatus: Record<string, number>;
  maxMs: number;
  bad: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('faults: PostgreSQL stopped and restarted under load', () => {
  it('503 unavailable while down, resumes by itself, nothing half-written', async (t) => {
    let cluster: PrivateCluster | null = null;
    let server: RunningServer | null = null;
    let workload: Workload | null = null;
    try {
      cluster = await startPrivateCluster();
      server = await startServe({ kind: 'postgres', url: cluster.url });
      const runId = 'pgout';
      const accounts = Array.from({ length: 10 }, (_, i) => `acct_${runId}_${i}`);
      let phase: Phase = 'before';
      let outageLabel = 'fast';
      const figures = new Map<string, PhaseFigures>();
      const note = (key: string, answer: HttpAnswer, what = 'GET /healthz') => {
        let f = figures.get(key);
        if (!f) {
          f = { answers: 0, byStatus: {}, maxMs: 0, bad: [] };
          figures.set(key, f);
        }
        f.answers += 1;
        const status = answer.status === 503 ? `503 ${answer.json?.code}` : String(answer.status);
        f.byStatus[status] = (f.byStatus[status] ?? 0) + 1;
        f.maxMs = Math.max(f.maxMs, Math.round(answer.ms));
        const retryable =
          answer.status === 503 &&
          answer.json?.code === 'unavailable' &&
          answer.headers['retry-after'] === '1';
        if (answer.status !== 200 && !retryable && f.bad.length < 5)
          f.bad.push(
            `${what}: ${answer.status} ${answer.error ?? answer.text.slice(0, 200)} after ${Math.round(answer.ms)} ms`,
          );
        if (answer.ms >= answerBoundMs && f.bad.length < 5)
          f.bad.push(`${what}: ${answer.status} after ${Math.round(answer.ms)} ms`);
      };
      workload = new Workload(server.url, adminToken, {
        accounts,
        workers: 8,
        seed: 0x0a7,
        runId,
        batch: 10,
        occurredAt: () => new Date().toISOString(),
        retryDelayMs: 100,
        requestTimeoutMs: 60_000,
        onAnswer: (_kind, answer, _ok, op) =>
          note(`${outageLabel} ${phase}`, answer, `${op.method} ${op.path}`),
      });
      await setupAccounts(workload.client, accounts);
      workload.start();
      const recoveries: Record<string, number> = {};
      for (const mode of ['fast', 'immediate'] as const) {
        outageLabel = mode;
        phase = 'before';
        await sleep(1_500);
        cluster.stop(mode);
        phase = 'down';
        const downStarted = Date.now();
        while (Date.now() - downStarted < outageMs) {
          note(`${mode} healthz-down`, await workload.client.call('GET', '/healthz'));
          await sleep(250);
        }
        cluster.start();
        phase = 'recovering';
        recoveries[mode] = await waitHealthy(workload.client, recoveryBoundMs);
        phase = 'after';
        await sleep(2_000);
      }
      await workload.stop();
      const drainLeft = await workload.drain(30_000);
      const shutdown = await server.stop(15_000);
      const check = await checkLedger({ kind: 'postgres', url: cluster.url }, workload, runId);

      for (const [key, f] of figures) {
        t.diagnostic(
          `${key}: ${f.answers} answers ${JSON.stringify(f.byStatus)}, slowest ${f.maxMs} ms${f.bad.length ? `, bad: ${f.bad.join(' | ')}` : ''}`,
        );
      }
      const c = workload.counts;
      t.diagnostic(
        `recovered (healthz 200) ${recoveries.fast} ms after a fast restart, ${recoveries.immediate} ms after an immediate one; ` +
          `${c.unavailable503} answers 503 unavailable, ${c.noAnswer} without an answer, ${c.resentAcknowledged} acknowledged on a re-send ` +
          `(records: ${c.resentRecordsReplayed} replayed, ${c.resentRecordsRecorded} recorded); final: ${check.acknowledgedRecords} acknowledged records ` +
          `booked once each, ${check.holdsChecked} holds, ${check.postings} postings, verify ${check.verify.problems.length === 0 ? 'clean' : 'NOT clean'}; SIGTERM exit ${shutdown.code}`,
      );

      // While down: only 200s and retryable 503s, the server itself never dropped a connection.
      for (const [key, f] of figures) assert.deepEqual(f.bad, [], `${key}: not a clean failure`);
      for (const mode of ['fast', 'immediate']) {
        const down = figures.get(`${mode} down`);
        assert.ok(down && (down.byStatus['503 unavailable'] ?? 0) > 0, `${mode}: no request saw the outage`);
        assert.ok(down.maxMs < answerBoundMs, `${mode}: an answer took ${down.maxMs} ms while down`);
        const health = figures.get(`${mode} healthz-down`)!;
        assert.ok((health.byStatus['503 unavailable'] ?? 0) > 0, `${mode}: /healthz never said 503`);
        // Once healthy again, writes went through: the last phase has acknowledged writes and no failure.
        const after = figures.get(`${mode} after`)!;
        assert.ok((after.byStatus['200'] ?? 0) > 10, `${mode}: nothing acknowledged after recovery`);
      }
      assert.equal(c.noAnswer, 0, 'the server dropped connections');
      assert.equal(c.unexpected, 0, c.unexpectedSamples.join('\n'));
      assert.equal(c.refused, 0, c.refusedSamples.join('\n'));
      assert.equal(drainLeft, 0);
      assert.deepEqual(shutdown, { code: 0, signal: null });
      assert.deepEqual(check.problems, []);
      assert.equal(check.unacknowledgedRecords, 0);
      assert.ok(check.acknowledgedRecords > 100);
    } finally {
      await workload?.stop();
      workload?.client.close();
      await server?.stop(2_000);
      cluster?.destroy();
    }
  });
});
