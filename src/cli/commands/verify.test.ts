import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { cli, tempDir } from '../../../test/support/cli.ts';
import { seedUsage } from '../../../test/support/seed-usage.ts';

const dir = tempDir('creditpool-cli-verify-');
after(() => dir.remove());
const db = `${dir.path}/ledger.db`;

describe('creditpool verify', () => {
  before(async () => {
    assert.equal(
      cli(['accounts', 'create', '--id', 'acct_1', '--kind', 'subscription', '--plan', 'pro', '--db', db])
        .code,
      0,
    );
    assert.equal(cli(['claim', 'acct_1', '--db', db]).code, 0);
    await seedUsage(db, 'acct_1', 2);
  });

  it('a consistent ledger: ok, exit 0', () => {
    const r = cli(['verify', '--db', db]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok: 1 accounts, \d+ postings checked, no problems$/m);
  });

  it('a cached figure that disagrees with the journal: each problem printed, exit 1', () => {
    // Tamper behind the store's back, as a bug or a bad manual edit would.
    const raw = new DatabaseSync(db);
    raw.exec('UPDATE cycles SET credit_used_units = credit_used_units + 1');
    raw.close();
    const r = cli(['verify', '--db', db]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^problem: acct_1 cycle \d+: creditUsedUnits cached \d+, journal \d+$/m);
    assert.match(r.stdout, /^1 problem\(s\)/m);
  });

  it('--url: local only, exit 2', () => {
    assert.equal(cli(['verify', '--url', 'http://127.0.0.1:9', '--token', 't']).code, 2);
  });
});
