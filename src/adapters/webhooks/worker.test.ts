/**
 * The delivery worker against a real HTTP receiver on loopback that fails, times out, resets and
 * answers slowly at random (seeded), on both stores: every event generated once, delivered at
 * least once to every endpoint it matches, never the same delivery twice at once (two workers on
 * PostgreSQL), signatures verified with `standardwebhooks`' `Webhook.verify`; dead letters after
 * the attempt bound, replayed by an admin; a worker that dies mid-attempt loses nothing.
 *
 * The seed is printed; `WEBHOOK_TEST_SEED=<n>` replays a run.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { usageRecord } from '../../../test/support/ledger.ts';
import { eventTypes } from '../../app/events.ts';
import * as app from '../../app/index.ts';
import { type AppContext, defaultCatalogues, ManualClock } from '../../app/index.ts';
import type { DeliveryRow } from '../../app/outbox.ts';
import type { Store } from '../../app/ports.ts';
import { createWebhook, listDeliveries, replayDelivery } from '../../app/webhooks/endpoints.ts';
import { parseInstant } from '../../core/time.ts';
import { openPostgresStore } from '../storage/postgres/index.ts';
import { openSqliteStore } from '../storage/sqlite/index.ts';
import { httpSender } from './send.ts';
import { seededRandom, TestReceiver } from './test-receiver.ts';
import { backoffMs, WebhookWorker, type WebhookWorkerOptions } from './worker.ts';

const seed = Number(process.env.WEBHOOK_TEST_SEED ?? 20261125);
console.log(`webhook worker tests: seed ${seed} (WEBHOOK_TEST_SEED=${seed} replays it)`);

/** Failures the workers reported (a store error, a bug): every test expects none. */
const workerErrors: unknown[] = [];

const adminUrl = process.env.CREDITPOOL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const runId = randomBytes(4).toString('hex');
let admin: postgres.Sql | null = null;
let databases = 0;

before(() => {
  admin = postgres(adminUrl, { max: 2, onnotice: () => {}, connect_timeout: 5 });
});
after(async () => {
  await admin?.end();
});

