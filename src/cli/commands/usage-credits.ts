/**
 * `creditpool usage-credits ID --on|--off [--limit USD|none]`: turns an account's usage credits
 * (pay-as-you-go at API rates once the credit is spent, R7) on or off and sets its monthly limit.
 * The CLI twin of `PUT /v1/accounts/{id}/usage-credits`.
 */
import { getAccountView, setUsageCredits, type UsageCreditsInput } from '../../app/index.ts';
import { type LedgerCall, ledgerCommand, onePositional, pathId, stringFlag } from '../ledger-command.ts';
import { renderAccount } from './accounts.ts';

const usage = `Usage: creditpool usage-credits <account-id> --on|--off [--limit <usd>|none]

Turns usage credits on or off. With --limit, also sets the monthly spend limit in USD (an exact
decimal, e.g. 25 or 12.50), or removes it with "none"; without --limit the limit is unchanged.
Prints the account view.
`;

export const usageCredits = ledgerCommand({
  name: 'usage-credits',
  summary: "turn an account's usage credits on or off, set the monthly limit",
  usage,
  flags: { on: { type: 'boolean' }, off: { type: 'boolean' }, limit: { type: 'string' } },
  build(values, positionals): LedgerCall | string {
    const id = onePositional(positionals, 'account id');
    if (typeof id !== 'string') return id.error;
    if (values.on === values.off) return 'give exactly one of --on and --off';
    const input: UsageCreditsInput = { enabled: values.on === true };
    const limit = stringFlag(values.limit);
    // The amount stays a string: the use case parses it exactly (no float on the way).
    if (limit !== undefined) input.monthly_limit_usd = limit === 'none' ? null : limit;
    return {
      async local(ctx) {
        await setUsageCredits(ctx, id, input);
        return getAccountView(ctx, id);
      },
      http: { method: 'PUT', path: `/v1/accounts/${pathId(id)}/usage-credits`, body: input },
    };
  },
  render: renderAccount,
});
