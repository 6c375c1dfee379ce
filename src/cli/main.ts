#!/usr/bin/env node
/**
 * `creditpool <command> [args]`: the dispatcher. Each command lives in `commands/` and is listed
 * in `commands/index.ts`; this file only finds it, prints help, and turns the result into the
 * exit code.
 */
import { commands } from './commands/index.ts';
import { type CliIo, exitOk, exitUsage, processIo } from './io.ts';

function topUsage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: creditpool <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'creditpool <command> --help' for a command's options.",
    '',
  ].join('\n');
}

/**
 * Runs one command line; returns the exit code (0 done, 1 refused, 2 wrong command line).
 *
 * @example
 * await main(['quote', '--model', 'claude-opus-5-5', '{"input_tokens":1,"output_tokens":1}'], processIo());
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(topUsage());
    return name === undefined ? exitUsage : exitOk;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`creditpool: unknown command ${JSON.stringify(name)}\n\n${topUsage()}`);
    return exitUsage;
  }
  return command.run(rest, io);
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), processIo());
}
