/**
 * `creditpool entries ID [--cycle T] [--limit N] [--cursor C]`: one page of an account's journal
 * entries (one per non-zero leg of a posting), oldest first. The CLI twin of
 * `GET /v1/accounts/{id}/entries`.
 */
import { listEntries } from '../../app/index.ts';
import { entriesPageDefault, entriesPageMax } from '../../app/limits.ts';
import { type Instant, parseInstant } from '../../core/time.ts';
import {
  field,
  formatTable,
  type LedgerCall,
  ledgerCommand,
  onePositional,
  pathId,
  stringFlag,
  text,
} from '../ledger-command.ts';

const usage = `Usage: creditpool entries <account-id> [--cycle <start>] [--limit <n>] [--cursor <c>]

Prints one page of the account's journal entries, oldest first, and the cursor of the next page.

Options:
  --cycle <start>  only the cycle starting at this instant (RFC 3339)
  --limit <n>      entries per page, 1 to ${entriesPageMax} (default ${entriesPageDefault})
  --cursor <c>     continue after a previous page (its next cursor)
`;

export const entries = ledgerCommand({
  name: 'entries',
  summary: "a page of an account's journal entries",
  usage,
  flags: { cycle: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
  build(values, positionals): LedgerCall | string {
    const id = onePositional(positionals, 'account id');
    if (typeof id !== 'string') return id.error;
    const query = new URLSearchParams();
    const options: { cycleStart?: Instant; limit?: number; cursor?: string | null } = {};
    const cycle = stringFlag(values.cycle);
    if (cycle !== undefined) {
      try {
        options.cycleStart = parseInstant(cycle);
      } catch (error) {
        return `--cycle: ${(error as Error).message}`;
      }
      query.set('cycle_start', cycle);
    }
    const limit = stringFlag(values.limit);
    if (limit !== undefined) {
      if (!/^\d{1,5}$/.test(limit) || Number(limit) < 1 || Number(limit) > entriesPageMax) {
        return `--limit must be 1 to ${entriesPageMax}`;
      }
      options.limit = Number(limit);
      query.set('limit', limit);
    }
    const cursor = stringFlag(values.cursor);
    if (cursor !== undefined) {
      options.cursor = cursor;
      query.set('cursor', cursor);
    }
    const search = query.size > 0 ? `?${query}` : '';
    return {
      local: (ctx) => listEntries(ctx, id, options),
      http: { method: 'GET', path: `/v1/accounts/${pathId(id)}/entries${search}` },
    };
  },
  render(page) {
    const list = field(page, 'entries');
    const rows = (Array.isArray(list) ? list : []).map((e) => [
      text(field(e, 'id')),
      text(field(e, 'at')),
      text(field(e, 'kind')),
      text(field(e, 'pool')),
      text(field(e, 'amount_usd')),
      text(field(e, 'ref')),
    ]);
    const table =
      rows.length === 0
        ? 'no entries'
        : formatTable(['entry', 'at', 'kind', 'pool', 'amount (USD)', 'ref'], rows, [4]);
    const next = field(page, 'next_cursor');
    return `${table}\n${next === null || next === undefined ? '' : `\nnext page: --cursor ${text(next)}\n`}`;
  },
});
