/**
 * End to end: the real server process (`creditpool serve --test-clock`, SQLite in a temp dir), driven
 * only through HTTP with `fetch`, the way a gateway and a dashboard would. One account lives a
 * cycle: claim, authorize with a hold, settle, exhaust the credit (deny), turn usage credits on
 * (allow, paid by usage credits), cross into the next cycle with the test clock, and read the
 * closed cycle's statement. Then SIGTERM must stop the process cleanly, exit 0, within a bound.
 * A second test starts the server the way `npm start` does on a fresh clone.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { mainPath, type RunningServer, repoRoot, startServer, tempDir } from './support/cli.ts';

/** SIGTERM to exit: the graceful shutdown must not take longer than this. */
const shutdownBoundMs = 5_000;
const adminToken = 'cp_e2e_admin_token_for_tests_only';

const dir = tempDir('creditpool-e2e-');
const servers: RunningServer[] = [];
after(async () => {
  // Only the processes this file started; a failed test must not leave a server behind.
  for (const server of servers) await server.stop(2_000);
  dir.remove();
});

function client(url: string, token: string) {
  return async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field below.
    const json: any = text.length > 0 ? JSON.parse(text) : null;
    return { status: response.status, json };
  };
}

/** Priced at $4 per million input tokens: 11,000 tokens cost exactly $0.044. */
const opus = 'claude-opus-5-5';

