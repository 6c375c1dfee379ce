import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cli, cliJson, tempDir } from '../../../test/support/cli.ts';
import { seedUsage } from '../../../test/support/seed-usage.ts';

const dir = tempDir('creditpool-cli-entries-');
after(() => dir.remove());
const db = `${dir.path}/ledger.db`;

interface Page {
  entries: { id: string; kind: string; pool: string; amount_usd: string; ref: string | null }[];
  next_cursor: string | null;
}

describe('creditpool entries', () => {
  before(async () => {
    assert.equal(
      cli(['accounts', 'create', '--id', 'acct_1', '--kind', 'subscription', '--plan', 'pro', '--db', db])
        .code,
      0,
    );
    assert.equal(cli(['claim', 'acct_1', '--db', db]).code, 0);
    await seedUsage(db, 'acct_1', 3);
  });

  it('prints the journal as a table: the grant, then each usage on the credit', () => {
    const r = cli(['entries', 'acct_1', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^entry +at +kind +pool +amount \(USD\) +ref$/m);
    assert.match(r.stdout, /\bgrant +sdk_credit +20\b/);
    assert.equal((r.stdout.match(/\busage +sdk_credit +-0\.044 +req_seed_\d$/gm) ?? []).length, 3);
  });

  it('pages with --limit and --cursor until next_cursor is null', () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const args = ['entries', 'acct_1', '--limit', '1', '--db', db];
      if (cursor !== null) args.push('--cursor', cursor);
      const page: Page = cliJson<Page>(args);
      seen.push(...page.entries.map((e) => e.id));
      cursor = page.next_cursor;
      if (cursor === null) break;
    }
    assert.equal(cursor, null);
    assert.equal(new Set(seen).size, seen.length);
    assert.equal(seen.length, 4);
  });

  it('an unknown account: not_found, exit 1', () => {
    const r = cli(['entries', 'nobody', '--db', db]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not_found/);
  });

  it('--limit 0: exit 2', () => {
    const r = cli(['entries', 'acct_1', '--limit', '0', '--db', db]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--limit must be 1 to 1000/);
  });
});
