/**
 * The role matrix (API.md "Auth"): every route × every role × an own and a foreign resource →
 * the expected status. A role the route never serves is 403; a resource outside the token's scope
 * is 404, with a body that carries none of the foreign resource's data and reads exactly like the
 * answer for a resource that does not exist.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeEvent } from '../app/events.ts';
import {
  adminToken,
  opus,
  record,
  startTestServer,
  type TestServer,
  testAnchor,
  testStart,
} from './test-harness.ts';

type Role = 'admin' | 'meter' | 'account' | 'org_admin';
const roles: Role[] = ['admin', 'meter', 'account', 'org_admin'];

/** What a request targets: an account and an org, chosen per role as "own" or "foreign". */
interface Target {
  account: string;
  org: string;
}

/** Own and foreign targets per role. Admin and meter have no scope: "foreign" is simply another. */
const targets: Record<Role, { own: Target; foreign: Target }> = {
  admin: { own: { account: 'acct_own', org: 'org_1' }, foreign: { account: 'acct_other', org: 'org_2' } },
  meter: { own: { account: 'acct_own', org: 'org_1' }, foreign: { account: 'acct_other', org: 'org_2' } },
  account: { own: { account: 'acct_own', org: 'org_1' }, foreign: { account: 'acct_other', org: 'org_2' } },
  org_admin: { own: { account: 'acct_m1', org: 'org_1' }, foreign: { account: 'acct_m2', org: 'org_2' } },
};

interface Case {
  name: string;
  /** Roles that may ever use the route; others get 403. */
  roles: readonly Role[] | 'public';
  /** Roles narrowed to a scope: on a foreign target they get 404. */
  scoped?: 'account' | 'org';
  ok: number;
  request(target: Target, n: number, t: TestServer): Promise<{ method: string; url: string; body?: unknown }>;
}

const readers: Role[] = ['admin', 'meter', 'account', 'org_admin'];
const now = testStart;

