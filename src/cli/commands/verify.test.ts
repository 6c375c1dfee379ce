/**
 * `creditpool verify`: a sound ledger (exit 0), one beside a running server (it takes no lock), a
 * cached figure tampered with (each difference printed in USD, exit 1), a damaged file
 * (integrity_check's lines, exit 1), the JSON report, and the wrong command lines.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { cli, startServer, tempDir } from '../../../test/support/cli.ts';
import { seedUsage } from '../../../test/support/seed-usage.ts';
import { main } from '../main.ts';

const dir = tempDir('creditpool-cli-verify-');
after(() => dir.remove());
const db = `${dir.path}/ledger.db`;

/** Runs a command line in this process (faster than a child), capturing its output. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readStdin: async () => '',
    env: {},
    now: () => Date.now(),
  });
  return { code, stdout, stderr };
}

describe('creditpool verify', () => {
  before(async () => {
    assert.equal(
      (
        await run([
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
        ])
      ).code,
      0,
    );
    assert.equal((await run(['claim', 'acct_1', '--db', db])).code, 0);
    await seedUsage(db, 'acct_1', 2);
  });

  it('a sound ledger: the file and the ledger ok, exit 0', async () => {
    const r = await run(['verify', '--db', db]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^file: PRAGMA integrity_check ok$/m);
    assert.match(r.stdout, /^ledger: 1 accounts, 3 postings checked, no differences$/m);
    assert.match(r.stdout, /^ok: 1 accounts, 3 postings checked, no problems \(\d+ ms\)$/m);
  });

  it('beside a running server on the same file: reads its own snapshot, no writer lock needed', async () => {
    const server = await startServer(['--port', '0', '--db', db], {
      env: { CREDITPOOL_ADMIN_TOKEN: 'cp_verify_test' },
    });
    try {
      const r = cli(['verify', '--db', db]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^ok: 1 accounts/m);
    } finally {
      assert.deepEqual(await server.stop(), { code: 0, signal: null });
    }
  });

  it('--json: the report as one object', async () => {
    const r = await run(['verify', '--db', db, '--json']);
    assert.equal(r.code, 0);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(report.integrity, ['ok']);
    assert.equal(report.accounts, 1);
    assert.equal(report.postings, 3);
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
  });

  it('a cached figure that disagrees with the journal: each difference in USD, exit 1', async () => {
    const tampered = `${dir.path}/tampered.db`;
    assert.equal((await run(['backup', tampered, '--db', db])).code, 0);
    // Behind the store's back, as a bug or a bad manual edit would: one unit (1e-12 USD) too much
    // credit used, and a breakdown off by a cent.
    const raw = new DatabaseSync(tampered);
    raw.exec('UPDATE cycles SET credit_used_units = credit_used_units + 1');
    raw.exec("UPDATE dims SET cost_units = cost_units - 10000000000 WHERE dim = 'model'");
    raw.close();
    const r = await run(['verify', '--db', tampered]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^file: PRAGMA integrity_check ok$/m);
    assert.match(
      r.stdout,
      /^ {2}- acct_1, cycle \d+ \(\S+Z to \S+Z\): credit used: cached 0\.088000000001 USD, journal 0\.088 USD \(cached is 0\.000000000001 USD too high\)$/m,
    );
    assert.match(
      r.stdout,
      /^ {2}- acct_1, cycle \d+ \(.*\): model breakdown "claude-opus-5-5": cached 0\.078 USD, journal 0\.088 USD \(cached is 0\.01 USD too low\)$/m,
    );
    assert.match(r.stdout, /^FAILED: 0 problem\(s\) in the file, 2 in the ledger$/m);
  });

  it("a damaged file: integrity_check's findings, exit 1", async () => {
    const damaged = `${dir.path}/damaged.db`;
    assert.equal((await run(['backup', damaged, '--db', db])).code, 0);
    // Scribble over the root page of an index past its 8-byte header: the table is intact, the
    // index page's cells are garbage.
    const raw = new DatabaseSync(damaged, { readOnly: true });
    const root = Number(
      raw.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'postings_cycle'").get()?.rootpage,
    );
    const pageSize = Number(raw.prepare('PRAGMA page_size').get()?.page_size);
    raw.close();
    const fd = openSync(damaged, 'r+');
    writeSync(fd, Buffer.alloc(pageSize - 8, 0x5a), 0, pageSize - 8, (root - 1) * pageSize + 8);
    closeSync(fd);
    const r = await run(['verify', '--db', damaged]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^file: PRAGMA integrity_check found \d+ problem\(s\):$/m);
    assert.doesNotMatch(r.stdout, /^ok:/m);
    assert.match(r.stdout, /^ledger: not checked, the file itself is damaged/m);
    assert.match(r.stdout, /^FAILED: [1-9]\d* problem\(s\) in the file, unchecked in the ledger$/m);
  });

  it('wrong command lines: exit 2; a missing database: exit 1', async () => {
    assert.equal((await run(['verify', '--url', 'http://127.0.0.1:9', '--token', 't'])).code, 2);
    assert.equal((await run(['verify', 'extra', '--db', db])).code, 2);
    const missing = await run(['verify', '--db', `${dir.path}/nope.db`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no database at/);
  });
});
