/**
 * `creditpool verify`: checks a ledger database. On SQLite, first the file (`PRAGMA
 * integrity_check`: every page and index), then the ledger (`verifyLedger`: every cached figure
 * recomputed from the journal, holds, breakdowns, org counters, posting sequence). Exit 0 when all
 * holds; otherwise every problem is printed, readably (amounts in USD, cycles by their dates), and
 * the exit code is 1.
 *
 * Safe beside a running server: SQLite is read through a read-only connection of its own (one
 * snapshot; the server's writer lock is not needed), PostgreSQL in a read-only REPEATABLE READ
 * transaction. Local only: it reads the database, not the API.
 */
import { parseFlags } from '../args.ts';
import { type CliCommand, type CliIo, exitOk, exitRefused, exitUsage } from '../io.ts';
import { databaseFlags, databaseHelp, databaseOf, describeDatabase } from '../ledger-command.ts';
import { checkLedgerOf, checkSqliteFile, type FileCheck } from '../sqlite-files.ts';

const usage = `Usage: creditpool verify [--db <path> | --database-url <url>] [--json]

Checks the ledger database:
  - SQLite: PRAGMA integrity_check over the whole file (pages, indexes);
  - every account's figures recomputed from its journal entries and compared with the cached
    ones (balances, holds, breakdowns by surface, app and model, org counters, posting numbers).
Every difference is printed with both amounts in USD and the gap. Runs beside a serving server
(it reads one consistent snapshot and takes no lock).

Options:
${databaseHelp}
  --json                print the report as JSON
  -h, --help            show this help

Exit codes: 0 everything holds, 1 a problem was found (or the database cannot be read),
2 wrong command line.
`;

export interface VerifyOutput extends FileCheck {
  database: string;
  ms: number;
}

export const verify: CliCommand = {
  name: 'verify',
  summary: 'check the database file and every ledger invariant against the journal',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const fail = (message: string) => {
      io.stderr(`creditpool verify: ${message}\nRun 'creditpool verify --help' for usage.\n`);
      return exitUsage;
    };
    const args = parseFlags(argv, { ...databaseFlags, json: { type: 'boolean' }, url: { type: 'string' } });
    if (!args.ok) return fail(args.message);
    if (args.values.help) {
      io.stdout(usage);
      return exitOk;
    }
    if (args.values.url !== undefined) return fail('verify reads the database itself: drop --url');
    if (args.positionals.length > 0)
      return fail(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
    const database = databaseOf(args.values, io.env);
    if ('error' in database) return fail(database.error);
    const started = Date.now();
    let check: FileCheck;
    try {
      if ('db' in database) {
        check = await checkSqliteFile(database.db);
      } else {
        // Loaded here: commands that open no PostgreSQL database do not pay for its client.
        const { openPostgresStore } = await import('../../adapters/storage/postgres/index.ts');
        const store = await openPostgresStore({ url: database.databaseUrl, max: 2 });
        try {
          const ledger = await checkLedgerOf(store);
          check = { integrity: null, ...ledger, ok: ledger.problems.length === 0 };
        } finally {
          await store.close();
        }
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      io.stderr(
        `creditpool verify: ${describeDatabase(database)}: ${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}\n`,
      );
      return exitRefused;
    }
    const output: VerifyOutput = { database: describeDatabase(database), ...check, ms: Date.now() - started };
    io.stdout(args.values.json ? `${JSON.stringify(output)}\n` : render(output));
    return check.ok ? exitOk : exitRefused;
  },
};

function render(o: VerifyOutput): string {
  const lines = [`creditpool verify: ${o.database}`];
  const sound = o.integrity === null || (o.integrity.length === 1 && o.integrity[0] === 'ok');
  if (o.integrity === null) {
    lines.push('file: not applicable (PostgreSQL checks its own pages: data checksums, amcheck)');
  } else if (sound) {
    lines.push('file: PRAGMA integrity_check ok');
  } else {
    lines.push(`file: PRAGMA integrity_check found ${o.integrity.length} problem(s):`);
    for (const finding of o.integrity) lines.push(`  - ${finding.split('\n').join('\n    ')}`);
  }
  const summary = `${o.accounts} accounts, ${o.postings} postings checked`;
  if (!sound) {
    lines.push('ledger: not checked, the file itself is damaged (restore the last good backup)');
  } else if (o.problems.length === 0) {
    lines.push(`ledger: ${summary}, no differences`);
  } else {
    lines.push(`ledger: ${summary}, ${o.problems.length} problem(s):`);
    for (const problem of o.problems) lines.push(`  - ${problem}`);
  }
  const fileProblems = sound ? 0 : (o.integrity?.length ?? 0);
  lines.push(
    o.ok
      ? `ok: ${summary}, no problems (${o.ms} ms)`
      : `FAILED: ${fileProblems} problem(s) in the file, ${sound ? o.problems.length : 'unchecked'} in the ledger`,
  );
  return `${lines.join('\n')}\n`;
}
