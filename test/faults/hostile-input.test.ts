/**
 * Hostile input on every route, beyond what `src/http/fuzz.test.ts` (random bodies on the write
 * routes) covers:
 *
 * - every route of the OpenAPI document, read routes included, with hostile path segments and
 *   query strings (invalid percent-encoding, NUL, lone surrogates, SQL, 10 kB segments, repeated
 *   and out-of-range query parameters);
 * - oversized bodies on every write route (over the 64 KiB bound, over the 4 MiB bound of
 *   `POST /v1/usage`, 1001 records), JSON nested deeper than 32, huge and non-integer numbers,
 *   money strings that are not exact decimals, wrong types and media types;
 * - unicode edge cases and SQL-looking strings in every kind of id: a lone surrogate or a control
 *   character is refused (400 `invalid_request`); anything else (right-to-left override, zero-width
 *   characters, BOM, combining marks, both normal forms of "é", emoji, quotes, `%` and `_`,
 *   backslashes) is data: kept byte for byte, replayed by exactly that id, distinct from every other.
 *
 * Properties: never a 5xx; every 4xx is a problem document with a known code; a refusal writes
 * nothing (the journal, every account view and `verifyLedger` as before).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getAccountView, verifyLedger } from '../../src/app/index.ts';
import { problemTable } from '../../src/http/errors.ts';
import {
  type Answer,
  adminToken,
  opus,
  record,
  startTestServer,
  type TestServer,
  testAnchor,
  testStart,
} from '../../src/http/test-harness.ts';
import { toWire } from '../../src/http/wire.ts';

let t: TestServer;
let meter: string;

/** Everything a refused request must leave as it was. */
async function snapshot(): Promise<string> {
  const report = await verifyLedger(t.ctx);
  assert.deepEqual(report.problems, []);
  const ids = await t.store.read((tx) => tx.listAccountIds(null, 10_000));
  const views: unknown[] = [];
  for (const id of ids) views.push(toWire(await getAccountView(t.ctx, id)));
  return JSON.stringify({ accounts: report.accounts, postings: report.postings, views, now: t.clock.now() });
}

/** A call whose answer must be a 2xx, or a 4xx problem with a known code; never a 5xx. */
async function hostile(
  method: string,
  url: string,
  options: { body?: unknown; payload?: string; contentType?: string; token?: string | null } = {},
) {
  const r = await t.call(method, url, options);
  assert.ok(r.status < 500, `${method} ${url.slice(0, 120)}: ${r.status} ${r.text.slice(0, 300)}`);
  if (r.status >= 400) {
    assert.match(
      String(r.headers['content-type']),
      /^application\/problem\+json/,
      `${method} ${url.slice(0, 80)}`,
    );
    assert.ok(r.json?.code in problemTable, `${method} ${url.slice(0, 80)}: code ${r.json?.code}`);
  }
  return r;
}

/** Runs `request`; when it is refused (a 4xx, or `refused(answer)`), nothing may have changed. */
async function refusalWritesNothing(
  what: string,
  request: () => Promise<Answer>,
  refused: (json: Answer['json']) => boolean = () => false,
): Promise<Answer> {
  const before = await snapshot();
  const r = await request();
  if (r.status >= 400 || refused(r.json))
    assert.equal(await snapshot(), before, `${what}: refused (${r.status}) but wrote`);
  return r;
}

before(async () => {
  t = await startTestServer();
  meter = await t.token('meter');
  const setup: [string, string, unknown][] = [
    ['POST', '/v1/orgs', { id: 'org_1', billing_anchor: testAnchor }],
    ['POST', '/v1/accounts', { id: 'acct_1', kind: 'subscription', plan: 'pro', billing_anchor: testAnchor }],
    ['POST', '/v1/accounts', { id: 'acct_api', kind: 'api' }],
    ['POST', '/v1/accounts', { id: 'acct_m', kind: 'subscription', plan: 'team_standard', org_id: 'org_1' }],
    ['POST', '/v1/accounts/acct_1/claim', undefined],
    [
      'POST',
      '/v1/authorize',
      { account_id: 'acct_1', surface: 'sdk-cli', hold: { id: 'h_1', estimate_usd: '0.5' } },
    ],
    ['POST', '/v1/usage', { records: [record('r_1', 'acct_1', testStart)] }],
  ];
  for (const [method, url, body] of setup) {
    const r = await t.call(method, url, { body });
    assert.ok(r.status < 300, `${url}: ${r.text}`);
  }
});
after(() => t.close());

