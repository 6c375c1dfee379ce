/**
 * Replay throughput on a large generated transcript corpus, against `ccusage daily --offline
 * --json` on the same corpus in the same run (issue 6). Goal: `creditpool replay --plan all` is
 * faster than ccusage (ratio > 1).
 *
 * The corpus: `scripts/gen-transcripts.ts`, seed 1, ~400,000 lines (~1 GB, ~3,150 files), written
 * into a temp directory and deleted afterwards. Both tools run as child processes (process start
 * included, output parsed), alternating, after one untimed run of each that warms the page cache;
 * medians of `rounds` runs. A phase breakdown (reading vs each plan's engine) comes from one more,
 * in-process run.
 *
 * Run: `node bench/run.ts replay` (or `node bench/replay/main.ts [lines] [rounds]` for one JSON line).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ccusageCli } from '../../scripts/compare-ccusage.ts';
import { generateCorpus } from '../../scripts/gen-transcripts.ts';
import { defaultCatalogues } from '../../src/app/index.ts';
import { replayPlans } from '../../src/replay/plan-prices.ts';
import { runReplay } from '../../src/replay/replay.ts';

const lines = Number(process.argv[2] ?? 400_000);
const rounds = Number(process.argv[3] ?? 3);
const rootDir = fileURLToPath(new URL('../..', import.meta.url));
const mainPath = join(rootDir, 'src', 'cli', 'main.ts');
/** One run longer than this is stuck. */
const runTimeoutMs = 10 * 60_000;

