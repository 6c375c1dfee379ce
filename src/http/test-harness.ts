/**
 * For the HTTP tests: a server in memory (SQLite `:memory:`, a `ManualClock`, `app.inject`), an
 * admin token, and helpers to call it and to mint tokens and fixtures. Not a test file itself.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { openSqliteStore } from '../adapters/storage/sqlite/index.ts';
import { type AppContext, defaultCatalogues, ManualClock } from '../app/index.ts';
import type { Store } from '../app/ports.ts';
import { parseInstant } from '../core/time.ts';
import { buildServer } from './server.ts';

export const adminToken = 'test-admin-token';
/** Inside a cycle of the anchor below, long after the policy's effective instant (R3). */
export const testStart = '2026-11-20T10:00:00Z';
export const testAnchor = '2026-07-03T10:00:00Z';
/** $4 per million input tokens, $20 per million output tokens. */
export const opus = 'claude-opus-5-5';

export interface TestServer {
  app: FastifyInstance;
  ctx: AppContext;
  clock: ManualClock;
  store: Store;
  /** Calls the server; `token` defaults to the admin token, `null` sends none. */
  call(method: string, url: string, options?: CallOptions): Promise<Answer>;
  /** Creates a token for a role (through the API, as an admin). */
  token(
    role: 'admin' | 'meter' | 'account' | 'org_admin',
    scope?: { account_id?: string; org_id?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  /** A raw body (sent as is, with `contentType`). */
  payload?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are checked field by field.
  json: any;
  text: string;
  headers: LightMyRequestResponse['headers'];
}

export async function startTestServer(
  options: { store?: Store; testClock?: boolean; start?: string } = {},
): Promise<TestServer> {
  const store = options.store ?? (await openSqliteStore({ path: ':memory:' }));
  const clock = new ManualClock(parseInstant(options.start ?? testStart));
  const ctx: AppContext = { store, clock, catalogues: defaultCatalogues };
  const app = await buildServer({
    ctx,
    adminToken,
    testClock: options.testClock === false ? null : clock,
    logger: false,
    processMetrics: false,
  });
  const call = async (method: string, url: string, o: CallOptions = {}): Promise<Answer> => {
    const headers: Record<string, string> = { ...o.headers };
    const token = o.token === undefined ? adminToken : o.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let payload: string | Buffer | undefined = o.payload;
    if (o.body !== undefined) payload = JSON.stringify(o.body);
    if (payload !== undefined) headers['content-type'] = o.contentType ?? 'application/json';
    const response = await app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload === undefined ? {} : { payload }),
    });
    let json: unknown = null;
    try {
      json = response.body.length > 0 ? JSON.parse(response.body) : null;
    } catch {
      json = null;
    }
    return { status: response.statusCode, json, text: response.body, headers: response.headers };
  };
  return {
    app,
    ctx,
    clock,
    store,
    call,
    async token(role, scope = {}) {
      const r = await call('POST', '/v1/tokens', { body: { role, ...scope } });
      if (r.status !== 201) throw new Error(`token: ${r.status} ${r.text}`);
      return r.json.token as string;
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}

/** A usage record for `opus` with the given token counts. */
export function record(
  id: string,
  accountId: string,
  occurredAt: string,
  usage: Record<string, unknown> = { input_tokens: 1000, output_tokens: 0 },
  surface = 'sdk-cli',
) {
  return { id, account_id: accountId, occurred_at: occurredAt, surface, app: null, model: opus, usage };
}
