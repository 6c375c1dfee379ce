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

/** Formats as `YYYY-MM-DDTHH:MM:SSZ`, with `.sss` only when the milliseconds are not zero. */
export function formatInstant(instant: Instant): string {
  const iso = new Date(instant).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/** Days in a month of the proleptic Gregorian calendar; `month0` is 0-based. */
export function daysInMonth(year: number, month0: number): number {
  return new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();
}
