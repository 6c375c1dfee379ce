import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cli, cliJson, tempDir } from '../../../test/support/cli.ts';
import { seedUsage } from '../../../test/support/seed-usage.ts';

const dir = tempDir('creditpool-cli-statement-');
after(() => dir.remove());
const db = `${dir.path}/ledger.db`;

interface Statement {
  cycle: { start: string };
  closed: boolean;
  sdk_credit: { granted_usd: string; used_usd: string; remaining_usd: string };
  by_model: { model: string; cost_usd: string }[];
}

describe('creditpool statement', () => {
  before(async () => {
    assert.equal(
      cli(['accounts', 'create', '--id', 'acct_1', '--kind', 'subscription', '--plan', 'pro', '--db', db])
        .code,
      0,
    );
    assert.equal(cli(['claim', 'acct_1', '--db', db]).code, 0);
    // 1,000 input and 2,000 output tokens of claude-opus-5-5: exactly $0.044, twice.
    await seedUsage(db, 'acct_1', 2);
  });

  it('the current cycle: credit used to the unit, the breakdowns as tables', () => {
    const r = cli(['statement', 'acct_1', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^closed +false$/m);
    assert.match(r.stdout, /^ {2}granted +20$/m);
    assert.match(r.stdout, /^ {2}used +0\.088$/m);
    assert.match(r.stdout, /^ {2}remaining +19\.912$/m);
    assert.match(r.stdout, /^claude-opus-5-5 +0\.088$/m);
  });

  it('--cycle <start> --json: the same statement, API-shaped', () => {
    const current = cliJson<Statement>(['statement', 'acct_1', '--db', db]);
    const s = cliJson<Statement>(['statement', 'acct_1', '--cycle', current.cycle.start, '--db', db]);
    assert.deepEqual(s, current);
    assert.deepEqual(s.by_model, [{ model: 'claude-opus-5-5', cost_usd: '0.088' }]);
  });

  it('a --cycle that is no cycle start: not_found, exit 1', () => {
    const r = cli(['statement', 'acct_1', '--cycle', '2020-01-01T00:00:00Z', '--db', db]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^creditpool statement: not_found: /m);
  });

  it('a --cycle that is no instant: exit 2', () => {
    assert.equal(cli(['statement', 'acct_1', '--cycle', 'last month', '--db', db]).code, 2);
  });
});
