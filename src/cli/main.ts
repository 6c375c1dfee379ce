#!/usr/bin/env node
/**
 * `creditpool <command> [args]`: the dispatcher. Each command lives in `commands/` and is listed
 * in `commands/index.ts`; this file only finds it, prints help, and turns the result into the
 * exit code.
 */
import { enableCompileCache } from 'node:module';
import { type CliCommand, type CliIo, exitOk, exitUsage, processIo } from './io.ts';

// Node's on-disk compile cache (in the temp directory; `NODE_DISABLE_COMPILE_CACHE=1` turns it
// off) keeps the type-stripped and compiled modules between runs: without it, loading the commands
// is most of a short command's time (measured: `--help` 0.59 s without, 0.11–0.19 s with, on the
// shared 2-core machine). It must be on before they load, so they are imported in `main`.
if (import.meta.main) enableCompileCache();

function topUsage(commands: readonly CliCommand[]): string {
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
  const { commands } = await import('./commands/index.ts');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(topUsage(commands));
    return name === undefined ? exitUsage : exitOk;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`creditpool: unknown command ${JSON.stringify(name)}\n\n${topUsage(commands)}`);
    return exitUsage;
  }
  return command.run(rest, io);
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), processIo());
}
