/**
 * Webhook endpoints and their delivery log (issue 8): register, list, delete, read the log, replay.
 *
 * Who sees what is a `WebhookScope`, resolved by the caller from the token (the HTTP layer): an
 * admin sees every endpoint; an account token its account's; an org admin its org's. An endpoint
 * outside the scope answers `not_found`, exactly like a missing one.
 *
 * An endpoint receives the events generated from its registration on (`createdAt`, on the ledger's
 * clock, like the events), of the types it lists, within its scope: one account's, one org's
 * members', or (admin, neither set) every account's. Deliveries run on real time (`deliveryClock`):
 * retries and signatures are about the receiver's clock, even under a test clock.
 */
import { randomBytes } from 'node:crypto';
import type { Instant } from '../../core/time.ts';
import { type AppContext, systemClock } from '../context.ts';
import { AppError } from '../errors.ts';
import { eventTypes, isEventType } from '../events.ts';
import { isResourceId } from '../limits.ts';
import type { DeliveryRow, WebhookRow, WebhookScope } from '../outbox.ts';
import { checkWebhookUrl } from './url.ts';

/** The clock deliveries are scheduled on: real time, whatever clock the ledger runs on. */
export const deliveryClock = systemClock;

/** Endpoints per account or org: a few receivers each; bounds the fan-out of one event. */
export const webhooksPerScopeMax = 10;
/** Endpoints that receive every account's events (admin): a handful of integrations. */
export const webhooksGlobalMax = 50;
/** Page sizes of the endpoint list and the delivery log. */
export const webhooksPageMax = 100;
export const deliveriesPageMax = 100;
export const deliveriesPageDefault = 50;

export interface CreateWebhookInput {
  url: string;
  events: readonly string[];
  /** One of these narrows the endpoint to an account or an org; neither: every account (admin). */
  accountId?: string | null;
  orgId?: string | null;
}

export interface WebhookOptions {
  /** Allow private and loopback addresses (`url.ts`). */
  allowPrivate: boolean;
}

