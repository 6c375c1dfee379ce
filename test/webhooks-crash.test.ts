/**
 * Webhooks through real `creditpool serve` processes, on SQLite and on PostgreSQL: the server is
 * killed with `kill -9` while its worker is in the middle of delivering (a request held open by
 * the receiver, others in flight), then restarted on the same database. Nothing is lost: every
 * event the API acknowledged is generated once and delivered at least once, signed; the attempt
 * the crash interrupted is retried once its lease runs out.
 *
 * The receiver misbehaves at random (seeded; `WEBHOOK_TEST_SEED=<n>` replays a run).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { TestReceiver } from '../src/adapters/webhooks/test-receiver.ts';
import { type RunningServer, startServer, tempDir } from './support/cli.ts';

const seed = Number(process.env.WEBHOOK_TEST_SEED ?? 8);
const adminToken = 'crash-test-admin';
const pgAdminUrl = process.env.CREDITPOOL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Fast worker settings through the environment `serve` reads. */
const env = {
  CREDITPOOL_ADMIN_TOKEN: adminToken,
  CREDITPOOL_WEBHOOK_ALLOW_PRIVATE: '1',
  CREDITPOOL_WEBHOOK_TIMEOUT_MS: '800',
  CREDITPOOL_WEBHOOK_LEASE_MS: '1500',
  CREDITPOOL_WEBHOOK_RETRY_BASE_MS: '50',
  CREDITPOOL_WEBHOOK_RETRY_CAP_MS: '400',
  CREDITPOOL_WEBHOOK_ATTEMPTS: '30',
  CREDITPOOL_WEBHOOK_POLL_MS: '50',
};

async function api(server: RunningServer, method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field.
  const json = (await response.json()) as any;
  return { status: response.status, json };
}

/** Five events per account: claimed; 50 and 80 at once ($17 of $20); 100 and exhausted ($4 more). */
async function account(server: RunningServer, id: string): Promise<void> {
  const created = await api(server, 'POST', '/v1/accounts', { id, kind: 'subscription', plan: 'pro' });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  assert.equal((await api(server, 'POST', `/v1/accounts/${id}/claim`)).status, 200);
  const now = (await api(server, 'GET', '/v1/test-clock')).json.now as string;
  // claude-opus-5-5 input at $4 per million tokens.
  for (const [n, tokens] of [
    [1, 4_250_000],
    [2, 1_000_000],
  ] as const) {
    const r = await api(server, 'POST', '/v1/usage', {
      records: [
        {
          id: `${id}_r${n}`,
          account_id: id,
          occurred_at: now,
          surface: 'sdk-cli',
          model: 'claude-opus-5-5',
          usage: { input_tokens: tokens, output_tokens: 0 },
        },
      ],
    });
    assert.equal(r.json.results?.[0]?.status, 'recorded', JSON.stringify(r.json));
  }
}

interface DeliveryView {
  id: string;
  event_id: string;
  event_type: string;
  status: string;
  attempts: number;
  attempt_log: unknown[];
}

async function deliveries(server: RunningServer, webhookId: string): Promise<DeliveryView[]> {
  const out: DeliveryView[] = [];
  for (let cursor: string | null = null; ; ) {
    const q: string = cursor === null ? '' : `&cursor=${cursor}`;
    const page = await api(server, 'GET', `/v1/webhooks/${webhookId}/deliveries?limit=100${q}`);
    assert.equal(page.status, 200);
    out.push(...(page.json.deliveries as DeliveryView[]));
    cursor = page.json.next_cursor as string | null;
    if (cursor === null) return out;
  }
}

