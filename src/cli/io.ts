/**
 * What a CLI command may touch: output streams, stdin, the environment and the clock, passed in
 * so a command runs the same under a test as in a terminal. Commands return an exit code.
 */
import type { Instant } from '../core/time.ts';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of stdin as UTF-8, refused above `bytesMax`. */
  readStdin(bytesMax: number): Promise<string>;
  env: NodeJS.ProcessEnv;
  /** The CLI may read the clock (core may not): the default for `--at`. */
  now(): Instant;
}

export interface CliCommand {
  name: string;
  /** One line, shown in the top-level help. */
  summary: string;
  /** The command's full help text (`creditpool <name> --help`). */
  usage: string;
  run(argv: string[], io: CliIo): Promise<number>;
}

/** Exit codes: 0 done, 1 the input was refused, 2 the command line was wrong. */
export const exitOk = 0;
export const exitRefused = 1;
export const exitUsage = 2;

/**
 * The real process's streams, environment and clock.
 *
 * @example
 * process.exitCode = await main(process.argv.slice(2), processIo());
 */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: async (bytesMax) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const chunk of process.stdin) {
        bytes += (chunk as Buffer).length;
        if (bytes > bytesMax) throw new Error(`stdin is larger than ${bytesMax} bytes`);
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
    now: () => Date.now(),
  };
}
