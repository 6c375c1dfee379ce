/**
 * `creditpool restore BACKUP`: replaces the SQLite database by a backup, checked before and after
 * (`restoreSqlite` in ../sqlite-files.ts); refused while a server holds the database.
 */
import { parseFlags } from '../args.ts';
import { type CliCommand, type CliIo, exitOk, exitRefused, exitUsage } from '../io.ts';
import { databaseFlags, databaseOf, defaultDbPath } from '../ledger-command.ts';
import { OperatorError, restoreSqlite } from '../sqlite-files.ts';
import { postgresBackupHelp } from './backup.ts';

const usage = `Usage: creditpool restore <backup> [--db <path>] [--force] [--json]

Replaces the SQLite database (--db, default ${defaultDbPath}; env CREDITPOOL_DB) by <backup>
(a file written by \`creditpool backup\`, or any copy of a creditpool database):
  1. refused while a server runs on the database (its writer lock): stop the server first;
  2. <backup> is copied aside, brought to this build's schema if it is older (as \`serve\` would
     at start; a backup from a newer build is refused), and checked (integrity_check, ledger);
  3. the copy replaces the database in one SQLite transaction (a failure leaves it as it was);
  4. the restored database is checked again.
<backup> itself is never modified. An existing database is replaced only with --force.

${postgresBackupHelp}

Exit codes: 0 restored and checked, 1 refused or failed, 2 wrong command line.
`;

export const restore: CliCommand = {
  name: 'restore',
  summary: 'replace the SQLite database by a checked backup (server stopped)',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const fail = (message: string) => {
      io.stderr(`creditpool restore: ${message}\nRun 'creditpool restore --help' for usage.\n`);
      return exitUsage;
    };
    const args = parseFlags(argv, {
      ...databaseFlags,
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (!args.ok) return fail(args.message);
    if (args.values.help) {
      io.stdout(usage);
      return exitOk;
    }
    if (args.positionals.length !== 1 || args.positionals[0]!.length === 0)
      return fail('give exactly one backup file');
    const database = databaseOf(args.values, io.env);
    if ('error' in database) return fail(database.error);
    if (!('db' in database)) return fail(`restore writes SQLite files.\n${postgresBackupHelp}`);
    try {
      const r = await restoreSqlite(args.positionals[0]!, database.db, args.values.force === true);
      io.stdout(
        args.values.json
          ? `${JSON.stringify({ path: r.path, migrated: r.migrated, accounts: r.check.accounts, postings: r.check.postings, ms: r.ms })}\n`
          : `restored ${r.path}${r.migrated ? " (migrated to this build's schema)" : ''}: integrity_check ok, ${r.check.accounts} accounts and ${r.check.postings} postings verified (${r.ms} ms)\n`,
      );
      return exitOk;
    } catch (error) {
      if (!(error instanceof OperatorError) && (error as { code?: unknown }).code === undefined) throw error;
      io.stderr(`creditpool restore: ${(error as Error).message}\n`);
      return exitRefused;
    }
  },
};
