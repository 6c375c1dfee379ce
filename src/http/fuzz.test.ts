/**
 * Hostile input on every write route (fast-check, fixed seed, bounded runs): random JSON, valid
 * bodies with one field replaced, removed or added at any depth, raw malformed or hostile texts
 * (deep nesting, huge numbers, `__proto__` keys, lone surrogates). Two properties:
 * - never a 5xx;
 * - a refused request (a 4xx, a deny, a batch whose records are all rejected) writes nothing: the
 *   journal, every account view and the ledger's invariants (`verifyLedger`) are as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { getAccountView, verifyLedger } from '../app/index.ts';
import {
  adminToken,
  opus,
  record,
  startTestServer,
  type TestServer,
  testAnchor,
  testStart,
} from './test-harness.ts';
import { toWire } from './wire.ts';

/** Fixed, so a failure replays; fast-check prints the seed and the shrunk case. */
const seed = 20_261_120;
const runsPerRoute = 300;

type Json = Record<string, unknown>;

const hostileStrings = [
  '',
  ' ',
  '0',
  '-0',
  '-1',
  '1e3',
  '0.0000000000001',
  '999999999999999999999999999999',
  'NaN',
  'Infinity',
  '__proto__',
  'constructor',
  '\u0000',
  '\ud800',
  'é',
  'é'.repeat(300),
  'x'.repeat(300),
  '💸',
  'acct_1\nX-Injected: 1',
  '../../etc/passwd',
  "'; DROP TABLE postings; --",
  '2026-02-30T00:00:00Z',
  '2026-11-20T10:00:00',
  '2026-11-20T10:00:00+25:00',
  '1970-01-01T00:00:00Z',
  '2026-11-20T10:00:00.123456789Z',
];

const hostileValues: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0.000001,
  1e21,
  2 ** 53 + 1,
  Number.MAX_SAFE_INTEGER,
  1_000_000_001,
  [],
  {},
  [[[]]],
  [null],
  { input_tokens: 1 },
  ...hostileStrings,
];

/** A value to put anywhere: JSON of every shape, strings of every script, and the hostile ones. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...hostileValues) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
);

const anyKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', ''),
  fc.string({ maxLength: 12 }),
);

/** Raw texts JSON.stringify cannot produce. */
const rawTexts = fc.oneof(
  fc.constantFrom(
    '{"id": ',
    '{"records": [1e400]}',
    '{"__proto__": {"admin": true}}',
    '{"constructor": {"prototype": {"admin": true}}}',
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
    `{"a":${'{"a":'.repeat(100)}1${'}'.repeat(100)}}`,
    '"just a string"',
    'null',
    '[]',
    '\u0000',
    '{"enabled": true, "enabled": false}',
    '{"usage": {"input_tokens": 1e308, "output_tokens": -1e308}}',
    '{"id":"\\ud800","kind":"api"}',
  ),
  fc.string({ maxLength: 60 }),
);

/** Every path (of keys and indices) inside a JSON value. */
function pathsOf(
  value: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([...prefix, i]);
      pathsOf(v, [...prefix, i], out);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      out.push([...prefix, k]);
      pathsOf(v, [...prefix, k], out);
    }
  }
  return out;
}

/** A copy of `base` with the value at `path` replaced (or deleted when `value` is `deleteMark`). */
const deleteMark = Symbol('delete');
function setAt(base: unknown, path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(base) as Json;
  let node: Json = copy;
  for (const key of path.slice(0, -1)) node = node[key as string] as Json;
  const last = path[path.length - 1]!;
  if (value === deleteMark) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last as string];
  } else {
    // defineProperty, so a key named `__proto__` becomes an own property, as JSON.parse makes it.
    Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

/** Bodies for a route: the valid one mutated at one place, anything at all, or a raw text. */
function bodies(base: unknown): fc.Arbitrary<{ json?: unknown; raw?: string }> {
  const paths = pathsOf(base);
  const parents = [[], ...paths.filter((p) => typeof getAt(base, p) === 'object' && getAt(base, p) !== null)];
  const mutations: fc.Arbitrary<unknown>[] = [anyValue];
  if (paths.length > 0) {
    mutations.push(fc.tuple(fc.constantFrom(...paths), anyValue).map(([p, v]) => setAt(base, p, v)));
    mutations.push(fc.constantFrom(...paths).map((p) => setAt(base, p, deleteMark)));
  }
  mutations.push(
    fc.tuple(fc.constantFrom(...parents), anyKey, anyValue).map(([p, k, v]) => setAt(base, [...p, k], v)),
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.oneof(...mutations).map((json) => ({ json })) },
    { weight: 1, arbitrary: rawTexts.map((raw) => ({ raw })) },
  );
}

