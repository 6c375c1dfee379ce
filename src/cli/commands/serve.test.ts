import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, cliJson, type RunningServer, startServer, tempDir } from '../../../test/support/cli.ts';

const dir = tempDir('creditpool-cli-serve-');
const servers: RunningServer[] = [];
after(async () => {
  for (const server of servers) await server.stop(2_000);
  dir.remove();
});

async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunningServer> {
  const server = await startServer(['--port', '0', ...args], { env });
  servers.push(server);
  return server;
}

describe('creditpool serve', () => {
  it('a new database: prints a working admin token once, the URL and a curl line; not on restart', async () => {
    const db = join(dir.path, 'first.db');
    const first = await serve(['--db', db]);
    const out = first.stdout();
    assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const token = /^ {2}(cp_admin_\S+)$/m.exec(out)?.[1];
    assert.ok(token, out);
    assert.match(out, /curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/v1\/accounts/);
    assert.equal((await fetch(`${first.url}/healthz`)).status, 200);
    const created = await fetch(`${first.url}/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'acct_1', kind: 'subscription', plan: 'pro' }),
    });
    assert.equal(created.status, 201);
    assert.deepEqual(await first.stop(), { code: 0, signal: null });

    const again = await serve(['--db', db]);
    assert.doesNotMatch(again.stdout(), /admin token/);
    const view = await fetch(`${again.url}/v1/accounts/acct_1`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(view.status, 200, 'the first token survives the restart');
    assert.deepEqual(await again.stop(), { code: 0, signal: null });
  });

  it('the ledger commands reach a running server with --url and --token', async () => {
    const token = 'cp_test_admin_serve';
    const server = await serve(['--db', join(dir.path, 'url.db')], { CREDITPOOL_ADMIN_TOKEN: token });
    const remote = ['--url', server.url, '--token', token];
    const view = cliJson<{ id: string }>([
      'accounts',
      'create',
      '--id',
      'acct_u',
      '--kind',
      'subscription',
      '--plan',
      'pro',
      ...remote,
    ]);
    assert.equal(view.id, 'acct_u');
    assert.equal(cli(['claim', 'acct_u', ...remote]).code, 0);
    const shown = cli(['accounts', 'show', 'acct_u', ...remote]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^ {2}granted +20$/m);
    // Refusals come back with the API's code, exit 1.
    const missing = cli(['statement', 'nobody', ...remote]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^creditpool statement: not_found: /m);
    // The server is the file's only writer: a local command is refused while it runs.
    const local = cli(['accounts', 'show', 'acct_u', '--db', join(dir.path, 'url.db')]);
    assert.equal(local.code, 1);
    assert.match(local.stderr, /unavailable/);
    assert.match(local.stderr, /--url and --token/);
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
  });

  it('a second server on the same SQLite file: refused, exit 1', async () => {
    const db = join(dir.path, 'twice.db');
    const first = await serve(['--db', db], { CREDITPOOL_ADMIN_TOKEN: 't' });
    const second = cli(['serve', '--port', '0', '--db', db]);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /unavailable/);
    assert.deepEqual(await first.stop(), { code: 0, signal: null });
  });

  it('a bad port: exit 2; --help', () => {
    const bad = cli(['serve', '--port', 'http']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad port http/);
    const help = cli(['serve', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: creditpool serve \[--host 127\.0\.0\.1\] \[--port 8787\]/);
    assert.match(help.stdout, /CREDITPOOL_ADMIN_TOKEN/);
  });
});
