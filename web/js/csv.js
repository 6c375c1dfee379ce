// The CSV export of a cycle's entries: every field as the API sent it (amounts stay exact decimal
// strings), RFC 4180 quoting, and text fields that a spreadsheet would run as a formula (`=`, `+`,
// `-`, `@`, tab, CR) prefixed with `'`. App, model and surface names come from usage records, so a
// hostile one must not become a formula; amounts are the API's numbers and are left alone.

export const entryColumns = [
  'id',
  'seq',
  'at',
  'kind',
  'pool',
  'amount_usd',
  'ref',
  'corrects',
  'cycle_start',
  'surface',
  'app',
  'model',
  'note',
];

/** Columns whose values are the API's own (numbers, instants, enums, amounts): never neutralised. */
const trusted = new Set(['seq', 'at', 'kind', 'pool', 'amount_usd', 'corrects', 'cycle_start', 'id']);

/**
 * @param {unknown} value
 * @param {boolean} neutralise
 */
function cell(value, neutralise) {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (neutralise && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * @param {Record<string, unknown>[]} entries
 * @returns {string} CSV with a header line, CRLF line ends
 */
export function entriesCsv(entries) {
  const lines = [entryColumns.join(',')];
  for (const entry of entries) {
    lines.push(entryColumns.map((column) => cell(entry[column], !trusted.has(column))).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
