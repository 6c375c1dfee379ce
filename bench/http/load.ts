/**
 * The load generator for `bench/http`, run as its own process (so it never shares an event loop
 * with the server it measures): autocannon's API with one scenario's requests, then ONE JSON line
 * on stdout with the figures. Every request carries fresh ids (holds, records), so nothing is a
 * replay; every answer is checked (a deny or a rejected record is counted, not silently fast).
 *
 *   node bench/http/load.ts '<LoadConfig as JSON>'
 */
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';

export type Scenario = 'authorize' | 'pairs' | 'usage';

export interface LoadConfig {
  url: string;
  token: string;
  scenario: Scenario;
  /** Accounts `acct_0` … `acct_<n-1>`, created and claimed beforehand. */
  accounts: number;
  connections: number;
  durationS: number;
  /**
   * Requests per second over all connections, paced evenly (open loop, `runPaced`); unset = as
   * fast as the server answers (autocannon, closed loop). Only the `pairs` scenario is paced.
   */
  overallRate?: number;
  /** Records per `POST /v1/usage` batch. */
  batch: number;
  /** Prefix of every generated id: runs against the same database never collide. */
  runId: string;
}

export interface LoadResult {
  /** 2xx answers per second over the run. */
  requestsPerS: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** 2xx answers that said no: a deny, a rejected record (the scenario expects none). */
  refused: number;
  refusedSample: string | null;
  durationS: number;
}

