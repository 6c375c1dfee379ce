/**
 * kill -9 of a real `creditpool serve` on PostgreSQL under mixed load, 20 times (`kill-loop.ts`): after
 * each restart every record the clients saw acknowledged is in the journal exactly once, records
 * sent but unacknowledged at most once, holds as acknowledged, and `verifyLedger` clean; after the
 * last cycle every unacknowledged request is re-sent (same ids) and all of it is booked once.
 * Why it holds: an answer only after COMMIT returns, and PostgreSQL never keeps half a transaction;
 * the database is fresh (created and dropped by this test) on the shared local server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runKillLoop } from './support/kill-loop.ts';
import { createDatabase } from './support/pg.ts';
import { summarizeKillLoop } from './support/report.ts';

describe('faults: kill -9 under load, PostgreSQL', () => {
  it('20 kill/restart cycles: nothing acknowledged lost, nothing booked twice, verify clean', async (t) => {
    const database = await createDatabase('cp_kill9');
    let result: Awaited<ReturnType<typeof runKillLoop>>;
    try {
      result = await runKillLoop({
        target: { kind: 'postgres', url: database.url },
        cycles: 20,
        accounts: 20,
        workers: 16,
        batch: 20,
        seed: 0x5e2,
        // PostgreSQL answers more slowly than SQLite here: a little more load per cycle.
        loadMs: [300, 900],
        log: (line) => t.diagnostic(line),
      });
    } finally {
      await database.drop();
    }
    t.diagnostic(summarizeKillLoop('PostgreSQL', result));
    assert.deepEqual(result.problems, []);
    assert.equal(result.cycles.length, 20);
    // The kills landed under load: requests were in flight, and the clients held unanswered ones.
    assert.ok(
      result.cycles.every((c) => c.inFlightAtKill > 0),
      'a kill with nothing in flight',
    );
    assert.ok(result.cycles.reduce((s, c) => s + c.unacknowledged, 0) > 0);
    assert.equal(result.drainLeft, 0);
    assert.deepEqual(result.shutdown, { code: 0, signal: null });
    const counts = result.workload.counts;
    assert.equal(counts.unexpected, 0, counts.unexpectedSamples.join('\n'));
    assert.equal(counts.refused, 0, counts.refusedSamples.join('\n'));
    // At the end everything was acknowledged, and each record is in the journal exactly once.
    assert.equal(result.final.unacknowledgedRecords, 0);
    assert.ok(result.final.acknowledgedRecords > 500, `only ${result.final.acknowledgedRecords} records`);
    assert.deepEqual(result.final.verify.problems, []);
  });
});
