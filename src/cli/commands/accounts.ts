/**
 * `creditpool accounts create|show`: creates an account (R2: a subscription with a plan, an org
 * member with a seat, or an API account) and shows the account view (credit, usage credits,
 * subscription limits), the CLI twins of `POST /v1/accounts` and `GET /v1/accounts/{id}`.
 */
import { createAccount, getAccountView } from '../../app/index.ts';
import type { Json } from '../json.ts';
import {
  field,
  formatPairs,
  type LedgerCall,
  ledgerCommand,
  onePositional,
  pathId,
  stringFlag,
  text,
} from '../ledger-command.ts';

const usage = `Usage: creditpool accounts create --id <id> --kind subscription|api [--plan <plan>] [--anchor <time>] [--org <id>]
       creditpool accounts show <id>

create   creates an account and prints its view. A subscription account needs --plan (pro,
         max_5x, max_20x; an org member's plan is its seat: team_standard, team_premium,
         enterprise_usage, enterprise_premium, enterprise_standard). --anchor is the billing
         anchor (RFC 3339; default now); org members take the org's anchor.
show     prints the account view: current cycle, Agent SDK credit, usage credits, limits.
`;

const kinds = ['subscription', 'api'] as const;

export const accounts = ledgerCommand({
  name: 'accounts',
  summary: 'create an account, or show one (credit, usage credits, limits)',
  usage,
  flags: {
    id: { type: 'string' },
    kind: { type: 'string' },
    plan: { type: 'string' },
    anchor: { type: 'string' },
    org: { type: 'string' },
  },
  build(values, positionals): LedgerCall | string {
    const [sub, ...rest] = positionals;
    const createFlags = ['id', 'kind', 'plan', 'anchor', 'org'] as const;
    if (sub === 'show') {
      const given = createFlags.find((name) => values[name] !== undefined);
      if (given) return `--${given} is for accounts create`;
      const id = onePositional(rest, 'account id');
      if (typeof id !== 'string') return id.error;
      return {
        local: (ctx) => getAccountView(ctx, id),
        http: { method: 'GET', path: `/v1/accounts/${pathId(id)}` },
      };
    }
    if (sub !== 'create') return 'give a subcommand: accounts create, or accounts show <id>';
    if (rest.length > 0) return `unexpected argument ${JSON.stringify(rest[0])}`;
    const id = stringFlag(values.id);
    if (!id) return '--id is required';
    const kind = stringFlag(values.kind);
    if (!kind || !kinds.includes(kind as (typeof kinds)[number])) return '--kind must be subscription or api';
    const input = {
      id,
      kind: kind as (typeof kinds)[number],
      plan: stringFlag(values.plan) ?? null,
      billing_anchor: stringFlag(values.anchor) ?? null,
      org_id: stringFlag(values.org) ?? null,
    };
    return {
      async local(ctx) {
        await createAccount(ctx, input);
        return getAccountView(ctx, id);
      },
      http: { method: 'POST', path: '/v1/accounts', body: dropNulls(input) },
    };
  },
  render: renderAccount,
});

/** Optional API fields are left out rather than sent as null. */
function dropNulls(input: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null));
}

export function renderAccount(view: Json): string {
  const credit = field(view, 'sdk_credit');
  const uc = field(view, 'usage_credits');
  const limits = field(view, 'subscription_limits');
  const cycle = field(view, 'cycle');
  const lines = [
    formatPairs([
      ['account', text(field(view, 'id'))],
      ['kind', text(field(view, 'kind'))],
      ['plan', text(field(view, 'plan'))],
      ['org', text(field(view, 'org_id'))],
      ['billing anchor', text(field(view, 'billing_anchor'))],
      ['cycle', `${text(field(cycle, 'start'))} .. ${text(field(cycle, 'end'))}`],
    ]),
    '',
    'Agent SDK credit (USD)',
    formatPairs(
      [
        ['status', text(field(credit, 'status'))],
        ['claimed at', text(field(credit, 'claimed_at'))],
        ['granted', text(field(credit, 'granted_usd'))],
        ['used', text(field(credit, 'used_usd'))],
        ['held', text(field(credit, 'held_usd'))],
        ['remaining', text(field(credit, 'remaining_usd'))],
        ['expires at', text(field(credit, 'expires_at'))],
      ],
      '  ',
    ),
    '',
    'Usage credits (USD)',
    formatPairs(
      [
        ['enabled', text(field(uc, 'enabled'))],
        [
          'monthly limit',
          field(uc, 'monthly_limit_usd') === null ? 'none' : text(field(uc, 'monthly_limit_usd')),
        ],
        ['spent', text(field(uc, 'spent_usd'))],
        ['held', text(field(uc, 'held_usd'))],
      ],
      '  ',
    ),
  ];
  if (limits) {
    const window = (name: string) => {
      const w = field(limits, name);
      return `${text(field(w, 'used_usd'))} of ${text(field(w, 'limit_usd'))}, resets ${text(field(w, 'resets_at'))}`;
    };
    lines.push(
      '',
      'Subscription limits (USD)',
      formatPairs(
        [
          ['session', window('session')],
          ['weekly', window('weekly')],
        ],
        '  ',
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
