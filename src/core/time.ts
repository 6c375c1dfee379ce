/**
 * Instants are integer milliseconds since the Unix epoch, in UTC. The core never reads a clock:
 * every instant comes in as an argument. At the edges, instants are RFC 3339 strings.
 *
 * @example
 * parseInstant('2026-11-20T10:00:14Z') // 1795168814000
 * formatInstant(1795168814000) // '2026-11-20T10:00:14Z'
 */
export type Instant = number;

export const msPerSecond = 1000;
export const msPerMinute = 60 * msPerSecond;
export const msPerHour = 60 * msPerMinute;
export const msPerDay = 24 * msPerHour;

export class TimeError extends Error {
  readonly code = 'invalid_time';
  constructor(message: string) {
    super(message);
    this.name = 'TimeError';
  }
}

/** RFC 3339 date-time: a full date, a time with optional fraction, and `Z` or a numeric offset. */
const rfc3339Pattern =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
/** Instants outside 1970..9999 are refused: no billing record lives there. */
const instantMax = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Parses an RFC 3339 timestamp strictly (no bare dates, no local times, real calendar days).
 * Sub-millisecond digits are truncated toward the past, as a clock would read them.
 */
export function parseInstant(text: string): Instant {
  // The form every gateway sends (`…T…Z`, optional fraction) without the regex; anything else,
  // and every refusal, takes the general path below, which gives the errors.
  const fast = typeof text === 'string' ? parseUtcInstant(text) : undefined;
  if (fast !== undefined) return fast;
  return parseInstantGeneral(text);
}

/** The general parser: every RFC 3339 form, and the error messages. Exported for tests. */
export function parseInstantGeneral(text: string): Instant {
  if (typeof text !== 'string' || text.length > 40)
    throw new TimeError('timestamp must be an RFC 3339 string');
  const match = rfc3339Pattern.exec(text);
  if (!match) throw new TimeError(`not an RFC 3339 timestamp: ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, fraction, zone] = match as unknown as string[];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month - 1)) {
    throw new TimeError(`not a calendar date: ${text}`);
  }
  if (hour > 23 || minute > 59 || second > 59) throw new TimeError(`not a time of day: ${text}`);
  // Date.UTC reads years 0..99 as 1900..1999: refuse them here, they are out of range anyway.
  if (year < 1970) throw new TimeError(`timestamp out of range: ${text}`);
  const ms = fraction ? Number(fraction.slice(1, 4).padEnd(3, '0')) : 0;
  let offsetMinutes = 0;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) throw new TimeError(`not a UTC offset: ${text}`);
    offsetMinutes = sign * (oh * 60 + om);
  }
  const instant = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * msPerMinute;
  if (instant < 0 || instant > instantMax) throw new TimeError(`timestamp out of range: ${text}`);
  return instant;
}

/** The decimal value of `count` ASCII digits at `from`, or -1 if any is not a digit. */
function digitsAt(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.fraction]Z` in UTC, or undefined for any other form or any doubt (the
 * general parser then decides, and explains a refusal). Same results as the general parser.
 */
function parseUtcInstant(text: string): Instant | undefined {
  const n = text.length;
  if (n < 20 || n > 30) return undefined;
  const last = text.charCodeAt(n - 1);
  const t = text.charCodeAt(10);
  if (
    (last !== 90 && last !== 122) || // Z z
    (t !== 84 && t !== 116) || // T t
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  )
    return undefined;
  let ms = 0;
  if (n > 20) {
    // A fraction of 1 to 9 digits; milliseconds are its first three, truncated.
    if (text.charCodeAt(19) !== 46 || n - 21 < 1 || n - 21 > 9) return undefined;
    const fraction = digitsAt(text, 20, n - 21);
    if (fraction < 0) return undefined;
    const width = Math.min(3, n - 21);
    ms = digitsAt(text, 20, width) * (width === 1 ? 100 : width === 2 ? 10 : 1);
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month - 1))
    return undefined;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

/** Formats as `YYYY-MM-DDTHH:MM:SSZ`, with `.sss` only when the milliseconds are not zero. */
export function formatInstant(instant: Instant): string {
  const iso = new Date(instant).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** Days in a month of the proleptic Gregorian calendar; `month0` is 0-based. */
export function daysInMonth(year: number, month0: number): number {
  if (month0 !== 1) return monthDays[month0]!;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
