/**
 * Subscription prices for the plan advisor. The plan catalogue (`core/plans.ts`) holds what the
 * policy needs (credit, limits) and deliberately no prices: a subscription's price is not part of
 * the credit policy. To say which plan is cheapest for a history, replay needs one, so these are
 * **documented assumptions** (Claude's published monthly list prices, monthly billing, before tax,
 * late 2026), not engine data:
 *
 * | plan                 | USD per month | note                                                    |
 * | -------------------- | ------------- | ------------------------------------------------------- |
 * | `pro`                | 20            |                                                         |
 * | `max_5x`             | 100           |                                                         |
 * | `max_20x`            | 200           |                                                         |
 * | `team_standard`      | 25 per seat   | one seat priced; Team's minimum seat count is ignored    |
 * | `team_premium`       | 150 per seat  | one seat priced; Team's minimum seat count is ignored    |
 * | `enterprise_usage`   | unknown       | negotiated: replayed and shown, never ranked             |
 * | `enterprise_premium` | unknown       | negotiated: replayed and shown, never ranked             |
 *
 * A plan's total for a history is its price × the billing cycles the history spans, plus the
 * usage credits billed (rounded to the cent per statement, R17).
 */
import { usd } from '../core/money.ts';

/** The plans `--plan all` replays, in the order reports list them. */
export const replayPlans = [
  'pro',
  'max_5x',
  'max_20x',
  'team_standard',
  'team_premium',
  'enterprise_usage',
  'enterprise_premium',
] as const;

export type ReplayPlan = (typeof replayPlans)[number];

/** USD per month (per seat for `team_*`) as units; null = not published. */
export const monthlyPriceUnits: Readonly<Record<ReplayPlan, bigint | null>> = Object.freeze({
  pro: usd(20),
  max_5x: usd(100),
  max_20x: usd(200),
  team_standard: usd(25),
  team_premium: usd(150),
  enterprise_usage: null,
  enterprise_premium: null,
});

export function isReplayPlan(value: string): value is ReplayPlan {
  return (replayPlans as readonly string[]).includes(value);
}