/** A fresh store of the kind; PostgreSQL gets its own database, dropped afterwards. */
async function freshStores(
  kind: 'sqlite' | 'postgres',
  count = 1,
): Promise<{ stores: Store[]; cleanup(): Promise<void> }> {
  if (kind === 'sqlite') {
    const store = await openSqliteStore({ path: ':memory:', verifyCache: true });
    return { stores: [store], cleanup: () => store.close() };
  }
  const name = `cp_wh_${runId}_${++databases}`;
  await admin!.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const stores: Store[] = [];
  // Several pools on one database stand for several server processes.
  for (let i = 0; i < count; i++) stores.push(await openPostgresStore({ url: url.toString(), max: 4 }));
  return {
    stores,
    async cleanup() {
      for (const s of stores) await s.close();
      await admin!.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

function context(store: Store): AppContext {
  return {
    store,
    clock: new ManualClock(parseInstant('2026-11-20T10:00:00Z')),
    catalogues: defaultCatalogues,
  };
}

/** Fast settings: deadlines and backoffs in milliseconds so a run takes seconds. */
function fast(store: Store, over: Partial<WebhookWorkerOptions> = {}): WebhookWorkerOptions {
  return {
    store,
    allowPrivate: true,
    timeoutMs: 250,
    leaseMs: 1_500,
    backoffBaseMs: 10,
    backoffFactor: 2,
    backoffCapMs: 100,
    attemptsMax: 15,
    pollMs: 10,
    concurrency: 6,
    random: seededRandom(seed),
    onError: (error) => workerErrors.push(error),
    ...over,
  };
}

async function allDeliveries(ctx: AppContext, endpointId: string): Promise<DeliveryRow[]> {
  const out: DeliveryRow[] = [];
  for (let cursor: string | null = null; ; ) {
    const page = await listDeliveries(ctx, endpointId, { all: true }, cursor, 100);
    out.push(...page.deliveries);
    cursor = page.nextCursor;
    if (cursor === null) return out;
  }
}

/** Polls until `done` holds, at most `ms`. */
async function until(what: string, ms: number, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (seed ${seed})`);
    await sleep(20);
  }
}

const spend = (ctx: AppContext, id: string, account: string, cents: number) =>
  app.recordUsage(ctx, [usageRecord({ id, account, at: '2026-11-20T10:00:00Z', cents })]);

/** An org and ten accounts (two of them members): opening an account's first cycle says nothing. */
async function createAccounts(ctx: AppContext): Promise<void> {
  await app.createOrg(ctx, { id: 'org_1', billing_anchor: '2026-07-03T10:00:00Z' });
  for (let i = 0; i < 10; i++) {
    const id = `acct_${String(i).padStart(2, '0')}`;
    await app.createAccount(
      ctx,
      i >= 8
        ? { id, kind: 'subscription', plan: 'team_standard', org_id: 'org_1' }
        : { id, kind: 'subscription', plan: 'pro', billing_anchor: '2026-07-03T10:00:00Z' },
    );
  }
}

/** Their events: claims, crossings (50 and 80 at once), exhaustion, upgrades, hold expiry. */
async function activity(ctx: AppContext): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const id = `acct_${String(i).padStart(2, '0')}`;
    await app.claim(ctx, id);
    await spend(ctx, `${id}_r1`, id, 1700);
    await spend(ctx, `${id}_r2`, id, 400);
    if (i % 3 === 0 && i < 8) await app.changeAccount(ctx, id, { plan: 'max_5x' });
    if (i % 4 === 0) {
      await app.authorize(ctx, {
        account_id: id,
        surface: 'cli',
        hold: { id: `${id}_h`, estimate_usd: '0.5', ttl_seconds: 60 },
      });
    }
  }
  (ctx.clock as ManualClock).advance(61_000);
  await app.sweepDue(ctx);
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`webhook worker on ${kind}`, () => {
    it('a misbehaving receiver: every event generated once, delivered at least once per endpoint, signed, never twice at once', async () => {
      const { stores, cleanup } = await freshStores(kind, kind === 'postgres' ? 2 : 1);
      const receiver = new TestReceiver({
        seed,
        mix: { fail: 0.2, timeout: 0.08, reset: 0.07, slow: 0.15 },
        slowMs: 60,
        hangMs: 1_000,
      });
      const workers: WebhookWorker[] = [];
      try {
        const base = await receiver.listen();
        const ctx = context(stores[0]!);
        const all = await createWebhook(
          ctx,
          { url: `${base}/all`, events: [...eventTypes] },
          { allowPrivate: true },
        );
        await assert.rejects(
          createWebhook(
            ctx,
            { url: `${base}/x`, events: ['credit.claimed'], accountId: 'acct_03' },
            { allowPrivate: true },
          ),
          /no account acct_03/,
        );
        await createAccounts(ctx);
        const forAccount = await createWebhook(
          ctx,
          {
            url: `${base}/acct_03`,
            events: ['credit.threshold_reached', 'credit.exhausted'],
            accountId: 'acct_03',
          },
          { allowPrivate: true },
        );
        await activity(ctx);
        // An org endpoint registered now gets only what its members do from now on.
        const forOrg = await createWebhook(
          ctx,
          { url: `${base}/org`, events: [...eventTypes], orgId: 'org_1' },
          { allowPrivate: true },
        );
        (ctx.clock as ManualClock).advance(1_000);
        await spend(ctx, 'late_1', 'acct_08', 100);
        await app.changeAccount(ctx, 'acct_09', { status: 'canceled' });
        for (const w of [all, forAccount, forOrg]) receiver.expect(new URL(w.url).pathname, w.secret);

        for (const store of stores) {
          const worker = new WebhookWorker(fast(store));
          workers.push(worker);
          worker.start();
        }
        const endpoints = [all, forAccount, forOrg];
        await until('every delivery to be delivered', 60_000, async () => {
          for (const w of endpoints) {
            const rows = await allDeliveries(ctx, w.id);
            if (rows.length === 0 || rows.some((d) => d.status !== 'delivered')) return false;
          }
          return (await stores[0]!.read((tx) => tx.webhookWork(Date.now()))).eventsWaiting === false;
        });
        for (const worker of workers) await worker.stop();
        assert.deepEqual(workerErrors, []);

        const events = await stores[0]!.read((tx) => tx.listEvents(0, 10_000));
        // Generated exactly once: one event per (account, type, threshold/change) that happened.
        const keys = events.map((e) => {
          const data = JSON.parse(e.payload).data;
          return `${e.type} ${data.account_id} ${data.threshold_percent ?? data.change ?? data.hold_id ?? ''}`;
        });
        assert.equal(new Set(keys).size, keys.length, `an event was generated twice: ${keys.join('\n')}`);
        const count = (type: string) => events.filter((e) => e.type === type).length;
        assert.equal(count('credit.claimed'), 10);
        assert.equal(count('credit.threshold_reached'), 30);
        assert.equal(count('credit.exhausted'), 10);
        assert.equal(count('plan.changed'), 3 + 1);
        assert.equal(count('hold.expired'), 3);

        // Delivered at least once, to exactly the endpoints that match.
        const wanted = {
          [all.id]: events.filter((e) => e.createdAt >= all.createdAt),
          [forAccount.id]: events.filter(
            (e) => e.accountId === 'acct_03' && forAccount.eventTypes.includes(e.type),
          ),
          [forOrg.id]: events.filter((e) => e.orgId === 'org_1' && e.createdAt >= forOrg.createdAt),
        };
        assert.equal(wanted[forOrg.id]!.length, 2, 'the org endpoint sees only what came after it');
        for (const w of endpoints) {
          const rows = await allDeliveries(ctx, w.id);
          const path = new URL(w.url).pathname;
          assert.deepEqual(
            rows.map((d) => d.eventId).sort(),
            wanted[w.id]!.map((e) => e.id).sort(),
            `${path}: one delivery per matching event`,
          );
          const acked = receiver.acknowledgedIds(path);
          for (const d of rows)
            assert.ok(acked.has(d.eventId), `${path} never acknowledged ${d.eventId} (seed ${seed})`);
        }
        // Every request: a valid Standard Webhooks signature, the stored body byte for byte, and
        // the event id as webhook-id on every retry.
        const payloads = new Map(events.map((e) => [e.id, e.payload]));
        for (const r of receiver.requests) {
          assert.ok(r.verified, `signature did not verify: ${r.path} ${r.id}`);
          assert.equal(r.body, payloads.get(r.id), 'the body is the stored payload');
          assert.equal(r.event?.id, r.id);
        }
        assert.equal(receiver.maxConcurrentPerId, 1, 'the same delivery was sent twice at once');
        const behaviours = new Set(receiver.requests.map((r) => r.behaviour));
        for (const b of ['ok', 'slow', 'fail', 'timeout', 'reset'])
          assert.ok(behaviours.has(b as never), `no ${b} in this run`);
        const retried = (await allDeliveries(ctx, all.id)).filter((d) => d.attempts > 1);
        assert.ok(retried.length > 5, 'the chaos made retries');
        for (const d of retried) {
          assert.equal(d.log.length, d.attempts);
          assert.ok(d.log.slice(0, -1).every((a) => a.statusCode !== 204));
          assert.equal(d.log.at(-1)!.statusCode, 204);
        }
      } finally {
        for (const worker of workers) await worker.stop();
        await receiver.close();
        await cleanup();
      }
    });

    it('a receiver that always fails: a dead letter after the bound, visible in the log, replayed by an admin', async () => {
      const { stores, cleanup } = await freshStores(kind);
      const receiver = new TestReceiver({ seed });
      receiver.force = 'fail';
      const worker = new WebhookWorker(fast(stores[0]!, { attemptsMax: 3 }));
      try {
        const base = await receiver.listen();
        const ctx = context(stores[0]!);
        const w = await createWebhook(
          ctx,
          { url: `${base}/down`, events: ['credit.claimed'] },
          { allowPrivate: true },
        );
        receiver.expect('/down', w.secret);
        await app.createAccount(ctx, { id: 'acct_1', kind: 'subscription', plan: 'pro' });
        await app.claim(ctx, 'acct_1');
        worker.start();
        await until(
          'a dead letter',
          10_000,
          async () => (await allDeliveries(ctx, w.id))[0]?.status === 'dead',
        );
        await worker.stop();
        const [dead] = await allDeliveries(ctx, w.id);
        assert.equal(dead!.attempts, 3);
        assert.equal(dead!.nextAttemptAt, null);
        assert.deepEqual(
          dead!.log.map((a) => [a.statusCode, a.error]),
          [
            [500, 'HTTP 500'],
            [500, 'HTTP 500'],
            [500, 'HTTP 500'],
          ],
        );
        assert.equal(receiver.requests.length, 3);
        // The receiver is fixed; an admin replays the dead letter.
        receiver.force = 'ok';
        const replayed = await replayDelivery(ctx, w.id, dead!.id);
        assert.equal(replayed.status, 'pending');
        assert.equal(replayed.attempts, 0);
        worker.start();
        await until(
          'the replay to be delivered',
          10_000,
          async () => (await allDeliveries(ctx, w.id))[0]?.status === 'delivered',
        );
        const [delivered] = await allDeliveries(ctx, w.id);
        assert.equal(delivered!.attempts, 1);
        assert.equal(delivered!.log.length, 4, 'the log keeps the dead attempts');
        assert.equal(new Set(receiver.requests.map((r) => r.id)).size, 1, 'the same webhook-id throughout');
        assert.ok(receiver.requests.every((r) => r.verified));
      } finally {
        await worker.stop();
        await receiver.close();
        await cleanup();
      }
    });

    it('a worker that dies mid-attempt: its lease runs out and another worker delivers; a dead final attempt is reaped', async () => {
      const { stores, cleanup } = await freshStores(kind);
      const receiver = new TestReceiver({ seed });
      try {
        const base = await receiver.listen();
        const ctx = context(stores[0]!);
        const w = await createWebhook(
          ctx,
          { url: `${base}/r`, events: ['credit.claimed'] },
          { allowPrivate: true },
        );
        receiver.expect('/r', w.secret);
        for (const id of ['acct_1', 'acct_2']) {
          await app.createAccount(ctx, { id, kind: 'subscription', plan: 'pro' });
          await app.claim(ctx, id);
        }
        // A worker fans out, then "dies" holding both deliveries: claimed, never finished.
        const dead = new WebhookWorker(fast(stores[0]!, { sender: () => new Promise(() => {}) }));
        await dead.turn();
        const leased = await allDeliveries(ctx, w.id);
        assert.equal(leased.length, 2);
        assert.ok(leased.every((d) => d.leasedUntil !== null && d.attempts === 1));
        // The first one was on its last allowed attempt (3 of 3) when the worker died.
        await stores[0]!.transaction(async (tx) => {
          const row = await tx.lockDelivery(leased[0]!.id);
          await tx.saveDelivery({ ...row!, attempts: 3 });
        });
        // Another worker, once the leases have run out: the one out of attempts is a dead letter
        // (reaped: no outcome was ever recorded), the other is sent again and delivered.
        const live = new WebhookWorker(
          fast(stores[0]!, { attemptsMax: 3, clock: { now: () => Date.now() + 1_600 } }),
        );
        const turn = await live.turn();
        await live.settled();
        assert.equal(turn.reaped, 1);
        assert.equal(turn.claimed, 1);
        const byId = new Map((await allDeliveries(ctx, w.id)).map((d) => [d.id, d]));
        assert.equal(byId.get(leased[0]!.id)!.status, 'dead');
        assert.match(byId.get(leased[0]!.id)!.log.at(-1)!.error!, /no outcome recorded/);
        assert.equal(byId.get(leased[1]!.id)!.status, 'delivered');
        assert.equal(byId.get(leased[1]!.id)!.attempts, 2);
        assert.equal(receiver.requests.length, 1);
        assert.deepEqual(workerErrors, []);
      } finally {
        await receiver.close();
        await cleanup();
      }
    });
  });
}

describe('webhook sender', () => {
  it('keeps to its deadline, reads a bounded answer, follows no redirect, refuses private addresses unless allowed', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200);
        res.end(Buffer.alloc(1024 * 1024, 0x61));
      } else if (req.url === '/hang') {
        // never answers
      } else if (req.url === '/redirect') {
        res.writeHead(302, { location: 'http://example.com/' }).end();
      } else {
        res.writeHead(200).end('ok');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const request = (path: string) => ({
      url: `http://127.0.0.1:${port}${path}`,
      secret: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
      messageId: 'evt_1',
      payload: '{"a":1}',
      at: Date.now(),
    });
    try {
      const send = httpSender({ timeoutMs: 300, responseBytesMax: 1024, allowPrivate: true });
      const big = await send(request('/big'));
      assert.equal(big.ok, true);
      assert.equal(big.statusCode, 200);
      assert.match(big.error ?? '', /over 1024 bytes/);
      const started = Date.now();
      const hang = await send(request('/hang'));
      assert.equal(hang.ok, false);
      assert.equal(hang.statusCode, null);
      assert.match(hang.error ?? '', /within 300 ms/);
      assert.ok(Date.now() - started < 2_000);
      const redirect = await send(request('/redirect'));
      assert.equal(redirect.ok, false);
      assert.match(redirect.error ?? '', /redirects are not followed/);
      const strict = httpSender({ timeoutMs: 300, responseBytesMax: 1024, allowPrivate: false });
      const refused = await strict(request('/ok'));
      assert.equal(refused.ok, false);
      assert.match(refused.error ?? '', /private address/);
      const byName = await strict({ ...request('/ok'), url: `http://localhost:${port}/ok` });
      assert.equal(byName.ok, false);
      assert.match(byName.error ?? '', /private address/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('backs off exponentially with equal jitter, up to the cap', () => {
    const o = { backoffBaseMs: 5_000, backoffFactor: 4, backoffCapMs: 6 * 3_600_000 };
    assert.equal(
      backoffMs(1, o, () => 0),
      2_500,
    );
    assert.equal(
      backoffMs(1, o, () => 0.999999),
      5_000,
    );
    assert.equal(
      backoffMs(3, o, () => 0),
      40_000,
    );
    assert.equal(
      backoffMs(20, o, () => 0),
      3 * 3_600_000,
    );
    const random = seededRandom(seed);
    for (let attempt = 1; attempt < 12; attempt++) {
      const d = backoffMs(attempt, o, random);
      const full = Math.min(o.backoffCapMs, o.backoffBaseMs * 4 ** (attempt - 1));
      assert.ok(d >= full / 2 && d <= full, `attempt ${attempt}: ${d}`);
    }
  });
});
