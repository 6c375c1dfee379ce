/**
 * The delivery worker: turns the outbox into HTTP requests, at least once per event and endpoint.
 *
 * Each turn of its loop:
 * 1. **Fan-out.** Events not yet fanned out are taken (PostgreSQL: `FOR UPDATE SKIP LOCKED`) and
 *    become one pending delivery per matching endpoint (its scope covers the event's account, it
 *    lists the type, it was registered at or before the event), unique on (endpoint, event), and
 *    are marked fanned out, all in one transaction: a crash before the commit leaves the events to
 *    the next turn, never half fanned out.
 * 2. **Reap.** A delivery whose last allowed attempt was claimed by a worker that died (its lease
 *    ran out with no outcome) becomes a dead letter, so the attempt bound holds through crashes.
 * 3. **Claim and send.** Due deliveries are leased (one more attempt counted) and sent, up to
 *    `concurrency` at once. The lease outlasts the attempt's deadline, so while one worker holds
 *    a delivery no other sends it; a worker that dies (`kill -9`) leaves leases that run out, and
 *    the delivery is claimed again: nothing is lost. The outcome is written only under the lease:
 *    2xx → delivered; otherwise the next attempt after an exponential backoff with jitter, or a
 *    dead letter after `attemptsMax` attempts (replayable by an admin).
 *
 * Deliveries run on real time (`deliveryClock`), even under a test clock: a backoff is a wait in
 * the receiver's world, and the signature's timestamp must be near the receiver's clock.
 *
 * @example
 * const worker = new WebhookWorker({ store });
 * worker.start();
 * …
 * await worker.stop();
 */
import { randomBytes } from 'node:crypto';
import type { StoredEvent } from '../../app/events.ts';
import {
  type AttemptRecord,
  attemptLogMax,
  type ClaimedDelivery,
  type DeliveryRow,
  type NewDelivery,
  type WebhookRow,
} from '../../app/outbox.ts';
import type { Clock, Store } from '../../app/ports.ts';
import { deliveryClock } from '../../app/webhooks/endpoints.ts';
import { httpSender, type Sender } from './send.ts';

export interface WebhookWorkerOptions {
  store: Store;
  /** Real time by default (see above); tests may pass their own. */
  clock?: Clock;
  /** How attempts are made; `httpSender` with the options below by default. */
  sender?: Sender;
  /** Attempts per delivery before it is a dead letter. */
  attemptsMax?: number;
  /** Backoff after the first failure; each later failure multiplies it by `backoffFactor`, up to the cap. */
  backoffBaseMs?: number;
  backoffFactor?: number;
  backoffCapMs?: number;
  /** One attempt's deadline, everything included. */
  timeoutMs?: number;
  responseBytesMax?: number;
  /** Allow private and loopback receivers (`url.ts`). */
  allowPrivate?: boolean;
  /** How long a claim holds a delivery: more than `timeoutMs`, so no lease ends under a live attempt. */
  leaseMs?: number;
  /** How often an idle worker looks for work (it also wakes when a retry falls due). */
  pollMs?: number;
  /** Attempts in flight at once. */
  concurrency?: number;
  /** [0, 1) for the jitter; `Math.random` by default, a seeded generator in tests. */
  random?: () => number;
  /** Where failures of the worker itself go (a store that is down, a bug); default: stderr. */
  onError?: (error: unknown) => void;
}

/**
 * Defaults: 10 attempts, the wait ×4 after each failure from 5 s to a 6 h cap (5 s, 20 s, 80 s,
 * 5 min, 21 min, 85 min, 5.7 h, 6 h, 6 h, before jitter: about 20 hours before a dead letter),
 * 10 s per attempt, 64 KiB read back.
 */
export const webhookDefaults = {
  attemptsMax: 10,
  backoffBaseMs: 5_000,
  backoffFactor: 4,
  backoffCapMs: 6 * 3_600_000,
  timeoutMs: 10_000,
  responseBytesMax: 64 * 1024,
  pollMs: 1_000,
  concurrency: 16,
} as const;

/** Events fanned out per transaction: keeps each fan-out transaction short. */
export const fanOutBatch = 100;
/** Stale deliveries reaped per transaction. */
const reapBatch = 100;
/** The shortest wait of a turn that found nothing to do. */
const idleWaitMinMs = 25;
/** Upper bounds on the options, so a typo cannot make a worker that never gives up or never waits. */
export const attemptsMaxLimit = 50;

/**
 * The delay before attempt `attempt + 1` after `attempt` failed attempts: `base × factor^(attempt−1)`
 * capped, with "equal jitter" (half fixed, half uniform random): retries of many deliveries failing
 * together spread out, and none comes back sooner than half its delay.
 */
export function backoffMs(
  attempt: number,
  o: { backoffBaseMs: number; backoffFactor: number; backoffCapMs: number },
  random: () => number,
): number {
  const exponent = Math.max(0, attempt - 1);
  const delay = Math.min(o.backoffCapMs, o.backoffBaseMs * o.backoffFactor ** exponent);
  return Math.round(delay / 2 + (random() * delay) / 2);
}

