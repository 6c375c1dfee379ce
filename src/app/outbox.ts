/**
 * The outbox port: the part of the `Store` that keeps events, webhook endpoints and deliveries
 * (issue 8). `ReadTx` and `Tx` (ports.ts) extend these interfaces, so every adapter implements
 * them, and the shared contract suite (`store.contract.ts`) checks them on each.
 *
 * - Events are written by `Book.flush` (`enqueueEvents`), in the ledger transaction that caused
 *   them, one row per event; nothing else ever writes an event.
 * - The delivery worker (`src/adapters/webhooks/worker.ts`) fans events out into deliveries (one
 *   per matching endpoint per event, unique on (endpoint, event)), then claims due deliveries with
 *   a lease, sends them, and records the outcome only if it still holds the lease.
 * - PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so several server processes never take the
 *   same event or delivery at once; SQLite has a single writer process.
 */
import type { Instant } from '../core/time.ts';
import type { EventRow, EventType, StoredEvent } from './events.ts';

/** A registered endpoint. The scope decides which events it may receive. */
export interface WebhookRow {
  /** `wh_` + 24 hex digits. */
  id: string;
  url: string;
  /**
   * The Standard Webhooks signing secret, `whsec_` + base64 of 32 random bytes. Kept in clear:
   * signing needs it (unlike tokens, which are only compared and so stored hashed).
   */
  secret: string;
  eventTypes: EventType[];
  /** Account scope: only this account's events. */
  accountId: string | null;
  /** Org scope: only events of this org's members. Neither set: every event (admin only). */
  orgId: string | null;
  createdAt: Instant;
  /** Deleted endpoints stay (their delivery log does); null = live. */
  deletedAt: Instant | null;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'canceled';

/** One attempt as the delivery log shows it. */
export interface AttemptRecord {
  at: Instant;
  /** The receiver's HTTP status; null when there was no answer (timeout, refused, reset). */
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** One event for one endpoint. */
export interface DeliveryRow {
  /** Store insertion order (the log pages by it). */
  seq: number;
  /** `dlv_` + 24 hex digits. */
  id: string;
  endpointId: string;
  eventSeq: number;
  eventId: string;
  eventType: EventType;
  createdAt: Instant;
  status: DeliveryStatus;
  /** Attempts started, counted when claimed (a crash mid-attempt still counts). */
  attempts: number;
  /** When a pending delivery is next due; null once it is delivered, dead or canceled. */
  nextAttemptAt: Instant | null;
  /** Held by a worker until then; a lease that ran out (a crashed worker) may be claimed again. */
  leasedUntil: Instant | null;
  leaseToken: string | null;
  lastAttemptAt: Instant | null;
  deliveredAt: Instant | null;
  /** The most recent attempts, oldest first, at most `attemptLogMax`. */
  log: AttemptRecord[];
}

export type NewDelivery = Omit<DeliveryRow, 'seq'>;

/** A claimed delivery with what sending it takes. */
export interface ClaimedDelivery {
  delivery: DeliveryRow;
  url: string;
  secret: string;
  /** The event body, byte for byte as generated. */
  payload: string;
}

/** What the worker has to do: events not yet fanned out, and the next delivery due. */
export interface WebhookWork {
  eventsWaiting: boolean;
  /** The earliest instant a pending delivery may be claimed (its due time or its lease's end). */
  nextAttemptAt: Instant | null;
}

/** Who lists endpoints: everything (admin), one account's, or one org's. */
export type WebhookScope = { all: true } | { accountId: string } | { orgId: string };

/** Attempts kept in a delivery's log: enough to see a retry schedule, bounded per row. */
export const attemptLogMax = 20;

export interface OutboxReads {
  /** Events in insertion order after `afterSeq` (tests, operations). */
  listEvents(afterSeq: number, limit: number): Promise<StoredEvent[]>;
  getWebhook(id: string): Promise<WebhookRow | undefined>;
  /** Live endpoints in the scope, by id, after `afterId`. */
  listWebhooks(scope: WebhookScope, afterId: string | null, limit: number): Promise<WebhookRow[]>;
  /** Live endpoints counted in a scope (`all`: endpoints with neither account nor org). */
  countWebhooks(scope: WebhookScope): Promise<number>;
  /** Live endpoints whose scope covers an event of this account and org. */
  listWebhooksFor(accountId: string | null, orgId: string | null): Promise<WebhookRow[]>;
  getDelivery(id: string): Promise<DeliveryRow | undefined>;
  /** An endpoint's deliveries, newest first, with `seq` below `beforeSeq` (null: from the newest). */
  listDeliveries(endpointId: string, beforeSeq: number | null, limit: number): Promise<DeliveryRow[]>;
  webhookWork(now: Instant): Promise<WebhookWork>;
}

export interface OutboxWrites {
  /** Appends events to the outbox, in order: one row each. */
  enqueueEvents(events: readonly EventRow[]): Promise<void>;
  insertWebhook(row: WebhookRow): Promise<void>;
  /** Marks a live endpoint deleted and cancels its pending deliveries; false if none was live. */
  deleteWebhook(id: string, at: Instant): Promise<boolean>;
  /**
   * Takes up to `limit` events not yet fanned out, oldest first, locked for this transaction
   * (PostgreSQL skips events another transaction holds).
   */
  takeEventsToFanOut(limit: number): Promise<StoredEvent[]>;
  /** Inserts deliveries; one that exists for the same (endpoint, event) is left as it is. */
  insertDeliveries(rows: readonly NewDelivery[]): Promise<void>;
  markEventsFannedOut(seqs: readonly number[]): Promise<void>;
  /**
   * Leases up to `limit` due pending deliveries (not leased, or whose lease ran out) with fewer
   * than `attemptsMax` attempts, counting one more attempt on each. Oldest due first; PostgreSQL
   * skips rows another transaction holds, so concurrent claimers never get the same delivery.
   */
  claimDeliveries(
    now: Instant,
    leaseUntil: Instant,
    leaseToken: string,
    attemptsMax: number,
    limit: number,
  ): Promise<ClaimedDelivery[]>;
  /**
   * Records an attempt's outcome (status, next attempt, log, times) and ends the lease, only if
   * `leaseToken` still holds it; false (and nothing written) when the lease was lost.
   */
  finishDelivery(row: DeliveryRow, leaseToken: string): Promise<boolean>;
  /** Locks one delivery (PostgreSQL: `FOR UPDATE`); undefined if there is none. */
  lockDelivery(id: string): Promise<DeliveryRow | undefined>;
  /**
   * Pending deliveries with `attemptsMax` attempts or more that no live lease holds (a worker died
   * during their last attempt, or the bound was lowered since), locked, skipping rows another
   * transaction holds.
   */
  takeStaleDeliveries(now: Instant, attemptsMax: number, limit: number): Promise<DeliveryRow[]>;
  /** Saves a delivery locked in this transaction (status, attempts, times, lease, log). */
  saveDelivery(row: DeliveryRow): Promise<void>;
}

/** The attempt log as both stores keep it: JSON text, snake_case like the API shows it. */
export function attemptLogToJson(log: readonly AttemptRecord[]): string {
  return JSON.stringify(
    log.map((a) => ({ at: a.at, status_code: a.statusCode, error: a.error, duration_ms: a.durationMs })),
  );
}

export function attemptLogFromJson(text: string): AttemptRecord[] {
  const rows = JSON.parse(text) as {
    at: number;
    status_code: number | null;
    error: string | null;
    duration_ms: number;
  }[];
  return rows.map((r) => ({
    at: r.at,
    statusCode: r.status_code,
    error: r.error,
    durationMs: r.duration_ms,
  }));
}