async function scenario(databaseArgs: string[]): Promise<void> {
  const receiver = new TestReceiver({
    seed,
    mix: { fail: 0.15, timeout: 0.05, reset: 0.05, slow: 0.25 },
    slowMs: 150,
    hangMs: 3_000,
  });
  const base = await receiver.listen();
  const args = ['--port', '0', '--test-clock', ...databaseArgs];
  let server = await startServer(args, { env });
  let restarted: RunningServer | null = null;
  try {
    // The test clock starts at the real time; the credit policy (R3) applies from 2026-06-15.
    const clock = (await api(server, 'GET', '/v1/test-clock')).json.now as string;
    if (clock < '2026-11-20') await api(server, 'POST', '/v1/test-clock', { now: '2026-11-20T10:00:00Z' });
    const hook = await api(server, 'POST', '/v1/webhooks', {
      url: `${base}/in`,
      events: ['credit.claimed', 'credit.threshold_reached', 'credit.exhausted'],
    });
    assert.equal(hook.status, 201);
    receiver.expect('/in', hook.json.secret);

    // While the events are generated the receiver fails fast, so every delivery is still pending
    // when it is done; then the next request is held open and the server killed meanwhile.
    receiver.force = 'fail';
    for (let i = 0; i < 8; i++) await account(server, `acct_${i}`);
    let held: string | null = null;
    const killed = new Promise<void>((resolve) => {
      receiver.onRequest = (r) => {
        if (held !== null) return undefined;
        held = r.id;
        server.child.kill('SIGKILL');
        resolve();
        return 'timeout';
      };
    });
    receiver.force = null;
    const noRequest = sleep(20_000, undefined, { ref: false }).then(() =>
      assert.fail('no delivery reached the receiver'),
    );
    await Promise.race([killed, noRequest]);
    const exit = await server.exited;
    assert.equal(exit.signal, 'SIGKILL');
    assert.ok(held !== null);
    receiver.onRequest = null;

    restarted = await startServer(args, { env });
    server = restarted;
    for (let i = 8; i < 10; i++) await account(server, `acct_${i}`);

    const deadline = Date.now() + 45_000;
    let rows: DeliveryView[] = [];
    for (;;) {
      rows = await deliveries(server, hook.json.id);
      if (rows.length === 50 && rows.every((d) => d.status === 'delivered')) break;
      assert.ok(
        Date.now() < deadline,
        `not all delivered: ${rows.length} deliveries, ${rows.filter((d) => d.status !== 'delivered').length} not delivered (seed ${seed})`,
      );
      await sleep(100);
    }
    // Generated once: 10 accounts × (claimed, 50, 80, 100, exhausted), one delivery each.
    const events = new Set(rows.map((d) => d.event_id));
    assert.equal(events.size, 50);
    const byType = (type: string) => rows.filter((d) => d.event_type === type).length;
    assert.equal(byType('credit.claimed'), 10);
    assert.equal(byType('credit.threshold_reached'), 30);
    assert.equal(byType('credit.exhausted'), 10);
    const keys = new Set<string>();
    for (const r of receiver.requests) {
      assert.ok(r.verified, `a request did not verify (${r.id})`);
      const data = r.event!.data;
      const key = `${r.event!.type} ${data.account_id} ${data.threshold_percent ?? ''}`;
      keys.add(`${key} ${r.id}`);
    }
    // One event id per (type, account, threshold), however often it was sent.
    const perKey = new Map<string, Set<string>>();
    for (const k of keys) {
      const [type, acct, pct, id] = k.split(' ');
      const key = `${type} ${acct} ${pct}`;
      perKey.set(key, (perKey.get(key) ?? new Set()).add(id!));
    }
    for (const [key, ids] of perKey) assert.equal(ids.size, 1, `${key} was generated more than once`);
    // Delivered at least once: the receiver acknowledged every one, the held one included.
    const acked = receiver.acknowledgedIds('/in');
    for (const id of events) assert.ok(acked.has(id), `${id} was never acknowledged (seed ${seed})`);
    assert.ok(acked.has(held!), 'the delivery the crash interrupted was retried');
    // The interrupted attempt counts, without an outcome in the log: attempts > logged outcomes.
    const interrupted = rows.find((d) => d.event_id === held);
    assert.ok(
      interrupted && interrupted.attempts > interrupted.attempt_log.length,
      JSON.stringify(interrupted),
    );
  } finally {
    await server.stop();
    await receiver.close();
  }
}

describe('webhooks: kill -9 during delivery, restart', () => {
  it('SQLite: nothing lost, retries resume', async () => {
    const dir = tempDir('creditpool-webhooks-crash-');
    try {
      await scenario(['--db', join(dir.path, 'ledger.db')]);
    } finally {
      dir.remove();
    }
  });

  describe('PostgreSQL', () => {
    let admin: postgres.Sql;
    const name = `cp_whcrash_${randomBytes(4).toString('hex')}`;
    before(async () => {
      admin = postgres(pgAdminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
      await admin.unsafe(`CREATE DATABASE ${name}`);
    });
    after(async () => {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });
    it('nothing lost, retries resume', async () => {
      const url = new URL(pgAdminUrl);
      url.pathname = `/${name}`;
      await scenario(['--database-url', url.toString()]);
    });
  });
});
