// The burn-down of one cycle, from its journal entries (GET …/entries?cycle_start=): the Agent SDK
// credit left and the usage-credit spend over time, and a forecast at the recent burn rate. Pure
// functions of the API's figures; every sum is exact (BigInt units), and the forecast's rate and
// run-out instant are integer arithmetic too. Only the chart turns units into float coordinates.
import { parseUsd } from './money.js';

export const msPerDay = 86_400_000;
/** The burn rate is measured over the last 7 days (or the part of the cycle before now, if shorter). */
export const forecastWindowMs = 7 * msPerDay;
/** With less history than this, a rate says nothing about the rest of the cycle: no forecast. */
export const forecastHistoryMinMs = 12 * 3_600_000;

/**
 * @typedef {{ seq: number, at: string, kind: string, pool: string, amount_usd: string }} Entry
 * @typedef {{ t: number, credit: bigint, usageCredits: bigint }} BurnPoint
 */

/**
 * The cumulative lines: after each instant with an entry, the credit left (the sum of the
 * `sdk_credit` legs: grants add, usage and the expiry at the close take away) and the usage
 * credits spent (the sum of the `usage_credits` legs). Starts at the cycle start with nothing.
 * @param {Entry[]} entries
 * @param {number} startMs the cycle's start
 * @returns {BurnPoint[]}
 */
export function burnSeries(entries, startMs) {
  /** @type {BurnPoint[]} */
  const points = [{ t: startMs, credit: 0n, usageCredits: 0n }];
  const sorted = [...entries].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.seq - b.seq);
  let credit = 0n;
  let usageCredits = 0n;
  for (const entry of sorted) {
    if (entry.pool === 'sdk_credit') credit += parseUsd(entry.amount_usd);
    else if (entry.pool === 'usage_credits') usageCredits += parseUsd(entry.amount_usd);
    else continue;
    const t = Math.max(Date.parse(entry.at), startMs);
    const last = points[points.length - 1];
    if (last.t === t) {
      last.credit = credit;
      last.usageCredits = usageCredits;
    } else {
      points.push({ t, credit, usageCredits });
    }
  }
  return points;
}

/**
 * @typedef {{ status: 'exhausted' | 'too_early' | 'idle' } |
 *   { status: 'runs_out' | 'lasts', fromMs: number, ratePerDayUnits: bigint, runOutMs: number,
 *     endMs: number, leftAtEndUnits: bigint }} Forecast
 */

/**
 * The forecast at the recent burn rate: what the credit was spent at over the last 7 days (usage
 * and its corrections; not grants, not the expiry), projected from `remainingUnits` at `nowMs`.
 * `runs_out`: the credit is gone at `runOutMs`, before the cycle ends; `lasts`: at the cycle's end
 * about `leftAtEndUnits` is left, and expires (R8).
 * @param {Entry[]} entries the current cycle's entries
 * @param {{ nowMs: number, startMs: number, endMs: number, remainingUnits: bigint, windowMs?: number }} at
 * @returns {Forecast}
 */
export function forecast(entries, { nowMs, startMs, endMs, remainingUnits, windowMs = forecastWindowMs }) {
  if (remainingUnits <= 0n) return { status: 'exhausted' };
  const fromMs = Math.max(startMs, nowMs - windowMs);
  const spanMs = nowMs - fromMs;
  if (spanMs < forecastHistoryMinMs) return { status: 'too_early' };
  let consumed = 0n;
  for (const entry of entries) {
    if (entry.pool !== 'sdk_credit' || entry.kind === 'grant' || entry.kind === 'expire') continue;
    const t = Date.parse(entry.at);
    if (t >= fromMs && t <= nowMs) consumed -= parseUsd(entry.amount_usd);
  }
  if (consumed <= 0n) return { status: 'idle' };
  const span = BigInt(spanMs);
  const ratePerDayUnits = (consumed * BigInt(msPerDay)) / span;
  const runOutMs = nowMs + Number((remainingUnits * span) / consumed);
  if (runOutMs < endMs) {
    return { status: 'runs_out', fromMs, ratePerDayUnits, runOutMs, endMs: runOutMs, leftAtEndUnits: 0n };
  }
  const leftAtEndUnits = remainingUnits - (consumed * BigInt(endMs - nowMs)) / span;
  return { status: 'lasts', fromMs, ratePerDayUnits, runOutMs, endMs, leftAtEndUnits };
}
