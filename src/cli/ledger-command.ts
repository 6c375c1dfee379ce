/**
 * What the ledger commands (`accounts`, `claim`, `statement`, …) share: where the ledger is (the
 * local database through the use cases, or a running server over HTTP with `--url`), the common
 * flags, error reporting and the table layout. A command only says how to build its call from the
 * command line and how to print the result.
 *
 * Both paths produce the same API-shaped JSON (money as exact decimal strings): the local result
 * goes through `toJson`, the server already answers that shape; `--json` prints it, and the table
 * is rendered from it, so both paths print the same thing.
 */
import { priceCatalogueFromEnv } from '../adapters/prices-file.ts';
import { type AppContext, AppError, type Catalogues, defaultCatalogues, systemClock } from '../app/index.ts';
import type { Store } from '../app/ports.ts';
import { StoreError } from '../app/store-error.ts';
import { type FlagSpec, parseFlags } from './args.ts';
import { type CliCommand, type CliIo, exitOk, exitRefused, exitUsage } from './io.ts';
import { type Json, toJson } from './json.ts';

/**
 * The embedded default database, relative to the working directory (API.md "Starting the server");
 * the same as `open-store.ts`'s `sqlitePathDefault`, which is not imported here because that module
 * loads the PostgreSQL client, and commands that open no database should not pay for it.
 */
export const defaultDbPath = './data/creditpool.db';
/** A server that has not answered in this long is not going to: the command fails instead of hanging. */
export const httpTimeoutMs = 30_000;

export type DatabaseChoice = { db: string } | { databaseUrl: string };

/** Flags every command that opens the database takes (`serve` and the ledger commands). */
export const databaseFlags: FlagSpec = {
  db: { type: 'string' },
  'database-url': { type: 'string' },
};

export const databaseHelp = `  --db <path>           SQLite file (default ${defaultDbPath}; env CREDITPOOL_DB)
  --database-url <url>  PostgreSQL instead (env DATABASE_URL)`;

/**
 * Which database to open: a flag wins over the environment; in the environment `DATABASE_URL` wins
 * over `CREDITPOOL_DB` (as in `openStore`); SQLite at `./data/creditpool.db` when nothing is said.
 * Both flags at once is a usage error.
 */
export function databaseOf(
  values: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
): DatabaseChoice | { error: string } {
  const db = values.db;
  const url = values['database-url'];
  if (typeof db === 'string' && typeof url === 'string')
    return { error: 'give --db or --database-url, not both' };
  if (typeof db === 'string') return db.length > 0 ? { db } : { error: '--db needs a path' };
  if (typeof url === 'string')
    return url.length > 0 ? { databaseUrl: url } : { error: '--database-url needs a URL' };
  if (env.DATABASE_URL) return { databaseUrl: env.DATABASE_URL };
  if (env.CREDITPOOL_DB) return { db: env.CREDITPOOL_DB };
  return { db: defaultDbPath };
}