export interface WorkerTurn {
  fannedOut: number;
  reaped: number;
  claimed: number;
}

export class WebhookWorker {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #send: Sender;
  readonly #o: {
    attemptsMax: number;
    backoffBaseMs: number;
    backoffFactor: number;
    backoffCapMs: number;
    timeoutMs: number;
    leaseMs: number;
    pollMs: number;
    concurrency: number;
  };
  readonly #random: () => number;
  readonly #onError: (error: unknown) => void;
  /** Attempts in flight, each resolving when its outcome is written (or given up on). */
  readonly #inFlight = new Set<Promise<void>>();
  #running = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;

  constructor(options: WebhookWorkerOptions) {
    const timeoutMs = options.timeoutMs ?? webhookDefaults.timeoutMs;
    this.#o = {
      attemptsMax: options.attemptsMax ?? webhookDefaults.attemptsMax,
      backoffBaseMs: options.backoffBaseMs ?? webhookDefaults.backoffBaseMs,
      backoffFactor: options.backoffFactor ?? webhookDefaults.backoffFactor,
      backoffCapMs: options.backoffCapMs ?? webhookDefaults.backoffCapMs,
      timeoutMs,
      // The attempt's deadline plus room for the outcome's transaction and a stalled event loop.
      leaseMs: options.leaseMs ?? timeoutMs + 30_000,
      pollMs: options.pollMs ?? webhookDefaults.pollMs,
      concurrency: options.concurrency ?? webhookDefaults.concurrency,
    };
    const o = this.#o;
    for (const [name, value, min, max] of [
      ['attemptsMax', o.attemptsMax, 1, attemptsMaxLimit],
      ['backoffBaseMs', o.backoffBaseMs, 1, 86_400_000],
      ['backoffFactor', o.backoffFactor, 1, 16],
      ['backoffCapMs', o.backoffCapMs, o.backoffBaseMs, 7 * 86_400_000],
      ['timeoutMs', o.timeoutMs, 1, 120_000],
      ['leaseMs', o.leaseMs, o.timeoutMs + 1, 3_600_000],
      ['pollMs', o.pollMs, 1, 3_600_000],
      ['concurrency', o.concurrency, 1, 1000],
    ] as const) {
      if (!Number.isFinite(value) || value < min || value > max) {
        throw new RangeError(`webhook worker: ${name} must be in ${min}..${max}, got ${value}`);
      }
    }
    this.#store = options.store;
    this.#clock = options.clock ?? deliveryClock;
    this.#send =
      options.sender ??
      httpSender({
        timeoutMs,
        responseBytesMax: options.responseBytesMax ?? webhookDefaults.responseBytesMax,
        allowPrivate: options.allowPrivate ?? false,
      });
    this.#random = options.random ?? Math.random;
    this.#onError = options.onError ?? ((error) => console.error('creditpool webhooks:', error));
  }

  /** Starts the loop; a second call does nothing. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops taking work and waits for the attempts in flight to finish (each is bounded by its deadline). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    this.#loop = null;
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Wakes an idle worker at once (after events were written in this process, for instance). */
  nudge(): void {
    this.#wake?.();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let next: number | null = null;
      let busy = false;
      try {
        const turn = await this.turn();
        next = turn.nextAttemptAt;
        busy = turn.claimed > 0 || turn.fannedOut > 0;
      } catch (error) {
        this.#onError(error);
      }
      if (!this.#running) break;
      const now = this.#clock.now();
      let wait = Math.max(0, Math.min(this.#o.pollMs, next === null ? this.#o.pollMs : next - now));
      // A turn that did work goes again at once (a full batch may have left more behind); one that
      // did nothing never spins, whatever the store says is due.
      wait = busy ? 0 : Math.max(wait, Math.min(this.#o.pollMs, idleWaitMinMs));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  /**
   * One turn: fan out, reap, claim what fits in the free slots and start sending it. Returns the
   * counts and the next instant something falls due. Public for tests, which drive turns by hand.
   */
  async turn(): Promise<WorkerTurn & { nextAttemptAt: number | null }> {
    const now = this.#clock.now();
    const work = await this.#store.read((tx) => tx.webhookWork(now));
    let fannedOut = 0;
    if (work.eventsWaiting) {
      for (;;) {
        const n = await this.#fanOut();
        fannedOut += n;
        if (n < fanOutBatch) break;
      }
    }
    let reaped = 0;
    let claimed = 0;
    const due = fannedOut > 0 || (work.nextAttemptAt !== null && work.nextAttemptAt <= now);
    if (due) {
      reaped = await this.#reap(now);
      const free = this.#o.concurrency - this.#inFlight.size;
      if (free > 0) claimed = await this.#claimAndSend(free);
    }
    let next: number | null = now;
    if (due && claimed === 0 && this.#inFlight.size >= this.#o.concurrency) {
      next = null; // every slot is busy: the first attempt to finish wakes the loop
    } else if (claimed === 0 && fannedOut === 0) {
      next = due ? (await this.#store.read((tx) => tx.webhookWork(now))).nextAttemptAt : work.nextAttemptAt;
    }
    return { fannedOut, reaped, claimed, nextAttemptAt: next };
  }

  /** Waits until every attempt started so far has its outcome written (tests). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  async #fanOut(): Promise<number> {
    const now = this.#clock.now();
    return this.#store.transaction(async (tx) => {
      const events = await tx.takeEventsToFanOut(fanOutBatch);
      if (events.length === 0) return 0;
      const endpointsByScope = new Map<string, WebhookRow[]>();
      const rows: NewDelivery[] = [];
      for (const event of events) {
        const key = `${event.accountId ?? ''}\u0000${event.orgId ?? ''}`;
        let endpoints = endpointsByScope.get(key);
        if (!endpoints) {
          endpoints = await tx.listWebhooksFor(event.accountId, event.orgId);
          endpointsByScope.set(key, endpoints);
        }
        for (const endpoint of endpoints) {
          if (!matches(endpoint, event)) continue;
          rows.push(newDelivery(endpoint, event, now));
        }
      }
      await tx.insertDeliveries(rows);
      await tx.markEventsFannedOut(events.map((e) => e.seq));
      return events.length;
    });
  }

  async #reap(now: number): Promise<number> {
    return this.#store.transaction(async (tx) => {
      const stale = await tx.takeStaleDeliveries(now, this.#o.attemptsMax, reapBatch);
      for (const row of stale) {
        const entry: AttemptRecord = {
          at: row.lastAttemptAt ?? now,
          statusCode: null,
          error: 'no outcome recorded: the worker stopped during the attempt',
          durationMs: 0,
        };
        await tx.saveDelivery({
          ...row,
          status: 'dead',
          nextAttemptAt: null,
          leasedUntil: null,
          leaseToken: null,
          log: [...row.log, entry].slice(-attemptLogMax),
        });
      }
      return stale.length;
    });
  }

  async #claimAndSend(limit: number): Promise<number> {
    const now = this.#clock.now();
    const token = randomBytes(12).toString('hex');
    const claimed = await this.#store.transaction((tx) =>
      tx.claimDeliveries(now, now + this.#o.leaseMs, token, this.#o.attemptsMax, limit),
    );
    for (const c of claimed) {
      const attempt = this.#attempt(c, token).catch((error: unknown) => this.#onError(error));
      this.#inFlight.add(attempt);
      void attempt.finally(() => {
        this.#inFlight.delete(attempt);
        this.#wake?.();
      });
    }
    return claimed.length;
  }

  async #attempt(claimed: ClaimedDelivery, token: string): Promise<void> {
    const at = this.#clock.now();
    const result = await this.#send({
      url: claimed.url,
      secret: claimed.secret,
      messageId: claimed.delivery.eventId,
      payload: claimed.payload,
      at,
    });
    const done = this.#clock.now();
    const row: DeliveryRow = outcome(claimed.delivery, result, at, done, this.#o, this.#random);
    // False when the lease was lost (this attempt outran it, or the endpoint was deleted): the
    // delivery belongs to someone else now, and this outcome is dropped.
    await this.#store.transaction((tx) => tx.finishDelivery(row, token));
  }
}

/** Does an endpoint want this event? Its type, and registered no later than the event happened. */
export function matches(endpoint: WebhookRow, event: StoredEvent): boolean {
  return (
    endpoint.deletedAt === null &&
    endpoint.createdAt <= event.createdAt &&
    endpoint.eventTypes.includes(event.type)
  );
}

function newDelivery(endpoint: WebhookRow, event: StoredEvent, now: number): NewDelivery {
  return {
    id: `dlv_${randomBytes(12).toString('hex')}`,
    endpointId: endpoint.id,
    eventSeq: event.seq,
    eventId: event.id,
    eventType: event.type,
    createdAt: now,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    leasedUntil: null,
    leaseToken: null,
    lastAttemptAt: null,
    deliveredAt: null,
    log: [],
  };
}

/** A delivery after one attempt: delivered, retried later, or dead; the lease released. */
export function outcome(
  claimed: DeliveryRow,
  result: { ok: boolean; statusCode: number | null; error: string | null; durationMs: number },
  at: number,
  done: number,
  o: { attemptsMax: number; backoffBaseMs: number; backoffFactor: number; backoffCapMs: number },
  random: () => number,
): DeliveryRow {
  const entry: AttemptRecord = {
    at,
    statusCode: result.statusCode,
    error: result.error,
    durationMs: result.durationMs,
  };
  const row: DeliveryRow = {
    ...claimed,
    leasedUntil: null,
    leaseToken: null,
    lastAttemptAt: at,
    log: [...claimed.log, entry].slice(-attemptLogMax),
  };
  if (result.ok) {
    row.status = 'delivered';
    row.nextAttemptAt = null;
    row.deliveredAt = done;
  } else if (claimed.attempts >= o.attemptsMax) {
    row.status = 'dead';
    row.nextAttemptAt = null;
  } else {
    row.status = 'pending';
    row.nextAttemptAt = done + backoffMs(claimed.attempts, o, random);
  }
  return row;
}
