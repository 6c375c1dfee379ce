/**
 * Accounts, orgs and tokens (API.md "Accounts and orgs", "Reading money", "Auth"): decode, check the
 * token's scope, call one use case, answer. Money stays `bigint` here; `toWire` formats it.
 */
import type { FastifyInstance } from 'fastify';
import {
  type AdjustInput,
  type AppPolicyInput,
  adjust,
  type ChangeAccountInput,
  type CreateAccountInput,
  type CreateOrgInput,
  changeAccount,
  claim,
  createAccount,
  createOrg,
  createToken,
  getAccountView,
  getOrg,
  getStatement,
  listCycles,
  listEntries,
  listOrgMembers,
  type OrgUsageCreditsInput,
  setAppPolicy,
  setOrgUsageCredits,
  setUsageCredits,
  type UsageCreditsInput,
} from '../../app/index.ts';
import type { OrgRow } from '../../app/model.ts';
import type { TokenRole } from '../../app/ports.ts';
import { parseTime } from '../../app/use-cases/create-org.ts';
import { formatInstant } from '../../core/time.ts';
import {
  accountReaders,
  allRoles,
  assertAccountOwned,
  assertAccountReadable,
  assertOrgOwned,
  principalOf,
} from '../auth.ts';
import * as s from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

const idParams = s.object({ id: s.pathId });

/** The org as the API shows it: its anchor and its usage-credit policy. */
export function orgView(org: OrgRow) {
  return {
    id: org.id,
    billing_anchor: formatInstant(org.billingAnchor),
    created_at: formatInstant(org.createdAt),
    usage_credits: {
      enabled: org.ucEnabled,
      monthly_limit_usd: org.ucMonthlyLimitUnits,
      seat_tier_limits_usd: { ...org.seatTierLimitsUnits },
    },
  };
}