/** Path segments as they arrive on the wire (already encoded, or deliberately not decodable). */
const hostileSegments = [
  '%', // a lone percent: not decodable
  '%E0%A4%A', // a truncated UTF-8 sequence
  '%ED%A0%80', // a lone surrogate, encoded as (invalid) UTF-8
  '%C0%AF', // an overlong '/'
  '%00',
  'a%00b',
  encodeURIComponent("'; DROP TABLE postings; --"),
  encodeURIComponent('" OR 1=1 --'),
  encodeURIComponent('\u202eacct_1'),
  encodeURIComponent('acct_1\u200b'),
  encodeURIComponent('\ufeffacct_1'),
  '..%2F..%2Fetc%2Fpasswd',
  encodeURIComponent('💸'),
  'x'.repeat(801), // over the router's parameter bound
  'y'.repeat(10_000),
  '1e400',
  '-1',
];

const hostileQueries = [
  '?limit=0',
  '?limit=-1',
  '?limit=1e3',
  '?limit=99999999999999999999',
  '?limit=abc',
  '?limit=1&limit=2',
  '?cursor=-1',
  '?cursor=1e400',
  '?cycle_start=2026-02-30T00:00:00Z',
  '?cycle_start=%ED%A0%80',
  '?at=not-a-date',
  '?at=9999999-01-01T00:00:00Z',
  `?x=${'z'.repeat(10_000)}`,
  '?%=%',
];

