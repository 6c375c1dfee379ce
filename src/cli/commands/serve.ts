/**
 * `creditpool serve`: opens the database, builds the HTTP server and listens, with the periodic
 * sweep on and a graceful shutdown on SIGTERM/SIGINT. On the first start of a new database (and no
 * `CREDITPOOL_ADMIN_TOKEN`), it creates an admin token and prints it once, so a fresh clone is
 * usable with `npm start` and nothing else. Prints `listening on http://HOST:PORT` once ready.
 */
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { type AlertSettings, alertSettingsFromEnv } from '../../app/events.ts';
import { type AppContext, type Catalogues, createToken, ManualClock, systemClock } from '../../app/index.ts';
import type { Store } from '../../app/ports.ts';
import type { WebhookServerOptions } from '../../http/routes/webhooks.ts';
import { parseFlags } from '../args.ts';
import { type CliCommand, type CliIo, exitOk, exitRefused, exitUsage } from '../io.ts';
import {
  cataloguesFromEnv,
  type DatabaseChoice,
  databaseFlags,
  databaseHelp,
  databaseOf,
  describeDatabase,
  openDatabase,
} from '../ledger-command.ts';

export const defaultHost = '127.0.0.1';
export const defaultPort = 8787;
/**
 * How often the server sweeps for cycles to close and holds to expire. Reads and writes roll an
 * account lazily anyway, so this only bounds how late an untouched account's close is booked.
 */
export const sweepIntervalMs = 5_000;

const usage = `Usage: creditpool serve [--host 127.0.0.1] [--port 8787] [--db <path> | --database-url <url>] [--test-clock]

Runs the HTTP API (see /openapi.json). On the first start of a new database, without
CREDITPOOL_ADMIN_TOKEN, an admin token is created and printed once.

Options:
  --host <host>         address to listen on (default ${defaultHost}; env HOST)
  --port <port>         port (default ${defaultPort}; 0 picks a free one; env PORT)
${databaseHelp}
  --test-clock          start the clock at the real time and let an admin move it forward
                        with POST /v1/test-clock (never in production)
  -h, --help            show this help

Environment:
  CREDITPOOL_ADMIN_TOKEN  a token the server treats as an admin token
  CREDITPOOL_PRICES       a price catalogue file to use instead of the built-in one
  CREDITPOOL_ALERT_THRESHOLDS     credit alert percentages (default 50,80,100)
  CREDITPOOL_ALERT_EXPIRING_DAYS  warn this many days before a cycle closes (default 3; 0 = never)
  CREDITPOOL_WEBHOOK_ALLOW_PRIVATE=1  allow webhook receivers on private or loopback addresses
  CREDITPOOL_WEBHOOKS=off         no delivery worker in this process (endpoints still register)
  LOG_LEVEL               the server log level (default warn; info logs every request)

SIGTERM or SIGINT stops taking requests, lets the ones in flight finish, closes the database,
and exits 0.
`;

