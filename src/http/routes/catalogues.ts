/**
 * Catalogues (API.md "Catalogues"): the dated plan, surface and price tables in force at an
 * instant (`?at=`, default now). Read from the context's catalogues, so an operator's own tables
 * are what the API shows. Any token may read them: they are the rules, not anyone's data.
 */
import type { FastifyInstance } from 'fastify';
import { parseTime } from '../../app/use-cases/create-org.ts';
import { planCatalogueAt, planCatalogueToJson } from '../../core/plans.ts';
import { listPricesAt } from '../../core/prices/index.ts';
import { surfaceTableAt, surfaceTableToJson } from '../../core/surfaces.ts';
import { formatInstant, type Instant } from '../../core/time.ts';
import { allRoles } from '../auth.ts';
import * as s from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

const atQuery = s.object({ at: s.timestamp }, ['at']);

export function catalogueRoutes(app: FastifyInstance, { ctx }: RouteDeps): void {
  const at = (query: { at?: string }): Instant =>
    query.at === undefined ? ctx.clock.now() : parseTime(query.at, 'at');

  app.get<{ Querystring: { at?: string } }>(
    '/v1/plans',
    {
      config: { access: allRoles },
      schema: {
        summary: 'The plan catalogue in force: monthly credit, seats, subscription limits (R2, R10)',
        tags: ['catalogues'],
        querystring: atQuery,
        response: s.responses({ 200: s.plansResponse }),
      },
    },
    async (request) => {
      const instant = at(request.query);
      return {
        at: formatInstant(instant),
        ...planCatalogueToJson(planCatalogueAt(instant, ctx.catalogues.plans)),
      };
    },
  );

  app.get<{ Querystring: { at?: string } }>(
    '/v1/surfaces',
    {
      config: { access: allRoles },
      schema: {
        summary: 'The surface table in force: which surfaces are programmatic or interactive (R1)',
        tags: ['catalogues'],
        querystring: atQuery,
        response: s.responses({ 200: s.surfacesResponse }),
      },
    },
    async (request) => {
      const instant = at(request.query);
      return {
        at: formatInstant(instant),
        ...surfaceTableToJson(surfaceTableAt(instant, ctx.catalogues.surfaces)),
      };
    },
  );

  app.get<{ Querystring: { at?: string } }>(
    '/v1/prices',
    {
      config: { access: allRoles },
      schema: {
        summary: 'The API rates in force, per million tokens, before modifiers',
        tags: ['catalogues'],
        querystring: atQuery,
        response: s.responses({ 200: s.pricesResponse }),
      },
    },
    async (request) => listPricesAt(at(request.query), ctx.catalogues.prices),
  );
}
