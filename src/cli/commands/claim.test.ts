import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cli, cliJson, tempDir } from '../../../test/support/cli.ts';

const dir = tempDir('creditpool-cli-claim-');
after(() => dir.remove());
const db = `${dir.path}/ledger.db`;

describe('creditpool claim', () => {
  before(() => {
    assert.equal(
      cli(['accounts', 'create', '--id', 'acct_1', '--kind', 'subscription', '--plan', 'max_5x', '--db', db])
        .code,
      0,
    );
    assert.equal(cli(['accounts', 'create', '--id', 'api_1', '--kind', 'api', '--db', db]).code, 0);
  });

  it('claims once; a second claim is a replay of the first', () => {
    const r = cli(['claim', 'acct_1', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^status +claimed$/m);
    assert.match(r.stdout, /^replayed +false$/m);
    const again = cliJson<{ status: string; replayed: boolean }>(['claim', 'acct_1', '--db', db]);
    assert.equal(again.status, 'claimed');
    assert.equal(again.replayed, true);
    const view = cliJson<{ sdk_credit: { granted_usd: string } }>(['accounts', 'show', 'acct_1', '--db', db]);
    assert.equal(view.sdk_credit.granted_usd, '100');
  });

  it('an API account cannot claim: not_eligible, exit 1', () => {
    const r = cli(['claim', 'api_1', '--db', db]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^creditpool claim: not_eligible: /m);
  });

  it('no account id: exit 2', () => {
    assert.equal(cli(['claim', '--db', db]).code, 2);
  });
});
