/**
 * The dashboard's server side (issue 7): the static files at `/` (public, typed, cached with
 * ETags, compressed, under a strict CSP, no path reaching the file system), `GET /v1/me`,
 * `GET /v1/orgs/{id}` and the app policies in the account view.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { contentSecurityPolicy, listWebFiles, webRoutes } from './routes/web.ts';
import { startTestServer, type TestServer, testStart } from './test-harness.ts';

describe('http: the dashboard files', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('GET / needs no token: the page, as HTML, under the CSP, revalidated by ETag', async () => {
    const r = await t.call('GET', '/', { token: null });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/html; charset=utf-8/);
    assert.equal(r.headers['content-security-policy'], contentSecurityPolicy);
    assert.match(contentSecurityPolicy, /script-src 'self'/);
    assert.doesNotMatch(contentSecurityPolicy, /unsafe-inline|unsafe-eval/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.match(r.text, /<script type="module" src="\/js\/main.js">/);
    const etag = String(r.headers.etag);
    assert.match(etag, /^"[\w-]+"$/);
    const again = await t.call('GET', '/', { token: null, headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
  });

  it('serves the modules as JavaScript and uPlot from the installed package, gzipped when asked', async () => {
    const main = await t.call('GET', '/js/main.js', { token: null });
    assert.equal(main.status, 200);
    assert.match(String(main.headers['content-type']), /^text\/javascript/);
    const response = await t.app.inject({
      method: 'GET',
      url: '/vendor/uplot/uPlot.esm.js',
      headers: { 'accept-encoding': 'gzip, br' },
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-encoding'], 'gzip');
    assert.match(gunzipSync(response.rawPayload).toString('utf8'), /export \{ uPlot as default \}/);
    const css = await t.call('GET', '/vendor/uplot/uPlot.min.css', { token: null });
    assert.match(String(css.headers['content-type']), /^text\/css/);
  });

  it('an unknown file, or a path that climbs out, is the usual 404 problem', async () => {
    for (const url of [
      '/nope.js',
      '/js/../../package.json',
      '/%2e%2e/package.json',
      '/vendor/uplot/package.json',
    ]) {
      const r = await t.call('GET', url, { token: null });
      assert.equal(r.status, 404, url);
      assert.equal(r.json?.code, 'not_found', url);
    }
  });

  it('the files stay out of the OpenAPI document', async () => {
    const r = await t.call('GET', '/openapi.json', { token: null });
    const paths = Object.keys(r.json.paths);
    assert.ok(paths.includes('/v1/me'));
    assert.ok(
      !paths.some((p) => p === '/' || p.startsWith('/js/') || p.startsWith('/vendor/')),
      paths.join(),
    );
  });

  it('API routes still need a token', async () => {
    const r = await t.call('GET', '/v1/me', { token: null });
    assert.equal(r.status, 401);
  });
});

describe('http: webRoutes on a folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'creditpool-web-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('lists known file types only, skips dot files, maps / to index.html', async () => {
    mkdirSync(join(root, 'js'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(join(root, 'js', 'a.js'), 'export const a = 1;');
    writeFileSync(join(root, '.env'), 'SECRET=1');
    writeFileSync(join(root, 'notes.md'), '# not served');
    const urls = listWebFiles(root).map((f) => f.url);
    assert.deepEqual(
      urls.filter((u) => !u.startsWith('/vendor/')).sort(),
      ['/', '/index.html', '/js/a.js'].sort(),
    );
    const app = Fastify();
    webRoutes(app, root);
    const first = await app.inject({ method: 'GET', url: '/js/a.js' });
    assert.equal(first.body, 'export const a = 1;');
    // Edited on disk: the next request serves the new version (the cache keys on size and mtime).
    writeFileSync(join(root, 'js', 'a.js'), 'export const a = 22;');
    const second = await app.inject({ method: 'GET', url: '/js/a.js' });
    assert.equal(second.body, 'export const a = 22;');
    assert.notEqual(second.headers.etag, first.headers.etag);
    assert.equal((await app.inject({ method: 'GET', url: '/.env' })).statusCode, 404);
    await app.close();
  });
});

describe('http: GET /v1/me, GET /v1/orgs/{id}, apps in the account view', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await t.call('POST', '/v1/orgs', { body: { id: 'org_1', billing_anchor: '2026-07-03T10:00:00Z' } });
    await t.call('POST', '/v1/orgs', { body: { id: 'org_2', billing_anchor: '2026-07-03T10:00:00Z' } });
    const member = { id: 'm_1', kind: 'subscription', plan: 'team_standard', org_id: 'org_1' };
    assert.equal((await t.call('POST', '/v1/accounts', { body: member })).status, 201);
    const solo = { id: 'acct_1', kind: 'subscription', plan: 'pro', billing_anchor: '2026-07-03T10:00:00Z' };
    assert.equal((await t.call('POST', '/v1/accounts', { body: solo })).status, 201);
  });
  after(() => t.close());

  it('/v1/me says who the token is, and the server clock (a test clock here)', async () => {
    const account = await t.token('account', { account_id: 'acct_1' });
    assert.deepEqual((await t.call('GET', '/v1/me', { token: account })).json, {
      role: 'account',
      account_id: 'acct_1',
      org_id: null,
      now: testStart,
    });
    const orgAdmin = await t.token('org_admin', { org_id: 'org_1' });
    assert.deepEqual((await t.call('GET', '/v1/me', { token: orgAdmin })).json, {
      role: 'org_admin',
      account_id: null,
      org_id: 'org_1',
      now: testStart,
    });
    assert.equal((await t.call('GET', '/v1/me')).json.role, 'admin');
  });

  it('/v1/orgs/{id}: the org admin reads its own org; another org is 404, an account token 403', async () => {
    const orgAdmin = await t.token('org_admin', { org_id: 'org_1' });
    await t.call('PUT', '/v1/orgs/org_1/usage-credits', {
      body: { enabled: true, monthly_limit_usd: '150', seat_tier_limits_usd: { team_standard: '15' } },
    });
    const r = await t.call('GET', '/v1/orgs/org_1', { token: orgAdmin });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, 'org_1');
    assert.deepEqual(r.json.usage_credits, {
      enabled: true,
      monthly_limit_usd: '150',
      seat_tier_limits_usd: { team_standard: '15' },
    });
    assert.equal((await t.call('GET', '/v1/orgs/org_2', { token: orgAdmin })).status, 404);
    assert.equal((await t.call('GET', '/v1/orgs/nope', { token: orgAdmin })).status, 404);
    const account = await t.token('account', { account_id: 'acct_1' });
    assert.equal((await t.call('GET', '/v1/orgs/org_1', { token: account })).status, 403);
  });

  it('the account view lists the app policies the holder set (R16)', async () => {
    const account = await t.token('account', { account_id: 'acct_1' });
    assert.deepEqual((await t.call('GET', '/v1/accounts/acct_1', { token: account })).json.apps, []);
    await t.call('PUT', '/v1/accounts/acct_1/apps/zeta-bot', { token: account, body: { blocked: true } });
    await t.call('PUT', '/v1/accounts/acct_1/apps/alpha', {
      token: account,
      body: { cycle_cap_usd: '12.5' },
    });
    assert.deepEqual((await t.call('GET', '/v1/accounts/acct_1', { token: account })).json.apps, [
      { app: 'alpha', cycle_cap_usd: '12.5', blocked: false },
      { app: 'zeta-bot', cycle_cap_usd: null, blocked: true },
    ]);
  });
});
