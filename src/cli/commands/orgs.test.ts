import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cli, cliJson, tempDir } from '../../../test/support/cli.ts';

const dir = tempDir('creditpool-cli-orgs-');
after(() => dir.remove());
const db = `${dir.path}/ledger.db`;

describe('creditpool orgs create', () => {
  it('creates an org with its billing anchor', () => {
    const r = cli(['orgs', 'create', '--id', 'org_1', '--anchor', '2026-07-31T00:00:00Z', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^org +org_1$/m);
    assert.match(r.stdout, /^billing anchor +2026-07-31T00:00:00Z$/m);
    const json = cliJson<{ id: string }>([
      'orgs',
      'create',
      '--id',
      'org_2',
      '--anchor',
      '2026-07-31T00:00:00Z',
      '--db',
      db,
    ]);
    assert.equal(json.id, 'org_2');
  });

  it('a bad anchor: invalid_request, exit 1', () => {
    const r = cli(['orgs', 'create', '--id', 'org_3', '--anchor', 'July', '--db', db]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid_request: billing_anchor/);
  });

  it('no --anchor: exit 2', () => {
    const r = cli(['orgs', 'create', '--id', 'org_3', '--db', db]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--anchor is required/);
  });
});
