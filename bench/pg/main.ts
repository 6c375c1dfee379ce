/**
 * creditpool on PostgreSQL with two server processes, against the per-request debit ceiling of
 * the same PostgreSQL measured in the same run (pgbench with `../shared/bench-baselines/`:
 * lock the balance row, append one journal row under a unique key, update the balance, commit).
 *
 * Fresh databases: `cp_bench_<hex>` for creditpool, `cp_pgbase_<hex>` for pgbench, both dropped at
 * the end. Two `creditpool serve --database-url` processes (real clock, default pool of 10
 * connections each); setup through the API: 10,000 `pro` accounts `acct_0…`, claimed; `acct_0`
 * also usage credits on with no limit (it takes the hot load). Measured, after a short warm-up each,
 * with `load.ts` (closed loop, connections spread over both processes, every answer checked):
 *   (a) `POST /v1/usage`, batches of 100 records on accounts drawn from the 10,000: records/s
 *       against pgbench `debit.sql` (one debit per transaction over 10,000 accounts), goal ≥ 1.0×;
 *   (b) the same batches all on one account: records/s against `debit-hot.sql`, goal ≥ 0.5×;
 *   (c) authorize with a hold, then settle it, on accounts drawn from the 10,000: pairs/s (goal
 *       ≥ 5,000) and per-request p99 (goal < 15 ms).
 * pgbench runs with as many connections as the load client (`-M prepared -j 2`). Afterwards both
 * servers get SIGTERM (exit 0 expected) and `creditpool verify` checks the whole ledger.
 *
 * Run: `node bench/run.ts pg` (or `npm run bench -- pg`). Environment: `BENCH_PG_SECONDS` (default
 * 10) per measured run, `BENCH_PG_CONNECTIONS` (default 16), `BENCH_CPU_PROF=<dir>` writes each
 * server's CPU profile there (`--cpu-prof`), `CREDITPOOL_TEST_DATABASE_URL` the server to use
 * (default `postgres://postgres@127.0.0.1:5432/test`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import type { BenchReport, BenchResult } from '../run.ts';
import type { PgLoadConfig, PgLoadResult, PgScenario } from './load.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(dirname(here));
const baselines = join(root, '..', 'shared', 'bench-baselines');
const adminUrl = process.env.CREDITPOOL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const seconds = Number(process.env.BENCH_PG_SECONDS ?? 10);
const connections = Number(process.env.BENCH_PG_CONNECTIONS ?? 16);
const warmupSeconds = 2;
const serverCount = 2;
const accountCount = Number(process.env.BENCH_PG_ACCOUNTS ?? 10_000);
/** Development only: run just these scenarios (comma-separated); the report then has fewer rows. */
const only = process.env.BENCH_PG_ONLY?.split(',') ?? null;
const batch = 100;
const pairsGoal = 5_000;
const pairsP99GoalMs = 15;
const cpuProfDir = process.env.BENCH_CPU_PROF;

const log = (line: string) => process.stderr.write(`  [pg] ${line}\n`);

interface Server {
  child: ChildProcess;
  url: string;
  stop(): Promise<number | null>;
}

/** Starts a `creditpool serve` that prints `listening on <url>` once ready. */
function startServer(args: string[], env: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    }
    return exited;
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('server not listening after 30 s')), 30_000);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /^listening on (http:\/\/\S+)$/m.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]!, stop });
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code} before listening: ${out}`)));
  });
}

function runLoad(config: PgLoadConfig): Promise<PgLoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'load.ts'), JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load ${config.scenario} exited ${code}`));
      resolve(JSON.parse(out) as PgLoadResult);
    });
  });
}

/**
 * CPU time (ms) used so far by the server processes and by every PostgreSQL process (Linux
 * `/proc`; zeros elsewhere). PostgreSQL's figure includes whatever else the cluster serves at the
 * time: on a shared machine it is an upper bound.
 */
function cpuMs(): { servers: number; postgres: number } {
  const ticksPerMs = 100 / 1000; // USER_HZ, 100 on Linux
  const ticks = (pid: string): number => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      return 0;
    }
  };
  let servers = 0;
  let pg = 0;
  try {
    for (const s of serversRunning) servers += ticks(String(s.child.pid));
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') pg += ticks(pid);
      } catch {
        // The process ended meanwhile.
      }
    }
  } catch {
    return { servers: 0, postgres: 0 };
  }
  return { servers: servers / ticksPerMs, postgres: pg / ticksPerMs };
}

/** CPU per unit of work during one measured run, in ms. */
interface CpuShare {
  servers: number;
  postgres: number;
  load: number;
}