export function accountRoutes(app: FastifyInstance, { ctx }: RouteDeps): void {
  app.post<{ Body: { role: TokenRole; account_id?: string | null; org_id?: string | null } }>(
    '/v1/tokens',
    {
      config: { access: ['admin'] },
      schema: {
        summary: 'Create an API token (shown once; stored hashed)',
        tags: ['auth'],
        body: s.tokenBody,
        response: s.responses({ 201: s.tokenResponse }),
      },
    },
    async (request, reply) => {
      const { token, row } = await createToken(ctx, request.body);
      return reply.code(201).send({ token, role: row.role, account_id: row.accountId, org_id: row.orgId });
    },
  );

  // Who the token is: the dashboard signs in with a bare token and needs its scope (and the
  // server's clock, which a test clock moves) before it can read anything.
  app.get(
    '/v1/me',
    {
      config: { access: allRoles },
      schema: {
        summary: "The token's role and scope, and the server's clock",
        tags: ['auth'],
        response: s.responses({ 200: s.meResponse }),
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return {
        role: principal.role,
        account_id: principal.accountId,
        org_id: principal.orgId,
        now: formatInstant(ctx.clock.now()),
      };
    },
  );

  app.post<{ Body: CreateOrgInput }>(
    '/v1/orgs',
    {
      config: { access: ['admin'] },
      schema: {
        summary: 'Create an org (Team, Enterprise)',
        tags: ['accounts'],
        body: s.orgBody,
        response: s.responses({ 201: s.orgView }),
      },
    },
    async (request, reply) => reply.code(201).send(orgView(await createOrg(ctx, request.body))),
  );

  app.post<{ Body: CreateAccountInput }>(
    '/v1/accounts',
    {
      config: { access: ['admin'] },
      schema: {
        summary: 'Create an account',
        tags: ['accounts'],
        body: s.accountBody,
        response: s.responses({ 201: s.accountView }),
      },
    },
    async (request, reply) => {
      const row = await createAccount(ctx, request.body);
      return reply.code(201).send(await getAccountView(ctx, row.id));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/accounts/:id',
    {
      config: { access: accountReaders },
      schema: {
        summary: 'Read an account: cycle, credit, usage credits, subscription limits',
        tags: ['accounts'],
        params: idParams,
        response: s.responses({ 200: s.accountView }),
      },
    },
    async (request) => {
      await assertAccountReadable(ctx, principalOf(request), request.params.id);
      return getAccountView(ctx, request.params.id);
    },
  );

  app.patch<{ Params: { id: string }; Body: ChangeAccountInput }>(
    '/v1/accounts/:id',
    {
      config: { access: ['admin'] },
      schema: {
        summary: 'Change the plan (R14), cancel at the cycle end, or remove from the org',
        tags: ['accounts'],
        params: idParams,
        body: s.accountPatchBody,
        response: s.responses({ 200: s.accountView }),
      },
    },
    async (request) => {
      await changeAccount(ctx, request.params.id, request.body);
      return getAccountView(ctx, request.params.id);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/accounts/:id/claim',
    {
      config: { access: ['admin', 'account'] },
      schema: {
        summary: 'Claim the Agent SDK credit (R5); idempotent',
        tags: ['accounts'],
        params: idParams,
        response: s.responses({ 200: s.claimResponse }),
      },
    },
    async (request) => {
      assertAccountOwned(principalOf(request), request.params.id);
      return claim(ctx, request.params.id);
    },
  );

  app.put<{ Params: { id: string }; Body: UsageCreditsInput }>(
    '/v1/accounts/:id/usage-credits',
    {
      config: { access: ['admin', 'account'] },
      schema: {
        summary: 'Turn usage credits on or off and set the monthly limit (R7)',
        tags: ['accounts'],
        params: idParams,
        body: s.usageCreditsBody,
        response: s.responses({ 200: s.accountView }),
      },
    },
    async (request) => {
      assertAccountOwned(principalOf(request), request.params.id);
      await setUsageCredits(ctx, request.params.id, request.body);
      return getAccountView(ctx, request.params.id);
    },
  );

  app.put<{ Params: { id: string; app: string }; Body: AppPolicyInput }>(
    '/v1/accounts/:id/apps/:app',
    {
      config: { access: ['admin', 'account'] },
      schema: {
        summary: "Cap or block a third-party app's spend per cycle (R16)",
        tags: ['accounts'],
        params: s.object({ id: s.pathId, app: s.name }),
        body: s.appPolicyBody,
        response: s.responses({ 200: s.appPolicyResponse }),
      },
    },
    async (request) => {
      assertAccountOwned(principalOf(request), request.params.id);
      const row = await setAppPolicy(ctx, request.params.id, request.params.app, request.body);
      return {
        account_id: request.params.id,
        app: row.app,
        cycle_cap_usd: row.cycleCapUnits,
        blocked: row.blocked,
      };
    },
  );

  app.put<{ Params: { id: string }; Body: OrgUsageCreditsInput }>(
    '/v1/orgs/:id/usage-credits',
    {
      config: { access: ['admin', 'org_admin'] },
      schema: {
        summary: "Set the org's usage-credit policy: switch, monthly limit, seat-tier and member limits (R7)",
        tags: ['accounts'],
        params: idParams,
        body: s.orgUsageCreditsBody,
        response: s.responses({ 200: s.orgView }),
      },
    },
    async (request) => {
      assertOrgOwned(principalOf(request), request.params.id);
      return orgView(await setOrgUsageCredits(ctx, request.params.id, request.body));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/orgs/:id',
    {
      config: { access: ['admin', 'org_admin'] },
      schema: {
        summary: 'Read an org: its anchor and usage-credit policy (R7)',
        tags: ['accounts'],
        params: idParams,
        response: s.responses({ 200: s.orgView }),
      },
    },
    async (request) => {
      assertOrgOwned(principalOf(request), request.params.id);
      return orgView(await getOrg(ctx, request.params.id));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/orgs/:id/members',
    {
      config: { access: ['admin', 'org_admin'] },
      schema: {
        summary: "The org's members, each as an account view",
        tags: ['accounts'],
        params: idParams,
        response: s.responses({ 200: s.membersResponse }),
      },
    },
    async (request) => {
      assertOrgOwned(principalOf(request), request.params.id);
      return { members: await listOrgMembers(ctx, request.params.id) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/accounts/:id/statements/current',
    {
      config: { access: accountReaders },
      schema: {
        summary: 'The statement of the current cycle (R17)',
        tags: ['money'],
        params: idParams,
        response: s.responses({ 200: s.statementResponse }),
      },
    },
    async (request) => {
      await assertAccountReadable(ctx, principalOf(request), request.params.id);
      return getStatement(ctx, request.params.id, null);
    },
  );

  app.get<{ Params: { id: string; cycle_start: string } }>(
    '/v1/accounts/:id/statements/:cycle_start',
    {
      config: { access: accountReaders },
      schema: {
        summary: 'The statement of the cycle starting at cycle_start (RFC 3339, URL-encoded)',
        tags: ['money'],
        params: s.object({ id: s.pathId, cycle_start: { type: 'string', maxLength: 64 } }),
        response: s.responses({ 200: s.statementResponse }),
      },
    },
    async (request) => {
      await assertAccountReadable(ctx, principalOf(request), request.params.id);
      const start = parseTime(request.params.cycle_start, 'cycle_start');
      return getStatement(ctx, request.params.id, start);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { cycle_start?: string; limit?: string; cursor?: string } }>(
    '/v1/accounts/:id/entries',
    {
      config: { access: accountReaders },
      schema: {
        summary: "The account's journal entries, one per non-zero leg, oldest first",
        tags: ['money'],
        params: idParams,
        querystring: s.entriesQuery,
        response: s.responses({ 200: s.entriesResponse }),
      },
    },
    async (request) => {
      await assertAccountReadable(ctx, principalOf(request), request.params.id);
      const q = request.query;
      return listEntries(ctx, request.params.id, {
        ...(q.cycle_start === undefined ? {} : { cycleStart: parseTime(q.cycle_start, 'cycle_start') }),
        ...(q.limit === undefined ? {} : { limit: Number(q.limit) }),
        cursor: q.cursor ?? null,
      });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/accounts/:id/cycles',
    {
      config: { access: accountReaders },
      schema: {
        summary: "The account's cycles, oldest first (for statements and the dashboard)",
        tags: ['money'],
        params: idParams,
        response: s.responses({ 200: s.cyclesResponse }),
      },
    },
    async (request) => {
      await assertAccountReadable(ctx, principalOf(request), request.params.id);
      return { cycles: await listCycles(ctx, request.params.id) };
    },
  );

  app.post<{ Params: { id: string }; Body: AdjustInput }>(
    '/v1/accounts/:id/adjustments',
    {
      config: { access: ['admin'] },
      schema: {
        summary: 'An admin correction (R15): adjustment, reversal or reclassification; idempotent by id',
        tags: ['money'],
        params: idParams,
        body: s.adjustmentBody,
        response: s.responses({ 200: s.adjustmentResponse, 201: s.adjustmentResponse }),
      },
    },
    async (request, reply) => {
      const result = await adjust(ctx, request.params.id, request.body);
      return reply.code(result.replayed ? 200 : 201).send(result);
    },
  );
}