const cases: Case[] = [
  {
    name: 'POST /v1/tokens',
    roles: ['admin'],
    ok: 201,
    request: async () => ({ method: 'POST', url: '/v1/tokens', body: { role: 'meter' } }),
  },
  {
    name: 'POST /v1/orgs',
    roles: ['admin'],
    ok: 201,
    request: async (_t, n) => ({
      method: 'POST',
      url: '/v1/orgs',
      body: { id: `org_new_${n}`, billing_anchor: testAnchor },
    }),
  },
  {
    name: 'POST /v1/accounts',
    roles: ['admin'],
    ok: 201,
    request: async (_t, n) => ({
      method: 'POST',
      url: '/v1/accounts',
      body: { id: `acct_new_${n}`, kind: 'api' },
    }),
  },
  {
    name: 'GET /v1/accounts/{id}',
    roles: readers,
    scoped: 'account',
    ok: 200,
    request: async (t) => ({ method: 'GET', url: `/v1/accounts/${t.account}` }),
  },
  {
    name: 'PATCH /v1/accounts/{id}',
    roles: ['admin'],
    ok: 200,
    // Setting the plan it already has changes nothing, so the matrix can repeat it.
    request: async (t) => ({
      method: 'PATCH',
      url: `/v1/accounts/${t.account}`,
      body: { plan: t.account.startsWith('acct_m') ? 'team_standard' : 'pro' },
    }),
  },
  {
    name: 'POST /v1/accounts/{id}/claim',
    roles: ['admin', 'account'],
    scoped: 'account',
    ok: 200,
    request: async (t) => ({ method: 'POST', url: `/v1/accounts/${t.account}/claim` }),
  },
  {
    name: 'PUT /v1/accounts/{id}/usage-credits',
    roles: ['admin', 'account'],
    scoped: 'account',
    ok: 200,
    request: async (t) => ({
      method: 'PUT',
      url: `/v1/accounts/${t.account}/usage-credits`,
      body: { enabled: false },
    }),
  },
  {
    name: 'PUT /v1/accounts/{id}/apps/{app}',
    roles: ['admin', 'account'],
    scoped: 'account',
    ok: 200,
    request: async (t) => ({
      method: 'PUT',
      url: `/v1/accounts/${t.account}/apps/app-x`,
      body: { cycle_cap_usd: '1' },
    }),
  },
  {
    name: 'PUT /v1/orgs/{id}/usage-credits',
    roles: ['admin', 'org_admin'],
    scoped: 'org',
    ok: 200,
    request: async (t) => ({
      method: 'PUT',
      url: `/v1/orgs/${t.org}/usage-credits`,
      body: { enabled: true },
    }),
  },
  {
    name: 'GET /v1/orgs/{id}/members',
    roles: ['admin', 'org_admin'],
    scoped: 'org',
    ok: 200,
    request: async (t) => ({ method: 'GET', url: `/v1/orgs/${t.org}/members` }),
  },
  {
    name: 'POST /v1/authorize',
    roles: ['admin', 'meter'],
    ok: 200,
    request: async (t) => ({
      method: 'POST',
      url: '/v1/authorize',
      body: { account_id: t.account, surface: 'cli' },
    }),
  },
  {
    name: 'POST /v1/holds/{id}/settle',
    roles: ['admin', 'meter'],
    ok: 200,
    request: async (t, n, server) => {
      await placeHold(server, t.account, `hs_${n}`);
      return {
        method: 'POST',
        url: `/v1/holds/hs_${n}/settle`,
        body: { record: record(`rs_${n}`, t.account, now) },
      };
    },
  },
  {
    name: 'POST /v1/holds/{id}/void',
    roles: ['admin', 'meter'],
    ok: 200,
    request: async (t, n, server) => {
      await placeHold(server, t.account, `hv_${n}`);
      return { method: 'POST', url: `/v1/holds/hv_${n}/void` };
    },
  },
  {
    name: 'POST /v1/usage',
    roles: ['admin', 'meter'],
    ok: 200,
    request: async (t, n) => ({
      method: 'POST',
      url: '/v1/usage',
      body: { records: [record(`ru_${n}`, t.account, now)] },
    }),
  },
  {
    name: 'POST /v1/quote',
    roles: readers,
    ok: 200,
    request: async () => ({
      method: 'POST',
      url: '/v1/quote',
      body: { model: opus, usage: { input_tokens: 1, output_tokens: 1 } },
    }),
  },
  {
    name: 'GET /v1/accounts/{id}/statements/current',
    roles: readers,
    scoped: 'account',
    ok: 200,
    request: async (t) => ({ method: 'GET', url: `/v1/accounts/${t.account}/statements/current` }),
  },
  {
    name: 'GET /v1/accounts/{id}/statements/{cycle_start}',
    roles: readers,
    scoped: 'account',
    ok: 200,
    request: async (t) => ({
      method: 'GET',
      url: `/v1/accounts/${t.account}/statements/${encodeURIComponent('2026-11-03T10:00:00Z')}`,
    }),
  },
  {
    name: 'GET /v1/accounts/{id}/entries',
    roles: readers,
    scoped: 'account',
    ok: 200,
    request: async (t) => ({ method: 'GET', url: `/v1/accounts/${t.account}/entries?limit=5` }),
  },
  {
    name: 'GET /v1/accounts/{id}/cycles',
    roles: readers,
    scoped: 'account',
    ok: 200,
    request: async (t) => ({ method: 'GET', url: `/v1/accounts/${t.account}/cycles` }),
  },
  {
    name: 'POST /v1/accounts/{id}/adjustments',
    roles: ['admin'],
    ok: 201,
    request: async (t, n) => ({
      method: 'POST',
      url: `/v1/accounts/${t.account}/adjustments`,
      body: { id: `adj_${n}`, pool: 'written_off', amount_usd: '0.01', reason: 'matrix' },
    }),
  },
  {
    name: 'GET /v1/plans',
    roles: readers,
    ok: 200,
    request: async () => ({ method: 'GET', url: '/v1/plans' }),
  },
  {
    name: 'GET /v1/surfaces',
    roles: readers,
    ok: 200,
    request: async () => ({ method: 'GET', url: '/v1/surfaces' }),
  },
  {
    name: 'GET /v1/prices',
    roles: readers,
    ok: 200,
    request: async () => ({ method: 'GET', url: '/v1/prices' }),
  },
  {
    name: 'GET /v1/test-clock',
    roles: readers,
    ok: 200,
    request: async () => ({ method: 'GET', url: '/v1/test-clock' }),
  },
  {
    name: 'POST /v1/test-clock',
    roles: ['admin'],
    ok: 200,
    request: async () => ({ method: 'POST', url: '/v1/test-clock', body: { now } }),
  },
  {
    name: 'GET /metrics',
    roles: ['admin', 'meter'],
    ok: 200,
    request: async () => ({ method: 'GET', url: '/metrics' }),
  },
  {
    name: 'POST /v1/webhooks',
    roles: ['admin', 'account', 'org_admin'],
    scoped: 'account',
    ok: 201,
    // An org admin's endpoint covers its org; the others name an account.
    request: async (t) => ({
      method: 'POST',
      url: '/v1/webhooks',
      body: { url: hookUrl, events: ['credit.claimed'], ...scopeOf(t) },
    }),
  },
  {
    name: 'GET /v1/webhooks',
    roles: ['admin', 'account', 'org_admin'],
    ok: 200,
    request: async () => ({ method: 'GET', url: '/v1/webhooks' }),
  },
  {
    name: 'DELETE /v1/webhooks/{id}',
    roles: ['admin', 'account', 'org_admin'],
    scoped: 'account',
    ok: 200,
    request: async (t, _n, server) => ({
      method: 'DELETE',
      url: `/v1/webhooks/${await adminWebhook(server, t)}`,
    }),
  },
  {
    name: 'GET /v1/webhooks/{id}/deliveries',
    roles: ['admin', 'account', 'org_admin'],
    scoped: 'account',
    ok: 200,
    request: async (t, _n, server) => ({
      method: 'GET',
      url: `/v1/webhooks/${await adminWebhook(server, t)}/deliveries`,
    }),
  },
  {
    name: 'POST /v1/webhooks/{id}/deliveries/{delivery_id}/replay',
    roles: ['admin'],
    ok: 200,
    request: async (t, n, server) => {
      const id = await adminWebhook(server, t);
      return {
        method: 'POST',
        url: `/v1/webhooks/${id}/deliveries/${await deadLetter(server, id, n)}/replay`,
      };
    },
  },
  {
    name: 'GET /healthz',
    roles: 'public',
    ok: 200,
    request: async () => ({ method: 'GET', url: '/healthz' }),
  },
  {
    name: 'GET /openapi.json',
    roles: 'public',
    ok: 200,
    request: async () => ({ method: 'GET', url: '/openapi.json' }),
  },
];

