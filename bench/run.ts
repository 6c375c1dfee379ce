/**
 * Runs benchmarks by name and rewrites BENCHMARKS.md.
 *
 *   node bench/run.ts            every benchmark (each folder of bench/ with a main.ts)
 *   node bench/run.ts price      only `bench/price/main.ts`; the other sections are kept
 *
 * Each benchmark runs as its own child process (same Node as this one) and prints ONE JSON line on
 * stdout (`BenchReport`); its stderr passes through for progress. Every report is kept in
 * `bench/results.json` (the machine-readable copy), and BENCHMARKS.md is rendered from that file,
 * so re-running one benchmark replaces only its own section.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  label: string;
  value: number;
  unit: string;
  baseline_label: string;
  baseline_value: number;
  ratio: number;
  goal: string;
  met: boolean;
}

export interface BenchReport {
  name: string;
  title: string;
  command: string;
  results: BenchResult[];
  notes: string[];
}

export interface Machine {
  cpu: string;
  cores: number;
  memory_gib: number;
  node: string;
}

export interface StoredReport extends BenchReport {
  measured_at: string;
  machine: Machine;
}

export interface ResultsFile {
  benchmarks: Record<string, StoredReport>;
}

const benchDir = dirname(fileURLToPath(import.meta.url));
const rootDir = dirname(benchDir);
const resultsPath = join(benchDir, 'results.json');
const markdownPath = join(rootDir, 'BENCHMARKS.md');
/**
 * A benchmark that runs longer than this is stuck, not slow. The soak is the long one: 10 minutes
 * per store (`SOAK_SECONDS`), two stores, plus setup and the ledger check.
 */
const benchTimeoutMs = 30 * 60 * 1000;

export function machine(): Machine {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) cpu = match[1]!.trim();
  } catch {
    // Not Linux: os.cpus() already named it.
  }
  return {
    cpu,
    cores: cpus().length,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
  };
}

function available(): string[] {
  return readdirSync(benchDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(benchDir, entry.name, 'main.ts')))
    .map((entry) => entry.name)
    .sort();
}

function readResults(): ResultsFile {
  if (!existsSync(resultsPath)) return { benchmarks: {} };
  return JSON.parse(readFileSync(resultsPath, 'utf8')) as ResultsFile;
}

function isReport(value: unknown): value is BenchReport {
  const r = value as BenchReport;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.name === 'string' &&
    typeof r.title === 'string' &&
    typeof r.command === 'string' &&
    Array.isArray(r.results) &&
    Array.isArray(r.notes)
  );
}

function runOne(name: string): BenchReport {
  const child = spawnSync(process.execPath, [join(benchDir, name, 'main.ts')], {
    cwd: rootDir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: benchTimeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`bench ${name} exited with ${child.status ?? child.signal}`);
  const lines = child.stdout.split('\n').filter((line) => line.trim().length > 0);
  if (lines.length !== 1) throw new Error(`bench ${name} must print one JSON line, printed ${lines.length}`);
  const report: unknown = JSON.parse(lines[0]!);
  if (!isReport(report) || report.name !== name) throw new Error(`bench ${name} printed a malformed report`);
  return report;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function render(results: ResultsFile, latest: Machine, date: string): string {
  const out = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (`bench/run.ts`); run one with `npm run bench -- <name>`. Every figure is',
    'a ratio against a baseline measured in the same process, in the same run: these machines are',
    'noisy, absolute rates drift. The machine-readable copy is `bench/results.json`.',
    '',
    `Last run: ${date} on ${latest.cpu}, ${latest.cores} cores, ${latest.memory_gib} GiB, Node ${latest.node}.`,
    '',
  ];
  for (const name of Object.keys(results.benchmarks).sort()) {
    const r = results.benchmarks[name]!;
    out.push(`## ${r.name}: ${r.title}`, '');
    out.push(
      `\`${r.command}\` · measured ${r.measured_at} · ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}`,
      '',
    );
    out.push(
      '| measure | value | baseline | baseline value | ratio | goal | met |',
      '|---|---:|---|---:|---:|---|---|',
    );
    for (const x of r.results) {
      out.push(
        `| ${x.label} | ${formatNumber(x.value)} ${x.unit} | ${x.baseline_label} | ${formatNumber(x.baseline_value)} ${x.unit} | ${formatNumber(x.ratio)} | ${x.goal} | ${x.met ? 'yes' : '**no**'} |`,
      );
    }
    if (r.notes.length > 0) out.push('', ...r.notes.map((note) => `- ${note}`));
    out.push('');
  }
  return out.join('\n');
}

async function mainRun(argv: string[]): Promise<number> {
  const known = available();
  const names = argv.length > 0 ? argv : known;
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; available: ${known.join(', ')}\n`);
    return 2;
  }
  const results = readResults();
  const here = machine();
  let failed = 0;
  for (const name of names) {
    process.stderr.write(`bench ${name}…\n`);
    try {
      const report = runOne(name);
      results.benchmarks[name] = { ...report, measured_at: new Date().toISOString(), machine: here };
      // Written after each benchmark, so a later failure keeps the figures already measured.
      writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
      writeFileSync(markdownPath, render(results, here, new Date().toISOString()));
      for (const x of report.results) {
        process.stderr.write(
          `  ${x.label}: ${formatNumber(x.value)} ${x.unit}; ${x.baseline_label}: ${formatNumber(x.baseline_value)}; ratio ${formatNumber(x.ratio)} (${x.goal}: ${x.met ? 'met' : 'NOT met'})\n`,
        );
      }
    } catch (error) {
      failed += 1;
      process.stderr.write(`  failed: ${(error as Error).message}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

if (import.meta.main) process.exitCode = await mainRun(process.argv.slice(2));
