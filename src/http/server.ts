/**
 * The HTTP server (Fastify): decode, check the token, call one use case, encode (STYLE habit 8).
 * Every route has JSON schemas for its request and its responses; `/openapi.json` is generated
 * from them. Errors become problem documents in one handler (`errors.ts`), money becomes decimal
 * strings in one hook (`wire.ts`), tokens are checked in one hook (`auth.ts`).
 *
 * @example
 * const store = await openSqliteStore({ path: ':memory:' });
 * const app = await buildServer({ ctx: { store, clock: systemClock, catalogues: defaultCatalogues } });
 * await app.listen({ port: 8787 });
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyRequest, type onRequestHookHandler } from 'fastify';
import type { AppContext, ManualClock } from '../app/index.ts';
import { sweepDue } from '../app/index.ts';
import type { Store } from '../app/ports.ts';
import { Authenticator, assertRouteAccess, type Principal, type RouteAccess } from './auth.ts';
import { errorHandler, notFoundHandler } from './errors.ts';
import { ServerMetrics } from './metrics.ts';
import { accountRoutes } from './routes/accounts.ts';
import { catalogueRoutes } from './routes/catalogues.ts';
import type { RouteDeps } from './routes/deps.ts';
import { meteringRoutes } from './routes/metering.ts';
import { opsRoutes } from './routes/ops.ts';
import { type OtlpRouteOptions, otlpOptionsFromEnv, otlpRoutes } from './routes/otlp.ts';
import { webRoutes } from './routes/web.ts';
import {
  installWebhookWorker,
  type WebhookServerOptions,
  webhookOptionsFromEnv,
  webhookRoutes,
} from './routes/webhooks.ts';
import { installJsonParser, toWire } from './wire.ts';

export interface ServerOptions {
  ctx: AppContext;
  /** A token treated as an admin token (`CREDITPOOL_ADMIN_TOKEN`). */
  adminToken?: string | null;
  /** Enables `POST /v1/test-clock`; must be the clock `ctx` runs on. */
  testClock?: ManualClock | null;
  /** Fastify's pino logger: false (tests), true, or pino options. The auth header is always redacted. */
  logger?: boolean | Record<string, unknown>;
  /** How often to sweep for cycles to close and holds to expire; 0 = no sweep timer. */
  sweepIntervalMs?: number;
  /** Node's process metrics (memory, event loop) on `/metrics`; default true. */
  processMetrics?: boolean;
  /** `POST /v1/otlp/v1/logs` mapping; default from `CREDITPOOL_OTLP_ACCOUNT_ATTRIBUTE`, `CREDITPOOL_OTLP_DEFAULT_SURFACE`. */
  otlp?: OtlpRouteOptions;
  /** The dashboard's static files at `/` (`routes/web.ts`); default true. */
  dashboard?: boolean;
  /**
   * Webhooks (`routes/webhooks.ts`): private receivers allowed, and the delivery worker; default from
   * `CREDITPOOL_WEBHOOK_ALLOW_PRIVATE`, with no worker.
   */
  webhooks?: WebhookServerOptions;
}

/** Body bound of every route but `POST /v1/usage`: a settle carries one record; 64 kB is ample. */
export const bodyBytesMax = 64 * 1024;
/** Path parameters: a client id (256) URL-encoded can triple; longer paths are not routed (404). */
export const paramLengthMax = 800;
/** Requests slower than this are cut off: nothing in the API should take near it. */
export const requestTimeoutMs = 30_000;

/** Where tokens could appear in a log line; pino replaces them with "[Redacted]". */
const redactPaths = ['req.headers.authorization', 'headers.authorization', 'authorization'];

