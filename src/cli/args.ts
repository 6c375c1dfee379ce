/**
 * A thin wrapper over `node:util` parseArgs: strict flags, positionals allowed, and a parse error
 * returned as a message instead of thrown, so every command reports it the same way.
 */
import { parseArgs } from 'node:util';

export type FlagSpec = Record<
  string,
  { type: 'string' | 'boolean'; short?: string; default?: string | boolean }
>;

export type ParsedArgs =
  | { ok: true; values: Record<string, string | boolean | undefined>; positionals: string[] }
  | { ok: false; message: string };

/**
 * Parses `argv` against `flags` (plus `--help`/`-h`, always accepted).
 *
 * @example
 * parseFlags(['--model', 'x', '-'], { model: { type: 'string' } })
 * // { ok: true, values: { model: 'x' }, positionals: ['-'] }
 */
export function parseFlags(argv: string[], flags: FlagSpec): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...flags, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { ok: true, values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}
