/**
 * The outbox's SQL on PostgreSQL (events, webhook endpoints, deliveries) and its row mapping.
 * Several server processes share the tables: the fan-out and the claim take their rows with
 * `FOR UPDATE SKIP LOCKED`, so two workers never hold the same event or delivery, and a claim
 * leases its deliveries (`leased_until`, `lease_token`) so an attempt's outcome is recorded only by
 * the worker that made it.
 */
import type { EventType, StoredEvent } from '../../../app/events.ts';
import {
  attemptLogFromJson,
  type DeliveryRow,
  type DeliveryStatus,
  type WebhookRow,
} from '../../../app/outbox.ts';
import { type DbRow, num, numOrNull } from './rows.ts';

const eventColumns = 'seq, id, type, account_id, org_id, created_at, payload';
const webhookColumns = 'id, url, secret, event_types, account_id, org_id, created_at, deleted_at';
export const deliveryColumns =
  'seq, id, endpoint_id, event_seq, event_id, event_type, created_at, status, attempts, next_attempt_at, ' +
  'leased_until, lease_token, last_attempt_at, delivered_at, log';
const d = (columns: string) =>
  columns
    .split(', ')
    .map((c) => `d.${c}`)
    .join(', ');

export const outboxText = {
  eventsInsert: `INSERT INTO events (id, type, account_id, org_id, created_at, payload)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[])`,
  eventsAfter: `SELECT ${eventColumns} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`,
  eventsToFanOut: `SELECT ${eventColumns} FROM events WHERE NOT fanned_out ORDER BY seq LIMIT $1
    FOR UPDATE SKIP LOCKED`,
  eventsFannedOut: 'UPDATE events SET fanned_out = true WHERE seq = ANY($1::int8[])',
  webhookInsert: `INSERT INTO webhooks (${webhookColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
  webhookGet: `SELECT ${webhookColumns} FROM webhooks WHERE id = $1`,
  webhooksOfAccount: `SELECT ${webhookColumns} FROM webhooks WHERE deleted_at IS NULL AND account_id = $1
    AND id > $2 ORDER BY id LIMIT $3`,
  webhooksOfOrg: `SELECT ${webhookColumns} FROM webhooks WHERE deleted_at IS NULL AND org_id = $1
    AND id > $2 ORDER BY id LIMIT $3`,
  webhooksAll: `SELECT ${webhookColumns} FROM webhooks WHERE deleted_at IS NULL AND id > $1 ORDER BY id LIMIT $2`,
  webhooksCountAccount: 'SELECT count(*) AS n FROM webhooks WHERE deleted_at IS NULL AND account_id = $1',
  webhooksCountOrg: 'SELECT count(*) AS n FROM webhooks WHERE deleted_at IS NULL AND org_id = $1',
  webhooksCountGlobal:
    'SELECT count(*) AS n FROM webhooks WHERE deleted_at IS NULL AND account_id IS NULL AND org_id IS NULL',
  webhooksFor: `SELECT ${webhookColumns} FROM webhooks WHERE deleted_at IS NULL
    AND (account_id = $1 OR org_id = $2 OR (account_id IS NULL AND org_id IS NULL)) ORDER BY id`,
  webhookDelete: 'UPDATE webhooks SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL',
  deliveriesCancel: `UPDATE webhook_deliveries SET status = 'canceled', next_attempt_at = NULL
    WHERE endpoint_id = $1 AND status = 'pending'`,
  deliveriesInsert: `INSERT INTO webhook_deliveries (${deliveryColumns.replace('seq, ', '')})
    SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::int8[], $7::text[],
      $8::int4[], $9::int8[], $10::int8[], $11::text[], $12::int8[], $13::int8[], $14::text[])
    ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
  deliveryGet: `SELECT ${deliveryColumns} FROM webhook_deliveries WHERE id = $1`,
  deliveryLock: `SELECT ${deliveryColumns} FROM webhook_deliveries WHERE id = $1 FOR UPDATE`,
  deliveriesLog: `SELECT ${deliveryColumns} FROM webhook_deliveries WHERE endpoint_id = $1 AND seq < $2
    ORDER BY seq DESC LIMIT $3`,
  // One statement: pick the due rows (skipping rows other claimers hold), lease them, and return
  // them with their endpoint and payload.
  deliveriesClaim: `WITH due AS (
      SELECT seq FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1
        AND (leased_until IS NULL OR leased_until <= $1) AND attempts < $4
      ORDER BY next_attempt_at, seq LIMIT $5 FOR UPDATE SKIP LOCKED),
    leased AS (
      UPDATE webhook_deliveries w SET attempts = w.attempts + 1, leased_until = $2, lease_token = $3
      FROM due WHERE w.seq = due.seq RETURNING w.*)
    SELECT ${d(deliveryColumns)}, h.url, h.secret, e.payload
    FROM leased d JOIN webhooks h ON h.id = d.endpoint_id JOIN events e ON e.seq = d.event_seq
    ORDER BY d.next_attempt_at, d.seq`,
  deliveryFinish: `UPDATE webhook_deliveries SET status = $3, attempts = $4, next_attempt_at = $5,
    leased_until = $6, lease_token = $7, last_attempt_at = $8, delivered_at = $9, log = $10
    WHERE id = $1 AND lease_token = $2 AND status = 'pending'`,
  deliverySave: `UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4,
    leased_until = $5, lease_token = $6, last_attempt_at = $7, delivered_at = $8, log = $9 WHERE id = $1`,
  deliveriesStale: `SELECT ${deliveryColumns} FROM webhook_deliveries WHERE status = 'pending' AND attempts >= $2
    AND (leased_until IS NULL OR leased_until <= $1) ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED`,
  work: `SELECT EXISTS (SELECT 1 FROM events WHERE NOT fanned_out) AS waiting,
    (SELECT min(GREATEST(next_attempt_at, coalesce(leased_until, 0))) FROM webhook_deliveries
      WHERE status = 'pending') AS next_at`,
};

function text(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError(`expected a text column, got ${typeof value}`);
  return value;
}

function textOrNull(value: unknown): string | null {
  return value === null ? null : text(value);
}

export function eventFromRow(r: DbRow): StoredEvent {
  return {
    seq: num(r.seq),
    id: text(r.id),
    type: text(r.type) as EventType,
    accountId: textOrNull(r.account_id),
    orgId: textOrNull(r.org_id),
    createdAt: num(r.created_at),
    payload: text(r.payload),
  };
}

export function webhookFromRow(r: DbRow): WebhookRow {
  return {
    id: text(r.id),
    url: text(r.url),
    secret: text(r.secret),
    eventTypes: JSON.parse(text(r.event_types)) as EventType[],
    accountId: textOrNull(r.account_id),
    orgId: textOrNull(r.org_id),
    createdAt: num(r.created_at),
    deletedAt: numOrNull(r.deleted_at),
  };
}

export function deliveryFromRow(r: DbRow): DeliveryRow {
  return {
    seq: num(r.seq),
    id: text(r.id),
    endpointId: text(r.endpoint_id),
    eventSeq: num(r.event_seq),
    eventId: text(r.event_id),
    eventType: text(r.event_type) as EventType,
    createdAt: num(r.created_at),
    status: text(r.status) as DeliveryStatus,
    attempts: num(r.attempts),
    nextAttemptAt: numOrNull(r.next_attempt_at),
    leasedUntil: numOrNull(r.leased_until),
    leaseToken: textOrNull(r.lease_token),
    lastAttemptAt: numOrNull(r.last_attempt_at),
    deliveredAt: numOrNull(r.delivered_at),
    log: attemptLogFromJson(text(r.log)),
  };
}
