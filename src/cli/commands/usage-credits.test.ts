import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cli, cliJson, tempDir } from '../../../test/support/cli.ts';

const dir = tempDir('creditpool-cli-uc-');
after(() => dir.remove());
const db = `${dir.path}/ledger.db`;

interface View {
  usage_credits: { enabled: boolean; monthly_limit_usd: string | null };
}

describe('creditpool usage-credits', () => {
  before(() => {
    assert.equal(
      cli(['accounts', 'create', '--id', 'acct_1', '--kind', 'subscription', '--plan', 'pro', '--db', db])
        .code,
      0,
    );
  });

  it('--on with a limit, then --off keeping it, then the limit removed', () => {
    const r = cli(['usage-credits', 'acct_1', '--on', '--limit', '12.50', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}enabled +true$/m);
    assert.match(r.stdout, /^ {2}monthly limit +12\.5$/m);
    let view = cliJson<View>(['usage-credits', 'acct_1', '--off', '--db', db]);
    assert.deepEqual(view.usage_credits, {
      ...view.usage_credits,
      enabled: false,
      monthly_limit_usd: '12.5',
    });
    view = cliJson<View>(['usage-credits', 'acct_1', '--on', '--limit', 'none', '--db', db]);
    assert.equal(view.usage_credits.enabled, true);
    assert.equal(view.usage_credits.monthly_limit_usd, null);
  });

  it('a limit that is not an exact decimal: invalid_request, exit 1', () => {
    const r = cli(['usage-credits', 'acct_1', '--on', '--limit', '1e3', '--db', db]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid_request: monthly_limit_usd/);
  });

  it('an unknown account: not_found, exit 1', () => {
    const r = cli(['usage-credits', 'nobody', '--on', '--db', db]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not_found/);
  });

  it('both --on and --off: exit 2', () => {
    assert.equal(cli(['usage-credits', 'acct_1', '--on', '--off', '--db', db]).code, 2);
  });
});
