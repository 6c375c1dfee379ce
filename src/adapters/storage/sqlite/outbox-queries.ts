/**
 * The outbox's SQL on SQLite (events, webhook endpoints, deliveries), prepared once per
 * connection like `queries.ts`, with the row mapping. No policy: the store decides when each runs.
 * One writer process owns the file, so claims need no row locks: a claim reads the due rows and
 * leases them inside the same write transaction.
 */
import type { DatabaseSync, SQLOutputValue, StatementSync } from 'node:sqlite';
import type { EventRow, EventType, StoredEvent } from '../../../app/events.ts';
import {
  attemptLogFromJson,
  attemptLogToJson,
  type ClaimedDelivery,
  type DeliveryRow,
  type DeliveryStatus,
  type NewDelivery,
  type WebhookRow,
  type WebhookScope,
  type WebhookWork,
} from '../../../app/outbox.ts';
import type { Instant } from '../../../core/time.ts';

type Row = Record<string, SQLOutputValue>;

const num = (v: SQLOutputValue | undefined): number => Number(v);
const numOrNull = (v: SQLOutputValue | undefined): number | null =>
  v === null || v === undefined ? null : Number(v);
const str = (v: SQLOutputValue | undefined): string => v as string;
const strOrNull = (v: SQLOutputValue | undefined): string | null => (v ?? null) as string | null;

const eventColumns = 'seq, id, type, account_id, org_id, created_at, payload';
const webhookColumns = 'id, url, secret, event_types, account_id, org_id, created_at, deleted_at';
const deliveryColumns =
  'seq, id, endpoint_id, event_seq, event_id, event_type, created_at, status, attempts, next_attempt_at, ' +
  'leased_until, lease_token, last_attempt_at, delivered_at, log';
/** Above any seq: "from the newest" in the delivery log. */
const seqMax = Number.MAX_SAFE_INTEGER;

function eventFromRow(r: Row): StoredEvent {
  return {
    seq: num(r.seq),
    id: str(r.id),
    type: str(r.type) as EventType,
    accountId: strOrNull(r.account_id),
    orgId: strOrNull(r.org_id),
    createdAt: num(r.created_at),
    payload: str(r.payload),
  };
}

function webhookFromRow(r: Row): WebhookRow {
  return {
    id: str(r.id),
    url: str(r.url),
    secret: str(r.secret),
    eventTypes: JSON.parse(str(r.event_types)) as EventType[],
    accountId: strOrNull(r.account_id),
    orgId: strOrNull(r.org_id),
    createdAt: num(r.created_at),
    deletedAt: numOrNull(r.deleted_at),
  };
}

function deliveryFromRow(r: Row): DeliveryRow {
  return {
    seq: num(r.seq),
    id: str(r.id),
    endpointId: str(r.endpoint_id),
    eventSeq: num(r.event_seq),
    eventId: str(r.event_id),
    eventType: str(r.event_type) as EventType,
    createdAt: num(r.created_at),
    status: str(r.status) as DeliveryStatus,
    attempts: num(r.attempts),
    nextAttemptAt: numOrNull(r.next_attempt_at),
    leasedUntil: numOrNull(r.leased_until),
    leaseToken: strOrNull(r.lease_token),
    lastAttemptAt: numOrNull(r.last_attempt_at),
    deliveredAt: numOrNull(r.delivered_at),
    log: attemptLogFromJson(str(r.log)),
  };
}

