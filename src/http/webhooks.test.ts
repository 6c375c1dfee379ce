/**
 * The webhook routes (API.md "Webhooks"): registration with its one-time secret, URL and event
 * validation, scopes per role (a foreign endpoint answers like a missing one), deletion, the
 * delivery log, and an admin's replay of a dead letter, end to end through a server that runs its
 * own delivery worker against a loopback receiver.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqliteStore } from '../adapters/storage/sqlite/index.ts';
import { seededRandom, TestReceiver } from '../adapters/webhooks/test-receiver.ts';
import { eventTypes } from '../app/events.ts';
import { type AppContext, defaultCatalogues, ManualClock } from '../app/index.ts';
import { parseInstant } from '../core/time.ts';
import { buildServer } from './server.ts';
import { adminToken, startTestServer, type TestServer, testAnchor } from './test-harness.ts';

const hook = 'https://hooks.example.com/creditpool';

describe('http: webhooks', () => {
  let t: TestServer;
  const tokens: Record<string, string> = {};
  before(async () => {
    t = await startTestServer();
    for (const [url, body] of [
      ['/v1/orgs', { id: 'org_1', billing_anchor: testAnchor }],
      ['/v1/orgs', { id: 'org_2', billing_anchor: testAnchor }],
      ['/v1/accounts', { id: 'acct_a', kind: 'subscription', plan: 'pro', billing_anchor: testAnchor }],
      ['/v1/accounts', { id: 'acct_b', kind: 'subscription', plan: 'pro', billing_anchor: testAnchor }],
      ['/v1/accounts', { id: 'acct_m', kind: 'subscription', plan: 'team_standard', org_id: 'org_1' }],
    ] as const) {
      const r = await t.call('POST', url, { body });
      assert.equal(r.status, 201, r.text);
    }
    tokens.a = await t.token('account', { account_id: 'acct_a' });
    tokens.org = await t.token('org_admin', { org_id: 'org_1' });
    tokens.meter = await t.token('meter');
  });
  after(() => t.close());

  it('registers an endpoint and shows its Standard Webhooks secret once', async () => {
    const r = await t.call('POST', '/v1/webhooks', {
      body: { url: hook, events: ['credit.exhausted', 'credit.claimed'] },
    });
    assert.equal(r.status, 201, r.text);
    assert.match(r.json.id, /^wh_[0-9a-f]{24}$/);
    assert.match(r.json.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(r.json.events, ['credit.claimed', 'credit.exhausted']);
    assert.equal(r.json.account_id, null);
    assert.equal(r.json.org_id, null);
    assert.equal(r.json.url, hook);
    const list = await t.call('GET', '/v1/webhooks');
    assert.equal(list.status, 200);
    const listed = list.json.webhooks.find((w: { id: string }) => w.id === r.json.id);
    assert.ok(listed);
    assert.equal(listed.secret, undefined, 'the secret is never shown again');
    assert.ok(!list.text.includes(r.json.secret));
  });

  it('validates the URL and the event types', async () => {
    const cases: [unknown, RegExp][] = [
      [{ url: 'ftp://hooks.example.com/x', events: ['credit.claimed'] }, /http: or https:/],
      [{ url: 'https://user:pw@hooks.example.com/x', events: ['credit.claimed'] }, /credentials/],
      [{ url: 'https://hooks.example.com/x#frag', events: ['credit.claimed'] }, /fragment/],
      [{ url: 'not a url', events: ['credit.claimed'] }, /absolute URL/],
      [{ url: `https://hooks.example.com/${'x'.repeat(2100)}`, events: ['credit.claimed'] }, /2048/],
      [{ url: 'http://127.0.0.1:9000/x', events: ['credit.claimed'] }, /CREDITPOOL_WEBHOOK_ALLOW_PRIVATE/],
      [{ url: 'http://localhost:9000/x', events: ['credit.claimed'] }, /private or loopback/],
      [{ url: 'http://10.1.2.3/x', events: ['credit.claimed'] }, /private or loopback/],
      [{ url: 'http://[::1]/x', events: ['credit.claimed'] }, /private or loopback/],
      [{ url: 'http://169.254.169.254/latest', events: ['credit.claimed'] }, /private or loopback/],
      [{ url: hook, events: ['credit.nope'] }, /must be equal to one of the allowed values/],
      [{ url: hook, events: [] }, /fewer than 1/],
      [{ url: hook, events: ['credit.claimed', 'credit.claimed'] }, /duplicate/],
      [{ url: hook, events: ['credit.claimed'], account_id: 'acct_a', org_id: 'org_1' }, /not both/],
    ];
    for (const [body, detail] of cases) {
      const r = await t.call('POST', '/v1/webhooks', { body });
      assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${r.text}`);
      assert.match(r.json.detail, detail);
    }
    const missing = await t.call('POST', '/v1/webhooks', {
      body: { url: hook, events: ['credit.claimed'], account_id: 'acct_z' },
    });
    assert.equal(missing.status, 404, missing.text);
  });

  it('scopes: an account its own, an org admin its org, a meter nothing; foreign reads like missing', async () => {
    const own = await t.call('POST', '/v1/webhooks', {
      token: tokens.a,
      body: { url: hook, events: ['credit.claimed'] },
    });
    assert.equal(own.status, 201, own.text);
    assert.equal(own.json.account_id, 'acct_a');
    const explicit = await t.call('POST', '/v1/webhooks', {
      token: tokens.a,
      body: { url: hook, events: ['credit.claimed'], account_id: 'acct_a' },
    });
    assert.equal(explicit.status, 201);
    const foreign = await t.call('POST', '/v1/webhooks', {
      token: tokens.a,
      body: { url: hook, events: ['credit.claimed'], account_id: 'acct_b' },
    });
    const ghost = await t.call('POST', '/v1/webhooks', {
      token: tokens.a,
      body: { url: hook, events: ['credit.claimed'], account_id: 'acct_ghost' },
    });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.text.replaceAll('acct_b', 'X'), ghost.text.replaceAll('acct_ghost', 'X'));
    const orgByAccount = await t.call('POST', '/v1/webhooks', {
      token: tokens.a,
      body: { url: hook, events: ['credit.claimed'], org_id: 'org_1' },
    });
    assert.equal(orgByAccount.status, 404);

    const org = await t.call('POST', '/v1/webhooks', {
      token: tokens.org,
      body: { url: hook, events: ['plan.changed'] },
    });
    assert.equal(org.status, 201, org.text);
    assert.equal(org.json.org_id, 'org_1');
    const otherOrg = await t.call('POST', '/v1/webhooks', {
      token: tokens.org,
      body: { url: hook, events: ['plan.changed'], org_id: 'org_2' },
    });
    assert.equal(otherOrg.status, 404);
    const member = await t.call('POST', '/v1/webhooks', {
      token: tokens.org,
      body: { url: hook, events: ['plan.changed'], account_id: 'acct_m' },
    });
    assert.equal(member.status, 400);
    const meter = await t.call('POST', '/v1/webhooks', {
      token: tokens.meter,
      body: { url: hook, events: ['plan.changed'] },
    });
    assert.equal(meter.status, 403);

    const ids = async (token: string) =>
      ((await t.call('GET', '/v1/webhooks', { token })).json.webhooks as { id: string }[])
        .map((w) => w.id)
        .sort();
    assert.deepEqual(await ids(tokens.a!), [own.json.id, explicit.json.id].sort());
    assert.deepEqual(await ids(tokens.org!), [org.json.id]);
    const all = await ids(adminToken);
    for (const id of [own.json.id, explicit.json.id, org.json.id]) assert.ok(all.includes(id));

    // Another scope's endpoint: 404, byte for byte like a missing one, for delete and the log.
    for (const [method, suffix] of [
      ['DELETE', ''],
      ['GET', '/deliveries'],
    ] as const) {
      const a = await t.call(method, `/v1/webhooks/${org.json.id}${suffix}`, { token: tokens.a });
      const b = await t.call(method, `/v1/webhooks/wh_000000000000000000000000${suffix}`, {
        token: tokens.a,
      });
      assert.equal(a.status, 404);
      assert.equal(
        a.text.replaceAll(org.json.id, 'X'),
        b.text.replaceAll('wh_000000000000000000000000', 'X'),
      );
    }
    const deleted = await t.call('DELETE', `/v1/webhooks/${own.json.id}`, { token: tokens.a });
    assert.equal(deleted.status, 200, deleted.text);
    assert.deepEqual(deleted.json, { id: own.json.id, deleted: true });
    assert.deepEqual(await ids(tokens.a!), [explicit.json.id]);
    assert.equal((await t.call('DELETE', `/v1/webhooks/${own.json.id}`, { token: tokens.a })).status, 404);
    const log = await t.call('GET', `/v1/webhooks/${explicit.json.id}/deliveries`, { token: tokens.a });
    assert.equal(log.status, 200);
    assert.deepEqual(log.json, { deliveries: [], next_cursor: null });
  });

  it('bounds the endpoints per account', async () => {
    await t.call('POST', '/v1/accounts', { body: { id: 'acct_many', kind: 'api' } });
    for (let i = 0; i < 10; i++) {
      const r = await t.call('POST', '/v1/webhooks', {
        body: { url: hook, events: ['credit.claimed'], account_id: 'acct_many' },
      });
      assert.equal(r.status, 201, r.text);
    }
    const over = await t.call('POST', '/v1/webhooks', {
      body: { url: hook, events: ['credit.claimed'], account_id: 'acct_many' },
    });
    assert.equal(over.status, 400);
    assert.match(over.json.detail, /at most 10/);
  });
});

describe('http: webhooks delivered by the server’s own worker', () => {
  it('signs with the endpoint secret, logs the attempts, dead-letters, and an admin replays', async () => {
    const receiver = new TestReceiver({ seed: 7 });
    const base = await receiver.listen();
    const store = await openSqliteStore({ path: ':memory:' });
    const ctx: AppContext = {
      store,
      clock: new ManualClock(parseInstant('2026-11-20T10:00:00Z')),
      catalogues: defaultCatalogues,
    };
    const app = await buildServer({
      ctx,
      adminToken: 'admin-secret',
      logger: false,
      processMetrics: false,
      dashboard: false,
      webhooks: {
        allowPrivate: true,
        worker: {
          attemptsMax: 2,
          backoffBaseMs: 10,
          backoffCapMs: 50,
          timeoutMs: 500,
          pollMs: 10,
          random: seededRandom(7),
        },
      },
    });
    const call = async (method: string, url: string, body?: unknown, token = 'admin-secret') => {
      const r = await app.inject({
        method: method as 'GET',
        url,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      return { status: r.statusCode, json: r.json() };
    };
    try {
      const created = await call('POST', '/v1/webhooks', { url: `${base}/in`, events: [...eventTypes] });
      assert.equal(created.status, 201);
      receiver.expect('/in', created.json.secret);
      receiver.force = 'fail';
      await call('POST', '/v1/accounts', { id: 'acct_1', kind: 'subscription', plan: 'pro' });
      const tokenOfAccount = (await call('POST', '/v1/tokens', { role: 'account', account_id: 'acct_1' }))
        .json.token;
      await call('POST', '/v1/accounts/acct_1/claim', undefined, tokenOfAccount);
      const log = async () =>
        (await call('GET', `/v1/webhooks/${created.json.id}/deliveries`)).json.deliveries;
      for (let i = 0; (await log())[0]?.status !== 'dead'; i++) {
        assert.ok(i < 500, 'no dead letter in time');
        await sleep(10);
      }
      const [dead] = await log();
      assert.equal(dead.event_type, 'credit.claimed');
      assert.equal(dead.attempts, 2);
      assert.equal(dead.next_retry_at, null);
      assert.equal(dead.last_status_code, 500);
      assert.equal(dead.attempt_log.length, 2);
      assert.equal(dead.attempt_log[0].error, 'HTTP 500');
      const refused = await call(
        'POST',
        `/v1/webhooks/${created.json.id}/deliveries/${dead.id}/replay`,
        undefined,
        tokenOfAccount,
      );
      assert.equal(refused.status, 403);
      receiver.force = 'ok';
      const replayed = await call('POST', `/v1/webhooks/${created.json.id}/deliveries/${dead.id}/replay`);
      assert.equal(replayed.status, 200);
      assert.equal(replayed.json.status, 'pending');
      assert.equal(replayed.json.attempts, 0);
      const unknown = await call('POST', `/v1/webhooks/${created.json.id}/deliveries/dlv_nope/replay`);
      assert.equal(unknown.status, 404);
      for (let i = 0; (await log())[0]?.status !== 'delivered'; i++) {
        assert.ok(i < 500, 'the replay was not delivered in time');
        await sleep(10);
      }
      const [delivered] = await log();
      assert.equal(delivered.last_status_code, 204);
      assert.ok(delivered.delivered_at);
      assert.equal(receiver.requests.length, 3);
      assert.ok(receiver.requests.every((r) => r.verified && r.id === delivered.event_id));
      assert.equal(receiver.requests[2]!.event?.data.account_id, 'acct_1');
    } finally {
      await app.close();
      await store.close();
      await receiver.close();
    }
  });
});