export function describeDatabase(choice: DatabaseChoice): string {
  // A PostgreSQL URL may carry a password: print only where it points.
  if ('db' in choice) return `SQLite ${choice.db}`;
  try {
    const url = new URL(choice.databaseUrl);
    return `PostgreSQL ${url.host}${url.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}

/** Opens the store; loaded on first use so that commands which need no database start fast. */
export async function openDatabase(choice: DatabaseChoice): Promise<Store> {
  const { openStore } = await import('../adapters/storage/open-store.ts');
  // The choice is already made (flags, then environment): an empty environment keeps
  // `openStore` from letting DATABASE_URL override an explicit --db.
  return openStore(choice, {});
}

/**
 * The catalogues the use cases run with: the defaults, prices from `CREDITPOOL_PRICES` when set.
 * Throws an Error naming the file when it is unreadable or not a catalogue.
 */
export function cataloguesFromEnv(env: NodeJS.ProcessEnv): Catalogues {
  return { ...defaultCatalogues, prices: priceCatalogueFromEnv(env) };
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  /** Path and query, e.g. `/v1/accounts/acct_1`; ids already URI-encoded. */
  path: string;
  body?: unknown;
}

export interface LedgerCall {
  /** Runs the use case on the local database; the result goes through `toJson`. */
  local(ctx: AppContext): Promise<unknown>;
  /** The same call as an API request; null when the API has no route for it (local only). */
  http: HttpRequest | null;
}

type Values = Record<string, string | boolean | undefined>;

export interface LedgerCommandSpec {
  name: string;
  summary: string;
  /** The command line and its own options; the common options are appended. */
  usage: string;
  flags: FlagSpec;
  /** The call for this command line, or a usage error message. */
  build(values: Values, positionals: string[], io: CliIo): LedgerCall | string;
  /** The human-readable form of the API-shaped result. */
  render(result: Json): string;
  /** The exit code for a result (default 0): `verify` fails when it found problems. */
  exitCode?(result: Json): number;
}

const commonFlags: FlagSpec = {
  ...databaseFlags,
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
};

const commonHelp = `Common options:
  --json                print the API-shaped JSON object (money as exact decimal strings)
${databaseHelp}
  --url <url>           send the request to a running server instead (env CREDITPOOL_URL)
  --token <token>       the API token for --url (env CREDITPOOL_TOKEN)
  -h, --help            show this help

Without --url the command opens the database itself. A SQLite file has one writer: while a server
runs on it, this is refused (unavailable); stop the server, or use --url and --token.

Exit codes: 0 done, 1 refused (the error code is printed), 2 wrong command line.
`;

/**
 * Builds a `CliCommand` from a spec: parses the flags (its own plus the common ones), picks local or
 * HTTP, runs the call, prints the table or `--json`, and turns refusals into exit code 1.
 */
export function ledgerCommand(spec: LedgerCommandSpec): CliCommand {
  const usage = `${spec.usage.trimEnd()}\n\n${commonHelp}`;
  return {
    name: spec.name,
    summary: spec.summary,
    usage,
    async run(argv, io) {
      const fail = (message: string) => {
        io.stderr(`creditpool ${spec.name}: ${message}\nRun 'creditpool ${spec.name} --help' for usage.\n`);
        return exitUsage;
      };
      const args = parseFlags(argv, { ...spec.flags, ...commonFlags });
      if (!args.ok) return fail(args.message);
      if (args.values.help) {
        io.stdout(usage);
        return exitOk;
      }
      const call = spec.build(args.values, args.positionals, io);
      if (typeof call === 'string') return fail(call);
      const url = stringFlag(args.values.url) ?? io.env.CREDITPOOL_URL;
      let result: Json;
      if (url) {
        if (!call.http) return fail('this command runs on the local database only: drop --url');
        const token = stringFlag(args.values.token) ?? io.env.CREDITPOOL_TOKEN;
        if (!token) return fail('--url needs --token (or CREDITPOOL_TOKEN)');
        const answer = await callServer(url, token, call.http);
        if (!answer.ok) return refuse(io, spec.name, answer.message);
        result = answer.json;
      } else {
        const database = databaseOf(args.values, io.env);
        if ('error' in database) return fail(database.error);
        const answer = await callLocal(database, io.env, call);
        if (!answer.ok) return refuse(io, spec.name, answer.message);
        result = answer.json;
      }
      io.stdout(args.values.json ? `${JSON.stringify(result)}\n` : spec.render(result));
      return spec.exitCode?.(result) ?? exitOk;
    },
  };
}

type Answer = { ok: true; json: Json } | { ok: false; message: string };

async function callLocal(
  database: DatabaseChoice,
  env: NodeJS.ProcessEnv,
  call: LedgerCall,
): Promise<Answer> {
  let catalogues: Catalogues;
  try {
    catalogues = cataloguesFromEnv(env);
  } catch (error) {
    return { ok: false, message: `CREDITPOOL_PRICES: ${(error as Error).message}` };
  }
  let store: Store;
  try {
    store = await openDatabase(database);
  } catch (error) {
    return { ok: false, message: `${describeDatabase(database)}: ${errorText(error, true)}` };
  }
  try {
    return { ok: true, json: toJson(await call.local({ store, clock: systemClock, catalogues })) };
  } catch (error) {
    if (error instanceof AppError || error instanceof StoreError)
      return { ok: false, message: errorText(error, false) };
    throw error; // A bug: crash with the stack rather than print it as a refusal.
  } finally {
    await store.close();
  }
}

function errorText(error: unknown, opening: boolean): string {
  if (error instanceof AppError || error instanceof StoreError) {
    const hint =
      opening && error.code === 'unavailable' && error.message.includes('already open for writing')
        ? '\n(a SQLite file has one writer: is a server running on it? stop it, or use --url and --token)'
        : '';
    return `${error.code}: ${error.message}${hint}`;
  }
  return (error as Error).message;
}

async function callServer(base: string, token: string, request: HttpRequest): Promise<Answer> {
  let response: Response;
  try {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    response = await fetch(new URL(request.path, base), {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(httpTimeoutMs),
    });
  } catch (error) {
    return { ok: false, message: `unavailable: ${base}: ${(error as Error).message}` };
  }
  const text = await response.text();
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch {
    return { ok: false, message: `the server answered ${response.status} with a body that is not JSON` };
  }
  if (!response.ok) {
    const problem = json as { code?: unknown; detail?: unknown; title?: unknown };
    const code = typeof problem.code === 'string' ? problem.code : `http_${response.status}`;
    const detail = typeof problem.detail === 'string' ? problem.detail : String(problem.title ?? '');
    return { ok: false, message: `${code}: ${detail}` };
  }
  return { ok: true, json };
}

function refuse(io: CliIo, name: string, message: string): number {
  io.stderr(`creditpool ${name}: ${message}\n`);
  return exitRefused;
}

export function stringFlag(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Exactly one positional argument (an id), or a usage error message. */
export function onePositional(positionals: string[], what: string): string | { error: string } {
  if (positionals.length !== 1 || positionals[0]!.length === 0) return { error: `give exactly one ${what}` };
  return positionals[0]!;
}

export function pathId(id: string): string {
  return encodeURIComponent(id);
}

// ---- layout: shared by every table the commands print ----

/** Aligned `key  value` lines; nested sections are indented by the caller. */
export function formatPairs(pairs: readonly (readonly [string, string])[], indent = ''): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${indent}${key.padEnd(width)}  ${value}`.trimEnd()).join('\n');
}

/** A table with a header row; columns listed in `right` are right-aligned (amounts, counts). */
export function formatTable(
  header: readonly string[],
  rows: readonly string[][],
  right: readonly number[] = [],
): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** A field of an API-shaped object as text: null and missing print as `-`. */
export function text(value: Json | undefined): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A property of an API-shaped object, or undefined when the value is not an object. */
export function field(value: Json | undefined, key: string): Json | undefined {
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value))
    return undefined;
  return value[key];
}
