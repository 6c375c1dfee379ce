/**
 * Billing cycles (R4). Cycle k of an account is `[anchor + k months, anchor + k+1 months)`,
 * half-open, in UTC, with the anchor's day clamped to the target month's last day and the
 * anchor's UTC time of day kept.
 *
 * Every boundary is computed from the anchor, never from the previous boundary: stepping
 * month by month would let one clamp stick (31 Jan → 28 Feb → 28 Mar …). From the anchor,
 * an anchor on the 31st gives Feb 28 (Feb 29 in a leap year) and then the 31st again.
 *
 * The calendar arithmetic is integer-only (days ↔ civil dates, after Howard Hinnant's
 * `days_from_civil`), so `cycleAt` is O(1): the month difference is computed directly and then
 * corrected by at most one cycle. It does not go through `Date`, whose `Date.UTC` maps years
 * 0–99 to 1900–1999.
 *
 * @example
 * const anchor = parseInstant('2026-01-31T10:00:00Z');
 * formatInstant(cycleStart(anchor, 1)); // '2026-02-28T10:00:00Z'
 * formatInstant(cycleStart(anchor, 2)); // '2026-03-31T10:00:00Z'
 * cycleAt(anchor, parseInstant('2026-03-01T00:00:00Z')).index; // 1
 */
import { type Instant, msPerDay } from './time.ts';

export interface Cycle {
  index: number;
  start: Instant;
  /** Exclusive: the next cycle's start. */
  end: Instant;
}

/**
 * Bound on |index|: the months spanned by the whole range of instants (`Date`'s ±8.64e15 ms,
 * about ±273,790 years). Beyond it no instant exists, so going over it is a bug in the caller.
 */
export const cycleIndexAbsMax = 12 * 550_000;

/**
 * The start of cycle `index` for `anchor`: anchor + index months, the day clamped to the
 * month's end, the same UTC time of day. `index` may be negative (cycles before the anchor).
 *
 * @example
 * cycleStart(Date.UTC(2027, 11, 31, 9), 2) === Date.UTC(2028, 1, 29, 9); // leap-year February
 * cycleStart(Date.UTC(2026, 2, 31), -1) === Date.UTC(2026, 1, 28);
 */
export function cycleStart(anchor: Instant, index: number): Instant {
  checkInstant(anchor, 'anchor');
  if (!Number.isSafeInteger(index) || Math.abs(index) > cycleIndexAbsMax) {
    throw new RangeError(`cycle index must be an integer within ±${cycleIndexAbsMax}: ${index}`);
  }
  const start = startFromParts(splitInstant(anchor), index);
  if (Math.abs(start) > instantAbsMax)
    throw new RangeError(`cycle ${index} of ${anchor} starts outside the instant range`);
  return start;
}

/**
 * The unique cycle with `start <= at < end`. Instants before the anchor lie in negative cycles.
 *
 * @example
 * const anchor = Date.UTC(2026, 6, 3, 10);
 * cycleAt(anchor, Date.UTC(2026, 10, 20)); // { index: 4, start: Nov 3 10:00, end: Dec 3 10:00 }
 * cycleAt(anchor, anchor - 1).index; // -1
 */
export function cycleAt(anchor: Instant, at: Instant): Cycle {
  checkInstant(anchor, 'anchor');
  checkInstant(at, 'at');
  const a = splitInstant(anchor);
  const t = splitInstant(at);
  // Cycle `months` starts inside at's month; if that start is still ahead of `at`, the
  // previous cycle (which starts in the previous month, so before `at`) is the one.
  let index = t.year * 12 + t.month0 - (a.year * 12 + a.month0);
  let start = startFromParts(a, index);
  if (start > at) {
    index -= 1;
    start = startFromParts(a, index);
  }
  const end = startFromParts(a, index + 1);
  if (!(start <= at && at < end)) throw new Error(`cycleAt: ${at} not in [${start}, ${end}) — a bug`);
  return { index, start, end };
}

/**
 * Cycle `index` of `anchor`, with its exclusive end (the start of cycle `index + 1`).
 *
 * @example
 * cycleByIndex(Date.UTC(2026, 0, 31), 1); // { index: 1, start: Feb 28, end: Mar 31 }
 */
export function cycleByIndex(anchor: Instant, index: number): Cycle {
  return { index, start: cycleStart(anchor, index), end: cycleStart(anchor, index + 1) };
}

// ---------------------------------------------------------------------------------------------
// Integer calendar (proleptic Gregorian, UTC).

interface InstantParts {
  year: number;
  /** 0-based month. */
  month0: number;
  /** 1-based day of month. */
  day: number;
  /** Milliseconds since midnight UTC. */
  timeOfDayMs: number;
}

/** The range `Date` accepts (±1e8 days); outside it an instant is not a time but a bug. */
const instantAbsMax = 8.64e15;

function checkInstant(value: Instant, name: string): void {
  if (!Number.isSafeInteger(value) || Math.abs(value) > instantAbsMax) {
    throw new RangeError(`${name} must be an integer instant in milliseconds: ${value}`);
  }
}

function startFromParts(anchor: InstantParts, index: number): Instant {
  const months = anchor.year * 12 + anchor.month0 + index;
  const year = Math.floor(months / 12);
  const month0 = months - year * 12;
  const day = Math.min(anchor.day, daysInMonthOf(year, month0));
  return daysFromCivil(year, month0 + 1, day) * msPerDay + anchor.timeOfDayMs;
}

function splitInstant(instant: Instant): InstantParts {
  const days = Math.floor(instant / msPerDay);
  const { year, month, day } = civilFromDays(days);
  return { year, month0: month - 1, day, timeOfDayMs: instant - days * msPerDay };
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonthOf(year: number, month0: number): number {
  return month0 === 1 && isLeapYear(year) ? 29 : monthDays[month0]!;
}

/** Days since 1970-01-01 of a civil date (month 1-based). Hinnant, `days_from_civil`. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400; // [0, 399]
  const mp = month > 2 ? month - 3 : month + 9; // March = 0
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1; // [0, 365]
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy; // [0, 146096]
  return era * 146097 + doe - 719468;
}

/** The civil date (month 1-based) of a day count since 1970-01-01. Hinnant, `civil_from_days`. */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097; // [0, 146096]
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100)); // [0, 365]
  const mp = Math.floor((5 * doy + 2) / 153); // [0, 11], March = 0
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}