const hookUrl = 'https://hooks.example.com/matrix';

/** The webhook scope a target names: its org for an org admin's targets, else its account. */
function scopeOf(t: Target): { account_id: string } | { org_id: string } {
  return t.account.startsWith('acct_m') ? { org_id: t.org } : { account_id: t.account };
}

/** An endpoint in the target's scope, registered by the admin. */
async function adminWebhook(server: TestServer, t: Target): Promise<string> {
  const r = await server.call('POST', '/v1/webhooks', {
    body: { url: hookUrl, events: ['credit.claimed'], ...scopeOf(t) },
  });
  assert.equal(r.status, 201, r.text);
  return r.json.id as string;
}

/** A dead letter of that endpoint, written straight into the store (no worker runs here). */
async function deadLetter(server: TestServer, endpointId: string, n: number): Promise<string> {
  const event = makeEvent('credit.claimed', server.clock.now(), { id: 'acct_own', orgId: null }, {});
  const id = `dlv_matrix_${n}`;
  await server.store.transaction(async (tx) => {
    await tx.enqueueEvents([event]);
    const stored = (await tx.listEvents(0, 10_000)).find((e) => e.id === event.id)!;
    await tx.insertDeliveries([
      {
        id,
        endpointId,
        eventSeq: stored.seq,
        eventId: event.id,
        eventType: event.type,
        createdAt: server.clock.now(),
        status: 'dead',
        attempts: 10,
        nextAttemptAt: null,
        leasedUntil: null,
        leaseToken: null,
        lastAttemptAt: null,
        deliveredAt: null,
        log: [],
      },
    ]);
  });
  return id;
}

