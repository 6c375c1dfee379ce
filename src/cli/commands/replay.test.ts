/**
 * `creditpool replay` as a child process, on the hand-made transcripts of `src/replay/fixtures`
 * (their figures are worked out in `src/replay/replay.test.ts`): the `--json` shape for every plan,
 * the tables, the default transcript roots, and wrong command lines.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, tempDir } from '../../../test/support/cli.ts';
import { replayPlans } from '../../replay/plan-prices.ts';
import type { CliIo } from '../io.ts';
import { main } from '../main.ts';

const fixtures = join(import.meta.dirname, '..', '..', 'replay', 'fixtures', 'projects');
const dir = tempDir('creditpool-cli-replay-');
after(() => dir.remove());
/** A home without transcripts, so a test never reads the developer's own. */
const home = join(dir.path, 'home');
mkdirSync(home);
const env = { HOME: home, CLAUDE_CONFIG_DIR: '' };

const money = /^-?\d+(\.\d+)?$/;

describe('creditpool replay', () => {
  it('--plan all --json: one object, every plan, every cycle, money as exact decimal strings', () => {
    const r = cli(['replay', fixtures, '--plan', 'all', '--anchor', '2026-07-01', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.records, {
      read: 10,
      duplicates: 1,
      programmatic: 5,
      interactive: 3,
      rejected: 0,
      synthetic: 1,
      invalid: 0,
      missing_entrypoint: 0,
      filtered: 0,
    });
    assert.deepEqual(
      report.plans.map((p: { plan: string }) => p.plan),
      [...replayPlans],
    );
    for (const plan of report.plans) {
      assert.equal(plan.cycles.length, 3);
      for (const cycle of plan.cycles) {
        for (const key of [
          'programmatic_usd',
          'sdk_credit_used_usd',
          'usage_credits_usd',
          'written_off_usd',
          'interactive_usd',
        ]) {
          assert.match(cycle[key], money, `${plan.plan} ${cycle.start} ${key}`);
        }
        assert.ok(cycle.exhausted_at === null || typeof cycle.exhausted_at === 'string');
        assert.match(cycle.start, /^\d{4}-\d{2}-\d{2}T/);
        assert.match(cycle.end, /^\d{4}-\d{2}-\d{2}T/);
      }
      assert.ok(plan.total_usd === null || money.test(plan.total_usd));
    }
    assert.equal(report.plans[0].cycles[1].exhausted_at, '2026-07-04T10:00:00Z');
    assert.deepEqual(
      report.plans.map((p: { total_usd: string | null }) => p.total_usd),
      ['63', '300', '600', '78', '450', null, null],
    );
    assert.equal(report.cheapest.plan, 'pro');
  });

  it('tables by default, with the advice; --usage-credits off changes it', () => {
    const on = cli(['replay', fixtures, '--plan', 'pro', '--anchor', '2026-07-01T00:00:00Z'], { env });
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /^Pro \(pro, \$20\.00 a month\)$/m);
    assert.match(
      on.stdout,
      /^2026-07-01\.\.2026-08-01 +6 +22\.00 +20\.00\/20\.00 +2026-07-04 10:00Z +3\.00 +0\.00 +7\.00 +session 2026-07-05 11:00Z$/m,
    );
    assert.match(
      on.stdout,
      /^Cheapest plan: pro\. Pro costs \$20\.00 × 3 cycles \+ \$3\.00 usage credits = \$63\.00\.$/m,
    );
    const off = cli(['replay', fixtures, '--usage-credits', 'off', '--anchor', '2026-07-01'], { env });
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /^Cheapest plan: max_5x\. Max 5x is the cheapest plan whose credit/m);
  });

  it('without PATH reads the Claude Code roots (CLAUDE_CONFIG_DIR)', () => {
    const config = join(dir.path, 'claude');
    cpSync(fixtures, join(config, 'projects'), { recursive: true });
    const r = cli(['replay', '--plan', 'max_20x', '--json'], { env: { ...env, CLAUDE_CONFIG_DIR: config } });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.files.transcripts, 3);
    assert.equal(report.assumptions.anchor, '2026-06-10T00:00:00Z');
  });

  it('nothing to replay is exit 1; a wrong command line is exit 2', async () => {
    const empty = cli(['replay', join(dir.path, 'nothing-here')], { env });
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /no usage records found in .*nothing-here/);
    assert.match(empty.stderr, /path_missing/);
    const wrong = cli(['replay', fixtures, '--plan', 'gold'], { env });
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^creditpool replay: --plan must be one of pro, max_5x/);
    // The other wrong lines in process: the same command object, no process start each.
    for (const args of [
      ['--usage-credits', 'maybe'],
      ['--anchor', 'yesterday'],
      ['--usage-credit-limit', '1e3'],
      ['--usage-credits', 'off', '--usage-credit-limit', '10'],
      ['--since', '2026-08-01', '--until', '2026-07-01'],
      ['--bogus'],
    ]) {
      let stderr = '';
      const io: CliIo = {
        stdout: () => assert.fail('nothing on stdout'),
        stderr: (text) => {
          stderr += text;
        },
        readStdin: async () => '',
        env,
        now: () => 0,
      };
      assert.equal(await main(['replay', fixtures, ...args], io), 2, args.join(' '));
      assert.match(stderr, /^creditpool replay: /);
    }
  });
});
