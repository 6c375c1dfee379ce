/**
 * `creditpool statement ID [--cycle T]`: one account's statement for a cycle (R17): credit
 * granted, used, expired; usage credits charged and billed (to the cent); written off; the
 * breakdowns by surface, app and model. The CLI twin of `GET /v1/accounts/{id}/statements/…`.
 */
import { getStatement } from '../../app/index.ts';
import { type Instant, parseInstant } from '../../core/time.ts';
import type { Json } from '../json.ts';
import {
  field,
  formatPairs,
  formatTable,
  type LedgerCall,
  ledgerCommand,
  onePositional,
  pathId,
  stringFlag,
  text,
} from '../ledger-command.ts';

const usage = `Usage: creditpool statement <account-id> [--cycle <start>]

Prints the statement of the current cycle, or of the cycle starting at --cycle (RFC 3339, the
cycle's exact start, e.g. from 'creditpool accounts show'). Every figure is the sum of the
journal's entries; usage credits are billed rounded to the cent.

Options:
  --cycle <start>  the start of the cycle (default: the current cycle)
`;

export const statement = ledgerCommand({
  name: 'statement',
  summary: "an account's statement for a cycle",
  usage,
  flags: { cycle: { type: 'string' } },
  build(values, positionals): LedgerCall | string {
    const id = onePositional(positionals, 'account id');
    if (typeof id !== 'string') return id.error;
    const cycleText = stringFlag(values.cycle);
    let cycle: Instant | null = null;
    if (cycleText !== undefined) {
      try {
        cycle = parseInstant(cycleText);
      } catch (error) {
        return `--cycle: ${(error as Error).message}`;
      }
    }
    const which = cycleText === undefined ? 'current' : encodeURIComponent(cycleText);
    return {
      local: (ctx) => getStatement(ctx, id, cycle),
      http: { method: 'GET', path: `/v1/accounts/${pathId(id)}/statements/${which}` },
    };
  },
  render: renderStatement,
});

function renderStatement(s: Json): string {
  const cycle = field(s, 'cycle');
  const credit = field(s, 'sdk_credit');
  const uc = field(s, 'usage_credits');
  const out = [
    formatPairs([
      ['account', text(field(s, 'account_id'))],
      ['cycle', `${text(field(cycle, 'start'))} .. ${text(field(cycle, 'end'))}`],
      ['closed', text(field(s, 'closed'))],
    ]),
    '',
    'Agent SDK credit (USD)',
    formatPairs(
      [
        ['granted', text(field(credit, 'granted_usd'))],
        ['used', text(field(credit, 'used_usd'))],
        ['adjusted', text(field(credit, 'adjusted_usd'))],
        ['held', text(field(credit, 'held_usd'))],
        ['expired', text(field(credit, 'expired_usd'))],
        ['remaining', text(field(credit, 'remaining_usd'))],
      ],
      '  ',
    ),
    '',
    formatPairs([
      ['usage credits charged (USD)', text(field(uc, 'charged_usd'))],
      ['usage credits billed (USD)', text(field(uc, 'billed_usd'))],
      ['subscription (USD)', text(field(s, 'subscription_usd'))],
      ['pay-as-you-go (USD)', text(field(s, 'pay_as_you_go_usd'))],
      ['written off (USD)', text(field(s, 'written_off_usd'))],
      ['adjustments (USD)', text(field(s, 'adjustments_usd'))],
    ]),
  ];
  for (const [key, name] of [
    ['by_surface', 'surface'],
    ['by_app', 'app'],
    ['by_model', 'model'],
  ] as const) {
    const rows = field(s, key);
    if (!Array.isArray(rows) || rows.length === 0) continue;
    out.push(
      '',
      formatTable(
        [name, 'cost (USD)'],
        rows.map((row) => [text(field(row, name)), text(field(row, 'cost_usd'))]),
        [1],
      ),
    );
  }
  return `${out.join('\n')}\n`;
}