let runs = 0;
async function measure(
  urls: string[],
  token: string,
  scenario: PgScenario,
  pairsPerS?: number,
): Promise<PgLoadResult> {
  const base = { urls, token, scenario, connections, accounts: accountCount, hotAccount: 'acct_0', batch };
  if (pairsPerS === undefined) {
    await runLoad({ ...base, durationS: warmupSeconds, runId: `w${runs}`, seed: runs });
    runs += 1;
  }
  const paced = pairsPerS === undefined ? {} : { pairsPerS };
  const before = cpuMs();
  const result = await runLoad({ ...base, ...paced, durationS: seconds, runId: `m${runs}`, seed: runs });
  const after = cpuMs();
  const units = scenario === 'pairs' ? result.pairs : result.records;
  if (units > 0) {
    cpuShares.set(`${scenario}${pairsPerS === undefined ? '' : ' paced'}`, {
      servers: (after.servers - before.servers) / units,
      postgres: (after.postgres - before.postgres) / units,
      load: result.cpuMs / units,
    });
  }
  runs += 1;
  log(`${scenario}${pairsPerS === undefined ? '' : ` paced at ${pairsPerS} pairs/s`}: ${describe(result)}`);
  return result;
}

const cpuShares = new Map<string, CpuShare>();

/** The measured CPU per unit, and how many of the machine's cores that adds up to at `perS`. */
function describeCpu(key: string, unit: string, perS: number): string {
  const c = cpuShares.get(key);
  if (!c) return '';
  const f = (ms: number) => ms.toFixed(ms < 0.1 ? 3 : 2);
  const cores = ((c.servers + c.postgres + c.load) * perS) / 1000;
  return (
    ` CPU per ${unit}: servers ${f(c.servers)} ms, PostgreSQL ${f(c.postgres)} ms, load client ${f(c.load)} ms;` +
    ` at ${Math.round(perS).toLocaleString('en-US')} ${unit}s/s that is ${cores.toFixed(2)} of the machine's ${cpus().length} cores busy.`
  );
}

function describe(r: PgLoadResult): string {
  const rate = (n: number) => Math.round(n / r.durationS).toLocaleString('en-US');
  const l = r.latencyMs;
  const pair = r.pairLatencyMs ? `; per pair p50 ${r.pairLatencyMs.p50} / p99 ${r.pairLatencyMs.p99} ms` : '';
  const work = r.pairs > 0 ? `${rate(r.pairs)} pairs/s` : `${rate(r.records)} records/s`;
  return (
    `${rate(r.ok)} ok req/s, ${work}; ` +
    `per request p50 ${l.p50} / p90 ${l.p90} / p99 ${l.p99} / max ${l.max} ms${pair}; ` +
    `non-2xx ${r.non2xx}, errors ${r.errors}, refused ${r.refused}${r.refusedSample ? ` (first: ${r.refusedSample.slice(0, 160)})` : ''}`
  );
}

/** pgbench's tps (without initial connection time) and its average latency. */
function pgbench(
  database: string,
  script: string,
  durationS: number,
): { tps: number; latencyMs: number; output: string } {
  const url = new URL(adminUrl);
  const child = spawnSync(
    'pgbench',
    [
      '-h',
      url.hostname,
      '-p',
      url.port || '5432',
      '-U',
      decodeURIComponent(url.username || 'postgres'),
      '-n',
      '-M',
      'prepared',
      '-c',
      String(connections),
      '-j',
      '2',
      '-T',
      String(durationS),
      '-f',
      join(baselines, script),
      database,
    ],
    { encoding: 'utf8', timeout: (durationS + 60) * 1000 },
  );
  if (child.status !== 0) throw new Error(`pgbench ${script} exited ${child.status}: ${child.stderr}`);
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(child.stdout);
  const latency = /latency average = ([\d.]+) ms/.exec(child.stdout);
  if (!tps || !latency) throw new Error(`pgbench ${script}: no tps in its output: ${child.stdout}`);
  return { tps: Number(tps[1]), latencyMs: Number(latency[1]), output: child.stdout };
}

