/**
 * The one place where error codes become HTTP statuses (STYLE habit 8). Every error leaves as
 * `application/problem+json` (RFC 9457): `{type, title, status, detail, code}`, `code` stable and
 * machine-readable. App refusals arrive as `AppError`, storage trouble as `StoreError`, framework
 * refusals (validation, malformed JSON, body too large, wrong media type) as Fastify errors with a
 * 4xx `statusCode`; anything else is a bug: logged, answered 500 `internal` with no internals.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type AppErrorCode } from '../app/errors.ts';
import { StoreError } from '../app/store-error.ts';

export type ProblemCode = AppErrorCode | 'unauthorized' | 'internal';

/** Every code the API answers with, its status and its title: the whole table. */
export const problemTable: Readonly<Record<ProblemCode, { status: number; title: string }>> = {
  invalid_request: { status: 400, title: 'The request is malformed or invalid' },
  unauthorized: { status: 401, title: 'No valid bearer token' },
  forbidden: { status: 403, title: 'This token may not use this route' },
  not_found: { status: 404, title: 'No such resource' },
  already_exists: { status: 409, title: 'The resource already exists' },
  idempotency_conflict: { status: 409, title: 'This id was used with other content' },
  hold_not_active: { status: 409, title: 'The hold is no longer active' },
  hold_ambiguous: { status: 409, title: 'Several accounts use this hold id' },
  clock_backwards: { status: 409, title: 'The test clock never moves backwards' },
  batch_too_large: { status: 413, title: 'The request is too large' },
  not_eligible: { status: 422, title: 'The account is not eligible' },
  unknown_model: { status: 422, title: 'Unknown model' },
  unknown_surface: { status: 422, title: 'Unknown surface' },
  unknown_plan: { status: 422, title: 'Unknown plan' },
  event_too_old: { status: 422, title: 'The event belongs to a closed cycle' },
  event_in_future: { status: 422, title: 'The event is too far in the future' },
  insufficient_credit: { status: 422, title: 'Not enough credit' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'The service is temporarily unavailable' },
};

/** Seconds a client should wait before retrying a 503 (storage busy or writers colliding). */
export const retryAfterSeconds = 1;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
}

/** `type` is a URN per code: stable, and it promises no documentation page that may not exist. */
export function problem(code: ProblemCode, detail: string, status = problemTable[code].status): Problem {
  return { type: `urn:creditpool:problem:${code}`, title: problemTable[code].title, status, detail, code };
}

/** An error the HTTP layer raises itself (auth, limits); handled exactly like an `AppError`. */
export class HttpProblem extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  constructor(code: ProblemCode, detail: string, status = problemTable[code].status) {
    super(detail);
    this.name = 'HttpProblem';
    this.code = code;
    this.status = status;
  }
}

/** The JSON schema of a problem body, for every route's 4xx/5xx responses and the OpenAPI document. */
export const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', enum: Object.keys(problemTable) },
  },
} as const;

/** Maps any thrown value to a problem. Pure, so the table is testable without a server. */
export function toProblem(error: unknown): Problem {
  if (error instanceof AppError) return problem(error.code, error.message);
  if (error instanceof HttpProblem) return problem(error.code, error.message, error.status);
  if (error instanceof StoreError) {
    switch (error.code) {
      case 'unavailable':
      case 'conflict':
        return problem('unavailable', 'the store is busy or unreachable; retry');
      case 'duplicate':
        // A race between two creators of the same id: the loser sees what the second call would.
        return problem('already_exists', 'the resource already exists');
      case 'not_found':
        return problem('internal', 'internal error');
    }
  }
  const fastifyError = error as Partial<FastifyError> | null;
  const status = typeof fastifyError?.statusCode === 'number' ? fastifyError.statusCode : 500;
  if (status >= 400 && status < 500) {
    const detail = typeof fastifyError?.message === 'string' ? fastifyError.message : 'invalid request';
    if (status === 413) return problem('batch_too_large', detail);
    if (status === 404) return problem('not_found', detail);
    if (status === 401) return problem('unauthorized', detail);
    if (status === 403) return problem('forbidden', detail);
    // 415 (wrong media type) keeps its status; every other framework refusal is a 400.
    return problem('invalid_request', detail, status === 415 ? 415 : 400);
  }
  return problem('internal', 'internal error');
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  reply.code(p.status).type('application/problem+json');
  if (p.code === 'unavailable') reply.header('retry-after', String(retryAfterSeconds));
  return reply.send(p);
}

/** Fastify's error handler: one mapping for every route, hook and parser. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const p = toProblem(error);
  if (p.status >= 500) {
    if (p.code === 'internal') request.log.error({ err: error }, 'unexpected error');
    else request.log.warn({ err: error }, 'store unavailable');
  }
  return sendProblem(reply, p);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // The path is the caller's own input: echoed, but bounded.
  const path = (request.url.split('?')[0] ?? '').slice(0, 200);
  return sendProblem(reply, problem('not_found', `no route ${request.method} ${path}`));
}
