import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from './deps.ts';
export function catalogueRoutes(_app: FastifyInstance, _deps: RouteDeps): void {}
