/**
 * The server's life cycle: graceful shutdown on a signal (in-flight requests finish, then the
 * store closes, exit 0), the periodic sweep, logs that never hold a token, and the money walker.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { openSqliteStore } from '../adapters/storage/sqlite/index.ts';
import { defaultCatalogues, ManualClock } from '../app/index.ts';
import { parseInstant } from '../core/time.ts';
import { buildServer, installGracefulShutdown } from './server.ts';
import { adminToken, record, startTestServer, testAnchor, testStart } from './test-harness.ts';
import { jsonDepth, toWire } from './wire.ts';

describe('http: server life cycle', () => {
  it('on a signal: waits for the request in flight, closes the store, exits 0', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    // Any Fastify instance will do: a route that waits on a gate keeps a request in flight.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const app = Fastify();
    app.get('/slow', async () => {
      await gate;
      return { done: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const exited = new Promise<number>((resolve) => {
      installGracefulShutdown(app, store, { signals: ['SIGWINCH'], exit: resolve, timeoutMs: 5_000 });
    });
    const inFlight = fetch(`http://127.0.0.1:${port}/slow`);
    await new Promise((r) => setTimeout(r, 50));
    process.kill(process.pid, 'SIGWINCH');
    await new Promise((r) => setTimeout(r, 50));
    release();
    const response = await inFlight;
    assert.deepEqual(await response.json(), { done: true });
    assert.equal(await exited, 0);
    // The store was closed after the request finished.
    await assert.rejects(store.read(async () => 1));
  });

  it('the periodic sweep books closes for accounts nobody touches', async () => {
    const store = await openSqliteStore({ path: ':memory:' });
    const clock = new ManualClock(parseInstant('2026-11-20T10:00:00Z'));
    const ctx = { store, clock, catalogues: defaultCatalogues };
    const app = await buildServer({ ctx, adminToken, sweepIntervalMs: 10, processMetrics: true });
    try {
      const created = await app.inject({
        method: 'POST',
        url: '/v1/accounts',
        headers: { authorization: `Bearer ${adminToken}` },
        payload: { id: 'acct_idle', kind: 'subscription', plan: 'pro', billing_anchor: testAnchor },
      });
      assert.equal(created.statusCode, 201, created.body);
      clock.set(parseInstant('2026-12-10T00:00:00Z'));
      const due = () => store.read((tx) => tx.listAccountsDue(clock.now(), 10));
      assert.deepEqual(await due(), ['acct_idle']);
      for (let i = 0; i < 100 && (await due()).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(await due(), []);
    } finally {
      await app.close();
      await store.close();
    }
  });

  it('logs every request without the token', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const store = await openSqliteStore({ path: ':memory:' });
    const ctx = { store, clock: new ManualClock(0), catalogues: defaultCatalogues };
    const app = await buildServer({
      ctx,
      adminToken,
      logger: { level: 'trace', stream },
      processMetrics: false,
    });
    try {
      await app.inject({
        method: 'GET',
        url: '/v1/accounts/x',
        headers: { authorization: `Bearer ${adminToken}` },
      });
      await app.inject({
        method: 'GET',
        url: '/v1/accounts/x',
        headers: { authorization: 'Bearer wrong-secret' },
      });
      assert.ok(lines.length > 0);
      const all = lines.join('');
      assert.ok(!all.includes(adminToken));
      assert.ok(!all.includes('wrong-secret'));
    } finally {
      await app.close();
      await store.close();
    }
  });

  it('refuses a test clock that is not the context clock', async () => {
    const t = await startTestServer();
    try {
      await assert.rejects(
        buildServer({ ctx: t.ctx, testClock: new ManualClock(0) }),
        /testClock must be the clock the context runs on/,
      );
    } finally {
      await t.close();
    }
  });
});

describe('http: request metrics', () => {
  it('labels each request by its route pattern, or "unmatched" for a 404', async () => {
    const t = await startTestServer();
    try {
      await t.call('POST', '/v1/accounts', {
        body: { id: 'acct_m', kind: 'subscription', plan: 'pro', billing_anchor: testAnchor },
      });
      await t.call('POST', '/v1/accounts/acct_m/claim');
      const meter = await t.token('meter');
      assert.equal((await t.call('GET', '/v1/accounts/acct_m', { token: meter })).status, 200);
      assert.equal((await t.call('GET', '/v1/accounts/acct_m', { token: 'cp_wrong' })).status, 401);
      assert.equal(
        (await t.call('POST', '/v1/tokens', { token: meter, body: { role: 'meter' } })).status,
        403,
      );
      assert.equal((await t.call('GET', '/v1/nowhere', { token: meter })).status, 404);
      const records = [
        record('r_1', 'acct_m', testStart),
        record('r_2', 'acct_m', testStart),
        record('r_1', 'acct_m', testStart),
        record('r_3', 'acct_nobody', testStart),
      ];
      const usage = await t.call('POST', '/v1/usage', { token: meter, body: { records } });
      assert.deepEqual(
        usage.json.results.map((r: { status: string }) => r.status),
        ['recorded', 'recorded', 'replayed', 'rejected'],
      );
      const text = (await t.call('GET', '/metrics', { token: meter })).text;
      const count = (labels: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${labels} `));
        return line === undefined ? undefined : Number(line.split(' ')[1]);
      };
      const seconds = 'creditpool_http_request_duration_seconds_count';
      assert.equal(count(`${seconds}{method="GET",route="/v1/accounts/:id",status="200"}`), 1);
      assert.equal(count(`${seconds}{method="GET",route="/v1/accounts/:id",status="401"}`), 1);
      assert.equal(count(`${seconds}{method="POST",route="/v1/tokens",status="403"}`), 1);
      assert.equal(count(`${seconds}{method="POST",route="/v1/tokens",status="201"}`), 1);
      assert.equal(count(`${seconds}{method="GET",route="unmatched",status="404"}`), 1);
      assert.equal(count(`${seconds}{method="POST",route="/v1/usage",status="200"}`), 1);
      assert.equal(count('creditpool_usage_records_total{status="recorded"}'), 2);
      assert.equal(count('creditpool_usage_records_total{status="replayed"}'), 1);
      assert.equal(count('creditpool_usage_records_total{status="rejected"}'), 1);
    } finally {
      await t.close();
    }
  });
});

describe('http: wire helpers', () => {
  it('toWire formats every bigint as exact USD and keeps keys as data', () => {
    const out = toWire(JSON.parse('{"a":{"b":[1,"x",null]},"__proto__":{"c":1}}')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['a', '__proto__']);
    assert.deepEqual(toWire({ cost_usd: 35_353_000_000n, n: 3, lines: [{ amount_usd: -5n }] }), {
      cost_usd: '0.035353',
      n: 3,
      lines: [{ amount_usd: '-0.000000000005' }],
    });
  });

  it('jsonDepth counts nesting outside strings only', () => {
    assert.equal(jsonDepth('{"a":[1,{"b":"[[[[{{{"}]}'), 3);
    assert.equal(jsonDepth('"\\"[["'), 0);
    assert.equal(jsonDepth('1'), 0);
    assert.equal(jsonDepth('['.repeat(100), 10), 11);
  });
});
