/**
 * Runs the real CLI as child processes for tests: one-shot commands with `cli()`, the server with
 * `startServer()`. Every child uses the test runner's Node (`process.execPath`), only 127.0.0.1,
 * a temp directory the test removes, and a time bound; `stop()` kills only the pid it started.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const mainPath = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A one-shot command that runs longer than this is stuck. */
const cliTimeoutMs = 30_000;
/** How long a server may take to print its listening line. */
const startTimeoutMs = 30_000;

/**
 * An environment without the variables that would point a child at a real database, server or
 * token (a developer's shell may have them set).
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of [
    'CREDITPOOL_DB',
    'DATABASE_URL',
    'CREDITPOOL_ADMIN_TOKEN',
    'CREDITPOOL_URL',
    'CREDITPOOL_TOKEN',
    'CREDITPOOL_PRICES',
    'HOST',
    'PORT',
    'LOG_LEVEL',
  ]) {
    delete env[name];
  }
  return { ...env, ...extra };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): CliResult {
  const result = spawnSync(process.execPath, [mainPath, ...args], {
    env: cleanEnv(options.env),
    cwd: options.cwd,
    encoding: 'utf8',
    timeout: cliTimeoutMs,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `cli` with `--json`, parsed; fails the test with stderr when the command did not succeed. */
export function cliJson<T = Record<string, unknown>>(
  args: string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): T {
  const r = cli([...args, '--json'], options);
  if (r.code !== 0) throw new Error(`creditpool ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A temp directory and its removal (call `remove` in `after`). */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface RunningServer {
  child: ChildProcess;
  url: string;
  /** Everything the server printed on stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a CLI process (by default `serve --port 0`) and waits for its `listening on <url>` line.
 * `command` replaces the whole argument list after `node` (e.g. `npm start`'s `src/cli/main.ts serve`).
 */
export async function startServer(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; command?: string[] } = {},
): Promise<RunningServer> {
  const argv = options.command ?? [mainPath, 'serve', ...args];
  const child = spawn(process.execPath, argv, {
    env: cleanEnv(options.env),
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    }
    return exited;
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`server did not start in ${startTimeoutMs} ms; stderr: ${err}`));
    }, startTimeoutMs);
    const onData = () => {
      const match = /^listening on (http:\/\/\S+)$/m.exec(out);
      if (match) {
        cleanup();
        resolve(match[1]!);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`server exited (${code}) before listening; stdout: ${out}; stderr: ${err}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  }).catch(async (error: unknown) => {
    await stop(1_000);
    throw error;
  });
  return { child, url, stdout: () => out, stderr: () => err, exited, stop };
}
