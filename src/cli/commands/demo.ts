/**
 * `creditpool demo`: loads the example org and accounts (`../demo-data.ts`) with six weeks of
 * synthetic usage ending now, mints tokens for the account holders and the org admin, and prints
 * them with the command that starts the server. A newcomer sees a living dashboard in two
 * commands: `npm run creditpool -- demo`, then `npm start`.
 *
 * The usage goes through the app's use cases with a `ManualClock` walked up to the real time, so
 * the server (on the system clock) carries on from where the demo stops. Run again on the same
 * database, it books nothing and mints a fresh set of tokens (tokens are shown only once).
 */
import { type AppContext, type Catalogues, createToken, ManualClock } from '../../app/index.ts';
import type { Store } from '../../app/ports.ts';
import { formatInstant } from '../../core/time.ts';
import { parseFlags } from '../args.ts';
import { demoOrgId, demoProfiles, loadDemo } from '../demo-data.ts';
import { type CliCommand, type CliIo, exitOk, exitRefused, exitUsage } from '../io.ts';
import {
  cataloguesFromEnv,
  type DatabaseChoice,
  databaseFlags,
  databaseHelp,
  databaseOf,
  defaultDbPath,
  describeDatabase,
  openDatabase,
} from '../ledger-command.ts';
import { defaultHost, defaultPort } from './serve.ts';

const usage = `Usage: creditpool demo [--db <path> | --database-url <url>]

Loads an example Team org (acme) with four members and an individual Pro subscriber, with six
weeks of synthetic usage ending now: interactive and programmatic requests, two third-party
apps (prbot, docsmith), usage credits, an app cap, and one account that runs out of credit
mid-cycle. Then prints tokens for the account holders and the org admin, and how to start the
server and open the dashboard.

Run it again on the same database and it loads nothing new; it prints a fresh set of tokens.

Options:
${databaseHelp}
  -h, --help            show this help
`;

export const demo: CliCommand = {
  name: 'demo',
  summary: 'load an example org and accounts with a month of usage, and print dashboard tokens',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const args = parseFlags(argv, databaseFlags);
    if (!args.ok) return usageError(io, args.message);
    if (args.values.help) {
      io.stdout(usage);
      return exitOk;
    }
    if (args.positionals.length > 0)
      return usageError(io, `unexpected argument ${JSON.stringify(args.positionals[0])}`);
    const database = databaseOf(args.values, io.env);
    if ('error' in database) return usageError(io, database.error);
    let catalogues: Catalogues;
    try {
      catalogues = cataloguesFromEnv(io.env);
    } catch (error) {
      return refuse(io, `CREDITPOOL_PRICES: ${(error as Error).message}`);
    }
    let store: Store;
    try {
      store = await openDemoStore(database);
    } catch (error) {
      // The store's message says why (another writer holds the file, a read-only folder, …).
      const code = (error as { code?: unknown }).code;
      return refuse(
        io,
        `${describeDatabase(database)}: ${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}`,
      );
    }
    try {
      const end = io.now();
      const clock = new ManualClock(end);
      const ctx: AppContext = { store, clock, catalogues };
      const loaded = await store.read((tx) => tx.getOrg(demoOrgId));
      if (loaded) {
        io.stdout(await tokensAgain(ctx, database, io.env));
        return exitOk;
      }
      // The demo starts six weeks back: a clock of its own, walked forward to now.
      const demoClock = new ManualClock(0);
      const result = await loadDemo({ store, clock: demoClock, catalogues }, demoClock, end);
      const reasons = Object.entries(result.requests.byReason)
        .sort(([, a], [, b]) => b - a)
        .map(([reason, n]) => `${reason} ${n}`)
        .join(', ');
      const lines = [
        `creditpool demo: loaded into ${describeDatabase(database)}`,
        `  org ${result.orgId} (Team) with ${demoProfiles.filter((p) => p.org).length} members, and an individual subscriber`,
        `  usage from ${result.start} to ${result.end} (now): ${result.requests.recorded} requests recorded, ${result.requests.refused} refused (${reasons})`,
        '',
        ...startLines(database, io.env),
        'Tokens (shown once; they stay valid):',
        '',
        ...result.accounts.flatMap((a) => [`  ${a.id} (${a.plan}): ${a.role}`, `    ${a.token}`, '']),
        `  org admin of ${result.orgId}: members, org usage-credit policy`,
        `    ${result.orgAdminToken}`,
        '',
      ];
      io.stdout(lines.join('\n'));
      return exitOk;
    } finally {
      await store.close();
    }
  },
};

/**
 * SQLite with `synchronous=NORMAL` (WAL): the load is thousands of small transactions, and a power
 * cut in the middle of synthetic data costs nothing but a rerun, so waiting for the disk on each
 * commit (a dozen seconds on a laptop) buys nothing. PostgreSQL as configured.
 */
async function openDemoStore(database: DatabaseChoice): Promise<Store> {
  if (!('db' in database)) return openDatabase(database);
  const { openSqliteStore } = await import('../../adapters/storage/sqlite/index.ts');
  return openSqliteStore({ path: database.db, synchronous: 'NORMAL' });
}

/** The demo is already there: new tokens, nothing else. */
async function tokensAgain(
  ctx: AppContext,
  database: DatabaseChoice,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const lines = [
    `creditpool demo: the demo is already loaded in ${describeDatabase(database)} (loaded nothing new).`,
    `  now: ${formatInstant(ctx.clock.now())}`,
    '',
    ...startLines(database, env),
    'New tokens (shown once; earlier ones stay valid):',
    '',
  ];
  for (const profile of demoProfiles) {
    const exists = await ctx.store.read((tx) => tx.getAccount(profile.id));
    if (!exists) continue;
    const { token } = await createToken(ctx, { role: 'account', account_id: profile.id });
    lines.push(`  ${profile.id} (${profile.plan}): ${profile.role}`, `    ${token}`, '');
  }
  const { token } = await createToken(ctx, { role: 'org_admin', org_id: demoOrgId });
  lines.push(`  org admin of ${demoOrgId}`, `    ${token}`, '');
  return lines.join('\n');
}

/** How to start the server on this database, and where the dashboard is. */
function startLines(database: DatabaseChoice, env: NodeJS.ProcessEnv): string[] {
  const host = env.HOST || defaultHost;
  const port = env.PORT || String(defaultPort);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  // `npm start` opens the default database unless the environment points elsewhere.
  const isDefault =
    'db' in database && database.db === defaultDbPath && !env.CREDITPOOL_DB && !env.DATABASE_URL;
  const serve =
    'db' in database
      ? `npm run creditpool -- serve --db ${shellQuote(database.db)}`
      : 'npm run creditpool -- serve --database-url "$DATABASE_URL"';
  return [
    'Start the server:',
    '',
    isDefault ? `  npm start        (the same as: ${serve})` : `  ${serve}`,
    '',
    `Then open ${url} and sign in with one of the tokens below.`,
    '',
  ];
}

function shellQuote(text: string): string {
  return /^[\w./:@-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

function usageError(io: CliIo, message: string): number {
  io.stderr(`creditpool demo: ${message}\nRun 'creditpool demo --help' for usage.\n`);
  return exitUsage;
}

function refuse(io: CliIo, message: string): number {
  io.stderr(`creditpool demo: ${message}\n`);
  return exitRefused;
}
