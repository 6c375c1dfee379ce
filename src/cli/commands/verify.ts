/**
 * `creditpool verify`: recomputes every cached figure from the journal and checks the ledger's
 * invariants (`verifyLedger`). Exit 0 when nothing is wrong; otherwise each problem is printed and
 * the exit code is 1. Local only: it reads the database directly (safe beside a running server on
 * PostgreSQL; on SQLite, stop the server first, its writer lock refuses a second opener).
 */
import { verifyLedger } from '../../app/index.ts';
import { exitOk, exitRefused } from '../io.ts';
import type { Json } from '../json.ts';
import { field, type LedgerCall, ledgerCommand, text } from '../ledger-command.ts';

const usage = `Usage: creditpool verify

Recomputes every account's figures from its journal entries and checks the ledger's invariants
(balances equal the sum of their entries, holds, breakdowns, org counters, posting sequence).
Exit 0 if nothing is wrong, 1 with each problem printed otherwise.
`;

export const verify = ledgerCommand({
  name: 'verify',
  summary: "check the ledger's invariants against the journal",
  usage,
  flags: {},
  build(_values, positionals): LedgerCall | string {
    if (positionals.length > 0) return `unexpected argument ${JSON.stringify(positionals[0])}`;
    return { local: (ctx) => verifyLedger(ctx), http: null };
  },
  render(report) {
    const problems = problemsOf(report);
    const summary = `${text(field(report, 'accounts'))} accounts, ${text(field(report, 'postings'))} postings checked`;
    if (problems.length === 0) return `ok: ${summary}, no problems\n`;
    return `${problems.map((p) => `problem: ${text(p)}`).join('\n')}\n\n${problems.length} problem(s); ${summary}\n`;
  },
  exitCode: (report) => (problemsOf(report).length === 0 ? exitOk : exitRefused),
});

function problemsOf(report: Json): Json[] {
  const problems = field(report, 'problems');
  return Array.isArray(problems) ? problems : [];
}