export const serve: CliCommand = {
  name: 'serve',
  summary: 'run the HTTP API server',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const args = parseFlags(argv, {
      host: { type: 'string' },
      port: { type: 'string' },
      'test-clock': { type: 'boolean' },
      ...databaseFlags,
    });
    if (!args.ok) return usageError(io, args.message);
    if (args.values.help) {
      io.stdout(usage);
      return exitOk;
    }
    if (args.positionals.length > 0)
      return usageError(io, `unexpected argument ${JSON.stringify(args.positionals[0])}`);
    const host = (typeof args.values.host === 'string' ? args.values.host : io.env.HOST) || defaultHost;
    const portText =
      (typeof args.values.port === 'string' ? args.values.port : io.env.PORT) || String(defaultPort);
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535)
      return usageError(io, `bad port ${portText}`);
    const database = databaseOf(args.values, io.env);
    if ('error' in database) return usageError(io, database.error);

    let catalogues: Catalogues;
    try {
      catalogues = cataloguesFromEnv(io.env);
    } catch (error) {
      return refuse(io, `CREDITPOOL_PRICES: ${(error as Error).message}`);
    }
    // Read before opening: opening creates the file, and a new file is how a first start is told.
    const newFile = 'db' in database && (database.db === ':memory:' || !existsSync(resolve(database.db)));
    let store: Store;
    try {
      store = await openDatabase(database);
    } catch (error) {
      // The store's message says which it is: another writer holds the file, or the file system
      // refuses (read-only, full); a guessed "another server?" hint misled in the second case.
      const code = (error as { code?: unknown }).code;
      return refuse(
        io,
        `${describeDatabase(database)}: ${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}`,
      );
    }

    let alerts: AlertSettings;
    let webhooks: WebhookServerOptions;
    try {
      alerts = alertSettingsFromEnv(io.env);
      webhooks = (await import('../../http/routes/webhooks.ts')).webhookOptionsFromEnv(io.env, true);
    } catch (error) {
      await store.close();
      return refuse(io, (error as Error).message);
    }
    const testClock = args.values['test-clock'] ? new ManualClock(Date.now()) : null;
    const ctx: AppContext = { store, clock: testClock ?? systemClock, catalogues, alerts };
    const adminToken = io.env.CREDITPOOL_ADMIN_TOKEN || null;
    let firstToken: string | null = null;
    try {
      if (adminToken === null && (await isNewDatabase(store, database, newFile))) {
        firstToken = (await createToken(ctx, { role: 'admin' })).token;
      }
      // Loaded here, not at the top: the other commands never pay for Fastify's start-up.
      const { buildServer, installGracefulShutdown } = await import('../../http/server.ts');
      const app = await buildServer({
        ctx,
        adminToken,
        testClock,
        logger: { level: io.env.LOG_LEVEL || 'warn' },
        sweepIntervalMs,
        webhooks,
      });
      installGracefulShutdown(app, store);
      await app.listen({ host, port: Number(portText) });
      const address = app.server.address() as AddressInfo;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
      io.stdout(banner({ url, database, firstToken, testClock: testClock !== null }));
    } catch (error) {
      await store.close();
      throw error;
    }
    // The server keeps the process alive; the graceful shutdown ends it (exit code 0).
    return exitOk;
  },
};

/**
 * Whether to mint the first admin token. A new SQLite file is exact; PostgreSQL has no file to
 * look at, so a database without a single account counts as new (a restart before the first
 * account prints another token; the earlier one stays valid).
 */
async function isNewDatabase(store: Store, database: DatabaseChoice, newFile: boolean): Promise<boolean> {
  if ('db' in database) return newFile;
  const ids = await store.read((tx) => tx.listAccountIds(null, 1));
  return ids.length === 0;
}

function banner(options: {
  url: string;
  database: DatabaseChoice;
  firstToken: string | null;
  testClock: boolean;
}): string {
  const lines = [`creditpool: ${describeDatabase(options.database)}`];
  if (options.testClock) {
    lines.push(
      'test clock: on (move it forward with POST /v1/test-clock {"now": "..."}; never in production)',
    );
  }
  if (options.firstToken !== null) {
    const body = JSON.stringify({ id: 'acct_1', kind: 'subscription', plan: 'pro' });
    lines.push(
      '',
      `New database: created an admin token. It is shown once; store it now:`,
      '',
      `  ${options.firstToken}`,
      '',
      'Try:',
      `  curl -s -X POST ${options.url}/v1/accounts \\`,
      `    -H 'authorization: Bearer ${options.firstToken}' \\`,
      `    -H 'content-type: application/json' \\`,
      `    -d '${body}'`,
      '',
    );
  }
  lines.push(`listening on ${options.url}`, '');
  return lines.join('\n');
}

function usageError(io: CliIo, message: string): number {
  io.stderr(`creditpool serve: ${message}\nRun 'creditpool serve --help' for usage.\n`);
  return exitUsage;
}

function refuse(io: CliIo, message: string): number {
  io.stderr(`creditpool serve: ${message}\n`);
  return exitRefused;
}
