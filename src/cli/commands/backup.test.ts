/**
 * `creditpool backup` and `creditpool restore`: an online backup taken while a server is writing
 * (consistent, self-contained, verified), restored over a database (refused while a server holds
 * it, refused without --force, refused for a backup that fails its check or comes from a newer
 * build), and the command-line refusals, PostgreSQL's included (pointed at pg_dump/pg_restore).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, it } from 'node:test';
import { startServer, tempDir } from '../../../test/support/cli.ts';
import { seedUsage } from '../../../test/support/seed-usage.ts';
import { main } from '../main.ts';

const dir = tempDir('creditpool-cli-backup-');
after(() => dir.remove());
const db = `${dir.path}/live.db`;
const token = 'cp_backup_test_admin';

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

function count(path: string, table: string): number {
  const raw = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(raw.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.n);
  } finally {
    raw.close();
  }
}

describe('creditpool backup and restore', () => {
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
    await seedUsage(db, 'acct_1', 5);
  });

  it('backs up online while a server writes: one checked, self-contained file', async () => {
    const server = await startServer(['--port', '0', '--db', db], { env: { CREDITPOOL_ADMIN_TOKEN: token } });
    try {
      // Writes keep landing through the API during the backup.
      let writing = true;
      let written = 0;
      const writer = (async () => {
        for (let i = 0; writing && i < 2_000; i++) {
          const response = await fetch(`${server.url}/v1/usage`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              records: Array.from({ length: 10 }, (_, k) => ({
                id: `req_live_${i}_${k}`,
                account_id: 'acct_1',
                occurred_at: new Date().toISOString(),
                surface: 'sdk-cli',
                model: 'claude-opus-5-5',
                usage: { input_tokens: 10, output_tokens: 10 },
              })),
            }),
          });
          assert.equal(response.status, 200);
          await response.text();
          written += 10;
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const r = await run(['backup', `${dir.path}/online.db`, '--db', db]);
      writing = false;
      await writer;
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^backed up to .*online\.db: \d+ pages, integrity_check ok, 1 accounts and \d+ postings verified/m,
      );
      assert.ok(written > 0);
      // Self-contained: no -wal or -shm beside it, nothing partial left.
      for (const suffix of ['-wal', '-shm', '.partial'])
        assert.equal(existsSync(`${dir.path}/online.db${suffix}`), false, suffix);
      // A snapshot: between what was there before the backup and what was there after.
      const postings = count(`${dir.path}/online.db`, 'postings');
      // 1 grant and 5 seeded usage postings were there before the backup started.
      assert.ok(postings >= 6 && postings <= count(db, 'postings'), `${postings}`);
      assert.equal((await run(['verify', '--db', `${dir.path}/online.db`])).code, 0);
    } finally {
      assert.deepEqual(await server.stop(), { code: 0, signal: null });
    }
  });

  it('restore: refused while a server holds the database, then restores with --force', async () => {
    const backupPath = `${dir.path}/before.db`;
    assert.equal((await run(['backup', backupPath, '--db', db])).code, 0);
    const server = await startServer(['--port', '0', '--db', db], { env: { CREDITPOOL_ADMIN_TOKEN: token } });
    try {
      const r = await run(['restore', backupPath, '--db', db, '--force']);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /already open for writing.*a running server holds it; stop the server, then restore/,
      );
    } finally {
      assert.deepEqual(await server.stop(), { code: 0, signal: null });
    }
    // The live database moves on after the backup.
    assert.equal((await run(['accounts', 'create', '--id', 'acct_2', '--kind', 'api', '--db', db])).code, 0);
    assert.equal(count(db, 'accounts'), 2);
    const refused = await run(['restore', backupPath, '--db', db]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /exists: restoring replaces it; add --force/);
    const r = await run(['restore', backupPath, '--db', db, '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^restored .*live\.db: integrity_check ok, 1 accounts and \d+ postings verified/m);
    assert.equal(count(db, 'postings'), count(backupPath, 'postings'));
    assert.equal(count(db, 'accounts'), 1);
    for (const suffix of ['.restoring', '.restoring-wal', '.restoring.lock'])
      assert.equal(existsSync(`${db}${suffix}`), false);
    // The restored database serves.
    const server2 = await startServer(['--port', '0', '--db', db], {
      env: { CREDITPOOL_ADMIN_TOKEN: token },
    });
    try {
      const response = await fetch(`${server2.url}/v1/accounts/acct_1`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 200);
    } finally {
      assert.deepEqual(await server2.stop(), { code: 0, signal: null });
    }
  });

  it('restore into a new path; a backup that fails its check or comes from a newer build is refused', async () => {
    const good = `${dir.path}/good.db`;
    assert.equal((await run(['backup', good, '--db', db])).code, 0);
    const fresh = `${dir.path}/sub/fresh.db`;
    const ok = await run(['restore', good, '--db', fresh]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await run(['verify', '--db', fresh])).code, 0);

    const tampered = `${dir.path}/tampered.db`;
    assert.equal((await run(['backup', tampered, '--db', db])).code, 0);
    let raw = new DatabaseSync(tampered);
    raw.exec('UPDATE cycles SET granted_units = granted_units + 1');
    raw.close();
    const target = `${dir.path}/target.db`;
    let r = await run(['restore', tampered, '--db', target]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /the backup failed its check, nothing was restored: acct_1, cycle \d+ .*credit granted/,
    );
    assert.equal(existsSync(target), false);

    const newer = `${dir.path}/newer.db`;
    assert.equal((await run(['backup', newer, '--db', db])).code, 0);
    raw = new DatabaseSync(newer);
    raw.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from the future', 0)");
    raw.close();
    r = await run(['restore', newer, '--db', target]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /newer/);
    assert.equal(existsSync(target), false);
  });

  it('command-line refusals: exit 2, PostgreSQL pointed at its own tools; bad paths exit 1', async () => {
    assert.equal((await run(['backup', '--db', db])).code, 2);
    assert.equal((await run(['restore', '--db', db])).code, 2);
    const pg = await run(['backup', 'x.dump', '--database-url', 'postgres://127.0.0.1:1/none']);
    assert.equal(pg.code, 2);
    assert.match(pg.stderr, /pg_dump --format=custom/);
    assert.match(
      (await run(['restore', 'x.dump', '--database-url', 'postgres://127.0.0.1:1/none'])).stderr,
      /pg_restore/,
    );
    const existing = await run(['backup', db, '--db', db]);
    assert.equal(existing.code, 1);
    assert.equal((await run(['backup', `${dir.path}/x.db`, '--db', `${dir.path}/missing.db`])).code, 1);
    assert.equal((await run(['restore', `${dir.path}/missing.db`, '--db', `${dir.path}/y.db`])).code, 1);
  });
});
