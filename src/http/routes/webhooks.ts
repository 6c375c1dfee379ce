/**
 * Webhooks (API.md "Webhooks", issue 8): endpoints and their delivery log. Decode, resolve the
 * token's scope, call one use case, encode.
 *
 * Scope: an admin registers endpoints for every account (neither id), one account (`account_id`)
 * or one org (`org_id`) and sees them all; an account token registers and sees its own account's;
 * an org admin its org's (`org_id` may be left out; an account id is refused: an org endpoint
 * covers every member). Anything outside the scope answers 404 like a missing endpoint. Replaying
 * a dead letter is the admin's.
 */
import type { FastifyInstance } from 'fastify';
import { WebhookWorker, type WebhookWorkerOptions } from '../../adapters/webhooks/worker.ts';
import { eventTypes } from '../../app/events.ts';
import type { DeliveryRow, WebhookRow, WebhookScope } from '../../app/outbox.ts';
import type { Store } from '../../app/ports.ts';
import {
  createWebhook,
  deleteWebhook,
  deliveriesPageDefault,
  deliveriesPageMax,
  listDeliveries,
  listWebhooks,
  replayDelivery,
  webhooksPageMax,
} from '../../app/webhooks/endpoints.ts';
import { webhookUrlLengthMax } from '../../app/webhooks/url.ts';
import { formatInstant } from '../../core/time.ts';
import { type Principal, principalOf } from '../auth.ts';
import { HttpProblem } from '../errors.ts';
import * as s from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

export interface WebhookRouteOptions {
  /** Private and loopback receiver addresses allowed (`CREDITPOOL_WEBHOOK_ALLOW_PRIVATE`). */
  allowPrivate: boolean;
}

type Schema = Record<string, unknown>;
const time: Schema = { type: 'string', format: 'date-time' };
const nullableTime: Schema = { type: ['string', 'null'], format: 'date-time' };
const nullableStr: Schema = { type: ['string', 'null'] };
const eventType: Schema = { type: 'string', enum: [...eventTypes] };

const webhookBody = s.object(
  {
    url: {
      type: 'string',
      minLength: 1,
      maxLength: webhookUrlLengthMax,
      examples: ['https://hooks.example.com/creditpool'],
    },
    events: { type: 'array', items: eventType, minItems: 1, maxItems: eventTypes.length, uniqueItems: true },
    account_id: { anyOf: [s.accountId, { type: 'null' }] },
    org_id: { anyOf: [s.accountId, { type: 'null' }] },
  },
  ['account_id', 'org_id'],
);

const webhookView = s.object({
  id: { type: 'string' },
  url: { type: 'string' },
  events: { type: 'array', items: eventType },
  account_id: nullableStr,
  org_id: nullableStr,
  created_at: time,
});

const webhookCreated = s.object({
  ...(webhookView.properties as Record<string, Schema>),
  secret: {
    type: 'string',
    description: 'the Standard Webhooks signing secret (whsec_…): shown once, here',
  },
});

const webhookDeleted = s.object({ id: { type: 'string' }, deleted: { type: 'boolean' } });

const attemptView = s.object({
  at: time,
  status_code: { type: ['integer', 'null'] },
  error: nullableStr,
  duration_ms: { type: 'integer' },
});

const deliveryView = s.object({
  id: { type: 'string' },
  event_id: { type: 'string' },
  event_type: eventType,
  status: { type: 'string', enum: ['pending', 'delivered', 'dead', 'canceled'] },
  attempts: { type: 'integer' },
  next_retry_at: { ...nullableTime, description: 'when a pending delivery is tried next' },
  last_attempt_at: nullableTime,
  last_status_code: { type: ['integer', 'null'] },
  last_error: nullableStr,
  delivered_at: nullableTime,
  created_at: time,
  attempt_log: { type: 'array', items: attemptView, description: 'the most recent attempts, oldest first' },
});

const pageQuery = (max: number) =>
  s.object(
    {
      limit: { type: 'string', pattern: `^[1-9][0-9]{0,${String(max).length - 1}}$` },
      cursor: { type: 'string', minLength: 1, maxLength: 64 },
    },
    ['limit', 'cursor'],
  );

const idParams = s.object({ id: s.pathId });
const deliveryParams = s.object({ id: s.pathId, delivery_id: s.pathId });

