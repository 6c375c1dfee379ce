/**
 * The drains-first allocator (R6, R7): a charge is paid from the cycle's credit first, then from
 * usage credits under the lowest applicable headroom, and whatever no source can pay is written
 * off. Pure: the figures come in, the split goes out.
 *
 * @example
 * allocateCharge(5n, 3n, { headroomUnits: 1n, limit: 'usage_credit_limit_reached' })
 * // { creditUnits: 3n, ucUnits: 1n, writtenOffUnits: 1n }
 */
import assert from 'node:assert/strict';

/** Why usage credits cannot pay (R7), in precedence order when headrooms tie. */
export type UsageCreditRefusal =
  | 'org_level_disabled'
  | 'usage_credits_disabled'
  | 'org_limit_reached'
  | 'seat_tier_limit_reached'
  | 'member_limit_reached'
  | 'usage_credit_limit_reached';

export interface UsageCreditLimit {
  /** The refusal when this limit is the binding one. */
  code: UsageCreditRefusal;
  /** What is left under this limit; 0 or less = nothing. */
  headroomUnits: bigint;
}

/** The binding usage-credit headroom: null = unlimited; `limit` names the lowest one. */
export interface UsageCreditHeadroom {
  headroomUnits: bigint | null;
  limit: UsageCreditRefusal | null;
}

export const usageCreditsUnlimited: UsageCreditHeadroom = { headroomUnits: null, limit: null };

/**
 * Lowest headroom wins (R7). `limits` is given in precedence order, so on a tie the earlier limit
 * is named. A disabled switch is a limit with zero headroom.
 */
export function lowestHeadroom(limits: readonly UsageCreditLimit[]): UsageCreditHeadroom {
  let best: UsageCreditLimit | null = null;
  for (const limit of limits) {
    if (best === null || limit.headroomUnits < best.headroomUnits) best = limit;
  }
  if (best === null) return usageCreditsUnlimited;
  return { headroomUnits: best.headroomUnits > 0n ? best.headroomUnits : 0n, limit: best.code };
}

export interface ChargeSplit {
  creditUnits: bigint;
  ucUnits: bigint;
  writtenOffUnits: bigint;
}

/**
 * Splits a charge for usage that already happened (R6): credit, then usage credits, then written
 * off. `creditAvailableUnits` is the credit less other holds; negative means none.
 */
export function allocateCharge(
  costUnits: bigint,
  creditAvailableUnits: bigint,
  usageCredits: UsageCreditHeadroom,
): ChargeSplit {
  assert.ok(costUnits >= 0n, 'allocateCharge: negative cost');
  const creditUnits = clamp(costUnits, creditAvailableUnits);
  const rest = costUnits - creditUnits;
  const ucUnits = usageCredits.headroomUnits === null ? rest : clamp(rest, usageCredits.headroomUnits);
  return { creditUnits, ucUnits, writtenOffUnits: rest - ucUnits };
}

/** min(amount, available), never below zero. */
function clamp(amount: bigint, available: bigint): bigint {
  if (available <= 0n) return 0n;
  return amount < available ? amount : available;
}
