/**
 * `creditpool quote`: prices one usage object at API rates without recording it (the CLI twin of
 * `POST /v1/quote`). The catalogue is the default, or the file named by `CREDITPOOL_PRICES`.
 */
import { priceCatalogueFromEnv } from '../../adapters/prices-file.ts';
import { formatUsd } from '../../core/money.ts';
import { type PriceCatalogue, type PriceLine, type PriceResult, price } from '../../core/prices/index.ts';
import { formatInstant, type Instant, parseInstant } from '../../core/time.ts';
import { parseFlags } from '../args.ts';
import { type CliCommand, type CliIo, exitOk, exitRefused, exitUsage } from '../io.ts';

/** Largest usage JSON read from the argument or stdin: a usage object is well under 2 kB. */
export const quoteUsageBytesMax = 1024 * 1024;

const usage = `Usage: creditpool quote --model <id> [--at <RFC 3339>] [--json] <usage-json | ->

Prices one Messages API usage object at API rates, without recording it.

Arguments:
  <usage-json>   the usage object, e.g. '{"input_tokens":1000,"output_tokens":2000}'
  -              read the usage object from stdin

Options:
  --model <id>   model id: dated, alias, [1m] suffix or cloud id (required)
  --at <time>    price at this instant (RFC 3339); default: now
  --json         print one JSON object: {cost_usd, model, at, lines, modifiers}
  -h, --help     show this help

Environment:
  CREDITPOOL_PRICES   a price catalogue file to use instead of the built-in one

Exit codes: 0 priced, 1 the usage or model was refused, 2 wrong command line.
`;

type Priced = Extract<PriceResult, { ok: true }>;

export const quote: CliCommand = {
  name: 'quote',
  summary: 'price one usage object at API rates, without recording it',
  usage,
  async run(argv: string[], io: CliIo): Promise<number> {
    const args = parseFlags(argv, {
      model: { type: 'string' },
      at: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (!args.ok) return usageError(io, args.message);
    if (args.values.help) {
      io.stdout(usage);
      return exitOk;
    }
    const model = args.values.model;
    if (typeof model !== 'string' || model.length === 0) return usageError(io, '--model is required');
    if (args.positionals.length !== 1)
      return usageError(io, 'give exactly one usage JSON argument, or - for stdin');
    let at: Instant;
    try {
      at = typeof args.values.at === 'string' ? parseInstant(args.values.at) : io.now();
    } catch (error) {
      return usageError(io, `--at: ${(error as Error).message}`);
    }

    let text = args.positionals[0]!;
    if (text === '-') {
      try {
        text = await io.readStdin(quoteUsageBytesMax);
      } catch (error) {
        return refuse(io, (error as Error).message);
      }
    } else if (Buffer.byteLength(text) > quoteUsageBytesMax) {
      return refuse(io, `usage JSON is larger than ${quoteUsageBytesMax} bytes`);
    }
    let usageObject: unknown;
    try {
      usageObject = JSON.parse(text);
    } catch (error) {
      return refuse(io, `usage is not JSON: ${(error as Error).message}`);
    }

    let catalogue: PriceCatalogue;
    try {
      catalogue = priceCatalogueFromEnv(io.env);
    } catch (error) {
      return refuse(io, `CREDITPOOL_PRICES: ${(error as Error).message}`);
    }
    const result = price(model, usageObject, at, catalogue);
    if (!result.ok) return refuse(io, `${result.code}: ${result.detail}`);
    io.stdout(
      args.values.json ? `${JSON.stringify(quoteJson(result, at))}\n` : quoteTable(result, model, at),
    );
    return exitOk;
  },
};

/**
 * The `--json` shape; money as exact decimal USD strings.
 *
 * @example
 * quoteJson(priced, at) // { cost_usd: '0.044', model: 'claude-opus-5-5', at: '2026-11-20T10:00:00Z', lines: [...], modifiers: [] }
 */
export function quoteJson(result: Priced, at: Instant) {
  return {
    cost_usd: formatUsd(result.totalUnits),
    model: result.model,
    at: formatInstant(at),
    lines: result.lines.map((line) => ({
      category: line.category,
      quantity: line.quantity,
      unit_price_usd: formatUsd(line.unitPriceUnits),
      amount_usd: formatUsd(line.units),
    })),
    modifiers: result.modifiers,
  };
}

function quoteTable(result: Priced, requested: string, at: Instant): string {
  const rows = result.lines.map((line) => [
    line.category,
    line.quantity.toLocaleString('en-US'),
    rate(line),
    formatUsd(line.units),
  ]);
  const header = ['category', 'quantity', 'rate (USD)', 'amount (USD)'];
  const footer = ['total', '', '', formatUsd(result.totalUnits)];
  const all = [header, ...rows, footer];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const format = (row: string[]) =>
    row
      .map((cell, i) => (i === 1 || i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const model = result.model === requested ? result.model : `${result.model} (from ${requested})`;
  return [
    `model      ${model}`,
    `at         ${formatInstant(at)}`,
    `modifiers  ${result.modifiers.length > 0 ? result.modifiers.join(', ') : 'none'}`,
    '',
    format(header),
    ...rows.map(format),
    format(footer),
    '',
  ].join('\n');
}

/** Per million tokens for token lines (how prices are quoted), per search for web search. */
function rate(line: PriceLine): string {
  return line.category === 'web_search'
    ? `${formatUsd(line.unitPriceUnits)}/search`
    : `${formatUsd(line.unitPriceUnits * 1_000_000n)}/MTok`;
}

function usageError(io: CliIo, message: string): number {
  io.stderr(`creditpool quote: ${message}\nRun 'creditpool quote --help' for usage.\n`);
  return exitUsage;
}

function refuse(io: CliIo, message: string): number {
  io.stderr(`creditpool quote: ${message}\n`);
  return exitRefused;
}