export function webhookViewOf(row: WebhookRow) {
  return {
    id: row.id,
    url: row.url,
    events: row.eventTypes,
    account_id: row.accountId,
    org_id: row.orgId,
    created_at: formatInstant(row.createdAt),
  };
}

function deliveryViewOf(row: DeliveryRow) {
  const last = row.log.at(-1);
  const when = (at: number | null) => (at === null ? null : formatInstant(at));
  return {
    id: row.id,
    event_id: row.eventId,
    event_type: row.eventType,
    status: row.status,
    attempts: row.attempts,
    next_retry_at: row.status === 'pending' ? when(row.nextAttemptAt) : null,
    last_attempt_at: when(row.lastAttemptAt),
    last_status_code: last?.statusCode ?? null,
    last_error: last?.error ?? null,
    delivered_at: when(row.deliveredAt),
    created_at: formatInstant(row.createdAt),
    attempt_log: row.log.map((a) => ({
      at: formatInstant(a.at),
      status_code: a.statusCode,
      error: a.error,
      duration_ms: a.durationMs,
    })),
  };
}

/** The endpoints a token may see and manage. */
function scopeOf(principal: Principal): WebhookScope {
  switch (principal.role) {
    case 'admin':
      return { all: true };
    case 'account':
      return { accountId: principal.accountId ?? '' };
    case 'org_admin':
      return { orgId: principal.orgId ?? '' };
    default:
      // The routes never serve other roles (403 before a handler runs).
      throw new HttpProblem('forbidden', 'this token may not manage webhooks');
  }
}

function pageLimit(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : Number(text);
}