function log(text: string): void {
  process.stderr.write(`  ${text}\n`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Run {
  seconds: number;
  stdout: string;
}

function run(command: string[], env: NodeJS.ProcessEnv): Run {
  const started = performance.now();
  const child = spawnSync(process.execPath, command, {
    cwd: rootDir,
    env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: runTimeoutMs,
  });
  const seconds = (performance.now() - started) / 1000;
  if (child.status !== 0) {
    throw new Error(
      `${command.join(' ')} exited ${child.status ?? child.signal}: ${child.stderr.slice(0, 2000)}`,
    );
  }
  return { seconds, stdout: child.stdout };
}

const dir = mkdtempSync(join(tmpdir(), 'creditpool-bench-replay-'));
try {
  const config = join(dir, 'claude');
  const home = join(dir, 'home');
  const generated = performance.now();
  const manifest = generateCorpus({ out: join(config, 'projects'), lines, seed: 1 });
  log(
    `corpus: ${manifest.linesWritten} lines, ${(manifest.bytes / 1e9).toFixed(2)} GB, ${manifest.files} files, ${manifest.records} responses (${((performance.now() - generated) / 1000).toFixed(1)} s)`,
  );
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    CLAUDE_CONFIG_DIR: config,
    TZ: 'UTC',
    NO_COLOR: '1',
  };
  const replayCommand = [mainPath, 'replay', join(config, 'projects'), '--plan', 'all', '--json'];
  const oneCommand = [mainPath, 'replay', join(config, 'projects'), '--plan', 'pro', '--json'];
  const ccusageCommand = [ccusageCli, 'daily', '--offline', '--json', '--timezone', 'UTC'];

  // Untimed: page cache warm for both, and both outputs checked once.
  const replayOut = JSON.parse(run(replayCommand, env).stdout) as {
    records: { programmatic: number; interactive: number; rejected: number; duplicates: number };
  };
  const booked = replayOut.records.programmatic + replayOut.records.interactive;
  if (booked !== manifest.records)
    throw new Error(`replay booked ${booked} records, the corpus has ${manifest.records}`);
  const ccusageOut = JSON.parse(run(ccusageCommand, env).stdout) as { daily: unknown[] };
  log(`warm-up: replay booked ${booked} records per plan; ccusage reported ${ccusageOut.daily.length} days`);

  const replaySeconds: number[] = [];
  const ccusageSeconds: number[] = [];
  const oneSeconds: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    // Alternate the order so drift (neighbours, thermal) hits both alike.
    const pair =
      round % 2 === 0
        ? [run(replayCommand, env).seconds, run(ccusageCommand, env).seconds]
        : [run(ccusageCommand, env).seconds, run(replayCommand, env).seconds].reverse();
    replaySeconds.push(pair[0]!);
    ccusageSeconds.push(pair[1]!);
    oneSeconds.push(run(oneCommand, env).seconds);
    log(
      `round ${round + 1}/${rounds}: replay --plan all ${pair[0]!.toFixed(2)} s, ccusage ${pair[1]!.toFixed(2)} s, replay --plan pro ${oneSeconds[round]!.toFixed(2)} s`,
    );
  }

  // Where replay's time goes: one in-process run, timed by phase.
  const phases: Record<string, number> = {};
  let phaseStart = performance.now();
  let current = 'read';
  await runReplay([join(config, 'projects')], {
    plans: replayPlans,
    usageCredits: true,
    usageCreditLimitUnits: null,
    anchor: null,
    claimedAt: null,
    since: null,
    until: null,
    catalogues: defaultCatalogues,
    progress: {
      reading: () => {},
      booking: (plan) => {
        if (plan === current) return;
        const now = performance.now();
        phases[current] = now - phaseStart;
        phaseStart = now;
        current = plan;
      },
      done: () => {
        phases[current] = performance.now() - phaseStart;
      },
    },
  });
  const phaseText = Object.entries(phases)
    .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(2)} s`)
    .join(', ');
  log(`phases: ${phaseText}`);

  const replayS = median(replaySeconds);
  const ccusageS = median(ccusageSeconds);
  const oneS = median(oneSeconds);
  const mb = manifest.bytes / 1e6;
  const report = {
    name: 'replay',
    title: 'creditpool replay --plan all against ccusage daily --offline on the same transcripts',
    command: 'node bench/run.ts replay',
    results: [
      {
        label: 'replay --plan all (7 engines), lines',
        value: manifest.linesWritten / replayS,
        unit: 'lines/s',
        baseline_label: 'ccusage daily --offline --json',
        baseline_value: manifest.linesWritten / ccusageS,
        ratio: ccusageS / replayS,
        goal: 'faster than ccusage (ratio > 1)',
        met: replayS < ccusageS,
      },
      {
        label: 'replay --plan all (7 engines), bytes',
        value: mb / replayS,
        unit: 'MB/s',
        baseline_label: 'ccusage daily --offline --json',
        baseline_value: mb / ccusageS,
        ratio: ccusageS / replayS,
        goal: 'faster than ccusage (ratio > 1)',
        met: replayS < ccusageS,
      },
      {
        label: 'replay --plan pro (1 engine), lines',
        value: manifest.linesWritten / oneS,
        unit: 'lines/s',
        baseline_label: 'ccusage daily --offline --json',
        baseline_value: manifest.linesWritten / ccusageS,
        ratio: ccusageS / oneS,
        goal: 'faster than ccusage (ratio > 1)',
        met: oneS < ccusageS,
      },
    ],
    notes: [
      `Corpus: scripts/gen-transcripts.ts seed 1, ${manifest.linesWritten.toLocaleString('en-US')} lines, ${(manifest.bytes / 1e9).toFixed(2)} GB in ${manifest.files.toLocaleString('en-US')} files; ${manifest.usageLines.toLocaleString('en-US')} usage lines, ${manifest.records.toLocaleString('en-US')} distinct responses (${manifest.duplicates.toLocaleString('en-US')} duplicate lines, ${manifest.sidechainReplays} sidechain replays, ${manifest.synthetic} synthetic, ${manifest.unparseable} broken lines). Page cache warm (one untimed run of each first).`,
      `Both tools as child processes, process start included, alternating, median of ${rounds} rounds: replay --plan all ${replaySeconds.map((s) => s.toFixed(2)).join(' / ')} s, ccusage ${ccusageSeconds.map((s) => s.toFixed(2)).join(' / ')} s, replay --plan pro ${oneSeconds.map((s) => s.toFixed(2)).join(' / ')} s.`,
      `replay: \`creditpool replay <corpus> --plan all --json\`: one scan with the transcript dedup rules, then each of the 7 plans through the real engine (recordUsage in batches of up to 1,000 on an in-memory SQLite store, ManualClock per batch, statements read back), ${booked.toLocaleString('en-US')} records per plan; plans in ${Math.min(availableParallelism(), replayPlans.length)} worker threads (one per core, ${availableParallelism()} cores).`,
      `ccusage 20.0.24 (\`ccusage daily --offline --json --timezone UTC\`; a static native binary behind a Node wrapper since version 20): reads and prices the same files, no billing.`,
      `Where replay's time goes (one more run, in-process, plans one after another in one thread): ${phaseText}.`,
    ],
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
