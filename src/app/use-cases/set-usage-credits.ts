/**
 * Usage-credit settings (R7): an account's switch and monthly limit; an org's switch, monthly
 * limit (shared by all members' pay-as-you-go spend), seat-tier limits and member limits. Nothing
 * here moves credit between accounts (R9): limits only bound each member's own spend.
 */
import { type MoneyError, parseUsd } from '../../core/money.ts';
import { isSeatPlan } from '../../core/plans.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import type { AccountRow, OrgRow } from '../model.ts';
import { lockOne } from '../scope.ts';

export function parseLimit(value: unknown, field: string): bigint | null {
  if (value === null) return null;
  if (typeof value !== 'string')
    throw new AppError('invalid_request', `${field} must be a decimal USD string or null`);
  try {
    return parseUsd(value);
  } catch (error) {
    throw new AppError('invalid_request', `${field}: ${(error as MoneyError).message}`);
  }
}

export interface UsageCreditsInput {
  enabled: boolean;
  monthly_limit_usd?: string | null;
}

export async function setUsageCredits(
  ctx: AppContext,
  accountId: string,
  input: UsageCreditsInput,
): Promise<AccountRow> {
  if (typeof input.enabled !== 'boolean') throw new AppError('invalid_request', 'enabled must be a boolean');
  const limit =
    input.monthly_limit_usd === undefined
      ? undefined
      : parseLimit(input.monthly_limit_usd, 'monthly_limit_usd');
  return ctx.store.transaction(async (tx) => {
    const { scope, agg } = await lockOne(ctx, tx, accountId);
    if (agg.account.kind === 'api')
      throw new AppError('not_eligible', 'API accounts are pay-as-you-go; usage credits do not apply');
    agg.account.ucEnabled = input.enabled;
    if (limit !== undefined) agg.account.ucMonthlyLimitUnits = limit;
    scope.book.touchAccount(agg.account);
    await scope.book.flush(tx);
    return agg.account;
  });
}

export interface OrgUsageCreditsInput {
  enabled: boolean;
  monthly_limit_usd?: string | null;
  seat_tier_limits_usd?: Record<string, string | null>;
  member_limits_usd?: Record<string, string | null>;
}

export async function setOrgUsageCredits(
  ctx: AppContext,
  orgId: string,
  input: OrgUsageCreditsInput,
): Promise<OrgRow> {
  if (typeof input.enabled !== 'boolean') throw new AppError('invalid_request', 'enabled must be a boolean');
  const limit =
    input.monthly_limit_usd === undefined
      ? undefined
      : parseLimit(input.monthly_limit_usd, 'monthly_limit_usd');
  const seatLimits = new Map<string, bigint | null>();
  for (const [seat, value] of Object.entries(input.seat_tier_limits_usd ?? {})) {
    if (!isSeatPlan(seat)) throw new AppError('invalid_request', `${seat} is not a seat plan`);
    seatLimits.set(seat, parseLimit(value, `seat_tier_limits_usd.${seat}`));
  }
  const memberLimits = new Map<string, bigint | null>();
  for (const [member, value] of Object.entries(input.member_limits_usd ?? {})) {
    memberLimits.set(member, parseLimit(value, `member_limits_usd.${member}`));
  }
  return ctx.store.transaction(async (tx) => {
    const org = await tx.getOrg(orgId);
    if (!org) throw new AppError('not_found', `no org ${orgId}`);
    org.ucEnabled = input.enabled;
    if (limit !== undefined) org.ucMonthlyLimitUnits = limit;
    const seats = { ...org.seatTierLimitsUnits };
    for (const [seat, value] of seatLimits) {
      if (value === null) delete seats[seat];
      else seats[seat] = value;
    }
    org.seatTierLimitsUnits = seats;
    await tx.saveOrg(org);
    for (const [memberId, value] of [...memberLimits].sort(([a], [b]) => (a < b ? -1 : 1))) {
      // One answer for "no such account" and "someone else's account": an org admin never learns
      // that an account outside its org exists.
      const peek = await tx.getAccount(memberId);
      if (!peek || peek.account.orgNo !== org.no) {
        throw new AppError('not_found', `no member ${memberId} in ${orgId}`);
      }
      const { scope, agg } = await lockOne(ctx, tx, memberId);
      if (agg.account.orgNo !== org.no) throw new AppError('not_found', `no member ${memberId} in ${orgId}`);
      agg.account.memberLimitUnits = value;
      scope.book.touchAccount(agg.account);
      await scope.book.flush(tx);
    }
    return org;
  });
}
