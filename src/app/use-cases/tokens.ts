/**
 * API tokens: random 256-bit secrets shown once; only their SHA-256 is stored, and lookups compare
 * hashes, so a token never sits in the database or a log in clear.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { isResourceId } from '../limits.ts';
import type { TokenRole, TokenRow } from '../ports.ts';

export const tokenRoles: readonly TokenRole[] = ['admin', 'meter', 'account', 'org_admin'];

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface CreateTokenInput {
  role: TokenRole;
  account_id?: string | null;
  org_id?: string | null;
}

export async function createToken(
  ctx: AppContext,
  input: CreateTokenInput,
): Promise<{ token: string; row: TokenRow }> {
  if (!tokenRoles.includes(input.role))
    throw new AppError('invalid_request', `role must be one of ${tokenRoles.join(', ')}`);
  const accountId = input.account_id ?? null;
  const orgId = input.org_id ?? null;
  if (input.role === 'account' && !isResourceId(accountId))
    throw new AppError('invalid_request', 'an account token needs account_id');
  if (input.role === 'org_admin' && !isResourceId(orgId))
    throw new AppError('invalid_request', 'an org_admin token needs org_id');
  if ((input.role === 'admin' || input.role === 'meter') && (accountId || orgId)) {
    throw new AppError('invalid_request', `a ${input.role} token is not scoped to an account or org`);
  }
  const token = `cp_${input.role}_${randomBytes(32).toString('base64url')}`;
  const row: TokenRow = {
    hash: hashToken(token),
    role: input.role,
    accountId: input.role === 'account' ? accountId : null,
    orgId: input.role === 'org_admin' ? orgId : null,
    createdAt: ctx.clock.now(),
  };
  await ctx.store.transaction(async (tx) => {
    if (row.accountId && !(await tx.getAccount(row.accountId)))
      throw new AppError('not_found', `no account ${row.accountId}`);
    if (row.orgId && !(await tx.getOrg(row.orgId))) throw new AppError('not_found', `no org ${row.orgId}`);
    await tx.insertToken(row);
  });
  return { token, row };
}

export async function findToken(ctx: AppContext, token: string): Promise<TokenRow | undefined> {
  return ctx.store.read((tx) => tx.findToken(hashToken(token)));
}