function getAt(value: unknown, path: (string | number)[]): unknown {
  let node = value as Json;
  for (const key of path) node = node?.[key as string] as Json;
  return node;
}

const pathIds = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('acct_1', 'acct_2', 'org_1', 'h_1') },
  { weight: 1, arbitrary: fc.constantFrom(...hostileStrings.filter((s) => s.length > 0)) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) },
);

/** A path segment; a lone surrogate cannot be URI-encoded, so it goes as invalid UTF-8 instead. */
function segment(id: string): string {
  try {
    return encodeURIComponent(id);
  } catch {
    return '%ED%A0%80';
  }
}

interface WriteRoute {
  name: string;
  method: string;
  url: (id: string) => string;
  base: unknown;
  /** A 200 answer that refuses (and so must write nothing). */
  refusedAnswer?: (json: Json) => boolean;
}

const allRejected = (json: Json) =>
  Array.isArray(json.results) && json.results.every((r: Json) => r.status === 'rejected');

const routes: WriteRoute[] = [
  {
    name: 'POST /v1/tokens',
    method: 'POST',
    url: () => '/v1/tokens',
    base: { role: 'account', account_id: 'acct_1' },
  },
  {
    name: 'POST /v1/orgs',
    method: 'POST',
    url: () => '/v1/orgs',
    base: { id: 'org_9', billing_anchor: testAnchor },
  },
  {
    name: 'POST /v1/accounts',
    method: 'POST',
    url: () => '/v1/accounts',
    base: { id: 'acct_9', kind: 'subscription', plan: 'team_standard', org_id: 'org_1' },
  },
  {
    name: 'PATCH /v1/accounts/{id}',
    method: 'PATCH',
    url: (id) => `/v1/accounts/${id}`,
    base: { plan: 'max_5x' },
  },
  { name: 'POST /v1/accounts/{id}/claim', method: 'POST', url: (id) => `/v1/accounts/${id}/claim`, base: {} },
  {
    name: 'PUT /v1/accounts/{id}/usage-credits',
    method: 'PUT',
    url: (id) => `/v1/accounts/${id}/usage-credits`,
    base: { enabled: true, monthly_limit_usd: '25' },
  },
  {
    name: 'PUT /v1/accounts/{id}/apps/{app}',
    method: 'PUT',
    url: (id) => `/v1/accounts/acct_1/apps/${id}`,
    base: { cycle_cap_usd: '5', blocked: false },
  },
  {
    name: 'PUT /v1/orgs/{id}/usage-credits',
    method: 'PUT',
    url: (id) => `/v1/orgs/${id}/usage-credits`,
    base: {
      enabled: true,
      monthly_limit_usd: '100',
      seat_tier_limits_usd: { team_standard: '10' },
      member_limits_usd: { acct_m: '5' },
    },
  },
  {
    name: 'POST /v1/authorize',
    method: 'POST',
    url: () => '/v1/authorize',
    base: {
      account_id: 'acct_1',
      surface: 'sdk-cli',
      app: null,
      model: opus,
      hold: { id: 'h_new', estimate_usage: { input_tokens: 10, output_tokens: 10 }, ttl_seconds: 60 },
    },
    refusedAnswer: (json) => json.decision === 'deny',
  },
  {
    name: 'POST /v1/holds/{id}/settle',
    method: 'POST',
    url: (id) => `/v1/holds/${id}/settle`,
    base: { record: record('r_settle', 'acct_1', testStart) },
    refusedAnswer: (json) => json.status === 'rejected',
  },
  {
    name: 'POST /v1/holds/{id}/void',
    method: 'POST',
    url: (id) => `/v1/holds/${id}/void`,
    base: { account_id: 'acct_1' },
  },
  {
    name: 'POST /v1/usage',
    method: 'POST',
    url: () => '/v1/usage',
    base: {
      records: [
        record('r_a', 'acct_1', testStart, {
          input_tokens: 10,
          output_tokens: 5,
          cache_creation_input_tokens: 3,
          cache_read_input_tokens: 7,
          cache_creation: { ephemeral_5m_input_tokens: 1, ephemeral_1h_input_tokens: 2 },
          server_tool_use: { web_search_requests: 1 },
          service_tier: 'standard',
        }),
        record('r_b', 'acct_2', testStart),
      ],
    },
    refusedAnswer: allRejected,
  },
  {
    name: 'POST /v1/quote',
    method: 'POST',
    url: () => '/v1/quote',
    base: { model: opus, usage: { input_tokens: 1, output_tokens: 2 }, at: testStart },
  },
  {
    name: 'POST /v1/accounts/{id}/adjustments',
    method: 'POST',
    url: (id) => `/v1/accounts/${id}/adjustments`,
    base: { id: 'adj', pool: 'sdk_credit', amount_usd: '-1.5', reason: 'fuzz' },
  },
  {
    name: 'POST /v1/test-clock',
    method: 'POST',
    url: () => '/v1/test-clock',
    // The clock's own instant: a valid answer moves nothing, so later runs see the same world.
    base: { now: testStart },
  },
];

