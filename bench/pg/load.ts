/**
 * The load client for `bench/pg`, run as its own process: a closed loop per connection (send, wait
 * for the answer, send the next), connections spread round-robin over the server processes, keep-
 * alive sockets, and every answer checked (a deny, a refused or replayed record is counted, never
 * silently fast). Prints ONE JSON line with the figures; latencies are exact (every request's
 * time is kept), not bucketed.
 *
 *   node bench/pg/load.ts '<PgLoadConfig as JSON>'
 */
import { Agent, request } from 'node:http';

export type PgScenario = 'usage-spread' | 'usage-hot' | 'pairs';

export interface PgLoadConfig {
  /** One URL per server process. */
  urls: string[];
  token: string;
  scenario: PgScenario;
  connections: number;
  durationS: number;
  /** Accounts `acct_0` … `acct_<n-1>`, created and claimed beforehand. */
  accounts: number;
  /** The one account of `usage-hot`. */
  hotAccount: string;
  /** Records per `POST /v1/usage`. */
  batch: number;
  /** Prefix of every id: runs against the same database never collide. */
  runId: string;
  /** Seed of the account choice (a run is repeatable in what it sends). */
  seed: number;
  /**
   * Pairs scenario only: start this many pairs per second at an even pace (open loop), each
   * latency counted from when its pair was due, so queueing anywhere counts; unset = closed loop.
   */
  pairsPerS?: number;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface PgLoadResult {
  durationS: number;
  /** Answers with status 200 and nothing refused. */
  ok: number;
  non2xx: number;
  errors: number;
  refused: number;
  refusedSample: string | null;
  /** Records acknowledged `recorded` (usage scenarios). */
  records: number;
  /** Authorize + settle pairs both answered well (pairs scenario). */
  pairs: number;
  /** Per request. */
  latencyMs: Percentiles;
  /** Per pair, from the authorize sent to the settle answered (pairs scenario). */
  pairLatencyMs: Percentiles | null;
  /** CPU time this load process used during the run (user + system). */
  cpuMs: number;
}

const model = 'claude-opus-5-5';

/** mulberry32: the account choice is seeded, so two runs send the same spread. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  values.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(values[Math.min(values.length - 1, Math.floor(q * values.length))]! * 100) / 100;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

export async function runPgLoad(config: PgLoadConfig): Promise<PgLoadResult> {
  const agents = config.urls.map(() => new Agent({ keepAlive: true, maxSockets: config.connections }));
  const targets = config.urls.map((u) => new URL(u));
  const latencies: number[] = [];
  const pairLatencies: number[] = [];
  const result: PgLoadResult = {
    durationS: 0,
    ok: 0,
    non2xx: 0,
    errors: 0,
    refused: 0,
    refusedSample: null,
    records: 0,
    pairs: 0,
    latencyMs: { p50: 0, p90: 0, p99: 0, max: 0 },
    pairLatencyMs: null,
    cpuMs: 0,
  };
  const cpuAtStart = process.cpuUsage();
  const refuse = (body: string) => {
    result.refused += 1;
    result.refusedSample ??= body.slice(0, 300);
  };
  // Dated once per 100 ms: formatting a date per record would cost the client, not the server.
  let stamp = new Date().toISOString();
  const stampTimer = setInterval(() => {
    stamp = new Date().toISOString();
  }, 100);

  const post = (target: number, path: string, body: string) =>
    new Promise<{ status: number; text: string }>((resolve) => {
      const started = performance.now();
      const req = request(
        {
          host: targets[target]!.hostname,
          port: targets[target]!.port,
          method: 'POST',
          path,
          agent: agents[target],
          headers: {
            authorization: `Bearer ${config.token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => {
            latencies.push(performance.now() - started);
            if (res.statusCode !== 200) {
              result.non2xx += 1;
              result.refusedSample ??= `${res.statusCode} ${text.slice(0, 300)}`;
            }
            resolve({ status: res.statusCode ?? 0, text });
          });
        },
      );
      req.on('error', () => {
        result.errors += 1;
        resolve({ status: 0, text: '' });
      });
      req.end(body);
    });

  const record = (id: string, account: string) => ({
    id,
    account_id: account,
    occurred_at: stamp,
    surface: 'sdk-cli',
    model,
    usage: { input_tokens: 100, output_tokens: 25 },
  });

  /** Authorize with a hold, then settle it; the pair's latency counts from `due`. */
  const pair = async (target: number, account: string, id: string, due: number) => {
    const hold = `h_${id}`;
    const authorized = await post(
      target,
      '/v1/authorize',
      JSON.stringify({
        account_id: account,
        surface: 'sdk-cli',
        model,
        hold: { id: hold, estimate_usd: '0.01' },
      }),
    );
    if (authorized.status !== 200) return;
    if (!authorized.text.includes('"decision":"allow"')) return refuse(authorized.text);
    result.ok += 1;
    const settled = await post(
      target,
      `/v1/holds/${hold}/settle`,
      JSON.stringify({ record: record(`r_${hold}`, account) }),
    );
    if (settled.status !== 200) return;
    if (!settled.text.includes('"status":"recorded"')) return refuse(settled.text);
    result.ok += 1;
    result.pairs += 1;
    pairLatencies.push(performance.now() - due);
  };

