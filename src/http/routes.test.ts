/**
 * Every route and every error code of the HTTP API, in memory (`app.inject`, SQLite `:memory:`,
 * a manual clock). The first suite is one account's cycle end to end, with exact decimal strings;
 * the others cover each remaining route and each problem code at least once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../adapters/storage/sqlite/index.ts';
import type { Store } from '../app/ports.ts';
import { StoreError } from '../app/store-error.ts';
import { problemTable } from './errors.ts';
import { opus, record, startTestServer, type TestServer, testAnchor, testStart } from './test-harness.ts';

function assertProblem(
  r: { status: number; json: unknown; headers: Record<string, unknown> },
  status: number,
  code: string,
) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  const p = r.json as Record<string, unknown>;
  assert.equal(p.code, code, JSON.stringify(p));
  assert.equal(p.status, status);
  assert.equal(typeof p.type, 'string');
  assert.equal(typeof p.title, 'string');
  assert.equal(typeof p.detail, 'string');
}

describe('http: one account through a cycle', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  it('creates, claims, holds, settles, exhausts, pays with usage credits, closes the cycle', async () => {
    let r = await t.call('POST', '/v1/orgs', { body: { id: 'org_1', billing_anchor: testAnchor } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json.usage_credits, {
      enabled: true,
      monthly_limit_usd: null,
      seat_tier_limits_usd: {},
    });

    r = await t.call('POST', '/v1/accounts', {
      body: { id: 'acct_1', kind: 'subscription', plan: 'pro', billing_anchor: testAnchor },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.id, 'acct_1');
    assert.deepEqual(r.json.cycle, { start: '2026-11-03T10:00:00Z', end: '2026-12-03T10:00:00Z' });
    assert.equal(r.json.sdk_credit.status, 'unclaimed');
    assert.equal(r.json.sdk_credit.granted_usd, '0');

    r = await t.call('POST', '/v1/accounts/acct_1/claim');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'claimed');
    assert.equal(r.json.claimed_at, testStart);
    assert.equal(r.json.replayed, false);
    r = await t.call('POST', '/v1/accounts/acct_1/claim');
    assert.equal(r.json.replayed, true);

    r = await t.call('GET', '/v1/accounts/acct_1');
    assert.equal(r.status, 200);
    assert.equal(r.json.sdk_credit.status, 'claimed');
    assert.equal(r.json.sdk_credit.granted_usd, '20');
    assert.equal(r.json.sdk_credit.remaining_usd, '20');
    assert.equal(r.json.sdk_credit.expires_at, '2026-12-04T10:00:00Z');

    const meter = await t.token('meter');
    r = await t.call('POST', '/v1/authorize', {
      token: meter,
      body: {
        account_id: 'acct_1',
        surface: 'sdk-cli',
        model: opus,
        hold: { id: 'hold_1', estimate_usd: '0.5' },
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      decision: 'allow',
      reason: null,
      source: 'sdk_credit',
      hold: { id: 'hold_1', amount_usd: '0.5', expires_at: '2026-11-20T10:10:00Z' },
      retry_at: null,
      class: 'programmatic',
      replayed: false,
    });
    r = await t.call('GET', '/v1/accounts/acct_1');
    assert.equal(r.json.sdk_credit.held_usd, '0.5');
    assert.equal(r.json.sdk_credit.remaining_usd, '19.5');

    r = await t.call('POST', '/v1/holds/hold_1/settle', {
      token: meter,
      body: { record: record('req_1', 'acct_1', testStart, { input_tokens: 11_000, output_tokens: 0 }) },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      id: 'req_1',
      status: 'recorded',
      error: null,
      class: 'programmatic',
      cost_usd: '0.044',
      charges: [{ source: 'sdk_credit', amount_usd: '0.044' }],
      written_off_usd: '0',
    });
    r = await t.call('GET', '/v1/accounts/acct_1');
    assert.equal(r.json.sdk_credit.held_usd, '0');
    assert.equal(r.json.sdk_credit.used_usd, '0.044');
    assert.equal(r.json.sdk_credit.remaining_usd, '19.956');

    // $20 of usage against $19.956 left: the overshoot is written off (R6).
    r = await t.call('POST', '/v1/usage', {
      token: meter,
      body: {
        records: [record('req_2', 'acct_1', testStart, { input_tokens: 5_000_000, output_tokens: 0 })],
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.results, [
      {
        id: 'req_2',
        status: 'recorded',
        error: null,
        class: 'programmatic',
        cost_usd: '20',
        charges: [{ source: 'sdk_credit', amount_usd: '19.956' }],
        written_off_usd: '0.044',
      },
    ]);

    r = await t.call('POST', '/v1/authorize', {
      token: meter,
      body: { account_id: 'acct_1', surface: 'sdk-cli', model: opus },
    });
    assert.equal(r.status, 200);
    assert.equal(r.json.decision, 'deny');
    assert.equal(r.json.reason, 'credit_exhausted');
    assert.equal(r.json.source, null);
    assert.equal(r.json.hold, null);

    r = await t.call('PUT', '/v1/accounts/acct_1/usage-credits', {
      body: { enabled: true, monthly_limit_usd: null },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.usage_credits, {
      enabled: true,
      monthly_limit_usd: null,
      member_limit_usd: null,
      spent_usd: '0',
      held_usd: '0',
    });
    r = await t.call('POST', '/v1/authorize', {
      token: meter,
      body: { account_id: 'acct_1', surface: 'sdk-cli', model: opus },
    });
    assert.equal(r.json.decision, 'allow');
    assert.equal(r.json.source, 'usage_credits');

    const req3 = record('req_3', 'acct_1', testStart, { input_tokens: 3_750, output_tokens: 0 });
    r = await t.call('POST', '/v1/usage', { token: meter, body: { records: [req3] } });
    assert.deepEqual(r.json.results[0].charges, [{ source: 'usage_credits', amount_usd: '0.015' }]);
    r = await t.call('POST', '/v1/usage', { token: meter, body: { records: [req3] } });
    assert.equal(r.json.results[0].status, 'replayed');
    assert.equal(r.json.results[0].cost_usd, '0.015');

    r = await t.call('GET', '/v1/accounts/acct_1/statements/current');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.closed, false);
    assert.equal(r.json.usage_credits.charged_usd, '0.015');

    // Cross the close: the cycle's end plus the 24 h late-event grace.
    r = await t.call('POST', '/v1/test-clock', { body: { now: '2026-12-04T10:00:01Z' } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { now: '2026-12-04T10:00:01Z' });
    r = await t.call('GET', '/v1/test-clock');
    assert.deepEqual(r.json, { now: '2026-12-04T10:00:01Z' });

    r = await t.call('GET', `/v1/accounts/acct_1/statements/${encodeURIComponent('2026-11-03T10:00:00Z')}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      account_id: 'acct_1',
      cycle: { start: '2026-11-03T10:00:00Z', end: '2026-12-03T10:00:00Z', index: 4 },
      closed: true,
      sdk_credit: {
        granted_usd: '20',
        used_usd: '20',
        adjusted_usd: '0',
        expired_usd: '0',
        held_usd: '0',
        remaining_usd: '0',
        exhausted_at: testStart,
      },
      usage_credits: { charged_usd: '0.015', billed_usd: '0.02', held_usd: '0' },
      subscription_usd: '0',
      pay_as_you_go_usd: '0',
      written_off_usd: '0.044',
      adjustments_usd: '0',
      by_surface: [{ surface: 'sdk-cli', cost_usd: '20.059' }],
      by_app: [],
      by_model: [{ model: opus, cost_usd: '20.059' }],
    });

    r = await t.call('GET', '/v1/accounts/acct_1/statements/current');
    assert.equal(r.json.cycle.start, '2026-12-03T10:00:00Z');
    assert.equal(r.json.sdk_credit.granted_usd, '20');
    assert.equal(r.json.closed, false);

    r = await t.call('GET', '/v1/accounts/acct_1/cycles');
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.json.cycles.map((c: { start: string; closed: boolean }) => [c.start, c.closed]),
      [
        ['2026-11-03T10:00:00Z', true],
        ['2026-12-03T10:00:00Z', false],
      ],
    );

    // Entries: every leg, paged by cursor, and one cycle's only.
    r = await t.call('GET', '/v1/accounts/acct_1/entries');
    assert.equal(r.status, 200, r.text);
    const all = r.json.entries as {
      id: string;
      kind: string;
      pool: string;
      amount_usd: string;
      ref: string | null;
    }[];
    assert.deepEqual(
      all.map((e) => [e.kind, e.pool, e.amount_usd, e.ref]),
      [
        ['grant', 'sdk_credit', '20', null],
        ['usage', 'sdk_credit', '-0.044', 'req_1'],
        ['usage', 'sdk_credit', '-19.956', 'req_2'],
        ['usage', 'written_off', '0.044', 'req_2'],
        ['usage', 'usage_credits', '0.015', 'req_3'],
        ['grant', 'sdk_credit', '20', null],
      ],
    );
    assert.equal(r.json.next_cursor, null);
    r = await t.call('GET', '/v1/accounts/acct_1/entries?limit=2');
    assert.equal(r.json.entries.length, 2);
    assert.equal(typeof r.json.next_cursor, 'string');
    r = await t.call('GET', `/v1/accounts/acct_1/entries?limit=2&cursor=${r.json.next_cursor}`);
    assert.deepEqual(
      r.json.entries.map((e: { ref: string | null }) => e.ref),
      // A page is a number of postings; req_2's posting has two legs.
      ['req_2', 'req_2', 'req_3'],
    );
    r = await t.call(
      'GET',
      `/v1/accounts/acct_1/entries?cycle_start=${encodeURIComponent('2026-12-03T10:00:00Z')}`,
    );
    assert.deepEqual(
      r.json.entries.map((e: { kind: string }) => e.kind),
      ['grant'],
    );
  });
});

describe('http: the other routes', () => {
  let t: TestServer;
  let meter: string;
  before(async () => {
    t = await startTestServer();
    meter = await t.token('meter');
    for (const id of ['acct_a', 'acct_b']) {
      const r = await t.call('POST', '/v1/accounts', {
        body: { id, kind: 'subscription', plan: 'pro', billing_anchor: testAnchor },
      });
      assert.equal(r.status, 201, r.text);
      await t.call('POST', `/v1/accounts/${id}/claim`);
    }
  });
  after(() => t.close());

  it('POST /v1/tokens answers the token once, with its role and scope', async () => {
    const r = await t.call('POST', '/v1/tokens', { body: { role: 'account', account_id: 'acct_a' } });
    assert.equal(r.status, 201);
    assert.match(r.json.token, /^cp_account_/);
    assert.deepEqual(
      { ...r.json, token: undefined },
      { token: undefined, role: 'account', account_id: 'acct_a', org_id: null },
    );
    const own = await t.call('GET', '/v1/accounts/acct_a', { token: r.json.token });
    assert.equal(own.status, 200);
  });

  it('PATCH /v1/accounts/{id}: upgrade grants the difference; cancel; remove from the org', async () => {
    let r = await t.call('PATCH', '/v1/accounts/acct_a', { body: { plan: 'max_5x' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.plan, 'max_5x');
    assert.equal(r.json.sdk_credit.granted_usd, '100');
    r = await t.call('PATCH', '/v1/accounts/acct_a', { body: { status: 'canceled' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'canceling');

    await t.call('POST', '/v1/orgs', { body: { id: 'org_p', billing_anchor: testAnchor } });
    r = await t.call('POST', '/v1/accounts', {
      body: { id: 'acct_m', kind: 'subscription', plan: 'team_standard', org_id: 'org_p' },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.org_id, 'org_p');
    await t.call('POST', '/v1/accounts/acct_m/claim');
    r = await t.call('PATCH', '/v1/accounts/acct_m', { body: { org_id: null } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'removed');
    assert.equal(r.json.sdk_credit.remaining_usd, '0');
  });

  it('org usage credits, member limits and the members listing', async () => {
    let r = await t.call('POST', '/v1/orgs', { body: { id: 'org_1', billing_anchor: testAnchor } });
    assert.equal(r.status, 201, r.text);
    r = await t.call('POST', '/v1/accounts', {
      body: { id: 'acct_o1', kind: 'subscription', plan: 'team_premium', org_id: 'org_1' },
    });
    assert.equal(r.status, 201, r.text);
    r = await t.call('PUT', '/v1/orgs/org_1/usage-credits', {
      body: {
        enabled: true,
        monthly_limit_usd: '100',
        seat_tier_limits_usd: { team_premium: '10' },
        member_limits_usd: { acct_o1: '5.5' },
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.usage_credits, {
      enabled: true,
      monthly_limit_usd: '100',
      seat_tier_limits_usd: { team_premium: '10' },
    });
    const orgAdmin = await t.token('org_admin', { org_id: 'org_1' });
    r = await t.call('GET', '/v1/orgs/org_1/members', { token: orgAdmin });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.json.members.map((m: { id: string; usage_credits: { member_limit_usd: string } }) => [
        m.id,
        m.usage_credits.member_limit_usd,
      ]),
      [['acct_o1', '5.5']],
    );
  });

  it('PUT /v1/accounts/{id}/apps/{app}: a blocked app is denied', async () => {
    const token = await t.token('account', { account_id: 'acct_b' });
    let r = await t.call('PUT', '/v1/accounts/acct_b/apps/some-app', {
      token,
      body: { cycle_cap_usd: '5', blocked: true },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { account_id: 'acct_b', app: 'some-app', cycle_cap_usd: '5', blocked: true });
    r = await t.call('POST', '/v1/authorize', {
      token: meter,
      body: { account_id: 'acct_b', surface: 'sdk-cli', app: 'some-app', model: opus },
    });
    assert.equal(r.json.decision, 'deny');
    assert.equal(r.json.reason, 'app_blocked');
  });

  it('holds: void, estimate from usage, ambiguous ids', async () => {
    let r = await t.call('POST', '/v1/authorize', {
      token: meter,
      body: {
        account_id: 'acct_b',
        surface: 'sdk-cli',
        model: opus,
        hold: { id: 'h_usage', estimate_usage: { input_tokens: 1000, output_tokens: 2000 }, ttl_seconds: 60 },
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.hold.amount_usd, '0.044');
    r = await t.call('POST', '/v1/holds/h_usage/void', { token: meter });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'voided');
    assert.equal(r.json.released_usd, '0.044');
    // Voiding again answers the same, releasing nothing more.
    r = await t.call('POST', '/v1/holds/h_usage/void', { token: meter, body: { account_id: 'acct_b' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.released_usd, '0');

    for (const account of ['acct_a', 'acct_b']) {
      r = await t.call('POST', '/v1/authorize', {
        token: meter,
        body: { account_id: account, surface: 'sdk-cli', hold: { id: 'shared', estimate_usd: '1' } },
      });
      assert.equal(r.json.decision, 'allow', r.text);
    }
    assertProblem(await t.call('POST', '/v1/holds/shared/void', { token: meter }), 409, 'hold_ambiguous');
    r = await t.call('POST', '/v1/holds/shared/void', { token: meter, body: { account_id: 'acct_a' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.account_id, 'acct_a');
  });

  it('POST /v1/quote prices without recording', async () => {
    const r = await t.call('POST', '/v1/quote', {
      token: meter,
      body: { model: opus, usage: { input_tokens: 1000, output_tokens: 2000 }, at: testStart },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.cost_usd, '0.044');
    assert.equal(r.json.model, opus);
    assert.equal(r.json.at, testStart);
    assert.deepEqual(
      r.json.lines.map((l: { category: string; quantity: number; amount_usd: string }) => [
        l.category,
        l.quantity,
        l.amount_usd,
      ]),
      [
        ['input', 1000, '0.004'],
        ['output', 2000, '0.04'],
      ],
    );
  });

  it('POST /v1/accounts/{id}/adjustments: created, replayed, conflicting', async () => {
    const body = { id: 'adj_1', pool: 'sdk_credit', amount_usd: '2.5', reason: 'goodwill' };
    let r = await t.call('POST', '/v1/accounts/acct_b/adjustments', { body });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.replayed, false);
    assert.equal(r.json.kind, 'adjustment');
    r = await t.call('POST', '/v1/accounts/acct_b/adjustments', { body });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.replayed, true);
    assertProblem(
      await t.call('POST', '/v1/accounts/acct_b/adjustments', { body: { ...body, amount_usd: '3' } }),
      409,
      'idempotency_conflict',
    );
    r = await t.call('GET', '/v1/accounts/acct_b/statements/current');
    assert.equal(r.json.adjustments_usd, '2.5');
    assert.equal(r.json.sdk_credit.adjusted_usd, '2.5');
  });

  it('catalogues: plans, surfaces, prices', async () => {
    let r = await t.call('GET', '/v1/plans', { token: meter });
    assert.equal(r.status, 200, r.text);
    const pro = r.json.plans.find((p: { id: string }) => p.id === 'pro');
    assert.equal(pro.credit_usd, '20');
    r = await t.call('GET', '/v1/surfaces', { token: meter });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.at, testStart);
    const classes = new Map(
      r.json.rules.map((x: { pattern: string; class: string }) => [x.pattern, x.class]),
    );
    assert.equal(classes.get('sdk-cli'), 'programmatic');
    assert.equal(classes.get('cli'), 'interactive');
    r = await t.call('GET', `/v1/prices?at=${encodeURIComponent(testStart)}`, { token: meter });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.at, testStart);
    const row = r.json.rows.find(
      (x: { model: string; mode: string }) => x.model === opus && x.mode === 'standard',
    );
    assert.equal(row.input_usd_per_mtok, '4');
    r = await t.call('GET', '/v1/prices', { token: meter });
    assert.equal(r.json.at, testStart);
  });

  it('GET /healthz, GET /metrics', async () => {
    let r = await t.call('GET', '/healthz', { token: null });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok' });
    r = await t.call('GET', '/metrics', { token: meter });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] as string, /^text\/plain/);
    assert.match(r.text, /creditpool_authorize_decisions_total\{decision="deny",reason="app_blocked"\} 1/);
    assert.match(
      r.text,
      /creditpool_http_request_duration_seconds_count\{method="POST",route="\/v1\/authorize",status="200"\}/,
    );
    assertProblem(await t.call('GET', '/metrics', { token: null }), 401, 'unauthorized');
  });
});

describe('http: every error code', () => {
  let t: TestServer;
  let meter: string;
  before(async () => {
    t = await startTestServer();
    meter = await t.token('meter');
    await t.call('POST', '/v1/accounts', {
      body: { id: 'acct_1', kind: 'subscription', plan: 'pro', billing_anchor: testAnchor },
    });
    await t.call('POST', '/v1/accounts/acct_1/claim');
    await t.call('POST', '/v1/accounts', { body: { id: 'acct_api', kind: 'api' } });
  });
  after(() => t.close());

  it('400 invalid_request: schema, malformed JSON, prototype keys, nesting; 415 media type', async () => {
    assertProblem(
      await t.call('POST', '/v1/accounts', { body: { id: 'x', kind: 'business' } }),
      400,
      'invalid_request',
    );
    assertProblem(await t.call('POST', '/v1/accounts', { payload: '{"id": ' }), 400, 'invalid_request');
    assertProblem(
      await t.call('POST', '/v1/accounts', { payload: '{"id":"p","kind":"api","__proto__":{"admin":true}}' }),
      400,
      'invalid_request',
    );
    assertProblem(
      await t.call('POST', '/v1/quote', { payload: `${'['.repeat(10_000)}${']'.repeat(10_000)}` }),
      400,
      'invalid_request',
    );
    assertProblem(
      await t.call('PUT', '/v1/accounts/acct_1/usage-credits', { body: { enabled: 'true' } }),
      400,
      'invalid_request',
    );
    // Money is never a JSON number.
    assertProblem(
      await t.call('PUT', '/v1/accounts/acct_1/usage-credits', {
        body: { enabled: true, monthly_limit_usd: 25 },
      }),
      400,
      'invalid_request',
    );
    assertProblem(
      await t.call('POST', '/v1/quote', {
        body: { model: opus, usage: { input_tokens: -1, output_tokens: 0 } },
      }),
      400,
      'invalid_request',
    );
    assertProblem(
      await t.call('POST', '/v1/quote', {
        body: { model: opus, usage: { input_tokens: 1, output_tokens: 0, speed: 'warp' } },
      }),
      400,
      'invalid_request',
    );
    assertProblem(await t.call('GET', '/v1/accounts/acct_1/entries?limit=0'), 400, 'invalid_request');
    assertProblem(await t.call('GET', '/v1/accounts/acct_1/statements/yesterday'), 400, 'invalid_request');
    assertProblem(
      await t.call('POST', '/v1/accounts', { payload: 'id=x', contentType: 'text/plain' }),
      415,
      'invalid_request',
    );
    assertProblem(await t.call('POST', '/v1/accounts'), 400, 'invalid_request');
  });

  it('401 unauthorized, 403 forbidden, 404 not_found', async () => {
    assertProblem(await t.call('GET', '/v1/accounts/acct_1', { token: null }), 401, 'unauthorized');
    assertProblem(await t.call('GET', '/v1/accounts/acct_1', { token: 'nope' }), 401, 'unauthorized');
    assertProblem(
      await t.call('GET', '/v1/accounts/acct_1', {
        headers: { authorization: 'Basic YWRtaW46YWRtaW4=' },
        token: null,
      }),
      401,
      'unauthorized',
    );
    const account = await t.token('account', { account_id: 'acct_1' });
    assertProblem(
      await t.call('POST', '/v1/authorize', {
        token: account,
        body: { account_id: 'acct_1', surface: 'sdk-cli' },
      }),
      403,
      'forbidden',
    );
    assertProblem(await t.call('GET', '/v1/accounts/nobody'), 404, 'not_found');
    assertProblem(await t.call('GET', '/v1/nothing-here'), 404, 'not_found');
    assertProblem(await t.call('POST', '/v1/holds/none/void', { token: meter }), 404, 'not_found');
  });

  it('409: already_exists, idempotency_conflict, hold_not_active, clock_backwards', async () => {
    assertProblem(
      await t.call('POST', '/v1/accounts', { body: { id: 'acct_1', kind: 'subscription', plan: 'pro' } }),
      409,
      'already_exists',
    );
    const hold = { id: 'h1', estimate_usd: '1' };
    let r = await t.call('POST', '/v1/authorize', {
      token: meter,
      body: { account_id: 'acct_1', surface: 'sdk-cli', hold },
    });
    assert.equal(r.json.decision, 'allow');
    r = await t.call('POST', '/v1/authorize', {
      token: meter,
      body: { account_id: 'acct_1', surface: 'sdk-cli', hold },
    });
    assert.equal(r.json.replayed, true);
    assertProblem(
      await t.call('POST', '/v1/authorize', {
        token: meter,
        body: { account_id: 'acct_1', surface: 'sdk-cli', hold: { ...hold, estimate_usd: '2' } },
      }),
      409,
      'idempotency_conflict',
    );
    r = await t.call('POST', '/v1/holds/h1/settle', {
      token: meter,
      body: { record: record('r1', 'acct_1', testStart) },
    });
    assert.equal(r.json.status, 'recorded', r.text);
    assertProblem(await t.call('POST', '/v1/holds/h1/void', { token: meter }), 409, 'hold_not_active');
    assertProblem(
      await t.call('POST', '/v1/test-clock', { body: { now: '2026-01-01T00:00:00Z' } }),
      409,
      'clock_backwards',
    );
  });

  it('413 batch_too_large: more than 1000 records (even malformed ones), or a body over the limit', async () => {
    const one = record('r', 'acct_1', testStart);
    assertProblem(
      await t.call('POST', '/v1/usage', {
        token: meter,
        body: { records: Array.from({ length: 1001 }, () => one) },
      }),
      413,
      'batch_too_large',
    );
    assertProblem(
      await t.call('POST', '/v1/usage', {
        token: meter,
        body: { records: Array.from({ length: 5000 }, () => ({ id: 1 })) },
      }),
      413,
      'batch_too_large',
    );
    assertProblem(
      await t.call('POST', '/v1/usage', {
        token: meter,
        body: { records: [{ ...one, pad: 'x'.repeat(5 * 1024 * 1024) }] },
      }),
      413,
      'batch_too_large',
    );
    assertProblem(
      await t.call('POST', '/v1/accounts', { body: { id: 'big', kind: 'api', pad: 'x'.repeat(100_000) } }),
      413,
      'batch_too_large',
    );
    // Exactly 1000 is accepted.
    const records = Array.from({ length: 1000 }, (_, i) =>
      record(`b${i}`, 'acct_1', testStart, { input_tokens: 1, output_tokens: 0 }),
    );
    const r = await t.call('POST', '/v1/usage', { token: meter, body: { records } });
    assert.equal(r.status, 200, r.text.slice(0, 500));
    assert.equal(r.json.results.length, 1000);
  });

  it('422: not_eligible, unknown_plan, unknown_surface, unknown_model, insufficient_credit, event_too_old', async () => {
    assertProblem(await t.call('POST', '/v1/accounts/acct_api/claim'), 422, 'not_eligible');
    assertProblem(
      await t.call('POST', '/v1/accounts', {
        body: { id: 'acct_x', kind: 'subscription', plan: 'platinum' },
      }),
      422,
      'unknown_plan',
    );
    assertProblem(
      await t.call('POST', '/v1/authorize', {
        token: meter,
        body: { account_id: 'acct_1', surface: 'telepathy' },
      }),
      422,
      'unknown_surface',
    );
    assertProblem(
      await t.call('POST', '/v1/quote', {
        token: meter,
        body: { model: 'gpt-9', usage: { input_tokens: 1, output_tokens: 1 } },
      }),
      422,
      'unknown_model',
    );
    assertProblem(
      await t.call('POST', '/v1/accounts/acct_1/adjustments', {
        body: { id: 'too_much', pool: 'sdk_credit', amount_usd: '-1000', reason: 'oops' },
      }),
      422,
      'insufficient_credit',
    );
    // A record for a closed cycle cannot be reclassified in place (R15).
    let r = await t.call('POST', '/v1/usage', {
      token: meter,
      body: { records: [record('old_1', 'acct_1', testStart)] },
    });
    assert.equal(r.json.results[0].status, 'recorded', r.text);
    r = await t.call('POST', '/v1/test-clock', { body: { now: '2026-12-05T00:00:00Z' } });
    assert.equal(r.status, 200);
    assertProblem(
      await t.call('POST', '/v1/accounts/acct_1/adjustments', {
        body: {
          id: 'recl',
          kind: 'reclassification',
          record_id: 'old_1',
          to_class: 'interactive',
          reason: 'misfiled',
        },
      }),
      422,
      'event_too_old',
    );
  });

  it('per-record refusals are 200 results: event_too_old, event_in_future, unknown_surface, unknown_model, not_found', async () => {
    const now = '2026-12-05T00:00:00Z';
    const r = await t.call('POST', '/v1/usage', {
      token: meter,
      body: {
        records: [
          record('x_old', 'acct_1', '2026-11-20T10:00:00Z'),
          record('x_future', 'acct_1', '2026-12-05T00:10:00Z'),
          record('x_surface', 'acct_1', now, undefined, 'telepathy'),
          { ...record('x_model', 'acct_1', now), model: 'gpt-9' },
          record('x_nobody', 'acct_nobody', now),
          record('x_ok', 'acct_1', now),
        ],
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.json.results.map((x: { id: string; status: string; error: { code: string } | null }) => [
        x.id,
        x.status,
        x.error?.code ?? null,
      ]),
      [
        ['x_old', 'rejected', 'event_too_old'],
        ['x_future', 'rejected', 'event_in_future'],
        ['x_surface', 'rejected', 'unknown_surface'],
        ['x_model', 'rejected', 'unknown_model'],
        ['x_nobody', 'rejected', 'not_found'],
        ['x_ok', 'recorded', null],
      ],
    );
  });

  it('test clock routes are 404 on a server without one', async () => {
    const plain = await startTestServer({ testClock: false });
    try {
      assertProblem(await plain.call('GET', '/v1/test-clock'), 404, 'not_found');
      assertProblem(
        await plain.call('POST', '/v1/test-clock', { body: { now: '2027-01-01T00:00:00Z' } }),
        404,
        'not_found',
      );
    } finally {
      await plain.close();
    }
  });

  it('every code of the table is a known status', () => {
    for (const [code, { status }] of Object.entries(problemTable)) {
      assert.ok(status >= 400 && status < 600, code);
    }
  });
});

/** A store whose calls can be made to fail, to see 503 and 500 answers. */
function faultyStore(inner: Store): {
  store: Store;
  fail: (mode: 'ok' | 'unavailable' | 'conflict' | 'bug' | 'down') => void;
} {
  let mode: 'ok' | 'unavailable' | 'conflict' | 'bug' | 'down' = 'ok';
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (mode === 'down' && property === 'ping') return Promise.resolve(false);
        if (property === 'read' || property === 'transaction') {
          if (mode === 'unavailable') return Promise.reject(new StoreError('unavailable', 'disk I/O error'));
          if (mode === 'conflict')
            return Promise.reject(new StoreError('conflict', 'serialization failures'));
          if (mode === 'bug') return Promise.reject(new Error('secret internals at /var/lib/creditpool'));
        }
        return value.apply(target, args);
      };
    },
  });
  return { store, fail: (m) => (mode = m) };
}

