/**
 * Bearer-token authentication and the role table (API.md "Auth").
 *
 * - The admin token given at start (`CREDITPOOL_ADMIN_TOKEN`) is compared as a SHA-256 digest with
 *   `timingSafeEqual`, so neither its content nor its length leaks through timing.
 * - Other tokens are looked up by their SHA-256 (`findToken`): the store never holds one in clear.
 * - A route declares the roles that may ever use it (`config.roles`): another role gets 403. A
 *   resource outside the token's scope (another account, another org) answers 404, exactly as a
 *   missing one would, so a token never learns that a foreign resource exists.
 * - Tokens never reach a log: the server redacts the `authorization` header.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { AppContext } from '../app/context.ts';
import { findToken } from '../app/index.ts';
import type { TokenRole } from '../app/ports.ts';
import { HttpProblem } from './errors.ts';

export interface Principal {
  role: TokenRole;
  /** The one account of an `account` token. */
  accountId: string | null;
  /** The one org of an `org_admin` token. */
  orgId: string | null;
}

/** Who may call a route: `public` needs no token; otherwise the roles that may ever use it. */
export type RouteAccess = 'public' | readonly TokenRole[];

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

export const allRoles: readonly TokenRole[] = ['admin', 'meter', 'account', 'org_admin'];
/** Roles that read accounts; each is narrowed to its scope by `assertAccountReadable`. */
export const accountReaders: readonly TokenRole[] = allRoles;

/** A bearer token is at most this long: ours are ~60 characters; the bound keeps hashing cheap. */
export const tokenLengthMax = 512;
/** Known tokens kept in memory. Tokens are never revoked or changed, so the cache is exact. */
export const tokenCacheMax = 10_000;

const bearerPattern = /^Bearer +([\x21-\x7e]+) *$/i;

/**
 * SHA-256 as hex, one-shot: this runs on every request, and `crypto.hash` to hex costs about a
 * quarter of a `createHash` object or of `crypto.hash` to a Buffer (measured on Node 24).
 */
function digestHex(text: string): string {
  return hash('sha256', text, 'hex');
}

/** Shared by every admin-token request: frozen, so no handler can change another's principal. */
const adminPrincipal: Principal = Object.freeze({ role: 'admin', accountId: null, orgId: null });

export class Authenticator {
  readonly #ctx: AppContext;
  /** The admin token's hex digest as bytes, for `timingSafeEqual`. */
  readonly #adminDigest: Buffer | null;
  readonly #cache = new Map<string, Principal>();

  constructor(ctx: AppContext, adminToken: string | null | undefined) {
    this.#ctx = ctx;
    this.#adminDigest = adminToken ? Buffer.from(digestHex(adminToken), 'latin1') : null;
  }

  /**
   * The principal of a request's `Authorization` header; throws 401 when there is none. Answers
   * without a promise when the answer is known (the admin token, a cached token), so the
   * per-request hook continues synchronously; only a token's first sight waits for the store.
   */
  authenticate(header: string | undefined): Principal | Promise<Principal> {
    const match = header === undefined ? null : bearerPattern.exec(header);
    const token = match?.[1];
    if (!token || token.length > tokenLengthMax) {
      throw new HttpProblem('unauthorized', 'send Authorization: Bearer <token>');
    }
    // Keyed by digest: not even the process's memory keeps a token in clear longer than a request.
    const key = digestHex(token);
    if (this.#adminDigest !== null && timingSafeEqual(Buffer.from(key, 'latin1'), this.#adminDigest)) {
      return adminPrincipal;
    }
    const cached = this.#cache.get(key);
    if (cached) return cached;
    return this.#load(token, key);
  }

  async #load(token: string, key: string): Promise<Principal> {
    const row = await findToken(this.#ctx, token);
    if (!row) throw new HttpProblem('unauthorized', 'the token is not valid');
    const principal: Principal = Object.freeze({
      role: row.role,
      accountId: row.accountId,
      orgId: row.orgId,
    });
    if (this.#cache.size >= tokenCacheMax) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, principal);
    return principal;
  }
}

/** The route's role check, after authentication: a role the route never serves is 403. */
export function assertRouteAccess(principal: Principal, access: RouteAccess, route: string): void {
  if (access === 'public') return;
  if (!access.includes(principal.role)) {
    throw new HttpProblem('forbidden', `a ${principal.role} token may not use ${route}`);
  }
}

export function principalOf(request: FastifyRequest): Principal {
  const principal = request.principal;
  // Every non-public route authenticates in `onRequest`; a handler without a principal is a bug.
  if (!principal) throw new Error('principalOf: route reached without authentication');
  return principal;
}

/** The same 404 for a missing account and a foreign one: nothing about the latter leaks. */
function noAccount(accountId: string): HttpProblem {
  return new HttpProblem('not_found', `no account ${accountId}`);
}

/**
 * Reads of an account: admin and meter read any; an account token only its own; an org admin
 * only its org's members (looked up without a lock; membership changes only by removal).
 */
export async function assertAccountReadable(
  ctx: AppContext,
  principal: Principal,
  accountId: string,
): Promise<void> {
  switch (principal.role) {
    case 'admin':
    case 'meter':
      return;
    case 'account':
      if (principal.accountId !== accountId) throw noAccount(accountId);
      return;
    case 'org_admin': {
      const agg = await ctx.store.read((tx) => tx.getAccount(accountId));
      if (!agg || agg.account.orgId === null || agg.account.orgId !== principal.orgId)
        throw noAccount(accountId);
      return;
    }
  }
}

/** Writes an account holder makes (claim, usage credits, app caps): admin, or the account itself. */
export function assertAccountOwned(principal: Principal, accountId: string): void {
  if (principal.role === 'admin') return;
  if (principal.role === 'account' && principal.accountId === accountId) return;
  throw noAccount(accountId);
}

/** Org routes: admin, or the org admin of this org. */
export function assertOrgOwned(principal: Principal, orgId: string): void {
  if (principal.role === 'admin') return;
  if (principal.role === 'org_admin' && principal.orgId === orgId) return;
  throw new HttpProblem('not_found', `no org ${orgId}`);
}