describe('faults: hostile input on every route', () => {
  it('every route: hostile path segments and query strings, for every token kind', async (context) => {
    const doc = (await hostile('GET', '/openapi.json', { token: null })).json;
    const paths = Object.entries(doc.paths as Record<string, Record<string, unknown>>);
    assert.ok(paths.length >= 25, `only ${paths.length} routes`);
    let calls = 0;
    for (const [template, operations] of paths) {
      for (const method of Object.keys(operations)) {
        const upper = method.toUpperCase();
        const variants = template.includes('{')
          ? hostileSegments.map((s) => template.replace(/\{[^}]+\}/g, s))
          : hostileQueries.map((q) => `${template}${q}`);
        if (template.includes('{'))
          variants.push(...hostileQueries.map((q) => template.replace(/\{[^}]+\}/g, 'acct_1') + q));
        for (const url of variants) {
          for (const token of [adminToken, meter, null, 'not-a-token']) {
            await refusalWritesNothing(`${upper} ${url.slice(0, 60)}`, () =>
              hostile(upper, url, upper === 'GET' || upper === 'DELETE' ? { token } : { token, body: {} }),
            );
            calls += 1;
          }
        }
      }
    }
    context.diagnostic(`${paths.length} paths, ${calls} calls`);
    assert.ok(calls > 1_000, `${calls} calls`);
  });

  it('oversized bodies: 413 on every write route, before the body is parsed', async () => {
    const doc = (await hostile('GET', '/openapi.json', { token: null })).json;
    const writes: [string, string][] = [];
    for (const [template, operations] of Object.entries(
      doc.paths as Record<string, Record<string, unknown>>,
    )) {
      for (const method of Object.keys(operations)) {
        if (['post', 'put', 'patch'].includes(method))
          writes.push([method.toUpperCase(), template.replace(/\{[^}]+\}/g, 'acct_1')]);
      }
    }
    const over = (bytes: number) => `{"pad":"${'x'.repeat(bytes)}"}`;
    for (const [method, url] of writes) {
      const r = await refusalWritesNothing(`${method} ${url}`, () =>
        hostile(method, url, { payload: over(4 * 1024 * 1024) }),
      );
      assert.equal(r.status, 413, `${method} ${url}: ${r.status}`);
      assert.equal(r.json.code, 'batch_too_large');
    }
    // Over 64 KiB: 413 wherever the bound is 64 KiB (every route but the usage and telemetry ones).
    for (const url of [
      '/v1/authorize',
      '/v1/accounts',
      '/v1/holds/h_1/settle',
      '/v1/accounts/acct_1/adjustments',
    ]) {
      const r = await hostile('POST', url, { payload: over(64 * 1024) });
      assert.equal(r.status, 413, url);
    }
    // 1001 records: 413 however small; 1000: accepted (each one judged on its own).
    const records = (n: number) =>
      Array.from({ length: n }, (_, i) => record(`big_${i}`, 'acct_api', testStart));
    let r = await refusalWritesNothing('1001 records', () =>
      hostile('POST', '/v1/usage', { body: { records: records(1001) } }),
    );
    assert.equal(r.status, 413);
    r = await hostile('POST', '/v1/usage', { body: { records: records(1000) } });
    assert.equal(r.status, 200);
    assert.equal(r.json.results.length, 1000);
  });

  it('deep JSON, huge numbers, inexact money, wrong types and media types: 4xx, nothing written', async () => {
    const deep = (n: number) => `{"records":${'['.repeat(n)}${']'.repeat(n)}}`;
    for (const url of [
      '/v1/usage',
      '/v1/authorize',
      '/v1/accounts',
      '/v1/holds/h_1/settle',
      '/v1/test-clock',
    ]) {
      const r = await refusalWritesNothing(url, () => hostile('POST', url, { payload: deep(40) }));
      assert.equal(r.status, 400);
      assert.match(r.json.detail, /nested deeper than 32/);
    }
    const counts: unknown[] = [
      1e21,
      1e308,
      -1,
      1.5,
      2 ** 53 + 1,
      1_000_000_001,
      '100',
      null,
      true,
      [],
      {},
      Number.NaN,
    ];
    for (const value of counts) {
      const body = {
        records: [record('r_num', 'acct_api', testStart, { input_tokens: value, output_tokens: 1 })],
      };
      const r = await refusalWritesNothing(`input_tokens ${String(value)}`, () =>
        hostile('POST', '/v1/usage', { body }),
      );
      assert.ok(
        r.status === 400 || r.json.results[0].status === 'rejected',
        `input_tokens ${String(value)}: ${r.text}`,
      );
    }
    const raws = [
      '{"records":[{"usage":{"input_tokens":1e999999}}]}',
      '{"records":[{"usage":{"input_tokens":-0}}]}',
    ];
    for (const payload of raws)
      await refusalWritesNothing(payload, () => hostile('POST', '/v1/usage', { payload }));
    const money = [
      '1e3',
      '0x10',
      '1_000',
      ' 1',
      '1 ',
      '+1',
      '-0',
      'NaN',
      'Infinity',
      '1.0000000000001',
      '9'.repeat(41),
      '٣',
      '１',
    ];
    for (const amount of money) {
      for (const [url, body] of [
        [
          '/v1/authorize',
          {
            account_id: 'acct_1',
            surface: 'sdk-cli',
            hold: { id: `h_money_${amount}`, estimate_usd: amount },
          },
        ],
        [
          '/v1/accounts/acct_1/adjustments',
          { id: `adj_${amount}`, pool: 'sdk_credit', amount_usd: amount, reason: 'x' },
        ],
        ['/v1/accounts/acct_1/usage-credits', { enabled: true, monthly_limit_usd: amount }],
      ] as const) {
        const method = url.endsWith('usage-credits') ? 'PUT' : 'POST';
        const r = await refusalWritesNothing(`${url} ${amount}`, () => hostile(method, url, { body }));
        assert.ok(
          r.status >= 400 && r.status < 500,
          `${url} ${JSON.stringify(amount)}: ${r.status} ${r.text}`,
        );
      }
    }
    for (const contentType of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
    ]) {
      const r = await refusalWritesNothing(contentType, () =>
        hostile('POST', '/v1/usage', {
          payload: JSON.stringify({ records: [record('r_ct', 'acct_api', testStart)] }),
          contentType,
        }),
      );
      assert.equal(r.status, 415, contentType);
    }
    for (const body of [[], 'records', 42, null, { records: {} }, { records: 'x' }, { records: [[]] }]) {
      await refusalWritesNothing(
        JSON.stringify(body),
        () => hostile('POST', '/v1/usage', { payload: JSON.stringify(body) }),
        (json) => Array.isArray((json as { results?: unknown[] })?.results),
      );
    }
  });

  /** Refused: cannot be stored as UTF-8 text (lone surrogates), or control characters, or over the bound. */
  const refusedIds = [
    'x\ud800',
    'x\udc00',
    '\udc00\ud800',
    'nul\u0000',
    'tab\t',
    'del\u007f',
    'line\nfeed',
    '',
    'x'.repeat(257),
  ];
  /** Data: kept byte for byte. Two normal forms of "é" must stay two ids. */
  const keptIds = [
    '\u202eevil',
    'zero\u200bwidth',
    'zwj\u200d',
    '\ufeffbom',
    'e\u0301',
    '\u00e9',
    '💸',
    '\u2028sep',
    'عربى',
    "'; DROP TABLE postings; --",
    '" OR 1=1 --',
    '%',
    '_',
    '\\',
    'u:nested',
    'x'.repeat(256),
  ];

  it('unicode and SQL-looking record ids: refused with invalid_request, or kept exactly and distinct', async () => {
    for (const id of refusedIds) {
      const body = { records: [record(id, 'acct_api', testStart)] };
      const r = await refusalWritesNothing(`record id ${JSON.stringify(id)}`, () =>
        hostile('POST', '/v1/usage', { body }),
      );
      assert.equal(r.status, 400, `record id ${JSON.stringify(id)}: ${r.text}`);
      assert.equal(r.json.code, 'invalid_request');
    }
    // All kept ids in one batch: each recorded once; then each replayed by exactly its id.
    const batch = {
      records: keptIds.map((id, i) =>
        record(id, 'acct_api', testStart, { input_tokens: 100 + i, output_tokens: 0 }),
      ),
    };
    let r = await hostile('POST', '/v1/usage', { body: batch });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(
      r.json.results.map((x: { id: string; status: string }) => [x.id, x.status]),
      keptIds.map((id) => [id, 'recorded']),
    );
    r = await hostile('POST', '/v1/usage', { body: batch });
    assert.deepEqual(
      r.json.results.map((x: { status: string }) => x.status),
      keptIds.map(() => 'replayed'),
    );
    const refs: (string | null)[] = [];
    for (let cursor: string | null = null, pages = 0; pages < 20; pages++) {
      const page = await hostile(
        'GET',
        `/v1/accounts/acct_api/entries?limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      );
      refs.push(...page.json.entries.map((e: { ref: string | null }) => e.ref));
      cursor = page.json.next_cursor;
      if (cursor === null) break;
    }
    for (const id of keptIds)
      assert.equal(refs.filter((ref: string | null) => ref === id).length, 1, `ref ${JSON.stringify(id)}`);
    assert.deepEqual((await verifyLedger(t.ctx)).problems, []);
  });

  it('hold, adjustment, app and account ids: the same rules; a hold id is matched exactly, never as a pattern', async () => {
    for (const id of refusedIds) {
      const hold = {
        account_id: 'acct_1',
        surface: 'sdk-cli',
        model: opus,
        hold: { id, estimate_usd: '0.01' },
      };
      let r = await refusalWritesNothing(`hold ${JSON.stringify(id)}`, () =>
        hostile('POST', '/v1/authorize', { body: hold }),
      );
      assert.equal(r.status, 400, `hold id ${JSON.stringify(id)}`);
      const adjustment = { id, pool: 'sdk_credit', amount_usd: '1', reason: 'x' };
      r = await refusalWritesNothing(`adj ${JSON.stringify(id)}`, () =>
        hostile('POST', '/v1/accounts/acct_1/adjustments', { body: adjustment }),
      );
      assert.equal(r.status, 400, `adjustment id ${JSON.stringify(id)}`);
      const app = {
        records: [{ ...record(`r_app_${refusedIds.indexOf(id)}`, 'acct_api', testStart), app: id }],
      };
      r = await refusalWritesNothing(`app ${JSON.stringify(id)}`, () =>
        hostile('POST', '/v1/usage', { body: app }),
      );
      assert.equal(r.status, 400, `app ${JSON.stringify(id)}`);
      r = await refusalWritesNothing(`account ${JSON.stringify(id)}`, () =>
        hostile('POST', '/v1/accounts', { body: { id, kind: 'api' } }),
      );
      assert.equal(r.status, 400, `account id ${JSON.stringify(id)}`);
    }
    // Kept hold ids: each placed, then each voided through its own URL; `%` and `_` void only themselves.
    for (const id of keptIds) {
      const r = await hostile('POST', '/v1/authorize', {
        body: {
          account_id: 'acct_1',
          surface: 'sdk-cli',
          model: opus,
          hold: { id, estimate_usd: '0.01' },
        },
      });
      assert.equal(r.json.decision, 'allow', `hold ${JSON.stringify(id)}: ${r.text}`);
      assert.equal(r.json.hold.id, id);
    }
    const held = (await hostile('GET', '/v1/accounts/acct_1')).json.sdk_credit.held_usd;
    for (const id of ['%', '_']) {
      const r = await hostile('POST', `/v1/holds/${encodeURIComponent(id)}/void`, { body: {} });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.id, id);
      assert.equal(r.json.released_usd, '0.01');
    }
    const after = (await hostile('GET', '/v1/accounts/acct_1')).json.sdk_credit.held_usd;
    assert.equal(
      (Number(held) - Number(after)).toFixed(2),
      '0.02',
      'the two voids released exactly two holds',
    );
    // Kept app names land in the breakdown byte for byte.
    const apps = keptIds.slice(0, 6);
    const r = await hostile('POST', '/v1/usage', {
      body: { records: apps.map((app, i) => ({ ...record(`r_app_kept_${i}`, 'acct_api', testStart), app })) },
    });
    assert.deepEqual(
      r.json.results.map((x: { status: string }) => x.status),
      apps.map(() => 'recorded'),
    );
    const statement = (await hostile('GET', '/v1/accounts/acct_api/statements/current')).json;
    const byApp = new Set(statement.by_app.map((x: { app: string }) => x.app));
    for (const app of apps)
      assert.ok(byApp.has(app), `app ${JSON.stringify(app)} missing from ${JSON.stringify([...byApp])}`);
    assert.deepEqual((await verifyLedger(t.ctx)).problems, []);
  });
});
