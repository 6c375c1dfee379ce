/**
 * `creditpool tokens create --role R [--account ID] [--org ID]`: mints an API token (the CLI twin
 * of `POST /v1/tokens`). The token is printed once: only its hash is stored.
 */
import { createToken, tokenRoles } from '../../app/index.ts';
import type { TokenRole } from '../../app/ports.ts';
import { field, formatPairs, type LedgerCall, ledgerCommand, stringFlag, text } from '../ledger-command.ts';

const usage = `Usage: creditpool tokens create --role <role> [--account <id>] [--org <id>]

Creates an API token and prints it once (only its SHA-256 is stored).

Options:
  --role <role>    ${tokenRoles.join(' | ')}
  --account <id>   the account an "account" token may act on
  --org <id>       the org an "org_admin" token may act on
`;

export const tokens = ledgerCommand({
  name: 'tokens',
  summary: 'create an API token (admin, meter, account, org_admin)',
  usage,
  flags: { role: { type: 'string' }, account: { type: 'string' }, org: { type: 'string' } },
  build(values, positionals): LedgerCall | string {
    if (positionals.length !== 1 || positionals[0] !== 'create')
      return 'the only subcommand is: tokens create';
    const role = stringFlag(values.role);
    if (!role) return '--role is required';
    if (!tokenRoles.includes(role as TokenRole)) return `--role must be one of ${tokenRoles.join(', ')}`;
    const input = {
      role: role as TokenRole,
      account_id: stringFlag(values.account) ?? null,
      org_id: stringFlag(values.org) ?? null,
    };
    return {
      async local(ctx) {
        const { token, row } = await createToken(ctx, input);
        // The shape `POST /v1/tokens` answers.
        return { token, role: row.role, account_id: row.accountId, org_id: row.orgId };
      },
      http: { method: 'POST', path: '/v1/tokens', body: input },
    };
  },
  render(result) {
    const scope = field(result, 'account_id') ?? field(result, 'org_id');
    return `${formatPairs([
      ['token', text(field(result, 'token'))],
      ['role', text(field(result, 'role'))],
      ['scope', text(scope)],
    ])}\n\nThe token is shown once: store it now. Use it as "Authorization: Bearer <token>".\n`;
  },
});