async function placeHold(t: TestServer, account: string, id: string): Promise<void> {
  const r = await t.call('POST', '/v1/authorize', {
    body: { account_id: account, surface: 'cli', hold: { id, estimate_usd: '0.01' } },
  });
  assert.equal(r.json?.decision, 'allow', r.text);
}

function expected(c: Case, role: Role, which: 'own' | 'foreign'): number {
  if (c.roles === 'public') return c.ok;
  if (!c.roles.includes(role)) return 403;
  if (which === 'foreign' && c.scoped !== undefined && (role === 'account' || role === 'org_admin'))
    return 404;
  return c.ok;
}

describe('http: role matrix', () => {
  let t: TestServer;
  const tokens = {} as Record<Role, string>;
  before(async () => {
    t = await startTestServer();
    const setup: [string, unknown][] = [
      ['/v1/orgs', { id: 'org_1', billing_anchor: testAnchor }],
      ['/v1/orgs', { id: 'org_2', billing_anchor: testAnchor }],
      ['/v1/accounts', { id: 'acct_own', kind: 'subscription', plan: 'pro', billing_anchor: testAnchor }],
      [
        '/v1/accounts',
        { id: 'acct_other', kind: 'subscription', plan: 'max_20x', billing_anchor: testAnchor },
      ],
      ['/v1/accounts', { id: 'acct_m1', kind: 'subscription', plan: 'team_standard', org_id: 'org_1' }],
      ['/v1/accounts', { id: 'acct_m2', kind: 'subscription', plan: 'team_premium', org_id: 'org_2' }],
    ];
    for (const [url, body] of setup) {
      const r = await t.call('POST', url, { body });
      assert.ok(r.status === 201, r.text);
    }
    for (const id of ['acct_own', 'acct_other', 'acct_m1', 'acct_m2'])
      await t.call('POST', `/v1/accounts/${id}/claim`);
    tokens.admin = adminToken;
    tokens.meter = await t.token('meter');
    tokens.account = await t.token('account', { account_id: 'acct_own' });
    tokens.org_admin = await t.token('org_admin', { org_id: 'org_1' });
  });
  after(() => t.close());

  let n = 0;
  for (const c of cases) {
    it(c.name, async () => {
      const failures: string[] = [];
      for (const role of roles) {
        for (const which of ['own', 'foreign'] as const) {
          const target = targets[role][which];
          const req = await c.request(target, n++, t);
          const r = await t.call(req.method, req.url, { token: tokens[role], body: req.body });
          const want = expected(c, role, which);
          if (r.status !== want)
            failures.push(`${role} ${which}: ${r.status} (want ${want}) ${r.text.slice(0, 200)}`);
          if (r.status === 403 || r.status === 404) {
            assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
            assert.deepEqual(Object.keys(r.json).sort(), ['code', 'detail', 'status', 'title', 'type']);
          }
        }
      }
      assert.deepEqual(failures, []);
    });
  }

  it('a foreign resource answers exactly like a missing one, and carries none of its data', async () => {
    const foreignData = ['max_20x', 'team_premium', '2026-', '200', 'sdk_credit', '_usd', 'acct_m2', 'org_2'];
    const probes: [Role, string, string][] = [
      ['account', '/v1/accounts/acct_other', '/v1/accounts/acct_ghost'],
      ['account', '/v1/accounts/acct_other/statements/current', '/v1/accounts/acct_ghost/statements/current'],
      ['account', '/v1/accounts/acct_other/entries', '/v1/accounts/acct_ghost/entries'],
      ['account', '/v1/accounts/acct_other/cycles', '/v1/accounts/acct_ghost/cycles'],
      ['org_admin', '/v1/accounts/acct_other', '/v1/accounts/acct_ghost'],
      ['org_admin', '/v1/accounts/acct_m2', '/v1/accounts/acct_ghost'],
      ['org_admin', '/v1/orgs/org_2/members', '/v1/orgs/org_ghost/members'],
    ];
    for (const [role, foreign, missing] of probes) {
      const a = await t.call('GET', foreign, { token: tokens[role] });
      const b = await t.call('GET', missing, { token: tokens[role] });
      assert.equal(a.status, 404, `${role} ${foreign}`);
      assert.equal(b.status, 404, `${role} ${missing}`);
      const foreignId = foreign.split('/')[3]!;
      const missingId = missing.split('/')[3]!;
      assert.equal(
        a.text.replaceAll(foreignId, 'X'),
        b.text.replaceAll(missingId, 'X'),
        `${role} ${foreign}`,
      );
      const withoutOwnInput = a.text.replaceAll(foreignId, '');
      for (const datum of foreignData) {
        assert.ok(!withoutOwnInput.includes(datum), `${role} ${foreign} leaks ${datum}: ${a.text}`);
      }
    }
    // The same for writes an account token may make, and an org admin's member limits.
    const a = await t.call('PUT', '/v1/accounts/acct_other/usage-credits', {
      token: tokens.account,
      body: { enabled: true },
    });
    const b = await t.call('PUT', '/v1/accounts/acct_ghost/usage-credits', {
      token: tokens.account,
      body: { enabled: true },
    });
    assert.equal(a.text.replaceAll('acct_other', 'X'), b.text.replaceAll('acct_ghost', 'X'));
    const c = await t.call('PUT', '/v1/orgs/org_1/usage-credits', {
      token: tokens.org_admin,
      body: { enabled: true, member_limits_usd: { acct_m2: '1' } },
    });
    const d = await t.call('PUT', '/v1/orgs/org_1/usage-credits', {
      token: tokens.org_admin,
      body: { enabled: true, member_limits_usd: { acct_ghost: '1' } },
    });
    assert.equal(c.status, 404, c.text);
    assert.equal(c.text.replaceAll('acct_m2', 'X'), d.text.replaceAll('acct_ghost', 'X'));
    // Nothing of the refused org request stuck: the member's limit is unchanged.
    const view = await t.call('GET', '/v1/accounts/acct_m2');
    assert.equal(view.json.usage_credits.member_limit_usd, null);
  });

  it('an account token never reaches another account through the metering routes either', async () => {
    for (const [method, url, body] of [
      ['POST', '/v1/authorize', { account_id: 'acct_own', surface: 'cli' }],
      ['POST', '/v1/usage', { records: [record('own_1', 'acct_own', now)] }],
      ['POST', '/v1/holds/x/void', undefined],
      ['POST', '/v1/accounts', { id: 'acct_z', kind: 'api' }],
      [
        'POST',
        '/v1/accounts/acct_own/adjustments',
        { id: 'a', pool: 'written_off', amount_usd: '1', reason: 'r' },
      ],
    ] as const) {
      const r = await t.call(method, url, { token: tokens.account, body });
      assert.equal(r.status, 403, `${method} ${url}: ${r.text}`);
    }
  });
});