function newSecret(): string {
  // Standard Webhooks: `whsec_` + base64 of 24 to 64 random bytes.
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function checkEvents(events: readonly string[]): WebhookRow['eventTypes'] {
  if (!Array.isArray(events) || events.length === 0) {
    throw new AppError('invalid_request', `events must list at least one of ${eventTypes.join(', ')}`);
  }
  const unique = new Set<string>();
  for (const type of events) {
    if (!isEventType(type))
      throw new AppError('invalid_request', `unknown event type ${JSON.stringify(type)}`);
    unique.add(type);
  }
  // Stored in the catalogue's order: the same set always reads the same.
  return eventTypes.filter((t) => unique.has(t));
}

/** Registers an endpoint; the secret is returned here once and never shown again. */
export async function createWebhook(
  ctx: AppContext,
  input: CreateWebhookInput,
  options: WebhookOptions,
): Promise<WebhookRow> {
  const url = checkWebhookUrl(input.url, options);
  const types = checkEvents(input.events);
  const accountId = input.accountId ?? null;
  const orgId = input.orgId ?? null;
  if (accountId !== null && orgId !== null) {
    throw new AppError('invalid_request', 'give account_id or org_id, not both');
  }
  if (accountId !== null && !isResourceId(accountId))
    throw new AppError('invalid_request', 'account_id is not an id');
  if (orgId !== null && !isResourceId(orgId)) throw new AppError('invalid_request', 'org_id is not an id');
  const row: WebhookRow = {
    id: `wh_${randomBytes(12).toString('hex')}`,
    url,
    secret: newSecret(),
    eventTypes: types,
    accountId,
    orgId,
    createdAt: ctx.clock.now(),
    deletedAt: null,
  };
  const scope: WebhookScope = accountId !== null ? { accountId } : orgId !== null ? { orgId } : { all: true };
  const max = 'all' in scope ? webhooksGlobalMax : webhooksPerScopeMax;
  await ctx.store.transaction(async (tx) => {
    if (accountId !== null && !(await tx.getAccount(accountId))) {
      throw new AppError('not_found', `no account ${accountId}`);
    }
    if (orgId !== null && !(await tx.getOrg(orgId))) throw new AppError('not_found', `no org ${orgId}`);
    if ((await tx.countWebhooks(scope)) >= max) {
      throw new AppError('invalid_request', `at most ${max} endpoints here; delete one first`);
    }
    await tx.insertWebhook(row);
  });
  return row;
}

/** True when the scope may see (and manage) this endpoint. */
export function webhookInScope(row: WebhookRow, scope: WebhookScope): boolean {
  if ('all' in scope) return true;
  if ('accountId' in scope) return row.accountId === scope.accountId;
  return row.orgId === scope.orgId;
}

export interface WebhookPage {
  webhooks: WebhookRow[];
  nextCursor: string | null;
}

export async function listWebhooks(
  ctx: AppContext,
  scope: WebhookScope,
  cursor: string | null,
  limit: number,
): Promise<WebhookPage> {
  const n = Math.min(Math.max(1, limit), webhooksPageMax);
  const rows = await ctx.store.read((tx) => tx.listWebhooks(scope, cursor, n + 1));
  const page = rows.slice(0, n);
  return { webhooks: page, nextCursor: rows.length > n ? (page.at(-1)?.id ?? null) : null };
}

async function visibleWebhook(ctx: AppContext, id: string, scope: WebhookScope): Promise<WebhookRow> {
  const row = await ctx.store.read((tx) => tx.getWebhook(id));
  if (!row || row.deletedAt !== null || !webhookInScope(row, scope)) {
    throw new AppError('not_found', `no webhook ${id}`);
  }
  return row;
}

/** Deletes an endpoint: nothing more is fanned out to it and its pending deliveries are canceled. */
export async function deleteWebhook(ctx: AppContext, id: string, scope: WebhookScope): Promise<void> {
  await visibleWebhook(ctx, id, scope);
  const deleted = await ctx.store.transaction((tx) => tx.deleteWebhook(id, ctx.clock.now()));
  if (!deleted) throw new AppError('not_found', `no webhook ${id}`);
}

export interface DeliveryPage {
  webhook: WebhookRow;
  deliveries: DeliveryRow[];
  nextCursor: string | null;
}

/** An endpoint's delivery log, newest first; `cursor` is the opaque `next_cursor` of a page. */
export async function listDeliveries(
  ctx: AppContext,
  id: string,
  scope: WebhookScope,
  cursor: string | null,
  limit: number,
): Promise<DeliveryPage> {
  const webhook = await visibleWebhook(ctx, id, scope);
  let beforeSeq: number | null = null;
  if (cursor !== null) {
    if (!/^[1-9][0-9]{0,14}$/.test(cursor))
      throw new AppError('invalid_request', 'cursor is not one this API gave');
    beforeSeq = Number(cursor);
  }
  const n = Math.min(Math.max(1, limit), deliveriesPageMax);
  const rows = await ctx.store.read((tx) => tx.listDeliveries(id, beforeSeq, n + 1));
  const deliveries = rows.slice(0, n);
  const last = deliveries.at(-1);
  return { webhook, deliveries, nextCursor: rows.length > n && last ? String(last.seq) : null };
}

/**
 * An admin's replay: a dead (or delivered) delivery is made pending again with its attempts reset,
 * due at once; a pending one waiting for its retry is made due at once. One in flight (leased) or
 * canceled (its endpoint deleted) is left as it is. Returns the delivery as it now stands.
 */
export async function replayDelivery(
  ctx: AppContext,
  webhookId: string,
  deliveryId: string,
  now: Instant = deliveryClock.now(),
): Promise<DeliveryRow> {
  await visibleWebhook(ctx, webhookId, { all: true });
  return ctx.store.transaction(async (tx) => {
    const row = await tx.lockDelivery(deliveryId);
    if (!row || row.endpointId !== webhookId) throw new AppError('not_found', `no delivery ${deliveryId}`);
    const leased = row.leasedUntil !== null && row.leasedUntil > now;
    if (row.status === 'dead' || row.status === 'delivered') {
      row.status = 'pending';
      row.attempts = 0;
      row.nextAttemptAt = now;
      row.leasedUntil = null;
      row.leaseToken = null;
    } else if (row.status === 'pending' && !leased) {
      row.nextAttemptAt = now;
    } else {
      return row;
    }
    await tx.saveDelivery(row);
    return row;
  });
}
