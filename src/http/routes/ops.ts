/**
 * Operations: health, metrics, the OpenAPI document and the test clock.
 *
 * - `/healthz` and `/openapi.json` need no token (probes and docs).
 * - `/metrics` needs an admin or meter token: the figures are aggregates, but they still describe
 *   the business (decision mix, volumes); Prometheus sends a bearer token with
 *   `authorization.credentials` in its scrape config.
 * - `/v1/test-clock` exists on every server, so the document is the same everywhere, and answers
 *   404 unless the server was started with a test clock.
 */
import type { FastifyInstance } from 'fastify';
import { sweepDue } from '../../app/index.ts';
import { parseTime } from '../../app/use-cases/create-org.ts';
import { formatInstant } from '../../core/time.ts';
import { allRoles } from '../auth.ts';
import { HttpProblem, problem, sendProblem } from '../errors.ts';
import * as s from '../schemas.ts';
import type { RouteDeps } from './deps.ts';

export function opsRoutes(app: FastifyInstance, { ctx, metrics, testClock }: RouteDeps): void {
  app.get(
    '/healthz',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Liveness and storage health: 200 when the store answers',
        tags: ['ops'],
        security: [],
        response: s.responses({ 200: s.healthResponse }),
      },
    },
    async (request, reply) => {
      let ok = false;
      try {
        ok = await ctx.store.ping();
      } catch (error) {
        request.log.warn({ err: error }, 'store ping failed');
      }
      if (!ok) return sendProblem(reply, problem('unavailable', 'the store does not answer'));
      return { status: 'ok' };
    },
  );

  app.get(
    '/metrics',
    {
      config: { access: ['admin', 'meter'] },
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        tags: ['ops'],
        response: s.responses({ 200: { type: 'string', description: 'Prometheus text format' } }),
      },
    },
    async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );

  app.get(
    '/openapi.json',
    {
      config: { access: 'public' },
      schema: {
        summary: 'This OpenAPI document, generated from the route schemas',
        tags: ['ops'],
        security: [],
        response: s.responses({ 200: { type: 'object', additionalProperties: true } }),
      },
    },
    async () => app.swagger(),
  );

  const requireTestClock = () => {
    if (testClock === null) throw new HttpProblem('not_found', 'this server has no test clock');
    return testClock;
  };

  app.get(
    '/v1/test-clock',
    {
      config: { access: allRoles },
      schema: {
        summary: "The test clock's instant (404 unless started with --test-clock)",
        tags: ['ops'],
        response: s.responses({ 200: s.testClockResponse }),
      },
    },
    async () => ({ now: formatInstant(requireTestClock().now()) }),
  );

  app.post<{ Body: { now: string } }>(
    '/v1/test-clock',
    {
      config: { access: ['admin'] },
      schema: {
        summary: 'Move the test clock forward (never backwards: 409), then sweep what became due',
        tags: ['ops'],
        body: s.testClockBody,
        response: s.responses({ 200: s.testClockResponse }),
      },
    },
    async (request) => {
      const clock = requireTestClock();
      const to = parseTime(request.body.now, 'now');
      if (!clock.set(to)) {
        throw new HttpProblem(
          'clock_backwards',
          `the test clock is at ${formatInstant(clock.now())}; it never moves back`,
        );
      }
      // Closes and expiries that became due are booked now, as the periodic sweep would.
      await sweepDue(ctx);
      return { now: formatInstant(clock.now()) };
    },
  );
}