/** Everything a refused request must leave as it was. */
async function snapshot(t: TestServer): Promise<string> {
  const report = await verifyLedger(t.ctx);
  assert.deepEqual(report.problems, []);
  const ids = await t.store.read((tx) => tx.listAccountIds(null, 10_000));
  const views: unknown[] = [];
  for (const id of ids) views.push(toWire(await getAccountView(t.ctx, id)));
  const orgs: unknown[] = [];
  for (const id of ['org_1', 'org_9']) orgs.push(toWire(await t.store.read((tx) => tx.getOrg(id))));
  return JSON.stringify({
    accounts: report.accounts,
    postings: report.postings,
    views,
    orgs,
    now: t.clock.now(),
  });
}

describe('http: hostile bodies on every write route', () => {
  let t: TestServer;
  let meter: string;
  before(async () => {
    t = await startTestServer();
    meter = await t.token('meter');
    const setup: [string, string, unknown][] = [
      ['POST', '/v1/orgs', { id: 'org_1', billing_anchor: testAnchor }],
      [
        'POST',
        '/v1/accounts',
        { id: 'acct_1', kind: 'subscription', plan: 'pro', billing_anchor: testAnchor },
      ],
      ['POST', '/v1/accounts', { id: 'acct_2', kind: 'api' }],
      [
        'POST',
        '/v1/accounts',
        { id: 'acct_m', kind: 'subscription', plan: 'team_standard', org_id: 'org_1' },
      ],
      ['POST', '/v1/accounts/acct_1/claim', undefined],
      [
        'POST',
        '/v1/authorize',
        { account_id: 'acct_1', surface: 'sdk-cli', hold: { id: 'h_1', estimate_usd: '0.5' } },
      ],
    ];
    for (const [method, url, body] of setup) {
      const r = await t.call(method, url, { body });
      assert.ok(r.status < 300, `${url}: ${r.text}`);
    }
  });
  after(() => t.close());

  for (const route of routes) {
    it(`${route.name}: never a 5xx; a refusal writes nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(
          bodies(route.base),
          pathIds,
          fc.constantFrom(adminToken, 'meter'),
          async (body, id, who) => {
            const before = await snapshot(t);
            const token = who === 'meter' ? meter : adminToken;
            const r = await t.call(route.method, route.url(segment(id)), {
              token,
              ...(body.raw === undefined ? { body: body.json } : { payload: body.raw }),
            });
            assert.ok(r.status < 500, `${r.status}: ${r.text}`);
            if (r.status >= 400) {
              assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
            }
            const refused = r.status >= 400 || (r.status === 200 && route.refusedAnswer?.(r.json) === true);
            const after = await snapshot(t);
            if (refused)
              assert.equal(after, before, `refused with ${r.status} ${r.text.slice(0, 300)} but wrote`);
          },
        ),
        { seed, numRuns: runsPerRoute },
      );
    });
  }
});