function psqlFile(database: string, file: string): void {
  const url = new URL(adminUrl);
  const child = spawnSync(
    'psql',
    [
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      url.hostname,
      '-p',
      url.port || '5432',
      '-U',
      decodeURIComponent(url.username || 'postgres'),
      '-d',
      database,
      '-f',
      file,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (child.status !== 0) throw new Error(`psql -f ${file} exited ${child.status}: ${child.stderr}`);
}

async function setupAccounts(urls: string[], token: string): Promise<void> {
  const call = async (url: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  };
  let next = 0;
  const worker = async (w: number) => {
    const url = urls[w % urls.length]!;
    while (next < accountCount) {
      const id = `acct_${next++}`;
      await call(url, 'POST', '/v1/accounts', { id, kind: 'subscription', plan: 'pro' });
      await call(url, 'POST', `/v1/accounts/${id}/claim`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, (_, w) => worker(w)));
  // The hot account outspends its $20 over a run: usage credits pay the rest, nothing is refused.
  await call(urls[0]!, 'PUT', '/v1/accounts/acct_0/usage-credits', {
    enabled: true,
    monthly_limit_usd: null,
  });
}

function verifyLedger(url: string): { code: number | null; output: string; ms: number } {
  const started = Date.now();
  const child = spawnSync(
    process.execPath,
    [join(root, 'src/cli/main.ts'), 'verify', '--database-url', url],
    {
      encoding: 'utf8',
      timeout: 10 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return { code: child.status, output: `${child.stdout}${child.stderr}`.trim(), ms: Date.now() - started };
}

function result(
  label: string,
  value: number,
  unit: string,
  baselineLabel: string,
  baselineValue: number,
  goal: string,
  met: boolean,
): BenchResult {
  return {
    label,
    value,
    unit,
    baseline_label: baselineLabel,
    baseline_value: baselineValue,
    ratio: baselineValue === 0 ? 0 : value / baselineValue,
    goal,
    met,
  };
}

const admin = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
const suffix = randomBytes(5).toString('hex');
const benchDb = `cp_bench_${suffix}`;
const baseDb = `cp_pgbase_${suffix}`;
const servers: Server[] = [];
const serversRunning = servers;
try {
  await admin.unsafe(`CREATE DATABASE ${benchDb}`);
  await admin.unsafe(`CREATE DATABASE ${baseDb}`);

  log(`pgbench ceiling: ${connections} connections, ${seconds} s per script`);
  psqlFile(baseDb, join(baselines, 'schema.sql'));
  pgbench(baseDb, 'debit.sql', warmupSeconds);
  const spreadCeiling = pgbench(baseDb, 'debit.sql', seconds);
  const hotCeiling = pgbench(baseDb, 'debit-hot.sql', seconds);
  log(
    `debit.sql ${Math.round(spreadCeiling.tps)} tps (${spreadCeiling.latencyMs} ms avg); debit-hot.sql ${Math.round(hotCeiling.tps)} tps (${hotCeiling.latencyMs} ms avg)`,
  );
  await admin.unsafe(`DROP DATABASE ${baseDb} WITH (FORCE)`);

  const env = { ...process.env };
  for (const name of ['CREDITPOOL_DB', 'DATABASE_URL', 'LOG_LEVEL', 'HOST', 'PORT']) delete env[name];
  const token = `cp_bench_${randomBytes(16).toString('hex')}`;
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${benchDb}`;
  const nodeFlags = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  for (let i = 0; i < serverCount; i++) {
    servers.push(
      await startServer(
        [
          ...nodeFlags,
          join(root, 'src/cli/main.ts'),
          'serve',
          '--port',
          '0',
          '--database-url',
          dbUrl.toString(),
        ],
        { ...env, CREDITPOOL_ADMIN_TOKEN: token },
      ),
    );
  }
  const urls = servers.map((s) => s.url);
  const setupStarted = Date.now();
  await setupAccounts(urls, token);
  const setupMs = Date.now() - setupStarted;
  log(`setup: ${accountCount} accounts created and claimed through the API in ${setupMs} ms`);

  const skipped: PgLoadResult = {
    durationS: 1,
    ok: 0,
    non2xx: 0,
    errors: 0,
    refused: 0,
    refusedSample: 'not run (BENCH_PG_ONLY)',
    records: 0,
    pairs: 0,
    latencyMs: { p50: 0, p90: 0, p99: 0, max: 0 },
    pairLatencyMs: null,
    cpuMs: 0,
  };
  const run = (scenario: PgScenario) =>
    only === null || only.includes(scenario) ? measure(urls, token, scenario) : Promise.resolve(skipped);
  const spread = await run('usage-spread');
  const hot = await run('usage-hot');
  const pairs = await run('pairs');
  // The closed loop above shows saturation; half the rate it reached, paced, shows the latency a
  // server with headroom gives (reported as a note).
  const halfRate = Math.max(1, Math.round(pairs.pairs / pairs.durationS / 2));
  const pairsHalf = pairs.pairs > 0 ? await measure(urls, token, 'pairs', halfRate) : null;

  const exits: (number | null)[] = [];
  for (const server of servers) exits.push(await server.stop());
  const verified = verifyLedger(dbUrl.toString());
  log(
    `servers exit ${exits.join(', ')}; verify exit ${verified.code} in ${verified.ms} ms: ${verified.output.split('\n').slice(-1)[0]}`,
  );

  const clean = (r: PgLoadResult) => r.non2xx === 0 && r.errors === 0 && r.refused === 0;
  const spreadRate = spread.records / spread.durationS;
  const hotRate = hot.records / hot.durationS;
  const pairsRate = pairs.pairs / pairs.durationS;
  const results: BenchResult[] = [
    result(
      `usage, batches of ${batch} over ${accountCount.toLocaleString('en-US')} accounts`,
      spreadRate,
      'records/s',
      'pgbench debit.sql (1 debit per transaction)',
      spreadCeiling.tps,
      '≥ 1.0 × debit ceiling',
      spreadRate >= spreadCeiling.tps && clean(spread),
    ),
    result(
      `usage, batches of ${batch} on 1 account`,
      hotRate,
      'records/s',
      'pgbench debit-hot.sql',
      hotCeiling.tps,
      '≥ 0.5 × hot ceiling',
      hotRate >= 0.5 * hotCeiling.tps && clean(hot),
    ),
    result(
      'authorize with hold + settle',
      pairsRate,
      'pairs/s',
      'pgbench debit.sql ÷ 2 (two transactions per pair)',
      spreadCeiling.tps / 2,
      `≥ ${pairsGoal.toLocaleString('en-US')} pairs/s`,
      pairsRate >= pairsGoal && clean(pairs),
    ),
    result(
      'authorize with hold + settle, p99 per request',
      pairs.latencyMs.p99,
      'ms',
      'pgbench debit.sql average latency',
      spreadCeiling.latencyMs,
      `p99 < ${pairsP99GoalMs} ms`,
      pairs.latencyMs.p99 < pairsP99GoalMs,
    ),
  ];
  const report: BenchReport = {
    name: 'pg',
    title: 'two server processes on PostgreSQL against the pgbench per-request debit ceiling',
    command: 'node bench/run.ts pg',
    results,
    notes: [
      `${serverCount} \`creditpool serve --database-url\` processes (pool of 10 PostgreSQL connections each), one load process (\`bench/pg/load.ts\`: ${connections} keep-alive connections spread over both, closed loop, exact latencies), ${seconds} s per measured run after a ${warmupSeconds} s warm-up; PostgreSQL, both servers, the load client and pgbench share this machine's cores.`,
      `Ceiling: pgbench -M prepared -c ${connections} -j 2 -T ${seconds} with \`../shared/bench-baselines/\` (schema.sql, debit.sql, debit-hot.sql) on a fresh database, same PostgreSQL server and settings (synchronous_commit on), measured just before creditpool: debit.sql ${Math.round(spreadCeiling.tps).toLocaleString('en-US')} tps, average latency ${spreadCeiling.latencyMs} ms; debit-hot.sql ${Math.round(hotCeiling.tps).toLocaleString('en-US')} tps, average latency ${hotCeiling.latencyMs} ms.`,
      `Setup through the API: ${accountCount.toLocaleString('en-US')} pro accounts created and claimed (${setupMs} ms); acct_0, the hot account, has usage credits on with no limit. Records: 100 input + 25 output tokens of claude-opus-5-5, sdk-cli, dated now; accounts drawn at random (seeded) per record.`,
      `usage over ${accountCount.toLocaleString('en-US')} accounts: ${describe(spread)}.${describeCpu('usage-spread', 'record', spreadRate)}`,
      `usage on 1 account: ${describe(hot)}.${describeCpu('usage-hot', 'record', hotRate)}`,
      `authorize with hold + settle, closed loop: ${describe(pairs)}.${describeCpu('pairs', 'pair', pairsRate)}`,
      ...(pairsHalf
        ? [
            `authorize with hold + settle paced at ${halfRate} pairs/s (half the closed-loop rate; open loop, latency from when each pair was due): ${describe(pairsHalf)}.${describeCpu('pairs paced', 'pair', pairsHalf.pairs / pairsHalf.durationS)}`,
          ]
        : []),
      `After the load: SIGTERM exit codes ${exits.join(', ')}; \`creditpool verify --database-url\` exit ${verified.code} in ${verified.ms} ms: ${verified.output.split('\n').slice(-1)[0]}`,
    ],
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  for (const server of servers) await server.stop();
  await admin.unsafe(`DROP DATABASE IF EXISTS ${benchDb} WITH (FORCE)`);
  await admin.unsafe(`DROP DATABASE IF EXISTS ${baseDb} WITH (FORCE)`);
  await admin.end();
}
