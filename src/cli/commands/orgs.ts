/**
 * `creditpool orgs create --id ID --anchor T`: creates an org (Team, Enterprise); its billing
 * anchor is every member's (R4). The CLI twin of `POST /v1/orgs`.
 */
import { createOrg } from '../../app/index.ts';
import { formatInstant } from '../../core/time.ts';
import { field, formatPairs, type LedgerCall, ledgerCommand, stringFlag, text } from '../ledger-command.ts';

const usage = `Usage: creditpool orgs create --id <id> --anchor <time>

Creates an org. Members (accounts create --org <id> --plan <seat>) take its billing anchor.

Options:
  --id <id>        the org id
  --anchor <time>  the billing anchor, RFC 3339 (e.g. 2026-07-03T10:00:00Z)
`;

export const orgs = ledgerCommand({
  name: 'orgs',
  summary: 'create an org (Team, Enterprise) with its billing anchor',
  usage,
  flags: { id: { type: 'string' }, anchor: { type: 'string' } },
  build(values, positionals): LedgerCall | string {
    if (positionals.length !== 1 || positionals[0] !== 'create') return 'the only subcommand is: orgs create';
    const id = stringFlag(values.id);
    if (!id) return '--id is required';
    const anchor = stringFlag(values.anchor);
    if (!anchor) return '--anchor is required';
    const input = { id, billing_anchor: anchor };
    return {
      async local(ctx) {
        const org = await createOrg(ctx, input);
        // The shape `POST /v1/orgs` answers.
        return {
          id: org.id,
          billing_anchor: formatInstant(org.billingAnchor),
          created_at: formatInstant(org.createdAt),
          usage_credits: {
            enabled: org.ucEnabled,
            monthly_limit_usd: org.ucMonthlyLimitUnits,
            seat_tier_limits_usd: { ...org.seatTierLimitsUnits },
          },
        };
      },
      http: { method: 'POST', path: '/v1/orgs', body: input },
    };
  },
  render(result) {
    return `${formatPairs([
      ['org', text(field(result, 'id'))],
      ['billing anchor', text(field(result, 'billing_anchor'))],
    ])}\n`;
  },
});