function loggerOptions(logger: ServerOptions['logger']): boolean | Record<string, unknown> {
  if (logger === undefined || logger === false) return false;
  const base = logger === true ? {} : logger;
  return { ...base, redact: { paths: redactPaths, censor: '[Redacted]' } };
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { ctx } = options;
  const testClock = options.testClock ?? null;
  if (testClock !== null && ctx.clock !== testClock) {
    throw new Error('buildServer: testClock must be the clock the context runs on');
  }
  const app = Fastify({
    logger: loggerOptions(options.logger),
    bodyLimit: bodyBytesMax,
    requestTimeout: requestTimeoutMs,
    routerOptions: { maxParamLength: paramLengthMax },
    // Malformed URLs (bad percent-encoding) are refused by the router itself: same problem format.
    frameworkErrors: (error, request, reply) => {
      errorHandler(error, request, reply);
    },
    ajv: {
      // No type coercion: `"enabled": "true"` or `"monthly_limit_usd": 25` are refused, not
      // guessed; query strings are declared as strings with patterns.
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false },
    },
  });

  const metrics = new ServerMetrics({ processMetrics: options.processMetrics ?? true });
  const auth = new Authenticator(ctx, options.adminToken);
  const deps: RouteDeps = { ctx, metrics, testClock };

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'creditpool',
        version: '1',
        description: 'Metering and billing for usage-priced AI products (API.md is the contract).',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  installJsonParser(app);
  app.decorateRequest('principal', null);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);

  // Hooks bound to each route when it is registered, in callback style: a request pays no lookup
  // of its route's access or metric label (Fastify's `request.routeOptions` builds a new object on
  // every read) and no promise for a hook that has nothing to wait for. Registered before any route.
  app.addHook('onRoute', (route) => {
    // A route without a declared access is an admin route: forgetting to declare never opens one.
    const access = route.config?.access ?? ['admin'];
    const url = route.url ?? 'unmatched';
    if (access !== 'public') {
      route.onRequest = [
        authenticateHook(auth, access, `${route.method} ${url}`),
        ...hookList(route.onRequest),
      ];
    }
    route.onResponse = [
      ...hookList(route.onResponse),
      (request, reply, done) => {
        metrics.observeRequest(request.method, url, reply.statusCode, reply.elapsedTime);
        done();
      },
    ];
  });

  // Requests no route took (404s, malformed URLs) have no route hooks: observed here, as "unmatched".
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404)
      metrics.observeRequest(request.method, 'unmatched', reply.statusCode, reply.elapsedTime);
    done();
  });

  app.addHook('preSerialization', (_request, _reply, payload, done) => {
    let wire: unknown;
    try {
      wire = toWire(payload);
    } catch (error) {
      done(error as Error);
      return;
    }
    done(null, wire);
  });

  accountRoutes(app, deps);
  meteringRoutes(app, deps);
  catalogueRoutes(app, deps);
  opsRoutes(app, deps);
  otlpRoutes(app, deps, options.otlp ?? otlpOptionsFromEnv(process.env));
  if (options.dashboard ?? true) webRoutes(app);
  const webhooks = options.webhooks ?? webhookOptionsFromEnv(process.env, false);
  webhookRoutes(app, deps, webhooks);

  installSweep(app, ctx, options.sweepIntervalMs ?? 0);
  installWebhookWorker(app, ctx.store, webhooks);
  await app.ready();
  return app;
}

/** A route option's hooks as a list (Fastify takes one function or an array). */
function hookList<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}

/**
 * The token check of one route: 401 without a valid token, 403 for a role the route never serves;
 * the principal is kept on the request for the handler's scope checks. Synchronous when the token
 * is known (`Authenticator.authenticate`), so a request with a cached token never waits a turn.
 */
function authenticateHook(
  auth: Authenticator,
  access: Exclude<RouteAccess, 'public'>,
  route: string,
): onRequestHookHandler {
  const admit = (request: FastifyRequest, principal: Principal) => {
    assertRouteAccess(principal, access, route);
    request.principal = principal;
  };
  return (request, _reply, done) => {
    let principal: Principal | Promise<Principal>;
    try {
      principal = auth.authenticate(request.headers.authorization);
      if (!(principal instanceof Promise)) {
        admit(request, principal);
        done();
        return;
      }
    } catch (error) {
      done(error as Error);
      return;
    }
    principal.then(
      (known) => {
        try {
          admit(request, known);
        } catch (error) {
          done(error as Error);
          return;
        }
        done();
      },
      (error: unknown) => done(error as Error),
    );
  };
}

/**
 * The periodic sweep: books closes and expiries for accounts nobody touches. One sweep at a time;
 * stopped (and awaited) when the server closes, before the store is.
 */
function installSweep(app: FastifyInstance, ctx: AppContext, intervalMs: number): void {
  if (intervalMs <= 0) return;
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running !== null) return;
    running = sweepDue(ctx)
      .then(
        () => undefined,
        (error: unknown) => app.log.error({ err: error }, 'sweep failed'),
      )
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
}

export interface GracefulShutdownOptions {
  /** After this long the process exits 1 even if requests are still running. */
  timeoutMs?: number;
  signals?: readonly NodeJS.Signals[];
  /** For tests; default `process.exit`. */
  exit?: (code: number) => void;
}

/** Time given to in-flight requests on SIGTERM: under a typical orchestrator's 30 s grace. */
export const shutdownTimeoutMs = 10_000;
/** How often a shutting-down server ends connections that went idle. */
const idleSweepMs = 50;

/**
 * On SIGTERM or SIGINT: stop accepting connections, let in-flight requests finish
 * (`app.close()`), stop the sweep, close the store, exit 0. A second signal, or the timeout,
 * exits 1 at once. Returns a function that removes the handlers.
 */
export function installGracefulShutdown(
  app: FastifyInstance,
  store: Store,
  options: GracefulShutdownOptions = {},
): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      exit(1);
      return;
    }
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      app.log.error('shutdown timed out');
      exit(1);
    }, options.timeoutMs ?? shutdownTimeoutMs);
    timer.unref();
    // `close()` ends idle keep-alive connections only when called; a connection whose request was
    // in flight then stays open until its keep-alive timeout. Ending idle ones as they appear
    // keeps the shutdown as long as the slowest request, not the keep-alive timeout.
    const idle = setInterval(() => app.server.closeIdleConnections(), idleSweepMs);
    idle.unref();
    app
      .close()
      .then(() => store.close())
      .then(
        () => {
          clearTimeout(timer);
          clearInterval(idle);
          exit(0);
        },
        (error: unknown) => {
          clearTimeout(timer);
          clearInterval(idle);
          app.log.error({ err: error }, 'shutdown failed');
          exit(1);
        },
      );
  };
  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
