/** Creates an org (Team, Enterprise): its billing anchor is every member's (R4). */
import { parseInstant } from '../../core/time.ts';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { isResourceId } from '../limits.ts';
import type { OrgRow } from '../model.ts';

export interface CreateOrgInput {
  id: string;
  billing_anchor: string;
}

export async function createOrg(ctx: AppContext, input: CreateOrgInput): Promise<OrgRow> {
  if (!isResourceId(input.id))
    throw new AppError('invalid_request', 'id must match [A-Za-z0-9][A-Za-z0-9._:@-]{0,127}');
  const anchor = parseTime(input.billing_anchor, 'billing_anchor');
  return ctx.store.transaction(async (tx) => {
    if (await tx.getOrg(input.id)) throw new AppError('already_exists', `org ${input.id} exists`);
    return tx.insertOrg({
      id: input.id,
      billingAnchor: anchor,
      createdAt: ctx.clock.now(),
      ucEnabled: true,
      ucMonthlyLimitUnits: null,
      seatTierLimitsUnits: {},
    });
  });
}

export function parseTime(value: unknown, field: string): number {
  if (typeof value !== 'string')
    throw new AppError('invalid_request', `${field} must be an RFC 3339 timestamp`);
  try {
    return parseInstant(value);
  } catch (error) {
    throw new AppError('invalid_request', `${field}: ${(error as Error).message}`);
  }
}