export function webhookRoutes(app: FastifyInstance, { ctx }: RouteDeps, options: WebhookRouteOptions): void {
  const managers = ['admin', 'account', 'org_admin'] as const;

  app.post<{ Body: { url: string; events: string[]; account_id?: string | null; org_id?: string | null } }>(
    '/v1/webhooks',
    {
      config: { access: managers },
      schema: {
        summary: 'Register a webhook endpoint (its signing secret is in this answer only)',
        tags: ['webhooks'],
        body: webhookBody,
        response: s.responses({ 201: webhookCreated }),
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const body = request.body;
      let accountId = body.account_id ?? null;
      let orgId = body.org_id ?? null;
      if (principal.role === 'account') {
        // Its own account only: another account, or an org, reads like one that does not exist.
        if (orgId !== null) throw new HttpProblem('not_found', `no org ${orgId}`);
        if (accountId !== null && accountId !== principal.accountId) {
          throw new HttpProblem('not_found', `no account ${accountId}`);
        }
        accountId = principal.accountId;
      } else if (principal.role === 'org_admin') {
        if (accountId !== null) {
          throw new HttpProblem(
            'invalid_request',
            "an org admin's endpoint covers its whole org: leave account_id out",
          );
        }
        if (orgId !== null && orgId !== principal.orgId)
          throw new HttpProblem('not_found', `no org ${orgId}`);
        orgId = principal.orgId;
      }
      const row = await createWebhook(ctx, { url: body.url, events: body.events, accountId, orgId }, options);
      return reply.code(201).send({ ...webhookViewOf(row), secret: row.secret });
    },
  );

  app.get<{ Querystring: { limit?: string; cursor?: string } }>(
    '/v1/webhooks',
    {
      config: { access: managers },
      schema: {
        summary: "The endpoints in the token's scope (never their secrets)",
        tags: ['webhooks'],
        querystring: pageQuery(webhooksPageMax),
        response: s.responses({
          200: s.object({ webhooks: { type: 'array', items: webhookView }, next_cursor: nullableStr }),
        }),
      },
    },
    async (request) => {
      const page = await listWebhooks(
        ctx,
        scopeOf(principalOf(request)),
        request.query.cursor ?? null,
        pageLimit(request.query.limit, webhooksPageMax),
      );
      return { webhooks: page.webhooks.map(webhookViewOf), next_cursor: page.nextCursor };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/webhooks/:id',
    {
      config: { access: managers },
      schema: {
        summary: 'Delete an endpoint: nothing more is sent to it; its pending deliveries are canceled',
        tags: ['webhooks'],
        params: idParams,
        response: s.responses({ 200: webhookDeleted }),
      },
    },
    async (request) => {
      await deleteWebhook(ctx, request.params.id, scopeOf(principalOf(request)));
      return { id: request.params.id, deleted: true };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: string; cursor?: string } }>(
    '/v1/webhooks/:id/deliveries',
    {
      config: { access: managers },
      schema: {
        summary: "An endpoint's delivery log, newest first: attempts, statuses, next retry",
        tags: ['webhooks'],
        params: idParams,
        querystring: pageQuery(deliveriesPageMax),
        response: s.responses({
          200: s.object({ deliveries: { type: 'array', items: deliveryView }, next_cursor: nullableStr }),
        }),
      },
    },
    async (request) => {
      const page = await listDeliveries(
        ctx,
        request.params.id,
        scopeOf(principalOf(request)),
        request.query.cursor ?? null,
        pageLimit(request.query.limit, deliveriesPageDefault),
      );
      return { deliveries: page.deliveries.map(deliveryViewOf), next_cursor: page.nextCursor };
    },
  );

  app.post<{ Params: { id: string; delivery_id: string } }>(
    '/v1/webhooks/:id/deliveries/:delivery_id/replay',
    {
      config: { access: ['admin'] },
      schema: {
        summary: 'Replay a dead letter (or a delivered event): pending again, attempts reset, due now',
        tags: ['webhooks'],
        params: deliveryParams,
        response: s.responses({ 200: deliveryView }),
      },
    },
    async (request) =>
      deliveryViewOf(await replayDelivery(ctx, request.params.id, request.params.delivery_id)),
  );
}

/** `buildServer`'s webhook options: who may be a receiver, and the delivery worker (off unless given). */
export interface WebhookServerOptions {
  allowPrivate: boolean;
  /** Runs a delivery worker in this server (started with it, stopped and awaited on close). */
  worker: Omit<WebhookWorkerOptions, 'store' | 'allowPrivate'> | null;
}

const integerText = /^\d{1,9}$/;

/**
 * From the environment: `CREDITPOOL_WEBHOOK_ALLOW_PRIVATE=1` allows private and loopback receivers;
 * `CREDITPOOL_WEBHOOK_ATTEMPTS`, `…_RETRY_BASE_MS`, `…_RETRY_CAP_MS`, `…_TIMEOUT_MS`, `…_LEASE_MS`,
 * `…_POLL_MS` tune the worker (`webhookDefaults`), `CREDITPOOL_WEBHOOKS=off` turns it off. The worker itself
 * is on only where `worker` is asked for (`serve` asks).
 */
export function webhookOptionsFromEnv(env: NodeJS.ProcessEnv, worker: boolean): WebhookServerOptions {
  const number = (name: string): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    if (!integerText.test(text)) throw new Error(`${name}: ${JSON.stringify(text)} is not a whole number`);
    return Number(text);
  };
  const allowPrivate =
    env.CREDITPOOL_WEBHOOK_ALLOW_PRIVATE === '1' || env.CREDITPOOL_WEBHOOK_ALLOW_PRIVATE === 'true';
  const settings: Omit<WebhookWorkerOptions, 'store' | 'allowPrivate'> = {};
  const set = <K extends keyof typeof settings>(key: K, value: (typeof settings)[K] | undefined) => {
    if (value !== undefined) settings[key] = value;
  };
  set('attemptsMax', number('CREDITPOOL_WEBHOOK_ATTEMPTS'));
  set('backoffBaseMs', number('CREDITPOOL_WEBHOOK_RETRY_BASE_MS'));
  set('backoffCapMs', number('CREDITPOOL_WEBHOOK_RETRY_CAP_MS'));
  set('timeoutMs', number('CREDITPOOL_WEBHOOK_TIMEOUT_MS'));
  set('pollMs', number('CREDITPOOL_WEBHOOK_POLL_MS'));
  set('leaseMs', number('CREDITPOOL_WEBHOOK_LEASE_MS'));
  return { allowPrivate, worker: worker && env.CREDITPOOL_WEBHOOKS !== 'off' ? settings : null };
}

/** Starts the delivery worker of a server, if asked for; the server's close stops it first. */
export function installWebhookWorker(
  app: FastifyInstance,
  store: Store,
  options: WebhookServerOptions,
): void {
  if (options.worker === null) return;
  const worker = new WebhookWorker({
    ...options.worker,
    store,
    allowPrivate: options.allowPrivate,
    onError: (error) => app.log.error({ err: error }, 'webhook worker'),
  });
  worker.start();
  app.addHook('onClose', async () => {
    await worker.stop();
  });
}
