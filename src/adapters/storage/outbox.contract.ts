/**
 * The outbox part of the store contract (events, webhook endpoints, deliveries; `app/outbox.ts`),
 * run by every adapter's test file beside `storeContract`. Written against the port only.
 *
 * @example
 * outboxContract('sqlite', async () => {
 *   const store = await openSqliteStore({ path: ':memory:' });
 *   return { store, cleanup: () => store.close() };
 * });
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type EventRow, type EventType, makeEvent } from '../../app/events.ts';
import type { DeliveryRow, NewDelivery, WebhookRow } from '../../app/outbox.ts';
import type { Store } from '../../app/ports.ts';
import { accountFixture, cycleFixture, type OpenStore } from './store.contract.ts';

const t0 = Date.UTC(2026, 10, 20, 10, 0, 0);

function event(
  n: number,
  type: EventType = 'credit.threshold_reached',
  account = 'acct-a',
  org: string | null = null,
) {
  return makeEvent(type, t0 + n, { id: account, orgId: org }, { n, amount_usd: '1.5' });
}

export function webhookFixture(id: string, over: Partial<WebhookRow> = {}): WebhookRow {
  return {
    id,
    url: `http://127.0.0.1:9/${id}`,
    secret: `whsec_${Buffer.from(id.padEnd(32, 'x')).toString('base64')}`,
    eventTypes: ['credit.threshold_reached', 'credit.exhausted'],
    accountId: null,
    orgId: null,
    createdAt: t0 - 1000,
    deletedAt: null,
    ...over,
  };
}

function deliveryFixture(
  id: string,
  endpointId: string,
  e: { seq: number; id: string; type: EventType },
): NewDelivery {
  return {
    id,
    endpointId,
    eventSeq: e.seq,
    eventId: e.id,
    eventType: e.type,
    createdAt: t0,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: t0,
    leasedUntil: null,
    leaseToken: null,
    lastAttemptAt: null,
    deliveredAt: null,
    log: [],
  };
}

class Boom extends Error {}

export function outboxContract(name: string, open: OpenStore): void {
  function it(title: string, body: (store: Store) => Promise<void>): void {
    test(`${name} outbox: ${title}`, async () => {
      const { store, cleanup } = await open();
      try {
        await body(store);
      } finally {
        await cleanup();
      }
    });
  }

  /** Events enqueued, then fanned out to one endpoint: the stored events and their deliveries. */
  async function withDeliveries(store: Store, count: number, endpoint = webhookFixture('wh_1')) {
    await store.transaction((tx) => tx.insertWebhook(endpoint));
    await store.transaction((tx) => tx.enqueueEvents(Array.from({ length: count }, (_, i) => event(i))));
    const events = await store.read((tx) => tx.listEvents(0, 100));
    await store.transaction(async (tx) => {
      const taken = await tx.takeEventsToFanOut(100);
      await tx.insertDeliveries(taken.map((e, i) => deliveryFixture(`dlv_${i}`, endpoint.id, e)));
      await tx.markEventsFannedOut(taken.map((e) => e.seq));
    });
    return events;
  }

  it('cycles keep their alert mark and expiry warning instant', async (store) => {
    const a = await store.transaction((tx) => tx.insertAccount(accountFixture('acct-a')));
    const cycle = cycleFixture(a.no, t0, 5, { alertPercent: 80, expiringAt: t0 + 86_400_000 });
    await store.transaction((tx) => tx.saveCycle(cycle));
    assert.deepEqual(await store.read((tx) => tx.getCycle(a.no, t0)), cycle);
    await store.transaction((tx) => tx.saveCycle({ ...cycle, alertPercent: 100, expiringAt: null }));
    assert.deepEqual(await store.read((tx) => tx.getCycle(a.no, t0)), {
      ...cycle,
      alertPercent: 100,
      expiringAt: null,
    });
  });

  it('events are kept in order, byte for byte, and vanish with a rolled-back transaction', async (store) => {
    const first = [event(1), event(2, 'credit.exhausted', 'acct-b', 'org-1')];
    await store.transaction((tx) => tx.enqueueEvents(first));
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.enqueueEvents([event(3)]);
        throw new Boom('rolled back');
      }),
      Boom,
    );
    await store.transaction((tx) => tx.enqueueEvents([event(4, 'plan.changed')]));
    const stored = await store.read((tx) => tx.listEvents(0, 10));
    const want: EventRow[] = [...first, ...[event(4, 'plan.changed')]];
    assert.deepEqual(
      stored.map(({ seq: _seq, ...e }) => ({ ...e, id: 'x', payload: JSON.parse(e.payload).data })),
      want.map((e) => ({ ...e, id: 'x', payload: JSON.parse(e.payload).data })),
    );
    assert.deepEqual(
      stored.slice(0, 2).map((e) => [e.id, e.payload]),
      first.map((e) => [e.id, e.payload]),
    );
    assert.ok(stored[0]!.seq < stored[1]!.seq && stored[1]!.seq < stored[2]!.seq);
    assert.deepEqual(await store.read((tx) => tx.listEvents(stored[1]!.seq, 10)), [stored[2]]);
  });

  it('endpoints: scopes, counts, matching, soft delete', async (store) => {
    const global = webhookFixture('wh_g');
    const own = webhookFixture('wh_a', { accountId: 'acct-a' });
    const other = webhookFixture('wh_b', { accountId: 'acct-b' });
    const org = webhookFixture('wh_o', { orgId: 'org-1', eventTypes: ['plan.changed'] });
    for (const w of [global, own, other, org]) await store.transaction((tx) => tx.insertWebhook(w));
    assert.deepEqual(await store.read((tx) => tx.getWebhook('wh_o')), org);
    assert.equal(await store.read((tx) => tx.getWebhook('wh_missing')), undefined);
    const ids = (rows: WebhookRow[]) => rows.map((w) => w.id);
    assert.deepEqual(ids(await store.read((tx) => tx.listWebhooks({ all: true }, null, 10))), [
      'wh_a',
      'wh_b',
      'wh_g',
      'wh_o',
    ]);
    assert.deepEqual(ids(await store.read((tx) => tx.listWebhooks({ all: true }, 'wh_b', 2))), [
      'wh_g',
      'wh_o',
    ]);
    assert.deepEqual(ids(await store.read((tx) => tx.listWebhooks({ accountId: 'acct-a' }, null, 10))), [
      'wh_a',
    ]);
    assert.deepEqual(ids(await store.read((tx) => tx.listWebhooks({ orgId: 'org-1' }, null, 10))), ['wh_o']);
    assert.equal(await store.read((tx) => tx.countWebhooks({ all: true })), 1);
    assert.equal(await store.read((tx) => tx.countWebhooks({ accountId: 'acct-b' })), 1);
    assert.equal(await store.read((tx) => tx.countWebhooks({ orgId: 'org-1' })), 1);
    assert.deepEqual(ids(await store.read((tx) => tx.listWebhooksFor('acct-a', 'org-1'))), [
      'wh_a',
      'wh_g',
      'wh_o',
    ]);
    assert.deepEqual(ids(await store.read((tx) => tx.listWebhooksFor('acct-c', null))), ['wh_g']);
    assert.deepEqual(ids(await store.read((tx) => tx.listWebhooksFor(null, null))), ['wh_g']);
    assert.equal(await store.transaction((tx) => tx.deleteWebhook('wh_a', t0)), true);
    assert.equal(await store.transaction((tx) => tx.deleteWebhook('wh_a', t0 + 1)), false);
    assert.equal(await store.transaction((tx) => tx.deleteWebhook('wh_missing', t0)), false);
    assert.deepEqual(await store.read((tx) => tx.getWebhook('wh_a')), { ...own, deletedAt: t0 });
    assert.deepEqual(ids(await store.read((tx) => tx.listWebhooksFor('acct-a', 'org-1'))), ['wh_g', 'wh_o']);
    assert.equal(await store.read((tx) => tx.countWebhooks({ accountId: 'acct-a' })), 0);
  });

  it('fan-out takes each event once; a delivery per (endpoint, event) is inserted once', async (store) => {
    await store.transaction((tx) => tx.enqueueEvents([event(1), event(2), event(3)]));
    assert.deepEqual(await store.read((tx) => tx.webhookWork(t0)), {
      eventsWaiting: true,
      nextAttemptAt: null,
    });
    const taken = await store.transaction(async (tx) => {
      const batch = await tx.takeEventsToFanOut(2);
      const rows = batch.map((e) => deliveryFixture(`dlv_${e.seq}`, 'wh_1', e));
      await tx.insertDeliveries(rows);
      // A second fan-out of the same events (a retried transaction) adds nothing.
      await tx.insertDeliveries(rows.map((r) => ({ ...r, id: `${r.id}_again` })));
      await tx.markEventsFannedOut(batch.map((e) => e.seq));
      return batch;
    });
    assert.equal(taken.length, 2);
    const rest = await store.transaction((tx) => tx.takeEventsToFanOut(10));
    assert.equal(rest.length, 1);
    assert.ok(rest[0]!.seq > taken[1]!.seq);
    const log = await store.read((tx) => tx.listDeliveries('wh_1', null, 10));
    assert.deepEqual(
      log.map((d) => d.id),
      [`dlv_${taken[1]!.seq}`, `dlv_${taken[0]!.seq}`],
    );
    assert.equal(log[0]!.status, 'pending');
    assert.deepEqual(await store.read((tx) => tx.listDeliveries('wh_1', log[0]!.seq, 10)), [log[1]]);
    assert.deepEqual(await store.read((tx) => tx.getDelivery(log[1]!.id)), log[1]);
  });

  it('claims lease due deliveries once, count the attempt, and bound the attempts', async (store) => {
    await withDeliveries(store, 3);
    assert.deepEqual(await store.read((tx) => tx.webhookWork(t0)), {
      eventsWaiting: false,
      nextAttemptAt: t0,
    });
    assert.deepEqual(
      await store.transaction((tx) => tx.claimDeliveries(t0 - 1, t0 + 5000, 'lease-x', 5, 10)),
      [],
    );
    const first = await store.transaction((tx) => tx.claimDeliveries(t0, t0 + 5000, 'lease-a', 5, 2));
    assert.equal(first.length, 2);
    for (const c of first) {
      assert.equal(c.delivery.attempts, 1);
      assert.equal(c.delivery.leasedUntil, t0 + 5000);
      assert.equal(c.delivery.leaseToken, 'lease-a');
      assert.equal(c.url, 'http://127.0.0.1:9/wh_1');
      assert.match(c.secret, /^whsec_/);
      assert.equal(JSON.parse(c.payload).id, c.delivery.eventId);
    }
    // Leased rows are not claimed again while the lease lasts; the third one is.
    const second = await store.transaction((tx) => tx.claimDeliveries(t0 + 10, t0 + 5000, 'lease-b', 5, 10));
    assert.equal(second.length, 1);
    assert.ok(!first.some((c) => c.delivery.id === second[0]!.delivery.id));
    // After the lease runs out (a worker died), another claimer takes it, one more attempt counted.
    const third = await store.transaction((tx) => tx.claimDeliveries(t0 + 5000, t0 + 9000, 'lease-c', 5, 10));
    assert.equal(third.length, 3);
    const retaken = third.find((c) => c.delivery.id === first[0]!.delivery.id)!;
    assert.equal(retaken.delivery.attempts, 2);
    // Only the lease holder records an outcome.
    const done: DeliveryRow = {
      ...retaken.delivery,
      status: 'delivered',
      nextAttemptAt: null,
      leasedUntil: null,
      leaseToken: null,
      deliveredAt: t0 + 5001,
      lastAttemptAt: t0 + 5000,
      log: [{ at: t0 + 5000, statusCode: 204, error: null, durationMs: 12 }],
    };
    assert.equal(await store.transaction((tx) => tx.finishDelivery(done, 'lease-a')), false);
    assert.equal(await store.transaction((tx) => tx.finishDelivery(done, 'lease-c')), true);
    assert.deepEqual(await store.read((tx) => tx.getDelivery(done.id)), done);
    assert.equal(
      await store.transaction((tx) => tx.finishDelivery(done, 'lease-c')),
      false,
      'not pending any more',
    );
    // The attempt bound: deliveries with attemptsMax attempts are not claimed.
    assert.deepEqual(
      await store.transaction((tx) => tx.claimDeliveries(t0 + 9000, t0 + 9500, 'lease-d', 2, 10)),
      [],
    );
    const stale = await store.transaction((tx) => tx.takeStaleDeliveries(t0 + 9000, 2, 10));
    assert.equal(stale.length, 2);
    assert.deepEqual(await store.transaction((tx) => tx.takeStaleDeliveries(t0 + 8999, 2, 10)), []);
    const dead: DeliveryRow = {
      ...stale[0]!,
      status: 'dead',
      nextAttemptAt: null,
      leasedUntil: null,
      leaseToken: null,
    };
    await store.transaction(async (tx) => {
      assert.deepEqual(await tx.lockDelivery(dead.id), stale[0]);
      await tx.saveDelivery(dead);
    });
    assert.deepEqual(await store.read((tx) => tx.getDelivery(dead.id)), dead);
    assert.equal(await store.transaction((tx) => tx.lockDelivery('dlv_missing')), undefined);
  });

  it('concurrent claimers never get the same delivery', async (store) => {
    await withDeliveries(store, 40);
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.transaction((tx) => tx.claimDeliveries(t0, t0 + 60_000, `lease-${i}`, 5, 7)),
      ),
    );
    const ids = claims.flat().map((c) => c.delivery.id);
    assert.equal(new Set(ids).size, ids.length, 'a delivery was claimed twice');
    assert.equal(ids.length, 40);
  });

  it('deleting an endpoint cancels its pending deliveries; a canceled one records no outcome', async (store) => {
    await withDeliveries(store, 2);
    const [claimed] = await store.transaction((tx) => tx.claimDeliveries(t0, t0 + 5000, 'lease-a', 5, 1));
    assert.ok(claimed);
    assert.equal(await store.transaction((tx) => tx.deleteWebhook('wh_1', t0 + 1)), true);
    const log = await store.read((tx) => tx.listDeliveries('wh_1', null, 10));
    assert.deepEqual(
      log.map((d) => [d.status, d.nextAttemptAt]),
      [
        ['canceled', null],
        ['canceled', null],
      ],
    );
    const outcome = {
      ...claimed.delivery,
      status: 'delivered' as const,
      leasedUntil: null,
      leaseToken: null,
    };
    assert.equal(await store.transaction((tx) => tx.finishDelivery(outcome, 'lease-a')), false);
    assert.deepEqual(await store.read((tx) => tx.webhookWork(t0)), {
      eventsWaiting: false,
      nextAttemptAt: null,
    });
  });

  it('webhookWork reports the next due instant, a lease counting as not due', async (store) => {
    await withDeliveries(store, 1);
    await store.transaction((tx) => tx.claimDeliveries(t0, t0 + 7000, 'lease-a', 5, 1));
    assert.deepEqual(await store.read((tx) => tx.webhookWork(t0)), {
      eventsWaiting: false,
      nextAttemptAt: t0 + 7000,
    });
  });
}