describe('http: storage failures', () => {
  let t: TestServer;
  let fail: (mode: 'ok' | 'unavailable' | 'conflict' | 'bug' | 'down') => void;
  before(async () => {
    const faulty = faultyStore(await openSqliteStore({ path: ':memory:' }));
    fail = faulty.fail;
    t = await startTestServer({ store: faulty.store });
    await t.call('POST', '/v1/accounts', { body: { id: 'acct_1', kind: 'api' } });
  });
  after(() => {
    fail('ok');
    return t.close();
  });

  it('503 unavailable with Retry-After; 500 internal without internals', async () => {
    fail('unavailable');
    let r = await t.call('GET', '/v1/accounts/acct_1');
    assertProblem(r, 503, 'unavailable');
    assert.equal(r.headers['retry-after'], '1');
    fail('conflict');
    assertProblem(
      await t.call('POST', '/v1/accounts', { body: { id: 'acct_2', kind: 'api' } }),
      503,
      'unavailable',
    );
    fail('bug');
    r = await t.call('GET', '/v1/accounts/acct_1');
    assertProblem(r, 500, 'internal');
    assert.doesNotMatch(r.text, /secret|\/var\/lib|stack/);
    fail('down');
    assertProblem(await t.call('GET', '/healthz', { token: null }), 503, 'unavailable');
    fail('ok');
    assert.equal((await t.call('GET', '/healthz', { token: null })).status, 200);
  });
});
