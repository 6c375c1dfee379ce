// Money on the page (R18): the API sends exact decimal strings in USD; the page shows them exactly,
// and where it must add or compare (org totals, sorting, the cumulative lines of the burn-down) it
// does so in integer units of 1e-12 USD with BigInt, like the server. Floats appear only as chart
// coordinates and bar widths (`toDollars`), never as a figure shown in text.

/** 1 unit = 1e-12 USD, the server's scale. */
export const unitsPerUsd = 10n ** 12n;
const scaleDigits = 12;
const usdPattern = /^(-)?(\d{1,27})(?:\.(\d{1,12}))?$/;

/**
 * An exact USD decimal string ("19.87345", "-0.5", "20") as integer units.
 * @param {string} text
 * @returns {bigint}
 */
export function parseUsd(text) {
  const match = usdPattern.exec(text);
  if (!match) throw new Error(`not an exact USD amount: ${JSON.stringify(text)}`);
  const [, minus, whole, fraction = ''] = match;
  const units = BigInt(whole) * unitsPerUsd + BigInt(fraction.padEnd(scaleDigits, '0'));
  return minus ? -units : units;
}

/**
 * A limit typed by a person ("25", "$1,000.50", " 7.5 ") as the API's decimal string, or null for
 * an empty field (no limit). Throws a message fit to show when the text is not an amount.
 * @param {string} text
 * @returns {string | null}
 */
export function normalizeUsdInput(text) {
  const cleaned = text.trim().replace(/^\$/, '').replaceAll(',', '').trim();
  if (cleaned === '') return null;
  if (!/^\d{1,15}(\.\d{1,12})?$/.test(cleaned)) {
    throw new Error('enter an amount in dollars, like 25 or 12.50 (empty for no limit)');
  }
  return cleaned;
}

/**
 * Units as exact text: "$1,234.50", "$0.044", "-$3.20". At least two decimals, more only when the
 * amount has them; nothing is rounded.
 * @param {bigint} units
 * @returns {string}
 */
export function formatUnits(units) {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const whole = (abs / unitsPerUsd).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  let fraction = (abs % unitsPerUsd).toString().padStart(scaleDigits, '0').replace(/0+$/, '');
  if (fraction.length < 2) fraction = fraction.padEnd(2, '0');
  return `${negative ? '-' : ''}$${whole}.${fraction}`;
}

/**
 * An API amount as exact text: `usd("3.2")` is "$3.20"; null (no limit) is the `none` text.
 * @param {string | null | undefined} text
 * @param {string} [none]
 * @returns {string}
 */
export function usd(text, none = '—') {
  if (text === null || text === undefined) return none;
  return formatUnits(parseUsd(text));
}

/**
 * Units rounded to the cent, half away from zero, marked as approximate: for rates and
 * projections, which are estimates by nature ("≈ $4.52").
 * @param {bigint} units
 * @returns {string}
 */
export function formatApprox(units) {
  const cent = unitsPerUsd / 100n;
  const negative = units < 0n;
  const abs = negative ? -units : units;
  const cents = (abs + cent / 2n) / cent;
  return `≈ ${formatUnits((negative ? -cents : cents) * cent)}`;
}

/**
 * The exact sum of API amounts, in units.
 * @param {Iterable<string>} texts
 * @returns {bigint}
 */
export function sumUsd(texts) {
  let total = 0n;
  for (const text of texts) total += parseUsd(text);
  return total;
}

/**
 * Dollars as a float: chart coordinates and bar widths only, never shown as a figure.
 * @param {bigint} units
 * @returns {number}
 */
export function toDollars(units) {
  return Number(units) / 1e12;
}

/**
 * Ordering of API amounts, exact: for sorting tables.
 * @param {string | null} a
 * @param {string | null} b
 * @returns {number}
 */
export function compareUsd(a, b) {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  const x = parseUsd(a);
  const y = parseUsd(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
