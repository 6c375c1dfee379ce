/**
 * Metering (API.md "Metering"): the gateway's calls. A deny from `authorize` is a 200 answer and a
 * refused usage record is a 200 result with `status: "rejected"`: only a malformed request, an
 * unknown account or hold, or a conflict is an error.
 */
import type { FastifyInstance } from 'fastify';
import { type AuthorizeInput, authorize, recordUsage, settleHold, voidHold } from '../../app/index.ts';
import { usageBatchMax } from '../../app/limits.ts';
import { type QuoteInput, quote } from '../../app/use-cases/quote.ts';
import { allRoles } from '../auth.ts';
import { HttpProblem } from '../errors.ts';
import * as s from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

/**
 * Body bound of `POST /v1/usage`: 1000 records of up to ~4 kB each (a real one is ~300 bytes,
 * ~1 kB with every optional usage field). Above it: 413, before anything is parsed.
 */
export const usageBodyBytesMax = 4 * 1024 * 1024;

const holdParams = s.object({ id: s.clientId });

export function meteringRoutes(app: FastifyInstance, { ctx, metrics }: RouteDeps): void {
  app.post<{ Body: AuthorizeInput }>(
    '/v1/authorize',
    {
      config: { access: ['admin', 'meter'] },
      schema: {
        summary:
          'Allow or deny a request, with the reason and the paying source; optionally place a hold (R11)',
        tags: ['metering'],
        body: s.authorizeBody,
        response: s.responses({ 200: s.authorizeResponse }),
      },
    },
    async (request) => {
      const result = await authorize(ctx, request.body);
      metrics.authorizeDecisions.inc({ decision: result.decision, reason: result.reason ?? 'none' });
      return result;
    },
  );

  app.post<{ Params: { id: string }; Body: { record: unknown } }>(
    '/v1/holds/:id/settle',
    {
      config: { access: ['admin', 'meter'] },
      schema: {
        summary: 'Replace a hold with the priced usage record; answers the record result',
        tags: ['metering'],
        params: holdParams,
        body: s.settleBody,
        response: s.responses({ 200: s.usageResult }),
      },
    },
    async (request) => {
      const result = await settleHold(ctx, request.params.id, request.body.record);
      metrics.countUsageResults([result]);
      return result;
    },
  );

  app.post<{ Params: { id: string }; Body: { account_id?: string } | null | undefined }>(
    '/v1/holds/:id/void',
    {
      config: { access: ['admin', 'meter'] },
      schema: {
        summary: "Release a hold's reservation; account_id is needed only if several accounts use the id",
        tags: ['metering'],
        params: holdParams,
        body: s.voidBody,
        response: s.responses({ 200: s.voidResponse }),
      },
    },
    async (request) => voidHold(ctx, request.params.id, request.body?.account_id),
  );

  app.post<{ Body: { records: unknown[] } }>(
    '/v1/usage',
    {
      config: { access: ['admin', 'meter'] },
      bodyLimit: usageBodyBytesMax,
      schema: {
        summary: `Record 1 to ${usageBatchMax} usage records; one result per record, in order`,
        tags: ['metering'],
        body: s.usageBody,
        response: s.responses({ 200: s.usageResponse }),
      },
      // The batch bound is checked before the schema validates every record: an oversized batch is
      // a 413, whatever its records look like, and costs no per-record validation.
      preValidation: async (request) => {
        const records = (request.body as { records?: unknown } | null | undefined)?.records;
        if (Array.isArray(records) && records.length > usageBatchMax) {
          throw new HttpProblem(
            'batch_too_large',
            `at most ${usageBatchMax} records per batch, got ${records.length}`,
          );
        }
      },
    },
    async (request) => {
      const results = await recordUsage(ctx, request.body.records);
      metrics.countUsageResults(results);
      return { results };
    },
  );

  app.post<{ Body: QuoteInput }>(
    '/v1/quote',
    {
      config: { access: allRoles },
      schema: {
        summary: 'Price a usage object at API rates, without recording it',
        tags: ['metering'],
        body: s.quoteBody,
        response: s.responses({ 200: s.quoteResponse }),
      },
    },
    async (request) => quote(ctx, request.body),
  );
}
