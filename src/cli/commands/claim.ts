/**
 * `creditpool claim ID`: claims the Agent SDK credit for an account (R5; idempotent: a second
 * claim returns the first, flagged as replayed). The CLI twin of `POST /v1/accounts/{id}/claim`.
 */
import { claim as claimCredit } from '../../app/index.ts';
import {
  field,
  formatPairs,
  type LedgerCall,
  ledgerCommand,
  onePositional,
  pathId,
  text,
} from '../ledger-command.ts';

const usage = `Usage: creditpool claim <account-id>

Claims the account's Agent SDK credit: the full credit for the current cycle at once, and a new
grant at every later cycle start. Claiming again changes nothing and says so (replayed).
`;

export const claim = ledgerCommand({
  name: 'claim',
  summary: "claim an account's Agent SDK credit",
  usage,
  flags: {},
  build(_values, positionals): LedgerCall | string {
    const id = onePositional(positionals, 'account id');
    if (typeof id !== 'string') return id.error;
    return {
      local: (ctx) => claimCredit(ctx, id),
      http: { method: 'POST', path: `/v1/accounts/${pathId(id)}/claim` },
    };
  },
  render(result) {
    const pairs: [string, string][] = [
      ['status', text(field(result, 'status'))],
      ['claimed at', text(field(result, 'claimed_at'))],
    ];
    const effective = field(result, 'effective_at');
    if (effective !== undefined && effective !== field(result, 'claimed_at'))
      pairs.push(['effective at', text(effective)]);
    pairs.push(['replayed', text(field(result, 'replayed'))]);
    return `${formatPairs(pairs)}\n`;
  },
});
