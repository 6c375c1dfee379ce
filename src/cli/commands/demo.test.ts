import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cli, startServer, tempDir } from '../../../test/support/cli.ts';
import { openSqliteStore } from '../../adapters/storage/sqlite/index.ts';
import {
  type AppContext,
  defaultCatalogues,
  findToken,
  getAccountView,
  getStatement,
  systemClock,
  verifyLedger,
} from '../../app/index.ts';
import { demoApps, demoProfiles } from '../demo-data.ts';

const dir = tempDir('creditpool-cli-demo-');
after(() => dir.remove());
const db = `${dir.path}/demo.db`;

describe('creditpool demo', () => {
  let first = '';

  it('loads the example org and accounts and prints the tokens, the URL and how to start the server', () => {
    const r = cli(['demo', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    first = r.stdout;
    assert.match(r.stdout, /^creditpool demo: loaded into SQLite /m);
    assert.match(r.stdout, /\d+ requests recorded, \d+ refused \(/);
    assert.ok(r.stdout.includes(`npm run creditpool -- serve --db ${db}`), r.stdout);
    assert.ok(r.stdout.includes('http://127.0.0.1:8787/'), r.stdout);
    for (const profile of demoProfiles) assert.ok(r.stdout.includes(profile.id), profile.id);
    assert.equal(r.stdout.match(/cp_account_\S+/g)?.length, demoProfiles.length);
    assert.equal(r.stdout.match(/cp_org_admin_\S+/g)?.length, 1);
  });

  it('the ledger it wrote is consistent, and tells the stories the dashboard shows', async () => {
    const store = await openSqliteStore({ path: db });
    try {
      const ctx: AppContext = { store, clock: systemClock, catalogues: defaultCatalogues };
      const report = await verifyLedger(ctx);
      assert.deepEqual(report.problems, []);
      const token = /cp_org_admin_\S+/.exec(first)![0];
      assert.equal((await findToken(ctx, token))?.orgId, 'acme');
      const bob = await getAccountView(ctx, 'bob@acme.example');
      assert.equal(bob.sdk_credit.remaining_usd, 0n, 'bob runs out mid-cycle');
      assert.notEqual(bob.sdk_credit.exhausted_at, null);
      assert.equal(bob.usage_credits.enabled, false);
      assert.equal((await getAccountView(ctx, 'carol@acme.example')).sdk_credit.status, 'unclaimed');
      const alice = await getStatement(ctx, 'alice@acme.example', null);
      assert.deepEqual(alice.by_app.map((a) => a.app).sort(), [...demoApps].sort());
      const surfaces = alice.by_surface.map((s) => s.surface);
      assert.ok(surfaces.includes('cli') && surfaces.includes('sdk-ts'), 'interactive and programmatic');
    } finally {
      await store.close();
    }
  });

  it('run again, it loads nothing and prints a fresh set of tokens', () => {
    const r = cli(['demo', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /already loaded/);
    const tokens = r.stdout.match(/cp_(account|org_admin)_\S+/g) ?? [];
    assert.equal(tokens.length, demoProfiles.length + 1);
    for (const token of tokens) assert.ok(!first.includes(token));
  });

  it('refuses while a server holds the database (one writer per file): exit 1, saying why', async () => {
    const server = await startServer(['--port', '0', '--db', db]);
    try {
      const r = cli(['demo', '--db', db]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /^creditpool demo: SQLite .*demo\.db: /m);
    } finally {
      await server.stop();
    }
  });

  it('a wrong command line: exit 2', () => {
    assert.equal(cli(['demo', 'extra', '--db', db]).code, 2);
    assert.equal(cli(['demo', '--bogus']).code, 2);
  });
});
