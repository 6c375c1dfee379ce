/**
 * `creditpool backup PATH`: an online, consistent copy of the SQLite database, checked before it
 * is kept (`backupSqlite` in ../sqlite-files.ts). PostgreSQL has its own tools; the help says which.
 */
import { parseFlags } from '../args.ts';
import { type CliCommand, type CliIo, exitOk, exitRefused, exitUsage } from '../io.ts';
import { databaseFlags, databaseOf, defaultDbPath } from '../ledger-command.ts';
import { backupSqlite, OperatorError } from '../sqlite-files.ts';

export const postgresBackupHelp = `PostgreSQL: use its own tools, which take one consistent snapshot while servers run:
  pg_dump --format=custom --file=creditpool.dump "$DATABASE_URL"
  pg_restore --clean --if-exists --no-owner --dbname="$DATABASE_URL" creditpool.dump
(then \`creditpool verify --database-url "$DATABASE_URL"\`).`;

const usage = `Usage: creditpool backup <path> [--db <path>] [--json]

Copies the SQLite database (--db, default ${defaultDbPath}; env CREDITPOOL_DB) to <path>, online:
SQLite's backup of one consistent snapshot, read through a read-only connection of its own, so a
running server keeps serving and writing (it holds the writer lock; the backup does not need it).
The copy is one self-contained file. It is checked (PRAGMA integrity_check, then the ledger as
\`creditpool verify\` does) before it gets its name; <path> must not exist.

${postgresBackupHelp}

Exit codes: 0 backed up and checked, 1 refused or failed (nothing is left at <path>), 2 wrong
command line.
`;

export const backup: CliCommand = {
  name: 'backup',
  summary: 'copy the SQLite database online to a file, checked',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const fail = (message: string) => {
      io.stderr(`creditpool backup: ${message}\nRun 'creditpool backup --help' for usage.\n`);
      return exitUsage;
    };
    const args = parseFlags(argv, { ...databaseFlags, json: { type: 'boolean' } });
    if (!args.ok) return fail(args.message);
    if (args.values.help) {
      io.stdout(usage);
      return exitOk;
    }
    if (args.positionals.length !== 1 || args.positionals[0]!.length === 0)
      return fail('give exactly one backup path');
    const database = databaseOf(args.values, io.env);
    if ('error' in database) return fail(database.error);
    if (!('db' in database)) return fail(`backup copies SQLite files.\n${postgresBackupHelp}`);
    try {
      const r = await backupSqlite(database.db, args.positionals[0]!);
      io.stdout(
        args.values.json
          ? `${JSON.stringify({ path: r.path, pages: r.pages, accounts: r.check.accounts, postings: r.check.postings, ms: r.ms })}\n`
          : `backed up to ${r.path}: ${r.pages} pages, integrity_check ok, ${r.check.accounts} accounts and ${r.check.postings} postings verified (${r.ms} ms)\n`,
      );
      return exitOk;
    } catch (error) {
      if (!(error instanceof OperatorError) && (error as { code?: unknown }).code === undefined) throw error;
      io.stderr(`creditpool backup: ${(error as Error).message}\n`);
      return exitRefused;
    }
  },
};