describe('e2e: the server process through HTTP', () => {
  it('a cycle of one account, then SIGTERM exits 0', async () => {
    const server = await startServer(['--port', '0', '--db', join(dir.path, 'e2e.db'), '--test-clock'], {
      env: { CREDITPOOL_ADMIN_TOKEN: adminToken },
    });
    servers.push(server);
    // With an admin token configured, no token is minted or printed.
    assert.doesNotMatch(server.stdout(), /New database/);
    const api = client(server.url, adminToken);

    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal((await api('GET', '/v1/accounts/acct_e2e')).status, 404);
    assert.equal((await client(server.url, 'wrong')('GET', '/v1/plans')).status, 401);

    let r = await api('POST', '/v1/accounts', { id: 'acct_e2e', kind: 'subscription', plan: 'pro' });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    r = await api('POST', '/v1/accounts', { id: 'acct_idle', kind: 'subscription', plan: 'pro' });
    assert.equal(r.status, 201, JSON.stringify(r.json));

    r = await api('POST', '/v1/accounts/acct_e2e/claim');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.status, 'claimed');
    assert.equal(r.json.replayed, false);
    assert.equal((await api('POST', '/v1/accounts/acct_idle/claim')).status, 200);

    const view = (await api('GET', '/v1/accounts/acct_e2e')).json;
    assert.equal(view.sdk_credit.granted_usd, '20');
    const cycle: { start: string; end: string } = view.cycle;
    const idleCycle: { start: string; end: string } = (await api('GET', '/v1/accounts/acct_idle')).json.cycle;
    // The test clock started at the real time and has not moved yet: the real time dates records.
    const record = (id: string, inputTokens: number, account = 'acct_e2e') => ({
      id,
      account_id: account,
      occurred_at: new Date().toISOString(),
      surface: 'sdk-cli',
      model: opus,
      usage: { input_tokens: inputTokens, output_tokens: 0 },
    });

    // Authorize with a hold, then settle it with the priced usage.
    r = await api('POST', '/v1/authorize', {
      account_id: 'acct_e2e',
      surface: 'sdk-cli',
      model: opus,
      hold: { id: 'hold_1', estimate_usd: '0.5' },
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.decision, 'allow');
    assert.equal(r.json.source, 'sdk_credit');
    assert.equal(r.json.hold.amount_usd, '0.5');
    assert.equal((await api('GET', '/v1/accounts/acct_e2e')).json.sdk_credit.held_usd, '0.5');

    r = await api('POST', '/v1/holds/hold_1/settle', { record: record('req_1', 11_000) });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.status, 'recorded');
    assert.equal(r.json.cost_usd, '0.044');
    assert.deepEqual(r.json.charges, [{ source: 'sdk_credit', amount_usd: '0.044' }]);
    let credit = (await api('GET', '/v1/accounts/acct_e2e')).json.sdk_credit;
    assert.equal(credit.held_usd, '0');
    assert.equal(credit.remaining_usd, '19.956');

    // The idle account spends a little, so its close expires an exact, non-round remainder.
    r = await api('POST', '/v1/usage', { records: [record('req_idle', 250, 'acct_idle')] });
    assert.equal(r.json.results[0].status, 'recorded', JSON.stringify(r.json));

    // Exhaust the credit: $20 of usage against $19.956 left; the overshoot is written off (R6).
    r = await api('POST', '/v1/usage', { records: [record('req_2', 5_000_000)] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.results[0].status, 'recorded');
    assert.equal(r.json.results[0].written_off_usd, '0.044');
    r = await api('POST', '/v1/authorize', { account_id: 'acct_e2e', surface: 'sdk-cli', model: opus });
    assert.equal(r.json.decision, 'deny');
    assert.equal(r.json.reason, 'credit_exhausted');

    // Usage credits on, no limit: the next request is allowed and paid by usage credits.
    r = await api('PUT', '/v1/accounts/acct_e2e/usage-credits', { enabled: true, monthly_limit_usd: null });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    r = await api('POST', '/v1/authorize', { account_id: 'acct_e2e', surface: 'sdk-cli', model: opus });
    assert.equal(r.json.decision, 'allow');
    assert.equal(r.json.source, 'usage_credits');
    r = await api('POST', '/v1/usage', { records: [record('req_3', 3_750)] });
    assert.deepEqual(r.json.results[0].charges, [{ source: 'usage_credits', amount_usd: '0.015' }]);

    // Cross the cycle's close (its end plus the 24 h late-event grace) with the test clock.
    const lastEnd = Math.max(Date.parse(cycle.end), Date.parse(idleCycle.end));
    const closed = new Date(lastEnd + 24 * 3_600_000 + 1_000).toISOString();
    r = await api('POST', '/v1/test-clock', { now: closed });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal((await api('POST', '/v1/test-clock', { now: cycle.start })).status, 409);

    r = await api('GET', `/v1/accounts/acct_e2e/statements/${encodeURIComponent(cycle.start)}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const s = r.json;
    assert.equal(s.closed, true);
    assert.equal(s.sdk_credit.granted_usd, '20');
    assert.equal(s.sdk_credit.used_usd, '20');
    assert.equal(s.sdk_credit.expired_usd, '0');
    assert.equal(s.sdk_credit.remaining_usd, '0');
    assert.equal(s.written_off_usd, '0.044');
    assert.equal(s.usage_credits.charged_usd, '0.015');
    assert.equal(s.usage_credits.billed_usd, '0.02'); // to the cent, half up (R17)

    r = await api('GET', `/v1/accounts/acct_idle/statements/${encodeURIComponent(idleCycle.start)}`);
    assert.equal(r.json.closed, true);
    assert.equal(r.json.sdk_credit.used_usd, '0.001');
    assert.equal(r.json.sdk_credit.expired_usd, '19.999'); // R8: no rollover, to the unit

    // The new cycle has a fresh grant.
    credit = (await api('GET', '/v1/accounts/acct_e2e')).json.sdk_credit;
    assert.equal(credit.granted_usd, '20');
    assert.equal(credit.remaining_usd, '20');

    const started = Date.now();
    const exit = await server.stop(shutdownBoundMs + 5_000);
    assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());
    assert.ok(Date.now() - started < shutdownBoundMs, `shutdown took ${Date.now() - started} ms`);
  });

  it('npm start on a fresh clone: creates ./data, prints the URL and a working admin token', async () => {
    const cwd = tempDir('creditpool-fresh-');
    try {
      // What `npm start` runs, from a directory with no data/ yet; PORT=0 picks a free port.
      const start = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts.start as string;
      assert.equal(start, 'node src/cli/main.ts serve');
      const server = await startServer([], {
        cwd: cwd.path,
        env: { PORT: '0' },
        command: [mainPath, 'serve'],
      });
      servers.push(server);
      const out = server.stdout();
      assert.match(out, /New database: created an admin token/);
      const token = /^ {2}(cp_admin_\S+)$/m.exec(out)?.[1];
      assert.ok(token, out);
      assert.match(out, new RegExp(`curl -s -X POST ${server.url}/v1/accounts`));
      assert.ok(existsSync(join(cwd.path, 'data', 'creditpool.db')));
      const r = await client(server.url, token)('POST', '/v1/accounts', {
        id: 'acct_1',
        kind: 'subscription',
        plan: 'pro',
      });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      assert.deepEqual(await server.stop(), { code: 0, signal: null });
    } finally {
      cwd.remove();
    }
  });
});
