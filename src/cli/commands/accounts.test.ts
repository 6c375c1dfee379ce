import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cli, cliJson, tempDir } from '../../../test/support/cli.ts';

const dir = tempDir('creditpool-cli-accounts-');
after(() => dir.remove());
const db = `${dir.path}/ledger.db`;

describe('creditpool accounts', () => {
  it('create: a subscription account, printed as its view', () => {
    const r = cli([
      'accounts',
      'create',
      '--id',
      'acct_1',
      '--kind',
      'subscription',
      '--plan',
      'pro',
      '--db',
      db,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^account +acct_1$/m);
    assert.match(r.stdout, /^plan +pro$/m);
    assert.match(r.stdout, /^ {2}status +unclaimed$/m);
  });

  it('show --json: the API-shaped view, money as exact decimal strings', () => {
    assert.equal(cli(['claim', 'acct_1', '--db', db]).code, 0);
    const view = cliJson<{
      id: string;
      sdk_credit: Record<string, unknown>;
      usage_credits: Record<string, unknown>;
    }>(['accounts', 'show', 'acct_1', '--db', db]);
    assert.equal(view.id, 'acct_1');
    assert.equal(view.sdk_credit.status, 'claimed');
    assert.equal(view.sdk_credit.granted_usd, '20');
    assert.equal(view.sdk_credit.remaining_usd, '20');
    assert.equal(view.usage_credits.enabled, false);
  });

  it('create with an org and an anchor', () => {
    assert.equal(
      cli(['orgs', 'create', '--id', 'org_a', '--anchor', '2026-07-03T10:00:00Z', '--db', db]).code,
      0,
    );
    const view = cliJson<{ org_id: string; billing_anchor: string }>([
      'accounts',
      'create',
      '--id',
      'acct_m',
      '--kind',
      'subscription',
      '--plan',
      'team_standard',
      '--org',
      'org_a',
      '--db',
      db,
    ]);
    assert.equal(view.org_id, 'org_a');
    assert.equal(view.billing_anchor, '2026-07-03T10:00:00Z');
  });

  it('create twice: already_exists, exit 1', () => {
    const r = cli(['accounts', 'create', '--id', 'acct_1', '--kind', 'api', '--db', db]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^creditpool accounts: already_exists: account acct_1 exists$/m);
  });

  it('show an unknown account: not_found, exit 1', () => {
    const r = cli(['accounts', 'show', 'nobody', '--db', db]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not_found: no account nobody/);
  });

  it('a wrong command line: exit 2', () => {
    assert.equal(cli(['accounts', 'create', '--id', 'x', '--kind', 'team', '--db', db]).code, 2);
    assert.equal(cli(['accounts', 'show', '--db', db]).code, 2);
    assert.equal(cli(['accounts', 'delete', 'x', '--db', db]).code, 2);
  });
});