export class OutboxQueries {
  readonly #db: DatabaseSync;
  readonly #s: Record<string, StatementSync> = {};

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Prepared on first use, then kept: a connection that never touches the outbox prepares nothing. */
  #q(name: string, sql: string): StatementSync {
    let statement = this.#s[name];
    if (!statement) {
      statement = this.#db.prepare(sql);
      statement.setReadBigInts(true);
      this.#s[name] = statement;
    }
    return statement;
  }

  // ── events ──

  insertEvent(e: EventRow): void {
    this.#q(
      'eventInsert',
      'INSERT INTO events (id, type, account_id, org_id, created_at, payload) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(e.id, e.type, e.accountId, e.orgId, e.createdAt, e.payload);
  }

  events(afterSeq: number, limit: number): StoredEvent[] {
    const q = this.#q('eventsAfter', `SELECT ${eventColumns} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`);
    return (q.all(afterSeq, limit) as Row[]).map(eventFromRow);
  }

  eventsToFanOut(limit: number): StoredEvent[] {
    const q = this.#q(
      'eventsToFanOut',
      `SELECT ${eventColumns} FROM events WHERE fanned_out = 0 ORDER BY seq LIMIT ?`,
    );
    return (q.all(limit) as Row[]).map(eventFromRow);
  }

  markFannedOut(seq: number): void {
    this.#q('eventFannedOut', 'UPDATE events SET fanned_out = 1 WHERE seq = ?').run(seq);
  }

  // ── webhooks ──

  insertWebhook(w: WebhookRow): void {
    this.#q('webhookInsert', `INSERT INTO webhooks (${webhookColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
      w.id,
      w.url,
      w.secret,
      JSON.stringify(w.eventTypes),
      w.accountId,
      w.orgId,
      w.createdAt,
      w.deletedAt,
    );
  }

  webhook(id: string): WebhookRow | undefined {
    const r = this.#q('webhookGet', `SELECT ${webhookColumns} FROM webhooks WHERE id = ?`).get(id) as
      | Row
      | undefined;
    return r && webhookFromRow(r);
  }

  webhooks(scope: WebhookScope, afterId: string | null, limit: number): WebhookRow[] {
    const after = afterId ?? '';
    let rows: Row[];
    if ('accountId' in scope) {
      rows = this.#q(
        'webhooksOfAccount',
        `SELECT ${webhookColumns} FROM webhooks WHERE deleted_at IS NULL AND account_id = ? AND id > ? ORDER BY id LIMIT ?`,
      ).all(scope.accountId, after, limit) as Row[];
    } else if ('orgId' in scope) {
      rows = this.#q(
        'webhooksOfOrg',
        `SELECT ${webhookColumns} FROM webhooks WHERE deleted_at IS NULL AND org_id = ? AND id > ? ORDER BY id LIMIT ?`,
      ).all(scope.orgId, after, limit) as Row[];
    } else {
      rows = this.#q(
        'webhooksAll',
        `SELECT ${webhookColumns} FROM webhooks WHERE deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?`,
      ).all(after, limit) as Row[];
    }
    return rows.map(webhookFromRow);
  }

  countWebhooks(scope: WebhookScope): number {
    let r: Row | undefined;
    if ('accountId' in scope) {
      r = this.#q(
        'webhooksCountAccount',
        'SELECT count(*) AS n FROM webhooks WHERE deleted_at IS NULL AND account_id = ?',
      ).get(scope.accountId) as Row | undefined;
    } else if ('orgId' in scope) {
      r = this.#q(
        'webhooksCountOrg',
        'SELECT count(*) AS n FROM webhooks WHERE deleted_at IS NULL AND org_id = ?',
      ).get(scope.orgId) as Row | undefined;
    } else {
      r = this.#q(
        'webhooksCountGlobal',
        'SELECT count(*) AS n FROM webhooks WHERE deleted_at IS NULL AND account_id IS NULL AND org_id IS NULL',
      ).get() as Row | undefined;
    }
    return num(r?.n);
  }

  webhooksFor(accountId: string | null, orgId: string | null): WebhookRow[] {
    const q = this.#q(
      'webhooksFor',
      `SELECT ${webhookColumns} FROM webhooks WHERE deleted_at IS NULL
       AND (account_id = ?1 OR org_id = ?2 OR (account_id IS NULL AND org_id IS NULL)) ORDER BY id`,
    );
    return (q.all(accountId, orgId) as Row[]).map(webhookFromRow);
  }

  /** Marks the endpoint deleted and cancels its pending deliveries; false if it was not live. */
  deleteWebhook(id: string, at: Instant): boolean {
    const changed = this.#q(
      'webhookDelete',
      'UPDATE webhooks SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL',
    ).run(at, id).changes;
    if (Number(changed) === 0) return false;
    this.#q(
      'deliveriesCancel',
      `UPDATE webhook_deliveries SET status = 'canceled', next_attempt_at = NULL
       WHERE endpoint_id = ? AND status = 'pending'`,
    ).run(id);
    return true;
  }

  // ── deliveries ──

  insertDelivery(d: NewDelivery): void {
    this.#q(
      'deliveryInsert',
      `INSERT INTO webhook_deliveries (${deliveryColumns.replace('seq, ', '')})
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
    ).run(
      d.id,
      d.endpointId,
      d.eventSeq,
      d.eventId,
      d.eventType,
      d.createdAt,
      d.status,
      d.attempts,
      d.nextAttemptAt,
      d.leasedUntil,
      d.leaseToken,
      d.lastAttemptAt,
      d.deliveredAt,
      attemptLogToJson(d.log),
    );
  }

  delivery(id: string): DeliveryRow | undefined {
    const r = this.#q('deliveryGet', `SELECT ${deliveryColumns} FROM webhook_deliveries WHERE id = ?`).get(
      id,
    ) as Row | undefined;
    return r && deliveryFromRow(r);
  }

  deliveries(endpointId: string, beforeSeq: number | null, limit: number): DeliveryRow[] {
    const q = this.#q(
      'deliveriesLog',
      `SELECT ${deliveryColumns} FROM webhook_deliveries WHERE endpoint_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
    );
    return (q.all(endpointId, beforeSeq ?? seqMax, limit) as Row[]).map(deliveryFromRow);
  }

  /** The seqs of due, unleased pending deliveries under the attempt bound, oldest due first. */
  dueDeliveries(now: Instant, attemptsMax: number, limit: number): number[] {
    const q = this.#q(
      'deliveriesDue',
      `SELECT seq FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?1
       AND (leased_until IS NULL OR leased_until <= ?1) AND attempts < ?2 ORDER BY next_attempt_at, seq LIMIT ?3`,
    );
    return (q.all(now, attemptsMax, limit) as Row[]).map((r) => num(r.seq));
  }

  /** Leases one delivery (one more attempt) and returns it with its endpoint and payload. */
  lease(seq: number, leaseUntil: Instant, leaseToken: string): ClaimedDelivery | undefined {
    this.#q(
      'deliveryLease',
      'UPDATE webhook_deliveries SET attempts = attempts + 1, leased_until = ?, lease_token = ? WHERE seq = ?',
    ).run(leaseUntil, leaseToken, seq);
    const r = this.#q(
      'deliveryClaimed',
      `SELECT ${deliveryColumns
        .split(', ')
        .map((c) => `d.${c}`)
        .join(', ')}, w.url, w.secret, e.payload
       FROM webhook_deliveries d JOIN webhooks w ON w.id = d.endpoint_id JOIN events e ON e.seq = d.event_seq
       WHERE d.seq = ?`,
    ).get(seq) as Row | undefined;
    return (
      r && { delivery: deliveryFromRow(r), url: str(r.url), secret: str(r.secret), payload: str(r.payload) }
    );
  }

  /** An attempt's outcome, only under the lease that made it and while still pending. */
  finish(d: DeliveryRow, leaseToken: string): boolean {
    const q = this.#q(
      'deliveryFinish',
      `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, leased_until = ?, lease_token = ?,
       last_attempt_at = ?, delivered_at = ?, log = ? WHERE id = ? AND lease_token = ? AND status = 'pending'`,
    );
    const changed = q.run(
      d.status,
      d.attempts,
      d.nextAttemptAt,
      d.leasedUntil,
      d.leaseToken,
      d.lastAttemptAt,
      d.deliveredAt,
      attemptLogToJson(d.log),
      d.id,
      leaseToken,
    ).changes;
    return Number(changed) > 0;
  }

  save(d: DeliveryRow): void {
    this.#q(
      'deliverySave',
      `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, leased_until = ?, lease_token = ?,
       last_attempt_at = ?, delivered_at = ?, log = ? WHERE id = ?`,
    ).run(
      d.status,
      d.attempts,
      d.nextAttemptAt,
      d.leasedUntil,
      d.leaseToken,
      d.lastAttemptAt,
      d.deliveredAt,
      attemptLogToJson(d.log),
      d.id,
    );
  }

  stale(now: Instant, attemptsMax: number, limit: number): DeliveryRow[] {
    const q = this.#q(
      'deliveriesStale',
      `SELECT ${deliveryColumns} FROM webhook_deliveries WHERE status = 'pending' AND attempts >= ?2
       AND (leased_until IS NULL OR leased_until <= ?1) ORDER BY seq LIMIT ?3`,
    );
    return (q.all(now, attemptsMax, limit) as Row[]).map(deliveryFromRow);
  }

  work(): WebhookWork {
    const r = this.#q(
      'work',
      `SELECT EXISTS (SELECT 1 FROM events WHERE fanned_out = 0) AS waiting,
       (SELECT min(max(next_attempt_at, coalesce(leased_until, 0))) FROM webhook_deliveries WHERE status = 'pending') AS next_at`,
    ).get() as Row;
    return { eventsWaiting: r.waiting === 1n, nextAttemptAt: numOrNull(r.next_at) };
  }
}
