/**
 * The real server process for the fault tests: `creditpool serve` on a SQLite file or a
 * PostgreSQL URL, an admin token from the environment, port 0 (a free one each start). `kill9`
 * sends SIGKILL to the pid this file started, and only to it.
 */
import { type RunningServer, startServer } from '../../support/cli.ts';
import type { HttpClient } from './http.ts';
import type { Target } from './ledger-check.ts';

export const adminToken = 'cp_faults_admin_token_for_tests_only';

export function serveArgs(target: Target, extra: string[] = []): string[] {
  const store = target.kind === 'sqlite' ? ['--db', target.path] : ['--database-url', target.url];
  return ['--port', '0', ...store, ...extra];
}

export function startServe(
  target: Target,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<RunningServer> {
  return startServer(serveArgs(target, extra), { env: { CREDITPOOL_ADMIN_TOKEN: adminToken, ...env } });
}

/** SIGKILL: no shutdown hook runs, no request finishes, nothing is flushed by the process. */
export async function kill9(server: RunningServer): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  const exit = await server.exited;
  if (exit.signal !== 'SIGKILL' && exit.code === null)
    throw new Error(`server exit: ${JSON.stringify(exit)}`);
}

/**
 * Subscription accounts on the largest plan, claimed, usage credits on without a limit: a request
 * is never refused for want of money, so every refusal a test sees is a fault.
 */
export async function setupAccounts(
  client: HttpClient,
  ids: readonly string[],
  concurrency = 8,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      const steps: [string, string, unknown][] = [
        ['POST', '/v1/accounts', { id, kind: 'subscription', plan: 'max_20x' }],
        ['POST', `/v1/accounts/${id}/claim`, undefined],
        ['PUT', `/v1/accounts/${id}/usage-credits`, { enabled: true, monthly_limit_usd: null }],
      ];
      for (const [method, path, body] of steps) {
        const answer = await client.call(method, path, body);
        if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${answer.text}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Polls `/healthz` until it answers 200, at most `timeoutMs`; returns how long it took. */
export async function waitHealthy(client: HttpClient, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const answer = await client.call('GET', '/healthz');
    if (answer.status === 200) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`/healthz not 200 after ${timeoutMs} ms: ${answer.status} ${answer.text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