/** The part of autocannon's API used here (it ships no types). */
interface AutocannonRequest {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
}
type Context = Record<string, unknown> & { conn?: number; n?: number };
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  overallRate?: number;
  headers: Record<string, string>;
  requests: {
    method: string;
    path: string;
    setupRequest?: (req: AutocannonRequest, context: Context) => AutocannonRequest;
    onResponse?: (status: number, body: string, context: Context) => void;
  }[];
}
interface AutocannonResult {
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
type Autocannon = (
  options: AutocannonOptions,
  done: (error: Error | null, result: AutocannonResult) => void,
) => void;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const model = 'claude-opus-5-5';

/** The records' `occurred_at`, refreshed every 100 ms: formatting a date per record would cost the generator. */
let stamp = new Date().toISOString();
const stampTimer = setInterval(() => {
  stamp = new Date().toISOString();
}, 100);

let connections = 0;
let refused = 0;
let refusedSample: string | null = null;

function refuse(body: string): void {
  refused += 1;
  refusedSample ??= body.slice(0, 300);
}

/** Each connection takes a number on its first request; accounts rotate per connection. */
function next(context: Context, config: LoadConfig): { id: string; account: string } {
  if (context.conn === undefined) {
    context.conn = connections++;
    context.n = 0;
  }
  const n = context.n!;
  context.n = n + 1;
  const account = `acct_${(context.conn + n * config.connections) % config.accounts}`;
  return { id: `${config.runId}_${context.conn}_${n}`, account };
}

function record(id: string, account: string) {
  return {
    id,
    account_id: account,
    occurred_at: stamp,
    surface: 'sdk-cli',
    model,
    usage: { input_tokens: 100, output_tokens: 25 },
  };
}

function requestsOf(config: LoadConfig): AutocannonOptions['requests'] {
  switch (config.scenario) {
    case 'authorize':
      return [
        {
          method: 'POST',
          path: '/v1/authorize',
          setupRequest(req, context) {
            const { account } = next(context, config);
            req.body = JSON.stringify({ account_id: account, surface: 'sdk-cli', model });
            return req;
          },
          onResponse(status, body) {
            if (status === 200 && !body.includes('"decision":"allow"')) refuse(body);
          },
        },
      ];
    case 'pairs':
      return [
        {
          method: 'POST',
          path: '/v1/authorize',
          setupRequest(req, context) {
            const { id, account } = next(context, config);
            context.hold = `h_${id}`;
            context.account = account;
            req.body = JSON.stringify({
              account_id: account,
              surface: 'sdk-cli',
              model,
              hold: { id: `h_${id}`, estimate_usd: '0.01' },
            });
            return req;
          },
          onResponse(status, body) {
            if (status === 200 && !body.includes('"decision":"allow"')) refuse(body);
          },
        },
        {
          method: 'POST',
          path: '/v1/holds/x/settle',
          setupRequest(req, context) {
            const hold = context.hold as string;
            req.path = `/v1/holds/${hold}/settle`;
            req.body = JSON.stringify({ record: record(`r_${hold}`, context.account as string) });
            return req;
          },
          onResponse(status, body) {
            if (status === 200 && !body.includes('"status":"recorded"')) refuse(body);
          },
        },
      ];
    case 'usage':
      return [
        {
          method: 'POST',
          path: '/v1/usage',
          setupRequest(req, context) {
            const { id } = next(context, config);
            const base = (context.conn! * 7919 + context.n! * config.batch) % config.accounts;
            const records = Array.from({ length: config.batch }, (_, i) =>
              record(`${id}_${i}`, `acct_${(base + i) % config.accounts}`),
            );
            req.body = JSON.stringify({ records });
            return req;
          },
          onResponse(status, body) {
            if (
              status === 200 &&
              (body.includes('"status":"rejected"') || body.includes('"status":"replayed"'))
            ) {
              refuse(body);
            }
          },
        },
      ];
  }
}

export function runLoad(config: LoadConfig): Promise<LoadResult> {
  // Fresh at the start: a stamp older than the accounts' creation would date records before their
  // first cycle (event_too_old).
  stamp = new Date().toISOString();
  return new Promise((resolve, reject) => {
    const options: AutocannonOptions = {
      url: config.url,
      connections: config.connections,
      duration: config.durationS,
      headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/json' },
      requests: requestsOf(config),
    };
    autocannon(options, (error, result) => {
      if (error) return reject(error);
      resolve({
        requestsPerS: result['2xx'] / result.duration,
        latencyMs: result.latency,
        requests: result['2xx'] + result.non2xx,
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        refused,
        refusedSample,
        durationS: result.duration,
      });
    });
  });
}

/**
 * Authorize-with-hold then settle pairs started at an even pace (open loop), each latency measured
 * from the moment its pair was due, so queueing anywhere counts (no coordinated omission).
 * Not autocannon `-R`: that sends each connection's whole per-second budget back to back at the
 * start of every second (a burst at full speed, then silence), and its omission correction assumes
 * a 1 ms interval, so its percentiles there describe the burst, not the rate.
 */
export async function runPaced(config: LoadConfig): Promise<LoadResult> {
  stamp = new Date().toISOString();
  const rate = config.overallRate!;
  const agent = new Agent({ keepAlive: true, maxSockets: config.connections });
  const target = new URL(config.url);
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const post = (path: string, body: string, due: number) =>
    new Promise<string>((resolve) => {
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          method: 'POST',
          path,
          agent,
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
            latencies.push(performance.now() - due);
            if (res.statusCode !== 200) non2xx += 1;
            resolve(text);
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        resolve('');
      });
      req.end(body);
    });
  const pair = async (n: number, due: number) => {
    const id = `${config.runId}_${n}`;
    const account = `acct_${n % config.accounts}`;
    const hold = `h_${id}`;
    const answer = await post(
      '/v1/authorize',
      JSON.stringify({
        account_id: account,
        surface: 'sdk-cli',
        model,
        hold: { id: hold, estimate_usd: '0.01' },
      }),
      due,
    );
    if (!answer.includes('"decision":"allow"')) refuse(answer);
    const settled = await post(
      `/v1/holds/${hold}/settle`,
      JSON.stringify({ record: record(`r_${hold}`, account) }),
      performance.now(),
    );
    if (!settled.includes('"status":"recorded"')) refuse(settled);
  };
  // Pairs per second = requests per second / 2; one tick per millisecond starts the pairs now due.
  const pairsPerMs = rate / 2 / 1000;
  const start = performance.now();
  const end = start + config.durationS * 1000;
  const inFlight = new Set<Promise<void>>();
  let started = 0;
  while (performance.now() < end) {
    const now = performance.now();
    while (started < (now - start) * pairsPerMs) {
      const due = start + started / pairsPerMs;
      const p = pair(started++, due).then(() => {
        inFlight.delete(p);
      });
      inFlight.add(p);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inFlight);
  const durationS = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]! * 100) / 100;
  return {
    requestsPerS: (latencies.length - non2xx) / durationS,
    latencyMs: {
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: at(1),
      mean: Math.round((latencies.reduce((a, b) => a + b, 0) / latencies.length) * 100) / 100,
    },
    requests: latencies.length,
    non2xx,
    errors,
    timeouts: 0,
    refused,
    refusedSample,
    durationS,
  };
}

if (import.meta.main) {
  const config = JSON.parse(process.argv[2] ?? '') as LoadConfig;
  const result = config.overallRate === undefined ? await runLoad(config) : await runPaced(config);
  clearInterval(stampTimer);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
