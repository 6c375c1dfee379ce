/**
 * kill -9 of a real `creditpool serve` on SQLite under mixed load, 20 times (`kill-loop.ts`): after
 * each restart every record the clients saw acknowledged is in the journal exactly once, records
 * sent but unacknowledged at most once, holds as acknowledged, and `verifyLedger` clean; after the
 * last cycle every unacknowledged request is re-sent (same ids) and all of it is booked once.
 * Why it holds: WAL with synchronous=FULL, and an answer only after the group's COMMIT is fsynced
 * (src/adapters/storage/sqlite/README.md, "Durability"); the writer lock dies with the process.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir } from '../support/cli.ts';
import { runKillLoop } from './support/kill-loop.ts';
import { summarizeKillLoop } from './support/report.ts';

const dir = tempDir('creditpool-kill9-sqlite-');
after(() => dir.remove());

describe('faults: kill -9 under load, SQLite', () => {
  it('20 kill/restart cycles: nothing acknowledged lost, nothing booked twice, verify clean', async (t) => {
    const result = await runKillLoop({
      target: { kind: 'sqlite', path: join(dir.path, 'kill9.db') },
      cycles: 20,
      accounts: 20,
      workers: 16,
      batch: 20,
      seed: 0x5e1,
      loadMs: [150, 600],
      log: (line) => t.diagnostic(line),
    });
    t.diagnostic(summarizeKillLoop('SQLite', result));
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
    assert.ok(result.final.acknowledgedRecords > 1000, `only ${result.final.acknowledgedRecords} records`);
    assert.deepEqual(result.final.verify.problems, []);
  });
});
