/**
 * The soak's short version, in CI: 60 s of the mixed load (`bench/soak/soak.ts`) against a real
 * `creditpool serve --test-clock` on SQLite, with two test-clock jumps of 35 days (every cycle
 * closes and is granted again, while the clients wait). Asserted: correctness (no unexpected
 * answer, nothing refused, every acknowledged record booked once, `verifyLedger` clean, SIGTERM
 * exit 0) and that resident memory after the warm-up stays within a generous bound. Throughput is
 * printed, never asserted (BENCHMARKS.md has the 10-minute runs).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runSoak } from '../../bench/soak/soak.ts';

/**
 * What RSS may add after the warm-up: SQLite's page caches (64 MiB on the writer, 16 MiB on the
 * reader) and V8's heap still fill during the first minute; a leak of a few KB per request would
 * add far more over the run (~10^5 requests).
 */
const rssGrowthMaxMiB = 160;
const rssMaxMiB = 700;

describe('faults: soak, 60 s on SQLite', () => {
  it('mixed load with clock jumps: no errors, ledger exact, memory bounded', async (t) => {
    const r = await runSoak({
      store: 'sqlite',
      seconds: Number(process.env.SOAK_SECONDS ?? 60),
      warmupS: 20,
      jumpEveryS: 20,
      accounts: 100,
      workers: 16,
      log: (line) => t.diagnostic(line),
    });
    const c = r.counts;
    t.diagnostic(
      `${Object.values(c.sent).reduce((s, n) => s + n, 0)} requests, ${r.requestsPerS} req/s after warm-up, p99 ${r.p99Ms} ms; ` +
        `RSS after warm-up ${r.rssAfterWarmupMiB} MiB, end ${r.rssEndMiB}, max ${r.rssMaxMiB}, slope ${r.rssSlopeMiBPerMin} MiB/min; ` +
        `jumps ${r.jumps.map((j) => `${j.ms} ms`).join(', ')}; ${r.check.acknowledgedRecords} records booked once each, ` +
        `${r.check.postings} postings, verify ${r.check.verify.problems.length === 0 ? 'clean' : 'NOT clean'}`,
    );
    assert.equal(c.unexpected, 0, c.unexpectedSamples.join('\n'));
    assert.equal(c.unacknowledged, 0);
    assert.equal(c.refused, 0, c.refusedSamples.join('\n'));
    assert.equal(r.jumps.length, 2);
    assert.equal(r.drainLeft, 0);
    assert.deepEqual(r.shutdown, { code: 0, signal: null });
    assert.deepEqual(r.check.problems, []);
    assert.ok(r.check.acknowledgedRecords > 0);
    assert.ok(
      r.rssEndMiB - r.rssAfterWarmupMiB <= rssGrowthMaxMiB,
      `RSS grew ${r.rssEndMiB - r.rssAfterWarmupMiB} MiB after the warm-up`,
    );
    assert.ok(r.rssMaxMiB <= rssMaxMiB, `RSS reached ${r.rssMaxMiB} MiB`);
  });
});