  const start = performance.now();
  const end = start + config.durationS * 1000;
  if (config.scenario === 'pairs' && config.pairsPerS !== undefined) {
    // Open loop: one tick per millisecond starts the pairs now due; requests beyond the sockets'
    // limit queue in the agent, and that wait counts in their latency.
    const random = prng(config.seed);
    const perMs = config.pairsPerS / 1000;
    const inFlight = new Set<Promise<void>>();
    let started = 0;
    while (performance.now() < end) {
      const now = performance.now();
      while (started < (now - start) * perMs) {
        const n = started++;
        const p: Promise<void> = pair(
          n % config.urls.length,
          `acct_${Math.floor(random() * config.accounts)}`,
          `${config.runId}_p${n}`,
          start + n / perMs,
        ).then(() => {
          inFlight.delete(p);
        });
        inFlight.add(p);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(inFlight);
    result.durationS = (performance.now() - start) / 1000;
    clearInterval(stampTimer);
    for (const agent of agents) agent.destroy();
    result.latencyMs = percentiles(latencies);
    result.pairLatencyMs = percentiles(pairLatencies);
    const cpu = process.cpuUsage(cpuAtStart);
    result.cpuMs = (cpu.user + cpu.system) / 1000;
    return result;
  }
  const connection = async (c: number) => {
    const target = c % config.urls.length;
    const random = prng(config.seed * 1_000 + c);
    const pick = () => `acct_${Math.floor(random() * config.accounts)}`;
    for (let n = 0; performance.now() < end; n++) {
      const id = `${config.runId}_${c}_${n}`;
      if (config.scenario === 'pairs') {
        await pair(target, pick(), id, performance.now());
      } else {
        const records = Array.from({ length: config.batch }, (_, i) =>
          record(`${id}_${i}`, config.scenario === 'usage-hot' ? config.hotAccount : pick()),
        );
        const answer = await post(target, '/v1/usage', JSON.stringify({ records }));
        if (answer.status !== 200) continue;
        const recorded = answer.text.split('"status":"recorded"').length - 1;
        if (recorded !== config.batch) refuse(answer.text);
        else result.ok += 1;
        result.records += recorded;
      }
    }
  };
  await Promise.all(Array.from({ length: config.connections }, (_, c) => connection(c)));
  result.durationS = (performance.now() - start) / 1000;
  clearInterval(stampTimer);
  for (const agent of agents) agent.destroy();
  result.latencyMs = percentiles(latencies);
  if (config.scenario === 'pairs') result.pairLatencyMs = percentiles(pairLatencies);
  const cpu = process.cpuUsage(cpuAtStart);
  result.cpuMs = (cpu.user + cpu.system) / 1000;
  return result;
}

if (import.meta.main) {
  const config = JSON.parse(process.argv[2] ?? '') as PgLoadConfig;
  process.stdout.write(`${JSON.stringify(await runPgLoad(config))}\n`);
}
