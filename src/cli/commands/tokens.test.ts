import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cli, tempDir } from '../../../test/support/cli.ts';

const dir = tempDir('creditpool-cli-tokens-');
after(() => dir.remove());
const db = `${dir.path}/ledger.db`;

describe('creditpool tokens create', () => {
  it('mints an admin token and prints it once', () => {
    const r = cli(['tokens', 'create', '--role', 'admin', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^token +cp_admin_[A-Za-z0-9_-]{43}$/m);
    assert.match(r.stdout, /shown once/);
  });

  it('--json: an account token scoped to its account', () => {
    assert.equal(cli(['accounts', 'create', '--id', 'acct_t', '--kind', 'api', '--db', db]).code, 0);
    const r = cli(['tokens', 'create', '--role', 'account', '--account', 'acct_t', '--db', db, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.match(out.token, /^cp_account_/);
    assert.equal(out.role, 'account');
    assert.equal(out.account_id, 'acct_t');
  });

  it('an account token without --account: invalid_request, exit 1', () => {
    const r = cli(['tokens', 'create', '--role', 'account', '--db', db]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid_request: an account token needs account_id/);
  });

  it('an unknown role: exit 2 with a hint', () => {
    const r = cli(['tokens', 'create', '--role', 'root', '--db', db]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--role must be one of admin, meter, account, org_admin/);
    assert.match(r.stderr, /creditpool tokens --help/);
  });

  it('--help', () => {
    const r = cli(['tokens', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: creditpool tokens create --role/);
    assert.match(r.stdout, /--url <url>/);
  });
});
